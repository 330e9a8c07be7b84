# SPDX-License-Identifier: Apache-2.0
"""SLO alerts and checkpoints end to end (issue 5, "End to end"; exporters/slo/README.md).

1. test_page_fires_then_resolves_once_per_sink: spans built with the OpenTelemetry Python SDK
   (its real OTLP/gRPC exporter) go through an otlp receiver into otterd's slo exporter, whose
   alert sinks are the log, a webhook to a local receiver and SNS Publish to moto server (IAM
   authentication on: every signature checked) on a topic with an SQS queue subscribed. A page
   alert fires, then resolves; each sink gets exactly one firing and one resolved notification,
   in that order, with every field worked out by hand below, and nothing more over several
   further evaluations.
2. test_state_file_report_equals_v1_slo: a known mix of spans, then otterd stops cleanly (its
   shutdown checkpoint); `slo report --from state=FILE` ($SLO, default build/slo/cli/slo) reports
   exactly what GET /v1/slo returned just before the stop, and both equal the counts worked out
   by hand.

Timing. The engine counts whole closed 1-minute buckets: at an instant T the window of a
lookback L holds a bucket [s, s + 1m) iff s >= T - L and s + 1m <= T. Data for a closed bucket
still held is added at once, so every span is given (start and end set explicitly through the
SDK) an end time in an already closed minute. With m0 the start of the minute the test begins
in and T in [m0, m0 + 4m]:
  - a bucket at m0 - 1m is in the 5m window (m0 - 1m >= T - 5m iff T <= m0 + 4m) and in the
    10m one;
  - a bucket at m0 - 6m is in the 10m window (T <= m0 + 4m) and never in the 5m one
    (m0 - 6m >= T - 5m would need T <= m0 - 1m).
So every figure below holds for four whole minutes whatever minute boundaries pass meanwhile;
the test asserts at its end that it finished inside that span (a run that took longer fails
saying so rather than comparing other figures). Waits scale with OTTER_TEST_TIME_SCALE.
"""

import json
import re
import subprocess
import time
from datetime import datetime, timezone
from fractions import Fraction

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from aws_peers import REGION, MotoServer, aws_env
from conftest import scaled, slo_binary
from slo_util import emit_span, sdk_tracer
from slo_util import slo_evaluation as get_slo
from test_slo_sinks import Receiver, topic_with_queue

MS = 1_000_000  # ns
MINUTE_NS = 60_000 * MS
VALID_FOR_NS = 4 * MINUTE_NS  # see "Timing" above

ALERT_DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: pay-availability}
spec:
  service: pay
  objective: "90"
  window: 1h
  sli:
    spans:
      availability: {}
  alerts:
    - name: page
      severity: page
      burnRate: "5"
      longWindow: 10m
      shortWindow: 5m
