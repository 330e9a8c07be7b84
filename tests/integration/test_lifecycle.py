# SPDX-License-Identifier: Apache-2.0
"""otterd's lifecycle and pipeline behaviour seen from outside: draining on SIGTERM loses
nothing, the memory limit refuses with retryable answers, resource detection, file rotation, the
debug exporter, JSON logs, the health_check extension and the self-telemetry counts."""

import gzip
import json
import os
import signal
import subprocess
import time

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

import otlp_util
from conftest import http_request, make_config, to_yaml

TRACE_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def traces_request(n, name_prefix="span", attrs=None, payload=0):
    """An ExportTraceServiceRequest with |n| spans named <prefix>-<i>; |payload| bytes of padding
    in one attribute per span make requests as large as a test needs."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for k, v in (attrs or {}).items():
        rs.resource.attributes.add(key=k, value=common_pb2.AnyValue(string_value=v))
    ss = rs.scope_spans.add()
    ss.scope.name = "lifecycle"
    for i in range(n):
        sp = ss.spans.add()
        sp.trace_id = bytes([1 + i % 250]) * 16
        sp.span_id = (i + 1).to_bytes(8, "big")
        sp.name = "%s-%d" % (name_prefix, i)
        sp.kind = trace_pb2.Span.SPAN_KIND_SERVER
        sp.start_time_unix_nano = 1_700_000_000_000_000_000 + i
        sp.end_time_unix_nano = 1_700_000_000_000_000_000 + i + 1000
        if payload:
            sp.attributes.add(key="pad", value=common_pb2.AnyValue(string_value="x" * payload))
    return req


def post(agent, req, path="/v1/traces"):
    return http_request(agent.http_port, "POST", path, body=req.SerializeToString(),
                        headers={"Content-Type": "application/x-protobuf"})


def span_names(agent):
    return sorted(s.name for r in agent.read("traces") for rs in r.resource_spans
                  for ss in rs.scope_spans for s in ss.spans)


def test_sigterm_drains_a_held_batch_without_loss(otterd):
    # A batch that would wait an hour: only the drain can have written it.
    agent = otterd(batch="1h")
    st, _, _ = post(agent, traces_request(7, "held"))
    assert st == 200
    assert agent.read("traces") == []
    agent.stop()
    assert span_names(agent) == sorted("held-%d" % i for i in range(7))


def test_health_ready_and_counters(otterd):
    agent = otterd()
    st, _, body = http_request(agent.health_port, "GET", "/")
    assert st == 200 and json.loads(body)["status"] == "Server available"
    assert http_request(agent.admin_port, "GET", "/healthz")[0] == 200
    assert http_request(agent.admin_port, "GET", "/readyz")[0] == 200
    for _ in range(3):
        assert post(agent, traces_request(4))[0] == 200
    assert post(agent, traces_request(0))[0] == 200          # empty: success, nothing counted
    st, _, _ = http_request(agent.http_port, "POST", "/v1/traces", body=b"\x0a\xff",
                            headers={"Content-Type": "application/x-protobuf"})
    assert st == 400
    agent.wait_for_items("traces", 12)
    assert agent.metric_sum("otter_receiver_items_total", transport="http", signal="traces",
                            outcome="accepted") == 12
    assert agent.metric_sum("otter_receiver_requests_total", transport="http", signal="traces",
                            outcome="invalid") == 1
    assert agent.metric_sum("otter_exporter_sent_total", exporter="file/traces",
                            signal="traces") == 12
    text = http_request(agent.admin_port, "GET", "/metrics")[2].decode()
    assert "# TYPE otter_receiver_items_total counter" in text
    assert 'otter_build_info{version="' in text


def _limited_config(out):
    cfg = make_config(out)
    cfg["processors"]["memory_limiter"] = {"check_interval": "100ms", "limit_mib": 1}
    for p in cfg["service"]["pipelines"].values():
        p["processors"] = ["memory_limiter", "batch"]
    return cfg


def test_memory_limit_refuses_with_retryable_answers(otterd, tmp_path):
    # Every process is over 1 MiB resident: everything is refused, nothing is accepted.
    agent = otterd(config=_limited_config(tmp_path / "limited" / "out"), name="limited")
    st, headers, body = post(agent, traces_request(3))
    assert st == 503
    assert headers.get("retry-after") == "1"
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as _  # noqa: F401
    from google.rpc import status_pb2  # shipped with googleapis-common-protos, an SDK dependency
    status = status_pb2.Status.FromString(body)
    assert "memory" in status.message

    channel = grpc.insecure_channel(agent.grpc_endpoint)
    export = channel.unary_unary(TRACE_PATH,
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=lambda b: b)
    try:
        export(traces_request(2), timeout=5)
        raise AssertionError("the limited agent accepted a gRPC export")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAVAILABLE
        details = dict(e.trailing_metadata() or ())
        raw = details.get("grpc-status-details-bin")
        assert raw, "UNAVAILABLE without grpc-status-details-bin"
        st_msg = status_pb2.Status.FromString(raw)
        assert st_msg.code == 14
        assert any(d.type_url.endswith("google.rpc.RetryInfo") for d in st_msg.details)
    finally:
        channel.close()
    assert agent.metric_sum("otter_receiver_items_total", outcome="refused") == 5
    assert agent.metric_sum("otter_receiver_items_total", outcome="accepted") == 0
    agent.stop()
    assert agent.read("traces") == []


def test_resource_detection_env(otterd, tmp_path):
    out = tmp_path / "rd" / "out"
    cfg = make_config(out)
    cfg["processors"]["resource_detection"] = {"detectors": ["env"]}
    cfg["service"]["pipelines"]["traces"]["processors"] = ["resource_detection", "batch"]
    agent = otterd(config=cfg, name="rd",
                   env={"OTEL_RESOURCE_ATTRIBUTES": "team=otters, region=eu%2Cwest%20"})
    assert post(agent, traces_request(2, attrs={"team": "sdk", "service.name": "svc"}))[0] == 200
    agent.stop()
    reqs = agent.read("traces")
    attrs = {kv.key: kv.value.string_value for r in reqs for rs in r.resource_spans
             for kv in rs.resource.attributes}
    # Values are percent-decoded (keys are not, as in the collector); override is on by
    # default, so the detected value replaces the SDK's.
    assert attrs == {"team": "otters", "region": "eu,west ", "service.name": "svc"}


def test_file_rotation(otterd, tmp_path):
    out = tmp_path / "rot" / "out"
    cfg = make_config(out, batch=None)
    cfg["exporters"]["file/traces"]["rotation"] = {"max_megabytes": 1, "max_backups": 2}
    agent = otterd(config=cfg, name="rot")
    # 6 requests of ~400 KB each: 2.4 MB through a 1 MB file -> rotations, two backups kept.
    for i in range(6):
        assert post(agent, traces_request(4, "r%d" % i, payload=100_000))[0] == 200
    agent.stop()
    files = sorted(os.listdir(out))
    backups = [f for f in files if f.startswith("traces-") and f.endswith(".jsonl")]
    assert len(backups) == 2, files
    for f in backups + ["traces.jsonl"]:
        assert (out / f).stat().st_size <= 1_100_000
        for line in (out / f).read_bytes().splitlines():
            json.loads(line)  # every line whole: never split across files
    # The newest data is in the current file.
    assert "r5-0" in (out / "traces.jsonl").read_text()


def test_debug_exporter(otterd, tmp_path):
    cfg = make_config(tmp_path / "dbg" / "out")
    cfg["exporters"]["debug"] = {"verbosity": "normal"}
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["debug"]
    agent = otterd(config=cfg, name="dbg")
    assert post(agent, traces_request(2, "dbg"))[0] == 200
    agent.stop()
    err = agent.stderr()
    assert "span dbg-0 trace_id=01010101010101010101010101010101 span_id=0000000000000001" in err
    assert "span dbg-1 " in err


def test_json_logs(otterd, tmp_path):
    cfg = make_config(tmp_path / "jl" / "out", admin=False, health_check=False)
    cfg["service"]["telemetry"]["logs"]["encoding"] = "json"
    cfg["exporters"]["debug/unused"] = {}  # a config warning, which must be JSON too
    agent = otterd(config=cfg, name="jl", expect=[], ready=False)
    deadline = time.monotonic() + 10
    while "running with" not in agent.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    agent.stop()
    lines = [l for l in agent.stderr().splitlines() if l.strip()]
    objs = [json.loads(l) for l in lines]  # every line is one JSON object
    assert all({"time", "level", "component", "msg"} <= set(o) for o in objs)
    msgs = [o["msg"] for o in objs]
    assert any(m.startswith("listening: otlp grpc 127.0.0.1:") for m in msgs), msgs
    assert "received SIGTERM: draining" in msgs
    assert any("debug/unused" in m and o["level"] == "warn" for m, o in zip(msgs, objs)), msgs


def test_draining_agent_refuses_new_requests(otterd):
    agent = otterd(batch="1h")
    conn_req = traces_request(1, "before")
    assert post(agent, conn_req)[0] == 200
    agent.proc.send_signal(signal.SIGTERM)
    # The HTTP listener is closed at once; the agent exits 0 with what it had accepted.
    deadline = time.monotonic() + 10
    while agent.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    agent.stop()
    assert span_names(agent) == ["before-0"]


def test_gzip_request_and_json_response(otterd):
    agent = otterd()
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "0123456789ABCDEF0123456789abcdef", "spanId": "0011223344556677",
        "name": "gz", "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": 5, "endTimeUnixNano": "6"}]}]}]}).encode()
    st, headers, resp = http_request(agent.http_port, "POST", "/v1/traces",
                                     body=gzip.compress(body),
                                     headers={"Content-Type": "application/json",
                                              "Content-Encoding": "gzip"})
    assert st == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(resp) == {}
    agent.stop()
    [req] = agent.read("traces")
    sp = req.resource_spans[0].scope_spans[0].spans[0]
    assert sp.trace_id.hex() == "0123456789abcdef0123456789abcdef"
    assert sp.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert (sp.start_time_unix_nano, sp.end_time_unix_nano) == (5, 6)


def test_cors(otterd, tmp_path):
    cfg = make_config(tmp_path / "cors" / "out",
                      http_opts={"cors": {"allowed_origins": ["https://*.example.com"],
                                          "max_age": 600}})
    agent = otterd(config=cfg, name="cors")
    st, h, _ = http_request(agent.http_port, "OPTIONS", "/v1/traces",
                            headers={"Origin": "https://app.example.com",
                                     "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "content-type"})
    assert st == 204
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-methods"] == "POST"
    assert h["access-control-max-age"] == "600"
    assert "content-type" in h["access-control-allow-headers"].lower()
    # A browser POST from an allowed origin gets the header; another origin does not.
    body = traces_request(1).SerializeToString()
    st, h, _ = http_request(agent.http_port, "POST", "/v1/traces", body=body,
                            headers={"Content-Type": "application/x-protobuf",
                                     "Origin": "https://app.example.com"})
    assert st == 200 and h["access-control-allow-origin"] == "https://app.example.com"
    st, h, _ = http_request(agent.http_port, "POST", "/v1/traces", body=body,
                            headers={"Content-Type": "application/x-protobuf",
                                     "Origin": "https://evil.example.org"})
    assert st == 200 and "access-control-allow-origin" not in h
    st, h, _ = http_request(agent.http_port, "OPTIONS", "/v1/traces",
                            headers={"Origin": "https://evil.example.org",
                                     "Access-Control-Request-Method": "POST"})
    assert st == 405 and "access-control-allow-origin" not in h


def test_file_truncates_unless_append(otterd, tmp_path):
    out = tmp_path / "app" / "out"
    for run, append, expect in ((1, False, ["a-0"]), (2, False, ["b-0"]),
                                (3, True, ["b-0", "c-0"])):
        cfg = make_config(out)
        if append:
            cfg["exporters"]["file/traces"]["append"] = True
        agent = otterd(config=cfg, name="app%d" % run)
        assert post(agent, traces_request(1, "abc"[run - 1]))[0] == 200
        agent.stop()
        reqs = otlp_util.read_jsonl(out / "traces.jsonl", "traces")
        names = sorted(s.name for r in reqs for rs in r.resource_spans for ss in rs.scope_spans
                       for s in ss.spans)
        assert names == expect, "run %d" % run


def test_two_pipelines_share_a_receiver_without_sharing_changes(otterd, tmp_path):
    """One request feeds two traces pipelines: each gets every span; resource detection in one
    pipeline must not show in the other's data (payloads are shared, never changed in place)."""
    out = tmp_path / "two" / "out"
    cfg = make_config(out)
    cfg["processors"]["resource_detection"] = {"detectors": ["env"]}
    cfg["processors"]["batch/small"] = {"send_batch_size": 2, "send_batch_max_size": 2,
                                        "timeout": "1h"}
    cfg["exporters"]["file/raw"] = {"path": str(out / "raw.jsonl")}
    cfg["exporters"]["file/enriched"] = {"path": str(out / "enriched.jsonl")}
    pipes = cfg["service"]["pipelines"]
    del pipes["traces"]
    pipes["traces/raw"] = {"receivers": ["otlp"], "processors": ["batch"],
                           "exporters": ["file/raw"]}
    pipes["traces/enriched"] = {"receivers": ["otlp"],
                                "processors": ["resource_detection", "batch/small"],
                                "exporters": ["file/enriched"]}
    del cfg["exporters"]["file/traces"]
    agent = otterd(config=cfg, name="two", env={"OTEL_RESOURCE_ATTRIBUTES": "added=yes"})
    assert post(agent, traces_request(5, "both", attrs={"service.name": "svc"}))[0] == 200
    agent.stop()

    def spans_and_attrs(name):
        reqs = otlp_util.read_jsonl(out / name, "traces")
        return reqs, sorted(s.name for r in reqs for rs in r.resource_spans
                            for ss in rs.scope_spans for s in ss.spans), [
            {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for r in reqs for rs in r.resource_spans]

    raw_reqs, raw_names, raw_attrs = spans_and_attrs("raw.jsonl")
    enr_reqs, enr_names, enr_attrs = spans_and_attrs("enriched.jsonl")
    expected = sorted("both-%d" % i for i in range(5))
    assert raw_names == expected and enr_names == expected
    assert all(a == {"service.name": "svc"} for a in raw_attrs), raw_attrs
    assert all(a == {"service.name": "svc", "added": "yes"} for a in enr_attrs), enr_attrs
    # send_batch_max_size 2: 5 spans leave the enriched pipeline as batches of 2, 2 and 1.
    sizes = sorted(sum(len(ss.spans) for rs in r.resource_spans for ss in rs.scope_spans)
                   for r in enr_reqs)
    assert sizes == [1, 2, 2]


def test_short_shutdown_timeout_still_drains(otterd, tmp_path):
    """With shutdown_timeout 200ms the grace before flushing shrinks to 100 ms: the held batch is
    still written and otterd exits 0 well inside the timeout."""
    out = tmp_path / "sto" / "out"
    cfg = make_config(out, batch="1h", extra_service={"shutdown_timeout": "200ms"})
    agent = otterd(config=cfg, name="sto")
    assert post(agent, traces_request(3, "sto"))[0] == 200
    t0 = time.monotonic()
    agent.stop()
    assert time.monotonic() - t0 < 1.0
    reqs = otlp_util.read_jsonl(out / "traces.jsonl", "traces")
    assert sorted(s.name for r in reqs for rs in r.resource_spans for ss in rs.scope_spans
                  for s in ss.spans) == ["sto-0", "sto-1", "sto-2"]


def test_sigterm_right_after_listening_drains(otterd_bin, tmp_path):
    """SIGTERM sent the moment the first "listening:" line is out is a drain and exit 0, never
    the signal's default action: the signals are watched before any receiver listens."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(to_yaml(make_config(tmp_path / "out")) + "\n")
    (tmp_path / "out").mkdir()
    for _ in range(8):
        p = subprocess.Popen([str(otterd_bin), "--config", str(cfg)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in p.stderr:
            lines.append(line)
            if "listening:" in line:
                p.send_signal(signal.SIGTERM)
                break
        lines += p.stderr.read().splitlines(keepends=True)
        assert p.wait(30) == 0, "".join(lines)
        assert any("received SIGTERM: draining" in line for line in lines), "".join(lines)
