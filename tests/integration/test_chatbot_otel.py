# SPDX-License-Identifier: Apache-2.0
"""The chatbot's telemetry end to end: chatbot -> OTLP/HTTP -> otterd -> X-Ray (moto), files, SLOs.

One otterd (an otlp receiver; file exporters for traces, metrics and logs; the awsxray exporter
pointed at moto server with IAM auth on, so every PutTraceSegments signature is verified; the
slo exporter over chatbot/slo.yaml) receives the telemetry of two chatbots:
  - `--provider bedrock` against aimock behind the SigV4-checking proxy (test_chatbot_bedrock.py's
    peers): one chat request carrying a traceparent must come back as an X-Ray segment (the
    chatbot's SERVER span, under the caller's parent) with a Bedrock subsegment under the same
    trace id, as chatbot.requests and http.server.request.duration points, token usage, a log
    record with the trace id, and one good event of chatbot-chat-availability on GET /v1/slo;
    then a request whose Bedrock calls all fail (aimock's 500 three times: the standard mode's
    attempts used up, the chatbot answers 503) must be counted bad, on /v1/slo and by
    `slo report --from agent=`;
    a ConverseStream that aimock cuts off after the 200 (an SSE error event) must be counted bad
    by chatbot-chat-stream-availability;
  - `--provider local`: a streamed answer gives a SERVER span without a client span, counted
    good by chatbot-chat-stream-availability.

The SLOs are chatbot/slo.yaml's, with one change: the availability SLOs' 30-day windows become 7
days. The engine
reports whole closed buckets, and a 30-day window moves in 5-minute steps (slo/README.md) where
one of up to ~11 days has 1-minute buckets; the selectors (service, route, kind, the bad classes)
are the file's. The counts are polled until the minute of the requests has closed.
"""

import http.client
import json
import random
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

import otlp_util
from aws_peers import REGION, KeyRegistry, MotoServer, aws_env
from bedrock_peer import Aimock, SigV4Proxy
from conftest import http_request, make_config, scaled
from sse_util import stream
from test_chatbot_bedrock import CHUNK, FIXTURES, KEY, MODEL, SECRET, SHORT, TOKEN, Bot

REPO = Path(__file__).resolve().parents[2]
SLO_DEFS = REPO / "chatbot" / "slo.yaml"
ENVIRONMENT = "otter-it"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


@pytest.fixture
def bedrock(tmp_path):
    mock = Aimock(FIXTURES, tmp_path / "aimock.log", chunk_size=CHUNK)
    registry = KeyRegistry()
    registry.add(KEY, SECRET, TOKEN, None)
    proxy = SigV4Proxy(mock.port, MODEL, registry.lookup)
    yield mock, proxy
    proxy.stop()
    mock.stop()
    assert proxy.errors == [], proxy.errors


def slo_defs(path):
    """chatbot/slo.yaml with 7-day windows instead of 30 for the two availability SLOs (see
    above; the others keep theirs: their default alert windows scaled to 7 days would be under
    the engine's 2-minute minimum)."""
    docs = SLO_DEFS.read_text().split("\n---\n")
    out = []
    for d in docs:
        if "availability:" in d:
            assert d.count("window: 30d") == 1, d
            d = d.replace("window: 30d", "window: 7d")
        out.append(d)
    assert sum("window: 7d" in d for d in out) == 2
    path.write_text("\n---\n".join(out))
    return path


def agent_config(out_dir, moto, state, defs):
    cfg = make_config(out_dir, grpc=False)
    cfg["exporters"]["awsxray"] = {"region": REGION, "endpoint": moto.endpoint}
    cfg["exporters"]["slo"] = {"definitions": [str(defs)], "state_file": str(state),
                               "evaluation_interval": "1s", "checkpoint_interval": "1h"}
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["file/traces", "awsxray", "slo"]
    return cfg


