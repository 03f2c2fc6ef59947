"""Ansible's linear strategy, with its modules run through Mitogen when Mitogen is installed.

Every kubernetes.core module call otherwise starts a new Python and imports the Kubernetes client (about a
second each, on two cores). Mitogen (https://mitogen.networkgenie.com) keeps one Python running for the play and
runs each module inside it, so the client is imported once and a call costs its API requests. Tasks, results,
check mode, --diff and no_log are Ansible's own: only where a module runs changes.

Without Mitogen (ImportError), this is exactly ansible.builtin.linear. ANSIBLE_STRATEGY=linear turns it off.
"""
from __future__ import annotations

DOCUMENTATION = """
name: mitogen_or_linear
short_description: Linear, with modules run in one persistent interpreter through Mitogen when it is installed
description:
  - Task after task on every host, as ansible.builtin.linear.
  - When the mitogen package is importable, its strategy mix-in runs the modules (one interpreter per play).
  - Otherwise ansible.builtin.linear itself.
"""

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError:
    from ansible.plugins.strategy.linear import StrategyModule  # noqa: F401
else:
    class StrategyModule(ansible_mitogen.strategy.StrategyMixin,  # type: ignore[no-redef]
                         ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)):
        """ansible.builtin.linear with Mitogen's connection and module runner."""
