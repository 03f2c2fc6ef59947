"""Writes a list of Kubernetes objects to a directory on the machine running Ansible, one YAML file each.

render.yml writes every object site.yml would apply (about twenty) to render_dir. With a copy task per object,
each file cost two module runs (stat, then copy) in a forked worker: about half of a render's time. This action
writes them all in the controller process, in one task, and still reports changed, honours check mode and
shows a diff per file when asked.
"""
from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_yaml

DOCUMENTATION = """
module: write_manifests
short_description: Write Kubernetes objects to files on the controller, one per object
description:
  - Writes each object to C(DIRECTORY/PREFIX-KIND-NAME.yaml) (kind lower-cased), as a YAML document that starts
    with C(---), with mode 0600; the directory is created with mode 0700 when missing.
  - A file whose content is already right is left alone; C(changed) is true when any file was written.
options:
  directory: {description: Where the files go (on the machine running Ansible)., type: path, required: true}
  prefix: {description: Start of every file name (the apply order group)., type: str, required: true}
  manifests: {description: The objects (each with kind and metadata.name)., type: list, elements: dict, required: true}
"""


def file_name(prefix: str, manifest: dict) -> str:
    try:
        return f"{prefix}-{str(manifest['kind']).lower()}-{manifest['metadata']['name']}.yaml"
    except (KeyError, TypeError):
        raise AnsibleActionFail("Every manifest needs a kind and a metadata.name; fix the role template that "
                                "rendered it.") from None


def write(path: str, content: str) -> None:
    """Replace path atomically, readable by its owner only."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".manifest-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        missing = [name for name in ("directory", "prefix", "manifests") if name not in args]
        if missing:
            raise AnsibleActionFail(f"write_manifests needs {', '.join(missing)}.")
        directory = os.path.expanduser(str(args["directory"]))
        prefix = str(args["prefix"])
        manifests = args["manifests"] or []

        written, diffs = [], []
        if not os.path.isdir(directory) and not self._task.check_mode:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        for manifest in manifests:
            path = os.path.join(directory, file_name(prefix, manifest))
            content = "---\n" + to_nice_yaml(manifest, indent=2, sort_keys=False)
            try:
                with open(path, encoding="utf-8") as stream:
                    before = stream.read()
            except FileNotFoundError:
                before = ""
            if before == content and (os.stat(path).st_mode & 0o777) == 0o600:
                continue
            written.append(path)
            if self._task.diff:
                diffs.append({"before_header": path, "after_header": path, "before": before, "after": content})
            if not self._task.check_mode:
                write(path, content)
        result.update(changed=bool(written), files=written)
        if diffs:
            result["diff"] = diffs
        return result
