# SPDX-License-Identifier: Apache-2.0
"""`slo dashboard` and `slo alarms` against CloudWatch as moto server implements it, with botocore
as the client: the dashboard body is checked against the documented DashboardBody structure
(dashboard_problems below, written from the CloudWatch API reference, since moto only checks
that it is JSON) and stored; every PutMetricAlarm and PutCompositeAlarm request is accepted and
read back with describe_alarms (thresholds and the composite rule text exactly); GoodCount /
TotalCount data put with the slo_cw.h dimensions are the very series the alarms read.

moto 5.2.5 has no PutCompositeAlarm (it answers NotImplementedError), but its PutMetricAlarm
handler already reads AlarmRule "to re-use this method for composite alarms"; the moto server
here therefore runs in this process with PutCompositeAlarm routed to that handler. The request
is still botocore's, validated against the service model, and the rule is checked here too.
"""

import json
import os
import re
import socket
import subprocess
import textwrap
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHATBOT_SLOS = REPO_ROOT / "chatbot" / "slo.yaml"
OPENSLO_EXAMPLE = REPO_ROOT / "slo" / "examples" / "chatbot-openslo.yaml"
REGION = "us-east-1"
ARN = "arn:aws:sns:us-east-1:123456789012:otter-it-alerts"
ID_RE = re.compile(r"^[a-z][A-Za-z0-9_]*$")


