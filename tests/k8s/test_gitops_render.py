# SPDX-License-Identifier: Apache-2.0
"""deploy/tools/render_gitops.py: k8s/'s placeholders filled from fake stack outputs.

Two paths are checked with the pinned kustomize:
- `argocd` (what up/deploy apply): Argo CD is emulated the way it applies an Application's
  spec.source.kustomize in its checkout (argo-cd docs/user-guide/kustomize.md: patches merged into
  the kustomization's `patches`, images through `kustomize edit set image`, run here with the real
  kustomize): the root's patches over k8s/argocd/apps/<env>, then each child's overrides at its
  path, each built; the chatbot also with the otterd-sidecar component switched on.
- `tree` (a filled copy): every kustomization Argo CD builds for the environment is built.
Both must render the same objects (two implementations of the image edit: the tool's own and
kustomize's), contain no placeholder, carry the IRSA role ARNs of names.py with the fake account,
and in prod the given digests.
"""
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import CRDS, ENVS, K8S, ROOT, docs, tool

TOOL = ROOT / "deploy" / "tools" / "render_gitops.py"
spec = importlib.util.spec_from_file_location("render_gitops", TOOL)
rg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rg)
spec = importlib.util.spec_from_file_location("otter_names", ROOT / "deploy/pulumi/otter_infra/names.py")
names = importlib.util.module_from_spec(spec)
spec.loader.exec_module(names)

ACCOUNT = "123456789012"  # AWS's documentation account
REGION = "eu-west-1"
REPO = "https://github.com/acme/otter.git"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ALB_SG = "sg-0123456789abcdef0"
DIGESTS = {"chatbot": "sha256:" + "ab" * 32, "otterd": "sha256:" + "cd" * 32}
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

# Every placeholder string of k8s/README.md "Placeholders", written out independently of the tool.
PLACEHOLDER_RE = re.compile(
    r"OWNER|ACCOUNT_ID|(?<![A-Z_])REGION(?![A-Z_])|CERTIFICATE_ID|SECURITY_GROUP_ID|example\.com|sha256:0{64}"
    r"|otter-ENV|/ENV/|chat\.ENV"
)


def outputs(env):
    return {
        "accountId": ACCOUNT,
        "region": REGION,
        "publicHost": f"chat.{env}.otter.test",
        "gitRepositoryUrl": REPO,
        "certificateArn": CERT,
        "albSecurityGroupId": ALB_SG,
        "otterdRoleArn": f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-otterd",
        "repositoryUrls": {"otterd": f"{REGISTRY}/otter/{env}/otterd", "chatbot": f"{REGISTRY}/otter/{env}/chatbot"},
    }