def otel_env(agent, instance, **extra):
    """The chatbot's telemetry settings: otterd's OTLP/HTTP receiver, short export delays, and
    service.instance.id |instance| to tell the two chatbots' metrics apart."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": agent.http_base,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=%s,service.instance.id=%s"
                                    % (ENVIRONMENT, instance),
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
    }
    env.update(extra)
    return env


def xray_trace_id():
    """A W3C trace id in X-Ray's format (Unix seconds first): otterd's exporter keeps only those."""
    return "%08x%024x" % (int(time.time()), random.getrandbits(96))


def post_chat(port, message, traceparent=None):
    hdrs = {"Content-Type": "application/json"}
    if traceparent:
        hdrs["traceparent"] = traceparent
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(30))
    conn.request("POST", "/api/chat", body=json.dumps({"message": message}).encode(),
                 headers=hdrs)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    return resp, body


def slos(agent):
    st, _, body = http_request(agent.admin_port, "GET", "/v1/slo")
    assert st == 200, body[:300]
    (ev,) = json.loads(body)["evaluations"]
    return {s["name"]: s for s in ev["slos"]}


def wait_slo(agent, want_totals, timeout=75.0):
    """Polls /v1/slo until every SLO of |want_totals| has at least its total."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        got = slos(agent)
        if all(got[n]["total"] >= t for n, t in want_totals.items()):
            return got
        assert time.monotonic() < deadline, ({n: got[n]["total"] for n in want_totals},
                                             agent.stderr()[-3000:])
        time.sleep(0.5)


def counts(slo):
    return {k: slo[k] for k in ("good", "bad", "total")}


def xray_docs(moto, trace_id, n, timeout=15.0):
    tid = "1-%s-%s" % (trace_id[:8], trace_id[8:])
    deadline = time.monotonic() + scaled(timeout)
    while True:
        docs = moto.traces([tid])
        if len(docs) >= n or time.monotonic() > deadline:
            return tid, docs
        time.sleep(0.3)


