"""Does a kube context answer? The one probe behind scripts/deploy, molecule/user-cluster/run, tests/e2e/run and
the end-to-end tests (tests/e2e/e2e_kube.py).

    python3 scripts/kube_probe.py [KUBECONFIG [CONTEXT]]

Prints the name of the context that answered and exits 0; exits 1 when it does not answer (no kubeconfig, no such
context, API server unreachable), 2 when the Python kubernetes client is missing (run `make venv`). Without
arguments it probes the current context of the default kubeconfig ($KUBECONFIG, else ~/.kube/config).
"""
from __future__ import annotations

import sys
from typing import Any

TIMEOUT_SECONDS = 5


def answers(api_client: Any) -> bool:
    """True when the API server behind api_client (a kubernetes.client.ApiClient) tells its version in time."""
    from kubernetes import client

    try:
        client.VersionApi(api_client).get_code(_request_timeout=TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - any failure to reach the API server means "no cluster here"
        return False
    return True


def main(argv: list[str]) -> int:
    try:
        from kubernetes import config
    except ImportError:
        return 2
    kubeconfig = argv[1] if len(argv) > 1 and argv[1] else None
    context = argv[2] if len(argv) > 2 and argv[2] else None
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        if context is not None:
            active = next(found for found in contexts if found["name"] == context)
        api_client = config.new_client_from_config(config_file=kubeconfig, context=active["name"])
    except Exception:  # noqa: BLE001 - no kubeconfig, no such context, unreadable file
        return 1
    try:
        if not answers(api_client):
            return 1
    finally:
        api_client.close()
    print(active["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
