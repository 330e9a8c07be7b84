#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fills k8s/'s placeholders for one environment from the platform's values.

k8s/ commits no account id, region, host or certificate: it holds placeholders (k8s/README.md,
"Placeholders"). This tool takes the values from `pulumi stack output --json` (plus the image
digests a release pushed) and produces what Argo CD needs so that nothing it builds holds a
placeholder, without committing those values to git:

  argocd  the AppProjects and the root Application of the environment, as one YAML stream for
          `kubectl apply` (up and deploy do that). The root's spec.source.kustomize.patches
          rewrite, in what the root renders (k8s/argocd/apps/<env>), the repository URL of every
          Application and project and the External Secrets role ARN, and add to the otterd,
          chatbot and secret-stores Applications a spec.source.kustomize (images, patches) with
          the registry, role ARN, region, host, certificate and prod digests. Argo CD applies
          those overrides in its own checkout (patches merged into the kustomization, images
          through `kustomize edit set image`) at the children's entry points
          `<app>/argocd/<env>`, which hold only the overlay. The values live in the cluster's
          Application objects and in Pulumi's state, never in git.
  tree    a filled copy of k8s/ in a directory (the same overrides written into the copy's
          kustomization files, the way Argo CD applies them): for inspection, for tests, or for
          an operator who prefers an environment branch (which would commit the values).

