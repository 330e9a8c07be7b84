import json

import pytest

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_log_groups_with_retention_per_environment(dev, prod):
    for env, rec, days in (("dev", dev, 14), ("prod", prod, 90)):
        groups = {g.inputs["name"]: g.inputs["retentionInDays"] for g in rec.of("aws:cloudwatch/logGroup:LogGroup")}
        cp = {"dev": 7, "prod": 90}[env]
        assert groups == {
            f"/otter/{env}/agent": days,
            f"/otter/{env}/chatbot": days,
            f"/otter/{env}/emf": days,
            f"/aws/eks/otter-{env}/cluster": cp,
        }


def test_alerts_topic(stack):
    env, rec = stack
    t = rec.of("aws:sns/topic:Topic")
    assert [x.inputs["name"] for x in t] == [f"otter-{env}-alerts"]


def test_dashboard_from_the_slo_output_gets_the_region(stack):
    env, rec = stack
    d = rec.of("aws:cloudwatch/dashboard:Dashboard")
    assert len(d) == 1
    assert d[0].inputs["dashboardName"] == f"otter-{env}-slo"
    body = json.loads(d[0].inputs["dashboardBody"])
    # chatbot/slo.yaml: 4 SLOs with alerts, 5 widgets each (header, attainment, budget, burn
    # rates, SLI series), 4 of them metric widgets.
    assert len(body["widgets"]) == 20
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(metric_widgets) == 16
    assert {w["properties"]["region"] for w in metric_widgets} == {"us-east-1"}
    assert metric_widgets[0]["properties"]["title"] == "chatbot-chat-availability: attainment over 30d (%)"


def test_burn_rate_alarms_of_pairs_notify_through_their_composite(stack):
    env, rec = stack
    alarms = {a.inputs["name"]: a.inputs for a in rec.of(ALARM)}
    # 2 availability SLOs x 3 pairs + 2 latency SLOs x 4 default pairs = 14 pairs, 28 windows.
    assert len(alarms) == 28
    assert all(n.startswith(f"otter-{env}-slo-chatbot-chat-") for n in alarms)
    for a in alarms.values():
        assert not a.get("alarmActions") and not a.get("okActions")
        assert a["comparisonOperator"] == "GreaterThanThreshold"
        assert a["treatMissingData"] == "notBreaching"
    for name, period in (("page-fast-1h", 3600), ("page-fast-5m", 300), ("ticket-3d", 259200)):
        a = alarms[f"otter-{env}-slo-chatbot-chat-availability-{name}"]
        queries = {q["id"]: q for q in a["metricQueries"]}
        # 99.9 %: 1 - o = 0.001 exactly; page-fast's 100-event guard on its long window only (the
        # ticket pair has no guard).
        want = "(1 - good / total) / 0.001"
        assert queries["burn"]["expression"] == (f"IF(total >= 100, {want}, 0)" if name == "page-fast-1h" else want)
        assert queries["burn"]["returnData"] is True
        assert queries["good"]["returnData"] is False
        assert queries["good"]["metric"]["namespace"] == "Otter/SLO"
        assert queries["good"]["metric"]["metricName"] == "GoodCount"
        assert queries["total"]["metric"]["metricName"] == "TotalCount"
        assert queries["good"]["metric"]["dimensions"] == {"SLO": "chatbot-chat-availability", "Service": "chatbot"}
        assert queries["good"]["metric"]["period"] == period
        assert queries["total"]["metric"]["stat"] == "Sum"
    assert alarms[f"otter-{env}-slo-chatbot-chat-availability-page-fast-1h"]["threshold"] == 14.4
    assert alarms[f"otter-{env}-slo-chatbot-chat-availability-ticket-3d"]["threshold"] == 1


def test_composite_alarm_pairs_the_short_and_long_windows(stack):
    env, rec = stack
    c = {x.inputs["alarmName"]: x.inputs for x in rec.of("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    assert len(c) == 14
    p = c[f"otter-{env}-slo-chatbot-chat-availability-page-fast-1h-5m"]
    assert p["alarmRule"] == (
        f'ALARM("otter-{env}-slo-chatbot-chat-availability-page-fast-1h") AND '
        f'ALARM("otter-{env}-slo-chatbot-chat-availability-page-fast-5m")'
    )
    topic = f"arn:aws:sns:us-east-1:123456789012:otter-{env}-alerts"
    for x in c.values():
        assert x["alarmActions"] == [topic]
        assert x["okActions"] == [topic]


def test_an_unknown_field_in_the_slo_alarms_output_is_an_error():
    import os
    import sys

    import pulumi_harness as h

    sys.path.insert(0, h.PROGRAM)
    from otter_infra.observability import composite_rule, metric_alarm_args, rule_alarm_names

    with pytest.raises(ValueError, match="ExtendedStatistic"):
        metric_alarm_args({"AlarmName": "x", "ExtendedStatistic": "p99"}, "otter-dev", "arn")
    assert composite_rule('ALARM(a) OR OK("b")', "p") == 'ALARM("p-a") OR OK("p-b")'
    assert rule_alarm_names('ALARM("x-1h") AND ALARM(y)') == {"x-1h", "y"}
    single = metric_alarm_args({"AlarmName": "x"}, "otter-dev", "arn", notify=True)
    assert single["alarm_actions"] == ["arn"] and single["ok_actions"] == ["arn"]
    assert "alarm_actions" not in metric_alarm_args({"AlarmName": "x"}, "otter-dev", "arn", notify=False)
    with pytest.raises(ValueError, match="255"):
        metric_alarm_args({"AlarmName": "x" * 250}, "otter-dev", "arn")
    assert os.path.exists(os.path.join(h.PROGRAM, "slo", "alarms.json"))
