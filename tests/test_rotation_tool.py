"""nginx-proxy-rotation (roles/nginx_proxy/files): rendering, marks, the last-server rule, the health
checker's decisions and the tested apply, run against temporary directories and a stand-in nginx."""

import importlib.machinery
import importlib.util
import json
import os
import stat

import pytest

from helpers import REPO_ROOT

_PATH = REPO_ROOT / "roles" / "nginx_proxy" / "files" / "nginx-proxy-rotation"
_LOADER = importlib.machinery.SourceFileLoader("nginx_proxy_rotation", str(_PATH))
_SPEC = importlib.util.spec_from_loader("nginx_proxy_rotation", _LOADER)
rotation = importlib.util.module_from_spec(_SPEC)
_LOADER.exec_module(rotation)


def server(address, **extra):
    return {"address": address, "weight": 1, "max_fails": 1, "fail_timeout": "10s", "health_path": "/",
            "backup": False, "down": False, **extra}


def data(*upstreams):
    return {"upstreams": list(upstreams), "health": {"interval": 1, "timeout": 0.5, "fall": 2, "rise": 2}}


def upstream(domain, servers, method="round_robin", **extra):
    return {"name": f"nginx_proxy_{domain}", "domain": domain, "method": method, "hash_key": "",
            "keepalive": 16, "keepalive_timeout": "4s", "keepalive_requests": 1000, "servers": servers, **extra}


TWO = data(upstream("shop.lab", [server("10.0.0.2:3000", inventory_host="app1"),
                                 server("10.0.0.3:3000", inventory_host="app2")]))


@pytest.fixture
def state_dir(tmp_path):
    path = tmp_path / "out"
    for reason in rotation.REASONS:
        (path / reason).mkdir(parents=True)
    return str(path)


def test_render_marks_a_server_out_of_rotation_down_and_says_why():
    text = rotation.render(TWO, {"10.0.0.3:3000": {"deploy": "since now"}})
    assert "server 10.0.0.2:3000 weight=1 max_fails=1 fail_timeout=10s;\n" in text
    assert "server 10.0.0.3:3000 weight=1 max_fails=1 fail_timeout=10s down;  # out of rotation: deploy\n" in text
    assert "keepalive 16;" in text and "keepalive_timeout 4s;" in text and "keepalive_requests 1000;" in text


def test_render_writes_each_balancing_method_and_flag():
    text = rotation.render(data(
        upstream("a.lab", [server("h:1", backup=True)], method="least_conn"),
        upstream("b.lab", [server("h:2", down=True)], method="hash", hash_key="$request_uri"),
        upstream("c.lab", [server("h:3")], method="random", keepalive=0),
    ), {})
    assert "least_conn;" in text and "hash $request_uri;" in text and "random;" in text
    assert "server h:1 weight=1 max_fails=1 fail_timeout=10s backup;" in text
    assert "server h:2 weight=1 max_fails=1 fail_timeout=10s down;\n" in text
    assert text.count("keepalive ") == 2


def test_a_server_is_resolved_by_address_or_inventory_name():
    assert rotation.resolve(TWO, "app2") == ["10.0.0.3:3000"]
    assert rotation.resolve(TWO, "10.0.0.2:3000") == ["10.0.0.2:3000"]
    assert rotation.resolve(TWO, "10.0.0.3") == ["10.0.0.3:3000"]
    with pytest.raises(rotation.UnknownServer, match="app9 is not an upstream server.*app1, app2"):
        rotation.resolve(TWO, "app9")


def test_the_last_server_in_rotation_cannot_be_taken_out():
    assert rotation.last_server_conflicts(TWO, {}, ["10.0.0.2:3000"]) == []
    assert rotation.last_server_conflicts(TWO, {"10.0.0.3:3000": {"health": ""}}, ["10.0.0.2:3000"]) == [
        "nginx_proxy_shop.lab"]


def test_marks_are_read_per_reason_and_unknown_names_ignored(state_dir):
    rotation.write_mark("deploy", "10.0.0.2:3000", "since now: rolling deploy", state_dir)
    rotation.write_mark("health", "10.0.0.2:3000", "2 failed probes", state_dir)
    rotation.write_mark("health", "10.9.9.9:80", "stale", state_dir)
    state = rotation.read_state(state_dir, known=rotation.servers_of(TWO))
    assert state == {"10.0.0.2:3000": {"deploy": "since now: rolling deploy", "health": "2 failed probes"}}
    assert rotation.clear_mark("deploy", "10.0.0.2:3000", state_dir) is True
    assert rotation.clear_mark("deploy", "10.0.0.2:3000", state_dir) is False


