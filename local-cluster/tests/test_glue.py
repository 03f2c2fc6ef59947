"""Unit tests of the local cluster's glue (no cluster needed): dns-sync, hostpath-provisioner,
dns-query and image-build's argument checks. Run: pytest local-cluster/tests"""
import importlib.machinery
import importlib.util
import json
import os
import socket
import struct
import subprocess
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


def load(name):
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(HERE / "glue" / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


dns_sync = load("dns-sync")
provisioner = load("hostpath-provisioner")
dns_query = load("dns-query")


def service(ns, name, cluster_ip):
    spec = {"clusterIP": cluster_ip} if cluster_ip else {"type": "ExternalName", "externalName": "x.example"}
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec}


def endpoints(ns, name, addresses):
    subsets = [{"addresses": addresses}] if addresses is not None else None
    return {"metadata": {"namespace": ns, "name": name}, "subsets": subsets}


class TestDnsSync:
    def test_cluster_ip_and_headless_records(self):
        services = [
            service("app", "web", "198.19.0.10"),
            service("app", "db", "None"),
            service("app", "ext", None),
        ]
        eps = [
            endpoints("app", "web", [{"ip": "198.18.0.5"}]),
            endpoints("app", "db", [{"ip": "198.18.0.7", "hostname": "db-0"}, {"ip": "198.18.0.8"}]),
        ]
        assert dns_sync.records(services, eps, "cluster.local") == [
            ("db-0.db.app.svc.cluster.local", "198.18.0.7"),
            ("db.app.svc.cluster.local", "198.18.0.7"),
            ("db.app.svc.cluster.local", "198.18.0.8"),
            ("web.app.svc.cluster.local", "198.19.0.10"),
        ]

    def test_headless_without_ready_pods_has_no_record(self):
        services = [service("app", "db", "None")]
        assert dns_sync.records(services, [endpoints("app", "db", None)], "cluster.local") == []

    def test_endpoints_of_unknown_service_are_ignored(self):
        assert dns_sync.records([], [endpoints("app", "gone", [{"ip": "198.18.0.9"}])], "cluster.local") == []

    def test_hosts_file_rewritten_only_on_change(self, tmp_path):
        hosts = str(tmp_path / "hosts")
        text = dns_sync.render([("web.app.svc.cluster.local", "198.19.0.10")])
        assert text == "198.19.0.10 web.app.svc.cluster.local\n"
        assert dns_sync.write_if_changed(hosts, text) is True
        assert dns_sync.write_if_changed(hosts, text) is False
        assert dns_sync.write_if_changed(hosts, "") is True
        assert os.stat(hosts).st_mode & 0o777 == 0o644


class FakeKubectl:
    def __init__(self):
        self.calls = []

    def run(self, *args, stdin=None):
        self.calls.append((args, json.loads(stdin) if stdin else None))
        return ""


STANDARD = {
    "metadata": {"name": "standard", "annotations": {provisioner.DEFAULT_CLASS_ANNOTATION: "true"}},
    "provisioner": provisioner.PROVISIONER,
    "reclaimPolicy": "Delete",
}
OTHER = {"metadata": {"name": "fast"}, "provisioner": "example.com/other"}


def claim(name, uid, phase="Pending", **spec):
    spec.setdefault("resources", {"requests": {"storage": "1Gi"}})
    return {"metadata": {"namespace": "app", "name": name, "uid": uid}, "spec": spec, "status": {"phase": phase}}


class TestProvision:
    def test_pending_claims_of_our_class_get_a_writable_volume(self, tmp_path):
        kubectl = FakeKubectl()
        claims = [claim("explicit", "u1", storageClassName="standard"), claim("defaulted", "u2")]
        provisioner.provision(kubectl, claims, [], [STANDARD, OTHER], str(tmp_path))
        created = [pv for (args, pv) in kubectl.calls if args[0] == "create"]
        assert [pv["metadata"]["name"] for pv in created] == ["pvc-u1", "pvc-u2"]
        pv = created[0]
        assert pv["spec"]["claimRef"] == {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "app", "name": "explicit", "uid": "u1",
        }
        assert pv["spec"]["capacity"] == {"storage": "1Gi"}
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert pv["spec"]["storageClassName"] == "standard"
        path = Path(pv["spec"]["hostPath"]["path"])
        assert path.parent == tmp_path and path.is_dir()
        assert path.stat().st_mode & 0o777 == 0o777

    def test_claims_it_must_leave_alone(self, tmp_path):
        kubectl = FakeKubectl()
        claims = [
            claim("other-class", "u1", storageClassName="fast"),
            claim("bound", "u2", phase="Bound", volumeName="pvc-u2"),
            claim("block", "u3", volumeMode="Block"),
            claim("no-class", "u4", storageClassName=""),
        ]
        provisioner.provision(kubectl, claims, [], [STANDARD, OTHER], str(tmp_path))
        assert kubectl.calls == []
        assert list(tmp_path.iterdir()) == []

    def test_existing_volume_is_not_created_twice(self, tmp_path):
        kubectl = FakeKubectl()
        provisioner.provision(kubectl, [claim("c", "u1")], [{"metadata": {"name": "pvc-u1"}}], [STANDARD], str(tmp_path))
        assert kubectl.calls == []


