# SPDX-License-Identifier: Apache-2.0
"""The awsxray receiver: X-Ray daemon datagrams over UDP (specs/xray.md 13.2) into otterd.

otterd listens on 127.0.0.1:0 (the port is read from its "listening: awsxray udp" line) and
writes what arrives through the file exporter, one document per line. Every datagram sent must
end up in exactly one place: the file (outcome accepted), or a counter in /metrics (outcome
invalid or refused, or dropped with reason socket_buffer_full when the kernel's buffer was full).
"""

import errno
import json
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import scaled

HEADER = b'{"format": "json", "version": 1}\n'
RECEIVER = "awsxray"


def trace_id(n=0):
    return "1-%08x-%024x" % (int(time.time()), 0xabc000 + n)


def segment(i, **extra):
    now = time.time()
    doc = {"name": "checkout", "id": "%016x" % (0x1000 + i), "trace_id": trace_id(i),
           "start_time": now - 0.5, "end_time": now}
    doc.update(extra)
    return doc


def datagram(doc, indent=None):
    return HEADER + json.dumps(doc, indent=indent).encode()


def xray_config(out_dir, exporters=None, extra_exporters=None, processors=None):
    exporters = exporters or ["file/xray"]
    cfg = {
        "receivers": {RECEIVER: {"endpoint": "127.0.0.1:0", "transport": "udp"}},
        "exporters": {"file/xray": {"path": str(out_dir / "xray.jsonl"),
                                    "flush_interval": "50ms"}},
        "service": {
            "telemetry": {"metrics": {"address": "127.0.0.1:0"}},
            "pipelines": {"traces": {"receivers": [RECEIVER], "exporters": exporters}},
        },
    }
    cfg["exporters"].update(extra_exporters or {})
    if processors:
        cfg["processors"] = {p: {} for p in processors}
        cfg["service"]["pipelines"]["traces"]["processors"] = processors
    return cfg


def start(otterd, tmp_path, name="xray", **kw):
    out = tmp_path / name / "out"
    out.mkdir(parents=True, exist_ok=True)
    d = otterd(name=name, config=xray_config(out, **kw))  # waits for "awsxray udp" and admin
    d.xray_file = out / "xray.jsonl"
    d.xray_addr = ("127.0.0.1", d.port("awsxray udp"))
    return d


def read_docs(path):
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    cut = data.rfind(b"\n")
    return [json.loads(line) for line in data[:cut].split(b"\n")] if cut >= 0 else []


def wait_docs(d, n, timeout=15.0):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        docs = read_docs(d.xray_file)
        if len(docs) >= n:
            return docs
        assert time.monotonic() < deadline, "only %d of %d documents written" % (len(docs), n)
        assert d.running(), "otterd exited; stderr:\n%s" % d.stderr()[-3000:]
        time.sleep(0.05)


def outcomes(d):
    m = {o: d.metric_sum("otter_receiver_requests_total", receiver=RECEIVER, transport="udp",
                         outcome=o) for o in ("accepted", "invalid", "refused")}
    m["kernel_dropped"] = d.metric_sum("otter_receiver_dropped_total", receiver=RECEIVER,
                                       reason="socket_buffer_full")
    return m


