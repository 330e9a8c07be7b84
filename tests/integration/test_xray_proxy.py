# SPDX-License-Identifier: Apache-2.0
"""The awsxray receiver's proxy_server: the X-Ray SDKs' sampling calls, relayed signed.

The client is botocore's X-Ray client sending unsigned requests to otterd's TCP port, which is
exactly what the X-Ray SDKs' sampling pollers do (aws-xray-sdk builds that very client); X-Ray
is aws_peers.XraySampling, which checks each relayed call's SigV4 and validates its body
against botocore's model of the operation.
"""

import datetime
import http.client
import json
import socket
import subprocess

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from aws_peers import REGION, XraySampling, aws_env, botocore, free_port
from conftest import scaled, to_yaml

KEY, SECRET, TOKEN = "AKIDPROXYTEST0000000", "proxy-secret", "proxy-session-token"


def _config(out_dir, aws_endpoint, **proxy):
    return {
        "receivers": {"awsxray": {"endpoint": "127.0.0.1:0", "proxy_server": dict(
            {"endpoint": "127.0.0.1:0", "region": REGION, "aws_endpoint": aws_endpoint},
            **proxy)}},
        "exporters": {"file/xray": {"path": str(out_dir / "xray.jsonl")}},
        "service": {"telemetry": {"metrics": {"address": "127.0.0.1:0"}},
                    "pipelines": {"traces": {"receivers": ["awsxray"],
                                             "exporters": ["file/xray"]}}},
    }


def _sdk_client(port):
    """The client the X-Ray SDKs' sampling pollers make: unsigned, to the daemon's TCP port."""
    return botocore.session.get_session().create_client(
        "xray", region_name=REGION, endpoint_url="http://127.0.0.1:%d" % port,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1,
                                                           "mode": "standard"}))


@pytest.fixture
def proxied(otterd, tmp_path):
    xray = XraySampling(KEY, SECRET, TOKEN)
    out = tmp_path / "px" / "out"
    out.mkdir(parents=True)
    agent = otterd(config=_config(out, xray.url), name="px",
                   env=aws_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                               AWS_SESSION_TOKEN=TOKEN),
                   expect=["awsxray udp", "awsxray tcp", "admin http"])
    yield agent, xray
    xray.stop()
    assert xray.errors == [], xray.errors


def test_sampling_rules_and_targets_are_relayed_signed(proxied):
    agent, xray = proxied
    client = _sdk_client(agent.port("awsxray tcp"))
    rules = client.get_sampling_rules()["SamplingRuleRecords"]
    assert [r["SamplingRule"]["RuleName"] for r in rules] == ["checkout"]
    assert rules[0]["SamplingRule"]["FixedRate"] == 0.25
    assert rules[0]["SamplingRule"]["URLPath"] == "/api/*"
    now = datetime.datetime.now(datetime.timezone.utc)
    targets = client.get_sampling_targets(SamplingStatisticsDocuments=[{
        "RuleName": "checkout", "ClientID": "0123456789abcdef01234567", "Timestamp": now,
        "RequestCount": 10, "SampledCount": 3, "BorrowCount": 1}])
    assert [(t["RuleName"], t["FixedRate"], t["ReservoirQuota"])
            for t in targets["SamplingTargetDocuments"]] == [("checkout", 0.5, 2)]
    paths = [p for p, _ in xray.calls]
    assert paths == ["/GetSamplingRules", "/SamplingTargets"]
    assert agent.metric_sum("otter_receiver_proxy_calls_total", outcome="relayed") == 2
    assert agent.metric_sum("otter_receiver_proxy_calls_total", outcome="failed") == 0
    assert xray.calls[1][1]["SamplingStatisticsDocuments"][0]["RequestCount"] == 10


