"""The documentation of nginx_proxy and proxy_ha matches their contract: defaults, argument specs and
README agree, and their internal variables are marked as such."""

import json
import re

import pytest
import yaml

from helpers import REPO_ROOT

ROLES = ("nginx_proxy", "proxy_ha")


def load(role, path):
    return yaml.safe_load((REPO_ROOT / "roles" / role / path).read_text())


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_equal_defaults_main(role):
    defaults = load(role, "defaults/main.yml")
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(options) == set(defaults)
    for name, spec in options.items():
        assert spec.get("description"), name
        assert spec["type"], name
        assert spec.get("default") == defaults[name], name


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_commented_and_prefixed(role):
    lines = (REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert line.startswith(f"{role}_"), line
            assert lines[number - 1].startswith("#"), f"{line} has no comment above it"


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_variable_with_its_default(role):
    readme = (REPO_ROOT / "roles" / role / "README.md").read_text()
    for name, value in load(role, "defaults/main.yml").items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row, f"{name} missing from the README's variable table"
        if isinstance(value, list) and value:
            assert all(element in row.split("|")[2] for element in value), (name, row)
        else:
            shown = value if isinstance(value, str) and value else json.dumps(value)
            assert row.split("|")[2].strip() == f"`{shown}`", (name, shown, row)


@pytest.mark.parametrize("role", ROLES)
def test_internal_variables_start_with_an_underscore(role):
    var_files = sorted((REPO_ROOT / "roles" / role / "vars").glob("*.yml"))
    assert var_files
    for path in var_files:
        for name in yaml.safe_load(path.read_text()):
            assert name.startswith(f"_{role}_"), (path.name, name)
