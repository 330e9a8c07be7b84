# SPDX-License-Identifier: Apache-2.0
"""The chatbot's HTTP API with the local provider, against the real binary on 127.0.0.1:0.

The binary comes from $CHATBOT (default build/chatbot/chatbot under the repository root). Each
server is started with `--listen 127.0.0.1:0`, its port read from the
`listening: chatbot http HOST:PORT` line; on teardown it gets SIGTERM and must exit 0 with no
sanitizer report on stderr.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, repo_binary  # noqa: F401 (test_chatbot_web imports REPO_ROOT)

TIME_SCALE = float(os.environ.get("OTTER_TEST_TIME_SCALE", "1") or 1)
LISTEN_RE = re.compile(r"listening: chatbot http (\S+):(\d+)\s*$")
SANITIZER_RE = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error: |"
                          r"SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer)")
SESSION_RE = re.compile(r"^[0-9a-f]{32}$")
ANSWER_KEYS = {"session_id", "answer", "sources", "model", "usage"}


def chatbot_binary():
    return repo_binary("CHATBOT", "build/chatbot/chatbot")


class Chatbot:
    def __init__(self, args=(), env=None, prefix=(), binary=None):
        binary = binary or chatbot_binary()
        self.proc = subprocess.Popen([*prefix, str(binary), "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.lines = []
        self.port = None
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

    def request(self, method, path, body=None, headers=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10 * TIME_SCALE)
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        parsed = json.loads(payload) if payload and resp.getheader("Content-Type") == \
            "application/json" else None
        return resp, parsed

    def chat(self, message, session_id=None):
        body = {"message": message}
        if session_id is not None:
            body["session_id"] = session_id
        return self.request("POST", "/api/chat", body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(20 * TIME_SCALE)
        self.reader.join(5)
        log = "".join(self.lines)
        assert not SANITIZER_RE.search(log), log
        assert rc == 0, log


@pytest.fixture
def chatbot_factory():
    started = []

    def start(*args):
        c = Chatbot(args)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


@pytest.fixture
def bot(chatbot_factory):
    return chatbot_factory()


def assert_error(resp, body, status, code, field=None):
    assert resp.status == status, body
    assert set(body) == {"error"}
    err = body["error"]
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    if field is None:
        assert "field" not in err
    else:
        assert err["field"] == field


def test_chat_answers_from_the_knowledge_base(bot):
    resp, body = bot.chat("Why does otterd answer 503 with Retry-After?")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "application/json"
    assert set(body) == ANSWER_KEYS
    assert SESSION_RE.match(body["session_id"])
    assert body["model"] == "local-bm25"
    assert set(body["usage"]) == {"input_tokens", "output_tokens"}
    # Words of the message: Why does otterd answer 503 with Retry After.
    assert body["usage"]["input_tokens"] == 8
    assert body["usage"]["output_tokens"] > 20
    assert 1 <= len(body["sources"]) <= 3
    for s in body["sources"]:
        assert set(s) == {"document", "section", "score"}
        assert s["document"].endswith(".md") and s["section"]
        assert s["score"] > 0
    scores = [s["score"] for s in body["sources"]]
    assert scores == sorted(scores, reverse=True)
    assert {"document": "troubleshooting.md", "section": "Requests refused with 503 or UNAVAILABLE"} \
        in [{"document": s["document"], "section": s["section"]} for s in body["sources"]]
    assert "memory_limiter" in body["answer"]
    assert "## Requests refused with 503 or UNAVAILABLE" in body["answer"]


def test_no_match_is_said_plainly(bot):
    resp, body = bot.chat("zebra quokka")
    assert resp.status == 200
    assert body["sources"] == []
    assert body["answer"].startswith("I found nothing about that in the Otter knowledge base.")


def test_security_headers_and_closed_cors(bot):
    for method, path, body in (("POST", "/api/chat", {"message": "slo burn rate"}),
                               ("GET", "/healthz", None), ("GET", "/nope", None)):
        resp, _ = bot.request(method, path, body, headers={"Origin": "https://evil.example"})
        csp = resp.getheader("Content-Security-Policy")
        assert csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert resp.getheader("X-Content-Type-Options") == "nosniff"
        assert resp.getheader("X-Frame-Options") == "DENY"
        assert resp.getheader("Referrer-Policy") == "no-referrer"
        assert resp.getheader("Cache-Control") == "no-store"
        assert resp.getheader("Access-Control-Allow-Origin") is None
        assert resp.getheader("Access-Control-Allow-Credentials") is None
    # A preflight gets no CORS grant either.
    resp, _ = bot.request("OPTIONS", "/api/chat", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert resp.status == 405
    assert resp.getheader("Access-Control-Allow-Origin") is None


def test_conversation_history_and_delete(bot):
    first = "How do I validate my config? ✓ wörld"
    resp, a = bot.chat(first)
    assert resp.status == 200
    sid = a["session_id"]
    resp, b = bot.chat("What is a burn rate?", session_id=sid)
    assert resp.status == 200
    assert b["session_id"] == sid
    resp, hist = bot.request("GET", "/api/sessions/" + sid)
    assert resp.status == 200
    assert hist == {"session_id": sid, "messages": [
        {"role": "user", "content": first},
        {"role": "assistant", "content": a["answer"]},
        {"role": "user", "content": "What is a burn rate?"},
        {"role": "assistant", "content": b["answer"]},
    ]}
    resp, body = bot.request("DELETE", "/api/sessions/" + sid)
    assert resp.status == 204 and body is None
    resp, body = bot.request("GET", "/api/sessions/" + sid)
    assert_error(resp, body, 404, "session_not_found", "session_id")
    resp, body = bot.request("DELETE", "/api/sessions/" + sid)
    assert_error(resp, body, 404, "session_not_found", "session_id")
    resp, body = bot.chat("again", session_id=sid)
    assert_error(resp, body, 404, "session_not_found", "session_id")


def test_new_sessions_are_distinct(bot):
    ids = {bot.chat("otter agent")[1]["session_id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("raw,code,field", [
    (b"{", "invalid_json", None),
    (b"", "invalid_json", None),
    (b'{"message": "a", "message": "b"}', "invalid_json", None),
    (b'"just a string"', "invalid_request", None),
    (b"[]", "invalid_request", None),
    (b"{}", "invalid_request", "message"),
    (b'{"message": 42}', "invalid_request", "message"),
    (b'{"message": null}', "invalid_request", "message"),
    (b'{"message": "   \\n\\t "}', "invalid_request", "message"),
    (b'{"message": "hi\\u0000there"}', "invalid_json", None),
    (b'{"message": "hi", "user": "x"}', "invalid_request", "user"),
    (b'{"message": "hi", "session_id": "abc"}', "invalid_request", "session_id"),
    (b'{"message": "hi", "session_id": 7}', "invalid_request", "session_id"),
    (b'{"message": "hi", "session_id": "' + b"A" * 32 + b'"}', "invalid_request", "session_id"),
])
def test_request_validation(bot, raw, code, field):
    resp, body = bot.request("POST", "/api/chat", raw=raw,
                             headers={"Content-Type": "application/json"})
    assert_error(resp, body, 400, code, field)


def test_message_length_limit(bot):
    resp, body = bot.chat("a" * 4000)
    assert resp.status == 200, body
    resp, body = bot.chat("a" * 4001)
    assert_error(resp, body, 400, "invalid_request", "message")
    assert "4000 bytes" in body["error"]["message"]
    # The limit is in bytes: 1334 three-byte characters are 4002 bytes.
    resp, body = bot.chat("✓" * 1334)
    assert_error(resp, body, 400, "invalid_request", "message")


def test_null_session_id_starts_a_session(bot):
    resp, body = bot.request("POST", "/api/chat", {"message": "deploy", "session_id": None})
    assert resp.status == 200 and SESSION_RE.match(body["session_id"])


def test_body_size_limit(bot):
    raw = json.dumps({"message": "x" * 20000}).encode()
    resp, _ = bot.request("POST", "/api/chat", raw=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 413


def test_content_type_required(bot):
    resp, body = bot.request("POST", "/api/chat", raw=b'{"message": "hi"}',
                             headers={"Content-Type": "text/plain"})
    assert_error(resp, body, 415, "unsupported_media_type")
    resp, body = bot.request("POST", "/api/chat", raw=b'{"message": "hi"}',
                             headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status == 200


def test_methods_and_paths(bot):
    resp, body = bot.request("GET", "/api/chat")
    assert_error(resp, body, 405, "method_not_allowed")
    assert resp.getheader("Allow") == "POST"
    resp, body = bot.request("POST", "/api/sessions/" + "0" * 32, body={})
    assert_error(resp, body, 405, "method_not_allowed")
    assert resp.getheader("Allow") == "GET, DELETE"
    resp, body = bot.request("GET", "/api/sessions/not-an-id")
    assert_error(resp, body, 400, "invalid_request", "session_id")
    resp, body = bot.request("GET", "/api/sessions/" + "0" * 32)
    assert_error(resp, body, 404, "session_not_found", "session_id")
    resp, body = bot.request("GET", "/nothing")
    assert_error(resp, body, 404, "not_found")


def test_health_and_readiness(bot):
    resp, body = bot.request("GET", "/healthz")
    assert resp.status == 200 and body == {"status": "ok"}
    resp, body = bot.request("GET", "/readyz")
    assert resp.status == 200 and body == {"status": "ready"}


def test_session_ttl(chatbot_factory):
    bot = chatbot_factory("--session-ttl", "1")
    sid = bot.chat("otter")[1]["session_id"]
    assert bot.request("GET", "/api/sessions/" + sid)[0].status == 200
    time.sleep(2.2)
    resp, body = bot.request("GET", "/api/sessions/" + sid)
    assert_error(resp, body, 404, "session_not_found", "session_id")


def test_session_store_is_bounded(chatbot_factory):
    bot = chatbot_factory("--max-sessions", "2")
    a = bot.chat("otter")[1]["session_id"]
    b = bot.chat("otter")[1]["session_id"]
    assert bot.chat("again", session_id=a)[0].status == 200   # a is now the most recent
    c = bot.chat("otter")[1]["session_id"]                      # evicts b, the least recent
    assert bot.request("GET", "/api/sessions/" + b)[0].status == 404
    assert bot.request("GET", "/api/sessions/" + a)[0].status == 200
    assert bot.request("GET", "/api/sessions/" + c)[0].status == 200


def test_bad_command_line():
    r = subprocess.run([str(chatbot_binary()), "--listen", "nowhere"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and "--listen" in r.stderr
    r = subprocess.run([str(chatbot_binary()), "--version"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("chatbot ")


def test_settings_from_the_environment():
    """Every option is also CHATBOT_<OPTION> (k8s/ sets them so): the command line wins over the
    environment, a bad value names its variable, and unknown CHATBOT_* variables (Kubernetes'
    service links set CHATBOT_PORT and the like) are ignored."""
    env = dict(os.environ, CHATBOT_MAX_MESSAGE="10", CHATBOT_PORT="tcp://10.0.0.1:8080",
               CHATBOT_SERVICE_HOST="10.0.0.1")
    c = Chatbot(env=env)
    try:
        resp, body = c.chat("a" * 10)
        assert resp.status == 200, body
        resp, body = c.chat("a" * 11)
        assert_error(resp, body, 400, "invalid_request", "message")
        assert "10 bytes" in body["error"]["message"]
    finally:
        c.stop()
    c = Chatbot(args=("--max-message", "11"), env=env)
    try:
        resp, body = c.chat("a" * 11)
        assert resp.status == 200, body
    finally:
        c.stop()
    r = subprocess.run([str(chatbot_binary())], capture_output=True, text=True, timeout=10,
                       env=dict(os.environ, CHATBOT_HISTORY="postgres"))
    assert r.returncode == 2
    assert 'bad value for CHATBOT_HISTORY (from the environment, as --history): "postgres"' \
        in r.stderr, r.stderr


ROOT_WARNING = "running as root: the chatbot needs no privilege"


def test_runs_unprivileged_and_warns_as_root():
    """The service needs no privilege (README "Limits and safety"): started by an unprivileged
    user it serves with no warning; started as root it says so once, at start."""
    if os.geteuid() == 0:
        # A copy nobody can reach (the checkout may sit under a private home), run through
        # setpriv (util-linux) as nobody, without supplementary groups.
        tmp = Path(tempfile.mkdtemp(prefix="chatbot-nobody-"))
        try:
            tmp.chmod(0o755)
            binary = tmp / "chatbot"
            shutil.copy(chatbot_binary(), binary)
            binary.chmod(0o755)
            c = Chatbot(prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
                        binary=binary)
        finally:
            shutil.rmtree(tmp)  # the running process keeps its image
    else:
        c = Chatbot()
    resp, body = c.chat("How do I deploy Otter?")
    assert resp.status == 200 and body["answer"], body
    with open("/proc/%d/status" % c.proc.pid) as st:
        uid = next(line.split()[1:] for line in st if line.startswith("Uid:"))
    assert "0" not in uid, uid
    c.stop()
    assert ROOT_WARNING not in "".join(c.lines)
    if os.geteuid() == 0:
        c = Chatbot()
        c.stop()
        warn = [line for line in c.lines if ROOT_WARNING in line]
        assert len(warn) == 1 and " warn " in warn[0], c.lines


def test_sigterm_right_after_listening_drains():
    """SIGTERM as soon as the "listening" line is out is a drain and exit 0, never the default
    action (the signals are watched before the port opens)."""
    for _ in range(8):
        c = Chatbot()
        c.stop()  # exit status 0
        assert any("draining and stopping" in line for line in c.lines), c.lines
