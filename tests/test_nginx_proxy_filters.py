"""The input and the upstream data of nginx_proxy (plugins/filter/nginx_proxy.py): checked once, in
one list of problems each naming its variable; the upstreams normalised once."""

import importlib.util
import sys

import pytest
import yaml

from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "collections"))  # the filter imports the collection's plugin_utils
_SPEC = importlib.util.spec_from_file_location("nginx_proxy_filters", REPO_ROOT / "plugins" / "filter" / "nginx_proxy.py")
filters = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(filters)

DEFAULTS = {"lb_method": "round_robin", "lb_hash_key": "", "max_fails": 1, "fail_timeout": "10s",
            "keepalive": 16, "keepalive_timeout": "4s", "keepalive_requests": 1000, "health_path": "/",
            "prefix": "nginx_proxy_", "group": "app", "single_site": False}
GROUP = [{"host": "10.0.0.2", "port": 3000, "inventory_host": "app1", "health_path": "/healthz"},
         {"host": "10.0.0.3", "port": 3100, "inventory_host": "app2", "health_path": "/"}]


def test_sites_without_their_own_servers_share_the_group_and_keep_their_method():
    sites = [{"domain": "shop.lab"}, {"domain": "lc.shop.lab", "lb_method": "least_conn"}]
    upstreams = filters.nginx_proxy_upstreams(sites, [], GROUP, DEFAULTS)
    assert [u["name"] for u in upstreams] == ["nginx_proxy_shop.lab", "nginx_proxy_lc.shop.lab"]
    assert [u["method"] for u in upstreams] == ["round_robin", "least_conn"]
    first = upstreams[0]["servers"][0]
    assert first == {"address": "10.0.0.2:3000", "host": "10.0.0.2", "port": 3000, "weight": 1, "max_fails": 1,
                     "fail_timeout": "10s", "backup": False, "down": False, "health_path": "/healthz",
                     "inventory_host": "app1", "where": "Backend app1 of nginx_proxy_backend_group (app)"}
    assert upstreams[1]["servers"][1]["address"] == "10.0.0.3:3100"
    assert filters.nginx_proxy_upstream_problems(upstreams) == []


def test_explicit_servers_replace_the_group_and_a_site_may_have_its_own():
    sites = [{"domain": "shop.lab"}, {"domain": "b.lab", "backends": [{"host": "b1", "port": 80, "max_fails": 0}]}]
    upstreams = filters.nginx_proxy_upstreams(sites, [{"host": "e1", "weight": 2}], GROUP, DEFAULTS)
    assert [s["address"] for s in upstreams[0]["servers"]] == ["e1:3000"]
    assert upstreams[0]["servers"][0]["weight"] == 2
    assert upstreams[1]["servers"][0]["max_fails"] == 0
    assert upstreams[1]["servers"][0]["where"] == "nginx_proxy_sites[1].backends[0] (b1:80)"


def test_every_problem_names_its_variable():
    sites = [{"domain": "a.lab", "lb_method": "ip_hash",
              "backends": [{"host": "bad host", "port": 0, "weight": 0, "fail_timeout": "1s;", "backup": True}]},
             {"domain": "b.lab", "backends": []},
             {"domain": "c.lab", "lb_method": "hash"}]
    problems = filters.nginx_proxy_upstream_problems(filters.nginx_proxy_upstreams(sites, [], GROUP, DEFAULTS))
    text = "\n".join(problems)
    assert "nginx_proxy_sites[0].backends[0] (bad host:0): the address 'bad host' is not" in text
    assert "it must be 1-65535" in text and "the weight must be at least 1" in text
    assert "fail_timeout '1s;' is not an nginx time" in text
    assert "backup is not allowed with the balancing method ip_hash (nginx_proxy_sites[0].lb_method)" in text
    assert "nginx_proxy_sites[1].backends: the upstream of b.lab has no server" in text
    assert "nginx_proxy_lb_hash_key must be set when the balancing method is hash" in text
    assert len(problems) == 7, problems


