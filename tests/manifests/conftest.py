"""Renders the manifests once per variable set; every test in this tier reads them (no cluster needed)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from render_helpers import Render, render, strong_password  # noqa: E402

# name -> (inventory, extra variables besides the passwords). "production" is the production-like set.
VARIABLE_SETS = {
    "minikube": ("inventory/minikube", {}),
    "minikube-hostpath": ("inventory/minikube", {"mysql_hostpath_pv": True}),
    "local": ("inventory/local", {}),
    "production": ("inventory/production.example", {}),
    # The scheduled backup (roles/backup): claim, scripts ConfigMap and CronJob, rendered for kube_version 1.29.
    "minikube-backup-schedule": ("inventory/minikube", {"backup_schedule": "17 3 * * *"}),
}


@pytest.fixture(scope="session")
def passwords() -> dict[str, str]:
    """Passwords given to every render, so tests can look for them in the output."""
    return {"vault_mysql_root_password": strong_password(), "vault_mysql_app_password": strong_password()}


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, passwords) -> dict[str, Render]:
    results = {}
    for name, (inventory, extra) in VARIABLE_SETS.items():
        result = render(tmp_path_factory.mktemp("render") / name, inventory, {**passwords, **extra})
        assert result.returncode == 0, f"render.yml failed for {name}:\n{result.output[-3000:]}"
        assert result.objects, f"render.yml wrote nothing for {name}"
        results[name] = result
    return results


@pytest.fixture(params=sorted(VARIABLE_SETS))
def each_render(request, rendered) -> Render:
    return rendered[request.param]
