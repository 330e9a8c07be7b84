# SPDX-License-Identifier: Apache-2.0
"""Hand-built requests that set every OTLP field, sent over HTTP/protobuf, HTTP/JSON and gRPC.

The SDKs never produce some shapes (summaries, negative exponential buckets, NaN and
infinities, empty attribute values, dropped counts, histogram sums that are present but 0),
so these requests are built with the protobuf classes and must come out of the file exporter
unchanged. Also: the JSON spellings a receiver must accept (snake_case keys, enum names,
integers as numbers, uppercase hex ids), and many concurrent clients.
"""

import json
import threading

import grpc
import pytest

import otlp_util
import raw_clients as rc
from otlp_util import GRPC_METHOD, assert_same_items

from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2

T0 = 1_700_000_000_000_000_000


def _set_any(av, v):
    if v is None:
        return
    if isinstance(v, bool):
        av.bool_value = v
    elif isinstance(v, int):
        av.int_value = v
    elif isinstance(v, float):
        av.double_value = v
    elif isinstance(v, str):
        av.string_value = v
    elif isinstance(v, bytes):
        av.bytes_value = v
    elif isinstance(v, list):
        av.array_value.SetInParent()
        for x in v:
            _set_any(av.array_value.values.add(), x)
    elif isinstance(v, dict):
        av.kvlist_value.SetInParent()
        for k, x in v.items():
            kv = av.kvlist_value.values.add(key=k)
            if x is not None:
                _set_any(kv.value, x)


def attrs(repeated, d):
    for k, v in d.items():
        kv = repeated.add(key=k)
        if v is not None:
            _set_any(kv.value, v)


EVERY_TYPE = {
    "s": "string \u00e9 \U0001F600 \"quoted\" \\ / \n\t\u0001",
    "s.empty": "",
    "b.t": True,
    "b.f": False,
    "i": 42,
    "i.neg": -42,
    "i.max": 2**63 - 1,
    "i.min": -(2**63),
    "i.zero": 0,
    "d": 3.141592653589793,
    "d.tiny": 5e-324,
    "d.huge": 1.7976931348623157e308,
    "d.zero": 0.0,
    "d.nan": float("nan"),
    "d.inf": float("inf"),
    "d.ninf": float("-inf"),
    "bytes": b"\x00\x01\x02\xfd\xfe\xff",
    "bytes.empty": b"",
    "arr": ["a", 1, 2.5, True, b"\x01", None, [1, [2]], {"k": "v"}],
    "arr.empty": [],
    "kv": {"a": 1, "b": {"c": [True, {"d": None}]}, "e": b"\x09"},
    "kv.empty": {},
    "empty.value": None,
}


def full_traces(tag):
    req = otlp_util.REQUEST["traces"]()
    rs = req.resource_spans.add(schema_url="https://example.com/schema/r")
    attrs(rs.resource.attributes, dict(EVERY_TYPE, tag=tag))
    rs.resource.dropped_attributes_count = 3
    ss = rs.scope_spans.add(schema_url="https://example.com/schema/s")
    ss.scope.name = "scope \u00e9"
    ss.scope.version = "v1"
    attrs(ss.scope.attributes, {"scope.k": "v", "scope.kv": {"x": 1}})
    ss.scope.dropped_attributes_count = 1
    for kind in range(6):
        sp = ss.spans.add()
        sp.trace_id = rc.new_trace_id()
        sp.span_id = rc.new_span_id()
        if kind:
            sp.parent_span_id = rc.new_span_id()
        sp.trace_state = "a=b,c=d" if kind % 2 else ""
        sp.flags = [0, 1, 0x101, 0x301, 0xFF, 0x3FF][kind]
        sp.name = "span-%d" % kind
        sp.kind = kind
        sp.start_time_unix_nano = T0 + kind
        sp.end_time_unix_nano = T0 + 10**9 + kind if kind != 5 else 2**64 - 1
        attrs(sp.attributes, EVERY_TYPE if kind == 0 else {"k": kind})
        sp.dropped_attributes_count = kind
        ev = sp.events.add(time_unix_nano=T0 + 5, name="ev")
        attrs(ev.attributes, {"e": [1, 2], "kv": {"z": b"\x00"}})
        ev.dropped_attributes_count = 2
        sp.events.add(name="", time_unix_nano=0)
        sp.dropped_events_count = 4
        ln = sp.links.add(trace_id=rc.new_trace_id(), span_id=rc.new_span_id(),
                          trace_state="x=y", flags=0x301)
        attrs(ln.attributes, {"l": 1.5, "lb": b"\xff"})
        ln.dropped_attributes_count = 1
        sp.links.add(trace_id=rc.new_trace_id(), span_id=rc.new_span_id())
        sp.dropped_links_count = 6
        sp.status.code = kind % 3
        sp.status.message = "" if kind % 3 != 2 else "error \u2603"
    # A second resource with no attributes, and a scope with no name.
    rs2 = req.resource_spans.add()
    ss2 = rs2.scope_spans.add()
    ss2.spans.add(trace_id=rc.new_trace_id(), span_id=rc.new_span_id(), name="bare")
    return req


