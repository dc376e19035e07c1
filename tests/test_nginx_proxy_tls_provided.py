"""nginx_proxy_tls: provided, against a throw-away Debian 12 container (nginx 1.22): the controller's
certificate and key are installed with safe modes and served; HTTP redirects to HTTPS; HSTS is on every
answer, error pages included; an outside scanner finds Mozilla's intermediate profile."""

from functools import partial

import pytest

from helpers import ansible_playbook, container_address, docker_sh, run, tool

PLAYBOOK = """
- name: Apply nginx_proxy with a provided certificate
  hosts: all
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: proxylab.webstack.nginx_proxy
"""


sh = partial(docker_sh, timeout=600)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A small CA and a server certificate it signed for dumbflix.lab, as a real provided pair is."""
    folder = tmp_path_factory.mktemp("tls")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.crt"), "-days", "3", "-subj", "/CN=proxylab test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(folder / "proxy.key"), "-out", str(folder / "proxy.csr"), "-subj", "/CN=dumbflix.lab"])
    (folder / "ext.cnf").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:dumbflix.lab\n"
                                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    run(["openssl", "x509", "-req", "-in", str(folder / "proxy.csr"), "-CA", str(folder / "ca.crt"),
         "-CAkey", str(folder / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(folder / "ext.cnf"),
         "-out", str(folder / "proxy.crt")])
    fingerprint = run(["openssl", "x509", "-in", str(folder / "proxy.crt"), "-noout", "-fingerprint", "-sha256"])
    return folder, fingerprint.stdout.strip()


def apply(host, folder, key_name, tmp_path):
    return ansible_playbook(PLAYBOOK, host, {
        "nginx_proxy_tls": "provided",
        "nginx_proxy_tls_cert_src": str(folder / "proxy.crt"),
        "nginx_proxy_tls_key_src": str(folder / key_name),
        "nginx_proxy_tls_hsts": True,
        "nginx_proxy_backends": [{"host": "127.0.0.1", "port": 3000}],
    }, tmp_path=tmp_path, timeout=600)


@pytest.fixture(scope="module")
def proxy(scratch_host, certificate, tmp_path_factory):
    """The role applied once, in front of a stub app server on the same container (127.0.0.1:3000)."""
    sh(scratch_host, "mkdir -p /srv/stub && echo 'stub app behind provided TLS' > /srv/stub/index.html"
                     " && systemd-run --unit stub-app python3 -m http.server 3000 --bind 127.0.0.1 --directory /srv/stub")
    folder, _ = certificate
    result = apply(scratch_host, folder, "proxy.key", tmp_path_factory.mktemp("play"))
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


def test_https_serves_the_app_over_http2_and_http_redirects(proxy):
    # Debian 12's nginx 1.22 takes the `listen 443 ssl http2` form (1.25.1+ the `http2 on` directive).
    page = sh(proxy, "curl -sk --resolve dumbflix.lab:443:127.0.0.1"
                     " -w '##%{http_version}' https://dumbflix.lab/")
    assert page.stdout.strip() == "stub app behind provided TLS\n##2"
    assert "listen 443 ssl http2 default_server;" in sh(proxy, "nginx -T 2>/dev/null").stdout
    redirect = sh(proxy, "curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: dumbflix.lab' http://127.0.0.1/x")
    assert redirect.stdout == "301 https://dumbflix.lab/x"


def test_a_pair_renewed_in_place_on_the_controller_is_installed_by_the_next_run(proxy, certificate, tmp_path):
    """The re-run with the same variables is not skipped: the files' content is an input too."""
    folder, fingerprint = certificate
    (folder / "proxy.crt").rename(folder / "first.crt")
    (folder / "proxy.key").rename(folder / "first.key")
    try:
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(folder / "proxy.key"), "-out", str(folder / "proxy.crt"), "-days", "2",
             "-subj", "/CN=dumbflix.lab", "-addext", "subjectAltName=DNS:dumbflix.lab"])
        renewed = run(["openssl", "x509", "-in", str(folder / "proxy.crt"), "-noout", "-fingerprint", "-sha256"])
        result = apply(proxy, folder, "proxy.key", tmp_path)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        test_the_provided_certificate_is_served(proxy, (folder, renewed.stdout.strip()))
    finally:
        (folder / "first.crt").replace(folder / "proxy.crt")
        (folder / "first.key").replace(folder / "proxy.key")
    result = apply(proxy, folder, "proxy.key", tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    test_the_provided_certificate_is_served(proxy, (folder, fingerprint))


def test_a_key_that_does_not_match_is_refused_and_the_old_pair_keeps_serving(proxy, certificate, tmp_path):
    folder, fingerprint = certificate
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-out", str(folder / "other.key")])
    live_key = sh(proxy, "sha256sum /etc/nginx/ssl/nginx-proxy.key").stdout
    result = apply(proxy, folder, "other.key", tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nginx rejected the new configuration" in output and "key values mismatch" in output, output[-3000:]
    assert sh(proxy, "sha256sum /etc/nginx/ssl/nginx-proxy.key").stdout == live_key
    assert sh(proxy, "nginx -t", check=False).returncode == 0
    test_the_provided_certificate_is_served(proxy, certificate)
    test_https_serves_the_app_over_http2_and_http_redirects(proxy)


def test_hsts_is_on_every_answer_even_the_maintenance_page(proxy):
    curl = "curl -sk -o /dev/null -D - --resolve dumbflix.lab:443:127.0.0.1 https://dumbflix.lab/"
    assert "strict-transport-security: max-age=31536000" in sh(proxy, curl).stdout.lower()
    sh(proxy, "systemctl stop stub-app")
    try:
        down = sh(proxy, curl).stdout.lower()
    finally:
        sh(proxy, "systemd-run --unit stub-app python3 -m http.server 3000 --bind 127.0.0.1 --directory /srv/stub")
    assert down.startswith("http/2 502"), down
    assert "strict-transport-security: max-age=31536000" in down and "x-content-type-options: nosniff" in down


def test_an_outside_scanner_finds_mozillas_intermediate_profile(proxy, certificate):
    folder, _ = certificate
    address = container_address(proxy)
    report = run([tool("sslyze"), "--mozilla_config", "intermediate", "--certinfo_ca_file", str(folder / "ca.crt"),
                  f"dumbflix.lab:443{{{address}}}"], check=False, timeout=300)
    output = report.stdout + report.stderr
    assert report.returncode == 0 and "dumbflix.lab:443: OK - Compliant." in output, output
