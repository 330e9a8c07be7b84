# SPDX-License-Identifier: Apache-2.0
"""OTLP helpers for the integration tests.

The file exporter writes one OTLP/JSON Export*ServiceRequest per line, encoded the way the
collector's file exporter does it (lowerCamelCase keys, lowercase hex ids, 64-bit integers as
strings, enums as integers, default values omitted). These helpers parse such lines back into
protobuf messages (strictly: an unknown key is an error), check the encoding rules, and compare
what arrived with what a client sent, item by item (span, data point, log record) together with
the resource and scope each item came with. A batch may merge or split requests, so comparisons
never depend on how items were grouped into lines.
"""

import base64
import collections
import copy
import difflib
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

SIGNALS = ("traces", "metrics", "logs")

REQUEST = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
RESPONSE = {
    "traces": ExportTraceServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "logs": ExportLogsServiceResponse,
}
TOP_KEY = {"traces": "resourceSpans", "metrics": "resourceMetrics", "logs": "resourceLogs"}
GRPC_METHOD = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}
HTTP_PATH = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}

# Byte fields that OTLP/JSON writes as hex instead of base64 (Span, Link, LogRecord, Exemplar).
HEX_ID_KEYS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
# Receivers also accept the proto field names.
HEX_ID_KEYS_ANY = set(HEX_ID_KEYS) | {"trace_id", "span_id", "parent_span_id"}

METRIC_DATA_FIELDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


# ---- OTLP/JSON <-> protobuf -----------------------------------------------------------------


