"""Each role README's variable table is what scripts/role-docs writes from the role's meta/argument_specs.yml."""
from __future__ import annotations

import importlib.machinery
import importlib.util

from render_helpers import REPO

_loader = importlib.machinery.SourceFileLoader("role_docs", str(REPO / "scripts" / "role-docs"))
_spec = importlib.util.spec_from_loader("role_docs", _loader)
role_docs = importlib.util.module_from_spec(_spec)
_loader.exec_module(role_docs)


def test_every_role_readme_lists_exactly_its_argument_specs() -> None:
    stale = sorted(str(path.relative_to(REPO)) for path in role_docs.differing())
    assert not stale, f"{stale} differ from their meta/argument_specs.yml: run scripts/role-docs"


def test_every_role_has_a_generated_table() -> None:
    for role in role_docs.roles():
        text = (role / "README.md").read_text()
        assert role_docs.BEGIN_MARKER in text, f"{role.name}/README.md has no generated variable table"


def test_the_table_follows_the_specs(tmp_path) -> None:
    """Guards the check above: a changed description is a stale README until the script runs again."""
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n      demo_size:\n        type: str\n        description: Old.\n")
    (role / "defaults" / "main.yml").write_text("demo_size: 1Gi\n")
    (role / "README.md").write_text(f"# demo\n{role_docs.BEGIN_MARKER}\n{role_docs.END_MARKER}\n")
    readme = role / "README.md"
    readme.write_text(role_docs.rewritten(readme, role_docs.generated(role)))
    assert "| `demo_size` | `1Gi` | Old. |" in readme.read_text()
    assert not role_docs.differing(tmp_path)
    spec = role / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("Old.", "New."))
    assert list(role_docs.differing(tmp_path)) == [readme]
