"""Helpers of the nginx_proxy scenario's tests: requests sent from inside a proxy container,
the stub app servers switched off and on, and the role re-applied with other variables."""

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import container_address, docker_sh, molecule_host, molecule_playbook, tool, wait_until

SCENARIO_DIR = Path(__file__).resolve().parent.parent
DOMAIN = "dumbflix.lab"
APPS = ("nginx-proxy-app1", "nginx-proxy-app2")
MAINTENANCE_TEXT = "is briefly unavailable"
_BACKEND = re.compile(r"<h1>backend ([\w.-]+)</h1>")
_END = re.compile(r"\n@@END (\d{3})@@\n")


get_host = molecule_host


def inventory_vars(host):
    return host.ansible.get_variables()


def uses_tls(host):
    return str(inventory_vars(host).get("nginx_proxy_tls", "off")) not in ("off", "False")


@dataclass
class Response:
    status: int
    headers: dict = field(default_factory=dict)
    body: str = ""

    @property
    def backend(self):
        match = _BACKEND.search(self.body)
        return match.group(1) if match else None


def curl_target(host, host_header=DOMAIN, path="/", scheme=None):
    """curl arguments that reach the proxy on 127.0.0.1 for a site; over HTTPS the name travels in the
    TLS handshake too (SNI), as from a browser."""
    scheme = scheme or ("https" if uses_tls(host) else "http")
    if scheme == "https":
        return f"--resolve '{host_header}:443:127.0.0.1' 'https://{host_header}{path}'"
    return f"-H 'Host: {host_header}' 'http://127.0.0.1{path}'"


def fetch(host, count=1, path="/", host_header=DOMAIN, curl_args="", scheme=None):
    """Send `count` requests from inside the proxy to 127.0.0.1 (https on TLS proxies); return Responses."""
    target = curl_target(host, host_header, path, scheme)
    command = (
        f"for i in $(seq {count}); do "
        f"curl -sk -i --max-time 15 {curl_args} {target} "
        "-w '\\n@@END %{http_code}@@\\n'; done"
    )
    output = host.check_output(command)
    # check_output strips the last newline; put it back so every response ends the same way.
    parts = _END.split(output + "\n")
    responses = []
    for raw, status in zip(parts[0::2], parts[1::2]):
        head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
        headers = {}
        for line in head.split("\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        responses.append(Response(int(status), headers, body))
    assert len(responses) == count, output
    return responses


def app_port(name):
    return int(inventory_vars(get_host(name)).get("node_app_port", 3000))


def set_apps(running):
    """Start the stub app servers named in `running`, stop the others; wait until the started ones answer."""
    for name in APPS:
        app = get_host(name)
        app.check_output(f"systemctl {'start' if name in running else 'stop'} stub-backend")
    for name in running:
        app = get_host(name)
        wait_until(lambda: app.run(f"curl -sf -o /dev/null http://127.0.0.1:{app_port(name)}/").rc == 0,
                   timeout=30, interval=0.5, message=f"{name} did not answer after start")


def wait_for_proxy(host, predicate, timeout=30):
    """Poll single requests until predicate(response) holds; return the seconds it took."""
    last = []

    def holds():
        last[:] = fetch(host)
        return predicate(last[0])

    return wait_until(holds, timeout, interval=0.5,
                      message=lambda: f"last response: {last[0].status} {last[0].body[:200]}")


def converge(per_host_vars):
    """Apply the role again with converge.yml, one ansible-playbook per proxy, in parallel.

    per_host_vars maps a proxy's inventory name to extra variables; returns name -> CompletedProcess.
    """
    with ThreadPoolExecutor(max_workers=len(per_host_vars)) as pool:
        futures = {name: pool.submit(molecule_playbook, SCENARIO_DIR / "converge.yml", "--limit", name,
                                     "-e", json.dumps(extra), timeout=600)
                   for name, extra in per_host_vars.items()}
    return {name: future.result() for name, future in futures.items()}


LOAD_SCRIPT = SCENARIO_DIR.parent.parent / "playbooks" / "files" / "webstack-load.py"


def start_load(host, seconds, clients=4):
    """Steady load through the proxy from inside it (playbooks/files/webstack-load.py); returns a handle for
    finish_load()."""
    name = name_of(host)
    # In root's home, which no other user may enter (not /tmp or /var/tmp, where another user could
    # have put something at that name first; Debian 13's /tmp is also a tmpfs that hides what docker cp writes).
    subprocess.run(["docker", "cp", str(LOAD_SCRIPT), f"{name}:/root/webstack-load.py"], check=True)
    scheme = "https" if uses_tls(host) else "http"
    return subprocess.Popen(
        ["docker", "exec", name, "python3", "/root/webstack-load.py", "--url", f"{scheme}://127.0.0.1/",
         "--host", DOMAIN, "--seconds", str(seconds), "--clients", str(clients), "--insecure"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_load(process):
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def rotation_status(proxy):
    """Address -> reasons it is out of rotation, from nginx-proxy-rotation on the proxy."""
    return {address: sorted(reasons) for address, reasons in
            json.loads(docker_sh(proxy, "nginx-proxy-rotation status --json").stdout)["servers"].items()}


def signal_app(name, signal):
    docker_sh(name, f"systemctl kill --signal={signal} stub-backend")


def name_of(host):
    """The container of a testinfra host."""
    return host.backend.get_pytest_id().split("//")[-1]


def health_marks(proxy):
    """Servers the active health checks took out of rotation."""
    return {address for address, reasons in rotation_status(proxy).items() if "health" in reasons}


@pytest.fixture
def apps_in_rotation(host):
    """Both stub app servers running, answering through the proxy, and running again afterwards."""
    set_apps(APPS)
    wait_for_proxy(host, lambda r: r.status == 200)
    # Passive checks: nginx leaves a server that failed alone for fail_timeout; active ones: until it rises.
    wait_until(lambda: not health_marks(name_of(host)), timeout=15)
    for name in APPS:
        wait_for_proxy(host, lambda r, name=name: r.backend == name, timeout=15)
    yield
    for name in APPS:
        signal_app(name, "SIGCONT")
    set_apps(APPS)


def scan_tls(host):
    """sslyze, from the controller, against the proxy's address, checking Mozilla's intermediate profile.

    The proxy's own CA (nginx_proxy_tls: self_signed) is the trust anchor, so the scan judges the
    configuration: protocols, ciphers, curves, DH parameters, certificate lifespan, key and chain."""
    name = name_of(host)
    address = container_address(name)
    anchor = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / f"{name}-anchor.pem"
    anchor.write_text(host.file("/etc/nginx/ssl/nginx-proxy-ca.crt").content_string)
    result = subprocess.run([tool("sslyze"), "--mozilla_config", "intermediate", "--certinfo_ca_file", str(anchor),
                             f"{DOMAIN}:443{{{address}}}"], capture_output=True, text=True, timeout=300, check=False)
    return result.returncode, result.stdout + result.stderr
