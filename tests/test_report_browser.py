"""The page of a stored `make failover` run (tests/fixtures/report/failover-lab/) in headless Chromium
(scripts/headless.py; `make pytest` installs Debian's chromium first, scripts/chromium.sh): the
chart is drawn, with one series per app server and the failures, its bands are labelled, nothing is
logged to the console, no request leaves the page, and it follows the reader's colour scheme.

Not skipped when Chromium is missing: the test fails and says how to get it."""

import importlib.util
import struct
import subprocess
import sys

import pytest

from helpers import FIXTURES, REPO_ROOT

spec = importlib.util.spec_from_file_location("headless", REPO_ROOT / "scripts" / "headless.py")
headless = importlib.util.module_from_spec(spec)
spec.loader.exec_module(headless)

DRAWN = """(() => {
  const svg = document.querySelector('#section-1 svg.chart');
  const box = svg.getBoundingClientRect();
  const series = [...svg.querySelectorAll('g.series')].map(g => ({
    name: g.dataset.series,
    drawn: [...g.querySelectorAll('rect')].filter(r => r.getBBox().height > 0 && r.getBBox().width > 0).length,
    colour: getComputedStyle(g.querySelector('rect')).fill}));
  const labels = [...svg.querySelectorAll('.state-labels text, .mark-labels text')].map(t => ({
    text: t.textContent, width: t.getComputedTextLength()}));
  const lines = [...svg.querySelectorAll('polyline.p50, polyline.p99')].filter(l => l.getTotalLength() > 0).length;
  const bands = [...svg.querySelectorAll('rect.mark')].filter(r => r.getBBox().width > 0).length;
  return {width: box.width, height: box.height, series, labels, lines, bands,
          background: getComputedStyle(document.body).backgroundColor,
          legend: [...document.querySelectorAll('#section-1 .legend li')].map(li => li.textContent)};
})()"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "failover.html"
    subprocess.run([sys.executable, str(REPO_ROOT / "playbooks" / "files" / "webstack-report.py"),
                    str(FIXTURES / "report" / "failover-lab" / "run.json"), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def browser():
    try:
        chromium = headless.find_chromium()
    except RuntimeError as error:
        pytest.fail(f"{error}: the report test needs Chromium")
    with headless.Browser(chromium) as opened:
        yield opened


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_chart_is_drawn_with_a_series_per_app_server_and_labelled_bands(browser, page_file, tmp_path, dark):
    page = browser.open(page_file.as_uri(), dark=dark)
    drawn = page.evaluate(DRAWN)
    assert drawn["width"] > 800 and drawn["height"] > 300, drawn
    assert [(s["name"], s["drawn"] > 0) for s in drawn["series"]] == [
        ("webstack-lab-app1", True), ("webstack-lab-app2", True), ("failed", True)]
    # Each series in a colour of its own.
    assert len({s["colour"] for s in drawn["series"]}) == 3, drawn["series"]
    texts = [label["text"] for label in drawn["labels"]]
    assert all(label["width"] > 0 for label in drawn["labels"]), drawn["labels"]
    for expected in ("2 app1 app stopped", "4 app1 VM switched off", "app1: VM switched off", "app2: hung",
                     "app1 out of rotation", "app2 out of rotation", "8 all app servers down"):
        assert expected in texts, (expected, texts)
    assert drawn["bands"] >= 10 and drawn["lines"] >= 9, drawn
    assert drawn["legend"][:3] == ["webstack-lab-app1", "webstack-lab-app2", "failed (any answer but 200, or no answer)"]
    assert drawn["background"] == ("rgb(21, 23, 26)" if dark else "rgb(255, 255, 255)")

    shot = page.screenshot(tmp_path / "report.png")
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and width >= 1000 and height > 1000
    assert shot.stat().st_size > 50_000  # a drawn chart and tables, not a blank page
    assert page.console == []
    assert page.requests == [page_file.as_uri()]
