# SPDX-License-Identifier: Apache-2.0
"""gRPC keepalive on the OTLP receiver, against grpcio (the Python SDK's transport).

keepalive.server_parameters (max_connection_age, max_connection_age_grace, time, timeout) and
keepalive.enforcement_policy (min_time, permit_without_stream) as grpc-go, the collector's gRPC
server, applies them; what otterd did is read from its /metrics
(otter_receiver_connections_total, otter_receiver_connections_closed_total).
"""

import socket
import time

import grpc

import otlp_util
import raw_clients as rc
from conftest import scaled
from otlp_util import GRPC_METHOD

CONNS = "otter_receiver_connections_total"
CLOSED = "otter_receiver_connections_closed_total"


def _conns(agent, outcome="accepted"):
    return agent.metric_sum(CONNS, transport="grpc", outcome=outcome)


def _closed(agent, reason):
    return agent.metric_sum(CLOSED, transport="grpc", reason=reason)


def _wait(pred, seconds):
    end = time.monotonic() + scaled(seconds)
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_max_connection_age_reconnects_without_failing_a_call(otterd):
    """Calls every 50 ms on one grpcio channel for 3.5 s, connections aged at 1 s (± 10 %): every
    call succeeds, the channel reconnects each time, and every span is exported."""
    agent = otterd(grpc_opts={"keepalive": {"server_parameters": {
        "max_connection_age": "1s", "max_connection_age_grace": "20s"}}})
    ch = grpc.insecure_channel(agent.grpc_endpoint, options=[("grpc.enable_retries", 0)])
    sent = []
    try:
        end = time.monotonic() + 3.5
        n = 0
        while time.monotonic() < end:
            req, ids = rc.small_request("traces", "age%d" % n)
            n += 1
            code, details, _ = rc.grpc_call(None, GRPC_METHOD["traces"],
                                            req.SerializeToString(), channel=ch)
            assert code == grpc.StatusCode.OK, "call %d: %s %s" % (n, code, details)
            sent += ids
            time.sleep(0.05)
    finally:
        ch.close()
    # 3.5 s at 0.9-1.1 s each: at least three connections, the first ones drained by age.
    assert _wait(lambda: _closed(agent, "max_connection_age") >= 2, 5)
    assert _conns(agent) >= 3, agent.metrics()
    assert _closed(agent, "max_connection_age_grace") == 0
    assert _closed(agent, "protocol_error") == 0
    agent.stop()
    got = {it.item.span_id for it in otlp_util.items("traces", agent.read("traces"))}
    missing = [i for i in sent if i not in got]
    assert not missing, "%d of %d spans not exported" % (len(missing), len(sent))


def _pinging_channel(agent):
    # A client that pings every 100 ms even without a call: what enforcement_policy is for.
    return grpc.insecure_channel(agent.grpc_endpoint, options=[
        ("grpc.keepalive_time_ms", 100), ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0),
        ("grpc.enable_retries", 0)])


def _one_call(ch):
    req, _ = rc.small_request("logs", "ka")
    return rc.grpc_call(None, GRPC_METHOD["logs"], req.SerializeToString(), channel=ch)[0]


def _calls_apart(ch, seconds):
    """A call, |seconds| of quiet on the channel, another call; both must succeed."""
    try:
        assert _one_call(ch) == grpc.StatusCode.OK
        time.sleep(seconds)
        assert _one_call(ch) == grpc.StatusCode.OK
    finally:
        ch.close()


def test_too_many_pings_by_default(otterd):
    """The default policy (min_time 5m, no PINGs without a call): a client pinging every 100 ms
    is sent GOAWAY ENHANCE_YOUR_CALM too_many_pings; its next call still succeeds."""
    agent = otterd()
    ch = _pinging_channel(agent)
    try:
        assert _one_call(ch) == grpc.StatusCode.OK
        assert _wait(lambda: _closed(agent, "too_many_pings") >= 1, 10), agent.metrics()
        assert _one_call(ch) == grpc.StatusCode.OK
    finally:
        ch.close()
    assert _closed(agent, "protocol_error") == 0


def test_enforcement_policy_permits_the_pings(otterd):
    """min_time 50ms and permit_without_stream: the same client keeps its one connection."""
    agent = otterd(grpc_opts={"keepalive": {"enforcement_policy": {
        "min_time": "50ms", "permit_without_stream": True}}})
    _calls_apart(_pinging_channel(agent), 2.0)
    assert _closed(agent, "too_many_pings") == 0
    assert _conns(agent) == 1


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def test_keepalive_time_and_timeout(otterd):
    """time 1s, timeout 1s: an idle grpcio channel answers the server's PINGs and keeps its
    connection; a peer that sent only the preface and never answers is closed after ~2 s."""
    agent = otterd(grpc_opts={"keepalive": {"server_parameters": {
        "time": "1s", "timeout": "1s"}}})
    _calls_apart(grpc.insecure_channel(agent.grpc_endpoint), 3.5)
    assert _conns(agent) == 1
    assert _closed(agent, "keepalive_timeout") == 0

    s = socket.create_connection(("127.0.0.1", agent.grpc_port))
    try:
        s.sendall(PREFACE)
        t0 = time.monotonic()
        # Do not read: the kernel buffers the server's SETTINGS and PING; nobody answers.
        assert _wait(lambda: _closed(agent, "keepalive_timeout") == 1, 10), agent.metrics()
        took = time.monotonic() - t0
    finally:
        s.close()
    assert took >= 1.8, "closed after %.2fs, before time + timeout" % took
