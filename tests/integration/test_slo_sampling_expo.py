# SPDX-License-Identifier: Apache-2.0
"""otterd's slo exporter on sampled spans and exponential histograms (exporters/slo/README.md).

1. Spans from the OpenTelemetry Python SDK's OTLP/gRPC exporter, sampled by the SDK's own
   consistent probability sampler (composite_sampler(composable_traceid_ratio_based(0.25)),
   which records `ot=th:c` on the spans it keeps) with trace ids chosen so that exactly every
   other span is kept, and spans whose tracestate a small sampler writes itself (the older
   `ot=p:3`, `th:8` with `rv`, a non-power-of-two `th:6`, a malformed `th:zz`, none): each span
   counts its adjusted count, or 1 where the SLO says `sampling: ignore`.
2. Exponential histograms from the SDK (ExponentialBucketHistogramAggregation, max scale 3,
   cumulative): a first export at scale 3, then a value far away makes the SDK downscale to 2;
   and a raw OTLP/HTTP JSON delta point with zero and negative buckets.

GET /v1/slo must report exactly the counts worked out by hand below.
"""

import json
import time

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace._sampling_experimental import (
    composable_traceid_ratio_based,
    composite_sampler,
)
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.span import TraceState

import sdk_python
from conftest import http_request, scaled
from slo_util import slo_evaluation

MS = 1_000_000  # ns

SPAN_DEFINITIONS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  objective: "75"
  window: 1h
  sli:
    spans:
      availability: {}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: checkout-availability-raw}
spec:
  service: checkout
  objective: "50"
  window: 1h
  sli:
    spans:
      sampling: ignore
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
      sampling: adjustedCount
      latency: {threshold: 100ms}
"""

EXPO_DEFINITIONS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: latency-0.2}
spec:
  objective: "50"
  window: 1h
  sli:
    histogram: {name: http.server.duration, threshold: "0.2"}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: latency-0.25}
spec:
  objective: "50"
  window: 1h
  sli:
    histogram: {name: http.server.duration, threshold: "0.25"}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: queue-4}
spec:
  objective: "50"
  window: 1h
  sli:
    histogram: {name: queue.wait, match: {queue: q1}, threshold: "4"}
"""


def slo_config(defs, state):
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"},
                                             "http": {"endpoint": "127.0.0.1:0"}}}},
        "exporters": {"slo": {"definitions": [str(defs)], "state_file": str(state),
                              "evaluation_interval": "1s", "checkpoint_interval": "1h"}},
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"address": "127.0.0.1:0"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["slo"]},
                          "metrics": {"receivers": ["otlp"], "exporters": ["slo"]}},
        },
    }


def get_slo(agent):
    return {s["name"]: s for s in slo_evaluation(agent)["slos"]}


def counts(slo):
    return {k: slo[k] for k in ("good", "bad", "total", "status")}


