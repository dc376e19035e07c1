"""The TLS proxy (nginx_proxy_tls: self_signed, several vhosts): Mozilla's intermediate profile, renewal."""

from conftest import APPS, DOMAIN, converge, fetch, inventory_vars, name_of, scan_tls

testinfra_hosts = ["ansible://nginx-proxy-deb13"]
NAMES = (DOMAIN, f"www.{DOMAIN}", f"lc.{DOMAIN}")


def test_http_redirects_to_https(host):
    for name in NAMES:
        out = host.check_output(
            f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' -H 'Host: {name}' 'http://127.0.0.1/a/b?c=d'"
        )
        assert out == f"301 https://{name}/a/b?c=d"


def test_https_serves_every_site_over_http2(host):
    for name in NAMES:
        out = host.check_output(
            f"curl -sk -o /dev/null -D - -w '##%{{http_version}} %{{http_code}}' --resolve {name}:443:127.0.0.1 https://{name}/"
        )
        headers, _, summary = out.partition("##")
        assert summary == "2 200", out
        # HSTS is off: with a self-signed certificate it would lock browsers out (the role refuses both).
        assert "strict-transport-security" not in headers.lower(), headers
        assert fetch(host, host_header=name)[0].backend in APPS


def test_the_self_signed_certificate_lives_365_days(host):
    dates = host.check_output("openssl x509 -in /etc/nginx/ssl/nginx-proxy.crt -noout -startdate -enddate")
    start, end = (line.split("=", 1)[1] for line in dates.splitlines())
    days = int(host.check_output(f"echo $(( ($(date -d '{end}' +%s) - $(date -d '{start}' +%s)) / 86400 ))"))
    assert days == 365, dates


def test_an_outside_scanner_finds_mozillas_intermediate_profile(host):
    returncode, report = scan_tls(host)
    assert returncode == 0 and "dumbflix.lab:443: OK - Compliant." in report, report


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


def test_certificate_names_every_site_and_keys_are_private(host):
    sans = host.check_output("openssl x509 -in /etc/nginx/ssl/nginx-proxy.crt -noout -ext subjectAltName")
    sites = inventory_vars(host)["nginx_proxy_sites"]
    names = [site["domain"] for site in sites] + [alias for site in sites for alias in site.get("aliases", [])]
    assert len(names) == 9
    for name in names:
        assert f"DNS:{name}" in sans
    for path in ("/etc/nginx/ssl/nginx-proxy.key", "/etc/nginx/ssl/nginx-proxy-ca.key"):
        key = host.file(path)
        assert (key.user, key.group, key.mode) == ("root", "root", 0o600), path
    verified = host.run("openssl verify -CAfile /etc/nginx/ssl/nginx-proxy-ca.crt /etc/nginx/ssl/nginx-proxy.crt")
    assert verified.rc == 0, verified.stdout + verified.stderr
    served = host.check_output(
        f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint"
    )
    assert served == host.check_output("openssl x509 -in /etc/nginx/ssl/nginx-proxy.crt -noout -fingerprint")


def test_a_certificate_about_to_expire_is_made_again(host):
    name = name_of(host)
    cert = "/etc/nginx/ssl/nginx-proxy.crt"
    host.check_output(f"openssl x509 -in {cert} -signkey /etc/nginx/ssl/nginx-proxy.key -days 10 -out {cert}.short"
                      f" && mv {cert}.short {cert}")
    short = host.check_output(f"openssl x509 -in {cert} -noout -enddate")
    result = converge({name: {}})[name]
    assert result.returncode == 0, result.stdout[-3000:]
    renewed = host.check_output(f"openssl x509 -in {cert} -noout -enddate")
    assert renewed != short
    test_the_self_signed_certificate_lives_365_days(host)
    served = host.check_output(f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} </dev/null 2>/dev/null"
                               " | openssl x509 -noout -enddate")
    assert served == renewed
