"""Every IAM document the programs create (both stacks of an environment: the `stack` fixture
holds the bootstrap's and the platform's resources): least privilege, pinned trusts, parliament.

The allow-lists below are written here, independently of deploy/pulumi/otter_infra/policies.py.
"""

import json

import pytest
from parliament import analyze_policy_string

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"

ACCOUNT = "123456789012"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
GITHUB_OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"

# Actions that support no resource-level permission, with why each is needed.
STAR_OK = {
    # X-Ray write path of otterd (AWSXRayDaemonWriteAccess grants the same on "*").
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    # ECR login for CI delivery.
    "ecr:GetAuthorizationToken",
    # Discovery calls of the AWS Load Balancer Controller (read-only).
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTrustStores",
    "acm:ListCertificates",
    # The ops role (GitHub ops workflow): reads Pulumi's provider and verify-clean make, for which
    # IAM's service authorization reference lists no resource type.
    "ec2:DescribeAddressesAttribute", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNatGateways", "ec2:DescribeNetworkAcls", "ec2:DescribePrefixLists",
    "ec2:DescribeSecurityGroupRules", "ec2:DescribeVpcEndpointServices", "ec2:DescribeVpcEndpoints",
    "eks:DescribeAddonVersions", "eks:ListClusters", "iam:ListOpenIDConnectProviders", "iam:ListPolicies",
    "iam:ListRoles", "kms:ListAliases", "dynamodb:ListTables", "sns:ListTopics", "cloudwatch:ListDashboards",
    "ssm:DescribeParameters", "cloudfront:ListDistributions", "logs:DescribeLogGroups",
    "cloudfront:ListOriginAccessControls", "cloudfront:ListResponseHeadersPolicies",
    # Creations of things that have no ARN before they exist; the ops role's statements restrict
    # eks:CreateCluster and kms:CreateKey by the environment's request tag (test_ci.py checks).
    "eks:CreateCluster", "kms:CreateKey", "cloudfront:CreateOriginAccessControl",
}

# Service principals whose trust cannot carry a confused-deputy condition the service passes.
SERVICE_TRUSTS_WITHOUT_CONDITIONS = {"eks.amazonaws.com", "ec2.amazonaws.com"}

# Parliament findings accepted, each because parliament's database or logic is wrong there:
# (policy resource name, issue, what it is about).
PARLIAMENT_ACCEPTED = {
    # Parliament requires every resource type AWS lists for InvokeModel (application inference
    # profiles, prompt routers, async invoke, ...) and rejects the ':' every model id contains.
    ("identity-chatbot", "RESOURCE_MISMATCH", "bedrock"),
    # elasticloadbalancing:CreateAction is the documented way (and the upstream controller
    # policy's) to allow AddTags only while creating; parliament's database lacks the key.
    ("identity-aws-load-balancer-controller", "UNKNOWN_CONDITION_FOR_ACTION", "elasticloadbalancing:CreateAction"),
    # The workload boundary (bootstrap stack) repeats those two grants (it is their union).
    ("workload-boundary", "RESOURCE_MISMATCH", "bedrock"),
    # AWS's own examples compare iam:PermissionsBoundary with StringEquals; parliament expects a
    # string and sees an ARN, and calls it usable.
    ("ci-ops-identity", "MISMATCHED_TYPE_BUT_USABLE", "StringEquals requires a value of type String but given Arn"),
    # The AWS provider creates tagged distributions with CreateDistributionWithTags, an action
    # parliament's database does not have.
    ("ci-ops-stores", "UNKNOWN_ACTION", "cloudfront:CreateDistributionWithTags"),
    # AWS-managed prefix lists (CloudFront's origin-facing one) have "aws" as the account of their
    # ARN (arn:aws:ec2:REGION:aws:prefix-list/pl-...); parliament expects 12 digits there.
    ("ci-ops-network", "INVALID_ARN", ":aws:prefix-list/"),
}


