"""node_app with a git repository the host cannot reach: a clear failure that suggests node_app_src."""

from helpers import ansible_playbook, run

PLAYBOOK = """\
- name: Run node_app
  hosts: all
  roles:
    - role: proxylab.webstack.node_app
"""

# Nothing listens on port 9 of the host: the clone fails at once, as a blocked GitHub does.
UNREACHABLE = "http://127.0.0.1:9/dumbwaysdev/dumbflix-frontend.git"


def test_unreachable_repository_fails_naming_the_url_and_node_app_src(scratch_host, tmp_path):
    result = ansible_playbook(PLAYBOOK, scratch_host, {"node_app_repo": UNREACHABLE}, tmp_path=tmp_path, timeout=600)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert f"Could not fetch master of node_app_repo {UNREACHABLE} into /srv/dumbflix-frontend" in output, output
    assert "setting node_app_src to a local directory" in output, output
    # Nothing was deployed or started.
    state = run(
        ["docker", "exec", scratch_host, "sh", "-c",
         "ls -A /srv/dumbflix-frontend; ls /etc/systemd/system/pm2-nodeapp.service 2>&1"],
        check=False,
    ).stdout
    assert state.strip() == "ls: cannot access '/etc/systemd/system/pm2-nodeapp.service': No such file or directory"
