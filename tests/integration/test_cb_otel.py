# SPDX-License-Identifier: Apache-2.0
"""cb_otel (the chatbot's OpenTelemetry SDK) over the wire.

The driver program (tests/unit/chatbot/cb_otel_driver.c, from $CB_OTEL_DRIVER, default
build/tests/unit/chatbot/cb_otel_driver) configures cb_otel from the OTEL_* environment, makes a
server span continuing a given traceparent with a Bedrock client span under it, a correlated log
record and request metrics with fixed durations, then shuts down (flush) and prints one JSON line
with the ids it made and its counters.

- against a real otterd (OTLP/HTTP receiver + file exporter): everything it wrote is checked
  field by field (ids, parent links, kinds, every gen_ai.* attribute, metric points with bucket
  counts worked out by hand, the log's trace and span ids), plus batching and the queue bound;
- against a strict local OTLP/HTTP peer (decodes every body with the reference protobuf classes):
  503 with Retry-After, 503 again, then 200 with a partial_success; a 400 never retried; a peer
  that never answers (the shutdown deadline);
- OTEL_SDK_DISABLED=true and no endpoint at all: nothing is sent, nothing fails.
"""

import gzip
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from google.rpc import status_pb2

import otlp_util
from conftest import REPO_ROOT, SANITIZER_RE, scaled
from otlp_util import attrs_to_py

TID = "4bf92f3577b34da6a3ce929d0e0e4736"
PID = "00f067aa0ba902b7"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
# http.server.request.duration's bounds (semantic conventions): 15 buckets.
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                16777216, 67108864]


def driver_binary():
    p = Path(os.environ.get("CB_OTEL_DRIVER") or "build/tests/unit/chatbot/cb_otel_driver")
    p = p if p.is_absolute() else REPO_ROOT / p
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail("cb_otel_driver not found at %s (build it, or set CB_OTEL_DRIVER)" % p)
    return p


