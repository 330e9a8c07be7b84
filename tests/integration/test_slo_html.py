# SPDX-License-Identifier: Apache-2.0
"""The HTML report of `slo report` opened in a real browser: Debian's chromium, headless, driven by
Playwright for Python (never `playwright install`: the browser is the system's).

Two pages. test_replay_report_in_chromium: `slo report --format html` ($SLO, default
build/slo/cli/slo) over a definitions file and an events file with three SLOs (one OK, one
BREACHED, one NO_DATA), figures worked out by hand below. test_html_report_in_chromium: the page of
$SLO_RENDER_DEMO (default build/tests/unit/slo/slo_render_demo), slo_report_html() of the
hand-built report of tests/unit/slo/slo_report_fixture.h, kept for what a replay cannot give:
hostile names (a display name carrying <script>) and a WARNING card.

Checks: every SLO card is rendered and visible; each card's SVG has a visible polyline with the
number of points the fixture gave it (counted by the browser's own SVG parser); the display name
carrying a <script> element is shown as text and never ran; no request leaves the page and no
console error appears (the CSP forbids everything but inline styles); a screenshot is saved under
pytest's tmp dir."""

import contextlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import slo_binary

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

# The fixture's SLOs (tests/unit/slo/slo_report_fixture.h): name -> (status, burn-down points,
# budget left as printed, heading). Worked out there by hand, not read from the page.
SLOS = {
    "checkout-availability": ("OK", 3, "50.0%", "Checkout availability"),
    "search-latency": ("BREACHED", 3, "overspent 100.0%", "search-latency"),
    "batch|jobs": ("WARNING", 2, "16.6%",
                   "Batch <script>document.title='pwned'</script> & co"),
    "idle&<b>": ("NO_DATA", 2, "100.0%", "idle&<b>"),
}


def render_demo():
    p = Path(os.environ.get("SLO_RENDER_DEMO") or "build/tests/unit/slo/slo_render_demo")
    if not p.is_absolute():
        p = REPO_ROOT / p
    if not p.exists():
        pytest.fail("slo_render_demo not found at %s (build it, or set SLO_RENDER_DEMO)" % p)
    return p


@contextlib.contextmanager
def open_page(tmp_path, html):
    """Opens |html| (bytes) from a file in Debian's chromium; yields (page, events)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                    "(scripts/install-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "slo-report.html"
    page_file.write_bytes(html)

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        try:
            page = ctx.new_page()
            page.set_default_timeout(30000)
            events = {"requests": [], "console": [], "errors": []}
            page.on("request", lambda r: events["requests"].append(r.url))
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["errors"].append(str(e)))
            page.goto(page_file.as_uri(), wait_until="load")
            yield page, events
        finally:
            ctx.close()


@pytest.fixture
def report_page(tmp_path):
    html = subprocess.run([str(render_demo()), "html"], capture_output=True, timeout=30)
    assert html.returncode == 0, html.stderr.decode()
    with open_page(tmp_path, html.stdout) as (page, events):
        yield page, events, tmp_path


def test_html_report_in_chromium(report_page):
    page, events, tmp_path = report_page

    # Nothing ran, nothing was fetched beyond the page itself.
    assert page.title() == "SLO report"
    assert page.locator("script").count() == 0
    assert page.evaluate("() => document.title") == "SLO report"
    assert events["requests"] == [page.url], events["requests"]
    assert events["errors"] == []
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []

    cards = page.locator("article.card")
    assert cards.count() == len(SLOS)
    seen = []
    for i in range(cards.count()):
        card = cards.nth(i)
        name = card.get_attribute("data-slo")
        seen.append(name)
        status, n_points, budget_left, heading = SLOS[name]
        assert card.is_visible(), name
        box = card.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, (name, box)

        # The names come back as text: the <script> of one heading is characters, not an element.
        assert card.locator("h3").inner_text() == heading
        assert card.locator("p.slo-name").inner_text() == name
        assert card.locator(".status").inner_text() == status
        figure = card.locator("dl.figures div", has=page.locator("dt", has_text="Budget left"))
        assert figure.locator("dd").inner_text() == budget_left

        svg = card.locator("svg.burndown")
        assert svg.count() == 1 and svg.is_visible(), name
        svg_box = svg.bounding_box()
        line = svg.locator("polyline")
        assert line.count() == 1, name
        # The browser's parse of the points attribute, and what it paints.
        got = line.evaluate(
            """el => {
                const s = getComputedStyle(el);
                const r = el.getBoundingClientRect();
                return {n: el.points.numberOfItems, display: s.display,
                        visibility: s.visibility, stroke: s.stroke,
                        width: parseFloat(s.strokeWidth), opacity: parseFloat(s.opacity),
                        left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                        len: el.getTotalLength()};
            }""")
        assert got["n"] == n_points, (name, got)
        assert got["display"] != "none" and got["visibility"] == "visible", (name, got)
        assert got["stroke"] not in ("none", "") and got["width"] > 0 and got["opacity"] > 0
        # A line of positive length (a flat 100% line has no height, only width) inside its SVG.
        assert got["len"] > 10, (name, got)
        assert svg_box["x"] - 1 <= got["left"] <= got["right"] <= svg_box["x"] + svg_box["width"] + 1
        assert svg_box["y"] - 1 <= got["top"] <= got["bottom"] <= svg_box["y"] + svg_box["height"] + 1
        # Axes with labels, the 0 line and the warning line.
        assert svg.locator("line.axis").count() == 2
        assert svg.locator("line.zero").count() == 1
        assert svg.locator("line.warning").count() == 1
        labels = svg.locator("text").all_text_contents()
        assert "100%" in labels and "0%" in labels and "warning 50%" in labels, labels
    assert sorted(seen) == sorted(SLOS)

    # The overspent SLO's scale goes down to -100%.
    labels = page.locator('article[data-slo="search-latency"] svg text').all_text_contents()
    assert "-100%" in labels, labels

    shot = tmp_path / "slo-report.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


REPLAY_DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: checkout, displayName: Checkout}
spec:
  service: shop
  objective: "99"
  window: 1h
  sli: {spans: {availability: {}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: search}
spec:
  service: shop
  objective: "99"
  window: 1h
  sli: {spans: {availability: {}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: idle}
spec:
  service: shop
  objective: "99"
  window: 1h
  sli: {spans: {availability: {}}}
"""
REPLAY_EVENTS = [
    {"time": "2025-01-31T09:30:00Z", "slo": "checkout", "good": 995, "total": 1000},
    {"time": "2025-01-31T09:40:00Z", "slo": "search", "good": 90, "total": 100},
]
# At 10:00, windows [09:00, 10:00) of 1-minute buckets:
#   checkout: bad 5, budget 0.01 * 1000 = 10, remaining 5 = 50.0 % (not below the 0.5 warning
#     line: OK).
#   search: bad 10, budget 0.01 * 100 = 1, remaining -9 = -900 % -> BREACHED, overspent 900.0%.
#   idle: no event -> NO_DATA, the whole budget left: 100.0%.
# Burn-down: 60 buckets, step (60 + 62) // 63 = 1 bucket, so 1 + 60 = 61 points per SLO.
REPLAY_SLOS = {
    "checkout": ("OK", "50.0%", "Checkout"),
    "search": ("BREACHED", "overspent 900.0%", "search"),
    "idle": ("NO_DATA", "100.0%", "idle"),
}