def run(slo_bin, *args):
    p = subprocess.run([str(slo_bin)] + [str(a) for a in args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@pytest.fixture(scope="module")
def cw():
    import moto.cloudwatch.responses as responses
    from moto.server import ThreadedMotoServer

    responses.CloudWatchResponse.put_composite_alarm = responses.CloudWatchResponse.put_metric_alarm
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    session = boto3.session.Session(aws_access_key_id="AKIDOTTERTEST0000000",
                                    aws_secret_access_key="secret", region_name=REGION)
    yield session.client("cloudwatch", endpoint_url=f"http://127.0.0.1:{port}")
    server.stop()


# ---- the documented DashboardBody structure --------------------------------------------------

VIEWS = {"timeSeries", "singleValue", "bar", "pie", "gauge", "table"}


def _expr_ids(expr):
    return set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", expr)) - {"IF", "AND", "OR"}


def metric_widget_problems(p):
    metrics = p.get("metrics")
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
        return "metrics must be an array of 1 to 100 entries"
    ids, refs = set(), set()
    for m in metrics:
        if not isinstance(m, list) or not m:
            return "each metric must be a non-empty array"
        opts = m[-1] if isinstance(m[-1], dict) else {}
        if isinstance(m[0], dict):  # [{"expression", "label", "id", ...}]
            if len(m) != 1 or not isinstance(m[0].get("expression"), str):
                return "an expression entry is [{expression, ...}]"
            refs |= _expr_ids(m[0]["expression"])
        else:  # [Namespace, MetricName, (DimensionName, DimensionValue)*, {rendering}?]
            names = m[:-1] if opts else m
            if len(names) < 2 or len(names) % 2 != 0 or not all(isinstance(x, str) for x in names):
                return "a metric is [Namespace, MetricName, name, value, ..., {options}?]"
            if len(names) // 2 - 1 > 30:
                return "at most 30 dimensions"
        for k in opts:
            if k not in {"id", "label", "visible", "stat", "period", "color", "yAxis", "region",
                         "expression", "accountId"}:
                return "unknown rendering property %s" % k
        if "id" in opts:
            if not ID_RE.match(opts["id"]) or opts["id"] in ids:
                return "bad or duplicate id %r" % opts["id"]
            ids.add(opts["id"])
        if "period" in opts and (not isinstance(opts["period"], int) or opts["period"] % 60):
            return "a period must be a multiple of 60 seconds"
        if opts.get("yAxis", "left") not in ("left", "right"):
            return "yAxis is left or right"
    if not refs <= ids:
        return "expressions name unknown ids %s" % sorted(refs - ids)
    if p.get("view", "timeSeries") not in VIEWS:
        return "unknown view"
    if "period" in p and (not isinstance(p["period"], int) or p["period"] % 60):
        return "the widget period must be a multiple of 60"
    for a in (p.get("annotations") or {}).get("horizontal", []):
        if not isinstance(a.get("value"), (int, float)) or isinstance(a.get("value"), bool):
            return "an annotation needs a numeric value"
    return None


def dashboard_problems(body):
    """None when |body| follows the DashboardBody structure, else the broken rule."""
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        return "a body is an object with a widgets array"
    if set(body) - {"widgets", "start", "end", "periodOverride", "variables"}:
        return "unknown top-level key"
    if body.get("periodOverride", "auto") not in ("auto", "inherit"):
        return "periodOverride is auto or inherit"
    if len(body["widgets"]) > 500:
        return "at most 500 widgets"
    cells = set()
    for w in body["widgets"]:
        for k in ("x", "y", "width", "height"):
            if not isinstance(w.get(k), int) or isinstance(w.get(k), bool):
                return "widget %s must be an integer" % k
        if not (0 <= w["x"] and 1 <= w["width"] <= 24 and w["x"] + w["width"] <= 24
                and 0 <= w["y"] and 1 <= w["height"] <= 1000):
            return "widget outside the 24-column grid"
        for cx in range(w["x"], w["x"] + w["width"]):
            for cy in range(w["y"], w["y"] + w["height"]):
                if (cx, cy) in cells:
                    return "widgets overlap at %d,%d" % (cx, cy)
                cells.add((cx, cy))
        p = w.get("properties")
        if not isinstance(p, dict):
            return "a widget needs properties"
        if w.get("type") == "text":
            if not isinstance(p.get("markdown"), str) or not p["markdown"]:
                return "a text widget needs markdown"
        elif w.get("type") == "metric":
            err = metric_widget_problems(p)
            if err:
                return err
        else:
            return "unexpected widget type %r" % w.get("type")
    return None


def test_the_validator_catches_what_it_should():
    good = {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                         "properties": {"metrics": [[{"expression": "a / b", "id": "e"}],
                                                    ["N", "M", "D", "v", {"id": "a"}],
                                                    ["N", "M2", {"id": "b"}]]}}]}
    assert dashboard_problems(good) is None
    bad = json.loads(json.dumps(good))
    bad["widgets"][0]["properties"]["metrics"][2] = ["N", "M2", "D"]
    assert "a metric is" in dashboard_problems(bad)
    bad = json.loads(json.dumps(good))
    bad["widgets"][0]["properties"]["metrics"][0][0]["expression"] = "a / c"
    assert "unknown ids" in dashboard_problems(bad)
    bad = json.loads(json.dumps(good))
    bad["widgets"].append(dict(bad["widgets"][0], x=6))
    assert "overlap" in dashboard_problems(bad)


# ---- the dashboard ---------------------------------------------------------------------------


def test_chatbot_slos_validate(slo_bin):
    rc, out, err = run(slo_bin, "validate", CHATBOT_SLOS)
    assert (rc, err) == (0, "")
    assert out == "%s: ok (4 SLOs)\n" % CHATBOT_SLOS


