"""Where the end-to-end tier runs: the project's local Kubernetes unless the environment names another.

E2E_INVENTORY   inventory the playbooks run with (default inventory/local)
E2E_KUBECONFIG  kubeconfig of that inventory's cluster (default /var/lib/local-k8s/kubeconfig)
E2E_CONTEXT     its context (default local-k8s)
E2E_KEEP        set to 1 to keep the test namespaces for debugging (they are deleted otherwise)
E2E_VERIFY_NAMESPACE  the namespace a molecule scenario converged; its verify step sets it and runs the
                      tests/e2e/verify_*.py checks on it (molecule/shared/verify.yml)
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INVENTORY = os.environ.get("E2E_INVENTORY", "inventory/local")
KUBECONFIG = os.environ.get("E2E_KUBECONFIG", "/var/lib/local-k8s/kubeconfig")
CONTEXT = os.environ.get("E2E_CONTEXT", "local-k8s")
KEEP_NAMESPACES = os.environ.get("E2E_KEEP") == "1"
VERIFY_NAMESPACE = os.environ.get("E2E_VERIFY_NAMESPACE", "")
# Every namespace this tier creates starts with this, so a leftover is easy to recognise.
NAMESPACE_PREFIX = "e2e-"

# Names of the objects the roles make (docs/architecture.md, "Names in the cluster").
MYSQL_SERVICE = "mysql"
API_SERVICE = "flask-service"
CREDENTIALS_SECRET = "mysql-credentials"
ROOT_PASSWORD_KEY = "mysql-root-password"
APP_PASSWORD_KEY = "mysql-password"
