#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end CloudWatch benchmark: OTLP/gRPC metrics -> otterd -> awsemf, and OTLP/gRPC logs ->
otterd -> awscloudwatchlogs, both with SigV4 (fake credentials with a session token) to
cwlogs-sink, a local endpoint that answers like CloudWatch Logs (PutLogEvents, CreateLogGroup,
CreateLogStream, PutRetentionPolicy).

Measured in one run, on the same core and the same requests: for each signal the receive-only
figure (nop exporter) and the end-to-end one, items per otterd CPU-second (data points for
metrics, log records for logs), otterd's peak RSS, and the ratio. Python 3 standard library only;
uses run_bench.py's helpers, as run_xray_bench.py does.

    python3 tests/bench/run_cw_bench.py --build build-rel [--seconds 8] [--repeat 2]
    python3 tests/bench/run_cw_bench.py --build build-rel --otterd OLD/agent/otterd  # before/after
    python3 tests/bench/run_cw_bench.py --build build-rel --callgrind 4  # + instructions per item
    python3 tests/bench/run_cw_bench.py --build build-rel --callgrind 6 --callgrind-rate 2000

Logs: every record is one event, so the run waits until the sink has as many events as otterd
acknowledged records. Metrics: EMF groups the points of one label set into one event and the
first point of each cumulative series only sets the delta baseline, so the run waits until the
sink's event count stops moving; data points are those otterd acknowledged.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402
import run_xray_bench as rx  # noqa: E402

HEAD = """receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
      http: {{endpoint: "127.0.0.1:0"}}
processors:
  batch: {{}}
exporters:
  nop:
  awsemf:
    region: us-east-1
    endpoint: "http://127.0.0.1:{port}"
    log_group_name: "/otter/bench/{{ServiceName}}"
    log_stream_name: "emf"
  awscloudwatchlogs:
    region: us-east-1
    endpoint: "http://127.0.0.1:{port}"
    log_group_name: "/otter/bench/{{ServiceName}}"
    log_stream_name: "logs"
service:
  telemetry: {{metrics: {{address: "127.0.0.1:0"}}}}
  pipelines:
"""
PIPELINE = "    {signal}: {{receivers: [otlp], processors: [batch], exporters: [{exporter}]}}\n"

SIGNALS = {
    # signal: (end-to-end exporter, item name, goal per core, items per request)
    "metrics": ("awsemf", "data points", 1_000_000, 500),
    "logs": ("awscloudwatchlogs", "log records", 500_000, 512),
}


def config(port, signal, exporter):
    return HEAD.format(port=port) + PIPELINE.format(signal=signal, exporter=exporter)


def wait_sink(port, s0, want_events, timeout):
    """Until the sink holds |want_events| more events (logs), or (None) until its count has not
    moved for a second (metrics). Returns the last stats."""
    deadline = time.monotonic() + timeout
    last, still = -1, 0.0
    while True:
        st = rx.sink_stats(port)
        got = st["events"] - s0["events"]
        if want_events is not None and got >= want_events:
            return st
        if want_events is None:
            still = still + 0.2 if got == last else 0.0
            if still >= 1.0:
                return st
            last = got
        if time.monotonic() >= deadline:
            return st
        time.sleep(0.2)


