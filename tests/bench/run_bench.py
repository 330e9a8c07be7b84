#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Otter receiver benchmark (specs/performance.md §5), Python 3 standard library only.

Builds nothing. Starts otterd (OTLP receiver -> nop exporter) pinned to one core, drives it with
otter-loadgen pinned to another, and measures idle RSS, RSS at a fixed 10,000 spans/s, saturation
throughput and CPU cost per shape and protocol, and open-loop latency at fixed rates. The decode
floor (protobuf-c unpack alone, same requests, same core) and the load generator's own CPU cost
are measured in the same run, so results read as ratios. Prints Markdown tables and writes the
raw numbers as JSON and CSV. Every step is bounded in time; the whole run takes about 2 minutes
(under 1 with --quick).
"""

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CONFIG = """receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:0"}
      http: {endpoint: "127.0.0.1:0"}
exporters:
  nop:
service:
  telemetry: {metrics: {address: "127.0.0.1:0"}}
  pipelines:
    traces: {receivers: [otlp], exporters: [nop]}
"""

LISTEN_RE = re.compile(r"listening: otlp (grpc|http) (\S+):(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SHAPES = ("small", "realistic")
PROTOS = ("grpc", "http")
GOAL_SMALL_SPANS_PER_CORE = 1_000_000
GOAL_IDLE_RSS_KIB = 4 * 1024
GOAL_RSS_10K_KIB = 16 * 1024


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
    except OSError:
        pass
    rev = ""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        loadavg = os.getloadavg()[0]
    except OSError:
        loadavg = -1.0
    return {"nproc": os.cpu_count(), "cpu_model": model, "mem_total_mib": mem_kib // 1024,
            "loadavg_1m_at_start": round(loadavg, 2),
            "kernel": platform.release(), "git_rev": rev,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def proc_status(pid):
    """VmRSS and VmHWM of |pid| in KiB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def proc_times(pid):
    """(utime, stime) of |pid| (all threads) in seconds."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_s(pid):
    """utime + stime of |pid| (all threads) in seconds."""
    return sum(proc_times(pid))


class Sampler:
    """Samples VmRSS of a process every |period| seconds while active."""

    def __init__(self, pid, period=0.2):
        self.pid, self.period = pid, period
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(proc_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)

    def summary(self):
        if not self.samples:
            return {"rss_avg_kib": None, "rss_max_kib": None}
        return {"rss_avg_kib": round(sum(self.samples) / len(self.samples)),
                "rss_max_kib": max(self.samples)}


class Otterd:
    """otterd as a child process, pinned with taskset, ports read from its stderr."""

    def __init__(self, binary, core, workdir, wrapper=(), config=CONFIG, env=None):
        self.binary, self.core, self.workdir = binary, core, workdir
        self.wrapper = list(wrapper)
        self.config, self.env = config, env
        self.proc = None
        self.ports = {}
        self.stderr_tail = []
        self._ready = threading.Event()

    def start(self, timeout=15):
        cfg = os.path.join(self.workdir, "otterd-bench.yaml")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(self.config)
        cmd = pin(self.core) + self.wrapper + [self.binary, "--config", cfg]
        log("starting " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, cwd=self.workdir,
                                     env=self.env)
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("otterd did not report both listening ports within "
                               f"{timeout} s; stderr:\n" + "".join(self.stderr_tail[-20:]))
        if self.proc.poll() is not None:
            raise RuntimeError("otterd exited at startup:\n" + "".join(self.stderr_tail[-20:]))
        log(f"otterd pid {self.proc.pid}, ports {self.ports}")

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_tail.append(line)
            del self.stderr_tail[:-200]
            m = LISTEN_RE.search(line)
            if m:
                self.ports[m.group(1)] = f"{m.group(2)}:{m.group(3)}"
                if "grpc" in self.ports and "http" in self.ports:
                    self._ready.set()
        self._ready.set()  # EOF: let start() notice the exit

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def pin(core):
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


def run_loadgen(args, target, proto, shape, duration, rate=None, extra=()):
    cmd = pin(args.loadgen_core) + [args.loadgen, "--proto", proto, "--target", target,
                                    "--shape", shape, "--duration", f"{duration:g}", "--grace",
                                    "2", "--json"]
    if rate is None:
        cmd += ["--saturate"]
        cmd += ["--inflight", str(args.inflight)] if proto == "grpc" else []
        cmd += ["--connections", str(args.connections if proto == "grpc" else args.http_conns)]
    else:
        cmd += ["--rate", f"{rate:.0f}"]
        if proto == "http":
            cmd += ["--connections", str(args.http_conns)]
    cmd += list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=False)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"loadgen failed (exit {p.returncode}): {p.stderr.strip()}")
    return json.loads(lines[-1])


def measured_run(args, od, proto, shape, duration, rate=None, scenario=""):
    """One loadgen run with otterd's CPU and RSS recorded around it."""
    target = od.ports[proto]
    u0, s0 = proc_times(od.pid)
    with Sampler(od.pid) as s:
        lg = run_loadgen(args, target, proto, shape, duration, rate)
    u1, s1 = proc_times(od.pid)
    st = proc_status(od.pid)
    items = lg["items_acked"]
    cpu = (u1 - u0) + (s1 - s0)
    row = {
        "scenario": scenario, "proto": proto, "shape": shape,
        "mode": "saturate" if rate is None else "rate", "target_rate": rate or 0,
        "duration_s": duration, "elapsed_s": lg["elapsed_s"],
        "items_sent": lg["items_sent"], "items_acked": items,
        "requests_failed": lg["requests_failed"], "timed_out": lg["timed_out"],
        "unsent": lg["unsent"], "errors": lg["errors"],
        "items_per_s": lg["items_per_s"],
        "otterd_cpu_s": round(cpu, 3),
        "otterd_sys_share": round((s1 - s0) / cpu, 3) if cpu > 0 else None,
        "otterd_cpu_util": round(cpu / lg["elapsed_s"], 3) if lg["elapsed_s"] else None,
        "cpu_s_per_million": round(cpu / items * 1e6, 3) if items else None,
        "items_per_s_per_core": round(items / cpu) if cpu > 0 else None,
        "loadgen_cpu_s_per_million": round(lg["loadgen_cpu_s"] / items * 1e6, 3) if items else None,
        "p50_ms": lg["latency_ms"]["p50"], "p99_ms": lg["latency_ms"]["p99"],
        "p99_9_ms": lg["latency_ms"]["p99_9"], "max_ms": lg["latency_ms"]["max"],
        "bytes_per_span": round(lg["bytes_per_request"] / lg["spans_per_request"], 1),
        "vmhwm_kib": st.get("VmHWM"), "vmrss_end_kib": st.get("VmRSS"),
    }
    row.update(s.summary())
    log(f"{scenario}: {proto} {shape} {row['mode']} -> {row['items_per_s']:.0f} items/s, "
        f"otterd CPU {row['otterd_cpu_util']}, p99 {row['p99_ms']} ms, "
        f"failed {row['requests_failed']}, HWM {row['vmhwm_kib']} KiB")
    if not od.alive():
        raise RuntimeError("otterd died during " + scenario + ":\n" + "".join(od.stderr_tail[-20:]))
    return row


