# SPDX-License-Identifier: Apache-2.0
"""OpenTelemetry Python SDK metrics -> otterd (OTLP) -> awsemf exporter -> CloudWatch Logs (EMF).

Every instrument type of the SDK (counter, up-down counter, histogram, exponential histogram,
observable gauge), exported twice with cumulative temporality, must give the EMF events
emf-cwlogs.md requires: sums as deltas (the first export only sets the baseline), histograms as
statistic sets, exponential histograms as Values/Counts, gauges as values; every event is checked
against the EMF rules (emf_valid below, written from the specification). The peer is moto server
with IAM authentication on (every SigV4 signature verified); with `output_destination: stdout`
the same events are printed by otterd instead.
"""

import json
import math
import subprocess
import time

import pytest
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

import sdk_python
from aws_peers import REGION, MotoServer, aws_env
from conftest import make_config, scaled, to_yaml

SERVICE = "otter-emf-it"
GROUP = "/otter/emf/" + SERVICE
STREAM = "node-n1"

CW_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}


def emf_valid(msg, version="1"):
    """Returns None when |msg| is a valid EMF event (emf-cwlogs.md 1, 8), else the broken rule."""
    if "\n" in msg:
        return "newline in the event"
    pairs = json.loads(msg, object_pairs_hook=lambda p: p)
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        return "duplicate root key"
    root = json.loads(msg)
    if version == "1":
        if "_aws" not in root:
            return None if "Version" not in root else "Version without _aws"
        if root.get("Version") != "1":
            return "Version must be \"1\""
        ts = root["_aws"].get("Timestamp")
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            return "_aws.Timestamp must be integer ms"
        dirs = root["_aws"].get("CloudWatchMetrics")
    else:
        if root.get("Version") != "0" or not str(root.get("Timestamp", "")).isdigit():
            return "version 0 needs Version \"0\" and a string Timestamp"
        dirs = root.get("CloudWatchMetrics")
        if dirs is None:
            return None
    if not isinstance(dirs, list) or not dirs:
        return "CloudWatchMetrics must be a non-empty array"
    for d in dirs:
        ns = d.get("Namespace")
        if not isinstance(ns, str) or not 1 <= len(ns) <= 1024:
            return "bad Namespace"
        for s in d.get("Dimensions", None) or []:
            if not isinstance(s, list) or len(s) > 30:
                return "a dimension set must have at most 30 keys"
            for k in s:
                v = root.get(k)
                if not isinstance(k, str) or not 1 <= len(k) <= 250:
                    return "bad dimension key"
                if not isinstance(v, str) or not 1 <= len(v) <= 1024:
                    return "dimension %s must name a root string of 1..1024 characters" % k
        ms = d.get("Metrics")
        if not isinstance(ms, list) or not 1 <= len(ms) <= 100:
            return "Metrics must hold 1..100 definitions"
        for m in ms:
            name = m.get("Name")
            if name not in root:
                return "metric %s names no root member" % name
            v = root[name]
            if isinstance(v, dict):
                for k in ("Max", "Min", "Count", "Sum"):
                    if not isinstance(v.get(k), (int, float)) or not math.isfinite(v[k]):
                        return "statistic set %s without a finite %s" % (name, k)
                if ("Values" in v) != ("Counts" in v):
                    return "Values without Counts"
                if "Values" in v and (len(v["Values"]) != len(v["Counts"]) or
                                      len(v["Values"]) > 100):
                    return "Values/Counts of different lengths or over 100"
            elif isinstance(v, list):
                if len(v) > 100:
                    return "over 100 values"
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                return "metric %s is not a number" % name
            if m.get("StorageResolution", 60) not in (1, 60):
                return "StorageResolution must be 1 or 60"
    return None


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


def emf_config(out_dir, **opts):
    cfg = make_config(out_dir)
    x = {"region": REGION, "log_group_name": "/otter/emf/{ServiceName}",
         "log_stream_name": "node-{NodeName}"}
    x.update(opts)
    cfg["exporters"]["awsemf"] = x
    cfg["service"]["pipelines"]["metrics"]["exporters"] = ["awsemf"]
    return cfg


def send_two_rounds(agent):
    """Every instrument type, cumulative (the SDK's default), exported twice by force_flush()
    and a third time, unchanged, by the reader's shutdown: 3 + 5 + 5 = 13 events."""
    inner = sdk_python.exporter("metrics", "grpc", agent)
    tee = sdk_python.TeeMetrics(inner)
    reader = PeriodicExportingMetricReader(tee, export_interval_millis=3_600_000)
    views = [View(instrument_name="size",
                  aggregation=ExponentialBucketHistogramAggregation(max_size=160, max_scale=0))]
    mp = MeterProvider(metric_readers=[reader], views=views,
                       resource=Resource({"service.name": SERVICE, "k8s.node.name": "n1"}))
    meter = mp.get_meter("otter.emf.it", "1.0")
    counter = meter.create_counter("requests", unit="1")
    updown = meter.create_up_down_counter("queue")
    hist = meter.create_histogram("latency", unit="ms")
    exph = meter.create_histogram("size", unit="By")
    temps = iter([21.5, 22.5, 23.5, 24.5])

    def observe(options):
        yield Observation(next(temps), {"room": "a"})

    meter.create_observable_gauge("temperature", [observe])
    counter.add(5, {"route": "/a"})
    updown.add(10, {"q": "x"})
    hist.record(10, {"route": "/a"})
    hist.record(30, {"route": "/a"})
    for v in (1, 3, 6, 0):
        exph.record(v, {"k": "v"})
    assert mp.force_flush(30_000)
    # Each round in its own millisecond: points of one series with the same timestamp in one
    # payload would share a group, where the first occurrence of a name wins (emf-cwlogs.md 4).
    time.sleep(0.01)
    counter.add(3, {"route": "/a"})
    updown.add(-4, {"q": "x"})
    hist.record(50, {"route": "/a"})
    assert mp.force_flush(30_000)
    time.sleep(0.01)
    assert tee.ok(), tee.results
    mp.shutdown()


