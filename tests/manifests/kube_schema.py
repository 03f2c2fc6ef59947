"""Strict schema validation of Kubernetes objects, in process, for any minor version kubernetes-validate ships.

kubernetes_validate.validate() reads and parses the version's whole definitions file (megabytes) on every call;
here each version's schemas are loaded once and each validator is reused, so the manifests tier can validate
every object for every minor version in seconds.
"""
from __future__ import annotations

import functools
import re

import jsonschema
import kubernetes_validate
from kubernetes_validate.utils import all_versions, major_minor, schema_contents
from referencing import Registry, Resource


def minor_versions(first: str, last: str) -> list[str]:
    """Every minor version from first to last ("1.29", "1.37") that kubernetes-validate has schemas for."""
    low, high = (tuple(map(int, v.split("."))) for v in (first, last))
    shipped = {tuple(map(int, major_minor(v).split("."))) for v in all_versions()}
    wanted = [(1, minor) for minor in range(low[1], high[1] + 1)]
    missing = [f"{major}.{minor}" for major, minor in wanted if (major, minor) not in shipped]
    assert not missing, f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for {missing}"
    return [f"{major}.{minor}" for major, minor in wanted]


@functools.lru_cache(maxsize=None)
def _definitions(version: str) -> Resource:
    return Resource.from_contents(schema_contents(f"kubernetes-json-schema/v{version}.0-local-strict/_definitions.json",
                                                  version))


@functools.lru_cache(maxsize=None)
def _validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = schema_contents(f"kubernetes-json-schema/v{version}.0-local-strict/{kind.lower()}-{group_version}.json",
                             version)
    registry = _definitions(version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def strict_errors(obj: dict, version: str) -> list[str]:
    """Every way obj breaks the strict schema of Kubernetes `version` (unknown fields included); [] if none."""
    validator = _validator(version, obj["kind"], obj["apiVersion"])
    return [f"{error.message} at {'.'.join(map(str, error.absolute_path)) or '(top)'}"
            for error in validator.iter_errors(obj)]
