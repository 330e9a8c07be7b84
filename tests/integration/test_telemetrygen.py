# SPDX-License-Identifier: Apache-2.0
"""telemetrygen (the collector's load generator, Go SDK) -> otterd, over gRPC and HTTP.

Each run sends a fixed count; exactly that many items must arrive, carrying the names,
attributes and structure telemetrygen gives them.
"""

import collections
import os
import subprocess
from pathlib import Path

import pytest

import otlp_util
from conftest import REPO_ROOT, scaled
from otlp_util import attrs_to_py

TRANSPORTS = ("grpc", "http")


@pytest.fixture(scope="session")
def telemetrygen():
    p = Path(os.environ.get("TELEMETRYGEN") or REPO_ROOT / "tests/.tools/bin/telemetrygen")
    if not os.access(p, os.X_OK):
        pytest.fail("telemetrygen not found at %s (scripts/install-deps.sh installs it)" % p)
    return p


def run_tg(tg, agent, transport, signal, *args):
    if transport == "grpc":
        target = ["--otlp-endpoint", agent.grpc_endpoint]
    else:
        target = ["--otlp-endpoint", "127.0.0.1:%d" % agent.http_port, "--otlp-http"]
    argv = [str(tg), signal, "--otlp-insecure", "--rate", "0"] + target + list(args)
    p = subprocess.run(argv, capture_output=True, timeout=scaled(90))
    assert p.returncode == 0, "telemetrygen failed (%d):\n%s" % (
        p.returncode, p.stderr.decode(errors="replace")[-4000:])
    return p


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_telemetrygen_traces(otterd, telemetrygen, transport):
    agent = otterd()
    n_traces, children, workers = 25, 3, 2
    run_tg(telemetrygen, agent, transport, "traces",
           "--traces", str(n_traces), "--child-spans", str(children), "--workers", str(workers),
           "--service", "tg-svc", "--status-code", "Error",
           "--otlp-attributes", 'res.k="rv"',
           "--telemetry-attributes", 'span.k="sv"', "--telemetry-attributes", "span.n=5",
           "--telemetry-attributes", "span.b=true")
    agent.stop()
    items = otlp_util.items("traces", agent.read("traces"))
    total = n_traces * workers * (1 + children)
    assert len(items) == total, "expected %d spans, got %d" % (total, len(items))
    ids = [it.item.span_id for it in items]
    assert len(set(ids)) == total, "duplicate span ids"
    by_trace = collections.defaultdict(list)
    for it in items:
        assert it.attrs("resource") == {"res.k": "rv", "service.name": "tg-svc"}
        assert it.scope.name == "telemetrygen"
        a = it.attrs()
        assert a["span.k"] == "sv" and a["span.n"] == 5 and a["span.b"] is True
        assert a["network.peer.address"] == "1.2.3.4"
        assert it.item.status.code == 2
        assert len(it.item.trace_id) == 16 and len(it.item.span_id) == 8
        assert it.item.end_time_unix_nano > it.item.start_time_unix_nano > 0
        by_trace[it.item.trace_id].append(it.item)
    assert len(by_trace) == n_traces * workers
    for tid, spans in by_trace.items():
        roots = [s for s in spans if not s.parent_span_id]
        assert len(roots) == 1 and roots[0].name == "lets-go" and roots[0].kind == 3
        kids = sorted(s.name for s in spans if s.parent_span_id)
        assert kids == ["okey-dokey-%d" % i for i in range(children)]
        for s in spans:
            if s.parent_span_id:
                assert s.parent_span_id == roots[0].span_id and s.kind == 2


METRIC_TYPES = {"Gauge": "gauge", "Sum": "sum", "Histogram": "histogram",
                "ExponentialHistogram": "exponential_histogram"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_telemetrygen_metrics(otterd, telemetrygen, transport):
    agent = otterd()
    n, workers = 20, 2
    for mtype in METRIC_TYPES:
        run_tg(telemetrygen, agent, transport, "metrics",
               "--metrics", str(n), "--workers", str(workers), "--metric-type", mtype,
               "--otlp-metric-name", "tg.%s" % mtype.lower(),
               "--aggregation-temporality", "delta" if mtype == "Sum" else "cumulative",
               "--otlp-attributes", 'res.k="rv"', "--telemetry-attributes", 'dp.k="dv"')
    agent.stop()
    items = otlp_util.items("metrics", agent.read("metrics"))
    by_name = collections.defaultdict(list)
    for it in items:
        by_name[it.metric.name].append(it)
    assert sorted(by_name) == sorted("tg.%s" % m.lower() for m in METRIC_TYPES)
    for mtype, field in METRIC_TYPES.items():
        pts = by_name["tg.%s" % mtype.lower()]
        assert len(pts) == n * workers, "%s: expected %d points, got %d" % (
            mtype, n * workers, len(pts))
        for it in pts:
            kind, data, _ = otlp_util.metric_points(it.metric)
            assert kind == field, mtype
            assert it.attrs("resource")["res.k"] == "rv"
            assert it.attrs()["dp.k"] == "dv"
            assert it.item.time_unix_nano > 0
            if field == "sum":
                assert data.aggregation_temporality == 1 and data.is_monotonic
            if field in ("histogram", "exponential_histogram"):
                assert data.aggregation_temporality == 2
                assert it.item.count > 0 or it.item.count == 0
        if field in ("gauge", "sum"):
            vals = collections.Counter(it.item.as_int for it in pts)
            assert vals == collections.Counter(list(range(n)) * workers), mtype


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_telemetrygen_logs(otterd, telemetrygen, transport):
    agent = otterd()
    n, workers = 30, 2
    tid, sid = "ae87dadd90e9935a4bc9660628efd569", "5828fa4960140870"
    run_tg(telemetrygen, agent, transport, "logs",
           "--logs", str(n), "--workers", str(workers), "--body", "tg body \u00e9",
           "--severity-number", "13", "--severity-text", "Warn",
           "--trace-id", tid, "--span-id", sid,
           "--otlp-attributes", 'res.k="rv"', "--telemetry-attributes", 'log.k="lv"')
    agent.stop()
    items = otlp_util.items("logs", agent.read("logs"))
    assert len(items) == n * workers
    for it in items:
        r = it.item
        assert otlp_util.any_to_py(r.body) == "tg body \u00e9"
        assert r.severity_number == 13 and r.severity_text == "Warn"
        assert r.trace_id.hex() == tid and r.span_id.hex() == sid
        assert attrs_to_py(r.attributes)["log.k"] == "lv"
        assert it.attrs("resource")["res.k"] == "rv"
        assert r.time_unix_nano > 0
