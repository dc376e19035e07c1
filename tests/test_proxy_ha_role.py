"""proxy_ha's documentation matches its contract: defaults, argument specs and README agree."""

import json
import re

import yaml

from helpers import REPO_ROOT

ROLE = REPO_ROOT / "roles" / "proxy_ha"


def load(path):
    return yaml.safe_load((ROLE / path).read_text())


def test_argument_spec_defaults_equal_defaults_main():
    defaults = load("defaults/main.yml")
    options = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(options) == set(defaults)
    for name, spec in options.items():
        assert spec.get("description"), name
        assert spec["type"], name
        assert spec.get("default") == defaults[name], name


def test_every_default_is_commented_and_prefixed():
    lines = (ROLE / "defaults" / "main.yml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert line.startswith("proxy_ha_"), line
            assert lines[number - 1].startswith("#"), f"{line} has no comment above it"


def test_readme_documents_every_variable_with_its_default():
    readme = (ROLE / "README.md").read_text()
    for name, value in load("defaults/main.yml").items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row, f"{name} missing from the README's variable table"
        if isinstance(value, list) and value:
            assert all(element in row.split("|")[2] for element in value), (name, row)
        else:
            shown = value if isinstance(value, str) and value else json.dumps(value)
            assert row.split("|")[2].strip() == f"`{shown}`", (name, shown, row)


def test_internal_variables_start_with_an_underscore():
    for path in ("vars/main.yml",):
        for name in load(path):
            assert name.startswith("_proxy_ha_"), (path, name)
