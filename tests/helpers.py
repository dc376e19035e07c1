"""Helpers of every test in the repository: the pytest suite (tests/) and the testinfra tests of the
molecule scenarios (molecule/*/tests). Import them with `from helpers import ...`: pytest puts tests/ on
sys.path for the suite (its conftest.py is there), and molecule's verifier runs pytest with
`-o pythonpath=<repository>/tests` (.config/molecule/config.yml).

Polling (wait_for, wait_until), commands (run, tool, docker_sh, container_address), ansible-playbook
(ansible_playbook against a scratch container, molecule_playbook against a scenario's inventory, recap),
testinfra hosts of a scenario (molecule_host, http_get, node_app_facts), systemd containers with the
settings of the molecule platforms (start_systemd_container), and fixture apps at another version
(derive_fixture)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
NODE_APP_FACT = "/etc/ansible/facts.d/node_app.fact"


def tool(name):
    """A tool of the virtualenv running the tests, else the one on PATH."""
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else (shutil.which(name) or name)


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


def wait_for(predicate, timeout, interval=1.0):
    """Poll predicate() until it returns a true value or timeout seconds pass; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_until(predicate, timeout, interval=0.1, message=None):
    """Seconds until predicate() holds; fail when it does not within timeout seconds, with message (a
    text, or a function that returns one; by default "not within <timeout> s")."""
    start = time.monotonic()
    if not wait_for(predicate, timeout, interval):
        text = message() if callable(message) else message
        raise AssertionError(text or f"not within {timeout} s")
    return time.monotonic() - start


def docker_sh(container, script, *, user=None, stdin=None, check=True, timeout=120):
    """`sh -c script` in a container (as user, with stdin as its input); return the CompletedProcess
    (with check, fail on a non-zero exit, showing what the script printed)."""
    args = ["docker", "exec", *(["-i"] if stdin is not None else []), *(["-u", user] if user else []),
            container, "sh", "-c", script]
    return run(args, check=check, timeout=timeout, input_text=stdin)


def container_address(name):
    """The address of a container on its network (the one network of a scenario or scratch container)."""
    return run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name],
               cwd=None).stdout.strip()


def install_collection_finder():
    """Let Python and Ansible's templating import the checkout as the collection proxylab.webstack, once
    per process: a second finder would not know the packages the first one loaded. What tests that put
    collections/ on sys.path imported before, as plain packages, is imported again through the finder
    (which otherwise finds no collection metadata on them)."""
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if AnsibleCollectionConfig.collection_finder is None:
        for name in [name for name in sys.modules if name == "ansible_collections" or name.startswith("ansible_collections.")]:
            del sys.modules[name]
        _AnsibleCollectionFinder(paths=[str(REPO_ROOT / "collections")])._install()


# Systemd containers ---------------------------------------------------------------------------------

# The keys of PROXYLAB_SYSTEMD_PLATFORM (.env.yml) and how `docker run` takes them; pre_build_image
# (use the image as it is) is what `docker run` does anyway.
_RUN_OPTIONS = {
    "capabilities": lambda values: [arg for value in values for arg in ("--cap-add", value)],
    "security_opts": lambda values: [arg for value in values for arg in ("--security-opt", value)],
    "cgroupns_mode": lambda value: [f"--cgroupns={value}"],
    "volumes": lambda values: [arg for value in values for arg in ("-v", value)],
    "tmpfs": lambda values: [arg for value in values for arg in ("--tmpfs", value)],
}


def systemd_platform():
    """The container settings every molecule platform merges (PROXYLAB_SYSTEMD_PLATFORM of .env.yml)."""
    env = yaml.safe_load((REPO_ROOT / ".env.yml").read_text())
    return yaml.safe_load(env["PROXYLAB_SYSTEMD_PLATFORM"])


def systemd_run_args(**overrides):
    """`docker run` options and the command for a container like a molecule platform; overrides replace
    settings as a platform's own keys do (capabilities=[...])."""
    platform = {**systemd_platform(), **overrides}
    unknown = set(platform) - set(_RUN_OPTIONS) - {"command", "pre_build_image"}
    assert not unknown, f"systemd_run_args does not know how to pass {sorted(unknown)} to docker run"
    options = [arg for key, turn in _RUN_OPTIONS.items() if key in platform for arg in turn(platform[key])]
    return options, platform["command"]


