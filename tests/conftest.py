"""Shared helpers for the pytest suite: the repository root and a command runner."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The tools (ansible, molecule, ...) live next to the interpreter running pytest.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))


def run(args, *, env=None, check=True, timeout=600, cwd=REPO_ROOT, input_text=None):
    """Run a command, return the CompletedProcess; on failure show its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run(
        args,
        cwd=cwd,
        env=full_env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{args!r} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


def wait_for(predicate, timeout, interval=1.0):
    """Poll predicate() until it returns a true value or timeout seconds pass; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
