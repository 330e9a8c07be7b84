"""The ops role's `pulumi destroy` of the platform stack can delete every resource in it, and
nothing of the bootstrap stack.

For each resource the platform program registers, the calls the AWS provider makes to delete it
(written out here from the provider's delete functions and IAM's service authorization
reference, not from policies.py) are evaluated against the ops role's four managed policies as the
bootstrap program builds them: the action must be listed, the resource ARN must match one of the
statement's resources (IAM's `*` and `?`), and every condition must hold for the resource's own
tags (or its parent's, for the sub-resources that take none), its permissions boundary and the
policy being detached. A resource type the table does not know fails the test, so a new type in
the platform stack needs its delete calls here.
"""

import fnmatch
import json

import pytest

import pulumi_harness as h

ACCOUNT = h.ACCOUNT
REGION = h.REGION
TAG = "otter:environment"


def arn(service, resource, region=REGION):
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def iam(resource):
    return f"arn:aws:iam::{ACCOUNT}:{resource}"


def as_list(v):
    return v if isinstance(v, list) else [v]


# ---- a small IAM evaluator: Allow statements only (the policies have no Deny) ---------------------

def condition_holds(cond: dict, context: dict) -> bool:
    for op, pairs in cond.items():
        for key, wanted in pairs.items():
            have = context.get(key)
            if have is None:
                return False  # a missing key fails every positive operator
            if op in ("StringEquals", "ArnEquals"):
                if have not in as_list(wanted):
                    return False
            elif op in ("StringLike", "ArnLike"):
                if not any(fnmatch.fnmatchcase(have, w) for w in as_list(wanted)):
                    return False
            else:
                raise AssertionError(f"condition operator {op} not understood by this test")
    return True


def allowed(statements: list, action: str, resource: str, context: dict) -> bool:
    for s in statements:
        assert s["Effect"] == "Allow"
        if action not in as_list(s["Action"]):
            continue
        if not any(r == "*" or fnmatch.fnmatchcase(resource, r) for r in as_list(s["Resource"])):
            continue
        if condition_holds(s.get("Condition", {}), context):
            return True
    return False


def test_the_evaluator_refuses_what_it_should():
    s = [{"Effect": "Allow", "Action": ["ec2:DeleteVpc"], "Resource": [arn("ec2", "vpc/*")],
          "Condition": {"StringEquals": {f"aws:ResourceTag/{TAG}": "dev"}}}]
    tagged = {f"aws:ResourceTag/{TAG}": "dev"}
    assert allowed(s, "ec2:DeleteVpc", arn("ec2", "vpc/vpc-1"), tagged)
    assert not allowed(s, "ec2:DeleteVpc", arn("ec2", "vpc/vpc-1"), {f"aws:ResourceTag/{TAG}": "prod"})
    assert not allowed(s, "ec2:DeleteVpc", arn("ec2", "vpc/vpc-1"), {})
    assert not allowed(s, "ec2:DeleteSubnet", arn("ec2", "subnet/subnet-1"), tagged)
    assert not allowed(s, "ec2:DeleteVpc", arn("ec2", "vpc/vpc-1", region="eu-west-1"), tagged)


# ---- what deleting each resource type calls ------------------------------------------------------

