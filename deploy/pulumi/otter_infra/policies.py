"""IAM policy documents as plain functions of plain values.

Every document the program creates is built here, so tests can check each one directly and the
components only resolve the values (ARNs, ids) and call these. Least privilege is the rule: no
wildcard action; `Resource: "*"` only for actions that support no resource-level permission,
listed in STAR_RESOURCE_ACTIONS with the reason.
"""

import json
import re
from dataclasses import dataclass

VERSION = "2012-10-17"

# Actions that take no resource ARN in IAM, and therefore appear with Resource "*".
STAR_RESOURCE_ACTIONS = {
    # X-Ray: resource-level permissions exist only for groups and sampling rules.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    # ECR registry login.
    "ecr:GetAuthorizationToken",
    # Read-only discovery by the AWS Load Balancer Controller.
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTags",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "acm:ListCertificates",
}


@dataclass(frozen=True)
class Aws:
    """Where ARNs point: from aws.get_partition / get_region / get_caller_identity."""

    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        r = self.region if region else ""
        a = self.account if account else ""
        return f"arn:{self.partition}:{service}:{r}:{a}:{resource}"


def document(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def statement(sid: str, actions: list, resources: list, condition: dict | None = None) -> dict:
    s = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        s["Condition"] = condition
    return s


# ---- trust policies -----------------------------------------------------------------------


def service_trust(service: str, tag_session: bool = False) -> dict:
    """Trust for an AWS service principal (EKS control plane, EC2 nodes)."""
    actions = ["sts:AssumeRole"] + (["sts:TagSession"] if tag_session else [])
    return document(
        {
            "Sid": "Service",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": sorted(actions),
        }
    )


def irsa_trust(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> dict:
    """IRSA: only the given service account of the given namespace, with the STS audience.
    `issuer` is the OIDC issuer without the scheme (`oidc.eks.REGION.amazonaws.com/id/X`)."""
    return document(
        {
            "Sid": "ServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        }
    )


def pod_identity_trust(account: str, cluster_name: str, namespace: str, service_account: str) -> dict:
    """EKS Pod Identity: the agent assumes the role and tags the session with the pod's
    namespace and service account, which the conditions pin."""
    return document(
        {
            "Sid": "PodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": account,
                    "aws:RequestTag/eks-cluster-name": cluster_name,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                }
            },
        }
    )


GITHUB_ISSUER = "token.actions.githubusercontent.com"


def github_trust(oidc_provider_arn: str, subjects: list) -> dict:
    """GitHub Actions OIDC: the STS audience and the repository's subjects (branch or
    environment), never a wildcard over repositories."""
    return document(
        {
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
                    f"{GITHUB_ISSUER}:sub": sorted(subjects),
                }
            },
        }
    )


# ---- permission policies ------------------------------------------------------------------


def otterd_policy(log_group_arns: list) -> dict:
    """otterd: streams and events in its own log groups (Pulumi creates the groups, so no
    CreateLogGroup), and the X-Ray write path."""
    streams = [f"{arn}:*" for arn in log_group_arns]
    return document(
        statement("LogsOwnGroups", ["logs:CreateLogStream", "logs:PutLogEvents"], streams),
        statement(
            "XRayWrite",
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            ["*"],
        ),
    )


def external_secrets_policy(aws: Aws, ssm_prefix: str) -> dict:
    """External Secrets: read parameters under the platform's path only."""
    path = ssm_prefix.strip("/")
    return document(
        statement(
            "ReadPlatformParameters",
            ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            [aws.arn("ssm", f"parameter/{path}/*")],
        )
    )


def bedrock_resources(aws: Aws, model_id: str, profile_id: str | None, profile_regions: list) -> list:
    """The ARNs InvokeModel* may target: the foundation model in this region, or with a
    cross-region inference profile, the profile and the model in every region it routes to.
    Foundation-model ARNs have an empty account field."""
    if not profile_id:
        return [aws.arn("bedrock", f"foundation-model/{model_id}", account=False)]
    out = [aws.arn("bedrock", f"inference-profile/{profile_id}")]
    for region in sorted(set(profile_regions)):
        out.append(f"arn:{aws.partition}:bedrock:{region}::foundation-model/{model_id}")
    return out


def chatbot_policy(bedrock_arns: list, table_arn: str) -> dict:
    return document(
        statement(
            "InvokeConfiguredModel",
            ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            bedrock_arns,
        ),
        statement(
            "ChatHistory",
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
            ],
            [table_arn, f"{table_arn}/index/*"],
        ),
    )


