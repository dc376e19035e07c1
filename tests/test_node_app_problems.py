"""The checks of node_app's input (plugins/filter/node_app.py): node_app_problems for what the
variables and the controller say, node_app_host_problems for what the host says against them. Each
problem names its variable; nothing raises, whatever the types; node_app_env's values never show."""

import sys

import pytest
import yaml

from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "plugins" / "filter"))
sys.path.insert(0, str(REPO_ROOT / "collections"))  # the filter imports the collection's plugin_utils

import node_app as filters  # noqa: E402

ROLE = REPO_ROOT / "roles" / "node_app"
ARGUMENT_SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
CHECKSUMS = ROLE_VARS["_node_app_npm_checksums"]
# The role's defaults, with the templates among them rendered as the role renders them.
_DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VALID = {name: value.replace("{{ node_app_name }}", _DEFAULTS["node_app_name"])
         .replace("{{ node_app_npm_version }}", _DEFAULTS["node_app_npm_version"]) if isinstance(value, str) else value
         for name, value in _DEFAULTS.items()}
SECRET = "s3cr3t-value"


def problems_with(**changes):
    return filters.node_app_problems({**VALID, **changes}, CHECKSUMS)


def test_the_defaults_are_valid():
    assert "{{" not in VALID["node_app_dir"]
    assert filters.node_app_problems(VALID, CHECKSUMS) == []


def test_what_the_role_coerces_may_come_as_a_string(tmp_path):
    assert problems_with(node_app_port="8080", node_app_keep_releases="5", node_app_health_timeout="30",
                         node_app_firewall="no", node_app_quick_rerun="yes", node_app_mode="static",
                         node_app_instances="2", node_app_src=str(tmp_path)) == []


