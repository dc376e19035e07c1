"""node_app_env may hold secrets: none of its values reaches a module argument that Ansible shows (-v)
or logs (the journal), not even as a digest, from which a short secret could be guessed offline.

The set-up's digest (node_app_host's converged.digest, a module argument) is rendered as the role
renders it, with two different secrets: it must not change. Every task whose module arguments read
node_app_env, directly or through the role's internal variables or the task's own vars, must be
no_log."""

import re

import yaml
from ansible.template import trust_as_template
from helpers import REPO_ROOT, install_collection_finder, role_variables

install_collection_finder()

ROLE = REPO_ROOT / "roles" / "node_app"
INTERNAL = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
# What a task may read node_app_env through.
ENV_CARRIERS = {"node_app_env", "_node_app_env", "_node_app_build_env"}


def setup_digest(secret):
    templar = role_variables("node_app", **{
        "role_path": str(ROLE), "inventory_hostname": "app1", "groups": {"proxy": []}, "hostvars": {},
        "node_app_env": {"API_TOKEN": secret}, "_node_app_node_version": "v18.20.4", "_node_app_home": "/home/nodeapp",
    })
    inputs = templar.template(trust_as_template("{{ _node_app_setup_inputs }}"))
    digest = templar.template(trust_as_template("{{ _node_app_setup_inputs | proxylab.webstack.converged_digest }}"))
    return inputs, digest


def test_the_set_up_digest_does_not_depend_on_node_app_env():
    inputs, digest = setup_digest("hunter2")
    other_inputs, other_digest = setup_digest("correct horse battery staple")
    assert "hunter2" not in repr(inputs)
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and digest == other_digest


def reads(text, seen=None):
    """Every node_app variable a text reads, through the role's internal variables too."""
    seen = set() if seen is None else seen
    for name in set(re.findall(r"\b_?node_app_[a-z0-9_]+", text)) - seen:
        seen.add(name)
        if name in INTERNAL:
            reads(yaml.safe_dump(INTERNAL[name]), seen)
    return seen


def tasks(items):
    for task in items or []:
        for key in ("block", "rescue", "always"):
            if key in task:
                yield from tasks(task[key])
        if not any(key in task for key in ("block", "rescue", "always")):
            yield task


# Keys of a task that are not what its module receives.
NOT_ARGUMENTS = {"name", "when", "tags", "register", "loop_control", "become", "become_user", "changed_when",
                 "failed_when", "check_mode", "diff", "no_log", "notify", "listen", "until", "retries", "delay"}


def unguarded(task_list):
    """The names of the tasks whose module arguments read node_app_env and that are not no_log."""
    found = []
    for task in tasks(task_list):
        arguments = {key: value for key, value in task.items() if key not in NOT_ARGUMENTS}
        if reads(yaml.safe_dump(arguments)) & ENV_CARRIERS and task.get("no_log") is not True:
            found.append(task["name"])
    return found


def test_a_task_that_passes_the_environment_to_a_module_is_found():
    task_list = [{"name": "Outer", "block": [
        {"name": "Through vars", "ansible.builtin.copy": {"content": "{{ env_text }}", "dest": "/x"},
         "vars": {"env_text": "{{ _node_app_build_env | to_json }}"}},
        {"name": "Guarded", "ansible.builtin.copy": {"content": "{{ node_app_env }}", "dest": "/y"}, "no_log": True},
        {"name": "Through an internal variable", "ansible.builtin.debug": {"msg": "{{ _node_app_env }}"}},
        {"name": "Unrelated", "ansible.builtin.debug": {"msg": "{{ node_app_port }}"}},
    ]}]
    assert unguarded(task_list) == ["Through vars", "Through an internal variable"]


def test_every_task_whose_arguments_read_node_app_env_is_no_log():
    found = {path.name: unguarded(yaml.safe_load(path.read_text())) for path in sorted((ROLE / "tasks").glob("*.yml"))}
    assert {name: tasks_found for name, tasks_found in found.items() if tasks_found} == {}
