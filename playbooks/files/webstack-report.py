"""Draw a run of webstack-load.py as one self-contained HTML page: a timeline and the table.

  python3 webstack-report.py RUN_DIR/run.json REPORT.html

For each section of the run (the app servers failed in turn; the proxy that holds the floating
address failed; a rolling deploy) the page shows a chart of requests per second, stacked by the app
server (or the proxy) that answered, failed requests in their own colour, the latency p50 and p99 of
each second on a second axis (log scale), the states of the experiment and what happened during
them (a fault done, a server out of rotation and back, the floating address moving, a deploy batch)
as labelled bands; under it the table of each state, and the chart's figures second by second in a
table of their own, for screen readers and for anyone who wants the numbers. The chart is inline
SVG drawn here; the page loads nothing (its Content-Security-Policy forbids it) and follows the
reader's light or dark colour scheme.

run.json (written by playbooks/failover_check.yml and scripts/under-load.py):

  {"title": "...", "run": "failover-20261207-162322", "notes": ["...", ...],
   "sections": [{
     "title": "...", "intro": "...",
     "stack_by": "upstream" | "proxy",         which header names a bar's series
     "names": {"10.0.0.21:3000": "app1"},      addresses as the header gives them -> names shown
     "series": ["app1", "app2"],               the series expected (one per server), in this order
     "columns": "app" | "proxy",               the table's columns (latency, or the floating address)
     "states": [{"name": "...", "record": "app-01.tsv.gz" (beside run.json), "summary": {load JSON},
                 "holder_before": "...", "holder_after": "..."}],
     "marks": [{"start": <Unix time>, "end": <Unix time, or null: until the end>,
                "kind": "fault" | "out" | "vip" | "deploy" | "run", "label": "..."}],
     "journals": [{"source": "nginx-proxy-health" | "keepalived", "host": "<inventory name>",
                   "lines": ["<journalctl -o json line>", ...]}]}]}
                   (a line's _HOSTNAME, when there, names the host in X-Proxy)

Bars count requests by the second their answer (or failure) came, so the bars of a state add up to
the requests of its row in the table. Each state had a load of its own: the chart puts the states
side by side on one axis of seconds into each state, with a narrow hatched break for the time
between two of them (no load ran then; marks that fall there are drawn inside the break).
"""

import argparse
import gzip
import html
import json
import math
import re
import tempfile
import time
from pathlib import Path

FAILED = "failed"
# Marks found in journals: the active health checker's lines (nginx-proxy-rotation health-check) and
# keepalived's state changes.
_OUT = re.compile(r"^(\S+) failed \d+ probes .*: out of rotation$")
_BACK = re.compile(r"^(\S+) answers again .*: back in rotation$")
_VRRP = re.compile(r"Entering (MASTER|BACKUP|FAULT) STATE")
MARK_KINDS = {
    "fault": "fault done",
    "out": "out of rotation",
    "vip": "floating address moved",
    "deploy": "deploy batch (drained, switched, back)",
    "run": "the command runs",
}

# Chart geometry, in the SVG's own units (it scales to the page's width).
WIDTH, LEFT, RIGHT, PLOT_HEIGHT, LANE, AXIS, BREAK = 1000, 64, 72, 260, 17, 44, 14
CHAR = 6.1  # average width of a character of the 11-unit labels


def read_header(path):
    """The first line of a record of webstack-load.py: when it started, what it loaded."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header = json.loads(handle.readline())
    if header.get("format") != "webstack-load-record" or header.get("version") != 1:
        raise SystemExit(f"{path}: not a record of webstack-load.py (format 1)")
    return header


def read_rows(path):
    """The requests of a record, one at a time: (end time, outcome, upstream, proxy, latency in ms)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        started = json.loads(handle.readline())["started"]
        for line in handle:
            start_ms, latency, _kind, outcome, upstream, proxy, _retried = line.rstrip("\n").split("\t")
            latency = float(latency)
            yield started + (float(start_ms) + latency) / 1000, outcome, upstream, proxy, latency