@pytest.mark.parametrize(("changes", "problem"), [
    ({"node_app_port": 70000}, "node_app_port must be a TCP port between 1 and 65535, got 70000"),
    ({"node_app_port": 0}, "node_app_port must be a TCP port between 1 and 65535, got 0"),
    ({"node_app_name": "../etc"}, "node_app_name must match ^[a-z0-9][a-z0-9_.-]*$ and must not be 'all' or a number"),
    ({"node_app_name": "all"},
     "node_app_name must match ^[a-z0-9][a-z0-9_.-]*$ and must not be 'all' or a number (PM2 reads those as every "
     "process or a process id), got 'all'"),
    ({"node_app_name": "42"}, "node_app_name must match"),
    ({"node_app_user": "root"},
     "node_app_user must be an unprivileged user name matching ^[a-z0-9][a-z0-9_.-]*$ and not root, got 'root'"),
    ({"node_app_user": "Deploy Bot"}, "node_app_user must be an unprivileged user name"),
    ({"node_app_mode": "dev"}, 'node_app_mode must be one of start, static, got a string ("dev").'),
    ({"node_app_instances": 2},
     "node_app_instances must be at least 1, and exactly 1 when node_app_mode is start (npm start runs one dev server on "
     "node_app_port); got 2 with node_app_mode start"),
    ({"node_app_instances": 0, "node_app_mode": "static"}, "node_app_instances must be at least 1"),
    ({"node_app_keep_releases": 1},
     "node_app_keep_releases must be at least 2 (the live release and the one before it, to roll back to), got 1"),
    ({"node_app_release": "v1"},
     "node_app_release must be empty, 'previous' or a release id of 12 hex digits (ansible_local.node_app.releases "
     "lists them), got 'v1'"),
    ({"node_app_env": {"PORT": "3"}},
     "node_app_env must not set PORT (the app's port is node_app_port, which the proxy uses too) and its names must "
     "match ^[A-Za-z_][A-Za-z0-9_]*$; got the names PORT"),
    ({"node_app_env": {"API-KEY": SECRET, "GOOD": "x"}}, "node_app_env must not set PORT"),
    ({"node_app_env": {"API_KEYS": [SECRET], "TOKEN": None, "GOOD": 1}},
     "node_app_env must map each name to a string or a number; the values of API_KEYS, TOKEN are not (values are not "
     "shown: they may be secrets)"),
    ({"node_app_dir": "/"}, "node_app_dir must be an absolute path of the app's own directory: not / nor a directory"),
    ({"node_app_dir": "/srv"}, "node_app_dir must be an absolute path of the app's own directory"),
    ({"node_app_dir": "srv/app"}, "node_app_dir must be an absolute path of the app's own directory"),
    ({"node_app_dir": "/usr/local"},
     "node_app_dir must be an absolute path of the app's own directory: not / nor a directory directly under / (such as "
     "/srv), and not a system directory or inside one (/bin, /boot, /dev, /etc, /lib, /lib32, /lib64, /libx32, /proc, "
     "/root, /run, /sbin, /sys, /tmp, /usr, /var/cache, /var/lib, /var/log, /var/mail, /var/run, /var/spool, /var/tmp); "
     "got '/usr/local'"),
    ({"node_app_dir": "/var/lib/../lib/dumbflix"}, "got '/var/lib/../lib/dumbflix'"),
    ({"node_app_firewall_allowed_sources": ["192.0.2.10", "monitor.lab", "10.0.0.0/33"]},
     "node_app_firewall_allowed_sources must list IPv4 or IPv6 addresses or networks (CIDR), got monitor.lab, 10.0.0.0/33"),
    ({"node_app_firewall_proxy_group": ""}, "node_app_firewall_proxy_group must name an inventory group, got ''"),
    ({"node_app_repo": ""}, "node_app_repo and node_app_version must be set when node_app_src is empty"),
    ({"node_app_version": ""}, "node_app_repo and node_app_version must be set when node_app_src is empty"),
    ({"node_app_health_path": "healthz"}, "node_app_health_path must start with / (got 'healthz')"),
    ({"node_app_health_timeout": 0}, "node_app_health_timeout must be at least 1 second (got 0)"),
    ({"node_app_npm_version": "11.6.2"},
     "node_app_npm_version must be a version such as 10.9.9 (got '11.6.2'), and node_app_npm_checksum the "
     "sha512:<128 hex digits> or sha256:<64 hex digits> of its tarball (got ''); the role knows the checksum of "
     "10.9.9 only"),
    ({"node_app_npm_version": "latest", "node_app_npm_checksum": "sha256:" + "a" * 64},
     "node_app_npm_version must be a version such as 10.9.9 (got 'latest')"),
    ({"node_app_npm_checksum": "md5:0123456789abcdef0123456789abcdef"}, "(got 'md5:0123456789abcdef0123456789abcdef')"),
    ({"node_app_src": "/nonexistent/app"},
     "node_app_src must be empty or an absolute directory on the controller, got '/nonexistent/app'"),
    ({"node_app_src": "tests"}, "node_app_src must be empty or an absolute directory on the controller, got 'tests'"),
    ({"node_app_src": str(REPO_ROOT / "README.md")}, "node_app_src must be empty or an absolute directory"),
])
def test_each_rule_refuses_with_one_message_naming_the_variable(changes, problem):
    problems = problems_with(**changes)
    assert len(problems) == 1, problems
    assert problem in problems[0], problems
    assert SECRET not in problems[0]


@pytest.mark.parametrize("changes", [
    {"node_app_release": "previous"}, {"node_app_release": "0123456789ab"},
    {"node_app_mode": "static", "node_app_instances": 4},
    {"node_app_npm_version": "11.6.2", "node_app_npm_checksum": "sha512:" + "0" * 128},
    {"node_app_npm_source": "distro", "node_app_npm_version": "latest"},
    {"node_app_src": str(REPO_ROOT / "tests" / "fixtures" / "hello-app"), "node_app_repo": "", "node_app_version": ""},
    {"node_app_env": {"REACT_APP_API_URL": "https://api.example.com", "WORKERS": 2, "DEBUG": False}},
    {"node_app_firewall_allowed_sources": ["192.0.2.10", "2001:db8::/64"]},
    {"node_app_dir": "/opt/apps/dumbflix"},
])
def test_valid_variations_pass(changes):
    assert problems_with(**changes) == []


