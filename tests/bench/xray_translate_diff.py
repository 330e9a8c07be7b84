#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Byte-for-byte comparison of two otterds' X-Ray documents: `otterd translate --to xray` of
every file of the trace fuzz corpora (and of the bench's realistic request, when given) under
several awsxray configurations, old binary against new. Used to check that an optimisation of
the segment writer changes no output byte. Exit status 0 when everything matches, 1 otherwise.

    python3 tests/bench/xray_translate_diff.py --old OLD/otterd --new build-rel/agent/otterd \
        [--extra realistic.pb ...]

The realistic request: build-rel/tests/bench/otter-loadgen --shape realistic --dump FILE.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = [os.path.join(HERE, "..", "fuzz", "corpus", d)
           for d in ("otlp_pb_traces", "otlp_json", "xray_segment")]

BASE = """receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
exporters:
  awsxray:
    region: us-east-1
{extra}service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [awsxray]}}
"""

CONFIGS = {
    "default": "",
    "indexed_attributes": "    indexed_attributes: [http.method, db.system, a, b.c, rpc.service]\n",
    "index_all_attributes": "    index_all_attributes: true\n",
    "aws_log_groups": "    aws_log_groups: [group-a, \"arn:aws:logs:us-east-1:123456789012:"
                      "log-group:group-b\"]\n",
    "allow_dot_false": "    index_all_attributes: true\n    allow_dot: false\n",
}


# Exception ids are random (xray.md §8); every other id comes from the input.
ID = re.compile(rb'(?<=")[0-9a-f]{16}(?=")')


def same(old1, old2, new):
    """Whether |new| equals |old1| except at the 16-hex-digit ids where two runs of the old
    binary differ (the random ones), which need only be ids too."""
    if old1[0] != new[0] or old1[2] != new[2]:
        return False
    a, b, c = (ID.split(x[1]) for x in (old1, old2, new))
    ia, ib, ic = (ID.findall(x[1]) for x in (old1, old2, new))
    return (a == c and len(ia) == len(ic) == len(ib) and
            all(x == z for x, y, z in zip(ia, ib, ic) if x == y))


def run(otterd, cfg, path):
    p = subprocess.run([otterd, "translate", "--to", "xray", "--config", cfg, path],
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--extra", nargs="*", default=[], help="more input files")
    args = ap.parse_args()
    files = [os.path.join(d, f) for d in CORPORA for f in sorted(os.listdir(d))] + args.extra
    bad = compared = out_bytes = 0
    with tempfile.TemporaryDirectory(prefix="xray-diff-") as work:
        for name, extra in CONFIGS.items():
            cfg = os.path.join(work, name + ".yaml")
            with open(cfg, "w") as f:
                f.write(BASE.format(extra=extra))
            for path in files:
                a, b = run(args.old, cfg, path), run(args.new, cfg, path)
                compared += 1
                out_bytes += len(b[1])
                if a != b and not same(a, run(args.old, cfg, path), b):
                    bad += 1
                    print(f"DIFFERS: {name} {path} (rc {a[0]} vs {b[0]}, "
                          f"{len(a[1])} vs {len(b[1])} bytes)")
    print(f"{compared} translations compared ({len(files)} inputs x {len(CONFIGS)} configs, "
          f"{out_bytes} bytes of output), {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