def run_tool(tmp_path, mode, env, outs, out, digests=None):
    f = tmp_path / f"outputs-{env}.json"
    f.write_text(json.dumps(outs))
    argv = [sys.executable, str(TOOL), mode, "--env", env, "--outputs", str(f), "--out", str(out)]
    for k, d in (digests if digests is not None else (DIGESTS if env == "prod" else {})).items():
        argv += ["--digest", f"{k}={d}"]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def kbuild(path):
    p = subprocess.run([tool("kustomize"), "build", str(path)], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def add_component(overlay, component):
    """The way an operator switches to the sidecar: the component in the overlay itself."""
    f = overlay / "kustomization.yaml"
    doc = yaml.safe_load(f.read_text())
    doc.setdefault("components", []).append(os.path.relpath(component, overlay))
    f.write_text(yaml.safe_dump(doc, sort_keys=False))


def argo_apply(path, kustomize):
    """Argo CD's handling of spec.source.kustomize in a checkout: `kustomize edit set image` per
    image, patches appended to the kustomization's own."""
    for im in kustomize.get("images", []):
        p = subprocess.run([tool("kustomize"), "edit", "set", "image", im], cwd=path, capture_output=True,
                           text=True, check=False)
        assert p.returncode == 0, p.stderr
    if kustomize.get("patches"):
        f = path / "kustomization.yaml"
        doc = yaml.safe_load(f.read_text())
        doc["patches"] = list(doc.get("patches", [])) + kustomize["patches"]
        f.write_text(yaml.safe_dump(doc, sort_keys=False))


def argocd_render(tmp_path, env):
    """{label: text} of what Argo CD would build from the `argocd` output, plus that output."""
    out = tmp_path / "applied.yaml"
    p = run_tool(tmp_path, "argocd", env, outputs(env), out)
    assert p.returncode == 0, p.stderr
    applied = docs(out.read_text())
    checkout = tmp_path / "checkout"
    shutil.copytree(K8S, checkout / "k8s")
    root = next(d for d in applied if d["kind"] == "Application")
    assert root["spec"]["source"]["repoURL"] == REPO
    argo_apply(checkout / root["spec"]["source"]["path"], root["spec"]["source"]["kustomize"])
    texts = {"applied": out.read_text()}
    texts["root"] = kbuild(checkout / root["spec"]["source"]["path"])
    for app in docs(texts["root"]):
        if app["kind"] != "Application" or "path" not in app["spec"]["source"]:
            continue
        assert app["spec"]["source"]["repoURL"] == REPO, app["metadata"]["name"]
        path = checkout / app["spec"]["source"]["path"]
        argo_apply(path, app["spec"]["source"].get("kustomize", {}))
        texts[app["metadata"]["name"]] = kbuild(path)
        if app["metadata"]["name"] == "chatbot":
            add_component(checkout / f"k8s/apps/chatbot/overlays/{env}", checkout / "k8s/apps/chatbot/components/otterd-sidecar")
            texts["chatbot+otterd-sidecar"] = kbuild(path)
    return applied, texts


def tree_render(tmp_path, env):
    out = tmp_path / "tree"
    p = run_tool(tmp_path, "tree", env, outputs(env), out)
    assert p.returncode == 0, p.stderr
    k = out / "k8s"
    texts = {"root": kbuild(k / "argocd" / "apps" / env), "projects": kbuild(k / "argocd" / "projects"),
             "root-file": (k / "argocd" / "root" / f"{env}.yaml").read_text()}
    for app in docs(texts["root"]):
        if app["kind"] == "Application" and "path" in app["spec"]["source"]:
            texts[app["metadata"]["name"]] = kbuild(out / app["spec"]["source"]["path"])
    add_component(k / f"apps/chatbot/overlays/{env}", k / "apps/chatbot/components/otterd-sidecar")
    texts["chatbot+otterd-sidecar"] = kbuild(k / f"apps/chatbot/argocd/{env}")
    return texts


@pytest.fixture(scope="module", params=ENVS)
def rendered(request, tmp_path_factory):
    env = request.param
    applied, argo = argocd_render(tmp_path_factory.mktemp(f"argo-{env}"), env)
    tree = tree_render(tmp_path_factory.mktemp(f"tree-{env}"), env)
    return env, applied, argo, tree


def by_kind(text, kind, name=None):
    return [d for d in docs(text) if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def test_no_placeholder_left_anywhere(rendered):
    env, _, argo, tree = rendered
    assert set(argo) >= {"applied", "root", "namespaces", "secret-stores", "otterd", "chatbot", "chatbot+otterd-sidecar"}
    for label, text in list(argo.items()) + [(f"tree:{k}", t) for k, t in tree.items()]:
        left = sorted(set(PLACEHOLDER_RE.findall(text)))
        assert not left, f"{env} {label}: {left}"


def test_tree_and_argocd_render_the_same_objects(rendered):
    env, _, argo, tree = rendered
    for label in ("otterd", "chatbot", "chatbot+otterd-sidecar", "secret-stores", "namespaces"):
        assert docs(argo[label]) == docs(tree[label]), f"{env} {label}"


def test_irsa_role_arns_are_names_py_names_with_the_account(rendered):
    env, _, argo, _ = rendered
    # names.py: otter-<env>-<kind>; written out: arn:aws:iam::123456789012:role/otter-dev-otterd
    assert names.irsa_role(env, "otterd") == f"otter-{env}-otterd"
    sa = by_kind(argo["otterd"], "ServiceAccount", "otterd")[0]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == f"arn:aws:iam::{ACCOUNT}:role/{names.irsa_role(env, 'otterd')}"
    eso = by_kind(argo["root"], "Application", "external-secrets")[0]
    ann = eso["spec"]["source"]["helm"]["valuesObject"]["serviceAccount"]["annotations"]
    assert ann["eks.amazonaws.com/role-arn"] == f"arn:aws:iam::{ACCOUNT}:role/otter-{env}-external-secrets"
    store = by_kind(argo["secret-stores"], "ClusterSecretStore", "aws-ssm")[0]
    assert store["spec"]["provider"]["aws"]["region"] == REGION


def images(text):
    out = {}
    for d in docs(text):
        if d["kind"] in ("Deployment", "DaemonSet"):
            spec = d["spec"]["template"]["spec"]
            for c in spec.get("initContainers", []) + spec["containers"]:
                out[c["name"]] = c
    return out


def test_images_name_the_registry_and_keep_the_overlay_pins(rendered):
    env, _, argo, _ = rendered
    side = images(argo["chatbot+otterd-sidecar"])
    daemon = images(argo["otterd"])
    for name, c in (("chatbot", side["chatbot"]), ("otterd", side["otterd"]), ("otterd", daemon["otterd"])):
        repo = f"{REGISTRY}/otter/{env}/{name}"
        if env == "prod":
            # prod: digest-pinned with exactly the given digests (the tag gives way to the digest)
            assert c["image"] == f"{repo}@{DIGESTS[name]}", c["image"]
        else:
            # dev: the tag the overlay pins in git (bumped by the delivery workflow) is kept
            assert c["image"] == f"{repo}:0.1.0", c["image"]
    # The region reaches the app and, in sidecar mode only, the sidecar.
    for c in (side["chatbot"], side["otterd"]):
        assert {"name": "AWS_REGION", "value": REGION} in c["env"], c["name"]
    assert "otterd" not in images(argo["chatbot"])


def test_ingress_gets_the_host_and_the_certificate(rendered):
    env, _, argo, _ = rendered
    ing = by_kind(argo["chatbot"], "Ingress", "chatbot")[0]
    assert ing["spec"]["rules"][0]["host"] == f"chat.{env}.otter.test"
    assert ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/certificate-arn"] == CERT


def test_ingress_uses_the_platform_alb_security_group(rendered):
    env, _, argo, _ = rendered
    ann = by_kind(argo["chatbot"], "Ingress", "chatbot")[0]["metadata"]["annotations"]
    # Exactly the group of the stack output, alone (no group the controller would create), and the
    # controller opens the pods to its backend group.
    assert ann["alb.ingress.kubernetes.io/security-groups"] == ALB_SG
    assert ann["alb.ingress.kubernetes.io/manage-backend-security-group-rules"] == "true"
    # The group admits 443 only (deploy/pulumi/otter_infra/network.py): the only listener.
    assert json.loads(ann["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTPS": 443}]
    assert "alb.ingress.kubernetes.io/ssl-redirect" not in ann


def test_projects_allow_the_repository_and_every_child_reads_it(rendered):
    env, applied, argo, _ = rendered
    projects = {d["metadata"]["name"]: d for d in applied if d["kind"] == "AppProject"}
    assert set(projects) == {"bootstrap", "platform", "apps"}
    for p in projects.values():
        assert REPO in p["spec"]["sourceRepos"]
    # What the root renders for the projects equals what up applied before the root.
    for p in by_kind(argo["root"], "AppProject"):
        assert p["spec"] == projects[p["metadata"]["name"]]["spec"], p["metadata"]["name"]


def test_applied_documents_fit_the_argo_cd_schemas(rendered):
    jsonschema = pytest.importorskip("jsonschema")
    _, applied, argo, _ = rendered
    for d in applied + by_kind(argo["root"], "Application"):
        schema = json.loads((CRDS / "argoproj.io" / f"{d['kind'].lower()}_v1alpha1.json").read_text())
        jsonschema.validate(d, schema)


# ---- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,expect", [
    ("accountId", "12345678901", "12 digits"),
    ("accountId", "12345678901a", "12 digits"),
    ("region", "europe-west", "AWS region"),
    ("region", "EU-WEST-1", "AWS region"),
    ("publicHost", "chat.dev.example.com", "placeholder domain"),
    ("publicHost", "Chat_Bot", "DNS host name"),
    ("gitRepositoryUrl", "https://github.com/OWNER/otter.git", "placeholder"),
    ("gitRepositoryUrl", "git@github.com:acme/otter.git", "https clone URL"),
    ("certificateArn", f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "certificate ARN in eu-west-1"),
    ("otterdRoleArn", f"arn:aws:iam::{ACCOUNT}:role/otterd", "names.py"),
    ("albSecurityGroupId", "sg-0123", "security group id"),
    ("albSecurityGroupId", "SECURITY_GROUP_ID", "security group id"),
    ("albSecurityGroupId", "sg-0123456789abcdef0,sg-0123456789abcdef1", "security group id"),
])
def test_a_malformed_value_is_refused_naming_the_key(tmp_path, key, value, expect):
    outs = outputs("dev")
    outs[key] = value
    p = run_tool(tmp_path, "argocd", "dev", outs, tmp_path / "o.yaml")
    assert p.returncode == 2, p.stderr
    assert f"'{key}'" in p.stderr and expect in p.stderr, p.stderr
    assert not (tmp_path / "o.yaml").exists()