def _ids_hex_to_b64(obj, where="$"):
    """Returns a copy of |obj| with hex ids turned into base64 so json_format can read them."""
    if isinstance(obj, list):
        return [_ids_hex_to_b64(v, "%s[%d]" % (where, i)) for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k in HEX_ID_KEYS_ANY and isinstance(v, str):
            try:
                raw = bytes.fromhex(v)
            except ValueError:
                raise AssertionError("%s.%s is not hex: %r" % (where, k, v)) from None
            out[k] = base64.b64encode(raw).decode()
        else:
            out[k] = _ids_hex_to_b64(v, "%s.%s" % (where, k))
    return out


def _ids_b64_to_hex(obj):
    if isinstance(obj, list):
        return [_ids_b64_to_hex(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k in HEX_ID_KEYS and isinstance(v, str):
            out[k] = base64.b64decode(v).hex()
        else:
            out[k] = _ids_b64_to_hex(v)
    return out


def parse_json(signal, obj, strict=True):
    """Parses an OTLP/JSON request (a dict, str or bytes) into an Export*ServiceRequest.

    Accepts what OTLP/JSON allows (hex ids, 64-bit integers as strings or numbers, enums as
    integers). With strict, unknown keys raise, so a misspelt key in the agent's output is
    caught; clients' requests are read with strict=False, as a receiver must read them (the JS
    SDK, for one, sends "schemaUrl" inside "resource").
    """
    if isinstance(obj, (bytes, str)):
        obj = json.loads(obj)
    msg = REQUEST[signal]()
    json_format.ParseDict(_ids_hex_to_b64(obj), msg, ignore_unknown_fields=not strict)
    return msg


def to_json(msg):
    """The collector-style OTLP/JSON of a protobuf message, as a dict."""
    d = json_format.MessageToDict(msg, use_integers_for_enums=True,
                                  preserving_proto_field_name=False)
    return _ids_b64_to_hex(d)


def _strip_empty(obj):
    """Drops empty objects: the collector writes e.g. "status":{} where protobuf omits it."""
    if isinstance(obj, list):
        return [_strip_empty(v) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = _strip_empty(v)
            if v == {}:
                continue
            out[k] = v
        return out
    return obj


def _json_text(obj):
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)


def check_encoding(signal, line_obj, where="line"):
    """Asserts one exported line follows the collector's OTLP/JSON rules.

    The line is parsed and re-encoded canonically (lowerCamelCase keys, lowercase hex ids,
    64-bit integers as strings, enums as integers, defaults omitted); both must be equal.
    Returns the parsed message.
    """
    assert isinstance(line_obj, dict), "%s: not a JSON object" % where
    assert list(line_obj.keys()) == [TOP_KEY[signal]], (
        "%s: expected exactly one top-level key %r, got %r"
        % (where, TOP_KEY[signal], list(line_obj.keys())))
    msg = parse_json(signal, line_obj)
    _check_ids_lowercase(line_obj, where)
    want = _strip_empty(to_json(msg))
    got = _strip_empty(line_obj)
    if want != got:
        diff = "\n".join(difflib.unified_diff(
            _json_text(want).splitlines(), _json_text(got).splitlines(),
            "canonical OTLP/JSON", "written", lineterm="", n=2))
        raise AssertionError("%s: not in the collector's OTLP/JSON encoding:\n%s"
                             % (where, diff[:6000]))
    return msg


def _check_ids_lowercase(obj, where):
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_ids_lowercase(v, "%s[%d]" % (where, i))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k in HEX_ID_KEYS:
                assert isinstance(v, str) and v == v.lower(), (
                    "%s.%s must be lowercase hex, got %r" % (where, k, v))
                assert len(v) == 2 * HEX_ID_KEYS[k] or v == "", (
                    "%s.%s has the wrong length: %r" % (where, k, v))
            else:
                _check_ids_lowercase(v, "%s.%s" % (where, k))


def read_jsonl(path, signal):
    """Reads an exporter file: a list of Export*ServiceRequest, one per line (encoding checked)."""
    msgs = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return msgs
    lines = data.split(b"\n")
    assert lines[-1] == b"", "%s does not end with a newline (a torn last line?)" % path
    for n, raw in enumerate(lines[:-1], 1):
        assert raw.strip(), "%s:%d: empty line" % (path, n)
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise AssertionError("%s:%d: invalid JSON (%s): %r" % (path, n, e, raw[:300])) from None
        msgs.append(check_encoding(signal, obj, "%s:%d" % (path, n)))
    return msgs


# ---- flattening into comparable items -------------------------------------------------------


def _containers(signal, req):
    if signal == "traces":
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                yield rs, ss, ss.spans
    elif signal == "metrics":
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                yield rm, sm, sm.metrics
    else:
        for rl in req.resource_logs:
            for sl in rl.scope_logs:
                yield rl, sl, sl.log_records


def metric_points(metric):
    """(data field name, data message, repeated data points) of a Metric; (None, None, []) if none."""
    kind = metric.WhichOneof("data")
    if kind is None:
        return None, None, []
    data = getattr(metric, kind)
    return kind, data, data.data_points


class Item:
    """One span, data point or log record with its resource and scope."""

    def __init__(self, signal, res_container, scope_container, item, metric=None):
        self.signal = signal
        self.resource = res_container.resource
        self.resource_schema_url = res_container.schema_url
        self.scope = scope_container.scope
        self.scope_schema_url = scope_container.schema_url
        self.item = item  # Span, LogRecord, or a data point
        self.metric = metric  # for metrics: the Metric without its data points
        doc = {
            "resource": to_json(self.resource),
            "resourceSchemaUrl": self.resource_schema_url,
            "scope": to_json(self.scope),
            "scopeSchemaUrl": self.scope_schema_url,
            "item": to_json(item),
        }
        if metric is not None:
            doc["metric"] = to_json(metric)
        self.doc = _strip_empty(doc)
        self.canon = json.dumps(self.doc, sort_keys=True)

    @property
    def key(self):
        """A human key used to pair a missing item with an unexpected one in failure messages."""
        if self.signal == "traces":
            return "span " + self.item.span_id.hex()
        if self.signal == "metrics":
            return "metric %s %s" % (self.metric.name,
                                     json.dumps(self.doc["item"].get("attributes", [])))
        return "log %s" % json.dumps(self.doc["item"].get("attributes", []))[:200]

    def attrs(self, where="item"):
        src = {"item": self.item, "resource": self.resource, "scope": self.scope}[where]
        return attrs_to_py(src.attributes)


def items(signal, reqs):
    """Flattens requests into a list of Item."""
    out = []
    for req in reqs:
        for rc, sc, things in _containers(signal, req):
            for t in things:
                if signal == "metrics":
                    shell = copy.deepcopy(t)
                    kind, data, points = metric_points(shell)
                    if kind is None:
                        out.append(Item(signal, rc, sc, shell, metric=shell))
                        continue
                    del points[:]
                    for p in metric_points(t)[2]:
                        out.append(Item(signal, rc, sc, p, metric=shell))
                else:
                    out.append(Item(signal, rc, sc, t))
    return out


def count_items(signal, reqs):
    return len(items(signal, reqs))


def _describe_mismatch(missing, unexpected):
    lines = []
    by_key = collections.defaultdict(list)
    for it in unexpected:
        by_key[it.key].append(it)
    for it in missing[:5]:
        lines.append("MISSING %s" % it.key)
        cands = by_key.get(it.key)
        if cands:
            diff = difflib.unified_diff(
                _json_text(it.doc).splitlines(), _json_text(cands[0].doc).splitlines(),
                "sent", "arrived", lineterm="", n=2)
            lines.extend("    " + d for d in diff)
        else:
            lines.append("    " + _json_text(it.doc)[:1500].replace("\n", "\n    "))
    if len(missing) > 5:
        lines.append("... and %d more missing" % (len(missing) - 5))
    shown = 0
    missing_keys = {m.key for m in missing[:5]}
    for it in unexpected:
        if it.key in missing_keys:
            continue
        if shown == 3:
            lines.append("... and more unexpected items")
            break
        lines.append("UNEXPECTED %s\n    %s" % (it.key, _json_text(it.doc)[:1500].replace("\n", "\n    ")))
        shown += 1
    return "\n".join(lines)


def assert_same_items(signal, sent, arrived, exact=True):
    """Asserts the items of |arrived| equal those of |sent| field by field.

    |sent| and |arrived| are lists of Export*ServiceRequest. With exact=False, items that
    arrived but were not sent (other clients' traffic) are allowed.
    """
    want = items(signal, sent)
    got = items(signal, arrived)
    assert want, "nothing was sent (test bug)"
    cw = collections.Counter(i.canon for i in want)
    cg = collections.Counter(i.canon for i in got)
    missing_c = cw - cg
    unexpected_c = (cg - cw) if exact else collections.Counter()
    if not missing_c and not unexpected_c:
        return
    missing = []
    for i in want:
        if missing_c.get(i.canon, 0) > 0:
            missing.append(i)
            missing_c[i.canon] -= 1
    unexpected = []
    pool = cg - cw
    for i in got:
        if pool.get(i.canon, 0) > 0:
            unexpected.append(i)
            pool[i.canon] -= 1
    raise AssertionError("%s: %d sent, %d arrived, %d missing or different, %d unexpected\n%s"
                         % (signal, len(want), len(got), len(missing),
                            len(unexpected) if exact else 0,
                            _describe_mismatch(missing, unexpected if exact else unexpected)))


# ---- attribute helpers ----------------------------------------------------------------------


def any_to_py(v):
    """An AnyValue as a Python value (bytes stay bytes, kvlists become dicts)."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_to_py(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_to_py(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


def attrs_to_py(kvs):
    return {kv.key: any_to_py(kv.value) for kv in kvs}
