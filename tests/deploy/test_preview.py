"""Under preview, computed outputs (ARNs, ids, the OIDC issuer) are unknown: the program must
still register the same resources, and leave what depends on unknowns unknown, not wrong."""

import pulumi

import pulumi_harness as h
from conftest import REPO


def test_preview_registers_the_same_resources(stack):
    env, full = stack
    preview = h.run_env(env, environ={"OTTER_GITHUB_REPOSITORY": REPO}, preview=True)
    assert sorted((r.typ, r.name) for r in preview.resources) == sorted((r.typ, r.name) for r in full.resources)


def test_policies_built_from_unknown_arns_stay_unknown_in_preview():
    rec = h.run("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO}, preview=True)
    policies = {r.name: r.inputs.get("policy") for r in rec.of("aws:iam/rolePolicy:RolePolicy")}
    # otterd's depends on log-group ARNs, the chatbot's on the table ARN: unknown until created.
    assert isinstance(policies["identity-otterd"], pulumi.output.Unknown)
    assert isinstance(policies["identity-chatbot"], pulumi.output.Unknown)
    # External Secrets' depends only on lookups, known at preview.
    assert '"arn:aws:ssm:us-east-1:123456789012:parameter/otter/dev/*"' in policies["identity-external-secrets"]


def test_bootstrap_policies_are_known_in_preview():
    """The bootstrap stack is created before the platform: its policies depend on lookups and
    names only, so even its first preview shows every document in full."""
    rec = h.run_bootstrap("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO}, preview=True)
    docs = [r.inputs.get("policy") for r in rec.of("aws:iam/policy:Policy") + rec.of("aws:iam/rolePolicy:RolePolicy")]
    assert len(docs) == 6  # the boundary, four ops parts, the delivery policy
    for d in docs:
        assert isinstance(d, str) and '"Statement"' in d, d
