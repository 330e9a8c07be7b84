"""Every taggable resource carries the platform's tags (the clean-account checker keys on them)."""

# Resource types of the program that take no `tags` argument in pulumi-aws, written out so that a
# new taggable type added without tags is caught.
UNTAGGABLE = {
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:cloudfront/originAccessControl:OriginAccessControl",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:kms/alias:Alias",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
}

COMPONENT_OF = {
    "aws:ec2/vpc:Vpc": "network",
    "aws:ec2/subnet:Subnet": "network",
    "aws:ec2/natGateway:NatGateway": "network",
    "aws:ec2/eip:Eip": "network",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "network",
    "aws:ec2/securityGroup:SecurityGroup": "network",
    "aws:eks/cluster:Cluster": "cluster",
    "aws:eks/nodeGroup:NodeGroup": "cluster",
    "aws:eks/addon:Addon": "cluster",
    "aws:kms/key:Key": "cluster",
    "aws:ec2/launchTemplate:LaunchTemplate": "cluster",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "identity",
    "aws:ecr/repository:Repository": "registry",
    "aws:s3/bucket:Bucket": "frontend",
    "aws:cloudfront/distribution:Distribution": "frontend",
    "aws:dynamodb/table:Table": "data",
    "aws:sns/topic:Topic": "observability",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "observability",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "observability",
    "aws:ssm/parameter:Parameter": "secrets",
}


def test_every_taggable_resource_has_the_platform_tags(stack):
    env, rec = stack
    untagged = set()
    for r in rec.resources:
        if not r.typ.startswith("aws:"):
            continue
        tags = r.inputs.get("tags")
        if tags is None:
            untagged.add(r.typ)
            continue
        assert tags["otter:platform"] == "otter", r.name
        assert tags["otter:environment"] == env, r.name
        assert tags["otter:managed-by"] == "pulumi", r.name
        assert tags["otter:component"] in {
            "network", "cluster", "identity", "registry", "frontend", "data", "observability", "secrets", "ci",
        }, r.name
    assert untagged == UNTAGGABLE


def test_component_tag_names_the_owning_concern(stack):
    _, rec = stack
    for r in rec.resources:
        if r.typ in COMPONENT_OF:
            assert r.inputs["tags"]["otter:component"] == COMPONENT_OF[r.typ], (r.typ, r.name)


def test_components_are_the_documented_ones(stack):
    _, rec = stack
    assert {r.typ for r in rec.platform.resources if r.typ.startswith("otter:")} == {
        "otter:network:Network", "otter:cluster:Cluster", "otter:identity:Identity",
        "otter:registry:Registry", "otter:frontend:Frontend", "otter:data:Data",
        "otter:observability:Observability", "otter:secrets:Secrets", "otter:secrets:OriginSecret",
        "otter:ci:OpsClusterAccess",
    }
    # The bootstrap stack: the CI identities and the workload boundary.
    assert {r.typ for r in rec.bootstrap.resources if r.typ.startswith("otter:")} == {
        "otter:ci:Ci", "otter:ci:WorkloadBoundary",
    }


def test_no_account_id_other_than_the_mocked_one_and_no_region_written_down():
    """The program and its stack files name no account and no region: both come from lookups."""
    import os
    import re

    import pulumi_harness as h

    for dirpath, _, files in os.walk(h.PROGRAM):
        for f in files:
            if f.endswith((".py", ".yaml", ".json")):
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                assert not re.search(r"(?<![\d.])\d{12}(?![\d.])", text), f
                # Region names appear only as the prod inference profile's routing regions.
                if f != "Pulumi.prod.yaml":
                    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b", text), f
