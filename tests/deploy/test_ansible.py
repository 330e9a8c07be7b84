"""deploy/ansible: lint, syntax, and the lifecycle order with fake pulumi/kubectl/helm/aws.

The fakes (fakes/fake_cli.py) record every call and answer from a scenario, so each test states
what the tools answer and asserts what the playbooks asked, in which order, and where they stop.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pytest

import pulumi_harness as h

ANSIBLE_DIR = os.path.join(h.ROOT, "deploy", "ansible")
PLAYBOOKS = ["bootstrap.yml", "up.yml", "deliver.yml", "deploy.yml", "destroy.yml", "verify_clean.yml", "destroy_bootstrap.yml"]
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakes", "fake_cli.py")
BIN = os.path.dirname(sys.executable)

OUTPUTS = {
    # What render_gitops.py needs (AWS's documentation account; a host of the .test TLD).
    "accountId": "123456789012",
    "region": "us-east-1",
    "publicHost": "chat.dev.otter.test",
    "gitRepositoryUrl": "https://github.com/acme/otter.git",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "albSecurityGroupId": "sg-0123456789abcdef0",
    "otterdRoleArn": "arn:aws:iam::123456789012:role/otter-dev-otterd",
    "clusterName": "otter-dev",
    "vpcId": "vpc-0example",
    "loadBalancerControllerRoleArn": "arn:aws:iam::123456789012:role/otter-dev-aws-load-balancer-controller",
    "webBucket": "otter-dev-web-abc123",
    "distributionId": "E2EXAMPLE",
}
# The two Pulumi projects, as the playbooks pass them (--cwd): the platform and the bootstrap.
PLATFORM_DIR = os.path.join(os.path.realpath(h.ROOT), "deploy", "pulumi")
BOOTSTRAP_DIR = os.path.join(PLATFORM_DIR, "bootstrap")
BOOTSTRAP_OUTPUTS = {
    "environment": "dev",
    "accountId": "123456789012",
    "workloadBoundaryArn": "arn:aws:iam::123456789012:policy/otter-dev-workload-boundary",
    "ciOpsRoleArn": "arn:aws:iam::123456789012:role/otter-dev-github-ops",
    "ciDeliveryRoleArn": "arn:aws:iam::123456789012:role/otter-dev-github-delivery",
}
NO_STACK = "error: no stack named 'dev' found\n"
VERSIONS = [
    {"tool": "pulumi", "match": ["version"], "stdout": "v3.272.0\n"},
    {"tool": "kubectl", "match": ["version"], "stdout": json.dumps({"clientVersion": {"gitVersion": "v1.33.5"}})},
    {"tool": "helm", "match": ["version"], "stdout": "v3.19.0+g3d8990f\n"},
    {"tool": "aws", "match": ["--version"], "stdout": "aws-cli/2.31.19 Python/3.13.7 Linux/6.1 exe/x86_64\n"},
]
BASE_RULES = VERSIONS + [
    {"tool": "aws", "match": ["sts", "get-caller-identity"],
     "stdout": json.dumps({"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/admin/alice"})},
    {"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": json.dumps(OUTPUTS)},
    {"tool": "aws", "match": ["eks", "describe-cluster"], "stdout": "ACTIVE\n"},
    {"tool": "kubectl", "match": ["get", "nodes"], "stdout": "True\nTrue\n"},
    {"tool": "aws", "match": ["cloudfront", "create-invalidation"], "stdout": "I2EXAMPLE\n"},
    {"tool": "aws", "match": ["cloudfront", "get-invalidation"], "stdout": "Completed\n"},
]


def tool_path(name):
    return shutil.which(name, path=BIN)


def lint_env():
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = os.path.join(ANSIBLE_DIR, "ansible.cfg")
    return env


def test_ansible_lint_production_profile_offline():
    p = subprocess.run(
        [tool_path("ansible-lint"), "--offline", "--profile", "production", "--nocolor", "."],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=300, env=lint_env(),
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Profile 'production' was required, and it passed" in p.stdout + p.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook):
    p = subprocess.run(
        [tool_path("ansible-playbook"), "--syntax-check", playbook],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=120, env=lint_env(),
    )
    assert p.returncode == 0, p.stdout + p.stderr


class Run:
    def __init__(self, rc, calls, out):
        self.rc, self.calls, self.out = rc, calls, out

    def cmds(self, tool=None):
        """Each call as 'tool arg1 arg2 ...' (the first few words), in order."""
        return [c for c in self.calls if tool is None or c["tool"] == tool]

    def index(self, tool, *tokens):
        for i, c in enumerate(self.calls):
            if c["tool"] == tool and all(t in c["argv"] for t in tokens):
                return i
        return None

    def count(self, tool, *tokens):
        return sum(1 for c in self.calls if c["tool"] == tool and all(t in c["argv"] for t in tokens))


@pytest.fixture(scope="module")
def cloudfront(moto):
    """verify-clean lists response headers policies, which moto lacks: the proxy answers them."""
    from fakes.cloudfront_rhp import CloudFrontProxy

    proxy = CloudFrontProxy(moto)
    yield proxy
    proxy.close()


@pytest.fixture
def lifecycle(tmp_path, moto, cloudfront):
    """Returns run(playbook, rules, **extra_vars) -> Run; state (fake counters) persists across
    runs within one test, as it would across a re-run after a failure."""
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST")).read()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "calls.jsonl"
    scenario = tmp_path / "scenario.json"
    state = tmp_path / "state.json"

    def run(playbook, rules=(), real=(), bootstrap=BOOTSTRAP_OUTPUTS, **extra):
        """`real`: tools taken from the virtualenv instead of the fakes (e.g. the AWS CLI);
        `bootstrap`: the bootstrap stack's outputs (None: no such stack)."""
        for tool in ("pulumi", "kubectl", "helm", "aws"):
            w = bindir / tool
            if tool in real:
                w.unlink(missing_ok=True)
            else:
                w.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {tool} "$@"\n')
                w.chmod(0o755)
        boot = ({"tool": "pulumi", "match": ["stack", "output", "--json", "--cwd", BOOTSTRAP_DIR], "stdout": json.dumps(bootstrap)}
                if bootstrap is not None else
                {"tool": "pulumi", "match": ["stack", "output", "--json", "--cwd", BOOTSTRAP_DIR], "rc": 255, "stderr": NO_STACK})
        scenario.write_text(json.dumps({"rules": [boot] + list(rules) + BASE_RULES}))
        if log.exists():
            log.unlink()
        env = {
            "PATH": f"{bindir}{os.pathsep}{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(home),
            "ANSIBLE_CONFIG": os.path.join(ANSIBLE_DIR, "ansible.cfg"),
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "FAKE_CALL_LOG": str(log),
            "FAKE_SCENARIO": str(scenario),
            "FAKE_STATE": str(state),
            # verify-clean's boto3 calls go to the loopback moto server.
            "AWS_ENDPOINT_URL": moto,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        if "aws" not in real:
            # verify-clean's CloudFront calls (boto3) through the proxy; the real AWS CLI of
            # `deliver` talks to moto directly.
            env["AWS_ENDPOINT_URL_CLOUDFRONT"] = cloudfront.url
        extra = {"otter_env": "dev", "otter_wait_retries": 2, "otter_wait_delay": 0, **extra}
        p = subprocess.run(
            [tool_path("ansible-playbook"), playbook, "--extra-vars", json.dumps(extra)],
            cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=180, env=env,
        )
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return Run(p.returncode, calls, p.stdout + p.stderr)

    run.home = home
    run.moto = moto
    cloudfront.policies.clear()
    return run


def order(r, *steps):
    """Asserts each (tool, tokens...) step was called, in this order."""
    idx = []
    for step in steps:
        i = r.index(step[0], *step[1:])
        assert i is not None, f"{step} never called; calls: {[c['tool'] + ' ' + ' '.join(c['argv'][:4]) for c in r.calls]}"
        idx.append(i)
    assert idx == sorted(idx), list(zip(steps, idx))


def work(r, tool):
    """The calls of a tool other than the version check (tasks/tools.yml)."""
    return [c for c in r.cmds(tool) if c["argv"][:1] != ["version"]]


def pulumi_calls(r):
    """Each pulumi call as (subcommand words, project directory, stack)."""
    out = []
    for c in r.cmds("pulumi"):
        a = c["argv"]
        if "--cwd" in a:
            words = tuple(a[: a.index("--cwd")])
            out.append((words, a[a.index("--cwd") + 1], a[a.index("--stack") + 1]))
    return out


def test_bootstrap_checks_pinned_versions_then_logs_in_and_applies_the_bootstrap_stack(lifecycle):
    r = lifecycle("bootstrap.yml")
    assert r.rc == 0, r.out
    order(r, ("pulumi", "version"), ("aws", "--version"), ("pulumi", "login"), ("aws", "sts", "get-caller-identity"),
          ("pulumi", "stack", "select", "--create", BOOTSTRAP_DIR))
    # The bootstrap stack previewed, applied and read, then the platform stack created (not applied).
    assert pulumi_calls(r) == [
        (("stack", "select", "--create"), BOOTSTRAP_DIR, "dev"),
        (("preview", "--diff"), BOOTSTRAP_DIR, "dev"),
        (("up", "--yes", "--skip-preview"), BOOTSTRAP_DIR, "dev"),
        (("stack", "output", "--json"), BOOTSTRAP_DIR, "dev"),
        (("stack", "select", "--create"), PLATFORM_DIR, "dev"),
    ]
    assert BOOTSTRAP_OUTPUTS["ciOpsRoleArn"] in r.out


def test_bootstrap_refuses_the_ops_role(lifecycle):
    ops = {"tool": "aws", "match": ["sts", "get-caller-identity"],
           "stdout": json.dumps({"Arn": "arn:aws:sts::123456789012:assumed-role/otter-dev-github-ops/otter-ops-1"})}
    r = lifecycle("bootstrap.yml", [ops])
    assert r.rc != 0
    assert "bootstrap.yml is the administrator's" in r.out
    assert pulumi_calls(r) == []


def test_bootstrap_refuses_a_tool_at_another_version(lifecycle):
    rules = [{"tool": "helm", "match": ["version"], "stdout": "v3.18.1+gabc\n"}]
    r = lifecycle("bootstrap.yml", rules)
    assert r.rc != 0
    assert r.index("pulumi", "login") is None
    assert "tools differ from the pinned versions" in r.out


@pytest.fixture
def root_app(lifecycle):
    """The rendered AppProjects + root Application up applies (beside the kubeconfig)."""
    return str(lifecycle.home / ".kube" / "otter-dev-gitops.yaml")


def test_up_runs_preview_then_up_then_the_cluster_steps_in_order(lifecycle, root_app):
    r = lifecycle("up.yml")
    assert r.rc == 0, r.out
    order(
        r,
        ("pulumi", "version"),
        ("pulumi", "login"),
        ("aws", "sts", "get-caller-identity"),
        ("pulumi", "stack", "output", "--json", BOOTSTRAP_DIR),
        ("pulumi", "stack", "select", PLATFORM_DIR, "dev"),
        ("pulumi", "preview", "--diff"),
        ("pulumi", "up", "--yes"),
        ("pulumi", "stack", "output", "--json", PLATFORM_DIR),
        ("aws", "eks", "update-kubeconfig", "otter-dev"),
        ("kubectl", "get", "nodes"),
        ("helm", "upgrade", "--install", "aws-load-balancer-controller"),
        ("helm", "upgrade", "--install", "argocd"),
        ("kubectl", "apply", root_app),
    )
    # The stacks in dependency order: the bootstrap stack only read, the platform stack applied.
    assert pulumi_calls(r) == [
        (("stack", "output", "--json"), BOOTSTRAP_DIR, "dev"),
        (("stack", "select", "--create"), PLATFORM_DIR, "dev"),
        (("preview", "--diff"), PLATFORM_DIR, "dev"),
        (("up", "--yes", "--skip-preview"), PLATFORM_DIR, "dev"),
        (("stack", "output", "--json"), PLATFORM_DIR, "dev"),
    ]
    for c in r.cmds("pulumi"):
        if "--cwd" in c["argv"]:
            assert "--non-interactive" in c["argv"]


def test_up_requires_the_bootstrap_stack(lifecycle, root_app):
    r = lifecycle("up.yml", bootstrap=None)
    assert r.rc != 0
    assert "the bootstrap stack dev (deploy/pulumi/bootstrap) is missing or incomplete" in r.out
    assert "an administrator runs bootstrap.yml first" in r.out and "no stack named 'dev' found" in r.out
    assert pulumi_calls(r) == [(("stack", "output", "--json"), BOOTSTRAP_DIR, "dev")]
    assert work(r, "kubectl") == [] and work(r, "helm") == []


@pytest.mark.parametrize("outs", [
    {k: v for k, v in BOOTSTRAP_OUTPUTS.items() if k != "workloadBoundaryArn"},  # incomplete
    {**BOOTSTRAP_OUTPUTS, "environment": "prod"},                               # another environment's
    {},                                                                        # destroyed
])
def test_up_refuses_an_incomplete_or_foreign_bootstrap_stack(lifecycle, root_app, outs):
    r = lifecycle("up.yml", bootstrap=outs)
    assert r.rc != 0
    assert "needs environment, accountId, workloadBoundaryArn for dev" in r.out
    assert r.index("pulumi", "up") is None and r.index("pulumi", "preview") is None


def test_up_writes_the_kubeconfig_outside_the_repository_and_pins_the_charts(lifecycle, root_app):
    r = lifecycle("up.yml")
    assert r.rc == 0, r.out
    kc = r.cmds("aws")[r.cmds("aws").index(next(c for c in r.cmds("aws") if "update-kubeconfig" in c["argv"]))]["argv"]
    assert kc[kc.index("--kubeconfig") + 1] == str(lifecycle.home / ".kube" / "otter-dev.yaml")
    lbc = next(c["argv"] for c in r.cmds("helm") if "aws-load-balancer-controller" in c["argv"])
    assert lbc[lbc.index("--version") + 1] == "1.14.0"
    assert "clusterName=otter-dev" in lbc and "vpcId=vpc-0example" in lbc
    assert "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=" + OUTPUTS["loadBalancerControllerRoleArn"] in lbc
    assert "enableWafv2=false" in lbc
    argocd = next(c["argv"] for c in r.cmds("helm") if "argo-cd" in c["argv"])
    assert argocd[argocd.index("--version") + 1] == "9.1.7"


def test_up_refuses_a_kubeconfig_inside_the_repository(lifecycle, root_app):
    r = lifecycle("up.yml", otter_kubeconfig=os.path.join(h.ROOT, "kubeconfig"))
    assert r.rc != 0
    assert r.index("aws", "update-kubeconfig") is None
    assert "must be outside the repository" in r.out


def test_up_waits_for_the_minimum_ready_nodes(lifecycle, root_app):
    rules = [{"tool": "kubectl", "match": ["get", "nodes"], "stdout": "True\nFalse\n", "times": 2}]
    r = lifecycle("up.yml", rules)
    assert r.rc == 0, r.out
    assert r.count("kubectl", "get", "nodes") == 3


def test_up_stops_when_the_nodes_never_become_ready(lifecycle, root_app):
    rules = [{"tool": "kubectl", "match": ["get", "nodes"], "stdout": "True\n"}]
    r = lifecycle("up.yml", rules)
    assert r.rc != 0
    assert r.count("kubectl", "get", "nodes") == 3  # the first try and two retries
    assert work(r, "helm") == []
    assert r.index("kubectl", "apply") is None


def rendered_docs(path):
    import yaml

    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def test_up_renders_the_gitops_values_after_the_outputs_and_applies_them_last(lifecycle, root_app):
    r = lifecycle("up.yml")
    assert r.rc == 0, r.out
    # Rendered once the outputs exist and before anything touches the cluster: the step sits
    # between `stack output` and `update-kubeconfig`, and its file is what the last apply reads.
    assert "TASK [Render the root Application with the platform's values]" in r.out
    out_at = r.out.index("TASK [Read the stack outputs]")
    render_at = r.out.index("TASK [Render the root Application with the platform's values]")
    kubeconfig_at = r.out.index("TASK [Write the kubeconfig for the cluster]")
    assert out_at < render_at < kubeconfig_at
    applies = [c["argv"] for c in r.cmds("kubectl") if c["argv"][:1] == ["apply"]]
    assert applies == [["apply", "--filename", root_app]]
    assert r.calls[-1] == {"tool": "kubectl", "argv": ["apply", "--filename", root_app]}
    objs = rendered_docs(root_app)
    # The projects before the root (which belongs to the bootstrap project).
    assert [d["kind"] for d in objs] == ["AppProject"] * 3 + ["Application"]
    root = objs[-1]
    assert root["metadata"]["name"] == "root"
    assert root["spec"]["source"]["repoURL"] == OUTPUTS["gitRepositoryUrl"]
    patches = json.dumps(root["spec"]["source"]["kustomize"]["patches"])
    assert "arn:aws:iam::123456789012:role/otter-dev-external-secrets" in patches
    assert "123456789012.dkr.ecr.us-east-1.amazonaws.com/otter/dev/chatbot" in patches
    assert OUTPUTS["certificateArn"] in patches and "chat.dev.otter.test" in patches
    assert os.stat(root_app).st_mode & 0o077 == 0, "the rendered file holds the account id: owner only"


@pytest.mark.parametrize("key", ["accountId", "publicHost", "certificateArn", "gitRepositoryUrl"])
def test_up_stops_with_a_clear_message_when_an_output_is_missing(lifecycle, root_app, key):
    outs = {k: v for k, v in OUTPUTS.items() if k != key}
    rules = [{"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": json.dumps(outs)}]
    r = lifecycle("up.yml", rules)
    assert r.rc != 0
    assert f"k8s/ cannot be rendered for dev: render_gitops: refused: stack output '{key}'" in r.out, r.out
    assert r.index("pulumi", "stack", "output") is not None
    assert r.index("aws", "update-kubeconfig") is None
    assert work(r, "helm") == [] and work(r, "kubectl") == []
    assert not os.path.exists(root_app)


def test_up_stops_on_a_malformed_output(lifecycle, root_app):
    rules = [{"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": json.dumps({**OUTPUTS, "region": "mars-1"})}]
    r = lifecycle("up.yml", rules)
    assert r.rc != 0
    assert "stack output 'region': expected an AWS region" in r.out
    assert work(r, "helm") == [] and work(r, "kubectl") == []


def test_deploy_of_prod_passes_the_release_digests_to_the_root(lifecycle):
    digest = "sha256:" + "ab" * 32
    prod = {**OUTPUTS, "otterdRoleArn": "arn:aws:iam::123456789012:role/otter-prod-otterd", "clusterName": "otter-prod"}
    rules = [
        {"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": json.dumps(prod)},
        {"tool": "kubectl", "match": ["get", "applications.argoproj.io"], "stdout": "root=Synced/Healthy\n"},
    ]
    r = lifecycle("deploy.yml", rules, otter_env="prod", otter_image_digests={"chatbot": digest, "otterd": digest})
    assert r.rc == 0, r.out
    gitops = str(lifecycle.home / ".kube" / "otter-prod-gitops.yaml")
    order(r, ("pulumi", "stack", "output", "--json"), ("kubectl", "apply", "--filename", gitops),
          ("kubectl", "annotate", "root", "argocd.argoproj.io/refresh=hard"))
    patches = json.dumps(rendered_docs(gitops)[-1]["spec"]["source"]["kustomize"]["patches"])
    assert f"123456789012.dkr.ecr.us-east-1.amazonaws.com/otter/prod/chatbot@{digest}" in patches


def test_deploy_of_prod_without_digests_stops_before_the_cluster(lifecycle):
    prod = {**OUTPUTS, "otterdRoleArn": "arn:aws:iam::123456789012:role/otter-prod-otterd", "clusterName": "otter-prod"}
    rules = [{"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": json.dumps(prod)}]
    r = lifecycle("deploy.yml", rules, otter_env="prod")
    assert r.rc != 0
    assert "prod runs digest-pinned images only" in r.out
    assert work(r, "kubectl") == []


def test_deliver_syncs_with_deletion_then_invalidates_and_waits(lifecycle):
    r = lifecycle("deliver.yml")
    assert r.rc == 0, r.out
    order(
        r,
        ("pulumi", "stack", "output"),
        ("aws", "s3", "sync", "s3://otter-dev-web-abc123/", "--delete"),
        ("aws", "cloudfront", "create-invalidation", "E2EXAMPLE", "/*"),
        ("aws", "cloudfront", "get-invalidation", "E2EXAMPLE", "I2EXAMPLE"),
    )


def test_deliver_fails_when_the_invalidation_never_completes(lifecycle):
    rules = [{"tool": "aws", "match": ["cloudfront", "get-invalidation"], "stdout": "InProgress\n"}]
    r = lifecycle("deliver.yml", rules)
    assert r.rc != 0
    assert r.count("aws", "get-invalidation") == 3


def test_deliver_against_moto_deletes_stale_files_and_invalidates(lifecycle, tmp_path):
    """The real AWS CLI (v1, from PyPI) against moto: what `deliver` leaves in the bucket."""
    import boto3

    def client(svc):
        return boto3.client(svc, region_name="us-east-1", endpoint_url=lifecycle.moto,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    s3, cf = client("s3"), client("cloudfront")
    s3.create_bucket(Bucket="otter-dev-web-abc123")
    s3.put_object(Bucket="otter-dev-web-abc123", Key="stale.js", Body=b"old")
    s3.put_object(Bucket="otter-dev-web-abc123", Key="index.html", Body=b"old")
    dist = cf.create_distribution(
        DistributionConfig={
            "CallerReference": "deliver", "Comment": "otter-dev web files", "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "web-bucket", "DomainName": "otter-dev-web-abc123.s3.us-east-1.amazonaws.com",
                                                   "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "web-bucket", "ViewerProtocolPolicy": "redirect-to-https", "MinTTL": 0,
                                     "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                     "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        }
    )["Distribution"]["Id"]
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Otter</title>")
    (web / "assets" / "app.js").write_text("console.log('otter')")
    outputs = dict(OUTPUTS, distributionId=dist)
    rules = [{"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": json.dumps(outputs)}]
    r = lifecycle("deliver.yml", rules, real=("aws",), otter_web_dir=str(web))
    assert r.rc == 0, r.out
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="otter-dev-web-abc123")["Contents"]}
    assert keys == {"index.html", "assets/app.js"}
    head = s3.head_object(Bucket="otter-dev-web-abc123", Key="index.html")
    assert head["CacheControl"] == "public, max-age=300"
    assert s3.get_object(Bucket="otter-dev-web-abc123", Key="index.html")["Body"].read() == b"<!doctype html><title>Otter</title>"
    invalidations = cf.list_invalidations(DistributionId=dist)["InvalidationList"]
    assert invalidations["Quantity"] == 1


