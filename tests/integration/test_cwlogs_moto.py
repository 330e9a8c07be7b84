# SPDX-License-Identifier: Apache-2.0
"""OpenTelemetry Python SDK logs -> otterd (OTLP) -> awscloudwatchlogs exporter -> CloudWatch Logs.

The Logs peer is moto server with IAM authentication on (every SigV4 signature verified), or
CwLogsSink (aws_peers.py) where faults are injected. The log group and stream are created on
demand (with the retention and tags of the config); events are read back with boto3 in
timestamp order; the message of each is upstream's JSON. With faults the tally is exact: events
delivered + events counted failed or dropped = records sent.
"""

import json
import subprocess
import time

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

import sdk_python
from aws_peers import REGION, CwLogsSink, MotoServer, aws_env
from conftest import make_config, scaled

SERVICE = "otter-cwlogs-it"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


def cw_config(out_dir, endpoint, **opts):
    cfg = make_config(out_dir)
    x = {"region": REGION, "endpoint": endpoint, "log_group_name": "/otter/it/{ServiceName}",
         "log_stream_name": "node-{NodeName}"}
    x.update(opts)
    cfg["exporters"]["awscloudwatchlogs"] = x
    cfg["service"]["pipelines"]["logs"]["exporters"] = ["awscloudwatchlogs"]
    return cfg


def send_logs(agent, n, base_ms, transport="grpc", bodies=None):
    """Emits |n| records with timestamps base_ms + n - 1 - i ms (newest first) and returns
    {seq: (timestamp ms, body)}."""
    tee = sdk_python.TeeLogs(sdk_python.exporter("logs", transport, agent))
    lp = LoggerProvider(resource=Resource({"service.name": SERVICE, "k8s.node.name": "n1"}))
    lp.add_log_record_processor(BatchLogRecordProcessor(tee, schedule_delay_millis=60_000))
    logger = lp.get_logger("otter.cwlogs.it", "1.2.3")
    sent = {}
    for i in range(n):
        ts = base_ms + (n - 1 - i)
        body = bodies[i] if bodies else "record %d \"quoted\" é" % i
        logger.emit(timestamp=ts * 1_000_000, severity_number=SeverityNumber.INFO,
                    severity_text="INFO", body=body, attributes={"seq": i})
        sent[i] = (ts, body)
    assert lp.force_flush(30_000)
    assert tee.ok(), tee.results
    lp.shutdown()
    return sent


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


def cw_sent(agent):
    return agent.metric_sum("otter_exporter_log_events_sent_total", exporter="awscloudwatchlogs")


def cw_failed(agent):
    return agent.metric_sum("otter_exporter_log_events_failed_total",
                            exporter="awscloudwatchlogs")


def cw_dropped(agent):
    return agent.metric_sum("otter_exporter_dropped_total", exporter="awscloudwatchlogs")


def test_python_sdk_logs_land_in_moto(otterd, moto, tmp_path):
    env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY=moto.admin_secret)
    cfg = cw_config(tmp_path, moto.endpoint, log_retention=14,
                    tags={"team": "otter", "env": "it"})
    agent = otterd(config=cfg, env=env)
    base = int(time.time() * 1000) - 60_000
    sent = send_logs(agent, 30, base)
    group, stream = "/otter/it/" + SERVICE, "node-n1"
    assert wait_for(lambda: cw_sent(agent) >= 30, 15), agent.stderr()[-3000:]
    logs = moto.client("logs")
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [x["logGroupName"] for x in g] == [group]
    assert g[0].get("retentionInDays") == 14
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"team": "otter", "env": "it"}
    evs = read_events(logs, group, stream)
    assert len(evs) == 30
    assert [e["timestamp"] for e in evs] == sorted(ts for ts, _ in sent.values())
    for e in evs:
        pairs = json.loads(e["message"], object_pairs_hook=lambda p: p)
        keys = [k for k, _ in pairs]
        assert keys == ["body", "severity_number", "severity_text", "attributes", "scope",
                        "resource"], keys
        m = json.loads(e["message"])
        ts, body = sent[m["attributes"]["seq"]]
        assert (e["timestamp"], m["body"]) == (ts, body)
        assert m["severity_number"] == 9 and m["severity_text"] == "INFO"
        assert m["scope"] == {"name": "otter.cwlogs.it", "version": "1.2.3"}
        assert m["resource"]["service.name"] == SERVICE
    assert cw_failed(agent) == 0 and cw_dropped(agent) == 0
    agent.stop()


