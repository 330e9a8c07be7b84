"""The wiring between the two stacks of an environment: the bootstrap stack (administrator:
CI identities, their policies, the workload boundary) and the platform stack, which reads the
bootstrap's exports through a StackReference. The platform runs here against the exports of a real
(mocked) run of the bootstrap program, never against hand-written outputs, except where a wrong
reference is the point."""

import re

import pulumi_harness as h
from conftest import REPO

ACCOUNT = h.ACCOUNT
STACKREF = "pulumi:pulumi:StackReference"


def test_the_platform_references_the_bootstrap_stack_of_its_environment(stack):
    env, rec = stack
    # One reference, by the default name: the same organization, project otter-bootstrap, stack <env>.
    assert rec.platform.stack_refs == [f"organization/otter-bootstrap/{env}"]
    assert rec.bootstrap.stack_refs == []
    assert rec.platform.outputs["bootstrapStack"] == f"organization/otter-bootstrap/{env}"


def test_the_bootstrap_exports_what_the_platform_and_the_workflows_read(stack):
    env, rec = stack
    assert rec.bootstrap.outputs == {
        "environment": env,
        "accountId": ACCOUNT,
        "workloadBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/otter-{env}-workload-boundary",
        "githubOidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
        "ciDeliveryRoleArn": f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-github-delivery",
        "ciOpsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-github-ops",
    }
    # ... and each is the ARN of the resource the bootstrap created (the mocks' ARN of it).
    boundary = rec.bootstrap.by_input("aws:iam/policy:Policy", "name", f"otter-{env}-workload-boundary")
    assert boundary.state["arn"] == rec.bootstrap.outputs["workloadBoundaryArn"]
    ops = rec.bootstrap.by_input("aws:iam/role:Role", "name", f"otter-{env}-github-ops")
    assert ops.state["arn"] == rec.bootstrap.outputs["ciOpsRoleArn"]


def test_the_platform_uses_the_bootstrap_boundary_and_ops_role(stack):
    env, rec = stack
    outs = rec.bootstrap.outputs
    workload = [r for r in rec.platform.of("aws:iam/role:Role") if r.inputs["name"] not in (f"otter-{env}-cluster", f"otter-{env}-node")]
    assert len(workload) == 4
    for r in workload:
        assert r.inputs["permissionsBoundary"] == outs["workloadBoundaryArn"], r.inputs["name"]
    (entry,) = rec.platform.of("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == outs["ciOpsRoleArn"]


def test_each_stack_holds_its_own_resources(stack):
    env, rec = stack
    boot_types = {r.typ for r in rec.bootstrap.resources}
    assert boot_types == {
        "otter:ci:Ci", "otter:ci:WorkloadBoundary", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    }
    assert sorted(r.inputs["name"] for r in rec.bootstrap.of("aws:iam/policy:Policy")) == sorted(
        [f"otter-{env}-workload-boundary"] + [f"otter-{env}-github-ops-{p}" for p in ("identity", "keys", "network", "stores")]
    )
    # No CI identity, boundary or ops policy in the platform stack.
    assert rec.platform.of("aws:iam/policy:Policy") == []
    assert not [r for r in rec.platform.of("aws:iam/role:Role") if "github" in r.inputs["name"]]
    assert [p.inputs["url"] for p in rec.platform.of("aws:iam/openIdConnectProvider:OpenIdConnectProvider")] == [
        "https://" + h.OIDC_ISSUER]
    assert len(rec.platform.of(STACKREF)) == 1


def test_the_bootstrap_stack_runs_alone_before_any_platform_resource_exists():
    """Its policies take no platform ARN: the program runs without the platform and every
    document names the environment's resources by name, tag or prefix."""
    rec = h.run_bootstrap("prod", environ={"OTTER_GITHUB_REPOSITORY": REPO})
    text = " ".join(r.inputs.get("policy", "") for r in rec.resources)
    assert "E2EXAMPLE" not in text and "abc123" not in text and "vpc-0example" not in text
    assert "arn:aws:s3:::otter-prod-web-*" in text


def test_another_bootstrap_stack_name_is_configurable():
    name = "acme/otter-bootstrap/dev"
    env = {"OTTER_GITHUB_REPOSITORY": REPO}
    outs = h.run_bootstrap("dev", environ=env).outputs
    rec = h.run("dev", config={"otter:bootstrapStack": name}, environ=env, stacks={name: outs})
    assert rec.stack_refs == [name]
    rec = h.run("dev", environ={**env, "OTTER_BOOTSTRAP_STACK": name}, stacks={name: outs})
    assert rec.stack_refs == [name]


def test_a_missing_bootstrap_stack_stops_the_platform():
    err = h.failure_of("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO}, stacks={})
    assert "no stack named 'organization/otter-bootstrap/dev'" in err, err


def test_the_bootstrap_stack_of_another_environment_is_refused():
    env = {"OTTER_GITHUB_REPOSITORY": REPO}
    prod_outs = h.run_bootstrap("prod", environ=env).outputs
    # Whichever of the two checked outputs is resolved first names itself.
    err = h.failure_of("dev", environ=env, stacks={"organization/otter-bootstrap/dev": prod_outs})
    assert re.search(r"bootstrap stack organization/otter-bootstrap/dev: output "
                     r"(workloadBoundaryArn is 'arn:aws:iam::123456789012:policy/otter-prod-workload-boundary', "
                     r"expected 'arn:aws:iam::123456789012:policy/otter-dev-workload-boundary'"
                     r"|ciOpsRoleArn is 'arn:aws:iam::123456789012:role/otter-prod-github-ops', "
                     r"expected 'arn:aws:iam::123456789012:role/otter-dev-github-ops') for dev", err), err


def test_a_bootstrap_without_ci_roles_is_refused_when_the_platform_wants_them():
    """The repository configures both stacks; a bootstrap stack brought up without it has no ops
    role to give cluster access to."""
    outs = h.run_bootstrap("dev").outputs
    err = h.failure_of("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO}, stacks={"organization/otter-bootstrap/dev": outs})
    assert "KeyError: 'ciOpsRoleArn'" in err, err


def test_both_projects_name_their_stacks_after_the_environment():
    import yaml

    for env in ("dev", "prod"):
        assert h.stack_config(env)["otter:environment"] == env
        assert h.stack_config(env, h.BOOTSTRAP_PROGRAM) == {"otter:environment": env}
    with open(f"{h.BOOTSTRAP_PROGRAM}/Pulumi.yaml", encoding="utf-8") as f:
        boot = yaml.safe_load(f)
    with open(f"{h.PROGRAM}/Pulumi.yaml", encoding="utf-8") as f:
        plat = yaml.safe_load(f)
    assert (boot["name"], plat["name"]) == ("otter-bootstrap", "otter")
    # Both run in the same virtualenv (deploy/requirements.txt), each from its own directory.
    assert boot["runtime"]["options"]["virtualenv"] == "../../../.venv-deploy"
    assert plat["runtime"]["options"]["virtualenv"] == "../../.venv-deploy"
