# SPDX-License-Identifier: Apache-2.0
"""OpenTelemetry Python SDK -> otterd (OTLP) -> awsxray exporter -> moto X-Ray, end to end.

The X-Ray peer is moto server with IAM authentication on (it verifies every SigV4 signature),
or XraySink (aws_peers.py) where faults are injected. Credentials come from each provider of
the chain in turn: environment, a profile file, web identity (IRSA) with a rotating token file,
EKS Pod Identity and IMDSv2. Every span the SDK sent must be found again in X-Ray exactly once,
or be counted in a named drop counter: the tally is exact.
"""

import json
import os
import random
import re
import time

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

import sdk_python
from aws_peers import (REGION, Imds, KeyRegistry, MotoServer, PodIdentityAgent, WebIdentitySts,
                       XraySink, aws_env)
from conftest import make_config, scaled


class XRayIds(IdGenerator):
    """Trace ids whose first 4 bytes are the current epoch, as X-Ray requires (the SDKs' AWS
    X-Ray id generator does the same)."""

    def generate_span_id(self):
        return random.getrandbits(64) or 1

    def generate_trace_id(self):
        return (int(time.time()) << 96) | random.getrandbits(96)


def xray_trace_id(tid):
    h = "%032x" % tid
    return "1-%s-%s" % (h[:8], h[8:])


SERVICE = "otter-xray-it"


def send_spans(agent, n_traces=4, per_trace=5, transport="grpc", service=SERVICE):
    """Sends n_traces traces of per_trace spans (one SERVER root, CLIENT children, one error).

    Returns {span id hex: (X-Ray trace id, name)} of every span sent.
    """
    tp = TracerProvider(resource=Resource({"service.name": service}), id_generator=XRayIds())
    tee = sdk_python.TeeSpans(sdk_python.exporter("traces", transport, agent))
    tp.add_span_processor(BatchSpanProcessor(tee, schedule_delay_millis=60_000))
    tracer = tp.get_tracer("otter.xray.it")
    sent = {}
    for t in range(n_traces):
        with tracer.start_as_current_span(
                "GET /api/%d" % t, kind=SpanKind.SERVER,
                attributes={"http.request.method": "GET", "http.response.status_code": 200,
                            "url.path": "/api/%d" % t, "otter.tenant": "t%d" % t}) as root:
            ctx = root.get_span_context()
            sent["%016x" % ctx.span_id] = (xray_trace_id(ctx.trace_id), "GET /api/%d" % t)
            for c in range(per_trace - 1):
                with tracer.start_as_current_span("child-%d" % c, kind=SpanKind.CLIENT) as ch:
                    if c == 0:
                        ch.set_status(Status(StatusCode.ERROR, "boom"))
                    cc = ch.get_span_context()
                    sent["%016x" % cc.span_id] = (xray_trace_id(cc.trace_id), "child-%d" % c)
    assert tp.force_flush(30_000)
    tp.shutdown()
    assert tee.ok(), tee.results
    return sent


def xray_config(out_dir, endpoint, **opts):
    cfg = make_config(out_dir)
    x = {"region": REGION, "endpoint": endpoint}
    x.update(opts)
    cfg["exporters"]["awsxray"] = x
    cfg["service"]["pipelines"]["traces"]["exporters"] = ["awsxray", "file/traces"]
    return cfg


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


def found_in_xray(moto, sent, timeout=10.0):
    """Polls moto until every trace of |sent| is there; returns {span id: document}."""
    tids = sorted({t for t, _ in sent.values()})
    deadline = time.monotonic() + scaled(timeout)
    docs = {}
    while time.monotonic() < deadline:
        docs = {}
        for d in moto.traces(tids):
            assert d["id"] not in docs, "span %s stored twice" % d["id"]
            docs[d["id"]] = d
        if set(sent) <= set(docs):
            break
        time.sleep(0.2)
    return docs


def assert_all_delivered(sent, docs):
    missing = set(sent) - set(docs)
    assert not missing, "%d of %d spans never reached X-Ray" % (len(missing), len(sent))
    for sid, (tid, name) in sent.items():
        d = docs[sid]
        # X-Ray names a SERVER span's segment after service.name; a CLIENT span with no remote
        # attributes keeps its own name (specs/xray.md, naming precedence).
        want = SERVICE if name.startswith("GET /api/") else name
        assert d["trace_id"] == tid and d["name"] == want, d