def test_deploy_refreshes_the_root_app_and_waits_for_every_app(lifecycle):
    rules = [
        {"tool": "kubectl", "match": ["get", "applications.argoproj.io"], "stdout": "root=Synced/Progressing\n", "times": 1},
        {"tool": "kubectl", "match": ["get", "applications.argoproj.io"], "stdout": "root=Synced/Healthy\nchatbot=Synced/Healthy\n"},
    ]
    r = lifecycle("deploy.yml", rules)
    assert r.rc == 0, r.out
    order(r, ("kubectl", "annotate", "root", "argocd.argoproj.io/refresh=hard"), ("kubectl", "get", "applications.argoproj.io"))
    assert r.count("kubectl", "get", "applications.argoproj.io") == 2


DESTROY_ORDER = (
    ("pulumi", "stack", "select", "dev"),
    ("pulumi", "stack", "output"),
    ("aws", "eks", "describe-cluster", "otter-dev"),
    ("aws", "eks", "update-kubeconfig"),
    ("kubectl", "delete", "applications.argoproj.io", "root", "--wait=true"),
    ("kubectl", "delete", "applications.argoproj.io", "--all"),
    ("kubectl", "get", "services"),
    ("kubectl", "get", "ingresses"),
    ("helm", "uninstall", "argocd"),
    ("helm", "uninstall", "aws-load-balancer-controller"),
    ("pulumi", "destroy", "--yes"),
    ("aws", "logs", "delete-log-group", "/aws/eks/otter-dev/cluster"),
)


