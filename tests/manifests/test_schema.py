"""Every rendered object validates strictly (unknown fields rejected) against Kubernetes 1.29 and 1.37."""
from __future__ import annotations

import kubernetes_validate
import pytest

from conftest import VARIABLE_SETS
from render_helpers import render

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
        if obj["kind"] == "CronJob":
            continue  # its API version follows the cluster (kube_version when rendering): see the test below
        assert obj["apiVersion"] in served_by_1_20, f"{name}: {obj['apiVersion']} is not served by Kubernetes 1.20"
        assert obj["kind"] != "PodDisruptionBudget", f"{name}: policy/v1 PDBs do not exist in 1.20"
        if obj["kind"] == "StatefulSet":
            assert "persistentVolumeClaimRetentionPolicy" not in obj["spec"], f"{name}: field unknown to 1.20"


def test_the_backup_cronjob_takes_the_api_version_of_the_kubernetes_release(tmp_path, passwords) -> None:
    """batch/v1 from Kubernetes 1.21 (the 1.29 render above), batch/v1beta1 for the local cluster's 1.20."""
    old = render(tmp_path / "k8s-1.20", "inventory/local",
                 {**passwords, "backup_schedule": "17 3 * * *", "kube_version": "1.20"})
    assert old.returncode == 0, old.output[-2000:]
    cron_job = old.one("CronJob", "mysql-backup")
    assert cron_job["apiVersion"] == "batch/v1beta1"
    assert cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "localhost/mysql-standin:10.11", "the backup Job does not run the MySQL image"
