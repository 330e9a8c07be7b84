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
    # ops.yml runs up/deploy/artifact in the environment <env> and destroy in <env>-destroy.
    assert cond["token.actions.githubusercontent.com:sub"] == [
        f"repo:{REPO}:environment:{env}",
        f"repo:{REPO}:environment:{env}-destroy",
    ]
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
    # Built before the bucket and the distribution exist (bootstrap stack): the bucket by its name
    # prefix, the distribution (generated id) by the environment's tag.
    assert by_sid["ListBucket"]["Resource"] == [f"arn:aws:s3:::otter-{env}-web-*"]
    assert by_sid["SyncObjects"]["Resource"] == [f"arn:aws:s3:::otter-{env}-web-*/*"]
    assert by_sid["Invalidate"]["Resource"] == ["arn:aws:cloudfront::123456789012:distribution/*"]
    assert by_sid["Invalidate"]["Condition"] == {"StringEquals": {"aws:ResourceTag/otter:environment": env}}
    # ... and they reach what the platform creates: the bucket's name fits the prefix (the mock
    # adds "abc123" to the program's bucket_prefix) and the distribution carries the tag.
    import fnmatch

    bucket = rec.one("aws:s3/bucket:Bucket", "frontend-web")
    assert fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket.state['bucket']}", by_sid["ListBucket"]["Resource"][0])
    assert rec.one("aws:cloudfront/distribution:Distribution", "frontend-web").inputs["tags"]["otter:environment"] == env
    principals = [e.inputs["principalArn"] for e in rec.of("aws:eks/accessEntry:AccessEntry")]
    assert f"arn:aws:iam::123456789012:role/otter-{env}-github-delivery" not in principals


def test_ops_role_has_the_cluster_access_up_and_destroy_need(stack):
    env, rec = stack
    # In the platform stack (the cluster's), with the bootstrap stack's role.
    entry = rec.platform.one("aws:eks/accessEntry:AccessEntry", "ci-ops")
    assert entry.inputs["principalArn"] == f"arn:aws:iam::123456789012:role/otter-{env}-github-ops"
    assoc = rec.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "ci-ops")
    assert assoc.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def test_no_ci_identities_without_a_repository():
    rec = h.run_env("dev")
    assert rec.of("otter:ci:Ci") == [] and rec.of("otter:ci:OpsClusterAccess") == []
    assert not [r for r in rec.of("aws:iam/role:Role") if "github" in r.inputs["name"]]
    assert rec.of("aws:eks/accessEntry:AccessEntry") == []
    # The boundary is the bootstrap's either way: the workload roles need it.
    assert [p.inputs["name"] for p in rec.bootstrap.of("aws:iam/policy:Policy")] == ["otter-dev-workload-boundary"]
    assert set(rec.bootstrap.outputs) == {"environment", "accountId", "workloadBoundaryArn"}