def percentile(counts, total, fraction):
    """Nearest-rank percentile of {value: count}."""
    rank, seen = max(1, math.ceil(fraction * total)), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return 0.0


class Second:
    """What one second of one state holds: requests by series, and their latencies (rounded)."""

    def __init__(self):
        self.counts = {}
        self.latencies = {}
        self.total = 0

    def add(self, series, latency):
        self.counts[series] = self.counts.get(series, 0) + 1
        key = round(latency, 1)
        self.latencies[key] = self.latencies.get(key, 0) + 1
        self.total += 1

    def p(self, fraction):
        return percentile(self.latencies, self.total, fraction)


def journal_marks(journal, names):
    """Marks from a journal's lines (journalctl -o json): servers out of rotation and back, and the
    proxy that took the floating address."""
    marks, out_since = [], {}
    for line in journal.get("lines", []):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("MESSAGE")
        if not isinstance(message, str):
            continue
        at = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
        if journal["source"] == "nginx-proxy-health":
            if match := _OUT.match(message):
                out_since[match.group(1)] = at
            elif (match := _BACK.match(message)) and match.group(1) in out_since:
                address = match.group(1)
                marks.append({"start": out_since.pop(address), "end": at, "kind": "out",
                              "label": f"{names.get(address, address)} out of rotation (health checks)"})
        elif journal["source"] == "keepalived" and (match := _VRRP.search(message)) and match.group(1) == "MASTER":
            marks.append({"start": at, "end": at, "kind": "vip", "label": f"floating address to {journal['host']}"})
    marks += [{"start": at, "end": None, "kind": "out", "label": f"{names.get(address, address)} out of rotation (health checks)"}
              for address, at in out_since.items()]
    return marks


def journal_hostnames(journals):
    """{host name a machine gives itself: its name in the inventory}, from the journals' lines."""
    names = {}
    for journal in journals:
        for line in journal.get("lines", []):
            try:
                hostname = json.loads(line).get("_HOSTNAME")
            except ValueError:
                continue
            if isinstance(hostname, str) and hostname and journal.get("host"):
                names.setdefault(hostname, journal["host"])
    return names