def run_driver(env, *args, timeout=60):
    """Runs the driver with only |env| (plus sanitizer options); returns (report, stderr)."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            full[k] = os.environ[k]
    full.setdefault("ASAN_OPTIONS", "halt_on_error=1:abort_on_error=1:detect_leaks=1")
    full.setdefault("UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1:print_stacktrace=1")
    full.update(env)
    p = subprocess.run([str(driver_binary()), *args], env=full, capture_output=True, text=True,
                       timeout=scaled(timeout))
    assert not SANITIZER_RE.search(p.stderr), "sanitizer report:\n" + p.stderr[-4000:]
    assert p.returncode == 0, "driver exited %d:\n%s" % (p.returncode, p.stderr[-3000:])
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1, p.stdout
    return json.loads(lines[0]), p.stderr


def spans_by_kind(reqs):
    out = {}
    for it in otlp_util.items("traces", reqs):
        out.setdefault(it.item.kind, []).append(it)
    return out


def buckets_for(values, bounds):
    """Bucket counts computed independently of cb_otel: upper bounds inclusive."""
    counts = [0] * (len(bounds) + 1)
    for v in values:
        i = 0
        while i < len(bounds) and v > bounds[i]:
            i += 1
        counts[i] += 1
    return counts


def test_to_otterd(otterd):
    agent = otterd(grpc=False, batch="100ms")
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": agent.http_base,
        "OTEL_SERVICE_NAME": "chatbot-it",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=it%20test,service.name=ignored",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
    }
    rep, _ = run_driver(env, "--traceparent", "00-%s-%s-01" % (TID, PID),
                        "--tracestate", "vendor=x,other@sys=y", "--run-ms", "900")
    assert rep["shutdown_rc"] == 0 and rep["enabled"] is True
    assert rep["trace_id"] == TID
    st = rep["stats"]
    assert (st["spans_sent"], st["spans_failed"], st["logs_sent"], st["logs_failed"]) == (2, 0, 1, 0)
    # 900 ms at a 200 ms interval: several periodic exports, then the last one at shutdown.
    assert st["metric_exports"] >= 3, st

    traces = agent.wait_for_items("traces", 2)
    logs = agent.wait_for_items("logs", 1)
    agent.stop()
    traces, logs, metrics = agent.read("traces"), agent.read("logs"), agent.read("metrics")
    assert otlp_util.count_items("traces", traces) == 2

    kinds = spans_by_kind(traces)
    server, client = kinds[2][0], kinds[3][0]
    s, c = server.item, client.item
    res = server.attrs("resource")
    assert res["service.name"] == "chatbot-it"          # OTEL_SERVICE_NAME wins
    assert res["deployment.environment"] == "it test"  # percent-decoded
    assert res["service.version"] == "9.9.9-driver"
    assert res["telemetry.sdk.language"] == "c"
    assert server.scope.name == "otter.chatbot"
    # The server span continues the incoming trace; the client span is its child.
    assert s.trace_id.hex() == TID and c.trace_id.hex() == TID
    assert s.parent_span_id.hex() == PID
    assert s.span_id.hex() == rep["server_span_id"]
    assert c.span_id.hex() == rep["client_span_id"]
    assert c.parent_span_id.hex() == rep["server_span_id"]
    assert s.trace_state == "vendor=x,other@sys=y" == c.trace_state
    assert s.name == "POST /api/chat"
    assert c.name == "chat " + MODEL
    assert s.start_time_unix_nano <= c.start_time_unix_nano <= c.end_time_unix_nano
    assert c.end_time_unix_nano <= s.end_time_unix_nano
    assert s.status.code == 0 and c.status.code == 0
    sa = attrs_to_py(s.attributes)
    assert sa == {
        "http.request.method": "POST", "url.path": "/api/chat", "url.scheme": "http",
        "http.route": "/api/chat", "server.address": "127.0.0.1", "server.port": 8080,
        "client.address": "127.0.0.2", "user_agent.original": "cb-otel-driver/1",
        "http.response.status_code": 200,
    }
    ca = attrs_to_py(c.attributes)
    assert ca == {
        "gen_ai.system": "aws.bedrock", "gen_ai.operation.name": "chat",
        "gen_ai.request.model": MODEL, "gen_ai.usage.input_tokens": 321,
        "gen_ai.usage.output_tokens": 54, "gen_ai.response.finish_reasons": ["end_turn"],
        "rpc.system": "aws-api", "rpc.service": "BedrockRuntime", "rpc.method": "Converse",
        "aws.request_id": "req-driver-1", "cloud.region": "eu-west-1",
        "http.response.status_code": 200,
    }
    # Message text is off by default: no events, and the words are nowhere in the output.
    assert len(c.events) == 0
    assert b"what is otterd" not in agent.out_path("traces").read_bytes()

    (log,) = otlp_util.items("logs", logs)
    r = log.item
    assert r.trace_id.hex() == TID and r.span_id.hex() == rep["server_span_id"]
    assert r.severity_number == 13 and r.severity_text == "WARN"
    assert r.body.string_value == "driver log record"
    assert attrs_to_py(r.attributes) == {"chatbot.session_id": "0123", "chatbot.answer_bytes": 13}
    assert r.flags == 1

    # Metrics: every export is cumulative from one start time; all points were recorded before
    # the loop ran, so every export carries the same values.
    pts = otlp_util.items("metrics", metrics)
    starts = {p.item.start_time_unix_nano for p in pts}
    assert len(starts) == 1, starts
    times = sorted({p.item.time_unix_nano for p in pts})
    assert len(times) >= 3 and times[0] > next(iter(starts))
    last = times[-1]

    def points(name):
        return [p for p in pts if p.metric.name == name and p.item.time_unix_nano == last]

    req = {(a["http.route"], a["http.response.status_code"]): p.item.as_int
           for p in points("chatbot.requests") for a in [p.attrs()]}
    # /fixed: four 200s and one 500; /api/chat: the server span's one request.
    assert req == {("/fixed", 200): 4, ("/fixed", 500): 1, ("/api/chat", 200): 1}
    for p in pts:
        if p.metric.name == "chatbot.requests":
            assert p.metric.sum.is_monotonic and p.metric.sum.aggregation_temporality == 2

    dur = {(a["http.route"], a["http.response.status_code"]): p.item
           for p in points("http.server.request.duration") for a in [p.attrs()]}
    assert set(dur) == {("/fixed", 200), ("/fixed", 500), ("/api/chat", 200)}
    h = dur[("/fixed", 200)]
    assert list(h.explicit_bounds) == BOUNDS
    # 0.005 is on the first bound (bucket 0), 0.0051 in (0.005, 0.01] (1), 0.3 in (0.25, 0.5]
    # (7), 12 over 10 (14).
    assert list(h.bucket_counts) == [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert list(h.bucket_counts) == buckets_for([0.005, 0.0051, 0.3, 12.0], BOUNDS)
    assert h.count == 4 and abs(h.sum - 12.3101) < 1e-9 and h.min == 0.005 and h.max == 12.0
    # 0.02 in (0.01, 0.025]: bucket 2.
    assert list(dur[("/fixed", 500)].bucket_counts) == [0, 0, 1] + [0] * 12
    assert dur[("/api/chat", 200)].count == 1
    tok = {p.attrs()["gen_ai.token.type"]: p.item for p in points("gen_ai.client.token.usage")}
    # 321 in (256, 1024]: bucket 5; 54 in (16, 64]: bucket 3.
    assert list(tok["input"].bucket_counts) == buckets_for([321], TOKEN_BOUNDS)
    assert tok["input"].bucket_counts[5] == 1 and tok["input"].sum == 321
    assert tok["output"].bucket_counts[3] == 1 and tok["output"].sum == 54
    assert points("chatbot.provider.errors") == []


def test_batches_and_queue_bound(otterd):
    agent = otterd(grpc=False, batch="100ms")
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": agent.http_base}
    # 2 + 1100 spans in batches of 512: 512 go when the queue first fills, then 512 + 78 at
    # shutdown = 3 trace requests, + 1 for metrics + 1 for logs.
    rep, _ = run_driver(base, "--extra-spans", "1100")
    st = rep["stats"]
    assert (st["spans_ended"], st["spans_sent"], st["spans_dropped"]) == (1102, 1102, 0)
    assert st["requests"] == 5, st
    # A queue of 100 with batches of 50: spans 1-50 leave in a request (still in flight while
    # the rest are made), the next 100 wait, the other 302 - 50 - 100 = 152 are dropped.
    rep2, err = run_driver(dict(base, OTEL_BSP_MAX_QUEUE_SIZE="100",
                                OTEL_BSP_MAX_EXPORT_BATCH_SIZE="50"), "--extra-spans", "300")
    st2 = rep2["stats"]
    assert (st2["spans_ended"], st2["spans_sent"], st2["spans_dropped"]) == (302, 150, 152)
    assert "span queue full (100)" in err
    reqs = agent.wait_for_items("traces", 1102 + 150)
    agent.stop()
    reqs = agent.read("traces")
    ids = [it.item.span_id.hex() for it in otlp_util.items("traces", reqs)]
    assert len(ids) == len(set(ids)) == 1252


class StrictPeer:
    """An OTLP/HTTP peer that decodes every body strictly and plays a script per path."""

    def __init__(self, script, paths=None):
        self.script = {k: list(v) for k, v in script.items()}
        self.paths = paths or {v: k for k, v in otlp_util.HTTP_PATH.items()}
        self.received = []  # (path, monotonic time, headers dict, body bytes)
        self.errors = []
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                peer.received.append((self.path, time.monotonic(),
                                      {k.lower(): v for k, v in self.headers.items()}, body))
                sig = peer.paths.get(self.path)
                try:
                    assert sig is not None, "unexpected path %s" % self.path
                    assert self.headers.get("Content-Type") == "application/x-protobuf"
                    if self.headers.get("Content-Encoding") == "gzip":
                        body = gzip.decompress(body)
                    else:
                        assert self.headers.get("Content-Encoding") is None
                    msg = otlp_util.REQUEST[sig]()
                    msg.ParseFromString(body)
                    assert msg.SerializeToString() == body or msg.ByteSize() == len(body)
                    assert otlp_util.count_items(sig, [msg]) > 0, "an empty request"
                except Exception as e:  # noqa: BLE001 - reported by the test
                    peer.errors.append("%s: %r" % (self.path, e))
                steps = peer.script.get(self.path) or [(200, {}, b"")]
                status, headers, out = steps.pop(0) if len(steps) > 1 else steps[0]
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def at(self, path):
        return [r for r in self.received if r[0] == path]


@pytest.fixture
def peer():
    made = []

    def make(script, paths=None):
        p = StrictPeer(script, paths)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def test_retries_partial_success_and_400(peer):
    partial = otlp_util.RESPONSE["traces"]()
    partial.partial_success.rejected_spans = 1
    partial.partial_success.error_message = "one span refused"
    bad = status_pb2.Status(code=3, message="bad log record").SerializeToString()
    p = peer({
        "/v1/traces": [(503, {"Retry-After": "1"}, b""), (503, {}, b""),
                       (200, {}, partial.SerializeToString())],
        "/v1/logs": [(400, {}, bad)],
    })
    rep, err = run_driver({"OTEL_EXPORTER_OTLP_ENDPOINT": p.url,
                           "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=secret%20one,x-team=otter"},
                          "--traceparent", "00-%s-%s-01" % (TID, PID))
    assert p.errors == []
    tr = p.at("/v1/traces")
    assert len(tr) == 3
    # The same batch each time, with the configured headers (percent-decoded).
    assert tr[0][3] == tr[1][3] == tr[2][3]
    for r in tr:
        assert r[2]["x-api-key"] == "secret one" and r[2]["x-team"] == "otter"
        assert r[2]["user-agent"].startswith("otter-chatbot-otlp/")
    # Retry-After: 1 s is honoured; then the backoff: 1 s x 1.5 = 1.5 s +-20 % = [1.2, 1.8].
    gap1, gap2 = tr[1][1] - tr[0][1], tr[2][1] - tr[1][1]
    assert 0.95 <= gap1 <= scaled(1.0) + 0.8, gap1
    assert 1.15 <= gap2 <= scaled(1.8) + 0.8, gap2
    st = rep["stats"]
    assert rep["shutdown_rc"] == 0
    assert (st["spans_sent"], st["spans_rejected"], st["spans_failed"]) == (1, 1, 0)
    assert st["retries"] == 2
    assert "partial success, 1 rejected: one span refused" in err
    # 400 is not retryable: one attempt, the record counted failed, the Status message logged.
    assert len(p.at("/v1/logs")) == 1
    assert (st["logs_sent"], st["logs_failed"]) == (0, 1)
    assert "HTTP 400: bad log record" in err
    assert "secret one" not in err
    # points: chatbot.requests 3 (/api/chat 200, /fixed 200, /fixed 500) + duration 3 + tokens 2
    assert len(p.at("/v1/metrics")) == 1 and st["points_sent"] == 8


def test_per_signal_endpoints_and_gzip(peer):
    p = peer({}, paths={"/custom/traces": "traces", "/v1/logs": "logs"})
    rep, _ = run_driver({
        "OTEL_EXPORTER_OTLP_ENDPOINT": p.url,                       # + /v1/logs
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": p.url + "/custom/traces",  # as is
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
    })
    assert p.errors == []
    assert sorted(r[0] for r in p.received) == ["/custom/traces", "/v1/logs"]
    for r in p.received:
        assert r[2]["content-encoding"] == "gzip"
        assert gzip.decompress(r[3])  # a real gzip stream
    traces = otlp_util.REQUEST["traces"]()
    traces.ParseFromString(gzip.decompress(p.at("/custom/traces")[0][3]))
    assert otlp_util.count_items("traces", [traces]) == 2
    st = rep["stats"]
    assert (st["spans_sent"], st["logs_sent"], st["points_sent"], st["requests"]) == (2, 1, 0, 2)


def test_xray_view_of_a_new_root(peer, otterd_bin, tmp_path):
    """A request with no traceparent: its trace id is X-Ray's format (Unix seconds first), so
    otterd's X-Ray translation makes a segment with the Bedrock call as an aws subsegment."""
    p = peer({})
    rep, _ = run_driver({"OTEL_EXPORTER_OTLP_ENDPOINT": p.url, "OTEL_METRICS_EXPORTER": "none",
                         "OTEL_LOGS_EXPORTER": "none"})
    assert p.errors == []
    (req,) = p.at("/v1/traces")
    body = tmp_path / "traces.pb"
    body.write_bytes(req[3])
    out = subprocess.run([str(otterd_bin), "translate", "--to", "xray", str(body)],
                         capture_output=True, text=True, timeout=scaled(30))
    assert out.returncode == 0 and out.stderr == "", out.stderr
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(docs) == 2
    seg = next(d for d in docs if d.get("type") != "subsegment")
    sub = next(d for d in docs if d.get("type") == "subsegment")
    tid = rep["trace_id"]
    assert abs(int(tid[:8], 16) - time.time()) < 120
    assert seg["trace_id"] == sub["trace_id"] == "1-%s-%s" % (tid[:8], tid[8:])
    assert seg["name"] == "chatbot" and seg["id"] == rep["server_span_id"]
    assert "parent_id" not in seg
    assert seg["http"]["request"]["method"] == "POST"
    assert seg["http"]["response"]["status"] == 200
    assert sub["parent_id"] == rep["server_span_id"] and sub["id"] == rep["client_span_id"]
    assert sub["namespace"] == "aws" and sub["name"] == "BedrockRuntime"
    assert sub["aws"]["operation"] == "Converse"
    assert sub["aws"]["request_id"] == "req-driver-1"
    assert sub["metadata"]["default"]["gen_ai.usage.input_tokens"] == 321