def test_an_xray_error_comes_back_as_xray_said_it(proxied):
    agent, xray = proxied
    client = _sdk_client(agent.port("awsxray tcp"))
    with pytest.raises(ClientError) as e:
        client.get_sampling_targets(SamplingStatisticsDocuments=[{
            "RuleName": "reject", "ClientID": "0123456789abcdef01234567",
            "Timestamp": datetime.datetime.now(datetime.timezone.utc),
            "RequestCount": 1, "SampledCount": 1}])
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Code"] == "InvalidRequestException"
    assert err["ResponseMetadata"]["RequestId"] == "req-reject"


def _post(port, path, body=b"{}"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(20))
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_xray_unreachable_is_a_502_saying_why(otterd, tmp_path):
    out = tmp_path / "down" / "out"
    out.mkdir(parents=True)
    agent = otterd(config=_config(out, "http://127.0.0.1:%d" % free_port()), name="down",
                   env=aws_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET),
                   expect=["awsxray udp", "awsxray tcp", "admin http"])
    st, body = _post(agent.port("awsxray tcp"), "/GetSamplingRules")
    assert st == 502
    assert "X-Ray could not be reached" in json.loads(body)["message"]
    assert SECRET not in body.decode()
    # The proxy keeps serving.
    st, _ = _post(agent.port("awsxray tcp"), "/GetSamplingRules")
    assert st == 502
    assert agent.metric_sum("otter_receiver_proxy_calls_total", outcome="failed") == 2
    assert agent.metric_sum("otter_receiver_proxy_calls_total", outcome="relayed") == 0


def test_a_written_endpoint_that_cannot_be_bound_stops_otterd(otterd_bin, tmp_path):
    """proxy_server written in the config: a port in use is an error naming it (unwritten, the
    default localhost:2000 being taken is only a warning)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        cfg = _config(tmp_path, "http://127.0.0.1:1", endpoint="127.0.0.1:%d" % port)
        path = tmp_path / "taken.yaml"
        path.write_text(to_yaml(cfg) + "\n")
        r = subprocess.run([str(otterd_bin), "--config", str(path)], env=aws_env(),
                           capture_output=True, text=True, timeout=scaled(30))
    finally:
        s.close()
    assert r.returncode == 1, r.stderr
    assert "awsxray: proxy_server cannot listen on 127.0.0.1:%d" % port in r.stderr


def test_callers_that_hang_up_and_calls_in_flight_at_shutdown(otterd, tmp_path):
    """X-Ray accepts the connection and never answers: a caller that hangs up withdraws its call,
    and otterd stops cleanly with another call still in flight (the stop checks exit 0 and a
    clean stderr, sanitizers included)."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)  # never accepted: connections complete, requests are never read
    out = tmp_path / "hung" / "out"
    out.mkdir(parents=True)
    try:
        agent = otterd(config=_config(out, "http://127.0.0.1:%d" % hung.getsockname()[1]),
                       name="hung", env=aws_env(AWS_ACCESS_KEY_ID=KEY,
                                                AWS_SECRET_ACCESS_KEY=SECRET),
                       expect=["awsxray udp", "awsxray tcp", "admin http"])
        port = agent.port("awsxray tcp")
        for _ in range(3):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            c.close()
        stay = socket.create_connection(("127.0.0.1", port))
        stay.sendall(b"POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        agent.stop()
        stay.close()
    finally:
        hung.close()


def test_only_the_sampling_calls_are_relayed(proxied):
    """PutTraceSegments or a rule change through the proxy would act with otterd's role."""
    agent, xray = proxied
    port = agent.port("awsxray tcp")
    for path in ("/TraceSegments", "/CreateSamplingRule", "/DeleteSamplingRule", "/"):
        st, body = _post(port, path)
        assert st == 404, (path, st)
        assert "sampling calls only" in json.loads(body)["message"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(20))
    try:
        conn.request("GET", "/GetSamplingRules")
        assert conn.getresponse().status == 405
    finally:
        conn.close()
    assert xray.calls == []
