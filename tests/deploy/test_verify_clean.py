"""deploy/tools/verify_clean.py against a moto server seeded with each kind of residue."""

import json
import os
import subprocess
import sys
import urllib.request

import boto3
import pytest

import pulumi_harness as h
from fakes.cloudfront_rhp import CloudFrontProxy

CHECKER = os.path.join(h.ROOT, "deploy", "tools", "verify_clean.py")
REGION = "us-east-1"
PLATFORM_TAGS = [{"Key": "otter:platform", "Value": "otter"}, {"Key": "otter:environment", "Value": "dev"}]


@pytest.fixture(scope="module")
def cloudfront(moto):
    """CloudFront: moto, with ListResponseHeadersPolicies (which moto lacks) answered by the proxy."""
    proxy = CloudFrontProxy(moto)
    yield proxy
    proxy.close()


@pytest.fixture
def aws(moto, cloudfront, monkeypatch):
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST")).read()
    cloudfront.policies.clear()
    cloudfront.errors.clear()
    env = {
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_CLOUDFRONT": cloudfront.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return lambda svc: boto3.client(svc, region_name=REGION, endpoint_url=moto)


def check(env="dev"):
    p = subprocess.run(
        [sys.executable, CHECKER, "--env", env, "--region", REGION, "--json"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert p.returncode in (0, 1), p.stderr
    residues = json.loads(p.stdout)["residues"]
    return p.returncode, {(r["kind"], r["id"]) for r in residues}


def test_an_empty_account_is_clean(aws):
    assert check() == (0, set())


def test_another_environment_and_foreign_resources_are_not_reported(aws):
    aws("logs").create_log_group(logGroupName="/otter/prod/agent")
    aws("logs").create_log_group(logGroupName="/someone/else")
    aws("iam").create_role(RoleName="otter-prod-otterd", AssumeRolePolicyDocument="{}")
    aws("ecr").create_repository(repositoryName="otter/prod/otterd")
    assert check("dev") == (0, set())


def test_log_groups_including_the_one_eks_recreates(aws):
    logs = aws("logs")
    logs.create_log_group(logGroupName="/otter/dev/agent")
    logs.create_log_group(logGroupName="/aws/eks/otter-dev/cluster")
    rc, found = check()
    assert rc == 1
    assert {("log-group", "/otter/dev/agent"), ("log-group", "/aws/eks/otter-dev/cluster")} <= found


def test_eni_and_security_groups_left_by_the_cluster_and_the_lb_controller(aws):
    ec2 = aws("ec2")
    # A VPC that is not the platform's: only the leftovers' own markers can find them.
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    lbc_sg = ec2.create_security_group(
        GroupName="k8s-chatbot-web-1a2b3c", Description="[k8s] Managed SecurityGroup", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "elbv2.k8s.aws/cluster", "Value": "otter-dev"}]}],
    )["GroupId"]
    eks_sg = ec2.create_security_group(
        GroupName="eks-cluster-sg-otter-dev-123456", Description="EKS created security group", VpcId=vpc
    )["GroupId"]
    cni_eni = ec2.create_network_interface(
        SubnetId=subnet, Description="aws-K8S-i-0abc",
        TagSpecifications=[{"ResourceType": "network-interface", "Tags": [{"Key": "cluster.k8s.amazonaws.com/name", "Value": "otter-dev"}]}],
    )["NetworkInterface"]["NetworkInterfaceId"]
    eks_eni = ec2.create_network_interface(SubnetId=subnet, Description="Amazon EKS otter-dev")["NetworkInterface"]["NetworkInterfaceId"]
    ec2.create_network_interface(SubnetId=subnet, Description="someone else's")
    rc, found = check()
    assert rc == 1
    assert {
        ("security-group", lbc_sg),
        ("security-group", eks_sg),
        ("network-interface", cni_eni),
        ("network-interface", eks_eni),
    } == {f for f in found if f[0] in ("security-group", "network-interface")}


