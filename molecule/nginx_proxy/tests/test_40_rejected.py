"""A configuration nginx rejects: the run fails with nginx's message, the old one keeps serving.

The role is applied again to the Debian 12 proxy with a backend name that does not resolve
(syntactically valid, so the preflight lets it through and nginx -t is what refuses it)."""

from collections import Counter

from conftest import APPS, converge, fetch, get_host, health_marks, set_apps
from helpers import wait_until

PROXY = "nginx-proxy-deb12"
UPSTREAM_CONF = "/etc/nginx/conf.d/nginx-proxy-upstream.conf"
RECORD = "/var/lib/nginx-proxy/converged.json"


def test_rejected_configuration_fails_the_run_and_the_old_one_keeps_serving():
    host = get_host(PROXY)
    # Every app server up and back in rotation, so the health checks change nothing during the test.
    set_apps(APPS)
    wait_until(lambda: not health_marks(PROXY), timeout=15)
    before = host.file(UPSTREAM_CONF).content_string
    master_before = host.check_output("cat /run/nginx.pid")
    result = converge({PROXY: {"nginx_proxy_backends": [{"host": "no-such-backend.invalid", "port": 3000}]}})[PROXY]
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nginx rejected the new configuration" in output, output[-3000:]
    assert 'host not found in upstream "no-such-backend.invalid:3000"' in output, output[-3000:]
    # The run stopped at the test of the staged configuration: nothing was installed or reloaded.
    assert "TASK [proxylab.webstack.nginx_proxy : Install the tested configuration]" not in output
    assert host.file(UPSTREAM_CONF).content_string == before
    assert "no-such-backend" not in host.check_output("nginx -T 2>/dev/null")
    assert host.check_output("cat /run/nginx.pid") == master_before
    # A run that stopped half-way leaves no record of a complete run, so the next run cannot take it
    # as current: it runs every step again.
    assert not host.file(RECORD).exists
    responses = fetch(host, 20)
    statuses = Counter(r.status for r in responses)
    print(f"\n{PROXY}: after the rejected run, 20 requests: statuses {dict(statuses)}, "
          f"backends {dict(Counter(r.backend for r in responses))}")
    assert statuses == Counter({200: 20})
    assert {r.backend for r in responses} == set(APPS)
