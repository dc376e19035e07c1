"""The helpers every test shares (tests/helpers.py), where a mistake would show as a wrong verdict in
another test: the polling, the PLAY RECAP reader."""

import time

import pytest

from helpers import recap, wait_for, wait_until


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