def _exemplars(point, n):
    for i in range(n):
        ex = point.exemplars.add(time_unix_nano=T0 + i, span_id=rc.new_span_id(),
                                 trace_id=rc.new_trace_id())
        if i % 2:
            ex.as_int = -i
        else:
            ex.as_double = i + 0.5
        attrs(ex.filtered_attributes, {"f": i, "fb": b"\x01"})
    point.exemplars.add(as_double=1.0)  # no ids, no time


def full_metrics(tag):
    req = otlp_util.REQUEST["metrics"]()
    rm = req.resource_metrics.add(schema_url="https://example.com/schema/r")
    attrs(rm.resource.attributes, dict(EVERY_TYPE, tag=tag))
    sm = rm.scope_metrics.add(schema_url="https://example.com/schema/s")
    sm.scope.name = "meter"
    sm.scope.version = "2"
    attrs(sm.scope.attributes, {"m": True})

    m = sm.metrics.add(name="gauge.%s" % tag, description="a gauge \u00e9", unit="Cel")
    attrs(m.metadata, {"meta": "data", "meta.kv": {"a": [1]}})
    for i, v in enumerate([1, -1, 2**63 - 1, -(2**63)]):
        p = m.gauge.data_points.add(time_unix_nano=T0 + i, start_time_unix_nano=T0, as_int=v)
        attrs(p.attributes, {"i": i, "all": EVERY_TYPE["kv"]})
    for i, v in enumerate([0.5, float("nan"), float("inf"), float("-inf"), 0.0, 1e-300]):
        p = m.gauge.data_points.add(time_unix_nano=T0 + 10 + i, as_double=v)
        attrs(p.attributes, {"d": i})
    p = m.gauge.data_points.add(time_unix_nano=T0 + 20, flags=1)  # NO_RECORDED_VALUE
    _exemplars(m.gauge.data_points[0], 3)

    m = sm.metrics.add(name="sum.delta.%s" % tag, unit="{req}")
    m.sum.aggregation_temporality = 1
    m.sum.is_monotonic = True
    p = m.sum.data_points.add(start_time_unix_nano=T0, time_unix_nano=T0 + 1, as_int=7)
    _exemplars(p, 2)

    m = sm.metrics.add(name="sum.cumulative.%s" % tag)
    m.sum.aggregation_temporality = 2
    m.sum.is_monotonic = False
    m.sum.data_points.add(start_time_unix_nano=T0, time_unix_nano=T0 + 2, as_double=-2.5)

    m = sm.metrics.add(name="sum.unspecified.%s" % tag)
    m.sum.data_points.add(time_unix_nano=T0, as_int=0)

    m = sm.metrics.add(name="histogram.%s" % tag, unit="ms")
    m.histogram.aggregation_temporality = 2
    p = m.histogram.data_points.add(start_time_unix_nano=T0, time_unix_nano=T0 + 3, count=10,
                                    sum=123.5, min=0.5, max=99.0,
                                    bucket_counts=[1, 2, 3, 4], explicit_bounds=[1, 10, 100])
    attrs(p.attributes, {"h": "1"})
    _exemplars(p, 2)
    # Presence matters: sum absent (no min/max) vs a real 0.
    m.histogram.data_points.add(time_unix_nano=T0 + 4, count=0, bucket_counts=[0],
                                explicit_bounds=[])
    m.histogram.data_points.add(time_unix_nano=T0 + 5, count=1, sum=0.0, min=0.0, max=0.0,
                                bucket_counts=[1])
    m.histogram.data_points.add(time_unix_nano=T0 + 6, count=2**64 - 1, flags=1)

    m = sm.metrics.add(name="exphist.%s" % tag, unit="s")
    m.exponential_histogram.aggregation_temporality = 1
    p = m.exponential_histogram.data_points.add(
        start_time_unix_nano=T0, time_unix_nano=T0 + 7, count=21, sum=-3.5, scale=-3,
        zero_count=2, zero_threshold=1e-9, min=-10.0, max=8.0, flags=0)
    p.positive.offset = -5
    p.positive.bucket_counts.extend([1, 0, 3, 2**40])
    p.negative.offset = 2
    p.negative.bucket_counts.extend([4, 5])
    attrs(p.attributes, {"e": 1})
    _exemplars(p, 1)
    p = m.exponential_histogram.data_points.add(time_unix_nano=T0 + 8, count=0, scale=20)
    p.positive.SetInParent()

    m = sm.metrics.add(name="summary.%s" % tag, description="quantiles")
    p = m.summary.data_points.add(start_time_unix_nano=T0, time_unix_nano=T0 + 9, count=100,
                                  sum=5050.0)
    for q, v in [(0.0, 1.0), (0.5, 50.0), (0.99, 99.0), (1.0, 100.0)]:
        p.quantile_values.add(quantile=q, value=v)
    attrs(p.attributes, {"s": "q"})
    m.summary.data_points.add(time_unix_nano=T0 + 10, flags=1)

    sm.metrics.add(name="no.data.%s" % tag, description="a metric with no data field")
    return req


