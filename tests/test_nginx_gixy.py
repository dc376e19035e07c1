"""scripts/nginx-gixy.py, the gixy-ng check of `make lint`: it renders the proxies of a molecule scenario
as the nginx_proxy role does, finds nothing in them, and does find what gixy-ng reported in issue 27
when it is put back: the compression server's upstream taken from a request header (HIGH, ssrf) and a
TLS default server with HTTP/2 that refuses handshakes but has no 421 answer (LOW)."""

import importlib.machinery
import importlib.util
import re

import pytest

from helpers import REPO_ROOT

_PATH = REPO_ROOT / "scripts" / "nginx-gixy.py"
_LOADER = importlib.machinery.SourceFileLoader("nginx_gixy", str(_PATH))
_SPEC = importlib.util.spec_from_loader("nginx_gixy", _LOADER)
gixy_check = importlib.util.module_from_spec(_SPEC)
_LOADER.exec_module(gixy_check)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The nginx_proxy scenario's two proxies: Debian 12 over HTTP, Debian 13 with TLS and seven sites."""
    out = tmp_path_factory.mktemp("nginx-configs")
    hosts = gixy_check.render("nginx_proxy", gixy_check.substitution_values(), out)
    assert hosts == ["nginx-proxy-deb12", "nginx-proxy-deb13"]
    return out


def findings(conf_dir):
    return [(f["severity"], f["plugin"]) for f in gixy_check.gixy(conf_dir / "nginx.conf", {"hsts_header"})]


def test_the_scenario_s_proxies_have_no_finding(rendered):
    assert findings(rendered / "nginx-proxy-deb12") == []
    assert findings(rendered / "nginx-proxy-deb13") == []


def test_the_compression_server_of_0_2_0_is_a_high_finding(rendered):
    conf = rendered / "nginx-proxy-deb12" / "conf.d" / "nginx-proxy-default-server.conf"
    text = conf.read_text()
    assert "proxy_pass http://nginx_proxy_dumbflix.lab;" in text
    conf.write_text(text.replace("proxy_pass http://nginx_proxy_dumbflix.lab;", "proxy_pass http://$http_x_nginx_proxy_upstream;"))
    try:
        assert findings(rendered / "nginx-proxy-deb12") == [("HIGH", "ssrf")]
    finally:
        conf.write_text(text)


def test_a_tls_catch_all_without_421_is_a_low_finding(rendered):
    conf = rendered / "nginx-proxy-deb13" / "conf.d" / "nginx-proxy-default-server.conf"
    text = conf.read_text()
    without = re.sub(r"\n    location / \{\n        return 421;\n    \}", "", text)
    assert without != text and "ssl_reject_handshake on;" in without and "http2 on;" in without
    conf.write_text(without)
    try:
        assert findings(rendered / "nginx-proxy-deb13") == [("LOW", "http2_misdirected_request")]
    finally:
        conf.write_text(text)


def test_hsts_is_left_out_only_where_the_input_turns_it_off():
    assert gixy_check.skipped_checks({"tls": "self_signed", "hsts": False}) == {
        "hsts_header": "nginx_proxy_tls_hsts is false (no Strict-Transport-Security by choice)"}
    assert gixy_check.skipped_checks({"tls": "provided", "hsts": True}) == {}
    assert gixy_check.skipped_checks({"tls": "off", "hsts": False}) == {}