def wait_items(agent, sig, pred, timeout=15.0):
    """The |sig| items otterd's file exporter wrote so far that satisfy |pred|, once there is
    one (polling)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        found = [it for it in otlp_util.items(sig, agent.read_partial(sig)) if pred(it)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def last_points(agent, instance, name):
    """{attributes as a sorted tuple: point} of metric |name| from the newest export of the
    chatbot |instance|."""
    pts = [p for p in otlp_util.items("metrics", agent.read_partial("metrics"))
           if p.metric.name == name and p.attrs("resource")["service.instance.id"] == instance]
    if not pts:
        return {}
    last = max(p.item.time_unix_nano for p in pts)
    return {tuple(sorted(p.attrs().items())): p.item for p in pts
            if p.item.time_unix_nano == last}


def wait_point(agent, name, attrs, want, value, timeout=10.0, instance="bedrock"):
    """Waits until the newest export of |name| has the point |attrs| with value(point) == want."""
    key = tuple(sorted(attrs.items()))
    deadline = time.monotonic() + scaled(timeout)
    while True:
        p = last_points(agent, instance, name).get(key)
        if p is not None and value(p) == want:
            return p
        assert time.monotonic() < deadline, (name, attrs,
                                             last_points(agent, instance, name).keys())
        time.sleep(0.2)


@pytest.mark.timeout(300)
def test_chat_to_xray_metrics_logs_and_slo(otterd, moto, bedrock, slo_bin, tmp_path):
    mock, proxy = bedrock
    defs = slo_defs(tmp_path / "slo.yaml")
    agent = otterd(config=agent_config(tmp_path / "otterd" / "out", moto, tmp_path / "slo.ckpt",
                                       defs),
                   env=aws_env(AWS_ACCESS_KEY_ID=moto.admin_key,
                               AWS_SECRET_ACCESS_KEY=moto.admin_secret))
    assert {s["total"] for s in slos(agent).values()} == {0}

    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Be brief.")
    bot = Bot(["--provider", "bedrock", "--model-id", MODEL, "--bedrock-endpoint", proxy.url,
               "--system-prompt-file", str(prompt), "--bedrock-timeout", "20"],
              aws_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                      AWS_SESSION_TOKEN=TOKEN, AWS_REGION="us-east-1", **otel_env(agent, "bedrock")))
    local = Bot([], aws_env(**otel_env(agent, "local")))

    # ---- one good request through Bedrock, continuing the caller's trace -------------------
    trace_id, parent = xray_trace_id(), "%016x" % random.getrandbits(64)
    resp, body = post_chat(bot.port, "What is Otter?", "00-%s-%s-01" % (trace_id, parent))
    assert resp.status == 200 and body["answer"] == SHORT, body
    request_id = proxy.request_ids[-1]
    # traceresponse: the same trace, the chatbot's server span, sampled.
    tr = resp.getheader("traceresponse")
    assert tr is not None and tr.startswith("00-%s-" % trace_id) and tr.endswith("-01"), tr
    server_span = tr.split("-")[2]
    assert server_span != parent

    # ---- the local provider, streamed --------------------------------------------------------
    sresp, events = stream(local.port, {"message": "why does otterd answer 503?"}, timeout=30)
    assert sresp.status == 200 and events[-1][0] == "done", events[-3:]
    local_trace = sresp.getheader("traceresponse").split("-")[1]

    # ---- a Bedrock stream that breaks after its 200: an error event, counted bad -----------
    cresp, cevents = stream(bot.port, {"message": "Cut me off"}, timeout=30)
    assert cresp.status == 200 and cevents[-1][0] == "error", cevents[-2:]
    assert cevents[-1][1]["error"]["code"] == "upstream_error"
    cut_span = cresp.getheader("traceresponse").split("-")[2]

    # ---- X-Ray: the request's segment and its Bedrock subsegment ---------------------------
    tid, docs = xray_docs(moto, trace_id, 2)
    assert len(docs) == 2, docs
    seg = next(d for d in docs if d.get("type") != "subsegment")
    sub = next(d for d in docs if d.get("type") == "subsegment")
    assert seg["trace_id"] == sub["trace_id"] == tid
    assert seg["name"] == "chatbot" and seg["id"] == server_span
    assert seg["parent_id"] == parent  # the caller's span: the trace continues
    assert seg["http"]["request"]["method"] == "POST"
    assert seg["http"]["response"]["status"] == 200
    assert not seg.get("fault") and not seg.get("error")
    assert sub["parent_id"] == server_span
    assert sub["namespace"] == "aws" and sub["name"] == "BedrockRuntime"
    assert sub["aws"]["operation"] == "Converse"
    assert sub["metadata"]["default"]["gen_ai.usage.input_tokens"] == 11
    assert sub["metadata"]["default"]["gen_ai.usage.output_tokens"] == 13
    # The local answer is one segment (no provider call), with its own trace id.
    _, ldocs = xray_docs(moto, local_trace, 1)
    assert [d["name"] for d in ldocs] == ["chatbot"] and "type" not in ldocs[0], ldocs

    # ---- otterd's files: spans, metrics, a log record with the trace id --------------------
    (srv,) = wait_items(agent, "traces", lambda it: it.item.span_id.hex() == server_span)
    assert srv.item.trace_id.hex() == trace_id and srv.item.parent_span_id.hex() == parent
    assert srv.item.name == "POST /api/chat" and srv.item.kind == 2
    res = srv.attrs("resource")
    assert res["service.name"] == "chatbot"
    assert res["deployment.environment"] == ENVIRONMENT
    assert srv.attrs()["http.route"] == "/api/chat"
    assert srv.attrs()["http.response.status_code"] == 200
    (cli,) = wait_items(agent, "traces", lambda it: it.item.parent_span_id.hex() == server_span)
    ca = cli.attrs()
    assert (ca["gen_ai.system"], ca["gen_ai.request.model"], ca["rpc.method"]) == \
        ("aws.bedrock", MODEL, "Converse")
    assert ca["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert (ca["gen_ai.usage.input_tokens"], ca["gen_ai.usage.output_tokens"]) == (11, 13)
    assert ca["cloud.region"] == "us-east-1"
    assert ca["aws.request_id"] == request_id  # x-amzn-RequestId, as the proxy sent it
    # No message text anywhere without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.
    for sig in ("traces", "logs"):
        raw = agent.out_path(sig).read_bytes()
        assert b"What is Otter" not in raw and SHORT.encode() not in raw

    logs = wait_items(agent, "logs", lambda it: it.item.trace_id.hex() == trace_id)
    (rec,) = [r for r in logs if r.attrs().get("http.route") == "/api/chat"]
    assert rec.item.span_id.hex() == server_span
    assert rec.item.severity_text == "INFO" and rec.item.severity_number == 9
    assert rec.item.body.string_value == "POST /api/chat 200"
    assert rec.attrs()["http.response.status_code"] == 200
    assert rec.attrs("resource")["service.name"] == "chatbot"

    ok = {"http.route": "/api/chat", "http.response.status_code": 200}
    wait_point(agent, "chatbot.requests", ok, 1, lambda p: p.as_int)
    wait_point(agent, "http.server.request.duration", dict(ok, **{"http.request.method": "POST"}),
               1, lambda p: p.count)
    tokens = {"gen_ai.system": "aws.bedrock", "gen_ai.operation.name": "chat",
              "gen_ai.request.model": MODEL}
    wait_point(agent, "gen_ai.client.token.usage", dict(tokens, **{"gen_ai.token.type": "input"}),
               11, lambda p: p.sum)
    wait_point(agent, "gen_ai.client.token.usage", dict(tokens, **{"gen_ai.token.type": "output"}),
               13, lambda p: p.sum)
    wait_point(agent, "chatbot.requests",
               {"http.route": "/api/chat/stream", "http.response.status_code": 200}, 1,
               lambda p: p.as_int, instance="local")

    # The broken stream's span: status ERROR, error.type, and no status code (the 200 it sent
    # said nothing about the outcome), so that the SLO exporter counts it bad.
    (cut,) = wait_items(agent, "traces", lambda it: it.item.span_id.hex() == cut_span)
    assert cut.item.status.code == 2 and cut.attrs()["error.type"] == "upstream_error"
    assert "http.response.status_code" not in cut.attrs()
    assert cut.attrs()["http.route"] == "/api/chat/stream"

    # ---- a request whose Bedrock attempts all fail: 503, counted bad -----------------------
    mock.inject_error(500, times=3)
    trace2 = xray_trace_id()
    resp, body = post_chat(bot.port, "What is Otter?", "00-%s-%016x-01" % (trace2, 7))
    assert resp.status == 503 and body["error"]["code"] == "upstream_unavailable", body
    _, docs2 = xray_docs(moto, trace2, 2)
    seg2 = next(d for d in docs2 if d.get("type") != "subsegment")
    sub2 = next(d for d in docs2 if d.get("type") == "subsegment")
    assert seg2["fault"] is True and seg2["http"]["response"]["status"] == 503
    assert sub2["parent_id"] == seg2["id"] and sub2["fault"] is True
    # aimock's error bodies carry no AWS error type: error.type is the status (semconv).
    wait_point(agent, "chatbot.provider.errors",
               {"gen_ai.system": "aws.bedrock", "error.type": "500"}, 1, lambda p: p.as_int)
    wait_point(agent, "chatbot.requests",
               {"http.route": "/api/chat", "http.response.status_code": 503}, 1,
               lambda p: p.as_int)
    errs = wait_items(agent, "logs", lambda it: it.item.trace_id.hex() == trace2
                      and it.item.severity_text == "ERROR")
    assert {r.item.body.string_value for r in errs} == \
        {"provider failed", "POST /api/chat 503 upstream_unavailable"}, errs

    # ---- the SLOs count the requests once their minute has closed (one wait for all) --------
    got = wait_slo(agent, {"chatbot-chat-availability": 2,
                           "chatbot-chat-stream-availability": 2})
    # The Bedrock answer good, the 503 bad.
    assert counts(got["chatbot-chat-availability"]) == {"good": 1, "bad": 1, "total": 2}
    assert got["chatbot-chat-availability"]["attainment_pct"] == pytest.approx(50.0)
    # The local stream good, the broken Bedrock stream bad.
    assert counts(got["chatbot-chat-stream-availability"]) == {"good": 1, "bad": 1, "total": 2}

    # `slo report` reading the agent counts the same requests; half the chat requests failed,
    # far under the objective, so the report exits 1 (breached).
    rep = subprocess.run([str(slo_bin), "report", "--from",
                          "agent=http://127.0.0.1:%d" % agent.admin_port, "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert rep.returncode == 1, rep.stderr
    (ev,) = json.loads(rep.stdout)["evaluations"]
    rslos = {s["name"]: s for s in ev["slos"]}
    assert counts(rslos["chatbot-chat-availability"]) == {"good": 1, "bad": 1, "total": 2}
    assert counts(rslos["chatbot-chat-stream-availability"]) == {"good": 1, "bad": 1, "total": 2}

    bot.stop()
    local.stop()
    # The chatbot flushed at exit and nothing was refused on the way.
    for b in (bot, local):
        assert "telemetry" not in b.log(), b.log()
    agent.stop()


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(30))
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def test_routes_probes_and_sampling(otterd):
    """Route templates (never the session id), unmatched paths, probes counted but untraced,
    an invalid traceparent (a new root in X-Ray's id format), an unsampled one (propagated, not
    exported, still counted), and a 400's log record."""
    agent = otterd(grpc=False)
    bot = Bot([], aws_env(**otel_env(agent, "routes")))
    sid = "0123456789abcdef0123456789abcdef"
    for _ in range(3):
        assert request(bot.port, "GET", "/healthz").status == 200
    r404 = request(bot.port, "GET", "/api/sessions/" + sid)
    assert r404.status == 404
    nope = request(bot.port, "GET", "/nope")
    assert nope.status == 404
    t0 = int(time.time())
    root = request(bot.port, "POST", "/api/chat", json.dumps({"message": "what is otterd?"}),
                   {"traceparent": "00-not-a-traceparent-01"})
    assert root.status == 200
    unsampled_tid = xray_trace_id()
    uns = request(bot.port, "POST", "/api/chat", json.dumps({"message": "what is otterd?"}),
                  {"traceparent": "00-%s-%016x-00" % (unsampled_tid, 5)})
    assert uns.status == 200
    bad = request(bot.port, "POST", "/api/chat", b"{not json")
    assert bad.status == 400

    # The unsampled request: its context propagates (same trace, flags 00), nothing exported.
    tr = uns.getheader("traceresponse").split("-")
    assert tr[1] == unsampled_tid and tr[3] == "00"
    # The invalid traceparent: a new root whose trace id starts with the Unix time (X-Ray's).
    root_tid, root_sid = root.getheader("traceresponse").split("-")[1:3]
    assert root_tid != "0" * 32 and abs(int(root_tid[:8], 16) - t0) <= 2

    bad_sid = bad.getheader("traceresponse").split("-")[2]
    (bspan,) = wait_items(agent, "traces", lambda it: it.item.span_id.hex() == bad_sid)
    bot.stop()  # flushes everything at exit
    agent.stop()
    spans = {it.item.span_id.hex(): it for it in otlp_util.items("traces", agent.read("traces"))}
    # 404 session, 404 unmatched, the new root, the 400: four spans; no probe, nothing unsampled.
    assert len(spans) == 4, [s.item.name for s in spans.values()]
    assert all(s.attrs().get("url.path") != "/healthz" for s in spans.values())
    assert all(s.item.trace_id.hex() != unsampled_tid for s in spans.values())
    sess = spans[r404.getheader("traceresponse").split("-")[2]]
    assert sess.item.name == "GET /api/sessions/{id}"
    assert sess.attrs()["http.route"] == "/api/sessions/{id}"
    assert sess.attrs()["http.response.status_code"] == 404 and sess.item.status.code == 0
    unm = spans[nope.getheader("traceresponse").split("-")[2]]
    assert unm.item.name == "GET" and "http.route" not in unm.attrs()
    new_root = spans[root_sid]
    assert new_root.item.trace_id.hex() == root_tid and new_root.item.parent_span_id == b""
    assert bspan.attrs()["http.response.status_code"] == 400

    # The session id is in no metric (only templates): it is in url.path of its span only.
    assert sid.encode() not in agent.out_path("metrics").read_bytes()
    pts = last_points(agent, "routes", "chatbot.requests")
    got = {(dict(k)["http.route"], dict(k)["http.response.status_code"]): p.as_int
           for k, p in pts.items()}
    # /api/chat: the new root and the unsampled one (200), the bad JSON (400).
    assert got == {("/healthz", 200): 3, ("/api/sessions/{id}", 404): 1, ("unknown", 404): 1,
                   ("/api/chat", 200): 2, ("/api/chat", 400): 1}, got
    dur = last_points(agent, "routes", "http.server.request.duration")
    assert dur[(("http.request.method", "GET"), ("http.response.status_code", 200),
                ("http.route", "/healthz"))].count == 3

    logs = otlp_util.items("logs", agent.read("logs"))
    (blog,) = [r for r in logs if r.item.span_id.hex() == bad_sid]
    assert blog.item.body.string_value == "POST /api/chat 400 invalid_json"
    assert blog.item.severity_text == "INFO"
    assert blog.attrs()["error.code"] == "invalid_json"


