"""scripts/bench.py (`make bench`): its parsing helpers only, on recorded outputs. No timing here:
the benchmark itself is a script, run by hand."""

import importlib.util

import pytest

from conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("bench", REPO_ROOT / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.12ms    3.40ms  61.20ms   88.31%
    Req/Sec     2.71k   312.45     3.40k    71.50%
  Latency Distribution
     50%    5.48ms
     75%    7.02ms
     90%    9.61ms
     99%    1.02s
  54012 requests in 10.01s, 43.70MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   5395.80
Transfer/sec:      4.37MB
"""

RECAP_OUTPUT = """\
PLAY [Floor] *******************************************************************

TASK [Ping] ********************************************************************
ok: [webstack-bench-app1]

PLAY RECAP *********************************************************************
webstack-bench-app1        : ok=61   changed=0    unreachable=0    failed=0    skipped=35   rescued=0    ignored=0
webstack-bench-app2        : ok=58   changed=2    unreachable=0    failed=0    skipped=35   rescued=0    ignored=0
webstack-bench-proxy       : ok=40   changed=0    unreachable=0    failed=0    skipped=12   rescued=0    ignored=0

"""


def test_wrk_output_gives_requests_per_second_p99_and_errors():
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result["rps"] == pytest.approx(5395.80)
    assert result["p99_ms"] == pytest.approx(1020.0)
    assert result["percentiles_ms"][50.0] == pytest.approx(5.48)
    assert result["requests"] == 54012
    assert result["socket_errors"] == 3
    assert result["non_2xx_3xx"] == 7


def test_wrk_output_in_microseconds_and_without_errors():
    output = WRK_OUTPUT.replace("1.02s", "870.00us").replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
    output = output.replace("  Non-2xx or 3xx responses: 7\n", "")
    result = bench.parse_wrk(output)
    assert result["p99_ms"] == pytest.approx(0.87)
    assert result["socket_errors"] == 0 and result["non_2xx_3xx"] == 0


def test_wrk_output_without_figures_is_an_error():
    with pytest.raises(ValueError):
        bench.parse_wrk("unable to connect to 127.0.0.1:80 Connection refused\n")


def test_play_recap_counts_per_host():
    recap = bench.parse_recap(RECAP_OUTPUT)
    assert set(recap) == {"webstack-bench-app1", "webstack-bench-app2", "webstack-bench-proxy"}
    assert recap["webstack-bench-app1"] == {"ok": 61, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 35,
                                            "rescued": 0, "ignored": 0}
    assert bench.changed_total(recap) == 2


def test_no_play_recap_gives_nothing():
    assert bench.parse_recap("ERROR! the playbook could not be found\n") == {}


def test_rss_separates_the_pm2_daemon_from_the_app():
    ps_output = """\
 52340 PM2 v7.0.4: God Daemon (/home/nodeapp/.pm2)
 61200 node /usr/local/lib/node_modules/pm2/lib/API/Serve.js
  3100 ps -u nodeapp -o rss=,args=
"""
    assert bench.parse_rss(ps_output) == {"app_kib": 61200, "daemon_kib": 52340}


def test_the_hashed_asset_of_a_built_page():
    page = ('<!doctype html><html><head><title>hello</title>'
            '<script defer src="/static/js/main.3f2a9c1b.js"></script></head><body></body></html>')
    assert bench.hashed_asset(page) == "/static/js/main.3f2a9c1b.js"
    with pytest.raises(ValueError):
        bench.hashed_asset("<html><body>no bundle</body></html>")


def test_proxy_settings_rows_are_ratios_to_the_first_row_with_their_errors():
    def figure(rps, p99, errors=0):
        return {"rps": rps, "p99_ms": p99, "non_2xx_3xx": errors, "socket_errors": 0}

    results = {"proxy_settings": [
        {"label": "defaults", "page": figure(4000, 20.0), "asset": figure(30000, 5.0),
         "large_asset": figure(1000, 50.0)},
        {"label": "gzip off", "page": figure(6000, 12.5), "asset": figure(15000, 9.0, errors=3),
         "large_asset": figure(2500, 20.0, errors=1)},
    ]}
    rows = bench.build_settings_rows(results)
    assert rows == [
        ("defaults", "4000 req/s (1.00x), p99 20.0 ms", "30000 req/s (1.00x), p99 5.0 ms",
         "1000 req/s (1.00x), p99 50.0 ms", "0"),
        ("gzip off", "6000 req/s (1.50x), p99 12.5 ms", "15000 req/s (0.50x), p99 9.0 ms",
         "2500 req/s (2.50x), p99 20.0 ms", "4"),
    ]
    table = bench.text_table(rows, bench.SETTINGS_HEADER)
    assert table.splitlines()[0].split("  ")[0] == "nginx_proxy setting"
    assert bench.build_settings_rows({}) == []
