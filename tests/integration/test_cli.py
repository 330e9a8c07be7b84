# SPDX-License-Identifier: Apache-2.0
"""otterd's command line: --version, --help, validate, ${env:VAR}, the built-in default config,
signals, and the admin / health_check endpoints."""

import re
import signal
import subprocess

import pytest

import otlp_util
import raw_clients as rc
from conftest import REPO_ROOT, Otterd, default_ports, http_request, make_config, scaled


def run(otterd_bin, *args, cwd=None, timeout=30, env=None):
    p = subprocess.run([str(otterd_bin)] + list(args), capture_output=True, cwd=cwd,
                       timeout=scaled(timeout), env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def project_version():
    m = re.search(r"version:\s*'([^']+)'", (REPO_ROOT / "meson.build").read_text())
    return m.group(1)


def test_version(otterd_bin):
    rc_, out, err = run(otterd_bin, "--version")
    assert rc_ == 0, err
    assert project_version() in out, "--version printed %r" % out


def test_help(otterd_bin):
    rc_, out, err = run(otterd_bin, "--help")
    assert rc_ == 0, err
    text = out + err
    assert "--config" in text and "validate" in text, text


def test_unknown_flag_fails(otterd_bin):
    rc_, out, err = run(otterd_bin, "--no-such-flag")
    assert rc_ != 0
    assert "--no-such-flag" in out + err


GOOD_CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
      http:
        endpoint: 127.0.0.1:0
processors:
  batch:
    timeout: 100ms
exporters:
  file/traces:
    path: out/traces.jsonl
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 127.0.0.1:0
service:
  extensions: [health_check]
  telemetry:
    logs:
      level: info
    metrics:
      address: 127.0.0.1:0
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/traces, debug]
"""


def test_validate_good_config(otterd_bin, tmp_path):
    f = tmp_path / "good.yaml"
    f.write_text(GOOD_CONFIG)
    rc_, out, err = run(otterd_bin, "validate", "--config", str(f), cwd=tmp_path)
    assert rc_ == 0, out + err
    assert ": error:" not in out + err


def _replace(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


# (name, config text, line, col): where validate must point.
BAD_CONFIGS = [
    ("unknown-top-level-key", _replace(GOOD_CONFIG, "receivers:", "recievers:"), 1, 1),
    ("unknown-receiver-key",
     _replace(GOOD_CONFIG, "        endpoint: 127.0.0.1:0\n      http:",
              "        endpoint: 127.0.0.1:0\n        bogus_key: 1\n      http:"), 6, 9),
    ("unknown-component-type",
     _replace(GOOD_CONFIG, "  debug:\n    verbosity: basic\n",
              "  debug:\n    verbosity: basic\n  nosuchexporter:\n    a: 1\n"), 16, 3),
    ("undefined-exporter-in-pipeline",
     _replace(GOOD_CONFIG, "      exporters: [file/traces, debug]\n",
              "      exporters:\n        - file/traces\n        - file/nope\n"), 32, 11),
    ("bad-duration",
     _replace(GOOD_CONFIG, "    timeout: 100ms", "    timeout: soon"), 10, 14),
    ("bad-log-level",
     _replace(GOOD_CONFIG, "      level: info", "      level: loud"), 23, 14),
    ("tab-indentation",
     _replace(GOOD_CONFIG, "  otlp:\n    protocols:", "  otlp:\n\tprotocols:"), 3, 1),
    ("duplicate-key",
     _replace(GOOD_CONFIG, "processors:\n  batch:\n", "processors:\n  batch:\n  batch:\n"), 10, 3),
]


@pytest.mark.parametrize("name,text,line,col", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_validate_bad_config_points_at_the_error(otterd_bin, tmp_path, name, text, line, col):
    f = tmp_path / ("%s.yaml" % name)
    f.write_text(text)
    rc_, out, err = run(otterd_bin, "validate", "--config", str(f), cwd=tmp_path)
    assert rc_ != 0, "validate accepted %s:\n%s" % (name, text)
    want = re.compile(r"^%s:%d:%d: error: \S" % (re.escape(str(f)), line, col), re.M)
    assert want.search(out + err), "expected '%s:%d:%d: error: ...' in:\n%s" % (
        f, line, col, out + err)


def test_validate_missing_file(otterd_bin, tmp_path):
    f = tmp_path / "nope.yaml"
    rc_, out, err = run(otterd_bin, "validate", "--config", str(f))
    assert rc_ != 0
    assert str(f) in out + err


def test_run_with_bad_config_exits_nonzero(otterd_bin, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("recievers: {}\n")
    rc_, out, err = run(otterd_bin, "--config", str(f), timeout=30)
    assert rc_ != 0
    assert re.search(r"^%s:1:1: error: " % re.escape(str(f)), out + err, re.M), out + err


def test_env_expansion_in_config(otterd, tmp_path):
    cfg = make_config(tmp_path / "envcfg" / "out")
    cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = "${env:OTTER_IT_HTTP}"
    agent = otterd("envcfg", config=cfg, env={"OTTER_IT_HTTP": "127.0.0.1:0"})
    req, ids = rc.small_request("traces", "env")
    st, _, _ = rc.post(agent.http_port, "traces", req.SerializeToString())
    assert st == 200
    agent.stop()
    assert ids[0] in {it.item.span_id for it in otlp_util.items("traces", agent.read("traces"))}


def test_admin_and_health_endpoints(otterd):
    agent = otterd()
    for path in ("/healthz", "/readyz"):
        st, _, _ = http_request(agent.admin_port, "GET", path)
        assert st == 200, path
    st, _, _ = http_request(agent.health_port, "GET", "/")
    assert st == 200
    req, _ = rc.small_request("logs", "adm", n=3)
    st, _, _ = rc.post(agent.http_port, "logs", req.SerializeToString())
    assert st == 200
    st, hdrs, body = http_request(agent.admin_port, "GET", "/metrics")
    assert st == 200
    assert hdrs.get("content-type", "").startswith("text/plain")
    text = body.decode()
    assert "otter_receiver_items_total" in text
    assert agent.metric_sum("otter_receiver_items_total", receiver="otlp", transport="http",
                            signal="logs", outcome="accepted") == 3


def test_sigterm_flushes_everything_sent_just_before(otterd):
    """Data accepted a moment before SIGTERM is written (no waiting for the 1 s flush)."""
    agent = otterd(batch="10s")
    reqs = []
    for i in range(20):
        req, _ = rc.small_request("traces", "drain%d" % i, n=10)
        st, _, _ = rc.post(agent.http_port, "traces", req.SerializeToString())
        assert st == 200
        reqs.append(req)
    agent.stop()
    otlp_util.assert_same_items("traces", reqs, agent.read("traces"))


def test_sigint_also_shuts_down_cleanly(otterd):
    agent = otterd()
    req, _ = rc.small_request("logs", "int", n=4)
    st, _, _ = rc.post(agent.http_port, "logs", req.SerializeToString())
    assert st == 200
    agent.stop(sig=signal.SIGINT)
    otlp_util.assert_same_items("logs", [req], agent.read("logs"))


def test_default_config_writes_under_otter_data(otterd_bin, tmp_path):
    """No --config: OTLP on localhost 4317/4318, file exporters under ./otter-data/."""
    with default_ports():
        cwd = tmp_path / "cwd"
        cwd.mkdir()
        agent = Otterd(otterd_bin, tmp_path, None, cwd / "otter-data", args=[], cwd=cwd)
        try:
            agent.start(expect=["otlp grpc", "otlp http"], ready=False)
            assert agent.grpc_port == 4317 and agent.http_port == 4318, agent.listen_lines
            for comp, proto, host, port in agent.listen_lines:
                if comp == "otlp":
                    assert host in ("localhost", "127.0.0.1", "[::1]", "::1"), agent.listen_lines
            sent = {}
            for sig in otlp_util.SIGNALS:
                req, _ = rc.small_request(sig, "default", n=2)
                st, _, _ = rc.post(4318, sig, req.SerializeToString())
                assert st == 200, sig
                sent[sig] = [req]
            req, _ = rc.small_request("traces", "default-grpc", n=2)
            code, details, _ = rc.grpc_call("127.0.0.1:4317", otlp_util.GRPC_METHOD["traces"],
                                            req.SerializeToString())
            assert code.name == "OK", details
            sent["traces"].append(req)
        finally:
            agent.stop(check=False)
        agent.check_clean()
        for sig, reqs in sent.items():
            p = cwd / "otter-data" / ("%s.jsonl" % sig)
            assert p.is_file(), "%s was not written (files: %s)" % (
                p, sorted(x.name for x in (cwd / "otter-data").iterdir())
                if (cwd / "otter-data").is_dir() else "no otter-data/")
            otlp_util.assert_same_items(sig, reqs, agent.read(sig), exact=False)