def as_list(v):
    return v if isinstance(v, list) else [v]


def permission_docs(rec):
    return [(r.name, json.loads(r.inputs["policy"])) for r in rec.of(ROLE_POLICY) + rec.of(BUCKET_POLICY) + rec.of(MANAGED_POLICY)]


def trust_docs(rec):
    return [(r.inputs["name"], json.loads(r.inputs["assumeRolePolicy"])) for r in rec.of(ROLE)]


def role_policy(rec, role_name):
    found = [json.loads(r.inputs["policy"]) for r in rec.of(ROLE_POLICY) if r.inputs["role"] == role_name]
    assert len(found) == 1, role_name
    return found[0]


def trust(rec, role_name):
    return json.loads(rec.by_input(ROLE, "name", role_name).inputs["assumeRolePolicy"])


def test_every_role_has_an_inline_policy_or_managed_attachments(stack):
    env, rec = stack
    roles = {r.inputs["name"] for r in rec.of(ROLE)}
    assert roles == {
        f"otter-{env}-cluster", f"otter-{env}-node", f"otter-{env}-otterd", f"otter-{env}-external-secrets",
        f"otter-{env}-aws-load-balancer-controller", f"otter-{env}-chatbot",
        f"otter-{env}-github-delivery", f"otter-{env}-github-ops",
    }


def test_no_wildcard_action_and_no_negations(stack):
    _, rec = stack
    for name, doc in permission_docs(rec) + trust_docs(rec):
        assert doc["Version"] == "2012-10-17"
        for s in doc["Statement"]:
            assert s["Effect"] == "Allow", name
            assert "NotAction" not in s and "NotResource" not in s and "NotPrincipal" not in s, name
            for a in as_list(s["Action"]):
                assert "*" not in a, (name, a)


def test_star_resource_only_for_actions_without_resource_level_permissions(stack):
    _, rec = stack
    for name, doc in permission_docs(rec):
        for s in doc["Statement"]:
            resources = as_list(s["Resource"])
            if "*" in resources:
                assert resources == ["*"], name
                assert set(as_list(s["Action"])) <= STAR_OK, (name, set(as_list(s["Action"])) - STAR_OK)
            for r in resources:
                if r != "*":
                    # Every scoped ARN is in this account (or AWS-owned: empty account field).
                    parts = r.split(":")
                    assert parts[0:2] == ["arn", "aws"], r
                    # AWS-managed prefix lists carry "aws" as their account (the CloudFront
                    # origin-facing list the ALB security group reads).
                    aws_owned = parts[4] == "aws" and parts[5].startswith("prefix-list/")
                    assert parts[4] in (ACCOUNT, "") or aws_owned, r


def test_every_trust_policy_is_pinned(stack):
    _, rec = stack
    for name, doc in trust_docs(rec):
        for s in doc["Statement"]:
            principal = s["Principal"]
            if "Service" in principal and principal["Service"] in SERVICE_TRUSTS_WITHOUT_CONDITIONS:
                assert as_list(s["Action"]) == ["sts:AssumeRole"], name
                continue
            cond = s["Condition"]["StringEquals"]
            assert cond, name
            for v in cond.values():
                for item in as_list(v):
                    assert "*" not in item, (name, item)
            if "Federated" in principal:
                assert s["Action"] == "sts:AssumeRoleWithWebIdentity", name
                issuer = principal["Federated"].split(":oidc-provider/")[1]
                assert cond[f"{issuer}:aud"] == "sts.amazonaws.com", name
                assert f"{issuer}:sub" in cond, name
            else:
                assert principal == {"Service": "pods.eks.amazonaws.com"}, name