"""


def f(x):
    """The correctly rounded double of an exact fraction (what the engine promises)."""
    return float(Fraction(x))


# ---- the figures of test 1, by hand -------------------------------------------------------------
#
# Objective 90 %: 1 - o = 1/10; burn = (bad / total) / (1/10) = 10 * bad / total; the page fires
# iff burn(10m) > 5 AND burn(5m) > 5 (strict), and resolves when either is <= 5.
#
# Request 1 (one OTLP request): 4 good spans in the bucket at m0 - 6m, 10 ERROR spans at m0 - 1m.
#   10m window: 10 bad of 14 -> burn 100/14 = 50/7 = 7.142857... > 5
#   5m window:  10 bad of 10 -> burn 10 > 5                              => FIRES
#   SLO window (1h): good 4, bad 10, total 14; budget 14/10 = 1.4 events, 10 > 1.4 -> BREACHED;
#   remaining fraction 1 - (10/14) / (1/10) = 1 - 50/7 = -43/7 (-614.2857...%).
FIRE_BURN = {"10m": f(Fraction(50, 7)), "5m": 10.0}
FIRE_REMAINING = Fraction(-43, 7)
# Request 2: 20 good spans at m0 - 1m.
#   10m window: 10 bad of 34 -> burn 100/34 = 50/17 = 2.941176...
#   5m window:  10 bad of 30 -> burn 100/30 = 10/3 = 3.333... <= 5        => RESOLVES
#   SLO window: good 24, bad 10, total 34; budget 3.4, 10 > 3.4 -> BREACHED;
#   remaining fraction 1 - 50/17 = -33/17 (-194.1176...%).
RESOLVE_BURN = {"10m": f(Fraction(50, 17)), "5m": f(Fraction(10, 3))}
RESOLVE_REMAINING = Fraction(-33, 17)
# Later: when T passes m0 + 4m the buckets age out; nothing can fire again (no more bad spans
# than above), but the figures above no longer hold: the test finishes well before.


def doc(state, burns, remaining, at):
    """The webhook / SNS message document (exporters/slo/README.md, "Webhook"), by hand. The
    summary prints numbers with C's %.6g: 50/7 -> 7.14286, 50/17 -> 2.94118, 10/3 -> 3.33333,
    -4300/7 % -> -614.286, -3300/17 % -> -194.118."""
    long_, short = burns["10m"], burns["5m"]
    return {
        "slo": "pay-availability", "service": "pay", "alert": "page", "severity": "page",
        "state": state, "at": at, "objective": "90", "status": "BREACHED",
        "burn_rates": {"10m": long_, "5m": short},
        "error_budget_remaining_fraction": f(remaining),
        "reason": ("burn rate above the threshold over the long and the short window"
                   if state == "firing" else None),
        "summary": "%s: SLO pay-availability, alert page (severity page): burn rate %s over 10m, "
                   "%s over 5m; %s%% of the error budget left; status BREACHED"
                   % ("FIRING" if state == "firing" else "RESOLVED", "%.6g" % long_,
                      "%.6g" % short, "%.6g" % f(remaining * 100)),
    }


def minute_start_ns():
    """The start of the current minute; waits for the next one when fewer than 5 s are left,
    so the scenario starts with its full four minutes."""
    now = time.time_ns()
    if now % MINUTE_NS > 55_000 * MS:
        time.sleep((MINUTE_NS - now % MINUTE_NS) / 1e9 + 0.05)
        now = time.time_ns()
    return now - now % MINUTE_NS


def send_spans(agent, service, spans):
    """Exports |spans| [(end_ns, kind, status, http code or None, duration ms, count)] of
    |service| through the SDK's gRPC exporter in ONE request (so that no evaluation sees half of
    it). Returns the number of spans sent."""
    tee, tp, tracer = sdk_tracer(
        agent, {"service.name": service}, "otter.it.slo-e2e",
        lambda tee: BatchSpanProcessor(tee, schedule_delay_millis=600_000,
                                       max_export_batch_size=512))
    n = 0
    for end_ns, kind, status, code, dur_ms, count in spans:
        for i in range(count):
            emit_span(tracer, "op-%d" % n, kind, status, code, dur_ms, end_ns)
            n += 1
    assert tp.force_flush(timeout_millis=int(scaled(30) * 1000))
    tp.shutdown()
    assert tee.ok(), tee.results
    assert len(tee.sent) == 1, "expected one OTLP request, got %d" % len(tee.sent)
    assert sum(len(ss.spans) for rs in tee.sent[0].resource_spans
               for ss in rs.scope_spans) == n
    return n


def slo_config(defs, state, alerts=None):
    x = {"definitions": [str(defs)], "state_file": str(state), "evaluation_interval": "1s",
         "checkpoint_interval": "1h"}
    if alerts:
        x["alerts"] = alerts
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}}}},
        "exporters": {"slo": x},
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"address": "127.0.0.1:0"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["slo"]}},
        },
    }


def parse_at(text):
    """An RFC 3339 UTC instant as the sinks write it -> Unix ms."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ"
    dt = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000 + 0.5)


class Queue:
    """The SQS queue subscribed to the topic: every envelope received, deleted once read."""

    def __init__(self, sqs, url):
        self.sqs, self.url, self.got = sqs, url, []

    def poll(self):
        r = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=0)
        for m in r.get("Messages", []):
            self.got.append(json.loads(m["Body"]))
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return self.got


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + scaled(timeout)
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


