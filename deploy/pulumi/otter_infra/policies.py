"""IAM policy documents as plain functions of plain values.

Every document the program creates is built here, so tests can check each one directly and the
components only resolve the values (ARNs, ids) and call these. Least privilege is the rule: no
wildcard action; `Resource: "*"` only for actions that support no resource-level permission,
listed in STAR_RESOURCE_ACTIONS with the reason.
"""

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


def frontend_deliver_policy(bucket_arn: str, distribution_arn: str) -> dict:
    """CI delivery of the web files: sync to the bucket (with deletion) and invalidate."""
    return document(
        statement("ListBucket", ["s3:ListBucket"], [bucket_arn]),
        statement("SyncObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [f"{bucket_arn}/*"]),
        statement("Invalidate", ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"], [distribution_arn]),
    )


LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"


def load_balancer_controller_policy(aws: Aws, vpc_id: str) -> dict:
    """The AWS Load Balancer Controller, narrowed from the upstream policy: resources scoped to
    ELB and security-group ARNs of this account and region, and writes to what the controller
    tagged as its own. WAF, Shield and Cognito are left out (disable them in the chart values)."""
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