def wait_for(cond, timeout):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def read_events(logs, group, stream):
    out, token = [], None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        r = logs.get_log_events(**kw)
        out += r["events"]
        if not r["events"] or r["nextForwardToken"] == token:
            return out
        token = r["nextForwardToken"]


def dims(ev):
    d = ev["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    return sorted(sorted(s) for s in d)


def metric_def(ev, name):
    for d in ev["_aws"]["CloudWatchMetrics"]:
        for m in d["Metrics"]:
            if m["Name"] == name:
                return m
    return None


def check_events(msgs):
    """The expectations of send_two_rounds() on the EMF messages (hand-computed)."""
    for m in msgs:
        assert emf_valid(m) is None, (emf_valid(m), m)
    evs = [json.loads(m) for m in msgs]
    by = {}
    for e in evs:
        for k in ("requests", "queue", "latency", "size", "temperature"):
            if k in e:
                by.setdefault(k, []).append(e)
    # Cumulative sums: the first export only sets the baseline; then the difference.
    assert [e["requests"] for e in by["requests"]] == [3, 0]
    assert [e["queue"] for e in by["queue"]] == [-4, 0]  # an up-down counter may go down
    req = by["requests"][0]
    assert req["route"] == "/a" and req["OTelLib"] == "otter.emf.it"
    assert dims(req) == [["OTelLib"], ["OTelLib", "route"]]
    assert req["_aws"]["CloudWatchMetrics"][0]["Namespace"] == SERVICE
    assert metric_def(req, "requests")["Unit"] == "1"  # passed through, as upstream
    # Histograms: statistic sets straight from the cumulative points.
    lat = [e["latency"] for e in by["latency"]]
    assert lat == [{"Max": 30, "Min": 10, "Count": 2, "Sum": 40},
                   {"Max": 50, "Min": 10, "Count": 3, "Sum": 90},
                   {"Max": 50, "Min": 10, "Count": 3, "Sum": 90}]
    assert metric_def(by["latency"][0], "latency")["Unit"] == "Milliseconds"
    # Exponential histogram at scale 0: 6 in (4,8] -> 6, 3 in (2,4] -> 3, 1 in (0.5,1] -> 0.75,
    # then the zero bucket; descending.
    assert len(by["size"]) == 3
    for e in by["size"]:
        size = e["size"]
        assert size["Values"] == [6, 3, 0.75, 0] and size["Counts"] == [1, 1, 1, 1]
        assert (size["Count"], size["Sum"], size["Min"], size["Max"]) == (4, 10, 0, 6)
    assert metric_def(by["size"][0], "size")["Unit"] == "Bytes"
    # The observable gauge: each observation as is.
    assert [e["temperature"] for e in by["temperature"]] == [21.5, 22.5, 23.5]
    assert len(evs) == 13
    for e in evs:
        assert e["_aws"]["Timestamp"] > 0
        for m in e["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            assert m["StorageResolution"] == 60


def test_every_instrument_to_moto(otterd, moto, tmp_path):
    env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY=moto.admin_secret)
    cfg = emf_config(tmp_path, endpoint=moto.endpoint, log_retention=30, tags={"team": "otter"})
    agent = otterd(config=cfg, env=env)
    send_two_rounds(agent)

    def sent():
        return agent.metric_sum("otter_exporter_log_events_sent_total", exporter="awsemf")

    # Round 1: latency, size, temperature; rounds 2 and 3: requests, queue, latency, size,
    # temperature (each metric type its own event).
    assert wait_for(lambda: sent() >= 13, 20), agent.stderr()[-3000:]
    logs = moto.client("logs")
    g = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert [x["logGroupName"] for x in g] == [GROUP]
    assert g[0].get("retentionInDays") == 30
    assert logs.list_tags_log_group(logGroupName=GROUP)["tags"] == {"team": "otter"}
    evs = read_events(logs, GROUP, STREAM)
    assert len(evs) == 13, "\n".join(e["message"] for e in evs)
    assert [e["timestamp"] for e in evs] == sorted(e["timestamp"] for e in evs)
    for e in evs:
        assert json.loads(e["message"])["_aws"]["Timestamp"] == e["timestamp"]
    check_events([e["message"] for e in evs])
    assert agent.metric_sum("otter_exporter_emf_delta_baseline_total", exporter="awsemf") == 2
    assert agent.metric_sum("otter_exporter_dropped_total", exporter="awsemf") == 0
    agent.stop()


def test_stdout_destination_and_translate(otterd, otterd_bin, tmp_path):
    """output_destination: stdout prints the events; `otterd translate --to emf` run on what the
    file exporter wrote of the same payloads prints exactly the same lines."""
    cfg = emf_config(tmp_path, output_destination="stdout")
    cfg["service"]["pipelines"]["metrics"]["exporters"] = ["awsemf", "file/metrics"]
    agent = otterd(config=cfg)
    send_two_rounds(agent)
    assert wait_for(lambda: agent.stdout().count("\n") >= 13, 20), agent.stderr()[-3000:]
    lines = [ln for ln in agent.stdout().splitlines() if ln.startswith("{")]
    assert len(lines) == 13, lines
    check_events(lines)
    agent.stop()
    path = tmp_path / "emf.yaml"
    path.write_text(to_yaml(cfg) + "\n")
    p = subprocess.run([str(otterd_bin), "translate", "--to", "emf", "--config", str(path),
                        str(tmp_path / "metrics.jsonl")], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().splitlines() == lines
    assert "2 cumulative points only set the delta baseline" in p.stderr.decode()


def test_config_errors(otterd_bin, tmp_path):
    cases = [
        (dict(version="2"), "expected \"0\" or \"1\""),
        (dict(output_destination="s3"), "expected cloudwatch or stdout"),
        (dict(log_retention=2), "log_retention must be 0 (never expire) or one of"),
        (dict(metric_declarations=[{"metric_name_selectors": ["("]}]),
         "invalid regular expression"),
    ]
    for i, (opts, want) in enumerate(cases):
        path = tmp_path / ("bad%d.yaml" % i)
        path.write_text(to_yaml(emf_config(tmp_path, **opts)) + "\n")
        p = subprocess.run([str(otterd_bin), "validate", "--config", str(path)],
                           capture_output=True, timeout=30)
        assert p.returncode != 0, opts
        assert want in p.stderr.decode(), p.stderr.decode()
    cfg = emf_config(tmp_path)
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["awsemf"]
    path = tmp_path / "traces.yaml"
    path.write_text(to_yaml(cfg) + "\n")
    p = subprocess.run([str(otterd_bin), "validate", "--config", str(path)], capture_output=True,
                       timeout=30)
    assert p.returncode != 0 and "takes metrics only" in p.stderr.decode()


def send_gauges(agent, n):
    """One observable gauge with |n| label sets: |n| EMF events (one group each)."""
    inner = sdk_python.exporter("metrics", "grpc", agent)
    tee = sdk_python.TeeMetrics(inner)
    reader = PeriodicExportingMetricReader(tee, export_interval_millis=3_600_000)
    mp = MeterProvider(metric_readers=[reader],
                       resource=Resource({"service.name": SERVICE, "k8s.node.name": "n1"}))
    meter = mp.get_meter("otter.emf.it")

    def observe(options):
        for i in range(n):
            yield Observation(float(i), {"seq": str(i)})

    meter.create_observable_gauge("g", [observe])
    assert mp.force_flush(30_000)
    assert tee.ok(), tee.results
    reader.shutdown = lambda *a, **k: None  # no third export at shutdown
    mp.shutdown()


@pytest.mark.parametrize("script,max_retries,lost", [
    ([("status", 500, "InternalFailure"), ("status", 503, "ServiceUnavailableException")], 2,
     False),
    ([("status", 400, "InvalidParameterException")], 2, True),
])
def test_faults_tally_is_exact(otterd, tmp_path, script, max_retries, lost):
    """Through the shared pusher: events delivered + events counted failed = events made."""
    from aws_peers import CwLogsSink

    sink = CwLogsSink("AKIDEMFFAULTS", "emf-fault-secret", script=script)
    try:
        env = aws_env(AWS_ACCESS_KEY_ID="AKIDEMFFAULTS", AWS_SECRET_ACCESS_KEY="emf-fault-secret")
        cfg = emf_config(tmp_path, endpoint=sink.url, max_retries=max_retries,
                         request_timeout_seconds=1)
        agent = otterd(config=cfg, env=env)
        n = 20
        send_gauges(agent, n)

        def sent():
            return agent.metric_sum("otter_exporter_log_events_sent_total", exporter="awsemf")

        def failed():
            return agent.metric_sum("otter_exporter_log_events_failed_total", exporter="awsemf")

        assert wait_for(lambda: sent() + failed() >= n, 20), agent.stderr()[-3000:]
        got = sink.all_events()
        for e in got:
            assert emf_valid(e["message"]) is None, e["message"]
        seqs = sorted(int(json.loads(e["message"])["seq"]) for e in got)
        assert len(seqs) == len(set(seqs)), "an event was delivered twice"
        assert sent() == len(got)
        assert len(got) + failed() == n
        assert (len(got) < n) == lost
        assert sink.errors == []
        agent.stop()
    finally:
        sink.stop()
