"""Where the end-to-end tier runs: the project's local Kubernetes unless the environment names another.

E2E_INVENTORY   inventory the playbooks run with (default inventory/local)
E2E_KUBECONFIG  kubeconfig of that inventory's cluster (default /var/lib/local-k8s/kubeconfig)
E2E_CONTEXT     its context (default local-k8s)
E2E_KEEP        set to 1 to keep the test namespaces for debugging (they are deleted otherwise)
LOCAL_MYSQL_FLAVOR  the local cluster's database server, mysql or mariadb (default: inventory/local's)
E2E_VERIFY_NAMESPACE  the namespace a molecule scenario converged; its verify step sets it and runs the
                      tests/e2e/verify_*.py checks on it (molecule/shared/verify.yml)
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from contract import contract, render

REPO = Path(__file__).resolve().parents[2]
INVENTORY = os.environ.get("E2E_INVENTORY", "inventory/local")
KUBECONFIG = os.environ.get("E2E_KUBECONFIG", "/var/lib/local-k8s/kubeconfig")
CONTEXT = os.environ.get("E2E_CONTEXT", "local-k8s")
KEEP_NAMESPACES = os.environ.get("E2E_KEEP") == "1"
VERIFY_NAMESPACE = os.environ.get("E2E_VERIFY_NAMESPACE", "")
# Every namespace this tier creates starts with this, so a leftover is easy to recognise.
NAMESPACE_PREFIX = "e2e-"


def local_mysql_image() -> str:
    """The database image inventory/local deploys (its mysql_image, as Ansible renders it)."""
    settings = yaml.safe_load((REPO / "inventory/local/group_vars/all/main.yml").read_text())
    return render(settings)["mysql_image"]
# Names of the objects the roles make, from their one definition in roles/common (tests/contract.py), as the e2e
# inventory leaves them (it renames no object; only the namespace differs).
NAMES = contract()
MYSQL_SERVICE = NAMES["mysql_name"]
API_SERVICE = NAMES["flask_api_service_name"]
CREDENTIALS_SECRET = NAMES["secrets_name"]
ROOT_PASSWORD_KEY = NAMES["secrets_root_password_key"]
APP_PASSWORD_KEY = NAMES["secrets_app_password_key"]