def start_systemd_container(name, image="proxylab/debian:12"):
    """Start a fresh systemd container from a base image and wait until systemd is up.

    It gets the settings of the molecule platforms, with NET_ADMIN as the app servers of the scenarios
    (node_app's firewall)."""
    image = os.environ.get("PROXYLAB_IMAGE_DEBIAN12", image) if image.endswith(":12") else image
    options, command = systemd_run_args(capabilities=["SYS_ADMIN", "NET_ADMIN"])
    run(["docker", "rm", "-f", name], check=False)
    run(["docker", "run", "-d", "--name", name, "--label", "org.proxylab.test=pytest", *options, image, command])

    def ready():
        out = run(["docker", "exec", name, "systemctl", "is-system-running"], check=False).stdout.strip()
        return out in ("running", "degraded")

    assert wait_for(ready, timeout=60), f"systemd did not come up in {name}"
    return name


# ansible-playbook ------------------------------------------------------------------------------------

def ansible_playbook(playbook, host, extra_vars=None, *, tmp_path, timeout=300):
    """Run a playbook (YAML text) against a container through the docker connection, as deploy + sudo."""
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


def molecule_playbook(playbook, *args, timeout):
    """Run a playbook against the inventory of the running molecule scenario, as molecule passes it (the
    directory: hosts, group_vars, host_vars), without colours; return the CompletedProcess."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    return run([tool("ansible-playbook"), "-i", inventory, str(playbook), *args], check=False, timeout=timeout,
               cwd=None, env={"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})


def recap(output):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from a PLAY RECAP."""
    found = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines():
        match = re.match(r"^\s*(\S+)\s*:\s*((?:\w+=\d+\s*)+)$", line)
        if match:
            found[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


# Hosts of a molecule scenario ------------------------------------------------------------------------

def molecule_host(name, **kwargs):
    """The testinfra host of a platform of the running molecule scenario (sudo=True and so on)."""
    import testinfra  # only the scenarios' tests need it

    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"], **kwargs)


def http_get(host, port, path="/"):
    """Status and body of http://127.0.0.1:<port><path>, asked from inside a testinfra host."""
    result = host.run("curl -s -m 10 -w '\\n%%{http_code}' http://127.0.0.1:%s%s", str(port), path)
    body, _, status = result.stdout.rpartition("\n")
    return status, body


def node_app_facts(host):
    """ansible_local.node_app of a testinfra host: the app's service and port, the releases."""
    return json.loads(host.file(NODE_APP_FACT).content_string)


# Fixture apps ----------------------------------------------------------------------------------------

def derive_fixture(name, dest, version, drop=()):
    """tests/fixtures/<name> at another version, written to dest (tests/fixtures/derive-fixture.py)."""
    args = [sys.executable, str(FIXTURES / "derive-fixture.py"), str(FIXTURES / name), str(dest), version]
    run(args + [arg for path in drop for arg in ("--drop", path)], timeout=60)
    return Path(dest)


def trusted(data):
    """YAML data as a role's files hold it, its strings trusted as templates (as Ansible trusts a role's own)."""
    from ansible.template import trust_as_template

    if isinstance(data, str):
        return trust_as_template(data)
    if isinstance(data, dict):
        return {key: trusted(value) for key, value in data.items()}
    if isinstance(data, list):
        return [trusted(value) for value in data]
    return data


def role_variables(role, **extra):
    """A Templar over a role's defaults and vars (Debian's layout included) and the extra variables given."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    loader = DataLoader()
    variables = {}
    for name in ("defaults/main.yml", "vars/Debian.yml", "vars/main.yml"):
        path = REPO_ROOT / "roles" / role / name
        if path.exists():
            variables.update(trusted(loader.load_from_file(str(path))))
    variables.update(extra)
    return Templar(loader=loader, variables=variables)
