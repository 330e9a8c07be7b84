import json

import pytest

import pulumi_harness as h
from conftest import REPO

GITHUB_OIDC = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def trust(rec, name):
    return json.loads(rec.by_input("aws:iam/role:Role", "name", name).inputs["assumeRolePolicy"])


def test_github_oidc_provider(stack):
    _, rec = stack
    p = rec.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "ci-github")
    assert p.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert p.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_delivery_role_trusts_only_the_main_branch_of_the_repository(stack):
    env, rec = stack
    s = trust(rec, f"otter-{env}-github-delivery")["Statement"]
    assert s == [
        {
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB_OIDC},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": [f"repo:{REPO}:ref:refs/heads/main"],
                }
            },
        }
    ]


def test_ops_role_trusts_only_the_protected_environment(stack):
    env, rec = stack
    cond = trust(rec, f"otter-{env}-github-ops")["Statement"][0]["Condition"]["StringEquals"]
    assert cond["token.actions.githubusercontent.com:sub"] == [f"repo:{REPO}:environment:{env}"]
    assert cond["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"


def test_delivery_pushes_images_and_web_files_and_has_no_cluster_access(stack):
    env, rec = stack
    doc = json.loads(
        next(r for r in rec.of("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == f"otter-{env}-github-delivery").inputs["policy"]
    )
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["PushOwnRepositories"]["Resource"] == [
        f"arn:aws:ecr:us-east-1:123456789012:repository/otter/{env}/chatbot",
        f"arn:aws:ecr:us-east-1:123456789012:repository/otter/{env}/otterd",
    ]
    assert "ecr:PutImage" in by_sid["PushOwnRepositories"]["Action"]
    assert by_sid["SyncObjects"]["Resource"] == [f"arn:aws:s3:::otter-{env}-web-abc123/*"]
    assert by_sid["Invalidate"]["Resource"] == ["arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"]
    principals = [e.inputs["principalArn"] for e in rec.of("aws:eks/accessEntry:AccessEntry")]
    assert f"arn:aws:iam::123456789012:role/otter-{env}-github-delivery" not in principals


def test_ops_role_has_the_cluster_access_up_and_destroy_need(stack):
    env, rec = stack
    entry = rec.one("aws:eks/accessEntry:AccessEntry", "ci-ops")
    assert entry.inputs["principalArn"] == f"arn:aws:iam::123456789012:role/otter-{env}-github-ops"
    assoc = rec.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "ci-ops")
    assert assoc.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def test_no_ci_identities_without_a_repository():
    rec = h.run("dev")
    assert rec.of("otter:ci:Ci") == []
    assert not [r for r in rec.of("aws:iam/role:Role") if "github" in r.inputs["name"]]


def test_an_existing_github_provider_is_reused():
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    rec = h.run("prod", environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_GITHUB_OIDC_PROVIDER_ARN": arn})
    assert [p.name for p in rec.of("aws:iam/openIdConnectProvider:OpenIdConnectProvider")] == ["cluster-oidc"]
    cond = trust(rec, "otter-prod-github-delivery")["Statement"][0]
    assert cond["Principal"] == {"Federated": arn}


@pytest.mark.parametrize("repo", ["example-org/*", "example-org", "a/b/c"])
def test_a_repository_wildcard_is_refused(repo):
    with pytest.raises(ValueError, match="OWNER/NAME"):
        h.run("dev", environ={"OTTER_GITHUB_REPOSITORY": repo})