def run(args, od, signal, scenario, sink_port=None):
    s0 = rx.sink_stats(sink_port) if sink_port else None
    u0, k0 = rb.proc_times(od.pid)
    t0 = time.monotonic()
    extra = ["--signal", signal, "--items-per-request", str(args.per_request[signal])]
    lg = rb.run_loadgen(args, od.ports["grpc"], "grpc", "realistic", args.seconds,
                        rate=args.rate or None, extra=extra)
    items = lg["items_acked"]
    row = {"scenario": scenario, "signal": signal, "acked": items,
           "requests_failed": lg["requests_failed"],
           "bytes_per_request": lg["bytes_per_request"],
           "items_per_request": lg["spans_per_request"]}
    if sink_port:
        st = wait_sink(sink_port, s0, items if signal == "logs" else None, 30)
        row["sink_events"] = st["events"] - s0["events"]
        row["sink_requests"] = st["requests"] - s0["requests"]
        row["sink_rejected"] = st["rejected"] - s0["rejected"]
        row["sink_creates"] = st["creates"] - s0["creates"]
        if signal == "logs":
            items = row["sink_events"]  # delivered
    wall = time.monotonic() - t0
    u1, k1 = rb.proc_times(od.pid)
    cpu = (u1 - u0) + (k1 - k0)
    row.update({"delivered": items, "otterd_cpu_s": round(cpu, 3), "wall_s": round(wall, 2),
                "items_per_cpu_s": round(items / cpu) if cpu > 0 else None,
                "vmhwm_kib": rb.proc_status(od.pid).get("VmHWM")})
    rb.log(f"{scenario}: {row}")
    return row


