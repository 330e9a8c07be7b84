#!/usr/bin/env python3
"""verify-clean: lists what an environment of Otter left behind in an AWS account.

Looks with per-service list calls (the tagging API misses IAM, EKS and ECR, and elastic IPs in some
implementations), by the platform's tags *and* by the names the platform and the Kubernetes
controllers use (the AWS Load Balancer Controller tags its load balancers, target groups and
security groups with the cluster, not with the platform's tags; the VPC CNI and EKS tag or describe
their network interfaces with the cluster name). The tagging API is a cross-check on top.

The environment's bootstrap stack (deploy/pulumi/bootstrap: the GitHub OIDC provider, the delivery
and ops roles, the ops role's managed policies and the workload boundary) outlives a platform
destroy by design: its resources are reported apart, as "kept: bootstrap", and are not residues,
unless --include-bootstrap (after the administrator's destroy_bootstrap.yml), when they are.

Prints one line per residue (and per kept resource) and exits 1 when anything is left, 0 when the
account is clean, 2 on an error.
Usage: verify_clean.py --env dev [--region REGION] [--include-bootstrap] [--json]
"""

import argparse
import json
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

TAG_PLATFORM = "otter:platform"
TAG_ENVIRONMENT = "otter:environment"
PLATFORM = "otter"


GITHUB_OIDC_PROVIDER = "oidc-provider/token.actions.githubusercontent.com"
OPS_POLICY_PARTS = ("network", "identity", "keys", "stores")


