# SPDX-License-Identifier: Apache-2.0
"""AWS peers for the integration tests, all on 127.0.0.1.

- MotoServer: the real moto server (PyPI moto[server]) with IAM authentication switched on
  (INITIAL_NO_AUTH_ACTION_COUNT): after the bootstrap calls every request must carry a valid
  SigV4 signature from a key moto issued, so a wrong signature is a 403 SignatureDoesNotMatch.
- XraySink: a PutTraceSegments endpoint that checks every request's signature with botocore's
  signer and plays a script of faults (throttling, 5xx, hangs, resets mid-body,
  UnprocessedTraceSegments), recording every document it accepted.
- Credential endpoints moto does not have: a web identity STS front (moto 5.2.5 answers an
  unsigned AssumeRoleWithWebIdentity with a 500 once authentication is on, so the front checks
  the form strictly, then asks moto for the role's credentials with a signed call), an EKS Pod
  Identity agent and an IMDSv2 endpoint. Each checks what it receives as strictly as the real
  service and hands out credentials moto will accept.
"""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REGION = "us-east-1"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:*", "sts:*", "xray:*", "logs:*"],
                   "Resource": "*"}],
}
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["xray:*", "logs:*"], "Resource": "*"}],
}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow",
         "Principal": {"AWS": ["arn:aws:iam::123456789012:user/otter-admin",
                               "arn:aws:iam::123456789012:user/otter-base"]},
         "Action": "sts:AssumeRole"},
        {"Effect": "Allow",
         "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.test/id/OTTER"},
         "Action": "sts:AssumeRoleWithWebIdentity"},
    ],
}
SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]{2,64}$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class MotoServer:
    """moto server with IAM auth on; an admin user and a role `otterd` bootstrapped."""

    BOOTSTRAP_CALLS = 3  # create_user, put_user_policy, create_access_key

    def __init__(self, log_path, tls=False):
        self.port = free_port()
        self.tls = tls  # moto's own self-signed certificate (-s)
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(self.BOOTSTRAP_CALLS))
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
            + (["-s"] if tls else []),
            stdout=self._log, stderr=subprocess.STDOUT, env=env)
        wait_port(self.port)
        boot = boto3.session.Session(aws_access_key_id="AKIDBOOTSTRAP0000000",
                                     aws_secret_access_key="bootstrap", region_name=REGION)
        iam = boot.client("iam", endpoint_url=self.endpoint, verify=not tls)
        iam.create_user(UserName="otter-admin")
        iam.put_user_policy(UserName="otter-admin", PolicyName="admin",
                            PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="otter-admin")["AccessKey"]
        self.admin_key = key["AccessKeyId"]
        self.admin_secret = key["SecretAccessKey"]
        iam = self.client("iam")
        self.role_arn = iam.create_role(RoleName="otterd",
                                        AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
        iam.put_role_policy(RoleName="otterd", PolicyName="xray",
                            PolicyDocument=json.dumps(ROLE_POLICY))

    def session(self, key=None, secret=None, token=None):
        return boto3.session.Session(aws_access_key_id=key or self.admin_key,
                                     aws_secret_access_key=secret or self.admin_secret,
                                     aws_session_token=token, region_name=REGION)

    def client(self, service, **creds):
        return self.session(**creds).client(
            service, endpoint_url=self.endpoint, verify=not self.tls,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    def role_credentials(self, session_name="otter-test", duration=3600):
        """Temporary credentials of the role, as STS would issue them (dict of STS names)."""
        return self.client("sts").assume_role(RoleArn=self.role_arn, RoleSessionName=session_name,
                                              DurationSeconds=duration)["Credentials"]

    def web_identity_xml(self, role_arn, session_name, token):
        """moto's AssumeRoleWithWebIdentity answer, fetched with a signed call (see above)."""
        body = urllib.parse.urlencode({
            "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
            "RoleArn": role_arn, "RoleSessionName": session_name, "WebIdentityToken": token})
        req = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(self.admin_key, self.admin_secret), "sts", REGION).add_auth(req)
        r = urllib.request.Request(req.url, data=body.encode(), method="POST",
                                   headers=dict(req.headers.items()))
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.read()

    def traces(self, trace_ids):
        """Every segment document moto holds for |trace_ids|, parsed."""
        out = []
        xray = self.client("xray")
        for i in range(0, len(trace_ids), 5):
            for t in xray.batch_get_traces(TraceIds=trace_ids[i:i + 5])["Traces"]:
                seen = set()
                for seg in t["Segments"]:
                    if seg["Id"] not in seen:  # moto lists a segment once per put
                        seen.add(seg["Id"])
                        out.append(json.loads(seg["Document"]))
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class _Server:
    """A threaded HTTP server on 127.0.0.1:0 whose handler calls self.handle(handler)."""

    def __init__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer._dispatch(self)

            do_POST = do_PUT = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.errors = []  # what the peer found wrong with a request: tests assert it stays empty
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _dispatch(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        try:
            self.handle(h, body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # a bug in the peer: make the test fail, loudly
            self.fail(h, f"peer crashed: {type(e).__name__}: {e}", 500)

    @staticmethod
    def reply(h, status, body=b"", ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def fail(self, h, why, status=400):
        with self.lock:
            self.errors.append(why)
        self.reply(h, status, json.dumps({"message": why}))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def check_sigv4(h, body, creds_lookup, service):
    """Recomputes the request's signature with botocore; returns None or what is wrong.

    |creds_lookup(access_key_id)| gives (secret, token) or None for an unknown key.
    """
    auth = h.headers.get("Authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "Authorization header malformed"
    akid, _, region, svc, signed, sig = m.groups()
    if svc != service:
        return f"signed for service {svc}, expected {service}"
    found = creds_lookup(akid)
    if found is None:
        return "unknown access key id"
    secret, token = found
    if token and h.headers.get("X-Amz-Security-Token") != token:
        return "X-Amz-Security-Token missing or wrong"
    if "x-amz-date" not in signed.split(";") or "host" not in signed.split(";"):
        return "host and x-amz-date must be signed"
    amz_date = h.headers.get("X-Amz-Date", "")
    skew = abs((datetime.now(timezone.utc) -
                datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc))
               .total_seconds())
    if skew > 300:
        return "signature expired (X-Amz-Date more than 5 minutes away)"
    headers = {}
    for name in signed.split(";"):
        vals = h.headers.get_all(name)
        if vals is None:
            return f"signed header {name} missing"
        headers[name] = ",".join(vals)
    req = AWSRequest(method=h.command, url=f"http://{h.headers['Host']}{h.path}", data=body,
                     headers=headers)
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, secret, token), service, region)
    want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    if want != sig:
        return "SignatureDoesNotMatch"
    return None


class KeyRegistry:
    """Access keys a fake accepts, with the time each stops being usable.

    Credentials with an Expiration must not be used less than 5 minutes before it (Otter's
    refresh rule, specs/aws.md §3.6); a request that does is recorded in |late| (and still
    answered, so the test sees every violation). The fake sees a request when it arrives, not
    when it was signed: one signed just before the refresh point may arrive after it, so
    TRANSIT_S of that is allowed (a set used on without refresh would be caught seconds later).
    """

    MANDATORY_REFRESH_S = 300
    TRANSIT_S = 1.0

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {}
        self.late = []
        self.used = set()

    def add(self, akid, secret, token, expiration):
        with self.lock:
            self.keys[akid] = (secret, token, expiration)

    def lookup(self, akid):
        with self.lock:
            found = self.keys.get(akid)
            if found is None:
                return None
            secret, token, exp = found
            self.used.add(akid)
            if exp is not None and time.time() > exp - self.MANDATORY_REFRESH_S + self.TRANSIT_S:
                self.late.append((akid, exp - time.time()))
        return secret, token


class XraySink(_Server):
    """PutTraceSegments with SigV4 checking and a fault script.

    script: a list consumed one entry per request (then "ok" for ever):
      "ok"                  accept every document
      ("status", 503, code) answer an error (code in x-amzn-ErrorType and the body)
      "hang"                read the request, never answer (the client must time out)
      "reset"               send part of a 200 answer, then reset the connection
      ("unprocessed", n)    accept all but the first n documents, listed as
                            UnprocessedTraceSegments with ErrorCode "ThrottledException"
    """

    def __init__(self, key=None, secret=None, token=None, script=(), registry=None):
        self.registry = registry or KeyRegistry()
        if key:
            self.registry.add(key, secret, token, None)
        self.script = list(script)
        self.accepted = []  # parsed documents, in arrival order
        self.requests = 0
        self.hangs = []
        super().__init__()

    def handle(self, h, body):
        if h.command != "POST" or h.path != "/TraceSegments":
            return self.fail(h, f"unexpected {h.command} {h.path}", 404)
        why = check_sigv4(h, body, self.registry.lookup, "xray")
        if why:
            return self.fail(h, why, 403)
        if not (h.headers.get("Content-Type") or "").startswith("application/json"):
            return self.fail(h, "Content-Type must be application/json")
        try:
            docs = json.loads(body)["TraceSegmentDocuments"]
            parsed = [json.loads(d) for d in docs]
        except (ValueError, KeyError, TypeError) as e:
            return self.fail(h, f"body is not a PutTraceSegments request: {e}")
        if not 1 <= len(docs) <= 50:
            return self.fail(h, f"{len(docs)} documents in one call (1..50 allowed)")
        for d in docs:
            if len(d.encode()) > 64 * 1024:
                return self.fail(h, "a document over 64 kB")
        with self.lock:
            self.requests += 1
            action = self.script.pop(0) if self.script else "ok"
        if action == "hang":
            ev = threading.Event()
            self.hangs.append(ev)
            ev.wait(60)
            return
        if action == "reset":
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100\r\n\r\n{\"Unproc")
            h.wfile.flush()
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            h.connection.close()
            h.close_connection = True
            return
        if isinstance(action, tuple) and action[0] == "status":
            _, status, code = action
            return self.reply(h, status, json.dumps({"message": "injected " + code}),
                              headers=[("x-amzn-ErrorType", code + ":http://internal/"),
                                       ("x-amzn-RequestId", "req-fault")])
        skip = action[1] if isinstance(action, tuple) and action[0] == "unprocessed" else 0
        unprocessed = [{"Id": p.get("id"), "ErrorCode": "ThrottledException",
                        "Message": "injected"} for p in parsed[:skip]]
        with self.lock:
            self.accepted.extend(parsed[skip:])
        self.reply(h, 200, json.dumps({"UnprocessedTraceSegments": unprocessed}),
                   headers=[("x-amzn-RequestId", "req-ok")])

    def stop(self):
        for ev in self.hangs:
            ev.set()
        super().stop()


CW_RETENTIONS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                 2192, 2557, 2922, 3288, 3653}


class CwLogsSink(_Server):
    """CloudWatch Logs (AWS JSON 1.1) with SigV4 checking, groups and streams, and a fault script.

    Every request must be a signed POST / with Content-Type application/x-amz-json-1.1 and an
    X-Amz-Target of Logs_20140328.*. CreateLogGroup / CreateLogStream / PutRetentionPolicy keep
    state as the service does (ResourceAlreadyExistsException, ResourceNotFoundException);
    PutLogEvents checks the service's limits (1..10,000 events, Σ(UTF-8 bytes + 26) ≤ 1,048,576,
    chronological, ≤ 24 h span, no sequenceToken, non-empty messages) and records what it keeps.

    script: a list consumed one entry per PutLogEvents request that reached a stream (then "ok"):
      "ok"                    accept every event
      ("status", 400, code)   answer an AWS JSON error (the client decides whether to retry)
      "hang"                  read the request, never answer (the client must time out)
      ("rejected", info)      answer 200 with rejectedLogEventsInfo |info| (indices as the
                              service reports them) and keep only the events not rejected
    """

    def __init__(self, key=None, secret=None, token=None, script=(), registry=None, groups=()):
        self.registry = registry or KeyRegistry()
        if key:
            self.registry.add(key, secret, token, None)
        self.script = list(script)
        self.groups = {g: {} for g in groups}  # group -> {stream: [event, ...]}
        self.tags = {}
        self.retention = {}
        self.targets = []  # X-Amz-Target of every request, in order
        self.hangs = []
        super().__init__()

    def events(self, group, stream):
        with self.lock:
            return list(self.groups.get(group, {}).get(stream, []))

    def all_events(self):
        with self.lock:
            return [e for g in self.groups.values() for evs in g.values() for e in evs]

    def _error(self, h, status, code, msg="injected"):
        self.reply(h, status, json.dumps({"__type": code, "message": msg}),
                   ctype="application/x-amz-json-1.1", headers=[("x-amzn-RequestId", "req-e")])

    def handle(self, h, body):
        if h.command != "POST" or h.path != "/":
            return self.fail(h, f"unexpected {h.command} {h.path}", 404)
        why = check_sigv4(h, body, self.registry.lookup, "logs")
        if why:
            return self.fail(h, why, 403)
        if h.headers.get("Content-Type") != "application/x-amz-json-1.1":
            return self.fail(h, "Content-Type must be application/x-amz-json-1.1")
        target = h.headers.get("X-Amz-Target", "")
        if not target.startswith("Logs_20140328."):
            return self.fail(h, f"bad X-Amz-Target {target!r}")
        op = target.split(".", 1)[1]
        try:
            req = json.loads(body)
        except ValueError as e:
            return self.fail(h, f"body is not JSON: {e}")
        with self.lock:
            self.targets.append(op)
        group = req.get("logGroupName")
        ok = lambda: self.reply(h, 200, b"{}", ctype="application/x-amz-json-1.1")  # noqa: E731
        if op == "CreateLogGroup":
            with self.lock:
                if group in self.groups:
                    return self._error(h, 400, "ResourceAlreadyExistsException")
                self.groups[group] = {}
                self.tags[group] = req.get("tags", {})
            return ok()
        if op == "PutRetentionPolicy":
            if req.get("retentionInDays") not in CW_RETENTIONS:
                return self.fail(h, f"retentionInDays {req.get('retentionInDays')} not accepted")
            with self.lock:
                if group not in self.groups:
                    return self._error(h, 400, "ResourceNotFoundException")
                self.retention[group] = req["retentionInDays"]
            return ok()
        if op == "CreateLogStream":
            with self.lock:
                if group not in self.groups:
                    return self._error(h, 400, "ResourceNotFoundException")
                if req["logStreamName"] in self.groups[group]:
                    return self._error(h, 400, "ResourceAlreadyExistsException")
                self.groups[group][req["logStreamName"]] = []
            return ok()
        if op != "PutLogEvents":
            return self.fail(h, f"unexpected operation {op}")
        evs = req.get("logEvents") or []
        if "sequenceToken" in req:
            return self.fail(h, "sequenceToken sent")
        if not 1 <= len(evs) <= 10000:
            return self.fail(h, f"{len(evs)} events in one call (1..10000 allowed)")
        size = sum(len(e["message"].encode()) + 26 for e in evs)
        if size > 1048576:
            return self.fail(h, f"batch of {size} bytes (at most 1048576)")
        ts = [e["timestamp"] for e in evs]
        if ts != sorted(ts):
            return self.fail(h, "events not in chronological order")
        if ts[-1] - ts[0] > 24 * 3600 * 1000:
            return self.fail(h, "batch spans more than 24 hours")
        if any(not e["message"] for e in evs):
            return self.fail(h, "an empty message")
        with self.lock:
            stream = self.groups.get(group, {}).get(req.get("logStreamName"))
            if stream is None:
                return self._error(h, 400, "ResourceNotFoundException",
                                   "The specified log stream does not exist.")
            action = self.script.pop(0) if self.script else "ok"
        if action == "hang":
            ev = threading.Event()
            self.hangs.append(ev)
            ev.wait(60)
            return
        if isinstance(action, tuple) and action[0] == "status":
            return self._error(h, action[1], action[2])
        info = action[1] if isinstance(action, tuple) and action[0] == "rejected" else {}
        lo = max(info.get("tooOldLogEventEndIndex", 0), info.get("expiredLogEventEndIndex", 0))
        hi = info.get("tooNewLogEventStartIndex", len(evs))
        with self.lock:
            stream.extend(evs[lo:max(lo, hi)])
        out = {"nextSequenceToken": "0"}
        if info:
            out["rejectedLogEventsInfo"] = info
        self.reply(h, 200, json.dumps(out), ctype="application/x-amz-json-1.1",
                   headers=[("x-amzn-RequestId", "req-ok")])

    def stop(self):
        for ev in self.hangs:
            ev.set()
        super().stop()


def _iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class WebIdentitySts(_Server):
    """STS AssumeRoleWithWebIdentity as IRSA uses it: unsigned form POST, checked strictly.

    |token_file| is read at each request: the token sent must be the file's current content.
    """

    def __init__(self, moto, token_file, lifetime=None):
        self.moto = moto
        self.token_file = token_file
        self.lifetime = lifetime  # seconds: rewrite moto's Expiration (forces early refreshes)
        self.calls = []  # (session name, token) per accepted call
        super().__init__()

    def handle(self, h, body):
        if h.command != "POST" or h.path != "/":
            return self.fail(h, f"unexpected {h.command} {h.path}", 404)
        if "Authorization" in h.headers:
            return self.fail(h, "AssumeRoleWithWebIdentity must not be signed")
        ctype = h.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return self.fail(h, f"Content-Type {ctype!r}")
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
        want = {"Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken"}
        extra = set(form) - want - {"DurationSeconds"}
        if not want <= set(form) or extra or any(len(v) != 1 for v in form.values()):
            return self.fail(h, f"form fields {sorted(form)}")
        f = {k: v[0] for k, v in form.items()}
        if f["Action"] != "AssumeRoleWithWebIdentity" or f["Version"] != "2011-06-15":
            return self.fail(h, "Action/Version")
        if not SESSION_NAME_RE.match(f["RoleSessionName"]):
            return self.fail(h, f"RoleSessionName {f['RoleSessionName']!r}")
        with open(self.token_file) as fh:
            current = fh.read()
        if f["WebIdentityToken"] != current:
            return self.reply(h, 400, "<ErrorResponse><Error><Type>Sender</Type>"
                              "<Code>InvalidIdentityToken</Code><Message>stale token</Message>"
                              "</Error></ErrorResponse>", "text/xml")
        xml = self.moto.web_identity_xml(f["RoleArn"], f["RoleSessionName"], current)
        if self.lifetime is not None:
            exp = _iso(datetime.now(timezone.utc) + timedelta(seconds=self.lifetime))
            xml = re.sub(rb"<Expiration>[^<]*</Expiration>",
                         b"<Expiration>" + exp.encode() + b"</Expiration>", xml)
        with self.lock:
            self.calls.append((f["RoleSessionName"], current))
        self.reply(h, 200, xml, "text/xml")


class XraySampling(_Server):
    """X-Ray's sampling API, which moto lacks: POST /GetSamplingRules and POST /SamplingTargets,
    each signed for "xray" (checked with botocore, as XraySink does) with a body botocore's own
    model of the operation validates. A statistics document for the rule "reject" gets X-Ray's
    400 InvalidRequestException."""

    RULES = [{"SamplingRule": {
        "RuleName": "checkout", "RuleARN": "arn:aws:xray:%s:123456789012:sampling-rule/checkout"
        % REGION, "ResourceARN": "*", "Priority": 10, "FixedRate": 0.25, "ReservoirSize": 3,
        "ServiceName": "checkout", "ServiceType": "*", "Host": "*", "HTTPMethod": "POST",
        "URLPath": "/api/*", "Version": 1, "Attributes": {}},
        "CreatedAt": 1.7e9, "ModifiedAt": 1.7e9}]

    def __init__(self, key, secret, token=None):
        self.registry = KeyRegistry()
        self.registry.add(key, secret, token, None)
        self.calls = []  # (path, parsed body)
        super().__init__()

    def _invalid(self, op, params):
        import botocore.session
        from botocore.validate import ParamValidator
        model = botocore.session.get_session().get_service_model("xray").operation_model(op)
        report = ParamValidator().validate(params, model.input_shape)
        return report.generate_report() if report.has_errors() else None

    def handle(self, h, body):
        ops = {"/GetSamplingRules": "GetSamplingRules", "/SamplingTargets": "GetSamplingTargets"}
        if h.command != "POST" or h.path not in ops:
            return self.fail(h, f"unexpected {h.command} {h.path}", 404)
        why = check_sigv4(h, body, self.registry.lookup, "xray")
        if why:
            return self.fail(h, why, 403)
        try:
            params = json.loads(body or b"{}")
        except ValueError as e:
            return self.fail(h, f"body is not JSON: {e}")
        why = self._invalid(ops[h.path], params)
        if why:
            return self.fail(h, why)
        with self.lock:
            self.calls.append((h.path, params))
        if h.path == "/GetSamplingRules":
            return self.reply(h, 200, json.dumps({"SamplingRuleRecords": self.RULES}))
        docs = params["SamplingStatisticsDocuments"]
        if any(d["RuleName"] == "reject" for d in docs):
            return self.reply(h, 400, json.dumps({"message": "no rule named reject"}),
                              headers=[("x-amzn-ErrorType", "InvalidRequestException"),
                                       ("x-amzn-RequestId", "req-reject")])
        self.reply(h, 200, json.dumps({
            "SamplingTargetDocuments": [{"RuleName": d["RuleName"], "FixedRate": 0.5,
                                         "ReservoirQuota": 2, "ReservoirQuotaTTL": 1.8e9,
                                         "Interval": 10} for d in docs],
            "LastRuleModification": 1.7e9, "UnprocessedStatistics": []}))


class PodIdentityAgent(_Server):
    """The EKS Pod Identity agent: GET with the token file's content as Authorization."""

    def __init__(self, moto, token_file, lifetime=3600, registry=None):
        self.moto = moto  # None: mint keys of our own into |registry| (for XraySink)
        self.token_file = token_file
        self.lifetime = lifetime
        self.registry = registry
        self.calls = 0
        super().__init__()

    def handle(self, h, body):
        if h.command != "GET" or h.path != "/v1/credentials":
            return self.fail(h, f"unexpected {h.command} {h.path}", 404)
        with open(self.token_file) as fh:
            current = fh.read()
        if h.headers.get("Authorization") != current:
            return self.reply(h, 401, json.dumps({"message": "bad token"}))
        exp = datetime.now(timezone.utc) + timedelta(seconds=self.lifetime)
        if self.moto is None:
            c = {"AccessKeyId": "ASIA" + os.urandom(8).hex().upper(),
                 "SecretAccessKey": os.urandom(20).hex(), "SessionToken": os.urandom(32).hex()}
            self.registry.add(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                              exp.timestamp())
        else:
            c = self.moto.role_credentials("pod-identity")
        with self.lock:
            self.calls += 1
        self.reply(h, 200, json.dumps({
            "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
            "Token": c["SessionToken"], "AccountId": "123456789012", "Expiration": _iso(exp)}))


class Imds(_Server):
    """IMDSv2: a session token from PUT /latest/api/token is required on every GET. Also the
    instance identity document and the hostname (the ec2 resource detector)."""

    ROLE = "otterd-node"
    IDENTITY = {"accountId": "123456789012", "architecture": "arm64",
                "availabilityZone": REGION + "b", "imageId": "ami-0f1e2d3c4b5a69788",
                "instanceId": "i-0a1b2c3d4e5f60718", "instanceType": "m7g.large",
                "privateIp": "10.1.2.3", "region": REGION, "version": "2017-09-30",
                "pendingTime": "2026-11-01T08:00:00Z", "kernelId": None, "ramdiskId": None,
                "billingProducts": None, "marketplaceProductCodes": None,
                "devpayProductCodes": None}
    HOSTNAME = "ip-10-1-2-3.%s.compute.internal" % REGION

    def __init__(self, moto, lifetime=3600):
        self.moto = moto
        self.lifetime = lifetime
        self.tokens = set()
        self.calls = 0
        super().__init__()

    def handle(self, h, body):
        if h.command == "PUT" and h.path == "/latest/api/token":
            ttl = h.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(h, 400, "", "text/plain")
            tok = hashlib.sha256(os.urandom(16)).hexdigest()
            with self.lock:
                self.tokens.add(tok)
            return self.reply(h, 200, tok, "text/plain")
        if h.command != "GET":
            return self.reply(h, 405, "", "text/plain")
        if h.headers.get("X-aws-ec2-metadata-token") not in self.tokens:
            return self.reply(h, 401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if h.path == base:
            return self.reply(h, 200, self.ROLE, "text/plain")
        if h.path == "/latest/meta-data/placement/region":
            return self.reply(h, 200, REGION, "text/plain")
        if h.path == "/latest/dynamic/instance-identity/document":
            return self.reply(h, 200, json.dumps(self.IDENTITY, indent=2), "text/plain")
        if h.path == "/latest/meta-data/hostname":
            return self.reply(h, 200, self.HOSTNAME, "text/plain")
        if h.path != base + self.ROLE:
            return self.reply(h, 404, "", "text/plain")
        c = self.moto.role_credentials("imds")
        with self.lock:
            self.calls += 1
        exp = datetime.now(timezone.utc) + timedelta(seconds=self.lifetime)
        self.reply(h, 200, json.dumps({
            "Code": "Success", "LastUpdated": _iso(datetime.now(timezone.utc)),
            "Type": "AWS-HMAC", "AccessKeyId": c["AccessKeyId"],
            "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
            "Expiration": _iso(exp)}))


def aws_env(**extra):
    """An environment with every AWS_ variable removed, plus |extra|."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update({k: str(v) for k, v in extra.items()})
    return env


__all__ = ["MotoServer", "XraySink", "XraySampling", "CwLogsSink", "KeyRegistry", "WebIdentitySts", "PodIdentityAgent", "Imds", "aws_env",
           "check_sigv4", "free_port", "REGION", "botocore"]


class _H2Request:
    """What check_sigv4 reads of a request (BaseHTTPRequestHandler's names), for HTTP/2."""

    def __init__(self, headers, body):
        import email.message
        self.command = headers[":method"]
        self.path = headers[":path"]
        self.headers = email.message.Message()
        self.headers["Host"] = headers[":authority"]
        for k, v in headers.items():
            if not k.startswith(":"):
                self.headers[k] = v
        self.body = body


class H2XraySink:
    """PutTraceSegments over TLS that offers only HTTP/2 by ALPN (h2): proves the client speaks
    HTTP/2 where it is offered. Each request's signature is checked as XraySink does."""

    def __init__(self, tmp_dir, key, secret):
        import ssl
        import subprocess as sp
        cert, pkey = os.path.join(tmp_dir, "h2.crt"), os.path.join(tmp_dir, "h2.key")
        sp.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", pkey, "-out", cert], check=True, capture_output=True)
        self.cert = cert
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, pkey)
        self.ctx.set_alpn_protocols(["h2"])
        self.registry = KeyRegistry()
        self.registry.add(key, secret, None, None)
        self.accepted, self.errors, self.alpn = [], [], []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        import h2.config
        import h2.connection
        import h2.events
        try:
            conn_sock = self.ctx.wrap_socket(raw, server_side=True)
        except OSError:
            return
        with self.lock:
            self.alpn.append(conn_sock.selected_alpn_protocol())
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        conn_sock.sendall(conn.data_to_send())
        streams = {}
        try:
            while True:
                data = conn_sock.recv(65536)
                if not data:
                    return
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        streams[ev.stream_id] = [
                            {k.decode() if isinstance(k, bytes) else k:
                             v.decode() if isinstance(v, bytes) else v for k, v in ev.headers},
                            b""]
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id][1] += ev.data
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        hdrs, body = streams.pop(ev.stream_id)
                        self._answer(conn, ev.stream_id, hdrs, body)
                conn_sock.sendall(conn.data_to_send())
        except (OSError, KeyError):
            return

    def _answer(self, conn, sid, hdrs, body):
        req = _H2Request(hdrs, body)
        why = check_sigv4(req, body, self.registry.lookup, "xray")
        status, out = 200, b'{"UnprocessedTraceSegments":[]}'
        if why is None and req.path != "/TraceSegments":
            why = "path " + req.path
        if why is None:
            docs = [json.loads(d) for d in json.loads(body)["TraceSegmentDocuments"]]
            with self.lock:
                self.accepted.extend(docs)
        else:
            with self.lock:
                self.errors.append(why)
            status, out = 403, json.dumps({"message": why}).encode()
        conn.send_headers(sid, [(":status", str(status)), ("content-type", "application/json"),
                                ("content-length", str(len(out)))])
        conn.send_data(sid, out, end_stream=True)

    def stop(self):
        self.stopped = True
        self.sock.close()


class ForwardProxy(_Server):
    """A plain HTTP forward proxy (absolute-form request targets, as clients send to an http://
    proxy): forwards each request to its target and records the targets it served."""

    def __init__(self):
        self.targets = []
        super().__init__()

    def handle(self, h, body):
        import http.client
        u = urllib.parse.urlsplit(h.path)
        if u.scheme != "http" or not u.netloc:
            return self.fail(h, f"not an absolute-form request target: {h.path!r}")
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("proxy-connection", "connection", "keep-alive")}
        c = http.client.HTTPConnection(u.netloc, timeout=30)
        c.request(h.command, u.path + (("?" + u.query) if u.query else ""), body=body,
                  headers=headers)
        r = c.getresponse()
        data = r.read()
        with self.lock:
            self.targets.append(f"{h.command} {u.netloc}{u.path}")
        self.reply(h, r.status, data, r.getheader("Content-Type") or "application/json",
                   [(k, v) for k, v in r.getheaders()
                    if k.lower().startswith("x-amzn")])
        c.close()
