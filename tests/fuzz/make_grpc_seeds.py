#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the gRPC fuzz targets, with the standard library only.

corpus/grpc_frame/: 2 bytes of message cap (little-endian), 2 bytes of chunk sizes, then gRPC
length-prefixed messages (whole, several, empty, oversize, bad flag, truncated, compressed).

corpus/grpc_session/: 1 byte of stub-sink mode (bit 0x20: max_connection_idle 1 ns), 1 byte of
chunk size (0: all at once), then what
an HTTP/2 client sends on one connection: the preface, SETTINGS, HEADERS encoded with HPACK
literals (RFC 7541 6.2.2), and DATA frames carrying gRPC messages; plus protocol errors.
The output is deterministic (gzip mtime 0), so re-running it leaves the committed files unchanged.

Usage: python3 tests/fuzz/make_grpc_seeds.py
"""

import gzip
import struct
import zlib
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
METRICS = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

# An ExportTraceServiceRequest: one ResourceSpans with one ScopeSpans with one Span whose
# trace_id is 16 bytes and span_id 8 bytes, and name "op".
SPAN = b"\x0a\x10" + bytes(range(1, 17)) + b"\x12\x08" + bytes(range(1, 9)) + b"\x2a\x02op"
SCOPE_SPANS = b"\x12" + bytes([len(SPAN)]) + SPAN
RESOURCE_SPANS = b"\x12" + bytes([len(SCOPE_SPANS)]) + SCOPE_SPANS
REQUEST = b"\x0a" + bytes([len(RESOURCE_SPANS)]) + RESOURCE_SPANS


def msg(body, flag=0, length=None):
    return struct.pack(">BI", flag, len(body) if length is None else length) + body


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (lengths < 127)."""
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def headers(stream, path, end_stream=False, method="POST", ctype="application/grpc",
            extra=()):
    block = b"".join(hpack_literal(k, v) for k, v in (
        (":method", method), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path),
        ("content-type", ctype), ("te", "trailers")) + tuple(extra))
    return frame(0x1, 0x4 | (0x1 if end_stream else 0), stream, block)


def data(stream, payload, end_stream=True):
    return frame(0x0, 0x1 if end_stream else 0, stream, payload)


SETTINGS = frame(0x4, 0, 0, b"")
SETTINGS_ACK = frame(0x4, 0x1, 0, b"")
START = PREFACE + SETTINGS


def gz(b):
    return gzip.compress(b, mtime=0)


def frame_seeds():
    cap = struct.pack("<H", 4096)
    two = msg(b"hi") + msg(b"x", flag=1)
    return {
        "one": cap + b"\x00\x00" + msg(REQUEST),
        "one_bytewise": cap + b"\x01\x01" + msg(REQUEST),
        "two": cap + b"\x03\x05" + two,
        "empty": cap + b"\x02\x07" + msg(b""),
        "many": cap + b"\x04\x0b" + b"".join(msg(bytes([i]) * i) for i in range(12)),
        "oversize": struct.pack("<H", 16) + b"\x05\x05" + msg(b"", length=17) + b"a" * 8,
        "huge": cap + b"\x05\x05" + msg(b"", length=0xFFFFFFFF),
        "bad_flag": cap + b"\x02\x02" + b"\x02\x00\x00\x00\x01a",
        "truncated": cap + b"\x03\x03" + msg(REQUEST)[:-3],
        "compressed": cap + b"\x06\x02" + msg(gz(REQUEST), flag=1),
        "timeout": b"9946m",
    }


