# SPDX-License-Identifier: Apache-2.0
"""The AWS client over TLS: certificate checks on by default, `no_verify_ssl` as ADOT has it,
and HTTP/2 when the endpoint offers it (ALPN).

Peers: moto server with its own self-signed certificate (`-s`), and H2XraySink, a
PutTraceSegments endpoint that offers only h2 and checks every signature.
"""

import pytest

from aws_peers import H2XraySink, MotoServer, aws_env
from test_xray_moto import (assert_all_delivered, found_in_xray, send_spans,
                            stop_and_check_secrets, wait_for, xray_config, xray_failed,
                            xray_sent)



@pytest.fixture(scope="module")
def moto_tls(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto-tls") / "moto.log", tls=True)
    yield m
    m.stop()


def test_no_verify_ssl_reaches_a_self_signed_endpoint(otterd, moto_tls, tmp_path):
    env = aws_env(AWS_ACCESS_KEY_ID=moto_tls.admin_key,
                  AWS_SECRET_ACCESS_KEY=moto_tls.admin_secret)
    agent = otterd(config=xray_config(tmp_path, moto_tls.endpoint, no_verify_ssl=True), env=env)
    sent = send_spans(agent, n_traces=2, per_trace=3)
    assert_all_delivered(sent, found_in_xray(moto_tls, sent))
    stop_and_check_secrets(agent, moto_tls.admin_secret)


def test_certificates_are_verified_by_default(otterd, moto_tls, tmp_path):
    env = aws_env(AWS_ACCESS_KEY_ID=moto_tls.admin_key,
                  AWS_SECRET_ACCESS_KEY=moto_tls.admin_secret)
    agent = otterd(config=xray_config(tmp_path, moto_tls.endpoint, max_retries=0), env=env)
    sent = send_spans(agent, n_traces=1, per_trace=2)
    assert wait_for(lambda: xray_failed(agent) == len(sent), 15)
    assert xray_sent(agent) == 0
    assert "certificate" in agent.stderr().lower()
    stop_and_check_secrets(agent, moto_tls.admin_secret)


def test_http2_where_offered(otterd, tmp_path):
    sink = H2XraySink(str(tmp_path), "AKIDH2TEST", "h2-secret")
    try:
        env = aws_env(AWS_ACCESS_KEY_ID="AKIDH2TEST", AWS_SECRET_ACCESS_KEY="h2-secret")
        agent = otterd(config=xray_config(tmp_path, sink.url, no_verify_ssl=True), env=env)
        sent = send_spans(agent, n_traces=3, per_trace=4)
        assert wait_for(lambda: len(sink.accepted) >= len(sent), 15)
        assert sorted(d["id"] for d in sink.accepted) == sorted(sent)
        assert sink.errors == []
        assert sink.alpn and set(sink.alpn) == {"h2"}
        agent.stop()
    finally:
        sink.stop()