def test_several_mistakes_are_all_named_at_once():
    problems = problems_with(node_app_port="http", node_app_env=f"PORT={SECRET}", node_app_name="all",
                             node_app_keep_releases=1, node_app_dir="/etc/app", node_app_firewall="maybe")
    assert [problem.split(" ", 1)[0] for problem in problems] == [
        "node_app_port", "node_app_env", "node_app_firewall", "node_app_name", "node_app_keep_releases", "node_app_dir"]
    assert not any(SECRET in problem for problem in problems)


# Every input of the argument specs, with values of the wrong type (those Ansible's argument check
# converts for itself among them: "a,b" for a list, "k=v" for a dict, "yes" for a bool).
WRONG = {
    "str": [["a"], {"a": 1}, True, 1.5],
    "path": [["/srv/a"], {"a": 1}, True],
    "int": ["abc", "3.5", 3.5, True, ["1"]],
    "bool": ["maybe", 2, ["true"], None],
    "list": ["a,b", {"a": 1}, 5],
    "dict": [f"PORT={SECRET}", [SECRET], 5, None],
}


@pytest.mark.parametrize(("name", "kind"), [(name, spec["type"]) for name, spec in ARGUMENT_SPECS.items()])
def test_every_input_of_the_wrong_type_is_named(name, kind):
    for wrong in WRONG[kind]:
        problems = problems_with(**{name: wrong})
        assert any(problem.startswith(f"{name} must be ") for problem in problems), (wrong, problems)
        assert not any(SECRET in problem for problem in problems), problems
        # The rules of the host wait for the input, and do not raise either.
        filters.node_app_host_problems(host(), {**VALID, name: wrong})


def test_a_variable_left_out_and_settings_that_are_not_a_dict_are_named():
    settings = dict(VALID)
    del settings["node_app_port"]
    assert filters.node_app_problems(settings, CHECKSUMS) == ["node_app_port must be a whole number, got null."]
    assert filters.node_app_problems(None, None) == ["The settings to check must be a dict, got null."]
    assert filters.node_app_host_problems(None, None) == [
        "node_app supports Debian (bookworm, trixie); this host is None"]


def test_the_filter_reads_every_input_with_the_type_of_the_argument_specs():
    def contract(options):
        return {name: {key: spec[key] for key in ("type", "elements", "choices") if key in spec}
                for name, spec in options.items()}

    python = {name: {key: spec[key] for key in ("type", "elements", "choices") if spec[key]}
              for name, spec in filters.OPTIONS.items()}
    assert python == contract(ARGUMENT_SPECS)
    assert filters.OPTIONS["node_app_env"]["secret"] and ARGUMENT_SPECS["node_app_env"]["no_log"]


def test_the_constants_are_those_the_role_used():
    assert filters.NAME_PATTERN == ROLE_VARS.get("_node_app_name_pattern", filters.NAME_PATTERN)
    assert filters.ENV_NAME_PATTERN == ROLE_VARS.get("_node_app_env_name_pattern", filters.ENV_NAME_PATTERN)
    assert list(filters.DIR_FORBIDDEN) == ROLE_VARS.get("_node_app_dir_forbidden", list(filters.DIR_FORBIDDEN))
    assert list(filters.ADMIN_GROUPS) == ROLE_VARS.get("_node_app_admin_groups", list(filters.ADMIN_GROUPS))


# node_app_host_problems -------------------------------------------------------------------------------

def path(name, exists=True, **details):
    described = {"path": name, "exists": exists}
    if exists:
        described.update({"isdir": True, "islnk": False, "uid": 0, "gid": 0, "pw_name": "root", "dev": 64, "mode": "0755",
                          "wgrp": False, "woth": False})
        described.update(details)
    return described


def host(**changes):
    """What node_app_host returns for /srv/dumbflix-frontend on a fresh Debian host, with state parsed."""
    found = {
        "paths": [path("/"), path("/srv"), path("/srv/dumbflix-frontend", exists=False)],
        "user": None, "groups": "", "sudo": {"rc": 1, "stdout": ""}, "user_marker": False, "old_facts": None,
        "releases": [], "os_family": "Debian", "distribution": "Debian", "state": {},
    }
    found.update(changes)
    return found


