# SPDX-License-Identifier: Apache-2.0
"""`slo report --from agent=URL` (slo/README.md): the report otterd serves on GET /v1/slo, read
back by the `slo` command and rendered.

End to end: spans from the OpenTelemetry Python SDK through otterd's slo exporter (as
test_slo_exporter.py sends them), then `slo report --from agent=http://127.0.0.1:<admin port>
--format json` must hold exactly what a GET /v1/slo right after it answers (the instant aside),
`--format text` must show every SLO with its status, the exit status must say BREACHED (1), and
with otterd stopped the command must exit 2 with a clear message.

The parser's strictness and the byte-exact round trip are checked against a static document:
the JSON of a replay (`slo report --events`), served by a local HTTP server that answers one
fixed body per path (there is no other peer that serves this contract), must come back byte for
byte; malformed and non-contract documents and HTTP errors must be refused with exit 2 and a
message naming the JSON path or the status. The binary is $SLO (default build/slo/cli/slo)."""

import http.server
import json
import subprocess
import threading
from pathlib import Path

import pytest

import test_slo_exporter as exp
from conftest import http_request

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(slo_bin, *args):
    p = subprocess.run([str(slo_bin)] + [str(a) for a in args], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_report_from_real_otterd(otterd, slo_bin, tmp_path):
    defs = exp.write_defs(tmp_path / "slos.yaml")
    agent = otterd(name="slo-agent", config=exp.slo_config(defs, tmp_path / "slo.ckpt"))
    exp.send_spans(agent, exp.minute_ago_ns(2))
    exp.wait_counts(agent, "checkout-availability", 14)
    base = "http://127.0.0.1:%d" % agent.admin_port

    rc, out, err = run(slo_bin, "report", "--from", "agent=" + base, "--format", "json")
    st, _, body = http_request(agent.admin_port, "GET", "/v1/slo")
    assert st == 200
    # checkout-availability is BREACHED (9 good of 14 at 99 %: test_slo_exporter.py's arithmetic).
    assert rc == 1, err
    mine, theirs = json.loads(out), json.loads(body)
    assert len(mine["evaluations"]) == 1
    # Both evaluate at their own request's instant; the spans are two closed minutes old, so
    # every figure is the same at both instants.
    mine["evaluations"][0].pop("at")
    theirs["evaluations"][0].pop("at")
    assert mine == theirs
    slos = {s["name"]: s for s in mine["evaluations"][0]["slos"]}
    exp.assert_counts(slos["checkout-availability"], exp.AVAIL)
    exp.assert_counts(slos["checkout-latency"], exp.LATENCY)

    # A full URL ending in /v1/slo, and the definitions attached by name.
    rc, out, err = run(slo_bin, "report", "--from", "agent=%s/v1/slo" % base, "--definitions",
                       defs, "--format", "text")
    assert rc == 1, err
    lines = out.splitlines()
    for name, status in (("checkout-availability", "BREACHED"), ("checkout-latency", "WARNING"),
                         ("idle-availability", "NO_DATA"), ("api-requests", "NO_DATA")):
        row = [ln for ln in lines if ln.startswith(name + " ")]
        assert len(row) == 1 and status in row[0].split(), (name, out)

    # Definitions that do not match the agent's: refused, naming the SLO.
    other = tmp_path / "other.yaml"
    other.write_text(exp.DEFINITIONS.replace('objective: "80"', 'objective: "81"'))
    rc, out, err = run(slo_bin, "report", "--from", "agent=" + base, "--definitions", other)
    assert rc == 2 and out == ""
    assert "objective" in err and "checkout-latency" in err, err

    agent.stop()
    rc, out, err = run(slo_bin, "report", "--from", "agent=" + base, "--timeout", "5")
    assert rc == 2 and out == ""
    assert "cannot connect to %s/v1/slo" % base in err, err


def test_otterd_without_slo_exporter(otterd, slo_bin):
    agent = otterd(name="no-slo")
    rc, out, err = run(slo_bin, "report", "--from", "agent=http://127.0.0.1:%d" % agent.admin_port)
    assert rc == 2 and out == ""
    assert "HTTP 404: no slo exporter is configured" in err, err
    agent.stop()


class _Fixed(http.server.BaseHTTPRequestHandler):
    """Answers GET <path> with the (status, body) registered for it, 404 otherwise."""
    routes = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body = self.routes.get(self.path, (404, b'{"error": "unknown path"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fixed_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: pay, displayName: Payments}
spec:
  service: shop
  objective: "99.9"
  window: 1h
  sli: {spans: {availability: {}}}
  alerts: [{name: page, burnRate: "14.4", longWindow: 1h, shortWindow: 5m}]
---
apiVersion: otter/v1
kind: SLO
metadata: {name: slices}
spec:
  service: shop
  objective: "90"
  window: 1h
  budgetingMethod: Timeslices
  timeSlice: {period: 5m, target: "95"}
  sli: {spans: {availability: {}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: idle}
spec:
  service: shop
  objective: "95"
  window: 1h
  sli: {spans: {availability: {}}}
"""
# pay: 1998 good of 2000 in the hour before 10:00 (objective 99.9 %: budget 0.001 * 2000 = 2,
#   bad 2 -> exactly on budget: met, exhausted -> remaining 0, fraction 0, status WARNING).
# slices: 12 periods of 5 m; 1 bad (90 of 100 < 95 %) -> budget 1.2, remaining 0.2.
EVENTS = [
    {"time": "2025-01-31T09:10:00Z", "slo": "pay", "good": 999, "total": 1000},
    {"time": "2025-01-31T09:50:00Z", "slo": "pay", "good": 999, "total": 1000},
] + [{"time": "2025-01-31T%02d:%02d:00Z" % (9, m), "slo": "slices",
      "good": 90 if m == 20 else 100, "total": 100} for m in range(0, 60, 5)]


def replay_json(slo_bin, tmp_path, *ats):
    defs = tmp_path / "defs.yaml"
    defs.write_text(DEFS)
    ev = tmp_path / "events.jsonl"
    ev.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    args = ["report", "--definitions", defs, "--events", ev, "--format", "json"]
    for at in ats:
        args += ["--at", at]
    rc, out, err = run(slo_bin, *args)
    assert rc in (0, 1), err
    return defs, out


def test_round_trip_is_byte_exact(slo_bin, tmp_path, fixed_server):
    srv, base = fixed_server
    defs, doc = replay_json(slo_bin, tmp_path, "2025-01-31T09:30:00Z", "2025-01-31T10:00:00Z")
    _Fixed.routes = {"/v1/slo": (200, doc.encode())}
    for extra in ([], ["--definitions", defs]):
        rc, out, err = run(slo_bin, "report", "--from", "agent=" + base + "/", "--format", "json",
                           *extra)
        assert rc == 0, err
        assert out == doc
    # The renderers get the same figures as from the replay itself.
    for fmt in ("text", "markdown"):
        want = run(slo_bin, "report", "--definitions", defs, "--events",
                   tmp_path / "events.jsonl", "--at", "2025-01-31T09:30:00Z", "--at",
                   "2025-01-31T10:00:00Z", "--format", fmt)[1]
        rc, out, err = run(slo_bin, "report", "--from", "agent=" + base, "--definitions", defs,
                           "--format", fmt)
        assert rc == 0, err
        assert out == want
    rc, out, err = run(slo_bin, "report", "--from", "agent=" + base, "--format", "html")
    assert rc == 0 and out.startswith("<!DOCTYPE html>") and 'data-slo="pay"' in out


@pytest.mark.parametrize("body,status,msg", [
    (b"{\"evaluations\": [", 200, "invalid JSON at line 1"),
    (b"[]", 200, ": expected an object, got an array"),
    (b"{\"evaluations\": [], \"extra\": 1}", 200, "unknown field \"extra\""),
    (b"{\"evaluations\": [{\"at\": \"2025-01-31T10:00:00+01:00\", \"slos\": []}]}", 200,
     "evaluations[0].at: expected a UTC time ending in Z"),
    (b"{\"evaluations\": [{\"at\": \"2025-01-31T10:00:00Z\", \"slos\": [{\"name\": \"x\"}]}]}",
     200, "evaluations[0].slos[0]: missing field \"objective\""),
    (b"{\"error\": \"engine on fire\"}", 503, "HTTP 503: engine on fire"),
    (b"<html>nope</html>", 500, "HTTP 500: <html>nope</html>"),
    (b"line one\n\x1b[31mred", 502, "HTTP 502: line one ?[31mred"),
    (b"{\"error\": \"a\\u001bb\"}", 500, "HTTP 500: a?b"),
])
def test_bad_answers(slo_bin, fixed_server, body, status, msg):
    srv, base = fixed_server
    _Fixed.routes = {"/v1/slo": (status, body)}
    rc, out, err = run(slo_bin, "report", "--from", "agent=" + base)
    assert rc == 2 and out == ""
    assert msg in err, err


def test_contract_violations(slo_bin, tmp_path, fixed_server):
    srv, base = fixed_server
    _, doc = replay_json(slo_bin, tmp_path, "2025-01-31T10:00:00Z")
    good = json.loads(doc)

    def mutated(path, value):
        d = json.loads(doc)
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return json.dumps(d).encode()

    s0 = ["evaluations", 0, "slos", 0]
    cases = [
        (s0 + ["good"], -1, "evaluations[0].slos[0].good: expected a non-negative integer"),
        (s0 + ["bad"], 5, "evaluations[0].slos[0].bad: expected good + bad = total"),
        (s0 + ["status"], "FINE", "slos[0].status: expected \"OK\""),
        (s0 + ["error_budget", "unit"], "minutes", "error_budget.unit: expected \"events\""),
        (s0 + ["error_budget", "remaining"], "0",
         "slos[0].error_budget.remaining: expected a number, got a string"),
        (s0 + ["burn_rates", "5m"], -1.0, "burn_rates.5m: expected a burn rate >= 0"),
        (s0 + ["alerts", "page", "firing"], "no", "alerts.page.firing: expected true or false"),
        (s0 + ["warnings"], [1], "slos[0].warnings[0]: expected a string, got a number"),
        (s0 + ["objective"], "100", "slos[0].objective: expected a percent"),
    ]
    assert good["evaluations"][0]["slos"][0]["name"] == "pay"
    for path, value, msg in cases:
        _Fixed.routes = {"/v1/slo": (200, mutated(path, value))}
        rc, out, err = run(slo_bin, "report", "--from", "agent=" + base)
        assert rc == 2 and out == "", (path, err)
        assert msg in err, (path, err)


def test_usage_errors(slo_bin):
    for args, msg in (
            (["--from", "agent=ftp://x"], "expected http://HOST:PORT"),
            (["--from", "agent=http://127.0.0.1:1/other"], "expected http://HOST:PORT"),
            (["--from", "agent=http://127.0.0.1:1", "--at", "2025-01-31T10:00:00Z"],
             "takes no --at"),
            (["--from", "agent=http://127.0.0.1:1", "--events", "x"], "replaces --events"),
            (["--from", "agent=http://127.0.0.1:1", "--timeout", "0"], "--timeout")):
        rc, out, err = run(slo_bin, "report", *args)
        assert rc == 2 and msg in err, (args, err)
