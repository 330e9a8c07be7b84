# SPDX-License-Identifier: Apache-2.0
"""The chatbot's origin check (--origin-secret-file FILE, CHATBOT_ORIGIN_SECRET): with a secret,
every /api/ request must carry X-Otter-Origin-Verify equal to it (what the platform's CloudFront
distribution adds as a custom origin header), else 403 `forbidden`; the probes and the page stay
open; refusals are logged at most once a minute and the log never holds the secret or the value
received. Without a secret there is no check, and the start says so."""

import http.client
import json
import os
import subprocess

from test_chatbot import Chatbot, assert_error, chatbot_binary

HEADER = "X-Otter-Origin-Verify"
# Two secrets as deploy/ makes them (Python's secrets.token_urlsafe(32): 43 characters).
A = "mF3qT9x_Lk2-ZpW8vR1sYc7uNb4hJd6eGa0oQiXyUtE"
B = "Qw8eR7tY6uI5oP4aS3dF2gH1jK0lZxCvBnM-_qWeRtY"
WRONG = "zz" + A[2:]  # the right length, the wrong value
MSG = {"message": "how do I deploy otterd?"}


def send(port, method, path, fields=(), body=None):
    """One request with one X-Otter-Origin-Verify field per element of |fields| (so a test can
    send none, one, or two)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
    for name, value in fields:
        conn.putheader(name, value)
    conn.endheaders(data)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    parsed = json.loads(raw) if resp.getheader("Content-Type") == "application/json" else raw
    return resp, parsed


def chat(port, *values):
    return send(port, "POST", "/api/chat", [(HEADER, v) for v in values], MSG)


def refused(resp, body):
    assert_error(resp, body, 403, "forbidden")
    assert "site's own address" in body["error"]["message"]
    # The usual API headers on the refusal too.
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("Cache-Control") == "no-store"


def refusal_lines(bot):
    return [ln for ln in bot.lines if "origin check: refused" in ln]


def secret_file(tmp_path, text):
    p = tmp_path / "origin-secret"
    p.write_text(text)
    return str(p)


def test_api_needs_the_header(tmp_path):
    bot = Chatbot(("--origin-secret-file", secret_file(tmp_path, A + "\n")))
    try:
        assert any("origin check: on: /api/ requires the X-Otter-Origin-Verify header "
                   "(1 value(s) accepted)" in ln for ln in bot.lines), bot.lines
        # Without the header, with a wrong value, a prefix, a longer value, an empty one: 403.
        refused(*chat(bot.port))
        refused(*chat(bot.port, WRONG))
        refused(*chat(bot.port, A[:-1]))
        refused(*chat(bot.port, A + "x"))
        refused(*chat(bot.port, ""))
        # Two fields, even both right: refused (which one would a proxy have added?).
        refused(*chat(bot.port, A, A))
        # Every /api/ path, whatever the method, an unknown one included (no 404 to probe with).
        refused(*send(bot.port, "GET", "/api/sessions/" + "0" * 32))
        refused(*send(bot.port, "DELETE", "/api/sessions/" + "0" * 32))
        refused(*send(bot.port, "POST", "/api/chat/stream", body=MSG))
        refused(*send(bot.port, "GET", "/api/nothing-here"))
        # The right value: answered; the header's name in any case (HTTP field names are).
        resp, body = chat(bot.port, A)
        assert resp.status == 200, body
        sid = body["session_id"]
        resp, body = send(bot.port, "GET", "/api/sessions/" + sid, [(HEADER.lower(), A)])
        assert resp.status == 200, body
        assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
        # The probes and the page carry no header (the ALB's health check, kubelet): open.
        for path, status in (("/healthz", 200), ("/readyz", 200), ("/", 200), ("/app.js", 200)):
            resp, _ = send(bot.port, "GET", path)
            assert resp.status == status, path
        # 10 refusals above, within a minute: one log line, for the first (a missing header),
        # and neither the secret nor a received value anywhere in the log.
        lines = refusal_lines(bot)
        assert len(lines) == 1, lines
        assert ("refused 1 /api/ request(s) without a valid X-Otter-Origin-Verify header since "
                "the last report (1 in all; the last from 127.0.0.1, header missing)") in lines[0]
        log = "".join(bot.lines)
        for s in (A, A[:-1], WRONG, A[:12]):
            assert s not in log
    finally:
        bot.stop()


def test_refusals_take_no_rate_limit_token(tmp_path):
    """The check comes first: requests refused by it do not spend the client's tokens."""
    bot = Chatbot(("--origin-secret-file", secret_file(tmp_path, A), "--rate-limit", "0.01/s",
                   "--rate-burst", "1"))
    try:
        for _ in range(3):
            refused(*chat(bot.port, WRONG))
        resp, body = chat(bot.port, A)
        assert resp.status == 200, body
        # The one token (burst 1, the next in 100 s) is now spent.
        resp, body = chat(bot.port, A)
        assert_error(resp, body, 429, "rate_limited")
    finally:
        bot.stop()