def test_bad_times_are_named():
    assert filters.nginx_proxy_bad_times({"a": "2s", "b": "500ms", "c": 30, "d": "2 s", "e": True, "f": "x"}) == [
        "d", "e", "f"]
    assert filters.nginx_proxy_bad_times({"read_timeout": "x", "domain": "y"}, ["read_timeout"]) == ["read_timeout"]


def test_the_group_servers_come_from_what_each_host_published_else_its_variables():
    hosts = [
        # node_app published its port and health path there; an address of its own for the proxy.
        {"inventory_hostname": "app1", "nginx_proxy_backend_address": "app1.lab", "node_app_port": 3100,
         "ansible_local": {"node_app": {"port": 3200, "health_path": "/healthz"}},
         "ansible_facts": {"default_ipv4": {"address": "10.0.0.2"}}},
        # Not deployed yet: its node_app_port and the proxy's health path, at its default address.
        {"inventory_hostname": "app2", "node_app_port": "3300", "ansible_local": {},
         "ansible_facts": {"default_ipv4": {"address": "10.0.0.3"}}},
        # Nothing known: no address (preflight names the host), the default port.
        {"inventory_hostname": "app3"},
    ]
    assert filters.nginx_proxy_group_backends(hosts, "/") == [
        {"host": "app1.lab", "port": 3200, "health_path": "/healthz", "inventory_host": "app1"},
        {"host": "10.0.0.3", "port": 3300, "health_path": "/", "inventory_host": "app2"},
        {"host": "", "port": 3000, "health_path": "/", "inventory_host": "app3"},
    ]
    assert filters.nginx_proxy_upstream_problems(filters.nginx_proxy_upstreams(
        [{"domain": "shop.lab"}], [], filters.nginx_proxy_group_backends(hosts[2:], "/"), DEFAULTS)) == [
        "Backend app3 of nginx_proxy_backend_group (app): the address '' is not an IPv4 address or RFC 1123 name "
        "(set nginx_proxy_backend_address on a host without a default IPv4 address)."]


# nginx_proxy_problems: the whole input, checked at once --------------------------------------------

ROLE = REPO_ROOT / "roles" / "nginx_proxy"
ROLE_DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
ARGUMENT_SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
# The role's defaults with one server in the backend group (tasks/upstreams.yml builds it).
VALID = {**ROLE_DEFAULTS, "group_backends": GROUP[:1]}


def problems_with(**changes):
    return filters.nginx_proxy_problems({**VALID, **changes})


def test_the_defaults_with_a_backend_group_are_valid():
    assert filters.nginx_proxy_problems(VALID) == []
    assert problems_with(group_backends=[], nginx_proxy_backends=[{"host": "10.0.0.5"}]) == []
    # Every site with servers of its own needs no group; an unquoted YAML off is "off".
    assert problems_with(group_backends=[], nginx_proxy_tls=False, nginx_proxy_sites=[
        {"domain": "a.lab", "aliases": ["www.a.lab"], "backends": [{"host": "10.0.0.5", "port": 80}]}]) == []


def test_what_the_role_coerces_may_come_as_a_string():
    assert problems_with(nginx_proxy_gzip_comp_level="5", nginx_proxy_health_check_interval="1.5",
                         nginx_proxy_health_checks="yes", nginx_proxy_quick_rerun="false", nginx_proxy_worker_processes=4,
                         nginx_proxy_read_timeout=30, nginx_proxy_backends=[{"host": "10.0.0.5", "port": "3000"}]) == []


