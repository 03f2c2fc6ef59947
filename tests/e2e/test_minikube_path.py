"""inventory/minikube end to end through the minikube stand-in (tests/e2e/minikube-standin/minikube, first on
PATH), backed by the local cluster: its own image build (minikube image build), the hostPath volume whose
directory the play makes with minikube ssh, and the URL it prints from minikube ip and the nodePort; from the
repository root's site.yml, as users type it (the changed=0 re-run is molecule's, on inventory/local).
What the stand-in does not prove: docs/testing-e2e.md.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from e2e_ansible import _tool, ansible_env
from e2e_api import call, create_user
from e2e_kube import Cluster
from e2e_settings import CONTEXT, KUBECONFIG, REPO, local_mysql_image

STANDIN = REPO / "tests/e2e/minikube-standin"
NODE_IP = "198.18.255.1"


def minikube_kubeconfig(path: Path) -> Path:
    """The local cluster's kubeconfig with its context named minikube, as `minikube start` writes one."""
    config = yaml.safe_load(Path(KUBECONFIG).read_text())
    for context in config["contexts"]:
        if context["name"] == CONTEXT:
            context["name"] = "minikube"
    config["current-context"] = "minikube"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def minikube_playbook(playbook: str, namespace: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("ansible-playbook"), playbook, "-i", "inventory/minikube",
                           "-e", f"app_namespace={namespace}", *extra],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1500, check=False)


def test_minikube_inventory_builds_makes_its_hostpath_and_prints_a_working_url(cluster: Cluster, namespaces,
                                                                               tmp_path):
    namespace = namespaces.new("minikube")
    hostpath = Path(f"/data/{namespace}-mysql")
    calls = tmp_path / "minikube-calls.log"
    env = {**ansible_env(), "PATH": f"{STANDIN}:{os.environ['PATH']}", "MINIKUBE_STANDIN_LOG": str(calls),
           "KUBECONFIG": str(minikube_kubeconfig(tmp_path / "kubeconfig"))}
    # The official image cannot be pulled here: the local cluster's MySQL image stands in for mysql:8.4.3.
    options = ("-e", "mysql_hostpath_pv=true", "-e", f"mysql_image={local_mysql_image()}")
    try:
        run = minikube_playbook("site.yml", namespace, env, *options)
        assert run.returncode == 0, run.stdout[-6000:]

        made = calls.read_text()
        assert re.search(r"^minikube -p minikube image (ls|build) ", made, re.M), made
        assert f"ssh -- sudo install -d -m 0750 -o 999 -g 999 {hostpath}" in made
        assert "service" not in made
        assert (hostpath.stat().st_uid, hostpath.stat().st_gid) == (999, 999)
        assert (hostpath / "mysql").is_dir(), "MySQL did not initialise its data in the hostPath directory"

        node_port = cluster.core.read_namespaced_service("flask-service", namespace).spec.ports[0].node_port
        url = f"http://{NODE_IP}:{node_port}"
        assert f"The API answers at {url}" in run.stdout
        created = create_user(url, "minikube", "minikube@example.com")
        assert call(url, "GET", f"/users/{created['id']}")[0] == 200
    finally:
        minikube_playbook("teardown.yml", namespace, env, *options, "-e", "purge=true")
        shutil.rmtree(hostpath, ignore_errors=True)