def test_raw_log_emf_routing_and_old_events(otterd, moto, tmp_path):
    """raw_log sends the body verbatim; an EMF body goes to the group it names; an event older
    than 14 days is dropped and counted, not sent."""
    env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY=moto.admin_secret)
    cfg = cw_config(tmp_path, moto.endpoint, raw_log=True, log_group_name="/otter/raw",
                    log_stream_name="s")
    agent = otterd(config=cfg, env=env)
    now = int(time.time() * 1000)
    emf = json.dumps({"_aws": {"Timestamp": now, "LogGroupName": "/otter/emf-app",
                               "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [["d"]],
                                                      "Metrics": [{"Name": "m"}]}]},
                      "d": "x", "m": 1})
    sent = send_logs(agent, 3, now - 10_000, bodies=["plain line", emf, "another line"])
    old = send_logs(agent, 1, now - 15 * 24 * 3600 * 1000, bodies=["too old"])
    assert old
    assert wait_for(lambda: cw_sent(agent) >= 3 and cw_dropped(agent) >= 1, 15)
    logs = moto.client("logs")
    raw = read_events(logs, "/otter/raw", "s")
    assert [e["message"] for e in raw] == ["another line", "plain line"]
    routed = read_events(logs, "/otter/emf-app", "s")
    assert [e["message"] for e in routed] == [emf]
    assert routed[0]["timestamp"] == sent[1][0]
    assert agent.metric_sum("otter_exporter_dropped_total", exporter="awscloudwatchlogs",
                            reason="too_old") == 1
    agent.stop()


def test_config_errors(otterd_bin, tmp_path):
    """log_retention outside CloudWatch's list, too many tags and a missing stream name are
    config errors, and the exporter takes logs only."""
    from conftest import to_yaml

    cases = [
        (dict(log_retention=2), "log_retention must be 0 (never expire) or one of"),
        (dict(tags={"t%d" % i: "v" for i in range(51)}), "at most 50 tags"),
        (dict(tags={"aws:x": "v"}), "do not start with 'aws:'"),
        (dict(log_stream_name=""), "log_stream_name is required"),
    ]
    for i, (opts, want) in enumerate(cases):
        cfg = cw_config(tmp_path, "http://127.0.0.1:1", **opts)
        path = tmp_path / ("bad%d.yaml" % i)
        path.write_text(to_yaml(cfg) + "\n")
        p = subprocess.run([str(otterd_bin), "validate", "--config", str(path)],
                           capture_output=True, timeout=30)
        assert p.returncode != 0, opts
        assert want in p.stderr.decode(), p.stderr.decode()
    cfg = cw_config(tmp_path, "http://127.0.0.1:1")
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["awscloudwatchlogs"]
    path = tmp_path / "traces.yaml"
    path.write_text(to_yaml(cfg) + "\n")
    p = subprocess.run([str(otterd_bin), "validate", "--config", str(path)], capture_output=True,
                       timeout=30)
    assert p.returncode != 0 and "takes logs only" in p.stderr.decode()


@pytest.mark.parametrize("script,max_retries,lost", [
    ([("status", 400, "ThrottlingException")], 2, False),
    ([("status", 500, "InternalFailure"), ("status", 503, "ServiceUnavailableException")], 2,
     False),
    (["hang"], 2, False),
    ([("rejected", {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 18})], 2, True),
    ([("status", 400, "ThrottlingException")] * 3, 0, True),
    ([("status", 400, "InvalidParameterException")], 2, True),
])
def test_faults_tally_is_exact(otterd, tmp_path, script, max_retries, lost):
    sink = CwLogsSink("AKIDCWFAULTS", "cw-fault-secret", script=script)
    try:
        env = aws_env(AWS_ACCESS_KEY_ID="AKIDCWFAULTS", AWS_SECRET_ACCESS_KEY="cw-fault-secret")
        cfg = cw_config(tmp_path, sink.url, max_retries=max_retries, request_timeout_seconds=1,
                        log_retention=7, tags={"team": "otter"})
        cfg["processors"]["batch"]["send_batch_size"] = 1000
        cfg["processors"]["batch"]["timeout"] = "300ms"
        agent = otterd(config=cfg, env=env)
        n = 20
        send_logs(agent, n, int(time.time() * 1000) - 5_000)
        assert wait_for(lambda: cw_sent(agent) + cw_failed(agent) + cw_dropped(agent) >= n, 20)
        got = sink.all_events()
        seqs = [json.loads(e["message"])["attributes"]["seq"] for e in got]
        assert len(seqs) == len(set(seqs)), "an event was delivered twice"
        assert cw_sent(agent) == len(got)
        assert len(got) + cw_failed(agent) + cw_dropped(agent) == n
        assert (len(got) < n) == lost
        assert sink.errors == []
        group = "/otter/it/" + SERVICE
        assert sink.retention == {group: 7}
        assert sink.tags == {group: {"team": "otter"}}
        assert sink.targets[:4] == ["PutLogEvents", "CreateLogStream", "CreateLogGroup",
                                    "PutRetentionPolicy"]
        agent.stop()
    finally:
        sink.stop()
