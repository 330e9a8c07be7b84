# SPDX-License-Identifier: Apache-2.0
"""Cross-check of Otter's OTLP .proto files against independent upstream copies.

Otter's schema under agent/proto was written by hand from the field tables of specs/otlp.md
section 7. This test compiles it with Debian's protoc and compares every message, field (name,
number, type, label, message/enum type name, presence, packing), enum value and collector service
method with:

1. the descriptors embedded in PyPI's opentelemetry-proto 1.45.2 (built from proto v1.10.0),
   loaded from its generated _pb2 modules;
2. optionally, the .proto files vendored in npm's dd-trace 5.132.0 (proto v1.7.0), compiled with
   the same protoc (skipped with a reason when the package cannot be downloaded).

Only the differences listed in ALLOWED_* below are accepted; each is reported when seen.
A negative self-test mutates a temporary copy of our files and checks that the comparison fails.

Run: python3 -m pytest tests/proto   (after: pip install -r tests/proto/requirements.txt)
"""

import hashlib
import importlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

descriptor_pb2 = pytest.importorskip(
    "google.protobuf.descriptor_pb2",
    reason="the protobuf Python runtime is required: pip install -r tests/proto/requirements.txt")

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "agent" / "proto"

PYPI_OTLP_VERSION = "1.45.2"
DDTRACE_SPEC = "dd-trace@5.132.0"
DDTRACE_SHA256 = "059da6978f4943333e6d1857c8fcb393dff05a1cf21f6000173f50df4eaa6cc4"
DDTRACE_PROTO_DIR = "package/packages/dd-trace/src/opentelemetry/otlp/"

# The OTLP files Otter carries, relative to agent/proto, and their _pb2 modules in PyPI's
# opentelemetry-proto. Profiles (v1development) are deliberately not carried: they are not in
# Otter's files and are not compared.
OTLP_FILES = {
    "opentelemetry/proto/common/v1/common.proto": "opentelemetry.proto.common.v1.common_pb2",
    "opentelemetry/proto/resource/v1/resource.proto":
        "opentelemetry.proto.resource.v1.resource_pb2",
    "opentelemetry/proto/trace/v1/trace.proto": "opentelemetry.proto.trace.v1.trace_pb2",
    "opentelemetry/proto/metrics/v1/metrics.proto": "opentelemetry.proto.metrics.v1.metrics_pb2",
    "opentelemetry/proto/logs/v1/logs.proto": "opentelemetry.proto.logs.v1.logs_pb2",
    "opentelemetry/proto/collector/trace/v1/trace_service.proto":
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto":
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
    "opentelemetry/proto/collector/logs/v1/logs_service.proto":
        "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
}

# The gRPC methods Otter serves: service full name -> (method, request, response).
SERVICES = {
    "opentelemetry.proto.collector.trace.v1.TraceService":
        ("Export", ".opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
         ".opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse"),
    "opentelemetry.proto.collector.metrics.v1.MetricsService":
        ("Export", ".opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
         ".opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse"),
    "opentelemetry.proto.collector.logs.v1.LogsService":
        ("Export", ".opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
         ".opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse"),
}

# Upstream fields Otter deliberately lacks, as (message full name, field name): none. Every field
# of proto v1.10.0's stable files is in Otter's schema.
DELIBERATELY_LACKING = frozenset()

# Fields Otter has that dd-trace's v1.7.0 copy predates (alpha, profiles only; spec section 8).
DDTRACE_LACKS = frozenset({
    ("opentelemetry.proto.common.v1.AnyValue", "string_value_strindex"),
    ("opentelemetry.proto.common.v1.KeyValue", "key_strindex"),
})


# ---- schema extraction --------------------------------------------------------------------------

def _presence(msg, field):
    """How a field tracks presence: ('plain',), ('optional',) for proto3 `optional`, or
    ('oneof', name) for a member of a real oneof."""
    if field.proto3_optional:
        return ("optional",)
    if field.HasField("oneof_index"):
        return ("oneof", msg.oneof_decl[field.oneof_index].name)
    return ("plain",)


def _oneof_size(msg, field):
    if not field.HasField("oneof_index"):
        return 0
    return sum(1 for f in msg.field
               if f.HasField("oneof_index") and f.oneof_index == field.oneof_index)


def _walk_messages(prefix, messages):
    for msg in messages:
        full = prefix + "." + msg.name
        yield full, msg
        yield from _walk_messages(full, msg.nested_type)