@pytest.mark.parametrize(("changes", "problem"), [
    # Values a template, `when:` or `| length` reads as they are: a string would be wrong there.
    ({"nginx_proxy_worker_connections": "1024"}, 'nginx_proxy_worker_connections must be a whole number, got a string ("1024").'),
    ({"nginx_proxy_gzip": "no"}, 'nginx_proxy_gzip must be a boolean (true or false), got a string ("no").'),
    ({"nginx_proxy_access_log_buffer": 65536}, "nginx_proxy_access_log_buffer must be a string, got a number (65536)."),
    ({"nginx_proxy_backends": [{"host": "10.0.0.5", "backup": "no"}]},
     'nginx_proxy_backends[0].backup must be a boolean (true or false), got a string ("no").'),
    # What Ansible's argument check converts for itself and lets through.
    ({"nginx_proxy_domain_aliases": "www.dumbflix.lab,shop.lab"},
     'nginx_proxy_domain_aliases must be a list of strings, got a string ("www.dumbflix.lab,shop.lab").'),
    ({"nginx_proxy_sites": "dumbflix.lab"}, 'nginx_proxy_sites must be a list of dicts, got a string ("dumbflix.lab").'),
    ({"nginx_proxy_backends": ["10.0.0.5"]}, 'nginx_proxy_backends[0] must be a dict, got a string ("10.0.0.5").'),
    ({"nginx_proxy_sites": [{"aliases": ["a.lab"]}]}, "nginx_proxy_sites[0].domain must be set."),
    ({"nginx_proxy_tls": True}, "nginx_proxy_tls must be a string, got a boolean (true)."),
    ({"nginx_proxy_tls": "letsencrypt"}, 'nginx_proxy_tls must be one of off, self_signed, provided, got a string ("letsencrypt").'),
    ({"nginx_proxy_lb_method": "fastest"},
     'nginx_proxy_lb_method must be one of round_robin, least_conn, ip_hash, hash, random, got a string ("fastest").'),
])
def test_a_value_the_role_cannot_read_is_named_with_its_type(changes, problem):
    assert problems_with(**changes) == [problem]