def test_dashboard_body_is_valid_and_stored(slo_bin, cw):
    rc, out, err = run(slo_bin, "dashboard", "--definitions", CHATBOT_SLOS, "--region", REGION,
                       "--dashboard-name", "otter-it-slo")
    assert (rc, err) == (0, "")
    body = json.loads(out)
    assert dashboard_problems(body) is None
    # A title, then per SLO: header, attainment, budget left, burn rates, SLI series.
    assert len(body["widgets"]) == 1 + 4 * 5
    assert body["periodOverride"] == "inherit"
    metric = [w for w in body["widgets"] if w["type"] == "metric"]
    assert {w["properties"]["region"] for w in metric} == {REGION}
    by_title = {w["properties"].get("title"): w["properties"] for w in metric}
    att = by_title["chatbot-chat-availability: attainment over 30d (%)"]
    assert att["view"] == "singleValue" and att["setPeriodToTimeRange"] is True
    assert att["start"] == "-PT720H"  # 30 d = 720 h
    assert att["metrics"][0][0]["expression"] == "100 * good / total"
    assert att["metrics"][1] == ["Otter/SLO", "GoodCount", "SLO", "chatbot-chat-availability",
                                 "Service", "chatbot",
                                 {"id": "good", "stat": "Sum", "visible": False}]
    budget = by_title["chatbot-chat-availability: error budget left over 30d (%)"]
    assert budget["metrics"][0][0]["expression"] == "100 * (1 - (1 - good / total) / 0.001)"
    burn = by_title["chatbot-chat-availability: burn rate per alert window"]
    # Windows in order of first use: 1h, 5m, 6h, 30m, 3d, 6h already seen -> 5 series.
    exprs = [m[0]["expression"] for m in burn["metrics"] if isinstance(m[0], dict)]
    assert exprs == ["(1 - g%d / t%d) / 0.001" % (i, i) for i in range(1, 6)]
    periods = [m[-1]["period"] for m in burn["metrics"] if m[1:2] == ["GoodCount"]]
    assert periods == [3600, 300, 21600, 1800, 259200]
    assert [a["value"] for a in burn["annotations"]["horizontal"]] == [14.4, 6, 1]
    lat = by_title["chatbot-chat-latency: error budget left over 30d (%)"]
    assert lat["metrics"][0][0]["expression"] == "100 * (1 - (1 - good / total) / 0.01)"
    stream = by_title["chatbot-chat-stream-latency: SLI per 5m"]
    assert stream["period"] == 300
    assert stream["annotations"]["horizontal"] == [{"label": "period target 95%", "value": 95}]
    # Exact decimals: no binary floating-point noise anywhere in the text.
    assert not re.search(r"\d\.\d*0000000\d|\d\.\d*9999999\d", out)

    cw.put_dashboard(DashboardName="otter-it-slo", DashboardBody=out)
    got = cw.get_dashboard(DashboardName="otter-it-slo")
    assert json.loads(got["DashboardBody"]) == body


# ---- the alarms ------------------------------------------------------------------------------


def alarms_of(slo_bin, *extra):
    rc, out, err = run(slo_bin, "alarms", "--definitions", *extra)
    assert (rc, err) == (0, "")
    return out, json.loads(out, parse_float=Decimal)


def limits_problems(a):
    """CloudWatch's PutMetricAlarm limits for a metric-math alarm (API reference)."""
    if not 1 <= len(a["AlarmName"]) <= 255:
        return "name length"
    if len(a["Metrics"]) > 10:
        return "a metric-math alarm reads at most 10 metrics"
    ids = {m["Id"] for m in a["Metrics"]}
    if len(ids) != len(a["Metrics"]) or not all(ID_RE.match(i) for i in ids):
        return "ids"
    returned = [m for m in a["Metrics"] if m["ReturnData"]]
    if len(returned) != 1 or not _expr_ids(returned[0]["Expression"]) <= ids:
        return "exactly one returned expression over known ids"
    for m in a["Metrics"]:
        if "MetricStat" in m:
            period = m["MetricStat"]["Period"]
            if period not in (10, 20, 30) and period % 60:
                return "period %d" % period
            total = period * a["EvaluationPeriods"]
            if total > 604800 or (period < 3600 and total > 86400):
                return "evaluation range %d s" % total
    return None


