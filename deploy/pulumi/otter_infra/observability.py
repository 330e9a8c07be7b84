"""Log groups with retention (agent, chatbot, EMF), the alerts SNS topic, and the CloudWatch
dashboard and alarms that `slo dashboard` / `slo alarms` generate from the chatbot's SLOs
(chatbot/slo.yaml), read from the JSON they printed, checked in under deploy/pulumi/slo/ and
regenerated with deploy/tools/gen_slo_cloudwatch.sh (see deploy/pulumi/slo/README.md)."""

import json
import re

import pulumi
import pulumi_aws as aws

from . import names
from .tags import tags

# PutMetricAlarm request fields -> pulumi_aws.cloudwatch.MetricAlarm arguments.
_ALARM_FIELDS = {
    "AlarmDescription": "alarm_description",
    "ComparisonOperator": "comparison_operator",
    "Threshold": "threshold",
    "EvaluationPeriods": "evaluation_periods",
    "DatapointsToAlarm": "datapoints_to_alarm",
    "TreatMissingData": "treat_missing_data",
    "MetricName": "metric_name",
    "Namespace": "namespace",
    "Period": "period",
    "Statistic": "statistic",
    "Unit": "unit",
}


def _metric_query(q: dict) -> dict:
    out = {"id": q["Id"], "return_data": bool(q.get("ReturnData", False))}
    if "Expression" in q:
        out["expression"] = q["Expression"]
    if "Label" in q:
        out["label"] = q["Label"]
    if "MetricStat" in q:
        ms = q["MetricStat"]
        m = ms["Metric"]
        out["metric"] = {
            "namespace": m["Namespace"],
            "metric_name": m["MetricName"],
            "dimensions": {d["Name"]: d["Value"] for d in m.get("Dimensions", [])},
            "period": ms["Period"],
            "stat": ms["Stat"],
        }
    return out


def metric_alarm_args(alarm: dict, prefix: str, topic_arn: pulumi.Input[str], notify: bool = True) -> dict:
    """Arguments of one MetricAlarm from a PutMetricAlarm-shaped dict. Unknown fields are an
    error, so a change in `slo alarms` output is noticed rather than silently dropped. With
    |notify| the alarm's state changes go to the topic; the windows of a short-AND-long pair do
    not notify (their composite alarm does)."""
    known = set(_ALARM_FIELDS) | {"AlarmName", "Metrics", "Dimensions", "AlarmActions", "OKActions"}
    unknown = set(alarm) - known
    if unknown:
        raise ValueError(f"alarm {alarm.get('AlarmName')}: unsupported fields {sorted(unknown)}")
    args = {_ALARM_FIELDS[k]: v for k, v in alarm.items() if k in _ALARM_FIELDS}
    args["name"] = f"{prefix}-{alarm['AlarmName']}"
    if len(args["name"]) > 255:
        raise ValueError(f"alarm {args['name']}: longer than CloudWatch's 255 characters")
    if "Metrics" in alarm:
        args["metric_queries"] = [_metric_query(q) for q in alarm["Metrics"]]
    if "Dimensions" in alarm:
        args["dimensions"] = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    if notify:
        args["alarm_actions"] = [topic_arn]
        args["ok_actions"] = [topic_arn]
    return args


def rule_alarm_names(rule: str) -> set[str]:
    """The alarm names an AlarmRule refers to (`ALARM("x")`, `OK(x)`, ...), unprefixed."""
    return {m.group(3) for m in _RULE_REF.finditer(rule)}


_RULE_REF = re.compile(r'\b(ALARM|OK|INSUFFICIENT_DATA)\((\s*)"?([^")]+?)"?(\s*)\)')


def composite_rule(rule: str, prefix: str) -> str:
    """Prefixes every alarm named in an AlarmRule (`ALARM("x")`, `OK(x)`, ...)."""
    return _RULE_REF.sub(lambda m: f'{m.group(1)}("{prefix}-{m.group(3)}")', rule)


def dashboard_body(body: dict, region: str) -> str:
    for w in body.get("widgets", []):
        if w.get("type") == "metric":
            w.setdefault("properties", {}).setdefault("region", region)
    return json.dumps(body, sort_keys=True)


class Observability(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        env: str,
        log_retention_days: int,
        dashboard_file: str,
        alarms_file: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("otter:observability:Observability", name, None, opts)
        t = tags(env, "observability")
        child = pulumi.ResourceOptions(parent=self)
        prefix = names.prefix(env)

        self.log_groups = {
            key: aws.cloudwatch.LogGroup(
                f"{name}-{key}", name=group, retention_in_days=log_retention_days, tags=t, opts=child
            )
            for key, group in names.log_groups(env).items()
        }
        self.log_group_arns = [g.arn for g in self.log_groups.values()]

        self.topic = aws.sns.Topic(f"{name}-alerts", name=names.alerts_topic(env), tags=t, opts=child)

        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        with open(dashboard_file, encoding="utf-8") as f:
            dashboard = json.load(f)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-slo",
            dashboard_name=f"{prefix}-slo",
            dashboard_body=region.apply(lambda r: dashboard_body(dashboard, r)),
            opts=child,
        )

        with open(alarms_file, encoding="utf-8") as f:
            alarms = json.load(f)
        composites = alarms.get("CompositeAlarms", [])
        in_pairs = set().union(*(rule_alarm_names(c["AlarmRule"]) for c in composites))
        self.alarms = {}
        for alarm in alarms.get("MetricAlarms", []):
            self.alarms[alarm["AlarmName"]] = aws.cloudwatch.MetricAlarm(
                f"{name}-{alarm['AlarmName']}",
                **metric_alarm_args(alarm, prefix, self.topic.arn, alarm["AlarmName"] not in in_pairs),
                tags=t,
                opts=child,
            )
        self.composite_alarms = {}
        for alarm in composites:
            self.composite_alarms[alarm["AlarmName"]] = aws.cloudwatch.CompositeAlarm(
                f"{name}-{alarm['AlarmName']}",
                alarm_name=f"{prefix}-{alarm['AlarmName']}",
                alarm_description=alarm.get("AlarmDescription"),
                alarm_rule=composite_rule(alarm["AlarmRule"], prefix),
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                tags=t,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.alarms.values())),
            )

        self.register_outputs(
            {"logGroups": {k: g.name for k, g in self.log_groups.items()}, "alertsTopicArn": self.topic.arn}
        )
