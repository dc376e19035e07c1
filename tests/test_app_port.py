"""The app's port has one road to the proxy: node_app_port set as a role variable (as the node_app README
shows) reaches nginx through the facts node_app publishes, not only through the inventory. One throw-away
Debian 12 host runs both roles: the app in one play, the proxy in the next, which cannot see the first
play's role variables."""

from helpers import REPO_ROOT, ansible_playbook, docker_sh

PLAYBOOK = """\
- name: Deploy the app with its port set as a role variable
  hosts: all
  roles:
    - role: proxylab.webstack.node_app
      vars:
        node_app_port: 3100

- name: Put the proxy in front of it
  hosts: all
  roles:
    - role: proxylab.webstack.nginx_proxy
"""


def test_port_set_as_role_variable_answers_through_the_proxy(scratch_host, tmp_path):
    result = ansible_playbook(PLAYBOOK, scratch_host, {
        "node_app_src": str(REPO_ROOT / "tests/fixtures/hello-app"),
        # The proxy reaches the app at the host's own address; the firewall's proxy group is not in this inventory.
        "node_app_firewall": False,
        "nginx_proxy_backend_group": "all",
        "nginx_proxy_domain": "port.test",
    }, tmp_path=tmp_path, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    listening = docker_sh(scratch_host, "ss -Hltn").stdout
    assert ":3100 " in listening and ":3000 " not in listening, listening
    upstream = docker_sh(scratch_host, "cat /etc/nginx/conf.d/nginx-proxy-upstream.conf").stdout
    assert ":3100" in upstream and ":3000" not in upstream, upstream
    page = docker_sh(scratch_host, "curl -s --max-time 5 -H 'Host: port.test' http://127.0.0.1/").stdout
    assert '<span id="version">1.0.0</span>' in page, page
