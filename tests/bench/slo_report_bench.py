#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 5's `slo report` benchmark (not a test): 1,000 SLOs with 30-day windows (half
Occurrences, half Timeslices with 5-minute periods, default alerts) and 100,000 events over the
last 30 days, replayed by `slo report --format json` at one instant, N times. Prints the median
time to first byte (first byte on stdout) and total wall time. The goal is 200 ms to first byte.

  tests/bench/slo_report_bench.py [--slo build/slo/cli/slo] [--runs 5] [--slos 1000]
                                  [--events 100000] [--format json] [--keep DIR]
"""

import argparse
import json
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import time

DAY_MS = 86_400_000
AT_MS = 1_738_317_600_000  # 2025-01-31T10:00:00Z


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def write_inputs(d, n_slos, n_events, seed=5):
    rnd = random.Random(seed)
    defs = os.path.join(d, "slos.yaml")
    with open(defs, "w") as f:
        for i in range(n_slos):
            f.write("---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: slo-%04d}\nspec:\n"
                    "  service: svc-%d\n  objective: \"99.9\"\n  window: 30d\n" % (i, i % 50))
            if i % 2:
                f.write("  budgetingMethod: Timeslices\n"
                        "  timeSlice: {period: 5m, target: \"95\"}\n")
            f.write("  sli: {spans: {availability: {}}}\n  alerts: defaults\n")
    events = os.path.join(d, "events.jsonl")
    with open(events, "w") as f:
        for _ in range(n_events):
            total = rnd.randint(1, 1000)
            f.write(json.dumps({"time": AT_MS - rnd.randint(1, 30 * DAY_MS),
                                "slo": "slo-%04d" % rnd.randrange(n_slos),
                                "bad": rnd.randint(0, total // 100), "total": total}) + "\n")
    return defs, events


def one_run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = None
    out = 0
    while True:
        r, _, _ = select.select([p.stdout], [], [])
        chunk = os.read(p.stdout.fileno(), 1 << 20)
        if not chunk:
            break
        if first is None:
            first = time.perf_counter() - t0
        out += len(chunk)
    err = p.stderr.read()
    rc = p.wait()
    total = time.perf_counter() - t0
    if rc not in (0, 1):
        sys.exit("slo report failed (%d): %s" % (rc, err.decode()[:500]))
    return first, total, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slo", default="build/slo/cli/slo")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slos", type=int, default=1000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--format", default="json")
    ap.add_argument("--keep", help="write the inputs here and keep them")
    a = ap.parse_args()
    d = a.keep or tempfile.mkdtemp(prefix="slo-bench-")
    os.makedirs(d, exist_ok=True)
    defs, events = write_inputs(d, a.slos, a.events)
    cmd = [a.slo, "report", "--definitions", defs, "--events", events, "--at", iso(AT_MS),
           "--format", a.format]
    firsts, totals = [], []
    for _ in range(a.runs):
        f, t, n = one_run(cmd)
        firsts.append(f)
        totals.append(t)
    print("slo report: %d SLOs (30d), %d events, --format %s, %d runs, %d bytes out"
          % (a.slos, a.events, a.format, a.runs, n))
    print("time to first byte: median %.1f ms (min %.1f, max %.1f); total: median %.1f ms"
          % (statistics.median(firsts) * 1e3, min(firsts) * 1e3, max(firsts) * 1e3,
             statistics.median(totals) * 1e3))
    if not a.keep:
        for p in (defs, events):
            os.unlink(p)
        os.rmdir(d)


if __name__ == "__main__":
    main()