def test_destroy_needs_the_environment_named_as_confirmation(lifecycle):
    for confirm in ({}, {"otter_confirm_destroy": True}, {"otter_confirm_destroy": "prod"}):
        r = lifecycle("destroy.yml", **confirm)
        assert r.rc != 0
        assert r.calls == []


def seed_bootstrap_roles(moto):
    """The bootstrap stack's CI roles in moto, as an administrator's bootstrap.yml left them."""
    import boto3

    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=moto, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    for kind in ("ops", "delivery"):
        iam.create_role(RoleName=f"otter-dev-github-{kind}", AssumeRolePolicyDocument="{}")


def test_destroy_runs_in_the_documented_order_and_verifies_the_account(lifecycle):
    seed_bootstrap_roles(lifecycle.moto)
    r = lifecycle("destroy.yml", otter_confirm_destroy="dev")
    assert r.rc == 0, r.out
    order(r, *DESTROY_ORDER)
    # The platform stack only: the bootstrap stack is neither read nor destroyed, and what it
    # holds is reported as kept, not as residues.
    assert {(d, st) for _, d, st in pulumi_calls(r)} == {(PLATFORM_DIR, "dev")}
    assert [w for w, d, _ in pulumi_calls(r) if w[0] == "destroy"] == [("destroy", "--yes", "--skip-preview")]
    assert "otter-dev left nothing behind (kept: bootstrap, 2 resource(s) of the bootstrap stack)" in r.out
    assert "KEPT bootstrap iam-role otter-dev-github-ops (name)" in r.out


