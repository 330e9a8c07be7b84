# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for tests/k8s: rendering k8s/ with the pinned kustomize, loading YAML."""
import functools
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
# The CRD schemas live in the shared tree beside the repository, never copied in.
CRDS = ROOT / ".." / "shared" / "schemas" / "crds"
TOOLS = ROOT / "tests" / ".tools" / "bin"
KUBERNETES_VERSION = "1.33"  # the EKS version deploy/ creates
ENVS = ("dev", "prod")
COMPONENTS = {"otterd-sidecar": K8S / "apps/chatbot/components/otterd-sidecar"}


def tool(name):
    path = TOOLS / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: run scripts/test-k8s.sh, which installs it")
    return found


def kustomizations():
    """Every directory under k8s/ holding a kustomization.yaml, split into (roots, components)."""
    roots, comps = [], []
    for f in sorted(K8S.rglob("kustomization.yaml")):
        doc = yaml.safe_load(f.read_text())
        (comps if doc.get("kind") == "Component" else roots).append(f.parent)
    return roots, comps


@functools.lru_cache(maxsize=None)
def _build(path):
    proc = subprocess.run([tool("kustomize"), "build", path], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError(f"kustomize build {path} failed:\n{proc.stderr}")
    return proc.stdout


def build(path):
    """kustomize build of a directory (absolute or relative to k8s/); the YAML text."""
    return _build(str(pathlib.Path(K8S, path)))


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


@functools.lru_cache(maxsize=None)
def _build_with_component(overlay, component):
    # What an operator does to switch modes: add the component to the overlay's own
    # kustomization (so the overlay's images and patches apply to it too). Done on a scratch
    # copy of k8s/; kustomize refuses absolute paths to components.
    import tempfile
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="otter-k8s-"))
    try:
        shutil.copytree(K8S, tmp / "k8s")
        kust = tmp / "k8s" / overlay / "kustomization.yaml"
        doc = yaml.safe_load(kust.read_text())
        rel = os.path.relpath(tmp / "k8s" / component, kust.parent)
        doc.setdefault("components", []).append(rel)
        kust.write_text(yaml.safe_dump(doc, sort_keys=False))
        return _build(str(kust.parent))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_with_component(overlay, component):
    return _build_with_component(overlay, component)


def renders():
    """Every rendered tree: {label: [docs]}: each kustomization root, each overlay with each
    component, and the root Applications (plain files applied by deploy/)."""
    out = {}
    roots, _ = kustomizations()
    for r in roots:
        out[str(r.relative_to(K8S))] = docs(build(r))
    for name, comp in COMPONENTS.items():
        for env in ENVS:
            overlay = f"apps/chatbot/overlays/{env}"
            out[f"{overlay}+{name}"] = docs(build_with_component(
                overlay, str(comp.relative_to(K8S))))
    for f in sorted((K8S / "argocd" / "root").glob("*.yaml")):
        out[str(f.relative_to(K8S))] = docs(f.read_text())
    return out


@pytest.fixture(scope="session")
def rendered():
    return renders()


def pod_spec(doc):
    kind = doc.get("kind")
    if kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Pod":
        return doc["spec"]
    return None


def containers(doc):
    """(container, long_running) for every container of a workload."""
    spec = pod_spec(doc)
    if spec is None:
        return []
    out = [(c, doc["kind"] not in ("Job", "CronJob")) for c in spec.get("containers", [])]
    for c in spec.get("initContainers", []):
        out.append((c, c.get("restartPolicy") == "Always"))
    return out


def otterd_binary():
    path = os.environ.get("OTTERD") or str(ROOT / "build" / "agent" / "otterd")
    return path if os.access(path, os.X_OK) else None
