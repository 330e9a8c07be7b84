# SPDX-License-Identifier: Apache-2.0
"""The chatbot's rate limit per client IP (--rate-limit N/s, --rate-burst N): token buckets,
429 with Retry-After and the JSON error, health checks never limited."""

import http.client
import json

from test_chatbot import Chatbot, assert_error, chatbot_factory  # noqa: F401


def post(port, path, body, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0))
    conn.request("POST", path, body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp, json.loads(raw) if resp.getheader("Content-Type") == "application/json" else raw


def test_rate_limit_per_client(chatbot_factory):  # noqa: F811
    # One token every 2 s, bursts of 2: the test's requests take milliseconds, so the bucket
    # gains far less than the half token that would change the numbers below.
    bot = chatbot_factory("--rate-limit", "0.5/s", "--rate-burst", "2")
    for _ in range(2):
        resp, body = post(bot.port, "/api/chat", {"message": "how do I deploy otterd?"})
        assert resp.status == 200, body
    resp, body = post(bot.port, "/api/chat", {"message": "how do I deploy otterd?"})
    assert_error(resp, body, 429, "rate_limited")
    # Empty bucket: a token is (1 - ~0) / 0.5 = 2 s away.
    assert resp.getheader("Retry-After") == "2"
    assert body["error"]["message"] == "too many requests from this address: retry in 2 s"
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    # Every /api/ route shares the bucket, the stream too (refused before any event).
    resp, body = post(bot.port, "/api/chat/stream", {"message": "hi"})
    assert_error(resp, body, 429, "rate_limited")
    resp, body = bot.request("GET", "/api/sessions/" + "0" * 32)
    assert_error(resp, body, 429, "rate_limited")
    # Health checks are not limited.
    for _ in range(5):
        resp, body = bot.request("GET", "/healthz")
        assert resp.status == 200
    # Another address has its own bucket (127.0.0.2 is loopback too on Linux).
    resp, body = post(bot.port, "/api/chat", {"message": "how do I deploy otterd?"},
                      source="127.0.0.2")
    assert resp.status == 200, body


def test_no_limit_by_default(chatbot_factory):  # noqa: F811
    bot = chatbot_factory()
    for _ in range(20):
        resp, body = post(bot.port, "/api/chat", {"message": "how do I deploy otterd?"})
        assert resp.status == 200, body