class Section:
    """One chart and its tables: each state's record binned by second (from the state's own start) and
    series. The chart puts the states side by side on one time axis; the stretches between them, when
    no load ran (servers being put back), are drawn as narrow breaks."""

    def __init__(self, spec, base):
        self.spec = spec
        # A proxy names itself in X-Proxy by its host name, which its journal lines carry (_HOSTNAME).
        self.names = {**journal_hostnames(spec.get("journals", [])), **spec.get("names", {})}
        self.stack_by = spec.get("stack_by", "upstream")
        self.series = list(spec.get("series", []))
        self.states = []
        self.seconds = {}  # (state index, second of the state) -> Second
        for index, state in enumerate(spec["states"]):
            header = read_header(base / state["record"])
            start = end = header["started"]
            for ended, outcome, upstream, proxy, latency in read_rows(base / state["record"]):
                series = self.series_of(outcome, upstream, proxy)
                if series != FAILED and series not in self.series:
                    self.series.append(series)
                self.seconds.setdefault((index, max(0, int(ended - start))), Second()).add(series, latency)
                end = max(end, ended)
            self.states.append({**state, "start": start, "end": end, "length": max(1, math.ceil(end - start))})
        self.short = short_names(self.series)
        self.marks = list(spec.get("marks", []))
        for journal in spec.get("journals", []):
            self.marks += journal_marks(journal, self.names)
        self.marks = [mark for mark in self.marks if self.in_window(mark)]
        self.marks.sort(key=lambda mark: mark["start"])
        self.t0 = self.states[0]["start"] if self.states else 0.0

    def series_of(self, outcome, upstream, proxy):
        if outcome != "200":
            return FAILED
        key = proxy if self.stack_by == "proxy" else upstream
        return self.names.get(key, key) if key != "-" else "answered (server not named)"

    def in_window(self, mark):
        """Marks of this run only: a journal read from a little before the run's start may hold older lines."""
        if not self.states:
            return False
        first, last = self.states[0]["start"] - 5, max(state["end"] for state in self.states) + 5
        return mark["start"] <= last and (mark["end"] or mark["start"]) >= first

    def shorten(self, text):
        """A label for the chart: server names without the prefix they share, no remark in parentheses."""
        for name in sorted(self.short, key=len, reverse=True):
            text = text.replace(name, self.short[name])
        return re.sub(r" \([^)]*\)", "", text)

    def when(self, unix):
        """Where a moment lies: 'state 3, 2.4 s', or in a stretch without load, after the state before it."""
        states = self.states
        if unix < states[0]["start"]:
            return f"{states[0]['start'] - unix:.1f} s before state 1"
        for index, state in reversed(list(enumerate(states))):
            if unix >= state["start"]:
                into = unix - state["start"]
                if into <= state["length"]:
                    return f"state {index + 1}, {into:.1f} s"
                return f"{into - state['length']:.1f} s after state {index + 1}"
        return ""

    # ---- the time axis ----------------------------------------------------------------------------------

    def layout(self):
        """(scale, [x of each state's start]): the states side by side, BREAK units between them."""
        plot_width = WIDTH - LEFT - RIGHT
        breaks = BREAK * (len(self.states) - 1)
        scale = (plot_width - breaks) / sum(state["length"] for state in self.states)
        starts, x = [], LEFT
        for state in self.states:
            starts.append(x)
            x += state["length"] * scale + BREAK
        return scale, starts

    def x_of(self, unix, scale, starts):
        """The x of a moment: inside a state at its place, between two states inside the break."""
        states = self.states
        if unix <= states[0]["start"]:
            return LEFT
        for index, state in enumerate(states):
            end = state["start"] + state["length"]
            if unix <= end:
                return starts[index] + (unix - state["start"]) * scale
            if index + 1 < len(states) and unix < states[index + 1]["start"]:
                share = (unix - end) / max(states[index + 1]["start"] - end, 1e-9)
                return starts[index] + state["length"] * scale + share * BREAK
        return WIDTH - RIGHT

    # ---- the chart --------------------------------------------------------------------------------------

    def svg(self, section_id):
        scale, starts = self.layout()

        def x(unix):
            return self.x_of(unix, scale, starts)

        state_rows = lanes(self.state_items(scale, starts))
        mark_rows = lanes(self.mark_items(x))
        top = 6 + LANE * (len(state_rows) + len(mark_rows)) + 8
        bottom = top + PLOT_HEIGHT
        height = bottom + AXIS
        peak = max([data.total for data in self.seconds.values()] + [1])
        step, y_max = nice_scale(peak)

        def y(count):
            return bottom - count / y_max * PLOT_HEIGHT

        p50s = [data.p(0.5) for data in self.seconds.values()]
        p99s = [data.p(0.99) for data in self.seconds.values()]
        low = math.floor(math.log10(max(min(p50s + [1.0]), 0.1)))
        high = max(math.ceil(math.log10(max(p99s + [10.0]))), low + 1)

        def y_latency(ms):
            return bottom - (math.log10(max(ms, 10 ** low)) - low) / (high - low) * PLOT_HEIGHT

        out = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{section_id}-title {section_id}-desc" '
               'xmlns="http://www.w3.org/2000/svg" class="chart">',
               f'<title id="{section_id}-title">{esc(self.spec["title"])}: requests per second and latency</title>',
               f'<desc id="{section_id}-desc">{esc(self.description())}</desc>',
               f'<defs><pattern id="{section_id}-hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
               'patternTransform="rotate(45)"><rect width="5" height="5" class="failed-fill"/>'
               '<line x1="0" y1="0" x2="0" y2="5" class="failed-stripe"/></pattern>'
               f'<pattern id="{section_id}-gap" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
               '<line x1="0" y1="0" x2="0" y2="4" class="gap-stripe"/></pattern></defs>']
        # Behind everything: the states' windows, and the breaks where no load ran.
        for index, state in enumerate(self.states):
            width = state["length"] * scale
            out.append(f'<rect class="state-band" x="{starts[index]:.1f}" y="{top}" width="{width:.1f}" height="{PLOT_HEIGHT}"/>')
            if index + 1 < len(self.states):
                pause = self.states[index + 1]["start"] - (state["start"] + state["length"])
                out.append(f'<rect class="gap" fill="url(#{section_id}-gap)" x="{starts[index] + width:.1f}" y="{top}" '
                           f'width="{BREAK}" height="{PLOT_HEIGHT}"><title>{pause:.0f} s without load between states '
                           f'{index + 1} and {index + 2}</title></rect>')
        # Marks behind the bars, so the bars keep their colours.
        for mark in self.marks:
            x1 = x(mark["start"])
            x2 = x(mark["end"]) if mark["end"] else WIDTH - RIGHT
            out.append(f'<rect class="mark {mark["kind"]}" x="{x1:.1f}" y="{top}" width="{max(x2 - x1, 2):.1f}" height="{PLOT_HEIGHT}">'
                       f'<title>{esc(mark["label"])}</title></rect>')
        # Grid and axes.
        out.append('<g class="grid">')
        out += [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(count):.1f}" y2="{y(count):.1f}"/>'
                for count in range(0, y_max + 1, step)]
        out.append('</g><g class="axis">')
        out += [f'<text x="{LEFT - 6}" y="{y(count) + 4:.1f}" text-anchor="end">{count}</text>' for count in range(0, y_max + 1, step)]
        out += [f'<text x="{WIDTH - RIGHT + 6}" y="{y_latency(10 ** decade) + 4:.1f}">{10 ** decade:g}</text>'
                for decade in range(low, high + 1)]
        tick = next(step for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600) if step * scale >= 26)
        for index, state in enumerate(self.states):
            for second in range(0, state["length"] + 1, tick):
                at = starts[index] + second * scale
                out.append(f'<line class="tick" x1="{at:.1f}" x2="{at:.1f}" y1="{bottom}" y2="{bottom + 4}"/>'
                           f'<text x="{at:.1f}" y="{bottom + 15}" text-anchor="middle">{second}</text>')
        if len(self.states) > 1:
            x_label = "seconds into each state (bars: requests by the second their answer came; hatched gaps: no load)"
        else:
            x_label = f"seconds since {clock(self.t0)} (bars: requests by the second their answer came)"
        out.append(f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}"/>'
                   f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.0f}" y="{bottom + 32}" text-anchor="middle">{esc(x_label)}</text>'
                   f'<text transform="translate(16 {top + PLOT_HEIGHT / 2:.0f}) rotate(-90)" text-anchor="middle">'
                   'requests per second</text>'
                   f'<text transform="translate({WIDTH - 16} {top + PLOT_HEIGHT / 2:.0f}) rotate(90)" text-anchor="middle">'
                   'latency, ms (log scale)</text></g>')
        # Bars: one group per series, stacked in the order of the legend, failed requests on top.
        order = self.series + [FAILED]
        base = dict.fromkeys(self.seconds, 0)
        width = max(scale - 1, 0.8)
        for number, series in enumerate(order):
            cls = "failed" if series == FAILED else f"s{number % 6}"
            fill = f' fill="url(#{section_id}-hatch)"' if series == FAILED else ""
            out.append(f'<g class="series {cls}" data-series="{esc(series)}"{fill}>')
            for (index, second), data in sorted(self.seconds.items()):
                count = data.counts.get(series, 0)
                if not count:
                    continue
                y1, y2 = y(base[(index, second)] + count), y(base[(index, second)])
                out.append(f'<rect x="{starts[index] + second * scale + 0.5:.1f}" y="{y1:.1f}" width="{width:.1f}" '
                           f'height="{max(y2 - y1, 0.5):.1f}" data-state="{index + 1}" data-second="{second}" data-count="{count}"/>')
                base[(index, second)] += count
            out.append('</g>')
        # Latency lines, one piece per state.
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            for index, _state in enumerate(self.states):
                points = [(starts[index] + (second + 0.5) * scale, y_latency(data.p(fraction)))
                          for (number, second), data in sorted(self.seconds.items()) if number == index]
                if len(points) == 1:
                    out.append(f'<circle class="{name}-dot" cx="{points[0][0]:.1f}" cy="{points[0][1]:.1f}" r="2"/>')
                elif points:
                    out.append(f'<polyline class="{name}" points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in points)}"/>')
        # The labels above the plot: the states, then the marks.
        lane_y = 6
        for group, rows in (("state-labels", state_rows), ("mark-labels", mark_rows)):
            out.append(f'<g class="{group}">')
            for row in rows:
                out += [item["draw"](lane_y, top) for item in row]
                lane_y += LANE
            out.append('</g>')
        # A title per second and state, for a pointer's hover.
        out.append('<g class="hover">')
        for (index, second), data in sorted(self.seconds.items()):
            parts = ", ".join(f"{series} {data.counts[series]}" for series in order if data.counts.get(series))
            out.append(f'<rect x="{starts[index] + second * scale:.1f}" y="{top}" width="{scale:.1f}" height="{PLOT_HEIGHT}">'
                       f'<title>state {index + 1}, {second} s: {esc(parts)}; p50 {data.p(0.5):g} ms, p99 {data.p(0.99):g} ms'
                       '</title></rect>')
        out.append('</g></svg>')
        return "\n".join(out)

    def state_items(self, scale, starts):
        items = []
        for index, state in enumerate(self.states):
            x1, x2 = starts[index], starts[index] + state["length"] * scale
            label = f"{index + 1} {self.shorten(state['name'])}" if len(self.states) > 1 else self.shorten(state["name"])

            def draw(lane_y, _top, x1=x1, x2=x2, label=label):
                return (f'<g class="state-label"><line x1="{x1 + 1:.1f}" x2="{x2 - 1:.1f}" y1="{lane_y + 13}" y2="{lane_y + 13}"/>'
                        f'<text x="{x1 + 1:.1f}" y="{lane_y + 10}">{esc(label)}</text></g>')
            items.append({"x1": x1, "x2": max(x2, x1 + len(label) * CHAR), "draw": draw})
        return items

    def mark_items(self, x):
        items = []
        for mark in self.marks:
            x1 = x(mark["start"])
            label = self.shorten(mark["label"])
            width = len(label) * CHAR + 12
            text_x = min(x1, WIDTH - RIGHT - width)

            def draw(lane_y, top, x1=x1, text_x=text_x, label=label, full=mark["label"], kind=mark["kind"]):
                return (f'<g class="mark-label {kind}"><title>{esc(full)}</title>'
                        f'<line class="guide" x1="{x1:.1f}" x2="{x1:.1f}" y1="{lane_y + 12}" y2="{top}"/>'
                        f'<rect class="swatch" x="{text_x:.1f}" y="{lane_y + 3}" width="8" height="8"/>'
                        f'<text x="{text_x + 11:.1f}" y="{lane_y + 11}">{esc(label)}</text></g>')
            items.append({"x1": text_x, "x2": text_x + width, "draw": draw})
        return items

    def description(self):
        """The chart in words (the SVG's desc, read by screen readers)."""
        parts = [f"{len(self.states)} state{'s' if len(self.states) != 1 else ''}, each with its own load."]
        for index, state in enumerate(self.states):
            summary = state["summary"]
            parts.append(f'State {index + 1}, {state["name"]}: {summary["ok"]} of {summary["requests"]} requests answered'
                         + (f', {summary["failed"]} failed' if summary["failed"] else "") + ".")
        parts += [f'{mark["label"]}: {self.span(mark)}.' for mark in self.marks]
        return " ".join(parts)

    def span(self, mark):
        if mark["end"] is None:
            return f"from {self.when(mark['start'])} to the end"
        if mark["end"] - mark["start"] < 0.05:
            return f"at {self.when(mark['start'])}"
        return f"from {self.when(mark['start'])} to {self.when(mark['end'])}"

    # ---- the tables ---------------------------------------------------------------------------------------

    def legend(self):
        items = [f'<li><span class="key s{index % 6}"></span>{esc(series)}</li>' for index, series in enumerate(self.series)]
        items.append('<li><span class="key failed"></span>failed (any answer but 200, or no answer)</li>')
        items.append('<li><span class="key line p50"></span>latency p50</li><li><span class="key line p99"></span>latency p99</li>')
        items += [f'<li><span class="key mark {kind}"></span>{esc(MARK_KINDS.get(kind, kind))}</li>'
                  for kind in sorted({mark["kind"] for mark in self.marks})]
        return '<ul class="legend" aria-label="legend">' + "".join(items) + "</ul>"

    def marks_list(self):
        if not self.marks:
            return ""
        items = [f'<li><span class="key mark {mark["kind"]}"></span>{esc(mark["label"])}: {esc(self.span(mark))}'
                 f' ({esc(clock(mark["start"], short=True))})</li>' for mark in self.marks]
        return '<h3>What happened, and when</h3><ul class="marks">' + "".join(items) + "</ul>"

    def table(self):
        columns = self.spec.get("columns", "app")
        if columns == "proxy":
            head = ["", "state", "200s/requests", "statuses", "no answer", "address on (before &gt; after)", "answered by"]
        else:
            head = ["", "state", "200s/requests", "statuses", "p50", "p99", "max", "answered by"]
        rows = []
        for index, state in enumerate(self.states):
            summary = state["summary"]
            answered = ", ".join(sorted({self.names.get(key, key) for key in summary.get(
                "proxies" if self.stack_by == "proxy" else "upstreams", {}) if key != "-"})) or "-"
            cells = [f'<td class="num">{index + 1}</td><th scope="row">{esc(state["name"])}</th>',
                     f'<td class="num">{summary["ok"]}/{summary["requests"]}</td>',
                     f'<td>{esc(",".join(sorted(summary["statuses"])))}</td>']
            if columns == "proxy":
                gap = max(summary.get("longest_gap_ms", 0), summary.get("failed_window_ms", 0))
                cells += [f'<td class="num">{gap:.0f} ms</td>',
                          f'<td>{esc(state.get("holder_before", "-"))} &gt; {esc(state.get("holder_after") or "none")}</td>']
            else:
                cells += [f'<td class="num">{summary["p50_ms"]:.1f} ms</td>', f'<td class="num">{summary["p99_ms"]:.1f} ms</td>',
                          f'<td class="num">{summary["max_ms"]:.0f} ms</td>']
            cells.append(f"<td>{esc(answered)}</td>")
            rows.append(f'<tr data-state="{index + 1}" data-requests="{summary["requests"]}" data-ok="{summary["ok"]}">'
                        + "".join(cells) + "</tr>")
            if "assets" in summary:
                assets = summary["assets"]
                rows.append(f'<tr class="assets" data-state="{index + 1}" data-requests="{assets["requests"]}" '
                            f'data-ok="{assets["ok"]}"><td></td><th scope="row">the assets its pages named</th>'
                            f'<td class="num">{assets["ok"]}/{assets["requests"]}</td>'
                            f'<td>{esc(",".join(sorted(assets["statuses"])))}</td>'
                            + (f'<td class="num">{assets["p50_ms"]:.1f} ms</td><td class="num">{assets["p99_ms"]:.1f} ms</td>'
                               f'<td class="num">{assets["max_ms"]:.0f} ms</td>' if columns != "proxy" else "<td></td><td></td>")
                            + "<td></td></tr>")
        header = "".join(f'<th scope="col">{cell}</th>' for cell in head)
        what = "the time without service, where the floating address was" if columns == "proxy" else "the latency"
        return (f'<table class="states"><caption>Each state: the requests answered (200) of those sent, the statuses, {what}'
                f' and who answered</caption><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>')

    def seconds_table(self):
        order = self.series + [FAILED]
        head = "".join(f'<th scope="col">{esc(series)}</th>' for series in order)
        rows = []
        for (index, second), data in sorted(self.seconds.items()):
            cells = "".join(f'<td class="num">{data.counts.get(series, 0)}</td>' for series in order)
            rows.append(f'<tr data-state="{index + 1}" data-second="{second}" data-total="{data.total}" '
                        f'data-failed="{data.counts.get(FAILED, 0)}"><td class="num">{index + 1}</td><td class="num">{second}</td>'
                        f'{cells}<td class="num">{data.p(0.5):g}</td><td class="num">{data.p(0.99):g}</td></tr>')
        return ('<details><summary>The chart\'s figures, second by second</summary><table class="seconds"><caption>Requests '
                'by the second their answer came (seconds into the state), by who answered, and the latency in ms'
                f'</caption><thead><tr><th scope="col">state</th><th scope="col">second</th>{head}'
                '<th scope="col">p50</th><th scope="col">p99</th></tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table></details>')


