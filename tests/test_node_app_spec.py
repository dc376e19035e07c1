"""The node_app role's contract: argument specs, defaults and README agree."""

import re

import yaml

from helpers import REPO_ROOT

ROLE = REPO_ROOT / "roles" / "node_app"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
SPEC = SPECS["main"]["options"]


def test_every_default_has_a_spec_with_the_same_default():
    assert set(DEFAULTS) == set(SPEC)
    for name, value in DEFAULTS.items():
        assert SPEC[name]["default"] == value, name
        assert SPEC[name]["type"] and SPEC[name]["description"], name


def test_every_entry_point_has_the_same_options():
    assert set(SPECS) == {"main", "prepare", "activate", "rollback"}
    assert all(SPECS[entry]["options"] == SPEC for entry in ("prepare", "activate", "rollback"))
    for entry in SPECS:
        assert (ROLE / "tasks" / f"{entry}.yml").is_file(), entry
        assert SPECS[entry]["short_description"] and SPECS[entry]["description"], entry


def test_node_app_env_is_not_logged_by_the_argument_check():
    assert SPEC["node_app_env"]["no_log"] is True


def test_readme_lists_every_variable_with_its_default():
    readme = (ROLE / "README.md").read_text()
    for name, value in DEFAULTS.items():
        # As YAML writes it: true, [], {}, "".
        shown = str(value).lower() if isinstance(value, bool) else "{}" if value == {} else "[]" if value == [] \
            else '""' if value == "" else str(value)
        assert re.search(r"^\| `%s` \| `%s` \|" % (re.escape(name), re.escape(shown)), readme, re.M), name


def test_internal_variables_are_prefixed():
    internal = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert all(name.startswith("_node_app_") for name in internal)
    assert all(name.startswith("node_app_") for name in DEFAULTS)
