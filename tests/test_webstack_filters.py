"""Filters of the collection's playbooks (plugins/filter/webstack.py): which app servers switch, and how
many at a time."""

import importlib.util

from helpers import REPO_ROOT

spec = importlib.util.spec_from_file_location("webstack_filters", REPO_ROOT / "plugins" / "filter" / "webstack.py")
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)


def planned(live):
    return {"_node_app_plan": {"live": live, "switch": True}, "node_app_activation_needed": True}


def test_a_first_deploy_switches_every_app_server_at_once():
    hostvars = {"app1": planned(""), "app2": planned("")}
    assert filters.webstack_switch_serial(["app1", "app2"], hostvars) == "100%"


def test_a_site_with_a_live_release_anywhere_switches_one_server_at_a_time():
    # A new server joins a site that serves: the others keep serving while it switches, one at a time.
    hostvars = {"app1": planned("a1b2c3d4e5f6"), "app2": planned(""), "app3": planned("")}
    assert filters.webstack_switch_serial(["app1", "app2", "app3"], hostvars) == 1


def test_a_host_without_a_plan_counts_as_live():
    assert filters.webstack_switch_serial(["app1", "app2"], {"app1": planned(""), "app2": {}}) == 1
    assert filters.webstack_switch_serial([], {}) == 1


def test_webstack_app_serial_wins_when_set():
    hostvars = {"app1": planned(""), "app2": planned("")}
    assert filters.webstack_switch_serial(["app1", "app2"], hostvars, 1) == 1
    assert filters.webstack_switch_serial(["app1", "app2"], {"app1": planned("x")}, "50%") == "50%"
    assert filters.webstack_switch_serial(["app1", "app2"], hostvars, "") == "100%"


def test_only_servers_whose_live_app_changes_switch():
    hostvars = {"app1": {"node_app_activation_needed": False}, "app2": {"node_app_activation_needed": True}, "app3": {}}
    assert filters.webstack_hosts_to_switch(["app1", "app2", "app3"], hostvars) == ["app2"]


def test_endpoints_come_from_published_facts_and_the_default_address():
    hosts = [
        {"inventory_hostname": "app1", "ansible_local": {"node_app": {"port": 3100, "health_path": "/index.html"}},
         "ansible_facts": {"default_ipv4": {"address": "10.0.0.11"}}},
        {"inventory_hostname": "app2", "nginx_proxy_backend_address": "192.0.2.2",
         "ansible_local": {"node_app": {"port": 3000}}},
        {"inventory_hostname": "app3", "ansible_facts": {"default_ipv4": {"address": "10.0.0.13"}}},
    ]
    assert filters.webstack_app_endpoints(hosts, "/") == ["app1=10.0.0.11:3100/index.html", "app2=192.0.2.2:3000/"]
