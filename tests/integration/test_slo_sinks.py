# SPDX-License-Identifier: Apache-2.0
"""The slo exporter's sinks end to end, driven by tests/unit/slo/slo_sink_driver (found through
OTTER_SLO_SINK_DRIVER, default build/tests/unit/slo/slo_sink_driver), which sends the firing and
the resolved change of one hand-built alert and one EMF emission, then runs until its sinks are
idle and prints their otter_slo_sink_* counters to stderr.

- Webhook: a local receiver (http.server on 127.0.0.1:0) gets exactly one firing and one resolved
  notification, in that order, with the exact fields; 503 twice then 200 still gives one of each
  (retried); 400 is not retried (counted failed); Slack's {"text": ...}; the Authorization header
  arrives but its value never reaches the log.
- SNS: Publish to moto server (IAM authentication on: every signature checked) on a topic with an
  SQS queue subscribed; the queue holds each message exactly once. A wrong secret key fails both.
- EMF: to moto's CloudWatch Logs (group and stream created on demand); the events parse as EMF
  with the slo_cw.h names, dimensions and values; and to stdout, one JSON line per event.

The expected values are those of tests/unit/slo/slo_sink_sample.h, worked out by hand there.
"""

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aws_peers import REGION, MotoServer, aws_env
from conftest import scaled

SECRET = "Bearer s3cr3t-t0ken-value"
SLO = "checkout-availability"

FIRING = {
    "slo": SLO, "service": "checkout", "alert": "page", "severity": "page", "state": "firing",
    "at": "2025-01-31T10:00:00Z", "objective": "99.9", "status": "WARNING",
    # the alert's windows, long first: 1h = 144/10, 5m = 20/1
    "burn_rates": {"1h": 14.4, "5m": 20},
    "error_budget_remaining_fraction": 0.2,  # 8 bad of a budget of 10 events: 2/10 left
    "reason": "burn rate over 14.4",
    "summary": "FIRING: SLO checkout-availability, alert page (severity page): burn rate 14.4 "
               "over 1h, 20 over 5m; 20% of the error budget left; status WARNING",
}
RESOLVED = dict(FIRING, state="resolved", at="2025-01-31T10:01:00Z",
                burn_rates={"1h": 2.5, "5m": 0}, reason=None,
                summary="RESOLVED: SLO checkout-availability, alert page (severity page): burn "
                        "rate 2.5 over 1h, 0 over 5m; 20% of the error budget left; status "
                        "WARNING")


def driver_path():
    p = Path(os.environ.get("OTTER_SLO_SINK_DRIVER") or "build/tests/unit/slo/slo_sink_driver")
    if not p.exists():
        pytest.fail(f"{p} not built (set OTTER_SLO_SINK_DRIVER)")
    return str(p)


def run_driver(*args, env=None, timeout=60):
    r = subprocess.run([driver_path(), "--wait", str(scaled(30)), *args], capture_output=True,
                       env=env or aws_env(), timeout=scaled(timeout))
    err = r.stderr.decode()
    assert "runtime error" not in err and "Sanitizer" not in err, err  # the build-san driver
    return r.returncode, r.stdout.decode(), err


def counters(stderr):
    """The otter_slo_sink_* lines the driver printed: {("sent", "webhook"): 2.0, ...}."""
    out = {}
    for line in stderr.splitlines():
        if line.startswith("otter_slo_sink_"):
            name, value = line.rsplit(" ", 1)
            what = name[len("otter_slo_sink_"):name.index("_total")]
            sink = name.split('sink="')[1].split('"')[0]
            out[(what, sink)] = float(value)
    return out


class Receiver:
    """A webhook peer: answers from |script| (the last status repeats), records every request."""

    def __init__(self, script):
        self.script = list(script)
        self.seen = []
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    outer.seen.append({"path": self.path, "headers": dict(self.headers.items()),
                                       "body": body})
                    status = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/slo"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bodies(self):
        return [json.loads(s["body"]) for s in self.seen]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*script):
        r = Receiver(script or (200,))
        made.append(r)
        return r
    yield make
    for r in made:
        r.stop()


def test_webhook_one_firing_one_resolved(receiver):
    r = receiver(200)
    rc, _, err = run_driver("--webhook", r.url, "--header", f"Authorization={SECRET}",
                            "--header", "X-Team=sre")
    assert rc == 0, err
    assert r.bodies() == [FIRING, RESOLVED]
    for s in r.seen:
        assert s["path"] == "/hooks/slo"
        assert s["headers"]["Authorization"] == SECRET
        assert s["headers"]["X-Team"] == "sre"
        assert s["headers"]["Content-Type"] == "application/json"
    c = counters(err)
    assert c[("sent", "webhook")] == 2 and c[("failed", "webhook")] == 0
    assert c[("sent", "log")] == 2
    # The log has one line per change, and never a header value.
    assert "alert firing: slo=checkout-availability alert=page severity=page " \
           "burn_rate[1h]=14.4 burn_rate[5m]=20 error_budget_remaining=0.2 status=WARNING" in err
    assert "alert resolved: slo=checkout-availability alert=page" in err
    assert "s3cr3t" not in err


