"""Runs deploy/pulumi/__main__.py (the platform stack) and deploy/pulumi/bootstrap/__main__.py
(the bootstrap stack) under Pulumi's mocks and records every resource each registers and what
each exports.

The platform's StackReference to the bootstrap stack is answered with the exports of a real run of
the bootstrap program (run_env), so the wiring between the two stacks is what is tested; a
reference to any other stack name fails the run as Pulumi would.

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
BOOTSTRAP_PROGRAM = os.path.join(PROGRAM, "bootstrap")
ORGANIZATION = "organization"  # what a DIY backend (S3) calls every stack's organization

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
CLOUDFRONT_PREFIX_LIST = "pl-3b927c52"  # the shape of an AWS-managed list id
AZS = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
CLUSTER_SG = "sg-0cluster0example"  # the security group EKS creates for the cluster


@dataclass
class Res:
    # Only the type and the name in a repr: a failing test prints its fixtures, and the inputs
    # hold the origin secret (the SSM parameter, the distribution's origins).
    typ: str
    name: str
    inputs: dict = field(repr=False)
    state: dict = field(repr=False)
    raw: dict = field(default_factory=dict, repr=False)  # the inputs as sent, secrets still wrapped
    opts: dict = field(default_factory=dict, repr=False)  # resource options (ignore_changes, ...), see record_options


    def policy(self, key: str = "policy") -> dict:
        return json.loads(self.inputs[key])


@dataclass
class Recorded:
    resources: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)  # the stack's exports
    stack_refs: list = field(default_factory=list)  # names of the stacks it referenced

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
    def __init__(self, recorded: Recorded, stacks: dict | None = None, ssm: dict | None = None):
        self.recorded = recorded
        self.stacks = stacks or {}  # fully qualified stack name -> its outputs
        self.ssm = ssm or {}  # parameter name -> the value it holds now (put by hand since)

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
        if t == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            # Only the AWS-managed CloudFront list is looked up; anything else is a mistake.
            if args.args.get("name") != "com.amazonaws.global.cloudfront.origin-facing":
                raise ValueError(f"unexpected managed prefix list lookup {dict(args.args)!r}")
            return {
                "id": CLOUDFRONT_PREFIX_LIST,
                "arn": f"arn:aws:ec2:{REGION}:aws:prefix-list/{CLOUDFRONT_PREFIX_LIST}",
                "name": args.args["name"],
                "addressFamily": "IPv4",
                "entries": [],
                "maxEntries": 55,
                "ownerId": "AWS",
                "tags": {},
                "version": 1,
            }, []
        if t == "aws:ssm/getParameter:getParameter":
            # The program reads back only the parameters it created, with decryption: answered
            # from what it registered (as SSM would, the value stored).
            a = dict(args.args)
            if set(a) - {"name", "withDecryption"} or a.get("withDecryption") is not True:
                raise ValueError(f"unexpected getParameter arguments {sorted(a)} (withDecryption={a.get('withDecryption')!r})")
            found = [r for r in self.recorded.of("aws:ssm/parameter:Parameter") if r.inputs.get("name") == a["name"]]
            if len(found) != 1:
                raise ValueError(f"getParameter of {a['name']!r}: no such parameter was created")
            p = found[0]
            value = self.ssm.get(a["name"], p.inputs["value"])
            return {"name": a["name"], "type": p.inputs["type"], "value": value, "version": 1,
                    "arn": p.state["arn"], "id": a["name"], "insecureValue": "", "withDecryption": True}, []
        raise NotImplementedError(f"unexpected invoke {t}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        i = unsecret(dict(args.inputs))
        typ = args.typ
        if typ == "pulumi:pulumi:StackReference":
            name = i["name"]
            self.recorded.stack_refs.append(name)
            self.recorded.resources.append(Res(typ, args.name, i, i))
            if name not in self.stacks:
                raise ValueError(f"no stack named {name!r} (have {sorted(self.stacks)})")
            return name, {"name": name, "outputs": self.stacks[name], "secretOutputNames": []}
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
            state.update(arn=_arn("eks", f"cluster/{name}"), identities=[{"oidcs": [{"issuer": f"https://{OIDC_ISSUER}"}]}],
                         vpcConfig={**i.get("vpcConfig", {}), "clusterSecurityGroupId": CLUSTER_SG})
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        elif typ == "aws:ec2/vpc:Vpc":
            rid = "vpc-0example"
        elif typ == "aws:sns/topic:Topic":
            state["arn"] = _arn("sns", name)
        elif typ == "aws:ssm/parameter:Parameter":
            state.update(arn=_arn("ssm", f"parameter{name}"), version=1)
        elif typ == "aws:kms/key:Key":
            rid = "1234abcd-12ab-34cd-56ef-1234567890ab"
            state.update(arn=_arn("kms", f"key/{rid}"), keyId=rid)
        else:
            state.setdefault("arn", _arn("mock", f"{typ}/{name}"))
        self.recorded.resources.append(Res(typ, args.name, i, state, raw=dict(args.inputs)))
        return rid, state


class PreviewMocks(RecordingMocks):
    """What a preview knows: the inputs, no ids and no computed outputs (ARNs, URLs, ...); a
    referenced stack exists already, so its outputs are known."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            return super().new_resource(args)
        i = unsecret(dict(args.inputs))
        self.recorded.resources.append(Res(args.typ, args.name, i, i, raw=dict(args.inputs)))
        return None, i