@pytest.fixture(scope="module")
def sns_user(moto):
    """An IAM user allowed SNS and SQS only, and its key."""
    iam = moto.client("iam")
    iam.create_user(UserName="otter-slo-e2e")
    iam.put_user_policy(UserName="otter-slo-e2e", PolicyName="slo", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sns:*", "sqs:*"], "Resource": "*"}]}))
    k = iam.create_access_key(UserName="otter-slo-e2e")["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def test_page_fires_then_resolves_once_per_sink(otterd, moto, sns_user, tmp_path):
    defs = tmp_path / "alerts.yaml"
    defs.write_text(ALERT_DEFS)
    topic, sqs, qurl = topic_with_queue(moto, sns_user, "slo-e2e")
    queue = Queue(sqs, qurl)
    hook = Receiver((200,))
    try:
        cfg = slo_config(defs, tmp_path / "alerts.ckpt", alerts={
            "log": True,
            "webhook": {"endpoint": hook.url},
            "sns": {"topic_arn": topic, "region": REGION, "endpoint": moto.endpoint},
        })
        env = aws_env(AWS_ACCESS_KEY_ID=sns_user[0], AWS_SECRET_ACCESS_KEY=sns_user[1])
        agent = otterd(name="alerts-e2e", config=cfg, env=env)

        m0 = minute_start_ns()
        t_begin_ms = time.time_ns() // MS
        # Request 1: 4 good at m0 - 6m (+30 s), 10 bad (status ERROR) at m0 - 1m (+30 s).
        assert send_spans(agent, "pay", [
            (m0 - 6 * MINUTE_NS + 30_000 * MS, SpanKind.SERVER, None, None, 5, 4),
            (m0 - MINUTE_NS + 30_000 * MS, SpanKind.SERVER, StatusCode.ERROR, None, 5, 10),
        ]) == 14
        wait_for("the firing notification on the webhook and in the queue",
                 lambda: hook.seen and queue.poll(), 15)
        # Several evaluations (every 1 s) while firing: nothing more is sent.
        time.sleep(scaled(3))
        queue.poll()
        assert len(hook.seen) == 1 and len(queue.got) == 1, (hook.bodies(), queue.got)
        fire_at = hook.bodies()[0]["at"]
        want_fire = doc("firing", FIRE_BURN, FIRE_REMAINING, fire_at)

        ev = get_slo(agent)["slos"][0]
        assert (ev["good"], ev["bad"], ev["total"], ev["status"]) == (4, 10, 14, "BREACHED")
        assert ev["burn_rates"] == FIRE_BURN
        assert ev["alerts"]["page"]["firing"] is True

        # Request 2: 20 good at m0 - 1m (+30 s): the short window's burn drops to 10/3.
        assert send_spans(agent, "pay", [
            (m0 - MINUTE_NS + 30_000 * MS, SpanKind.SERVER, StatusCode.OK, 200, 5, 20),
        ]) == 20
        wait_for("the resolved notification on the webhook and in the queue",
                 lambda: len(hook.seen) >= 2 and len(queue.poll()) >= 2, 15)
        # Several more evaluations: still exactly two of each.
        time.sleep(scaled(4))
        queue.poll()
        assert len(hook.seen) == 2 and len(queue.got) == 2, (hook.bodies(), queue.got)
        resolve_at = hook.bodies()[1]["at"]
        want_resolve = doc("resolved", RESOLVE_BURN, RESOLVE_REMAINING, resolve_at)

        ev = get_slo(agent)["slos"][0]
        assert (ev["good"], ev["bad"], ev["total"], ev["status"]) == (24, 10, 34, "BREACHED")
        assert ev["burn_rates"] == RESOLVE_BURN
        assert ev["alerts"]["page"] == {"firing": False, "reason": None}
        t_end_ns = time.time_ns()
        assert t_end_ns < m0 + VALID_FOR_NS, \
            "the scenario took past m0 + 4m: its windows no longer hold the figures"

        # The webhook: one firing, then one resolved, exactly these documents.
        assert hook.bodies() == [want_fire, want_resolve]
        for s in hook.seen:
            assert s["path"] == "/hooks/slo"
            assert s["headers"]["Content-Type"] == "application/json"
        # The change instants: while the test ran, firing before resolved.
        t_fire, t_resolve = parse_at(fire_at), parse_at(resolve_at)
        assert t_begin_ms <= t_fire < t_resolve <= t_end_ns // MS

        # SNS: each envelope once, in order (the resolved one was published only after the
        # firing one had been read from the queue), with the same document as the webhook's.
        assert [(e["Type"], e["TopicArn"], e["Subject"], json.loads(e["Message"]))
                for e in queue.got] == [
            ("Notification", topic, "FIRING: pay-availability / page", want_fire),
            ("Notification", topic, "RESOLVED: pay-availability / page", want_resolve)]

        # The log: one line per change (percent / 100 = the remaining fraction, %.6g).
        log = agent.stderr()
        assert log.count("alert firing: slo=pay-availability") == 1, log
        assert log.count("alert resolved: slo=pay-availability") == 1, log
        assert ("alert firing: slo=pay-availability alert=page severity=page "
                "burn_rate[10m]=7.14286 burn_rate[5m]=10 error_budget_remaining=-6.14286 "
                "status=BREACHED") in log, log
        assert ("alert resolved: slo=pay-availability alert=page severity=page "
                "burn_rate[10m]=2.94118 burn_rate[5m]=3.33333 error_budget_remaining=-1.94118 "
                "status=BREACHED") in log, log
        # Every sink counted two deliveries and no failure.
        for sink in ("log", "webhook", "sns"):
            assert agent.metric_sum("otter_slo_sink_sent_total", sink=sink) == 2, sink
        for sink in ("webhook", "sns"):
            assert agent.metric_sum("otter_slo_sink_failed_total", sink=sink) == 0, sink
        agent.stop()
        # Nothing more at shutdown either (the checkpoint and the sinks' drain send nothing new).
        assert len(hook.seen) == 2 and len(queue.poll()) == 2
    finally:
        hook.stop()


# ---- test 2: the state file's report equals GET /v1/slo -------------------------------------

MIX_DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: shop-availability}
spec:
  service: shop
  objective: "99"
  window: 1h
  sli:
    spans:
      availability: {}
  alerts:
    - name: page
      severity: page
      burnRate: "5"
      longWindow: 10m
      shortWindow: 5m
---
apiVersion: otter/v1
kind: SLO
metadata: {name: shop-latency}
spec:
  service: shop
  objective: "80"
  window: 1h
  sli:
    spans:
      kinds: [server]
      latency: {threshold: 100ms}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: idle-availability}
