"""The chatbot's web files: a private, encrypted S3 bucket readable only by one CloudFront
distribution through origin access control; with the chatbot's public host given, the same
distribution also routes `/api/*` to the chatbot's ALB, so the page calls its API on its own origin."""

import pulumi
import pulumi_aws as aws

from . import names, policies
from .tags import tags

# AWS-managed cache policy "Managed-CachingOptimized" (the same id in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# AWS-managed cache policy "Managed-CachingDisabled": zero TTLs, nothing in the cache key.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# AWS-managed origin request policy "Managed-AllViewerExceptHostHeader": every viewer header
# (Content-Type, traceparent, ...), cookie and query string, but not Host: CloudFront then sends
# the origin's domain name (the public host), which is what the Ingress's host rule matches.
# The request body always goes to a custom origin.
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

# The page's security headers, copied from the chatbot (chatbot/cb_web.h CB_WEB_CSP and the page
# handler in chatbot/cb_server.c); tests/deploy/test_frontend_api.py compares them with what the
# chatbot binary sends.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_CORP = "same-origin"
API_PATH = "/api/*"
API_ORIGIN_ID = "chatbot-api"


class Frontend(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        env: str,
        force_destroy: bool,
        api_host: str | None = None,
        origin_secret: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """|api_host|: the chatbot's public host (the Ingress host, served by its ALB with a
        certificate for that name); None leaves the distribution with the bucket only (the page
        then has no API). |origin_secret| (a Pulumi secret; required with |api_host|): the value
        of the custom origin header names.ORIGIN_HEADER CloudFront adds to every request to the
        API, which the chatbot requires (the ALB admits every CloudFront distribution, anyone's;
        only ours knows the value)."""
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
        # The page's headers as the chatbot sends them for its own files (S3 cannot set them).
        self.page_headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-web",
            name=f"{prefix}-web-page",
            comment=f"{prefix} chat page security headers",
            security_headers_config={
                "content_security_policy": {"content_security_policy": PAGE_CSP, "override": True},
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "no-referrer", "override": True},
            },
            custom_headers_config={
                "items": [{"header": "Cross-Origin-Resource-Policy", "value": PAGE_CORP, "override": True}]
            },
            opts=child,
        )
        origins = [
            {
                "origin_id": origin_id,
                "domain_name": self.bucket.bucket_regional_domain_name,
                "origin_access_control_id": self.oac.id,
            }
        ]
        ordered = []
        if api_host and origin_secret is None:
            raise ValueError("frontend: an API origin needs its origin secret")
        if api_host:
            origins.append(
                {
                    "origin_id": API_ORIGIN_ID,
                    "domain_name": api_host,
                    "custom_origin_config": {
                        "http_port": 80,
                        "https_port": 443,
                        "origin_protocol_policy": "https-only",
                        "origin_ssl_protocols": ["TLSv1.2"],
                        # Between two bytes of a streamed answer (the deltas come well within it).
                        "origin_read_timeout": 60,
                        "origin_keepalive_timeout": 5,
                    },
                    # CloudFront overwrites a viewer's header of the same name with this value,
                    # so a client of our distribution cannot choose it.
                    "custom_headers": [{"name": names.ORIGIN_HEADER, "value": pulumi.Output.secret(origin_secret)}],
                }
            )
            ordered.append(
                {
                    "path_pattern": API_PATH,
                    "target_origin_id": API_ORIGIN_ID,
                    # https-only, not a redirect: a redirected POST would lose its body.
                    "viewer_protocol_policy": "https-only",
                    "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    "cached_methods": ["GET", "HEAD"],
                    # Off: an event stream must reach the browser as it is written (and the
                    # CachingDisabled policy does not enable compression anyway).
                    "compress": False,
                    "cache_policy_id": CACHING_DISABLED,
                    "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST,
                }
            )
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-web",
            enabled=True,
            comment=f"{prefix} web files",
            default_root_object="index.html",
            http_version="http2and3",
            price_class="PriceClass_100",
            origins=origins,
            ordered_cache_behaviors=ordered,
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED,
                "response_headers_policy_id": self.page_headers.id,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True},
            tags=t,
            # The origins hold the secret header: kept secret in the outputs and the state too.
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["origins"]),
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
