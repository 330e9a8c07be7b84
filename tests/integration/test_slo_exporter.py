# SPDX-License-Identifier: Apache-2.0
"""otterd's slo exporter end to end (exporters/slo/README.md).

Spans from the OpenTelemetry Python SDK (its real OTLP/gRPC exporter) and cumulative counters in
a raw OTLP/HTTP JSON request go through an otlp receiver into the slo exporter; GET /v1/slo on the
admin listener must report exactly the good / total counts worked out by hand below, with the
status they imply. Then the agent restarts on the same state_file and the counts survive; a
corrupt state file is set aside (renamed FILE.bad-<unix time>) and reported in the log.

Every span and point is timed a few minutes in the past, inside the SLO windows: the engine
counts whole closed 1-minute buckets, so data in already closed minutes is in the report at once.
"""

import json
import os
import time

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import http_request, scaled
from slo_util import emit_span, sdk_tracer, slo_evaluation

MS = 1_000_000  # ns

DEFINITIONS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  objective: "99"
  window: 1h
  sli:
    spans:
      availability: {}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: checkout-latency}
spec:
  service: checkout
  objective: "80"
  window: 1h
  sli:
    spans:
      kinds: [server]
      latency: {threshold: 100ms}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: idle-availability}
spec:
  service: idle
  objective: "99"
  window: 1h
  sli:
    spans:
      availability: {}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: api-requests}
spec:
  objective: "90"
  window: 1h
  sli:
    counters:
      good: {name: api.requests, match: {outcome: ok}}
      total: {name: api.requests}
