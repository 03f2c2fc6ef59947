"""`make deploy` picks the inventory that describes the current kube context (scripts/deploy_target.py).

The contexts are real kubeconfig entries whose API server (a tiny HTTP server here) answers, as a cluster does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


class VersionHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = json.dumps({"major": "1", "minor": "29", "gitVersion": "v1.29.0", "gitCommit": "0" * 40,
                           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.21",
                           "compiler": "gc", "platform": "linux/amd64"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), VersionHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def kubeconfig(path: Path, current: str, server: str) -> Path:
    """A kubeconfig holding the local cluster's, minikube's and another context, all pointing at server."""
    names = ["local-k8s", "minikube", "gke_team_prod"]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": name, "cluster": {"server": server}} for name in names],
        "users": [{"name": name, "user": {"token": "not-a-secret"}} for name in names],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}} for name in names],
    }))
    return path


def deploy_target(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/deploy_target.py"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ["PATH"], **env})


@pytest.mark.parametrize(("context", "inventory"), [("local-k8s", "inventory/local"),
                                                    ("minikube", "inventory/minikube")])
def test_a_known_context_deploys_with_its_inventory(tmp_path, api_server, context, inventory):
    result = deploy_target({"KUBECONFIG": str(kubeconfig(tmp_path / "config", context, api_server))})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [inventory, "use-context"]


def test_another_context_is_refused_naming_the_inventory_to_make(tmp_path, api_server):
    result = deploy_target({"KUBECONFIG": str(kubeconfig(tmp_path / "config", "gke_team_prod", api_server))})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    for hint in ("'gke_team_prod'", "inventory/production.example", "flask_api_image",
                 "DEPLOY_INVENTORY=inventory/gke_team_prod make deploy"):
        assert hint in result.stderr


def test_deploy_inventory_overrides_the_choice(tmp_path, api_server):
    result = deploy_target({"KUBECONFIG": str(kubeconfig(tmp_path / "config", "gke_team_prod", api_server)),
                            "DEPLOY_INVENTORY": "inventory/production.example"})
    assert result.stdout.splitlines() == ["inventory/production.example", "use-context"]


def test_without_an_answering_context_the_local_cluster_is_started_where_it_can_be(tmp_path):
    # A context whose API server does not answer counts as none.
    result = deploy_target({"KUBECONFIG": str(kubeconfig(tmp_path / "config", "minikube", "http://127.0.0.1:9"))})
    if os.geteuid() == 0 and Path("/etc/debian_version").exists():
        assert result.stdout.splitlines() == ["inventory/local", "start-local"]
    else:
        assert result.returncode == 1 and "minikube start" in result.stderr
