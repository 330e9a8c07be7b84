# SPDX-License-Identifier: Apache-2.0
"""POST /api/chat/stream with the local provider: server-sent events read with http.client
(and a raw socket for the chunk framing), checked event by event against /api/chat's answer."""

import json

from sse_util import parse_events, raw_chunks, stream, word_chunks
from test_chatbot import ANSWER_KEYS, SESSION_RE, Chatbot, assert_error, chatbot_factory  # noqa: F401
import pytest

QUESTION = "Why does otterd answer 503 with Retry-After?"


@pytest.fixture
def bot(chatbot_factory):  # noqa: F811
    return chatbot_factory()


def test_stream_events_exactly(bot):
    # The same question without streaming, on its own session: the reference answer.
    ref_resp, ref = bot.chat(QUESTION)
    assert ref_resp.status == 200
    resp, events = stream(bot.port, {"message": QUESTION})
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.getheader("Cache-Control") == "no-store"
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("Content-Security-Policy").startswith("default-src 'none'")
    assert resp.getheader("Access-Control-Allow-Origin") is None
    done_name, done = events[-1]
    assert done_name == "done"
    assert set(done) == ANSWER_KEYS
    assert SESSION_RE.match(done["session_id"]) and done["session_id"] != ref["session_id"]
    assert {k: v for k, v in done.items() if k != "session_id"} == \
        {k: v for k, v in ref.items() if k != "session_id"}
    pieces = word_chunks(ref["answer"])
    assert len(pieces) > 20 and "".join(pieces) == ref["answer"]
    assert events[:-1] == [("delta", {"text": p}) for p in pieces]
    # Kept in the session like /api/chat's.
    r, hist = bot.request("GET", "/api/sessions/" + done["session_id"])
    assert r.status == 200
    assert hist["messages"] == [{"role": "user", "content": QUESTION},
                                {"role": "assistant", "content": ref["answer"]}]


def test_each_event_is_its_own_chunk(bot):
    head, chunks = raw_chunks(bot.port, {"message": QUESTION})
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert len(chunks) > 20
    for c in chunks:
        # One event per HTTP chunk: "event: X\ndata: {...}\n\n" and nothing else.
        lines = c.split(b"\n")
        assert len(lines) == 4 and lines[2:] == [b"", b""], c
        assert lines[0] in (b"event: delta", b"event: done")
        assert lines[1].startswith(b"data: {")
    assert parse_events(b"".join(chunks))[-1][0] == "done"


def test_stream_continues_a_session(bot):
    _, first = bot.chat("How do I deploy otterd?")
    sid = first["session_id"]
    resp, events = stream(bot.port, {"session_id": sid, "message": QUESTION})
    assert resp.status == 200
    name, done = events[-1]
    assert name == "done" and done["session_id"] == sid
    assert "".join(e[1]["text"] for e in events[:-1]) == done["answer"]
    _, hist = bot.request("GET", "/api/sessions/" + sid)
    assert [m["role"] for m in hist["messages"]] == ["user", "assistant", "user", "assistant"]
    assert hist["messages"][3]["content"] == done["answer"]


def test_stream_validation_is_plain_json(bot):
    resp, body = stream(bot.port, {"message": ""})
    assert resp.getheader("Content-Type") == "application/json"
    assert_error(resp, body, 400, "invalid_request", "message")
    resp, body = stream(bot.port, {"session_id": "0" * 32, "message": "hi"})
    assert_error(resp, body, 404, "session_not_found", "session_id")
    resp, body = stream(bot.port, {"message": "hi"}, headers={"Content-Type": "text/plain"})
    assert_error(resp, body, 415, "unsupported_media_type")
    resp, body = bot.request("GET", "/api/chat/stream")
    assert_error(resp, body, 405, "method_not_allowed")
    assert resp.getheader("Allow") == "POST"


def test_sse_reader_itself():
    # The reader used above, on input written by hand (so a bug in it cannot hide one in the
    # server): CR, LF and CRLF line ends, comments, multi-line data, an unfinished event.
    raw = b": hi\r\nevent: a\rdata: x\ndata:  y\r\n\r\ndata: z\n\nevent: b\ndata: cut"
    assert parse_events(raw) == [("a", "x\n y"), ("message", "z")]
    assert json.loads(parse_events(b"event: d\ndata: {\"k\":1}\n\n")[0][1]) == {"k": 1}
    assert word_chunks("## A\n\nb  c ") == ["##", " A", "\n\nb", "  c", " "]