Usage:
  render_gitops.py argocd --env ENV --outputs FILE|- --out FILE [--digest NAME=sha256:HEX]...
  render_gitops.py tree   --env ENV --outputs FILE|- --out DIR  [--digest NAME=sha256:HEX]...
  --digests-json '{"chatbot": "sha256:..."}' gives the digests as one JSON object (Ansible).
  Options: --k8s DIR (default: the repository's k8s/)

Stack outputs read (deploy/pulumi/__main__.py exports them):
  accountId, region, publicHost, gitRepositoryUrl, albSecurityGroupId, and certificateArn (or
  certificateId);
  optional, cross-checked when present: otterdRoleArn, externalSecretsRoleArn, repositoryUrls,
  partition; imageDigests ({"chatbot": "sha256:...", "otterd": ...}) or --digest.
prod runs digest-pinned images only: each image needs a digest (given, or already real in the
prod overlay). A value of the wrong shape is refused naming its key.

Exit status: 0 written; 2 refused (a missing or malformed value, named on stderr); 1 other error.
Standard library and PyYAML only.
"""

import argparse
import copy
import importlib.util
import json
import os
import re
import shutil
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_K8S = os.path.join(ROOT, "k8s")
NAMES_PY = os.path.join(ROOT, "deploy", "pulumi", "otter_infra", "names.py")

ENVS = ("dev", "prod")
IMAGES = ("chatbot", "otterd")

# The placeholder strings of k8s/ (k8s/README.md, "Placeholders"). No rendered document may
# contain any of them; ENV stands for the environment in base files the overlays patch.
PLACEHOLDER_REPO = "https://github.com/OWNER/otter.git"
ZERO_DIGEST = "sha256:" + "0" * 64
PLACEHOLDERS = {
    "repository URL": re.compile(re.escape(PLACEHOLDER_REPO) + r"|/OWNER/"),
    "ACCOUNT_ID": re.compile(r"(?<![A-Za-z0-9_])ACCOUNT_ID(?![A-Za-z0-9_])"),
    "REGION": re.compile(r"(?<![A-Za-z0-9_])REGION(?![A-Za-z0-9_])"),
    "CERTIFICATE_ID": re.compile(r"CERTIFICATE_ID"),
    "SECURITY_GROUP_ID": re.compile(r"SECURITY_GROUP_ID"),
    "example.com": re.compile(r"example\.com"),
    "zero digest": re.compile(re.escape(ZERO_DIGEST)),
    "ENV": re.compile(r"otter-ENV|/ENV/|chat\.ENV|(?<=: )ENV$", re.M),
}


def placeholders_in(text):
    """The names of the placeholders found in a text (empty when it is clean)."""
    return [k for k, rx in PLACEHOLDERS.items() if rx.search(text)]


ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
# us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, cn-north-1, il-central-1 ...
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[0-9]$")
PARTITION_RE = re.compile(r"^aws(-cn|-us-gov|-iso|-iso-b)?$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SECURITY_GROUP_RE = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
REPO_URL_RE = re.compile(r"^https://[a-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/-]+\.git$")


class Refused(Exception):
    """A value is missing or malformed; the message names the key."""


def load_names():
    """deploy/pulumi/otter_infra/names.py, loaded by path (no Pulumi import needed)."""
    spec = importlib.util.spec_from_file_location("otter_names", NAMES_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


names = load_names()


class Values:
    """The validated platform values of one environment."""

    def __init__(self, env, outputs, digests):
        if env not in ENVS:
            raise Refused(f"--env: expected one of {', '.join(ENVS)}, got {env!r}")
        if not isinstance(outputs, dict):
            raise Refused("stack outputs: expected a JSON object (pulumi stack output --json)")
        self.env = env
        self.partition = self._get(outputs, "partition", PARTITION_RE, "aws, aws-cn, aws-us-gov...", default="aws")
        self.account = self._get(outputs, "accountId", ACCOUNT_RE, "12 digits")
        self.region = self._get(outputs, "region", REGION_RE, "an AWS region such as us-east-1")
        self.host = self._get(outputs, "publicHost", HOST_RE, "a lower-case DNS host name")
        if self.host.endswith("example.com"):
            raise Refused(f"stack output 'publicHost': {self.host!r} is the placeholder domain")
        self.repo_url = self._get(outputs, "gitRepositoryUrl", REPO_URL_RE, "an https clone URL ending in .git")
        if self.repo_url == PLACEHOLDER_REPO or "/OWNER/" in self.repo_url:
            raise Refused(f"stack output 'gitRepositoryUrl': {self.repo_url!r} is the placeholder")
        self.certificate_arn = self._certificate(outputs)
        self.alb_security_group = self._get(
            outputs, "albSecurityGroupId", SECURITY_GROUP_RE, "a security group id sg-<8 or 17 hex digits>"
        )
        self.registry = f"{self.account}.dkr.ecr.{self.region}.amazonaws.com" + (".cn" if self.partition == "aws-cn" else "")
        self.otterd_role_arn = self._role(outputs, "otterdRoleArn", "otterd")
        self.eso_role_arn = self._role(outputs, "externalSecretsRoleArn", "external-secrets")
        self._check_repositories(outputs)
        self.digests = self._digests(outputs, digests)

    @staticmethod
    def _get(outputs, key, pattern, expected, default=None):
        if key not in outputs or outputs[key] in (None, ""):
            if default is not None:
                return default
            raise Refused(f"stack output {key!r} is missing (expected {expected})")
        v = outputs[key]
        if not isinstance(v, str) or not pattern.match(v):
            raise Refused(f"stack output {key!r}: expected {expected}, got {v!r}")
        return v

    def _certificate(self, outputs):
        arn = outputs.get("certificateArn")
        if arn:
            want = re.compile(
                rf"^arn:{re.escape(self.partition)}:acm:{re.escape(self.region)}:{self.account}:certificate/"
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
            )
            if not isinstance(arn, str) or not want.match(arn):
                raise Refused(
                    f"stack output 'certificateArn': expected an ACM certificate ARN in {self.region} "
                    f"of account {self.account} (the ALB needs its region's certificate), got {arn!r}"
                )
            return arn
        cid = outputs.get("certificateId")
        if cid is None:
            raise Refused("stack output 'certificateArn' is missing (or 'certificateId': the ACM certificate)")
        if not isinstance(cid, str) or not UUID_RE.match(cid):
            raise Refused(f"stack output 'certificateId': expected an ACM certificate id (UUID), got {cid!r}")
        return f"arn:{self.partition}:acm:{self.region}:{self.account}:certificate/{cid}"

    def _role(self, outputs, key, kind):
        want = f"arn:{self.partition}:iam::{self.account}:role/{names.irsa_role(self.env, kind)}"
        got = outputs.get(key)
        if got is not None and got != want:
            raise Refused(f"stack output {key!r}: expected {want} (deploy/pulumi/otter_infra/names.py), got {got!r}")
        return want

    def _check_repositories(self, outputs):
        urls = outputs.get("repositoryUrls")
        if urls is None:
            return
        if not isinstance(urls, dict):
            raise Refused("stack output 'repositoryUrls': expected an object {name: url}")
        for name, path in names.repositories(self.env).items():
            want = f"{self.registry}/{path}"
            if name in urls and urls[name] != want:
                raise Refused(f"stack output 'repositoryUrls.{name}': expected {want}, got {urls[name]!r}")

    def _digests(self, outputs, given):
        out = {}
        from_outputs = outputs.get("imageDigests") or {}
        if not isinstance(from_outputs, dict):
            raise Refused("stack output 'imageDigests': expected an object {image: digest}")
        for source, table in (("stack output 'imageDigests", from_outputs), ("--digest '", given)):
            for name, d in table.items():
                key = f"{source}.{name}'" if source.startswith("stack") else f"{source}{name}'"
                if name not in IMAGES:
                    raise Refused(f"{key}: unknown image (expected one of {', '.join(IMAGES)})")
                if not isinstance(d, str) or not DIGEST_RE.match(d):
                    raise Refused(f"{key}: expected sha256: and 64 lower-case hex digits, got {d!r}")
                if d == ZERO_DIGEST:
                    raise Refused(f"{key}: the all-zero digest is the placeholder")
                out[name] = d
        return out

    def image(self, name):
        return f"{self.registry}/{names.repositories(self.env)[name]}"


def committed_digest(k8s, env, name):
    """The digest the env's overlays pin for an image in git, when it is a real one."""
    found = None
    for overlay in ("apps/chatbot", "platform/otterd"):
        f = os.path.join(k8s, overlay, "overlays", env, "kustomization.yaml")
        with open(f, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        for im in doc.get("images", []):
            d = im.get("digest")
            if im.get("name") == name and d and d != ZERO_DIGEST:
                found = d
    return found


# ---- the overrides ------------------------------------------------------------------------


def patch(target, body):
    """An Argo CD / kustomize patch entry: an inline patch (YAML text) and its target."""
    return {"patch": yaml.safe_dump(body, sort_keys=False), "target": target}


def image_overrides(v, k8s, names_wanted):
    """`kustomize edit set image` arguments adding the registry to the overlays' images (which
    pin only a tag, and in prod a digest): at the argocd/<env> entry point a newName-only entry
    keeps the overlay's tag, so the tag the delivery workflow bumps in git still rules; in prod
    the digest is set as well (required)."""
    out = []
    for name in names_wanted:
        digest = v.digests.get(name)
        if v.env == "prod" and digest is None and committed_digest(k8s, v.env, name) is None:
            raise Refused(
                f"--digest {name!r}: prod runs digest-pinned images only; pass the digest the release "
                f"pushed (--digest {name}=sha256:...) or stack output 'imageDigests'"
            )
        ref = f"{name}={v.image(name)}"
        out.append(ref + (f"@{digest}" if digest else ""))
    return out


def child_overrides(v, k8s):
    """spec.source.kustomize of the children, by Application name."""
    region_env = [{"name": "AWS_REGION", "value": v.region}]
    return {
        "otterd": {
            "images": image_overrides(v, k8s, ["otterd"]),
            "patches": [
                patch(
                    {"kind": "ServiceAccount", "name": "otterd"},
                    [{"op": "replace", "path": "/metadata/annotations/eks.amazonaws.com~1role-arn", "value": v.otterd_role_arn}],
                ),
            ],
        },
        "chatbot": {
            "images": image_overrides(v, k8s, ["chatbot", "otterd"]),
            "patches": [
                patch(
                    {"kind": "Ingress", "name": "chatbot"},
                    [
                        {"op": "replace", "path": "/spec/rules/0/host", "value": v.host},
                        {
                            "op": "replace",
                            "path": "/metadata/annotations/alb.ingress.kubernetes.io~1certificate-arn",
                            "value": v.certificate_arn,
                        },
                        {
                            "op": "replace",
                            "path": "/metadata/annotations/alb.ingress.kubernetes.io~1security-groups",
                            "value": v.alb_security_group,
                        },
                    ],
                ),
                patch(
                    {"kind": "Deployment", "name": "chatbot"},
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": "chatbot"},
                        "spec": {"template": {"spec": {"containers": [{"name": "chatbot", "env": region_env}]}}},
                    },
                ),
                # Only when the otterd-sidecar component is included (it marks the Deployment).
                patch(
                    {"kind": "Deployment", "name": "chatbot", "annotationSelector": "otter/otterd-mode=sidecar"},
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": "chatbot"},
                        "spec": {"template": {"spec": {"initContainers": [{"name": "otterd", "env": region_env}]}}},
                    },
                ),
            ],
        },
        "secret-stores": {
            "patches": [
                patch(
                    {"kind": "ClusterSecretStore", "name": "aws-ssm"},
                    [{"op": "replace", "path": "/spec/provider/aws/region", "value": v.region}],
                ),
            ],
        },
    }


