"""Bad input to node_app fails before any change, with a message naming the variable."""

import re

import pytest

from conftest import ansible_playbook, run

PLAYBOOK = """\
- name: Run node_app
  hosts: all
  roles:
    - role: proxylab.webstack.node_app
"""

BAD_INPUT = [
    # (extra vars, what the failure message must say)
    ({"node_app_port": 70000}, "node_app_port must be a TCP port between 1 and 65535, got 70000"),
    ({"node_app_port": 0}, "node_app_port must be a TCP port between 1 and 65535, got 0"),
    # Choices and types are checked by meta/argument_specs.yml, before the first task.
    ({"node_app_mode": "dev"}, "value of node_app_mode must be one of: start, static, got: dev"),
    ({"node_app_port": "http"}, "node_app_port"),
    ({"node_app_user": "root"}, "node_app_user must be an unprivileged user name matching ^[a-z0-9][a-z0-9_.-]*$ and not root, got 'root'"),
    ({"node_app_user": "Deploy Bot"}, "node_app_user must be an unprivileged user name"),
    ({"node_app_name": "../etc"}, "node_app_name must match ^[a-z0-9][a-z0-9_.-]*$, got '../etc'"),
    ({"node_app_instances": 2}, "node_app_instances must be at least 1, and exactly 1 when node_app_mode is start"),
    ({"node_app_dir": "/"}, "node_app_dir must be an absolute path of the app's own directory, got '/'"),
    ({"node_app_src": "/nonexistent/app"}, "node_app_src must be empty or an absolute directory on the controller"),
]


def host_state(host):
    """What the role would change: packages, users, directories, systemd units, global npm modules."""
    script = (
        "dpkg-query -W -f '${Package} ${Status}\\n' nodejs npm git acl 2>&1;"
        "getent passwd nodeapp || echo no-user;"
        "ls -d /srv/* /home/* /usr/local/lib/node_modules/* /etc/systemd/system/pm2-* 2>&1;"
        "ls -A /root"
    )
    return run(["docker", "exec", host, "sh", "-c", script], check=False).stdout


@pytest.fixture(scope="module")
def pristine(scratch_host):
    state = host_state(scratch_host)
    # The base image has none of what node_app installs: the comparison below can see a change.
    assert "no-user" in state and "/usr/local/lib/node_modules/*" in state
    assert not re.search(r"^nodejs install ok installed", state, re.M)
    return state


@pytest.mark.parametrize("extra_vars, message", BAD_INPUT, ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_bad_input_fails_with_its_message_and_changes_nothing(scratch_host, pristine, tmp_path, extra_vars, message):
    result = ansible_playbook(PLAYBOOK, scratch_host, extra_vars, tmp_path=tmp_path)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert message in output, output
    assert re.search(r"changed=0 .*failed=1", output), output
    assert host_state(scratch_host) == pristine