def minute_ago_ns(minutes):
    now = time.time_ns()
    minute = 60_000 * MS
    return (now // minute - minutes) * minute + 30_000 * MS


def wait_total(agent, name, total, timeout=10.0):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        slos = get_slo(agent)
        if slos[name]["total"] >= total or time.monotonic() > deadline:
            return slos
        time.sleep(0.1)


# ---- sampled spans ---------------------------------------------------------------------------

class Ids(IdGenerator):
    """Trace ids whose low 56 bits (the randomness the consistent sampler compares with its
    threshold, 0xc0000000000000 for ratio 0.25) alternate: 0xf0... is kept, 0x10... is not."""

    def __init__(self):
        self.n = 0
        self.spans = RandomIdGenerator()

    def generate_span_id(self):
        return self.spans.generate_span_id()

    def generate_trace_id(self):
        self.n += 1
        low = 0x00F0000000000000 if self.n % 2 == 1 else 0x0010000000000000
        return (self.n << 64) | low | self.n


class WriteTraceState(Sampler):
    """Keeps every span and gives it the tracestate named by its attribute test.ot (none when
    absent): the tracestate a sampler records, written on the span context by the SDK."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None):
        ot = (attributes or {}).get("test.ot")
        ts = TraceState([("ot", ot)]) if ot else None
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, ts)

    def get_description(self):
        return "WriteTraceState"


def send(agent, sampler, ids, spans, end_ns):
    """Sends |spans| (error, duration ms, test.ot or None, count) of service checkout through
    the SDK's gRPC exporter; returns the spans the SDK exported (decoded requests)."""
    tee = sdk_python.TeeSpans(sdk_python.exporter("traces", "grpc", agent))
    kw = {"id_generator": ids} if ids is not None else {}
    tp = TracerProvider(resource=Resource.create({"service.name": "checkout"}), sampler=sampler,
                        **kw)
    tp.add_span_processor(SimpleSpanProcessor(tee))
    tracer = tp.get_tracer("otter.it.sampling")
    for error, dur, ot, count in spans:
        for i in range(count):
            attrs = {"test.ot": ot} if ot else {}
            sp = tracer.start_span("op-%d" % i, kind=SpanKind.SERVER, attributes=attrs,
                                   start_time=end_ns - dur * MS)
            if error:
                sp.set_status(Status(StatusCode.ERROR))
            sp.end(end_time=end_ns)
    tp.shutdown()
    assert tee.ok(), tee.results
    return [s for r in tee.sent for rs in r.resource_spans for ss in rs.scope_spans
            for s in ss.spans]


def test_sampled_spans_count_their_adjusted_count(otterd, tmp_path):
    defs = tmp_path / "slos.yaml"
    defs.write_text(SPAN_DEFINITIONS)
    agent = otterd(name="sampled", config=slo_config(defs, tmp_path / "slo.ckpt"))
    end_ns = minute_ago_ns(2)

    # A: the SDK's consistent probability sampler at 0.25; of 8 fast good spans and 4 slow
    # failed ones, every other trace id is kept: 4 good and 2 failed, each with ot=th:c
    # (rejection threshold 0xc0000000000000 = 3 * 2^54: adjusted count 2^56 / 2^54 = 4).
    kept = send(agent, composite_sampler(composable_traceid_ratio_based(0.25)), Ids(),
                [(False, 50, None, 8), (True, 150, None, 4)], end_ns)
    assert len(kept) == 6
    assert {s.trace_state for s in kept} == {"ot=th:c"}
    # B: tracestates written by the sampler above: 2 x p:3 (2^3 = 8), good fast; th:8 with
    # rv >= th (2), failed fast; th:zz (malformed: 1), good slow; none (1), good fast; 3 x th:6
    # (2^56 / (5 * 2^53) = 1.6), good fast.
    spans_b = [(False, 50, "p:3", 2), (True, 50, "th:8;rv:ffffffffffffff", 1),
               (False, 150, "th:zz", 1), (False, 50, None, 1), (False, 50, "th:6", 3)]
    sent_b = send(agent, WriteTraceState(), None, spans_b, end_ns)
    assert sorted(s.trace_state for s in sent_b) == sorted(
        ["ot=p:3"] * 2 + ["ot=th:8;rv:ffffffffffffff", "ot=th:zz", ""] + ["ot=th:6"] * 3)

    # checkout-availability (weighted), 75 %:
    #   good: A 4 x 4 = 16; p:3 2 x 8 = 16; th:zz 1; none 1; th:6 3 x 1.6 = 4.8, of which the
    #   whole 4 (0.8 carried: counts stay whole) -> 38. bad: A 2 x 4 = 8; th:8 2 -> 10. total 48.
    #   budget 0.25 x 48 = 12 >= 10: met; remaining 2 / 12 < 0.5 -> WARNING.
    # checkout-availability-raw (sampling: ignore), 50 %: each exported span 1: A 4 good 2 bad;
    #   B 7 good (p:3 x 2, th:zz, none, th:6 x 3) 1 bad -> 11 of 14; budget 7, bad 3, remaining
    #   4 / 7 >= 0.5 -> OK.
    # checkout-latency (weighted, <= 100 ms), 80 %: good: A 16; p:3 16; th:8 2; none 1; th:6 4
    #   -> 39. slow: A 8; th:zz 1 -> 9. total 48; budget 9.6 >= 9: met, remaining 0.6 / 9.6
    #   -> WARNING.
    want = {
        "checkout-availability": {"good": 38, "bad": 10, "total": 48, "status": "WARNING"},
        "checkout-availability-raw": {"good": 11, "bad": 3, "total": 14, "status": "OK"},
        "checkout-latency": {"good": 39, "bad": 9, "total": 48, "status": "WARNING"},
    }
    slos = wait_total(agent, "checkout-availability-raw", 14)
    for name, w in want.items():
        assert counts(slos[name]) == w, (name, counts(slos[name]), w)
    # Spans with an adjusted count other than 1: A 6, p:3 2, th:8 1, th:6 3 = 12; malformed: 1.
    assert agent.metric_sum("otter_slo_weighted_spans_total") == 12
    assert agent.metric_sum("otter_slo_tracestate_malformed_total") == 1
    assert "tracestate was not read (th is not 1 to 14 hex digits)" in agent.stderr()
    agent.stop()


# ---- exponential histograms ------------------------------------------------------------------

def wait_next_minute():
    """Metric points count at their time (the export's now) and the engine counts closed
    1-minute buckets: wait until the current minute has closed."""
    time.sleep(61 - time.time() % 60)


def test_exponential_histograms_sdk_downscale(otterd, tmp_path):
    defs = tmp_path / "slos.yaml"
    defs.write_text(EXPO_DEFINITIONS)
    agent = otterd(name="expo", config=slo_config(defs, tmp_path / "slo.ckpt"))
    # Created after the agent: the cumulative series starts after it, so its first point counts.
    tee = sdk_python.TeeMetrics(sdk_python.exporter("metrics", "grpc", agent))
    reader = PeriodicExportingMetricReader(tee, export_interval_millis=3_600_000)
    view = View(instrument_name="http.server.duration",
                aggregation=ExponentialBucketHistogramAggregation(max_size=160, max_scale=3))
    mp = MeterProvider(metric_readers=[reader], views=[view],
                       resource=Resource.create({"service.name": "api"}))
    hist = mp.get_meter("otter.it.expo").create_histogram("http.server.duration", unit="s")

    # Export 1 at scale 3 (the range 0.1 .. 0.3 needs 14 buckets of 160). Bucket i is
    # (2^(i/8), 2^((i+1)/8)]: 0.1 in -27, 0.15 in -22, 0.18 and 0.19 in -20 = (0.1768, 0.1928],
    # 0.25 = 2^-2 in -17 = (0.2293, 0.25], 0.3 in -14.
    # latency-0.2: k_3 = floor(8 log2 0.2) = floor(-18.58) = -19: buckets < -19 are good
    #   (up to 0.1928): 0.1, 0.15, 0.18, 0.19 -> 4 of 6 (0.2 is no bound: a warning).
    # latency-0.25: k_3 = -16: up to 0.25 itself: 5 of 6.
    for v in (0.18, 0.15, 0.1, 0.3, 0.25, 0.19):
        hist.record(v)
    mp.force_flush()
    # Export 2: 200000 widens the range to 0.1 .. 2e5, 168 buckets at scale 3 > 160, so the SDK
    # halves the scale to 2 (85 buckets) and merges pairs: bucket j at scale 2 is (2^(j/4),
    # 2^((j+1)/4)]; 0.18 and 0.19 are now in -10 = (0.1768, 0.2102]. One more 0.18.
    # Cumulative: 8 values. latency-0.2 at scale 2: k_2 = floor(-19 / 2) = -10, good up to
    #   2^(-10/4) = 0.1768: 0.1, 0.15 -> 2. The previous point at scale 2 (its scale-3 buckets
    #   below -10 * 2 = -20: 0.1, 0.15) -> 2. Increase 0 good of 2. Sum: 4 of 8.
    #   (Its own-scale good 4 against 2 would have looked like a reset: 6 of 14.)
    # latency-0.25: 0.25 is a bound at scale 2 too: 0.1, 0.15, 0.18, 0.19, 0.25, 0.18 -> 6;
    #   before 5: increase 1 of 2. Sum: 6 of 8.
    for v in (200000.0, 0.18):
        hist.record(v)
    mp.force_flush()
    mp.shutdown()
    assert tee.ok(), tee.results
    points = [dp for r in tee.sent for rm in r.resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics for dp in m.exponential_histogram.data_points]
    # (shutdown exports the unchanged cumulative point once more: an increase of 0)
    assert [(p.scale, p.count) for p in points] in ([(3, 6), (2, 8)], [(3, 6), (2, 8), (2, 8)])
    assert len({p.start_time_unix_nano for p in points}) == 1

    # A raw OTLP/HTTP JSON delta point of queue.wait (threshold 4, scale 0: bucket i is
    # (2^i, 2^(i+1)]): buckets from offset 0: (1,2] 5, (2,4] 3, (4,8] 2, (8,16] 1; zero bucket
    # 4; negative buckets 2 + 1. Good: zero 4 + negative 3 + (1,2] 5 + (2,4] 3 = 15 of 21
    # (4 is a bound: (2,4] counts). A point of queue q2 does not match.
    now = time.time_ns()

    def expo_point(queue):
        return {"attributes": [{"key": "queue", "value": {"stringValue": queue}}],
                "startTimeUnixNano": str(now - 60_000 * MS), "timeUnixNano": str(now),
                "count": "21", "scale": 0, "zeroCount": "4",
                "positive": {"offset": 0, "bucketCounts": ["5", "3", "2", "1"]},
                "negative": {"offset": 1, "bucketCounts": ["2", "1"]}}

    req = {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "q"}}]},
        "scopeMetrics": [{"scope": {"name": "it"}, "metrics": [{
            "name": "queue.wait", "unit": "s",
            "exponentialHistogram": {"aggregationTemporality": 1,
                                     "dataPoints": [expo_point("q1"), expo_point("q2")]}}]}]}]}
    st, _, body = http_request(agent.http_port, "POST", "/v1/metrics",
                               body=json.dumps(req).encode(),
                               headers={"Content-Type": "application/json"})
    assert st == 200, (st, body)

    wait_next_minute()
    slos = get_slo(agent)
    # 50 %: latency-0.2 bad 4 <= budget 4: met, remaining 0 -> WARNING; latency-0.25 bad 2,
    # remaining 2 / 4 = 0.5 (not below) -> OK; queue-4 bad 6 <= 10.5, 4.5 / 10.5 < 0.5 -> WARNING.
    assert counts(slos["latency-0.2"]) == {"good": 4, "bad": 4, "total": 8, "status": "WARNING"}
    assert counts(slos["latency-0.25"]) == {"good": 6, "bad": 2, "total": 8, "status": "OK"}
    assert counts(slos["queue-4"]) == {"good": 15, "bad": 6, "total": 21, "status": "WARNING"}
    err = agent.stderr()
    assert ("SLO latency-0.2: exponential histogram http.server.duration at scale 3 has no "
            "bucket bound equal to the threshold 0.2") in err
    # 2^(-19/8) = 0.192776...
    assert "good counts the buckets up to 0.192776, the nearest bound below it" in err
    assert "SLO latency-0.25: exponential" not in err
    agent.stop()
