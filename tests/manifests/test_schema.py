"""Every rendered object validates strictly (unknown fields rejected) against every Kubernetes minor version from
1.29 to 1.37 that serves its API version, and its names and labels follow Kubernetes' own rules, which the JSON
schemas do not encode.

Kinds whose API version moved (roles/common common_api_versions_by_kind: CronJob, PodDisruptionBudget, ...) are
rendered per kube_version; an object in a version that Kubernetes removed before 1.25 (the oldest schemas
kubernetes-validate ships) is validated as its successor version of the last release that served both, whose
fields it has (policy/v1beta1 -> policy/v1 of 1.25, batch/v1beta1 -> batch/v1 of 1.25); a real 1.20 API server
accepts it in the end-to-end tier."""
from __future__ import annotations

import re

import pytest
from conftest import VALIDATED_VERSIONS, VARIABLE_SETS
from kube_schema import minor_versions, strict_errors
from kubernetes_rules import rules

VERSIONS = minor_versions("1.29", "1.37")
DATA_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
# Kinds whose names become a pod's host name or a label value (job-name), so DNS-1123 labels; Services DNS-1035.
NAME_RULES = {"Namespace": rules.dns1123_label, "Service": rules.dns1035_label, "StatefulSet": rules.dns1123_label,
              "Job": rules.dns1123_label, "CronJob": rules.dns1123_label}


OLDEST_SCHEMA = "1.25"


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def served_range(obj: dict, names: dict) -> tuple[str, str | None] | None:
    """(since, removed_in) of obj's API version when its kind's version moved, else None (served throughout)."""
    for entry in names["common_api_versions_by_kind"].get(obj["kind"], []):
        if entry["api_version"] == obj["apiVersion"]:
            return entry["since"], entry.get("removed_in")
    return None


def served_in(obj: dict, names: dict, version: str) -> bool:
    found = served_range(obj, names)
    if found is None:
        return True
    since, removed_in = found
    return _release(since) <= _release(version) and (removed_in is None or _release(version) < _release(removed_in))


@pytest.mark.parametrize("variable_set, version", [
    (variable_set, version) for variable_set in sorted(VARIABLE_SETS)
    for version in minor_versions(*VALIDATED_VERSIONS[variable_set])])
def test_every_object_validates_strictly(rendered, variable_set, version) -> None:
    render = rendered[variable_set]
    failures = [f"{name}: {error}" for name, obj in render.objects.items() if served_in(obj, render.names, version)
                for error in strict_errors(obj, version)]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("variable_set", sorted(VARIABLE_SETS))
def test_objects_for_releases_before_the_schemas_validate_as_their_successor(rendered, variable_set) -> None:
    render = rendered[variable_set]
    failures = []
    for name, obj in render.objects.items():
        found = served_range(obj, render.names)
        if found is None or found[1] is None or _release(found[1]) > _release(OLDEST_SCHEMA):
            continue
        successors = [entry["api_version"] for entry in render.names["common_api_versions_by_kind"][obj["kind"]]
                      if "removed_in" not in entry]
        assert successors, f"{name}: no successor of {obj['apiVersion']} to validate against"
        failures += [f"{name} (as {successors[0]}): {error}"
                     for error in strict_errors({**obj, "apiVersion": successors[0]}, OLDEST_SCHEMA)]
    assert not failures, "\n".join(failures)


def test_the_pdb_api_version_follows_kube_version(rendered) -> None:
    """policy/v1 from 1.21 on (1.29 is the default kube_version), policy/v1beta1 for the local cluster's 1.20."""
    assert {obj["apiVersion"] for obj in rendered["minikube"].of_kind("PodDisruptionBudget")} == {"policy/v1"}
    assert {obj["apiVersion"] for obj in rendered["minikube+kube-1.20"].of_kind("PodDisruptionBudget")} == \
        {"policy/v1beta1"}


def test_the_validator_rejects_an_unknown_field_and_a_wrong_type(rendered) -> None:
    """Guards the test above: strict validation must catch a field Kubernetes does not know, and a wrong type."""
    deployment = rendered["minikube"].of_kind("Deployment")[0]
    assert not strict_errors(deployment, VERSIONS[-1])
    unknown = {**deployment, "spec": {**deployment["spec"], "replicaz": 3}}
    assert any("replicaz" in error for error in strict_errors(unknown, VERSIONS[-1]))
    wrong_type = {**deployment, "spec": {**deployment["spec"], "replicas": "three"}}
    assert any("spec.replicas" in error for error in strict_errors(wrong_type, VERSIONS[0]))


