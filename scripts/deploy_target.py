"""Which inventory `make deploy` (scripts/deploy) uses, from the current kube context.

    python3 scripts/deploy_target.py

Prints two lines: the inventory, then `start-local` or `use-context` (bring the local cluster up first, or
not). On a context no inventory here describes, prints one sentence on stderr saying what to do, exit 1.

  the local cluster's context (local-k8s), however it was selected  -> inventory/local
  (KUBECONFIG=/var/lib/local-k8s/kubeconfig, or merged into ~/.kube/config)
  minikube                                                          -> inventory/minikube
  any other context that answers                                    -> refused, naming the inventory to make
  no context answers (root on Debian)                               -> inventory/local, local cluster started
DEPLOY_INVENTORY=inventory/NAME skips the choice and uses that inventory with the current context.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

LOCAL_CONTEXT = "local-k8s"
MINIKUBE_CONTEXT = "minikube"
INVENTORIES = {LOCAL_CONTEXT: "inventory/local", MINIKUBE_CONTEXT: "inventory/minikube"}


@dataclass(frozen=True)
class Target:
    inventory: str
    start_local: bool = False


class NoTarget(Exception):
    """No inventory fits: the message says what to do."""


def choose(context: str | None, can_start_local: bool, chosen_inventory: str = "") -> Target:
    """The inventory for the context that answers (None: no context answers)."""
    if chosen_inventory:
        return Target(chosen_inventory)
    if context is None:
        if can_start_local:
            return Target(INVENTORIES[LOCAL_CONTEXT], start_local=True)
        raise NoTarget("deploy: no kube context answers and the local cluster needs root on Debian: start minikube "
                       "first (minikube start), then run this again.")
    if context in INVENTORIES:
        return Target(INVENTORIES[context])
    raise NoTarget(
        f"deploy: the current kube context '{context}' is neither minikube nor the local cluster ({LOCAL_CONTEXT}), "
        f"so no inventory here fits it: copy inventory/production.example to inventory/{context}, set kube_context: "
        f"{context} and flask_api_image to an image that cluster can pull (it builds none), make its vault "
        f"(docs/ansible.md), then run DEPLOY_INVENTORY=inventory/{context} make deploy.")


def answering_context() -> str | None:
    """The current context of the kubeconfig ($KUBECONFIG or ~/.kube/config) if its API server answers."""
    try:
        from kubernetes import client, config
        _, active = config.list_kube_config_contexts()
        api = config.new_client_from_config(context=active["name"])
        client.VersionApi(api).get_code(_request_timeout=5)
    except Exception:  # noqa: BLE001 - no kubeconfig, no current context, no answer: all mean "none"
        return None
    return active["name"]


def main() -> int:
    can_start_local = os.geteuid() == 0 and Path("/etc/debian_version").exists()
    try:
        target = choose(answering_context(), can_start_local, os.environ.get("DEPLOY_INVENTORY", ""))
    except NoTarget as error:
        print(error, file=sys.stderr)
        return 1
    print(target.inventory)
    print("start-local" if target.start_local else "use-context")
    return 0


if __name__ == "__main__":
    sys.exit(main())
