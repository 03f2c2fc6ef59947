"""Filters that read the state of Kubernetes objects returned by the API (used by every role of this project)."""
from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 10**-3}


def workload_ready(obj):
    """True when a Deployment or StatefulSet has seen its latest spec and every wanted replica runs it and is ready.

    Anything else (an empty or missing object, another kind) is not ready.
    """
    if not isinstance(obj, dict) or not obj.get("status"):
        return False
    spec, status, meta = obj.get("spec") or {}, obj["status"], obj.get("metadata") or {}
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return False
    counts = [status.get("replicas", 0), status.get("updatedReplicas", 0), status.get("readyReplicas", 0)]
    if obj.get("kind") == "Deployment":
        counts.append(status.get("availableReplicas", 0))
        return all(count == wanted for count in counts) and not status.get("unavailableReplicas")
    if obj.get("kind") == "StatefulSet":
        current = status.get("currentRevision") == status.get("updateRevision")
        return all(count == wanted for count in counts) and current
    return False


def quantity(value):
    """A Kubernetes quantity ("1Gi", "1024Mi", "500m", 3) as a number, to compare sizes written differently."""
    match = re.fullmatch(r"\s*([0-9.]+)([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2) not in _SUFFIXES:
        raise AnsibleFilterError(f"'{value}' is not a Kubernetes quantity (for example 10Gi or 500Mi)")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


class FilterModule:
    def filters(self):
        return {"k8s_workload_ready": workload_ready, "k8s_quantity": quantity}
