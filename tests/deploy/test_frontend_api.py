"""CloudFront in front of both the page (S3) and the chatbot's API (its public ALB host), and the
page's security headers equal to what the chatbot itself sends."""

import os
import socket
import subprocess
import time
import urllib.request

import pytest

import pulumi_harness as h

HOST = "chat.example.org"
REPO = "example-org/otter"

# The AWS-managed policies' ids, from CloudFront's documentation ("Use managed cache policies",
# "Use managed origin request policies"), written out here rather than imported.
MANAGED_CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
MANAGED_ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

# chatbot/cb_web.h CB_WEB_CSP, copied by hand.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@pytest.fixture(scope="module", params=["dev", "prod"])
def with_api(request):
    env = request.param
    return env, h.run(env, environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_PUBLIC_HOST": HOST})


def _distribution(rec):
    d = rec.of("aws:cloudfront/distribution:Distribution")
    assert len(d) == 1
    return d[0].inputs


def test_api_origin_is_the_public_host_over_tls12_only(with_api):
    env, rec = with_api
    d = _distribution(rec)
    assert [o["originId"] for o in d["origins"]] == ["web-bucket", "chatbot-api"]
    api = d["origins"][1]
    assert api["domainName"] == HOST
    assert "originAccessControlId" not in api
    c = api["customOriginConfig"]
    assert c["originProtocolPolicy"] == "https-only"
    assert c["originSslProtocols"] == ["TLSv1.2"]
    assert (c["httpsPort"], c["originReadTimeout"]) == (443, 60)


def test_api_behaviour_forwards_every_method_uncached_uncompressed(with_api):
    env, rec = with_api
    d = _distribution(rec)
    assert len(d["orderedCacheBehaviors"]) == 1
    b = d["orderedCacheBehaviors"][0]
    assert b["pathPattern"] == "/api/*"
    assert b["targetOriginId"] == "chatbot-api"
    assert sorted(b["allowedMethods"]) == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    assert b["viewerProtocolPolicy"] == "https-only"  # a redirected POST would lose its body
    assert b["cachePolicyId"] == MANAGED_CACHING_DISABLED
    assert b["originRequestPolicyId"] == MANAGED_ALL_VIEWER_EXCEPT_HOST
    assert b["compress"] is False
    assert "responseHeadersPolicyId" not in b  # the chatbot sends the API's own headers
    # No TTL fields next to a cache policy (CloudFront refuses both at once).
    assert not {"minTtl", "defaultTtl", "maxTtl", "forwardedValues"} & set(b)


def test_default_behaviour_sets_the_page_headers(with_api):
    env, rec = with_api
    d = _distribution(rec)
    dflt = d["defaultCacheBehavior"]
    assert dflt["targetOriginId"] == "web-bucket"
    assert dflt["cachePolicyId"] == MANAGED_CACHING_OPTIMIZED
    pols = rec.of("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    assert len(pols) == 1
    assert dflt["responseHeadersPolicyId"] == "ResponseHeadersPolicy/frontend-web"  # the mock's id
    p = pols[0].inputs
    assert p["name"] == f"otter-{env}-web-page"
    sec = p["securityHeadersConfig"]
    assert sec["contentSecurityPolicy"] == {"contentSecurityPolicy": PAGE_CSP, "override": True}
    assert sec["contentTypeOptions"] == {"override": True}
    assert sec["frameOptions"] == {"frameOption": "DENY", "override": True}
    assert sec["referrerPolicy"] == {"referrerPolicy": "no-referrer", "override": True}
    assert p["customHeadersConfig"]["items"] == [
        {"header": "Cross-Origin-Resource-Policy", "value": "same-origin", "override": True}
    ]


def test_without_public_host_the_bucket_is_the_only_origin(stack):
    env, rec = stack
    d = _distribution(rec)
    assert [o["originId"] for o in d["origins"]] == ["web-bucket"]
    assert not d.get("orderedCacheBehaviors")
    # The page's headers do not depend on the API.
    assert d["defaultCacheBehavior"]["responseHeadersPolicyId"] == "ResponseHeadersPolicy/frontend-web"


def test_ops_role_may_manage_only_response_headers_policies_of_the_account(dev):
    ops = [r for r in dev.of("aws:iam/policy:Policy") if "CloudFrontResponseHeaders" in r.inputs.get("policy", "")]
    assert ops, "no ops policy grants the response headers policy"
    for r in ops:
        st = [s for s in r.policy()["Statement"] if s["Sid"] == "CloudFrontResponseHeaders"][0]
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert res == [f"arn:aws:cloudfront::{h.ACCOUNT}:response-headers-policy/*"]
        assert sorted(st["Action"]) == [
            "cloudfront:CreateResponseHeadersPolicy",
            "cloudfront:DeleteResponseHeadersPolicy",
            "cloudfront:GetResponseHeadersPolicy",
            "cloudfront:UpdateResponseHeadersPolicy",
        ]


def _chatbot_binary():
    for p in (os.environ.get("CHATBOT"), os.path.join(h.ROOT, "build", "chatbot", "chatbot")):
        if p and os.access(p, os.X_OK):
            return p
    return None


def test_page_headers_equal_what_the_chatbot_sends(dev, tmp_path):
    binary = _chatbot_binary()
    if binary is None:
        pytest.skip("build/chatbot/chatbot not built (set CHATBOT=...)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": os.environ.get("PATH", ""), "OTEL_SDK_DISABLED": "true"}
    proc = subprocess.Popen(
        [binary, "--listen", f"127.0.0.1:{port}", "--history", "memory"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    try:
        headers = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    headers = r.headers
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"chatbot exited: {proc.stderr.read().decode()}")
                time.sleep(0.1)
        assert headers is not None, "chatbot did not answer GET /"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    p = dev.of("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")[0].inputs
    sec = p["securityHeadersConfig"]
    assert headers["Content-Security-Policy"] == sec["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert headers["X-Content-Type-Options"] == "nosniff"  # what contentTypeOptions sends
    assert headers["X-Frame-Options"] == sec["frameOptions"]["frameOption"]
    assert headers["Referrer-Policy"] == sec["referrerPolicy"]["referrerPolicy"]
    assert headers["Cross-Origin-Resource-Policy"] == p["customHeadersConfig"]["items"][0]["value"]