def stop_and_check_secrets(agent, *secrets):
    """Neither /metrics nor the log may carry a secret, a session token or an identity token."""
    from conftest import http_request

    st, _, metrics = http_request(agent.admin_port, "GET", "/metrics")
    assert st == 200
    agent.stop()
    for where, text in (("log", agent.stderr()), ("/metrics", metrics.decode())):
        for s in secrets:
            if s:
                assert s not in text, "a secret appeared in otterd's " + where


def test_python_sdk_spans_found_in_moto_xray(otterd, moto, tmp_path):
    env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY=moto.admin_secret)
    agent = otterd(config=xray_config(tmp_path, moto.endpoint,
                                      indexed_attributes=["otter.tenant"]), env=env)
    sent = send_spans(agent)
    docs = found_in_xray(moto, sent)
    assert_all_delivered(sent, docs)
    roots = [d for d in docs.values() if d["name"] == SERVICE]
    assert len(roots) == 4
    for d in roots:
        assert d["http"]["request"]["method"] == "GET"
        assert d["http"]["response"]["status"] == 200
        assert d["annotations"]["otter.tenant"].startswith("t")
        assert "parent_id" not in d
    errs = [d for d in docs.values() if d["name"] == "child-0"]
    assert len(errs) == 4 and all(d.get("fault") or d.get("error") for d in errs)
    stop_and_check_secrets(agent, moto.admin_secret)


def test_wrong_secret_fails_loudly_and_is_counted(otterd, moto, tmp_path):
    env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY="not-the-secret")
    agent = otterd(config=xray_config(tmp_path, moto.endpoint), env=env)
    sent = send_spans(agent, n_traces=2, per_trace=3)
    deadline = time.monotonic() + scaled(15)
    while time.monotonic() < deadline:
        if xray_failed(agent) >= len(sent):
            break
        time.sleep(0.2)
    assert xray_failed(agent) == len(sent)
    assert xray_sent(agent) == 0
    assert "SignatureDoesNotMatch" in agent.stderr()
    stop_and_check_secrets(agent, "not-the-secret")


# ---- the credentials chain, provider by provider ---------------------------------------------


def _deliver_with_env(otterd, moto, tmp_path, env, n_traces=2):
    agent = otterd(config=xray_config(tmp_path, moto.endpoint), env=env)
    sent = send_spans(agent, n_traces=n_traces, per_trace=3)
    assert_all_delivered(sent, found_in_xray(moto, sent))
    return agent, sent


def test_profile_file(otterd, moto, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n"
                     "[otter]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                     % (moto.admin_key, moto.admin_secret))
    cfgf = tmp_path / "config"
    cfgf.write_text("[profile otter]\nregion = %s\n" % REGION)
    env = aws_env(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_CONFIG_FILE=cfgf, AWS_PROFILE="otter")
    agent, _ = _deliver_with_env(otterd, moto, tmp_path, env)
    stop_and_check_secrets(agent, moto.admin_secret)


def test_web_identity_rereads_the_rotating_token(otterd, moto, tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJ-first-projected-token")
    # Credentials that must be refreshed 1 s after issue (expiry 301 s, refreshed at T-5 min).
    sts = WebIdentitySts(moto, token, lifetime=301)
    try:
        env = aws_env(AWS_ROLE_ARN=moto.role_arn, AWS_WEB_IDENTITY_TOKEN_FILE=token,
                      AWS_REGION=REGION, AWS_ENDPOINT_URL_STS=sts.url)
        agent, _ = _deliver_with_env(otterd, moto, tmp_path / "a", env)
        token.write_text("eyJ-second-projected-token")
        time.sleep(1.5)
        sent = send_spans(agent, n_traces=2, per_trace=3)
        assert_all_delivered(sent, found_in_xray(moto, sent))
        tokens = [t for _, t in sts.calls]
        assert tokens[0] == "eyJ-first-projected-token"
        assert tokens[-1] == "eyJ-second-projected-token"
        assert all(re.match(r"^[\w+=,.@-]{2,64}$", n) for n, _ in sts.calls)
        assert sts.errors == []
        stop_and_check_secrets(agent, "eyJ-first-projected-token", "eyJ-second-projected-token")
    finally:
        sts.stop()


def test_pod_identity(otterd, moto, tmp_path):
    token = tmp_path / "eks-pod-identity-token"
    token.write_text("pod-identity-jwt")
    agent_ep = PodIdentityAgent(moto, token)
    try:
        env = aws_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=agent_ep.url + "/v1/credentials",
                      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token, AWS_REGION=REGION)
        agent, _ = _deliver_with_env(otterd, moto, tmp_path, env)
        assert agent_ep.calls >= 1 and agent_ep.errors == []
        stop_and_check_secrets(agent, "pod-identity-jwt")
    finally:
        agent_ep.stop()


def test_imds_v2(otterd, moto, tmp_path):
    imds = Imds(moto)
    try:
        env = aws_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url, AWS_REGION=REGION)
        del env["AWS_EC2_METADATA_DISABLED"]
        agent, _ = _deliver_with_env(otterd, moto, tmp_path, env)
        assert imds.calls >= 1
        stop_and_check_secrets(agent)
    finally:
        imds.stop()


