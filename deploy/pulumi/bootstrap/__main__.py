"""Otter's bootstrap stack for one environment: what the ops role must not be able to change or
delete, owned by an administrator and created before the platform stack (deploy/pulumi).

- the workload permissions boundary (`otter-<env>-workload-boundary`), which the platform's
  workload roles carry and the ops role may only attach;
- with a GitHub repository configured: the account's GitHub OIDC provider (unless an existing one
  is given), the delivery role and the ops role with its four managed policies.

Nothing here takes an ARN of a platform resource (none exists yet): the policies are built from
the names in otter_infra/names.py, the caller's account, region and partition, and, for the
CloudFront distribution whose id is generated, the environment's tag. The platform stack reads
the exports below through `pulumi.StackReference` (`otter:bootstrapStack`).
"""

import os
import sys

import pulumi

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from otter_infra import settings  # noqa: E402
from otter_infra.ci import Ci, WorkloadBoundary  # noqa: E402
from otter_infra.context import lookup  # noqa: E402

s = settings.load_bootstrap()
env = s.env
ctx = lookup()

boundary = WorkloadBoundary("workload-boundary", env=env)
pulumi.export("environment", env)
pulumi.export("accountId", ctx.apply(lambda c: c.account))
pulumi.export("workloadBoundaryArn", boundary.arn)

if s.github_repository:
    ci = Ci(
        "ci",
        env=env,
        repository=s.github_repository,
        github_oidc_provider_arn=s.github_oidc_provider_arn,
        state_bucket=s.state_bucket,
        state_key_arn=s.state_key_arn,
    )
    pulumi.export("githubOidcProviderArn", ci.github_oidc_provider_arn)
    pulumi.export("ciDeliveryRoleArn", ci.delivery_role.arn)
    pulumi.export("ciOpsRoleArn", ci.ops_role.arn)
