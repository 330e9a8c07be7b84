# SPDX-License-Identifier: Apache-2.0
"""`slo report` evaluates one SLO at a time and streams the JSON as it goes (slo/README.md): the
output must be byte for byte what the one-engine path writes (taken with --save-state, which keeps
every SLO in one engine), for every format, on random streams of several SLO kinds and instants,
to stdout and to --output. The binary is $SLO (default build/slo/cli/slo)."""

import json
import random
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = 1735689600000  # 2025-01-01T00:00:00Z
DAY = 86_400_000

DEFS = """\
apiVersion: otter/v1
kind: SLO
metadata: {name: occ}
spec: {service: s, objective: "99.5", window: 30d, sli: {spans: {availability: {}}},
       alerts: defaults}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: slices}
spec: {service: s, objective: "90", window: 7d, budgetingMethod: Timeslices,
       timeSlice: {period: 5m, target: "95"}, sli: {spans: {availability: {}}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: ratio}
spec: {service: s, objective: "95", window: 1d, budgetingMethod: RatioTimeslices,
       timeSlice: {period: 1h}, sli: {spans: {availability: {}}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: cal}
spec: {service: s, objective: "99", calendar: {unit: day, timeZone: UTC},
       sli: {spans: {availability: {}}}}
---
apiVersion: otter/v1
kind: SLO
metadata: {name: idle}
spec: {service: s, objective: "99.9", window: 1h, sli: {spans: {availability: {}}}}
"""


def iso(ms):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + (
        ".%03dZ" % (ms % 1000) if ms % 1000 else "Z")


@pytest.mark.parametrize("seed", range(6))
def test_streamed_equals_one_engine(slo_bin, tmp_path, seed):
    rnd = random.Random(seed)
    defs = tmp_path / "slos.yaml"
    defs.write_text(DEFS)
    events = tmp_path / "events.jsonl"
    with events.open("w") as f:
        for _ in range(rnd.randint(50, 400)):
            total = rnd.randint(0, 50)
            f.write(json.dumps({"time": T0 + rnd.randint(0, 40 * DAY),
                                "slo": rnd.choice(["occ", "slices", "ratio", "cal"]),
                                "bad": rnd.randint(0, total), "total": total}) + "\n")
    ats = sorted(T0 + rnd.randint(0, 45 * DAY) for _ in range(rnd.randint(1, 4)))
    rnd.shuffle(ats)  # instants in any order
    args = [str(slo_bin), "report", "--definitions", str(defs), "--events", str(events)]
    for at in ats:
        args += ["--at", iso(at)]
    for fmt in ("json", "text", "markdown", "html"):
        one = subprocess.run(args + ["--format", fmt, "--save-state", str(tmp_path / "st")],
                             capture_output=True, timeout=60)
        streamed = subprocess.run(args + ["--format", fmt], capture_output=True, timeout=60)
        assert one.returncode in (0, 1), one.stderr
        assert (streamed.returncode, streamed.stdout, streamed.stderr) == (
            one.returncode, one.stdout, one.stderr), fmt
        if fmt == "json":
            doc = json.loads(streamed.stdout)
            assert len(doc["evaluations"]) == len(ats)
            assert all(len(e["slos"]) == 5 for e in doc["evaluations"])
            outp = tmp_path / "out.json"
            to_file = subprocess.run(args + ["--output", str(outp)], capture_output=True,
                                     timeout=60)
            assert to_file.returncode == one.returncode and to_file.stdout == b""
            assert outp.read_bytes() == one.stdout