def short_names(names):
    """{name: shorter name} without the prefix every name shares up to a dash or a dot
    (webstack-lab-app1, webstack-lab-app2: app1, app2)."""
    if len(names) < 2:
        return {}
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    cut = max(prefix.rfind("-"), prefix.rfind("."))
    return {name: name[cut + 1:] for name in names} if cut >= 0 else {}


def lanes(items):
    """Items (x1, x2) in rows so that no two labels of a row overlap, first come first placed."""
    rows = []
    for item in sorted(items, key=lambda item: item["x1"]):
        for row in rows:
            if row[-1]["x2"] + 8 <= item["x1"]:
                row.append(item)
                break
        else:
            rows.append([item])
    return rows


def nice_scale(peak, ticks=5):
    """(step, top) of an axis from 0 with about `ticks` steps of 1, 2 or 5 times a power of ten."""
    raw = max(peak, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(multiple * power for multiple in (1, 2, 5, 10) if multiple * power >= raw)
    step = max(int(step), 1)
    return step, step * math.ceil(max(peak, 1) / step)


def clock(unix, short=False):
    return time.strftime("%H:%M:%S" if short else "%Y-%m-%d %H:%M:%S %Z", time.localtime(unix))


def esc(text):
    return html.escape(str(text), quote=True)


# The series take Okabe and Ito's colours, which readers with the common colour-vision deficiencies
# still tell apart; failures are hatched as well, so they never rest on colour alone. The dark scheme
# keeps the same hues, lighter.
STYLE = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1c1c1c; --muted: #5b5b5b; --grid: #d4d4d4; --band0: #f6f6f6;
  --s0: #0072b2; --s1: #009e73; --s2: #cc79a7; --s3: #56b4e9; --s4: #8a7a2a; --s5: #6c6cc4;
  --failed: #d55e00; --p50: #1c1c1c; --p99: #8e3aa8; --fault: #e69f00; --out: #7f7f7f; --vip: #8e3aa8; --deploy: #0072b2; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171a; --fg: #e6e6e6; --muted: #a9a9a9; --grid: #3c4046; --band0: #1c1f23;
    --s0: #4aa8e8; --s1: #2fc79c; --s2: #e69ac6; --s3: #8fd3f7; --s4: #cdb94f; --s5: #a3a3f0;
    --failed: #ff7a3d; --p50: #f2f2f2; --p99: #d49ae8; --fault: #f2b63d; --out: #9a9a9a; --vip: #d49ae8; --deploy: #4aa8e8; }
}
body { background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem;
  padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; } h3 { font-size: 1rem; }