def full_logs(tag):
    req = otlp_util.REQUEST["logs"]()
    rl = req.resource_logs.add(schema_url="https://example.com/schema/r")
    attrs(rl.resource.attributes, dict(EVERY_TYPE, tag=tag))
    sl = rl.scope_logs.add(schema_url="https://example.com/schema/s")
    sl.scope.name = "logger"
    bodies = [v for v in EVERY_TYPE.values()] + [{"deep": {"er": [{"est": [[["x"]]]}]}}]
    for i, body in enumerate(bodies):
        lr = sl.log_records.add(time_unix_nano=T0 + i, observed_time_unix_nano=T0 + 100 + i,
                                severity_number=(i % 25), severity_text=["", "INFO", "Warn"][i % 3])
        if body is not None:
            _set_any(lr.body, body)
        attrs(lr.attributes, {"seq": i} if i else dict(EVERY_TYPE, seq=i))
        lr.dropped_attributes_count = i % 4
        lr.flags = [0, 1, 0xFF][i % 3]
        if i % 2:
            lr.trace_id = rc.new_trace_id()
            lr.span_id = rc.new_span_id()
        if i % 5 == 0:
            lr.event_name = "event.%d" % i
    sl.log_records.add()  # all defaults
    return req


FULL = {"traces": full_traces, "metrics": full_metrics, "logs": full_logs}


@pytest.mark.parametrize("signal", otlp_util.SIGNALS)
@pytest.mark.parametrize("transport", ["http-protobuf", "http-json", "grpc", "http-protobuf-gzip",
                                       "grpc-gzip"])