RULES = [
    ({"nginx_proxy_domain": "bad domain"},
     'nginx_proxy_domain: "bad domain" is not a host name per RFC 1123 (letters, digits and hyphens, in dot-separated '
     "labels of at most 63 characters)."),
    ({"nginx_proxy_domain_aliases": ["www.dumbflix.lab", "-www.dumbflix.lab", "a_b.lab"]},
     'nginx_proxy_domain_aliases: "-www.dumbflix.lab", "a_b.lab" is not a host name per RFC 1123'),
    ({"nginx_proxy_sites": [{"domain": "a b"}]}, 'nginx_proxy_sites[0].domain: "a b" is not a host name'),
    ({"nginx_proxy_sites": [{"domain": "a.lab", "aliases": ["x.lab", "x..lab"]}]},
     'nginx_proxy_sites[0].aliases: "x..lab" is not a host name'),
    ({"nginx_proxy_domain_aliases": ["dumbflix.lab"]},
     "nginx_proxy_domain_aliases: a server name appears more than once: dumbflix.lab (each name belongs to one site)."),
    ({"nginx_proxy_sites": [{"domain": "a.lab"}, {"domain": "b.lab", "aliases": ["A.lab"]}]},
     "nginx_proxy_sites: a server name appears more than once: A.lab"),
    ({"group_backends": []},
     "nginx_proxy_backends: the upstream is empty: nginx_proxy_backends is empty and the group nginx_proxy_backend_group "
     "(app) has no hosts in the inventory."),
    ({"nginx_proxy_tls": "provided", "nginx_proxy_tls_key_src": "/etc/ssl/site.key"},
     "nginx_proxy_tls_cert_src must name the certificate file on the controller, as nginx_proxy_tls is provided."),
    ({"nginx_proxy_tls": "provided", "nginx_proxy_tls_cert_src": "/etc/ssl/site.crt"},
     "nginx_proxy_tls_key_src must name the private key file on the controller, as nginx_proxy_tls is provided."),
    ({"nginx_proxy_tls_self_signed_days": 825}, "nginx_proxy_tls_self_signed_days must be 2-365, got 825."),
    ({"nginx_proxy_tls_self_signed_days": 1}, "nginx_proxy_tls_self_signed_days must be 2-365, got 1."),
    ({"nginx_proxy_tls_self_signed_renew_days": 0},
     "nginx_proxy_tls_self_signed_renew_days must be 1 to less than nginx_proxy_tls_self_signed_days (365), got 0."),
    ({"nginx_proxy_tls_self_signed_days": 30}, "nginx_proxy_tls_self_signed_renew_days must be 1 to less than"),
    ({"nginx_proxy_tls": "self_signed", "nginx_proxy_tls_hsts": True},
     "nginx_proxy_tls_hsts cannot be on with nginx_proxy_tls: self_signed: browsers would refuse the site"),
    ({"nginx_proxy_tls_hsts_max_age": -1}, "nginx_proxy_tls_hsts_max_age must be 0 or more seconds, got -1."),
    ({"nginx_proxy_client_max_body_size": "1 m"},
     'nginx_proxy_client_max_body_size must be a size such as 1m or 512k, got "1 m".'),
    ({"nginx_proxy_trusted_proxies": ["10.0.0.0/24", "lb.example.com"]},
     'nginx_proxy_trusted_proxies[1] must be an address or CIDR range such as 10.0.0.0/24, got "lb.example.com".'),
    ({"nginx_proxy_http_extra_directives": ["limit_req_zone $binary_remote_addr zone=a:1m rate=1r/s"]},
     "nginx_proxy_http_extra_directives[0] must be one line ending with ; or }, got"),
    ({"nginx_proxy_server_extra_directives": ["client_body_timeout 10s;\n}\nserver {"]},
     'nginx_proxy_server_extra_directives[0] must be one line ending with ; or }, got "client_body_timeout 10s;\\n}\\nserver {".'),
    ({"nginx_proxy_location_extra_directives": ["expires 1h;\nadd_header X-A 1;"]},
     "nginx_proxy_location_extra_directives[0] must be one line ending with ; or }"),
    ({"nginx_proxy_server_extra_directives": ["add_header X-Frame-Options DENY always;"]},
     "nginx_proxy_server_extra_directives[0]: add_header and proxy_set_header belong in "
     "nginx_proxy_location_extra_directives, not nginx_proxy_server_extra_directives"),
    ({"nginx_proxy_next_upstream_tries": 0}, "nginx_proxy_next_upstream_tries must be at least 1, got 0."),
    ({"nginx_proxy_max_fails": -1}, "nginx_proxy_max_fails must be at least 0, got -1."),
    ({"nginx_proxy_upstream_keepalive": -1}, "nginx_proxy_upstream_keepalive must be at least 0, got -1."),
    ({"nginx_proxy_upstream_keepalive_requests": 0}, "nginx_proxy_upstream_keepalive_requests must be at least 1, got 0."),
    ({"nginx_proxy_worker_processes": "many"},
     'nginx_proxy_worker_processes must be auto or a number of at least 1, got "many".'),
    ({"nginx_proxy_worker_processes": 0}, 'nginx_proxy_worker_processes must be auto or a number of at least 1, got "0".'),
    ({"nginx_proxy_worker_connections": 0}, "nginx_proxy_worker_connections must be at least 1, got 0."),
    ({"nginx_proxy_gzip_comp_level": 0}, "nginx_proxy_gzip_comp_level must be 1 to 9, got 0."),
    ({"nginx_proxy_gzip_comp_level": 10}, "nginx_proxy_gzip_comp_level must be 1 to 9, got 10."),
    ({"nginx_proxy_gzip_types": ["text/css", "text/html; evil"]},
     'nginx_proxy_gzip_types[1] must be a MIME type such as text/css, got "text/html; evil".'),
    ({"nginx_proxy_access_log_buffer": "lots"}, 'nginx_proxy_access_log_buffer must be a size such as 64k, or empty, got "lots".'),
    ({"nginx_proxy_access_log_flush": "soon"}, 'nginx_proxy_access_log_flush must be an nginx time such as 1s, got "soon".'),
    ({"nginx_proxy_long_lived_paths": ["/ws", "sockjs"]},
     'nginx_proxy_long_lived_paths[1] must be a path starting with / (no spaces, ; or braces), got "sockjs".'),
    ({"nginx_proxy_sites": [{"domain": "a.lab", "long_lived_paths": ["/a b"]}]},
     'nginx_proxy_sites[0].long_lived_paths[0] must be a path starting with /'),
    ({"nginx_proxy_sites": [{"domain": "a.lab", "read_timeout": "2 s"}]},
     'nginx_proxy_sites[0].read_timeout must be an nginx time such as 2s or 500ms, got "2 s".'),
    ({"nginx_proxy_sites": [{"domain": "a.lab", "next_upstream_tries": 0}]},
     "nginx_proxy_sites[0].next_upstream_tries must be at least 1, got 0."),
    ({"nginx_proxy_asset_cache_max_size": "big"}, 'nginx_proxy_asset_cache_max_size must be a size such as 256m, got "big".'),
    ({"nginx_proxy_asset_cache_inactive": "a week"},
     'nginx_proxy_asset_cache_inactive must be an nginx time such as 7d, got "a week".'),
    ({"nginx_proxy_asset_cache_pattern": ""}, 'nginx_proxy_asset_cache_pattern must be one line of regular expression, got "".'),
    ({"nginx_proxy_asset_cache_pattern": "^/a\n|^/b"}, "nginx_proxy_asset_cache_pattern must be one line of regular expression"),
    ({"nginx_proxy_health_check_interval": 0}, "nginx_proxy_health_check_interval must be more than 0 seconds, got 0."),
    ({"nginx_proxy_health_check_timeout": 0}, "nginx_proxy_health_check_timeout must be more than 0 seconds, got 0."),
    ({"nginx_proxy_health_check_timeout": 2},
     "nginx_proxy_health_check_timeout must be no longer than the interval, nginx_proxy_health_check_interval (1), got 2."),
    ({"nginx_proxy_health_check_fall": 0}, "nginx_proxy_health_check_fall must be at least 1, got 0."),
    ({"nginx_proxy_health_check_rise": 0}, "nginx_proxy_health_check_rise must be at least 1, got 0."),
    ({"nginx_proxy_health_check_path": "healthz"},
     'nginx_proxy_health_check_path must be a path starting with / without spaces, got "healthz".'),
    ({"nginx_proxy_local_health_path": "/ok;"},
     'nginx_proxy_local_health_path must be a path starting with / without spaces, ; or braces, got "/ok;".'),
    ({"nginx_proxy_asset_max_age": 0}, "nginx_proxy_asset_max_age must be at least 1 second, got 0."),
    ({"nginx_proxy_asset_max_age": "a week"}, 'nginx_proxy_asset_max_age must be a whole number, got a string ("a week").'),
    # The normalised upstreams (nginx_proxy_upstream_problems).
    ({"nginx_proxy_lb_method": "hash"}, "nginx_proxy_lb_hash_key must be set when the balancing method is hash"),
    ({"nginx_proxy_backends": [{"host": "10.0.0.5", "port": 0}]},
     "nginx_proxy_backends[0] (10.0.0.5:0): the port (node_app_port for inventory hosts) is 0; it must be 1-65535."),
    ({"nginx_proxy_lb_method": "ip_hash", "nginx_proxy_backends": [{"host": "10.0.0.5"}, {"host": "10.0.0.6", "backup": True}]},
     "nginx_proxy_backends[1] (10.0.0.6:3000): backup is not allowed with the balancing method ip_hash (nginx_proxy_lb_method)."),
    ({"nginx_proxy_sites": [{"domain": "a.lab", "backends": []}]},
     "nginx_proxy_sites[0].backends: the upstream of a.lab has no server."),
]
# Each global time, with the message of its own.
RULES += [({name: "10s; evil"}, f'{name} must be an nginx time such as 2s or 500ms, got "10s; evil".')
          for name in filters._GLOBAL_TIMES]


