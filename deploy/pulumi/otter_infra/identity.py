"""Workload identities: IRSA roles for otterd, External Secrets and the AWS Load Balancer
Controller, and a Pod Identity role and association for the chatbot. Each trust is pinned to its
namespace and service account; each permission policy names its own resources. Every role has the
workload permissions boundary, which the bootstrap stack owns (`boundary_arn`)."""

import pulumi
import pulumi_aws as aws

from . import names, policies
from .context import lookup
from .tags import tags


class Identity(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        env: str,
        cluster_name: pulumi.Input[str],
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer_url: pulumi.Input[str],
        vpc_id: pulumi.Input[str],
        cluster_security_group_id: pulumi.Input[str],
        agent_log_group_arns: list,
        ssm_prefix: str,
        table_arn: pulumi.Input[str],
        boundary_arn: pulumi.Input[str],
        bedrock_model_id: str,
        bedrock_inference_profile_id: str | None = None,
        bedrock_profile_regions: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("otter:identity:Identity", name, None, opts)
        t = tags(env, "identity")
        ctx = lookup(self)
        # The permissions boundary of every role below (the bootstrap stack's, by ARN): the ops
        # role may create and change these roles only with it attached (policies.ops_policy), and
        # cannot change it.
        boundary = pulumi.Output.from_input(boundary_arn)
        issuer = pulumi.Output.from_input(oidc_issuer_url).apply(lambda u: u.removeprefix("https://"))

        def irsa(role: str, namespace: str, sa: str, policy: pulumi.Output) -> aws.iam.Role:
            trust = pulumi.Output.all(oidc_provider_arn, issuer).apply(
                lambda v: policies.irsa_trust(v[0], v[1], namespace, sa)
            )
            r = aws.iam.Role(
                f"{name}-{role}",
                name=names.irsa_role(env, role),
                assume_role_policy=pulumi.Output.json_dumps(trust),
                permissions_boundary=boundary,
                tags=t,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.iam.RolePolicy(
                f"{name}-{role}",
                role=r.name,
                policy=pulumi.Output.json_dumps(policy),
                opts=pulumi.ResourceOptions(parent=r),
            )
            return r

        self.otterd_role = irsa(
            "otterd",
            names.OTTERD_NAMESPACE,
            names.OTTERD_SERVICE_ACCOUNT,
            pulumi.Output.all(*agent_log_group_arns).apply(lambda arns: policies.otterd_policy(list(arns))),
        )
        self.external_secrets_role = irsa(
            "external-secrets",
            names.ESO_NAMESPACE,
            names.ESO_SERVICE_ACCOUNT,
            ctx.apply(lambda c: policies.external_secrets_policy(c, ssm_prefix)),
        )
        self.load_balancer_controller_role = irsa(
            "aws-load-balancer-controller",
            names.LBC_NAMESPACE,
            names.LBC_SERVICE_ACCOUNT,
            pulumi.Output.all(ctx, vpc_id, cluster_security_group_id).apply(
                lambda v: policies.load_balancer_controller_policy(v[0], v[1], v[2])
            ),
        )

        chatbot_trust = pulumi.Output.all(ctx, cluster_name).apply(
            lambda v: policies.pod_identity_trust(v[0].account, v[1], names.CHATBOT_NAMESPACE, names.CHATBOT_SERVICE_ACCOUNT)
        )
        self.chatbot_role = aws.iam.Role(
            f"{name}-chatbot",
            name=names.irsa_role(env, "chatbot"),
            assume_role_policy=pulumi.Output.json_dumps(chatbot_trust),
            permissions_boundary=boundary,
            tags=t,
            opts=pulumi.ResourceOptions(parent=self),
        )
        chatbot_policy = pulumi.Output.all(ctx, table_arn).apply(
            lambda v: policies.chatbot_policy(
                policies.bedrock_resources(v[0], bedrock_model_id, bedrock_inference_profile_id, bedrock_profile_regions or []),
                v[1],
            )
        )
        aws.iam.RolePolicy(
            f"{name}-chatbot",
            role=self.chatbot_role.name,
            policy=pulumi.Output.json_dumps(chatbot_policy),
            opts=pulumi.ResourceOptions(parent=self.chatbot_role),
        )
        self.chatbot_association = aws.eks.PodIdentityAssociation(
            f"{name}-chatbot",
            cluster_name=cluster_name,
            namespace=names.CHATBOT_NAMESPACE,
            service_account=names.CHATBOT_SERVICE_ACCOUNT,
            role_arn=self.chatbot_role.arn,
            tags=t,
            opts=pulumi.ResourceOptions(parent=self.chatbot_role),
        )

        self.register_outputs(
            {
                "otterdRoleArn": self.otterd_role.arn,
                "externalSecretsRoleArn": self.external_secrets_role.arn,
                "loadBalancerControllerRoleArn": self.load_balancer_controller_role.arn,
                "chatbotRoleArn": self.chatbot_role.arn,
            }
        )