"""

# The spans of service checkout: (kind, status, http.response.status_code, duration ms, count).
SPANS = [
    (SpanKind.SERVER, None, 200, 50, 6),               # avail good, latency good
    (SpanKind.SERVER, StatusCode.ERROR, None, 150, 2),  # avail bad (ERROR, no code), latency bad
    (SpanKind.SERVER, None, 503, 100, 3),              # avail bad (5xx), latency good (= 100 ms)
    (SpanKind.SERVER, StatusCode.ERROR, 404, 20, 1),   # avail good (a code decides: 4xx), fast
    (SpanKind.CONSUMER, None, None, 10, 2),            # avail good; latency: server only
    (SpanKind.CLIENT, StatusCode.ERROR, 500, 500, 4),  # never counted (client)
    (SpanKind.INTERNAL, StatusCode.ERROR, None, 5, 1),  # never counted (internal)
]
# checkout-availability: eligible 6 + 2 + 3 + 1 + 2 = 14; good 6 + 1 + 2 = 9.
#   Objective 99 %: budget 0.01 * 14 = 0.14 events, bad 5 > 0.14 -> BREACHED.
AVAIL = {"good": 9, "bad": 5, "total": 14, "status": "BREACHED"}
# checkout-latency (server only): eligible 6 + 2 + 3 + 1 = 12; good (<= 100 ms) 6 + 3 + 1 = 10.
#   Objective 80 %: budget 0.2 * 12 = 2.4, bad 2 <= 2.4 -> met; remaining 0.4 = 1/6 of the
#   budget, below the default warning fraction 0.5 -> WARNING.
LATENCY = {"good": 10, "bad": 2, "total": 12, "status": "WARNING"}


def write_defs(path):
    path.write_text(DEFINITIONS)
    return path


def slo_config(defs, state, evaluation="1s", checkpoint="1h", log_level="info"):
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"},
                                             "http": {"endpoint": "127.0.0.1:0"}}}},
        "exporters": {"slo": {"definitions": [str(defs)], "state_file": str(state),
                              "evaluation_interval": evaluation,
                              "checkpoint_interval": checkpoint}},
        "service": {
            "telemetry": {"logs": {"level": log_level}, "metrics": {"address": "127.0.0.1:0"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["slo"]},
                          "metrics": {"receivers": ["otlp"], "exporters": ["slo"]}},
        },
    }


def get_slo(agent):
    return {s["name"]: s for s in slo_evaluation(agent)["slos"]}


def assert_counts(slo, want):
    got = {k: slo[k] for k in ("good", "bad", "total", "status")}
    assert got == want, (slo["name"], got, want)


def send_spans(agent, end_ns):
    """Sends SPANS (and 3 spans of another service) through the SDK's gRPC exporter; every span
    ends at |end_ns|."""
    sent = 0
    for service, spans in (("checkout", SPANS),
                           ("billing", [(SpanKind.SERVER, StatusCode.ERROR, 500, 5, 3)])):
        tee, tp, tracer = sdk_tracer(agent, {"service.name": service}, "otter.it.slo")
        for kind, status, code, dur_ms, count in spans:
            for i in range(count):
                emit_span(tracer, "op-%s-%d" % (kind.name, i), kind, status, code, dur_ms, end_ns)
        tp.shutdown()
        assert tee.ok(), tee.results
        sent += sum(len(r.resource_spans[0].scope_spans[0].spans) for r in tee.sent)
    assert sent == 22


def wait_counts(agent, name, total, timeout=10.0):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        slos = get_slo(agent)
        if slos[name]["total"] >= total or time.monotonic() > deadline:
            return slos
        time.sleep(0.1)


def minute_ago_ns(minutes):
    """A time |minutes| whole minutes before the current minute began, plus 30 s."""
    now = time.time_ns()
    minute = 60_000 * MS
    return (now // minute - minutes) * minute + 30_000 * MS


def test_spans_counted_exactly_and_survive_restart(otterd, tmp_path):
    defs = write_defs(tmp_path / "slos.yaml")
    state = tmp_path / "state" / "slo.ckpt"
    state.parent.mkdir()
    agent = otterd(name="first", config=slo_config(defs, state))
    send_spans(agent, minute_ago_ns(2))
    slos = wait_counts(agent, "checkout-availability", 14)
    assert_counts(slos["checkout-availability"], AVAIL)
    assert_counts(slos["checkout-latency"], LATENCY)
    assert_counts(slos["idle-availability"],
                  {"good": 0, "bad": 0, "total": 0, "status": "NO_DATA"})
    assert slos["idle-availability"]["attainment_pct"] is None
    assert slos["checkout-availability"]["objective"] == "99"
    # 9 of 14 = 64.2857...%
    assert slos["checkout-availability"]["attainment_pct"] == pytest.approx(900 / 14, abs=1e-6)
    assert agent.metric_sum("otter_slo_events_total") == 14 + 12
    agent.stop()  # SIGTERM: the exporter checkpoints at shutdown
    assert state.is_file()
    assert "checkpoint not written" not in agent.stderr()

    again = otterd(name="second", config=slo_config(defs, state))
    slos = get_slo(again)
    assert_counts(slos["checkout-availability"], AVAIL)
    assert_counts(slos["checkout-latency"], LATENCY)
    assert "restored 4 SLOs" in again.stderr()
    again.stop()


MATCHER_DEFINITIONS = "".join("""\
---
apiVersion: otter/v1
kind: SLO
metadata: {name: %s}
spec:
  service: shop
  objective: "50"
  window: 1h
  sli:
    spans:
      %s
      availability: {}
