# SPDX-License-Identifier: Apache-2.0
"""The chatbot's client address behind trusted proxies (--trusted-proxies N,
CHATBOT_TRUSTED_PROXIES): the rate limit keys on hop N of X-Forwarded-For (the peer is hop 1),
so clients behind one proxy (here the test's 127.0.0.1, standing for the ALB) get their own
buckets, and what a client writes on the left of the header never picks one."""

import http.client
import json
import os
import subprocess

from test_chatbot import Chatbot, assert_error, chatbot_binary, chatbot_factory  # noqa: F401

MSG = {"message": "how do I deploy otterd?"}


def post(port, xff=()):
    """POST /api/chat from 127.0.0.1 with one X-Forwarded-For field per element of |xff|."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps(MSG).encode()
    conn.putrequest("POST", "/api/chat")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    for v in xff:
        conn.putheader("X-Forwarded-For", v)
    conn.endheaders(body)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp, json.loads(raw) if resp.getheader("Content-Type") == "application/json" else raw


def ok(port, *xff):
    resp, body = post(port, xff)
    assert resp.status == 200, (xff, body)


def limited(port, *xff):
    resp, body = post(port, xff)
    assert_error(resp, body, 429, "rate_limited")


def check_behind_cloudfront_and_alb(port):
    # One request per bucket (burst 1, a token every 100 s: none comes back during the test).
    # Behind CloudFront and the ALB (N = 2) the header's rightmost element is what CloudFront
    # appended: the viewer.
    ok(port, "198.51.100.7")
    limited(port, "198.51.100.7")
    # Another viewer behind the same peer: its own bucket.
    ok(port, "198.51.100.8")
    # A viewer sending its own X-Forwarded-For: CloudFront appends the real address after it;
    # the spoofed left part gets no fresh bucket, whatever it says.
    limited(port, "203.0.113.99, 198.51.100.7")
    limited(port, "203.0.113.1, 203.0.113.2, 198.51.100.8")
    # Several fields are one list (joined in order): the last field's last element decides.
    limited(port, "203.0.113.50", "198.51.100.7")
    ok(port, "198.51.100.7", "2001:db8::1")
    limited(port, "2001:0db8:0:0::1")  # the same IPv6 address, spelt otherwise
    # Nothing trustworthy (no header, garbage where the trusted hop should be): the peer's bucket,
    # shared by all such requests.
    ok(port)
    limited(port, "unknown")
    limited(port, "198.51.100.9:443")


def test_separate_buckets_per_forwarded_client(chatbot_factory):  # noqa: F811
    bot = chatbot_factory("--rate-limit", "0.01/s", "--rate-burst", "1", "--trusted-proxies", "2")
    check_behind_cloudfront_and_alb(bot.port)


def test_trusted_proxies_from_the_environment():
    env = dict(os.environ, CHATBOT_TRUSTED_PROXIES="2", CHATBOT_RATE_LIMIT="0.01/s", CHATBOT_RATE_BURST="1")
    c = Chatbot(env=env)
    try:
        check_behind_cloudfront_and_alb(c.port)
    finally:
        c.stop()


def test_default_keys_on_the_peer(chatbot_factory):  # noqa: F811
    # Without --trusted-proxies the header is ignored: every request from 127.0.0.1 shares one
    # bucket.
    bot = chatbot_factory("--rate-limit", "0.01/s", "--rate-burst", "1")
    ok(bot.port, "198.51.100.7")
    limited(bot.port, "198.51.100.8")
    limited(bot.port)


def test_out_of_range_is_refused():
    for v in ("17", "-1", "two"):
        r = subprocess.run([str(chatbot_binary()), "--trusted-proxies", v], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (v, r.stderr)
        assert "--trusted-proxies" in r.stderr, r.stderr