def session_seeds():
    ok = START + headers(1, TRACES) + data(1, msg(REQUEST))
    one_byte_frames = START + headers(1, LOGS) + b"".join(
        data(1, bytes([b]), end_stream=False) for b in msg(REQUEST)) + data(1, b"")
    return {
        "traces_ok": b"\x00\x00" + ok,
        "traces_ok_chunked": b"\x00\x07" + ok,
        "partial": b"\x80\x00" + ok,
        "invalid": b"\x41\x00" + ok,
        "too_large": b"\x02\x00" + ok,
        "unavailable": b"\x43\x00" + ok,
        "internal": b"\x04\x00" + ok,
        "metrics_gzip": b"\x00\x00" + START + headers(
            1, METRICS, extra=(("grpc-encoding", "gzip"),)) + data(1, msg(gz(REQUEST), flag=1)),
        "logs_deflate": b"\x00\x00" + START + headers(
            1, LOGS, extra=(("grpc-encoding", "deflate"),)) +
        data(1, msg(zlib.compress(REQUEST), flag=1)),
        "flag0_gzip_header": b"\x00\x00" + START + headers(
            1, TRACES, extra=(("grpc-encoding", "gzip"),)) + data(1, msg(REQUEST)),
        "snappy": b"\x00\x00" + START + headers(
            1, TRACES, extra=(("grpc-encoding", "snappy"),)) + data(1, msg(b"zz", flag=1)),
        "bad_gzip": b"\x00\x00" + START + headers(
            1, TRACES, extra=(("grpc-encoding", "gzip"),)) + data(1, msg(b"\x1f\x8b\x08junk", 1)),
        "one_byte_frames": b"\x00\x00" + one_byte_frames,
        "unknown_path": b"\x00\x00" + START + headers(1, "/foo.Bar/Baz") + data(1, msg(b"")),
        "two_messages": b"\x00\x00" + START + headers(1, TRACES) + data(
            1, msg(REQUEST) + msg(REQUEST)),
        "no_message": b"\x00\x00" + START + headers(1, TRACES, end_stream=True),
        "oversize": b"\x00\x00" + START + headers(1, TRACES) + data(
            1, msg(b"", length=0x100000), end_stream=False) + data(1, b"abc"),
        "bad_flag": b"\x00\x00" + START + headers(1, TRACES) + data(1, b"\x07\x00\x00\x00\x00"),
        "deadline": b"\x00\x00" + START + headers(
            1, TRACES, extra=(("grpc-timeout", "0n"),)) + data(1, msg(REQUEST)[:4], False),
        "bad_timeout": b"\x00\x00" + START + headers(
            1, TRACES, extra=(("grpc-timeout", "soon"),)) + data(1, msg(REQUEST)),
        "json_ctype": b"\x00\x00" + START + headers(1, TRACES, ctype="application/json") +
        data(1, msg(REQUEST)),
        "get": b"\x00\x00" + START + headers(1, TRACES, end_stream=True, method="GET"),
        "two_streams": b"\x00\x00" + START + headers(1, TRACES) + headers(3, METRICS) +
        data(3, msg(REQUEST)) + data(1, msg(REQUEST)) + SETTINGS_ACK,
        "rst_midway": b"\x00\x00" + START + headers(1, TRACES) +
        data(1, msg(REQUEST)[:9], False) + frame(0x3, 0, 1, struct.pack(">I", 8)) +
        frame(0x6, 0, 0, b"12345678") + frame(0x8, 0, 0, struct.pack(">I", 1 << 20)),
        "goaway_from_client": b"\x00\x00" + ok + frame(0x7, 0, 0, struct.pack(">II", 1, 0)),
        "garbage_preface": b"\x00\x00" + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "data_on_stream0": b"\x00\x00" + START + frame(0x0, 0, 0, b"A"),
        # Two 60 KiB messages started under the fuzzer's 96 KiB budget: the second is refused
        # (UNAVAILABLE), the first is reset mid-body, then a small call fits again.
        "budget": b"\x00\x00" + START + SETTINGS_ACK + headers(1, TRACES) +
        data(1, msg(b"", length=60 * 1024) + b"a" * 100, False) + headers(3, METRICS) +
        data(3, msg(b"", length=60 * 1024) + b"b" * 100, False) +
        frame(0x3, 0, 1, struct.pack(">I", 8)) + headers(5, LOGS) + data(5, msg(REQUEST)),
        # max_connection_idle: closed while idle between 16-byte chunks.
        "max_idle": b"\x20\x10" + ok + headers(3, TRACES) + data(3, msg(REQUEST)),
    }


def write(name, seeds):
    out = CORPUS / name
    out.mkdir(parents=True, exist_ok=True)
    for key, blob in sorted(seeds.items()):
        (out / key).write_bytes(blob)


def main():
    write("grpc_frame", frame_seeds())
    write("grpc_session", session_seeds())


if __name__ == "__main__":
    main()
