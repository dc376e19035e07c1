"""Helpers of the proxy_ha scenario's tests: who holds the floating address, steady load from the
client container to it, and proxies stopped and started the ways real ones are."""

import json
import subprocess
from pathlib import Path

from helpers import docker_sh, wait_until

SCENARIO_DIR = Path(__file__).resolve().parent.parent
VIP = "10.213.47.200"
DOMAIN = "dumbflix.lab"
PROXIES = ("proxy-ha-deb12", "proxy-ha-deb13")
CLIENT = "proxy-ha-client"
# A backup takes the address 3 adverts (0.5 s) and a skew after the last one it heard; the holder
# gives it up at the first failed check (once a second). The bound for the time without service.
MAX_GAP_MS = 3000


def holders():
    """The proxies that have the floating address on an interface now."""
    found = []
    for proxy in PROXIES:
        result = docker_sh(proxy, "ip -4 -o address show", check=False)
        if result.returncode == 0 and f" {VIP}/" in result.stdout:
            found.append(proxy)
    return found


def the_holder(timeout=15):
    """The one proxy that holds the address, once exactly one does."""
    wait_until(lambda: len(holders()) == 1, timeout=timeout, message=lambda: f"holders: {holders()}")
    return holders()[0]


def other(proxy):
    return next(name for name in PROXIES if name != proxy)


def vrrp_state(proxy):
    """The last state keepalived logged on a proxy since it booted (MASTER, BACKUP or FAULT)."""
    lines = docker_sh(proxy, "journalctl -b -u keepalived --no-pager -o cat | grep -o 'Entering [A-Z]* STATE' || true").stdout
    states = lines.split()
    return states[-2] if states else None


def start_load(seconds, clients=4):
    """Steady load from the client container to the floating address (playbooks/files/webstack-load.py,
    a pause between pages so the failures of a gap stay countable); returns a handle for finish_load()."""
    return subprocess.Popen(
        ["docker", "exec", CLIENT, "python3", "/usr/local/bin/webstack-load.py", "--url", f"http://{VIP}/",
         "--host", DOMAIN, "--seconds", str(seconds), "--clients", str(clients), "--pause", "0.01", "--timeout", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_load(process):
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out)


def wait_booted(proxy, timeout=60):
    """Wait until a started proxy container runs systemd, nginx and keepalived again."""
    def ready():
        state = docker_sh(proxy, "systemctl is-system-running; systemctl is-active nginx keepalived", check=False)
        lines = state.stdout.split()
        return len(lines) == 3 and lines[0] in ("running", "degraded") and lines[1:] == ["active", "active"]
    wait_until(ready, timeout=timeout, interval=0.5, message=f"{proxy} did not boot with nginx and keepalived")


def report(what, load, before, after):
    print(f"\n{what}: address on {before} before, on {after} after; {load['ok']} of {load['requests']} requests "
          f"answered, {load['failed']} failed ({load['statuses']}), answered by {load['proxies']}; "
          f"longest time without an answer {load['longest_gap_ms']} ms, failures within {load['failed_window_ms']} ms; "
          f"p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, max {load['max_ms']} ms")


def time_without_service(load):
    """The longest stretch without an answer, or the span of the failures when that is longer."""
    return max(load["longest_gap_ms"], load["failed_window_ms"])