def account(uid, groups="", sudo_stdout="", sudo_rc=1, **changes):
    return host(user=["x", str(uid), str(uid), "", "/home/u", "/bin/sh"], groups=groups,
                sudo={"rc": sudo_rc, "stdout": sudo_stdout}, **changes)


SUDO_RULES = "User deploy may run the following commands on app1:\n    (ALL : ALL) NOPASSWD: ALL\n"
DIR_RULE = ("node_app_dir /srv/dumbflix-frontend must be a directory of its own (not a symbolic link, not a mount point, "
            "owned by root, or by node_app_user when an older node_app deployed it there) inside directories that only "
            "root can write to; on this host: ")
STATE = {"release": "bbbbbbbbbbbb", "previous_release": "aaaaaaaaaaaa",
         "releases": ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd"],
         "failed_releases": ["cccccccccccc"],
         "info": {"aaaaaaaaaaaa": {"prepared": True, "built": True}, "bbbbbbbbbbbb": {"prepared": True},
                  "cccccccccccc": {"prepared": True, "failure": "health gate: " + "no answer " * 40},
                  "dddddddddddd": {"prepared": True}}}
RELEASES = ("Releases on this host, oldest first: aaaaaaaaaaaa, bbbbbbbbbbbb, cccccccccccc, dddddddddddd; "
            "live: bbbbbbbbbbbb; failed: cccccccccccc.")


@pytest.mark.parametrize(("found", "changes"), [
    (host(), {}),
    (host(paths=[path("/"), path("/srv"), path("/srv/dumbflix-frontend")]), {}),
    # An older node_app deployed it as node_app_user; node_app made the account, or it is a person's.
    (account(998, paths=[path("/"), path("/srv"), path("/srv/dumbflix-frontend", uid=998)], user_marker=True), {}),
    (account(998, old_facts='{"user": "nodeapp"}'), {}),
    (account(1001, groups="nodeapp"), {}),
    (account(1001, sudo_rc=1, sudo_stdout="User nodeapp is not allowed to run sudo on app1."), {}),
    (host(state=STATE), {"node_app_release": "previous"}),
    (host(state=STATE), {"node_app_release": "aaaaaaaaaaaa", "node_app_mode": "static"}),
])
def test_a_host_that_fits_the_input_has_no_problem(found, changes):
    assert filters.node_app_host_problems(found, {**VALID, **changes}) == []


