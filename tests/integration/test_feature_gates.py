# SPDX-License-Identifier: Apache-2.0
"""`--feature-gates`: the collector's gates that otterd honours change two defaults, and an
unknown gate is an error, as in the collector.

- awsemf.nodimrollupdefault: awsemf's dimension_rollup_option defaults to NoDimensionRollup.
  A gauge with the labels {a, b} then has exactly one dimension set, [a, b]; without the gate the
  default ZeroAndSingleDimensionRollup adds the zero-dimension set [] and the single sets [a] and
  [b] (emf-cwlogs.md). A value written in the config wins over the gate.
- exporter.awsxray.skiptimestampvalidation: a trace id whose first 4 bytes are a time 400 days
  ago fails X-Ray's 28-day rule and is dropped by default (xray.md §3); with the gate it is kept.
"""

import json
import subprocess
import time

GATE_EMF = "awsemf.nodimrollupdefault"
GATE_XRAY = "exporter.awsxray.skiptimestampvalidation"

GAUGE = {"resourceMetrics": [{
    "resource": {"attributes": []},
    "scopeMetrics": [{"scope": {}, "metrics": [{
        "name": "queue.depth", "unit": "1",
        "gauge": {"dataPoints": [{
            "timeUnixNano": "1700000000000000000", "asDouble": 3.0,
            "attributes": [{"key": "a", "value": {"stringValue": "x"}},
                           {"key": "b", "value": {"stringValue": "y"}}]}]}}]}]}]}

OLD_EPOCH = int(time.time()) - 400 * 86400
OLD_TRACE = "%08x" % OLD_EPOCH + "77b34da6a3ce929d0e0e4736"
SPAN = {"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
    "scopeSpans": [{"scope": {}, "spans": [{
        "traceId": OLD_TRACE, "spanId": "00f067aa0ba902b7", "name": "GET /", "kind": 2,
        "startTimeUnixNano": str(OLD_EPOCH * 10**9),
        "endTimeUnixNano": str(OLD_EPOCH * 10**9 + 10**9)}]}]}]}


def run(otterd_bin, *args, stdin=None):
    p = subprocess.run([str(otterd_bin), *map(str, args)], input=stdin, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def dimension_sets(out):
    lines = out.splitlines()
    assert len(lines) == 1, lines
    directive = json.loads(lines[0])["_aws"]["CloudWatchMetrics"]
    assert len(directive) == 1
    return sorted(sorted(d) for d in directive[0]["Dimensions"])


def test_unknown_gate_is_an_error(otterd_bin):
    rc, _, err = run(otterd_bin, "--feature-gates=awsemf.nosuchgate")
    assert rc == 2
    assert 'no such feature gate "awsemf.nosuchgate"' in err and GATE_EMF in err
    rc, _, err = run(otterd_bin, "translate", "--to", "emf", "--feature-gates", "+,x", "-",
                     stdin=b"{}")
    assert rc == 2 and 'no such feature gate ""' in err


def test_emf_rollup_default_flips(otterd_bin):
    body = json.dumps(GAUGE).encode()
    rc, out, err = run(otterd_bin, "translate", "--to", "emf", "-", stdin=body)
    assert rc == 0, err
    assert dimension_sets(out) == [[], ["a"], ["a", "b"], ["b"]]
    rc, out, err = run(otterd_bin, "translate", "--to", "emf", "--feature-gates", GATE_EMF, "-",
                       stdin=body)
    assert rc == 0, err
    assert dimension_sets(out) == [["a", "b"]]
    # "-" turns it off again; the last mention wins.
    rc, out, err = run(otterd_bin, "translate", "--to", "emf", "--feature-gates",
                       GATE_EMF + ",-" + GATE_EMF, "-", stdin=body)
    assert rc == 0, err
    assert dimension_sets(out) == [[], ["a"], ["a", "b"], ["b"]]


def test_emf_config_value_wins_over_gate(otterd_bin, tmp_path):
    cfg = tmp_path / "c.yaml"
    base = ("receivers: {otlp: {protocols: {http: {}}}}\n"
            "exporters:\n  awsemf:\n    region: us-east-1\n%s"
            "service: {pipelines: {metrics: {receivers: [otlp], exporters: [awsemf]}}}\n")
    body = json.dumps(GAUGE).encode()
    cfg.write_text(base % "    dimension_rollup_option: SingleDimensionRollupOnly\n")
    rc, out, err = run(otterd_bin, "translate", "--to", "emf", "--config", cfg,
                       "--feature-gates", GATE_EMF, "-", stdin=body)
    assert rc == 0, err
    assert dimension_sets(out) == [["a"], ["a", "b"], ["b"]]
    cfg.write_text(base % "")
    rc, out, err = run(otterd_bin, "translate", "--to", "emf", "--config", cfg,
                       "--feature-gates", GATE_EMF, "-", stdin=body)
    assert rc == 0, err
    assert dimension_sets(out) == [["a", "b"]]
    rc, out, err = run(otterd_bin, "validate", "--config", cfg, "--feature-gates", GATE_EMF)
    assert rc == 0 and "valid" in out, err


def test_xray_timestamp_validation_gate(otterd_bin):
    body = json.dumps(SPAN).encode()
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", "-", stdin=body)
    assert rc == 0, err
    assert out == "" and "1 of 1 spans dropped" in err
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", "--feature-gates=" + GATE_XRAY,
                       "-", stdin=body)
    assert rc == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 1
    assert docs[0]["trace_id"] == "1-%08x-77b34da6a3ce929d0e0e4736" % OLD_EPOCH