def label_sets(obj: dict):
    """(where, labels) of every label map and label selector in obj: its own, its pod template's, its claims'."""
    yield "metadata.labels", obj["metadata"].get("labels", {})
    spec = obj.get("spec", {})
    spec = spec.get("jobTemplate", {}).get("spec", spec)
    if "template" in spec:
        yield "pod labels", spec["template"]["metadata"].get("labels", {})
    for claim in spec.get("volumeClaimTemplates", []):
        yield "claim labels", claim["metadata"].get("labels", {})
    if isinstance(spec.get("selector"), dict):
        yield "selector", spec["selector"].get("matchLabels", spec["selector"])
    if "podSelector" in spec:
        yield "podSelector", spec["podSelector"].get("matchLabels", {})
    for rule in spec.get("ingress", []):
        for peer in rule.get("from", []):
            yield "ingress peer", peer.get("podSelector", {}).get("matchLabels", {})


@pytest.mark.parametrize("variable_set", sorted(VARIABLE_SETS))
def test_names_and_labels_follow_kubernetes_rules(rendered, variable_set) -> None:
    failures = []
    for name, obj in rendered[variable_set].objects.items():
        kind, object_name = obj["kind"], obj["metadata"]["name"]
        problem = NAME_RULES.get(kind, rules.dns1123_subdomain)(object_name)
        if problem:
            failures.append(f"{name}: name {object_name!r} {problem}")
        for where, labels in label_sets(obj):
            problem = rules.labels(labels)
            if problem:
                failures.append(f"{name}: {where} {problem}")
        for key in obj["metadata"].get("annotations", {}):
            problem = rules.label_key(key)
            if problem:
                failures.append(f"{name}: annotation key {key!r} {problem}")
        for key in obj.get("data", {}) if kind in {"Secret", "ConfigMap"} else ():
            if not DATA_KEY.fullmatch(key):
                failures.append(f"{name}: data key {key!r} is not letters, digits, '-', '_' and '.'")
    assert not failures, "\n".join(failures)


def test_the_rule_check_catches_what_the_schemas_let_through() -> None:
    """Guards the test above with the two labels issue 12 found: both pass the schemas, a real API server refuses."""
    digest_label = "sha256:" + "0" * 64
    port_label = "5000/team/flask-api"
    assert rules.labels({"app.kubernetes.io/version": digest_label})
    assert rules.labels({"app.kubernetes.io/version": port_label})
    assert rules.dns1123_subdomain("Flask_API")
    assert rules.dns1035_label("1-service")


@pytest.mark.parametrize("variable_set", sorted(VARIABLE_SETS))
def test_only_api_versions_kubernetes_1_20_serves(rendered, variable_set) -> None:
    """The local cluster runs 1.20: its manifests must use API versions and fields it knows as well (kinds whose
    version moved take the one the cluster serves: rendered for 1.20, they must be served by 1.20)."""
    served_by_1_20 = {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "storage.k8s.io/v1"}
    render = rendered[variable_set]
    for name, obj in render.objects.items():
        if served_range(obj, render.names) is not None:
            if render.names.get("kube_version") == "1.20":
                assert served_in(obj, render.names, "1.20"), f"{name}: {obj['apiVersion']} is not served by 1.20"
            continue
        assert obj["apiVersion"] in served_by_1_20, f"{name}: {obj['apiVersion']} is not served by Kubernetes 1.20"
        if obj["kind"] == "StatefulSet":
            assert "persistentVolumeClaimRetentionPolicy" not in obj["spec"], f"{name}: field unknown to 1.20"


def test_the_autoscaler_uses_the_api_version_its_kubernetes_serves(rendered) -> None:
    """autoscaling/v2 from 1.23 (v2beta2 is gone in 1.26), autoscaling/v2beta2 on the local cluster's 1.20."""
    for variable_set, api_version in (("minikube+autoscaling", "autoscaling/v2"),
                                      ("minikube+autoscaling-v2beta2", "autoscaling/v2beta2")):
        (autoscaler,) = rendered[variable_set].of_kind("HorizontalPodAutoscaler")
        assert autoscaler["apiVersion"] == api_version, variable_set
    assert not rendered["minikube"].of_kind("HorizontalPodAutoscaler"), "autoscaling is on by default"
