# SPDX-License-Identifier: Apache-2.0
"""The README's first command, `bash scripts/demo.sh`, end to end: otterd on its built-in default
(OTLP on localhost:4317/4318, admin on 8888, file exporters under ./otter-data/), telemetry from the
OpenTelemetry Python SDK and curl, a SIGTERM drain, and the three files it prints.

The install step runs with OTTER_SKIP_APT/JS/GO (what test.sh installed is there; the venv step is
a no-op by its stamp); the build step is ninja's no-op on the gcc build test.sh made. The demo
always runs build/agent/otterd, so the san pass runs the same check again.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, default_ports, scaled

@pytest.mark.timeout(600)
def test_demo_script():
    env = dict(os.environ, OTTER_SKIP_APT="1", OTTER_SKIP_JS="1", OTTER_SKIP_GO="1")
    with default_ports():
        p = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "demo.sh")], cwd=REPO_ROOT,
                           env=env, capture_output=True, text=True, timeout=scaled(540))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = p.stdout
    files = {}
    for m in re.finditer(r"^(\S+/otter-data/(traces|metrics|logs)\.jsonl): (\d+) lines, (\d+) "
                         r"bytes$", out, re.M):
        files[m.group(2)] = (Path(m.group(1)), int(m.group(3)))
    assert set(files) == {"traces", "metrics", "logs"}, out
    for sig, (path, lines) in files.items():
        assert lines >= 1, (sig, out)
        # The file the demo names is where its lines are: OTLP/JSON, one request per line.
        assert path.is_file(), path
        docs = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(docs) == lines
    spans = [s for d in (json.loads(line) for line in files["traces"][0].read_text().splitlines())
             for rs in d["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    names = sorted(s["name"] for s in spans)
    # The SDK's server span and its client child, and curl's span.
    assert names == ["GET /hello", "POST /chat", "bedrock.converse"], names
    records = [r for d in (json.loads(line) for line in files["logs"][0].read_text().splitlines())
               for rl in d["resourceLogs"] for sl in rl["scopeLogs"] for r in sl["logRecords"]]
    assert len(records) >= 1
    metrics = [m["name"] for d in (json.loads(line)
                                   for line in files["metrics"][0].read_text().splitlines())
               for rm in d["resourceMetrics"] for sm in rm["scopeMetrics"] for m in sm["metrics"]]
    assert metrics, out
    assert "==> first trace line:" in out
    shutil.rmtree(files["traces"][0].parent.parent)  # the demo's mktemp -d
