"""nginx_proxy_tls: provided, against a throw-away container: the controller's certificate and key
are installed with safe modes and served; HTTP redirects to HTTPS."""

import pytest

from conftest import ansible_playbook, run

PLAYBOOK = """
- name: Apply nginx_proxy with a provided certificate
  hosts: all
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: proxylab.webstack.nginx_proxy
"""


def sh(host, command, check=True):
    return run(["docker", "exec", host, "sh", "-c", command], check=check)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(folder / "proxy.key"), "-out", str(folder / "proxy.crt"), "-days", "2",
         "-subj", "/CN=dumbflix.lab", "-addext", "subjectAltName=DNS:dumbflix.lab"])
    fingerprint = run(["openssl", "x509", "-in", str(folder / "proxy.crt"), "-noout", "-fingerprint", "-sha256"])
    return folder, fingerprint.stdout.strip()


@pytest.fixture(scope="module")
def proxy(scratch_host, certificate, tmp_path_factory):
    """The role applied once, in front of a stub app server on the same container (127.0.0.1:3000)."""
    sh(scratch_host, "mkdir -p /srv/stub && echo 'stub app behind provided TLS' > /srv/stub/index.html"
                     " && systemd-run --unit stub-app python3 -m http.server 3000 --bind 127.0.0.1 --directory /srv/stub")
    folder, _ = certificate
    result = ansible_playbook(PLAYBOOK, scratch_host, {
        "nginx_proxy_tls": "provided",
        "nginx_proxy_tls_cert_src": str(folder / "proxy.crt"),
        "nginx_proxy_tls_key_src": str(folder / "proxy.key"),
        "nginx_proxy_backends": [{"host": "127.0.0.1", "port": 3000}],
    }, tmp_path=tmp_path_factory.mktemp("play"), timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return scratch_host


def test_key_and_certificate_are_installed_with_safe_modes(proxy):
    assert sh(proxy, "stat -c '%U %G %a' /etc/nginx/ssl/nginx-proxy.key").stdout.split() == ["root", "root", "600"]
    assert sh(proxy, "stat -c '%U %G %a' /etc/nginx/ssl/nginx-proxy.crt").stdout.split() == ["root", "root", "644"]


def test_the_provided_certificate_is_served(proxy, certificate):
    _, fingerprint = certificate
    served = sh(proxy, "openssl s_client -connect 127.0.0.1:443 -servername dumbflix.lab </dev/null 2>/dev/null"
                       " | openssl x509 -noout -fingerprint -sha256")
    assert served.stdout.strip() == fingerprint


def test_https_serves_the_app_and_http_redirects(proxy):
    page = sh(proxy, "curl -s --cacert /etc/nginx/ssl/nginx-proxy.crt --resolve dumbflix.lab:443:127.0.0.1"
                     " https://dumbflix.lab/")
    assert page.stdout.strip() == "stub app behind provided TLS"
    redirect = sh(proxy, "curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: dumbflix.lab' http://127.0.0.1/x")
    assert redirect.stdout == "301 https://dumbflix.lab/x"