def app_target(name):
    return {"group": "argoproj.io", "kind": "Application", "name": name}


def root_patches(v, k8s, with_children=True):
    """The root's spec.source.kustomize.patches over k8s/argocd/apps/<env>."""
    apps = os.path.join(k8s, "argocd", "apps", "base")
    with open(os.path.join(apps, "kustomization.yaml"), encoding="utf-8") as fh:
        base = yaml.safe_load(fh)
    out = []
    # Projects: the repository in sourceRepos.
    for pname in project_names(k8s):
        out.append(patch({"group": "argoproj.io", "kind": "AppProject", "name": pname}, project_ops(k8s, pname, v)))
    children = child_overrides(v, k8s)
    for res in base["resources"]:
        if not res.endswith(".yaml"):
            continue
        with open(os.path.join(apps, res), encoding="utf-8") as fh:
            app = yaml.safe_load(fh)
        name = app["metadata"]["name"]
        src = app["spec"]["source"]
        ops = []
        if src.get("repoURL") == PLACEHOLDER_REPO:
            ops.append({"op": "replace", "path": "/spec/source/repoURL", "value": v.repo_url})
        if name == "external-secrets":
            ops.append(
                {
                    "op": "replace",
                    "path": "/spec/source/helm/valuesObject/serviceAccount/annotations/eks.amazonaws.com~1role-arn",
                    "value": v.eso_role_arn,
                }
            )
        if with_children and name in children:
            ops.append({"op": "add", "path": "/spec/source/kustomize", "value": children[name]})
        if ops:
            out.append(patch(app_target(name), ops))
    return out


