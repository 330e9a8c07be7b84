"""The chatbot's web files: a private, encrypted S3 bucket readable only by one CloudFront
distribution through origin access control."""

import pulumi
import pulumi_aws as aws

from . import names, policies
from .tags import tags

# AWS-managed cache policy "Managed-CachingOptimized" (the same id in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


class Frontend(pulumi.ComponentResource):
    def __init__(self, name: str, env: str, force_destroy: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("otter:frontend:Frontend", name, None, opts)
        t = tags(env, "frontend")
        child = pulumi.ResourceOptions(parent=self)
        prefix = names.prefix(env)

        self.bucket = aws.s3.Bucket(f"{name}-web", bucket_prefix=f"{prefix}-web-", force_destroy=force_destroy, tags=t, opts=child)
        bucket_child = pulumi.ResourceOptions(parent=self.bucket)
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-web",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=bucket_child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-web", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=bucket_child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-web",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=bucket_child,
        )

        self.oac = aws.cloudfront.OriginAccessControl(
            f"{name}-web",
            name=f"{prefix}-web",
            description=f"{prefix} web files",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        origin_id = "web-bucket"
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-web",
            enabled=True,
            comment=f"{prefix} web files",
            default_root_object="index.html",
            http_version="http2and3",
            price_class="PriceClass_100",
            origins=[
                {
                    "origin_id": origin_id,
                    "domain_name": self.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": self.oac.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True},
            tags=t,
            opts=child,
        )
        bucket_policy = pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
            lambda v: policies.frontend_bucket_policy(v[0], v[1])
        )
        aws.s3.BucketPolicy(
            f"{name}-web",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(bucket_policy),
            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[block]),
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.distribution_id = self.distribution.id
        self.distribution_arn = self.distribution.arn
        self.url = pulumi.Output.concat("https://", self.distribution.domain_name)
        self.register_outputs({"bucketName": self.bucket_name, "distributionId": self.distribution_id, "url": self.url})
