"""Imports the Kubernetes Python client once in Ansible's main process, before any task runs.

Ansible runs each task in a worker process forked from the main one. The roles read objects with the
kubernetes.core.k8s lookup, which runs in that worker: without this, every such read first imports the client
(about half a second); with it, each worker inherits the imported client and a read costs one API request.
"""
from __future__ import annotations

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: k8s_client_preload
type: aggregate
short_description: Import the Kubernetes client before any task, so lookups in forked workers start fast
description:
  - Imports C(kubernetes.client), C(kubernetes.config) and C(kubernetes.dynamic) in the main process.
  - Does nothing when the client is not installed (the kubernetes.core modules then say what is missing).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "k8s_client_preload"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        try:
            import kubernetes.client  # noqa: F401
            import kubernetes.config  # noqa: F401
            import kubernetes.dynamic  # noqa: F401
        except ImportError:
            pass