def test_destroy_bootstrap_needs_its_own_confirmation(lifecycle):
    for confirm in ({}, {"otter_confirm_destroy": "dev"}, {"otter_confirm_destroy_bootstrap": "prod"}):
        r = lifecycle("destroy_bootstrap.yml", **confirm)
        assert r.rc != 0
        assert r.calls == []


def test_destroy_bootstrap_refuses_while_the_platform_stack_has_resources(lifecycle):
    r = lifecycle("destroy_bootstrap.yml", otter_confirm_destroy_bootstrap="dev")
    assert r.rc != 0
    assert "the platform stack dev still has resources" in r.out and "run destroy.yml first" in r.out
    assert pulumi_calls(r) == [(("stack", "output", "--json"), PLATFORM_DIR, "dev")]


@pytest.mark.parametrize("platform", [
    {"tool": "pulumi", "match": ["stack", "output", "--json", "--cwd", PLATFORM_DIR], "stdout": "{}\n"},
    {"tool": "pulumi", "match": ["stack", "output", "--json", "--cwd", PLATFORM_DIR], "rc": 255, "stderr": NO_STACK},
], ids=["destroyed", "removed"])
def test_destroy_bootstrap_after_the_platform_destroys_it_and_counts_what_is_left(lifecycle, platform):
    r = lifecycle("destroy_bootstrap.yml", [platform], otter_confirm_destroy_bootstrap="dev")
    assert r.rc == 0, r.out
    assert pulumi_calls(r) == [
        (("stack", "output", "--json"), PLATFORM_DIR, "dev"),
        (("destroy", "--yes", "--skip-preview"), BOOTSTRAP_DIR, "dev"),
    ]
    assert "otter-dev left nothing behind" in r.out and "kept: bootstrap" not in r.out
    # A bootstrap role still there (a destroy that missed it) is now a residue.
    seed_bootstrap_roles(lifecycle.moto)
    r = lifecycle("destroy_bootstrap.yml", [platform], otter_confirm_destroy_bootstrap="dev")
    assert r.rc != 0
    assert "RESIDUE iam-role otter-dev-github-ops (name)" in r.out


