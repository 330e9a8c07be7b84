# SPDX-License-Identifier: Apache-2.0
"""The chatbot's bedrock provider against npm @copilotkit/aimock behind a SigV4-checking proxy.

Every request the chatbot sends is checked by the proxy (bedrock_peer.SigV4Proxy): the model id
percent-encoded in the path, and the signature recomputed by botocore for signing name
"bedrock". Covered: Converse (/api/chat), ConverseStream streamed through /api/chat/stream (the
events checked one by one against the fixture's text cut in aimock's chunk size), the request
body (system prompt, inference config, history), aimock's injected 429 and 500 (retried then
answered; or retries used up: a clean error, nothing stored), a connection aimock drops
mid-stream (an error event), a client that leaves (the upstream call is cancelled), SIGTERM
during a stream (it finishes), and wrong credentials (403 from the proxy, nothing reaches
aimock).
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
from botocore.eventstream import EventStreamBuffer

from aws_peers import KeyRegistry, aws_env
from bedrock_peer import Aimock, SigV4Proxy, bedrock_event, bedrock_exception, eventstream_frame
from sse_util import stream
from test_chatbot import ANSWER_KEYS, LISTEN_RE, SANITIZER_RE, SESSION_RE, TIME_SCALE, \
    chatbot_binary

# An inference-profile ARN: ':' and '/' in the path are encoded, then encoded again when signed.
MODEL = "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.amazon.nova-lite-v1:0"
KEY, SECRET, TOKEN = "AKIDOTTERCHATBOT0001", "chatbot-test-secret-0001", "chatbot-session-token"
PROMPT = "You answer questions about operating Otter. Be brief."
CHUNK = 7  # aimock's chunk size for streamed text, in characters

SHORT = "Otter is an OpenTelemetry agent for AWS, written in C."
LONG = ("otterd receives OTLP over gRPC and HTTP, turns spans into X-Ray segments, metrics "
        "into EMF and logs into CloudWatch Logs events \u2014 d\u00e9j\u00e0 vu \U0001F9A6.")
FIXTURES = [
    {"match": {"userMessage": "What is Otter?"},
     "response": {"content": SHORT, "usage": {"input_tokens": 11, "output_tokens": 13}}},
    {"match": {"userMessage": "How does otterd export?"},
     "response": {"content": LONG, "usage": {"input_tokens": 21, "output_tokens": 34}}},
    {"match": {"userMessage": "And the follow-up?"},
     "response": {"content": "Follow-up answer.", "usage": {"input_tokens": 40,
                                                             "output_tokens": 3}}},
    # With no latency aimock writes every frame at once and its hang-up discards them all.
    {"match": {"userMessage": "Cut me off"}, "truncateAfterChunks": 4, "latency": 20,
     "response": {"content": LONG}},
    {"match": {"userMessage": "Answer slowly"}, "latency": 400,
     "response": {"content": LONG}},
    {"match": {"userMessage": "Answer in a while"}, "latency": 60,
     "response": {"content": LONG}},
]


def aimock_pieces(text):
    """aimock cuts streamed text every CHUNK UTF-16 code units (JavaScript's String.slice): one
    contentBlockDelta each, so one SSE delta each. LONG is written so that no cut falls inside a
    surrogate pair (which would make a lone, invalid surrogate)."""
    u = text.encode("utf-16-le")
    pieces = [u[i:i + 2 * CHUNK].decode("utf-16-le") for i in range(0, len(u), 2 * CHUNK)]
    assert "".join(pieces) == text
    return pieces


class Bot:
    """The chatbot with --provider bedrock, its environment holding only the AWS_* we give."""

    def __init__(self, args, env):
        self.proc = subprocess.Popen([str(chatbot_binary()), "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.lines, self.port = [], None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line)
                m = LISTEN_RE.search(line)
                if m:
                    self.port = int(m.group(2))
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=pump, daemon=True)
        self.reader.start()
        if not ready.wait(20 * TIME_SCALE) or self.port is None:
            self.proc.kill()
            pytest.fail("chatbot did not start: %s" % "".join(self.lines))

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30 * TIME_SCALE)
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return resp, json.loads(raw) if raw else None

    def chat(self, message, session_id=None):
        body = {"message": message}
        if session_id:
            body["session_id"] = session_id
        return self.request("POST", "/api/chat", body)

    def log(self):
        return "".join(self.lines)

    def wait_log(self, text, timeout=5):
        """Whether |text| shows up in the log within |timeout| s (stderr is read by a thread)."""
        deadline = time.monotonic() + timeout * TIME_SCALE
        while text not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        return text in self.log()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30 * TIME_SCALE)
        self.reader.join(5)
        log = self.log()
        assert not SANITIZER_RE.search(log), log
        assert rc == 0, log


@pytest.fixture
def peers(tmp_path):
    mock = Aimock(FIXTURES, tmp_path / "aimock.log", chunk_size=CHUNK)
    registry = KeyRegistry()
    registry.add(KEY, SECRET, TOKEN, None)
    proxy = SigV4Proxy(mock.port, MODEL, registry.lookup)
    yield mock, proxy
    proxy.stop()
    mock.stop()
    assert proxy.errors == [], proxy.errors


@pytest.fixture
def start_bot(peers, tmp_path):
    mock, proxy = peers
    bots = []
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(PROMPT)

    def start(secret=SECRET, extra=()):
        env = aws_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=secret,
                      AWS_SESSION_TOKEN=TOKEN, AWS_REGION="us-east-1")
        b = Bot(["--provider", "bedrock", "--model-id", MODEL, "--bedrock-endpoint", proxy.url,
                 "--system-prompt-file", str(prompt), "--max-tokens", "256",
                 "--temperature", "0.2", "--bedrock-timeout", "20", *extra], env)
        bots.append(b)
        return b

    yield start
    for b in bots:
        b.stop()


def history(bot, sid):
    resp, body = bot.request("GET", "/api/sessions/" + sid)
    return body["messages"] if resp.status == 200 else None


def test_converse(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    resp, body = bot.chat("What is Otter?")
    assert resp.status == 200, body
    assert set(body) == ANSWER_KEYS and SESSION_RE.match(body["session_id"])
    assert body["answer"] == SHORT
    assert body["model"] == MODEL
    assert body["sources"] == []
    assert body["usage"] == {"input_tokens": 11, "output_tokens": 13}
    op, req = proxy.requests[-1]
    assert op == "converse"
    assert req == {
        "messages": [{"role": "user", "content": [{"text": "What is Otter?"}]}],
        "system": [{"text": PROMPT}],
        "inferenceConfig": {"maxTokens": 256, "temperature": 0.2},
    }
    # The second turn carries the first as Converse messages.
    resp, body2 = bot.chat("And the follow-up?", body["session_id"])
    assert resp.status == 200 and body2["answer"] == "Follow-up answer."
    assert proxy.requests[-1][1]["messages"] == [
        {"role": "user", "content": [{"text": "What is Otter?"}]},
        {"role": "assistant", "content": [{"text": SHORT}]},
        {"role": "user", "content": [{"text": "And the follow-up?"}]},
    ]
    assert proxy.rejected == []
    assert len(mock.journal()) == 2


def test_history_budget(peers, start_bot):
    mock, proxy = peers
    # The first exchange is ceil(14 / 4) + ceil(54 / 4) = 4 + 14 = 18 estimated tokens.
    assert (len("What is Otter?"), len(SHORT.encode())) == (14, 54)
    bot = start_bot(extra=("--history-tokens", "17"))
    _, first = bot.chat("What is Otter?")
    resp, body = bot.chat("And the follow-up?", first["session_id"])
    assert resp.status == 200
    assert proxy.requests[-1][1]["messages"] == [
        {"role": "user", "content": [{"text": "And the follow-up?"}]}]
    # Trimmed from what is sent, not from the history.
    assert len(history(bot, first["session_id"])) == 4
    bot2 = start_bot(extra=("--history-tokens", "18"))
    _, first = bot2.chat("What is Otter?")
    bot2.chat("And the follow-up?", first["session_id"])
    assert len(proxy.requests[-1][1]["messages"]) == 3


def test_converse_stream_through_sse(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    resp, events = stream(bot.port, {"message": "How does otterd export?"}, timeout=30)
    assert resp.status == 200, events
    assert resp.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    pieces = aimock_pieces(LONG)
    assert events[:-1] == [("delta", {"text": p}) for p in pieces]
    name, done = events[-1]
    assert name == "done"
    assert set(done) == ANSWER_KEYS
    assert done["answer"] == LONG and done["model"] == MODEL and done["sources"] == []
    assert done["usage"] == {"input_tokens": 21, "output_tokens": 34}
    assert [op for op, _ in proxy.requests] == ["converse-stream"]
    assert history(bot, done["session_id"]) == [
        {"role": "user", "content": "How does otterd export?"},
        {"role": "assistant", "content": LONG}]


def test_throttling_and_5xx_retried_then_answered(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    mock.inject_error(429)
    mock.inject_error(500)
    resp, body = bot.chat("What is Otter?")
    assert resp.status == 200, body
    assert body["answer"] == SHORT
    # Three signed attempts passed the proxy: 429, 500, then the answer.
    assert [op for op, _ in proxy.requests] == ["converse"] * 3
    statuses = [e["response"]["status"] for e in mock.journal()]
    assert sorted(statuses) == [200, 429, 500]
    # The stream retries too while no text has gone out.
    mock.inject_error(503)
    resp, events = stream(bot.port, {"message": "How does otterd export?"}, timeout=30)
    assert resp.status == 200 and events[-1][0] == "done" and events[-1][1]["answer"] == LONG


def test_retries_used_up_clean_error_not_stored(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    _, first = bot.chat("What is Otter?")
    sid = first["session_id"]
    mock.inject_error(500, times=3)
    resp, body = bot.chat("And the follow-up?", sid)
    assert resp.status == 503, body
    assert body == {"error": {"code": "upstream_unavailable", "message":
                              "the model service is unavailable right now: please try again"}}
    assert resp.getheader("Retry-After") == "5"
    assert len(proxy.requests) == 1 + 3  # the standard mode's 3 attempts
    # Throttled to the end, on the stream: no text went out, so a plain JSON 503.
    mock.inject_error(429, times=3)
    resp, body = stream(bot.port, {"session_id": sid, "message": "And the follow-up?"},
                        timeout=30)
    assert resp.status == 503 and resp.getheader("Content-Type") == "application/json"
    assert body["error"]["code"] == "upstream_throttled"
    # Neither failure is in the history.
    assert history(bot, sid) == [{"role": "user", "content": "What is Otter?"},
                                 {"role": "assistant", "content": SHORT}]


def test_dropped_mid_stream_is_an_error_event(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    _, first = bot.chat("What is Otter?")
    sid = first["session_id"]
    resp, events = stream(bot.port, {"session_id": sid, "message": "Cut me off"}, timeout=30)
    assert resp.status == 200
    # aimock hangs up at its 4th frame (messageStart, contentBlockStart, then deltas): the text
    # that came is streamed, then the error event; whether the 4th frame left aimock before the
    # hang-up is up to its socket, so the deltas are checked as a non-empty prefix.
    pieces = aimock_pieces(LONG)
    deltas, last = events[:-1], events[-1]
    assert 1 <= len(deltas) <= 2
    assert deltas == [("delta", {"text": p}) for p in pieces[:len(deltas)]]
    assert last == ("error", {"error": {"code": "upstream_error", "message":
                                        "the model's answer broke off: please try again"}})
    # Not retried (text had gone out), not stored.
    assert [op for op, _ in proxy.requests] == ["converse", "converse-stream"]
    assert history(bot, sid) == [{"role": "user", "content": "What is Otter?"},
                                 {"role": "assistant", "content": SHORT}]
    assert bot.wait_log("ConverseStream failed after 1 attempts")


def test_stream_exception_and_unknown_events(peers, start_bot):
    # aimock sends no exception frames and no unknown events: the proxy answers these two
    # streams itself, frames built in bedrock_peer with zlib.crc32.
    mock, proxy = peers
    proxy.canned["Throttle me"] = (
        bedrock_event("messageStart", {"role": "assistant"}) +
        bedrock_event("contentBlockDelta", {"delta": {"text": "Partial"}, "contentBlockIndex": 0}) +
        bedrock_exception("throttlingException", "Too many tokens, please wait (id 42)"))
    proxy.canned["Odd events"] = (
        bedrock_event("messageStart", {"role": "assistant", "p": "abcdefgh"}) +
        bedrock_event("contentBlockStart", {"start": {"toolUse": {"name": "x", "toolUseId": "t"}},
                                            "contentBlockIndex": 1}) +
        bedrock_event("contentBlockDelta", {"delta": {"toolUse": {"input": "{}"}},
                                            "contentBlockIndex": 1}) +
        bedrock_event("contentBlockDelta", {"delta": {"text": "Hello"}, "contentBlockIndex": 0,
                                            "p": "xyz"}) +
        bedrock_event("somethingNew", {"anything": [1, 2]}) +
        eventstream_frame([(":event-type", "contentBlockDelta"), (":message-type", "event")],
                          json.dumps({"delta": {"text": ", world"}}).encode()) +
        bedrock_event("messageStop", {"stopReason": "max_tokens"}) +
        bedrock_event("metadata", {"usage": {"inputTokens": 5, "outputTokens": 2,
                                             "totalTokens": 7}, "metrics": {"latencyMs": 9}}))
    # The frames as botocore's own event-stream parser reads them (CRCs checked there too).
    buf = EventStreamBuffer()
    buf.add_data(proxy.canned["Throttle me"] + proxy.canned["Odd events"])
    kinds = [m.headers.get(":event-type") or m.headers[":exception-type"] for m in buf]
    assert kinds == ["messageStart", "contentBlockDelta", "throttlingException", "messageStart",
                     "contentBlockStart", "contentBlockDelta", "contentBlockDelta",
                     "somethingNew", "contentBlockDelta", "messageStop", "metadata"]
    bot = start_bot()
    resp, events = stream(bot.port, {"message": "Throttle me"}, timeout=30)
    assert resp.status == 200
    assert events == [("delta", {"text": "Partial"}),
                      ("error", {"error": {"code": "upstream_throttled", "message":
                                           "the model is busy right now: please try again in a "
                                           "moment"}})]
    assert bot.wait_log("ConverseStream exception throttlingException")
    assert len(proxy.requests) == 1  # text had gone out: not retried
    resp, events = stream(bot.port, {"message": "Odd events"}, timeout=30)
    assert events[:-1] == [("delta", {"text": "Hello"}), ("delta", {"text": ", world"})]
    name, done = events[-1]
    assert name == "done" and done["answer"] == "Hello, world"
    assert done["usage"] == {"input_tokens": 5, "output_tokens": 2}


def test_client_leaving_cancels_the_call(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    s = socket.create_connection(("127.0.0.1", bot.port), timeout=10)
    payload = json.dumps({"message": "Answer slowly"}).encode()
    s.sendall(b"POST /api/chat/stream HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
    got = b""
    while b"event: delta" not in got:
        got += s.recv(4096)
    s.close()
    deadline = time.monotonic() + 15 * TIME_SCALE
    while time.monotonic() < deadline and proxy.downstream_closed == 0:
        time.sleep(0.1)
    # The chatbot closed its upstream connection when its client left: the proxy's next write
    # of the still-streaming answer failed.
    assert proxy.downstream_closed == 1
    assert bot.wait_log("provider call cancelled")
    # The service goes on.
    resp, body = bot.chat("What is Otter?")
    assert resp.status == 200 and body["answer"] == SHORT


def test_sigterm_lets_a_stream_finish(peers, start_bot):
    mock, proxy = peers
    bot = start_bot()
    s = socket.create_connection(("127.0.0.1", bot.port), timeout=30 * TIME_SCALE)
    payload = json.dumps({"message": "Answer in a while"}).encode()
    s.sendall(b"POST /api/chat/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload) +
              payload)
    got = b""
    while b"event: delta" not in got:
        got += s.recv(4096)
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.wait_log("draining")
    resp, body = bot.request("GET", "/readyz")
    assert resp.status == 503 and body == {"status": "draining"}
    while True:
        more = s.recv(65536)
        if not more:
            break
        got += more
    s.close()
    # The answer in flight was finished: every piece, then done, then the last chunk.
    text = got.decode()
    assert text.endswith("\r\n0\r\n\r\n")
    assert "event: done" in text
    events = [l for l in text.split("\n") if l.startswith("data: ")]
    done = json.loads(events[-1][6:])
    assert done["answer"] == LONG
    assert "".join(json.loads(e[6:])["text"] for e in events[:-1]) == LONG
    assert bot.proc.wait(20 * TIME_SCALE) == 0


def test_wrong_credentials_are_refused(peers, start_bot):
    mock, proxy = peers
    bot = start_bot(secret="not-the-secret")
    resp, body = bot.chat("What is Otter?")
    assert resp.status == 502, body
    assert body["error"]["code"] == "upstream_error"
    # Clean: no AWS text, no request id.
    assert "signature" not in body["error"]["message"].lower()
    assert "0000-0000" not in json.dumps(body)
    # One attempt, one forced credentials refresh and retry: both refused by the proxy.
    assert proxy.rejected == ["InvalidSignatureException"] * 2
    assert proxy.requests == [] and mock.journal() == []
    assert bot.wait_log("InvalidSignatureException")


def test_bad_options_refused(tmp_path):
    for args in (["--provider", "openai"], ["--temperature", "2"], ["--max-tokens", "0"],
                 ["--bedrock-endpoint", "ftp://x"], ["--rate-limit", "0"],
                 ["--provider", "bedrock", "--system-prompt-file", str(tmp_path / "none")]):
        r = subprocess.run([str(chatbot_binary()), *args], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("chatbot: "), r.stderr