def test_everything_in_a_platform_vpc_is_reported(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(
        CidrBlock="10.40.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": PLATFORM_TAGS}]
    )["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Description="untagged")["NetworkInterface"]["NetworkInterfaceId"]
    sg = ec2.create_security_group(GroupName="anything", Description="x", VpcId=vpc)["GroupId"]
    rc, found = check()
    assert rc == 1
    assert {("vpc", vpc), ("network-interface", eni), ("security-group", sg)} <= found


def test_load_balancer_and_target_group_of_the_lb_controller(aws):
    ec2, elb = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    s1 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    s2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    lb_tags = [{"Key": "elbv2.k8s.aws/cluster", "Value": "otter-dev"}, {"Key": "ingress.k8s.aws/stack", "Value": "chatbot/web"}]
    lb = elb.create_load_balancer(Name="k8s-chatbot-web-1a2b", Subnets=[s1, s2], Tags=lb_tags)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="k8s-chatbot-web-3c4d", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", Tags=lb_tags)[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elb.create_load_balancer(Name="not-ours", Subnets=[s1, s2])
    rc, found = check()
    assert rc == 1
    assert {("load-balancer", lb), ("target-group", tg)} == {f for f in found if f[0] in ("load-balancer", "target-group")}


def test_nat_elastic_ip(aws):
    ec2 = aws("ec2")
    alloc = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": PLATFORM_TAGS}])["AllocationId"]
    ec2.allocate_address(Domain="vpc")
    rc, found = check()
    assert rc == 1
    assert {f for f in found if f[0] == "elastic-ip"} == {("elastic-ip", alloc)}


def test_buckets_by_name_and_by_tag(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="otter-dev-web-abc123")
    s3.put_object(Bucket="otter-dev-web-abc123", Key="index.html", Body=b"<html></html>")
    s3.create_bucket(Bucket="renamed-by-hand")
    s3.put_bucket_tagging(Bucket="renamed-by-hand", Tagging={"TagSet": PLATFORM_TAGS})
    s3.create_bucket(Bucket="unrelated")
    rc, found = check()
    assert rc == 1
    assert {f for f in found if f[0] == "s3-bucket"} == {("s3-bucket", "otter-dev-web-abc123"), ("s3-bucket", "renamed-by-hand")}


def test_ecr_repository_with_an_image(aws):
    ecr = aws("ecr")
    ecr.create_repository(repositoryName="otter/dev/otterd")
    ecr.put_image(repositoryName="otter/dev/otterd", imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {}, "layers": []}),
        imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json", imageTag="abc1234",
    )
    rc, found = check()
    assert rc == 1
    assert ("ecr-repository", "otter/dev/otterd") in found


