"""Every rendered object validates strictly (unknown fields rejected) against Kubernetes 1.29 and 1.37."""
from __future__ import annotations

import kubernetes_validate
import pytest

from conftest import VARIABLE_SETS

VERSIONS = ["1.29.0", "1.37.0"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variable_set", sorted(VARIABLE_SETS))
def test_every_object_validates_strictly(rendered, variable_set, version) -> None:
    failures = []
    for name, obj in rendered[variable_set].objects.items():
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{name}: {error.message} at {'.'.join(map(str, error.path))}")
    assert not failures, "\n".join(failures)


def test_the_validator_rejects_an_unknown_field(rendered) -> None:
    """Guards the test above: strict validation must catch a field Kubernetes does not know."""
    deployment = dict(rendered["minikube"].one("Deployment", "flask-api"))
    deployment["spec"] = {**deployment["spec"], "replicaz": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


@pytest.mark.parametrize("variable_set", sorted(VARIABLE_SETS))
def test_only_api_versions_kubernetes_1_20_serves(rendered, variable_set) -> None:
    """The local cluster runs 1.20: its manifests must use API versions and fields it knows as well."""
    served_by_1_20 = {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "storage.k8s.io/v1"}
    for name, obj in rendered[variable_set].objects.items():
        assert obj["apiVersion"] in served_by_1_20, f"{name}: {obj['apiVersion']} is not served by Kubernetes 1.20"
        assert obj["kind"] != "PodDisruptionBudget", f"{name}: policy/v1 PDBs do not exist in 1.20"
        if obj["kind"] == "StatefulSet":
            assert "persistentVolumeClaimRetentionPolicy" not in obj["spec"], f"{name}: field unknown to 1.20"