def test_role_arn_assumed_on_top_of_the_chain(otterd, moto, tmp_path):
    """ADOT's role_arn: the base credentials (here the environment's) only sign STS AssumeRole;
    X-Ray sees the role's session."""
    # A user that may only assume the role: X-Ray refuses its own key (moto checks policies).
    iam = moto.client("iam")
    iam.create_user(UserName="otter-base")
    iam.put_user_policy(UserName="otter-base", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Resource": moto.role_arn}]}))
    key = iam.create_access_key(UserName="otter-base")["AccessKey"]
    base = moto.client("xray", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(Exception, match="AccessDenied"):
        base.put_trace_segments(TraceSegmentDocuments=["{}"])
    env = aws_env(AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                  AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], AWS_ENDPOINT_URL_STS=moto.endpoint)
    agent = otterd(config=xray_config(tmp_path, moto.endpoint, role_arn=moto.role_arn), env=env)
    sent = send_spans(agent, n_traces=2, per_trace=3)
    assert_all_delivered(sent, found_in_xray(moto, sent))
    stop_and_check_secrets(agent, key["SecretAccessKey"])


def test_refresh_under_load_never_uses_stale_credentials(otterd, tmp_path):
    """Pod Identity credentials that expire 302 s after issue: Otter must stop using each set
    5 minutes before expiry, i.e. 2 s after issue, while spans flow without a pause."""
    reg = KeyRegistry()
    token = tmp_path / "tok"
    token.write_text("pod-token")
    pod = PodIdentityAgent(None, token, lifetime=302, registry=reg)
    sink = XraySink(registry=reg)
    try:
        env = aws_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=pod.url + "/v1/credentials",
                      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token, AWS_REGION=REGION)
        agent = otterd(config=xray_config(tmp_path, sink.url), env=env)
        sent = {}
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            sent.update(send_spans(agent, n_traces=2, per_trace=3))
        wait_for(lambda: len(sink.accepted) >= len(sent), 15)
        assert sorted(d["id"] for d in sink.accepted) == sorted(sent)
        assert reg.late == [], "requests signed with credentials past their refresh point"
        assert pod.calls >= 2 and len(reg.used) >= 2
        assert sink.errors == [] and pod.errors == []
        stop_and_check_secrets(agent)
    finally:
        sink.stop()
        pod.stop()


# ---- faults ----------------------------------------------------------------------------------


def wait_for(cond, timeout):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def xray_sent(agent):
    return agent.metric_sum("otter_exporter_documents_sent_total", exporter="awsxray")


def xray_failed(agent):
    return agent.metric_sum("otter_exporter_documents_failed_total", exporter="awsxray")


def xray_dropped(agent):
    return agent.metric_sum("otter_exporter_dropped_total", exporter="awsxray")


