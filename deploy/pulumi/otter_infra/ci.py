"""GitHub Actions identities: the account's GitHub OIDC provider and two roles.

- delivery (`sub` = the repository's main branch): push images to Otter's ECR repositories and
  sync the web files to the frontend bucket with a CloudFront invalidation. No cluster access:
  GitOps deploys what the tag bump commits.
- ops (`sub` = the repository's `<env>` environment, and `<env>-destroy` where ops.yml's
  destroy job runs): an EKS access entry, because up and destroy install and remove
  cluster-scoped things (ArgoCD and its CRDs), and policies.ops_policy: what Pulumi and the
  playbooks call, scoped to this environment's names and tags.

Bootstrap: this component's roles, the GitHub OIDC provider and the workload boundary are
created by an administrator's first `up` (ops cannot assume a role that does not exist yet, and
its policy grants no write on these roles, the provider or the boundary): changes to them need
an administrator again.
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
        cluster_name: pulumi.Input[str],
        repository_arns: list,
        bucket_arn: pulumi.Input[str],
        distribution_arn: pulumi.Input[str],
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
                name=f"{prefix}-github-{kind}",
                assume_role_policy=pulumi.Output.json_dumps(provider_arn.apply(lambda a: policies.github_trust(a, subjects))),
                max_session_duration=3600,
                tags=t,
                opts=child,
            )

        self.delivery_role = role("delivery", [f"repo:{repository}:ref:refs/heads/main"])
        delivery_policy = pulumi.Output.all(bucket_arn, distribution_arn, *repository_arns).apply(
            lambda v: {
                "Version": policies.VERSION,
                "Statement": policies.ecr_push_policy(list(v[2:]))["Statement"]
                + policies.frontend_deliver_policy(v[0], v[1])["Statement"],
            }
        )
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
                [f"{prefix}-github-delivery", f"{prefix}-github-ops"],
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
                name=f"{prefix}-github-ops-{part}",
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
        entry = aws.eks.AccessEntry(
            f"{name}-ops",
            cluster_name=cluster_name,
            principal_arn=self.ops_role.arn,
            type="STANDARD",
            tags=t,
            opts=pulumi.ResourceOptions(parent=self.ops_role),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-ops",
            cluster_name=cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=access_policy(ctx.apply(lambda c: c.partition), "AmazonEKSClusterAdminPolicy"),
            access_scope={"type": "cluster"},
            opts=pulumi.ResourceOptions(parent=entry),
        )

        self.register_outputs({"deliveryRoleArn": self.delivery_role.arn, "opsRoleArn": self.ops_role.arn})