def test_webhook_retries_503_then_200(receiver):
    r = receiver(503, 503, 200)
    rc, _, err = run_driver("--webhook", r.url, "--header", f"Authorization={SECRET}")
    assert rc == 0, err
    bodies = r.bodies()
    # The firing notification took three attempts; the resolved one waited for it.
    assert bodies == [FIRING, FIRING, FIRING, RESOLVED]
    c = counters(err)
    assert c[("sent", "webhook")] == 2
    assert c[("retries", "webhook")] == 2
    assert c[("failed", "webhook")] == 0
    assert "s3cr3t" not in err


def test_webhook_400_not_retried(receiver):
    r = receiver(400, 200)
    rc, _, err = run_driver("--webhook", r.url)
    assert rc == 0, err
    assert r.bodies() == [FIRING, RESOLVED]  # the 400 once, never again
    c = counters(err)
    assert c[("failed", "webhook")] == 1
    assert c[("sent", "webhook")] == 1
    assert c[("retries", "webhook")] == 0
    assert "failed after 1 attempt(s): HTTP 400" in err


def test_webhook_retries_used_up(receiver):
    r = receiver(500)
    rc, _, err = run_driver("--webhook", r.url, "--max-retries", "1")
    assert rc == 0, err
    assert r.bodies() == [FIRING, FIRING, RESOLVED, RESOLVED]  # 1 + 1 retry each
    c = counters(err)
    assert c[("failed", "webhook")] == 2 and c[("sent", "webhook")] == 0


def test_webhook_slack(receiver):
    r = receiver(200)
    rc, _, err = run_driver("--webhook", r.url, "--slack", "--no-log")
    assert rc == 0, err
    assert r.bodies() == [{"text": FIRING["summary"]}, {"text": RESOLVED["summary"]}]
    assert "alert firing" not in err  # alert_log off


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


