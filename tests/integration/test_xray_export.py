# SPDX-License-Identifier: Apache-2.0
"""otterd's awsxray exporter against a local PutTraceSegments fake.

The fake (Python stdlib http.server on 127.0.0.1) recomputes every request's SigV4 signature
with botocore's SigV4Auth at the request's own X-Amz-Date and refuses a mismatch, checks the
request shape (POST /TraceSegments, JSON body with at most 50 string documents of at most
64 kB), and answers like X-Ray: {"UnprocessedTraceSegments": [...]}. Spans are sent as
OTLP/JSON over HTTP; every span must arrive exactly once (the ones refused in-band arrive again),
and the counters must say so.
"""

import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import http_request, make_config, scaled

AKID, SECRET = "AKIDOTTERTEST", "otter/secret/for/the/xray/fake/0123456789"
REGION = "us-west-2"
EPOCH = int(time.time()) - 600
SIGN_LOCK = threading.Lock()


class Sink:
    """What the fake received, and how it answers."""

    def __init__(self, unprocessed_first=0):
        self.lock = threading.Lock()
        self.calls = []          # (number of documents, body bytes)
        self.accepted = []       # documents answered as processed
        self.refused = []        # documents answered as unprocessed
        self.errors = []         # what the fake found wrong
        self.unprocessed_first = unprocessed_first
        self.gate = threading.Event()  # cleared: every call waits until it is set
        self.gate.set()

    def check_signature(self, handler, body):
        auth = handler.headers.get("Authorization", "")
        prefix = "AWS4-HMAC-SHA256 Credential=%s/" % AKID
        if not auth.startswith(prefix):
            return "Authorization does not start with %r: %r" % (prefix, auth[:60])
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        scope = fields["Credential"].split("/")
        if scope[2:] != [REGION, "xray", "aws4_request"]:
            return "credential scope %r" % scope
        signed = fields["SignedHeaders"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return "host and x-amz-date must be signed: %r" % signed
        amz_date = handler.headers["X-Amz-Date"]
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        req = AWSRequest(method="POST", url="http://%s%s" % (handler.headers["Host"],
                                                            handler.path), data=body)
        for name in signed:
            if name != "host":
                req.headers[name] = handler.headers[name]
        with SIGN_LOCK:
            orig = botocore.auth.get_current_datetime
            botocore.auth.get_current_datetime = lambda *a, **k: when
            try:
                SigV4Auth(Credentials(AKID, SECRET), "xray", REGION).add_auth(req)
            finally:
                botocore.auth.get_current_datetime = orig
        want = req.headers["Authorization"]
        if want != auth:
            return "signature mismatch:\n got %s\nwant %s" % (auth, want)
        return None

    def handle(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        self.gate.wait(60)
        problems = []
        if handler.command != "POST" or handler.path != "/TraceSegments":
            problems.append("%s %s" % (handler.command, handler.path))
        if handler.headers.get("Content-Type") != "application/json":
            problems.append("Content-Type %r" % handler.headers.get("Content-Type"))
        sig = self.check_signature(handler, body)
        if sig:
            problems.append(sig)
        docs = []
        try:
            top = json.loads(body)
            raw = top["TraceSegmentDocuments"]
            assert set(top) == {"TraceSegmentDocuments"}
            assert 1 <= len(raw) <= 50, len(raw)
            for r in raw:
                assert isinstance(r, str) and len(r.encode()) <= 65536
                docs.append(json.loads(r))
        except Exception as e:  # noqa: BLE001 - any shape problem is reported
            problems.append("body: %r" % e)
        with self.lock:
            self.calls.append((len(docs), len(body)))
            if problems:
                self.errors.extend(problems)
                status, answer = 403 if sig else 400, {"__type": "InvalidRequestException",
                                                       "message": "; ".join(problems)[:300]}
            else:
                unproc = []
                if self.unprocessed_first > 0:
                    unproc = docs[:self.unprocessed_first]
                    self.unprocessed_first = 0
                self.refused.extend(unproc)
                self.accepted.extend(d for d in docs if d not in unproc)
                status = 200
                answer = {"UnprocessedTraceSegments": [
                    {"Id": d["id"], "ErrorCode": "ThrottledException", "Message": "slow down"}
                    for d in unproc]}
        out = json.dumps(answer).encode()
        handler.send_response(status)
        if status != 200:
            handler.send_header("x-amzn-ErrorType", answer["__type"])
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(out)))
        handler.send_header("x-amzn-RequestId", "req-%d" % len(self.calls))
        handler.end_headers()
        handler.wfile.write(out)


