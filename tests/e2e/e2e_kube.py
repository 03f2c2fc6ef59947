"""The cluster as the tests see it: objects read through the Kubernetes API, commands run in pods."""
from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from typing import Any

from e2e_settings import (API_SERVICE, CONTEXT, CREDENTIALS_SECRET, KUBECONFIG, MYSQL_SERVICE, NAMES, REPO,
                          ROOT_PASSWORD_KEY)
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

sys.path.insert(0, str(REPO / "scripts"))

from kube_probe import answers  # noqa: E402

__all__ = ["NAMES", "Cluster", "is_ready", "wait_until"]


class Cluster:
    def __init__(self) -> None:
        api_client = config.new_client_from_config(config_file=KUBECONFIG, context=CONTEXT or None)
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.networking = client.NetworkingV1Api(api_client)
        self.version = client.VersionApi(api_client)

    def close(self) -> None:
        self.api_client.close()

    def answers(self) -> bool:
        return answers(self.api_client)

    # --- reading objects ---------------------------------------------------------------------------

    def namespace_exists(self, namespace: str) -> bool:
        try:
            self.core.read_namespace(namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def pods_of_service(self, namespace: str, service: str) -> list[Any]:
        """Running pods the Service selects, oldest first."""
        selector = self.core.read_namespaced_service(service, namespace).spec.selector
        pods = self.core.list_namespaced_pod(
            namespace, label_selector=",".join(f"{key}={value}" for key, value in selector.items())).items
        running = [pod for pod in pods if pod.status.phase == "Running" and pod.metadata.deletion_timestamp is None]
        return sorted(running, key=lambda pod: pod.metadata.creation_timestamp)

    def secret_values(self, namespace: str, name: str = CREDENTIALS_SECRET) -> dict[str, str]:
        data = self.core.read_namespaced_secret(name, namespace).data or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def api_settings(self, namespace: str) -> dict[str, str]:
        """The API container's plain environment values (MYSQL_USER, MYSQL_DATABASE, ...)."""
        pod = self.pods_of_service(namespace, API_SERVICE)[0]
        return {env.name: env.value for env in pod.spec.containers[0].env or [] if env.value is not None}

    def api_url(self, namespace: str) -> str:
        """http://ClusterIP:port of the API Service (ClusterIPs answer from the node of the local cluster)."""
        service = self.core.read_namespaced_service(API_SERVICE, namespace)
        return f"http://{service.spec.cluster_ip}:{service.spec.ports[0].port}"

    def jobs(self, namespace: str) -> list[Any]:
        return self.batch.list_namespaced_job(namespace).items

    # --- acting ------------------------------------------------------------------------------------

    def exec(self, namespace: str, pod: str, command: list[str], timeout: int = 120) -> tuple[int, str, str]:
        """Run a command in a pod's first container; return (exit code, stdout, stderr)."""
        ws = stream(self.core.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                    stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
        out, err = [], []
        deadline = time.monotonic() + timeout
        while ws.is_open() and time.monotonic() < deadline:
            ws.update(timeout=1)
            if ws.peek_stdout():
                out.append(ws.read_stdout())
            if ws.peek_stderr():
                err.append(ws.read_stderr())
        code = ws.returncode
        ws.close()
        ws.sock.shutdown()  # close() skips the socket once the server has closed the stream
        return (code if code is not None else -1), "".join(out), "".join(err)

    def mysql(self, namespace: str, sql: str, user: str, password: str) -> tuple[int, str, str]:
        """Run SQL with the mysql client in the MySQL pod (password through MYSQL_PWD, not the command line)."""
        pod = self.pods_of_service(namespace, MYSQL_SERVICE)[0].metadata.name
        script = 'MYSQL_PWD="$1" exec mysql --protocol=TCP -h 127.0.0.1 -u "$2" -N -B -e "$3"'
        return self.exec(namespace, pod, ["sh", "-c", script, "sh", password, user, sql])

    def root_sql(self, namespace: str, sql: str) -> str:
        """Run SQL as root (password from the credentials Secret) in the MySQL pod; fail with mysql's error."""
        code, out, err = self.mysql(namespace, sql, "root", self.secret_values(namespace)[ROOT_PASSWORD_KEY])
        if code != 0:
            raise AssertionError(f"mysql failed in {namespace} (exit {code}): {err.strip()}")
        return out

    def app_login(self, namespace: str, settings: dict[str, str], password: str) -> tuple[int, str]:
        """Log in as the API's database user from an API pod, over the network to the mysql Service.

        Returns (exit code, error message); the password goes in argv of the exec, never to a log.
        """
        pod = self.pods_of_service(namespace, API_SERVICE)[0].metadata.name
        script = ("import sys, pymysql\n"
                  "try:\n"
                  "    pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3],"
                  " password=sys.argv[4], database=sys.argv[5], connect_timeout=10).close()\n"
                  "except pymysql.err.MySQLError as error:\n"
                  "    sys.exit(str(error))\n")
        code, _, err = self.exec(namespace, pod, [
            "python3", "-c", script, settings["MYSQL_HOST"], settings.get("MYSQL_PORT", "3306"),
            settings["MYSQL_USER"], password, settings["MYSQL_DATABASE"]])
        return code, err.strip()

    def delete_namespace(self, namespace: str, timeout: int = 300) -> None:
        """Delete the namespace, wait until it is gone, and remove the volumes its claims were bound to.

        Its pods are removed at once (a terminating namespace admits no new ones): the namespace would otherwise wait
        for each one's grace period, the API's drain and graceful stop, for data that is thrown away."""
        try:
            self.core.delete_namespace(namespace)
            self.core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
        except ApiException as error:
            if error.status != 404:
                raise
        wait_until(lambda: not self.namespace_exists(namespace), timeout, f"namespace {namespace} to go")
        for volume in self.core.list_persistent_volume().items:
            claim = volume.spec.claim_ref
            if claim is not None and claim.namespace == namespace:
                self.core.delete_persistent_volume(volume.metadata.name)


def is_ready(pod: Any) -> bool:
    """The pod's Ready condition is True."""
    return any(condition.type == "Ready" and condition.status == "True" for condition in pod.status.conditions or [])


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 2) -> Any:
    """Poll condition() until it returns something truthy; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
