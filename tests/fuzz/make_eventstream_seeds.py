#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus of the event-stream fuzz target, with the standard library only.

Each seed is 1 byte of chunk size (0: one feed) then an event stream in the Bedrock
ConverseStream shape, built here (the golden frames of ../shared/testdata stay there): whole
streams, an exception frame, every header type, and damaged frames (bad CRCs, truncated, an
unknown header type, oversize lengths). The output is deterministic.

Usage: python3 tests/fuzz/make_eventstream_seeds.py
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent / "corpus" / "eventstream"


def header(name, type_, value=b""):
    n = name.encode()
    return bytes([len(n)]) + n + bytes([type_]) + value


def sheader(name, value):
    v = value.encode()
    return header(name, 7, struct.pack(">H", len(v)) + v)


def frame(headers, payload):
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(kind, payload):
    h = sheader(":event-type", kind) + sheader(":content-type", "application/json")
    h += sheader(":message-type", "event")
    return frame(h, payload.encode())


def main():
    ok = b"".join([
        event("messageStart", '{"role":"assistant"}'),
        event("contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":"Otter \u00e9t\u00e9"}}'),
        event("contentBlockStop", '{"contentBlockIndex":0}'),
        event("messageStop", '{"stopReason":"end_turn"}'),
        event("metadata", '{"usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5}}'),
    ])
    exc = frame(sheader(":exception-type", "throttlingException")
                + sheader(":content-type", "application/json")
                + sheader(":message-type", "exception"), b'{"message":"slow down"}')
    every = (header("t", 0) + header("f", 1) + header("b", 2, b"\xff") + header("s", 3, b"\x80\x00")
             + header("i", 4, b"\x00\x00\x00\x07") + header("l", 5, b"\x00" * 7 + b"\x09")
             + header("y", 6, b"\x00\x02ab") + header("S", 7, b"\x00\x02hi")
             + header("T", 8, b"\x00\x00\x01\x8b\xcd\x1b\x2a\x00") + header("u", 9, bytes(range(16))))
    bad_prelude = bytearray(ok)
    bad_prelude[9] ^= 1
    bad_msg = bytearray(ok)
    bad_msg[40] ^= 1
    big = struct.pack(">II", 0x7FFFFFFF, 0)
    big += struct.pack(">I", zlib.crc32(big))
    seeds = {
        "ok-whole": b"\x00" + ok,
        "ok-chunk7": b"\x07" + ok,
        "ok-chunk1": b"\x01" + ok,
        "exception": b"\x00" + event("messageStart", '{"role":"assistant"}') + exc,
        "every-type": b"\x03" + frame(every, b"{}"),
        "empty-frame": b"\x00" + frame(b"", b""),
        "bad-prelude-crc": b"\x00" + bytes(bad_prelude),
        "bad-message-crc": b"\x05" + bytes(bad_msg),
        "truncated": b"\x00" + ok[:-7],
        "unknown-type": b"\x00" + frame(header("x", 10), b""),
        "oversize": b"\x02" + big,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