def test_replay_report_in_chromium(tmp_path):
    defs = tmp_path / "slos.yaml"
    defs.write_text(REPLAY_DEFS)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in REPLAY_EVENTS))
    p = subprocess.run([str(slo_binary()), "report", "--definitions", str(defs), "--events",
                        str(events), "--at", "2025-01-31T10:00:00Z", "--format", "html"],
                       capture_output=True, timeout=60)
    assert p.returncode == 1, p.stderr.decode()  # search is BREACHED
    with open_page(tmp_path, p.stdout) as (page, ev):
        assert page.title() == "SLO report"
        assert page.locator("script").count() == 0
        assert ev["requests"] == [page.url], ev["requests"]
        assert ev["errors"] == []
        assert [m for m in ev["console"] if m[0] in ("error", "warning")] == []
        cards = page.locator("article.card")
        assert cards.count() == len(REPLAY_SLOS)
        seen = []
        for i in range(cards.count()):
            card = cards.nth(i)
            name = card.get_attribute("data-slo")
            seen.append(name)
            status, budget_left, heading = REPLAY_SLOS[name]
            assert card.is_visible(), name
            assert card.locator("h3").inner_text() == heading
            assert card.locator(".status").inner_text() == status
            figure = card.locator("dl.figures div",
                                  has=page.locator("dt", has_text="Budget left"))
            assert figure.locator("dd").inner_text() == budget_left
            svg = card.locator("svg.burndown")
            assert svg.count() == 1 and svg.is_visible(), name
            line = svg.locator("polyline")
            assert line.count() == 1, name
            got = line.evaluate(
                """el => ({n: el.points.numberOfItems, len: el.getTotalLength(),
                          visibility: getComputedStyle(el).visibility})""")
            assert got["n"] == 61 and got["len"] > 10, (name, got)
            assert got["visibility"] == "visible", (name, got)
        assert sorted(seen) == sorted(REPLAY_SLOS)
        # The overspent SLO's scale goes down to -100%; the others' starts at 0%.
        labels = page.locator('article[data-slo="search"] svg text').all_text_contents()
        assert "-100%" in labels, labels
        labels = page.locator('article[data-slo="checkout"] svg text').all_text_contents()
        assert "-100%" not in labels and "0%" in labels, labels
        shot = tmp_path / "slo-replay.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
