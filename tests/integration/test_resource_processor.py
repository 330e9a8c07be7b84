# SPDX-License-Identifier: Apache-2.0
"""The resource and attributes processors (the collector's attribute actions).

A span with a known resource goes through a resource processor with every kind of action; the
resource that reaches the file exporter is compared with one worked out by hand (the hash with
Python's hashlib). A second pipeline fed by the same receiver without the processor must see
the resource unchanged (the processor works on a private copy).
"""

import hashlib
import struct

from opentelemetry.proto.common.v1 import common_pb2

import otlp_util
import raw_clients as rc
from conftest import make_config

ACTIONS = [
    {"key": "deployment.environment", "value": "prod", "action": "insert"},   # absent: set
    {"key": "service.name", "value": "ignored", "action": "insert"},          # present: kept
    {"key": "team", "value": "otters", "action": "update"},                   # present: changed
    {"key": "missing", "value": "x", "action": "update"},                     # absent: nothing
    {"key": "replicas", "value": 3, "action": "upsert"},                      # an int
    {"key": "ratio", "value": 0.25, "action": "upsert"},                      # a double
    {"key": "canary", "value": True, "action": "upsert"},                     # a bool
    {"key": "quoted", "value": "42", "action": "upsert"},                     # a string
    {"key": "copy.of.name", "from_attribute": "service.name", "action": "insert"},
    {"key": "user.email", "action": "hash"},
    {"key": "int.to.hash", "action": "hash"},
    {"pattern": "^secret\\.", "action": "delete"},
    {"key": "k8s.pod.uid", "action": "delete"},
    {"key": "http.url", "pattern": "^(?P<scheme>[a-z]+)://(?P<host>[^/:]+)(:[0-9]+)?(?P<path>/.*)$",
     "action": "extract"},
    {"key": "port.text", "action": "convert", "converted_type": "int"},
    {"key": "count", "action": "convert", "converted_type": "string"},
    {"key": "bad.number", "action": "convert", "converted_type": "double"},
]


def _any(v):
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    if isinstance(v, float):
        return common_pb2.AnyValue(double_value=v)
    return common_pb2.AnyValue(string_value=v)


def _py(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind)


def test_every_action(otterd, tmp_path):
    out = tmp_path / "rp" / "out"
    cfg = make_config(out)
    cfg["processors"]["resource"] = {"attributes": ACTIONS}
    cfg["exporters"]["file/raw"] = {"path": str(out / "raw.jsonl")}
    pipes = cfg["service"]["pipelines"]
    pipes["traces"]["processors"] = ["resource", "batch"]
    pipes["traces/raw"] = {"receivers": ["otlp"], "processors": ["batch"],
                           "exporters": ["file/raw"]}
    agent = otterd(config=cfg, name="rp")
    original = {
        "service.name": "checkout", "team": "payments", "user.email": "a@example.com",
        "int.to.hash": 7, "secret.token": "s1", "secret.key": "s2", "not.secret.x": "kept",
        "k8s.pod.uid": "uid-1", "http.url": "https://shop.example.com:8443/api/v1/cart",
        "port.text": "8443", "count": 12, "bad.number": "twelve",
    }
    req, _ = rc.small_request("traces", "rp")
    res = req.resource_spans[0].resource
    del res.attributes[:]
    for k, v in original.items():
        res.attributes.add(key=k, value=_any(v))
    st, _, body = rc.post(agent.http_port, "traces", req.SerializeToString())
    assert st == 200, body
    agent.stop()

    def resource(path_reqs):
        rss = [rs for r in path_reqs for rs in r.resource_spans]
        assert len(rss) == 1
        return {kv.key: _py(kv.value) for kv in rss[0].resource.attributes}

    got = resource(agent.read("traces"))
    want = {
        "service.name": "checkout",
        "team": "otters",
        "user.email": hashlib.sha256(b"a@example.com").hexdigest(),
        "int.to.hash": hashlib.sha256(struct.pack("<q", 7)).hexdigest(),
        "not.secret.x": "kept",
        "http.url": "https://shop.example.com:8443/api/v1/cart",
        "port.text": 8443,
        "count": "12",
        "bad.number": "twelve",
        "deployment.environment": "prod",
        "replicas": 3,
        "ratio": 0.25,
        "canary": True,
        "quoted": "42",
        "copy.of.name": "checkout",
        "scheme": "https",
        "host": "shop.example.com",
        "path": "/api/v1/cart",
    }
    assert got == want
    # The same request through the pipeline without the processor: untouched.
    raw = otlp_util.read_jsonl(out / "raw.jsonl", "traces")
    assert resource(raw) == original


def test_attributes_processor_on_every_signal(otterd, tmp_path):
    """The same actions on the items' own attributes (spans, log records, data points); a second
    pipeline fed by the same receiver sees the items unchanged."""
    out = tmp_path / "ap" / "out"
    cfg = make_config(out)
    cfg["processors"]["attributes"] = {"actions": [
        {"key": "env", "value": "prod", "action": "upsert"},
        {"key": "secret", "action": "delete"},
        {"key": "user", "action": "hash"},
        {"key": "tag", "action": "update", "value": "seen"},
    ]}
    pipes = cfg["service"]["pipelines"]
    for sig in otlp_util.SIGNALS:
        cfg["exporters"]["file/raw-" + sig] = {"path": str(out / ("raw-%s.jsonl" % sig))}
        pipes[sig]["processors"] = ["attributes", "batch"]
        pipes[sig + "/raw"] = {"receivers": ["otlp"], "processors": ["batch"],
                               "exporters": ["file/raw-" + sig]}
    agent = otterd(config=cfg, name="ap")
    for sig in otlp_util.SIGNALS:
        req, _ = rc.small_request(sig, "t", n=2)
        # Every item gets secret and user attributes too.
        containers = {"traces": lambda r: [s for rs in r.resource_spans for ss in rs.scope_spans
                                           for s in ss.spans],
                      "logs": lambda r: [lr for rl in r.resource_logs for sl in rl.scope_logs
                                         for lr in sl.log_records],
                      "metrics": lambda r: [p for rm in r.resource_metrics
                                            for sm in rm.scope_metrics for m in sm.metrics
                                            for p in m.gauge.data_points]}
        for item in containers[sig](req):
            item.attributes.add(key="secret").value.string_value = "s3cr3t"
            item.attributes.add(key="user").value.string_value = "ann"
        st, _, body = rc.post(agent.http_port, sig, req.SerializeToString())
        assert st == 200, (sig, body)
    agent.stop()
    want = {"tag": "seen", "user": hashlib.sha256(b"ann").hexdigest(), "env": "prod"}
    raw = {"tag": "t", "secret": "s3cr3t", "user": "ann"}
    for sig in otlp_util.SIGNALS:
        got = [{kv.key: _py(kv.value) for kv in it.item.attributes}
               for it in otlp_util.items(sig, agent.read(sig))]
        assert got == [want, want], (sig, got)
        untouched = [{kv.key: _py(kv.value) for kv in it.item.attributes}
                     for it in otlp_util.items(sig, otlp_util.read_jsonl(
                         out / ("raw-%s.jsonl" % sig), sig))]
        assert untouched == [raw, raw], (sig, untouched)
