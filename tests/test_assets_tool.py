"""nginx-proxy-assets (roles/nginx_proxy/files): the generation of the asset cache's keys, tested with
nginx -t before it goes live, and the removal of every entry of an earlier generation, run against
temporary directories, cache files laid out as nginx writes them, and a stand-in nginx."""

import hashlib
import importlib.machinery
import importlib.util
import os
import stat

import pytest

from helpers import REPO_ROOT

_PATH = REPO_ROOT / "roles" / "nginx_proxy" / "files" / "nginx-proxy-assets"
_LOADER = importlib.machinery.SourceFileLoader("nginx_proxy_assets", str(_PATH))
_SPEC = importlib.util.spec_from_loader("nginx_proxy_assets", _LOADER)
assets = importlib.util.module_from_spec(_SPEC)
_LOADER.exec_module(assets)


def cache_entry(cache_dir, key, body=b"console.log(1);"):
    """A file as nginx's proxy_cache writes it (levels=1:2): a binary header, the key, the answer."""
    name = hashlib.md5(key.encode()).hexdigest()  # noqa: S324 (nginx names entries by MD5)
    directory = cache_dir / name[-1] / name[-3:-1]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(b"\x05\x00\x00\x00" + b"\x00" * 300 + b"\nKEY: " + key.encode() + b"\nHTTP/1.1 200 OK\r\n\r\n" + body)
    return path


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "assets"


def fake_nginx(tmp_path, exit_code):
    script = tmp_path / f"nginx-{exit_code}"
    script.write_text(f"#!/bin/sh\necho 'nginx: test says {exit_code}' >&2\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_purge_removes_every_entry_of_another_generation_and_nothing_else(cache_dir):
    kept = cache_entry(cache_dir, "g2|http|nginx_proxy_shop.lab|gzip|/static/js/main.0123abcd.js")
    old = cache_entry(cache_dir, "g1|http|nginx_proxy_shop.lab|gzip|/static/js/main.0123abcd.js")
    older = cache_entry(cache_dir, "0|http|nginx_proxy_shop.lab||/static/js/main.0123abcd.js")
    # What nginx writes while an answer arrives, and what is not nginx's: left alone.
    being_written = cache_entry(cache_dir, "g1|http|x||/a.0123abcd.js").with_suffix(".0000000042")
    os.rename(cache_entry(cache_dir, "g1|http|x||/a.0123abcd.js"), being_written)
    assert assets.purge("g2", str(cache_dir)) == 2
    assert kept.exists() and not old.exists() and not older.exists() and being_written.exists()


def test_purge_never_follows_a_link(cache_dir, tmp_path):
    target = tmp_path / "precious"
    target.write_bytes(b"\nKEY: g1|http|x||/a.0123abcd.js\n")
    entry = cache_entry(cache_dir, "g1|http|x||/b.0123abcd.js")
    link = entry.parent / ("f" * 32)
    os.symlink(target, link)
    os.symlink(tmp_path, cache_dir / "elsewhere")
    assert assets.purge("g2", str(cache_dir)) == 1
    assert target.exists() and link.is_symlink() and not entry.exists()


def test_renew_tests_the_new_generation_and_keeps_the_old_one_when_nginx_refuses(tmp_path, monkeypatch):
    conf = tmp_path / "nginx"
    conf.mkdir()
    monkeypatch.setattr(assets, "_run", lambda argv, **kw: assets.subprocess.run(
        argv if argv[0] != "systemctl" else ["false"], capture_output=True, text=True, check=False))
    assert assets.current_generation(str(conf)) == "0"
    monkeypatch.setattr(assets, "NGINX", fake_nginx(tmp_path, 0))
    assets.set_generation("20260101T000000-abcdef", str(conf))
    assert assets.current_generation(str(conf)) == "20260101T000000-abcdef"
    monkeypatch.setattr(assets, "NGINX", fake_nginx(tmp_path, 1))
    with pytest.raises(assets.AssetsError, match="nginx refused the new generation.*test says 1"):
        assets.set_generation("20260102T000000-123456", str(conf))
    assert assets.current_generation(str(conf)) == "20260101T000000-abcdef"
    # Only the map nginx reads is left in the directory: no temporary file it would include.
    assert os.listdir(conf / assets.GENERATION_DIR) == [assets.GENERATION_FILE]


def test_each_generation_is_new():
    assert len({assets.new_generation() for _ in range(50)}) == 50


def test_the_lock_waits_a_bounded_time(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "LOCK_FILE", str(tmp_path / "run" / "lock"))
    with assets.Lock():
        assert stat.S_IMODE(os.stat(tmp_path / "run").st_mode) == 0o700
        assert stat.S_IMODE(os.stat(tmp_path / "run" / "lock").st_mode) == 0o600
        with pytest.raises(assets.AssetsError, match="held .* for more than 0.2 s"):
            with assets.Lock(timeout=0.2):
                pass