@pytest.mark.parametrize(("changes", "problem"), RULES)
def test_each_rule_refuses_with_one_message_naming_the_variable(changes, problem):
    problems = problems_with(**changes)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems


def test_several_mistakes_are_all_named_at_once():
    """A value of the wrong type among them: the rules that do not read it still run."""
    problems = problems_with(
        nginx_proxy_domain="bad domain", nginx_proxy_gzip_comp_level=0, nginx_proxy_read_timeout="soon",
        nginx_proxy_trusted_proxies=["lb.example.com"], nginx_proxy_local_health_path="health",
        nginx_proxy_domain_aliases="www.dumbflix.lab", nginx_proxy_backends=[{"host": "bad host", "port": 3000}])
    assert [problem.split(" ", 1)[0].rstrip(":") for problem in problems] == [
        "nginx_proxy_domain_aliases", "nginx_proxy_domain", "nginx_proxy_trusted_proxies[0]", "nginx_proxy_read_timeout",
        "nginx_proxy_gzip_comp_level", "nginx_proxy_local_health_path", "nginx_proxy_backends[0]"], problems


def test_a_wrong_default_is_named_once_not_at_every_server_that_inherits_it():
    backends = [{"host": "10.0.0.5"}, {"host": "10.0.0.6"}]
    assert problems_with(nginx_proxy_fail_timeout="10 s", nginx_proxy_backends=backends) == [
        'nginx_proxy_fail_timeout must be an nginx time such as 2s or 500ms, got "10 s".']
    assert problems_with(nginx_proxy_health_check_path="x", nginx_proxy_max_fails=-1, nginx_proxy_backends=backends) == [
        "nginx_proxy_max_fails must be at least 0, got -1.",
        'nginx_proxy_health_check_path must be a path starting with / without spaces, got "x".']
    # A key shared by two sites: one message.
    assert problems_with(nginx_proxy_lb_method="hash", nginx_proxy_sites=[{"domain": "a.lab"}, {"domain": "b.lab"}]) == [
        'nginx_proxy_lb_hash_key must be set when the balancing method is hash (for example "$request_uri").']


