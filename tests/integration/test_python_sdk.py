# SPDX-License-Identifier: Apache-2.0
"""OpenTelemetry Python SDK -> otterd -> file exporter, compared field by field.

For each transport (gRPC, gRPC+gzip, HTTP/protobuf, +gzip, +deflate) and each signal, the SDK's
real exporter sends a fixed set of items; after SIGTERM the agent must have written exactly
those items (same ids, timestamps, attributes of every type, events, links, status, kind,
metric types and temporalities, log bodies, severities, trace context, resource and scope).
"""

import collections

import pytest

import otlp_util
import sdk_python
from conftest import make_config
from otlp_util import assert_same_items, attrs_to_py, count_items

SENDERS = {"traces": sdk_python.send_traces, "metrics": sdk_python.send_metrics,
           "logs": sdk_python.send_logs}


def _spot_check_traces(reqs):
    spans = {it.item.name: it for it in otlp_util.items("traces", reqs)}
    root = spans["server-span"].item
    assert root.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert root.parent_span_id.hex() == "b7ad6b7169203331"
    assert root.kind == 2 and root.start_time_unix_nano == sdk_python.T0
    assert root.end_time_unix_nano == sdk_python.T0 + 1_000_000_000
    assert root.status.code == 2
    got = attrs_to_py(root.attributes)
    for k, v in sdk_python.ALL_TYPES.items():
        assert got[k] == v, k
    assert got["bytes"] == sdk_python.EXTENDED_TYPES["bytes"]
    assert got["kvlist"]["inner.map"] == {"deep": True}
    assert [e.name for e in root.events] == ["ev.one", "ev.empty"]
    assert root.links[0].span_id.hex() == "eee19b7ec3c1b174"
    assert root.trace_state == "vendor=v1,otter=t1"
    assert {spans["child-%d" % i].item.kind for i in range(4)} == {1, 3, 4, 5}
    assert spans["child-1"].item.status.message.startswith("boom")
    assert spans["child-0"].scope.name == "otter.it.tracer"
    assert spans["child-0"].scope.version == "1.2.3"
    assert spans["lonely"].scope.name == "otter.it.other"
    assert spans["lonely"].resource_schema_url.startswith("https://opentelemetry.io/schemas/")


def _spot_check_metrics(reqs):
    kinds = {}
    for it in otlp_util.items("metrics", reqs):
        kind, data, _ = otlp_util.metric_points(it.metric)
        kinds[it.metric.name] = (kind, getattr(data, "aggregation_temporality", None),
                                 getattr(data, "is_monotonic", None))
    assert kinds["it.counter"] == ("sum", 1, True)
    assert kinds["it.updown"] == ("sum", 2, False)
    assert kinds["it.obs_counter"] == ("sum", 2, True)
    assert kinds["it.histogram"][:2] == ("histogram", 1)
    assert kinds["it.exp_histogram"][:2] == ("exponential_histogram", 1)
    assert kinds["it.gauge"][0] == "gauge"
    assert kinds["it.obs_gauge"][0] == "gauge"


def _spot_check_logs(reqs):
    recs = {attrs_to_py(it.item.attributes)["seq"]: it.item
            for it in otlp_util.items("logs", reqs)}
    assert set(recs) == set(range(len(sdk_python.LOG_BODIES))) | {100, 101, 102}
    for i, body in enumerate(sdk_python.LOG_BODIES):
        assert otlp_util.any_to_py(recs[i].body) == body, "log body %d" % i
    assert recs[0].time_unix_nano == sdk_python.T0
    assert recs[0].observed_time_unix_nano == sdk_python.T0 + 1000
    assert recs[1].event_name == "otter.event"
    assert len(recs[100].trace_id) == 16 and len(recs[100].span_id) == 8
    assert recs[100].flags & 0x01 == 1  # sampled
    assert recs[101].trace_id == recs[100].trace_id


SPOT = {"traces": _spot_check_traces, "metrics": _spot_check_metrics, "logs": _spot_check_logs}


@pytest.mark.parametrize("signal", otlp_util.SIGNALS)
@pytest.mark.parametrize("transport", sdk_python.TRANSPORTS)
def test_python_sdk_roundtrip(otterd, transport, signal):
    agent = otterd()
    sent = SENDERS[signal](agent, transport)
    n = count_items(signal, sent)
    assert n > 0
    wire = "grpc" if transport.startswith("grpc") else "http"
    accepted = agent.metric_sum("otter_receiver_items_total", receiver="otlp", transport=wire,
                                signal=signal, outcome="accepted")
    agent.stop()
    arrived = agent.read(signal)
    assert_same_items(signal, sent, arrived)
    SPOT[signal](arrived)
    for other in otlp_util.SIGNALS:
        if other != signal:
            assert agent.read(other) == [], "%s items arrived in the %s file" % (signal, other)
    assert accepted == n, "otter_receiver_items_total{outcome=accepted} = %r, sent %d" % (
        accepted, n)


def test_python_sdk_metrics_cut_by_send_batch_max_size(otterd, tmp_path):
    """send_batch_max_size 3 counts data points, as the collector's: a metric with more points
    than a batch has room for is cut, each part keeping the metric's name, unit and type."""
    out = tmp_path / "cut" / "out"
    cfg = make_config(out)
    cfg["processors"]["batch"] = {"send_batch_size": 3, "send_batch_max_size": 3,
                                  "timeout": "1h"}
    agent = otterd(config=cfg, name="cut")
    sent = sdk_python.send_metrics(agent, "grpc")
    agent.stop()
    arrived = agent.read("metrics")
    assert_same_items("metrics", sent, arrived)
    sizes = [count_items("metrics", [r]) for r in arrived]
    assert max(sizes) <= 3, sizes
    assert sum(sizes) == count_items("metrics", sent)
    # Some metric's points went out in two batches.
    seen = collections.defaultdict(set)
    for n, req in enumerate(arrived):
        for it in otlp_util.items("metrics", [req]):
            seen[it.metric.name].add(n)
    assert any(len(v) > 1 for v in seen.values()), dict(seen)


def test_python_sdk_all_signals_one_agent_self_telemetry(otterd):
    """All three signals through one agent; /metrics counts what was received and exported."""
    agent = otterd()
    sent = {
        "traces": sdk_python.send_traces(agent, "grpc"),
        "metrics": sdk_python.send_metrics(agent, "http"),
        "logs": sdk_python.send_logs(agent, "grpc-gzip"),
    }
    for sig, reqs in sent.items():
        agent.wait_for_items(sig, count_items(sig, reqs))
    wires = {"traces": "grpc", "metrics": "http", "logs": "grpc"}
    for sig, reqs in sent.items():
        n = count_items(sig, reqs)
        assert agent.metric_sum("otter_receiver_items_total", receiver="otlp",
                                transport=wires[sig], signal=sig, outcome="accepted") == n, sig
        assert agent.metric_sum("otter_receiver_items_total", signal=sig,
                                outcome="refused") == 0, sig
        assert agent.metric_sum("otter_receiver_items_total", signal=sig,
                                outcome="invalid") == 0, sig
        assert agent.metric_sum("otter_exporter_sent_total", exporter="file/%s" % sig,
                                signal=sig) == n, sig
    agent.stop()
    for sig, reqs in sent.items():
        assert_same_items(sig, reqs, agent.read(sig))
