"""Per-stack settings, read once from stack config (and a few environment variables)."""

import dataclasses
import ipaddress
import os

import pulumi

NAT_CHOICES = ("none", "single", "per-az")
ADDONS = ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent")


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str
    vpc_cidr: str
    az_count: int
    nat_gateways: str
    kubernetes_version: str
    node_instance_types: list
    node_desired: int
    node_min: int
    node_max: int
    node_disk_gib: int
    public_access_cidrs: list
    log_retention_days: int
    control_plane_log_retention_days: int
    force_destroy: bool
    protect: bool
    addon_versions: dict
    bedrock_model_id: str
    bedrock_inference_profile_id: str | None
    bedrock_profile_regions: list
    github_repository: str | None
    admin_role_arn: str | None
    github_oidc_provider_arn: str | None
    slo_dashboard_file: str
    slo_alarms_file: str
    public_host: str | None = None
    certificate_arn: str | None = None
    git_repository_url: str | None = None
    state_bucket: str | None = None
    state_key_arn: str | None = None
    bootstrap_stack: str = ""

    def validate(self) -> "Settings":
        if self.env not in ("dev", "prod"):
            raise ValueError(f"otter:environment must be dev or prod, not {self.env!r}")
        if not 2 <= self.az_count <= 3:
            raise ValueError("otter:azCount must be 2 or 3")
        if self.nat_gateways not in NAT_CHOICES:
            raise ValueError(f"otter:natGateways must be one of {NAT_CHOICES}")
        if not 1 <= self.node_min <= self.node_desired <= self.node_max:
            raise ValueError("otter:nodeMin <= otter:nodeDesired <= otter:nodeMax is required")
        for cidr in self.public_access_cidrs:
            if ipaddress.ip_network(cidr).prefixlen == 0:
                raise ValueError("otter:publicAccessCidrs must not open the API to the internet")
        missing = [a for a in ADDONS if a not in self.addon_versions]
        if missing:
            raise ValueError(f"otter:addonVersions lacks {missing}")
        if self.bedrock_inference_profile_id and not self.bedrock_profile_regions:
            raise ValueError("otter:bedrockProfileRegions is required with an inference profile")
        return self


def _env_list(name: str) -> list | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def load() -> Settings:
    """Reads the `otter:*` stack config; OTTER_* environment variables override the few values
    that are per-installation rather than per-environment (repository, admin role, CIDRs)."""
    c = pulumi.Config("otter")
    here = os.path.dirname(os.path.abspath(__file__))
    slo_dir = os.path.join(os.path.dirname(here), "slo")
    return Settings(
        env=c.require("environment"),
        vpc_cidr=c.get("vpcCidr") or "10.40.0.0/16",
        az_count=c.require_int("azCount"),
        nat_gateways=c.get("natGateways") or "single",
        kubernetes_version=c.require("kubernetesVersion"),
        node_instance_types=c.require_object("nodeInstanceTypes"),
        node_desired=c.require_int("nodeDesired"),
        node_min=c.require_int("nodeMin"),
        node_max=c.require_int("nodeMax"),
        node_disk_gib=c.get_int("nodeDiskGiB") or 40,
        public_access_cidrs=_env_list("OTTER_PUBLIC_ACCESS_CIDRS")
        or c.get_object("publicAccessCidrs")
        or [],
        log_retention_days=c.require_int("logRetentionDays"),
        control_plane_log_retention_days=c.require_int("controlPlaneLogRetentionDays"),
        force_destroy=bool(c.get_bool("forceDestroy")),
        protect=bool(c.get_bool("protect")),
        addon_versions=c.require_object("addonVersions"),
        bedrock_model_id=c.require("bedrockModelId"),
        bedrock_inference_profile_id=c.get("bedrockInferenceProfileId"),
        bedrock_profile_regions=c.get_object("bedrockProfileRegions") or [],
        github_repository=os.environ.get("OTTER_GITHUB_REPOSITORY") or c.get("githubRepository"),
        admin_role_arn=os.environ.get("OTTER_ADMIN_ROLE_ARN") or c.get("adminRoleArn"),
        github_oidc_provider_arn=os.environ.get("OTTER_GITHUB_OIDC_PROVIDER_ARN")
        or c.get("githubOidcProviderArn"),
        slo_dashboard_file=c.get("sloDashboardFile") or os.path.join(slo_dir, "dashboard.json"),
        slo_alarms_file=c.get("sloAlarmsFile") or os.path.join(slo_dir, "alarms.json"),
        # What k8s/ needs beyond the stack's own resources (deploy/tools/render_gitops.py).
        public_host=os.environ.get("OTTER_PUBLIC_HOST") or c.get("publicHost"),
        certificate_arn=os.environ.get("OTTER_CERTIFICATE_ARN") or c.get("certificateArn"),
        git_repository_url=os.environ.get("OTTER_GIT_REPOSITORY_URL")
        or c.get("gitRepositoryUrl")
        or _github_clone_url(os.environ.get("OTTER_GITHUB_REPOSITORY") or c.get("githubRepository")),
        # The S3 state backend and its secrets key, granted to the ops role when set.
        state_bucket=os.environ.get("OTTER_STATE_BUCKET") or c.get("stateBucket"),
        state_key_arn=os.environ.get("OTTER_STATE_KMS_KEY_ARN") or c.get("stateKmsKeyArn"),
        bootstrap_stack=bootstrap_stack_name(c, c.require("environment")),
    ).validate()


BOOTSTRAP_PROJECT = "otter-bootstrap"


def bootstrap_stack_name(c: pulumi.Config, env: str) -> str:
    """The fully qualified name of the environment's bootstrap stack, which the platform stack
    reads through a StackReference: OTTER_BOOTSTRAP_STACK or `otter:bootstrapStack`, by default
    `<this stack's organization>/otter-bootstrap/<env>` (`organization` on a DIY backend)."""
    return (
        os.environ.get("OTTER_BOOTSTRAP_STACK")
        or c.get("bootstrapStack")
        or f"{pulumi.get_organization()}/{BOOTSTRAP_PROJECT}/{env}"
    )


@dataclasses.dataclass(frozen=True)
class BootstrapSettings:
    """What the bootstrap stack (deploy/pulumi/bootstrap) needs: the environment and the
    per-installation values of the CI identities (the same variables as the platform's)."""

    env: str
    github_repository: str | None
    github_oidc_provider_arn: str | None
    state_bucket: str | None
    state_key_arn: str | None


def load_bootstrap() -> BootstrapSettings:
    c = pulumi.Config("otter")
    env = c.require("environment")
    if env not in ("dev", "prod"):
        raise ValueError(f"otter:environment must be dev or prod, not {env!r}")
    return BootstrapSettings(
        env=env,
        github_repository=os.environ.get("OTTER_GITHUB_REPOSITORY") or c.get("githubRepository"),
        github_oidc_provider_arn=os.environ.get("OTTER_GITHUB_OIDC_PROVIDER_ARN") or c.get("githubOidcProviderArn"),
        state_bucket=os.environ.get("OTTER_STATE_BUCKET") or c.get("stateBucket"),
        state_key_arn=os.environ.get("OTTER_STATE_KMS_KEY_ARN") or c.get("stateKmsKeyArn"),
    )


def _github_clone_url(repository: str | None) -> str | None:
    return f"https://github.com/{repository}.git" if repository else None
