"""How inputs drive the render: bad inputs fail before anything is written, naming the variable; a rotated
password or changed sources change exactly the objects that must change."""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from contract import contract
from conftest import PRODUCTION_VAULT, VARIABLE_SETS
from render_helpers import REPO, render, strong_password, tool

BAD_INPUTS = {
    "placeholder root password": ({"vault_mysql_root_password": "changeme-changeme-42"}, "vault_mysql_root_password"),
    "placeholder app password": ({"vault_mysql_app_password": "<your-password-here>"}, "vault_mysql_app_password"),
    "short app password": ({"vault_mysql_app_password": "Zk3-q9"}, "vault_mysql_app_password"),
    "uniform root password": ({"vault_mysql_root_password": "a" * 24}, "vault_mysql_root_password"),
    "root password on two lines": ({"vault_mysql_root_password": "Kq8vTn3Lw7Rz\nXb5Hm2Jc9Pd4"},
                                   "vault_mysql_root_password"),
    "invalid namespace": ({"app_namespace": "Bad_Namespace"}, "app_namespace"),
    "replicas not a number": ({"flask_api_replicas": "three"}, "flask_api_replicas"),
    "unknown image builder": ({"flask_api_image_builder": "docker"}, "flask_api_image_builder"),
    "unknown service type": ({"flask_api_service_type": "Ingress"}, "flask_api_service_type"),
    "negative replica count": ({"flask_api_replicas": -1}, "flask_api_replicas"),
    "storage size not a quantity": ({"mysql_storage_size": "1 GB"}, "mysql_storage_size"),
    "nodePort out of range": ({"flask_api_service_type": "NodePort", "flask_api_node_port": 8080}, "flask_api_node_port"),
    "empty MySQL image": ({"mysql_image": ""}, "mysql_image"),
    "API image not pinned": ({"flask_api_image": "registry.example.com:5000/team/flask-api"}, "flask_api_image"),
    "request above limit": ({"flask_api_resources": {"requests": {"cpu": "2", "memory": "128Mi"},
                                                     "limits": {"cpu": "1", "memory": "256Mi"}}}, "flask_api_resources"),
    "API name too long": ({"flask_api_name": "a" * 64}, "flask_api_name"),
    "schema Job name too long": ({"flask_api_schema_job_prefix": "s" * 55}, "flask_api_schema_job_prefix"),
    "API named like MySQL": ({"flask_api_name": contract()["mysql_name"]}, "flask_api_name"),
    "short API token": ({"flask_api_auth": "token", "vault_flask_api_tokens": ["Short-token-9x"]},
                        "vault_flask_api_tokens"),
    "placeholder API token": ({"flask_api_auth": "token",
                               "vault_flask_api_tokens": ["REPLACE_WITH_A_TOKEN_FROM_SECRETS_TOKEN_URLSAFE"]},
                              "vault_flask_api_tokens"),
    "external MySQL without a CA": ({"mysql_mode": "external", "mysql_external_host": "db.example.com"},
                                    "vault_mysql_external_ca"),
    "autoscaler minimum above maximum": ({"flask_api_autoscaling": True, "flask_api_autoscaling_min_replicas": 5,
                                          "flask_api_autoscaling_max_replicas": 2}, "flask_api_autoscaling_max_replicas"),
}


@pytest.fixture(scope="module")
def bad_input_renders(tmp_path_factory, passwords) -> dict:
    """One render per bad input, side by side (each fails within seconds, before anything is written)."""
    base = tmp_path_factory.mktemp("bad-inputs")

    def one(case: str):
        extra, _ = BAD_INPUTS[case]
        return render(base / case.replace(" ", "-"), "inventory/minikube", {**passwords, **extra})

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(BAD_INPUTS, pool.map(one, BAD_INPUTS)))


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_fails_before_anything_is_written(bad_input_renders, case) -> None:
    extra, variable = BAD_INPUTS[case]
    result = bad_input_renders[case]
    assert result.returncode != 0, f"render accepted {extra}"
    assert variable in result.output, f"the failure does not name {variable}:\n{result.output[-2000:]}"
    assert not result.objects, f"files were written before the check: {sorted(result.objects)}"
    assert "Traceback" not in result.output, "a traceback instead of a sentence"
    if "password" in variable or "token" in variable:
        for value in (value for key, value in extra.items() if key.startswith("vault_")):
            for item in value if isinstance(value, list) else [value]:
                assert str(item) not in result.output, "the rejected password or token was printed"


def test_a_missing_password_fails_where_generation_is_off(tmp_path, passwords) -> None:
    """production.example sets secrets_generate_missing=false: no password may be invented there."""
    given = {"vault_mysql_root_password": passwords["vault_mysql_root_password"], **PRODUCTION_VAULT}
    result = render(tmp_path / "out", "inventory/production.example", given)
    assert result.returncode != 0
    assert "vault_mysql_app_password is not set" in result.output
    assert not result.objects


