# SPDX-License-Identifier: Apache-2.0
"""A server-sent events reader for the chatbot's /api/chat/stream tests.

Written from the WHATWG HTML "event stream interpretation" rules, independently of the chatbot:
lines end at CRLF, LF or CR; "event" sets the type, each "data" line is appended with a LF
between; a blank line dispatches. Lines starting with ':' are comments.
"""

import http.client
import json
import re
import socket

LINE_END = re.compile(rb"\r\n|\n|\r")


def parse_events(raw):
    """Parses a whole event stream (bytes) into [(event, data_str)]; a trailing incomplete event
    is dropped, as a browser does."""
    events, name, data = [], "", []
    text = raw
    # A CR at the very end might be the first half of a CRLF: the stream is complete here.
    lines = LINE_END.split(text)
    for line in lines[:-1]:
        line = line.decode("utf-8")
        if line == "":
            if data:
                events.append((name or "message", "\n".join(data)))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return events


def stream(port, body, timeout=10, headers=None):
    """POSTs |body| to /api/chat/stream with http.client; returns (response, [(event, obj)])
    with each event's data parsed as JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    conn.request("POST", "/api/chat/stream", body=json.dumps(body).encode(), headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    if resp.getheader("Content-Type", "").startswith("text/event-stream"):
        return resp, [(e, json.loads(d)) for e, d in parse_events(raw)]
    return resp, json.loads(raw) if raw else None


def raw_chunks(port, body, timeout=10):
    """Sends the stream request over a plain socket with Connection: close and returns (head,
    [chunk payloads]) from the chunked transfer coding, parsed here."""
    payload = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"POST /api/chat/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload) +
              payload)
    buf = b""
    while True:
        got = s.recv(65536)
        if not got:
            break
        buf += got
    s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert rest == b"\r\n", rest
            break
        chunks.append(rest[:size])
        assert rest[size:size + 2] == b"\r\n"
        rest = rest[size + 2:]
    return head.decode(), chunks


def word_chunks(text):
    """The local provider's pieces, computed here: each run of whitespace with the word after it
    (a trailing run of whitespace alone)."""
    return re.findall(r"[ \t\r\n]*[^ \t\r\n]+|[ \t\r\n]+$", text)
