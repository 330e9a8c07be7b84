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
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(metric_widgets) == 2
    assert {w["properties"]["region"] for w in metric_widgets} == {"us-east-1"}
    assert metric_widgets[0]["properties"]["title"] == "chatbot-availability: attainment (30d)"


def test_burn_rate_alarms_notify_the_topic(stack):
    env, rec = stack
    alarms = {a.inputs["name"]: a.inputs for a in rec.of(ALARM)}
    assert set(alarms) == {f"otter-{env}-chatbot-availability-burn-1h", f"otter-{env}-chatbot-availability-burn-5m"}
    topic = f"arn:aws:sns:us-east-1:123456789012:otter-{env}-alerts"
    for name, a in alarms.items():
        assert a["alarmActions"] == [topic]
        assert a["okActions"] == [topic]
        assert a["threshold"] == 14.4
        assert a["comparisonOperator"] == "GreaterThanThreshold"
        assert a["treatMissingData"] == "notBreaching"
        queries = {q["id"]: q for q in a["metricQueries"]}
        assert queries["burn"]["expression"] == "(bad / total) / 0.001"
        assert queries["burn"]["returnData"] is True
        assert queries["bad"]["returnData"] is False
        assert queries["bad"]["metric"]["namespace"] == "Otter/SLO"
        assert queries["bad"]["metric"]["dimensions"] == {"slo": "chatbot-availability"}
        period = 3600 if name.endswith("-1h") else 300
        assert queries["bad"]["metric"]["period"] == period
        assert queries["total"]["metric"]["stat"] == "Sum"


def test_composite_alarm_pairs_the_short_and_long_windows(stack):
    env, rec = stack
    c = rec.of("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert len(c) == 1
    c = c[0].inputs
    assert c["alarmName"] == f"otter-{env}-chatbot-availability-page"
    assert c["alarmRule"] == (
        f'ALARM("otter-{env}-chatbot-availability-burn-1h") AND ALARM("otter-{env}-chatbot-availability-burn-5m")'
    )
    assert c["alarmActions"] == [f"arn:aws:sns:us-east-1:123456789012:otter-{env}-alerts"]


def test_an_unknown_field_in_the_slo_alarms_output_is_an_error():
    import os
    import sys

    import pulumi_harness as h

    sys.path.insert(0, h.PROGRAM)
    from otter_infra.observability import composite_rule, metric_alarm_args

    with pytest.raises(ValueError, match="ExtendedStatistic"):
        metric_alarm_args({"AlarmName": "x", "ExtendedStatistic": "p99"}, "otter-dev", "arn")
    assert composite_rule('ALARM(a) OR OK("b")', "p") == 'ALARM("p-a") OR OK("p-b")'
    assert os.path.exists(os.path.join(h.PROGRAM, "slo", "alarms.json"))