def test_shutdown_deadline():
    # A peer that accepts connections (kernel backlog) but never answers.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        url = "http://127.0.0.1:%d" % s.getsockname()[1]
        t0 = time.monotonic()
        rep, err = run_driver({"OTEL_EXPORTER_OTLP_ENDPOINT": url}, "--shutdown-ms", "1500")
        took = time.monotonic() - t0
    finally:
        s.close()
    assert rep["shutdown_rc"] == -7  # AG_ETIMEDOUT
    st = rep["stats"]
    assert (st["spans_sent"], st["spans_failed"]) == (0, 2)
    assert (st["logs_sent"], st["logs_failed"]) == (0, 1)
    assert took < scaled(1.5) + 5
    assert "still unsent after 1500 ms" in err


def test_disabled_and_no_endpoint(peer):
    p = peer({})
    rep, err = run_driver({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": p.url},
                          "--traceparent", "00-%s-%s-01" % (TID, PID), "--run-ms", "300")
    assert rep["enabled"] is False
    assert rep["trace_id"] == "" and rep["server_span_id"] == ""
    assert all(v == 0 for v in rep["stats"].values()), rep["stats"]
    time.sleep(0.2)
    assert p.received == []
    assert err == ""
    # No endpoint: spans still get ids (propagation works) but nothing is sent or failed.
    rep, err = run_driver({}, "--traceparent", "00-%s-%s-01" % (TID, PID))
    assert rep["enabled"] is True and rep["trace_id"] == TID and rep["shutdown_rc"] == 0
    st = rep["stats"]
    assert st["requests"] == 0 and st["spans_failed"] == 0 and st["spans_ended"] == 0
    assert not re.search(r"error|warn", err, re.I), err
