"""SSM parameters the apps read through External Secrets (under names.ssm_prefix(env)). None of
them is secret; they carry the ids the workloads need, so no id is written into k8s/."""

import pulumi
import pulumi_aws as aws

from . import names
from .tags import tags


class Secrets(pulumi.ComponentResource):
    def __init__(self, name: str, env: str, values: dict, opts: pulumi.ResourceOptions | None = None):
        """`values` maps keys of names.ssm_parameters(env) to their (Input) values."""
        super().__init__("otter:secrets:Secrets", name, None, opts)
        paths = names.ssm_parameters(env)
        unknown = set(values) - set(paths)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}")
        self.parameters = {
            key: aws.ssm.Parameter(
                f"{name}-{key.replace('_', '-')}",
                name=paths[key],
                type="String",
                tier="Standard",
                value=value,
                tags=tags(env, "secrets"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, value in sorted(values.items())
        }
        self.register_outputs({"parameterNames": {k: p.name for k, p in self.parameters.items()}})
