# SPDX-License-Identifier: Apache-2.0
"""TLS and mTLS on both OTLP listeners, with the OpenTelemetry Python SDK's exporters.

Certificates are made per test with the openssl command line: a CA, a server certificate for
127.0.0.1 signed by it, and a client certificate signed by it.
"""

import subprocess

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path, monkeypatch):
    # requests lets these variables override a Session's `verify`, which is where the SDK's
    # HTTP exporter puts certificate_file: clear them so the test CA is the one used.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    d = tmp_path / "pki"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=otter-test-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=otter-test-%s" % who,
                 "-keyout", "%s.key" % who, "-out", "%s.csr" % who, cwd=d)
        _openssl("x509", "-req", "-in", "%s.csr" % who, "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", "%s.crt" % who, *ext, cwd=d)
    return d


def _spans(n):
    mem = InMemorySpanExporter()
    tp = TracerProvider(resource=Resource.create({"service.name": "tls-test"}))
    tp.add_span_processor(SimpleSpanProcessor(mem))
    tracer = tp.get_tracer("tls")
    for i in range(n):
        with tracer.start_as_current_span("tls-span-%d" % i) as s:
            s.set_attribute("i", i)
    return mem.get_finished_spans()


def _tls_config(pki, client_ca):
    tls = {"cert_file": str(pki / "server.crt"), "key_file": str(pki / "server.key")}
    if client_ca:
        tls["client_ca_file"] = str(pki / "ca.crt")
    return {"grpc_opts": {"tls": dict(tls)}, "http_opts": {"tls": dict(tls)}}


def _grpc_exporter(agent, pki, client_cert):
    creds = grpc.ssl_channel_credentials(
        root_certificates=(pki / "ca.crt").read_bytes(),
        private_key=(pki / "client.key").read_bytes() if client_cert else None,
        certificate_chain=(pki / "client.crt").read_bytes() if client_cert else None)
    return GrpcSpanExporter(endpoint="https://127.0.0.1:%d" % agent.grpc_port, credentials=creds,
                            timeout=5)


def _http_exporter(agent, pki, client_cert):
    kw = {}
    if client_cert:
        kw = {"client_key_file": str(pki / "client.key"),
              "client_certificate_file": str(pki / "client.crt")}
    return HttpSpanExporter(endpoint="https://127.0.0.1:%d/v1/traces" % agent.http_port,
                            certificate_file=str(pki / "ca.crt"), timeout=5, **kw)


def _names(agent):
    return sorted(s.name for r in agent.read("traces") for rs in r.resource_spans
                  for ss in rs.scope_spans for s in ss.spans)


def test_tls_grpc_and_http(otterd, pki):
    agent = otterd(**_tls_config(pki, client_ca=False))
    spans = _spans(3)
    assert _grpc_exporter(agent, pki, False).export(spans[:2]) == SpanExportResult.SUCCESS
    assert _http_exporter(agent, pki, False).export(spans[2:]) == SpanExportResult.SUCCESS
    agent.stop()
    assert _names(agent) == ["tls-span-0", "tls-span-1", "tls-span-2"]


def test_plaintext_client_cannot_talk_to_a_tls_listener(otterd, pki):
    agent = otterd(**_tls_config(pki, client_ca=False))
    spans = _spans(1)
    plain = GrpcSpanExporter(endpoint="http://127.0.0.1:%d" % agent.grpc_port, insecure=True,
                             timeout=3)
    assert plain.export(spans) == SpanExportResult.FAILURE
    plain_http = HttpSpanExporter(endpoint="http://127.0.0.1:%d/v1/traces" % agent.http_port,
                                  timeout=3)
    assert plain_http.export(spans) == SpanExportResult.FAILURE
    # The listener still serves a proper TLS client afterwards.
    assert _grpc_exporter(agent, pki, False).export(spans) == SpanExportResult.SUCCESS
    agent.stop()
    assert _names(agent) == ["tls-span-0"]


def test_mtls_requires_a_client_certificate(otterd, pki):
    agent = otterd(**_tls_config(pki, client_ca=True))
    spans = _spans(2)
    assert _grpc_exporter(agent, pki, False).export(spans[:1]) == SpanExportResult.FAILURE
    assert _http_exporter(agent, pki, False).export(spans[:1]) == SpanExportResult.FAILURE
    assert _grpc_exporter(agent, pki, True).export(spans[:1]) == SpanExportResult.SUCCESS
    assert _http_exporter(agent, pki, True).export(spans[1:]) == SpanExportResult.SUCCESS
    agent.stop()
    assert _names(agent) == ["tls-span-0", "tls-span-1"]
