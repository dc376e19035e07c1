"""The attacks of issue 27 on a proxy, performed against a throw-away Debian 12 container with the
nginx_proxy role applied in front of two stub app servers on the same host (127.0.0.1:3000 and :3001):
by an unprivileged local user (mallory), by the health checker's user, by a compromised app server
and by a remote client. Each test performs the attack and checks that it fails.

The stub app servers answer any /static/ path with a small script naming the server and the path,
followed by what /var/lib/stub/<port>.poison holds (what a compromised server adds to its assets)."""

import json
import re
import shlex
import subprocess
import time
import uuid
from functools import partial

import pytest

from helpers import REPO_ROOT, ansible_playbook, docker_sh, recap, tool, wait_until

PLAYBOOK = """
- name: Apply nginx_proxy
  hosts: all
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: proxylab.webstack.nginx_proxy
"""
# proxy_ha's track script, rendered as the role renders it, with the local facts nginx_proxy left.
TRACK_SCRIPT_PLAYBOOK = f"""
- name: Write proxy_ha's track script
  hosts: all
  vars_files:
    - {REPO_ROOT}/roles/proxy_ha/defaults/main.yml
    - {REPO_ROOT}/roles/proxy_ha/vars/main.yml
  tasks:
    - name: Write the track script
      ansible.builtin.template:
        src: {REPO_ROOT}/roles/proxy_ha/templates/nginx-answers.sh.j2
        dest: /usr/local/sbin/nginx-answers
        owner: root
        group: root
        mode: "0755"
"""
STUB = r'''
import http.server, sys
PORT = int(sys.argv[1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/static/"):
            try:
                poison = open(f"/var/lib/stub/{PORT}.poison").read()
            except OSError:
                poison = ""
            body, kind = f"/* stub {PORT} {self.path} */{poison}\n".encode(), "application/javascript"
        elif self.path == "/":
            body, kind = f"stub {PORT}\n".encode(), "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
'''
BACKENDS = [{"host": "127.0.0.1", "port": 3000}, {"host": "127.0.0.1", "port": 3001}]
DOMAIN = "dumbflix.lab"
ROTATION = "/usr/local/sbin/nginx-proxy-rotation"
ASSETS = "/usr/local/sbin/nginx-proxy-assets"
MARKS = "/var/lib/nginx-proxy-rotation/out/health"

sh = partial(docker_sh, timeout=600)


def as_user(host, user, script, **kwargs):
    return sh(host, f"runuser -u {user} -- sh -c {shlex.quote(script)}", **kwargs)


def apply_role(host, tmp_path, **extra):
    return ansible_playbook(PLAYBOOK, host, {"nginx_proxy_backends": BACKENDS, "nginx_proxy_debug_headers": True,
                                             **extra}, tmp_path=tmp_path, timeout=900)


def get(host, path="/", headers=(), scheme="http", curl_args=""):
    """(status, headers, body) of one request through the proxy, from inside the host."""
    args = " ".join(f"-H {shlex.quote(h)}" for h in headers) + " " + curl_args
    out = sh(host, f"curl -sk -i --max-time 10 --resolve {DOMAIN}:443:127.0.0.1 {args} "
                   f"{scheme}://{DOMAIN if scheme == 'https' else '127.0.0.1'}{path} "
                   f"{'' if scheme == 'https' else '-H ' + shlex.quote('Host: ' + DOMAIN)}", check=False).stdout
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    status = int(re.match(r"HTTP/\S+ (\d+)", head).group(1)) if head.startswith("HTTP/") else 0
    found = dict(line.split(": ", 1) for line in head.split("\n")[1:] if ": " in line)
    return status, {k.lower(): v for k, v in found.items()}, body


@pytest.fixture(scope="module")
def proxy(scratch_host, tmp_path_factory):
    """The role applied once over HTTP, two stub app servers, and the unprivileged local user mallory."""
    sh(scratch_host, f"mkdir -p /var/lib/stub && cat > /usr/local/bin/stub.py <<'EOF'\n{STUB}\nEOF\n"
                     "for port in 3000 3001; do systemd-run --unit stub-$port python3 /usr/local/bin/stub.py $port; done"
                     " && useradd --create-home mallory")
    result = apply_role(scratch_host, tmp_path_factory.mktemp("play"))
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    wait_until(lambda: get(scratch_host)[0] == 200, timeout=30, interval=0.5)
    return scratch_host