@pytest.mark.parametrize(
    "role,namespace,sa",
    [
        ("otterd", "otter-system", "otterd"),
        ("external-secrets", "external-secrets", "external-secrets"),
        ("aws-load-balancer-controller", "kube-system", "aws-load-balancer-controller"),
    ],
)
def test_irsa_trust_is_pinned_to_namespace_and_service_account(stack, role, namespace, sa):
    env, rec = stack
    assert trust(rec, f"otter-{env}-{role}") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": OIDC_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{ISSUER}:sub": f"system:serviceaccount:{namespace}:{sa}",
                        f"{ISSUER}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def test_chatbot_pod_identity_trust_tags_the_session_and_pins_the_pod(stack):
    env, rec = stack
    s = trust(rec, f"otter-{env}-chatbot")["Statement"]
    assert len(s) == 1
    assert s[0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(s[0]["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert s[0]["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": ACCOUNT,
            "aws:RequestTag/eks-cluster-name": f"otter-{env}",
            "aws:RequestTag/kubernetes-namespace": "chatbot",
            "aws:RequestTag/kubernetes-service-account": "chatbot",
        }
    }
    assoc = rec.of("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert len(assoc) == 1
    assert assoc[0].inputs["namespace"] == "chatbot"
    assert assoc[0].inputs["serviceAccount"] == "chatbot"
    assert assoc[0].inputs["clusterName"] == f"otter-{env}"
    assert assoc[0].inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-chatbot"


def test_otterd_writes_only_its_own_log_groups_and_xray(stack):
    env, rec = stack
    groups = [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/otter/{env}/{g}:*" for g in ("agent", "chatbot", "emf")]
    assert role_policy(rec, f"otter-{env}-otterd")["Statement"] == [
        {"Sid": "LogsOwnGroups", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": groups},
        {
            "Sid": "XRayWrite",
            "Effect": "Allow",
            "Action": ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": ["*"],
        },
    ]


def test_external_secrets_reads_only_the_platform_path(stack):
    env, rec = stack
    assert role_policy(rec, f"otter-{env}-external-secrets")["Statement"] == [
        {
            "Sid": "ReadPlatformParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            "Resource": [f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/otter/{env}/*"],
        }
    ]


def test_chatbot_invokes_only_the_configured_model_in_dev(dev):
    s = role_policy(dev, "otter-dev-chatbot")["Statement"]
    assert s[0]["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert s[0]["Resource"] == ["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"]


def test_chatbot_invokes_the_inference_profile_and_its_regional_models_in_prod(prod):
    s = role_policy(prod, "otter-prod-chatbot")["Statement"]
    assert s[0]["Resource"] == [
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0",
    ]


def test_chatbot_uses_only_its_table_and_its_indexes(stack):
    env, rec = stack
    s = role_policy(rec, f"otter-{env}-chatbot")["Statement"][1]
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/otter-{env}-chat-history"
    assert s["Resource"] == [table, f"{table}/index/*"]
    assert all(a.startswith("dynamodb:") for a in s["Action"])
    assert not {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:CreateTable"} & set(s["Action"])


def test_load_balancer_controller_writes_only_what_it_tagged(stack):
    env, rec = stack
    stmts = {s["Sid"]: s for s in role_policy(rec, f"otter-{env}-aws-load-balancer-controller")["Statement"]}
    tag = "elbv2.k8s.aws/cluster"
    # Creating requires the controller's cluster tag in the request ...
    for sid in ("CreateLoadBalancers", "TagNewSecurityGroup", "TagOnCreate"):
        assert stmts[sid]["Condition"]["Null"] == {f"aws:RequestTag/{tag}": "false"}, sid
    # ... and changing or deleting requires it on the resource.
    for sid in ("OwnSecurityGroups", "OwnLoadBalancers"):
        assert stmts[sid]["Condition"] == {"Null": {f"aws:ResourceTag/{tag}": "false"}}, sid
    assert "elasticloadbalancing:DeleteLoadBalancer" in stmts["OwnLoadBalancers"]["Action"]
    assert "ec2:DeleteSecurityGroup" in stmts["OwnSecurityGroups"]["Action"]
    assert stmts["OwnSecurityGroups"]["Resource"] == [f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/*"]
    assert stmts["SecurityGroupsOfVpc"]["Resource"] == [f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0example"]
    # The one untagged group: the cluster's own (pods' ENIs), ingress rules only (the backend
    # rule the ALB needs with manage-backend-security-group-rules).
    backend = stmts["BackendRuleOnClusterGroup"]
    assert sorted(as_list(backend["Action"])) == ["ec2:AuthorizeSecurityGroupIngress",
                                                  "ec2:RevokeSecurityGroupIngress"]
    assert backend["Resource"] == [f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0cluster0example"]
    assert "Condition" not in backend
    assert stmts["ServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
    }
    # No WAF, Shield or Cognito: the chart is installed with those features off.
    actions = {a for s in stmts.values() for a in as_list(s["Action"])}
    assert not {a for a in actions if a.split(":")[0] in ("wafv2", "waf-regional", "shield", "cognito-idp")}


def test_frontend_bucket_is_readable_only_by_its_distribution(stack):
    _, rec = stack
    doc = json.loads(rec.of(BUCKET_POLICY)[0].inputs["policy"])
    bucket = f"otter-{stack[0]}-web-abc123"
    assert doc["Statement"] == [
        {
            "Sid": "CloudFrontOAC",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE"}},
        }
    ]


def _findings(doc):
    p = analyze_policy_string(json.dumps(doc), ignore_private_auditors=True, include_community_auditors=False)
    return p.findings


def _about(f):
    if f.issue == "RESOURCE_MISMATCH":
        # Accepted only when every action it is about belongs to that service.
        services = {d["action"].split(":")[0] for d in f.detail}
        return services.pop() if len(services) == 1 else json.dumps(f.detail)
    if f.issue == "INVALID_ARN":
        # Accepted by the ARN it is about (the detail only says what was expected).
        return (f.location or {}).get("string") or json.dumps(f.detail)
    return json.dumps(f.detail)


def test_parliament_has_no_findings_on_permission_policies(stack):
    _, rec = stack
    unexpected = []
    for name, doc in permission_docs(rec):
        for f in _findings(doc):
            if not any(name == n and f.issue == i and what in _about(f) for n, i, what in PARLIAMENT_ACCEPTED):
                unexpected.append((name, f.issue, f.detail))
    assert unexpected == []


def test_parliament_accepted_findings_are_still_real():
    """If parliament learns these cases, the allow-list entries must go."""
    import pulumi_harness as h

    from conftest import REPO

    rec = h.run_env("prod", environ={"OTTER_GITHUB_REPOSITORY": REPO})
    seen = set()
    for name, doc in permission_docs(rec):
        for f in _findings(doc):
            for n, i, what in PARLIAMENT_ACCEPTED:
                if name == n and f.issue == i and what in _about(f):
                    seen.add((n, i, what))
    assert seen == PARLIAMENT_ACCEPTED


def test_parliament_on_trust_policies_finds_only_what_trust_policies_are(stack):
    """Parliament reads documents as identity policies: a trust policy has no Resource, and
    OIDC providers other than the well-known ones are 'unknown'. Anything else is a finding."""
    _, rec = stack
    for name, doc in trust_docs(rec):
        for f in _findings(doc):
            if f.issue == "MALFORMED":
                assert f.detail == "Statement contains neither Resource nor NotResource", name
            elif f.issue == "UNKNOWN_FEDERATION_SOURCE":
                assert f.detail in (OIDC_ARN, GITHUB_OIDC_ARN), name
            else:
                pytest.fail(f"{name}: {f.issue} {f.detail}")


def test_parliament_catches_what_we_rely_on_it_for():
    """The checks above are only as good as parliament: prove it flags a broad and a wrong policy."""
    bad_action = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvent", "Resource": "*"}]}
    assert "UNKNOWN_ACTION" in {f.issue for f in _findings(bad_action)}
    mismatch = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"}],
    }
    assert "RESOURCE_MISMATCH" in {f.issue for f in _findings(mismatch)}