def stack_config(env: str, program: str = PROGRAM) -> dict:
    with open(os.path.join(program, f"Pulumi.{env}.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)["config"]


def _run(program: str, project: str, env: str, config: dict | None, environ: dict | None, preview: bool,
         stacks: dict | None = None, ssm: dict | None = None) -> Recorded:
    cfg = stack_config(env, program)
    cfg.update(config or {})
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}

    saved = {k: v for k, v in os.environ.items() if k.startswith("OTTER_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(environ or {})
    recorded = Recorded()
    try:
        pulumi_settings.ROOT.set(None)
        mocks = PreviewMocks(recorded, stacks, ssm) if preview else RecordingMocks(recorded, stacks, ssm)
        pulumi.runtime.set_mocks(mocks, project=project, stack=env, preview=preview, organization=ORGANIZATION)
        pulumi.runtime.set_all_config(flat)
        main = os.path.join(program, "__main__.py")
        options = {}

        def record_options(a):
            # Resource options never reach the mocks: a stack transformation (it changes nothing)
            # records those the tests check, by type and name.
            options[(a.type_, a.name)] = {
                "ignore_changes": list(a.opts.ignore_changes or []),
                "additional_secret_outputs": list(a.opts.additional_secret_outputs or []),
            }
            return None

        def program():
            pulumi.runtime.register_stack_transformation(record_options)
            runpy.run_path(main, run_name="__main__")

        _sync_await(run_pulumi_func(program))
        for r in recorded.resources:
            r.opts = options.get((r.typ, r.name), {})
        # The mocks' root stack registers its outputs before the program runs: read the exports
        # from it (an unknown value under preview reads as None).
        exports = pulumi_settings.get_root_resource().outputs
        recorded.outputs = _sync_await(pulumi.Output.from_input(dict(exports)).future()) or {}
    finally:
        for k in environ or {}:
            os.environ.pop(k, None)
        os.environ.update(saved)
    return recorded


def failure_of(env: str, config: dict | None = None, environ: dict | None = None, stacks: dict | None = None,
               ssm: dict | None = None) -> str:
    """Runs the platform program in a fresh interpreter and returns its error (the chain of
    messages); fails when the program succeeds. A run that fails halfway leaves Pulumi's runtime
    with queued work that would run into the next program's mocks, hence the separate process."""
    import subprocess
    import sys

    code = (
        "import json, sys, traceback; sys.path.insert(0, sys.argv[1]); import pulumi_harness as h\n"
        "a = json.loads(sys.argv[2])\n"
        "try:\n    h.run(a['env'], config=a['config'], environ=a['environ'], stacks=a['stacks'], ssm=a['ssm'])\n"
        "except Exception as e:\n    print(''.join(traceback.format_exception_only(e))); sys.exit(3)\n"
    )
    args = {"env": env, "config": config, "environ": environ, "stacks": stacks, "ssm": ssm}
    p = subprocess.run([sys.executable, "-c", code, os.path.dirname(os.path.abspath(__file__)), json.dumps(args)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 3, f"the program did not fail (rc {p.returncode}): {p.stderr[-2000:]}"
    return p.stdout


def bootstrap_stack_name(env: str) -> str:
    """The default name of the bootstrap stack the platform references (written out here)."""
    return f"{ORGANIZATION}/otter-bootstrap/{env}"


def run_bootstrap(env: str, config: dict | None = None, environ: dict | None = None, preview: bool = False) -> Recorded:
    """Runs the bootstrap program as stack `env` of project otter-bootstrap."""
    return _run(BOOTSTRAP_PROGRAM, "otter-bootstrap", env, config, environ, preview)


def run(env: str, config: dict | None = None, environ: dict | None = None, preview: bool = False,
        stacks: dict | None = None, ssm: dict | None = None) -> Recorded:
    """Runs the platform program as stack `env` with its Pulumi.<env>.yaml (updated by `config`)
    and the OTTER_* environment variables in `environ` (all others removed). `stacks`: the stacks
    its StackReferences may read (name -> outputs); by default the bootstrap stack of `env` as a
    full run of the bootstrap program with the same `environ` exports it. `ssm`: values SSM
    parameters hold now, as put by hand after the stack made them (name -> value)."""
    if stacks is None:
        stacks = {bootstrap_stack_name(env): run_bootstrap(env, environ=environ).outputs}
    return _run(PROGRAM, "otter", env, config, environ, preview, stacks, ssm)


@dataclass
class Env(Recorded):
    """One environment: the bootstrap stack's and the platform stack's resources together."""

    bootstrap: Recorded | None = None
    platform: Recorded | None = None


def run_env(env: str, config: dict | None = None, environ: dict | None = None, preview: bool = False) -> Env:
    """Both stacks of an environment, in their order: the bootstrap program, then the platform
    program reading the bootstrap's exports (under preview, the bootstrap stack is previewed and
    the platform reads the outputs of an applied bootstrap stack, as it would)."""
    boot = run_bootstrap(env, environ=environ, preview=preview)
    outputs = boot.outputs if not preview else run_bootstrap(env, environ=environ).outputs
    plat = run(env, config=config, environ=environ, preview=preview, stacks={bootstrap_stack_name(env): outputs})
    return Env(resources=boot.resources + plat.resources, calls=boot.calls + plat.calls, outputs=plat.outputs,
               stack_refs=plat.stack_refs, bootstrap=boot, platform=plat)
