"""A first converge at -v with --diff prints no vaulted value, neither plain nor base64 (as in a Secret's data)."""
from __future__ import annotations

import base64

from e2e_ansible import vault_values


def forms(value: str) -> dict[str, str]:
    return {"plain": value, "base64": base64.b64encode(value.encode()).decode()}


def test_verbose_first_converge_prints_no_vaulted_value(deployment) -> None:
    output = deployment.first_run.output
    assert "--diff" in deployment.first_run.args and "-v" in deployment.first_run.args
    assert "PLAY RECAP" in output

    leaks = [f"{name} ({form})" for name, value in vault_values().items()
             for form, text in forms(value).items() if text in output]

    assert not leaks, f"site.yml -v --diff printed: {', '.join(leaks)}"