def _walk_enums(prefix, enums, messages):
    for enum in enums:
        yield prefix + "." + enum.name, enum
    for msg in messages:
        yield from _walk_enums(prefix + "." + msg.name, msg.enum_type, msg.nested_type)


def schema_of(files):
    """Flattens FileDescriptorProtos into {key: value}, one entry per message, field, enum,
    enum value and service method, keyed by full names so file layout does not matter."""
    schema = {}
    for fdp in files:
        pkg = "." + fdp.package if fdp.package else ""
        for full, msg in _walk_messages(pkg, fdp.message_type):
            schema[("message", full[1:])] = True
            for f in msg.field:
                schema[("field", full[1:], f.name)] = {
                    "number": f.number,
                    "type": descriptor_pb2.FieldDescriptorProto.Type.Name(f.type),
                    "label": descriptor_pb2.FieldDescriptorProto.Label.Name(f.label),
                    "type_name": f.type_name or None,
                    "presence": _presence(msg, f),
                    "packed": f.options.packed if f.options.HasField("packed") else None,
                    # Not compared: tells a one-field oneof (our stand-in for `optional`).
                    "_oneof_size": _oneof_size(msg, f),
                }
        for full, enum in _walk_enums(pkg, fdp.enum_type, fdp.message_type):
            schema[("enum", full[1:])] = True
            for v in enum.value:
                schema[("enum_value", full[1:], v.name)] = v.number
        for svc in fdp.service:
            sfull = (pkg + "." + svc.name)[1:]
            schema[("service", sfull)] = True
            for m in svc.method:
                schema[("method", sfull, m.name)] = {
                    "input": m.input_type, "output": m.output_type,
                    "client_streaming": m.client_streaming,
                    "server_streaming": m.server_streaming,
                }
    return schema


def compile_protos(proto_path, files, out_dir):
    """Runs protoc on |files| (relative to |proto_path|) and returns the FileDescriptorProtos of
    those files (imports excluded)."""
    protoc = shutil.which("protoc")
    assert protoc, "protoc not found: install Debian's protobuf-compiler"
    out = Path(out_dir) / "set.pb"
    subprocess.run([protoc, "--include_imports", "--descriptor_set_out=" + str(out),
                    "--proto_path=" + str(proto_path)] + list(files),
                   check=True, capture_output=True, text=True)
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    wanted = set(files)
    got = [f for f in fds.file if f.name in wanted]
    assert len(got) == len(wanted), "protoc did not return every file"
    return got


def compile_otter(proto_root, out_dir):
    # Every file of agent/proto must compile; only the OTLP ones are compared.
    all_files = sorted(str(p.relative_to(proto_root)) for p in Path(proto_root).rglob("*.proto"))
    missing = set(OTLP_FILES) - set(all_files)
    assert not missing, "Otter lacks OTLP files: %s" % sorted(missing)
    fdps = compile_protos(proto_root, all_files, out_dir)
    return [f for f in fdps if f.name in OTLP_FILES]


def load_pypi():
    version = importlib.import_module("opentelemetry.proto.version").__version__
    assert version == PYPI_OTLP_VERSION, (
        "opentelemetry-proto %s installed, the check is pinned to %s "
        "(pip install -r tests/proto/requirements.txt)" % (version, PYPI_OTLP_VERSION))
    out = []
    for modname in OTLP_FILES.values():
        mod = importlib.import_module(modname)
        # The exact serialized FileDescriptorProto that the generator embedded.
        out.append(descriptor_pb2.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb))
    return out


# ---- comparison ---------------------------------------------------------------------------------

def _fmt(key):
    return "%s %s" % (key[0], ".".join(key[1:]))