@pytest.mark.parametrize(("found", "changes", "problem"), [
    (host(os_family="RedHat", distribution="Rocky"), {}, "node_app supports Debian (bookworm, trixie); this host is Rocky"),
    (host(paths=[path("/"), path("/srv", uid=1000, pw_name="deploy", mode="0755"), path("/srv/dumbflix-frontend", False)]),
     {}, DIR_RULE + "/ root 0755, /srv deploy 0755"),
    (host(paths=[path("/"), path("/srv", wgrp=True, mode="0775"), path("/srv/dumbflix-frontend", False)]),
     {}, DIR_RULE + "/ root 0755, /srv root 0775"),
    (host(paths=[path("/"), path("/srv", woth=True, mode="1777"), path("/srv/dumbflix-frontend", False)]),
     {}, DIR_RULE + "/ root 0755, /srv root 1777"),
    (host(paths=[path("/"), path("/srv", isdir=False, mode="0644"), path("/srv/dumbflix-frontend", False)]),
     {}, DIR_RULE + "/ root 0755, /srv root 0644"),
    (host(paths=[path("/"), path("/srv"), path("/srv/dumbflix-frontend", islnk=True, isdir=False, mode="0777")]),
     {}, DIR_RULE + "/ root 0755, /srv root 0755, /srv/dumbflix-frontend root 0777"),
    (host(paths=[path("/"), path("/srv"), path("/srv/dumbflix-frontend", dev=65)]), {}, DIR_RULE),
    (host(paths=[path("/"), path("/srv"), path("/srv/dumbflix-frontend", uid=1000, pw_name="deploy")]), {}, DIR_RULE),
    (account(0, groups="root"), {"node_app_user": "toor"},
     "node_app_user 'toor' is an existing account that can act as root (uid 0, groups root): the app must run as an "
     "unprivileged user. Choose another node_app_user (node_app creates it)."),
    (account(1001, groups="sudoer sudo"), {"node_app_user": "sudoer"},
     "node_app_user 'sudoer' is an existing account that can act as root (uid 1001, groups sudoer sudo)"),
    # Groups that equal root without sudo: a container with the host's / mounted, the raw disks.
    (account(1001, groups="ops docker"), {"node_app_user": "ops"},
     "node_app_user 'ops' is an existing account that can act as root (uid 1001, groups ops docker)"),
    (account(1001, groups="ops lxd"), {"node_app_user": "ops"},
     "node_app_user 'ops' is an existing account that can act as root (uid 1001, groups ops lxd)"),
    (account(1001, groups="ops disk"), {"node_app_user": "ops"},
     "node_app_user 'ops' is an existing account that can act as root (uid 1001, groups ops disk)"),
    (account(1000, groups="deploy", sudo_rc=0, sudo_stdout=SUDO_RULES), {"node_app_user": "deploy"},
     "node_app_user 'deploy' is an existing account that can act as root (uid 1000, groups deploy, allowed commands by "
     "sudo)"),
    (account(33, groups="www-data"), {"node_app_user": "www-data"},
     "node_app_user 'www-data' is an existing system account (uid 33) that node_app did not create: the app would share "
     "it with another service. Choose another node_app_user (node_app creates it)."),
    (account(65534, groups="nogroup", old_facts='{"user": "nodeapp"}'), {"node_app_user": "nobody"},
     "node_app_user 'nobody' is an existing system account (uid 65534)"),
    (account(998, old_facts="not json"), {}, "node_app_user 'nodeapp' is an existing system account (uid 998)"),
    (host(), {"node_app_release": "previous"},
     "node_app_release 'previous' (release '') names no release: there is no earlier release on this host. Releases on "
     "this host, oldest first: none; live: none; failed: none."),
    (host(), {"node_app_release": "0123456789ab"},
     "node_app_release '0123456789ab' is not a release on this host. Releases on this host, oldest first: none"),
    (host(state=STATE), {"node_app_release": "eeeeeeeeeeee"},
     "node_app_release 'eeeeeeeeeeee' is not a release on this host. " + RELEASES),
    (host(state=STATE), {"node_app_release": "cccccccccccc"},
     "node_app_release 'cccccccccccc' is recorded as failed and cannot go live again (health gate: no answer no answer"),
    (host(state=STATE), {"node_app_release": "bbbbbbbbbbbb", "node_app_mode": "static"},
     "node_app_release 'bbbbbbbbbbbb' was not prepared for node_app_mode static; deploy its source instead. " + RELEASES),
    (host(state=dict(STATE, previous_release="cccccccccccc")), {"node_app_release": "previous"},
     "node_app_release 'previous' (release 'cccccccccccc') is recorded as failed"),
])
def test_each_rule_of_the_host_refuses_with_its_message(found, changes, problem):
    problems = filters.node_app_host_problems(found, {**VALID, **changes})
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems


def test_a_long_failure_is_cut_at_a_word():
    problem = filters.node_app_host_problems(host(state=STATE), {**VALID, "node_app_release": "cccccccccccc"})[0]
    failure = problem.split("again (", 1)[1].split(")", 1)[0]
    assert len(failure) <= 300 and failure.endswith("...")
    assert STATE["info"]["cccccccccccc"]["failure"].startswith(failure[:-3] + " ")
    assert problem.endswith(RELEASES)


@pytest.mark.parametrize("found", [
    None, {}, "host", host(paths="not a list"), host(paths=[None, 3]), host(user=["x"]), host(user="nodeapp"),
    host(groups=None, sudo=None, user=["x", "0"]), host(state=[]), host(state={"releases": "a", "info": []}),
    host(state={"releases": [None], "failed_releases": None, "info": {"a": None}, "previous_release": 5}),
])
def test_whatever_the_host_returned_nothing_raises(found):
    problems = filters.node_app_host_problems(found, {**VALID, "node_app_release": "previous"})
    assert isinstance(problems, list)
