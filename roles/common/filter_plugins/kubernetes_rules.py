"""Filter plugin: what Kubernetes accepts, checked before anything is rendered or applied.

`{{ value | kubernetes_problem(rule) }}` returns '' when value is acceptable under rule, else the end of a
sentence saying what it must be ("must be a whole number from 0 up"). The roles' input checks
(roles/common/tasks/check_inputs.yml) put it after the variable's name; tests/manifests checks the rendered
objects with the same rules. The rules follow Kubernetes' own validation (k8s.io/apimachinery
pkg/util/validation, pkg/api/resource) and the image reference grammar of distribution/reference.

`{{ image | image_version_label }}` gives a valid app.kubernetes.io/version value for an image reference:
its tag, else the first 12 hex digits of its digest, else 'latest'.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ansible.errors import AnsibleFilterError

MAX_LABEL = 63
MAX_SUBDOMAIN = 253
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
# resource.Quantity: a signed decimal number, then a binary-SI, decimal-SI or exponent suffix.
QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?")
BINARY_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
                  "E": 1e18}
# distribution/reference: [domain[:port]/]path[:tag][@digest]
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?")
MAX_IMAGE_NAME = 255
SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
NODE_PORTS = range(30000, 32768)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value):
    """An int given as a number or as its digits (as -e KEY=VALUE gives it), else the value unchanged."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        return int(value)
    return value


def _dns_name(value, pattern: re.Pattern, max_length: int, what: str) -> str:
    if not isinstance(value, str) or not value:
        return f"must be {what}, not empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters long ({len(value)} given)"
    if not pattern.fullmatch(value):
        return f"must be {what}"
    return ""


def dns1123_label(value) -> str:
    return _dns_name(value, DNS1123_LABEL, MAX_LABEL, "lower-case letters, digits and '-', starting and ending "
                                                        "with a letter or digit (a DNS-1123 label)")


def dns1123_subdomain(value) -> str:
    return _dns_name(value, DNS1123_SUBDOMAIN, MAX_SUBDOMAIN, "lower-case letters, digits, '-' and '.', starting "
                                                              "and ending with a letter or digit (a DNS-1123 subdomain)")


def dns1035_label(value) -> str:
    return _dns_name(value, DNS1035_LABEL, MAX_LABEL, "lower-case letters, digits and '-', starting with a letter "
                                                      "and ending with a letter or digit (a DNS-1035 label)")


def label_value(value) -> str:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_LABEL:
        return f"must be at most {MAX_LABEL} characters long to be a label value ({len(value)} given)"
    if not LABEL_VALUE.fullmatch(value):
        return "must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit (a label value)"
    return ""


def label_key(value) -> str:
    if not isinstance(value, str) or not value:
        return "must be a label key"
    prefix, _, name = value.rpartition("/")
    if prefix and dns1123_subdomain(prefix):
        return "must have a DNS-1123 subdomain as its prefix"
    if len(name) > MAX_LABEL or not QUALIFIED_NAME.fullmatch(name):
        return "must be a qualified name of at most 63 characters"
    return ""


def labels(value) -> str:
    if not isinstance(value, Mapping):
        return "must be a mapping of label keys to values"
    for key, item in value.items():
        problem = label_key(key) or label_value(item)
        if problem:
            return f"has label {key}: {item!r}, which {problem}"
    return ""


def quantity_value(value) -> float | None:
    """The number a Kubernetes quantity stands for, or None when it does not parse."""
    if _is_int(value) or isinstance(value, float):
        return float(value)
    if not isinstance(value, str) or not QUANTITY.fullmatch(value):
        return None
    match = re.fullmatch(r"([+-]?[0-9.]+)(.*)", value)
    number, suffix = float(match.group(1)), match.group(2)
    if suffix in BINARY_SUFFIX:
        return number * BINARY_SUFFIX[suffix]
    if suffix in DECIMAL_SUFFIX:
        return number * DECIMAL_SUFFIX[suffix]
    return number * 10 ** int(suffix[1:])


def quantity(value) -> str:
    parsed = quantity_value(value)
    if parsed is None:
        return "must be a Kubernetes quantity such as 500m, 2, 512Mi or 1Gi"
    if parsed < 0:
        return "must not be negative"
    return ""


def positive_quantity(value) -> str:
    return quantity(value) or ("must be more than 0" if quantity_value(value) == 0 else "")


