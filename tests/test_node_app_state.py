"""node_app's bookkeeping and plan, in Python: the events of a deployment (module_utils/node_app_state.py,
run for real through the node_app_state module), and the plan of a run (filter node_app_plan)."""

import json
import os

import pytest

from helpers import install_collection_finder
from test_converged import run_module

from ansible_collections.proxylab.webstack.plugins.filter.node_app_plan import node_app_plan  # noqa: E402
from ansible_collections.proxylab.webstack.plugins.module_utils import node_app_state as bookkeeping  # noqa: E402

BASE = {"name": "app", "service": "pm2-app.service", "port": 3000, "user": "app", "dir": "/srv/app", "mode": "start",
        "pm2_home": "/home/app/.pm2", "health_path": "/"}


def test_a_release_prepared_then_live_then_replaced():
    state = bookkeeping.empty()
    state = bookkeeping.apply(state, "prepared", "aaa", source="/src (archive 1)", details={"mode": "start", "deps": "s1"})
    assert state["releases"] == ["aaa"] and state["info"]["aaa"] == {"source": "/src (archive 1)", "mode": "start",
                                                                    "deps": "s1", "prepared": True}
    state = bookkeeping.apply(state, "live", "aaa")
    assert state["release"] == "aaa" and state["previous_release"] == ""
    state = bookkeeping.apply(bookkeeping.apply(state, "prepared", "bbb", source="/src (archive 2)"), "live", "bbb")
    assert (state["release"], state["previous_release"]) == ("bbb", "aaa")
    # Live again: the one before stays the one before.
    assert bookkeeping.apply(state, "live", "bbb")["previous_release"] == "aaa"


def test_a_failed_health_gate_rolled_back_keeps_the_release_before_live():
    state = bookkeeping.apply(bookkeeping.apply(bookkeeping.empty(), "prepared", "aaa", source="s"), "live", "aaa")
    state = bookkeeping.apply(state, "prepared", "bbb", source="s2")
    state = bookkeeping.apply(state, "health_failed", "bbb", live_before="aaa", rolled_back=True, reason="no 200")
    assert state["release"] == "aaa" and state["failed_releases"] == ["bbb"]
    assert state["info"]["bbb"]["failure"] == "no 200"
    # Without a release to roll back to, the failed one stays live (and recorded as failed).
    alone = bookkeeping.apply(bookkeeping.empty(), "health_failed", "ccc", reason="x")
    assert alone["release"] == "ccc" and alone["failed_releases"] == ["ccc"]
    # Deploying it again and passing clears the failure.
    again = bookkeeping.apply(bookkeeping.apply(state, "prepared", "bbb", source="s2"), "live", "bbb")
    assert again["failed_releases"] == [] and "failure" not in again["info"]["bbb"]


def test_a_failed_preparation_is_recorded_with_its_reason_cut_to_length():
    state = bookkeeping.apply(bookkeeping.empty(), "prepare_failed", "aaa", source="s", reason="x" * 5000)
    assert state["releases"] == ["aaa"] and state["failed_releases"] == ["aaa"]
    assert state["info"]["aaa"]["prepared"] is False and len(state["info"]["aaa"]["failure"]) == 2000


def test_keeping_releases_forgets_failed_ones_first_then_the_oldest_never_the_live_or_previous():
    state = bookkeeping.empty()
    for release in ("r1", "r2", "r3", "r4", "r5"):
        state = bookkeeping.apply(state, "prepared", release, source=release)
    state = bookkeeping.apply(state, "live", "r1")
    state = bookkeeping.apply(state, "prepare_failed", "r3", reason="broken")
    state = bookkeeping.apply(state, "live", "r5", keep=3)
    # r1 is the one before r5; r3 failed; r2 is the oldest of the others.
    assert state["releases"] == ["r1", "r4", "r5"]
    assert set(state["info"]) == {"r1", "r4", "r5", "r3"}, "a failed release's reason outlives its directory"