def test_a_mark_that_is_a_link_is_never_followed(state_dir, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root only")
    os.symlink(secret, os.path.join(state_dir, "health", "10.0.0.2:3000"))
    state = rotation.read_state(state_dir, known=rotation.servers_of(TWO))
    assert state == {"10.0.0.2:3000": {"health": ""}}


def fake_nginx(tmp_path, exit_code):
    script = tmp_path / f"nginx-{exit_code}"
    script.write_text(f"#!/bin/sh\necho 'nginx: test says {exit_code}' >&2\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.fixture
def conf_dir(tmp_path, monkeypatch):
    conf = tmp_path / "nginx"
    (conf / "nginx-proxy").mkdir(parents=True)
    (conf / "conf.d").mkdir()
    (conf / rotation.DATA_FILE).write_text(json.dumps(TWO))
    monkeypatch.setattr(rotation, "_nginx_running", lambda: False)
    return conf


def test_apply_tests_the_new_upstreams_and_puts_the_old_ones_back_when_nginx_refuses(
        conf_dir, state_dir, tmp_path, monkeypatch):
    live = conf_dir / rotation.UPSTREAM_FILE
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 0))
    assert rotation.apply(str(conf_dir), state_dir) is True
    before = live.read_text()
    assert rotation.apply(str(conf_dir), state_dir) is False

    rotation.write_mark("manual", "10.0.0.2:3000", "", state_dir)
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 1))
    with pytest.raises(rotation.RotationError, match="nginx refused.*test says 1"):
        rotation.apply(str(conf_dir), state_dir)
    assert live.read_text() == before
    assert [p.name for p in live.parent.iterdir()] == [live.name]


def test_render_into_a_stage_reports_whether_the_file_changed(conf_dir, state_dir):
    upstream_file = conf_dir / rotation.UPSTREAM_FILE
    assert rotation.render_into(str(conf_dir), state_dir, write=False) is True
    assert not upstream_file.exists()
    assert rotation.render_into(str(conf_dir), state_dir) is True
    assert rotation.render_into(str(conf_dir), state_dir) is False
    assert rotation.render_into(str(conf_dir), state_dir, write=False) is False
    # A server taken out changes what would be rendered; --check still leaves the file alone.
    os.makedirs(os.path.join(state_dir, "manual"), exist_ok=True)
    open(os.path.join(state_dir, "manual", "10.0.0.3:3000"), "w").close()
    before = upstream_file.read_text()
    assert rotation.render_into(str(conf_dir), state_dir, write=False) is True
    assert upstream_file.read_text() == before


class Checker(rotation.HealthChecker):
    def __init__(self, data_, state_dir):
        super().__init__(data_, data_["health"], state_dir=state_dir, apply_command=["true"])


def marked(state_dir):
    return sorted(os.listdir(os.path.join(state_dir, "health")))


def test_a_failing_server_goes_out_after_fall_probes_and_back_after_rise(state_dir):
    checker = Checker(TWO, state_dir)
    assert checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": False}) == []
    assert checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": False}) == ["10.0.0.3:3000"]
    assert marked(state_dir) == ["10.0.0.3:3000"]
    assert checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": True}) == []
    assert checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": True}) == ["10.0.0.3:3000"]
    assert marked(state_dir) == []


def test_the_last_server_that_answers_is_never_taken_out(state_dir):
    checker = Checker(TWO, state_dir)
    for _ in range(3):
        checker.record({"10.0.0.2:3000": False, "10.0.0.3:3000": True})
    assert marked(state_dir) == ["10.0.0.2:3000"]
    for _ in range(5):
        checker.record({"10.0.0.2:3000": False, "10.0.0.3:3000": False})
    assert marked(state_dir) == ["10.0.0.2:3000"]  # 10.0.0.3 is the last one in rotation: it stays
    checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": False})
    checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": False})
    # 10.0.0.2 answers again: it comes back, and only then the failing 10.0.0.3 goes out.
    assert marked(state_dir) == ["10.0.0.3:3000"]


def test_a_server_drained_by_a_deploy_is_left_alone(state_dir):
    checker = Checker(TWO, state_dir)
    rotation.write_mark("deploy", "10.0.0.3:3000", "", state_dir)
    for _ in range(4):
        assert checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": False}) == []
    assert marked(state_dir) == []
    rotation.clear_mark("deploy", "10.0.0.3:3000", state_dir)
    # Counted afresh once the deploy put it back: one failure is not enough.
    assert checker.record({"10.0.0.2:3000": True, "10.0.0.3:3000": False}) == []


