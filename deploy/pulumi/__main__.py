"""Otter's AWS footprint for one environment (the stack: dev or prod).

Components are built in dependency order and wired by their outputs; the stack exports what
Ansible and k8s/ need (cluster name, role ARNs, repository URLs, bucket, distribution, ...).
"""

import os
import sys

import pulumi
import pulumi_aws as aws

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from otter_infra import names, settings  # noqa: E402
from otter_infra.ci import Ci  # noqa: E402
from otter_infra.cluster import Cluster  # noqa: E402
from otter_infra.data import Data  # noqa: E402
from otter_infra.frontend import Frontend  # noqa: E402
from otter_infra.identity import Identity  # noqa: E402
from otter_infra.network import Network  # noqa: E402
from otter_infra.observability import Observability  # noqa: E402
from otter_infra.registry import Registry  # noqa: E402
from otter_infra.secrets import Secrets  # noqa: E402

s = settings.load()
env = s.env
cluster_name = names.cluster_name(env)

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
frontend = Frontend("frontend", env=env, force_destroy=s.force_destroy, api_host=s.public_host)
data = Data("data", env=env, protect=s.protect)
identity = Identity(
    "identity",
    env=env,
    cluster_name=cluster.cluster_name,
    oidc_provider_arn=cluster.oidc_provider_arn,
    oidc_issuer_url=cluster.oidc_issuer_url,
    vpc_id=network.vpc_id,
    agent_log_group_arns=observability.log_group_arns,
    ssm_prefix=names.ssm_prefix(env),
    table_arn=data.table_arn,
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
    ci = Ci(
        "ci",
        env=env,
        repository=s.github_repository,
        cluster_name=cluster.cluster_name,
        repository_arns=registry.repository_arns,
        bucket_arn=frontend.bucket_arn,
        distribution_arn=frontend.distribution_arn,
        github_oidc_provider_arn=s.github_oidc_provider_arn,
        state_bucket=s.state_bucket,
        state_key_arn=s.state_key_arn,
    )
    pulumi.export("ciDeliveryRoleArn", ci.delivery_role.arn)
    pulumi.export("ciOpsRoleArn", ci.ops_role.arn)

# What deploy/tools/render_gitops.py fills k8s/'s placeholders with (the per-installation values
# are exported only when configured; the tool refuses to render without them, naming the key).
caller = aws.get_caller_identity_output()
pulumi.export("accountId", caller.account_id)
pulumi.export("region", aws.get_region_output().region)
pulumi.export("partition", aws.get_partition_output().partition)
for key, value in (
    ("publicHost", s.public_host),
    ("certificateArn", s.certificate_arn),
    ("gitRepositoryUrl", s.git_repository_url),
):
    if value:
        pulumi.export(key, value)

pulumi.export("environment", env)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
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