def wait_tally(d, n, timeout=20.0):
    """Waits until every one of |n| datagrams is accounted for in /metrics."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        m = outcomes(d)
        if sum(m.values()) >= n:
            return m
        assert time.monotonic() < deadline, "only %r of %d datagrams accounted for" % (m, n)
        time.sleep(0.05)


@pytest.fixture
def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def test_segment_and_subsegment_arrive(otterd, tmp_path, sock):
    d = start(otterd, tmp_path)
    seg = segment(1, http={"response": {"status": 200}}, annotations={"k": "v"})
    sub = segment(2, type="subsegment", parent_id="%016x" % 0x1001, namespace="remote")
    sub["trace_id"] = seg["trace_id"]
    live = segment(3, in_progress=True)
    del live["end_time"]
    # A pretty-printed document (line breaks inside the document) is one line in the file.
    sock.sendto(datagram(seg, indent=2), d.xray_addr)
    sock.sendto(datagram(sub), d.xray_addr)
    sock.sendto(datagram(live) + b"\n", d.xray_addr)
    docs = wait_docs(d, 3)
    assert docs == [seg, sub, live]
    assert len(d.xray_file.read_bytes().split(b"\n")) == 4  # three lines and the final ""
    m = wait_tally(d, 3)
    assert m == {"accepted": 3, "invalid": 0, "refused": 0, "kernel_dropped": 0}
    assert d.metric_sum("otter_receiver_items_total", receiver=RECEIVER,
                        outcome="accepted") == 3
    assert d.metric_sum("otter_exporter_sent_total", exporter="file/xray", signal="traces") == 3


def test_malformed_counted_logged_and_survived(otterd, tmp_path, sock):
    d = start(otterd, tmp_path)
    no_trace = segment(5)
    del no_trace["trace_id"]
    bad = [
        ("no header", json.dumps(segment(4)).encode(), "no newline after the header"),
        ("wrong format", b'{"format": "xml", "version": 1}\n' + json.dumps(segment(4)).encode(),
         "expected \"format\": \"json\""),
        ("header only", HEADER, "no document after the header"),
        ("missing trace_id", datagram(no_trace), "'trace_id' is missing"),
        ("binary garbage", bytes(range(256)) * 4, ""),
        ("bad id", datagram(segment(6, id="XYZ")), "'id' must be 16 lowercase hex digits"),
    ]
    for _, payload, _ in bad:
        sock.sendto(payload, d.xray_addr)
    # A datagram over the UDP maximum (65,507 bytes over IPv4) never leaves the sender: the
    # kernel refuses it, so no agent can see it. The largest that fits arrives whole.
    with pytest.raises(OSError) as e:
        sock.sendto(HEADER + b"x" * 70000, d.xray_addr)
    assert e.value.errno == errno.EMSGSIZE
    big = segment(7, metadata={"default": {"blob": ""}})
    big["metadata"]["default"]["blob"] = "y" * (65507 - len(datagram(big)))
    assert len(datagram(big)) == 65507
    sock.sendto(datagram(big), d.xray_addr)
    good = segment(8)
    sock.sendto(datagram(good), d.xray_addr)

    docs = wait_docs(d, 2)
    assert docs == [big, good]
    m = wait_tally(d, len(bad) + 2)
    assert m == {"accepted": 2, "invalid": len(bad), "refused": 0, "kernel_dropped": 0}
    assert d.metric_sum("otter_receiver_items_total", receiver=RECEIVER, outcome="invalid") == 0

    # Logged at most once a second: the first refusal, with the sender and the parser's reason.
    port = sock.getsockname()[1]
    lines = [l for l in d.stderr().splitlines() if "refused a malformed datagram" in l]
    assert 1 <= len(lines) < len(bad), lines
    assert "from 127.0.0.1:%d" % port in lines[0], lines[0]
    assert bad[0][2] in lines[0], lines[0]

    # After a quiet second the next refusal is logged, with how many were not.
    time.sleep(1.1)
    sock.sendto(b"nonsense", d.xray_addr)
    wait_tally(d, len(bad) + 3)
    deadline = time.monotonic() + scaled(5)
    while True:
        lines = [l for l in d.stderr().splitlines() if "refused a malformed datagram" in l]
        if len(lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "no newline after the header" in lines[-1], lines
    assert re.search(r"\(and \d+ more problems not logged since the last line\)", lines[-1]), lines


def test_burst_every_datagram_accounted_for(otterd, tmp_path, sock):
    d = start(otterd, tmp_path)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    n = 5000
    for i in range(n):
        sock.sendto(datagram(segment(i)), d.xray_addr)
        if i % 250 == 249:
            time.sleep(0.01)  # modest pacing; a drop would still be counted, not lost
    # The kernel reports its drop count with the next datagram it queues: send one more after
    # the burst, so drops at the very end of it are reported too.
    time.sleep(0.2)
    sock.sendto(datagram(segment(n)), d.xray_addr)
    m = wait_tally(d, n + 1, timeout=60)
    assert m["accepted"] + m["invalid"] + m["refused"] + m["kernel_dropped"] == n + 1, m
    assert m["invalid"] == 0 and m["refused"] == 0, m
    docs = wait_docs(d, int(m["accepted"]))
    ids = [doc["id"] for doc in docs]
    assert len(ids) == m["accepted"] == len(set(ids)), m
    assert ids[-1] == "%016x" % (0x1000 + n)


def test_exporters_without_xray_and_processors(otterd, tmp_path, sock):
    d = start(otterd, tmp_path, exporters=["file/xray", "debug", "nop"],
              extra_exporters={"debug": {"verbosity": "detailed"}, "nop": {}},
              processors=["batch"])
    err = d.stderr()
    assert re.search(r"awsxray: exporter nop \(pipeline traces\) cannot take X-Ray documents",
                     err), err
    assert "X-Ray documents are not OTLP and skip its 1 processor(s)" in err, err
    docs = [segment(i) for i in range(3)]
    for doc in docs:
        sock.sendto(datagram(doc, indent=1), d.xray_addr)
    assert wait_docs(d, 3) == docs
    wait_tally(d, 3)
    assert d.metric_sum("otter_receiver_dropped_total", receiver=RECEIVER, exporter="nop",
                        reason="unsupported_exporter") == 3
    assert d.metric_sum("otter_exporter_sent_total", exporter="debug", signal="traces") == 3
    assert d.metric_sum("otter_exporter_sent_total", exporter="nop", signal="traces") == 0
    printed = [l for l in d.stderr().splitlines() if l.startswith("debug: xray: ")]
    assert [json.loads(l[len("debug: xray: "):]) for l in printed] == docs


def test_drain_delivers_what_was_queued(otterd, tmp_path, sock):
    d = start(otterd, tmp_path)
    docs = [segment(i) for i in range(200)]
    for doc in docs:
        sock.sendto(datagram(doc), d.xray_addr)
    d.stop()  # SIGTERM right away: what the kernel queued before is still delivered
    assert read_docs(d.xray_file) == docs


def _validate(otterd_bin, tmp_path, text):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    p = subprocess.run([str(otterd_bin), "validate", "--config", str(f)], capture_output=True,
                       text=True, timeout=scaled(30), cwd=tmp_path)
    return p.returncode, p.stderr, str(f)


BASE = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
  awsxray:
    endpoint: 127.0.0.1:2000
    transport: udp
exporters:
  nop:
service:
  pipelines:
    traces:
      receivers: [awsxray]
      exporters: [nop]
"""