@pytest.fixture
def sink():
    made = []

    def start(**kw):
        s = Sink(**kw)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                s.handle(self)

            def log_message(self, *a):
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        s.port = srv.server_address[1]
        made.append(srv)
        return s

    yield start
    for srv in made:
        srv.shutdown()
        srv.server_close()


def xray_agent(otterd, sink, secret=SECRET, **xray_opts):
    # The file exporters of the other signals write under the agent's working directory.
    cfg = make_config("out", grpc=False)
    cfg["exporters"].pop("file/traces")
    cfg["exporters"]["awsxray"] = dict({"endpoint": "http://127.0.0.1:%d" % sink.port,
                                        "region": REGION}, **xray_opts)
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["awsxray"]
    env = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    return otterd(config=cfg, env=env)


def span(i, trace_epoch=None):
    tid = "%08x%024x" % (trace_epoch if trace_epoch is not None else EPOCH, i + 1)
    t0 = EPOCH * 1_000_000_000 + i * 1000
    return {"traceId": tid, "spanId": "%016x" % (0xA000 + i), "name": "op-%d" % i, "kind": 2,
            "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + 5_000_000),
            "attributes": [{"key": "seq", "value": {"intValue": str(i)}}]}


def post_spans(agent, spans):
    body = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"spans": spans}]}]}).encode()
    st, _, resp = http_request(agent.http_port, "POST", "/v1/traces", body,
                               {"Content-Type": "application/json"})
    assert st == 200, (st, resp)


def wait_for(pred, what, timeout=15.0):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    pytest.fail("timed out waiting for " + what)


def test_every_span_exactly_once(otterd, sink):
    s = sink()
    agent = xray_agent(otterd, s, num_workers=2)
    for k in range(6):  # 6 requests of 20 spans
        post_spans(agent, [span(k * 20 + j) for j in range(20)])
    # One span with a random W3C trace id: X-Ray refuses it, otterd counts it.
    post_spans(agent, [span(999, trace_epoch=0x4BF92F35)])
    # The fake records a call before otterd has read its answer: wait for otterd's count.
    wait_for(lambda: agent.metric_sum("otter_exporter_documents_sent_total",
                                      exporter="awsxray") == 120, "120 documents sent")
    assert agent.metric_sum("otter_exporter_dropped_total", exporter="awsxray",
                            reason="invalid_trace_id") == 1
    agent.stop()
    assert s.errors == []
    ids = sorted(d["id"] for d in s.accepted)
    assert ids == ["%016x" % (0xA000 + i) for i in range(120)]
    assert all(n <= 50 for n, _ in s.calls)
    d0 = next(d for d in s.accepted if d["id"] == "%016x" % 0xA000)
    assert d0["trace_id"] == "1-%08x-%024x" % (EPOCH, 1)
    assert d0["name"] == "svc"
    assert abs(d0["start_time"] - EPOCH) < 1e-6
    assert abs(d0["end_time"] - (EPOCH + 0.005)) < 1e-6
    assert d0["metadata"]["default"]["seq"] == 0


def test_unprocessed_on_first_call_sent_again(otterd, sink):
    s = sink(unprocessed_first=3)
    agent = xray_agent(otterd, s)
    post_spans(agent, [span(i) for i in range(10)])
    wait_for(lambda: agent.metric_sum("otter_exporter_documents_sent_total",
                                      exporter="awsxray") == 10, "10 documents sent")
    assert agent.metric_sum("otter_exporter_documents_retried_total", exporter="awsxray") == 3
    agent.stop()
    assert s.errors == []
    assert len(s.refused) == 3
    assert sorted(d["id"] for d in s.accepted) == ["%016x" % (0xA000 + i) for i in range(10)]
    # The refused ones came back in a later call, each exactly once more.
    assert sorted(d["id"] for d in s.refused) == sorted(
        d["id"] for d in s.accepted if d in s.refused)
    assert len(s.calls) >= 2


