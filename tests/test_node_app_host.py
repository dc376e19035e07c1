"""The node_app_host module, run for real on this machine: what node_app's checks read in one step."""

import json
import os

from test_converged import run_module


def node_app_host(**args):
    return run_module("proxylab.webstack.node_app_host", args)


def test_it_reads_the_directories_the_user_and_the_releases(tmp_path):
    app = tmp_path / "srv" / "app"
    (app / "releases" / "aaa").mkdir(parents=True)
    (app / "releases" / ".hidden").mkdir()
    os.symlink("aaa", app / "releases" / "bbb")
    (tmp_path / "srv").chmod(0o775)
    (tmp_path / "state.json").write_text('{"release": "aaa"}')
    (tmp_path / "old.fact").write_text('{"user": "root"}')
    result = node_app_host(paths=[str(tmp_path), str(tmp_path / "srv"), str(app)], user="root",
                           user_marker=str(tmp_path / "no-marker"), old_facts=str(tmp_path / "old.fact"),
                           state_file=str(tmp_path / "state.json"), releases_dir=str(app / "releases"))
    assert result["changed"] is False
    parents, here = result["paths"][:-1], result["paths"][-1]
    assert [p["path"] for p in parents] == [str(tmp_path), str(tmp_path / "srv")]
    assert parents[1]["wgrp"] is True and parents[1]["mode"] == "0775" and parents[1]["woth"] is False
    assert here["exists"] and here["isdir"] and not here["islnk"] and here["uid"] == os.getuid()
    assert result["user"][:2] == ["x", "0"] and result["user"][4] == "/root"
    assert "root" in result["groups"].split()
    assert result["user_marker"] is False
    assert json.loads(result["old_facts"]) == {"user": "root"}
    assert json.loads(result["state"]) == {"release": "aaa"}
    assert result["releases"] == ["aaa"]
    assert result["releases_dir"]["isdir"] and result["releases_dir"]["mode"] == "0755"


def test_a_missing_user_directory_and_bookkeeping(tmp_path):
    link = tmp_path / "app"
    os.symlink(str(tmp_path), link)
    result = node_app_host(paths=[str(tmp_path), str(link)], user="proxylab-no-such-user",
                           user_marker=str(tmp_path / "m"), old_facts=str(tmp_path / "f"),
                           state_file=str(tmp_path / "s"), releases_dir=str(tmp_path / "none"))
    assert result["paths"][-1]["islnk"] is True
    assert result["user"] is None and result["groups"] == "" and result["sudo"]["rc"] == 1
    assert result["old_facts"] is None and result["state"] is None
    assert result["releases"] == [] and result["releases_dir"] == {"path": str(tmp_path / "none"), "exists": False}