class Checker:
    def __init__(self, env: str, session: boto3.session.Session, include_bootstrap: bool = False):
        self.env = env
        self.prefix = f"{PLATFORM}-{env}"
        self.cluster = self.prefix
        self.session = session
        self.include_bootstrap = include_bootstrap
        self.residues = []
        self.kept = []  # the bootstrap stack's resources (not residues unless include_bootstrap)

    def client(self, name):
        return self.session.client(name)

    def bootstrap_owned(self, kind: str, ident: str) -> bool:
        """Whether this is one of the bootstrap stack's resources, by the names
        deploy/pulumi/otter_infra/names.py gives them (github_role, ops_policy, workload_boundary)."""
        roles = {f"{self.prefix}-github-delivery", f"{self.prefix}-github-ops"}
        policies = {f"{self.prefix}-workload-boundary"} | {f"{self.prefix}-github-ops-{p}" for p in OPS_POLICY_PARTS}
        if kind == "iam-role":
            return ident in roles
        if kind == "iam-policy":
            return ident.split(":policy/")[-1] in policies
        if kind == "oidc-provider":
            return ident.endswith(f":{GITHUB_OIDC_PROVIDER}")
        if kind == "tagged-resource":
            return any(ident.endswith(f":role/{r}") for r in roles) or any(
                ident.endswith(f":policy/{p}") for p in policies) or ident.endswith(f":{GITHUB_OIDC_PROVIDER}")
        return False

    def found(self, kind: str, ident: str, why: str):
        item = {"kind": kind, "id": ident, "why": why}
        if not self.include_bootstrap and self.bootstrap_owned(kind, ident):
            self.kept.append(item)
        else:
            self.residues.append(item)

    # -- tag helpers -------------------------------------------------------------------------

    def ours(self, tags: dict) -> str | None:
        """Why a resource with these tags belongs to this environment, or None."""
        if tags.get(TAG_PLATFORM) == PLATFORM and tags.get(TAG_ENVIRONMENT) == self.env:
            return "platform tags"
        if tags.get("elbv2.k8s.aws/cluster") == self.cluster:
            return "load balancer controller tag"
        if f"kubernetes.io/cluster/{self.cluster}" in tags:
            return "kubernetes cluster tag"
        if tags.get("cluster.k8s.amazonaws.com/name") == self.cluster:
            return "VPC CNI tag"
        if tags.get("eks:cluster-name") == self.cluster:
            return "EKS tag"
        return None

    @staticmethod
    def ec2_tags(item) -> dict:
        return {t["Key"]: t["Value"] for t in item.get("Tags") or item.get("TagSet") or []}

    # -- per-service checks ------------------------------------------------------------------

    def check_ec2(self):
        ec2 = self.client("ec2")
        vpc_ids = set()
        for page in ec2.get_paginator("describe_vpcs").paginate():
            for v in page["Vpcs"]:
                why = self.ours(self.ec2_tags(v))
                if why:
                    vpc_ids.add(v["VpcId"])
                    self.found("vpc", v["VpcId"], why)
        for page in ec2.get_paginator("describe_subnets").paginate():
            for s in page["Subnets"]:
                why = self.ours(self.ec2_tags(s))
                if why:
                    self.found("subnet", s["SubnetId"], why)
        for page in ec2.get_paginator("describe_network_interfaces").paginate():
            for n in page["NetworkInterfaces"]:
                desc = n.get("Description") or ""
                why = self.ours(self.ec2_tags(n))
                if not why and f"Amazon EKS {self.cluster}" in desc:
                    why = "EKS description"
                if not why and n.get("VpcId") in vpc_ids:
                    why = "in the platform's VPC"
                if why:
                    self.found("network-interface", n["NetworkInterfaceId"], why)
        for page in ec2.get_paginator("describe_security_groups").paginate():
            for g in page["SecurityGroups"]:
                why = self.ours(self.ec2_tags(g))
                if not why and g["GroupName"].startswith(f"eks-cluster-sg-{self.cluster}-"):
                    why = "EKS cluster security group name"
                if not why and g.get("VpcId") in vpc_ids and g["GroupName"] != "default":
                    why = "in the platform's VPC"
                if why:
                    self.found("security-group", g["GroupId"], why)
        for page in ec2.get_paginator("describe_nat_gateways").paginate():
            for n in page["NatGateways"]:
                if n.get("State") in ("deleted", "deleting"):
                    continue
                why = self.ours(self.ec2_tags(n))
                if why:
                    self.found("nat-gateway", n["NatGatewayId"], why)
        for a in ec2.describe_addresses()["Addresses"]:
            why = self.ours(self.ec2_tags(a))
            if why:
                self.found("elastic-ip", a.get("AllocationId") or a.get("PublicIp"), why)
        for page in ec2.get_paginator("describe_launch_templates").paginate():
            for lt in page["LaunchTemplates"]:
                why = self.ours(self.ec2_tags(lt))
                if why:
                    self.found("launch-template", lt["LaunchTemplateId"], why)

    def check_elbv2(self):
        elb = self.client("elbv2")
        for kind, pager, key, arn_key in (
            ("load-balancer", "describe_load_balancers", "LoadBalancers", "LoadBalancerArn"),
            ("target-group", "describe_target_groups", "TargetGroups", "TargetGroupArn"),
        ):
            arns = [x[arn_key] for page in elb.get_paginator(pager).paginate() for x in page[key]]
            for i in range(0, len(arns), 20):
                for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
                    why = self.ours({t["Key"]: t["Value"] for t in d.get("Tags", [])})
                    if why:
                        self.found(kind, d["ResourceArn"], why)

    def check_eks(self):
        eks = self.client("eks")
        for page in eks.get_paginator("list_clusters").paginate():
            if self.cluster in page["clusters"]:
                self.found("eks-cluster", self.cluster, "name")

    def check_iam(self):
        iam = self.client("iam")
        for page in iam.get_paginator("list_roles").paginate():
            for r in page["Roles"]:
                why = "name" if r["RoleName"].startswith(f"{self.prefix}-") else None
                if not why:
                    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=r["RoleName"]).get("Tags", [])}
                    why = self.ours(tags)
                if why:
                    self.found("iam-role", r["RoleName"], why)
        for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
            for p in page["Policies"]:
                if p["PolicyName"].startswith(f"{self.prefix}-"):
                    self.found("iam-policy", p["Arn"], "name")
        for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            tags = {
                t["Key"]: t["Value"]
                for t in iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=p["Arn"]).get("Tags", [])
            }
            why = self.ours(tags)
            if why:
                self.found("oidc-provider", p["Arn"], why)

    def check_ecr(self):
        ecr = self.client("ecr")
        for page in ecr.get_paginator("describe_repositories").paginate():
            for r in page["repositories"]:
                if r["repositoryName"].startswith(f"{PLATFORM}/{self.env}/"):
                    self.found("ecr-repository", r["repositoryName"], "name")

    def check_logs(self):
        logs = self.client("logs")
        for prefix in (f"/{PLATFORM}/{self.env}/", f"/aws/eks/{self.cluster}/"):
            for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
                for g in page["logGroups"]:
                    self.found("log-group", g["logGroupName"], "name")

    def check_s3(self):
        s3 = self.client("s3")
        for b in s3.list_buckets().get("Buckets", []):
            name = b["Name"]
            why = "name" if name.startswith(f"{self.prefix}-") else None
            if not why:
                try:
                    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
                except ClientError:
                    tags = {}
                why = self.ours(tags)
            if why:
                self.found("s3-bucket", name, why)

    def check_ssm(self):
        ssm = self.client("ssm")
        path = f"/{PLATFORM}/{self.env}"
        for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True):
            for p in page["Parameters"]:
                self.found("ssm-parameter", p["Name"], "path")

    def check_cloudwatch(self):
        cw = self.client("cloudwatch")
        alarms = cw.describe_alarms(AlarmNamePrefix=f"{self.prefix}-", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for a in alarms.get("MetricAlarms", []) + alarms.get("CompositeAlarms", []):
            self.found("alarm", a["AlarmName"], "name")
        for d in cw.list_dashboards(DashboardNamePrefix=f"{self.prefix}-").get("DashboardEntries", []):
            self.found("dashboard", d["DashboardName"], "name")

    def check_sns(self):
        sns = self.client("sns")
        for page in sns.get_paginator("list_topics").paginate():
            for t in page["Topics"]:
                if t["TopicArn"].rsplit(":", 1)[-1].startswith(f"{self.prefix}-"):
                    self.found("sns-topic", t["TopicArn"], "name")

    def check_dynamodb(self):
        ddb = self.client("dynamodb")
        for page in ddb.get_paginator("list_tables").paginate():
            for t in page["TableNames"]:
                if t.startswith(f"{self.prefix}-"):
                    self.found("dynamodb-table", t, "name")

    def check_cloudfront(self):
        cf = self.client("cloudfront")
        for page in cf.get_paginator("list_distributions").paginate():
            for d in page.get("DistributionList", {}).get("Items", []):
                why = "comment" if (d.get("Comment") or "").startswith(f"{self.prefix} ") else None
                if not why:
                    tags = cf.list_tags_for_resource(Resource=d["ARN"]).get("Tags", {}).get("Items", [])
                    why = self.ours({t["Key"]: t.get("Value", "") for t in tags})
                if why:
                    self.found("cloudfront-distribution", d["Id"], why)
        # Neither an origin access control nor a response headers policy takes tags: they are the
        # platform's by name (frontend.py names them "<prefix>-web" and "<prefix>-web-page").
        for page in cf.get_paginator("list_origin_access_controls").paginate():
            for o in page.get("OriginAccessControlList", {}).get("Items", []):
                if o["Name"].startswith(f"{self.prefix}-"):
                    self.found("cloudfront-origin-access-control", o["Id"], "name")
        marker = None
        while True:
            args = {"Type": "custom", **({"Marker": marker} if marker else {})}
            got = cf.list_response_headers_policies(**args).get("ResponseHeadersPolicyList", {})
            for item in got.get("Items", []):
                pol = item["ResponseHeadersPolicy"]
                if pol["ResponseHeadersPolicyConfig"]["Name"].startswith(f"{self.prefix}-"):
                    self.found("cloudfront-response-headers-policy", pol["Id"], "name")
            marker = got.get("NextMarker")
            if not marker:
                break

    def check_kms(self):
        kms = self.client("kms")
        for page in kms.get_paginator("list_aliases").paginate():
            for a in page["Aliases"]:
                if a["AliasName"].startswith(f"alias/{self.prefix}-"):
                    self.found("kms-alias", a["AliasName"], "name")

    def check_tagging_api(self):
        """Cross-check: anything else the tagging API knows with the platform's tags."""
        tagging = self.client("resourcegroupstaggingapi")
        known = {r["id"] for r in self.residues + self.kept}
        filters = [{"Key": TAG_PLATFORM, "Values": [PLATFORM]}, {"Key": TAG_ENVIRONMENT, "Values": [self.env]}]
        for page in tagging.get_paginator("get_resources").paginate(TagFilters=filters):
            for m in page["ResourceTagMappingList"]:
                arn = m["ResourceARN"]
                if not any(k and (k == arn or arn.endswith(k) or k.endswith(arn)) for k in known):
                    self.found("tagged-resource", arn, "tagging API")

    CHECKS = (
        "check_ec2", "check_elbv2", "check_eks", "check_iam", "check_ecr", "check_logs",
        "check_s3", "check_ssm", "check_cloudwatch", "check_sns", "check_dynamodb", "check_cloudfront",
        "check_kms", "check_tagging_api",
    )

    def run(self) -> list:
        for name in self.CHECKS:
            getattr(self, name)()
        return self.residues


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", required=True, choices=["dev", "prod"])
    ap.add_argument("--region")
    ap.add_argument("--include-bootstrap", action="store_true",
                    help="count the bootstrap stack's resources as residues (after destroying it too)")
    ap.add_argument("--json", action="store_true", help="print the residues as one JSON document")
    args = ap.parse_args(argv)
    checker = Checker(args.env, boto3.session.Session(region_name=args.region), include_bootstrap=args.include_bootstrap)
    try:
        residues = checker.run()
    except (BotoCoreError, ClientError) as e:
        print(f"verify-clean: error: {e}", file=sys.stderr)
        return 2
    kept = checker.kept
    if args.json:
        print(json.dumps({"env": args.env, "residues": residues, "kept": {"bootstrap": kept}}, indent=2, sort_keys=True))
    else:
        for r in residues:
            print(f"RESIDUE {r['kind']} {r['id']} ({r['why']})")
        for r in kept:
            print(f"KEPT bootstrap {r['kind']} {r['id']} ({r['why']})")
        kept_note = f" (kept: bootstrap, {len(kept)} resource(s) of the bootstrap stack)" if kept else ""
        if residues:
            print(f"verify-clean: {len(residues)} residue(s) for otter-{args.env}{kept_note}")
        else:
            print(f"verify-clean: otter-{args.env} left nothing behind{kept_note}")
    return 1 if residues else 0


if __name__ == "__main__":
    sys.exit(main())