def test_destroy_stops_before_pulumi_while_a_load_balancer_remains(lifecycle):
    rules = [{"tool": "kubectl", "match": ["get", "services"], "stdout": "chatbot/web\n"}]
    r = lifecycle("destroy.yml", rules, otter_confirm_destroy="dev")
    assert r.rc != 0
    assert r.count("kubectl", "get", "services") == 3
    assert work(r, "helm") == []
    assert r.index("pulumi", "destroy") is None


def test_destroy_rerun_after_a_failure_halfway_completes(lifecycle):
    rules = [{"tool": "helm", "match": ["uninstall", "argocd"], "rc": 1, "stderr": "Error: timed out waiting\n", "times": 1}]
    first = lifecycle("destroy.yml", rules, otter_confirm_destroy="dev")
    assert first.rc != 0
    assert first.index("helm", "uninstall", "argocd") is not None
    assert first.index("pulumi", "destroy") is None
    second = lifecycle("destroy.yml", rules, otter_confirm_destroy="dev")
    assert second.rc == 0, second.out
    order(second, *DESTROY_ORDER)
    # The steps the first run had done are repeated harmlessly.
    for c in second.cmds("kubectl"):
        if "delete" in c["argv"]:
            assert "--ignore-not-found" in c["argv"]
    for c in second.cmds("helm"):
        assert "--ignore-not-found" in c["argv"]