def test_iam_roles_policies_and_oidc_providers(aws):
    iam = aws("iam")
    iam.create_role(RoleName="otter-dev-otterd", AssumeRolePolicyDocument="{}")
    iam.create_role(RoleName="renamed", AssumeRolePolicyDocument="{}", Tags=PLATFORM_TAGS)
    iam.create_role(RoleName="unrelated", AssumeRolePolicyDocument="{}")
    pol = iam.create_policy(PolicyName="otter-dev-extra", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::x"}]}))["Policy"]["Arn"]
    oidc = iam.create_open_id_connect_provider(
        Url="https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40], Tags=PLATFORM_TAGS
    )["OpenIDConnectProviderArn"]
    rc, found = check()
    assert rc == 1
    assert {("iam-role", "otter-dev-otterd"), ("iam-role", "renamed"), ("iam-policy", pol), ("oidc-provider", oidc)} <= found
    assert ("iam-role", "unrelated") not in found


def test_eks_cluster_ssm_alarms_dashboards_topic_and_table(aws):
    iam = aws("iam")
    role = iam.create_role(RoleName="x", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws("eks").create_cluster(name="otter-dev", roleArn=role, resourcesVpcConfig={"subnetIds": []})
    aws("ssm").put_parameter(Name="/otter/dev/chatbot/dynamodb-table", Value="t", Type="String")
    cw = aws("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="otter-dev-chatbot-availability-burn-1h", MetricName="bad", Namespace="Otter/SLO", Statistic="Sum",
        Period=300, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
    )
    cw.put_dashboard(DashboardName="otter-dev-slo", DashboardBody=json.dumps({"widgets": []}))
    topic = aws("sns").create_topic(Name="otter-dev-alerts")["TopicArn"]
    aws("dynamodb").create_table(
        TableName="otter-dev-chat-history", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
    )
    rc, found = check()
    assert rc == 1
    assert {
        ("eks-cluster", "otter-dev"),
        ("ssm-parameter", "/otter/dev/chatbot/dynamodb-table"),
        ("alarm", "otter-dev-chatbot-availability-burn-1h"),
        ("dashboard", "otter-dev-slo"),
        ("sns-topic", topic),
        ("dynamodb-table", "otter-dev-chat-history"),
    } <= found


def test_text_output_lists_each_residue_and_exits_non_zero(aws):
    aws("logs").create_log_group(logGroupName="/otter/dev/emf")
    p = subprocess.run([sys.executable, CHECKER, "--env", "dev", "--region", REGION], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "RESIDUE log-group /otter/dev/emf (name)" in p.stdout.splitlines()


def test_cloudfront_distribution_and_kms_alias(aws):
    cf = aws("cloudfront")
    dist = cf.create_distribution(
        DistributionConfig={
            "CallerReference": "x",
            "Comment": "otter-dev web files",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "web-bucket", "DomainName": "otter-dev-web-abc123.s3.us-east-1.amazonaws.com",
                                                   "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "web-bucket", "ViewerProtocolPolicy": "redirect-to-https",
                                     "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                     "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        }
    )["Distribution"]["Id"]
    kms = aws("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/otter-dev-eks-secrets", TargetKeyId=key)
    kms.create_alias(AliasName="alias/otter-prod-eks-secrets", TargetKeyId=key)
    rc, found = check()
    assert rc == 1
    assert {("cloudfront-distribution", dist), ("kms-alias", "alias/otter-dev-eks-secrets")} <= found
    assert ("kms-alias", "alias/otter-prod-eks-secrets") not in found


def test_cloudfront_origin_access_control_and_response_headers_policies(aws, cloudfront):
    # Neither takes tags: frontend.py names them otter-<env>-web and otter-<env>-web-page.
    cf = aws("cloudfront")

    def oac(name):
        return cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": name, "Description": "x", "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]

    ours, theirs = oac("otter-dev-web"), oac("otter-prod-web")
    oac("someone-else")
    # Three pages of one policy each: the second of ours is only found by following NextMarker.
    cloudfront.policies.extend([("RHP1", "otter-dev-web-page", "otter-dev chat page security headers"),
                                ("RHP2", "otter-prod-web-page", ""),
                                ("RHP3", "otter-dev-extra", "")])
    rc, found = check()
    assert cloudfront.errors == []
    assert rc == 1
    cf_found = {r for r in found if r[0].startswith("cloudfront-")}
    assert cf_found == {("cloudfront-origin-access-control", ours),
                        ("cloudfront-response-headers-policy", "RHP1"),
                        ("cloudfront-response-headers-policy", "RHP3")}, found
    assert ("cloudfront-origin-access-control", theirs) in check("prod")[1]


# ---- the bootstrap stack outlives a platform destroy ----------------------------------------------

def check_with(*flags, env="dev"):
    p = subprocess.run(
        [sys.executable, CHECKER, "--env", env, "--region", REGION, "--json", *flags],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    return (p.returncode, {(r["kind"], r["id"]) for r in doc["residues"]},
            {(r["kind"], r["id"]) for r in doc["kept"]["bootstrap"]})


def seed_bootstrap(aws, env):
    """What the bootstrap program creates, taken from its (mocked) run: the roles and managed
    policies by their names, the GitHub OIDC provider with its tags. Returns the expected ids."""
    from conftest import REPO

    boot = h.run_bootstrap(env, environ={"OTTER_GITHUB_REPOSITORY": REPO})
    iam = aws("iam")
    ids = set()
    for r in boot.of("aws:iam/role:Role"):
        iam.create_role(RoleName=r.inputs["name"], AssumeRolePolicyDocument=r.inputs["assumeRolePolicy"],
                        Tags=[{"Key": k, "Value": v} for k, v in r.inputs["tags"].items()])
        ids.add(("iam-role", r.inputs["name"]))
    for p in boot.of("aws:iam/policy:Policy"):
        arn = iam.create_policy(PolicyName=p.inputs["name"], PolicyDocument=p.inputs["policy"])["Policy"]["Arn"]
        ids.add(("iam-policy", arn))
    (oidc,) = boot.of("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    arn = iam.create_open_id_connect_provider(
        Url=oidc.inputs["url"], ClientIDList=oidc.inputs["clientIdLists"], ThumbprintList=["a" * 40],
        Tags=[{"Key": k, "Value": v} for k, v in oidc.inputs["tags"].items()])["OpenIDConnectProviderArn"]
    ids.add(("oidc-provider", arn))
    # 2 roles + 5 managed policies (boundary, four ops parts) + the provider
    assert len(ids) == 8
    return ids


def test_after_a_platform_destroy_the_bootstrap_stack_is_kept_not_a_residue(aws):
    bootstrap = seed_bootstrap(aws, "dev")
    rc, residues, kept = check_with()
    assert (rc, residues) == (0, set())
    assert kept == bootstrap
    # The text form says so on its own lines and in the summary.
    p = subprocess.run([sys.executable, CHECKER, "--env", "dev", "--region", REGION], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0
    assert "KEPT bootstrap iam-role otter-dev-github-ops (name)" in p.stdout.splitlines()
    assert p.stdout.splitlines()[-1] == "verify-clean: otter-dev left nothing behind (kept: bootstrap, 8 resource(s) of the bootstrap stack)"


def test_a_platform_residue_is_still_one_beside_the_kept_bootstrap(aws):
    bootstrap = seed_bootstrap(aws, "dev")
    aws("iam").create_role(RoleName="otter-dev-otterd", AssumeRolePolicyDocument="{}")
    aws("iam").create_policy(PolicyName="otter-dev-github-ops-extra", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::x"}]}))
    rc, residues, kept = check_with()
    assert rc == 1
    # The workload role and a policy named like the ops parts but not one of them.
    assert {r[1].split("/")[-1] for r in residues} == {"otter-dev-otterd", "otter-dev-github-ops-extra"}
    assert kept == bootstrap


def test_include_bootstrap_counts_them_as_residues(aws):
    bootstrap = seed_bootstrap(aws, "dev")
    rc, residues, kept = check_with("--include-bootstrap")
    assert rc == 1
    assert residues == bootstrap and kept == set()


def test_another_environments_bootstrap_is_neither_kept_nor_reported(aws):
    prod = seed_bootstrap(aws, "prod")
    rc, residues, kept = check_with()
    # prod's roles and policies are not dev's; the account's one GitHub provider carries prod's tags.
    assert (rc, residues, kept) == (0, set(), set())
    assert check_with(env="prod")[2] == prod


def test_the_alb_security_group_is_reported_by_its_tags_alone(aws):
    # The chatbot ALB's group (network.py, tags.py's tags, component network) left behind in a VPC
    # that is not the platform's (untagged): found by its tags, not by its VPC.
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    tags = [
        {"Key": "otter:platform", "Value": "otter"},
        {"Key": "otter:environment", "Value": "dev"},
        {"Key": "otter:component", "Value": "network"},
        {"Key": "otter:managed-by", "Value": "pulumi"},
        {"Key": "Name", "Value": "otter-dev-alb"},
    ]
    sg = ec2.create_security_group(
        GroupName="network-alb-1234567", Description="chatbot ALB", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
    )["GroupId"]
    rc, found = check()
    assert rc == 1
    assert ("security-group", sg) in found
    assert ("vpc", vpc) not in found
    # Another environment's check does not claim it.
    assert ("security-group", sg) not in check("prod")[1]


def test_a_leftover_origin_secret_is_found_and_its_value_never_shown(aws):
    """The SecureString the platform makes for the chatbot's origin check: found by its path like
    the String parameters, and neither the JSON nor the text output holds its value."""
    value = "leftover-0123456789abcdefghijkl"  # any value; what matters is that it is not printed
    aws("ssm").put_parameter(Name="/otter/dev/chatbot/origin-secret", Value=value, Type="SecureString")
    rc, found = check()
    assert rc == 1
    assert ("ssm-parameter", "/otter/dev/chatbot/origin-secret") in found
    for args in (["--json"], []):
        p = subprocess.run([sys.executable, CHECKER, "--env", "dev", "--region", REGION, *args],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1
        leaked = value in p.stdout or value in p.stderr
        assert not leaked, "verify-clean printed the parameter's value"
    assert "RESIDUE ssm-parameter /otter/dev/chatbot/origin-secret (path)" in p.stdout.splitlines()
    # Another environment's secret is not this one's residue.
    aws("ssm").delete_parameter(Name="/otter/dev/chatbot/origin-secret")
    aws("ssm").put_parameter(Name="/otter/prod/chatbot/origin-secret", Value=value, Type="SecureString")
    rc, found = check()
    assert ("ssm-parameter", "/otter/prod/chatbot/origin-secret") not in found
