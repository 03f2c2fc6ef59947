"""Runs the project's playbooks as users do (ansible-playbook from the repository root) and reads the vault."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from e2e_settings import INVENTORY, REPO


def _tool(name: str) -> str:
    """The tool next to this Python (the project venv), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `make venv` first")
    return found


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0", "PYTHONUNBUFFERED": "1"})
    return env


@dataclass
class PlaybookRun:
    args: list[str]
    returncode: int
    output: str  # stdout and stderr, interleaved as printed

    @property
    def changed(self) -> int:
        """Sum of changed=N over the PLAY RECAP lines."""
        return sum(int(count) for count in re.findall(r"\bchanged=(\d+)", self.output))

    @property
    def messages(self) -> list[str]:
        """Every `msg:` the play printed (debug reports, failures), parsed from the YAML result format, each on
        one line (YAML folds long messages over several lines)."""
        found = []
        lines = self.output.splitlines()
        for index, line in enumerate(lines):
            start = re.match(r"^(\s*)msg: ", line)
            if not start:
                continue
            indent = len(start.group(1))
            block = [line[indent:]]
            for following in lines[index + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following[indent:])
            try:
                value = yaml.safe_load("\n".join(block))["msg"]
            except (yaml.YAMLError, TypeError, KeyError):
                value = " ".join(block)[len("msg: "):]
            found.append(" ".join(str(value).split()))
        return found

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def playbook_command(playbook: str, namespace: str, *extra: str) -> list[str]:
    """playbook: a name in playbooks/ (site.yml), or a path from the repository root (molecule/shared/...)."""
    path = playbook if "/" in playbook else f"playbooks/{playbook}"
    # molecule/user-cluster/run's settings for the user's context (kube_context, image), when it set them.
    cluster_vars = ["-e", f"@{os.environ['E2E_CLUSTER_VARS']}"] if os.environ.get("E2E_CLUSTER_VARS") else []
    return [_tool("ansible-playbook"), path, "-i", INVENTORY, *cluster_vars,
            "-e", f"app_namespace={namespace}", *extra]


def run_playbook(playbook: str, namespace: str, *extra: str, expect_success: bool = True,
                 timeout: int = 1500) -> PlaybookRun:
    """Run playbooks/<playbook> on the namespace; by default fail the test (with the output's tail) if it fails."""
    args = playbook_command(playbook, namespace, *extra)
    proc = subprocess.run(args, cwd=REPO, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    run = PlaybookRun(args, proc.returncode, proc.stdout)
    if expect_success and run.returncode != 0:
        reason = run.messages[-1] if run.messages else "(no message)"
        raise AssertionError(f"{playbook} failed (exit {run.returncode}) on {namespace}: {reason}\n{run.tail()}")
    return run


def start_playbook(playbook: str, namespace: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start a playbook writing to log, in its own process group (so it can be killed mid-run, like a lost terminal)."""
    with log.open("wb") as out:
        return subprocess.Popen(playbook_command(playbook, namespace, *extra), cwd=REPO, env=ansible_env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _descendants(pid: int) -> list[int]:
    """Every process below pid; Ansible's workers run in sessions of their own, outside pid's process group."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def kill_playbook(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the playbook and every process it started, as when a CI job is cancelled or a machine dies."""
    for pid in [proc.pid, *_descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def vault_values() -> dict[str, str]:
    """The decrypted values of every ansible-vault file of the inventory (the secrets a run must never print)."""
    values: dict[str, str] = {}
    for path in sorted((REPO / INVENTORY).rglob("*")):
        if not path.is_file() or not path.read_bytes().startswith(b"$ANSIBLE_VAULT"):
            continue
        plain = subprocess.run([_tool("ansible-vault"), "view", str(path)], cwd=REPO, env=ansible_env(),
                               capture_output=True, text=True, check=True, timeout=120).stdout
        for key, value in (yaml.safe_load(plain) or {}).items():
            if isinstance(value, str) and value:
                values[key] = value
    if not values:
        raise AssertionError(f"no vaulted value found under {INVENTORY}: nothing to check the output against")
    return values
