"""Who may read and write the origin secret (/otter/<env>/chatbot/origin-secret), evaluated on the
policies the two stacks make (test_ops_destroy's evaluator): the ops role writes, reads (Pulumi
reads it back with decryption) and deletes it; External Secrets reads it, within the workload
boundary; nobody else (the delivery role, otterd, the chatbot's own role, the LB controller) can
read or change it. The AWS-managed key aws/ssm encrypts it: its key policy lets the account's
principals use it through SSM, so no policy here grants KMS for it (and none may, beyond the
state key)."""

import json

import pytest

from test_ops_destroy import ACCOUNT, allowed, ops_statements

READ = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
WRITE = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:LabelParameterVersion"]


def param_arn(env):
    # Written out: arn:aws:ssm:<region>:<account>:parameter + the parameter's name.
    return f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/otter/{env}/chatbot/origin-secret"


def inline(rec, role):
    found = [json.loads(r.inputs["policy"]) for r in rec.of("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role]
    assert len(found) == 1, role
    return found[0]["Statement"]


def boundary(rec, env):
    found = [json.loads(p.inputs["policy"]) for p in rec.of("aws:iam/policy:Policy")
             if p.inputs["name"] == f"otter-{env}-workload-boundary"]
    assert len(found) == 1
    return found[0]["Statement"]


def test_the_parameter_is_the_stacks(stack):
    env, rec = stack
    names = [p.inputs["name"] for p in rec.platform.of("aws:ssm/parameter:Parameter")]
    assert f"/otter/{env}/chatbot/origin-secret" in names


def test_ops_writes_reads_and_deletes_it(stack):
    env, rec = stack
    statements = ops_statements(rec, env)
    for action in ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource",
                   "ssm:ListTagsForResource"]:
        assert allowed(statements, action, param_arn(env), {}), action
    # Not another environment's.
    other = "prod" if env == "dev" else "dev"
    assert not allowed(statements, "ssm:PutParameter", param_arn(other), {})
    assert not allowed(statements, "ssm:GetParameter", param_arn(other), {})


def test_external_secrets_reads_it_within_the_boundary(stack):
    env, rec = stack
    eso = inline(rec.platform, f"otter-{env}-external-secrets")
    bound = boundary(rec.bootstrap, env)
    for action in READ:
        assert allowed(eso, action, param_arn(env), {}), action
        assert allowed(bound, action, param_arn(env), {}), action
    for action in WRITE:
        assert not allowed(eso, action, param_arn(env), {}), action


@pytest.mark.parametrize("role", ["otterd", "chatbot", "aws-load-balancer-controller"])
def test_other_workloads_cannot_touch_it(stack, role):
    env, rec = stack
    statements = inline(rec.platform, f"otter-{env}-{role}")
    for action in READ + WRITE:
        assert not allowed(statements, action, param_arn(env), {}), (role, action)


def test_delivery_cannot_touch_it(stack):
    env, rec = stack
    statements = inline(rec.bootstrap, f"otter-{env}-github-delivery")
    for action in READ + WRITE:
        assert not allowed(statements, action, param_arn(env), {}), action


def test_no_role_is_granted_kms_for_it(stack):
    """aws/ssm serves the account through SSM by its own key policy; a grant of kms:Decrypt on
    keys would widen what the roles may decrypt. Only the ops role's Pulumi state key (when
    configured; not here) and the cluster key's administration carry KMS actions."""
    env, rec = stack
    workload = [f"otter-{env}-{k}" for k in ("otterd", "external-secrets", "aws-load-balancer-controller", "chatbot")]
    for role in workload:
        actions = [a for s in inline(rec.platform, role) for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
        assert not [a for a in actions if a.startswith("kms:")], role
    assert not [a for s in boundary(rec.bootstrap, env) for a in s["Action"] if a.startswith("kms:")]