def test_alarms_are_accepted_and_read_back_exactly(slo_bin, cw):
    _, spec = alarms_of(slo_bin, CHATBOT_SLOS, "--sns-topic-arn", ARN, "--prefix", "it-")
    metric, composite = spec["MetricAlarms"], spec["CompositeAlarms"]
    # 2 availability SLOs x 3 pairs + 2 latency SLOs x 4 default pairs = 14 pairs, 28 windows.
    assert (len(metric), len(composite)) == (28, 14)
    for a in metric:
        assert limits_problems(a) is None, a["AlarmName"]
        # Pairs notify through their composite only.
        assert "AlarmActions" not in a and "OKActions" not in a
        req = json.loads(json.dumps(a, default=str))
        req["Threshold"] = float(a["Threshold"])
        cw.put_metric_alarm(**req)
    for c in composite:
        assert c["AlarmActions"] == [ARN] and c["OKActions"] == [ARN]
        cw.put_composite_alarm(**c)

    got = cw.describe_alarms(AlarmNamePrefix="it-")
    m = {a["AlarmName"]: a for a in got["MetricAlarms"]}
    c = {a["AlarmName"]: a for a in got["CompositeAlarms"]}
    assert set(m) == {a["AlarmName"] for a in metric}
    assert set(c) == {a["AlarmName"] for a in composite}

    # Written out by hand: 99.9 % -> 1 - o = 0.001; the long window has the 100-event guard.
    fast = m["it-slo-chatbot-chat-availability-page-fast-1h"]
    assert fast["Threshold"] == 14.4
    assert fast["ComparisonOperator"] == "GreaterThanThreshold"
    assert fast["TreatMissingData"] == "notBreaching"
    assert fast["EvaluationPeriods"] == 1 and fast["DatapointsToAlarm"] == 1
    q = {x["Id"]: x for x in fast["Metrics"]}
    assert q["burn"]["Expression"] == "IF(total >= 100, (1 - good / total) / 0.001, 0)"
    assert q["good"]["MetricStat"] == {
        "Metric": {"Namespace": "Otter/SLO", "MetricName": "GoodCount",
                   "Dimensions": [{"Name": "SLO", "Value": "chatbot-chat-availability"},
                                  {"Name": "Service", "Value": "chatbot"}]},
        "Period": 3600, "Stat": "Sum"}
    short = m["it-slo-chatbot-chat-availability-page-fast-5m"]
    assert {x["Id"]: x for x in short["Metrics"]}["burn"]["Expression"] == \
        "(1 - good / total) / 0.001"
    assert {x["Id"]: x for x in short["Metrics"]}["total"]["MetricStat"]["Period"] == 300
    ticket = m["it-slo-chatbot-chat-availability-ticket-3d"]
    assert ticket["Threshold"] == 1
    # The 3-day window is one period of 259,200 s (allowed: a multiple of 60, at most 7 days).
    assert {x["Id"]: x for x in ticket["Metrics"]}["good"]["MetricStat"]["Period"] == 259200
    # 99 %: 1 - o = 0.01; the Workbook's thresholds 14.4 / 6 / 3 / 1 on the scaled windows.
    lat = {n: a for n, a in m.items() if n.startswith("it-slo-chatbot-chat-latency-")}
    assert {n[len("it-slo-chatbot-chat-latency-"):]: a["Threshold"] for n, a in lat.items()} == {
        "page-fast-60m": 14.4, "page-fast-5m": 14.4, "page-slow-360m": 6, "page-slow-30m": 6,
        "ticket-fast-1440m": 3, "ticket-fast-120m": 3, "ticket-slow-4320m": 1,
        "ticket-slow-360m": 1}
    assert {x["Id"]: x for x in lat["it-slo-chatbot-chat-latency-page-fast-60m"]["Metrics"]}[
        "burn"]["Expression"] == "(1 - good / total) / 0.01"
    # 28 d scaled: 56 min = 3,360 s.
    stream = m["it-slo-chatbot-chat-stream-latency-page-fast-56m"]
    assert {x["Id"]: x for x in stream["Metrics"]}["good"]["MetricStat"]["Period"] == 3360
    assert "approximation of the period burn" in stream["AlarmDescription"]

    pair = c["it-slo-chatbot-chat-availability-page-fast-1h-5m"]
    assert pair["AlarmRule"] == ('ALARM("it-slo-chatbot-chat-availability-page-fast-1h") AND '
                                 'ALARM("it-slo-chatbot-chat-availability-page-fast-5m")')
    assert pair["AlarmActions"] == [ARN] and pair["OKActions"] == [ARN]
    for a in c.values():
        named = re.findall(r'ALARM\("([^"]+)"\)', a["AlarmRule"])
        assert a["AlarmRule"] == 'ALARM("%s") AND ALARM("%s")' % tuple(named)
        assert set(named) <= set(m)


