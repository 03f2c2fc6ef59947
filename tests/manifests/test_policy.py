"""Policy on the rendered manifests: hardened pods, pinned images, secrets only in the Secret, MySQL internal."""
from __future__ import annotations

import base64
import hashlib
import re

import yaml
from app.migrate import OLD_PASSWORD_KEPT
from conftest import API_TOKEN, PRODUCTION_VAULT
from render_helpers import REPO
from render_helpers import render as render_manifests

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}
MAX_NAME = 63


def pod_specs(render):
    for name, obj in render.objects.items():
        if obj["kind"] in WORKLOAD_KINDS:
            yield name, obj, obj["spec"]["template"]["spec"]


def containers(render):
    for name, obj, spec in pod_specs(render):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield name, obj, spec, container


def mysql_native_hash(password: str) -> str:
    """The hash MySQL's mysql_native_password plugin stores: '*' + upper hex SHA1(SHA1(password))."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def test_long_running_containers_have_all_three_probes(each_render) -> None:
    for name, obj, _, container in containers(each_render):
        if obj["kind"] == "Job":
            continue  # a Job's container runs to completion; probes would not change its outcome
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, f"{name}: container {container['name']} has no {probe}"


def test_every_container_has_cpu_and_memory_requests_and_limits(each_render) -> None:
    for name, _, _, container in containers(each_render):
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resource in resources.get(section, {}), f"{name}: {container['name']} lacks {section}.{resource}"


def test_every_pod_runs_non_root_with_a_restricted_security_context(each_render) -> None:
    for name, _, spec in pod_specs(each_render):
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, f"{name}: runAsNonRoot is not true"
        assert pod.get("runAsUser", 0) != 0, f"{name}: runs as UID 0"
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: no RuntimeDefault seccomp"
        assert spec.get("automountServiceAccountToken") is False, f"{name}: mounts a service account token"
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), f"{name}: shares a host namespace"
    for name, _, _, container in containers(each_render):
        context = container.get("securityContext", {})
        assert context.get("allowPrivilegeEscalation") is False, f"{name}: {container['name']} may escalate"
        assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: {container['name']} keeps capabilities"
        assert not context.get("privileged"), f"{name}: {container['name']} is privileged"
        assert context.get("runAsUser", 1) != 0, f"{name}: {container['name']} runs as root"


def test_api_containers_have_a_read_only_root_and_a_writable_tmp(each_render) -> None:
    for name, obj, spec, container in containers(each_render):
        if obj["metadata"]["labels"].get("app.kubernetes.io/name") != each_render.names["flask_api_name"]:
            continue
        assert container["securityContext"].get("readOnlyRootFilesystem") is True, f"{name}: writable root"
        tmp_mounts = [mount["name"] for mount in container.get("volumeMounts", []) if mount["mountPath"] == "/tmp"]
        assert tmp_mounts, f"{name}: no volume at /tmp (gunicorn's worker tmp dir)"
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        assert "emptyDir" in volumes[tmp_mounts[0]], f"{name}: /tmp is not an emptyDir"


def test_images_are_pinned(each_render) -> None:
    for name, _, _, container in containers(each_render):
        image = container["image"]
        last = image.rsplit("/", 1)[-1]
        assert "@sha256:" in image or ":" in last, f"{name}: image {image} has no tag"
        assert not last.endswith(":latest"), f"{name}: image {image} uses latest"
        assert container.get("imagePullPolicy") in {"IfNotPresent", "Never", "Always"}, f"{name}: no pull policy"


def api_deployment(render) -> dict:
    return render.one("Deployment", render.names["flask_api_name"])


def test_the_api_image_tag_is_a_content_hash_or_given(rendered) -> None:
    for variable_set in ("minikube", "local"):
        image = api_deployment(rendered[variable_set])["spec"]["template"]["spec"]["containers"][0]["image"]
        assert re.fullmatch(r"(localhost/)?flask-api:[0-9a-f]{12}", image), f"{variable_set}: {image}"
    production = api_deployment(rendered["production"])
    assert production["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.example.com/flask-users/flask-api:1.0.0"


def test_no_password_or_password_hash_outside_the_secret(each_render, passwords) -> None:
    forms = {}
    for variable, password in passwords.items():
        forms[f"{variable} (plain)"] = password
        forms[f"{variable} (base64)"] = base64.b64encode(password.encode()).decode()
        forms[f"{variable} (mysql hash)"] = mysql_native_hash(password)
        forms[f"{variable} (sha256)"] = hashlib.sha256(password.encode()).hexdigest()
    for name, text in each_render.texts.items():
        if each_render.objects[name]["kind"] == "Secret":
            continue
        leaks = [form for form, value in forms.items() if value in text]
        assert not leaks, f"{name} contains {leaks}"


def test_password_variables_come_from_the_secret(each_render) -> None:
    for name, _, _, container in containers(each_render):
        for env in container.get("env", []):
            if "PASSWORD" in env["name"]:
                assert "value" not in env, f"{name}: {env['name']} is written in plain text"
                assert "secretKeyRef" in env["valueFrom"], f"{name}: {env['name']} is not read from a Secret"


def test_the_secret_holds_both_passwords_as_base64_data(each_render, passwords) -> None:
    names = each_render.names
    secret = each_render.one("Secret", names["secrets_name"])
    assert "stringData" not in secret, "stringData makes every re-run report a change"
    decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert decoded == {
        names["secrets_root_password_key"]: passwords["vault_mysql_root_password"],
        names["secrets_app_password_key"]: passwords["vault_mysql_app_password"],
    }


def external_mysql(render) -> bool:
    """mysql_mode external: the mysql role renders nothing, and nothing of it may be rendered."""
    if render.names["mysql_mode"] != "external":
        return False
    assert not render.of_kind("StatefulSet") and not render.of_kind("NetworkPolicy"), "the mysql role ran"
    assert render.names["mysql_name"] not in {obj["metadata"]["name"] for obj in render.of_kind("Service")}
    return True


def test_mysql_is_not_exposed_outside_the_cluster(each_render) -> None:
    if external_mysql(each_render):
        return
    service = each_render.one("Service", each_render.names["mysql_name"])
    assert service["spec"]["type"] == "ClusterIP"
    assert all("nodePort" not in port for port in service["spec"]["ports"])
    assert not service["spec"].get("externalIPs")
    mysql_selector = service["spec"]["selector"]
    for name, obj in each_render.objects.items():
        if obj["kind"] == "Service" and obj["spec"].get("selector") == mysql_selector:
            assert obj["spec"].get("type", "ClusterIP") == "ClusterIP", f"{name} exposes MySQL"
    for name, _, spec, container in containers(each_render):
        assert all("hostPort" not in port for port in container.get("ports", [])), f"{name}: hostPort"


def pod_templates(render) -> dict[tuple[str, str], dict]:
    """(kind, name) -> pod labels of every workload that makes pods, CronJobs included."""
    templates = {}
    for obj in render.objects.values():
        spec = obj.get("spec", {})
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template")
        if template is not None:
            templates[(obj["kind"], obj["metadata"]["name"])] = template["metadata"].get("labels", {})
    return templates


def admitted_by(policy: dict, render) -> set[tuple[str, str]]:
    """The workloads whose pods some ingress peer of the policy selects (by matchLabels)."""
    peers = [peer["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert all(peer for peer in peers), "an empty podSelector admits every pod of the namespace"
    return {workload for workload, labels in pod_templates(render).items()
            if any(peer.items() <= labels.items() for peer in peers)}


def test_the_mysql_policy_admits_exactly_the_api_and_the_schema_job(each_render) -> None:
    names = each_render.names
    if external_mysql(each_render):
        return
    if not each_render.of_kind("NetworkPolicy"):
        assert each_render.names.get("mysql_network_policy", True) is False, "the MySQL NetworkPolicy is missing"
        return
    policy = each_render.one("NetworkPolicy", names["mysql_network_policy_name"])
    statefulset = each_render.one("StatefulSet", names["mysql_name"])
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= \
        statefulset["spec"]["template"]["metadata"]["labels"].items()
    job = each_render.of_kind("Job")[0]["metadata"]["name"]
    assert admitted_by(policy, each_render) == {("Deployment", names["flask_api_name"]), ("Job", job)}


def test_a_renamed_api_can_still_reach_mysql(rendered) -> None:
    """Renaming the API (flask_api_name) renames its pods' labels, and the policy follows them."""
    render = rendered["minikube+renamed-api"]
    assert render.names["flask_api_name"] == "orders-api"
    policy = render.one("NetworkPolicy", render.names["mysql_network_policy_name"])
    job = render.one("Job", render.of_kind("Job")[0]["metadata"]["name"])
    assert job["metadata"]["name"].startswith("orders-api-schema-")
    assert admitted_by(policy, render) == {("Deployment", "orders-api"), ("Job", job["metadata"]["name"])}


