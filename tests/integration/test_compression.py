# SPDX-License-Identifier: Apache-2.0
"""Request compression beyond gzip and deflate, as the collector takes it.

OTLP/HTTP Content-Encoding zstd, snappy (a block), x-snappy-framed and lz4; OTLP/gRPC
grpc-encoding zstd and snappy (the framing format, as the collector's gRPC codec writes it).
The bodies are compressed by cramjam, an implementation of its own (Rust), never by otterd's
libraries; every span sent must be exported, and a body that inflates past the limit is refused
without being inflated whole.
"""

import cramjam
import pytest

import otlp_util
import raw_clients as rc
from otlp_util import GRPC_METHOD

LIMIT = 1 << 20

HTTP = {
    "zstd": lambda b: bytes(cramjam.zstd.compress(b)),
    "snappy": lambda b: bytes(cramjam.snappy.compress_raw(b)),
    "x-snappy-framed": lambda b: bytes(cramjam.snappy.compress(b)),
    "lz4": lambda b: bytes(cramjam.lz4.compress(b)),
}
GRPC = {
    "zstd": HTTP["zstd"],
    "snappy": HTTP["x-snappy-framed"],
}


@pytest.fixture
def agent(otterd):
    return otterd(http_opts={"max_request_body_size": LIMIT},
                  grpc_opts={"max_recv_msg_size_mib": 1})


def _span_ids(agent):
    return {it.item.span_id for it in otlp_util.items("traces", agent.read("traces"))}


def test_every_encoding_over_http_and_grpc(agent):
    sent = []
    for enc, z in HTTP.items():
        req, ids = rc.small_request("traces", "http-" + enc, n=3)
        st, hdrs, body = rc.post(agent.http_port, "traces", z(req.SerializeToString()),
                                 headers={"Content-Encoding": enc})
        assert st == 200, (enc, st, body)
        sent += ids
    for enc, z in GRPC.items():
        req, ids = rc.small_request("traces", "grpc-" + enc, n=3)
        r = rc.h2_grpc(agent.grpc_port, GRPC_METHOD["traces"],
                       [rc.grpc_frame(z(req.SerializeToString()), compressed=True)],
                       extra_headers=[("grpc-encoding", enc)])
        assert r.grpc_status == 0, (enc, r.headers, r.trailers)
        sent += ids
    agent.stop()
    got = _span_ids(agent)
    assert [i for i in sent if i not in got] == []


@pytest.mark.parametrize("enc", sorted(HTTP))
def test_http_bombs_and_corrupt_bodies(agent, enc):
    # Zeros that inflate 16 times past the 1 MiB limit (snappy's best ratio is ~21:1, so the
    # body itself stays under the limit): 413, without inflating it whole.
    bomb = HTTP[enc](b"\0" * (16 << 20))
    assert len(bomb) < LIMIT
    st, _, body = rc.post(agent.http_port, "traces", bomb, headers={"Content-Encoding": enc})
    assert st == 413, (st, body)
    good = HTTP[enc](rc.small_request("traces", "bad")[0].SerializeToString())
    st, _, body = rc.post(agent.http_port, "traces", good[:-2],
                          headers={"Content-Encoding": enc})
    assert st == 400, (st, body)
    assert b"not valid for its Content-Encoding" in body, body


@pytest.mark.parametrize("enc", sorted(GRPC))
def test_grpc_bombs_and_corrupt_messages(agent, enc):
    r = rc.h2_grpc(agent.grpc_port, GRPC_METHOD["traces"],
                   [rc.grpc_frame(GRPC[enc](b"\0" * (16 << 20)), compressed=True)],
                   extra_headers=[("grpc-encoding", enc)])
    assert r.grpc_status == 8, (r.headers, r.trailers)  # RESOURCE_EXHAUSTED
    good = GRPC[enc](rc.small_request("traces", "bad")[0].SerializeToString())
    r = rc.h2_grpc(agent.grpc_port, GRPC_METHOD["traces"],
                   [rc.grpc_frame(good[:-2], compressed=True)],
                   extra_headers=[("grpc-encoding", enc)])
    assert r.grpc_status == 13, (r.headers, r.trailers)  # INTERNAL, as grpc-go


def test_compression_algorithms_limits_the_encodings(otterd):
    """compression_algorithms: [zstd]: zstd and plain bodies are taken, gzip is refused, naming
    the option."""
    import gzip
    agent = otterd(http_opts={"compression_algorithms": ["zstd"]})
    body = rc.small_request("traces", "only-zstd")[0].SerializeToString()
    st, _, _ = rc.post(agent.http_port, "traces", HTTP["zstd"](body),
                       headers={"Content-Encoding": "zstd"})
    assert st == 200
    st, _, _ = rc.post(agent.http_port, "traces", body)
    assert st == 200
    st, _, resp = rc.post(agent.http_port, "traces", gzip.compress(body),
                          headers={"Content-Encoding": "gzip"})
    assert st == 400
    assert b"compression_algorithms" in resp, resp
