# SPDX-License-Identifier: Apache-2.0
"""Low-level clients for the integration tests: hand-built OTLP requests, gRPC through grpcio
and through raw HTTP/2 frames (h2), raw HTTP/1.1 over sockets, and a background "good client"
that keeps sending valid data while a test throws bad input at the agent.
"""

import gzip
import http.client
import itertools
import os
import select
import socket
import struct
import threading
import time

import grpc
import h2.config
import h2.connection
import h2.events
import h2.settings
from google.rpc import status_pb2

import otlp_util
from conftest import scaled

_ids = itertools.count(1)


def new_trace_id():
    return os.urandom(8) + struct.pack(">Q", next(_ids))


def new_span_id():
    return os.urandom(4) + struct.pack(">I", next(_ids) & 0xFFFFFFFF)


def small_request(signal, tag="t", n=1):
    """A valid request with |n| items; items carry attribute tag=|tag|. Returns (req, names)."""
    req = otlp_util.REQUEST[signal]()
    names = []
    now = time.time_ns()
    if signal == "traces":
        rs = req.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = "otter-it-raw"
        ss = rs.scope_spans.add()
        ss.scope.name = "raw"
        for i in range(n):
            sp = ss.spans.add()
            sp.trace_id = new_trace_id()
            sp.span_id = new_span_id()
            sp.name = "%s-%d" % (tag, i)
            sp.kind = 2
            sp.start_time_unix_nano = now
            sp.end_time_unix_nano = now + 1000
            sp.attributes.add(key="tag").value.string_value = tag
            names.append(sp.span_id)
    elif signal == "metrics":
        rm = req.resource_metrics.add()
        sm = rm.scope_metrics.add()
        for i in range(n):
            m = sm.metrics.add()
            m.name = "%s-%d" % (tag, i)
            dp = m.gauge.data_points.add()
            dp.time_unix_nano = now
            dp.as_int = i
            dp.attributes.add(key="tag").value.string_value = tag
            names.append(m.name)
    else:
        rl = req.resource_logs.add()
        sl = rl.scope_logs.add()
        for i in range(n):
            lr = sl.log_records.add()
            lr.time_unix_nano = now
            lr.body.string_value = "%s-%d" % (tag, i)
            lr.attributes.add(key="tag").value.string_value = tag
            names.append(lr.body.string_value)
    return req, names


# ---- gRPC through grpcio (gRPC C-core) ------------------------------------------------------


def grpc_call(endpoint, method, body, timeout=10.0, compression=None, channel=None):
    """Unary call with raw bytes. Returns (grpc.StatusCode, details, response bytes or None)."""
    own = channel is None
    ch = channel or grpc.insecure_channel(endpoint, options=[
        ("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1),
        ("grpc.enable_retries", 0)])
    try:
        call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            resp = call(body, timeout=scaled(timeout), compression=compression)
            return grpc.StatusCode.OK, "", resp
        except grpc.RpcError as e:
            return e.code(), e.details(), None
    finally:
        if own:
            ch.close()


# ---- gRPC through raw HTTP/2 frames (h2) ----------------------------------------------------


def grpc_frame(msg, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(msg)) + msg


class H2Result:
    def __init__(self):
        self.headers = {}
        self.trailers = {}
        self.data = b""
        self.reset = None
        self.goaway = None
        self.closed = False

    @property
    def grpc_status(self):
        v = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return None if v is None else int(v)

    @property
    def grpc_message(self):
        return self.trailers.get("grpc-message", self.headers.get("grpc-message", ""))


def h2_grpc(port, path, chunks, extra_headers=(), timeout=10.0, content_type="application/grpc",
            end_stream=True, max_frame=None):
    """One gRPC request over a fresh h2c connection, sending |chunks| as separate DATA frames.

    Returns an H2Result with the response headers, data and trailers.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(timeout))
    res = H2Result()
    try:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                    header_encoding="utf-8"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        sid = conn.get_next_available_stream_id()
        hdrs = [(":method", "POST"), (":scheme", "http"), (":path", path),
                (":authority", "127.0.0.1:%d" % port), ("content-type", content_type),
                ("te", "trailers"), ("user-agent", "otter-it-h2/1")] + list(extra_headers)
        conn.send_headers(sid, hdrs, end_stream=not chunks and end_stream)
        sock.sendall(conn.data_to_send())
        pending = list(chunks)
        deadline = time.monotonic() + scaled(timeout)
        done = False
        while not done and time.monotonic() < deadline:
            # Send what flow control allows, one DATA frame per chunk.
            while pending:
                c = pending[0]
                window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                part, rest = c[:window], c[window:]
                last = not rest and len(pending) == 1 and end_stream
                conn.send_data(sid, part, end_stream=last)
                if rest:
                    pending[0] = rest
                else:
                    pending.pop(0)
                sock.sendall(conn.data_to_send())
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                res.closed = True
                break
            if not data:
                res.closed = True
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    res.headers.update(dict(ev.headers))
                elif isinstance(ev, h2.events.TrailersReceived):
                    res.trailers.update(dict(ev.headers))
                elif isinstance(ev, h2.events.DataReceived):
                    res.data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    done = True
                elif isinstance(ev, h2.events.StreamReset):
                    res.reset = ev.error_code
                    done = True
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    res.goaway = ev.error_code
                    done = True
            out = conn.data_to_send()
            if out:
                try:
                    sock.sendall(out)
                except OSError:
                    pass
        return res
    finally:
        sock.close()


def grpc_messages(data):
    """Splits a gRPC response body into (compressed flag, message) tuples."""
    out = []
    while len(data) >= 5:
        flag, n = struct.unpack(">BI", data[:5])
        out.append((flag, data[5:5 + n]))
        data = data[5 + n:]
    return out


# ---- HTTP/1.1 -------------------------------------------------------------------------------


def post(port, signal, body, content_type="application/x-protobuf", headers=None, path=None,
         timeout=10.0):
    h = {"Content-Type": content_type} if content_type else {}
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(timeout))
    try:
        conn.request("POST", path or otlp_util.HTTP_PATH[signal], body=body, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def parse_http_response(raw):
    """(status, headers, body) from raw bytes holding one HTTP/1.1 response (or None)."""
    if not raw:
        return None
    head, sep, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        return None
    status = int(parts[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode(errors="replace")
    return status, headers, rest


def raw_exchange(port, head, body=b"", timeout=10.0, chunk=65536):
    """Sends |head| then |body| on a raw socket, stopping early if the server answers first.

    Returns (response bytes, closed) where closed says whether the server closed the
    connection. Reads until the connection closes or a full response seems to be there.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(timeout))
    got = b""
    closed = False
    try:
        sock.sendall(head)
        off = 0
        while off < len(body):
            r, _, _ = select.select([sock], [], [], 0)
            if r:
                break
            try:
                n = sock.send(body[off:off + chunk])
            except (BrokenPipeError, ConnectionResetError):
                break
            off += n
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += data
            if _response_complete(got):
                break
        return got, closed
    finally:
        sock.close()