def test_services_keep_the_tutorials_names_and_the_api_service_type_per_inventory(rendered) -> None:
    expected_types = {"minikube": "LoadBalancer", "local": "NodePort", "production": "ClusterIP",
                      "minikube+fixed-node-port": "NodePort"}
    for variable_set, service_type in expected_types.items():
        service = rendered[variable_set].one("Service", rendered[variable_set].names["flask_api_service_name"])
        assert service["spec"]["type"] == service_type
        assert service["spec"]["ports"][0]["targetPort"] == "http"
    fixed = rendered["minikube+fixed-node-port"]
    assert fixed.one("Service", fixed.names["flask_api_service_name"])["spec"]["ports"][0]["nodePort"] == 30080


def test_the_rolling_update_never_drops_below_the_desired_count(each_render) -> None:
    deployment = api_deployment(each_render)
    autoscalers = each_render.of_kind("HorizontalPodAutoscaler")
    if autoscalers:  # the autoscaler owns the count: the play must not set it, or every re-run would undo a scale-out
        assert "replicas" not in deployment["spec"]
        assert autoscalers[0]["spec"]["minReplicas"] == 3
        assert autoscalers[0]["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                            "name": each_render.names["flask_api_name"]}
    else:
        assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    probes = deployment["spec"]["template"]["spec"]["containers"][0]
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    annotation = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/credentials"]
    assert re.fullmatch(r"[0-9a-f]{16}", annotation), "the credentials checksum annotation is missing"


def test_mysql_probes_cannot_pass_during_first_boot_initialisation(each_render) -> None:
    if external_mysql(each_render):
        return
    container = each_render.one("StatefulSet", each_render.names["mysql_name"])["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = " ".join(container[probe]["exec"]["command"])
        assert "-h 127.0.0.1" in command, f"{probe} does not go through TCP (the init server has networking off)"
    readiness = " ".join(container["readinessProbe"]["exec"]["command"])
    # root's password may be rotated while the pod runs (its environment keeps the first one): the play checks
    # logins itself (roles/secrets), so a probe with that password would turn the pod unready after a rotation.
    assert "PASSWORD" not in readiness and "MYSQL_PWD" not in readiness, "readiness logs in with root's password"


def test_the_schema_job_runs_migrate_as_admin_and_cleans_up(each_render) -> None:
    names = each_render.names
    jobs = each_render.of_kind("Job")
    assert len(jobs) == 1
    job = jobs[0]
    assert re.fullmatch(rf"{names['flask_api_name']}-schema-[0-9a-f]{{10}}", job["metadata"]["name"])
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "app.migrate"]
    env = {item["name"]: item for item in container["env"]}
    assert env["MYSQL_ADMIN_USER"]["value"] == "root"
    assert env["MYSQL_USER"]["value"] != "root", "the app must not use root"
    assert env["MYSQL_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": names["secrets_name"], "key": names["secrets_root_password_key"]}
    assert env["MYSQL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": names["secrets_name"], "key": names["secrets_app_password_key"]}
    deployment_env = {item["name"]: item for item in
                      api_deployment(each_render)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert deployment_env["MYSQL_USER"]["value"] != "root"
    assert "MYSQL_ADMIN_PASSWORD" not in deployment_env, "the API must not hold the admin password"


def test_hostpath_volume_is_optional_and_bound_to_the_mysql_claim(rendered) -> None:
    assert not rendered["minikube"].of_kind("PersistentVolume")
    render = rendered["minikube+hostpath"]
    names = render.names
    volume = render.one("PersistentVolume", names["mysql_hostpath_pv_name"])
    assert volume["spec"]["claimRef"] == {"namespace": names["app_namespace"], "name": names["mysql_claim_name"]}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    claim = render.one("StatefulSet", names["mysql_name"])["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["storageClassName"] == volume["spec"]["storageClassName"]


def test_every_object_is_labelled_named_and_namespaced(each_render) -> None:
    for name, obj in each_render.objects.items():
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/managed-by") == "ansible", f"{name}: no managed-by label"
        assert labels.get("app.kubernetes.io/part-of") == each_render.names["app_part_of"], f"{name}: no part-of label"
        assert "app.kubernetes.io/name" in labels, f"{name}: no name label"
        assert len(obj["metadata"]["name"]) <= MAX_NAME, f"{name}: name longer than {MAX_NAME}"
        if obj["kind"] not in {"Namespace", "PersistentVolume"}:
            assert obj["metadata"]["namespace"] == each_render.names["app_namespace"], f"{name}: not in the app namespace"
        assert name.endswith(f"-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"), f"{name}: unexpected file name"


def test_the_local_inventory_pins_the_node_port_of_the_users_namespace_only(rendered, passwords, tmp_path) -> None:
    # The printed URL must survive teardown and redeploy; a test namespace must not take the same port.
    assert rendered["local"].one("Service", "flask-service")["spec"]["ports"][0]["nodePort"] == 30080
    other = render_manifests(tmp_path / "out", "inventory/local", {**passwords, "app_namespace": "e2e-other"})
    assert other.returncode == 0, other.output[-3000:]
    assert "nodePort" not in other.one("Service", "flask-service")["spec"]["ports"][0]


def test_token_auth_puts_only_the_token_hash_in_a_secret_the_api_reads(rendered) -> None:
    render = rendered["minikube+token-auth"]
    names = render.names
    for name, text in render.texts.items():
        assert API_TOKEN not in text and base64.b64encode(API_TOKEN.encode()).decode() not in text, \
            f"{name} contains the API token"
    secret = render.one("Secret", names["flask_api_auth_secret_name"])
    assert base64.b64decode(secret["data"][names["flask_api_auth_hashes_key"]]).decode() == \
        hashlib.sha256(API_TOKEN.encode()).hexdigest()
    pod = api_deployment(render)["spec"]["template"]
    env = {item["name"]: item for item in pod["spec"]["containers"][0]["env"]}
    assert env["API_AUTH"]["value"] == "token"
    assert env["API_TOKEN_HASHES"]["valueFrom"]["secretKeyRef"] == {
        "name": names["flask_api_auth_secret_name"], "key": names["flask_api_auth_hashes_key"]}
    assert re.fullmatch(r"[0-9a-f]{16}", pod["metadata"]["annotations"]["checksum/api-tokens"])
    # The shipped inventories for minikube and the local cluster stay open, as in the tutorial.
    for variable_set in ("minikube", "local"):
        open_env = api_deployment(rendered[variable_set])["spec"]["template"]["spec"]["containers"][0]["env"]
        assert "API_AUTH" not in {item["name"] for item in open_env}, f"{variable_set} requires a token"
        assert not [obj for obj in rendered[variable_set].of_kind("Secret")
                    if obj["metadata"]["name"] == names["flask_api_auth_secret_name"]]


def test_external_mysql_is_reached_over_tls_verified_against_the_given_ca(rendered) -> None:
    """production.example: mysql_mode external, the CA mounted from a Secret into the API and the schema Job."""
    render = rendered["production"]
    names = render.names
    assert external_mysql(render)
    secret = render.one("Secret", names["flask_api_mysql_ca_secret_name"])
    assert base64.b64decode(secret["data"][names["flask_api_mysql_ca_key"]]).decode().strip() == \
        PRODUCTION_VAULT["vault_mysql_external_ca"].strip()
    for workload in (api_deployment(render), render.of_kind("Job")[0]):
        pod = workload["spec"]["template"]["spec"]
        env = {item["name"]: item.get("value") for item in pod["containers"][0]["env"]}
        assert (env["MYSQL_HOST"], env["MYSQL_PORT"], env["MYSQL_TLS"]) == ("mysql.example.com", "3306", "required")
        mount = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}["mysql-ca"]
        assert env["MYSQL_TLS_CA"] == f"{mount['mountPath']}/{names['flask_api_mysql_ca_key']}"
        volume = {v["name"]: v for v in pod["volumes"]}["mysql-ca"]
        assert volume["secret"]["secretName"] == names["flask_api_mysql_ca_secret_name"]


def test_api_pods_drain_before_they_stop(each_render) -> None:
    """Readiness fails and keep-alive connections close (DRAIN_FILE) for a while before SIGTERM, and the grace period
    covers that pause and gunicorn's graceful stop."""
    spec = api_deployment(each_render)["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    match = re.fullmatch(r"touch (\S+) && sleep (\d+)", command[-1])
    assert command[:2] == ["/bin/sh", "-c"] and match, f"unexpected preStop hook {command}"
    assert match.group(1) == env["DRAIN_FILE"] and match.group(1).startswith("/tmp/"), "the hook must make DRAIN_FILE"
    drain, graceful = int(match.group(2)), int(env["GUNICORN_GRACEFUL_TIMEOUT"])
    assert drain >= 5, "kube-proxy needs a few seconds to drop the pod from the Service"
    assert spec["terminationGracePeriodSeconds"] >= drain + graceful


def test_api_pods_have_a_disruption_budget_and_spread_when_asked(each_render) -> None:
    names = each_render.names
    deployment = api_deployment(each_render)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    budgets = {obj["metadata"]["name"]: obj for obj in each_render.of_kind("PodDisruptionBudget")}
    spread = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints")
    if names.get("flask_api_pdb", True) is False:
        assert names["flask_api_name"] not in budgets and spread is None
        return
    budget = budgets[names["flask_api_name"]]
    assert budget["spec"]["maxUnavailable"] == 1 and "minAvailable" not in budget["spec"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert spread == [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                       "labelSelector": {"matchLabels": budget["spec"]["selector"]["matchLabels"]}}]


def test_the_mysql_disruption_budget_is_optional(rendered) -> None:
    assert [obj["metadata"]["name"] for obj in rendered["minikube"].of_kind("PodDisruptionBudget")] == ["flask-api"]
    render = rendered["minikube+mysql-pdb"]
    budget = render.one("PodDisruptionBudget", render.names["mysql_name"])
    statefulset = render.one("StatefulSet", render.names["mysql_name"])
    assert budget["spec"] == {"maxUnavailable": 0, "selector": {"matchLabels": render.names["mysql_selector_labels"]}}
    assert budget["spec"]["selector"]["matchLabels"].items() <= \
        statefulset["spec"]["template"]["metadata"]["labels"].items()


def test_mysql_rejoins_its_service_quickly_after_a_restart(each_render) -> None:
    if not each_render.of_kind("StatefulSet"):
        return  # an external MySQL (production.example): no pod of ours
    container = each_render.one("StatefulSet", each_render.names["mysql_name"])["spec"]["template"]["spec"]["containers"][0]
    assert container["startupProbe"]["periodSeconds"] <= 2 and container["readinessProbe"]["periodSeconds"] <= 2
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "first boot needs its 5 minutes"


def test_the_role_reads_the_schema_jobs_word_for_a_kept_old_password() -> None:
    """The flask_api role discards an old app password only when the schema Job's log says one is still valid:
    the words it looks for are the ones app/migrate.py prints."""
    role_vars = yaml.safe_load((REPO / "roles/flask_api/vars/main.yml").read_text())
    assert role_vars["flask_api_old_password_kept_marker"] == OLD_PASSWORD_KEPT