def volume(name, path, phase, policy="Delete", ours=True):
    annotations = {"pv.kubernetes.io/provisioned-by": provisioner.PROVISIONER} if ours else {}
    return {
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"persistentVolumeReclaimPolicy": policy, "hostPath": {"path": str(path)}},
        "status": {"phase": phase},
    }


class TestReclaim:
    def test_released_delete_volume_is_removed(self, tmp_path):
        directory = tmp_path / "pvc-u1"
        directory.mkdir()
        (directory / "data").write_text("x")
        kubectl = FakeKubectl()
        provisioner.reclaim(kubectl, [volume("pvc-u1", directory, "Released")], str(tmp_path))
        assert not directory.exists()
        assert kubectl.calls == [(("delete", "pv", "pvc-u1", "--wait=false"), None)]

    @pytest.mark.parametrize(
        "phase, policy, ours",
        [("Bound", "Delete", True), ("Released", "Retain", True), ("Released", "Delete", False)],
    )
    def test_kept_when_bound_retained_or_not_ours(self, tmp_path, phase, policy, ours):
        directory = tmp_path / "pvc-u1"
        directory.mkdir()
        kubectl = FakeKubectl()
        provisioner.reclaim(kubectl, [volume("pvc-u1", directory, phase, policy, ours)], str(tmp_path))
        assert directory.exists() and kubectl.calls == []

    def test_path_outside_the_root_is_never_removed(self, tmp_path):
        root, outside = tmp_path / "volumes", tmp_path / "precious"
        root.mkdir()
        outside.mkdir()
        for path in (outside, root / ".." / "precious"):
            kubectl = FakeKubectl()
            provisioner.reclaim(kubectl, [volume("pvc-x", path, "Released")], str(root))
            assert outside.exists() and kubectl.calls == []


def fake_dns_server(reply):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve():
        data, peer = sock.recvfrom(512)
        sock.sendto(reply(data), peer)
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def answer(query, rcode=0, ips=()):
    qid = query[:2]
    header = qid + struct.pack(">HHHHH", 0x8180 | rcode, 1, len(ips), 0, 0)
    body = query[12:]
    for ip in ips:
        body += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(ip)
    return header + body


class TestDnsQuery:
    def query(self, reply):
        port = fake_dns_server(reply)
        return dns_query.query("127.0.0.1", "web.app.svc.cluster.local", port=port)

    def test_addresses_are_returned(self):
        assert self.query(lambda q: answer(q, ips=["198.19.0.10", "198.19.0.11"])) == [
            "198.19.0.10", "198.19.0.11",
        ]

    def test_nxdomain_gives_nothing(self):
        assert self.query(lambda q: answer(q, rcode=3)) == []

    def test_reply_to_another_query_is_ignored(self):
        assert self.query(lambda q: answer(b"\x00\x00" + q[2:], ips=["198.19.0.10"])) == []


class TestImageBuildArguments:
    """Bad input is refused before anything is built; these never reach buildah or containerd."""

    def run(self, *args):
        return subprocess.run([str(HERE / "image-build"), *args], capture_output=True, text=True, timeout=30)

    def test_usage_without_arguments(self):
        result = self.run()
        assert result.returncode == 2 and "usage:" in result.stderr and result.stdout == ""

    @pytest.mark.parametrize("image", ["flask-api", "Flask-API:1", "flask-api:", "localhost:5000/api", "api:bad tag"])
    def test_image_without_valid_tag_is_refused(self, tmp_path, image):
        (tmp_path / "Dockerfile").write_text("FROM scratch\n")
        result = self.run(image, str(tmp_path))
        assert result.returncode == 1 and "IMAGE must be NAME:TAG" in result.stderr

    def test_context_without_dockerfile_is_refused(self, tmp_path):
        result = self.run("localhost/api:1", str(tmp_path))
        assert result.returncode == 1 and "no Dockerfile" in result.stderr

    @pytest.mark.parametrize("extra", [["--build-arg"], ["--build-arg", "NOVALUE"], ["--pull"]])
    def test_malformed_build_args_are_refused(self, tmp_path, extra):
        (tmp_path / "Dockerfile").write_text("FROM scratch\n")
        result = self.run("localhost/api:1", str(tmp_path), *extra)
        assert result.returncode == 2 and "usage:" in result.stderr
