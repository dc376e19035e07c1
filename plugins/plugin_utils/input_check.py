# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""The type check each role's problem filter starts with (nginx_proxy_problems, node_app_problems).

A role's meta/argument_specs.yml converts a value for its own check and leaves the variable as it
was: "PORT=3" passes as a dict, "a,b" as a list, "3000" as an int, and the role then reads the
string. The filters check every variable again with `check_types`, which never raises whatever the
value, names the variable in each message, and returns the values as the role reads them, so that
the rules of each role work on values of the right type only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

# What the ansible.builtin.bool filter reads as true or false.
_TRUE = ("y", "yes", "on", "1", "true", "t")
_FALSE = ("n", "no", "off", "0", "false", "f")
_WHOLE = re.compile(r"^-?[0-9]+$")
_DECIMAL = re.compile(r"^-?([0-9]+([.][0-9]*)?|[.][0-9]+)$")
_NAMES = {"str": "a string", "path": "a string", "int": "a whole number", "float": "a number",
          "bool": "a boolean (true or false)", "list": "a list", "dict": "a dict"}
_PLURALS = {"str": "strings", "path": "strings", "int": "whole numbers", "float": "numbers",
            "bool": "booleans", "list": "lists", "dict": "dicts"}


def option(kind, elements=None, options=None, choices=None, required=False, lenient=False, secret=False):
    """One variable (or sub-option) as the role reads it.

    kind and elements are the types of meta/argument_specs.yml; options the sub-options of dict
    elements; lenient: the role reads what YAML or the command line may give instead (an int written
    as digits, a boolean as 'yes' or 'false', a number for a string that a template renders the same);
    secret: the value never appears in a message.
    """
    return {"type": kind, "elements": elements, "options": options, "choices": choices, "required": required,
            "lenient": lenient, "secret": secret}


def show(value, limit=120):
    """A value as a message shows it: JSON (strings in double quotes), shortened when long."""
    try:
        text = json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe(value, secret=False):
    """What a value is, for "<variable> must be ..., got <this>"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, (int, float)):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, Mapping):
        kind = "a dict"
    elif isinstance(value, (list, tuple)):
        kind = "a list"
    else:
        return f"a value of type {type(value).__name__}"
    return kind if secret else f"{kind} ({show(value)})"


def boolean(value):
    """True or False for a boolean or what the bool filter reads as one; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    return None


def number(value):
    """A finite int or float from a number or a decimal string; None for anything else (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        parsed = float(value)
        return int(parsed) if _WHOLE.match(value.strip()) else parsed
    return None


def _scalar(value, spec):
    """(True, value as the role reads it) or (False, None)."""
    kind, lenient = spec["type"], spec["lenient"]
    if kind in ("str", "path"):
        if isinstance(value, str):
            return True, value
        if lenient and isinstance(value, int) and not isinstance(value, bool):
            return True, str(value)
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if lenient and isinstance(value, str) and _WHOLE.match(value):
            return True, int(value)
    elif kind == "float":
        parsed = number(value) if lenient or not isinstance(value, str) else None
        if parsed is not None:
            return True, parsed
    elif kind == "bool":
        parsed = boolean(value) if lenient else (value if isinstance(value, bool) else None)
        if parsed is not None:
            return True, parsed
    elif kind == "dict":
        if isinstance(value, Mapping):
            return True, dict(value)
    return False, None


def _expected(spec):
    kind = spec["type"]
    if kind == "list" and spec["elements"]:
        return f"a list of {_PLURALS[spec['elements']]}"
    return _NAMES.get(kind, f"a {kind}")


def check(name, value, spec, problems):
    """Append to problems what is wrong with the type of one value; return (clean, value as read)."""
    if spec["type"] == "list":
        if not isinstance(value, (list, tuple)):
            problems.append(f"{name} must be {_expected(spec)}, got {describe(value, spec['secret'])}.")
            return False, None
        clean, items = True, []
        element = dict(spec, type=spec["elements"] or "raw", elements=None)
        for index, item in enumerate(value):
            item_clean, item_value = check(f"{name}[{index}]", item, element, problems)
            clean = clean and item_clean
            items.append(item_value)
        return clean, items
    if spec["type"] == "raw":
        return True, value
    ok, read = _scalar(value, spec)
    if not ok:
        problems.append(f"{name} must be {_expected(spec)}, got {describe(value, spec['secret'])}.")
        return False, None
    if spec["choices"] and read not in spec["choices"]:
        problems.append(f"{name} must be one of {', '.join(map(str, spec['choices']))}, "
                        f"got {describe(value, spec['secret'])}.")
        return False, None
    if spec["options"]:
        clean, fields = True, {}
        for key, sub in spec["options"].items():
            if key not in read:
                if sub["required"]:
                    problems.append(f"{name}.{key} must be set.")
                    clean = False
                continue
            sub_clean, sub_value = check(f"{name}.{key}", read[key], sub, problems)
            clean = clean and sub_clean
            fields[key] = sub_value
        # Keys the role does not know are the argument specs' to refuse; keep them as they are.
        fields.update((key, item) for key, item in read.items() if key not in spec["options"])
        return clean, fields
    return True, read


def check_types(settings, options):
    """(problems, typed): a message for each variable of options whose value in settings is not of
    its type (a missing one counts as null), and the values as the role reads them of those that are,
    by name (a variable with any problem is left out, so that no rule has to look at it again)."""
    problems, typed = [], {}
    if not isinstance(settings, Mapping):
        return [f"The settings to check must be a dict, got {describe(settings)}."], typed
    for name, spec in options.items():
        clean, value = check(name, settings.get(name), spec, problems)
        if clean:
            typed[name] = value
    return problems, typed
