"""Unit tests of proxy_ha_problems, the check of the proxy_ha role's input."""

import sys

import pytest
import yaml

from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "plugins" / "filter"))
sys.path.insert(0, str(REPO_ROOT / "collections"))  # the filter imports the collection's plugin_utils

from proxy_ha import proxy_ha_problems  # noqa: E402

GOOD = {
    "host": "proxy1", "group": "proxy", "addresses": {"proxy1": "10.0.0.10", "proxy2": "10.0.0.11"},
    "vip": "10.0.0.200", "vip_prefix": 0, "interface": "eth0", "interface_address": "10.0.0.10",
    "interface_prefix": 24, "router_id": 51, "priority": 0, "advert_int": 0.5,
    "check_url": "http://127.0.0.1:8099/nginx-health", "check_interval": 1, "check_timeout": 1,
    "check_fall": 2, "check_rise": 2, "script_user": "keepalived_script",
}


def test_good_settings_have_no_problem():
    assert proxy_ha_problems(GOOD) == []
    assert proxy_ha_problems(dict(GOOD, advert_int="1", priority=254, router_id=255, vip_prefix=32)) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"vip": ""}, "proxy_ha_vip: '' is not an IPv4 address"),
    ({"vip": "10.0.0.300"}, "proxy_ha_vip: '10.0.0.300' is not an IPv4 address"),
    ({"vip": "fd00::1"}, "proxy_ha_vip: 'fd00::1' is not an IPv4 address"),
    ({"vip": "10.0.0.11"}, "proxy_ha_vip: 10.0.0.11 is the address of proxy2"),
    ({"vip": "10.0.1.200"}, "proxy_ha_vip: 10.0.1.200 is not a host address of 10.0.0.0/24"),
    ({"vip": "10.0.0.255"}, "proxy_ha_vip: 10.0.0.255 is not a host address of 10.0.0.0/24"),
    ({"vip": "127.0.0.2"}, "proxy_ha_vip: 127.0.0.2 is a loopback"),
    ({"addresses": {"proxy1": "10.0.0.10"}}, "proxy_ha_group: the group 'proxy' has 1 host(s)"),
    ({"addresses": {"proxy2": "10.0.0.11", "proxy3": "10.0.0.12"}}, "proxy_ha_group: proxy1 is not in the group 'proxy'"),
    ({"addresses": {"proxy1": "10.0.0.10", "proxy2": ""}}, "proxy_ha_address: the VRRP address of proxy2 is unknown"),
    ({"interface_address": ""}, "proxy_ha_interface: proxy1 has no interface 'eth0' with an IPv4 address"),
    ({"router_id": 0}, "proxy_ha_router_id: 0 must be a whole number from 1 to 255"),
    ({"router_id": 256}, "proxy_ha_router_id: 256 must be"),
    ({"priority": 255}, "proxy_ha_priority: 255 must be 0"),
    ({"priority": "high"}, "proxy_ha_priority: 'high' must be 0"),
    ({"vip_prefix": 33}, "proxy_ha_vip_prefix: 33 must be"),
    ({"advert_int": 0.005}, "proxy_ha_advert_int: 0.005 must be seconds from 0.01 to 40.95"),
    ({"advert_int": 0.125}, "proxy_ha_advert_int: 0.125 must be"),
    ({"advert_int": 41}, "proxy_ha_advert_int: 41 must be"),
    ({"check_interval": 0}, "proxy_ha_check_interval: 0 must be a whole number of at least 1"),
    ({"check_timeout": 0.5}, "proxy_ha_check_timeout: 0.5 must be"),
    ({"check_fall": 0}, "proxy_ha_check_fall: 0 must be"),
    ({"check_rise": None}, "proxy_ha_check_rise: None must be"),
    ({"check_url": "http://127.0.0.1/a b"}, "proxy_ha_check_url: 'http://127.0.0.1/a b' must be an http(s) URL"),
    ({"check_url": 'http://x/"; rm -rf /'}, "proxy_ha_check_url:"),
    ({"script_user": "root"}, "proxy_ha_script_user: 'root' must be the name of an unprivileged user"),
    ({"script_user": "Bad User"}, "proxy_ha_script_user: 'Bad User' must be"),
])
def test_each_problem_names_its_variable(change, problem):
    problems = proxy_ha_problems(dict(GOOD, **change))
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems


# The variable each setting comes from (host and addresses: the group and each proxy's address).
VARIABLES = {
    "host": "proxy_ha_group", "group": "proxy_ha_group", "addresses": "proxy_ha_address", "vip": "proxy_ha_vip",
    "vip_prefix": "proxy_ha_vip_prefix", "interface": "proxy_ha_interface", "interface_address": "proxy_ha_interface",
    "interface_prefix": "proxy_ha_interface", "router_id": "proxy_ha_router_id", "priority": "proxy_ha_priority",
    "advert_int": "proxy_ha_advert_int", "check_url": "proxy_ha_check_url", "check_interval": "proxy_ha_check_interval",
    "check_timeout": "proxy_ha_check_timeout", "check_fall": "proxy_ha_check_fall", "check_rise": "proxy_ha_check_rise",
    "script_user": "proxy_ha_script_user",
}


def test_every_setting_is_named_here():
    assert set(VARIABLES) == set(GOOD)


@pytest.mark.parametrize("key", sorted(GOOD))
@pytest.mark.parametrize("wrong", [["x"], {"x": 1}, True, float("nan")], ids=["list", "dict", "bool", "nan"])
def test_a_wrong_type_is_named_not_raised(key, wrong):
    problems = proxy_ha_problems(dict(GOOD, **{key: wrong}))
    assert any(problem.startswith(VARIABLES[key]) for problem in problems), problems


def test_settings_that_are_not_a_dict_are_a_problem():
    assert proxy_ha_problems("vip=10.0.0.200") == ["proxy_ha: the settings to check must be a dict, got 'vip=10.0.0.200'."]


def test_the_roles_defaults_with_a_floating_address_pass():
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "proxy_ha" / "defaults" / "main.yml").read_text())
    settings = dict(GOOD, **{key: defaults[f"proxy_ha_{key}"] for key in (
        "vip_prefix", "router_id", "priority", "advert_int", "check_interval", "check_timeout", "check_fall",
        "check_rise", "script_user")})
    assert proxy_ha_problems(settings) == []
