"""Otter's AWS footprint for one environment (the platform stack: dev or prod).

Components are built in dependency order and wired by their outputs; the stack exports what
Ansible and k8s/ need (cluster name, role ARNs, repository URLs, bucket, distribution, ...).
What the ops role must not be able to change or delete (the CI identities, their policies, the
workload permissions boundary) is in the bootstrap stack (bootstrap/), owned by an
administrator, and read here through a StackReference (`otter:bootstrapStack`).
"""

import os
import sys

import pulumi
import pulumi_aws as aws

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from otter_infra import names, settings  # noqa: E402
from otter_infra.ci import OpsClusterAccess  # noqa: E402
from otter_infra.context import lookup  # noqa: E402
from otter_infra.cluster import Cluster  # noqa: E402
from otter_infra.data import Data  # noqa: E402
from otter_infra.frontend import Frontend  # noqa: E402
from otter_infra.identity import Identity  # noqa: E402
from otter_infra.network import Network  # noqa: E402
from otter_infra.observability import Observability  # noqa: E402
from otter_infra.registry import Registry  # noqa: E402
from otter_infra.secrets import OriginSecret, Secrets  # noqa: E402

s = settings.load()
env = s.env
cluster_name = names.cluster_name(env)
ctx = lookup()

# The bootstrap stack of the same environment and account (created first, by an administrator).
bootstrap = pulumi.StackReference("bootstrap", stack_name=s.bootstrap_stack)


def from_bootstrap(key: str, expected) -> pulumi.Output:
    """The bootstrap stack's output `key`, refused unless it is what names.py gives for this
    environment in this account (a reference to another environment's or account's bootstrap
    stack stops the run here, naming both)."""

    def check(v):
        value, c = v
        want = expected(c)
        if value != want:
            raise ValueError(f"bootstrap stack {s.bootstrap_stack}: output {key} is {value!r}, expected {want!r} for {env}")
        return value

    return pulumi.Output.all(bootstrap.require_output(key), ctx).apply(check)


boundary_arn = from_bootstrap(
    "workloadBoundaryArn", lambda c: c.arn("iam", "policy/" + names.workload_boundary(env), region=False)
)

network = Network(
    "network",
    env=env,
    cluster_name=cluster_name,
    vpc_cidr=s.vpc_cidr,
    az_count=s.az_count,
    nat_gateways=s.nat_gateways,
)
observability = Observability(
    "observability",
    env=env,
    log_retention_days=s.log_retention_days,
    dashboard_file=s.slo_dashboard_file,
    alarms_file=s.slo_alarms_file,
)
cluster = Cluster(
    "cluster",
    env=env,
    cluster_name=cluster_name,
    kubernetes_version=s.kubernetes_version,
    private_subnet_ids=network.private_subnet_ids,
    node_instance_types=s.node_instance_types,
    node_desired=s.node_desired,
    node_min=s.node_min,
    node_max=s.node_max,
    node_disk_gib=s.node_disk_gib,
    public_access_cidrs=s.public_access_cidrs,
    log_retention_days=s.control_plane_log_retention_days,
    addon_versions=s.addon_versions,
    admin_role_arn=s.admin_role_arn,
)
registry = Registry("registry", env=env, force_delete=s.force_destroy)
# The shared secret CloudFront sends to the chatbot's API. Made even without an API origin, so
# that the chatbot's ExternalSecret (k8s/) always finds its key.
origin_secret = OriginSecret("secrets", env=env)
frontend = Frontend(
    "frontend",
    env=env,
    force_destroy=s.force_destroy,
    api_host=s.public_host,
    origin_secret=origin_secret.value,
)
data = Data("data", env=env, protect=s.protect)
identity = Identity(
    "identity",
    env=env,
    cluster_name=cluster.cluster_name,
    oidc_provider_arn=cluster.oidc_provider_arn,
    oidc_issuer_url=cluster.oidc_issuer_url,
    vpc_id=network.vpc_id,
    cluster_security_group_id=cluster.cluster_security_group_id,
    agent_log_group_arns=observability.log_group_arns,
    ssm_prefix=names.ssm_prefix(env),
    table_arn=data.table_arn,
    boundary_arn=boundary_arn,
    bedrock_model_id=s.bedrock_model_id,
    bedrock_inference_profile_id=s.bedrock_inference_profile_id,
    bedrock_profile_regions=s.bedrock_profile_regions,
)
log_groups = names.log_groups(env)
secrets = Secrets(
    "secrets",
    env=env,
    values={
        "region": aws.get_region_output().region,
        "table": data.table_name,
        "model": s.bedrock_inference_profile_id or s.bedrock_model_id,
        "static_url": frontend.url,
        "log_group": log_groups["chatbot"],
        "cluster": cluster.cluster_name,
        "emf_log_group": log_groups["emf"],
    },
)
if s.github_repository:
    # The ops role (bootstrap stack) administers the cluster: up and destroy install and remove
    # cluster-scoped things. Its access entry is the platform's, so destroy removes it.
    OpsClusterAccess(
        "ci",
        env=env,
        cluster_name=cluster.cluster_name,
        ops_role_arn=from_bootstrap("ciOpsRoleArn", lambda c: c.arn("iam", "role/" + names.github_role(env, "ops"), region=False)),
    )

# What deploy/tools/render_gitops.py fills k8s/'s placeholders with (the per-installation values
# are exported only when configured; the tool refuses to render without them, naming the key).
pulumi.export("accountId", ctx.apply(lambda c: c.account))
pulumi.export("region", ctx.apply(lambda c: c.region))
pulumi.export("partition", ctx.apply(lambda c: c.partition))
for key, value in (
    ("publicHost", s.public_host),
    ("certificateArn", s.certificate_arn),
    ("gitRepositoryUrl", s.git_repository_url),
):
    if value:
        pulumi.export(key, value)

pulumi.export("environment", env)
pulumi.export("bootstrapStack", s.bootstrap_stack)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("albSecurityGroupId", network.alb_security_group_id)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterArn", cluster.cluster_arn)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("otterdRoleArn", identity.otterd_role.arn)
pulumi.export("externalSecretsRoleArn", identity.external_secrets_role.arn)
pulumi.export("loadBalancerControllerRoleArn", identity.load_balancer_controller_role.arn)
pulumi.export("chatbotRoleArn", identity.chatbot_role.arn)
pulumi.export("repositoryUrls", registry.repository_urls)
pulumi.export("webBucket", frontend.bucket_name)
pulumi.export("distributionId", frontend.distribution_id)
pulumi.export("staticUrl", frontend.url)
pulumi.export("tableName", data.table_name)
pulumi.export("logGroups", log_groups)
pulumi.export("alertsTopicArn", observability.topic.arn)
pulumi.export("ssmPrefix", names.ssm_prefix(env))
# The parameter's name only: the value is never exported.
pulumi.export("originSecretParameter", origin_secret.parameter_name)
