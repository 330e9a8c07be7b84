"""GitHub Actions identities: the account's GitHub OIDC provider and two roles.

- delivery (`sub` = the repository's main branch): push images to Otter's ECR repositories and
  sync the web files to the frontend bucket with a CloudFront invalidation. No cluster access:
  GitOps deploys what the tag bump commits.
- ops (`sub` = the repository's `<env>` environment, and `<env>-destroy` where ops.yml's
  destroy job runs): policies.ops_policy, what Pulumi and the playbooks call, scoped to this
  environment's names and tags; and (in the platform stack, `OpsClusterAccess`) an EKS access
  entry, because up and destroy install and remove cluster-scoped things (ArgoCD and its CRDs).

`Ci` lives in the bootstrap stack (deploy/pulumi/bootstrap), which an administrator owns: the ops
role cannot create itself, and its policy grants no write on these roles, the provider, the
workload boundary or its own policies. Everything here is therefore built from names
(otter_infra/names.py) and the account, region and partition, never from ARNs of the platform's
resources, which do not exist yet when the bootstrap stack is created.
"""

import pulumi
import pulumi_aws as aws

from . import names, policies
from .cluster import access_policy
from .context import lookup
from .tags import tags


class Ci(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        env: str,
        repository: str,
        github_oidc_provider_arn: str | None = None,
        state_bucket: str | None = None,
        state_key_arn: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("otter:ci:Ci", name, None, opts)
        if repository.count("/") != 1 or "*" in repository:
            raise ValueError("the GitHub repository must be OWNER/NAME, with no wildcard")
        t = tags(env, "ci")
        child = pulumi.ResourceOptions(parent=self)
        prefix = names.prefix(env)
        ctx = lookup(self)

        if github_oidc_provider_arn:
            provider_arn = pulumi.Output.from_input(github_oidc_provider_arn)
        else:
            self.github_oidc = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=f"https://{policies.GITHUB_ISSUER}",
                client_id_lists=["sts.amazonaws.com"],
                tags=t,
                opts=child,
            )
            provider_arn = self.github_oidc.arn

        def role(kind: str, subjects: list) -> aws.iam.Role:
            return aws.iam.Role(
                f"{name}-{kind}",
                name=names.github_role(env, kind),
                assume_role_policy=pulumi.Output.json_dumps(provider_arn.apply(lambda a: policies.github_trust(a, subjects))),
                max_session_duration=3600,
                tags=t,
                opts=child,
            )

        self.delivery_role = role("delivery", [f"repo:{repository}:ref:refs/heads/main"])
        repositories = sorted(names.repositories(env).values())
        delivery_policy = ctx.apply(lambda c: policies.delivery_policy(c, env, prefix, repositories))
        aws.iam.RolePolicy(
            f"{name}-delivery",
            role=self.delivery_role.name,
            policy=pulumi.Output.json_dumps(delivery_policy),
            opts=pulumi.ResourceOptions(parent=self.delivery_role),
        )

        self.ops_role = role("ops", [f"repo:{repository}:environment:{env}", f"repo:{repository}:environment:{env}-destroy"])
        role_names = {k: names.irsa_role(env, k) for k in ("otterd", "external-secrets", "aws-load-balancer-controller", "chatbot")}
        role_names.update({"cluster": f"{names.cluster_name(env)}-cluster", "node": f"{names.cluster_name(env)}-node"})
        log_groups = sorted(names.log_groups(env).values()) + [names.control_plane_log_group(env)]
        ops_policy = ctx.apply(
            lambda c: policies.ops_policy(
                c,
                env,
                prefix,
                role_names,
                [names.github_role(env, "delivery"), names.github_role(env, "ops")],
                names.ssm_prefix(env),
                log_groups,
                names.table_name(env),
                names.alerts_topic(env),
                sorted(names.repositories(env).values()),
                state_bucket,
                state_key_arn,
            )
        )
        # More than one policy holds (IAM's size limits): one managed policy per concern.
        self.ops_policies = []
        for part in ("network", "identity", "keys", "stores"):
            policy = aws.iam.Policy(
                f"{name}-ops-{part}",
                name=names.ops_policy(env, part),
                description=f"Otter {env}: what the ops workflow runs ({part})",
                policy=pulumi.Output.json_dumps(ops_policy.apply(lambda d, part=part: policies.split_ops_policy(d)[part])),
                tags=t,
                opts=pulumi.ResourceOptions(parent=self.ops_role),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-ops-{part}",
                role=self.ops_role.name,
                policy_arn=policy.arn,
                opts=pulumi.ResourceOptions(parent=policy),
            )
            self.ops_policies.append(policy)
        self.github_oidc_provider_arn = provider_arn
        self.register_outputs({"deliveryRoleArn": self.delivery_role.arn, "opsRoleArn": self.ops_role.arn})


class OpsClusterAccess(pulumi.ComponentResource):
    """The ops role's EKS access entry (platform stack: the cluster lives there, and the ops role
    may delete access entries of its cluster, so destroy removes it)."""

    def __init__(
        self,
        name: str,
        env: str,
        cluster_name: pulumi.Input[str],
        ops_role_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("otter:ci:OpsClusterAccess", name, None, opts)
        ctx = lookup(self)
        entry = aws.eks.AccessEntry(
            f"{name}-ops",
            cluster_name=cluster_name,
            principal_arn=ops_role_arn,
            type="STANDARD",
            tags=tags(env, "ci"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-ops",
            cluster_name=cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=access_policy(ctx.apply(lambda c: c.partition), "AmazonEKSClusterAdminPolicy"),
            access_scope={"type": "cluster"},
            opts=pulumi.ResourceOptions(parent=entry),
        )
        self.register_outputs({"principalArn": entry.principal_arn})


class WorkloadBoundary(pulumi.ComponentResource):
    """The permissions boundary of the workload roles (policies.workload_boundary_policy): the
    ops role may create and change those roles only with it attached, and cannot change it."""

    def __init__(self, name: str, env: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("otter:ci:WorkloadBoundary", name, None, opts)
        prefix = names.prefix(env)
        ctx = lookup(self)
        self.policy = aws.iam.Policy(
            name,
            name=policies.boundary_name(prefix),
            description=f"Permissions boundary of Otter's {env} workload roles",
            policy=pulumi.Output.json_dumps(ctx.apply(lambda c: policies.workload_boundary_policy(c, env, prefix))),
            tags=tags(env, "ci"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.policy.arn
        self.register_outputs({"arn": self.arn})
