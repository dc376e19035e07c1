"""The TLS proxy (nginx_proxy_tls: self_signed, HSTS, several vhosts)."""

from conftest import APPS, DOMAIN, fetch, inventory_vars

testinfra_hosts = ["ansible://nginx-proxy-deb13"]
NAMES = (DOMAIN, f"www.{DOMAIN}", f"lc.{DOMAIN}")


def test_http_redirects_to_https(host):
    for name in NAMES:
        out = host.check_output(
            f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' -H 'Host: {name}' 'http://127.0.0.1/a/b?c=d'"
        )
        assert out == f"301 https://{name}/a/b?c=d"


def test_https_serves_every_site_over_http2_with_hsts(host):
    for name in NAMES:
        out = host.check_output(
            f"curl -sk -o /dev/null -D - -w '##%{{http_version}} %{{http_code}}' -H 'Host: {name}' https://127.0.0.1/"
        )
        headers, _, summary = out.partition("##")
        assert summary == "2 200", out
        assert "strict-transport-security: max-age=31536000" in headers.lower(), headers
        assert fetch(host, host_header=name)[0].backend in APPS


def test_tls_1_1_is_refused_and_1_2_accepted(host):
    # SECLEVEL=0 lets the client offer TLS 1.1, so a refusal can only come from the server.
    old = host.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null"
    )
    assert old.rc != 0
    assert "alert protocol version" in old.stdout + old.stderr, old.stdout + old.stderr
    for flag, protocol in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        new = host.run(f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} {flag} </dev/null")
        assert new.rc == 0, new.stderr
        assert f"Protocol  : {protocol}" in new.stdout or f"New, {protocol}" in new.stdout, new.stdout


def test_certificate_names_every_site_and_key_is_private(host):
    sans = host.check_output("openssl x509 -in /etc/nginx/ssl/nginx-proxy.crt -noout -ext subjectAltName")
    sites = inventory_vars(host)["nginx_proxy_sites"]
    names = [site["domain"] for site in sites] + [alias for site in sites for alias in site.get("aliases", [])]
    assert len(names) == 8
    for name in names:
        assert f"DNS:{name}" in sans
    key = host.file("/etc/nginx/ssl/nginx-proxy.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    served = host.check_output(
        f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint"
    )
    assert served == host.check_output("openssl x509 -in /etc/nginx/ssl/nginx-proxy.crt -noout -fingerprint")