class Platform:
    def __init__(self, rec):
        self.rec = rec

    def by_id(self, rid: str):
        """The recorded resource behind a mock id (`Type/name`; the mocks' special ids too)."""
        if rid == "vpc-0example":
            return self.rec.of("aws:ec2/vpc:Vpc")[0]
        typ, name = rid.split("/", 1)
        found = [r for r in self.rec.resources if r.typ.endswith(f":{typ}") and r.name == name]
        assert len(found) == 1, rid
        return found[0]

    @staticmethod
    def tags(r) -> dict:
        return {f"aws:ResourceTag/{k}": v for k, v in (r.inputs.get("tags") or {}).items()}

    def role(self, name):
        return next(r for r in self.rec.of("aws:iam/role:Role") if r.inputs["name"] == name)

    def calls(self, r) -> list:
        """(action, resource ARN, condition context) of each call the provider makes to delete r."""
        t, i, own = r.typ, r.inputs, self.tags(r)
        rid = f"{t.split(':')[-1]}/{r.name}"  # the mock's id of r
        ec2 = {
            "aws:ec2/vpc:Vpc": [("ec2:DeleteVpc", "vpc/vpc-0example")],
            "aws:ec2/subnet:Subnet": [("ec2:DeleteSubnet", f"subnet/{rid}")],
            "aws:ec2/internetGateway:InternetGateway": [("ec2:DetachInternetGateway", f"internet-gateway/{rid}"),
                                                        ("ec2:DeleteInternetGateway", f"internet-gateway/{rid}")],
            "aws:ec2/routeTable:RouteTable": [("ec2:DeleteRouteTable", f"route-table/{rid}")],
            "aws:ec2/natGateway:NatGateway": [("ec2:DeleteNatGateway", f"natgateway/{rid}")],
            "aws:ec2/eip:Eip": [("ec2:ReleaseAddress", f"elastic-ip/{rid}")],
            "aws:ec2/vpcEndpoint:VpcEndpoint": [("ec2:DeleteVpcEndpoints", f"vpc-endpoint/{rid}")],
            "aws:ec2/securityGroup:SecurityGroup": [("ec2:DeleteSecurityGroup", f"security-group/{rid}")],
            "aws:ec2/launchTemplate:LaunchTemplate": [("ec2:DeleteLaunchTemplate", f"launch-template/{rid}")],
        }
        if t in ec2:
            return [(a, arn("ec2", res), own) for a, res in ec2[t]]
        if t == "aws:ec2/route:Route":
            parent = self.by_id(i["routeTableId"])
            return [("ec2:DeleteRoute", arn("ec2", f"route-table/{i['routeTableId']}"), self.tags(parent))]
        if t == "aws:ec2/routeTableAssociation:RouteTableAssociation":
            table, subnet = self.by_id(i["routeTableId"]), self.by_id(i["subnetId"])
            return [("ec2:DisassociateRouteTable", arn("ec2", f"route-table/{i['routeTableId']}"), self.tags(table)),
                    ("ec2:DisassociateRouteTable", arn("ec2", f"subnet/{i['subnetId']}"), self.tags(subnet))]
        if t == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            group = self.by_id(i["securityGroupId"])
            return [("ec2:RevokeSecurityGroupIngress", arn("ec2", f"security-group/{i['securityGroupId']}"), self.tags(group))]

        cluster = i.get("clusterName")
        if t == "aws:eks/cluster:Cluster":
            return [("eks:DeleteCluster", arn("eks", f"cluster/{i['name']}"), own),
                    ("eks:DescribeCluster", arn("eks", f"cluster/{i['name']}"), own)]
        if t == "aws:eks/nodeGroup:NodeGroup":
            ng = arn("eks", f"nodegroup/{cluster}/{i['nodeGroupNamePrefix']}20261126/0ac7c2b1-1111-2222-3333-444455556666")
            return [("eks:DeleteNodegroup", ng, own), ("eks:DescribeNodegroup", ng, own)]
        if t == "aws:eks/addon:Addon":
            return [("eks:DeleteAddon", arn("eks", f"addon/{cluster}/{i['addonName']}/8ac7c2b1-1111-2222-3333-444455556666"), own)]
        if t in ("aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
            principal = i["principalArn"].split(":role/")[1]
            entry = arn("eks", f"access-entry/{cluster}/role/{ACCOUNT}/{principal}/8ac7c2b1-1111-2222-3333-444455556666")
            action = "eks:DeleteAccessEntry" if t.endswith("AccessEntry") else "eks:DisassociateAccessPolicy"
            return [(action, entry, own)]
        if t == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            return [("eks:DeletePodIdentityAssociation", arn("eks", f"podidentityassociation/{cluster}/a-0123456789abcdef0"), own)]

        if t == "aws:kms/key:Key":
            key = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
            return [("kms:ScheduleKeyDeletion", key, own), ("kms:DescribeKey", key, own)]
        if t == "aws:kms/alias:Alias":
            key = self.rec.of("aws:kms/key:Key")[0]
            return [("kms:DeleteAlias", arn("kms", i["name"]), {}),
                    ("kms:DeleteAlias", arn("kms", f"key/{i['targetKeyId']}"), self.tags(key))]

        if t == "aws:iam/role:Role":
            role = iam(f"role/{i['name']}")
            ctx = {"iam:PermissionsBoundary": i["permissionsBoundary"]} if i.get("permissionsBoundary") else {}
            return [("iam:ListInstanceProfilesForRole", role, ctx), ("iam:ListRolePolicies", role, ctx),
                    ("iam:ListAttachedRolePolicies", role, ctx), ("iam:DeleteRole", role, ctx)]
        if t == "aws:iam/rolePolicy:RolePolicy":
            boundary = self.role(i["role"]).inputs.get("permissionsBoundary")
            return [("iam:DeleteRolePolicy", iam(f"role/{i['role']}"), {"iam:PermissionsBoundary": boundary} if boundary else {})]
        if t == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            return [("iam:DetachRolePolicy", iam(f"role/{i['role']}"), {"iam:PolicyARN": i["policyArn"]})]
        if t == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return [("iam:DeleteOpenIDConnectProvider", iam(f"oidc-provider/{i['url'].removeprefix('https://')}"), own)]

        if t == "aws:ecr/repository:Repository":
            repo = arn("ecr", f"repository/{i['name']}")
            return [("ecr:DeleteRepository", repo, own), ("ecr:BatchDeleteImage", repo, own)]
        if t == "aws:ecr/lifecyclePolicy:LifecyclePolicy":
            return [("ecr:DeleteLifecyclePolicy", arn("ecr", f"repository/{i['repository']}"), {})]

        bucket = f"arn:aws:s3:::{i.get('bucket') or r.state.get('bucket')}"
        if t == "aws:s3/bucket:Bucket":
            out = [("s3:DeleteBucket", bucket, own)]
            if i.get("forceDestroy"):
                out += [("s3:ListBucketVersions", bucket, own), ("s3:DeleteObjectVersion", f"{bucket}/index.html", {})]
            return out
        s3_sub = {
            # Deleting these settings is a Put (or Delete) of the bucket's configuration.
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "s3:PutBucketOwnershipControls",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "s3:PutEncryptionConfiguration",
            "aws:s3/bucketPolicy:BucketPolicy": "s3:DeleteBucketPolicy",
        }
        if t in s3_sub:
            return [(s3_sub[t], bucket, {})]

        dist = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE"
        if t == "aws:cloudfront/distribution:Distribution":
            # Disabled first, waited for, then deleted.
            return [(a, dist, own) for a in ("cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution",
                                             "cloudfront:GetDistribution", "cloudfront:DeleteDistribution")]
        if t == "aws:cloudfront/originAccessControl:OriginAccessControl":
            return [("cloudfront:DeleteOriginAccessControl", f"arn:aws:cloudfront::{ACCOUNT}:origin-access-control/E3OAC", {})]
        if t == "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":
            return [("cloudfront:DeleteResponseHeadersPolicy",
                     f"arn:aws:cloudfront::{ACCOUNT}:response-headers-policy/0c4d5e6f-7a8b-9c0d-1e2f-3a4b5c6d7e8f", {})]

        if t == "aws:dynamodb/table:Table":
            table = arn("dynamodb", f"table/{i['name']}")
            out = [("dynamodb:DeleteTable", table, own), ("dynamodb:DescribeTable", table, own)]
            if i.get("deletionProtectionEnabled"):
                # prod: protection is lifted on purpose first (the ops role may, deploy/README.md).
                out.append(("dynamodb:UpdateTable", table, own))
            return out
        if t == "aws:cloudwatch/logGroup:LogGroup":
            return [("logs:DeleteLogGroup", arn("logs", f"log-group:{i['name']}"), own),
                    ("logs:DeleteLogGroup", arn("logs", f"log-group:{i['name']}:*"), own)]
        if t == "aws:sns/topic:Topic":
            return [("sns:DeleteTopic", arn("sns", i["name"]), own)]
        if t in ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"):
            return [("cloudwatch:DeleteAlarms", arn("cloudwatch", f"alarm:{i.get('name') or i['alarmName']}"), own)]
        if t == "aws:cloudwatch/dashboard:Dashboard":
            return [("cloudwatch:DeleteDashboards", arn("cloudwatch", f"dashboard/{i['dashboardName']}", region=""), {})]
        if t == "aws:ssm/parameter:Parameter":
            return [("ssm:DeleteParameter", arn("ssm", f"parameter{i['name']}"), own)]
        raise AssertionError(f"{t} ({r.name}): no delete calls known to this test; add them")


def ops_statements(env_rec, env):
    """The statements of the ops role's managed policies (bootstrap stack), attached to it."""
    boot = env_rec.bootstrap
    policies = {p.inputs["name"]: json.loads(p.inputs["policy"]) for p in boot.of("aws:iam/policy:Policy")
                if p.inputs["name"].startswith(f"otter-{env}-github-ops-")}
    attached = {a.inputs["policyArn"] for a in boot.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == f"otter-{env}-github-ops"}
    assert attached == {iam(f"policy/{n}") for n in policies} and len(policies) == 4
    return [s for d in policies.values() for s in d["Statement"]]


def test_ops_can_delete_every_resource_of_the_platform_stack(stack):
    env, rec = stack
    statements = ops_statements(rec, env)
    plat = Platform(rec.platform)
    denied, types = [], set()
    for r in rec.platform.resources:
        if not r.typ.startswith("aws:"):
            continue
        types.add(r.typ)
        for action, resource, ctx in plat.calls(r):
            if not allowed(statements, action, resource, ctx):
                denied.append((r.typ, r.name, action, resource))
    assert denied == []
    # Every kind of resource was looked at (the platform has 41 AWS resource types in both
    # environments; counted from the recorded run by hand once, so a new type shows up here too).
    assert len(types) == 41, sorted(types)


def test_ops_can_delete_nothing_of_the_bootstrap_stack(stack):
    """The other half of the split: what the platform's destroy must leave is out of reach."""
    env, rec = stack
    statements = ops_statements(rec, env)
    boot = rec.bootstrap
    attempts = []
    for r in boot.resources:
        i = r.inputs
        if r.typ == "aws:iam/role:Role":
            role = iam(f"role/{i['name']}")
            attempts += [("iam:DeleteRole", role), ("iam:UpdateAssumeRolePolicy", role), ("iam:PutRolePolicy", role),
                         ("iam:AttachRolePolicy", role), ("iam:TagRole", role)]
        elif r.typ == "aws:iam/policy:Policy":
            pol = iam(f"policy/{i['name']}")
            attempts += [("iam:DeletePolicy", pol), ("iam:CreatePolicyVersion", pol), ("iam:DeletePolicyVersion", pol)]
        elif r.typ == "aws:iam/rolePolicy:RolePolicy":
            attempts.append(("iam:DeleteRolePolicy", iam(f"role/{i['role']}")))
        elif r.typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            attempts.append(("iam:DetachRolePolicy", iam(f"role/{i['role']}")))
        elif r.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            attempts.append(("iam:DeleteOpenIDConnectProvider", iam(f"oidc-provider/{i['url'].removeprefix('https://')}")))
        elif r.typ.startswith("aws:"):
            pytest.fail(f"bootstrap resource type {r.typ} not covered")
    assert len(attempts) >= 20
    # The most favourable context an ops session could bring: the boundary, the environment's tag,
    # any of the AWS managed policies it may attach.
    ctx = {"iam:PermissionsBoundary": iam(f"policy/otter-{env}-workload-boundary"), f"aws:ResourceTag/{TAG}": env,
           "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}
    reachable = [(a, res) for a, res in attempts if allowed(statements, a, res, ctx)]
    assert reachable == []


@pytest.mark.parametrize("sid", ["Ec2ChangeOwn", "EksOwnCluster", "IamWorkloadRolesWithBoundary",
                                 "IamAttachManagedPolicies", "S3WebBucket", "CloudFrontOwn"])
def test_the_check_notices_a_missing_grant(dev, sid):
    """Without any one of these statements, some platform resource can no longer be deleted."""
    statements = [s for s in ops_statements(dev, "dev") if s["Sid"] != sid]
    plat = Platform(dev.platform)
    denied = [r.name for r in dev.platform.resources if r.typ.startswith("aws:")
              for a, res, ctx in plat.calls(r) if not allowed(statements, a, res, ctx)]
    assert denied, sid