def test_prune_removes_the_oldest_but_never_the_protected():
    releases = ["r1", "r2", "r3", "r4", "r5"]
    assert bookkeeping.to_prune(releases, 3, ["r5", "r4"]) == ["r1", "r2"]
    # The live release may be an old one (after a rollback): it stays, and so does the one before.
    assert bookkeeping.to_prune(releases, 3, ["r1", "r5"]) == ["r2", "r3"]
    assert bookkeeping.to_prune(releases, 2, ["r1", "r2"]) == ["r3", "r4", "r5"]
    assert bookkeeping.to_prune(releases[:2], 3, ["r2", ""]) == []
    # Failed releases go first, whatever their age; never a protected one.
    assert bookkeeping.to_prune(releases, 3, ["r5", "r4"], ["r3"]) == ["r1", "r3"]
    assert bookkeeping.to_prune(releases, 3, ["r5", "r4"], ["r4"]) == ["r1", "r2"]


def test_only_the_last_ten_failures_are_kept():
    state = bookkeeping.empty()
    for number in range(12):
        state = bookkeeping.apply(state, "prepare_failed", f"f{number:02}", source="s", reason="r")
    assert state["failed_releases"] == [f"f{number:02}" for number in range(2, 12)]


def test_an_unreadable_or_foreign_bookkeeping_reads_as_empty():
    assert bookkeeping.load(None) == bookkeeping.empty()
    assert bookkeeping.load("not json") == bookkeeping.empty()
    assert bookkeeping.load('{"release": 3, "releases": ["a", "b"]}', on_disk=["b"])["releases"] == ["b"]


def test_the_module_writes_the_bookkeeping_and_the_facts_once(tmp_path):
    args = {"path": str(tmp_path / "state.json"), "facts_path": str(tmp_path / "app.fact"), "facts": BASE,
            "event": "prepared", "release": "aaa", "source": "s"}
    first = run_module("proxylab.webstack.node_app_state", args)
    assert first["changed"] is True
    assert oct(os.stat(args["path"]).st_mode & 0o777) == "0o600"
    assert oct(os.stat(args["facts_path"]).st_mode & 0o777) == "0o644"
    assert json.loads((tmp_path / "app.fact").read_text())["releases"] == ["aaa"]
    assert run_module("proxylab.webstack.node_app_state", args)["changed"] is False
    # A facts file edited by hand is written again as it should be, by any event, `none` too.
    (tmp_path / "app.fact").write_text("{}\n")
    again = run_module("proxylab.webstack.node_app_state", {**args, "event": "none", "release": ""})
    assert again["changed"] is True and json.loads((tmp_path / "app.fact").read_text())["releases"] == ["aaa"]
    assert sorted(os.listdir(tmp_path)) == ["app.fact", "state.json"], "no temporary file is left"


def test_the_module_names_the_release_directories_to_remove(tmp_path):
    releases = tmp_path / "releases"
    for name in ("r1", "r2", "r3", "stray"):
        (releases / name).mkdir(parents=True)
    args = {"path": str(tmp_path / "state.json"), "facts_path": str(tmp_path / "app.fact"), "facts": BASE}
    for name in ("r1", "r2", "r3"):
        run_module("proxylab.webstack.node_app_state", {**args, "event": "prepared", "release": name, "source": name})
    result = run_module("proxylab.webstack.node_app_state",
                        {**args, "event": "live", "release": "r3", "keep": 2, "releases_dir": str(releases)})
    assert result["state"]["releases"] == ["r2", "r3"]
    assert result["remove"] == ["r1", "stray"]


# The plan ------------------------------------------------------------------------------------------

SETTINGS = {"node_app_release": "", "node_app_src": "/src/app", "node_app_repo": "", "node_app_version": "",
            "node_app_mode": "start", "node_app_instances": 1, "node_app_dir": "/srv/app"}
RENDERED = {"ecosystem": "e" * 40, "unit": "u" * 40}
ARCHIVE = {"id": "bbbbbbbbbbbb", "checksum": "c1", "path": "/cache/bbbbbbbbbbbb.tar.gz"}


def root_dir(path):
    return {"path": path, "exists": True, "isdir": True, "islnk": False, "uid": 0, "gid": 0, "mode": "0755"}


