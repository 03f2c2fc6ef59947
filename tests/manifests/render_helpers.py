"""Runs playbooks/render.yml as users do (from the repository root) and loads what it wrote."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from contract import contract

REPO = Path(__file__).resolve().parents[2]
RENDER_TIMEOUT = 300


def tool(name: str) -> str:
    """An Ansible command from the running interpreter's venv, else from PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed: run `make venv`")
    return found


def strong_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


@dataclass
class Render:
    """One run of render.yml: its exit status, output, the objects it wrote (file name -> object) and the shared
    names (tests/contract.py) as that run's variables make them."""

    returncode: int
    output: str
    directory: Path
    names: dict = field(default_factory=dict)
    objects: dict[str, dict] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict]:
        return [obj for obj in self.objects.values() if obj["kind"] == kind]

    def one(self, kind: str, name: str) -> dict:
        matches = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)} in {sorted(self.objects)}"
        return matches[0]


def render(directory: Path, inventory: str, extra_vars: dict) -> Render:
    """Render with the given inventory and extra variables (passed through a file, not argv)."""
    directory.mkdir(parents=True, exist_ok=True)
    vars_file = directory.parent / f"{directory.name}-extra-vars.json"
    vars_file.write_text(json.dumps({"render_dir": str(directory), **extra_vars}))
    vars_file.chmod(0o600)
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
    run = subprocess.run(
        [tool("ansible-playbook"), "playbooks/render.yml", "-i", inventory, "-e", f"@{vars_file}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False,
    )
    inventory_vars = yaml.safe_load((REPO / inventory / "group_vars" / "all" / "main.yml").read_text()) or {}
    result = Render(run.returncode, run.stdout + run.stderr, directory, contract(**{**inventory_vars, **extra_vars}))
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text()
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        assert len(documents) == 1, f"{path.name} holds {len(documents)} objects, expected one"
        result.texts[path.name] = text
        result.objects[path.name] = documents[0]
    return result
