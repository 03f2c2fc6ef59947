"""previous_release: from a Deployment and its ReplicaSets (as k8s_info returns them), the release to roll back
to: the ReplicaSet of the highest revision below the running one whose container image differs from the
running image (a revision with the same image, such as a password rotation's, is not a release).

Returns {} when there is none, else {revision, image, template, schema_version}; template is the ReplicaSet's
pod template without its pod-template-hash label, as the Deployment takes it back (what `kubectl rollout undo`
does); schema_version is the template's flaskapi/schema-version annotation ('' when it has none)."""
from __future__ import annotations

import copy
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
SCHEMA_VERSION = "flaskapi/schema-version"


def _image(template: dict[str, Any], container: str) -> str:
    for item in template.get("spec", {}).get("containers", []):
        if item.get("name") == container:
            return str(item.get("image", ""))
    return ""


def _revision(obj: dict[str, Any]) -> int:
    try:
        return int((obj.get("metadata", {}).get("annotations") or {}).get(REVISION, 0))
    except ValueError:
        return 0


def previous_release(replicasets: list[dict[str, Any]], deployment: dict[str, Any],
                     container: str = "api") -> dict[str, Any]:
    uid = deployment.get("metadata", {}).get("uid")
    current = _revision(deployment)
    running = _image(deployment.get("spec", {}).get("template", {}), container)
    owned = [rs for rs in replicasets
             if any(owner.get("uid") == uid for owner in rs.get("metadata", {}).get("ownerReferences") or [])]
    for rs in sorted(owned, key=_revision, reverse=True):
        template = rs.get("spec", {}).get("template", {})
        if _revision(rs) >= current or _image(template, container) == running:
            continue
        template = copy.deepcopy(template)
        (template.get("metadata", {}).get("labels") or {}).pop("pod-template-hash", None)
        return {"revision": _revision(rs), "image": _image(template, container), "template": template,
                "schema_version": str((template.get("metadata", {}).get("annotations") or {}).get(SCHEMA_VERSION, ""))}
    return {}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"previous_release": previous_release}
