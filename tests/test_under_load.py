"""scripts/under-load.py (`make deploy-demo`, `make rollback UNDER_LOAD=1`) without a lab: each app
server's switch read from Ansible's log, by the task names of playbooks/tasks/rolling_switch.yml;
the new release made from the lab's source."""

import importlib.util
from pathlib import Path

import yaml

from helpers import FIXTURES, REPO_ROOT

spec = importlib.util.spec_from_file_location("under_load", REPO_ROOT / "scripts" / "under-load.py")
under_load = importlib.util.module_from_spec(spec)
spec.loader.exec_module(under_load)

# From the log of a real `make deploy-demo` on the lab (two app servers, one proxy), shortened.
LOG = """\
2026-12-07 16:49:30,902 p=30826 u=root n=ansible INFO| TASK [Take the server out of rotation at every proxy] **************************
2026-12-07 16:49:31,761 p=30826 u=root n=ansible INFO| changed: [webstack-lab-app1 -> webstack-lab-proxy(127.0.0.1)] => (item=webstack-lab-proxy)
2026-12-07 16:49:31,767 p=30826 u=root n=ansible INFO| TASK [Say which proxies could not drain the server] ****************************
2026-12-07 16:49:31,793 p=30826 u=root n=ansible INFO| skipping: [webstack-lab-app1]
2026-12-07 16:49:46,010 p=30826 u=root n=ansible INFO| TASK [Put the server back into rotation at every proxy] ************************
2026-12-07 16:49:46,870 p=30826 u=root n=ansible INFO| changed: [webstack-lab-app1 -> webstack-lab-proxy(127.0.0.1)] => (item={'rc': 0})
2026-12-07 16:49:48,163 p=30826 u=root n=ansible INFO| TASK [Take the server out of rotation at every proxy] **************************
2026-12-07 16:49:49,173 p=30826 u=root n=ansible INFO| changed: [webstack-lab-app2 -> webstack-lab-proxy(127.0.0.1)] => (item=webstack-lab-proxy)
2026-12-07 16:50:04,500 p=30826 u=root n=ansible INFO| TASK [Put the server back into rotation at every proxy] ************************
2026-12-07 16:50:05,250 p=30826 u=root n=ansible INFO| changed: [webstack-lab-app2 -> webstack-lab-proxy(127.0.0.1)] => (item={'rc': 0})
"""


def test_each_switch_is_a_band_from_out_of_rotation_to_back(tmp_path):
    log = tmp_path / "ansible.log"
    log.write_text(LOG)
    marks = under_load.switch_marks(log)
    assert [(mark["label"], round(mark["end"] - mark["start"], 3)) for mark in marks] == [
        ("batch 1: webstack-lab-app1 out of rotation, switched to the release, back", 15.109),
        ("batch 2: webstack-lab-app2 out of rotation, switched to the release, back", 16.077)]
    assert {mark["kind"] for mark in marks} == {"deploy"}


def test_the_task_names_it_reads_are_those_of_the_rolling_switch():
    tasks = yaml.safe_load((REPO_ROOT / "playbooks" / "tasks" / "rolling_switch.yml").read_text())
    names = {task["name"] for block in tasks for task in [block, *block.get("block", []), *block.get("always", [])]}
    assert {under_load.OUT_TASK, under_load.BACK_TASK} <= names


def test_a_new_release_is_the_source_and_one_file_more(tmp_path):
    release = under_load.new_release(FIXTURES / "hello-app", tmp_path / "release", "deploy-20261207-164844")
    source = {path.relative_to(FIXTURES / "hello-app") for path in (FIXTURES / "hello-app").rglob("*")
              if "node_modules" not in path.parts and "build" not in path.parts}
    made = {path.relative_to(release) for path in release.rglob("*")}
    assert made == source | {Path("deploy-demo.txt")}
    assert "deploy-20261207-164844" in (release / "deploy-demo.txt").read_text()
