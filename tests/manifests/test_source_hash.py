"""Unit tests of the flask_api role's source_tree_hash filter (the image tag and schema Job hash)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "roles/flask_api/filter_plugins/source_hash.py"
_spec = importlib.util.spec_from_file_location("source_hash", PLUGIN)
source_hash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(source_hash)
tree_hash = source_hash.source_tree_hash
PATTERNS = ["Dockerfile", "app/**/*"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app" / "routes").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / "app" / "__init__.py").write_text("x = 1\n")
    (tmp_path / "app" / "routes" / "users.py").write_text("y = 2\n")
    (tmp_path / "README.md").write_text("not an input\n")
    return tmp_path


def test_is_twelve_hex_digits_and_stable(tree) -> None:
    first = tree_hash(str(tree), PATTERNS)
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert tree_hash(str(tree), PATTERNS) == first


def test_same_content_elsewhere_gives_the_same_hash(tree, tmp_path_factory) -> None:
    copy = tmp_path_factory.mktemp("copy")
    for path in tree.rglob("*"):
        target = copy / path.relative_to(tree)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    assert tree_hash(str(copy), PATTERNS) == tree_hash(str(tree), PATTERNS)


@pytest.mark.parametrize("change", ["edit", "add", "rename", "remove"])
def test_any_change_to_an_input_changes_the_hash(tree, change) -> None:
    before = tree_hash(str(tree), PATTERNS)
    users = tree / "app" / "routes" / "users.py"
    if change == "edit":
        users.write_text("y = 3\n")
    elif change == "add":
        (tree / "app" / "new.py").write_text("")
    elif change == "rename":
        users.rename(users.with_name("people.py"))
    else:
        users.unlink()
    assert tree_hash(str(tree), PATTERNS) != before


def test_files_outside_the_patterns_and_python_caches_do_not_count(tree) -> None:
    before = tree_hash(str(tree), PATTERNS)
    (tree / "README.md").write_text("edited\n")
    (tree / "app" / "__pycache__").mkdir()
    (tree / "app" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00")
    (tree / "app" / "stale.pyc").write_bytes(b"\x00")
    assert tree_hash(str(tree), PATTERNS) == before


def test_moving_bytes_between_files_changes_the_hash(tree) -> None:
    (tree / "app" / "__init__.py").write_text("ab")
    (tree / "app" / "routes" / "users.py").write_text("c")
    before = tree_hash(str(tree), PATTERNS)
    (tree / "app" / "__init__.py").write_text("a")
    (tree / "app" / "routes" / "users.py").write_text("bc")
    assert tree_hash(str(tree), PATTERNS) != before


def test_the_extra_string_counts(tree) -> None:
    assert tree_hash(str(tree), PATTERNS, "PYTHON_IMAGE=a") != tree_hash(str(tree), PATTERNS, "PYTHON_IMAGE=b")


def test_overlapping_patterns_count_each_file_once(tree) -> None:
    assert tree_hash(str(tree), PATTERNS + ["app/*.py"]) == tree_hash(str(tree), PATTERNS)


@pytest.mark.parametrize("patterns", [[], "app/**/*", [""], [3]])
def test_bad_patterns_are_refused(tree, patterns) -> None:
    with pytest.raises(AnsibleFilterError, match="patterns must be a non-empty list"):
        tree_hash(str(tree), patterns)


def test_a_missing_directory_is_refused(tmp_path) -> None:
    with pytest.raises(AnsibleFilterError, match="is not a directory"):
        tree_hash(str(tmp_path / "absent"), PATTERNS)


def test_patterns_matching_nothing_are_refused(tree) -> None:
    with pytest.raises(AnsibleFilterError, match="no file under"):
        tree_hash(str(tree), ["nothing/**/*"])


def test_is_registered_as_an_ansible_filter() -> None:
    assert source_hash.FilterModule().filters() == {"source_tree_hash": tree_hash}