def ecr_push_policy(repository_arns: list) -> dict:
    """CI delivery: log in to the registry and push to Otter's repositories only."""
    return document(
        statement("RegistryLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        statement(
            "PushOwnRepositories",
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            sorted(repository_arns),
        ),
    )


def frontend_bucket_policy(bucket_arn: str, distribution_arn: str) -> dict:
    """The private bucket is readable by this CloudFront distribution only (OAC)."""
    return document(
        {
            "Sid": "CloudFrontOAC",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        }
    )


def frontend_deliver_policy(aws: Aws, env: str, prefix: str) -> dict:
    """CI delivery of the web files: sync to the bucket (with deletion) and invalidate.

    Built before the bucket and the distribution exist (the bootstrap stack): the bucket by the
    `<prefix>-web-` name prefix frontend.py gives it, the distribution (whose id is generated)
    by the environment's tag on it."""
    bucket = f"arn:{aws.partition}:s3:::{prefix}-web-*"
    return document(
        statement("ListBucket", ["s3:ListBucket"], [bucket]),
        statement("SyncObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [f"{bucket}/*"]),
        statement(
            "Invalidate",
            ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
            [f"arn:{aws.partition}:cloudfront::{aws.account}:distribution/*"],
            {"StringEquals": {"aws:ResourceTag/otter:environment": env}},
        ),
    )


def delivery_policy(aws: Aws, env: str, prefix: str, repositories: list) -> dict:
    """The GitHub delivery role: push to the environment's two repositories (by name), sync the
    web bucket and invalidate the distribution (frontend_deliver_policy)."""
    repos = [aws.arn("ecr", f"repository/{r}") for r in repositories]
    return document(*ecr_push_policy(repos)["Statement"], *frontend_deliver_policy(aws, env, prefix)["Statement"])


LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"


def load_balancer_controller_policy(aws: Aws, vpc_id: str, cluster_sg_id: str) -> dict:
    """The AWS Load Balancer Controller, narrowed from the upstream policy: resources scoped to
    ELB and security-group ARNs of this account and region, and writes to what the controller
    tagged as its own. WAF, Shield and Cognito are left out (disable them in the chart values).
    The one untagged group it may change is the cluster's own (|cluster_sg_id|, on the pods'
    ENIs), and only its ingress rules: the ALB's backend rule goes there (the upstream policy
    grants that on every group)."""
    lb = [
        aws.arn("elasticloadbalancing", "loadbalancer/app/*/*"),
        aws.arn("elasticloadbalancing", "loadbalancer/net/*/*"),
    ]
    tg = [aws.arn("elasticloadbalancing", "targetgroup/*/*")]
    listeners = [
        aws.arn("elasticloadbalancing", "listener/app/*/*/*"),
        aws.arn("elasticloadbalancing", "listener/net/*/*/*"),
        aws.arn("elasticloadbalancing", "listener-rule/app/*/*/*/*"),
        aws.arn("elasticloadbalancing", "listener-rule/net/*/*/*/*"),
    ]
    sg = [aws.arn("ec2", "security-group/*")]
    vpc = [aws.arn("ec2", f"vpc/{vpc_id}")]
    request_tagged = {"Null": {f"aws:RequestTag/{LBC_CLUSTER_TAG}": "false"}}
    resource_tagged = {"Null": {f"aws:ResourceTag/{LBC_CLUSTER_TAG}": "false"}}
    star = sorted(a for a in STAR_RESOURCE_ACTIONS if a.split(":")[0] in ("ec2", "elasticloadbalancing", "acm"))
    return document(
        {
            "Sid": "ServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": aws.arn(
                "iam",
                "role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
                region=False,
            ),
            "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        },
        statement("Discover", star, ["*"]),
        statement("DescribeCertificates", ["acm:DescribeCertificate"], [aws.arn("acm", "certificate/*")]),
        statement("SecurityGroupsOfVpc", ["ec2:GetSecurityGroupsForVpc"], vpc),
        statement("CreateSecurityGroup", ["ec2:CreateSecurityGroup"], vpc + sg),
        statement(
            "TagNewSecurityGroup",
            ["ec2:CreateTags"],
            sg,
            {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **request_tagged},
        ),
        statement(
            "OwnSecurityGroups",
            [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteTags",
                "ec2:RevokeSecurityGroupIngress",
            ],
            sg,
            resource_tagged,
        ),
        statement(
            "BackendRuleOnClusterGroup",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            [aws.arn("ec2", f"security-group/{cluster_sg_id}")],
        ),
        statement(
            "CreateLoadBalancers",
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            lb + tg,
            request_tagged,
        ),
        statement(
            "TagOnCreate",
            ["elasticloadbalancing:AddTags"],
            lb + tg,
            {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": ["CreateLoadBalancer", "CreateTargetGroup"]
                },
                **request_tagged,
            },
        ),
        statement(
            "OwnLoadBalancers",
            [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            lb + tg,
            resource_tagged,
        ),
        statement(
            "ListenersAndRules",
            [
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:RemoveTags",
            ],
            lb + listeners,
        ),
        statement(
            "Targets",
            ["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"],
            tg,
        ),
    )


# ---- the platform's own operators: boundary and the GitHub ops role -----------------------

# Resource "*" in the ops role: each action here supports no resource-level permission (IAM's
# service authorization reference lists no resource type for it), with why the ops role calls it.
OPS_STAR_RESOURCE_ACTIONS = {
    # Pulumi's reads of the network and the node launch template, and verify-clean's sweep.
    "ec2:DescribeAccountAttributes": "Pulumi's provider configuration check",
    "ec2:DescribeAddresses": "NAT EIPs (read, refresh, verify-clean)",
    "ec2:DescribeAddressesAttribute": "EIP attributes on refresh",
    "ec2:DescribeAvailabilityZones": "aws.get_availability_zones",
    "ec2:DescribeInternetGateways": "IGW read",
    "ec2:DescribeLaunchTemplates": "node launch template read",
    "ec2:DescribeLaunchTemplateVersions": "node launch template read",
    "ec2:DescribeManagedPrefixLists": "the CloudFront origin-facing prefix list (ALB security group)",
    "ec2:DescribeNatGateways": "NAT read and verify-clean",
    "ec2:DescribeNetworkAcls": "the VPC's default ACL on refresh",
    "ec2:DescribeNetworkInterfaces": "ENI leftovers (verify-clean)",
    "ec2:DescribePrefixLists": "gateway endpoint prefix lists",
    "ec2:DescribeRouteTables": "route tables read",
    "ec2:DescribeSecurityGroupRules": "security group rules read",
    "ec2:DescribeSecurityGroups": "security groups read and verify-clean",
    "ec2:DescribeSubnets": "subnets read",
    "ec2:DescribeTags": "tags read",
    "ec2:DescribeVpcEndpointServices": "interface endpoint service names",
    "ec2:DescribeVpcEndpoints": "endpoints read",
    "ec2:DescribeVpcs": "VPC read and verify-clean",
    "eks:DescribeAddonVersions": "add-on version lookup",
    "eks:ListClusters": "verify-clean",
    "eks:CreateCluster": "a new cluster has no ARN yet (restricted by the request tag instead)",
    "cloudfront:CreateOriginAccessControl": "a new origin access control has no ARN yet",
    "logs:DescribeLogGroups": "the log groups read and verify-clean's sweep",
    "elasticloadbalancing:DescribeLoadBalancers": "verify-clean: LB controller leftovers",
    "elasticloadbalancing:DescribeTargetGroups": "verify-clean: LB controller leftovers",
    "elasticloadbalancing:DescribeTags": "verify-clean: which cluster a load balancer belongs to",
    "iam:ListOpenIDConnectProviders": "verify-clean",
    "iam:ListPolicies": "verify-clean",
    "iam:ListRoles": "verify-clean",
    "kms:CreateKey": "a new key has no ARN yet (restricted by the request tag instead)",
    "kms:ListAliases": "alias read",
    "dynamodb:ListTables": "verify-clean",
    "sns:ListTopics": "verify-clean",
    "cloudwatch:ListDashboards": "verify-clean",
    "ssm:DescribeParameters": "verify-clean and Pulumi's parameter read",
    "cloudfront:ListDistributions": "verify-clean",
    "cloudfront:ListOriginAccessControls": "verify-clean (origin access controls are untagged)",
    "cloudfront:ListResponseHeadersPolicies": "verify-clean (response headers policies are untagged)",
}

# AWS-managed policies the program attaches (cluster and node roles); the ops role may attach
# these and no other.
MANAGED_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonEKS_CNI_Policy",
)

# Service-linked roles EKS, its managed node groups and Auto Scaling create on first use.
SERVICE_LINKED_ROLES = {
    "eks.amazonaws.com": "AWSServiceRoleForAmazonEKS",
    "eks-nodegroup.amazonaws.com": "AWSServiceRoleForAmazonEKSNodegroup",
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
}


def boundary_name(prefix: str) -> str:
    return f"{prefix}-workload-boundary"


def workload_boundary_policy(aws: Aws, env: str, prefix: str) -> dict:
    """The permissions boundary of the workload roles (otterd, External Secrets, LB controller,
    chatbot): the union of what their own policies may grant, over the environment's resources.
    The ops role may create and change those roles only with this boundary attached, so a
    compromised ops session cannot grant a workload role (and itself through it) more."""
    otterd = otterd_policy([aws.arn("logs", f"log-group:/otter/{env}/*")])
    eso = external_secrets_policy(aws, f"/otter/{env}")
    lbc = load_balancer_controller_policy(aws, "*", "*")
    models = [
        f"arn:{aws.partition}:bedrock:*::foundation-model/*",
        aws.arn("bedrock", "inference-profile/*"),
    ]
    chatbot = chatbot_policy(models, aws.arn("dynamodb", f"table/{prefix}-*"))
    # A boundary only caps: per service and resource list, the union of the actions (the roles'
    # own policies keep their conditions), which keeps it under the managed-policy size limit.
    merged = {}
    for doc in (otterd, eso, lbc, chatbot):
        for s in doc["Statement"]:
            resources = tuple(sorted(s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            for a in actions:
                merged.setdefault((a.split(":")[0], resources), set()).add(a)
    out = []
    for (service, resources), actions in sorted(merged.items()):
        sid = "".join(w.capitalize() for w in re.split(r"[^a-zA-Z0-9]", service)) + str(len(out) + 1)
        out.append(statement(sid, sorted(actions), list(resources)))
    return document(*out)


def ops_policy(
    aws: Aws,
    env: str,
    prefix: str,
    role_names: dict,
    github_role_names: list,
    ssm_prefix: str,
    log_groups: list,
    table: str,
    topic: str,
    repositories: list,
    state_bucket: str | None = None,
    state_key_arn: str | None = None,
) -> dict:
    """What the ops workflow's playbooks call (up, deploy, destroy, deliver, verify-clean) through
    the Pulumi AWS provider and the AWS CLI: every write scoped to this environment's names or to
    resources carrying its `otter:environment` tag; IAM only on the roles the stack names, the
    workload roles only with the permissions boundary; the CI roles and the boundary itself are
    read-only here (an administrator changes them: the bootstrap chicken-and-egg)."""
    tag_key = "otter:environment"
    request_tagged = {"StringEquals": {f"aws:RequestTag/{tag_key}": env}}
    resource_tagged = {"StringEquals": {f"aws:ResourceTag/{tag_key}": env}}
    ec2_types = [
        "vpc",
        "subnet",
        "internet-gateway",
        "route-table",
        "natgateway",
        "elastic-ip",
        "vpc-endpoint",
        "security-group",
        "launch-template",
    ]
    ec2_arns = [aws.arn("ec2", f"{t}/*") for t in ec2_types]
    ec2_create = [
        "ec2:AllocateAddress",
        "ec2:CreateInternetGateway",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateNatGateway",
        "ec2:CreateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:CreateSubnet",
        "ec2:CreateVpc",
        "ec2:CreateVpcEndpoint",
    ]
    cluster = f"{prefix}"
    eks_arns = [
        aws.arn("eks", f"cluster/{cluster}"),
        aws.arn("eks", f"nodegroup/{cluster}/*/*"),
        aws.arn("eks", f"addon/{cluster}/*/*"),
        aws.arn("eks", f"access-entry/{cluster}/*/*/*/*"),
        aws.arn("eks", f"podidentityassociation/{cluster}/*"),
    ]
    workload_roles = [aws.arn("iam", f"role/{role_names[k]}", region=False) for k in ("otterd", "external-secrets", "aws-load-balancer-controller", "chatbot")]
    managed_roles = [aws.arn("iam", f"role/{role_names[k]}", region=False) for k in ("cluster", "node")]
    boundary_arn = aws.arn("iam", f"policy/{boundary_name(prefix)}", region=False)
    github_roles = [aws.arn("iam", f"role/{n}", region=False) for n in github_role_names]
    oidc = aws.arn("iam", f"oidc-provider/oidc.eks.{aws.region}.amazonaws.com/id/*", region=False)
    github_oidc = aws.arn("iam", f"oidc-provider/{GITHUB_ISSUER}", region=False)
    role_read = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:ListRoleTags"]
    key_arns = [aws.arn("kms", "key/*")]
    log_arns = [aws.arn("logs", f"log-group:{g}") for g in log_groups] + [aws.arn("logs", f"log-group:{g}:*") for g in log_groups]
    bucket = f"arn:{aws.partition}:s3:::{prefix}-web-*"
    repos = [aws.arn("ecr", f"repository/{r}") for r in repositories]
    alarms = [aws.arn("cloudwatch", f"alarm:{prefix}-*")]
    dashboards = [aws.arn("cloudwatch", f"dashboard/{prefix}-*", region=False)]
    statements = [
        statement("Ec2Read", [a for a in OPS_STAR_RESOURCE_ACTIONS if a.startswith("ec2:")], ["*"]),
        statement("Ec2CreateTagged", ec2_create, ec2_arns, request_tagged),
        statement(
            "Ec2TagOnCreate",
            ["ec2:CreateTags"],
            ec2_arns,
            {"StringEquals": {"ec2:CreateAction": sorted(a.split(":")[1] for a in ec2_create), f"aws:RequestTag/{tag_key}": env}},
        ),
        statement(
            "Ec2ChangeOwn",
            [
                "ec2:AssociateRouteTable",
                "ec2:AttachInternetGateway",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:CreateRoute",
                "ec2:CreateTags",
                "ec2:DeleteInternetGateway",
                "ec2:DeleteLaunchTemplate",
                "ec2:DeleteNatGateway",
                "ec2:DeleteRoute",
                "ec2:DeleteRouteTable",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteSubnet",
                "ec2:DeleteTags",
                "ec2:DeleteVpc",
                "ec2:DeleteVpcEndpoints",
                "ec2:DetachInternetGateway",
                "ec2:DisassociateAddress",
                "ec2:DisassociateRouteTable",
                "ec2:ModifyLaunchTemplate",
                "ec2:ModifySubnetAttribute",
                "ec2:ModifyVpcAttribute",
                "ec2:ModifyVpcEndpoint",
                "ec2:ReleaseAddress",
                "ec2:ReplaceRoute",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            ec2_arns,
            resource_tagged,
        ),
        statement("Ec2ReadVpcAttribute", ["ec2:DescribeVpcAttribute"], [aws.arn("ec2", "vpc/*")]),
        # The provider's read of a managed prefix list also fetches its entries; the CloudFront
        # list is AWS-owned (account field "aws" in its ARN).
        statement(
            "Ec2ReadAwsPrefixLists",
            ["ec2:GetManagedPrefixListEntries"],
            [f"arn:{aws.partition}:ec2:{aws.region}:aws:prefix-list/*"],
        ),
        statement("EksRead", ["eks:DescribeAddonVersions", "eks:ListClusters"], ["*"]),
        statement("EksCreateTagged", ["eks:CreateCluster"], ["*"], request_tagged),
        statement(
            "EksOwnCluster",
            [
                "eks:AssociateAccessPolicy",
                "eks:CreateAccessEntry",
                "eks:CreateAddon",
                "eks:CreateNodegroup",
                "eks:CreatePodIdentityAssociation",
                "eks:DeleteAccessEntry",
                "eks:DeleteAddon",
                "eks:DeleteCluster",
                "eks:DeleteNodegroup",
                "eks:DeletePodIdentityAssociation",
                "eks:DescribeAccessEntry",
                "eks:DescribeAddon",
                "eks:DescribeCluster",
                "eks:DescribeNodegroup",
                "eks:DescribePodIdentityAssociation",
                "eks:DescribeUpdate",
                "eks:DisassociateAccessPolicy",
                "eks:ListAccessEntries",
                "eks:ListAddons",
                "eks:ListAssociatedAccessPolicies",
                "eks:ListNodegroups",
                "eks:ListPodIdentityAssociations",
                "eks:ListTagsForResource",
                "eks:TagResource",
                "eks:UntagResource",
                "eks:UpdateAccessEntry",
                "eks:UpdateAddon",
                "eks:UpdateClusterConfig",
                "eks:UpdateClusterVersion",
                "eks:UpdateNodegroupConfig",
                "eks:UpdateNodegroupVersion",
                "eks:UpdatePodIdentityAssociation",
            ],
            eks_arns,
        ),
        statement("IamReadForVerifyClean", ["iam:ListOpenIDConnectProviders", "iam:ListPolicies", "iam:ListRoles"], ["*"]),
        statement("IamReadRoles", role_read, sorted(workload_roles + managed_roles + github_roles)),
        # verify-clean reads the tags of every role and OIDC provider to find tagged leftovers.
        statement(
            "IamReadTagsForVerifyClean",
            ["iam:ListOpenIDConnectProviderTags", "iam:ListRoleTags"],
            [aws.arn("iam", "role/*", region=False), aws.arn("iam", "oidc-provider/*", region=False)],
        ),
        # The boundary and the ops role's own policies: read on refresh, changed by an administrator.
        statement(
            "IamReadAdminPolicies",
            ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"],
            [boundary_arn, aws.arn("iam", f"policy/{prefix}-github-ops-*", region=False)],
        ),
        statement(
            "IamWorkloadRolesWithBoundary",
            ["iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"],
            sorted(workload_roles),
            {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        statement(
            "IamChangeWorkloadRoles",
            ["iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole"],
            sorted(workload_roles + managed_roles),
        ),
        statement("IamCreateManagedRoles", ["iam:CreateRole"], sorted(managed_roles)),
        statement(
            "IamAttachManagedPolicies",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            sorted(managed_roles),
            {"ArnEquals": {"iam:PolicyARN": [f"arn:{aws.partition}:iam::aws:policy/{p}" for p in MANAGED_POLICIES]}},
        ),
        statement(
            "IamPassRoles",
            ["iam:PassRole"],
            sorted(managed_roles + [aws.arn("iam", f"role/{role_names['chatbot']}", region=False)]),
            {"StringEquals": {"iam:PassedToService": ["eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com"]}},
        ),
        statement(
            "IamServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            sorted(aws.arn("iam", f"role/aws-service-role/{svc}/{role}", region=False) for svc, role in SERVICE_LINKED_ROLES.items()),
            {"StringEquals": {"iam:AWSServiceName": sorted(SERVICE_LINKED_ROLES)}},
        ),
        statement(
            "IamClusterOidcProvider",
            [
                "iam:AddClientIDToOpenIDConnectProvider",
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            [oidc],
        ),
        statement("IamReadGithubProvider", ["iam:GetOpenIDConnectProvider"], [github_oidc]),
        statement("KmsCreateTagged", ["kms:CreateKey"], ["*"], request_tagged),
        statement("KmsAliases", ["kms:ListAliases"], ["*"]),
        statement(
            "KmsAlias",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            [aws.arn("kms", f"alias/{cluster}-eks-secrets")] + key_arns,
        ),
        statement(
            "KmsOwnKeys",
            [
                "kms:CreateGrant",
                "kms:DescribeKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
            ],
            key_arns,
            resource_tagged,
        ),
        statement(
            "EcrOwnRepositories",
            [
                "ecr:BatchDeleteImage",
                "ecr:CreateRepository",
                "ecr:DeleteLifecyclePolicy",
                "ecr:DeleteRepository",
                "ecr:DescribeImages",
                "ecr:DescribeRepositories",
                "ecr:GetLifecyclePolicy",
                "ecr:GetRepositoryPolicy",
                "ecr:ListImages",
                "ecr:ListTagsForResource",
                "ecr:PutImageScanningConfiguration",
                "ecr:PutImageTagMutability",
                "ecr:PutLifecyclePolicy",
                "ecr:TagResource",
                "ecr:UntagResource",
            ],
            sorted(repos),
        ),
        statement(
            "S3WebBucket",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetAccelerateConfiguration",
                "s3:GetBucketAcl",
                "s3:GetBucketCORS",
                "s3:GetBucketLocation",
                "s3:GetBucketLogging",
                "s3:GetBucketObjectLockConfiguration",
                "s3:GetBucketOwnershipControls",
                "s3:GetBucketPolicy",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketRequestPayment",
                "s3:GetBucketTagging",
                "s3:GetBucketVersioning",
                "s3:GetBucketWebsite",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutEncryptionConfiguration",
            ],
            [bucket],
        ),
        statement(
            "S3WebObjects",
            ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:PutObject"],
            [f"{bucket}/*"],
        ),
        statement("CloudFrontList", ["cloudfront:ListDistributions"], ["*"]),
        statement(
            "CloudFrontOwn",
            [
                "cloudfront:CreateDistribution",
                "cloudfront:CreateDistributionWithTags",
                "cloudfront:CreateInvalidation",
                "cloudfront:DeleteDistribution",
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:GetInvalidation",
                "cloudfront:ListTagsForResource",
                "cloudfront:TagResource",
                "cloudfront:UntagResource",
                "cloudfront:UpdateDistribution",
            ],
            [f"arn:{aws.partition}:cloudfront::{aws.account}:distribution/*"],
        ),
        statement("CloudFrontCreateOriginAccess", ["cloudfront:CreateOriginAccessControl"], ["*"]),
        statement(
            "CloudFrontOriginAccess",
            [
                "cloudfront:DeleteOriginAccessControl",
                "cloudfront:GetOriginAccessControl",
                "cloudfront:UpdateOriginAccessControl",
            ],
            [f"arn:{aws.partition}:cloudfront::{aws.account}:origin-access-control/*"],
        ),
        statement(
            "CloudFrontResponseHeaders",
            [
                "cloudfront:CreateResponseHeadersPolicy",
                "cloudfront:DeleteResponseHeadersPolicy",
                "cloudfront:GetResponseHeadersPolicy",
                "cloudfront:UpdateResponseHeadersPolicy",
            ],
            [f"arn:{aws.partition}:cloudfront::{aws.account}:response-headers-policy/*"],
        ),
        statement("DynamoDbList", ["dynamodb:ListTables"], ["*"]),
        statement(
            "DynamoDbOwnTable",
            [
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateTimeToLive",
            ],
            [aws.arn("dynamodb", f"table/{table}")],
        ),
        statement("LogsList", ["logs:DescribeLogGroups"], ["*"]),
        statement(
            "LogsOwnGroups",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            sorted(log_arns),
        ),
        statement("SnsList", ["sns:ListTopics"], ["*"]),
        statement(
            "SnsOwnTopic",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:ListTagsForResource",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            [aws.arn("sns", topic)],
        ),
        statement("CloudWatchList", ["cloudwatch:ListDashboards"], ["*"]),
        statement("CloudWatchDescribeAlarms", ["cloudwatch:DescribeAlarms"], [aws.arn("cloudwatch", "alarm:*")]),
        statement(
            "CloudWatchOwnAlarms",
            ["cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:PutCompositeAlarm", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
            alarms,
        ),
        statement(
            "CloudWatchOwnDashboards",
            ["cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard", "cloudwatch:PutDashboard"],
            dashboards,
        ),
        statement("SsmList", ["ssm:DescribeParameters"], ["*"]),
        statement(
            "SsmOwnParameters",
            [
                "ssm:AddTagsToResource",
                "ssm:DeleteParameter",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:GetParametersByPath",
                "ssm:ListTagsForResource",
                "ssm:PutParameter",
                "ssm:RemoveTagsFromResource",
            ],
            [aws.arn("ssm", f"parameter{ssm_prefix}/*")],
        ),
    ]
    if state_bucket:
        statements.append(statement("StateBucket", ["s3:GetBucketLocation", "s3:ListBucket"], [f"arn:{aws.partition}:s3:::{state_bucket}"]))
        statements.append(
            statement("StateObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [f"arn:{aws.partition}:s3:::{state_bucket}/*"])
        )
    if state_key_arn:
        statements.append(statement("StateSecretsKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [state_key_arn]))
    return document(*statements)


# IAM's size limit of a customer managed policy, counted without whitespace.
MANAGED_POLICY_MAX_CHARS = 6144


def policy_size(doc: dict) -> int:
    return len(json.dumps(doc, separators=(",", ":")))


def split_ops_policy(doc: dict) -> dict:
    """The ops grants by concern, one managed policy each (one document exceeds IAM's 6,144
    characters, and a role's inline policies share 10,240): the same statements, grouped by
    their Sid's service prefix, so the number of policies never depends on the values."""
    groups = {"network": ("Ec2", "Eks"), "identity": ("Iam",), "keys": ("Kms", "State")}
    parts = {k: [] for k in (*groups, "stores")}
    for s in doc["Statement"]:
        head = re.match(r"[A-Z][a-z0-9]*", s["Sid"]).group(0)
        part = next((k for k, heads in groups.items() if head in heads), "stores")
        parts[part].append(s)
    return {k: document(*v) for k, v in parts.items()}
