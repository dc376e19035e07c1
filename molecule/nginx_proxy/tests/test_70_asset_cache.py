"""Hashed static assets come from the proxy's cache (nginx_proxy_asset_cache, on by default): once
fetched, every client gets the same copy, with immutable cache headers, also while every app server is
down; pages, unhashed files and a single-page app's fallback page under an asset's name never are.

The stub app servers answer /static/*.js with a body naming themselves and Cache-Control: no-cache,
a name containing "large" with 8 KB more, and a name containing "missing" with their HTML page
(tests/conftest.py: set_apps, fetch)."""

import re
import time
import uuid

import pytest
from conftest import APPS, fetch, inventory_vars, set_apps, wait_for_proxy

testinfra_hosts = ["ansible://proxy"]
pytestmark = pytest.mark.usefixtures("apps_in_rotation")

# nginx_proxy_asset_max_age: 7 days.
IMMUTABLE = "public, max-age=604800, immutable"
CACHE_DIR = "/var/cache/nginx-proxy/assets"
_ASSET_BACKEND = re.compile(r"/\* backend ([\w.-]+) ")


def asset_path(kind="main"):
    """A name never asked for before, shaped like a build's hashed bundle."""
    return f"/static/js/{kind}.{uuid.uuid4().hex[:8]}.chunk.js"


def asset_backends(responses):
    return [match.group(1) if (match := _ASSET_BACKEND.search(r.body)) else None for r in responses]


def test_a_hashed_asset_is_fetched_once_and_served_immutable(host):
    path = asset_path()
    answers = fetch(host, 12, path=path)
    assert [r.status for r in answers] == [200] * 12
    # Round robin over two servers would alternate; the cache answers with the first server's copy.
    backends = asset_backends(answers)
    assert len(set(backends)) == 1 and backends[0] in APPS, backends
    assert all(r.headers.get("cache-control") == IMMUTABLE for r in answers), [r.headers for r in answers]
    assert all(r.headers["content-type"].startswith("application/javascript") for r in answers)
    if inventory_vars(host).get("nginx_proxy_debug_headers"):
        assert [r.headers.get("x-cache-status") for r in answers] == ["MISS"] + ["HIT"] * 11


def cached_copies(host, path):
    """The headers of each copy of path in the proxy's cache (one per Accept-Encoding variant)."""
    files = host.check_output(f"grep -rlF '{path}' {CACHE_DIR} || true").split()
    return [host.check_output(f"head -c 2048 {name} | tr -d '\\000' | sed -n '/^HTTP/,/^\\r\\?$/p'")
            for name in files]


def test_an_asset_is_compressed_once_and_kept_compressed(host):
    """With gzip (on by default), an asset is compressed on its way into the cache: the cache holds a
    gzip copy for clients that ask for gzip and a plain one for those that do not, and a client gets
    the copy it can read, from the cache from its second request on."""
    path = asset_path("large")
    gzip = fetch(host, 3, path=path, curl_args="--compressed")
    plain = fetch(host, 3, path=path, curl_args="-H 'Accept-Encoding: identity'")
    assert [r.status for r in gzip + plain] == [200] * 6
    assert [r.headers.get("content-encoding") for r in gzip] == ["gzip"] * 3, [r.headers for r in gzip]
    assert [r.headers.get("content-encoding") for r in plain] == [None] * 3, [r.headers for r in plain]
    # curl --compressed decompresses: both copies carry the same script.
    assert {r.body.split("*/", 1)[1] for r in gzip + plain} == {plain[0].body.split("*/", 1)[1]}
    assert len(plain[0].body) > 8000
    if inventory_vars(host).get("nginx_proxy_debug_headers"):
        assert [r.headers.get("x-cache-status") for r in gzip] == ["MISS", "HIT", "HIT"]
        assert [r.headers.get("x-cache-status") for r in plain] == ["MISS", "HIT", "HIT"]
        assert all(re.fullmatch(r"[\d.]+:\d+", r.headers.get("x-upstream", "")) for r in gzip[:1] + plain[:1])
    copies = cached_copies(host, path)
    assert len(copies) == 2, copies
    assert sorted("Content-Encoding: gzip" in copy for copy in copies) == [False, True], copies


def test_pages_and_unhashed_files_are_never_cached(host):
    pages = fetch(host, 12)
    assert {r.backend for r in pages} == set(APPS)
    assert not any("immutable" in r.headers.get("cache-control", "") for r in pages)
    unhashed = fetch(host, 12, path="/static/js/settings.js")
    assert set(asset_backends(unhashed)) == set(APPS)
    assert all(r.headers.get("cache-control") == "no-cache" for r in unhashed)


def test_the_fallback_page_under_an_asset_name_is_not_cached(host):
    path = asset_path("missing")
    answers = fetch(host, 12, path=path)
    assert [r.status for r in answers] == [200] * 12
    assert all(r.headers["content-type"].startswith("text/html") for r in answers)
    # Each answer is a fresh one from the app servers (both), never kept, never immutable.
    assert {r.backend for r in answers} == set(APPS)
    assert all(r.headers.get("cache-control") == "no-cache" for r in answers)


def test_cached_assets_are_served_while_every_app_server_is_down(host):
    path = asset_path()
    first = fetch(host, path=path)[0]
    assert first.status == 200
    try:
        set_apps([])
        wait_for_proxy(host, lambda r: r.status >= 502)
        while_down = fetch(host, 10, path=path)
        assert [r.status for r in while_down] == [200] * 10
        assert {r.body for r in while_down} == {first.body}
        # An asset nobody fetched before cannot be served.
        assert fetch(host, path=asset_path())[0].status >= 502
    finally:
        set_apps(APPS)


def test_a_new_generation_serves_nothing_fetched_before_it(host):
    """What a rolling deploy or rollback runs on every proxy after each switch: whatever an app server
    answered before, the cache fetches again, and the entries of before are gone from disk."""
    path = asset_path()
    fetch(host, 2, path=path)
    assert cached_copies(host, path)
    host.check_output("/usr/local/sbin/nginx-proxy-assets renew")
    assert cached_copies(host, path) == []
    time.sleep(1)  # the old workers finish the requests they have
    again = fetch(host, 2, path=path)
    assert [r.status for r in again] == [200, 200]
    if inventory_vars(host).get("nginx_proxy_debug_headers"):
        assert [r.headers.get("x-cache-status") for r in again] == ["MISS", "HIT"]
    assert "earlier generation" not in host.check_output("/usr/local/sbin/nginx-proxy-assets status")
