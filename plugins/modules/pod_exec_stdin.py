#!/usr/bin/python
"""pod_exec_stdin: kubernetes.core.k8s_exec with data on the command's standard input.

The roles hand passwords to commands in pods this way: on the exec stream, never as arguments (which the API
server receives in its request URL and ps in the pod shows), and without kubernetes.core.k8s_cp, which needs tar
in the container (the official mysql image has none).
"""
from __future__ import annotations

DOCUMENTATION = r"""
module: pod_exec_stdin
short_description: Run a command in a pod's container, with data on its standard input
description:
  - Like M(kubernetes.core.k8s_exec), but the command is an argument vector (no shell splitting) and O(stdin) is
    written to its standard input once it starts.
  - The exec stream's standard input is not closed after the data (Kubernetes before 1.29 cannot half-close it),
    so the command must read what it needs (for example a known number of lines) rather than wait for its end.
  - Never reports a change by itself; set C(changed_when) in the task.
  - In check mode it runs nothing (the command may change things); a task that only reads sets C(check_mode: false).
options:
  namespace: {type: str, required: true, description: The pod's namespace.}
  pod: {type: str, required: true, description: The pod's name.}
  container: {type: str, required: true, description: The container to run the command in.}
  argv: {type: list, elements: str, required: true, description: The command and its arguments.}
  stdin: {type: str, default: "", description: What the command reads on its standard input (kept out of logs).}
  timeout: {type: int, default: 60, description: Seconds after which the command is given up.}
extends_documentation_fragment: [kubernetes.core.k8s_auth_options]
"""

RETURN = r"""
stdout: {type: str, returned: always, description: The command's standard output.}
stderr: {type: str, returned: always, description: The command's standard error.}
rc: {type: int, returned: always, description: The command's exit code.}
"""

import copy
import time

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

try:
    import yaml
    from kubernetes.client import CoreV1Api
    from kubernetes.stream import stream
except ImportError:  # reported by AnsibleK8SModule
    pass


def argument_spec() -> dict:
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", required=True),
        pod=dict(type="str", required=True),
        container=dict(type="str", required=True),
        argv=dict(type="list", elements="str", required=True),
        stdin=dict(type="str", default="", no_log=True),
        timeout=dict(type="int", default=60),
    )
    return spec


def exit_code(status_channel: str) -> int:
    """The command's exit code, from the exec stream's status channel (a v1 Status)."""
    status = yaml.safe_load(status_channel) or {}
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    return -1


def run(module: AnsibleK8SModule, api: CoreV1Api) -> None:
    params = module.params
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="check mode: the command was not run", stdout="",
                         stderr="", rc=0)
    try:
        response = stream(api.connect_get_namespaced_pod_exec, params["pod"], params["namespace"],
                          container=params["container"], command=params["argv"], stdin=True, stdout=True,
                          stderr=True, tty=False, _preload_content=False)
    except Exception as error:  # noqa: BLE001 - the client raises ApiException, websocket and socket errors
        module.fail_json(msg=f"Could not run a command in pod {params['namespace']}/{params['pod']}: "
                             f"{to_native(error)}")
    stdout, stderr = [], []
    deadline = time.monotonic() + params["timeout"]
    if params["stdin"]:
        response.write_stdin(params["stdin"])
    while response.is_open():
        if time.monotonic() > deadline:
            response.close()
            module.fail_json(msg=f"The command in pod {params['namespace']}/{params['pod']} did not end within "
                                 f"{params['timeout']} s.", stdout="".join(stdout), stderr="".join(stderr))
        response.update(timeout=1)
        if response.peek_stdout():
            stdout.append(response.read_stdout())
        if response.peek_stderr():
            stderr.append(response.read_stderr())
    rc = exit_code(response.read_channel(3))
    module.exit_json(changed=False, stdout="".join(stdout), stderr="".join(stderr), rc=rc)


def main() -> None:
    module = AnsibleK8SModule(module_class=AnsibleModule, check_pyyaml=False, argument_spec=argument_spec(),
                              supports_check_mode=True)
    try:
        run(module, CoreV1Api(get_api_client(module).client.client))
    except CoreException as error:
        module.fail_from_exception(error)


if __name__ == "__main__":
    main()