def callgrind_e2e(args, env, port, work, signal):
    """otterd under callgrind, end to end to the sink: instructions per item (data point or log
    record) otterd acknowledged, deterministic where the CPU-second figures are noisy."""
    out = os.path.join(work, f"callgrind.{signal}")
    od = rb.Otterd(args.otterd, args.otterd_core, work,
                   config=config(port, signal, SIGNALS[signal][0]), env=env,
                   wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    od.start(timeout=60)
    try:
        s0 = rx.sink_stats(port)
        extra = ["--signal", signal, "--items-per-request", str(args.per_request[signal])]
        lg = rb.run_loadgen(args, od.ports["grpc"], "grpc", "realistic", args.callgrind,
                            rate=args.callgrind_rate or None, extra=extra)
        items = lg["items_acked"]
        st = wait_sink(port, s0, items if signal == "logs" else None, 120)
    finally:
        od.stop(timeout=60)
    ir, top = rb.callgrind_per_item(out, items, "item", 15)
    row = {"signal": signal, "acked": items, "sink_events": st["events"] - s0["events"],
           "ir_per_item": ir, "self_top": top}
    rb.log(f"callgrind {signal}: {row['ir_per_item']} Ir/item over {items} items")
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--signals", default="metrics,logs")
    ap.add_argument("--metrics-per-request", type=int, default=SIGNALS["metrics"][3])
    ap.add_argument("--logs-per-request", type=int, default=SIGNALS["logs"][3])
    ap.add_argument("--otterd-core", type=int, default=0)
    ap.add_argument("--loadgen-core", type=int, default=1)
    ap.add_argument("--inflight", type=int, default=8)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--http-conns", type=int, default=8)
    ap.add_argument("--rate", type=float, default=0, metavar="R",
                    help="open loop at R items/s instead of saturating (0): below saturation every "
                         "item otterd accepts is delivered, so items per CPU-second do not "
                         "count the CPU spent on batches a full queue refused")
    ap.add_argument("--callgrind", type=float, default=0, metavar="S",
                    help="also run S seconds end to end under callgrind per signal")
    ap.add_argument("--callgrind-rate", type=float, default=0, metavar="R",
                    help="items/s of the callgrind runs (0 = saturating): a fixed rate sends the "
                         "same items to every otterd, so their Ir/item compare exactly")
    ap.add_argument("--otterd", default=None,
                    help="another otterd binary (e.g. an older build) with this build's tools")
    ap.add_argument("--out", default=None, help="JSON file (default BUILD/bench-results/...)")
    args = ap.parse_args()
    args.per_request = {"metrics": args.metrics_per_request, "logs": args.logs_per_request}
    b = os.path.abspath(args.build)
    args.otterd = os.path.abspath(args.otterd) if args.otterd else os.path.join(b, "agent",
                                                                                "otterd")
    args.loadgen = os.path.join(b, "tests", "bench", "otter-loadgen")
    sink_bin = os.path.join(b, "tests", "bench", "cwlogs-sink")
    for p in (args.otterd, args.loadgen, sink_bin):
        if not os.access(p, os.X_OK):
            sys.exit(f"run_cw_bench: {p} not found (build it first)")
    machine = rb.machine_info()
    rb.log(f"machine: {machine}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIDBENCHMARK0000000", AWS_SECRET_ACCESS_KEY="bench-secret",
               AWS_SESSION_TOKEN="bench-session-token", AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true")
    rows = []
    sink, port = rx.start_sink(sink_bin, args.loadgen_core)
    try:
        with tempfile.TemporaryDirectory(prefix="otter-cwbench-") as work:
            for signal in args.signals.split(","):
                exporter = SIGNALS[signal][0]
                for name, exp in (("receive-only (nop)", "nop"),
                                  (f"end-to-end ({exporter})", exporter)):
                    od = rb.Otterd(args.otterd, args.otterd_core, work,
                                   config=config(port, signal, exp), env=env)
                    od.start()
                    try:
                        runs = [run(args, od, signal, f"{signal} {name}",
                                    port if exp != "nop" else None)
                                for _ in range(args.repeat)]
                        best = max(runs, key=lambda r: r["items_per_cpu_s"] or 0)
                        best["vmhwm_kib"] = rb.proc_status(od.pid).get("VmHWM")
                        best["runs"] = [r["items_per_cpu_s"] for r in runs]
                        rows.append(best)
                    finally:
                        od.stop()
            cg = [callgrind_e2e(args, env, port, work, signal)
                  for signal in args.signals.split(",")] if args.callgrind > 0 else []
    finally:
        sink.terminate()
        sink.wait(timeout=5)
    print(f"\nmachine: {machine.get('cpu_model', '?')}, {machine.get('nproc', '?')} CPUs; "
          f"otterd pinned to core {args.otterd_core}, load generator and sink to core "
          f"{args.loadgen_core}; gRPC, {rx.load_desc(args)}\n")
    print("| Scenario | Items / request | Items delivered | otterd CPU s | Items / CPU-second "
          "| Peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scenario']} | {r['items_per_request']} | {r['delivered']:,} | "
              f"{r['otterd_cpu_s']} | {r['items_per_cpu_s']:,} | {r['vmhwm_kib'] / 1024:.1f} |")
    summary = {}
    for signal in args.signals.split(","):
        base, e2e = [r for r in rows if r["signal"] == signal]
        ratio = e2e["items_per_cpu_s"] / base["items_per_cpu_s"] if base["items_per_cpu_s"] else 0
        goal = SIGNALS[signal][2]
        summary[signal] = {"ratio": ratio, "goal": goal,
                           "met": (e2e["items_per_cpu_s"] >= goal
                                   and e2e["delivered"] >= e2e["acked"])}
        print(f"\n{signal}: end-to-end / receive-only {ratio:.2f}; goal {goal:,} "
              f"{SIGNALS[signal][1]}/s per core: "
              f"{rx.verdict(e2e, 'items_per_cpu_s', goal)}")
        if e2e.get("sink_rejected"):
            print(f"warning: the sink rejected {e2e['sink_rejected']} requests")
    for c in cg:
        print(f"\ncallgrind, {c['signal']} end to end: {c['ir_per_item']:,} instructions per item "
              f"in the event loop ({c['acked']:,} items)\n")
        print("| function (self) | Ir/item | % |\n|---|---:|---:|")
        for f in c["self_top"]:
            print(f"| {f['function']} | {f['ir_per_item']:,} | {f['pct']} |")
    path = args.out
    if path is None:
        out = os.path.join(b, "bench-results")
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, time.strftime("cw-bench-%Y%m%dT%H%M%S.json"))
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"machine": machine, "otterd": os.path.relpath(args.otterd),
                   "rate": args.rate or None, "rows": rows,
                   "summary": summary,
                   "callgrind": cg,
                   "date": time.strftime("%Y-%m-%d")}, f, indent=1)
    print("raw results: " + path)


if __name__ == "__main__":
    main()