def resources(value) -> str:
    if not isinstance(value, Mapping) or not set(value) <= {"requests", "limits"}:
        return "must be a mapping with requests and limits"
    for section, amounts in value.items():
        if not isinstance(amounts, Mapping):
            return f"must map {section} to amounts of cpu and memory"
        for resource, amount in amounts.items():
            problem = quantity(amount)
            if problem:
                return f"has {section}.{resource} {amount!r}, which {problem}"
    for resource, limit in value.get("limits", {}).items():
        request = value.get("requests", {}).get(resource)
        if request is not None and quantity_value(request) > quantity_value(limit):
            return f"asks for more {resource} ({request}) than its limit ({limit})"
    return ""


def parse_image(value) -> dict | None:
    """The parts of an image reference (name, domain, tag, digest), or None when it does not parse."""
    if not isinstance(value, str):
        return None
    match = IMAGE_REFERENCE.fullmatch(value)
    if not match or len(match.group("name")) > MAX_IMAGE_NAME:
        return None
    return match.groupdict()


def image(value) -> str:
    if not isinstance(value, str) or not value:
        return "must be an image reference such as mysql:8.4.3, not empty"
    parts = parse_image(value)
    if parts is None:
        return "must be an image reference such as registry.example.com:5000/team/app:1.0 or app@sha256:<64 hex>"
    if parts["digest"] and parts["digest"].startswith("sha256:") and not SHA256_DIGEST.fullmatch(parts["digest"]):
        return "must have a sha256 digest of 64 lower-case hex digits"
    return ""


def pinned_image(value) -> str:
    problem = image(value)
    if problem:
        return problem
    parts = parse_image(value)
    if not parts["tag"] and not parts["digest"]:
        return "must be pinned with a tag (:1.0.0) or a digest (@sha256:...), not left to :latest"
    if parts["tag"] == "latest" and not parts["digest"]:
        return "must be pinned to a version, not :latest"
    return ""


def image_version_label(value) -> str:
    """The image's version as a label value: its tag, else its digest's first 12 hex digits, else latest."""
    parts = parse_image(value)
    if parts is None:
        return ""  # the image check names the variable; a label cannot say more
    if parts["tag"]:
        return parts["tag"][:MAX_LABEL].rstrip("-_.")
    if parts["digest"]:
        return parts["digest"].split(":", 1)[1][:12]
    return "latest"


def _ranged(low: int, high: int | None = None) -> Callable:
    def check(value) -> str:
        value = _as_int(value)
        if not _is_int(value):
            return "must be a whole number"
        if value < low or (high is not None and value > high):
            return f"must be from {low} to {high}" if high is not None else f"must be a whole number from {low} up"
        return ""
    return check


def node_port(value) -> str:
    value = _as_int(value)
    if not _is_int(value) or (value != 0 and value not in NODE_PORTS):
        return "must be 0 (Kubernetes chooses) or a nodePort from 30000 to 32767"
    return ""


def absolute_path(value) -> str:
    return "" if isinstance(value, str) and value.startswith("/") else "must be an absolute path"


def storage_class(value) -> str:
    return "" if value == "" else dns1123_subdomain(value)


def mysql_identifier(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_$]{1,64}", value):
        return "must be 1 to 64 letters, digits, '_' or '$' (a MySQL identifier)"
    return ""


def mysql_user(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_$]{1,32}", value):
        return "must be 1 to 32 letters, digits, '_' or '$' (a MySQL user name)"
    return ""


RULES: dict[str, Callable] = {
    "dns1123_label": dns1123_label,
    "dns1123_subdomain": dns1123_subdomain,
    "dns1035_label": dns1035_label,
    "label_value": label_value,
    "labels": labels,
    "quantity": quantity,
    "positive_quantity": positive_quantity,
    "resources": resources,
    "image": image,
    "pinned_image": pinned_image,
    "count": _ranged(0),
    "positive": _ranged(1),
    "port": _ranged(1, 65535),
    "uid": _ranged(1, 2**31 - 1),
    "node_port": node_port,
    "absolute_path": absolute_path,
    "storage_class": storage_class,
    "mysql_identifier": mysql_identifier,
    "mysql_user": mysql_user,
}


def kubernetes_problem(value, rule: str) -> str:
    """'' when value is acceptable under rule, else what it must be (the end of a sentence)."""
    if rule not in RULES:
        raise AnsibleFilterError(f"kubernetes_problem: unknown rule {rule!r} (known: {', '.join(sorted(RULES))})")
    return RULES[rule](value)


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict:
        return {"kubernetes_problem": kubernetes_problem, "image_version_label": image_version_label}
