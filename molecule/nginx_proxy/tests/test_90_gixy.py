"""gixy-ng, an outside nginx analyzer, finds nothing in each proxy's whole running configuration
(`nginx -T`: the role's files and the distribution's own). `make lint` runs it on the same scenario
rendered without containers (scripts/nginx-gixy.py); this is the configuration nginx really loaded."""

import json
import subprocess

from helpers import tool

testinfra_hosts = ["ansible://proxy"]


def test_gixy_finds_nothing_in_the_whole_running_configuration(host, tmp_path):
    dump = tmp_path / "nginx-T.conf"
    dump.write_text(host.check_output("nginx -T 2>/dev/null"))
    facts = json.loads(host.file("/etc/ansible/facts.d/nginx_proxy.fact").content_string)
    # HSTS is refused with a self-signed certificate (nginx_proxy_tls_hsts is false by choice there).
    skips = ["--skips", "hsts_header"] if facts["tls"] == "self_signed" else []
    result = subprocess.run([tool("gixy"), "--format", "json", *skips, str(dump)], capture_output=True, text=True,
                            check=False, timeout=300)
    assert json.loads(result.stdout or "null") == [], result.stdout + result.stderr
