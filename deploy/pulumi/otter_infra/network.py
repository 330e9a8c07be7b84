"""The VPC: public and private subnets over 2 or 3 AZs, NAT per the environment's choice,
load-balancer subnet tags, and VPC endpoints for every AWS API the workloads call."""

import pulumi
import pulumi_aws as aws

from .tags import tags

# The AWS-managed prefix list of CloudFront's origin-facing addresses: the only sources the
# chatbot's ALB accepts (CloudFront is its one client; deploy/README.md, "Network").
CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing"
# The ALB's listener (k8s/apps/chatbot/base/ingress.yaml, listen-ports): HTTPS only. CloudFront
# reaches this origin with origin_protocol_policy https-only (frontend.py), so no port 80; and a
# rule referencing a prefix list counts as that list's max entries (55 for this one) against the
# group's quota of inbound rules (60 by default): a second rule would not fit.
ALB_PORTS = (443,)

# Interface endpoints (service suffix after com.amazonaws.REGION.) and the gateway ones.
INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "logs",
    "sts",
    "xray",
    "ssm",
    "bedrock-runtime",
)
GATEWAY_ENDPOINTS = ("s3", "dynamodb")


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list, list]:
    """Public /24s at the bottom of the range, private /20s from the middle (room for pods)."""
    import ipaddress

    net = ipaddress.ip_network(vpc_cidr)
    smalls = list(net.subnets(new_prefix=24))
    larges = list(net.subnets(new_prefix=20))
    public = [str(s) for s in smalls[:az_count]]
    private = [str(s) for s in larges[8 : 8 + az_count]]
    return public, private


class Network(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        env: str,
        cluster_name: str,
        vpc_cidr: str,
        az_count: int,
        nat_gateways: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("otter:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        t = lambda **extra: tags(env, "network", **extra)  # noqa: E731

        azs = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=t(Name=f"{cluster_name}-vpc"),
            opts=child,
        )
        vpc_opts = pulumi.ResourceOptions(parent=self.vpc)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=t(Name=f"{cluster_name}-igw"), opts=vpc_opts)

        public_cidrs, private_cidrs = subnet_cidrs(vpc_cidr, az_count)
        cluster_tag = f"kubernetes.io/cluster/{cluster_name}"
        self.public_subnets = []
        self.private_subnets = []
        for i in range(az_count):
            az = azs.names[i]
            self.public_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-public-{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=public_cidrs[i],
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags=t(**{"Name": f"{cluster_name}-public-{i}", "kubernetes.io/role/elb": "1", cluster_tag: "shared"}),
                    opts=vpc_opts,
                )
            )
            self.private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=private_cidrs[i],
                    availability_zone=az,
                    tags=t(
                        **{"Name": f"{cluster_name}-private-{i}", "kubernetes.io/role/internal-elb": "1", cluster_tag: "shared"}
                    ),
                    opts=vpc_opts,
                )
            )

        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=self.vpc.id, tags=t(Name=f"{cluster_name}-public"), opts=vpc_opts)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=vpc_opts)
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=vpc_opts)

        nat_count = {"none": 0, "single": 1, "per-az": az_count}[nat_gateways]
        self.nat_gateways = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=t(Name=f"{cluster_name}-nat-{i}"), opts=vpc_opts)
            self.nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[i].id,
                    tags=t(Name=f"{cluster_name}-nat-{i}"),
                    opts=pulumi.ResourceOptions(parent=self.vpc, depends_on=[igw]),
                )
            )

        self.private_route_tables = []
        for i, subnet in enumerate(self.private_subnets):
            rt = aws.ec2.RouteTable(f"{name}-private-{i}", vpc_id=self.vpc.id, tags=t(Name=f"{cluster_name}-private-{i}"), opts=vpc_opts)
            if nat_count:
                nat = self.nat_gateways[i if nat_count == az_count else 0]
                aws.ec2.Route(f"{name}-private-{i}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=vpc_opts)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=rt.id, opts=vpc_opts)
            self.private_route_tables.append(rt)

        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=self.vpc.id,
            description="HTTPS from the VPC to the interface endpoints",
            tags=t(Name=f"{cluster_name}-endpoints"),
            opts=vpc_opts,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=self.endpoint_security_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=vpc_cidr,
            description="HTTPS from the VPC",
            tags=t(),
            opts=pulumi.ResourceOptions(parent=self.endpoint_security_group),
        )

        # The chatbot ALB's security group, handed to the Load Balancer Controller through the
        # ingress annotation alb.ingress.kubernetes.io/security-groups (the override
        # deploy/tools/render_gitops.py writes from the albSecurityGroupId output). Inbound: only
        # CloudFront's origin-facing prefix list, only the listener port. No egress rule here:
        # with manage-backend-security-group-rules the controller adds its own shared backend
        # security group (created with EC2's default allow-all egress) to the ALB and the rules
        # from it to the pods, so the ALB's traffic to its targets leaves through that group.
        cloudfront = aws.ec2.get_managed_prefix_list_output(name=CLOUDFRONT_ORIGIN_FACING, opts=pulumi.InvokeOptions(parent=self))
        self.alb_security_group = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=self.vpc.id,
            description="chatbot ALB: HTTPS from CloudFront origin-facing only",
            tags=t(Name=f"{cluster_name}-alb"),
            opts=vpc_opts,
        )
        for port in ALB_PORTS:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-{port}",
                security_group_id=self.alb_security_group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                prefix_list_id=cloudfront.id,
                description=f"port {port} from CloudFront origin-facing",
                tags=t(),
                opts=pulumi.ResourceOptions(parent=self.alb_security_group),
            )

        self.endpoints = {}
        for svc in GATEWAY_ENDPOINTS:
            self.endpoints[svc] = aws.ec2.VpcEndpoint(
                f"{name}-{svc}",
                vpc_id=self.vpc.id,
                service_name=region.apply(lambda r, s=svc: f"com.amazonaws.{r}.{s}"),
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in self.private_route_tables],
                tags=t(Name=f"{cluster_name}-{svc}"),
                opts=vpc_opts,
            )
        for svc in INTERFACE_ENDPOINTS:
            self.endpoints[svc] = aws.ec2.VpcEndpoint(
                f"{name}-{svc.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=region.apply(lambda r, s=svc: f"com.amazonaws.{r}.{s}"),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[self.endpoint_security_group.id],
                tags=t(Name=f"{cluster_name}-{svc}"),
                opts=vpc_opts,
            )

        self.vpc_id = self.vpc.id
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.alb_security_group_id = self.alb_security_group.id
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "albSecurityGroupId": self.alb_security_group_id,
            }
        )