def decode_floor(args, q):
    log("decode floor")
    p = subprocess.run(pin(args.otterd_core) + [args.decode_floor, "--json", "--seconds",
                       f"{0.5 * q:g}", "--repeat", "3"],
                       capture_output=True, text=True, timeout=60, check=True)
    return json.loads(p.stdout)


CG_LINE_RE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?:\s+\[(.*)\])?$")
CG_KEY_FUNCS = ("ag_otlp_decode", "protobuf_c_message_unpack", "ag_otlp_validate", "snprintf",
                "ag_arena_alloc", "nghttp2_session_mem_recv", "evbuffer_pullup", "on_request",
                "memcpy")


def callgrind_functions(path, inclusive):
    """{function: Ir} from callgrind_annotate, recursion levels ('2) folded together."""
    p = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                        "--threshold=100", path], capture_output=True, text=True, timeout=120,
                       check=True)
    funcs = {}
    for line in p.stdout.splitlines():
        m = CG_LINE_RE.match(line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = m.group(2).rsplit(":", 1)[-1]
        if inclusive and re.search(r"'\d+$", name):
            continue  # a recursion level: its inclusive cost double-counts the outer call
        name = re.sub(r"'\d+$", "", name)
        name = re.sub(r"^__(memcpy|memmove|memset)_\w+$", r"\1", name)
        ir = int(m.group(1).replace(",", ""))
        funcs[name] = max(funcs.get(name, 0), ir) if inclusive else funcs.get(name, 0) + ir
    return funcs


def callgrind_per_item(path, items, unit, top=20):
    """(instructions per item in otterd's event loop, the |top| functions by self cost per item)
    from a callgrind file of an end-to-end run; |unit| names the item in the keys ("span")."""
    incl = callgrind_functions(path, True)
    self_ = callgrind_functions(path, False)
    loop = incl.get("event_base_loop", 0)
    if not items:
        return None, []
    return round(loop / items), [
        {"function": f, f"ir_per_{unit}": round(v / items),
         "pct": round(100.0 * v / loop, 1) if loop else None}
        for f, v in sorted(self_.items(), key=lambda kv: -kv[1])[:top]]


def callgrind_run(args, work, proto, shape, seconds):
    """otterd under callgrind, saturated for |seconds|: instructions per span, by function."""
    out = os.path.join(work, f"callgrind.{proto}.{shape}")
    od = Otterd(args.otterd, args.otterd_core, work,
                wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    od.start(timeout=60)
    try:
        lg = run_loadgen(args, od.ports[proto], proto, shape, seconds)
    finally:
        od.stop(timeout=60)
    items = lg["items_acked"]
    incl = callgrind_functions(out, True)
    self_ = callgrind_functions(out, False)
    loop = incl.get("event_base_loop", 0)
    row = {"proto": proto, "shape": shape, "items": items,
           "ir_per_span": round(loop / items) if items else None,
           "inclusive_ir_per_span": {f: round(incl[f] / items) for f in CG_KEY_FUNCS
                                     if f in incl and items},
           "self_top": [{"function": f, "ir_per_span": round(v / items),
                         "pct": round(100.0 * v / loop, 1) if loop else None}
                        for f, v in sorted(self_.items(), key=lambda kv: -kv[1])[:15]
                        if items]}
    log(f"callgrind {proto} {shape}: {row['ir_per_span']} Ir/span over {items} spans")
    return row


def markdown_callgrind(rows):
    out = []
    for r in rows:
        out += ["", f"callgrind, {r['proto']} {r['shape']}: {r['ir_per_span']:,} instructions per "
                f"span in the event loop ({r['items']:,} spans)", "",
                "| function (self) | Ir/span | % |", "|---|---|---|"]
        out += [f"| {x['function']} | {x['ir_per_span']:,} | {x['pct']} |" for x in r["self_top"]]
        out += ["", "| function (inclusive) | Ir/span |", "|---|---|"]
        out += [f"| {f} | {v:,} |" for f, v in r["inclusive_ir_per_span"].items()]
    return "\n".join(out)


def fmt_num(v, digits=0):
    if v is None:
        return "n/a"
    if isinstance(v, float) and digits:
        return f"{v:,.{digits}f}"
    return f"{v:,.0f}"


def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def markdown(res):
    m = res["machine"]
    out = [f"Machine: {m['cpu_model']}, nproc {m['nproc']}, {m['mem_total_mib']} MiB, "
           f"Linux {m['kernel']}; otterd on core {res['cores']['otterd']}, loadgen on core "
           f"{res['cores']['loadgen']}; load average at start {m['loadavg_1m_at_start']}; "
           f"git {m['git_rev'] or '?'}; {m['date']}", ""]
    idle = res["idle"]
    out += ["| Idle | VmRSS MiB | VmHWM MiB | CPU % |", "|---|---|---|---|",
            f"| after startup + {idle['seconds']:g} s | {mib(idle['vmrss_kib'])} | "
            f"{mib(idle['vmhwm_kib'])} | {idle['cpu_pct']:.2f} |", ""]
    out += ["| Saturation (1 core) | items/s | otterd CPU | of which kernel | items/s per core"
            " | CPU-s per M items | decode floor spans/s | % of floor | loadgen CPU-s per M"
            " | failed | p99 ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["saturation"]:
        floor = res["decode_floor"]["shapes"].get(r["shape"], {}).get("arena_spans_per_s")
        pct = (100.0 * r["items_per_s_per_core"] / floor
               if floor and r["items_per_s_per_core"] else None)
        out.append(f"| {r['proto']} {r['shape']} ({r['bytes_per_span']:g} B/span) | "
                   f"{fmt_num(r['items_per_s'])} | {r['otterd_cpu_util'] * 100:.0f} % | "
                   f"{(r['otterd_sys_share'] or 0) * 100:.0f} % | "
                   f"{fmt_num(r['items_per_s_per_core'])} | {fmt_num(r['cpu_s_per_million'], 3)} | "
                   f"{fmt_num(floor)} | {fmt_num(pct, 1)} % | "
                   f"{fmt_num(r['loadgen_cpu_s_per_million'], 3)} | {r['requests_failed']} | "
                   f"{r['p99_ms']:.2f} |")
    out += ["", "| Fixed rate (open loop) | target items/s | achieved | otterd CPU % | p50 ms | p99 ms"
            " | p99.9 ms | max ms | RSS max MiB | VmHWM MiB | failed/unsent |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["fixed_rate"]:
        out.append(f"| {r['scenario']}: {r['proto']} {r['shape']} | {fmt_num(r['target_rate'])} | "
                   f"{fmt_num(r['items_per_s'])} | {r['otterd_cpu_util'] * 100:.1f} | "
                   f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['p99_9_ms']:.3f} | "
                   f"{r['max_ms']:.3f} | {mib(r['rss_max_kib'])} | {mib(r['vmhwm_kib'])} | "
                   f"{r['requests_failed']}/{r['unsent']} |")
    df = res["decode_floor"]["shapes"]
    out += ["", "| Decode floor (protobuf-c unpack, same core) | B/span | arena ns/span | "
            "arena spans/s | heap ns/span | heap spans/s |", "|---|---|---|---|---|---|"]
    for shape, d in df.items():
        out.append(f"| {shape} | {d['bytes_per_span']:g} | {d['arena_ns_per_span']:.0f} | "
                   f"{fmt_num(d['arena_spans_per_s'])} | {d['malloc_ns_per_span']:.0f} | "
                   f"{fmt_num(d['malloc_spans_per_s'])} |")
    out += ["", "| Goal | target | measured | met |", "|---|---|---|---|"]
    for g in res["goals"]:
        out.append(f"| {g['goal']} | {g['target']} | {g['measured']} | "
                   f"{'yes' if g['met'] else 'NO'} |")
    return "\n".join(out)


def goals(res):
    out = []
    best = max((r["items_per_s_per_core"] or 0 for r in res["saturation"]
                if r["shape"] == "small" and r["requests_failed"] == 0), default=0)
    out.append({"goal": "small spans/s on one core (best protocol)",
                "target": f">= {GOAL_SMALL_SPANS_PER_CORE:,}", "measured": f"{best:,.0f}",
                "met": best >= GOAL_SMALL_SPANS_PER_CORE})
    idle = res["idle"]["vmrss_kib"]
    out.append({"goal": "idle RSS", "target": "<= 4 MiB", "measured": f"{mib(idle)} MiB",
                "met": idle is not None and idle <= GOAL_IDLE_RSS_KIB})
    hwm = res["rss_10k_hwm_kib"]
    out.append({"goal": "RSS (VmHWM) at 10,000 spans/s", "target": "<= 16 MiB",
                "measured": f"{mib(hwm)} MiB", "met": hwm is not None and hwm <= GOAL_RSS_10K_KIB})
    return out


def write_outputs(res, outdir):
    os.makedirs(outdir, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    jpath = os.path.join(outdir, f"bench-{stamp}.json")
    with open(jpath, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=2)
    cpath = os.path.join(outdir, f"bench-{stamp}.csv")
    rows = res["saturation"] + res["fixed_rate"]
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(cpath, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in r.items()})
    mpath = os.path.join(outdir, f"bench-{stamp}.md")
    with open(mpath, "w", encoding="utf-8") as f:
        f.write(markdown(res) + "\n")
        if res.get("callgrind"):
            f.write(markdown_callgrind(res["callgrind"]) + "\n")
    return jpath, cpath, mpath


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build",
                    help="meson build directory holding the binaries (default: build)")
    ap.add_argument("--otterd", help="otterd binary (default: BUILD/agent/otterd)")
    ap.add_argument("--loadgen", help="default: BUILD/tests/bench/otter-loadgen")
    ap.add_argument("--decode-floor", help="default: BUILD/tests/bench/decode-floor")
    ap.add_argument("--out", help="directory for JSON/CSV/Markdown (default: BUILD/bench-results)")
    ap.add_argument("--otterd-core", type=int, default=0)
    ap.add_argument("--loadgen-core", type=int, default=1)
    ap.add_argument("--inflight", type=int, default=8, help="gRPC streams in flight (saturate)")
    ap.add_argument("--connections", type=int, default=2, help="gRPC connections")
    ap.add_argument("--http-conns", type=int, default=8, help="HTTP/1.1 connections")
    ap.add_argument("--repeat", type=int, default=2,
                    help="saturation runs per shape and protocol; the best is kept (default 2)")
    ap.add_argument("--quick", action="store_true", help="halve every duration")
    ap.add_argument("--skip-http", action="store_true", help="gRPC only")
    ap.add_argument("--callgrind", action="store_true",
                    help="also profile otterd under valgrind's callgrind (deterministic "
                    "instructions per span, by function; adds about a minute)")
    args = ap.parse_args()

    args.otterd = args.otterd or os.path.join(args.build, "agent", "otterd")
    args.loadgen = args.loadgen or os.path.join(args.build, "tests", "bench", "otter-loadgen")
    args.decode_floor = args.decode_floor or os.path.join(args.build, "tests", "bench",
                                                          "decode-floor")
    args.out = args.out or os.path.join(args.build, "bench-results")
    args.otterd, args.loadgen, args.decode_floor = (
        os.path.abspath(b) for b in (args.otterd, args.loadgen, args.decode_floor))
    for b in (args.otterd, args.loadgen, args.decode_floor):
        if not os.access(b, os.X_OK):
            sys.exit(f"run_bench: {b} not found or not executable (build it first)")
    if args.callgrind and not (shutil.which("valgrind") and shutil.which("callgrind_annotate")):
        sys.exit("run_bench: --callgrind needs valgrind and callgrind_annotate")
    ncpu = os.cpu_count() or 1
    if ncpu < 2:
        log("only one CPU: otterd and the load generator share it")
        args.otterd_core = args.loadgen_core = 0
    q = 0.5 if args.quick else 1.0
    protos = ("grpc",) if args.skip_http else PROTOS
    t_start = time.monotonic()

    res = {"machine": machine_info(),
           "cores": {"otterd": args.otterd_core, "loadgen": args.loadgen_core},
           "saturation": [], "fixed_rate": []}
    log(f"machine: {res['machine']}")
    if res["machine"]["loadavg_1m_at_start"] > 0.5:
        log("warning: the machine is busy (1-minute load average "
            f"{res['machine']['loadavg_1m_at_start']}); numbers will be noisy")

    res["decode_floor"] = decode_floor(args, q)

    with tempfile.TemporaryDirectory(prefix="otter-bench-") as work:
        od = Otterd(args.otterd, args.otterd_core, work)
        od.start()
        try:
            idle_s = 2.0
            c0 = proc_cpu_s(od.pid)
            time.sleep(idle_s)
            st = proc_status(od.pid)
            res["idle"] = {"seconds": idle_s, "vmrss_kib": st.get("VmRSS"),
                           "vmhwm_kib": st.get("VmHWM"),
                           "cpu_pct": 100.0 * (proc_cpu_s(od.pid) - c0) / idle_s}
            log(f"idle: {res['idle']}")

            # Fixed 10k/s first, while VmHWM still reflects only startup and this load.
            for proto in protos:
                res["fixed_rate"].append(measured_run(args, od, proto, "small", 10 * q, 10000,
                                                      "rss@10k"))
            res["rss_10k_hwm_kib"] = proc_status(od.pid).get("VmHWM")

            # Noise on a shared VM only ever slows a run down: keep the best of --repeat.
            for shape in SHAPES:
                for proto in protos:
                    runs = [measured_run(args, od, proto, shape, 6 * q, None, "saturation")
                            for _ in range(args.repeat)]
                    best = max(runs, key=lambda r: r["items_per_s_per_core"] or 0)
                    best["runs_items_per_s"] = [r["items_per_s"] for r in runs]
                    best["runs_items_per_s_per_core"] = [r["items_per_s_per_core"] for r in runs]
                    res["saturation"].append(best)

            for proto in protos:
                res["fixed_rate"].append(measured_run(args, od, proto, "realistic", 5 * q,
                                                      10000, "latency@10k"))
            for r in list(res["saturation"]):
                half = max(1000.0, 0.5 * r["items_per_s"])
                res["fixed_rate"].append(measured_run(args, od, r["proto"], r["shape"], 5 * q,
                                                      half, "latency@50%sat"))
            st = proc_status(od.pid)
            res["after"] = {"vmrss_kib": st.get("VmRSS"), "vmhwm_kib": st.get("VmHWM")}
        finally:
            od.stop()

        if args.callgrind:
            res["callgrind"] = [callgrind_run(args, work, proto, shape, 5)
                                for shape in SHAPES for proto in protos]

    # The floor again after the load, keeping the faster of the two per shape, so a busy moment
    # at the start does not flatter otterd's ratio.
    again = decode_floor(args, q)
    for shape, d in again["shapes"].items():
        if d["arena_ns_per_span"] < res["decode_floor"]["shapes"][shape]["arena_ns_per_span"]:
            res["decode_floor"]["shapes"][shape] = d
    res["goals"] = goals(res)
    res["wall_s"] = round(time.monotonic() - t_start, 1)
    print(markdown(res))
    if res.get("callgrind"):
        print(markdown_callgrind(res["callgrind"]))
    print(f"\nPeak VmHWM over the whole run (saturation included): "
          f"{mib(res['after']['vmhwm_kib'])} MiB; wall time {res['wall_s']} s")
    paths = write_outputs(res, args.out)
    print("raw results: " + ", ".join(paths))


if __name__ == "__main__":
    main()