""" % (name, sel) for name, sel in (
    ("route-a", "attributes: {http.route: /a}"),
    ("route-b", "attributes: {http.route: /b}"),
    # url.scheme has the length of http.route: the exporter's per-span lookup memo must compare
    # the key's bytes, not only its length.
    ("scheme-https", "attributes: {url.scheme: https}"),
    ("route-a-https", "attributes: {http.route: /a, url.scheme: https}"),
    ("code-200", "attributes: {http.response.status_code: \"200\"}"),
    ("prod-route-b", "resource: {deployment.environment: prod}\n      "
                     "attributes: {http.route: /b}"),
    ("staging", "resource: {deployment.environment: staging}"),
))

# Spans of service shop (resource deployment.environment=prod), all SERVER:
#   3 x route /a, https, 200;  2 x route /b, http, 500;  1 x route /a, http, 200;  1 x nothing.
# route-a: 3 + 1 = 4 eligible, all 200 -> 4 good.       route-b: 2 eligible, 500 -> 0 good.
# scheme-https: 3 (the /a https ones), good.            route-a-https: the same 3, good.
# code-200: 3 + 1 = 4, good.                            prod-route-b: as route-b (prod holds).
# staging: the resource does not match: nothing.
# Objective 50 %: 0 of 2 is bad 2 > budget 0.5 x 2 = 1 -> BREACHED; all good -> OK.
MATCHER_SPANS = [("/a", "https", 200, 3), ("/b", "http", 500, 2), ("/a", "http", 200, 1),
                 (None, None, None, 1)]
MATCHER_WANT = {
    "route-a": {"good": 4, "bad": 0, "total": 4, "status": "OK"},
    "route-b": {"good": 0, "bad": 2, "total": 2, "status": "BREACHED"},
    "scheme-https": {"good": 3, "bad": 0, "total": 3, "status": "OK"},
    "route-a-https": {"good": 3, "bad": 0, "total": 3, "status": "OK"},
    "code-200": {"good": 4, "bad": 0, "total": 4, "status": "OK"},
    "prod-route-b": {"good": 0, "bad": 2, "total": 2, "status": "BREACHED"},
    "staging": {"good": 0, "bad": 0, "total": 0, "status": "NO_DATA"},
}


def test_span_attribute_matchers(otterd, tmp_path):
    defs = tmp_path / "matchers.yaml"
    defs.write_text(MATCHER_DEFINITIONS)
    agent = otterd(name="matchers", config=slo_config(defs, tmp_path / "slo.ckpt"))
    end_ns = minute_ago_ns(2)
    tee, tp, tracer = sdk_tracer(agent, {"service.name": "shop", "deployment.environment": "prod"},
                                 "otter.it.slo")
    for route, scheme, code, count in MATCHER_SPANS:
        for i in range(count):
            attrs = {}
            if route is not None:
                attrs = {"http.route": route, "url.scheme": scheme,
                         "http.response.status_code": code}
            sp = tracer.start_span("op-%d" % i, kind=SpanKind.SERVER, attributes=attrs,
                                   start_time=end_ns - 10 * MS)
            sp.end(end_time=end_ns)
    tp.shutdown()
    assert tee.ok(), tee.results
    slos = wait_counts(agent, "route-a", 4)
    slos = wait_counts(agent, "route-b", 2)
    for name, want in MATCHER_WANT.items():
        assert_counts(slos[name], want)
    agent.stop()


def span_json(end_ns, kind, code, dur_ms):
    """One OTLP/JSON span ending at |end_ns| (kind 2 SERVER, 5 CONSUMER) with status code |code|."""
    return {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "op", "kind": kind, "startTimeUnixNano": str(end_ns - dur_ms * MS),
            "endTimeUnixNano": str(end_ns),
            "attributes": [{"key": "http.response.status_code", "value": {"intValue": str(code)}}]}


def post_spans(agent, spans):
    req = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"scope": {"name": "it"}, "spans": spans}]}]}
    st, _, body = http_request(agent.http_port, "POST", "/v1/traces", body=json.dumps(req).encode(),
                               headers={"Content-Type": "application/json"})
    assert st == 200, (st, body)


def test_spans_of_one_request_summed_per_minute_count_as_one_by_one(otterd, tmp_path):
    """The exporter sums a request's verdicts per SLO and minute before adding them to the engine
    (exporters/slo/README.md). The same spans sent as one request (summed) and as one request per
    span (one add each) must give identical evaluations, and the counts worked out by hand."""
    # Minutes 4, 2, 4, 3, 2 ago, interleaved: the per-SLO sum must flush when a span's minute
    # differs from the one it holds, and a later span of an older minute is late data.
    # (minute, kind, code, duration ms, count):
    plan = [(4, 2, 200, 50, 3), (2, 2, 503, 150, 2), (4, 2, 500, 20, 1), (3, 5, 200, 10, 2),
            (2, 2, 200, 120, 4), (4, 2, 200, 200, 1)]
    # checkout-availability (server + consumer): 3+2+1+2+4+1 = 13 eligible;
    #   good (code < 500): 3 + 2 + 4 + 1 = 10 -> bad 3 > budget 0.13 -> BREACHED.
    # checkout-latency (server only, <= 100 ms): 3+2+1+4+1 = 11 eligible; good 3 + 1 = 4;
    #   bad 7 > budget 0.2 * 11 = 2.2 -> BREACHED.
    want = {"checkout-availability": {"good": 10, "bad": 3, "total": 13, "status": "BREACHED"},
            "checkout-latency": {"good": 4, "bad": 7, "total": 11, "status": "BREACHED"}}
    # Both agents must evaluate within one minute (the burn rates' windows end at now): start
    # early in a minute; the test takes a few seconds.
    into = time.time() % 60
    if into > 30:
        time.sleep(61 - into)
    spans = []
    for minutes, kind, code, dur, count in plan:
        end = minute_ago_ns(minutes)
        spans += [span_json(end + i * MS, kind, code, dur) for i in range(count)]
    assert len(spans) == 13

    defs = write_defs(tmp_path / "slos.yaml")
    results = []
    for name, requests in (("summed", [spans]), ("one-by-one", [[sp] for sp in spans])):
        agent = otterd(name=name, config=slo_config(defs, tmp_path / (name + ".ckpt")))
        for r in requests:
            post_spans(agent, r)
        slos = wait_counts(agent, "checkout-latency", 11)
        for slo, w in want.items():
            assert_counts(slos[slo], w)
        assert agent.metric_sum("otter_slo_events_total") == 13 + 11
        results.append(slos)
        agent.stop()
    summed, single = results
    # Everything but the late-data warning is identical (burn rates, budget, attainment...).
    # That warning counts engine adds, not events: one by one every span is one late add
    # (13 and 11); summed, one add per run of spans of one minute in the request order:
    # availability 4,2,4,3,2,4 = 6 runs; latency (server only) 4,2,4,2,4 = 5 runs.
    late = {"checkout-availability": (6, 13), "checkout-latency": (5, 11)}
    for slo in want:
        a = dict(summed[slo])
        b = dict(single[slo])
        wa, wb = a.pop("warnings"), b.pop("warnings")
        assert a == b, (slo, a, b)
        n_sum, n_one = late[slo]
        assert "%d late observations were added to closed buckets" % n_sum in wa, wa
        assert "%d late observations were added to closed buckets" % n_one in wb, wb
        assert len(wa) == len(wb), (wa, wb)


def test_corrupt_state_file_is_set_aside(otterd, tmp_path):
    defs = write_defs(tmp_path / "slos.yaml")
    state = tmp_path / "slo.ckpt"
    state.write_bytes(b"this is not a checkpoint\n" * 4)
    agent = otterd(name="corrupt", config=slo_config(defs, state))
    log = agent.stderr()
    assert "checkpoint %s not used: corrupt" % state in log, log
    aside = sorted(tmp_path.glob("slo.ckpt.bad-*"))
    assert len(aside) == 1, list(tmp_path.iterdir())
    assert aside[0].read_bytes() == b"this is not a checkpoint\n" * 4
    assert int(aside[0].name.rsplit("-", 1)[1]) == pytest.approx(time.time(), abs=120)
    assert not state.exists()
    # It starts empty and works: every SLO is NO_DATA until something arrives.
    slos = get_slo(agent)
    assert {s["status"] for s in slos.values()} == {"NO_DATA"}
    # ... and every report says that the state was lost, not that nothing happened.
    for s in slos.values():
        assert any(w.startswith("no checkpoint was restored (lost or refused)")
                   for w in s["warnings"]), s["warnings"]
    agent.stop()
    # The shutdown checkpoint replaced nothing it should not have: a fresh, valid file.
    assert state.is_file() and aside[0].is_file()


def counter_request(points, t_ns):
    """An OTLP/JSON metrics request: one cumulative monotonic sum api.requests with |points|
    [(outcome, start_ns, value)], all at |t_ns|."""
    dps = [{"attributes": [{"key": "outcome", "value": {"stringValue": outcome}}],
            "startTimeUnixNano": str(start), "timeUnixNano": str(t_ns), "asInt": str(value)}
           for outcome, start, value in points]
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeMetrics": [{"scope": {"name": "it"}, "metrics": [{
            "name": "api.requests", "unit": "1",
            "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": dps}}]}]}]}


def post_metrics(agent, req):
    st, _, body = http_request(agent.http_port, "POST", "/v1/metrics",
                               body=json.dumps(req).encode(),
                               headers={"Content-Type": "application/json"})
    assert st == 200, (st, body)


def test_cumulative_counters_with_reset(otterd, tmp_path):
    defs = write_defs(tmp_path / "slos.yaml")
    agent = otterd(name="counters", config=slo_config(defs, tmp_path / "c.ckpt"))
    agent_start = time.time_ns()
    old = agent_start - 3_600_000 * MS  # series started an hour before the agent
    # Points two minutes ago (a closed minute): increases count at their points' time, so they
    # are in the report at once.
    t = minute_ago_ns(2)
    # 1. First points of series that started before the agent: baselines, nothing counted.
    post_metrics(agent, counter_request([("ok", old, 100), ("error", old, 10)], t))
    # 2. Same start: ok 100 -> 130 (+30), error 10 -> 12 (+2): good 30, total 32.
    post_metrics(agent, counter_request([("ok", old, 130), ("error", old, 12)], t + 1 * MS))
    # 3. The service restarted (new start time) and its counters grew past the old values before
    #    the export: ok 150 > 130, error 20 > 12. A reset all the same: good +150, total +170.
    new = t + 2 * MS
    post_metrics(agent, counter_request([("ok", new, 150), ("error", new, 20)], t + 3 * MS))
    # good 30 + 150 = 180 of 32 + 170 = 202: 89.1 % < 90 %: budget 0.1 * 202 = 20.2 and
    # bad 22 > 20.2 -> BREACHED.
    s = get_slo(agent)["api-requests"]
    assert {k: s[k] for k in ("good", "bad", "total", "status")} == {
        "good": 180, "bad": 22, "total": 202, "status": "BREACHED"}
    # 4. Now: ok 150 -> 155 (+5 good and total), error unchanged, and a new series "ok-cached"
    #    (not "ok": total only) that started after the agent: its first point counts in full.
    now = time.time_ns()
    assert now - MS > agent_start
    post_metrics(agent, counter_request([("ok", new, 155), ("error", new, 20),
                                         ("ok-cached", now - MS, 5)], now))
    # good = 180 + 5 = 185; total = 202 + (5 + 0 + 5) = 212. These land in the current minute:
    # the report shows them once it has closed.
    minute = 60_000
    now_ms = time.time_ns() // MS
    time.sleep((minute - now_ms % minute) / 1000 + 1.5)
    s = get_slo(agent)["api-requests"]
    # 185 / 212 = 87.26 % < 90 %: budget 21.2, bad 27 > 21.2 -> BREACHED.
    assert {k: s[k] for k in ("good", "bad", "total", "status")} == {
        "good": 185, "bad": 27, "total": 212, "status": "BREACHED"}
    agent.stop()


def test_no_slo_exporter_404(otterd, tmp_path):
    agent = otterd(name="plain")
    st, hdrs, body = http_request(agent.admin_port, "GET", "/v1/slo")
    assert st == 404
    assert hdrs["content-type"] == "application/json"
    assert json.loads(body) == {"error": "no slo exporter is configured"}
    st, hdrs, body = http_request(agent.admin_port, "POST", "/v1/slo", body=b"{}")
    assert st == 405 and hdrs["allow"] == "GET, HEAD", (st, hdrs)
    assert json.loads(body) == {"error": "method not allowed: use GET"}
    agent.stop()


def test_validate_reports_definition_errors(otterd_bin, tmp_path):
    import subprocess

    bad = tmp_path / "bad.yaml"
    # Line 6, column 16: the 'x' of "9x" (the scalar's quote opens at column 14).
    bad.write_text(DEFINITIONS.split("---\n")[0].replace('objective: "99"', 'objective: "9x"'))
    cfg = tmp_path / "otterd.yaml"
    cfg.write_text("receivers:\n  otlp:\n    protocols:\n      http:\n"
                   "exporters:\n  slo:\n    definitions: [%s]\n"
                   "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n"
                   "      exporters: [slo]\n" % json.dumps(str(bad)))
    r = subprocess.run([str(otterd_bin), "validate", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=scaled(30))
    assert r.returncode == 1, r
    assert "%s:6:16: error: objective (percent) '9x'" % bad in r.stderr, r.stderr
    assert "%s:7:18: error: exporters::slo::definitions: the SLO definitions have errors" % cfg \
        in r.stderr, r.stderr
    bad.write_text(DEFINITIONS)
    r = subprocess.run([str(otterd_bin), "validate", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=scaled(30))
    assert r.returncode == 0 and r.stdout == "%s: valid\n" % cfg, r


ZONED = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: monthly}
spec:
  service: pay
  objective: "99"
  calendar: {unit: month, timeZone: %s}
  sli: {spans: {availability: {}}}
"""