def test_header_bytes_that_are_not_utf8(otterd):
    """A request whose User-Agent and Host are not UTF-8: OTLP strings must be, or a receiver
    refuses the whole batch. The span still arrives, the bytes replaced."""
    agent = otterd(grpc=False)
    bot = Bot([], aws_env(**otel_env(agent, "utf8")))
    s = socket.create_connection(("127.0.0.1", bot.port), timeout=scaled(10))
    s.sendall(b"GET /api/sessions/0123456789abcdef0123456789abcdef HTTP/1.1\r\n"
              b"Host: h\xff\xfeost:8080\r\nUser-Agent: agent/\xc3\x28 \xe2\x82\r\n"
              b"Connection: close\r\n\r\n")
    raw = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        raw += d
    s.close()
    assert raw.startswith(b"HTTP/1.1 404"), raw[:200]
    sid = re.search(rb"traceresponse: 00-[0-9a-f]{32}-([0-9a-f]{16})-01", raw).group(1).decode()
    (sp,) = wait_items(agent, "traces", lambda it: it.item.span_id.hex() == sid)
    bot.stop()
    agent.stop()
    a = sp.attrs()
    assert a["server.address"] == "h\ufffd\ufffdost"
    assert a["user_agent.original"] == "agent/\ufffd( \ufffd"
    assert "rejected" not in agent.stderr() and "invalid" not in agent.stderr().lower()