def host(live="aaaaaaaaaaaa", **changes):
    """What node_app_host reads on a host where release `live` runs as this run would leave it."""
    state = bookkeeping.apply(bookkeeping.apply(bookkeeping.empty(), "prepared", live, source="s"), "live", live)
    read = {
        "paths": [root_dir("/"), root_dir("/srv"), root_dir("/srv/app")],
        "user": ["x", "999", "999", "", "/home/app", "/usr/sbin/nologin"],
        "state": state,
        "releases_dir": root_dir("/srv/app/releases"),
        "release_dirs": {live: {"exists": True, "isdir": True, "islnk": False, "uid": 999, "mode": "0750"}},
        "current": {"exists": True, "islnk": True, "target": f"/srv/app/releases/{live}"},
        "ecosystem": {"regular": True, "mode": "0600", "uid": 999, "sha1": RENDERED["ecosystem"]},
        "pm2": {"active_state": "active", "unit_file_state": "enabled", "need_daemon_reload": False, "drop_ins": [],
                "fragment": "/etc/systemd/system/pm2-app.service", "online": 1,
                "file": {"regular": True, "uid": 0, "sha1": RENDERED["unit"]}},
        "facts": bookkeeping.facts_text(BASE, state),
    }
    for key, value in changes.items():
        read[key] = value
    return read


def plan(read, **settings):
    return node_app_plan(read, {**SETTINGS, **settings}, {**ARCHIVE, "id": read["state"]["release"] or "bbbbbbbbbbbb"},
                         "", RENDERED, BASE)


def test_a_live_release_as_this_run_leaves_it_needs_nothing():
    result = plan(host())
    assert result["switch"] is False and result["reasons"] == []
    assert result["prepare"] is False and result["fresh"] is False and result["online"] is True


@pytest.mark.parametrize("change, reason", [
    ({"current": {"exists": False}}, "current does not point at release"),
    ({"ecosystem": {"regular": True, "mode": "0644", "uid": 999, "sha1": "e" * 40}}, "ecosystem file"),
    ({"facts": "{}\n"}, "local facts"),
])
def test_what_the_live_app_runs_with_is_compared(change, reason):
    result = plan(host(**change))
    assert result["switch"] is True and any(reason in text for text in result["reasons"]), result["reasons"]


@pytest.mark.parametrize("pm2, reason", [
    ({"unit_file_state": "disabled"}, "not enabled"),
    ({"drop_ins": ["/etc/systemd/system/pm2-app.service.d/x.conf"]}, "drop-ins change the PM2 unit"),
    ({"need_daemon_reload": True}, "not loaded the PM2 unit"),
    ({"file": {"regular": True, "uid": 0, "sha1": "0" * 40}}, "is not the one this run writes"),
    ({"online": 0}, "0 of 1 processes"),
    ({"active_state": "failed"}, "the PM2 unit is failed"),
])
def test_the_pm2_unit_is_compared(pm2, reason):
    read = host()
    read["pm2"] = {**read["pm2"], **pm2}
    result = plan(read)
    assert result["switch"] is True and any(reason in text for text in result["reasons"]), result["reasons"]


def test_a_release_directory_opened_by_someone_is_put_back_by_the_switch():
    read = host()
    read["release_dirs"]["aaaaaaaaaaaa"]["mode"] = "0777"
    assert plan(read)["switch"] is True


def test_a_new_source_is_prepared_and_switched_to():
    result = node_app_plan(host(), SETTINGS, ARCHIVE, "", RENDERED, BASE)
    assert result["target"] == "bbbbbbbbbbbb" and result["fresh"] and result["prepare"] and result["switch"]
    assert result["source"] == "/src/app (archive c1)" and result["carry"] is True


def test_static_mode_builds_a_release_prepared_for_start_mode_only():
    result = plan(host(), node_app_mode="static")
    assert result["build"] is True and result["fresh"] is False and result["prepare"] is True


def test_node_app_release_previous_names_the_release_before():
    read = host()
    read["state"] = {**read["state"], "previous_release": "999999999999"}
    result = node_app_plan(read, {**SETTINGS, "node_app_release": "previous"}, {}, "", RENDERED, BASE)
    assert result["target"] == "999999999999" and result["fresh"] is False and result["source"] == "release previous"


def test_node_app_dir_opened_by_someone_is_prepared_again():
    read = host()
    read["paths"][-1] = {**read["paths"][-1], "mode": "0775"}
    assert plan(read)["prepare"] is True