def test_every_field_roundtrip(otterd, transport, signal):
    agent = otterd()
    req = FULL[signal](transport)
    if transport.startswith("http"):
        if transport == "http-json":
            body, ct, hdrs = json.dumps(otlp_util.to_json(req)).encode(), "application/json", {}
        else:
            body, ct, hdrs = req.SerializeToString(), "application/x-protobuf", {}
        if transport.endswith("gzip"):
            body, hdrs = rc.gzip_bytes(body), {"Content-Encoding": "gzip"}
        st, rh, resp = rc.post(agent.http_port, signal, body, content_type=ct, headers=hdrs)
        assert st == 200, (st, resp[:500])
        assert rh.get("content-type", "").split(";")[0] == ct
        r = (otlp_util.RESPONSE[signal]() if ct == "application/json"
             else otlp_util.RESPONSE[signal].FromString(resp))
        if ct == "application/json":
            assert isinstance(json.loads(resp), dict)
        assert not r.HasField("partial_success"), r
    else:
        comp = grpc.Compression.Gzip if transport.endswith("gzip") else None
        code, details, resp = rc.grpc_call(agent.grpc_endpoint, GRPC_METHOD[signal],
                                           req.SerializeToString(), compression=comp)
        assert code == grpc.StatusCode.OK, details
        assert not otlp_util.RESPONSE[signal].FromString(resp).HasField("partial_success")
    agent.stop()
    assert_same_items(signal, [req], agent.read(signal))


def _to_variant(req, variant):
    """OTLP/JSON in spellings receivers must accept besides the canonical one."""
    from google.protobuf import json_format

    if variant == "snake_case":
        d = json_format.MessageToDict(req, use_integers_for_enums=True,
                                      preserving_proto_field_name=True)
        for k in ("trace_id", "span_id", "parent_span_id"):
            d = _rename_hex(d, k)
        return d
    d = otlp_util.to_json(req)
    if variant == "enum_names":
        return _hexify(json_format.MessageToDict(req, use_integers_for_enums=False))
    if variant == "ints_as_numbers":
        return _ints_to_numbers(d)
    if variant == "uppercase_hex":
        return _upper_ids(d)
    raise ValueError(variant)


def _hexify(d):
    return otlp_util._ids_b64_to_hex(d)


def _rename_hex(obj, key):
    import base64

    if isinstance(obj, list):
        return [_rename_hex(v, key) for v in obj]
    if isinstance(obj, dict):
        return {k: (base64.b64decode(v).hex() if k == key and isinstance(v, str)
                    else _rename_hex(v, key)) for k, v in obj.items()}
    return obj


INT_KEYS = {"timeUnixNano", "startTimeUnixNano", "endTimeUnixNano", "observedTimeUnixNano",
            "intValue", "asInt", "count", "zeroCount", "bucketCounts"}


def _ints_to_numbers(obj, key=None):
    if isinstance(obj, list):
        return [_ints_to_numbers(v, key) for v in obj]
    if isinstance(obj, dict):
        return {k: _ints_to_numbers(v, k) for k, v in obj.items()}
    if key in INT_KEYS and isinstance(obj, str) and int(obj) < 2**63:
        return int(obj)  # values past int64 stay strings here: see the test below
    return obj


def _upper_ids(obj):
    if isinstance(obj, list):
        return [_upper_ids(v) for v in obj]
    if isinstance(obj, dict):
        return {k: (v.upper() if k in otlp_util.HEX_ID_KEYS and isinstance(v, str) else
                    _upper_ids(v)) for k, v in obj.items()}
    return obj


@pytest.mark.parametrize("variant", ["snake_case", "enum_names", "ints_as_numbers",
                                     "uppercase_hex"])
@pytest.mark.parametrize("signal", otlp_util.SIGNALS)
def test_json_spellings_are_accepted(otterd, signal, variant):
    agent = otterd()
    req = FULL[signal](variant)
    body = json.dumps(_to_variant(req, variant)).encode()
    st, _, resp = rc.post(agent.http_port, signal, body, content_type="application/json")
    assert st == 200, (st, resp[:500])
    agent.stop()
    assert_same_items(signal, [req], agent.read(signal))