@pytest.fixture
def checker_stopped(proxy):
    """The health checker off, so that only the test writes health marks; the marks cleared after."""
    sh(proxy, "systemctl stop nginx-proxy-health")
    yield
    sh(proxy, f"rm -f {MARKS}/* && {ROTATION} apply && systemctl start nginx-proxy-health")


# Local users and the rotation lock (point 3) --------------------------------------------------------

def test_a_local_user_cannot_hold_the_rotation_lock(proxy):
    sh(proxy, f"{ROTATION} apply")  # the lock exists
    # 0.2.0's lock was /run/nginx-proxy-rotation.lock, mode 0644: flock works on a read-only descriptor.
    attack = as_user(proxy, "mallory", "for lock in /run/nginx-proxy-rotation.lock /run/nginx-proxy-rotation/lock; do "
                                       "(flock -s $lock sleep 60 </dev/null >/dev/null 2>&1 &) ; done; sleep 1; "
                                       "ls -la /run/nginx-proxy-rotation/ 2>&1", check=False)
    try:
        started = time.monotonic()
        moved = sh(proxy, f"timeout 20 {ROTATION} out 127.0.0.1:3001 --reason manual && timeout 20 {ROTATION} in "
                          "127.0.0.1:3001 --reason manual", check=False)
        assert moved.returncode == 0, moved.stderr
        assert time.monotonic() - started < 10
        assert "Permission denied" in attack.stdout + attack.stderr
    finally:
        sh(proxy, "pkill -u mallory flock || true")


def test_a_wait_for_the_lock_is_bounded_with_a_clear_error(proxy):
    sh(proxy, "(flock /run/nginx-proxy-rotation/lock sleep 15 </dev/null >/dev/null 2>&1 &); sleep 0.5")
    started = time.monotonic()
    blocked = sh(proxy, f"timeout 20 {ROTATION} out 127.0.0.1:3001 --reason manual --lock-timeout 2", check=False)
    assert blocked.returncode == 1, blocked.stderr
    assert re.search(r"has held /run/nginx-proxy-rotation/lock for more than 2 s; nothing was changed", blocked.stderr)
    assert time.monotonic() - started < 8
    sh(proxy, "pkill -x flock || true")


# The health checker's user (point 5) ----------------------------------------------------------------

def test_the_checker_s_user_cannot_take_every_server_out(proxy, checker_stopped):
    attack = as_user(proxy, "nginx-proxy-health", f"touch {MARKS}/127.0.0.1:3000 {MARKS}/127.0.0.1:3001 && "
                                                  f"sudo -n {ROTATION} apply", check=False)
    assert attack.returncode == 3, attack.stderr
    assert "health marks would leave nginx_proxy_dumbflix.lab with no server in rotation" in attack.stderr
    time.sleep(1)
    assert [get(proxy)[0] for _ in range(4)] == [200] * 4


def test_the_checker_s_user_cannot_reload_nginx_in_a_loop(proxy, checker_stopped):
    """Each toggle of a mark changes the upstreams; apply reloads at most once per health check
    interval (1 s), however often it is asked."""
    started = time.monotonic()
    attack = as_user(proxy, "nginx-proxy-health", f"for i in 1 2 3 4 5 6; do "
                                                  f"if [ -e {MARKS}/127.0.0.1:3001 ]; then rm {MARKS}/127.0.0.1:3001; "
                                                  f"else touch {MARKS}/127.0.0.1:3001; fi; sudo -n {ROTATION} apply; done")
    assert attack.stderr.count("nginx reloaded with the new upstreams") == 6, attack.stderr
    assert time.monotonic() - started >= 4.8


# Squatting nginx's local servers (points 4 and 7) ---------------------------------------------------

