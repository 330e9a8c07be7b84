"""The names other parts of Otter depend on (k8s/, the chatbot, otterd's config, Ansible).

This module is the single source of those names inside deploy/; deploy/README.md lists them as
the contract. Everything is derived from the environment name, never from an account id.
"""

PLATFORM = "otter"

# Kubernetes namespaces and service accounts bound to AWS identities.
OTTERD_NAMESPACE = "otter-system"
OTTERD_SERVICE_ACCOUNT = "otterd"
ESO_NAMESPACE = "external-secrets"
ESO_SERVICE_ACCOUNT = "external-secrets"
LBC_NAMESPACE = "kube-system"
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
CHATBOT_NAMESPACE = "chatbot"
CHATBOT_SERVICE_ACCOUNT = "chatbot"

# Tag keys the clean-account checker looks for.
TAG_PLATFORM = "otter:platform"
TAG_ENVIRONMENT = "otter:environment"
TAG_COMPONENT = "otter:component"
TAG_MANAGED_BY = "otter:managed-by"


def prefix(env: str) -> str:
    """The name prefix of every named resource of one environment, e.g. `otter-dev`."""
    return f"{PLATFORM}-{env}"


def irsa_role(env: str, kind: str) -> str:
    """The name of a workload's IAM role: `otter-<env>-<kind>` (kind: otterd, external-secrets,
    aws-load-balancer-controller, chatbot). k8s/ annotates service accounts with these."""
    return f"{prefix(env)}-{kind}"


def github_role(env: str, kind: str) -> str:
    """The GitHub Actions roles of the bootstrap stack: `otter-<env>-github-<kind>` (delivery, ops)."""
    return f"{prefix(env)}-github-{kind}"


def ops_policy(env: str, part: str) -> str:
    """The ops role's managed policies: `otter-<env>-github-ops-<part>` (network, identity, keys, stores)."""
    return f"{github_role(env, 'ops')}-{part}"


def workload_boundary(env: str) -> str:
    """The permissions boundary of the workload roles: `otter-<env>-workload-boundary`."""
    return f"{prefix(env)}-workload-boundary"


def cluster_name(env: str) -> str:
    return prefix(env)


def control_plane_log_group(env: str) -> str:
    """The log group EKS writes control-plane logs to; Pulumi owns it so it has a retention."""
    return f"/aws/eks/{cluster_name(env)}/cluster"


def log_groups(env: str) -> dict:
    """The log groups otterd writes to: its own logs, the chatbot's logs, and EMF metrics."""
    return {
        "agent": f"/{PLATFORM}/{env}/agent",
        "chatbot": f"/{PLATFORM}/{env}/chatbot",
        "emf": f"/{PLATFORM}/{env}/emf",
    }


def ssm_prefix(env: str) -> str:
    """The SSM Parameter Store path the apps read through External Secrets (no trailing slash)."""
    return f"/{PLATFORM}/{env}"


def ssm_parameters(env: str) -> dict:
    p = ssm_prefix(env)
    return {
        "region": f"{p}/chatbot/aws-region",
        "table": f"{p}/chatbot/dynamodb-table",
        "model": f"{p}/chatbot/bedrock-model-id",
        "static_url": f"{p}/chatbot/static-url",
        "log_group": f"{p}/chatbot/log-group",
        "cluster": f"{p}/otterd/cluster-name",
        "emf_log_group": f"{p}/otterd/emf-log-group",
    }


def origin_secret_parameter(env: str) -> str:
    """The SecureString parameter holding the shared secret CloudFront sends to the chatbot's
    origin as ORIGIN_HEADER (k8s/'s ExternalSecret maps it to CHATBOT_ORIGIN_SECRET)."""
    return f"{ssm_prefix(env)}/chatbot/origin-secret"


# The custom origin header CloudFront adds to every request for the chatbot's API; the chatbot
# (chatbot/cb_origin.h CB_ORIGIN_HEADER) refuses /api/ requests without it.
ORIGIN_HEADER = "X-Otter-Origin-Verify"


def table_name(env: str) -> str:
    return f"{prefix(env)}-chat-history"


# DynamoDB key schema and TTL attribute: the chatbot's history store writes these.
TABLE_HASH_KEY = "session_id"
TABLE_RANGE_KEY = "seq"
TABLE_TTL_ATTRIBUTE = "expires_at"


def repositories(env: str) -> dict:
    return {"otterd": f"{PLATFORM}/{env}/otterd", "chatbot": f"{PLATFORM}/{env}/chatbot"}


def alerts_topic(env: str) -> str:
    return f"{prefix(env)}-alerts"