@pytest.fixture(scope="module")
def slo_user(moto):
    """An IAM user allowed SNS, SQS and CloudWatch Logs, and its key."""
    iam = moto.client("iam")
    iam.create_user(UserName="otter-slo")
    iam.put_user_policy(UserName="otter-slo", PolicyName="slo", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sns:*", "sqs:*", "logs:*"],
                       "Resource": "*"}]}))
    k = iam.create_access_key(UserName="otter-slo")["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def topic_with_queue(moto, key, name):
    creds = {"key": key[0], "secret": key[1]}
    sns, sqs = moto.client("sns", **creds), moto.client("sqs", **creds)
    topic = sns.create_topic(Name=name)["TopicArn"]
    q = sqs.create_queue(QueueName=name + "-q")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    return topic, sqs, q


def drain_queue(sqs, q, want, timeout):
    got, deadline = [], time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        if len(got) >= want:
            # one more look: a duplicate would show up here
            r = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            got += [json.loads(m["Body"]) for m in r.get("Messages", [])]
            break
    return got


def test_sns_publish_to_moto(moto, slo_user):
    topic, sqs, q = topic_with_queue(moto, slo_user, "slo-alerts")
    env = aws_env(AWS_ACCESS_KEY_ID=slo_user[0], AWS_SECRET_ACCESS_KEY=slo_user[1])
    rc, _, err = run_driver("--sns-topic", topic, "--endpoint", moto.endpoint, "--region", REGION,
                            env=env)
    assert rc == 0, err
    c = counters(err)
    assert c[("sent", "sns")] == 2 and c[("failed", "sns")] == 0, err
    envelopes = drain_queue(sqs, q, 2, 20)
    assert len(envelopes) == 2, envelopes
    by_state = {}
    for e in envelopes:
        assert e["Type"] == "Notification" and e["TopicArn"] == topic
        msg = json.loads(e["Message"])
        by_state.setdefault(msg["state"], []).append((e["Subject"], msg))
    assert by_state == {
        "firing": [("FIRING: checkout-availability / page", FIRING)],
        "resolved": [("RESOLVED: checkout-availability / page", RESOLVED)],
    }


def test_sns_wrong_secret_is_refused(moto, slo_user):
    topic, sqs, q = topic_with_queue(moto, slo_user, "slo-alerts-bad")
    env = aws_env(AWS_ACCESS_KEY_ID=slo_user[0], AWS_SECRET_ACCESS_KEY="not-the-secret")
    rc, _, err = run_driver("--sns-topic", topic, "--endpoint", moto.endpoint, "--region", REGION,
                            env=env)
    assert rc == 0, err
    c = counters(err)
    assert c[("failed", "sns")] == 2 and c[("sent", "sns")] == 0, err
    assert "SignatureDoesNotMatch" in err
    assert drain_queue(sqs, q, 1, 2) == []


def check_emf(events, now_s):
    """The four events of one emission (slo_sink_sample.h): exact names, dimensions, values."""
    assert len(events) == 4, events
    for ev in events:
        aws = ev["_aws"]
        assert abs(aws["Timestamp"] / 1000 - now_s) < scaled(120)
        (d,) = aws["CloudWatchMetrics"]
        assert d["Namespace"] == "Otter/SLO"
        # EMF: every dimension and metric named in the directive is a root member
        for dimset in d["Dimensions"]:
            for k in dimset:
                assert isinstance(ev[k], str)
        for m in d["Metrics"]:
            assert isinstance(ev[m["Name"]], (int, float))
    main, b5, b60, idle = events
    assert main["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["SLO", "Service"]]
    assert main["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "GoodCount", "Unit": "Count"}, {"Name": "TotalCount", "Unit": "Count"},
        {"Name": "AttainmentRate", "Unit": "Percent"},
        {"Name": "ErrorBudgetRemaining", "Unit": "Percent"}]
    assert {k: v for k, v in main.items() if k != "_aws"} == {
        "SLO": SLO, "Service": "checkout", "GoodCount": 995, "TotalCount": 1000,
        "AttainmentRate": 99.92,  # 9992 / 10000
        "ErrorBudgetRemaining": 20}  # 2 / 10 of the budget
    for ev, minutes, rate in ((b5, "5", 20), (b60, "60", 14.4)):
        d = ev["_aws"]["CloudWatchMetrics"][0]
        assert d["Dimensions"] == [["SLO", "Service", "BurnRateWindowMinutes"]]
        assert d["Metrics"] == [{"Name": "BurnRate", "Unit": "None"}]
        assert {k: v for k, v in ev.items() if k != "_aws"} == {
            "SLO": SLO, "Service": "checkout", "BurnRateWindowMinutes": minutes,
            "BurnRate": rate}
    # no data: the counts only, never NaN
    assert idle["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "GoodCount", "Unit": "Count"}, {"Name": "TotalCount", "Unit": "Count"}]
    assert {k: v for k, v in idle.items() if k != "_aws"} == {
        "SLO": "idle-slo", "Service": "unknown", "GoodCount": 0, "TotalCount": 0}


def test_emf_to_moto_logs(moto, slo_user):
    env = aws_env(AWS_ACCESS_KEY_ID=slo_user[0], AWS_SECRET_ACCESS_KEY=slo_user[1])
    now = time.time()
    rc, _, err = run_driver("--metrics", "cloudwatch", "--log-group", "/otter/slo-it",
                            "--log-stream", "driver-1", "--endpoint", moto.endpoint,
                            "--region", REGION, "--no-log", env=env)
    assert rc == 0, err
    c = counters(err)
    assert c[("sent", "metrics")] == 4 and c[("dropped", "metrics")] == 0
    assert 'otter_exporter_log_events_sent_total{exporter="slo"} 4' in err
    logs = moto.client("logs", key=slo_user[0], secret=slo_user[1])
    evs = logs.get_log_events(logGroupName="/otter/slo-it", logStreamName="driver-1",
                              startFromHead=True)["events"]
    check_emf([json.loads(e["message"]) for e in evs], now)


def test_emf_to_stdout():
    now = time.time()
    rc, out, err = run_driver("--metrics", "stdout", "--no-log")
    assert rc == 0, err
    lines = out.splitlines()
    check_emf([json.loads(line) for line in lines], now)
    assert counters(err)[("sent", "metrics")] == 4


def test_bad_config_is_refused():
    rc, _, err = run_driver("--webhook", "ftp://127.0.0.1/x")
    assert rc == 1
    assert "alerts.webhook.endpoint: expected an http:// or https:// URL" in err
    rc, _, err = run_driver("--webhook", "http://127.0.0.1:9/", "--header",
                            "X-Token=a\r\nInjected: 1")
    assert rc == 1 and "alerts.webhook.headers: header 1 (X-Token)" in err
    assert "Injected" not in err


def test_metrics_destination_none():
    rc, out, err = run_driver("--metrics", "none", "--no-log")
    assert rc == 0, err
    assert out == ""
    assert counters(err)[("sent", "metrics")] == 0
