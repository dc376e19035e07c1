"""The roles read top to bottom: no include chain deeper than 3 files, no Jinja expression over 300
characters in tasks or vars, and node_app's steps are its task files, one to one, in the order they
run, as its README lists them."""

import re

import pytest
import yaml

from helpers import REPO_ROOT

ROLES = ("node_app", "nginx_proxy", "proxy_ha")
INCLUDES = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks")
# node_app's entry points: main runs prepare then activate; the steps are the other task files.
NODE_APP_ENTRY_POINTS = ("main", "prepare", "activate")
LONGEST_EXPRESSION = 300
DEEPEST_CHAIN = 3


def tasks(path):
    """Every task of a task file, blocks opened, in order."""
    found = []

    def walk(items):
        for item in items or []:
            found.append(item)
            for key in ("block", "rescue", "always"):
                walk(item.get(key))

    walk(yaml.safe_load(path.read_text()))
    return found


def included(path):
    """The task files a task file imports or includes, in order (names relative to tasks/)."""
    names = []
    for task in tasks(path):
        for key in INCLUDES:
            if key in task:
                value = task[key]
                names.append(value["file"] if isinstance(value, dict) else value)
    return names


def deepest(role, name="main.yml"):
    """The longest chain of task files from name, counting name itself."""
    path = REPO_ROOT / "roles" / role / "tasks" / name
    return 1 + max((deepest(role, child) for child in included(path)), default=0)


@pytest.mark.parametrize("role", ROLES)
def test_no_include_chain_is_deeper_than_three_files(role):
    entry_points = ["main.yml"] + [f"{name}.yml" for name in NODE_APP_ENTRY_POINTS[1:]] * (role == "node_app")
    for entry_point in entry_points:
        assert deepest(role, entry_point) <= DEEPEST_CHAIN, (role, entry_point)


def expressions(text):
    """Every {{ ... }} and {% ... %} in a text, its white space folded."""
    return [" ".join(found.split()) for found in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S)]


def strings(data):
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


@pytest.mark.parametrize("role", ROLES)
def test_no_jinja_expression_is_longer_than_300_characters(role):
    long = []
    for folder in ("tasks", "vars", "handlers"):
        for path in sorted((REPO_ROOT / "roles" / role / folder).glob("*.yml")):
            for text in strings(yaml.safe_load(path.read_text())):
                long += [(path.name, len(found), found[:80]) for found in expressions(text) if len(found) > LONGEST_EXPRESSION]
    assert long == []


def test_no_jinja_expression_in_the_playbooks_is_longer_than_300_characters():
    long = []
    for path in sorted((REPO_ROOT / "playbooks").rglob("*.yml")):
        for text in strings(yaml.safe_load(path.read_text())):
            long += [(path.name, len(found), found[:80]) for found in expressions(text) if len(found) > LONGEST_EXPRESSION]
    assert long == []


def node_app_steps_in_order():
    """The step files, in the order the entry points run them."""
    directory = REPO_ROOT / "roles" / "node_app" / "tasks"
    assert included(directory / "main.yml") == ["prepare.yml", "activate.yml"]
    return [name[:-4] for name in included(directory / "prepare.yml") + included(directory / "activate.yml")]


def test_node_app_imports_each_step_once_in_the_order_they_run():
    steps = node_app_steps_in_order()
    files = sorted(path.stem for path in (REPO_ROOT / "roles" / "node_app" / "tasks").glob("*.yml"))
    assert sorted(steps) == sorted(set(files) - set(NODE_APP_ENTRY_POINTS)), "a task file is not a step, or twice"
    assert len(steps) == len(set(steps))
    # The step files include nothing: the order is the one above.
    for step in steps:
        assert included(REPO_ROOT / "roles" / "node_app" / "tasks" / f"{step}.yml") == [], step


def test_node_app_readme_lists_the_steps_as_its_task_files():
    readme = (REPO_ROOT / "roles" / "node_app" / "README.md").read_text()
    section = readme.split("## Steps, in the order they run (`tasks/`)", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^(\d+)\. \*\*(\w+)\*\* \(`tasks/(\w+)\.yml`\)", section, re.M)
    assert [int(number) for number, _, _ in listed] == list(range(1, len(listed) + 1))
    assert all(name == stem for _, name, stem in listed), listed
    assert [stem for _, _, stem in listed] == node_app_steps_in_order()
    # Each step file opens with the step's number and name.
    for number, name, _ in listed:
        head = (REPO_ROOT / "roles" / "node_app" / "tasks" / f"{name}.yml").read_text().splitlines()[1]
        assert head.startswith(f"# Step {number}, {name}:"), (name, head)
