#!/usr/bin/env python3
"""Write each role's variable table in its README.md from the role's meta/argument_specs.yml.

The specs are the one place a variable is described (ansible-doc -t role and the argument check
read them too); the table between the markers below is generated from them, never edited by hand.

  scripts/role-docs.py            # rewrite the tables (make docs)
  scripts/role-docs.py --check    # exit 1, naming each README that is out of date (make test)
  scripts/role-docs.py --roles-dir <dir> [--check]
"""

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

BEGIN = "<!-- BEGIN variables: generated from meta/argument_specs.yml by `make docs`; edit the specs, not this table -->"
END = "<!-- END variables -->"
# Ansible's documentation markup, read as ansible-doc reads it (no nesting).
MARKUP = [
    (re.compile(r"\b[CVOEM]\(([^)]*)\)"), r"`\1`"),
    (re.compile(r"\bI\(([^)]*)\)"), r"*\1*"),
    (re.compile(r"\bB\(([^)]*)\)"), r"**\1**"),
    (re.compile(r"\bU\(([^)]*)\)"), r"\1"),
    (re.compile(r"\bL\(([^,)]*),\s*([^)]*)\)"), r"[\1](\2)"),
]


def text(description):
    paragraphs = description if isinstance(description, list) else [description or ""]
    joined = " ".join(" ".join(str(p).split()) for p in paragraphs)
    for pattern, replacement in MARKUP:
        joined = pattern.sub(replacement, joined)
    return joined.replace("|", "\\|")


def shown(value):
    """A default as YAML writes it: true, [], {}, ""."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def kind(spec):
    if spec.get("type") == "list" and spec.get("elements"):
        return f"list of {spec['elements']}"
    return spec.get("type", "str")


def rows(options, prefix=""):
    for name, spec in options.items():
        default = f"`{shown(spec['default'])}`".replace("|", "\\|") if "default" in spec else (
            "required" if spec.get("required") else "")
        choices = f" Choices: {', '.join(f'`{shown(c)}`' for c in spec['choices'])}." if spec.get("choices") else ""
        yield f"| `{prefix}{name}` | {default} | {kind(spec)} | {text(spec.get('description'))}{choices} |"
        if spec.get("options"):
            item = "[]." if spec.get("type") == "list" else "."
            yield from rows(spec["options"], f"{prefix}{name}{item}")


def table(role_dir):
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    lines = [BEGIN, "", "| variable | default | type | meaning |", "| --- | --- | --- | --- |"]
    lines += rows(specs["main"]["options"])
    return "\n".join([*lines, "", END])


def render(readme, generated, name):
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        sys.exit(f"role-docs: {name} has no variable table markers ({BEGIN} ... {END})")
    return readme[:start] + generated + readme[end + len(END):]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report READMEs that are out of date")
    parser.add_argument("--roles-dir", type=Path, default=Path(__file__).resolve().parents[1] / "roles")
    args = parser.parse_args()
    stale = []
    for role_dir in sorted(p for p in args.roles_dir.iterdir() if (p / "meta" / "argument_specs.yml").is_file()):
        path = role_dir / "README.md"
        readme = path.read_text()
        wanted = render(readme, table(role_dir), path)
        if wanted != readme:
            stale.append(path)
            if not args.check:
                path.write_text(wanted)
    if args.check and stale:
        print("role-docs: out of date, run `make docs`: " + ", ".join(str(p) for p in stale), file=sys.stderr)
        return 1
    for path in stale:
        print(f"role-docs: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
