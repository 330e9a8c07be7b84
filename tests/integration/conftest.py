# SPDX-License-Identifier: Apache-2.0
"""pytest fixtures for otterd integration tests.

`otterd` is a fixture factory: each call writes a collector-style config into the test's
tmp_path, starts the binary named by $OTTERD (default build/agent/otterd under the repository
root) with every listener on 127.0.0.1:0, waits for the `listening:` lines and for the admin
/readyz to answer 200, and returns an Otterd object with the ports and the file exporter paths.
On teardown every agent still running gets SIGTERM; each must exit 0 within the shutdown timeout
and its stderr must carry no sanitizer report.

Environment:
  OTTERD                   the binary under test (relative paths are taken from the repo root)
  OTTER_TEST_TIME_SCALE    multiplies every wait (the sanitizer run sets it; default 1)
"""

import contextlib
import fcntl
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import otlp_util  # noqa: E402

TIME_SCALE = float(os.environ.get("OTTER_TEST_TIME_SCALE", "1") or 1)
STARTUP_TIMEOUT = 20.0 * TIME_SCALE
SHUTDOWN_TIMEOUT = 20.0 * TIME_SCALE

LISTEN_RE = re.compile(r"listening: (\S+) (grpc|http|udp|tcp) (\S+):(\d+)\s*$")
SANITIZER_RE = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer|"
    r"runtime error: |WARNING: ThreadSanitizer|WARNING: MemorySanitizer|"
    r"SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer)")


def scaled(seconds):
    return seconds * TIME_SCALE


def repo_binary(var, default):
    """The binary $var names (a relative path is taken from the repository root), else
    |default|; the test fails with what to do when it is not an executable file."""
    p = Path(os.environ.get(var) or default)
    if not p.is_absolute():
        p = REPO_ROOT / p
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail("%s binary not found at %s (build it, or set %s)" % (p.name, p, var))
    return p


def otterd_binary():
    return repo_binary("OTTERD", "build/agent/otterd")


def slo_binary():
    return repo_binary("SLO", "build/slo/cli/slo")


DEFAULT_PORTS = (4317, 4318, 8888)


@contextlib.contextmanager
def default_ports():
    """Holds otterd's default ports (OTLP 4317/4318, admin 8888) for one test at a time: a file
    lock shared by every pytest process (xdist workers included); skips the test when something
    else on the machine has one of them."""
    with open(os.path.join(tempfile.gettempdir(), "otter-it-default-ports.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for p in DEFAULT_PORTS:
                s = socket.socket()
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", p))
                except OSError:
                    pytest.skip("the default ports %s are in use on this machine"
                                % (DEFAULT_PORTS,))
                finally:
                    s.close()
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def otterd_bin():
    return otterd_binary()


@pytest.fixture(scope="session")
def slo_bin():
    return slo_binary()


# ---- a small YAML writer (block style, like hand-written collector configs) ------------------


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if re.fullmatch(r"[A-Za-z0-9_./:-]+", s) and not re.fullmatch(
            r"(true|false|null|yes|no|on|off|~|[-+0-9.eE]+)", s, re.I):
        return s
    return json.dumps(s)


def to_yaml(obj, indent=0):
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 1))
            elif isinstance(v, dict):
                lines.append("%s%s: {}" % (pad, k))
            elif isinstance(v, list):
                if all(not isinstance(x, (dict, list)) for x in v):
                    lines.append("%s%s: [%s]" % (pad, k, ", ".join(_yaml_scalar(x) for x in v)))
                else:
                    lines.append("%s%s:" % (pad, k))
                    for x in v:
                        sub = to_yaml(x, indent + 2).lstrip()
                        lines.append("%s  - %s" % (pad, sub))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
        return "\n".join(lines)
    return pad + _yaml_scalar(obj)


def make_config(out_dir, *, grpc=True, http=True, grpc_opts=None, http_opts=None,
                batch="100ms", health_check=True, admin=True, log_level="info",
                extra_service=None):
    """A config dict: otlp receiver, batch, one file exporter per signal, health_check, admin."""
    protocols = {}
    if grpc:
        protocols["grpc"] = dict({"endpoint": "127.0.0.1:0"}, **(grpc_opts or {}))
    if http:
        protocols["http"] = dict({"endpoint": "127.0.0.1:0"}, **(http_opts or {}))
    processors = ["batch"] if batch is not None else []
    cfg = {
        "receivers": {"otlp": {"protocols": protocols}},
        "processors": {"batch": {"timeout": batch}} if batch is not None else {},
        "exporters": {
            "file/%s" % s: {"path": str(Path(out_dir) / ("%s.jsonl" % s))}
            for s in otlp_util.SIGNALS
        },
        "service": {
            "telemetry": {"logs": {"level": log_level}},
            "pipelines": {
                s: {"receivers": ["otlp"], "processors": processors,
                    "exporters": ["file/%s" % s]}
                for s in otlp_util.SIGNALS
            },
        },
    }
    if not processors:
        del cfg["processors"]
    if admin:
        cfg["service"]["telemetry"]["metrics"] = {"address": "127.0.0.1:0"}
    if health_check:
        cfg["extensions"] = {"health_check": {"endpoint": "127.0.0.1:0"}}
        cfg["service"]["extensions"] = ["health_check"]
    if extra_service:
        cfg["service"].update(extra_service)
    return cfg


