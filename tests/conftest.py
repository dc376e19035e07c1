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


SYSTEMD_RUN_ARGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
]


def start_systemd_container(name, image="proxylab/debian:12"):
    """Start a fresh systemd container from a base image and wait until systemd is up."""
    image = os.environ.get("PROXYLAB_IMAGE_DEBIAN12", image) if image.endswith(":12") else image
    run(["docker", "rm", "-f", name], check=False)
    run(["docker", "run", "-d", "--name", name, "--label", "org.proxylab.test=pytest", *SYSTEMD_RUN_ARGS, image])

    def ready():
        out = run(["docker", "exec", name, "systemctl", "is-system-running"], check=False).stdout.strip()
        return out in ("running", "degraded")

    assert wait_for(ready, timeout=60), f"systemd did not come up in {name}"
    return name


@pytest.fixture(scope="module")
def scratch_host(request):
    """A throw-away Debian 12 'VM' reached with the docker connection, as user deploy with sudo."""
    name = f"webstack-pytest-{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')}"
    start_systemd_container(name)
    yield name
    run(["docker", "rm", "-f", name], check=False)


def ansible_playbook(playbook, host, extra_vars=None, *, tmp_path, timeout=300):
    """Run a playbook (YAML text) against a container through the docker connection, as deploy + sudo."""
    import json

    book = tmp_path / "playbook.yml"
    book.write_text(playbook)
    args = [
        "ansible-playbook", str(book), "-i", f"{host},", "-c", "community.docker.docker",
        "-e", "ansible_user=deploy", "-e", "ansible_become=true",
        "-e", "ansible_python_interpreter=/usr/bin/python3",
    ]
    if extra_vars:
        args += ["-e", json.dumps(extra_vars)]
    return run(args, check=False, timeout=timeout)
