"""The roles' rules of what Kubernetes accepts (roles/common/filter_plugins/kubernetes_rules.py), loaded for tests."""
from __future__ import annotations

import importlib.util
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "roles/common/filter_plugins/kubernetes_rules.py"
_spec = importlib.util.spec_from_file_location("kubernetes_rules_plugin", PLUGIN)
rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules)