def test_thresholds_are_exact_decimal_text(slo_bin):
    text, spec = alarms_of(slo_bin, CHATBOT_SLOS)
    assert {str(a["Threshold"]) for a in spec["MetricAlarms"]} == {"14.4", "6", "3", "1"}
    assert re.findall(r'"Threshold": ([^,\n]+)', text).count("14.4") == 2 * 2 + 2 * 1 * 2
    for a in spec["MetricAlarms"]:
        burn = [x for x in a["Metrics"] if x["Id"] == "burn"][0]["Expression"]
        assert burn.endswith("/ 0.001") or burn.endswith("/ 0.001, 0)") or \
            burn.endswith("/ 0.01") or burn.endswith("/ 0.01, 0)")


def test_the_alarm_inputs_are_the_series_agents_write(slo_bin, cw):
    """Two agents put GoodCount / TotalCount with the slo_cw.h dimensions; every MetricStat of
    every alarm finds its series, and CloudWatch's Sum adds the agents' counts (the global SLI)."""
    _, spec = alarms_of(slo_bin, CHATBOT_SLOS)
    slos = {}
    for a in spec["MetricAlarms"]:
        for q in a["Metrics"]:
            if "MetricStat" in q:
                dims = {d["Name"]: d["Value"] for d in q["MetricStat"]["Metric"]["Dimensions"]}
                slos[dims["SLO"]] = dims["Service"]
    assert slos == {"chatbot-chat-availability": "chatbot",
                    "chatbot-chat-stream-availability": "chatbot",
                    "chatbot-chat-latency": "chatbot", "chatbot-chat-stream-latency": "chatbot"}
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    for agent_good, agent_total in ((990, 1000), (495, 500)):
        for slo, svc in slos.items():
            dims = [{"Name": "SLO", "Value": slo}, {"Name": "Service", "Value": svc}]
            cw.put_metric_data(Namespace="Otter/SLO", MetricData=[
                {"MetricName": "GoodCount", "Dimensions": dims, "Value": agent_good,
                 "Unit": "Count", "Timestamp": now},
                {"MetricName": "TotalCount", "Dimensions": dims, "Value": agent_total,
                 "Unit": "Count", "Timestamp": now}])
    for a in spec["MetricAlarms"]:
        for q in a["Metrics"]:
            if "MetricStat" not in q:
                continue
            m = q["MetricStat"]["Metric"]
            found = cw.list_metrics(Namespace=m["Namespace"], MetricName=m["MetricName"],
                                    Dimensions=m["Dimensions"])["Metrics"]
            # moto lists a metric once per put; CloudWatch once. Either way one distinct series.
            distinct = {(x["Namespace"], x["MetricName"],
                         tuple((d["Name"], d["Value"]) for d in x["Dimensions"])) for x in found}
            assert distinct == {(m["Namespace"], m["MetricName"],
                                 tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))}, \
                (a["AlarmName"], q["Id"])
    dims = [{"Name": "SLO", "Value": "chatbot-chat-availability"},
            {"Name": "Service", "Value": "chatbot"}]
    sums = {}
    for name in ("GoodCount", "TotalCount"):
        pts = cw.get_metric_statistics(Namespace="Otter/SLO", MetricName=name, Dimensions=dims,
                                       StartTime=now - timedelta(hours=1),
                                       EndTime=now + timedelta(hours=1), Period=7200,
                                       Statistics=["Sum"])["Datapoints"]
        sums[name] = sum(p["Sum"] for p in pts)
    # 990 + 495 good of 1000 + 500: burn = (1 - 1485/1500) / 0.001 = 0.01 / 0.001 = 10.
    assert sums == {"GoodCount": 1485, "TotalCount": 1500}


