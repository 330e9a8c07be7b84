"""Partition, region and account of the running stack, looked up (never written down)."""

import pulumi
import pulumi_aws as aws

from .policies import Aws


def lookup(parent: pulumi.Resource | None = None) -> pulumi.Output:
    """An Output of `policies.Aws` from the provider's partition, region and caller identity."""
    opts = pulumi.InvokeOptions(parent=parent) if parent else None
    return pulumi.Output.all(
        aws.get_partition_output(opts=opts).partition,
        aws.get_region_output(opts=opts).region,
        aws.get_caller_identity_output(opts=opts).account_id,
    ).apply(lambda v: Aws(partition=v[0], region=v[1], account=v[2]))


def policy_json(doc: pulumi.Output) -> pulumi.Output:
    """A policy document (an Output of a dict) as the JSON string IAM takes."""
    return pulumi.Output.json_dumps(doc)
