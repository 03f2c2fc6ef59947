"""ansible.cfg's strategy (plugins/strategy/mitogen_or_linear.py): one interpreter per play with Mitogen, and
Ansible's linear strategy, working as before, on a machine without it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from render_helpers import REPO, tool

PLAY = """
- name: Two modules, each printing the process that ran it
  hosts: localhost
  gather_facts: false
  tasks:
    - name: First
      ansible.builtin.shell: echo "pid=$PPID"
      register: first
      changed_when: false
    - name: Second
      ansible.builtin.shell: echo "pid=$PPID"
      register: second
      changed_when: false
    - name: Say whether they shared it
      ansible.builtin.debug:
        msg: "same-interpreter={{ first.stdout == second.stdout }}"
"""


def run_play(tmp_path: Path, hide_mitogen: bool) -> str:
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if hide_mitogen:
        # A package that fails to import stands for a machine where mitogen is not installed.
        hidden = tmp_path / "hidden" / "ansible_mitogen"
        hidden.mkdir(parents=True)
        (hidden / "__init__.py").write_text("raise ImportError('mitogen is not installed here')\n")
        env["PYTHONPATH"] = str(hidden.parent)
    proc = subprocess.run(
        [tool("ansible-playbook"), str(tmp_path / "play.yml"), "-i", "localhost,",
         "-e", f"ansible_connection=local ansible_python_interpreter={sys.executable}"],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_with_mitogen_the_modules_of_a_play_run_in_one_interpreter(tmp_path) -> None:
    assert "same-interpreter=True" in run_play(tmp_path, hide_mitogen=False)


def test_without_mitogen_the_play_runs_with_the_linear_strategy(tmp_path) -> None:
    assert "same-interpreter=False" in run_play(tmp_path, hide_mitogen=True)