def test_openslo_conditions_are_single_window_alarms(slo_bin):
    _, spec = alarms_of(slo_bin, OPENSLO_EXAMPLE, "--sns-topic-arn", ARN)
    assert spec["CompositeAlarms"] == []
    got = {a["AlarmName"]: a for a in spec["MetricAlarms"]}
    assert set(got) == {"slo-chatbot-availability-chatbot-page/fast-burn-1h",
                        "slo-chatbot-availability-chatbot-page/slow-burn-6h",
                        "slo-chatbot-latency-chatbot-page/fast-burn-1h",
                        "slo-chatbot-latency-chatbot-page/slow-burn-6h"}
    for a in got.values():
        assert a["AlarmActions"] == [ARN]  # no composite: the window itself notifies
        assert a["ComparisonOperator"] == "GreaterThanThreshold"  # op: gt
    # target 0.999 -> 0.001; target 0.99 -> 0.01.
    burn = {n: [x for x in a["Metrics"] if x["Id"] == "burn"][0]["Expression"]
            for n, a in got.items()}
    assert burn["slo-chatbot-availability-chatbot-page/slow-burn-6h"] == "(1 - good / total) / 0.001"
    assert burn["slo-chatbot-latency-chatbot-page/fast-burn-1h"] == "(1 - good / total) / 0.01"


# ---- errors ----------------------------------------------------------------------------------


def test_errors_and_usage(slo_bin, tmp_path):
    f = tmp_path / "odd.yaml"
    f.write_text(textwrap.dedent("""\
        apiVersion: otter/v1
        kind: SLO
        metadata:
          name: odd
        spec:
          objective: "99"
          window: 30d
          sli:
            counters:
              bad: {name: e}
              total: {name: r}
          alerts:
            - name: x
              burnRate: "2"
              longWindow: 90s
        """))
    rc, out, err = run(slo_bin, "alarms", "--definitions", f)
    assert (rc, out) == (1, "")
    assert err == ("%s:13:7: error: SLO 'odd', alert 'x': the window 90s cannot be one CloudWatch "
                   "alarm period (whole minutes, at most 1 day below 1 hour and at most 7 days)\n"
                   % f)
    rc, out, err = run(slo_bin, "alarms", "--definitions", tmp_path / "missing.yaml")
    assert rc == 1 and "cannot read" in err
    for args in (["dashboard"], ["alarms", "--definitions"],
                 ["dashboard", "--definitions", f, "--dashboard-name", "bad name"],
                 ["alarms", "--definitions", f, "--region", REGION],
                 ["alarms", "--definitions", f, "--sns-topic-arn", "topic"],
                 ["dashboard", "--definitions", f, "--namespace"]):
        rc, out, err = run(slo_bin, *args)
        assert (rc, out) == (2, ""), args
        assert "usage: slo" in err or "expected" in err, args


# ---- budget and time-to-exhaustion conditions ------------------------------------------------

DRIVER = REPO_ROOT / (os.environ.get("OTTER_SLO_SINK_DRIVER") or
                      "build/tests/unit/slo/slo_sink_driver")

# The SLO of tests/unit/slo/slo_sink_sample.c (what the sink driver's EMF emission describes):
# checkout-availability, service checkout, 99.9 % over 30 d.
BUDGET_TTE_SLOS = textwrap.dedent("""\
    apiVersion: otter/v1
    kind: SLO
    metadata: {name: checkout-availability}
    spec:
      service: checkout
      objective: "99.9"
      window: 30d
      sli: {spans: {availability: {}}}
      alerts:
        - {name: budget-low, budgetRemaining: "0.25", severity: ticket}
        - name: exhaustion
          timeToExhaustion: {below: 1d, lookback: 1h}
        - name: drop
          budgetDrop: {drop: "5%", lookback: 1h}
    """)


def classic_problems(a):
    """PutMetricAlarm's limits for a single-metric alarm (API reference)."""
    if not 1 <= len(a["AlarmName"]) <= 255 or len(a["AlarmDescription"]) > 1024:
        return "name or description length"
    if a["Statistic"] not in ("SampleCount", "Average", "Sum", "Minimum", "Maximum"):
        return "statistic"
    if a["Period"] % 60 or a["Period"] * a["EvaluationPeriods"] > 86400:
        return "period"
    if "Metrics" in a:
        return "Metrics with MetricName"
    return None