.note, caption, .legend, .marks { color: var(--muted); }
svg.chart { width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg.chart text { fill: var(--fg); }
.grid line { stroke: var(--grid); stroke-width: 1; }
.axis-line, .tick { stroke: var(--muted); }
.state-band { fill: var(--band0); } .gap-stripe { stroke: var(--grid); stroke-width: 1.5; }
.s0 { fill: var(--s0); background: var(--s0); } .s1 { fill: var(--s1); background: var(--s1); }
.s2 { fill: var(--s2); background: var(--s2); } .s3 { fill: var(--s3); background: var(--s3); }
.s4 { fill: var(--s4); background: var(--s4); } .s5 { fill: var(--s5); background: var(--s5); }
.failed-fill { fill: var(--failed); } .failed-stripe { stroke: var(--bg); stroke-width: 2; opacity: 0.5; }
.key.failed { background: repeating-linear-gradient(45deg, var(--failed) 0 3px, transparent 3px 5px); border: 1px solid var(--failed); }
polyline.p50, polyline.p99 { fill: none; stroke-width: 1.6; } polyline.p50 { stroke: var(--p50); }
polyline.p99 { stroke: var(--p99); stroke-dasharray: 5 3; }
.p50-dot { fill: var(--p50); } .p99-dot { fill: var(--p99); }
rect.mark { opacity: 0.22; } rect.mark.out { opacity: 0.28; }
.mark.fault, .mark-label.fault .swatch { fill: var(--fault); background: var(--fault); }
.mark.out, .mark-label.out .swatch { fill: var(--out); background: var(--out); }
.mark.vip, .mark-label.vip .swatch { fill: var(--vip); background: var(--vip); }
.mark.deploy, .mark-label.deploy .swatch { fill: var(--deploy); background: var(--deploy); }
.mark.run, .mark-label.run .swatch { fill: var(--muted); background: var(--muted); } rect.mark.run { opacity: 0.08; }
.key.mark.run { opacity: 0.25; }
.mark-label .guide { stroke: var(--muted); stroke-dasharray: 2 2; }
.state-label line { stroke: var(--fg); stroke-width: 2; }
.hover rect { fill: transparent; }
.legend, .marks { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1.2rem; }
.marks { display: block; } .marks li { margin: 0.15rem 0; }
.key { display: inline-block; width: 0.9rem; height: 0.9rem; margin-right: 0.35rem; vertical-align: -0.1rem; border-radius: 2px; }
.key.mark { opacity: 0.6; }
.key.line { height: 0; border-radius: 0; vertical-align: 0.25rem; }
.key.line.p50 { border-top: 2px solid var(--p50); } .key.line.p99 { border-top: 2px dashed var(--p99); }
table { border-collapse: collapse; margin: 0.8rem 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; padding-bottom: 0.3rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid var(--grid); text-align: left; }
td.num { text-align: right; white-space: nowrap; }
details { margin: 0.6rem 0 1.2rem; } summary { cursor: pointer; }
"""


def page(run, sections):
    title = run.get("title", "webstack load report")
    body = [f"<h1>{esc(title)}</h1>"]
    body += [f'<p class="note">{esc(note)}</p>' for note in run.get("notes", [])]
    for index, section in enumerate(sections):
        section_id = f"section-{index + 1}"
        spec = section.spec
        body.append(f'<section id="{section_id}" aria-labelledby="{section_id}-heading">'
                    f'<h2 id="{section_id}-heading">{esc(spec["title"])}</h2>')
        if spec.get("intro"):
            body.append(f'<p>{esc(spec["intro"])}</p>')
        if not section.states:
            body.append("<p>No load ran in this part of the run.</p></section>")
            continue
        body.append(f'<figure>{section.svg(section_id)}<figcaption>{section.legend()}</figcaption></figure>')
        body.append(section.marks_list())
        body.append(section.table())
        body.append(section.seconds_table())
        body.append("</section>")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        # Nothing may leave the page: no script, no font, no image from anywhere.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta name=\"color-scheme\" content=\"light dark\"><title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("run", type=Path, help="the run's run.json; its records lie beside it")
    parser.add_argument("report", type=Path, help="the HTML file to write")
    args = parser.parse_args()
    run = json.loads(args.run.read_text(encoding="utf-8"))
    sections = [Section(spec, args.run.parent) for spec in run.get("sections", [])]
    args.report.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the report under a name of its own, then moved: a reader never sees half a page.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=args.report.parent, prefix=".report-", suffix=".html",
                                     delete=False) as partial:
        partial.write(page(run, sections))
    Path(partial.name).chmod(0o644)
    Path(partial.name).replace(args.report)
    print(args.report)


if __name__ == "__main__":
    main()
