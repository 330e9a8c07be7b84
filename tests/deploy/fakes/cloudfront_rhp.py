"""CloudFront in front of moto for the one operation moto does not implement.

moto (the real peer for every other call) answers ListResponseHeadersPolicies with 404, so this
proxy answers that operation from the policies a test seeds and forwards every other request to
moto unchanged. It checks what it receives as CloudFront would: a SigV4 Authorization header
for the cloudfront service, Type=custom or managed, a Marker it issued, and nothing else in the
query. It pages one policy at a time so that a caller must follow NextMarker."""

import datetime
import http.server
import re
import threading
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

PATH = "/2020-05-31/response-headers-policy"
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/[a-z0-9-]+/cloudfront/aws4_request, "
                  r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$")


class CloudFrontProxy:
    def __init__(self, moto_url):
        self.moto = moto_url
        self.policies = []  # (id, name, comment), all "custom"
        self.errors = []    # what a request did wrong (the test asserts this stays empty)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                if u.path == PATH:
                    proxy.list(self, urllib.parse.parse_qs(u.query, keep_blank_values=True))
                else:
                    proxy.forward(self, "GET")

            def do_POST(self):
                proxy.forward(self, "POST")

            def do_PUT(self):
                proxy.forward(self, "PUT")

            def do_DELETE(self):
                proxy.forward(self, "DELETE")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def forward(self, h, method):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else None
        req = urllib.request.Request(self.moto + h.path, data=body, method=method,
                                     headers={k: v for k, v in h.headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code, headers, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            code, headers, data = e.code, e.headers, e.read()
        h.send_response(code)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def fail(self, h, why):
        self.errors.append(why)
        body = ("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidArgument</Code>"
                "<Message>%s</Message></Error></ErrorResponse>" % escape(why)).encode()
        h.send_response(400)
        h.send_header("Content-Type", "text/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def list(self, h, q):
        if not AUTH.match(h.headers.get("Authorization", "")):
            return self.fail(h, "not signed with SigV4 for cloudfront: %r" % h.headers.get("Authorization"))
        if set(q) - {"Type", "Marker", "MaxItems"}:
            return self.fail(h, "unexpected query parameters %s" % sorted(set(q) - {"Type", "Marker", "MaxItems"}))
        kind = q.get("Type", [""])[0]
        if kind not in ("", "custom", "managed"):
            return self.fail(h, "Type must be custom or managed, not %r" % kind)
        items = [] if kind == "managed" else self.policies
        start = 0
        if "Marker" in q:
            m = q["Marker"][0]
            if not m.startswith("page-") or not m[5:].isdigit() or int(m[5:]) >= len(items):
                return self.fail(h, "Marker %r was never issued" % m)
            start = int(m[5:])
        page = items[start:start + 1]
        nxt = "<NextMarker>page-%d</NextMarker>" % (start + 1) if start + 1 < len(items) else ""
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        xml = "".join(
            "<ResponseHeadersPolicySummary><Type>custom</Type><ResponseHeadersPolicy><Id>%s</Id>"
            "<LastModifiedTime>%s</LastModifiedTime><ResponseHeadersPolicyConfig><Comment>%s</Comment>"
            "<Name>%s</Name></ResponseHeadersPolicyConfig></ResponseHeadersPolicy>"
            "</ResponseHeadersPolicySummary>" % (escape(i), now, escape(c), escape(n))
            for i, n, c in page)
        body = ('<?xml version="1.0" encoding="UTF-8"?><ResponseHeadersPolicyList '
                'xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">%s<MaxItems>1</MaxItems>'
                "<Quantity>%d</Quantity><Items>%s</Items></ResponseHeadersPolicyList>"
                % (nxt, len(page), xml)).encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
