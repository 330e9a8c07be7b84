# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the tests of otterd's slo exporter (test_slo_exporter.py,
test_slo_alerts_e2e.py): spans sent through the OpenTelemetry Python SDK's real OTLP/gRPC
exporter, and the admin listener's GET /v1/slo read and checked.
"""

import json

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status

import sdk_python
from conftest import http_request

MS = 1_000_000  # ns


def sdk_tracer(agent, resource, scope, processor=SimpleSpanProcessor):
    """A tracer whose spans go to |agent| over OTLP/gRPC, with the resource attributes
    |resource| and the scope name |scope|; |processor| wraps the exporter. Returns (tee,
    provider, tracer): shut the provider down, then check tee.ok() and tee.sent."""
    tee = sdk_python.TeeSpans(sdk_python.exporter("traces", "grpc", agent))
    tp = TracerProvider(resource=Resource.create(resource))
    tp.add_span_processor(processor(tee))
    return tee, tp, tp.get_tracer(scope)


def emit_span(tracer, name, kind, status, code, dur_ms, end_ns):
    """One span of |kind| lasting |dur_ms| ms up to |end_ns|; the status |status| unless None, the
    attribute http.response.status_code = |code| unless None."""
    attrs = {"http.response.status_code": code} if code is not None else {}
    sp = tracer.start_span(name, kind=kind, attributes=attrs, start_time=end_ns - dur_ms * MS)
    if status is not None:
        sp.set_status(Status(status))
    sp.end(end_time=end_ns)


def slo_evaluation(agent):
    """GET /v1/slo on the admin listener: 200, JSON, exactly one evaluation, which it returns."""
    st, hdrs, body = http_request(agent.admin_port, "GET", "/v1/slo")
    assert st == 200, (st, body[:300])
    assert hdrs["content-type"] == "application/json"
    d = json.loads(body)
    assert len(d["evaluations"]) == 1
    return d["evaluations"][0]
