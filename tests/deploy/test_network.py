import ipaddress

import pytest

from pulumi_harness import CLOUDFRONT_PREFIX_LIST

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def subnets(rec, kind):
    return sorted((r for r in rec.of(SUBNET) if r.name.startswith(f"network-{kind}-")), key=lambda r: r.name)


def test_vpc_has_dns_and_the_configured_range(dev, prod):
    assert dev.of("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"] == "10.40.0.0/16"
    assert prod.of("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"] == "10.50.0.0/16"
    for rec in (dev, prod):
        vpc = rec.of("aws:ec2/vpc:Vpc")
        assert len(vpc) == 1
        assert vpc[0].inputs["enableDnsHostnames"] is True
        assert vpc[0].inputs["enableDnsSupport"] is True


@pytest.mark.parametrize("env,azs", [("dev", ["us-east-1a", "us-east-1b"]), ("prod", ["us-east-1a", "us-east-1b", "us-east-1c"])])
def test_one_public_and_one_private_subnet_per_az(env, azs, dev, prod):
    rec = {"dev": dev, "prod": prod}[env]
    assert [s.inputs["availabilityZone"] for s in subnets(rec, "public")] == azs
    assert [s.inputs["availabilityZone"] for s in subnets(rec, "private")] == azs


def test_subnets_are_disjoint_and_inside_the_vpc(stack):
    _, rec = stack
    vpc = ipaddress.ip_network(rec.of("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"])
    nets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in rec.of(SUBNET)]
    for n in nets:
        assert n.subnet_of(vpc)
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    # Private subnets hold the pods (VPC CNI): at least a /20 each.
    for s in subnets(rec, "private"):
        assert ipaddress.ip_network(s.inputs["cidrBlock"]).prefixlen <= 20


def test_load_balancer_subnet_tags(stack):
    env, rec = stack
    for s in subnets(rec, "public"):
        assert s.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in s.inputs["tags"]
        assert s.inputs["tags"][f"kubernetes.io/cluster/otter-{env}"] == "shared"
        assert s.inputs.get("mapPublicIpOnLaunch") is False
    for s in subnets(rec, "private"):
        assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in s.inputs["tags"]
        assert s.inputs["tags"][f"kubernetes.io/cluster/otter-{env}"] == "shared"


def test_dev_shares_one_nat_gateway(dev):
    nats = dev.of("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 1
    assert len(dev.of("aws:ec2/eip:Eip")) == 1
    assert nats[0].inputs["subnetId"] == "Subnet/network-public-0"
    assert nats[0].inputs["allocationId"] == "Eip/network-nat-0"
    for i in range(2):
        route = dev.one(ROUTE, f"network-private-{i}-default")
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["natGatewayId"] == "NatGateway/network-nat-0"


def test_prod_has_a_nat_gateway_per_az_and_routes_each_private_subnet_to_its_own(prod):
    nats = sorted(prod.of("aws:ec2/natGateway:NatGateway"), key=lambda r: r.name)
    assert [n.name for n in nats] == ["network-nat-0", "network-nat-1", "network-nat-2"]
    assert len(prod.of("aws:ec2/eip:Eip")) == 3
    for i in range(3):
        assert nats[i].inputs["subnetId"] == f"Subnet/network-public-{i}"
        route = prod.one(ROUTE, f"network-private-{i}-default")
        assert route.inputs["natGatewayId"] == f"NatGateway/network-nat-{i}"


def test_private_route_tables_are_associated_with_their_subnets(stack):
    env, rec = stack
    n = {"dev": 2, "prod": 3}[env]
    assocs = {r.inputs["subnetId"]: r.inputs["routeTableId"] for r in rec.of("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    for i in range(n):
        assert assocs[f"Subnet/network-private-{i}"] == f"RouteTable/network-private-{i}"
        assert assocs[f"Subnet/network-public-{i}"] == "RouteTable/network-public"


def test_public_route_goes_to_the_internet_gateway(stack):
    _, rec = stack
    route = rec.one(ROUTE, "network-public-default")
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert route.inputs["gatewayId"] == "InternetGateway/network-igw"


def test_vpc_endpoints_for_every_aws_api_the_workloads_call(stack):
    _, rec = stack
    eps = {r.inputs["serviceName"]: r for r in rec.of(ENDPOINT)}
    gateway = {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.dynamodb"}
    interface = {
        f"com.amazonaws.us-east-1.{s}"
        for s in ("ecr.api", "ecr.dkr", "logs", "sts", "xray", "ssm", "bedrock-runtime")
    }
    assert set(eps) == gateway | interface
    for name in gateway:
        assert eps[name].inputs["vpcEndpointType"] == "Gateway"
        assert eps[name].inputs["routeTableIds"] == [f"RouteTable/network-private-{i}" for i in range(len(subnets(rec, "private")))]
    for name in interface:
        ep = eps[name].inputs
        assert ep["vpcEndpointType"] == "Interface"
        assert ep["privateDnsEnabled"] is True
        assert ep["subnetIds"] == [f"Subnet/{s.name}" for s in subnets(rec, "private")]
        assert ep["securityGroupIds"] == ["SecurityGroup/network-endpoints"]


def test_endpoint_security_group_allows_only_https_from_the_vpc(stack):
    _, rec = stack
    rules = [r for r in rec.of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.name.startswith("network-endpoints")]
    assert len(rules) == 1
    r = rules[0].inputs
    assert (r["ipProtocol"], r["fromPort"], r["toPort"]) == ("tcp", 443, 443)
    assert r["cidrIpv4"] == rec.of("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"]


ALB_SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def test_alb_security_group_admits_only_cloudfront_on_the_https_port(stack):
    env, rec = stack
    sg = rec.one(ALB_SG, "network-alb")
    assert sg.inputs["vpcId"] == rec.one(ALB_SG, "network-endpoints").inputs["vpcId"]
    assert sg.inputs["tags"]["Name"] == f"otter-{env}-alb"
    assert sg.inputs["tags"]["otter:environment"] == env
    assert sg.inputs["tags"]["otter:component"] == "network"
    # No inline rules: every rule is a separate resource, listed below.
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    rules = [r for r in rec.of(INGRESS) if r.inputs["securityGroupId"] == "SecurityGroup/network-alb"]
    # Exactly the one listener port of k8s/apps/chatbot/base/ingress.yaml (HTTPS): CloudFront
    # connects https-only, and one prefix-list rule weighs 55 of the group's 60 default rules.
    assert sorted((r.inputs["fromPort"], r.inputs["toPort"]) for r in rules) == [(443, 443)]
    for r in rules:
        assert r.inputs["ipProtocol"] == "tcp"
        # The only source: the prefix list the harness answers for the CloudFront lookup.
        assert r.inputs["prefixListId"] == CLOUDFRONT_PREFIX_LIST
        for other in ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId"):
            assert other not in r.inputs, (r.name, other)
        assert r.inputs["tags"]["otter:environment"] == env
    # It looked up the AWS-managed list by name (the harness refuses any other lookup).
    assert "aws:ec2/getManagedPrefixList:getManagedPrefixList" in rec.calls
    # No egress of its own (the controller's backend group carries the traffic to the pods).
    assert not [r for r in rec.of(EGRESS) if r.inputs["securityGroupId"] == "SecurityGroup/network-alb"]


def test_alb_security_group_is_exported(stack):
    _, rec = stack
    rec.one(ALB_SG, "network-alb")
    # The mocks give a resource the id "<Type>/<name>".
    assert rec.platform.outputs["albSecurityGroupId"] == "SecurityGroup/network-alb"