def test_destroy_rerun_when_the_cluster_is_already_gone(lifecycle):
    rules = [
        {"tool": "aws", "match": ["eks", "describe-cluster"], "rc": 254,
         "stderr": "An error occurred (ResourceNotFoundException) when calling the DescribeCluster operation: No cluster found\n"},
        {"tool": "aws", "match": ["logs", "delete-log-group"], "rc": 254,
         "stderr": "An error occurred (ResourceNotFoundException) when calling the DeleteLogGroup operation\n"},
    ]
    r = lifecycle("destroy.yml", rules, otter_confirm_destroy="dev")
    assert r.rc == 0, r.out
    assert work(r, "kubectl") == [] and work(r, "helm") == []
    order(r, ("pulumi", "stack", "output"), ("pulumi", "destroy"), ("aws", "logs", "delete-log-group"))


def test_destroy_of_an_already_destroyed_stack_only_destroys_and_verifies(lifecycle):
    rules = [{"tool": "pulumi", "match": ["stack", "output", "--json"], "stdout": "{}"}]
    r = lifecycle("destroy.yml", rules, otter_confirm_destroy="dev")
    assert r.rc == 0, r.out
    assert r.index("aws", "eks", "describe-cluster") is None
    assert r.index("pulumi", "destroy") is not None


