"""The filters of playbooks/failover_check.yml (plugins/filter/failover.py): the states of the experiment,
the load generator's command line, what went wrong in an app server state and in a proxy state, and the band
of each fault in the report."""

import importlib.util
import json

import pytest
from ansible.errors import AnsibleFilterError
from jinja2 import Undefined

from helpers import REPO_ROOT, run

_SPEC = importlib.util.spec_from_file_location("failover_filters", REPO_ROOT / "plugins" / "filter" / "failover.py")
filters = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(filters)

POWER = {"failover_power_off_command": "scripts/lab.sh power-off app1",
         "failover_power_on_command": "scripts/lab.sh power-on app1"}


def load(**summary):
    """A summary of webstack-load.py: 100 requests answered 200 by two app servers, unless told otherwise."""
    found = {"failed": 0, "ok": 100, "requests": 100, "statuses": {"200": 100}, "max_ms": 40.0,
             "upstreams": {"10.0.0.1:3000": 50, "10.0.0.2:3000": 50}, "longest_gap_ms": 120.0, "failed_window_ms": 0.0}
    found.update(summary)
    return found


# failover_states ---------------------------------------------------------------------------------

def test_the_states_run_in_order_each_app_server_stopped_in_turn():
    states = filters.failover_states(["app1", "app2"], {"app1": {}, "app2": {}}, 10)
    assert states == [
        {"name": "all app servers up", "fault": "none", "hosts": []},
        {"name": "app1 app stopped", "fault": "stop", "hosts": ["app1"]},
        {"name": "app2 app stopped", "fault": "stop", "hosts": ["app2"]},
        {"name": "app1 app killed (kill -9)", "fault": "kill", "hosts": ["app1"]},
        {"name": "app2 hung 10 s (SIGSTOP)", "fault": "hang", "hosts": ["app2"]},
        {"name": "app1 answers 503", "fault": "5xx", "hosts": ["app1"]},
        {"name": "all app servers down", "fault": "down", "hosts": ["app1", "app2"]},
        {"name": "all app servers restored", "fault": "none", "hosts": []},
    ]


def test_the_first_app_server_with_both_power_commands_is_also_switched_off_after_the_stops():
    states = filters.failover_states(["app1", "app2", "app3"], {"app1": POWER, "app2": {}, "app3": {}}, 7)
    assert [state["name"] for state in states][3:7] == [
        "app3 app stopped", "app1 VM switched off", "app1 app killed (kill -9)", "app3 hung 7 s (SIGSTOP)"]
    assert states[4] == {"name": "app1 VM switched off", "fault": "power_off", "hosts": ["app1"]}


@pytest.mark.parametrize("first", [
    {"failover_power_off_command": "off"},
    {"failover_power_on_command": "on"},
    {"failover_power_off_command": Undefined(name="lab_name"), "failover_power_on_command": "on"},
], ids=["off only", "on only", "a command naming an undefined variable"])
def test_no_power_state_without_both_commands_defined_on_the_first_app_server(first):
    states = filters.failover_states(["app1", "app2"], {"app1": first, "app2": POWER}, 10)
    assert "power_off" not in [state["fault"] for state in states]


def test_a_single_app_server_is_the_first_and_the_last():
    states = filters.failover_states(["app1"], {"app1": POWER}, 3)
    assert [state["name"] for state in states] == [
        "all app servers up", "app1 app stopped", "app1 VM switched off", "app1 app killed (kill -9)",
        "app1 hung 3 s (SIGSTOP)", "app1 answers 503", "all app servers down", "all app servers restored"]


def test_no_app_server_is_refused_naming_the_variable():
    with pytest.raises(AnsibleFilterError, match="failover_app_hosts"):
        filters.failover_states([], {}, 10)