def emf_to_metric_data(cw, event):
    """Puts one EMF event (the CloudWatch embedded metric format: every metric of a directive
    under each of its dimension sets, values and dimension values as root members) as
    PutMetricData, which is what CloudWatch Logs does with it."""
    aws = event["_aws"]
    ts = datetime.fromtimestamp(aws["Timestamp"] / 1000, tz=timezone.utc)
    for d in aws["CloudWatchMetrics"]:
        for dims in d["Dimensions"]:
            cw.put_metric_data(Namespace=d["Namespace"], MetricData=[
                {"MetricName": m["Name"], "Unit": m["Unit"], "Value": event[m["Name"]],
                 "Timestamp": ts,
                 "Dimensions": [{"Name": n, "Value": event[n]} for n in dims]}
                for m in d["Metrics"]])
    return ts


def test_budget_and_tte_alarms_in_moto(slo_bin, cw, tmp_path):
    """budgetRemaining and timeToExhaustion alarms over otterd's per-agent metrics: valid for
    PutMetricAlarm (moto and botocore's model), read back exactly, and reading the very series
    the slo exporter's EMF sink writes (the sink driver's emission put as CloudWatch Logs would);
    budgetDrop has no alarm and says so."""
    f = tmp_path / "bt.yaml"
    f.write_text(BUDGET_TTE_SLOS)
    rc, out, err = run(slo_bin, "alarms", "--definitions", f, "--sns-topic-arn", ARN,
                       "--prefix", "bt-")
    assert rc == 0, err
    assert err == ("%s:13:7: warning: SLO 'checkout-availability', alert 'drop': no CloudWatch "
                   "alarm for a budgetDrop condition (metric math cannot read the budget a "
                   "lookback ago); otterd's alert sinks carry it\n" % f)
    spec = json.loads(out, parse_float=Decimal)
    assert spec["CompositeAlarms"] == []
    alarms = {a["AlarmName"]: a for a in spec["MetricAlarms"]}
    assert set(alarms) == {"bt-slo-checkout-availability-budget-low",
                           "bt-slo-checkout-availability-exhaustion"}
    low = alarms["bt-slo-checkout-availability-budget-low"]
    tte = alarms["bt-slo-checkout-availability-exhaustion"]
    assert classic_problems(low) is None
    assert limits_problems(tte) is None
    for a in alarms.values():
        assert a["AlarmActions"] == [ARN] and a["OKActions"] == [ARN]
        req = json.loads(json.dumps(a, default=str))
        req["Threshold"] = float(a["Threshold"])
        cw.put_metric_alarm(**req)
    got = {a["AlarmName"]: a for a in
           cw.describe_alarms(AlarmNamePrefix="bt-")["MetricAlarms"]}
    assert set(got) == set(alarms)
    dims = [{"Name": "SLO", "Value": "checkout-availability"},
            {"Name": "Service", "Value": "checkout"}]
    g = got["bt-slo-checkout-availability-budget-low"]
    # 0.25 of the budget = 25 %, ErrorBudgetRemaining's unit.
    assert (g["MetricName"], g["Namespace"], g["Statistic"], g["Period"], g["Threshold"],
            g["ComparisonOperator"], g["TreatMissingData"], g["EvaluationPeriods"]) == \
        ("ErrorBudgetRemaining", "Otter/SLO", "Minimum", 60, 25.0, "LessThanThreshold",
         "notBreaching", 1)
    assert g["Dimensions"] == dims
    g = got["bt-slo-checkout-availability-exhaustion"]
    q = {x["Id"]: x for x in g["Metrics"]}
    # W = 30 d = 2,592,000 s; 1 d = 86,400 s.
    assert q["tte"]["Expression"] == "rem / 100 * 2592000 / burn"
    assert (g["Threshold"], g["ComparisonOperator"]) == (86400.0, "LessThanThreshold")
    assert q["rem"]["MetricStat"] == {"Metric": {"Namespace": "Otter/SLO",
                                                 "MetricName": "ErrorBudgetRemaining",
                                                 "Dimensions": dims},
                                      "Period": 60, "Stat": "Minimum"}
    assert q["burn"]["MetricStat"] == {
        "Metric": {"Namespace": "Otter/SLO", "MetricName": "BurnRate",
                   "Dimensions": dims + [{"Name": "BurnRateWindowMinutes", "Value": "60"}]},
        "Period": 60, "Stat": "Maximum"}

    # The series otterd writes: the sink driver's EMF emission (ErrorBudgetRemaining 20 %,
    # BurnRate 14.4 over 60 minutes), put as CloudWatch Logs turns EMF into metrics.
    if not DRIVER.exists():
        pytest.fail("sink driver not found at %s (build it)" % DRIVER)
    r = subprocess.run([str(DRIVER), "--metrics", "stdout", "--no-log"], capture_output=True,
                        timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    events = [json.loads(x) for x in r.stdout.decode().splitlines() if x.startswith("{")]
    ts = None
    for ev in events:
        if ev.get("SLO") == "checkout-availability":
            ts = emf_to_metric_data(cw, ev)
    for a in alarms.values():
        stats = [x["MetricStat"] for x in a.get("Metrics", []) if "MetricStat" in x] or \
            [{"Metric": {k: a[k] for k in ("Namespace", "MetricName", "Dimensions")}}]
        for st in stats:
            m = st["Metric"]
            found = cw.list_metrics(Namespace=m["Namespace"], MetricName=m["MetricName"],
                                    Dimensions=m["Dimensions"])["Metrics"]
            distinct = {tuple((d["Name"], d["Value"]) for d in x["Dimensions"]) for x in found}
            assert distinct == {tuple((d["Name"], d["Value"]) for d in m["Dimensions"])}, \
                (a["AlarmName"], m)
    # The values an alarm period holds: 20 % left (< 25: the budget alarm breaches) and a burn
    # of 14.4 over the hour: 20 / 100 x 2,592,000 / 14.4 = 518,400 / 14.4 = 36,000 s < 86,400.
    def one(name, extra=()):
        pts = cw.get_metric_statistics(Namespace="Otter/SLO", MetricName=name,
                                       Dimensions=dims + list(extra),
                                       StartTime=ts - timedelta(minutes=1),
                                       EndTime=ts + timedelta(minutes=1), Period=60,
                                       Statistics=["Minimum", "Maximum"])["Datapoints"]
        assert len(pts) == 1, pts
        return pts[0]
    assert one("ErrorBudgetRemaining")["Minimum"] == 20
    assert one("BurnRate", [{"Name": "BurnRateWindowMinutes", "Value": "60"}])["Maximum"] == 14.4
    assert 20 / 100 * 2592000 / 14.4 == 36000.0


def test_metrics_period_option(slo_bin, tmp_path):
    """--metrics-period sets the Period of every per-agent alarm (otterd's metrics.interval may
    be longer than 60 s); anything but a multiple of 60 up to a day is a usage error."""
    f = tmp_path / "bt.yaml"
    f.write_text(BUDGET_TTE_SLOS)
    rc, out, err = run(slo_bin, "alarms", "--definitions", f, "--metrics-period", "300")
    assert rc == 0 and "budgetDrop" in err
    spec = json.loads(out)
    periods = set()
    for a in spec["MetricAlarms"]:
        periods.add(a.get("Period"))
        for x in a.get("Metrics", []):
            if "MetricStat" in x:
                periods.add(x["MetricStat"]["Period"])
    assert periods - {None} == {300}
    for bad in ("90", "0", "86460", "5m", "-60", ""):
        rc, out, err = run(slo_bin, "alarms", "--definitions", f, "--metrics-period", bad)
        assert (rc, out) == (2, ""), bad
        assert "--metrics-period" in err and "usage: slo alarms" in err, bad