def test_destroy_fails_with_the_list_of_residues(lifecycle):
    import boto3

    boto3.client("logs", region_name="us-east-1", endpoint_url=lifecycle.moto, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_log_group(logGroupName="/otter/dev/agent")
    r = lifecycle("destroy.yml", otter_confirm_destroy="dev")
    assert r.rc != 0
    assert r.index("pulumi", "destroy") is not None
    assert "RESIDUE log-group /otter/dev/agent (name)" in r.out


def test_a_failing_delete_of_the_log_group_stops_the_run(lifecycle):
    rules = [{"tool": "aws", "match": ["logs", "delete-log-group"], "rc": 254, "stderr": "AccessDeniedException\n"}]
    r = lifecycle("destroy.yml", rules, otter_confirm_destroy="dev")
    assert r.rc != 0
    assert "otter-dev left nothing behind" not in r.out


def test_the_tools_image_installs_the_versions_bootstrap_requires():
    import re

    import yaml

    with open(os.path.join(ANSIBLE_DIR, "inventory", "group_vars", "all.yml"), encoding="utf-8") as f:
        pinned = yaml.safe_load(f)["otter_tool_versions"]
    with open(os.path.join(h.ROOT, "deploy", "docker", "tools.Dockerfile"), encoding="utf-8") as f:
        args = dict(re.findall(r"^ARG (\w+)=(\S+)$", f.read(), re.M))
    assert args["PULUMI_VERSION"] == pinned["pulumi"]
    assert args["KUBECTL_VERSION"] == pinned["kubectl"]
    assert args["HELM_VERSION"] == pinned["helm"]
    assert args["AWSCLI_VERSION"] == pinned["aws"]
    # And the Pulumi CLI matches the SDK pinned for the program.
    with open(os.path.join(h.ROOT, "deploy", "requirements.txt"), encoding="utf-8") as f:
        assert f"pulumi=={pinned['pulumi']}" in f.read().splitlines()
