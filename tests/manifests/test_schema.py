"""Every rendered object validates strictly (unknown fields rejected) against every Kubernetes minor version from
1.29 to 1.37, and its names and labels follow Kubernetes' own rules, which the JSON schemas do not encode."""
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


@pytest.mark.parametrize("variable_set, version", [
    (variable_set, version) for variable_set in sorted(VARIABLE_SETS)
    for version in minor_versions(*VALIDATED_VERSIONS[variable_set])])
def test_every_object_validates_strictly(rendered, variable_set, version) -> None:
    failures = [f"{name}: {error}" for name, obj in rendered[variable_set].objects.items()
                for error in strict_errors(obj, version)]
    assert not failures, "\n".join(failures)


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
    """The local cluster runs 1.20: its manifests must use API versions and fields it knows as well. Kinds whose
    version the cluster is asked for (common_api_versions_by_kind) are checked by the next test."""
    served_by_1_20 = {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "storage.k8s.io/v1"}
    asked = set(rendered[variable_set].names["common_api_versions_by_kind"]) - {"PodDisruptionBudget"}
    for name, obj in rendered[variable_set].objects.items():
        if obj["kind"] in asked:
            continue
        assert obj["apiVersion"] in served_by_1_20, f"{name}: {obj['apiVersion']} is not served by Kubernetes 1.20"
        assert obj["kind"] != "PodDisruptionBudget", f"{name}: policy/v1 PDBs do not exist in 1.20"
        if obj["kind"] == "StatefulSet":
            assert "persistentVolumeClaimRetentionPolicy" not in obj["spec"], f"{name}: field unknown to 1.20"


def test_the_autoscaler_uses_the_api_version_its_kubernetes_serves(rendered) -> None:
    """autoscaling/v2 from 1.23 (v2beta2 is gone in 1.26), autoscaling/v2beta2 on the local cluster's 1.20."""
    for variable_set, api_version in (("minikube+autoscaling", "autoscaling/v2"),
                                      ("minikube+autoscaling-v2beta2", "autoscaling/v2beta2")):
        (autoscaler,) = rendered[variable_set].of_kind("HorizontalPodAutoscaler")
        assert autoscaler["apiVersion"] == api_version, variable_set
    assert not rendered["minikube"].of_kind("HorizontalPodAutoscaler"), "autoscaling is on by default"