def test_the_asset_cache_settings_wait_until_the_cache_is_on():
    assert problems_with(nginx_proxy_asset_cache=False, nginx_proxy_asset_cache_inactive="a week") == []


# Every input of the argument specs, with values of the wrong type (those Ansible's argument check
# converts for itself among them): each is named, nothing raises.
WRONG = {
    "str": [["a"], {"a": 1}, True],
    "path": [["a"], {"a": 1}, True],
    "int": ["abc", "3.5", 3.5, True, ["1"]],
    "float": ["fast", True, [1]],
    "bool": ["maybe", 2, ["true"]],
    "list": ["a,b", {"a": 1}, 5],
    "dict": ["a=1", ["a"], 5],
}


def inputs(options, prefix=""):
    """(path of the input, its spec) of every option and sub-option."""
    for name, spec in options.items():
        yield prefix + name, spec
        if spec.get("options"):
            yield from inputs(spec["options"], f"{prefix}{name}[0].")


def placed(path, value):
    """The changes that put value at path (a sub-option goes into an otherwise valid first item)."""
    name, _, rest = path.partition("[0].")
    if not rest:
        return {name: value}
    item = {"domain": "a.lab"} if name == "nginx_proxy_sites" else {"host": "10.0.0.5"}
    inner = placed(rest, value)
    return {name: [{**item, **inner}]}


@pytest.mark.parametrize(("path", "kind"), [(path, spec["type"]) for path, spec in inputs(ARGUMENT_SPECS)])
def test_every_input_of_the_wrong_type_is_named(path, kind):
    for wrong in WRONG[kind]:
        problems = problems_with(**placed(path, wrong))
        assert any(problem.startswith(f"{path} must be ") for problem in problems), (wrong, problems)