def test_drain_on_shutdown(otterd, sink):
    """Spans accepted just before SIGTERM still reach X-Ray."""
    s = sink()
    agent = xray_agent(otterd, s)
    post_spans(agent, [span(i) for i in range(75)])
    agent.stop()
    assert s.errors == []
    assert sorted(d["id"] for d in s.accepted) == ["%016x" % (0xA000 + i) for i in range(75)]


def test_wrong_key_fails_loudly(otterd, sink):
    """A signature the service refuses: the documents are counted failed, with the code."""
    s = sink()
    agent = xray_agent(otterd, s, secret="wrong-secret-value")
    post_spans(agent, [span(i) for i in range(4)])
    wait_for(lambda: agent.metric_sum("otter_exporter_documents_failed_total",
                                      exporter="awsxray") == 4, "4 failed documents")
    agent.stop()
    assert s.accepted == []
    err = agent.stderr()
    assert "PutTraceSegments failed: InvalidRequestException (HTTP 403" in err, err
    assert "wrong-secret-value" not in err


def test_backpressure_keeps_every_acknowledged_span(otterd, sink, tmp_path):
    """X-Ray stalls; the exporter's queue (queue_size 1: 64 kB of documents, ~2.2 kB each)
    fills. What otterd acknowledged (200) is
    never dropped: the batch processor keeps the batch the queue refused and answers 503 until
    the queue takes it, and the fan-out holds it for awsxray alone once file/traces took it (so
    neither exporter gets a span twice). When X-Ray answers again, each acknowledged span
    reaches it, and the file, exactly once."""
    s = sink()
    s.gate.clear()
    cfg = make_config("out", grpc=False, batch="10ms")
    cfg["processors"]["batch"]["send_batch_size"] = 10
    cfg["exporters"]["file/traces"]["path"] = str(tmp_path / "traces.jsonl")
    cfg["exporters"]["awsxray"] = {"endpoint": "http://127.0.0.1:%d" % s.port,
                                   "region": REGION, "sending_queue": {"queue_size": 1},
                                   "num_workers": 1}
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["file/traces", "awsxray"]
    env = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    agent = otterd(config=cfg, env=env)
    acked, statuses = [], []
    for k in range(40):  # requests of 10 spans, until a few were refused
        spans = [span(k * 10 + j) for j in range(10)]
        for sp in spans:
            sp["attributes"].append({"key": "pad", "value": {"stringValue": "x" * 2000}})
        body = json.dumps({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
            "scopeSpans": [{"spans": spans}]}]}).encode()
        st, headers, _ = http_request(agent.http_port, "POST", "/v1/traces", body,
                                      {"Content-Type": "application/json"})
        statuses.append(st)
        assert st in (200, 503), st
        if st == 200:
            acked.extend("%016x" % (0xA000 + k * 10 + j) for j in range(10))
        if statuses.count(503) >= 3:
            break
        time.sleep(0.03)  # past the batch's 10 ms timeout: one batch per request
    assert statuses.count(503) >= 3, statuses
    assert len(acked) >= 10
    s.gate.set()
    wait_for(lambda: len(s.accepted) >= len(acked), "every acknowledged span at X-Ray", 30)
    time.sleep(0.3)  # nothing more arrives
    assert s.errors == []
    got = [d["id"] for d in s.accepted]
    assert sorted(got) == sorted(acked), (len(got), len(acked))
    agent.stop()
    in_file = [sp["spanId"] for line in (tmp_path / "traces.jsonl").read_text().splitlines()
               for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"]
               for sp in ss["spans"]]
    assert sorted(in_file) == sorted(acked)