def test_json_uint64_past_int64_max_as_number(otterd):
    """fixed64/uint64 fields may arrive as JSON numbers up to 2^64-1 (proto3 JSON mapping)."""
    agent = otterd()
    req, ids = rc.small_request("traces", "u64")
    req.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano = 2**64 - 1
    mreq = otlp_util.REQUEST["metrics"]()
    p = mreq.resource_metrics.add().scope_metrics.add().metrics.add(name="u64").histogram
    p.aggregation_temporality = 2
    p.data_points.add(time_unix_nano=2**63, count=2**64 - 1, bucket_counts=[2**64 - 1])
    for sig, r in (("traces", req), ("metrics", mreq)):
        body = json.dumps(_ints_to_numbers_all(otlp_util.to_json(r))).encode()
        assert b"18446744073709551615" in body and b'"18446744073709551615"' not in body
        st, _, resp = rc.post(agent.http_port, sig, body, content_type="application/json")
        assert st == 200, (sig, st, resp[:300])
    agent.stop()
    assert_same_items("traces", [req], agent.read("traces"))
    assert_same_items("metrics", [mreq], agent.read("metrics"))


def _ints_to_numbers_all(obj, key=None):
    if isinstance(obj, list):
        return [_ints_to_numbers_all(v, key) for v in obj]
    if isinstance(obj, dict):
        return {k: _ints_to_numbers_all(v, k) for k, v in obj.items()}
    if key in INT_KEYS and isinstance(obj, str):
        return int(obj)
    return obj


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_nested_log_body_20_levels_is_accepted(otterd, encoding):
    """Structured logs nest maps: 20 levels of kvlist in a body is about 64 protobuf message
    levels (the collector has no such limit; Python's protobuf reader stops at 100)."""
    agent = otterd()
    body = "leaf"
    for i in range(20):
        body = {"level%d" % i: body, "n": i}
    req = otlp_util.REQUEST["logs"]()
    lr = req.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=T0)
    _set_any(lr.body, body)
    attrs(lr.attributes, {"nested": body})
    if encoding == "json":
        data, ct = json.dumps(otlp_util.to_json(req)).encode(), "application/json"
    else:
        data, ct = req.SerializeToString(), "application/x-protobuf"
    st, _, resp = rc.post(agent.http_port, "logs", data, content_type=ct)
    assert st == 200, (st, resp[:300])
    agent.stop()
    assert_same_items("logs", [req], agent.read("logs"))


def test_concurrent_clients_lose_nothing(otterd):
    """4 HTTP and 4 gRPC clients, 25 requests of 40 spans each: every span exactly once."""
    agent = otterd()
    sent = []
    errors = []
    lock = threading.Lock()

    def http_worker(i):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", agent.http_port, timeout=30)
        for j in range(25):
            req, _ = rc.small_request("traces", "h%d-%d" % (i, j), n=40)
            if j % 2:
                body, ct = json.dumps(otlp_util.to_json(req)).encode(), "application/json"
            else:
                body, ct = req.SerializeToString(), "application/x-protobuf"
            try:
                conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": ct})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except Exception as e:  # noqa: BLE001
                ok = False
                r = e
            with lock:
                (sent.append(req) if ok else errors.append(("http", i, j, r)))
        conn.close()

    def grpc_worker(i):
        ch = grpc.insecure_channel(agent.grpc_endpoint)
        for j in range(25):
            req, _ = rc.small_request("traces", "g%d-%d" % (i, j), n=40)
            code, details, _ = rc.grpc_call(None, GRPC_METHOD["traces"], req.SerializeToString(),
                                            channel=ch)
            with lock:
                (sent.append(req) if code == grpc.StatusCode.OK
                 else errors.append(("grpc", i, j, code, details)))
        ch.close()

    threads = ([threading.Thread(target=http_worker, args=(i,)) for i in range(4)] +
               [threading.Thread(target=grpc_worker, args=(i,)) for i in range(4)])
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:5]
    assert len(sent) == 200
    agent.stop()
    assert_same_items("traces", sent, agent.read("traces"))
