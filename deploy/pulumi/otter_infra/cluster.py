"""EKS from plain pulumi_aws.eks resources: KMS envelope encryption of secrets, control-plane logs
in a log group Pulumi owns (with a retention), API-only access entries, a managed node group whose
launch template requires IMDSv2, the managed add-ons, and the cluster's IAM OIDC provider."""

import pulumi
import pulumi_aws as aws

from . import names, policies
from .context import lookup
from .tags import tags

CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def managed_policy(partition: pulumi.Input, name: str) -> pulumi.Output:
    return pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", name)


def access_policy(partition: pulumi.Input, name: str) -> pulumi.Output:
    return pulumi.Output.concat("arn:", partition, ":eks::aws:cluster-access-policy/", name)


class Cluster(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        env: str,
        cluster_name: str,
        kubernetes_version: str,
        private_subnet_ids: list,
        node_instance_types: list,
        node_desired: int,
        node_min: int,
        node_max: int,
        node_disk_gib: int,
        public_access_cidrs: list,
        log_retention_days: int,
        addon_versions: dict,
        admin_role_arn: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("otter:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        t = lambda **extra: tags(env, "cluster", **extra)  # noqa: E731
        ctx = lookup(self)
        partition = ctx.apply(lambda c: c.partition)

        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets envelope encryption for {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            tags=t(),
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{cluster_name}-eks-secrets", target_key_id=self.kms_key.key_id, opts=child)

        # Owned here so it has a retention and goes away with the stack (EKS would otherwise
        # create it with no retention, and re-create it after deletion).
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=names.control_plane_log_group(env),
            retention_in_days=log_retention_days,
            tags=t(),
            opts=child,
        )

        self.cluster_role = aws.iam.Role(
            f"{name}-cluster",
            name=f"{cluster_name}-cluster",
            assume_role_policy=pulumi.Output.json_dumps(policies.service_trust("eks.amazonaws.com")),
            tags=t(),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=self.cluster_role.name,
            policy_arn=managed_policy(partition, "AmazonEKSClusterPolicy"),
            opts=pulumi.ResourceOptions(parent=self.cluster_role),
        )

        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
            version=kubernetes_version,
            role_arn=self.cluster_role.arn,
            vpc_config={
                "subnet_ids": private_subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": bool(public_access_cidrs),
                "public_access_cidrs": public_access_cidrs or None,
            },
            access_config={
                "authentication_mode": "API",
                # With no admin role given, whoever runs the first `up` administers the cluster.
                "bootstrap_cluster_creator_admin_permissions": admin_role_arn is None,
            },
            encryption_config={"provider": {"key_arn": self.kms_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=CONTROL_PLANE_LOG_TYPES,
            bootstrap_self_managed_addons=False,
            tags=t(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, cluster_policy]),
        )
        cluster_opts = pulumi.ResourceOptions(parent=self.cluster)

        if admin_role_arn:
            admin = aws.eks.AccessEntry(
                f"{name}-admin",
                cluster_name=self.cluster.name,
                principal_arn=admin_role_arn,
                type="STANDARD",
                tags=t(),
                opts=cluster_opts,
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin",
                cluster_name=self.cluster.name,
                principal_arn=admin.principal_arn,
                policy_arn=access_policy(partition, "AmazonEKSClusterAdminPolicy"),
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=admin),
            )

        self.node_role = aws.iam.Role(
            f"{name}-node",
            name=f"{cluster_name}-node",
            assume_role_policy=pulumi.Output.json_dumps(policies.service_trust("ec2.amazonaws.com")),
            tags=t(),
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{p}",
                role=self.node_role.name,
                policy_arn=managed_policy(partition, p),
                opts=pulumi.ResourceOptions(parent=self.node_role),
            )
            for p in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")
        ]

        # Hop limit 1: pods cannot reach the node's credentials through IMDS; workloads get
        # theirs from IRSA or Pod Identity, and the LB controller its region and VPC from values.
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            name_prefix=f"{cluster_name}-nodes-",
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "disabled",
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {"volume_size": node_disk_gib, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"},
                }
            ],
            tag_specifications=[
                {"resource_type": kind, "tags": t(Name=f"{cluster_name}-node")}
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=t(),
            opts=child,
        )

        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_group_name_prefix=f"{cluster_name}-",
            node_role_arn=self.node_role.arn,
            subnet_ids=private_subnet_ids,
            instance_types=node_instance_types,
            capacity_type="ON_DEMAND",
            scaling_config={"desired_size": node_desired, "min_size": node_min, "max_size": node_max},
            update_config={"max_unavailable": 1},
            launch_template={"id": self.launch_template.id, "version": self.launch_template.latest_version.apply(str)},
            tags=t(),
            opts=pulumi.ResourceOptions(parent=self.cluster, depends_on=node_policies),
        )

        self.addons = {}
        for addon in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns"):
            # coredns needs nodes to schedule on; the others are daemons.
            deps = [self.node_group] if addon == "coredns" else []
            self.addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                addon_version=addon_versions[addon],
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=t(),
                opts=pulumi.ResourceOptions(parent=self.cluster, depends_on=deps),
            )

        self.oidc_issuer_url = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            tags=t(),
            opts=cluster_opts,
        )

        self.cluster_name = self.cluster.name
        self.cluster_arn = self.cluster.arn
        # The group EKS creates for the control plane and attaches to the pods' ENIs: the Load
        # Balancer Controller adds the ALB's backend rule to it (identity.py).
        self.cluster_security_group_id = self.cluster.vpc_config.apply(
            lambda v: v.cluster_security_group_id
        )
        self.oidc_provider_arn = self.oidc_provider.arn
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "clusterArn": self.cluster_arn,
                "oidcProviderArn": self.oidc_provider_arn,
                "oidcIssuerUrl": self.oidc_issuer_url,
            }
        )
