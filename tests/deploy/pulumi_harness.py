"""Runs deploy/pulumi/__main__.py under Pulumi's mocks and records every resource it registers.

Nothing here decides what the program should create: the mocks answer the provider's lookups with
test placeholders (partition aws, region us-east-1, account 123456789012) and give each resource
the outputs AWS would (an ARN of the usual shape, ids), so policies built from those outputs can be
compared with hand-written expected strings in the tests.
"""

import json
import os
import runpy
import sys
from dataclasses import dataclass, field

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM = os.path.join(ROOT, "deploy", "pulumi")

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
AZS = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


@dataclass
class Res:
    typ: str
    name: str
    inputs: dict
    state: dict


    def policy(self, key: str = "policy") -> dict:
        return json.loads(self.inputs[key])


@dataclass
class Recorded:
    resources: list = field(default_factory=list)
    calls: list = field(default_factory=list)

    def of(self, typ: str) -> list:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> Res:
        found = [r for r in self.resources if r.typ == typ and r.name == name]
        assert len(found) == 1, f"{typ} {name}: {len(found)} found; have {[r.name for r in self.of(typ)]}"
        return found[0]

    def by_input(self, typ: str, key: str, value) -> Res:
        found = [r for r in self.of(typ) if r.inputs.get(key) == value]
        assert len(found) == 1, f"{typ} with {key}={value!r}: {len(found)} found"
        return found[0]


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's wire signature of a secret value


def unsecret(v):
    """Inputs as plain values: the provider marks some (e.g. SSM values) secret on the wire."""
    if isinstance(v, dict):
        if SECRET_SIG in v and "value" in v:
            return unsecret(v["value"])
        return {k: unsecret(x) for k, x in v.items()}
    if isinstance(v, list):
        return [unsecret(x) for x in v]
    return v


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, recorded: Recorded):
        self.recorded = recorded

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.recorded.calls.append(args.token)
        t = args.token
        if t == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}, []
        if t == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION, "endpoint": "", "description": ""}, []
        if t == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }, []
        if t == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": AZS, "zoneIds": [f"use1-az{i}" for i in range(1, 5)], "id": REGION}, []
        raise NotImplementedError(f"unexpected invoke {t}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        i = unsecret(dict(args.inputs))
        typ = args.typ
        rid = f"{typ.split(':')[-1]}/{args.name}"  # e.g. NatGateway/network-nat-0
        state = dict(i)
        name = i.get("name") or args.name
        if typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif typ == "aws:iam/policy:Policy":
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{i['url'].removeprefix('https://')}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = _arn("logs", f"log-group:{name}")
        elif typ == "aws:dynamodb/table:Table":
            state["arn"] = _arn("dynamodb", f"table/{name}")
        elif typ == "aws:ecr/repository:Repository":
            state["arn"] = _arn("ecr", f"repository/{name}")
            state["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"
        elif typ == "aws:s3/bucket:Bucket":
            bucket = i.get("bucketPrefix", "") + "abc123"
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", bucketRegionalDomainName=f"{bucket}.s3.{REGION}.amazonaws.com")
            rid = bucket
        elif typ == "aws:cloudfront/distribution:Distribution":
            rid = "E2EXAMPLE"
            state.update(arn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/{rid}", domainName="d111111abcdef8.cloudfront.net")
        elif typ == "aws:eks/cluster:Cluster":
            state.update(arn=_arn("eks", f"cluster/{name}"), identities=[{"oidcs": [{"issuer": f"https://{OIDC_ISSUER}"}]}])
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        elif typ == "aws:ec2/vpc:Vpc":
            rid = "vpc-0example"
        elif typ == "aws:sns/topic:Topic":
            state["arn"] = _arn("sns", name)
        elif typ == "aws:kms/key:Key":
            rid = "1234abcd-12ab-34cd-56ef-1234567890ab"
            state.update(arn=_arn("kms", f"key/{rid}"), keyId=rid)
        else:
            state.setdefault("arn", _arn("mock", f"{typ}/{name}"))
        self.recorded.resources.append(Res(typ, args.name, i, state))
        return rid, state


class PreviewMocks(RecordingMocks):
    """What a preview knows: the inputs, no ids and no computed outputs (ARNs, URLs, ...)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        i = unsecret(dict(args.inputs))
        self.recorded.resources.append(Res(args.typ, args.name, i, i))
        return None, i


def stack_config(env: str) -> dict:
    with open(os.path.join(PROGRAM, f"Pulumi.{env}.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)["config"]


def run(env: str, config: dict | None = None, environ: dict | None = None, preview: bool = False) -> Recorded:
    """Runs the program as stack `env` with its Pulumi.<env>.yaml (updated by `config`) and the
    OTTER_* environment variables in `environ` (all others removed)."""
    cfg = stack_config(env)
    cfg.update(config or {})
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}

    saved = {k: v for k, v in os.environ.items() if k.startswith("OTTER_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(environ or {})
    recorded = Recorded()
    try:
        pulumi_settings.ROOT.set(None)
        mocks = PreviewMocks(recorded) if preview else RecordingMocks(recorded)
        pulumi.runtime.set_mocks(mocks, project="otter", stack=env, preview=preview)
        pulumi.runtime.set_all_config(flat)
        main = os.path.join(PROGRAM, "__main__.py")
        _sync_await(run_pulumi_func(lambda: runpy.run_path(main, run_name="__main__")))
    finally:
        for k in environ or {}:
            os.environ.pop(k, None)
        os.environ.update(saved)
    return recorded
