"""Fixtures of the end-to-end tier: the cluster (or a skip saying why not), throwaway namespaces, and one
shared deployment for the lifecycle tests that can safely take turns on it.

Every namespace created here starts with "e2e-" and is deleted afterwards (E2E_KEEP=1 keeps them).
The verify_*.py checks run on a namespace a molecule scenario converged (`verified_namespace`); there a cluster
that does not answer fails the run instead of skipping it.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_ansible import PlaybookRun, run_playbook
from e2e_kube import Cluster
from e2e_settings import CONTEXT, KEEP_NAMESPACES, KUBECONFIG, NAMESPACE_PREFIX, VERIFY_NAMESPACE


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    why_not = (f"no cluster answers at {KUBECONFIG} (context {CONTEXT or '(current)'}); start the local one with "
               "`local-cluster/cluster up` (root on Debian) or point E2E_KUBECONFIG/E2E_CONTEXT at yours")
    # Skipping is for a machine without a cluster; molecule verify has just converged one, so it must answer.
    give_up = pytest.fail if VERIFY_NAMESPACE else pytest.skip
    if not Path(KUBECONFIG).is_file():
        give_up(f"end-to-end tier skipped: {why_not}")
    try:
        found = Cluster()
    except Exception as error:  # noqa: BLE001 - unknown context, unreadable file
        give_up(f"end-to-end tier skipped: {why_not} ({error})")
    if not found.answers():
        found.close()
        give_up(f"end-to-end tier skipped: {why_not}")
    yield found
    found.close()


class Namespaces:
    """Hands out fresh namespace names and deletes whatever was created under them."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.names: list[str] = []

    def new(self, purpose: str) -> str:
        name = f"{NAMESPACE_PREFIX}{purpose}-{secrets.token_hex(3)}"
        self.names.append(name)
        return name

    def delete_all(self) -> None:
        if KEEP_NAMESPACES:
            return
        for name in self.names:
            self.cluster.delete_namespace(name)


@pytest.fixture
def namespaces(cluster: Cluster) -> Iterator[Namespaces]:
    made = Namespaces(cluster)
    yield made
    made.delete_all()


@pytest.fixture(scope="module")
def module_namespaces(cluster: Cluster) -> Iterator[Namespaces]:
    """Namespaces shared by the tests of one module (its own deployment), deleted after its last test."""
    made = Namespaces(cluster)
    yield made
    made.delete_all()


@dataclass
class Deployment:
    namespace: str
    first_run: PlaybookRun  # site.yml at -v with --diff, on an empty namespace
    url: str  # the API Service, http://ClusterIP:port


@pytest.fixture(scope="session")
def deployment(cluster: Cluster) -> Iterator[Deployment]:
    """site.yml once, on a namespace of its own, shared by the lifecycle tests."""
    made = Namespaces(cluster)
    namespace = made.new("shared")
    try:
        first_run = run_playbook("site.yml", namespace, "-v", "--diff")
        yield Deployment(namespace, first_run, cluster.api_url(namespace))
    finally:
        made.delete_all()



@pytest.fixture(scope="session")
def verified_namespace(cluster: Cluster) -> str:
    """The namespace molecule converged (E2E_VERIFY_NAMESPACE, set by molecule/shared/verify.yml)."""
    if not VERIFY_NAMESPACE:
        pytest.skip("verify_*.py checks a namespace a molecule scenario converged: run them through molecule "
                    "(molecule verify -s default) or set E2E_VERIFY_NAMESPACE")
    return VERIFY_NAMESPACE


# The modules sharing `deployment` (a session fixture, so one deployment per worker that runs any of them): one
# group, on one worker, deploys it once.
SHARED_DEPLOYMENT_MODULES = {"test_lifecycle", "test_migrations", "test_drift", "test_no_secret_in_output"}
SHARED_DEPLOYMENT = "shared-deployment"

# The groups that take longest, longest first, from the group times of a full run (printed at its end). Groups are
# handed out in this order (GroupScheduling), so these start first and the workers finish close together; a group
# not listed starts after them.
SLOWEST_FIRST = [
    "test_backup_restore", "test_rollback", SHARED_DEPLOYMENT, "test_backup_disaster_recovery", "test_credentials",
    "molecule-default", "test_availability", "molecule-role-flask_api", "molecule-role-mysql", "test_minikube_path",
    "test_external_mysql", "test_interrupted_converge", "molecule-role-secrets", "test_vault_variables",
    "test_permissions",
]


def group_of(nodeid: str) -> str:
    """What runs on one worker: a molecule scenario (a class of test_molecule.py), the modules that share
    `deployment`, or any other module (its tests share the module's deployment)."""
    path, _, rest = nodeid.partition("::")
    module = Path(path).stem
    if module == "test_molecule":
        return "molecule-" + rest.split("::")[0].removeprefix("TestScenario_").replace("_", "-", 1)
    return SHARED_DEPLOYMENT if module in SHARED_DEPLOYMENT_MODULES else module


def pytest_itemcollected(item: pytest.Item) -> None:
    item.user_properties.append(("group", group_of(item.nodeid)))  # reaches the reports, also from xdist workers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest groups first, a group's tests together."""
    rank = {name: position for position, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: (rank.get(group_of(item.nodeid), len(rank)), group_of(item.nodeid)))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """pytest-xdist's loadscope, by group_of and in collection order (its own splits by module or class, and
    reorders by test count, which started the one-test molecule scenarios last), and a worker gets its next group
    only when it is down to its last test (which it cannot start before it knows what follows)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

        def _reschedule(self, node) -> None:
            if not node.shutting_down and self.workqueue and self._pending_of(self.assigned_work[node]) > 1:
                return
            super()._reschedule(node)

    config.option.loadscopereorder = False
    return GroupScheduling(config, log)


# What the tests print (playbook times, failed requests, error windows) is their report: collected from every
# test (also from pytest-xdist workers, whose output pytest would otherwise hide) and printed at the end, with
# the time each module (or scenario) took on its worker.
_printed: list[tuple[str, str]] = []
_group_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # The teardown report holds the test's whole capture: its setup (module fixtures deploying), call and teardown.
    if report.when == "teardown" and report.capstdout.strip():
        _printed.append((report.nodeid, report.capstdout.strip()))
    group = dict(report.user_properties).get("group", group_of(report.nodeid))
    _group_seconds[group] = _group_seconds.get(group, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if _printed:
        terminalreporter.section("what the end-to-end tests measured")
        for nodeid, text in _printed:
            terminalreporter.write_line(nodeid)
            for line in text.splitlines():
                terminalreporter.write_line(f"    {line}")
    if sum(_group_seconds.values()) >= 1:  # not for a run that skipped everything
        terminalreporter.section("time per module on its worker (slowest first; see SLOWEST_FIRST)")
        for group, seconds in sorted(_group_seconds.items(), key=lambda entry: -entry[1]):
            terminalreporter.write_line(f"{seconds:7.0f} s  {group}")