@pytest.mark.skipif(not os.path.exists("/usr/share/zoneinfo/Europe/Berlin"), reason="no tzdata")
def test_validate_reads_iana_zones(otterd_bin, tmp_path):
    """otterd's config load resolves a calendar SLO's IANA zone from the system's tzdata; an
    unknown zone is an error at its own line and column (line 7, column 37: "  calendar: {" is
    13 columns, "unit: month, " 13 more, "timeZone: " 10: the value starts at 37)."""
    import subprocess

    defs = tmp_path / "zoned.yaml"
    cfg = tmp_path / "otterd.yaml"
    cfg.write_text("receivers:\n  otlp:\n    protocols:\n      http:\n"
                   "exporters:\n  slo:\n    definitions: [%s]\n"
                   "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n"
                   "      exporters: [slo]\n" % json.dumps(str(defs)))
    defs.write_text(ZONED % "Europe/Berlin")
    r = subprocess.run([str(otterd_bin), "validate", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=scaled(30))
    assert r.returncode == 0, r
    defs.write_text(ZONED % "Europe/Atlantis")
    r = subprocess.run([str(otterd_bin), "validate", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=scaled(30))
    assert r.returncode == 1, r
    assert "%s:7:37: error:" % defs in r.stderr and "Europe/Atlantis" in r.stderr, r.stderr


ALERT_DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: pay-availability}
spec:
  service: pay
  objective: "90"
  window: 1h
  sli:
    spans:
      availability: {}
  alerts:
    - name: fast-burn
      severity: page
      burnRate: "2"
      longWindow: 10m
"""


class Hooks:
    """A local webhook receiver: records every POST (path, headers, JSON body), answers 200."""

    def __init__(self, delay=0.0):
        import http.server
        import threading

        self.posts = []
        hooks = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                hooks.posts.append((self.path, dict(self.headers), json.loads(body)))
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def send_pay_spans(agent, end):
    """10 server spans of service pay ending at |end|, 5 with status ERROR: over a 10m lookback
    the error ratio is 5 / 10 = 0.5 and, at 90 %, the burn rate 0.5 / (1 - 0.9) = 5."""
    tee, tp, tracer = sdk_tracer(agent, {"service.name": "pay"}, "otter.it.slo")
    for i in range(10):
        emit_span(tracer, "pay-%d" % i, SpanKind.SERVER, StatusCode.ERROR if i % 2 else None, None,
                  1, end)
    tp.shutdown()
    assert tee.ok()


def test_shutdown_waits_for_a_notification_in_flight(otterd, tmp_path):
    """A webhook that answers after 1.5 s: the notification in flight when SIGTERM arrives is
    still delivered (the exporter drains its sinks), not failed."""
    defs = tmp_path / "alerts.yaml"
    defs.write_text(ALERT_DEFS)
    hooks = Hooks(delay=1.5)
    try:
        cfg = slo_config(defs, tmp_path / "drain.ckpt")
        cfg["exporters"]["slo"]["alerts"] = {
            "webhook": {"endpoint": "http://127.0.0.1:%d/hook" % hooks.port}}
        agent = otterd(name="drain", config=cfg)
        send_pay_spans(agent, minute_ago_ns(2))
        deadline = time.monotonic() + scaled(10)
        while not hooks.posts and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(hooks.posts) == 1
        agent.stop()  # exit 0 within the shutdown timeout, clean stderr
        log = agent.stderr()
        assert "not delivered before shutdown" not in log, log
        assert "failed" not in log, log
        assert len(hooks.posts) == 1
    finally:
        hooks.close()


def test_alert_fires_once_through_the_webhook_across_a_restart(otterd, tmp_path):
    defs = tmp_path / "alerts.yaml"
    defs.write_text(ALERT_DEFS)
    state = tmp_path / "alerts.ckpt"
    hooks = Hooks()
    try:
        cfg = slo_config(defs, state)
        cfg["exporters"]["slo"]["alerts"] = {
            "log": True,
            "webhook": {"endpoint": "http://127.0.0.1:%d/hook" % hooks.port,
                        "headers": {"X-Otter-Test": "t1"}}}
        agent = otterd(name="alerts", config=cfg)
        send_pay_spans(agent, minute_ago_ns(2))
        deadline = time.monotonic() + scaled(10)
        while not hooks.posts and time.monotonic() < deadline:
            time.sleep(0.1)
        # Several more evaluations (every 1 s): the alert stays firing, nothing is sent again.
        time.sleep(scaled(3))
        assert len(hooks.posts) == 1, hooks.posts
        path, headers, doc = hooks.posts[0]
        assert path == "/hook"
        assert headers.get("X-Otter-Test") == "t1"
        assert headers.get("Content-Type", "").startswith("application/json")
        assert (doc["slo"], doc["alert"], doc["severity"], doc["state"]) == (
            "pay-availability", "fast-burn", "page", "firing")
        assert doc["burn_rates"]["10m"] == pytest.approx(5.0)
        # alerts.log: one line; remaining fraction 1 - (5 / 10) / 0.1 = -4.
        assert agent.stderr().count(
            "firing: slo=pay-availability alert=fast-burn severity=page burn_rate[10m]=5 "
            "error_budget_remaining=-4 status=BREACHED") == 1, agent.stderr()
        agent.stop()

        # The alert state is in the checkpoint: the restarted agent does not notify again.
        again = otterd(name="alerts-again", config=cfg)
        time.sleep(scaled(3))
        assert len(hooks.posts) == 1, hooks.posts
        slos = get_slo(again)
        assert slos["pay-availability"]["alerts"]["fast-burn"]["firing"] is True
        assert (slos["pay-availability"]["good"], slos["pay-availability"]["total"]) == (5, 10)
        again.stop()
    finally:
        hooks.close()


def test_foreign_checkpoint_is_set_aside(otterd, tmp_path):
    """A checkpoint written for other definitions is never trusted: set aside, reported."""
    defs = write_defs(tmp_path / "slos.yaml")
    state = tmp_path / "slo.ckpt"
    first = otterd(name="defs-a", config=slo_config(defs, state))
    send_spans(first, minute_ago_ns(2))
    wait_counts(first, "checkout-availability", 14)
    first.stop()
    written = state.read_bytes()
    other = write_defs(tmp_path / "other.yaml")
    other.write_text(DEFINITIONS.replace('objective: "99"', 'objective: "99.5"', 1))
    second = otterd(name="defs-b", config=slo_config(other, state))
    log = second.stderr()
    assert "checkpoint %s not used: written for other definitions" % state in log, log
    aside = sorted(tmp_path.glob("slo.ckpt.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == written
    slos = get_slo(second)
    assert slos["checkout-availability"]["total"] == 0
    second.stop()


def test_checkpoint_failure_is_logged_and_counted(otterd, tmp_path):
    defs = write_defs(tmp_path / "slos.yaml")
    state = tmp_path / "missing-dir" / "slo.ckpt"
    agent = otterd(name="nodir", config=slo_config(defs, state, checkpoint="1s"))
    deadline = time.monotonic() + scaled(10)
    while agent.metric_sum("otter_slo_checkpoint_failures_total") < 1:
        assert time.monotonic() < deadline, agent.stderr()
        time.sleep(0.2)
    assert agent.metric_sum("otter_slo_checkpoints_total") == 0
    assert "checkpoint not written: cannot create %s.tmp." % state in agent.stderr()
    agent.stop()