def test_the_power_state_follows_what_ansible_resolves_in_the_inventory(tmp_path):
    """hostvars as a play gives them: a command whose template names an undefined variable is not defined."""
    inventory = tmp_path / "hosts.yml"
    powered = {"failover_power_off_command": "off {{ inventory_hostname }}", "failover_power_on_command": "on {{ inventory_hostname }}"}
    broken = {"failover_power_off_command": "off {{ no_such_variable }}", "failover_power_on_command": "on"}
    inventory.write_text(json.dumps({"all": {"children": {"powered": {"hosts": {"a1": powered, "a2": {}}},
                                                          "broken": {"hosts": {"b1": broken}}}}}))
    faults = ("{{ [groups.powered, groups.broken] | map('proxylab.webstack.failover_states', hostvars, 10)"
              " | map('map', attribute='fault') | map('join', ' ') }}")
    result = run(["ansible", "localhost", "-i", str(inventory), "-c", "local", "-m", "ansible.builtin.debug", "-a", f"msg={faults}"],
                 env={"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
                      "ANSIBLE_LOCALHOST_WARNING": "0"})
    said = json.loads(result.stdout[result.stdout.index("{"):])["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert said == ["none stop stop power_off kill hang 5xx down none", "none stop kill hang 5xx down none"]


# failover_load_argv ------------------------------------------------------------------------------

def test_the_load_command_line_keeps_the_order_of_the_options():
    options = {"url": "https://127.0.0.1:8443/", "host": "dumbflix.lab", "seconds": 5, "clients": "4",
               "insecure": True, "pause": 0, "record": "/home/deploy/.ansible/load.x/app-03.tsv.gz"}
    assert filters.failover_load_argv(options, "/home/deploy/.ansible/load.x") == [
        "python3", "/home/deploy/.ansible/load.x/webstack-load.py", "--url", "https://127.0.0.1:8443/", "--host", "dumbflix.lab",
        "--seconds", "5", "--clients", "4", "--insecure", "--pause", "0", "--record", "/home/deploy/.ansible/load.x/app-03.tsv.gz"]


def test_an_option_without_a_value_is_left_out():
    options = {"url": "http://10.0.0.200/", "pause": 0.01, "timeout": 5, "record": None, "insecure": False}
    assert filters.failover_load_argv(options, "/d") == [
        "python3", "/d/webstack-load.py", "--url", "http://10.0.0.200/", "--pause", "0.01", "--timeout", "5"]


# failover_problems -------------------------------------------------------------------------------

def app_problems(state, fault, summary, apps=("app1", "app2"), answered_by="app1, app2", read_timeout=2.0,
                 health_checks=True):
    return filters.failover_problems(summary, {"name": state, "fault": fault}, list(apps), answered_by, read_timeout,
                                     health_checks)


@pytest.mark.parametrize(("state", "fault"), [
    ("all app servers up", "none"), ("app1 app stopped", "stop"), ("app1 VM switched off", "power_off"),
    ("app1 app killed (kill -9)", "kill"), ("app2 hung 10 s (SIGSTOP)", "hang"), ("app1 answers 503", "5xx"),
    ("all app servers restored", "none"),
])
def test_a_state_where_every_request_was_answered_passes(state, fault):
    assert app_problems(state, fault, load()) == []


@pytest.mark.parametrize(("state", "fault"), [
    ("all app servers up", "none"), ("app1 app stopped", "stop"), ("app1 VM switched off", "power_off"),
    ("app1 app killed (kill -9)", "kill"), ("app2 hung 10 s (SIGSTOP)", "hang"),
])
def test_a_failed_request_while_a_healthy_app_server_exists_is_a_problem(state, fault):
    summary = load(failed=3, ok=97, statuses={"200": 97, "502": 3})
    assert app_problems(state, fault, summary, health_checks=False) == [
        f'{state}: 3 of 100 requests failed ({{"200": 97, "502": 3}})']


def test_503s_from_a_broken_app_count_only_when_active_health_checks_could_take_it_out():
    summary = load(failed=40, ok=60, statuses={"200": 60, "503": 40})
    assert app_problems("app1 answers 503", "5xx", summary, health_checks=False) == []
    assert app_problems("app1 answers 503", "5xx", summary, health_checks=True) == [
        'app1 answers 503: 40 of 100 requests failed ({"200": 60, "503": 40})']


def test_with_every_app_server_down_the_site_must_answer_502_to_504():
    down = load(failed=90, ok=0, requests=90, statuses={"502": 30, "503": 30, "504": 30}, upstreams={"-": 90})
    assert app_problems("all app servers down", "down", down) == []
    served = load(failed=80, ok=10, requests=90, statuses={"200": 10, "502": 80}, upstreams={"-": 80, "10.0.0.1:3000": 10})
    assert app_problems("all app servers down", "down", served) == [
        'all app servers down: expected 502-504 from every request, got {"200": 10, "502": 80}']
    for statuses in ({"500": 5}, {"503": 2, "ConnectionRefusedError": 3}):
        errors = load(failed=5, ok=0, requests=5, statuses=statuses, upstreams={"-": 5})
        assert app_problems("all app servers down", "down", errors) == [
            f"all app servers down: expected 502-504 from every request, got {json.dumps(statuses)}"]


def test_a_hung_server_may_cost_a_request_the_read_timeout_and_one_second_more():
    assert app_problems("app2 hung 10 s (SIGSTOP)", "hang", load(max_ms=3000.0), read_timeout=2.0) == []
    assert app_problems("app2 hung 10 s (SIGSTOP)", "hang", load(max_ms=3000.4), read_timeout="2.0") == [
        "app2 hung 10 s (SIGSTOP): the slowest request took 3000.4 ms, more than the read timeout + 1 s"]
    assert app_problems("app2 hung 10 s (SIGSTOP)", "hang", load(max_ms=1600), read_timeout=0.5) == [
        "app2 hung 10 s (SIGSTOP): the slowest request took 1600 ms, more than the read timeout + 1 s"]
    # Slow answers in another state are the proxy's business, not this check's.
    assert app_problems("app1 app stopped", "stop", load(max_ms=9000.0)) == []


def test_a_hung_state_can_fail_twice():
    summary = load(failed=1, ok=99, statuses={"200": 99, "504": 1}, max_ms=9000.0)
    assert app_problems("app2 hung 10 s (SIGSTOP)", "hang", summary, health_checks=False) == [
        'app2 hung 10 s (SIGSTOP): 1 of 100 requests failed ({"200": 99, "504": 1})',
        "app2 hung 10 s (SIGSTOP): the slowest request took 9000.0 ms, more than the read timeout + 1 s"]


def test_every_app_server_must_answer_again_once_restored():
    one = load(upstreams={"10.0.0.1:3000": 100})
    assert app_problems("all app servers restored", "none", one, answered_by="app1") == [
        "all app servers restored: not every app server answered (app1)"]
    assert app_problems("all app servers restored", "none", one, apps=["app1"], answered_by="app1") == []
    # Answers that name no app server: which servers answered cannot be told.
    for upstreams in ({"10.0.0.1:3000": 60, "-": 40}, {"-": 100}):
        assert app_problems("all app servers restored", "none", load(upstreams=upstreams), answered_by="-") == []
    # Only the last state asks for every server.
    assert app_problems("all app servers up", "none", one, answered_by="app1") == []


# failover_proxy_problems -------------------------------------------------------------------------

def proxy_problems(state, fault, summary, before="proxy1", after="proxy2", max_gap_ms=3000.0):
    return filters.failover_proxy_problems(summary, {"name": state, "fault": fault}, before, after, max_gap_ms)


@pytest.mark.parametrize(("state", "fault"), [("holder nginx stopped", "nginx_stop"), ("holder switched off", "power_off")])
def test_a_failed_holder_passes_when_the_address_moves_within_the_bound(state, fault):
    summary = load(failed=12, ok=88, statuses={"200": 88, "timeout": 12}, longest_gap_ms=2100.0, failed_window_ms=2999.9)
    assert proxy_problems(state, fault, summary) == []


@pytest.mark.parametrize(("state", "fault"), [("its nginx started again", "nginx_start"), ("it is switched on again", "power_on")])
def test_a_proxy_brought_back_passes_when_the_address_stays_and_every_request_is_answered(state, fault):
    assert proxy_problems(state, fault, load(), before="proxy2", after="proxy2") == []


def test_the_time_without_service_is_the_longer_of_the_gap_and_the_failed_window():
    over_gap = load(longest_gap_ms=3456.4, failed_window_ms=100.0)
    assert proxy_problems("holder nginx stopped", "nginx_stop", over_gap) == [
        "holder nginx stopped: 3456.0 ms without service, more than 3000.0 ms"]
    over_window = load(failed=20, ok=80, statuses={"200": 80, "timeout": 20}, longest_gap_ms=900.0, failed_window_ms=4000.6)
    assert proxy_problems("holder switched off", "power_off", over_window, max_gap_ms="2500") == [
        "holder switched off: 4001.0 ms without service, more than 2500.0 ms"]
    assert proxy_problems("holder nginx stopped", "nginx_stop", load(longest_gap_ms=3000, failed_window_ms=0)) == []


@pytest.mark.parametrize(("state", "fault"), [("holder nginx stopped", "nginx_stop"), ("holder switched off", "power_off")])
def test_a_failed_holder_must_lose_the_address(state, fault):
    assert proxy_problems(state, fault, load(), before="proxy1", after="proxy1") == [
        f"{state}: the address stayed on proxy1"]


def test_the_address_must_be_somewhere_afterwards():
    assert proxy_problems("holder nginx stopped", "nginx_stop", load(), after="") == [
        "holder nginx stopped: no proxy holds the address"]
    assert proxy_problems("its nginx started again", "nginx_start", load(), before="", after="") == [
        "its nginx started again: no proxy holds the address"]


def test_no_request_may_fail_while_a_proxy_is_brought_back():
    summary = load(failed=2, ok=98, statuses={"200": 98, "RemoteDisconnected": 2})
    assert proxy_problems("it is switched on again", "power_on", summary, before="proxy2", after="proxy2") == [
        'it is switched on again: 2 requests failed while the holder served ({"200": 98, "RemoteDisconnected": 2})']


def test_a_proxy_brought_back_must_not_take_the_address_back():
    assert proxy_problems("its nginx started again", "nginx_start", load(), before="proxy2", after="proxy1") == [
        "its nginx started again: the restored proxy took the address back"]


def test_every_proxy_problem_of_a_state_is_named_in_order():
    summary = load(failed=30, ok=70, statuses={"200": 70, "timeout": 30}, longest_gap_ms=5000.0)
    assert proxy_problems("it is switched on again", "power_on", summary, before="proxy2", after="") == [
        "it is switched on again: 5000.0 ms without service, more than 3000.0 ms",
        "it is switched on again: no proxy holds the address",
        'it is switched on again: 30 requests failed while the holder served ({"200": 70, "timeout": 30})',
        "it is switched on again: the restored proxy took the address back"]


# failover_fault_mark -----------------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "hosts", "end", "label"), [
    ("stop", ["app1"], 1700000030.0, "app1: app stopped (systemctl stop)"),
    ("power_off", ["app1"], 1700000030.0, "app1: VM switched off"),
    ("kill", ["app1"], 1700000000.25, "app1: app killed (kill -9)"),
    ("hang", ["app2"], 1700000010.5, "app2: hung (SIGSTOP)"),
    ("5xx", ["app1"], 1700000030.0, "app1: answers 503"),
    ("down", ["app1", "app2"], 1700000030.0, "app1, app2: app stopped (all of them)"),
])
def test_a_fault_is_a_band_from_when_it_was_in_place(fault, hosts, end, label):
    """A kill is a moment, a hang ends when it was undone, the others when the servers were put back (now)."""
    mark = filters.failover_fault_mark({"name": "x", "fault": fault, "hosts": hosts}, "1700000000.25", "1700000010.5",
                                       1700000030.0)
    assert mark == {"start": 1700000000.25, "kind": "fault", "end": end, "label": label}


def test_a_state_without_a_known_fault_has_no_band():
    for fault in ("none", "nginx_stop"):
        with pytest.raises(AnsibleFilterError, match=f"'{fault}' is not a fault"):
            filters.failover_fault_mark({"name": "x", "fault": fault, "hosts": []}, 1.0, None, 2.0)


@pytest.mark.parametrize("docker", [True, False])
def test_the_lab_switches_a_vm_off_only_where_ansible_has_the_docker_command(tmp_path, docker):
    """The lab's power commands run scripts/lab.sh, which needs docker: in the execution environment's
    container there is none, and the experiment leaves the VM state out instead of failing there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if docker:
        (bin_dir / "docker").write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / "docker").chmod(0o755)
    playbook = tmp_path / "states.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"{{ groups['app'] | proxylab.webstack.failover_states(hostvars, 10)"
        " | map(attribute='fault') | list | to_json }}\"\n")
    result = run([str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/lab", str(playbook)],
                 env={"PATH": str(bin_dir), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    faults = json.loads(json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"])
    assert ("power_off" in faults) is docker, faults
    assert "kill" in faults and "hang" in faults
