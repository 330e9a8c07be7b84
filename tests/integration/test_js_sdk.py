# SPDX-License-Identifier: Apache-2.0
"""OpenTelemetry JS SDK (0.223.x on Node 20) -> otterd -> file exporter, field by field.

js/send.js builds the telemetry with the SDK and sends it with the real exporter packages:
exporter-*-otlp-http (HTTP/JSON, chunked with keep-alive), -proto (HTTP/protobuf) and -grpc.
It prints, as OTLP/JSON produced by the exporter's own transformer, exactly what it handed to
the exporter; the agent's output must hold the same items.
"""

import json
import os
import shutil
import subprocess

import pytest

import otlp_util
from conftest import HERE, scaled
from otlp_util import assert_same_items, attrs_to_py, count_items

JS_DIR = HERE / "js"
PROTOCOLS = ("http-json", "http-json-gzip", "http-proto", "http-proto-gzip", "grpc", "grpc-gzip")


@pytest.fixture(scope="session")
def node():
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("node is not installed (scripts/install-deps.sh installs the test tools)")
    if not (JS_DIR / "node_modules" / "@opentelemetry" / "sdk-trace-base").is_dir():
        pytest.fail("run `npm ci` in tests/integration/js (scripts/install-deps.sh does)")
    return exe


def run_js(node, agent, signal, protocol):
    comp = "gzip" if protocol.endswith("-gzip") else "none"
    proto = protocol[:-len("-gzip")] if comp == "gzip" else protocol
    ep = ("http://%s" % agent.grpc_endpoint) if proto == "grpc" else agent.http_base
    argv = [node, "send.js", "--signal", signal, "--protocol", proto, "--endpoint", ep,
            "--compression", comp]
    env = dict(os.environ, OTEL_LOG_LEVEL="warn")
    p = subprocess.run(argv, cwd=JS_DIR, capture_output=True, timeout=scaled(60), env=env)
    assert p.returncode == 0, "node send.js failed (%d):\n%s" % (p.returncode, p.stderr.decode())
    out = json.loads(p.stdout)
    assert not out["errors"], "the JS SDK reported: %s\nstderr:\n%s" % (
        out["errors"], p.stderr.decode()[-3000:])
    assert out["results"] and all(r["code"] == 0 for r in out["results"]), (
        "the JS exporter reported %r\nstderr:\n%s" % (out["results"], p.stderr.decode()[-3000:]))
    # What a receiver must make of it: unknown keys (the JS SDK puts schemaUrl inside
    # resource) are ignored.
    return [otlp_util.parse_json(signal, o, strict=False) for o in out["sent"]]


def _spot_traces(reqs):
    spans = {it.item.name: it for it in otlp_util.items("traces", reqs)}
    root = spans["server-span"].item
    assert root.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert root.parent_span_id.hex() == "b7ad6b7169203331"
    assert root.kind == 2, "API SpanKind.SERVER (1) must arrive as OTLP SERVER (2)"
    assert root.start_time_unix_nano == 1700000000123456789
    assert root.trace_state == "vendor=v1,otter=t1"
    a = attrs_to_py(root.attributes)
    assert a["int"] == 42 and a["double"] == 3.25 and a["arr.bool"] == [True, False]
    assert a["int.big"] == 9007199254740991 and a["double.tiny"] == 1.5e-300
    assert [e.name for e in root.events] == ["ev.one", "ev.empty"]
    assert root.links[0].trace_state == "k=v"
    assert attrs_to_py(root.links[0].attributes) == {"link.str": "l", "link.int": 3,
                                                     "link.arr": [True]}
    assert {spans["child-%d" % i].item.kind for i in range(4)} == {1, 3, 4, 5}
    assert spans["child-1"].item.status.code == 2


def _spot_metrics(reqs):
    kinds = {}
    for it in otlp_util.items("metrics", reqs):
        kind, data, _ = otlp_util.metric_points(it.metric)
        kinds[it.metric.name] = (kind, getattr(data, "aggregation_temporality", None),
                                 getattr(data, "is_monotonic", None))
    assert kinds["it.counter"] == ("sum", 1, True)
    assert kinds["it.updown"] == ("sum", 2, False)
    assert kinds["it.histogram"][:2] == ("histogram", 1)
    assert kinds["it.exp_histogram"][:2] == ("exponential_histogram", 1)
    assert kinds["it.gauge"][0] == "gauge"
    assert kinds["it.obs_gauge"][0] == "gauge"


def _spot_logs(reqs):
    recs = {attrs_to_py(it.item.attributes)["seq"]: it.item
            for it in otlp_util.items("logs", reqs)}
    assert otlp_util.any_to_py(recs[0].body) == "plain string body"
    assert otlp_util.any_to_py(recs[2].body) == 12345
    assert otlp_util.any_to_py(recs[4].body) == 2.5
    assert otlp_util.any_to_py(recs[7].body) == b"\x00b\xff"
    assert otlp_util.any_to_py(recs[9].body)["map"] == {"deep": {"deeper": "yes"}}
    assert recs[1].event_name == "otter.event"
    assert recs[100].trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert recs[100].span_id.hex() == "00f067aa0ba902b7"
    assert recs[100].flags & 0xFF == 1


SPOT = {"traces": _spot_traces, "metrics": _spot_metrics, "logs": _spot_logs}


@pytest.mark.parametrize("signal", otlp_util.SIGNALS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_js_sdk_roundtrip(otterd, node, protocol, signal):
    agent = otterd()
    sent = run_js(node, agent, signal, protocol)
    n = count_items(signal, sent)
    assert n > 0
    wire = "grpc" if protocol.startswith("grpc") else "http"
    accepted = agent.metric_sum("otter_receiver_items_total", receiver="otlp", transport=wire,
                                signal=signal, outcome="accepted")
    agent.stop()
    arrived = agent.read(signal)
    assert_same_items(signal, sent, arrived)
    SPOT[signal](arrived)
    assert accepted == n, "otter_receiver_items_total{outcome=accepted} = %r, sent %d" % (
        accepted, n)
