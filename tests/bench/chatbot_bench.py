#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The chatbot's benchmark (issue 6): requests/s and latency with the local provider on one core,
and memory with 1,000 open sessions. Goals: >= 5,000 requests/s, RSS <= 16 MiB.

The chatbot is pinned to one core (taskset), otter-loadgen (its raw HTTP/1.1 keep-alive mode) to
the other. Every throughput figure is measured next to a floor in the same run: GET /healthz on
the same server (the cost of libevent's HTTP, the loop and the security headers alone), so a
shared machine's noise shows up as a ratio that stays put while the absolute numbers move. The
load average is printed with the results.

  python3 tests/bench/chatbot_bench.py --build build-rel [--duration 5] [--json out.json]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LISTEN_RE = re.compile(r"listening: chatbot http (\S+):(\d+)\s*$")
QUESTION = "why does otterd answer 503?"  # a short question: 5 words, 27 bytes


def taskset(core):
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


class Chatbot:
    def __init__(self, binary, core, env=None, args=()):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("OTEL_") or k.startswith("AWS_"):
                del e[k]
        e.update(env or {})
        self.proc = subprocess.Popen(
            taskset(core) + [str(binary), "--listen", "127.0.0.1:0", "--log-level", "warn",
                             *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=e)
        # --log-level warn hides the "listening" line: find the port from /proc instead.
        self.port = None
        self.err = []
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + 20
        while self.port is None and time.monotonic() < deadline:
            self.port = self._listening_port()
            time.sleep(0.05)
        if self.port is None:
            self.proc.kill()
            sys.exit("chatbot did not start: %s" % "".join(self.err))

    def _pump(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def _listening_port(self):
        """The TCP port the process listens on (its socket inodes matched in /proc/net/tcp)."""
        try:
            inodes = set()
            for fd in os.listdir("/proc/%d/fd" % self.proc.pid):
                link = os.readlink("/proc/%d/fd/%s" % (self.proc.pid, fd))
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
            with open("/proc/net/tcp") as f:
                for line in f.readlines()[1:]:
                    p = line.split()
                    if p[3] == "0A" and p[9] in inodes:  # LISTEN
                        return int(p[1].split(":")[1], 16)
        except OSError:
            return None
        return None

    def status(self):
        out = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])  # kB
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Otterd:
    """otterd as the chatbot's collector for the export run: an OTLP/HTTP receiver and a file
    exporter writing to /dev/null, pinned to the load generator's core."""

    CONFIG = """receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:0"}
exporters:
  file: {path: /dev/null}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [file]}
    metrics: {receivers: [otlp], exporters: [file]}
    logs: {receivers: [otlp], exporters: [file]}
"""

    def __init__(self, binary, core, workdir):
        cfg = Path(workdir) / "otterd-bench.yaml"
        cfg.write_text(self.CONFIG)
        self.proc = subprocess.Popen(taskset(core) + [str(binary), "--config", str(cfg)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.monotonic() + 20
        for line in self.proc.stderr:
            m = re.search(r"listening: otlp http (\S+):(\d+)", line)
            if m:
                self.port = int(m.group(2))
                break
            if time.monotonic() > deadline:
                break
        if self.port is None:
            self.proc.kill()
            sys.exit("otterd did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)


def loadgen(binary, core, port, path, method, body, duration, conns):
    cmd = taskset(core) + [str(binary), "--proto", "http", "--target", "127.0.0.1:%d" % port,
                           "--http-path", path, "--http-method", method, "--saturate",
                           "--connections", str(conns), "--duration", str(duration), "--json"]
    if body is not None:
        cmd += ["--body", body]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode not in (0, 3):
        sys.exit("otter-loadgen failed (%d): %s" % (out.returncode, out.stderr))
    r = json.loads(out.stdout)
    return {"req_s": r["items_per_s"], "ok": r["requests_ok"], "failed": r["requests_failed"],
            "p50_ms": r["latency_ms"]["p50"], "p99_ms": r["latency_ms"]["p99"],
            "max_ms": r["latency_ms"]["max"], "errors": r["errors"]}


class Instructions:
    """`perf stat -e instructions:u` on the chatbot while one load runs: user-space instructions
    per request hardly move with the machine's load, unlike requests/s (None without perf)."""

    def __init__(self, pid):
        self.proc = None
        if shutil.which("perf"):
            self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "instructions:u",
                                          "-p", str(pid)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True)
            time.sleep(0.2)

    def per(self, n):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=10)
        for line in err.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[2].startswith("instructions") and f[0].isdigit():
                return round(int(f[0]) / max(n, 1))
        return None


def measured(bot, args, path, method, body):
    ins = Instructions(bot.proc.pid)
    c0 = cpu_seconds(bot.proc.pid)
    r = loadgen(args.loadgen, args.loadgen_core, bot.port, path, method, body, args.duration,
                args.connections)
    r["cpu_us_per_req"] = round((cpu_seconds(bot.proc.pid) - c0) / max(r["ok"], 1) * 1e6, 1)
    r["instructions_per_req"] = ins.per(r["ok"])
    return r


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        p = f.read().rsplit(")", 1)[1].split()
    return (int(p[11]) + int(p[12])) / os.sysconf("SC_CLK_TCK")


def throughput(args, label, env, out):
    bot = Chatbot(args.chatbot, args.chatbot_core, env)
    try:
        floor = measured(bot, args, "/healthz", "GET", None)
        chat = measured(bot, args, "/api/chat", "POST", json.dumps({"message": QUESTION}))
        rss = bot.status()
    finally:
        bot.stop()
    out[label] = {"healthz": floor, "chat": chat, "ratio": round(chat["req_s"] / floor["req_s"], 3),
                  "rss_kb_after": rss}


def sessions(args, out):
    """1,000 sessions of 3 exchanges each (6 turns), then VmRSS / VmHWM."""
    bot = Chatbot(args.chatbot, args.chatbot_core)
    try:
        before = bot.status()
        conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=30)

        def chat(body):
            conn.request("POST", "/api/chat", body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = json.loads(r.read())
            assert r.status == 200, data
            return data

        for i in range(args.sessions):
            sid = chat({"message": "how do I configure the X-Ray exporter? (%d)" % i})["session_id"]
            chat({"session_id": sid, "message": "and the batch processor?"})
            chat({"session_id": sid, "message": "why does otterd answer 503?"})
        conn.close()
        after = bot.status()
    finally:
        bot.stop()
    out["sessions"] = {"n": args.sessions, "exchanges_each": 3, "before_kb": before,
                       "after_kb": after}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build-rel")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--chatbot-core", type=int, default=0)
    ap.add_argument("--loadgen-core", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    args.chatbot = Path(args.build) / "chatbot" / "chatbot"
    args.loadgen = Path(args.build) / "tests" / "bench" / "otter-loadgen"
    res = {"loadavg_start": os.getloadavg()}
    # Telemetry as shipped with no collector (spans made, metrics kept, nothing sent), and
    # switched off, to see its share.
    throughput(args, "telemetry on (no endpoint)", {}, res)
    throughput(args, "OTEL_SDK_DISABLED=true", {"OTEL_SDK_DISABLED": "true"}, res)
    otterd_bin = Path(args.build) / "agent" / "otterd"
    if otterd_bin.is_file():
        import tempfile
        with tempfile.TemporaryDirectory() as wd:
            col = Otterd(otterd_bin, args.loadgen_core, wd)
            try:
                throughput(args, "exported to otterd", {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:%d" % col.port}, res)
            finally:
                col.stop()
    sessions(args, res)
    res["loadavg_end"] = os.getloadavg()
    print("load average: start %.2f, end %.2f (1 min)" % (res["loadavg_start"][0],
                                                          res["loadavg_end"][0]))
    print("| run | /healthz req/s | /api/chat req/s | ratio | chat p50 ms | chat p99 ms | "
          "CPU µs/chat (/healthz) | instructions/chat (/healthz) |")
    print("|---|---|---|---|---|---|---|---|")
    na = lambda x: "n/a" if x is None else str(x)  # noqa: E731 (no hardware counters in a VM)
    for k, v in res.items():
        if isinstance(v, dict) and "chat" in v:
            h, c = v["healthz"], v["chat"]
            print("| %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.1f (%.1f) | %s (%s) |" % (
                k, h["req_s"], c["req_s"], v["ratio"], c["p50_ms"], c["p99_ms"],
                c["cpu_us_per_req"], h["cpu_us_per_req"], na(c["instructions_per_req"]),
                na(h["instructions_per_req"])))
    s = res["sessions"]
    print("sessions: %d x %d exchanges: VmRSS %.1f MiB (start %.1f MiB), VmHWM %.1f MiB" % (
        s["n"], s["exchanges_each"], s["after_kb"]["VmRSS"] / 1024,
        s["before_kb"]["VmRSS"] / 1024, s["after_kb"]["VmHWM"] / 1024))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
