"""Renders the manifests once per variable set, side by side; every test in this tier reads them (no cluster).

A variable set is an inventory as shipped, or one optional feature switched on over inventory/minikube.
To cover a new optional feature (a PDB, an HPA, a backup CronJob, ...), add one entry to FEATURES: strict
schema validation for every Kubernetes minor (test_schema.py), Kubernetes' name and label rules and the policy
(test_policy.py) then run on it too.
"""
from __future__ import annotations

import os
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from render_helpers import Render, render, strong_password  # noqa: E402

DIGEST = "sha256:" + "0123456789abcdef" * 4
# The API token of the token-auth set: only its SHA-256 hash may appear in the rendered manifests.
API_TOKEN = secrets.token_urlsafe(32)
# What production.example's vault holds besides the passwords: API tokens and the external MySQL server's CA.
PRODUCTION_VAULT = {"vault_flask_api_tokens": [API_TOKEN],
                    "vault_mysql_external_ca": (Path(__file__).parent / "example-ca.pem").read_text()}
# Each inventory as shipped; "production" is the production-like set.
INVENTORIES = {
    "minikube": "inventory/minikube",
    "local": "inventory/local",
    "production": "inventory/production.example",
}
# Optional features, each switched on alone over inventory/minikube: name -> extra variables.
FEATURES = {
    "hostpath": {"mysql_hostpath_pv": True},
    "renamed-api": {"flask_api_name": "orders-api"},
    "digest-pinned-images": {"flask_api_build_image": False, "flask_api_image_builder": "none",
                             "flask_api_image": f"registry.example.com:5000/team/flask-api@{DIGEST}",
                             "mysql_image": f"mysql:8.4.3@{DIGEST}"},
    "fixed-node-port": {"flask_api_service_type": "NodePort", "flask_api_node_port": 30080},
    "no-network-policy": {"mysql_network_policy": False},
    "token-auth": {"flask_api_auth": "token", "vault_flask_api_tokens": [API_TOKEN]},
    "autoscaling": {"flask_api_autoscaling": True},
    # As on the local cluster (Kubernetes 1.20): the HorizontalPodAutoscaler is autoscaling/v2beta2.
    "autoscaling-v2beta2": {"flask_api_autoscaling": True, "kube_version": "1.20"},
    # Rendered for the local cluster's Kubernetes 1.20: the PodDisruptionBudget in policy/v1beta1 (test_schema.py
    # validates each object against the releases that serve its API version).
    "kube-1.20": {"kube_version": "1.20"},
    "mysql-pdb": {"mysql_pdb": True},
    "no-pdb-no-spread": {"flask_api_pdb": False, "flask_api_spread_topology_key": ""},
}
# The Kubernetes minors each feature's manifests are validated against, when not every one from 1.29 to 1.37:
# those that serve its API versions (kubernetes-validate's schemas start at 1.25; v2beta2 was removed in 1.26).
FEATURE_VERSIONS = {"autoscaling-v2beta2": ("1.25", "1.25")}
# name -> (inventory, extra variables besides the passwords)
VARIABLE_SETS = {
    **{name: (inventory, PRODUCTION_VAULT if name == "production" else {}) for name, inventory in INVENTORIES.items()},
    **{f"minikube+{feature}": (INVENTORIES["minikube"], extra) for feature, extra in FEATURES.items()},
}
# name -> (first, last) Kubernetes minor its manifests must validate against
VALIDATED_VERSIONS = {name: ("1.29", "1.37") for name in VARIABLE_SETS} | {
    f"minikube+{feature}": versions for feature, versions in FEATURE_VERSIONS.items()}


@pytest.fixture(scope="session")
def passwords() -> dict[str, str]:
    """Passwords given to every render, so tests can look for them in the output."""
    return {"vault_mysql_root_password": strong_password(), "vault_mysql_app_password": strong_password()}


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, passwords) -> dict[str, Render]:
    base = tmp_path_factory.mktemp("render")

    def one(name: str) -> Render:
        inventory, extra = VARIABLE_SETS[name]
        return render(base / name, inventory, {**passwords, **extra})

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = dict(zip(VARIABLE_SETS, pool.map(one, VARIABLE_SETS)))
    for name, result in results.items():
        assert result.returncode == 0, f"render.yml failed for {name}:\n{result.output[-3000:]}"
        assert result.objects, f"render.yml wrote nothing for {name}"
    return results


@pytest.fixture(params=sorted(VARIABLE_SETS))
def each_render(request, rendered) -> Render:
    return rendered[request.param]
