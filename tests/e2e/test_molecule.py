"""The molecule scenarios, one test each, so pytest-xdist runs them beside the other modules.

`molecule test -s NAME` does the scenario's whole sequence (converge, a `changed=0` re-run, verify with
tests/e2e/verify_*.py, teardown and purge for `default`) in the namespace it owns. A failure shows the end of
molecule's output; a pass prints how long the scenario took. E2E_SCENARIOS picks the scenarios (default: all four).
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from e2e_ansible import _tool
from e2e_kube import Cluster
from e2e_settings import REPO

SCENARIOS = os.environ.get("E2E_SCENARIOS", "default role-secrets role-mysql role-flask_api").split()
# A scenario deploys and tears down at least once; this bounds a hung one.
SCENARIO_TIMEOUT = 1800


def run_scenario(scenario: str) -> None:
    started = time.monotonic()
    molecule = _tool("molecule")
    # molecule's own environment (it writes its ansible.cfg); the venv first on PATH for its ansible and pytest,
    # and nothing of this pytest's (its verify step runs a pytest of its own).
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env["PATH"] = f"{Path(molecule).parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run([molecule, "test", "-s", scenario], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=SCENARIO_TIMEOUT, check=False)
    seconds = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, (f"molecule test -s {scenario} failed (exit {run.returncode}) after {seconds:.0f} s; "
                                 "the end of its output:\n" + "\n".join(output.splitlines()[-80:]))
    print(f"molecule test -s {scenario}: passed in {seconds:.0f} s")


def scenario_class(scenario: str) -> type:
    """A test class per scenario: pytest-xdist's --dist loadscope gives each class its own worker slot."""

    class Scenario:
        def test_molecule_scenario_passes(self, cluster: Cluster) -> None:
            run_scenario(scenario)

    Scenario.scenario = scenario
    Scenario.__name__ = Scenario.__qualname__ = f"TestScenario_{scenario.replace('-', '_')}"
    return Scenario


for _scenario in SCENARIOS:
    _class = scenario_class(_scenario)
    globals()[_class.__name__] = _class
