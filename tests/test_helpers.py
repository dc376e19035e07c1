"""The helpers every test shares (tests/helpers.py), where a mistake would show as a wrong verdict in
another test: the derived fixture apps, the polling, the PLAY RECAP reader."""

import filecmp
import json
import time

import pytest

from helpers import FIXTURES, derive_fixture, recap, wait_for, wait_until


def test_hello_app_2_0_0_is_hello_app_with_another_version_and_without_v1_only(tmp_path):
    derived = derive_fixture("hello-app", tmp_path / "hello-app-v2", "2.0.0", drop=["v1-only.txt"])
    original = FIXTURES / "hello-app"
    assert not (derived / "v1-only.txt").exists() and (original / "v1-only.txt").exists()
    assert json.loads((derived / "package.json").read_text())["version"] == "2.0.0"
    lock = json.loads((derived / "package-lock.json").read_text())
    assert lock["version"] == lock["packages"][""]["version"] == "2.0.0"
    # The dependencies are those of 1.0.0.
    assert lock["packages"] == {**json.loads((original / "package-lock.json").read_text())["packages"],
                                "": lock["packages"][""]}
    same = sorted(path.name for path in original.iterdir() if path.suffix == ".js" or path.name == "README.md")
    _, mismatch, errors = filecmp.cmpfiles(original, derived, same, shallow=False)
    assert not mismatch and not errors


def test_a_file_to_drop_that_the_app_does_not_have_is_an_error(tmp_path):
    with pytest.raises(AssertionError, match="no-such-file"):
        derive_fixture("hello-app", tmp_path / "app", "2.0.0", drop=["no-such-file"])


def test_wait_for_returns_the_last_value_and_wait_until_the_seconds():
    values = iter([0, None, "ready"])
    assert wait_for(lambda: next(values), timeout=5, interval=0.01) == "ready"
    assert wait_for(lambda: [], timeout=0.05, interval=0.01) == []
    started = time.monotonic()
    assert 0.05 <= wait_until(lambda: time.monotonic() - started > 0.05, timeout=5, interval=0.01) < 1


def test_wait_until_fails_with_its_message_after_the_timeout():
    with pytest.raises(AssertionError, match=r"^not within 0.05 s$"):
        wait_until(lambda: False, timeout=0.05, interval=0.01)
    last = {"status": 502}
    with pytest.raises(AssertionError, match=r"^last status 502$"):
        wait_until(lambda: False, timeout=0.05, interval=0.01, message=lambda: f"last status {last['status']}")


def test_recap_reads_every_host_of_a_play_recap_in_colour_or_not():
    output = (
        "PLAY RECAP *********************************************************************\n"
        "default-app1               : ok=30   changed=2    unreachable=0    failed=0    skipped=5    rescued=0    ignored=0   \n"
        "\x1b[0;33mdefault-app2\x1b[0m               : \x1b[0;32mok=29  \x1b[0m \x1b[0;33mchanged=1   \x1b[0m unreachable=0    "
        "failed=1    skipped=5    rescued=0    ignored=0   \n"
    )
    found = recap(output)
    assert found["default-app1"]["changed"] == 2 and found["default-app1"]["ok"] == 30
    assert found["default-app2"] == {"ok": 29, "changed": 1, "unreachable": 0, "failed": 1, "skipped": 5,
                                     "rescued": 0, "ignored": 0}