@pytest.mark.parametrize("path", [path for path, spec in inputs(ARGUMENT_SPECS) if spec.get("required")])
def test_a_required_sub_option_left_out_is_named(path):
    parent, _, key = path.rpartition(".")
    changes = placed(path, None)
    name = next(iter(changes))
    item = changes[name][0]
    if "." in parent:  # nginx_proxy_sites[0].backends[0]
        item["backends"][0].pop(key)
    else:
        item.pop(key)
    assert f"{path} must be set." in problems_with(**changes)


def test_null_and_settings_that_are_not_a_dict_are_named():
    assert problems_with(nginx_proxy_domain=None) == ["nginx_proxy_domain must be a string, got null."]
    assert filters.nginx_proxy_problems("nginx_proxy_domain=x") == [
        'The settings to check must be a dict, got a string ("nginx_proxy_domain=x").']


def spec_of(python):
    """A Python option as the argument specs would write it."""
    written = {"type": python["type"]}
    if python["elements"]:
        written["elements"] = python["elements"]
    if python["choices"]:
        written["choices"] = python["choices"]
    if python["required"]:
        written["required"] = True
    if python["options"]:
        written["options"] = {name: spec_of(sub) for name, sub in python["options"].items()}
    return written


def test_the_filter_reads_every_input_with_the_type_of_the_argument_specs():
    keys = ("type", "elements", "choices", "required", "options")

    def contract(options):
        return {name: {key: (contract(spec[key]) if key == "options" else spec[key]) for key in keys if key in spec}
                for name, spec in options.items()}

    assert {name: spec_of(spec) for name, spec in filters.OPTIONS.items()} == contract(ARGUMENT_SPECS)


def test_the_servers_are_checked_while_a_global_setting_has_the_wrong_type():
    problems = problems_with(nginx_proxy_max_fails="none", nginx_proxy_lb_method=["hash"], nginx_proxy_backend_group=["app"],
                             nginx_proxy_backends=[{"host": "10.0.0.5", "weight": 0}])
    assert problems == [
        'nginx_proxy_backend_group must be a string, got a list (["app"]).',
        'nginx_proxy_lb_method must be a string, got a list (["hash"]).',
        'nginx_proxy_max_fails must be a whole number, got a string ("none").',
        "nginx_proxy_backends[0] (10.0.0.5:3000): the weight must be at least 1."]


# nginx_proxy_listener_problems: after a reload, are nginx's ports nginx's own? ----------------------

SS_NGINX = """LISTEN 0 511 0.0.0.0:80 0.0.0.0:* ino:2718837 sk:1018 cgroup:/system.slice/nginx.service <->
LISTEN 0 511 [::]:80 [::]:* ino:2718838 sk:101a cgroup:/system.slice/nginx.service v6only:1 <->
LISTEN 0 128 0.0.0.0:22 0.0.0.0:* ino:2706954 sk:1019 cgroup:/system.slice/ssh.service <->
LISTEN 0 128 127.0.0.1:8443 0.0.0.0:* uid:1001 ino:2721511 sk:101c <->
"""


def test_ports_that_nginx_holds_are_no_problem():
    assert filters.nginx_proxy_listener_problems(SS_NGINX, [80]) == []


def test_a_port_another_user_holds_is_named_with_the_uid():
    squatted = SS_NGINX + "LISTEN 0 128 0.0.0.0:443 0.0.0.0:* uid:1001 ino:2 sk:2 <->\n"
    assert filters.nginx_proxy_listener_problems(squatted, [80, 443]) == [
        "port 443 is held by a process of uid 1001, not by nginx: nginx could not open it and keeps running its previous "
        "configuration. Stop that process and run the role again."]


def test_a_port_nobody_holds_is_named_and_8443_is_not_443():
    assert filters.nginx_proxy_listener_problems(SS_NGINX, [80, 443]) == [
        "nginx does not listen on port 443: it keeps running its previous configuration (see /var/log/nginx/error.log)."]