def test_missing_passwords_are_generated_strong_where_allowed(tmp_path) -> None:
    result = render(tmp_path / "out", "inventory/minikube",
                    {"vault_mysql_root_password": "", "vault_mysql_app_password": ""})
    assert result.returncode == 0, result.output[-2000:]
    data = result.one("Secret", result.names["secrets_name"])["data"]
    values = [base64.b64decode(value).decode() for value in data.values()]
    assert len(values) == 2 and len(set(values)) == 2
    assert all(len(value) == 32 and value.isalnum() for value in values)


@pytest.fixture(scope="module")
def frozen_source(tmp_path_factory):
    """A copy of the image's sources, so edits elsewhere in the repository cannot race these tests."""
    source = tmp_path_factory.mktemp("source")
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return source


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, frozen_source, passwords):
    result = render(tmp_path_factory.mktemp("baseline") / "out", "inventory/minikube",
                    {**passwords, "flask_api_source_dir": str(frozen_source)})
    assert result.returncode == 0, result.output[-2000:]
    return result


def api_deployment(result) -> dict:
    return result.one("Deployment", result.names["flask_api_name"])


def api_image(result) -> str:
    return api_deployment(result)["spec"]["template"]["spec"]["containers"][0]["image"]


def file_of(result, kind: str, name: str) -> str:
    """The file render.yml wrote that object to."""
    matches = [file for file, obj in result.objects.items() if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {matches}"
    return matches[0]


def test_a_rotated_app_password_changes_only_what_it_must(tmp_path, baseline, frozen_source, passwords) -> None:
    after = render(tmp_path / "out", "inventory/minikube",
                   {**passwords, "flask_api_source_dir": str(frozen_source),
                    "vault_mysql_app_password": strong_password()})
    assert after.returncode == 0, after.output[-2000:]
    changed = {name for name in baseline.texts if baseline.texts[name] != after.texts.get(name)}
    job_before = baseline.of_kind("Job")[0]["metadata"]["name"]
    job_after = after.of_kind("Job")[0]["metadata"]["name"]
    assert job_before != job_after, "a rotated password must run a new schema Job (ALTER USER)"
    names = baseline.names
    assert changed == {
        file_of(baseline, "Secret", names["secrets_name"]),
        file_of(baseline, "Job", job_before),
        file_of(baseline, "ConfigMap", baseline.of_kind("ConfigMap")[0]["metadata"]["name"]),
        file_of(baseline, "Deployment", names["flask_api_name"]),
    }, f"unexpected changes: {sorted(changed)}"
    annotations = [api_deployment(result)["spec"]["template"]["metadata"]["annotations"] for result in (baseline, after)]
    assert annotations[0] != annotations[1], "a rotated password must roll the API pods"
    assert api_image(after) == api_image(baseline)


def test_changed_sources_give_a_new_image_tag_and_schema_job(tmp_path_factory, baseline, frozen_source,
                                                             passwords) -> None:
    changed_source = tmp_path_factory.mktemp("changed")
    shutil.copytree(frozen_source, changed_source, dirs_exist_ok=True)
    migration = sorted((changed_source / "app" / "migrations").glob("*.sql"))[0]
    migration.write_text(migration.read_text() + "\n-- changed\n")
    changed = render(changed_source.parent / f"{changed_source.name}-out", "inventory/minikube",
                     {**passwords, "flask_api_source_dir": str(changed_source)})
    assert changed.returncode == 0, changed.output[-2000:]
    assert api_image(changed) != api_image(baseline)
    assert changed.of_kind("Job")[0]["metadata"]["name"] != baseline.of_kind("Job")[0]["metadata"]["name"]
    secret = file_of(baseline, "Secret", baseline.names["secrets_name"])
    assert changed.texts[secret] == baseline.texts[secret]


@pytest.mark.parametrize("inventory", ["inventory/minikube", "inventory/local", "inventory/production.example"])
def test_every_playbook_passes_syntax_check(inventory) -> None:
    """Every playbook, the root-level wrappers included, in one ansible-playbook run per inventory."""
    playbooks = sorted(str(path.relative_to(REPO)) for path in [*REPO.glob("playbooks/*.yml"), *REPO.glob("*.yml")]
                       if path.name != "requirements.yml")
    run = subprocess.run(
        [tool("ansible-playbook"), "--syntax-check", "-i", inventory, *playbooks],
        cwd=REPO, env={**os.environ, "ANSIBLE_NOCOLOR": "1"}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_images_pinned_by_digest_render_as_given(rendered) -> None:
    """The digest-pinned-images feature set (conftest.FEATURES): pinning by digest works, with a valid version label."""
    result = rendered["minikube+digest-pinned-images"]
    given = VARIABLE_SETS["minikube+digest-pinned-images"][1]
    images = {obj["kind"]: obj["spec"]["template"]["spec"]["containers"][0]["image"]
              for obj in result.objects.values() if obj["kind"] in {"Deployment", "Job", "StatefulSet"}}
    assert images == {"Deployment": given["flask_api_image"], "Job": given["flask_api_image"],
                      "StatefulSet": given["mysql_image"]}
    deployment = api_deployment(result)
    for labels in (deployment["metadata"]["labels"], deployment["spec"]["template"]["metadata"]["labels"]):
        assert labels["app.kubernetes.io/version"] == given["flask_api_image"].split("@sha256:")[1][:12]