def test_an_existing_github_provider_is_reused():
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    rec = h.run_env("prod", environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_GITHUB_OIDC_PROVIDER_ARN": arn})
    assert [p.name for p in rec.of("aws:iam/openIdConnectProvider:OpenIdConnectProvider")] == ["cluster-oidc"]
    cond = trust(rec, "otter-prod-github-delivery")["Statement"][0]
    assert cond["Principal"] == {"Federated": arn}


@pytest.mark.parametrize("repo", ["example-org/*", "example-org", "a/b/c"])
def test_a_repository_wildcard_is_refused(repo):
    with pytest.raises(ValueError, match="OWNER/NAME"):
        h.run_bootstrap("dev", environ={"OTTER_GITHUB_REPOSITORY": repo})


# ---- the ops role's AWS permissions ---------------------------------------------------------

ACCOUNT = "123456789012"
IAM_WRITE_PREFIXES = ("Create", "Put", "Attach", "Detach", "Delete", "Update", "Tag", "Untag", "Pass", "Add", "Remove")


def ops_docs(rec, env):
    """The ops role's managed policies, by part name; attached to the ops role and nothing else."""
    docs = {}
    for p in rec.of("aws:iam/policy:Policy"):
        if p.inputs["name"].startswith(f"otter-{env}-github-ops-"):
            docs[p.inputs["name"].rsplit("-", 1)[1]] = json.loads(p.inputs["policy"])
    attached = [a.inputs["policyArn"] for a in rec.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == f"otter-{env}-github-ops"]
    assert sorted(attached) == sorted(f"arn:aws:iam::{ACCOUNT}:policy/otter-{env}-github-ops-{k}" for k in docs)
    return docs


def statements(docs):
    return [s for d in docs.values() for s in d["Statement"]]


def as_list(v):
    return v if isinstance(v, list) else [v]


def test_ops_policies_fit_iams_size_limit_in_any_region(stack):
    env, rec = stack
    docs = ops_docs(rec, env)
    assert set(docs) == {"network", "identity", "keys", "stores"}
    for name, d in docs.items():
        # IAM counts a managed policy without whitespace; the limit is 6,144 characters.
        assert len(json.dumps(d, separators=(",", ":"))) <= 6144, name
    # A longer region name (14 characters against 9) and a 63-character state bucket still fit.
    import sys, os
    sys.path.insert(0, os.path.join(h.ROOT, "deploy", "pulumi"))
    from otter_infra import names, policies

    aws = policies.Aws("aws", "ap-southeast-5", ACCOUNT)
    rn = {k: names.irsa_role(env, k) for k in ("otterd", "external-secrets", "aws-load-balancer-controller", "chatbot")}
    rn.update({"cluster": f"otter-{env}-cluster", "node": f"otter-{env}-node"})
    big = policies.ops_policy(aws, env, f"otter-{env}", rn, ["a", "b"], f"/otter/{env}", ["/otter/x"], "t", "t", ["r"],
                              "b" * 63, f"arn:aws:kms:ap-southeast-5:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
    for name, d in policies.split_ops_policy(big).items():
        assert len(json.dumps(d, separators=(",", ":"))) <= 6144, name
    boundary = policies.workload_boundary_policy(aws, env, f"otter-{env}")
    assert len(json.dumps(boundary, separators=(",", ":"))) <= 6144


def test_ops_cannot_change_the_ci_roles_the_boundary_or_its_own_policies(stack):
    env, rec = stack
    protected = {
        f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-github-ops",
        f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-github-delivery",
        f"arn:aws:iam::{ACCOUNT}:policy/otter-{env}-workload-boundary",
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
    }
    for s in statements(ops_docs(rec, env)):
        writes = [a for a in as_list(s["Action"]) if a.startswith("iam:") and a.split(":")[1].startswith(IAM_WRITE_PREFIXES)]
        if not writes:
            continue
        for r in as_list(s["Resource"]):
            assert r not in protected, (s["Sid"], r)
            # no wildcard that could reach them either
            assert "github" not in r and "boundary" not in r and "*" not in r.split(":role/")[-1] or ":oidc-provider/oidc.eks." in r, (s["Sid"], r)
        assert "iam:DeleteRolePermissionsBoundary" not in writes and "iam:CreatePolicyVersion" not in writes


def test_workload_roles_exist_and_change_only_under_the_boundary(stack):
    env, rec = stack
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/otter-{env}-workload-boundary"
    workload = {f"otter-{env}-{k}" for k in ("otterd", "external-secrets", "aws-load-balancer-controller", "chatbot")}
    for r in rec.of("aws:iam/role:Role"):
        if r.inputs["name"] in workload:
            assert r.inputs.get("permissionsBoundary") == boundary, r.inputs["name"]
    by_sid = {s["Sid"]: s for s in statements(ops_docs(rec, env))}
    s = by_sid["IamWorkloadRolesWithBoundary"]
    assert sorted(s["Action"]) == ["iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"]
    assert s["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    assert sorted(s["Resource"]) == sorted(f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in workload)
    # No other statement may create a role or put an inline policy on one.
    for other in by_sid.values():
        if other is s:
            continue
        acts = set(as_list(other["Action"]))
        if "iam:CreateRole" in acts:
            assert sorted(other["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-cluster",
                                                 f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-node"], other["Sid"]
        assert not acts & {"iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}, other["Sid"]
    # The cluster and node roles get only the AWS managed policies the program attaches.
    att = by_sid["IamAttachManagedPolicies"]
    assert att["Condition"] == {"ArnEquals": {"iam:PolicyARN": [
        "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]}}
    attached = {a.inputs["policyArn"] for a in rec.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] in (f"otter-{env}-cluster", f"otter-{env}-node")}
    assert attached <= set(att["Condition"]["ArnEquals"]["iam:PolicyARN"])
    passed = by_sid["IamPassRoles"]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": ["eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com"]}}


def test_the_boundary_covers_every_workload_grant(stack):
    env, rec = stack
    boundary = json.loads(next(p for p in rec.of("aws:iam/policy:Policy")
                               if p.inputs["name"] == f"otter-{env}-workload-boundary").inputs["policy"])
    capped = {a for s in boundary["Statement"] for a in as_list(s["Action"])}
    for kind in ("otterd", "external-secrets", "aws-load-balancer-controller", "chatbot"):
        doc = json.loads(next(r for r in rec.of("aws:iam/rolePolicy:RolePolicy")
                              if r.inputs["role"] == f"otter-{env}-{kind}").inputs["policy"])
        for s in doc["Statement"]:
            assert set(as_list(s["Action"])) <= capped, (kind, set(as_list(s["Action"])) - capped)


def test_ops_writes_are_scoped_to_the_environment(stack):
    env, rec = stack
    by_sid = {s["Sid"]: s for s in statements(ops_docs(rec, env))}
    region = "us-east-1"
    assert by_sid["EcrOwnRepositories"]["Resource"] == [
        f"arn:aws:ecr:{region}:{ACCOUNT}:repository/otter/{env}/chatbot",
        f"arn:aws:ecr:{region}:{ACCOUNT}:repository/otter/{env}/otterd"]
    assert by_sid["DynamoDbOwnTable"]["Resource"] == [f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/otter-{env}-chat-history"]
    assert by_sid["SsmOwnParameters"]["Resource"] == [f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/otter/{env}/*"]
    assert by_sid["SnsOwnTopic"]["Resource"] == [f"arn:aws:sns:{region}:{ACCOUNT}:otter-{env}-alerts"]
    assert by_sid["S3WebBucket"]["Resource"] == [f"arn:aws:s3:::otter-{env}-web-*"]
    assert by_sid["S3WebObjects"]["Resource"] == [f"arn:aws:s3:::otter-{env}-web-*/*"]
    assert by_sid["CloudWatchOwnAlarms"]["Resource"] == [f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:otter-{env}-*"]
    assert by_sid["CloudWatchOwnDashboards"]["Resource"] == [f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/otter-{env}-*"]
    groups = {f"/otter/{env}/agent", f"/otter/{env}/chatbot", f"/otter/{env}/emf", f"/aws/eks/otter-{env}/cluster"}
    assert set(by_sid["LogsOwnGroups"]["Resource"]) == {f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{g}{s}" for g in groups for s in ("", ":*")}
    assert [r for r in by_sid["EksOwnCluster"]["Resource"] if f"/otter-{env}" not in r] == []
    # EC2 and KMS writes need the environment's tag: on the request to create, on the resource after.
    for sid in ("Ec2CreateTagged", "KmsCreateTagged", "EksCreateTagged"):
        assert by_sid[sid]["Condition"] == {"StringEquals": {"aws:RequestTag/otter:environment": env}}, sid
    for sid in ("Ec2ChangeOwn", "KmsOwnKeys"):
        assert by_sid[sid]["Condition"] == {"StringEquals": {"aws:ResourceTag/otter:environment": env}}, sid
    assert by_sid["Ec2TagOnCreate"]["Condition"]["StringEquals"]["aws:RequestTag/otter:environment"] == env
    # No state backend configured in these runs: no state grants.
    assert "StateBucket" not in by_sid and "StateSecretsKey" not in by_sid


def test_ops_gets_the_state_backend_when_configured():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    rec = h.run_bootstrap("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_STATE_BUCKET": "acme-pulumi-state",
                                "OTTER_STATE_KMS_KEY_ARN": key})
    by_sid = {s["Sid"]: s for s in statements(ops_docs(rec, "dev"))}
    assert by_sid["StateBucket"]["Resource"] == ["arn:aws:s3:::acme-pulumi-state"]
    assert by_sid["StateObjects"]["Resource"] == ["arn:aws:s3:::acme-pulumi-state/*"]
    assert by_sid["StateSecretsKey"]["Resource"] == [key]


def test_delivery_needs_only_ecr_s3_and_cloudfront(stack):
    env, rec = stack
    doc = json.loads(
        next(r for r in rec.of("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == f"otter-{env}-github-delivery").inputs["policy"]
    )
    services = {a.split(":")[0] for s in doc["Statement"] for a in as_list(s["Action"])}
    assert services == {"ecr", "s3", "cloudfront"}
    assert not [p for p in rec.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if p.inputs["role"] == f"otter-{env}-github-delivery"]
