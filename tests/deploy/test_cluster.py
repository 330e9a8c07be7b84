import pytest

import pulumi_harness as h
from conftest import REPO

CLUSTER = "aws:eks/cluster:Cluster"


def cluster(rec):
    c = rec.of(CLUSTER)
    assert len(c) == 1
    return c[0].inputs


def test_cluster_name_version_and_private_subnets(stack):
    env, rec = stack
    c = cluster(rec)
    assert c["name"] == f"otter-{env}"
    assert c["version"] == "1.33"
    n = {"dev": 2, "prod": 3}[env]
    assert c["vpcConfig"]["subnetIds"] == [f"Subnet/network-private-{i}" for i in range(n)]
    assert c["vpcConfig"]["endpointPrivateAccess"] is True
    assert c["roleArn"] == f"arn:aws:iam::123456789012:role/otter-{env}-cluster"


def test_secrets_are_encrypted_with_a_rotating_kms_key(stack):
    _, rec = stack
    enc = cluster(rec)["encryptionConfig"]
    assert enc["resources"] == ["secrets"]
    assert enc["provider"]["keyArn"] == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key = rec.of("aws:kms/key:Key")
    assert len(key) == 1 and key[0].inputs["enableKeyRotation"] is True


def test_every_control_plane_log_type_goes_to_an_owned_log_group_with_retention(dev, prod):
    for rec, env, days in ((dev, "dev", 7), (prod, "prod", 90)):
        assert sorted(cluster(rec)["enabledClusterLogTypes"]) == sorted(
            ["api", "audit", "authenticator", "controllerManager", "scheduler"]
        )
        lg = rec.by_input("aws:cloudwatch/logGroup:LogGroup", "name", f"/aws/eks/otter-{env}/cluster")
        assert lg.inputs["retentionInDays"] == days


def test_api_authentication_only_and_no_public_endpoint_by_default(stack):
    _, rec = stack
    c = cluster(rec)
    assert c["accessConfig"]["authenticationMode"] == "API"
    assert c["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in c["vpcConfig"]


def test_without_an_admin_role_the_creator_administers_and_no_admin_entry_exists(dev):
    assert cluster(dev)["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    assert [r.name for r in dev.of("aws:eks/accessEntry:AccessEntry")] == ["ci-ops"]


@pytest.fixture(scope="module")
def with_admin():
    return h.run(
        "dev",
        environ={
            "OTTER_ADMIN_ROLE_ARN": "arn:aws:iam::123456789012:role/platform-admins",
            "OTTER_PUBLIC_ACCESS_CIDRS": "198.51.100.0/24, 203.0.113.7/32",
        },
    )


def test_an_admin_role_gets_a_cluster_admin_access_entry_instead_of_the_creator(with_admin):
    c = cluster(with_admin)
    assert c["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entry = with_admin.one("aws:eks/accessEntry:AccessEntry", "cluster-admin")
    assert entry.inputs["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    assoc = with_admin.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "cluster-admin")
    assert assoc.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert assoc.inputs["accessScope"] == {"type": "cluster"}


def test_public_endpoint_only_for_the_given_cidrs(with_admin):
    vpc = cluster(with_admin)["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["198.51.100.0/24", "203.0.113.7/32"]


def test_an_endpoint_open_to_the_internet_is_refused():
    with pytest.raises(ValueError, match="publicAccessCidrs"):
        h.run("dev", environ={"OTTER_PUBLIC_ACCESS_CIDRS": "0.0.0.0/0"})


def test_launch_template_requires_imdsv2_and_blocks_pods_from_node_credentials(stack):
    env, rec = stack
    lts = rec.of("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(lts) == 1
    md = lts[0].inputs["metadataOptions"]
    assert md["httpTokens"] == "required"
    assert md["httpEndpoint"] == "enabled"
    assert md["httpPutResponseHopLimit"] == 1
    ebs = lts[0].inputs["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] == "true"
    assert ebs["volumeSize"] == {"dev": 40, "prod": 80}[env]
    kinds = {s["resourceType"] for s in lts[0].inputs["tagSpecifications"]}
    assert kinds == {"instance", "volume", "network-interface"}
    for spec in lts[0].inputs["tagSpecifications"]:
        assert spec["tags"]["otter:platform"] == "otter"
        assert spec["tags"]["otter:environment"] == env


def test_node_group_sizes_and_types_per_environment(dev, prod):
    expect = {
        "dev": (["t3.large"], {"desiredSize": 2, "minSize": 2, "maxSize": 3}),
        "prod": (["m6i.large", "m7i.large"], {"desiredSize": 3, "minSize": 3, "maxSize": 6}),
    }
    for env, rec in (("dev", dev), ("prod", prod)):
        ngs = rec.of("aws:eks/nodeGroup:NodeGroup")
        assert len(ngs) == 1
        ng = ngs[0].inputs
        assert (ng["instanceTypes"], ng["scalingConfig"]) == expect[env]
        assert ng["launchTemplate"] == {"id": "LaunchTemplate/cluster-nodes", "version": "1"}
        assert ng["nodeRoleArn"] == f"arn:aws:iam::123456789012:role/otter-{env}-node"
        assert all(s.startswith("Subnet/network-private-") for s in ng["subnetIds"])
        assert ng["clusterName"] == f"otter-{env}"


def test_managed_addons_are_pinned(stack):
    env, rec = stack
    cfg = h.stack_config(env)["otter:addonVersions"]
    addons = {a.inputs["addonName"]: a.inputs for a in rec.of("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
    for name, a in addons.items():
        assert a["addonVersion"] == cfg[name]
        assert a["addonVersion"].startswith("v")
        assert a["clusterName"] == f"otter-{env}"
    assert cluster(rec)["bootstrapSelfManagedAddons"] is False


def test_node_and_cluster_roles_carry_only_the_aws_managed_policies_they_need(stack):
    env, rec = stack
    attached = {}
    for a in rec.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        attached.setdefault(a.inputs["role"], set()).add(a.inputs["policyArn"])
    # The CI ops role's own managed policies are checked in test_ci.py.
    attached.pop(f"otter-{env}-github-ops")
    assert attached == {
        f"otter-{env}-cluster": {"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"},
        f"otter-{env}-node": {
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        },
    }


def test_oidc_provider_for_irsa(stack):
    _, rec = stack
    oidc = rec.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "cluster-oidc")
    assert oidc.inputs["url"] == f"https://{h.OIDC_ISSUER}"
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
