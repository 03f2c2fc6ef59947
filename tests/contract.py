"""The names the roles share, read from their one definition in roles/common (defaults/main.yml for what users
may change, vars/main.yml for what is derived), evaluated by Ansible's own templating.

    from contract import contract
    names = contract()                           # the defaults
    names = contract(flask_api_name="orders-api")  # as a run with -e flask_api_name=orders-api sees them
    names["secrets_name"], names["flask_api_selector_labels"], ...

Every test tier and molecule (through the common role) reads names from there, never as literals.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

# Lookups in inventory variables (lookup('ansible.builtin.env', ...)) need the plugin loader, as in a play.
init_plugin_loader()

COMMON = Path(__file__).resolve().parents[1] / "roles" / "common"
# Defaults that only make sense inside a play (they name the playbook's directory); not shared names.
PLAY_ONLY = {"render_dir"}


def _trusted(value: Any) -> Any:
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def render(variables: dict[str, Any]) -> dict[str, Any]:
    """Variables as a play sees them: each templated by Ansible, with the others (and lookups, tests) in scope."""
    trusted = _trusted(variables)
    templar = Templar(loader=DataLoader(), variables=trusted)
    return {name: templar.template(value) for name, value in trusted.items()}


def contract(**overrides: Any) -> dict[str, Any]:
    """Every shared default and derived name, with overrides applied as extra variables would be."""
    defaults = yaml.safe_load((COMMON / "defaults" / "main.yml").read_text())
    derived = yaml.safe_load((COMMON / "vars" / "main.yml").read_text())
    return render({**{k: v for k, v in defaults.items() if k not in PLAY_ONLY}, **derived, **overrides})
