# SPDX-License-Identifier: Apache-2.0
"""The AWS peers of aws_peers.py are strict: botocore's own requests pass, wrong ones fail.

These prove the fakes can fail before other tests rely on them to judge otterd.
"""

import json
import time
import urllib.error
import urllib.request

import pytest

from aws_peers import Imds, MotoServer, PodIdentityAgent, WebIdentitySts, XraySink


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


def _doc(i=1):
    now = time.time()
    return json.dumps({"name": "svc", "id": f"{i:016x}", "trace_id": f"1-{int(now):08x}-{i:024x}",
                       "start_time": now, "end_time": now + 0.5})


def test_moto_checks_signatures(moto):
    good = moto.client("xray")
    assert good.put_trace_segments(TraceSegmentDocuments=[_doc()])["UnprocessedTraceSegments"] == []
    bad = moto.client("xray", secret="not-the-secret")
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        bad.put_trace_segments(TraceSegmentDocuments=[_doc()])


def test_xray_sink_checks_signatures_and_plays_its_script(moto):
    sink = XraySink("AKIDSINK", "sink-secret", script=[("status", 429, "ThrottlingException")])
    try:
        s = moto.session(key="AKIDSINK", secret="sink-secret")
        from botocore.config import Config
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        x = s.client("xray", endpoint_url=sink.url, config=cfg)
        with pytest.raises(Exception, match="ThrottlingException"):
            x.put_trace_segments(TraceSegmentDocuments=[_doc(1)])
        assert x.put_trace_segments(TraceSegmentDocuments=[_doc(2)])[
            "UnprocessedTraceSegments"] == []
        assert [d["id"] for d in sink.accepted] == [f"{2:016x}"]
        wrong = moto.session(key="AKIDSINK", secret="other").client(
            "xray", endpoint_url=sink.url, config=cfg)
        with pytest.raises(Exception):
            wrong.put_trace_segments(TraceSegmentDocuments=[_doc(3)])
        assert sink.errors == ["SignatureDoesNotMatch"]
    finally:
        sink.stop()


def _get(url, headers=None, method="GET", data=None):
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_web_identity_front_wants_the_current_token(moto, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("first-token-value")
    sts = WebIdentitySts(moto, tok)
    try:
        form = ("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn="
                + moto.role_arn.replace(":", "%3A").replace("/", "%2F")
                + "&RoleSessionName=otterd-test&WebIdentityToken=")
        hdr = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        st, body = _get(sts.url + "/", hdr, "POST", (form + "first-token-value").encode())
        assert st == 200 and b"<SessionToken>" in body, body
        tok.write_text("second-token-value")
        st, body = _get(sts.url + "/", hdr, "POST", (form + "first-token-value").encode())
        assert st == 400 and b"InvalidIdentityToken" in body
        assert len(sts.calls) == 1
    finally:
        sts.stop()


def test_pod_identity_and_imds_want_their_tokens(moto, tmp_path):
    tok = tmp_path / "pod-token"
    tok.write_text("pod-token-value")
    pod = PodIdentityAgent(moto, tok)
    imds = Imds(moto)
    try:
        assert _get(pod.url + "/v1/credentials", {"Authorization": "wrong"})[0] == 401
        st, body = _get(pod.url + "/v1/credentials", {"Authorization": "pod-token-value"})
        c = json.loads(body)
        assert st == 200 and c["AccessKeyId"] and c["Expiration"].endswith("Z"), c
        assert _get(imds.url + "/latest/meta-data/iam/security-credentials/")[0] == 401
        st, t = _get(imds.url + "/latest/api/token",
                     {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}, "PUT", b"")
        assert st == 200
        st, role = _get(imds.url + "/latest/meta-data/iam/security-credentials/",
                        {"X-aws-ec2-metadata-token": t.decode()})
        assert (st, role) == (200, Imds.ROLE.encode())
        # The credentials IMDS hands out are accepted by moto.
        st, body = _get(imds.url + "/latest/meta-data/iam/security-credentials/" + Imds.ROLE,
                        {"X-aws-ec2-metadata-token": t.decode()})
        c = json.loads(body)
        x = moto.client("xray", key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                        token=c["Token"])
        assert x.put_trace_segments(TraceSegmentDocuments=[_doc(4)])[
            "UnprocessedTraceSegments"] == []
    finally:
        pod.stop()
        imds.stop()
