# SPDX-License-Identifier: Apache-2.0
"""Property test: Otter's SigV4 signer (exporters/aws/ex_aws_sigv4.c, driven through the
sigv4_cli executable) against botocore's SigV4Auth / S3SigV4Auth on a few hundred random
requests signed at a fixed time: random methods, paths with reserved characters, unicode, ':'
and dot segments, query strings with repeated keys and empty values, header values with runs of
spaces and tabs, repeated headers, services including bedrock and s3, with and without a
session token. Canonical request, string to sign, signature and Authorization must be equal.

The driver is found through OTTER_SIGV4_CLI, else at build/tests/unit/aws/sigv4_cli; a missing
driver is a failure, not a skip. OTTER_SIGV4_SEED / OTTER_SIGV4_CASES change the generated set.
"""
import datetime
import json
import os
import random
import subprocess
from pathlib import Path
from urllib.parse import quote

import botocore.auth
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("OTTER_SIGV4_CLI",
                          ROOT / "build" / "tests" / "unit" / "aws" / "sigv4_cli"))
SEED = int(os.environ.get("OTTER_SIGV4_SEED", "20150830"))
CASES = int(os.environ.get("OTTER_SIGV4_CASES", "400"))
FIXED = datetime.datetime(2015, 8, 30, 12, 36, 0)
AMZ_DATE = "20150830T123600Z"
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+example/token=="

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]
SERVICES = ["logs", "xray", "monitoring", "bedrock", "sts", "sns", "s3", "execute-api"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"]
# Path and query material: unreserved, sub-delims, gen-delims, space, '%', unicode.
CHARS = (
    "abcXYZ019-._~" "!$&'()*+,;=:@" "/?#[]" " %" "\u00e9\u1234\U0001F600"
)
TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
VALUE_CHARS = "abc XYZ 019 ,;:=/\"'()[]{}?!@#$%^&*+~`|\\<>\t\u00e9\u1234"
# Headers botocore leaves unsigned; they must be left out by Otter too.
UNSIGNED = ["User-Agent", "X-Amzn-Trace-Id", "Expect", "Connection", "Transfer-Encoding"]


def rand_text(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def rand_path(rng, service):
    """A wire path: segments percent-encoded as a client sends them, some with ':' left raw
    (legal in a path), some dot segments and empty segments."""
    segs = []
    if service == "bedrock":
        model = rng.choice([
            "anthropic.claude-3-haiku-20240307-v1:0",
            "us.amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
            "us.anthropic.claude-3-haiku-20240307-v1:0",
        ])
        # Clients encode ':' and '/' in the model id; some leave ':' raw.
        segs = ["model", quote(model, safe=rng.choice(["", ":"])),
                rng.choice(["converse", "converse-stream", "invoke"])]
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if r < 0.1:
            segs.append(rng.choice([".", ".."]))
        elif r < 0.15:
            segs.append("")
        else:
            seg = rand_text(rng, CHARS, 1, 8)
            segs.append(quote(seg, safe=rng.choice(["", ":@", "!$&'()*+,;=:@"])))
    path = "/" + "/".join(segs)
    if rng.random() < 0.2:
        path += "/"
    return path


def rand_query(rng):
    if rng.random() < 0.3:
        return ""
    keys = [rand_text(rng, CHARS, 1, 6) for _ in range(rng.randint(1, 3))]
    pairs = []
    for _ in range(rng.randint(1, 6)):
        key = quote(rng.choice(keys), safe="-_.~")
        r = rng.random()
        if r < 0.15:
            pairs.append(key)  # no '=' at all
        elif r < 0.3:
            pairs.append(key + "=")  # empty value
        else:
            pairs.append(key + "=" + quote(rand_text(rng, CHARS, 0, 8), safe="-_.~"))
    return "&".join(pairs)


def rand_headers(rng, host):
    headers = [("Host", host)]
    names = [rng.choice(["X-Amz-Target", "Content-Type", "Accept", "X-Custom"])
             for _ in range(2)]
    names += ["X-" + rand_text(rng, TOKEN_CHARS, 1, 10) for _ in range(rng.randint(0, 3))]
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(names)
        name = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
        value = (" " * rng.randint(0, 2) + rand_text(rng, VALUE_CHARS, 0, 20) +
                 rng.choice(["", " ", "  \t "]))
        headers.append((name, value))
    if rng.random() < 0.3:
        headers.append((rng.choice(UNSIGNED), rand_text(rng, VALUE_CHARS, 1, 10).strip() or "x"))
    return headers


def gen_case(rng):
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    host = "%s.%s.amazonaws.com" % ("bedrock-runtime" if service == "bedrock" else service,
                                    region)
    if rng.random() < 0.2:
        host = "127.0.0.1:%d" % rng.randint(1024, 65535)
    body = rng.choice(["", "{}", '{"messages":[{"role":"user"}]}', "Action=Send&Version=1",
                       rand_text(rng, VALUE_CHARS, 0, 40)])
    return {
        "method": rng.choice(METHODS),
        "path": rand_path(rng, service),
        "query": rand_query(rng),
        "headers": rand_headers(rng, host),
        "body": body,
        "service": service,
        "region": region,
        "amz_date": AMZ_DATE,
        "access_key_id": AKID,
        "secret_access_key": SECRET,
        "session_token": TOKEN if rng.random() < 0.5 else None,
        "host": host,
    }


def botocore_sign(case):
    """Signs |case| with botocore's own add_auth() at the fixed time and captures the
    intermediate strings."""
    creds = Credentials(case["access_key_id"], case["secret_access_key"], case["session_token"])
    cls = S3SigV4Auth if case["service"] == "s3" else SigV4Auth
    auth = cls(creds, case["service"], case["region"])
    url = "https://" + case["host"] + case["path"]
    if case["query"]:
        url += "?" + case["query"]
    req = AWSRequest(method=case["method"], url=url, data=case["body"].encode())
    for name, value in case["headers"]:
        req.headers[name] = value  # HTTPMessage: a repeated name appends
    got = {}
    orig_cr, orig_sts = auth.canonical_request, auth.string_to_sign

    def canonical_request(request):
        got["canonical_request"] = orig_cr(request)
        return got["canonical_request"]

    def string_to_sign(request, cr):
        got["string_to_sign"] = orig_sts(request, cr)
        return got["string_to_sign"]

    auth.canonical_request = canonical_request
    auth.string_to_sign = string_to_sign
    auth.add_auth(req)
    got["authorization"] = req.headers["Authorization"]
    got["signature"] = got["authorization"].rsplit("Signature=", 1)[1]
    got["x-amz-security-token"] = req.headers.get("X-Amz-Security-Token")
    got["x-amz-content-sha256"] = req.headers.get("X-Amz-Content-SHA256")
    return got


def otter_sign(cases):
    assert CLI.exists(), "sigv4_cli not built: expected at %s (set OTTER_SIGV4_CLI)" % CLI
    stdin = "".join(json.dumps({k: v for k, v in c.items() if k != "host"}) + "\n"
                    for c in cases)
    proc = subprocess.run([str(CLI)], input=stdin.encode(), capture_output=True, timeout=120,
                          check=True)
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == len(cases)
    return [json.loads(line) for line in lines]


def test_sigv4_matches_botocore(monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED)
    rng = random.Random(SEED)
    cases = [gen_case(rng) for _ in range(CASES)]
    ours = otter_sign(cases)
    mismatches = []
    services = set()
    for case, mine in zip(cases, ours):
        ref = botocore_sign(case)
        services.add(case["service"])
        assert "error" not in mine, (case, mine)
        added = {name.lower(): value for name, value in mine["added"]}
        fields = ("canonical_request", "string_to_sign", "signature", "authorization")
        if (any(mine[f] != ref[f] for f in fields) or
                added.get("x-amz-security-token") != ref["x-amz-security-token"] or
                added.get("x-amz-content-sha256") != ref["x-amz-content-sha256"] or
                added.get("x-amz-date") != AMZ_DATE):
            mismatches.append((case, mine, ref))
    for case, mine, ref in mismatches[:3]:
        print("CASE", json.dumps(case, ensure_ascii=False))
        print("OURS", mine["canonical_request"].replace("\n", "|"))
        print("BOTO", ref["canonical_request"].replace("\n", "|"))
    assert not mismatches, "%d of %d requests signed differently" % (len(mismatches), len(cases))
    assert {"bedrock", "s3"} <= services


def test_bedrock_model_id_double_encoding(monkeypatch):
    """The case that made the project write its own signer (curl 7.88.1 gets it wrong)."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED)
    case = {
        "method": "POST",
        "path": "/model/" + quote("anthropic.claude-3-haiku-20240307-v1:0", safe="") + "/converse",
        "query": "",
        "headers": [("Host", "bedrock-runtime.us-east-1.amazonaws.com"),
                    ("Content-Type", "application/json")],
        "body": "{}",
        "service": "bedrock",
        "region": "us-east-1",
        "amz_date": AMZ_DATE,
        "access_key_id": AKID,
        "secret_access_key": SECRET,
        "session_token": TOKEN,
        "host": "bedrock-runtime.us-east-1.amazonaws.com",
    }
    mine = otter_sign([case])[0]
    ref = botocore_sign(case)
    want_uri = "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n"
    assert want_uri in mine["canonical_request"]
    assert mine["canonical_request"] == ref["canonical_request"]
    assert mine["authorization"] == ref["authorization"]
