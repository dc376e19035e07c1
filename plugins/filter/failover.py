# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of playbooks/failover_check.yml: the states of the experiment, the load generator's command
line, what went wrong in a state (app servers, then the proxies behind a floating address) and the band
each fault draws in the report. The playbook does the faults and measures; these decide, with unit tests."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError
from jinja2 import Undefined

# The last state: every app server is back, and each must answer again.
RESTORED = "all app servers restored"
# What the report's band of each fault says after the app servers' names.
FAULT_LABELS = {
    "stop": "app stopped (systemctl stop)",
    "power_off": "VM switched off",
    "kill": "app killed (kill -9)",
    "hang": "hung (SIGSTOP)",
    "5xx": "answers 503",
    "down": "app stopped (all of them)",
}
# What nginx answers when no app server can: bad gateway, service unavailable, gateway timeout.
_NO_APP_STATUSES = ("502", "503", "504")
# The proxy states that fail the holder of the floating address; the others bring a proxy back.
_PROXY_FAULTS = ("nginx_stop", "power_off")


def _defined(variables, name):
    """As Jinja's `is defined` sees a host's variable: set, to a template that names no undefined variable."""
    return name in variables and not isinstance(variables[name], Undefined)


def failover_states(apps, hostvars, hang_seconds):
    """The states of the experiment, in the order they run, each a dict of name, fault and hosts.

    apps: the app servers (failover_app_hosts), in inventory order; hostvars: the variables of each host,
    where the first app server's failover_power_off_command and failover_power_on_command, when both are
    set, add the state of its VM switched off; hang_seconds: how long the hung state lasts.
    Faults done during the load: stop, power_off, kill, hang; before it: 5xx, down (every app stopped).
    """
    apps = list(apps or [])
    if not apps:
        raise AnsibleFilterError("failover_states: failover_app_hosts names no app server to fail (an empty or unknown group)")
    first, last = apps[0], apps[-1]
    powered = all(_defined(hostvars[first], name) for name in ("failover_power_off_command", "failover_power_on_command"))
    states = [{"name": "all app servers up", "fault": "none", "hosts": []}]
    states += [{"name": f"{app} app stopped", "fault": "stop", "hosts": [app]} for app in apps]
    if powered:
        states.append({"name": f"{first} VM switched off", "fault": "power_off", "hosts": [first]})
    states += [
        {"name": f"{first} app killed (kill -9)", "fault": "kill", "hosts": [first]},
        {"name": f"{last} hung {hang_seconds} s (SIGSTOP)", "fault": "hang", "hosts": [last]},
        {"name": f"{first} answers 503", "fault": "5xx", "hosts": [first]},
        {"name": "all app servers down", "fault": "down", "hosts": apps},
        {"name": RESTORED, "fault": "none", "hosts": []},
    ]
    return states


def failover_load_argv(options, directory):
    """The command line of webstack-load.py, copied to directory, with options in their order.

    Each option becomes --name value; true makes a flag (--name alone); a value of false or None leaves
    the option out (a value of 0 is kept).
    """
    argv = ["python3", f"{directory}/webstack-load.py"]
    for name, value in options.items():
        if value is None or value is False:
            continue
        argv += [f"--{name}"] if value is True else [f"--{name}", str(value)]
    return argv


def _json(value):
    # As Ansible's to_json writes it: insertion order, ", " and ": ".
    return json.dumps(value)


def failover_problems(load, state, apps, answered_by, read_timeout, health_checks):
    """What went wrong in one state of the app servers, one message per problem (none: the state passed).

    load: what webstack-load.py reported (failed, requests, statuses, max_ms, upstreams); state: the state
    (name, fault); apps: every app server; answered_by: the app servers that answered, as the table shows
    them; read_timeout: the proxy's proxy_read_timeout in seconds; health_checks: whether the proxy's
    active health checks are on.
    A request may fail only where no healthy app server exists: with every app server down (then every
    answer must be 502-504), or while one answers 503 with passive checks only (nginx does not count an
    app's own 5xx as a failure). A hung server may cost a request the read timeout and one second more;
    afterwards, every app server must answer again.
    """
    name, fault = state["name"], state["fault"]
    statuses = load["statuses"]
    addresses = list(load["upstreams"])
    problems = []
    if fault != "down" and load["failed"] > 0 and (fault != "5xx" or health_checks):
        problems.append(f"{name}: {load['failed']} of {load['requests']} requests failed ({_json(statuses)})")
    if fault == "down" and any(status not in _NO_APP_STATUSES for status in statuses):
        problems.append(f"{name}: expected 502-504 from every request, got {_json(statuses)}")
    if fault == "hang" and load["max_ms"] > (float(read_timeout) + 1) * 1000:
        problems.append(f"{name}: the slowest request took {load['max_ms']} ms, more than the read timeout + 1 s")
    # '-': answers that named no app server (no X-Upstream), so who else answered cannot be told.
    if name == RESTORED and "-" not in addresses and len(addresses) < len(apps):
        problems.append(f"{name}: not every app server answered ({answered_by})")
    return problems


def failover_proxy_problems(load, state, holder_before, holder_after, max_gap_ms):
    """What went wrong in one state of the proxies, one message per problem (none: the state passed).

    load: what webstack-load.py reported (failed, statuses, longest_gap_ms, failed_window_ms); state: the
    state (name, fault); holder_before, holder_after: the proxy that held the floating address before and
    after it ('' when none did); max_gap_ms: the longest time without service allowed (failover_max_gap_ms).
    A failed holder (nginx stopped, VM switched off) must lose the address, within max_gap_ms; a proxy
    brought back must not take it back (nopreempt), nor may any request fail meanwhile.
    """
    name = state["name"]
    failed_holder = state["fault"] in _PROXY_FAULTS
    gap_ms = float(max(load["longest_gap_ms"], load["failed_window_ms"]))
    max_gap_ms = float(max_gap_ms)
    problems = []
    if gap_ms > max_gap_ms:
        # round(x, 0), as Jinja's round writes it: 3456.0.
        problems.append(f"{name}: {round(gap_ms, 0)} ms without service, more than {max_gap_ms} ms")
    if failed_holder and holder_after == holder_before:
        problems.append(f"{name}: the address stayed on {holder_before}")
    if not holder_after:
        problems.append(f"{name}: no proxy holds the address")
    if not failed_holder and load["failed"] > 0:
        problems.append(f"{name}: {load['failed']} requests failed while the holder served ({_json(load['statuses'])})")
    if not failed_holder and holder_after != holder_before:
        problems.append(f"{name}: the restored proxy took the address back")
    return problems


def failover_fault_mark(state, start, until, now):
    """The band of a state's fault in the report: start, end, kind (fault) and label.

    start: when the fault was in place; until: when a hang was undone; now: when the app servers were put
    back. A kill is a moment (PM2 starts the app again at once), a hang ends when it was undone, any other
    fault when the app servers were put back.
    """
    fault = state["fault"]
    if fault not in FAULT_LABELS:
        raise AnsibleFilterError(f"failover_fault_mark: {fault!r} is not a fault ({', '.join(FAULT_LABELS)})")
    if fault == "kill":
        end = float(start)
    elif fault == "hang":
        end = float(until)
    else:
        end = float(now)
    return {"start": float(start), "kind": "fault", "end": end, "label": f"{', '.join(state['hosts'])}: {FAULT_LABELS[fault]}"}


class FilterModule:
    def filters(self):
        return {"failover_states": failover_states, "failover_load_argv": failover_load_argv,
                "failover_problems": failover_problems, "failover_proxy_problems": failover_proxy_problems,
                "failover_fault_mark": failover_fault_mark}
