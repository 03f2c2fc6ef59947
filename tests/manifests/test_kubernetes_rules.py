"""Unit tests of the roles' Kubernetes rules (roles/common/filter_plugins/kubernetes_rules.py): what the input
checks refuse and accept, and the version label an image reference gives."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from kubernetes_rules import rules

DIGEST = "sha256:" + "0123456789abcdef" * 4

ACCEPTED = [
    ("dns1123_label", "flask-api"), ("dns1123_label", "a" * 63), ("dns1035_label", "flask-service"),
    ("dns1123_subdomain", "mysql-credentials.v2"), ("label_value", ""), ("label_value", "1.0.0_rc-1"),
    ("quantity", "500m"), ("quantity", "1"), ("quantity", 2), ("quantity", "512Mi"), ("quantity", "1e3"),
    ("positive_quantity", "1Gi"), ("count", 0), ("count", "3"), ("positive", 1), ("port", 65535),
    ("node_port", 0), ("node_port", 30000), ("node_port", 32767), ("uid", 999),
    ("image", "mysql"), ("pinned_image", "mysql:8.4.3"), ("pinned_image", f"mysql@{DIGEST}"),
    ("pinned_image", f"registry.example.com:5000/team/flask-api@{DIGEST}"),
    ("pinned_image", f"registry.example.com:5000/team/flask-api:1.2@{DIGEST}"),
    ("pinned_image", "localhost/flask-api:0123456789ab"), ("pinned_image", "[::1]:5000/api:1"),
    ("storage_class", ""), ("storage_class", "standard"), ("absolute_path", "/data/x"),
    ("mysql_identifier", "flaskapi"), ("mysql_user", "flask_api"),
    ("resources", {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
    ("labels", {"app.kubernetes.io/name": "flask-api", "team": ""}),
]
REFUSED = [
    ("dns1123_label", "Flask-API", "DNS-1123 label"), ("dns1123_label", "a" * 64, "at most 63"),
    ("dns1123_label", "", "not empty"), ("dns1035_label", "5-service", "DNS-1035"),
    ("dns1123_subdomain", "a" * 254, "at most 253"), ("label_value", "x" * 64, "at most 63"),
    ("label_value", "5000/team/flask-api", "label value"), ("quantity", "1 GB", "quantity"),
    ("quantity", "ten", "quantity"), ("quantity", "-1Gi", "negative"), ("positive_quantity", "0", "more than 0"),
    ("count", -1, "from 0 up"), ("count", "three", "whole number"), ("count", True, "whole number"),
    ("positive", 0, "from 1 up"), ("port", 0, "from 1 to 65535"), ("port", 70000, "from 1 to 65535"),
    ("node_port", 80, "30000 to 32767"), ("node_port", 32768, "30000 to 32767"), ("uid", 0, "from 1"),
    ("image", "", "not empty"), ("image", "Mysql:8", "image reference"), ("image", "mysql:8 .4", "image reference"),
    ("pinned_image", "registry.example.com:5000/team/flask-api", "pinned"),
    ("pinned_image", "mysql:latest", "not :latest"), ("pinned_image", "mysql@sha256:abc", "image reference"),
    ("storage_class", "Fast SSD", "DNS-1123 subdomain"), ("absolute_path", "data/x", "absolute"),
    ("mysql_identifier", "flask-api", "MySQL identifier"), ("mysql_user", "u" * 33, "MySQL user"),
    ("resources", {"requests": {"cpu": "lots"}}, "requests.cpu"),
    ("resources", {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}, "more memory"),
    ("resources", {"request": {}}, "requests and limits"),
    ("labels", {"app.kubernetes.io/version": "sha256:" + "0" * 64}, "app.kubernetes.io/version"),
    ("labels", {"Bad Key": "x"}, "Bad Key"),
]


@pytest.mark.parametrize("rule, value", ACCEPTED)
def test_accepts_what_kubernetes_accepts(rule, value) -> None:
    assert rules.kubernetes_problem(value, rule) == ""


@pytest.mark.parametrize("rule, value, says", REFUSED)
def test_refuses_what_kubernetes_refuses_and_says_why(rule, value, says) -> None:
    assert says in rules.kubernetes_problem(value, rule)


def test_an_unknown_rule_is_a_clear_error() -> None:
    with pytest.raises(AnsibleFilterError, match="unknown rule 'nodeport'"):
        rules.kubernetes_problem(1, "nodeport")


@pytest.mark.parametrize("image, version", [
    ("flask-api:0123456789ab", "0123456789ab"),
    ("registry.example.com:5000/team/flask-api:1.0.0", "1.0.0"),
    (f"registry.example.com:5000/team/flask-api@{DIGEST}", "0123456789ab"),
    (f"registry.example.com:5000/team/flask-api:2.1@{DIGEST}", "2.1"),
    ("registry.example.com:5000/team/flask-api", "latest"),
    ("not a reference", ""),
])
def test_the_version_label_of_an_image_is_a_valid_label_value(image, version) -> None:
    label = rules.image_version_label(image)
    assert label == version
    assert rules.label_value(label) == ""


def test_is_registered_as_ansible_filters() -> None:
    assert set(rules.FilterModule().filters()) == {"kubernetes_problem", "image_version_label"}