def test_config_errors(otterd_bin, tmp_path):
    rc, err, f = _validate(otterd_bin, tmp_path, BASE)
    assert rc == 0, err
    rc, err, f = _validate(otterd_bin, tmp_path, BASE.replace("transport: udp", "transport: tcp"))
    assert rc != 0
    assert "%s:8:16: error: receivers::awsxray::transport: transport 'tcp' is not supported" % f \
        in err, err
    metrics = BASE + "    metrics:\n      receivers: [otlp, awsxray]\n      exporters: [nop]\n"
    rc, err, f = _validate(otterd_bin, tmp_path, metrics)
    assert rc != 0
    assert ("%s:17:25: error: pipeline metrics: receiver awsxray is an awsxray receiver, which "
            "feeds traces pipelines only" % f) in err, err
    proxy = BASE.replace("    transport: udp\n",
                         "    transport: udp\n    proxy_server:\n      endpoint: 0.0.0.0:2000\n"
                         "      tls: {insecure: true}\n      additional_routing_rules: []\n")
    rc, err, f = _validate(otterd_bin, tmp_path, proxy)
    assert rc == 0, err
    assert "proxy_server is not implemented" not in err, err
    assert ("%s:12:7: warning: receivers::awsxray::proxy_server::additional_routing_rules is not "
            "implemented" % f) in err, err
    bad = BASE.replace("    transport: udp\n",
                       "    transport: udp\n    proxy_server:\n      endpoint: nowhere\n")
    rc, err, f = _validate(otterd_bin, tmp_path, bad)
    assert rc != 0
    assert ("%s:10:17: error: receivers::awsxray::proxy_server::endpoint: invalid endpoint "
            "'nowhere'" % f) in err, err


def test_kernel_drops_are_counted(otterd, tmp_path, sock):
    """With otterd stopped (SIGSTOP) the socket buffer fills and the kernel drops datagrams:
    SO_RXQ_OVFL reports how many, so the tally stays exact even then."""
    d = start(otterd, tmp_path)
    n = 30000
    d.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(n):
            sock.sendto(datagram(segment(i)), d.xray_addr)
    finally:
        d.proc.send_signal(signal.SIGCONT)
    time.sleep(0.5)
    sock.sendto(datagram(segment(n)), d.xray_addr)  # carries the final drop count
    m = wait_tally(d, n + 1, timeout=60)
    assert m["accepted"] + m["kernel_dropped"] == n + 1, m
    assert m["kernel_dropped"] > 0, m
    assert len(wait_docs(d, int(m["accepted"]))) == m["accepted"]
    assert "the socket receive buffer was full: the kernel dropped" in d.stderr()
