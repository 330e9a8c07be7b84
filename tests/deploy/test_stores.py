"""Registry, frontend, data and secrets."""

import json

import pytest

import pulumi_harness as h


def test_ecr_repositories_are_immutable_and_scanned(stack):
    env, rec = stack
    repos = {r.inputs["name"]: r.inputs for r in rec.of("aws:ecr/repository:Repository")}
    assert set(repos) == {f"otter/{env}/otterd", f"otter/{env}/chatbot"}
    for r in repos.values():
        assert r["imageTagMutability"] == "IMMUTABLE"
        assert r["imageScanningConfiguration"] == {"scanOnPush": True}
        assert r["forceDelete"] is {"dev": True, "prod": False}[env]


def test_ecr_lifecycle_expires_untagged_images(stack):
    env, rec = stack
    pols = rec.of("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert sorted(p.inputs["repository"] for p in pols) == [f"otter/{env}/chatbot", f"otter/{env}/otterd"]
    for p in pols:
        rules = json.loads(p.inputs["policy"])["rules"]
        untagged = [r for r in rules if r["selection"]["tagStatus"] == "untagged"]
        assert untagged[0]["selection"]["countType"] == "sinceImagePushed"
        assert untagged[0]["selection"]["countNumber"] == 7
        assert all(r["action"] == {"type": "expire"} for r in rules)


def test_web_bucket_is_private_encrypted_and_owner_enforced(stack):
    env, rec = stack
    b = rec.of("aws:s3/bucket:Bucket")
    assert len(b) == 1
    assert b[0].inputs["bucketPrefix"] == f"otter-{env}-web-"
    assert b[0].inputs["forceDestroy"] is {"dev": True, "prod": False}[env]
    pab = rec.of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs
    assert pab["blockPublicAcls"] and pab["blockPublicPolicy"] and pab["ignorePublicAcls"] and pab["restrictPublicBuckets"]
    assert rec.of("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0].inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    sse = rec.of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0]
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_cloudfront_reads_the_bucket_through_origin_access_control(stack):
    env, rec = stack
    oac = rec.of("aws:cloudfront/originAccessControl:OriginAccessControl")[0].inputs
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == ("s3", "always", "sigv4")
    d = rec.of("aws:cloudfront/distribution:Distribution")[0].inputs
    assert d["origins"] == [
        {
            "originId": "web-bucket",
            "domainName": f"otter-{env}-web-abc123.s3.us-east-1.amazonaws.com",
            "originAccessControlId": "OriginAccessControl/frontend-web",
        }
    ]
    assert d["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
    assert d["defaultCacheBehavior"]["allowedMethods"] == ["GET", "HEAD"]
    assert d["defaultCacheBehavior"]["targetOriginId"] == "web-bucket"


def test_chat_history_table_with_ttl(dev, prod):
    for env, rec in (("dev", dev), ("prod", prod)):
        t = rec.of("aws:dynamodb/table:Table")
        assert len(t) == 1
        t = t[0].inputs
        assert t["name"] == f"otter-{env}-chat-history"
        assert t["billingMode"] == "PAY_PER_REQUEST"
        assert (t["hashKey"], t["rangeKey"]) == ("session_id", "seq")
        assert sorted((a["name"], a["type"]) for a in t["attributes"]) == [("seq", "N"), ("session_id", "S")]
        assert t["ttl"] == {"attributeName": "expires_at", "enabled": True}
        assert t["serverSideEncryption"] == {"enabled": True}
    assert dev.of("aws:dynamodb/table:Table")[0].inputs["pointInTimeRecovery"] == {"enabled": False}
    assert dev.of("aws:dynamodb/table:Table")[0].inputs["deletionProtectionEnabled"] is False
    assert prod.of("aws:dynamodb/table:Table")[0].inputs["pointInTimeRecovery"] == {"enabled": True}
    assert prod.of("aws:dynamodb/table:Table")[0].inputs["deletionProtectionEnabled"] is True


def test_ssm_parameters_carry_the_ids_the_apps_read(dev, prod):
    expected = {
        "dev": {
            "/otter/dev/chatbot/aws-region": "us-east-1",
            "/otter/dev/chatbot/dynamodb-table": "otter-dev-chat-history",
            "/otter/dev/chatbot/bedrock-model-id": "amazon.nova-lite-v1:0",
            "/otter/dev/chatbot/static-url": "https://d111111abcdef8.cloudfront.net",
            "/otter/dev/chatbot/log-group": "/otter/dev/chatbot",
            "/otter/dev/otterd/cluster-name": "otter-dev",
            "/otter/dev/otterd/emf-log-group": "/otter/dev/emf",
        },
        "prod": {
            "/otter/prod/chatbot/aws-region": "us-east-1",
            "/otter/prod/chatbot/dynamodb-table": "otter-prod-chat-history",
            "/otter/prod/chatbot/bedrock-model-id": "us.amazon.nova-lite-v1:0",
            "/otter/prod/chatbot/static-url": "https://d111111abcdef8.cloudfront.net",
            "/otter/prod/chatbot/log-group": "/otter/prod/chatbot",
            "/otter/prod/otterd/cluster-name": "otter-prod",
            "/otter/prod/otterd/emf-log-group": "/otter/prod/emf",
        },
    }
    for env, rec in (("dev", dev), ("prod", prod)):
        # The ids only; the one SecureString (the origin secret) is test_origin_secret.py's, and
        # its value is never printed here.
        params = {p.inputs["name"]: p.inputs for p in rec.of("aws:ssm/parameter:Parameter") if p.inputs["type"] != "SecureString"}
        assert {k: v["value"] for k, v in params.items()} == expected[env]
        assert {v["type"] for v in params.values()} == {"String"}


@pytest.mark.parametrize(
    "config,message",
    [
        ({"otter:azCount": 4}, "azCount"),
        ({"otter:natGateways": "two"}, "natGateways"),
        ({"otter:nodeMin": 5}, "nodeMin"),
        ({"otter:environment": "staging"}, "environment"),
        ({"otter:addonVersions": {"vpc-cni": "v1"}}, "addonVersions"),
        ({"otter:bedrockProfileRegions": []}, "bedrockProfileRegions"),
    ],
)
def test_bad_stack_config_is_refused(config, message):
    with pytest.raises(ValueError, match=message):
        h.run("prod", config=config)
