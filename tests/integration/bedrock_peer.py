# SPDX-License-Identifier: Apache-2.0
"""Bedrock Runtime peers for the chatbot's integration tests, on 127.0.0.1.

- Aimock: npm @copilotkit/aimock (installed by `npm ci` in tests/integration/aimock), a mock LLM
  server that answers Bedrock Converse and ConverseStream (binary event-stream frames with real
  CRCs) from fixtures, injects errors (POST /__aimock/error: a one-shot status for the next
  request), delays (chaos latency) and drops connections mid-stream (a fixture's
  truncateAfterChunks), and keeps a journal of what it served. It does not check signatures.
- SigV4Proxy: in front of aimock, checks every request as Bedrock would before passing it on:
  (for what aimock cannot send, ConverseStream exception frames and unknown events, the proxy
  answers itself with frames built here by eventstream_frame(), CRCs from zlib.crc32)
  the wire path (model id percent-encoded, computed here with urllib), the content type, and
  the SigV4 signature recomputed by botocore (aws_peers.check_sigv4, signing name "bedrock").
  A bad signature or unknown key gets a 403 with x-amzn-ErrorType, as AWS answers, and never
  reaches aimock. Answers are relayed as they arrive (chunked), and a connection aimock drops
  mid-stream is dropped here too.
"""

import http.client
import json
import struct
import zlib
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from aws_peers import _Server, check_sigv4, free_port, wait_port

AIMOCK_DIR = Path(__file__).resolve().parent / "aimock"
AIMOCK_CLI = AIMOCK_DIR / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"


class Aimock:
    def __init__(self, fixtures, log_path, chunk_size=20):
        if not AIMOCK_CLI.is_file():
            raise RuntimeError("aimock is not installed: run `npm ci` in %s "
                               "(scripts/install-deps.sh does)" % AIMOCK_DIR)
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node not found")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        fx = Path(log_path).with_suffix(".fixtures.json")
        fx.write_text(json.dumps({"fixtures": fixtures}))
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [node, str(AIMOCK_CLI), "-p", str(self.port), "-h", "127.0.0.1", "-f", str(fx),
             "-c", str(chunk_size), "--log-level", "warn", "--strict"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, 30)
        except TimeoutError:
            self.stop()
            raise RuntimeError("aimock did not start: " + Path(log_path).read_text())

    def admin(self, method, path, body=None):
        req = urllib.request.Request(self.url + "/__aimock" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def inject_error(self, status, times=1):
        for _ in range(times):
            self.admin("POST", "/error", {"status": status})

    def journal(self):
        return self.admin("GET", "/journal")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def eventstream_frame(headers, payload):
    """One application/vnd.amazon.eventstream message (specs/aws.md §6) with string headers,
    written from the spec: prelude (total length, headers length, CRC-32 of those 8 bytes),
    headers, payload, CRC-32 of everything before it."""
    hdr = b""
    for name, value in headers:
        n, v = name.encode(), value.encode()
        hdr += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    prelude = struct.pack(">II", 12 + len(hdr) + len(payload) + 4, len(hdr))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + hdr + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def bedrock_event(event_type, payload):
    return eventstream_frame([(":event-type", event_type), (":content-type", "application/json"),
                              (":message-type", "event")], json.dumps(payload).encode())


def bedrock_exception(exception_type, message):
    return eventstream_frame([(":exception-type", exception_type),
                              (":content-type", "application/json"),
                              (":message-type", "exception")],
                             json.dumps({"message": message}).encode())


class SigV4Proxy(_Server):
    """Checks each Bedrock request (path, content type, signature) and relays it to aimock."""

    PATH_OPS = ("converse", "converse-stream")

    def __init__(self, upstream_port, model_id, creds_lookup):
        self.upstream_port = upstream_port
        self.model_id = model_id
        self.creds_lookup = creds_lookup
        self.requests = []   # (op, parsed body) of every request passed on
        self.rejected = []   # why each refused request was refused
        self.downstream_closed = 0  # answers whose client had already gone when they came
        self.canned = {}     # last user message text -> ConverseStream bytes answered here
        self.request_ids = []  # x-amzn-RequestId of every relayed answer, in order
        super().__init__()

    def _refuse(self, h, status, etype, message):
        with self.lock:
            self.rejected.append(etype)
        self.reply(h, status, json.dumps({"message": message}),
                   headers=[("x-amzn-ErrorType", etype),
                            ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")])

    def handle(self, h, body):
        quoted = urllib.parse.quote(self.model_id, safe="-._~")
        prefix = "/model/" + quoted + "/"
        if h.command != "POST" or not h.path.startswith(prefix) or \
                h.path[len(prefix):] not in self.PATH_OPS:
            return self.fail(h, f"unexpected request {h.command} {h.path} (want POST "
                                f"{prefix}converse[-stream])", 404)
        op = h.path[len(prefix):]
        if h.headers.get("Content-Type") != "application/json":
            return self.fail(h, "Content-Type must be application/json")
        why = check_sigv4(h, body, self.creds_lookup, "bedrock")
        if why is not None:
            if why == "unknown access key id":
                return self._refuse(h, 403, "UnrecognizedClientException",
                                    "The security token included in the request is invalid.")
            return self._refuse(h, 403, "InvalidSignatureException", why)
        try:
            doc = json.loads(body)
        except ValueError:
            return self.fail(h, "body is not JSON")
        with self.lock:
            self.requests.append((op, doc))
        try:
            last = doc["messages"][-1]["content"][0]["text"]
        except (KeyError, IndexError, TypeError):
            return self.fail(h, "no user message text")
        if op == "converse-stream" and last in self.canned:
            return self.reply(h, 200, self.canned[last],
                              ctype="application/vnd.amazon.eventstream",
                              headers=[("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555")])
        self._relay(h, body)

    def _relay(self, h, body):
        up = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        up.request("POST", h.path, body=body, headers={"Content-Type": "application/json"})
        try:
            resp = up.getresponse()
        except (http.client.HTTPException, ConnectionError):
            # aimock hung up before answering: so do we.
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            up.close()
            return
        # The chatbot's side: if it already closed its connection (a cancelled call), note it.
        r, _, _ = select.select([h.connection], [], [], 0)
        if r:
            try:
                if h.connection.recv(1, socket.MSG_PEEK) == b"":
                    with self.lock:
                        self.downstream_closed += 1
            except OSError:
                with self.lock:
                    self.downstream_closed += 1
        h.send_response(resp.status)
        rid = None
        for k, v in resp.getheaders():
            if k.lower() in ("content-type", "retry-after", "x-amzn-errortype",
                             "x-amzn-requestid"):
                h.send_header(k, v)
                rid = v if k.lower() == "x-amzn-requestid" else rid
        if rid is None:
            # AWS's front end gives every answer a request id; aimock does not.
            rid = str(uuid.uuid4())
            h.send_header("x-amzn-RequestId", rid)
        with self.lock:
            self.request_ids.append(rid)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                try:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    h.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    # The chatbot hung up mid-answer (its client left): count it, stop.
                    with self.lock:
                        self.downstream_closed += 1
                    h.close_connection = True
                    up.close()
                    return
        except (http.client.IncompleteRead, ConnectionError, OSError):
            # aimock dropped the stream: drop ours without the last chunk, like a reset.
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            up.close()
            return
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
        up.close()


__all__ = ["Aimock", "SigV4Proxy"]
