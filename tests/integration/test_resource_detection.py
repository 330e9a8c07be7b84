# SPDX-License-Identifier: Apache-2.0
"""The resource_detection processor's system and ec2 detectors, seen from outside.

ec2 talks to aws_peers.Imds (IMDSv2: every GET needs the session token from PUT
/latest/api/token, as the real service); system is checked against what Python reads of this
machine itself (socket.gethostname, /etc/machine-id, platform.machine).
"""

import os
import platform
import socket
import time

import pytest

import raw_clients as rc
from aws_peers import REGION, Imds, aws_env, free_port
from conftest import make_config, scaled

# The semantic conventions' host.arch for uname's machine (independent of otterd's table).
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "x86", "ppc64le": "ppc64",
        "s390x": "s390x"}


def _agent(otterd, tmp_path, name, rd, env):
    cfg = make_config(tmp_path / name / "out")
    cfg["processors"]["resource_detection"] = rd
    cfg["service"]["pipelines"]["traces"]["processors"] = ["resource_detection", "batch"]
    return otterd(config=cfg, name=name, env=env)


def _resource_of_one_span(agent):
    req, _ = rc.small_request("traces", "rd")
    del req.resource_spans[0].resource.attributes[:]
    req.resource_spans[0].resource.attributes.add(key="service.name").value.string_value = "svc"
    st, _, body = rc.post(agent.http_port, "traces", req.SerializeToString())
    assert st == 200, body
    agent.stop()
    reqs = agent.read("traces")
    return {kv.key: kv.value.string_value for r in reqs for rs in r.resource_spans
            for kv in rs.resource.attributes}


def test_ec2_then_system(otterd, tmp_path):
    """ec2 first: its host.id and host.name win over system's (the first detector to set a key
    keeps it, as in the collector); system adds os.type and the host.arch it was asked for."""
    imds = Imds(None)
    try:
        env = aws_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        del env["AWS_EC2_METADATA_DISABLED"]
        agent = _agent(otterd, tmp_path, "ec2", {
            "detectors": ["ec2", "system"],
            "system": {"hostname_sources": ["os"],
                       "resource_attributes": {"host.id": {"enabled": True},
                                               "host.arch": {"enabled": True}}},
        }, env)
        got = _resource_of_one_span(agent)
    finally:
        imds.stop()
    assert imds.errors == []
    doc = Imds.IDENTITY
    assert got == {
        "service.name": "svc",
        "cloud.provider": "aws", "cloud.platform": "aws_ec2", "cloud.region": REGION,
        "cloud.account.id": doc["accountId"],
        "cloud.availability_zone": doc["availabilityZone"],
        "host.id": doc["instanceId"], "host.image.id": doc["imageId"],
        "host.type": doc["instanceType"], "host.name": Imds.HOSTNAME,
        "os.type": "linux",
        "host.arch": ARCH.get(platform.machine(), platform.machine()),
    }


def test_ec2_attributes_can_be_disabled(otterd, tmp_path):
    imds = Imds(None)
    try:
        env = aws_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        del env["AWS_EC2_METADATA_DISABLED"]
        agent = _agent(otterd, tmp_path, "ec2off", {
            "detectors": ["ec2"],
            "ec2": {"resource_attributes": {"host.name": {"enabled": False},
                                            "cloud.account.id": {"enabled": False}}},
        }, env)
        got = _resource_of_one_span(agent)
    finally:
        imds.stop()
    assert "host.name" not in got and "cloud.account.id" not in got
    assert got["host.id"] == Imds.IDENTITY["instanceId"]


def test_system_alone(otterd, tmp_path):
    mid = None
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        if os.path.exists(p) and open(p).read().strip():
            mid = open(p).read().strip()
            break
    if mid is None:
        pytest.skip("this machine has no machine id")
    agent = _agent(otterd, tmp_path, "sys", {
        "detectors": ["system"],
        "system": {"hostname_sources": ["os"],
                   "resource_attributes": {"host.id": {"enabled": True},
                                           "os.type": {"enabled": False}}},
    }, aws_env())
    got = _resource_of_one_span(agent)
    assert got == {"service.name": "svc", "host.name": socket.gethostname(), "host.id": mid}


def test_ec2_off_ec2_detects_nothing_within_the_timeout(otterd, tmp_path):
    """No IMDS (a closed port): otterd starts, adds nothing, and says why."""
    env = aws_env(AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:%d" % free_port())
    del env["AWS_EC2_METADATA_DISABLED"]
    t0 = time.monotonic()
    agent = _agent(otterd, tmp_path, "noimds", {"detectors": ["ec2"], "timeout": "2s"}, env)
    assert time.monotonic() - t0 < scaled(10)
    got = _resource_of_one_span(agent)
    assert got == {"service.name": "svc"}
    assert "not on EC2" in agent.stderr()