@pytest.mark.parametrize("key", ["accountId", "region", "publicHost", "gitRepositoryUrl", "certificateArn", "albSecurityGroupId"])
def test_a_missing_value_is_refused_naming_the_key(tmp_path, key):
    outs = outputs("dev")
    del outs[key]
    p = run_tool(tmp_path, "argocd", "dev", outs, tmp_path / "o.yaml")
    assert p.returncode == 2
    assert f"'{key}' is missing" in p.stderr, p.stderr


@pytest.mark.parametrize("digest,expect", [
    ("sha256:" + "ab" * 31, "64 lower-case hex"),
    ("sha256:" + "AB" * 32, "64 lower-case hex"),
    ("sha512:" + "ab" * 32, "64 lower-case hex"),
    ("sha256:" + "0" * 64, "placeholder"),
])
def test_a_malformed_digest_is_refused_naming_the_image(tmp_path, digest, expect):
    p = run_tool(tmp_path, "argocd", "prod", outputs("prod"), tmp_path / "o.yaml", {**DIGESTS, "otterd": digest})
    assert p.returncode == 2
    assert "'otterd'" in p.stderr and expect in p.stderr, p.stderr


def test_prod_without_digests_is_refused(tmp_path):
    p = run_tool(tmp_path, "argocd", "prod", outputs("prod"), tmp_path / "o.yaml", {})
    assert p.returncode == 2
    assert "digest-pinned" in p.stderr and re.search(r"--digest '(chatbot|otterd)'", p.stderr), p.stderr


def test_certificate_id_builds_the_arn(tmp_path):
    outs = outputs("dev")
    del outs["certificateArn"]
    outs["certificateId"] = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    v = rg.Values("dev", outs, {})
    assert v.certificate_arn == CERT


def test_the_placeholder_check_of_the_tool_catches_each_placeholder():
    # Each placeholder string of k8s/README.md, as it appears in k8s/, is recognised.
    for s in (rg.PLACEHOLDER_REPO, "arn:aws:iam::ACCOUNT_ID:role/x", "region: REGION",
              "certificate/CERTIFICATE_ID", "security-groups: SECURITY_GROUP_ID", "chat.dev.example.com", "x@sha256:" + "0" * 64, "role/otter-ENV-otterd"):
        assert rg.placeholders_in(s), s
    assert rg.placeholders_in("value: ${env:AWS_REGION}\nname: OTTER_ENV\n") == []