def _response_complete(raw):
    r = parse_http_response(raw)
    if r is None:
        return False
    status, headers, rest = r
    if "content-length" in headers:
        return len(rest) >= int(headers["content-length"])
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return rest.endswith(b"0\r\n\r\n")
    return False


def chunked(body, sizes):
    """Encodes |body| with Transfer-Encoding: chunked, cutting it into the given sizes."""
    out = b""
    off = 0
    it = itertools.cycle(sizes)
    while off < len(body):
        n = next(it)
        part = body[off:off + n]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
        off += n
    return out + b"0\r\n\r\n"


def rpc_status(body, content_type):
    """Decodes a google.rpc.Status error body (protobuf or JSON)."""
    if content_type.startswith("application/json"):
        import json
        return json.loads(body)
    st = status_pb2.Status()
    st.ParseFromString(body)
    return st


def gzip_bytes(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


# ---- a well-behaved client running beside the bad ones --------------------------------------


class GoodClient:
    """Sends one valid span over HTTP (keep-alive) and one over gRPC every few ms until stopped.

    check() asserts every request succeeded; span_ids lists what was sent.
    """

    def __init__(self, agent, period=0.03):
        self.agent = agent
        self.period = period
        self.span_ids = []
        self.failures = []
        self.sent = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, name="good-client", daemon=True)

    def start(self):
        self._t.start()
        return self

    def _http(self, conn, body):
        for attempt in (1, 2):
            try:
                if conn[0] is None:
                    conn[0] = http.client.HTTPConnection("127.0.0.1", self.agent.http_port,
                                                         timeout=scaled(10))
                conn[0].request("POST", "/v1/traces", body=body,
                                headers={"Content-Type": "application/x-protobuf"})
                r = conn[0].getresponse()
                data = r.read()
                if r.will_close:
                    conn[0].close()
                    conn[0] = None
                return r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests: reconnect once,
                # as every HTTP client does.
                conn[0].close()
                conn[0] = None
                if attempt == 2:
                    raise
        return None, b""

    def _run(self):
        conn = [None]
        ch = grpc.insecure_channel(self.agent.grpc_endpoint)
        method = otlp_util.GRPC_METHOD["traces"]
        try:
            while not self._stop.is_set():
                req, ids = small_request("traces", "good")
                try:
                    st, _ = self._http(conn, req.SerializeToString())
                    if st == 200:
                        self.span_ids += ids
                    else:
                        self.failures.append("HTTP status %s" % st)
                except Exception as e:  # noqa: BLE001 - any failure is recorded
                    self.failures.append("HTTP %r" % e)
                req, ids = small_request("traces", "good")
                code, details, _ = grpc_call(None, method, req.SerializeToString(), channel=ch)
                if code == grpc.StatusCode.OK:
                    self.span_ids += ids
                else:
                    self.failures.append("gRPC %s %s" % (code, details))
                self.sent += 2
                self._stop.wait(self.period)
        finally:
            ch.close()
            if conn[0] is not None:
                conn[0].close()

    def stop(self):
        self._stop.set()
        self._t.join(scaled(30))

    def check(self):
        assert not self.failures, "the good client failed %d of %d requests: %s" % (
            len(self.failures), self.sent, self.failures[:5])
        assert self.sent >= 2, "the good client sent nothing"