@pytest.mark.parametrize("script,max_retries,lost", [
    # Each fault once, then success: retries deliver everything.
    ([("status", 429, "ThrottlingException")], 2, False),
    ([("status", 500, "InternalFailure"), ("status", 503, "ServiceUnavailableException")], 2,
     False),
    (["reset"], 2, False),
    (["hang"], 2, False),
    ([("unprocessed", 3)], 2, False),
    # Throttled on every attempt, no retries: the batch is lost and counted.
    ([("status", 429, "ThrottlingException")] * 3, 0, True),
    ([("status", 400, "InvalidRequestException")], 2, True),
])
def test_faults_tally_is_exact(otterd, tmp_path, script, max_retries, lost):
    sink = XraySink("AKIDFAULTS", "fault-secret", script=script)
    try:
        env = aws_env(AWS_ACCESS_KEY_ID="AKIDFAULTS", AWS_SECRET_ACCESS_KEY="fault-secret")
        cfg = xray_config(tmp_path, sink.url, max_retries=max_retries,
                          request_timeout_seconds=1)
        cfg["processors"]["batch"]["send_batch_size"] = 1000
        cfg["processors"]["batch"]["timeout"] = "300ms"
        agent = otterd(config=cfg, env=env)
        sent = send_spans(agent, n_traces=3, per_trace=4)
        n = len(sent)
        assert wait_for(lambda: xray_sent(agent) + xray_failed(agent) + xray_dropped(agent) >= n,
                        20)
        accepted = [d["id"] for d in sink.accepted]
        assert len(accepted) == len(set(accepted)), "a span was delivered twice"
        assert set(accepted) <= set(sent)
        assert xray_sent(agent) == len(accepted)
        assert len(accepted) + xray_failed(agent) + xray_dropped(agent) == n
        if lost:
            assert len(accepted) < n
        else:
            assert len(accepted) == n
        assert sink.errors == []
        agent.stop()
    finally:
        sink.stop()


# ---- X-Ray daemon traffic: UDP in, PutTraceSegments out ----------------------------------------


def test_daemon_datagrams_reach_moto(otterd, moto, tmp_path):
    """An X-Ray SDK's segments sent to otterd's awsxray receiver (UDP, the daemon's format) are
    forwarded unchanged through the awsxray exporter; malformed ones are counted, not sent."""
    import json
    import socket

    cfg = {
        "receivers": {"awsxray": {"endpoint": "127.0.0.1:0", "transport": "udp"}},
        "exporters": {"awsxray": {"region": REGION, "endpoint": moto.endpoint}},
        "service": {"telemetry": {"metrics": {"address": "127.0.0.1:0"}},
                    "pipelines": {"traces": {"receivers": ["awsxray"],
                                             "exporters": ["awsxray"]}}},
    }
    env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY=moto.admin_secret)
    agent = otterd(config=cfg, env=env, expect=["awsxray udp", "admin http"])
    now = time.time()
    tid = "1-%08x-%024x" % (int(now), random.getrandbits(96))
    docs = [{"name": "checkout", "id": "%016x" % (0xabc0 + i), "trace_id": tid,
             "start_time": now - 1, "end_time": now, "annotations": {"i": i}} for i in range(5)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        addr = ("127.0.0.1", agent.port("awsxray udp"))
        for d in docs:
            s.sendto(b'{"format": "json", "version": 1}\n' + json.dumps(d).encode(), addr)
        s.sendto(b'{"format": "json", "version": 1}\n{"name": "no-ids"}', addr)
    sent = {d["id"]: (tid, "checkout") for d in docs}
    got = found_in_xray(moto, sent)
    assert_all_delivered(sent, got)
    assert sorted(got[i]["annotations"]["i"] for i in sent) == [0, 1, 2, 3, 4]
    assert wait_for(lambda: xray_sent(agent) == 5, 5)
    assert agent.metric_sum("otter_receiver_requests_total", receiver="awsxray",
                            outcome="invalid") == 1
    stop_and_check_secrets(agent, moto.admin_secret)


def test_proxy_address(otterd, moto, tmp_path):
    """ADOT's proxy_address: every AWS call goes through the proxy."""
    from aws_peers import ForwardProxy

    proxy = ForwardProxy()
    try:
        env = aws_env(AWS_ACCESS_KEY_ID=moto.admin_key, AWS_SECRET_ACCESS_KEY=moto.admin_secret)
        agent = otterd(config=xray_config(tmp_path, moto.endpoint, proxy_address=proxy.url),
                       env=env)
        sent = send_spans(agent, n_traces=2, per_trace=3)
        assert_all_delivered(sent, found_in_xray(moto, sent))
        assert proxy.targets and all(t.endswith("/TraceSegments") for t in proxy.targets)
        assert proxy.errors == []
        stop_and_check_secrets(agent, moto.admin_secret)
    finally:
        proxy.stop()