def test_out_refuses_the_last_server_unless_forced(conf_dir, state_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(rotation, "CONF_DIR", str(conf_dir))
    monkeypatch.setattr(rotation, "STATE_DIR", state_dir)
    monkeypatch.setattr(rotation, "LOCK_FILE", str(tmp_path / "lock"))
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 0))
    assert rotation.main(["out", "app1", "--reason", "deploy", "--note", "rolling deploy"]) == 0
    assert rotation.main(["out", "app2", "--reason", "deploy"]) == rotation.EXIT_LAST_SERVER
    assert "last server in rotation of nginx_proxy_shop.lab" in capsys.readouterr().err
    assert "10.0.0.2:3000 weight=1 max_fails=1 fail_timeout=10s down;" in (conf_dir / rotation.UPSTREAM_FILE).read_text()
    assert rotation.main(["out", "app9", "--reason", "deploy"]) == 4
    assert rotation.main(["in", "app1", "--reason", "deploy"]) == 0
    assert "down" not in (conf_dir / rotation.UPSTREAM_FILE).read_text().split("upstream", 1)[1]


@pytest.fixture
def tool(conf_dir, state_dir, monkeypatch, tmp_path):
    """The tool on the temporary configuration and state, with a stand-in nginx that accepts."""
    monkeypatch.setattr(rotation, "CONF_DIR", str(conf_dir))
    monkeypatch.setattr(rotation, "STATE_DIR", state_dir)
    monkeypatch.setattr(rotation, "LOCK_FILE", str(tmp_path / "lock"))
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 0))
    return conf_dir


def test_move_follows_an_app_host_to_its_new_port_with_its_marks(tool, state_dir, capsys):
    assert rotation.main(["out", "app1", "--reason", "deploy"]) == 0
    assert rotation.main(["move", "app1=10.0.0.2:3100/healthz", "app2=10.0.0.3:3000/"]) == 0
    assert capsys.readouterr().out.strip() == "moved"
    moved = json.loads((tool / rotation.DATA_FILE).read_text())["upstreams"][0]["servers"][0]
    assert (moved["address"], moved["port"], moved["health_path"]) == ("10.0.0.2:3100", 3100, "/healthz")
    # Still drained, under its new address: the deploy puts it back by name.
    text = (tool / rotation.UPSTREAM_FILE).read_text()
    assert "server 10.0.0.2:3100 weight=1 max_fails=1 fail_timeout=10s down;  # out of rotation: deploy" in text
    assert "10.0.0.2:3000" not in text
    assert list(rotation.read_state(state_dir)) == ["10.0.0.2:3100"]
    assert rotation.main(["move", "app1=10.0.0.2:3100/healthz", "app9=10.0.0.9:3000/"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "unchanged" and "not in this proxy's upstreams yet" in captured.err
    assert rotation.main(["move", "app1=10.0.0.2/healthz"]) == 1


def test_a_move_nginx_refuses_is_put_back(tool, state_dir, monkeypatch, tmp_path):
    before = (tool / rotation.DATA_FILE).read_text()
    rotation.write_mark("manual", "10.0.0.3:3000", "parked", state_dir)
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 1))
    assert rotation.main(["move", "app2=10.0.0.3:3100/"]) == 1
    assert json.loads((tool / rotation.DATA_FILE).read_text()) == json.loads(before)
    assert rotation.read_state(state_dir) == {"10.0.0.3:3000": {"manual": "parked"}}


def test_probe_says_whether_a_server_answers_from_this_proxy(tool, monkeypatch):
    answers = {"10.0.0.2:3000": True, "10.0.0.3:3000": False}
    monkeypatch.setattr(rotation, "probe", lambda server, host, timeout: answers[server["address"]])
    assert rotation.main(["probe", "app1", "--wait", "0"]) == 0
    assert rotation.main(["probe", "app2", "--wait", "0.2"]) == rotation.EXIT_NO_ANSWER

# The lock, the waits and the root `apply` (issue 27) -----------------------------------------------


@pytest.fixture
def lock_file(tmp_path, monkeypatch):
    path = tmp_path / "run" / "nginx-proxy-rotation" / "lock"
    monkeypatch.setattr(rotation, "LOCK_FILE", str(path))
    return path


