"""SSM parameters the apps read through External Secrets (under names.ssm_prefix(env)): the ids
the workloads need (Secrets: String parameters, so no id is written into k8s/), and the one
secret, the origin header's value CloudFront sends to the chatbot (OriginSecret: SecureString)."""

import secrets as pysecrets

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


def origin_header_value(stored: str) -> str:
    """What CloudFront sends of the parameter's value: the last of its comma-separated values.
    During a rotation the parameter holds `OLD,NEW` (the chatbot accepts both, chatbot/README.md),
    and the distribution sends NEW; outside one it holds a single value. A trailing newline or
    surrounding spaces (a value put by hand) are dropped, as the chatbot drops the newline."""
    value = stored.split(",")[-1].strip()
    if not value:
        raise ValueError("the origin secret parameter holds no value after its last comma")
    return value


class OriginSecret(pulumi.ComponentResource):
    """The shared secret of the chatbot's origin check: a SecureString parameter
    names.origin_secret_parameter(env), encrypted with the account's AWS-managed key `aws/ssm`
    (whose key policy lets the account's principals use it through SSM, so no role needs a KMS
    grant of its own). Its value is made once, at creation, by Python's `secrets` module;
    `ignore_changes=["value"]` keeps it on later runs (each run makes a new candidate, never
    used), and an operator rotates it by writing a new value into the parameter (deploy/README.md).

    `value` is the header value CloudFront sends: from what the parameter holds now, read back
    with decryption once it exists (so a value put by hand reaches the distribution on the next
    `up`, without a refresh), its last comma-separated value (origin_header_value). It is a
    Pulumi secret: never shown in previews, diffs, logs or outputs, encrypted in the state."""

    def __init__(self, name: str, env: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("otter:secrets:OriginSecret", name, None, opts)
        self.parameter = aws.ssm.Parameter(
            f"{name}-origin-secret",
            name=names.origin_secret_parameter(env),
            type="SecureString",
            tier="Standard",
            description=f"the {names.ORIGIN_HEADER} value CloudFront sends to the chatbot",
            # 32 random bytes, URL-safe base64 without padding: 43 characters the chatbot
            # accepts (16-256 visible ASCII characters, no comma).
            value=pulumi.Output.secret(pysecrets.token_urlsafe(32)),
            tags=tags(env, "secrets"),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"], additional_secret_outputs=["value"]),
        )
        # The version is unknown until the parameter exists (a preview of a new stack does not
        # read it); reading by the resource's outputs orders the read after the creation.
        read = pulumi.Output.all(self.parameter.name, self.parameter.version).apply(
            lambda v: aws.ssm.get_parameter_output(name=v[0], with_decryption=True).value.apply(origin_header_value)
        )
        self.value = pulumi.Output.secret(read)
        self.parameter_name = self.parameter.name
        self.register_outputs({"parameterName": self.parameter_name})