# ---- the running agent ----------------------------------------------------------------------


def http_request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    """One HTTP/1.1 request on a fresh connection. Returns (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=scaled(timeout))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def parse_prometheus(text):
    """Prometheus text format -> {(name, ((label, value), ...)): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                         m.group(3) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


class Otterd:
    def __init__(self, binary, workdir, config_path, out_dir, args=None, env=None, cwd=None):
        self.binary = binary
        self.workdir = Path(workdir)
        self.config_path = config_path
        self.out_dir = Path(out_dir) if out_dir else None
        self.args = args
        self.env = env
        self.cwd = cwd
        self.stderr_path = self.workdir / "otterd.stderr"
        self.stdout_path = self.workdir / "otterd.stdout"
        self.proc = None
        self.rc = None
        self.listeners = {}  # "otlp grpc" -> port (first one seen), "admin http", "awsxray udp"
        self.listen_lines = []
        self.checked = False

    # -- lifecycle --

    def start(self, expect=(), ready=True, timeout=None):
        argv = [str(self.binary)]
        if self.args is not None:
            argv += list(self.args)
        elif self.config_path is not None:
            argv += ["--config", str(self.config_path)]
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "halt_on_error=1:abort_on_error=1:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1:print_stacktrace=1")
        env.update(self.env or {})
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, env=env, cwd=self.cwd or self.workdir)
        try:
            self.wait_listening(expect, timeout or STARTUP_TIMEOUT)
            if ready and "admin http" in self.listeners:
                self.wait_ready(timeout or STARTUP_TIMEOUT)
        except AssertionError:
            # Already reported: do not report it again at teardown.
            self.stop(check=False)
            self.checked = True
            raise
        return self

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _tail(self, n=60):
        lines = self.stderr().splitlines()
        return "\n".join(lines[-n:])

    def _scan_listeners(self):
        self.listen_lines = []
        for line in self.stderr().splitlines():
            m = LISTEN_RE.search(line)
            if m:
                comp, proto, host, port = m.group(1), m.group(2), m.group(3), int(m.group(4))
                self.listen_lines.append((comp, proto, host, port))
                self.listeners.setdefault("%s %s" % (comp, proto), port)

    def wait_listening(self, expect, timeout):
        deadline = time.monotonic() + timeout
        while True:
            self._scan_listeners()
            if all(e in self.listeners for e in expect):
                return
            if self.proc.poll() is not None:
                self.rc = self.proc.returncode
                raise AssertionError("otterd exited with %d before listening on %s; stderr:\n%s"
                                     % (self.rc, list(expect), self._tail()))
            if time.monotonic() > deadline:
                raise AssertionError("otterd did not log 'listening:' for %s within %.0fs "
                                     "(seen %s); stderr:\n%s"
                                     % ([e for e in expect if e not in self.listeners], timeout,
                                        self.listeners, self._tail()))
            time.sleep(0.05)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("otterd exited with %d before /readyz; stderr:\n%s"
                                     % (self.proc.returncode, self._tail()))
            try:
                st, _, body = http_request(self.admin_port, "GET", "/readyz", timeout=2)
                last = (st, body[:200])
                if st == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("GET /readyz did not answer 200 within %.0fs (last: %r); stderr:\n%s"
                             % (timeout, last, self._tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True, sig=signal.SIGTERM, timeout=None):
        """Sends SIGTERM and waits. With check, asserts exit 0 and a clean stderr."""
        timeout = timeout or SHUTDOWN_TIMEOUT
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.rc = "killed"
                self._close()
                if check:
                    self.checked = True
                    raise AssertionError("otterd did not exit within %.0fs of %s; stderr:\n%s"
                                         % (timeout, sig.name, self._tail()))
                return self.rc
        self.rc = self.proc.returncode
        self._close()
        if check:
            self.check_clean()
        return self.rc

    def _close(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f and not f.closed:
                f.close()

    def sanitizer_report(self):
        text = self.stderr()
        m = SANITIZER_RE.search(text)
        if not m:
            return None
        start = max(0, text.rfind("\n", 0, max(0, m.start() - 200)))
        return text[start:start + 4000]

    def check_clean(self):
        self.checked = True
        report = self.sanitizer_report()
        assert report is None, "sanitizer report in otterd's stderr:\n%s" % report
        assert self.rc == 0, "otterd exited with %r (expected 0); stderr:\n%s" % (
            self.rc, self._tail())

    # -- addresses --

    def port(self, name):
        if name not in self.listeners:
            raise AssertionError("no 'listening: %s' line; seen %s" % (name, self.listeners))
        return self.listeners[name]

    @property
    def grpc_port(self):
        return self.port("otlp grpc")

    @property
    def http_port(self):
        return self.port("otlp http")

    @property
    def admin_port(self):
        return self.port("admin http")

    @property
    def health_port(self):
        return self.port("health_check http")

    @property
    def grpc_endpoint(self):
        return "127.0.0.1:%d" % self.grpc_port

    @property
    def http_base(self):
        return "http://127.0.0.1:%d" % self.http_port

    # -- output --

    def out_path(self, sig):
        return self.out_dir / ("%s.jsonl" % sig)

    def read(self, sig):
        """Every request the file exporter wrote for |sig| (encoding checked line by line)."""
        return otlp_util.read_jsonl(self.out_path(sig), sig)

    def wait_for_items(self, sig, n, timeout=15.0):
        """While running: waits until at least |n| items of |sig| were written. Returns requests."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            reqs = self.read_partial(sig)
            c = otlp_util.count_items(sig, reqs)
            if c >= n:
                return reqs
            if time.monotonic() > deadline:
                raise AssertionError("only %d of %d %s items were written within %.0fs"
                                     % (c, n, sig, scaled(timeout)))
            if not self.running():
                raise AssertionError("otterd exited (%r) while waiting for %s; stderr:\n%s"
                                     % (self.proc.returncode, sig, self._tail()))
            time.sleep(0.2)

    def read_partial(self, sig):
        """Like read(), but ignores a last line still being written."""
        try:
            data = self.out_path(sig).read_bytes()
        except FileNotFoundError:
            return []
        cut = data.rfind(b"\n")
        if cut < 0:
            return []
        reqs = []
        for n, raw in enumerate(data[:cut].split(b"\n"), 1):
            reqs.append(otlp_util.check_encoding(sig, json.loads(raw), "%s:%d" % (sig, n)))
        return reqs

    def metrics(self):
        st, _, body = http_request(self.admin_port, "GET", "/metrics")
        assert st == 200, "GET /metrics -> %d" % st
        return parse_prometheus(body.decode())

    def metric_sum(self, name, **labels):
        """Sum of a self-telemetry series over every label set matching |labels|."""
        total = 0.0
        for (n, lbls), v in self.metrics().items():
            if n != name:
                continue
            d = dict(lbls)
            if all(d.get(k) == str(v2) for k, v2 in labels.items()):
                total += v
        return total


@pytest.fixture
def otterd(tmp_path, otterd_bin):
    """Factory: otterd(name=..., **make_config options) -> a started Otterd.

    Also accepts config=<dict or YAML text> to run a hand-made config, args=[...] to run other
    arguments, expect=[listener names] and ready=False.
    """
    started = []

    def start(name="otterd", config=None, args=None, expect=None, ready=True, env=None,
              cwd=None, **kw):
        wd = tmp_path / name
        wd.mkdir(parents=True, exist_ok=True)
        out = wd / "out"
        out.mkdir(exist_ok=True)
        cfg_path = None
        if args is None:
            if config is None:
                config = make_config(out, **kw)
            cfg_path = wd / "config.yaml"
            cfg_path.write_text(config if isinstance(config, str) else to_yaml(config) + "\n")
        if expect is None:
            expect = []
            if isinstance(config, dict):
                prot = config["receivers"].get("otlp", {}).get("protocols", {})
                expect += ["otlp %s" % p for p in ("grpc", "http") if p in prot]
                expect += ["%s udp" % r for r in config["receivers"]
                           if r.split("/")[0] == "awsxray"]
                if config["service"].get("telemetry", {}).get("metrics", {}).get("address"):
                    expect.append("admin http")
                if "health_check" in config["service"].get("extensions", []):
                    expect.append("health_check http")
        d = Otterd(otterd_bin, wd, cfg_path, out, args=args, env=env, cwd=cwd)
        started.append(d)
        d.start(expect=expect, ready=ready)
        return d

    yield start

    problems = []
    for d in started:
        if d.checked:
            continue
        try:
            d.stop(check=True)
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("otterd teardown:\n" + "\n\n".join(problems), pytrace=False)


@pytest.fixture
def free_port():
    def get():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        return p
    return get