def compare(ours, ref, lacking=frozenset(), extra=frozenset()):
    """Returns (unexpected, allowed): lists of human-readable differences between Otter's schema
    and a reference. |lacking| names reference fields Otter may lack; |extra| names Otter fields
    the reference may lack. A reference proto3 `optional` field matches an Otter field that is
    the only member of a oneof (protoc-c 1.4 has no proto3 optional; the two encode the same
    bytes and both track presence)."""
    unexpected, allowed = [], []
    for key in sorted(set(ours) | set(ref)):
        if key not in ours:
            if key[0] == "field" and (key[1], key[2]) in lacking:
                allowed.append("%s: upstream only, deliberately not carried" % _fmt(key))
            else:
                unexpected.append("%s: missing from Otter" % _fmt(key))
            continue
        if key not in ref:
            if key[0] == "field" and (key[1], key[2]) in extra:
                allowed.append("%s: Otter only (newer than the reference)" % _fmt(key))
            else:
                unexpected.append("%s: only in Otter, not in the reference" % _fmt(key))
            continue
        a, b = ours[key], ref[key]
        if key[0] != "field":
            if a != b:
                unexpected.append("%s: Otter %r, reference %r" % (_fmt(key), a, b))
            continue
        for attr in a:
            if attr.startswith("_") or a[attr] == b[attr]:
                continue
            if (attr == "presence" and b[attr] == ("optional",) and a[attr][0] == "oneof"
                    and a["_oneof_size"] == 1):
                allowed.append("%s: proto3 optional upstream, one-field oneof %s in Otter "
                               "(wire-identical, presence kept)" % (_fmt(key), a[attr][1]))
                continue
            unexpected.append("%s: %s differs: Otter %r, reference %r"
                              % (_fmt(key), attr, a[attr], b[attr]))
    return unexpected, allowed


def _report(name, unexpected, allowed):
    print("\n%s: %d allowed difference(s)" % (name, len(allowed)))
    for line in allowed:
        print("  allowed: " + line)
    for line in unexpected:
        print("  UNEXPECTED: " + line)


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def otter_schema(tmp_path_factory):
    return schema_of(compile_otter(PROTO_ROOT, tmp_path_factory.mktemp("otter")))


@pytest.fixture(scope="module")
def pypi_schema():
    try:
        return schema_of(load_pypi())
    except ImportError as e:
        pytest.fail("opentelemetry-proto is not installed (%s): "
                    "pip install -r tests/proto/requirements.txt" % e)


# ---- tests --------------------------------------------------------------------------------------

def test_matches_pypi_opentelemetry_proto(otter_schema, pypi_schema):
    unexpected, allowed = compare(otter_schema, pypi_schema, lacking=DELIBERATELY_LACKING)
    _report("opentelemetry-proto " + PYPI_OTLP_VERSION, unexpected, allowed)
    assert not unexpected, "\n".join(unexpected)
    # The only allowed differences are the six histogram presence fields.
    assert len(allowed) == 6, "\n".join(allowed)


def test_schema_is_not_trivially_empty(otter_schema, pypi_schema):
    # Guards the comparison itself: a walk that found nothing would compare equal.
    fields = [k for k in pypi_schema if k[0] == "field"]
    assert len(fields) > 120
    assert ("field", "opentelemetry.proto.trace.v1.Span", "flags") in otter_schema
    assert otter_schema[("field", "opentelemetry.proto.trace.v1.Span", "flags")]["number"] == 16
    assert pypi_schema[("enum_value", "opentelemetry.proto.logs.v1.SeverityNumber",
                        "SEVERITY_NUMBER_FATAL4")] == 24


def test_collector_service_methods(otter_schema, pypi_schema):
    for svc, (method, req, resp) in SERVICES.items():
        for name, schema in (("Otter", otter_schema), ("opentelemetry-proto", pypi_schema)):
            methods = sorted(k[2] for k in schema if k[0] == "method" and k[1] == svc)
            assert methods == [method], "%s: %s has methods %s" % (name, svc, methods)
            m = schema[("method", svc, method)]
            assert (m["input"], m["output"]) == (req, resp), "%s: %s.%s" % (name, svc, method)
            assert not m["client_streaming"] and not m["server_streaming"]
    # The gRPC paths the receiver routes on follow from these names.
    paths = sorted("/%s/%s" % (svc, m[0]) for svc, m in SERVICES.items())
    assert paths == ["/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                     "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                     "/opentelemetry.proto.collector.trace.v1.TraceService/Export"]


MUTATIONS = [
    # (file, original text, replacement, substrings the report must contain, one per difference)
    ("opentelemetry/proto/trace/v1/trace.proto", "fixed32 flags = 16;", "fixed32 flags = 17;",
     ["field opentelemetry.proto.trace.v1.Span.flags: number differs: Otter 17, reference 16"]),
    ("opentelemetry/proto/logs/v1/logs.proto", "fixed32 flags = 8;", "uint32 flags = 8;",
     ["field opentelemetry.proto.logs.v1.LogRecord.flags: type differs"]),
    ("opentelemetry/proto/metrics/v1/metrics.proto",
     "oneof min_present {\n    double min = 11;\n  }", "double min = 11;",
     ["field opentelemetry.proto.metrics.v1.HistogramDataPoint.min: presence differs"]),
    ("opentelemetry/proto/trace/v1/trace.proto", "SPAN_KIND_CONSUMER = 5;",
     "SPAN_KIND_CONSUMER = 6;",
     ["enum_value opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_CONSUMER: Otter 6"]),
    ("opentelemetry/proto/collector/trace/v1/trace_service.proto", "rpc Export(",
     "rpc Send(",
     ["method opentelemetry.proto.collector.trace.v1.TraceService.Export: missing from Otter",
      "method opentelemetry.proto.collector.trace.v1.TraceService.Send: only in Otter"]),
]