def test_the_lock_is_root_s_alone(lock_file):
    with rotation.Lock():
        assert stat.S_IMODE(os.stat(lock_file.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(lock_file).st_mode) == 0o600
        assert lock_file.read_text() == f"{os.getpid()}\n"


def test_a_wait_for_the_lock_ends_with_an_error_naming_the_holder(lock_file):
    import time

    with rotation.Lock():
        started = time.monotonic()
        with pytest.raises(rotation.RotationError, match=rf"\(pid {os.getpid()}\) has held .*lock for more than 0.3 s"):
            with rotation.Lock(timeout=0.3):
                pass
        assert time.monotonic() - started < 2


def test_the_lock_is_not_taken_through_a_link(lock_file, tmp_path):
    lock_file.parent.mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", lock_file)
    with pytest.raises(OSError):
        with rotation.Lock():
            pass
    assert not (tmp_path / "elsewhere").exists()


def test_apply_refuses_health_marks_that_would_leave_an_upstream_empty(conf_dir, state_dir, lock_file, monkeypatch,
                                                                        tmp_path, capsys):
    monkeypatch.setattr(rotation, "CONF_DIR", str(conf_dir))
    monkeypatch.setattr(rotation, "STATE_DIR", state_dir)
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 0))
    assert rotation.main(["apply"]) == 0
    before = (conf_dir / rotation.UPSTREAM_FILE).read_text()
    rotation.write_mark("health", "10.0.0.2:3000", "", state_dir)
    rotation.write_mark("health", "10.0.0.3:3000", "", state_dir)
    assert rotation.main(["apply"]) == rotation.EXIT_LAST_SERVER
    assert "health marks would leave nginx_proxy_shop.lab with no server in rotation" in capsys.readouterr().err
    assert (conf_dir / rotation.UPSTREAM_FILE).read_text() == before
    # One server out for its health, the other still in: applied.
    rotation.clear_mark("health", "10.0.0.3:3000", state_dir)
    assert rotation.main(["apply"]) == 0
    assert "10.0.0.2:3000 weight=1 max_fails=1 fail_timeout=10s down;" in (conf_dir / rotation.UPSTREAM_FILE).read_text()


def test_a_server_a_deploy_or_an_operator_took_out_is_no_health_mark():
    state = {"10.0.0.2:3000": {"manual": ""}, "10.0.0.3:3000": {"deploy": ""}}
    assert rotation.health_emptied(TWO, state) == []
    assert rotation.health_emptied(TWO, {"10.0.0.2:3000": {"manual": ""}, "10.0.0.3:3000": {"health": ""}}) == [
        "nginx_proxy_shop.lab"]


def test_apply_reloads_at_most_once_per_health_check_interval(conf_dir, state_dir, lock_file, monkeypatch, tmp_path):
    import time

    monkeypatch.setattr(rotation, "CONF_DIR", str(conf_dir))
    monkeypatch.setattr(rotation, "STATE_DIR", state_dir)
    monkeypatch.setattr(rotation, "NGINX", fake_nginx(tmp_path, 0))
    started = time.monotonic()
    for round_ in range(4):
        if round_ % 2:
            rotation.clear_mark("health", "10.0.0.2:3000", state_dir)
        else:
            rotation.write_mark("health", "10.0.0.2:3000", "", state_dir)
        assert rotation.main(["apply"]) == 0
    # Four reloads, each at least one interval (1 s) after the one before.
    assert time.monotonic() - started >= 2.9
    # Nothing to reload: no wait.
    started = time.monotonic()
    assert rotation.main(["apply"]) == 0
    assert time.monotonic() - started < 0.5


def test_the_checker_gives_up_on_an_apply_that_hangs(state_dir, monkeypatch, capsys):
    monkeypatch.setattr(rotation, "LOCK_TIMEOUT", 0.2)
    monkeypatch.setattr(rotation, "COMMAND_TIMEOUT", 0.2)
    checker = rotation.HealthChecker(TWO, TWO["health"], state_dir=state_dir, apply_command=["sleep", "30"])
    assert checker.sync() is False
    assert "did not finish within 0.6 s" in capsys.readouterr().err


def test_endpoints_say_where_each_app_host_is_reached_as_move_takes_it(tool, capsys):
    assert rotation.main(["endpoints"]) == 0
    assert json.loads(capsys.readouterr().out) == {"app1": "10.0.0.2:3000/", "app2": "10.0.0.3:3000/"}
    assert rotation.main(["move", "app1=10.0.0.2:3100/healthz"]) == 0
    capsys.readouterr()
    assert rotation.main(["endpoints"]) == 0
    assert json.loads(capsys.readouterr().out)["app1"] == "10.0.0.2:3100/healthz"