def test_two_values_from_the_environment_while_rotating(tmp_path):
    """CHATBOT_ORIGIN_SECRET (what k8s/'s ExternalSecret fills) with the old and the new value:
    both are accepted, anything else is not."""
    bot = Chatbot(env=dict(os.environ, CHATBOT_ORIGIN_SECRET=A + "," + B))
    try:
        assert any("(2 value(s) accepted)" in ln for ln in bot.lines), bot.lines
        for v in (A, B):
            resp, body = chat(bot.port, v)
            assert resp.status == 200, body
        refused(*chat(bot.port, WRONG))
        refused(*chat(bot.port, A + "," + B))
        assert A not in "".join(bot.lines) and B not in "".join(bot.lines)
    finally:
        bot.stop()
    # The file wins over the variable (the command line wins over the environment); the file
    # may also come from CHATBOT_ORIGIN_SECRET_FILE.
    path = secret_file(tmp_path, B)
    for args, env in (
        (("--origin-secret-file", path), dict(os.environ, CHATBOT_ORIGIN_SECRET=A)),
        ((), dict(os.environ, CHATBOT_ORIGIN_SECRET=A, CHATBOT_ORIGIN_SECRET_FILE=path)),
    ):
        bot = Chatbot(args, env=env)
        try:
            refused(*chat(bot.port, A))
            resp, body = chat(bot.port, B)
            assert resp.status == 200, body
        finally:
            bot.stop()


def test_no_secret_no_check():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_ORIGIN")}
    bot = Chatbot(env=env)
    try:
        lines = [ln for ln in bot.lines if "origin check" in ln]
        assert len(lines) == 1 and " info " in lines[0] and \
            "origin check: off (no --origin-secret-file or CHATBOT_ORIGIN_SECRET)" in lines[0], lines
        resp, body = chat(bot.port)
        assert resp.status == 200, body
        resp, body = chat(bot.port, WRONG)
        assert resp.status == 200, body
    finally:
        bot.stop()


def run_bad(args=(), env=None):
    r = subprocess.run([str(chatbot_binary()), "--listen", "127.0.0.1:0", *args],
                       capture_output=True, text=True, timeout=10,
                       env=dict(os.environ, **(env or {})))
    assert r.returncode == 2, r.stderr
    return r.stderr


def test_bad_secrets_stop_the_start(tmp_path):
    missing = str(tmp_path / "nope")
    err = run_bad(("--origin-secret-file", missing))
    assert "chatbot: cannot open --origin-secret-file %s: No such file or directory" % missing in err
    # Too short, from the environment: named, the value not repeated.
    err = run_bad(env={"CHATBOT_ORIGIN_SECRET": "tooshort-secret"})
    assert "chatbot: bad origin secret in CHATBOT_ORIGIN_SECRET: value 1: 15 bytes, expected 16 to 256" \
        in err, err
    assert "tooshort" not in err
    # A space inside (byte 11 of the file), three values, an empty second one.
    for text, why in (("mF3qT9x_Lk2 ZpW8vR1sYc7u", "value 1: byte 11 is not visible ASCII"),
                      (A + "," + B + "," + A, "more than 2 values separated by ','"),
                      (A + ",", "value 2: 0 bytes, expected 16 to 256")):
        path = secret_file(tmp_path, text)
        err = run_bad(("--origin-secret-file", path))
        assert "chatbot: bad origin secret in --origin-secret-file %s: %s" % (path, why) in err, err
        assert A[:12] not in err and "mF3qT9x" not in err
    # A file over the cap (2 * 256 + 3 bytes).
    path = secret_file(tmp_path, "k" * 516)
    err = run_bad(("--origin-secret-file", path))
    assert "unreadable or over 515 bytes" in err, err
    # An empty file name.
    err = run_bad(("--origin-secret-file", ""))
    assert "bad or missing value for --origin-secret-file" in err