@pytest.mark.parametrize("path,old,new,expect", MUTATIONS,
                         ids=["number", "type", "presence", "enum", "method"])
def test_negative_self_test(tmp_path, pypi_schema, path, old, new, expect):
    """Proves the comparison can fail: the planted change must be reported, and nothing else."""
    copy = tmp_path / "proto"
    shutil.copytree(PROTO_ROOT, copy)
    target = copy / path
    text = target.read_text()
    assert text.count(old) == 1, "mutation anchor %r not found once in %s" % (old, path)
    target.write_text(text.replace(old, new))
    mutated = schema_of(compile_otter(copy, tmp_path))
    unexpected, _ = compare(mutated, pypi_schema, lacking=DELIBERATELY_LACKING)
    assert len(unexpected) == len(expect), unexpected
    for line, want in zip(unexpected, expect):
        assert want in line, unexpected


def test_negative_missing_field(pypi_schema):
    # A field Otter lost is reported unless it is listed as deliberately lacking.
    key = ("field", "opentelemetry.proto.logs.v1.LogRecord", "event_name")
    ours = {k: v for k, v in pypi_schema.items() if k != key}
    unexpected, _ = compare(ours, pypi_schema)
    assert unexpected == ["field opentelemetry.proto.logs.v1.LogRecord.event_name: "
                          "missing from Otter"]
    unexpected, allowed = compare(ours, pypi_schema,
                                  lacking={("opentelemetry.proto.logs.v1.LogRecord",
                                            "event_name")})
    assert not unexpected and len(allowed) == 1


# ---- second reference: dd-trace's vendored .proto files ------------------------------------------

def _fetch_ddtrace(dest):
    """Returns the dd-trace tarball's bytes: from $OTTER_DDTRACE_TGZ if set, else `npm pack`
    (downloads the tarball only; no install, no scripts). Skips when it cannot be had."""
    local = os.environ.get("OTTER_DDTRACE_TGZ")
    if local:
        return Path(local).read_bytes()
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not found: cannot fetch %s for the second cross-check" % DDTRACE_SPEC)
    try:
        subprocess.run([npm, "pack", DDTRACE_SPEC, "--ignore-scripts", "--silent",
                        "--pack-destination", str(dest)],
                       check=True, capture_output=True, text=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        detail = getattr(e, "stderr", "") or ""
        pytest.skip("npm pack %s failed, second cross-check skipped: %s"
                    % (DDTRACE_SPEC, detail.strip()[-300:] or e))
    tgz = list(Path(dest).glob("dd-trace-*.tgz"))
    if len(tgz) != 1:
        pytest.skip("npm pack %s produced no tarball" % DDTRACE_SPEC)
    return tgz[0].read_bytes()


def _extract_protos(data, dest):
    names = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            if not (m.isfile() and m.name.startswith(DDTRACE_PROTO_DIR)
                    and m.name.endswith(".proto")):
                continue
            base = m.name[len(DDTRACE_PROTO_DIR):]
            assert "/" not in base and not base.startswith(".")
            (dest / base).write_bytes(tar.extractfile(m).read())
            names.append(base)
    return sorted(names)


def test_matches_ddtrace_vendored_protos(tmp_path, otter_schema):
    data = _fetch_ddtrace(tmp_path)
    digest = hashlib.sha256(data).hexdigest()
    assert digest == DDTRACE_SHA256, "%s tarball sha256 %s, expected %s" % (
        DDTRACE_SPEC, digest, DDTRACE_SHA256)
    src = tmp_path / "ddtrace"
    src.mkdir()
    names = _extract_protos(data, src)
    assert len(names) == 8, names
    ref = schema_of(compile_protos(src, names, tmp_path))
    unexpected, allowed = compare(otter_schema, ref, extra=DDTRACE_LACKS)
    _report(DDTRACE_SPEC, unexpected, allowed)
    assert not unexpected, "\n".join(unexpected)
    assert sum("Otter only" in a for a in allowed) == len(DDTRACE_LACKS), allowed