def project_names(k8s):
    d = os.path.join(k8s, "argocd", "projects")
    with open(os.path.join(d, "kustomization.yaml"), encoding="utf-8") as fh:
        k = yaml.safe_load(fh)
    out = []
    for res in k["resources"]:
        with open(os.path.join(d, res), encoding="utf-8") as fh:
            out.append(yaml.safe_load(fh)["metadata"]["name"])
    return out


def project_ops(k8s, pname, v):
    for doc in projects(k8s):
        if doc["metadata"]["name"] == pname:
            return [
                {"op": "replace", "path": f"/spec/sourceRepos/{i}", "value": v.repo_url}
                for i, r in enumerate(doc["spec"]["sourceRepos"])
                if r == PLACEHOLDER_REPO
            ]
    raise KeyError(pname)


def projects(k8s):
    d = os.path.join(k8s, "argocd", "projects")
    with open(os.path.join(d, "kustomization.yaml"), encoding="utf-8") as fh:
        k = yaml.safe_load(fh)
    out = []
    for res in k["resources"]:
        with open(os.path.join(d, res), encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        doc.setdefault("metadata", {})["namespace"] = k.get("namespace", "argocd")
        ann = doc["metadata"].setdefault("annotations", {})
        ann.update(k.get("commonAnnotations", {}))
        out.append(doc)
    return out


def rendered_projects(k8s, v):
    out = []
    for doc in projects(k8s):
        doc = copy.deepcopy(doc)
        doc["spec"]["sourceRepos"] = [v.repo_url if r == PLACEHOLDER_REPO else r for r in doc["spec"]["sourceRepos"]]
        out.append(doc)
    return out


def rendered_root(k8s, v, with_overrides=True):
    with open(os.path.join(k8s, "argocd", "root", f"{v.env}.yaml"), encoding="utf-8") as fh:
        root = yaml.safe_load(fh)
    src = root["spec"]["source"]
    if src.get("repoURL") == PLACEHOLDER_REPO:
        src["repoURL"] = v.repo_url
    if with_overrides:
        src["kustomize"] = {"patches": root_patches(v, k8s)}
    return root


def check_clean(text, where):
    left = placeholders_in(text)
    if left:
        raise RuntimeError(f"{where}: placeholders left after rendering: {', '.join(left)}")


# ---- outputs --------------------------------------------------------------------------------


def write_argocd(k8s, v, out):
    docs = rendered_projects(k8s, v) + [rendered_root(k8s, v)]
    text = "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)
    check_clean(text, out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)


def add_to_kustomization(path, images=(), patches=()):
    """What Argo CD does with spec.source.kustomize: images as `kustomize edit set image` (an
    entry per name, replacing one of the same name), patches appended to `patches`."""
    f = os.path.join(path, "kustomization.yaml")
    with open(f, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    for ref in images:
        name, _, new = ref.partition("=")
        entry = {"name": name}
        new, _, digest = new.partition("@")
        entry["newName"] = new
        if digest:
            entry["digest"] = digest
        doc["images"] = [e for e in doc.get("images", []) if e.get("name") != name] + [entry]
    if patches:
        doc["patches"] = list(doc.get("patches", [])) + list(patches)
    with open(f, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)


def write_tree(k8s, v, out):
    dst = os.path.join(out, "k8s")
    if os.path.exists(dst):
        raise Refused(f"--out: {dst} exists; give an empty directory")
    shutil.copytree(k8s, dst)
    # The root and the projects as they are applied.
    with open(os.path.join(dst, "argocd", "root", f"{v.env}.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(rendered_root(k8s, v, with_overrides=False), fh, sort_keys=False)
    pdir = os.path.join(dst, "argocd", "projects")
    with open(os.path.join(pdir, "kustomization.yaml"), encoding="utf-8") as fh:
        pk = yaml.safe_load(fh)
    for res, doc in zip(pk["resources"], rendered_projects(k8s, v)):
        doc = copy.deepcopy(doc)
        doc["metadata"].pop("namespace", None)
        for k in pk.get("commonAnnotations", {}):
            doc["metadata"]["annotations"].pop(k, None)
        if not doc["metadata"]["annotations"]:
            del doc["metadata"]["annotations"]
        with open(os.path.join(pdir, res), "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False)
    # What the root's patches do to the children, and what the children's overrides do.
    add_to_kustomization(os.path.join(dst, "argocd", "apps", v.env), patches=root_patches(v, k8s, with_children=False))
    children = child_overrides(v, k8s)
    paths = {
        "otterd": f"platform/otterd/argocd/{v.env}",
        "chatbot": f"apps/chatbot/argocd/{v.env}",
        "secret-stores": "platform/secret-stores",
    }
    for name, o in children.items():
        add_to_kustomization(os.path.join(dst, paths[name]), o.get("images", ()), o.get("patches", ()))


def parse_digests(items):
    out = {}
    for item in items:
        name, sep, d = item.partition("=")
        if not sep:
            raise Refused(f"--digest {item!r}: expected NAME=sha256:HEX")
        out[name] = d
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("argocd", "tree"))
    ap.add_argument("--env", required=True)
    ap.add_argument("--outputs", required=True, help="pulumi stack output --json (a file, or - for stdin)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--digest", action="append", default=[], metavar="NAME=sha256:HEX")
    ap.add_argument("--digests-json", default="{}", metavar="JSON", help='{"chatbot": "sha256:..."} (Ansible passes a dict)')
    ap.add_argument("--k8s", default=DEFAULT_K8S)
    a = ap.parse_args(argv)
    try:
        try:
            if a.outputs == "-":
                outputs = json.load(sys.stdin)
            else:
                with open(a.outputs, encoding="utf-8") as fh:
                    outputs = json.load(fh)
        except json.JSONDecodeError as e:
            raise Refused(f"stack outputs: not JSON ({e})") from e
        try:
            given = json.loads(a.digests_json)
        except json.JSONDecodeError as e:
            raise Refused(f"--digests-json: not JSON ({e})") from e
        if not isinstance(given, dict):
            raise Refused("--digests-json: expected an object {image: digest}")
        v = Values(a.env, outputs, {**given, **parse_digests(a.digest)})
        if a.mode == "argocd":
            write_argocd(a.k8s, v, a.out)
        else:
            write_tree(a.k8s, v, a.out)
    except Refused as e:
        print(f"render_gitops: refused: {e}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError, KeyError, yaml.YAMLError) as e:
        print(f"render_gitops: error: {e}", file=sys.stderr)
        return 1
    print(f"render_gitops: {a.env}: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