spec:
  service: idle
  objective: "99"
  window: 1h
  sli:
    spans:
      availability: {}
"""


def mix(m0):
    """The spans of service shop: (end, kind, status, http code, duration ms, count)."""
    a = m0 - 6 * MINUTE_NS + 30_000 * MS  # in the 10m window only
    b = m0 - MINUTE_NS + 30_000 * MS      # in both alert windows
    return [
        (a, SpanKind.SERVER, None, 200, 40, 5),                # avail good, latency good
        (a, SpanKind.SERVER, None, 500, 300, 1),               # avail bad (5xx), latency bad
        (b, SpanKind.SERVER, StatusCode.OK, None, 100, 8),     # avail good, latency good (= 100)
        (b, SpanKind.SERVER, StatusCode.ERROR, 404, 101, 2),   # avail good (4xx decides), slow
        (b, SpanKind.CONSUMER, StatusCode.ERROR, None, 10, 3),  # avail bad; latency: server only
        (b, SpanKind.CLIENT, StatusCode.ERROR, 500, 10, 2),    # never counted (client)
        (b, SpanKind.INTERNAL, StatusCode.ERROR, None, 10, 1),  # never counted (internal)
    ]


# The figures at the shutdown (the open minute's spans, below, not counted yet):
# shop-availability (server and consumer): bucket a: 6 eligible, 1 bad; bucket b: 8 + 2 + 3 = 13
#   eligible, 3 bad. Total 19, bad 4, good 15. Objective 99 %: budget 19/100 = 0.19 events,
#   4 > 0.19 -> BREACHED. Burn 10m: (4/19) / (1/100) = 400/19 = 21.05... > 5; 5m (bucket b only):
#   300/13 = 23.07... > 5 -> the page fires (and its state is in the checkpoint).
#   Attainment 1500/19 = 78.94...%; exhausted, so the time to exhaustion is 0.
AVAIL = {"good": 15, "bad": 4, "total": 19, "status": "BREACHED",
         "attainment_pct": f(Fraction(1500, 19)), "time_to_exhaustion_seconds": 0,
         "burn_rates": {"10m": f(Fraction(400, 19)), "5m": f(Fraction(300, 13))}}
# shop-latency (server only): bucket a: 6, 1 slow (300 ms); bucket b: 8 + 2 = 10, 2 slow
#   (101 ms > 100; 100 ms is good: inclusive). Total 16, bad 3, good 13. Objective 80 %: budget
#   16/5 = 3.2, 3 <= 3.2 -> met; remaining 0.2 = 1/16 of the budget < 0.5 -> WARNING.
#   Attainment 13/16 = 81.25 %. No alert: the time to exhaustion uses the 1h burn,
#   (3/16) / (1/5) = 15/16, so TTE = remaining fraction * W / burn
#   = (1/16) * 3600 / (15/16) = 240 s.
LATENCY = {"good": 13, "bad": 3, "total": 16, "status": "WARNING", "attainment_pct": 81.25,
           "error_budget": {"unit": "events", "total": 3.2, "consumed": 3, "remaining": 0.2,
                            "remaining_fraction": 0.0625, "remaining_seconds": None},
           "time_to_exhaustion_seconds": 240, "burn_rates": {}}
IDLE = {"good": 0, "bad": 0, "total": 0, "status": "NO_DATA", "attainment_pct": None,
        "time_to_exhaustion_seconds": None, "burn_rates": {}}


def comparable(slo):
    """An SLO entry without what depends on the second it was evaluated at: the "young window"
    warning says how long the engine has known data (both instants are within the same run, but
    a second may pass between the GET and the shutdown)."""
    out = dict(slo)
    out["warnings"] = [w for w in slo["warnings"] if not w.startswith("young window:")]
    return out


def run_slo_report(defs, state, *at):
    argv = [str(slo_binary()), "report", "--definitions", str(defs), "--from", "state=%s" % state,
            "--format", "json"]
    for a in at:
        argv += ["--at", a]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(60))
    assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
    return r


# The open minute: 7 SERVER spans of shop ending one second ago, at m0 at the earliest (in minute
# m0, still open at the GET and at the shutdown), status ERROR with HTTP 500, 5 ms: availability
# bad, latency good.
# Neither report may count them (an open bucket); the checkpoint must keep them for later.
OPEN = (SpanKind.SERVER, StatusCode.ERROR, 500, 5, 7)


def mix_run(otterd, tmp_path, attempt):
    """Sends the mix, GETs /v1/slo, stops otterd. Returns (m0, live report) or None when the
    minute m0 closed before the shutdown (the live report then legitimately differs from the
    checkpoint's: the open minute's spans are counted in the latter)."""
    defs = tmp_path / "mix.yaml"
    state = tmp_path / ("state-%d" % attempt) / "slo.ckpt"
    state.parent.mkdir()
    agent = otterd(name="mix-%d" % attempt, config=slo_config(defs, state))
    m0 = minute_start_ns()
    # An evaluation now moves the engine's clock into minute m0 (otherwise the timer's last tick
    # may still be in the minute before, which is b's: b's spans would then not be late).
    get_slo(agent)
    assert send_spans(agent, "shop", mix(m0)) == 22
    assert send_spans(agent, "other", [
        (m0 - MINUTE_NS + 30_000 * MS, SpanKind.SERVER, StatusCode.ERROR, 500, 5, 2)]) == 2
    # In minute m0 even when it has just begun (never the closed minute before it).
    assert send_spans(agent, "shop", [(max(time.time_ns() - 1000 * MS, m0 + MS),) + OPEN]) == 7
    wait_for("the spans in /v1/slo",
             lambda: get_slo(agent)["slos"][0]["total"] >= 19, 10)
    live = get_slo(agent)
    agent.stop()  # SIGTERM: the shutdown checkpoint
    assert state.is_file()
    if time.time_ns() >= m0 + MINUTE_NS:
        return None
    return m0, state, live


def test_state_file_report_equals_v1_slo(otterd, tmp_path):
    (tmp_path / "mix.yaml").write_text(MIX_DEFS)
    defs = tmp_path / "mix.yaml"
    # Retried once when a minute boundary passed between the open minute's spans and the
    # shutdown (minute_start_ns leaves at least 5 s; the run takes 1-2 s, 5 s sanitized).
    got = mix_run(otterd, tmp_path, 1) or mix_run(otterd, tmp_path, 2)
    assert got is not None, "a minute boundary passed in both attempts"
    m0, state, live = got

    r = run_slo_report(defs, state)
    assert r.returncode == 1, r  # 1: an SLO is BREACHED
    (ev,) = json.loads(r.stdout)["evaluations"]

    by_live = {s["name"]: s for s in live["slos"]}
    by_rep = {s["name"]: s for s in ev["slos"]}
    assert list(by_live) == list(by_rep) == [
        "shop-availability", "shop-latency", "idle-availability"]
    for name, want in (("shop-availability", AVAIL), ("shop-latency", LATENCY),
                       ("idle-availability", IDLE)):
        for got in (by_live[name], by_rep[name]):
            assert {k: got[k] for k in want} == want, (name, got)
        assert comparable(by_rep[name]) == comparable(by_live[name]), name
    assert by_live["shop-availability"]["alerts"]["page"]["firing"] is True
    # The spans in closed minutes were added late, and both reports say so. The exporter sums a
    # request's spans per SLO and minute before adding them, so the warning counts additions:
    # the one request holds minute a's spans, then minute b's: two additions, both behind the
    # engine's clock (moved into m0 before the request).
    for name in ("shop-availability", "shop-latency"):
        late = [int(m.group(1)) for m in (
            re.fullmatch(r"(\d+) late observations were added to closed buckets", w)
            for w in by_rep[name]["warnings"]) if m]
        assert late == [2], (name, by_rep[name]["warnings"])
    # The report is at the checkpoint's clock: the shutdown, after the GET, in minute m0.
    assert parse_at(live["at"]) <= parse_at(ev["at"]) < (m0 + MINUTE_NS) // MS

    # The same checkpoint at T' = m0 + 1m + 5 s: minute m0 has closed, so the open minute's 7
    # spans count. 5m window at T': buckets from m0 - 3m: b and m0; 10m: a, b and m0.
    #   shop-availability: good 15, total 19 + 7 = 26 -> BREACHED; burn 5m: (3 + 7) bad of
    #   13 + 7 = 20 -> (1/2) / (1/100) = 50; 10m: 11 of 26 -> 1100/26 = 550/13 = 42.30...
    #   shop-latency: good 13 + 7 = 20 of 23; budget 23/5 = 4.6, bad 3: remaining 1.6 = 8/23 of
    #   the budget < 0.5 -> WARNING.
    t2 = (m0 + MINUTE_NS) // 1_000_000_000 + 5
    at = datetime.fromtimestamp(t2, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = run_slo_report(defs, state, at)
    assert r.returncode == 1, r
    (ev,) = json.loads(r.stdout)["evaluations"]
    assert ev["at"] == at
    later = {s["name"]: s for s in ev["slos"]}
    a, lat = later["shop-availability"], later["shop-latency"]
    assert {k: a[k] for k in ("good", "bad", "total", "status", "burn_rates")} == {
        "good": 15, "bad": 11, "total": 26, "status": "BREACHED",
        "burn_rates": {"10m": f(Fraction(550, 13)), "5m": 50.0}}
    assert a["alerts"]["page"]["firing"] is True
    assert {k: lat[k] for k in ("good", "bad", "total", "status")} == {
        "good": 20, "bad": 3, "total": 23, "status": "WARNING"}
    assert lat["error_budget"]["remaining_fraction"] == f(Fraction(8, 23))
    # Between the checkpoint and T' the agent was down: a gap, reported as such.
    for s in ev["slos"]:
        assert any(w.startswith("agent gap: no knowledge of ") for w in s["warnings"]), s
