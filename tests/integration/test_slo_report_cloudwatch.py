# SPDX-License-Identifier: Apache-2.0
"""`slo report --from cloudwatch` (slo/README.md) against moto server with IAM signature checks on
(aws_peers.MotoServer): botocore writes GoodCount / TotalCount from two "agents" (as otterd's EMF
SLO metrics would, dimensions SLO and Service, slo/engine/slo_cw.h), then the command reads them
back with GetMetricData (AWS JSON 1.0, signed by exporters/aws with keys from the environment)
and its report must hold the hand-summed counts, statuses and exit code.

moto serves GetMetricData from the raw points for any period, so the test cannot see CloudWatch's
retention; it checks that data older than 15 days (read as 5-minute sums) is counted the same as
recent data (1-minute sums), and that data outside the window, of another Service value or
another SLO is not."""

import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from aws_peers import REGION, MotoServer

REPO_ROOT = Path(__file__).resolve().parents[2]
MIN = 60
DAY = 86400

DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: checkout}
spec:
  service: checkout
  objective: "99"
  window: 6h
  sli: {spans: {availability: {}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: search}
spec:
  objective: "90"
  window: 30d
  sli: {spans: {service: search-api, availability: {}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: quiet}
spec:
  service: quiet
  objective: "99.9"
  window: 1h
  sli: {spans: {availability: {}}}
"""


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    iam = m.client("iam")
    iam.create_user(UserName="slo-reader")
    # moto names CloudWatch's IAM actions monitoring:*; AWS names them cloudwatch:*.
    iam.put_user_policy(UserName="slo-reader", PolicyName="cw", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["monitoring:*", "cloudwatch:*"],
                       "Resource": "*"}]}))
    key = iam.create_access_key(UserName="slo-reader")["AccessKey"]
    m.cw_key, m.cw_secret = key["AccessKeyId"], key["SecretAccessKey"]
    yield m
    m.proc.terminate()
    m.proc.wait(10)


def put(cw, slo, service, t, good, total):
    ts = datetime.fromtimestamp(t, timezone.utc)
    dims = [{"Name": "SLO", "Value": slo}, {"Name": "Service", "Value": service}]
    cw.put_metric_data(Namespace="Otter/SLO", MetricData=[
        {"MetricName": "GoodCount", "Dimensions": dims, "Timestamp": ts, "Value": float(good)},
        {"MetricName": "TotalCount", "Dimensions": dims, "Timestamp": ts, "Value": float(total)}])


def env_for(moto, secret=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=moto.cw_key, AWS_SECRET_ACCESS_KEY=secret or moto.cw_secret,
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return env


def report(slo_bin, moto, defs, *args, secret=None):
    p = subprocess.run([str(slo_bin), "report", "--from", "cloudwatch", "--definitions",
                        str(defs), "--region", REGION, "--endpoint", moto.endpoint]
                       + [str(a) for a in args], capture_output=True, timeout=120,
                       env=env_for(moto, secret))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_counts_from_two_agents(slo_bin, moto, tmp_path):
    cw = moto.client("cloudwatch", key=moto.cw_key, secret=moto.cw_secret)
    # A whole 5 minutes (the 30-day window's bucket) before now.
    at = (int(datetime.now(timezone.utc).timestamp()) // 300 - 1) * 300
    # checkout (6 h window [at - 6h, at)): two agents, every 20 minutes over the last 3 hours.
    for k in range(9):
        t = at - 10 * MIN - 20 * MIN * k
        put(cw, "checkout", "checkout", t, 100, 100)     # agent A: all good
        put(cw, "checkout", "checkout", t + 7, 48, 50)   # agent B, same minute: 2 bad
    put(cw, "checkout", "checkout", at - 7 * 3600, 0, 1000)  # before the window: not counted
    put(cw, "checkout", "other", at - 30 * MIN, 0, 500)      # another Service: not counted
    put(cw, "checkout", "checkout", at + 30, 0, 700)         # at or after --at: not counted
    # checkout: good 9 * (100 + 48) = 1332 of 9 * (100 + 50) = 1350; bad 18 > budget
    #   0.01 * 1350 = 13.5 -> BREACHED.
    # search (30 d window; Service from the span SLI): recent 1-minute data and data 20 days
    # old (5-minute sums), and 40 days old (outside the window).
    put(cw, "search", "search-api", at - 2 * 3600, 95, 100)
    put(cw, "search", "search-api", at - 2 * 3600 + 20, 90, 100)   # agent B, same minute
    put(cw, "search", "search-api", at - 20 * DAY + 90, 300, 300)  # agent A
    put(cw, "search", "search-api", at - 20 * DAY + 150, 10, 100)  # agent B, same 5 minutes
    put(cw, "search", "search-api", at - 40 * DAY, 0, 1000)        # outside the window
    # search: good 95 + 90 + 300 + 10 = 495 of 100 + 100 + 300 + 100 = 600; bad 105 > budget
    #   0.1 * 600 = 60 -> BREACHED.
    # quiet: nothing -> NO_DATA.
    defs = tmp_path / "slos.yaml"
    defs.write_text(DEFS)
    rc, out, err = report(slo_bin, moto, defs, "--at", iso(at), "--format", "json")
    assert rc == 1, err
    doc = json.loads(out)
    assert [e["at"] for e in doc["evaluations"]] == [iso(at)]
    slos = {s["name"]: s for s in doc["evaluations"][0]["slos"]}
    got = {n: (s["good"], s["bad"], s["total"], s["status"]) for n, s in slos.items()}
    assert got == {
        "checkout": (1332, 18, 1350, "BREACHED"),
        "search": (495, 105, 600, "BREACHED"),
        "quiet": (0, 0, 0, "NO_DATA"),
    }, got

    # An earlier instant, at - 1h59m: checkout's window [at - 7h59m, at - 1h59m) holds the
    # points at at - 130, -150 and -170 min (k = 6, 7, 8; k = 5 is at - 110 min, too late) and
    # the one at at - 7h: good 3 * 148 = 444 of 3 * 150 + 1000 = 1450.
    # search: a 30-day window moves in 5-minute buckets (slo/README.md), so at at - 1h59m it ends
    # at at - 2h and the points of the minute at - 2h are out: good 300 + 10 = 310 of 400.
    rc, out, err = report(slo_bin, moto, defs, "--at", iso(at - 2 * 3600 + 60), "--format",
                          "json")
    assert rc == 1, err
    s = {x["name"]: x for x in json.loads(out)["evaluations"][0]["slos"]}
    assert (s["checkout"]["good"], s["checkout"]["total"]) == (444, 1450)
    assert (s["search"]["good"], s["search"]["total"]) == (310, 400)

    # Without --at: now. The text format names every SLO with its status.
    rc, out, err = report(slo_bin, moto, defs, "--format", "text")
    assert rc == 1, err
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines()[2:] if ln.strip()}
    assert "BREACHED" in rows["checkout"] and "BREACHED" in rows["search"], out
    assert "NO_DATA" in rows["quiet"], out


def test_bad_signature_and_unreachable(slo_bin, moto, tmp_path):
    defs = tmp_path / "slos.yaml"
    defs.write_text(DEFS)
    rc, out, err = report(slo_bin, moto, defs, secret="not-the-secret")
    assert rc == 2 and out == ""
    assert "GetMetricData at %s: HTTP 403: SignatureDoesNotMatch" % moto.endpoint in err, err
    # A user whose policy does not allow GetMetricData.
    iam = moto.client("iam")
    iam.create_user(UserName="no-cw")
    key = iam.create_access_key(UserName="no-cw")["AccessKey"]
    env = dict(env_for(moto), AWS_ACCESS_KEY_ID=key["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    p = subprocess.run([str(slo_bin), "report", "--from", "cloudwatch", "--definitions",
                        str(defs), "--region", REGION, "--endpoint", moto.endpoint],
                       capture_output=True, timeout=120, env=env)
    assert p.returncode == 2 and p.stdout == b""
    assert b"HTTP 403: AccessDenied" in p.stderr and b"GetMetricData" in p.stderr, p.stderr
    p = subprocess.run([str(slo_bin), "report", "--from", "cloudwatch", "--definitions",
                        str(defs), "--region", REGION, "--endpoint", "http://127.0.0.1:9",
                        "--timeout", "5"], capture_output=True, timeout=120, env=env_for(moto))
    assert p.returncode == 2 and p.stdout == b""
    assert b"GetMetricData at http://127.0.0.1:9" in p.stderr, p.stderr


def test_usage(slo_bin, tmp_path):
    p = subprocess.run([str(slo_bin), "report", "--from", "cloudwatch"], capture_output=True)
    assert p.returncode == 2 and b"missing --definitions" in p.stderr
    p = subprocess.run([str(slo_bin), "report", "--from", "agent=http://x:1", "--region", "r"],
                       capture_output=True)
    assert p.returncode == 2 and b"go with --from cloudwatch" in p.stderr