def test_a_local_user_cannot_stand_in_for_nginx_s_health_answer(proxy, tmp_path):
    result = ansible_playbook(TRACK_SCRIPT_PLAYBOOK, proxy, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert sh(proxy, "runuser -u nobody -- /usr/local/sbin/nginx-answers", check=False).returncode == 0
    sh(proxy, "systemctl stop nginx")
    try:
        # While nginx is down, mallory answers 200 "ok" where nginx used to answer for itself, and tries
        # to take the socket nginx answers on now.
        fake = ("import http.server, socket, threading\n"
                "class H(http.server.BaseHTTPRequestHandler):\n"
                "    def do_GET(self):\n"
                "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok\\n')\n"
                "for port in (8099, 8098):\n"
                "    s = http.server.HTTPServer(('127.0.0.1', port), H)\n"
                "    threading.Thread(target=s.serve_forever, daemon=True).start()\n"
                "try:\n"
                "    u = socket.socket(socket.AF_UNIX); u.bind('/run/nginx-proxy/health.sock'); u.listen()\n"
                "    print('took the socket')\n"
                "except OSError as error:\n"
                "    print('socket refused:', error)\n"
                "import time; time.sleep(30)\n")
        sh(proxy, f"cat > /home/mallory/fake.py <<'EOF'\n{fake}EOF\n"
                  "(runuser -u mallory -- python3 -u /home/mallory/fake.py > /home/mallory/fake.log 2>&1 &); sleep 1")
        assert "socket refused" in sh(proxy, "cat /home/mallory/fake.log").stdout
        assert sh(proxy, "curl -s http://127.0.0.1:8099/nginx-health").stdout == "ok\n"  # the squatter answers
        assert sh(proxy, "runuser -u nobody -- /usr/local/sbin/nginx-answers", check=False).returncode == 1
    finally:
        sh(proxy, "pkill -u mallory python3 || true; systemctl start nginx")
    assert sh(proxy, "runuser -u nobody -- /usr/local/sbin/nginx-answers", check=False).returncode == 0


def test_the_compression_server_relays_to_the_site_s_own_servers_only(proxy):
    """Hashed assets used to go through 127.0.0.1:8098, which proxied to whatever upstream the header
    X-Nginx-Proxy-Upstream named: any local user could make nginx connect to any address and port."""
    recorder = ("import socket\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('127.0.0.1', 9999)); s.listen(); s.settimeout(5)\n"
                "try:\n    c, _ = s.accept(); print('CONNECTED', c.recv(200))\nexcept OSError:\n    print('nothing')\n")
    sh(proxy, f"cat > /home/mallory/recorder.py <<'EOF'\n{recorder}EOF\n"
              "(runuser -u mallory -- python3 -u /home/mallory/recorder.py > /home/mallory/recorder.log 2>&1 &); sleep 0.5")
    sockets = sh(proxy, "ls /run/nginx-proxy/ 2>/dev/null || true").stdout.split()
    targets = [f"--unix-socket /run/nginx-proxy/{name} http://localhost" for name in sockets if name.startswith("compress-")]
    targets.append("http://127.0.0.1:8098")
    answers = [as_user(proxy, "mallory", f"curl -s -m 5 -H 'X-Nginx-Proxy-Upstream: 127.0.0.1:9999' -H 'Host: {DOMAIN}' "
                                         f"{target}/static/js/x.0123abcd.js", check=False).stdout for target in targets]
    # The recorder says what reached it within 5 s of its start.
    wait_until(lambda: sh(proxy, "cat /home/mallory/recorder.log").stdout, timeout=15, interval=0.5)
    assert sh(proxy, "cat /home/mallory/recorder.log").stdout == "nothing\n"
    assert len(targets) == 2, targets
    assert re.match(r"/\* stub 300[01] /static/js/x.0123abcd.js \*/", answers[0]), answers


def test_a_reload_that_cannot_open_its_port_fails_the_run(proxy, tmp_path_factory):
    """mallory holds 443 (ports below 1024 are not privileged in Docker's containers) before TLS is
    turned on: nginx cannot open it and keeps its previous configuration, while systemctl reload says
    it succeeded. The run must fail and say so; once 443 is free, a plain re-run takes it."""
    holder = ("import socket, time\ns = socket.socket(); s.bind(('0.0.0.0', 443)); s.listen(); time.sleep(600)\n")
    sh(proxy, f"cat > /home/mallory/hold.py <<'EOF'\n{holder}EOF\n"
              "(runuser -u mallory -- python3 /home/mallory/hold.py >/dev/null 2>&1 &); sleep 0.5")
    try:
        refused = apply_role(proxy, tmp_path_factory.mktemp("tls"), nginx_proxy_tls="self_signed")
        assert refused.returncode != 0
        uid = sh(proxy, "id -u mallory").stdout.strip()
        assert f"port 443 is held by a process of uid {uid}, not by nginx" in refused.stdout, refused.stdout[-4000:]
    finally:
        sh(proxy, "pkill -u mallory python3 || true")
    result = apply_role(proxy, tmp_path_factory.mktemp("tls-again"), nginx_proxy_tls="self_signed")
    assert result.returncode == 0, result.stdout[-5000:]
    assert get(proxy, scheme="https")[0] == 200
    # With its ports its own, a full pass of the role changes nothing (the port check included).
    again = apply_role(proxy, tmp_path_factory.mktemp("tls-idempotent"), nginx_proxy_tls="self_signed",
                       nginx_proxy_quick_rerun=False)
    assert again.returncode == 0 and recap(again.stdout)[proxy]["changed"] == 0, again.stdout[-5000:]


def test_a_request_for_another_name_on_a_site_s_http2_connection_gets_421(proxy):
    """The TLS catch-all refuses handshakes for other names; a request that still reaches it (an HTTP/2
    connection opened for the site, reused for another name) is told to ask elsewhere."""
    status = sh(proxy, f"curl -sk --http2 -o /dev/null -w '%{{http_version}} %{{http_code}}' --resolve {DOMAIN}:443:127.0.0.1 "
                       f"-H 'Host: other.example' https://{DOMAIN}/", check=False).stdout
    assert status == "2 421"


def test_gixy_finds_nothing_in_the_proxy_s_whole_configuration(proxy, tmp_path):
    dump = tmp_path / "nginx-T.conf"
    dump.write_text(sh(proxy, "nginx -T 2>/dev/null").stdout)
    # HSTS is refused with a self-signed certificate (nginx_proxy_tls_hsts false by choice).
    result = subprocess.run([tool("gixy"), "--format", "json", "--skips", "hsts_header", str(dump)],
                            capture_output=True, text=True, check=False)
    assert json.loads(result.stdout or "null") == [], result.stdout + result.stderr


# The asset cache (points 2 and 6) -------------------------------------------------------------------

def asset_body(proxy, path, headers=(), curl_args=""):
    """The headers and body of an asset through the proxy, over HTTPS once the role turned TLS on."""
    scheme = json.loads(sh(proxy, "cat /etc/ansible/facts.d/nginx_proxy.fact").stdout)["scheme"]
    status, found, body = get(proxy, path, headers, scheme=scheme, curl_args=curl_args)
    assert status == 200, (status, body)
    return found, body


def test_what_a_compromised_server_put_in_the_cache_is_gone_after_the_next_switch(proxy):
    path = "/static/js/main.0123abcd.chunk.js"
    sh(proxy, f"{ROTATION} out 127.0.0.1:3001 --reason manual")
    try:
        sh(proxy, "echo 'stealCookies();' > /var/lib/stub/3000.poison")
        found, body = asset_body(proxy, path)
        assert "stealCookies" in body
        max_age = int(re.search(r"max-age=(\d+)", found["cache-control"]).group(1))
        assert max_age <= 7 * 24 * 3600, found["cache-control"]
        # The server is put right (a deploy); until the switch the cache still has its answer.
        sh(proxy, "rm /var/lib/stub/3000.poison")
        assert "stealCookies" in asset_body(proxy, path)[1]
    finally:
        sh(proxy, f"rm -f /var/lib/stub/3000.poison; {ROTATION} in 127.0.0.1:3001 --reason manual")
    # What a rolling deploy or rollback runs on every proxy after each switch.
    sh(proxy, f"{ASSETS} renew")
    time.sleep(1)  # the old workers finish the requests they have
    assert "stealCookies" not in asset_body(proxy, path)[1]
    assert sh(proxy, "grep -rl stealCookies /var/cache/nginx-proxy/assets", check=False).stdout == ""
    assert "earlier generation" not in sh(proxy, f"{ASSETS} status").stdout


def test_no_request_uri_can_name_another_entry_of_the_cache(proxy):
    """The key used to be the URI followed by the encoding: /x.js asked with gzip had the key of /x.jsgzip
    asked without, so whoever asked first chose what the other got."""
    name = f"/static/js/app.{uuid.uuid4().hex[:8]}"
    first = asset_body(proxy, f"{name}.jsgzip", ["Accept-Encoding: identity"])[1]
    assert f"{name}.jsgzip" in first
    # curl --compressed asks for gzip (and decompresses what comes back).
    found, body = asset_body(proxy, f"{name}.js", curl_args="--compressed")
    assert f"{name}.js *" in body, (found, body)
