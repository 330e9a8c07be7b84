# SPDX-License-Identifier: Apache-2.0
"""Project rules on the rendered YAML: Argo CD scoping, finalizers, sync waves, images, container
hardening, probes, identity wiring, and the otterd DaemonSet's conventions."""
import pathlib
import re

import yaml

import pytest

from conftest import ENVS, K8S, ROOT, build, containers, docs, pod_spec, renders

ALL = renders()
FINALIZER = "resources-finalizer.argocd.argoproj.io"
IN_CLUSTER = "https://kubernetes.default.svc"
REPO = "https://github.com/OWNER/otter.git"


def of_kind(objs, kind):
    return [d for d in objs if d["kind"] == kind]


def one(objs, kind, name=None):
    found = [d for d in objs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def workloads():
    for label, objs in ALL.items():
        for d in objs:
            if pod_spec(d) is not None:
                yield label, d


WORKLOADS = list(workloads())
WL_IDS = [f"{label}:{d['kind']}/{d['metadata']['name']}" for label, d in WORKLOADS]


def apps_of(env):
    objs = docs(build(f"argocd/apps/{env}"))
    return objs, {a["metadata"]["name"]: a for a in of_kind(objs, "Application")}


# ---- Argo CD projects and applications --------------------------------------------------------

def test_projects_are_scoped():
    projects = {p["metadata"]["name"]: p["spec"] for p in of_kind(ALL["argocd/projects"], "AppProject")}
    assert set(projects) == {"bootstrap", "platform", "apps"}
    for name, spec in projects.items():
        assert "*" not in spec["sourceRepos"], name
        for dest in spec["destinations"]:
            assert dest.get("server") == IN_CLUSTER and "name" not in dest, (name, dest)
            assert "*" not in dest["namespace"], (name, dest)
            # Only the bootstrap project may reach argocd (a project there is effectively admin).
            assert dest["namespace"] != "argocd" or name == "bootstrap", (name, dest)
        for entry in spec.get("clusterResourceWhitelist", []) + spec.get("namespaceResourceWhitelist", []):
            assert "*" not in (entry["group"], entry["kind"]), (name, entry)
    boot, platform, apps = projects["bootstrap"], projects["platform"], projects["apps"]
    assert boot["sourceRepos"] == [REPO] and apps["sourceRepos"] == [REPO]
    assert boot["clusterResourceWhitelist"] == [] and apps["clusterResourceWhitelist"] == []
    assert {(e["group"], e["kind"]) for e in boot["namespaceResourceWhitelist"]} == {
        ("argoproj.io", "Application"), ("argoproj.io", "AppProject")}
    assert [d["namespace"] for d in apps["destinations"]] == ["chatbot"]
    assert {(e["group"], e["kind"]) for e in platform["clusterResourceWhitelist"]} <= {
        ("", "Namespace"), ("scheduling.k8s.io", "PriorityClass"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("external-secrets.io", "ClusterSecretStore")}
    # The apps project has no RBAC, no Secrets, no workloads outside Deployments.
    kinds = {e["kind"] for e in apps["namespaceResourceWhitelist"]}
    assert not kinds & {"Role", "RoleBinding", "Secret", "DaemonSet", "Pod"}


def all_applications():
    for label, objs in ALL.items():
        if label.startswith("argocd/") and label != "argocd/apps/base":
            for a in of_kind(objs, "Application"):
                yield label, a


APPS = list(all_applications())


@pytest.mark.parametrize("label,app", APPS, ids=[f"{l}:{a['metadata']['name']}" for l, a in APPS])
def test_application_hygiene(label, app):
    spec = app["spec"]
    assert FINALIZER in app["metadata"].get("finalizers", []), "cascading delete needs the finalizer"
    assert spec["project"] in ("bootstrap", "platform", "apps"), "never the default project"
    auto = spec["syncPolicy"]["automated"]
    assert auto.get("prune") is True and auto.get("selfHeal") is True
    assert spec["destination"] == {"server": IN_CLUSTER, "namespace": spec["destination"]["namespace"]}
    src = spec["source"]
    if src["repoURL"] == REPO:
        assert src["targetRevision"] == "main"
        path = K8S.parent / src["path"]
        assert (path / "kustomization.yaml").exists(), f"{src['path']} is not a kustomization"
    else:
        # A Helm chart: pinned to an exact version.
        assert "chart" in src and re.fullmatch(r"\d+\.\d+\.\d+", src["targetRevision"]), src


@pytest.mark.parametrize("env", ENVS)
def test_applications_fit_their_projects(env):
    objs, apps = apps_of(env)
    projects = {p["metadata"]["name"]: p["spec"] for p in of_kind(objs, "AppProject")}
    root = docs((K8S / "argocd" / "root" / f"{env}.yaml").read_text())[0]
    assert root["spec"]["source"]["path"] == f"k8s/argocd/apps/{env}"
    for app in list(apps.values()) + [root]:
        proj = projects[app["spec"]["project"]]
        assert app["spec"]["source"]["repoURL"] in proj["sourceRepos"], app["metadata"]["name"]
        assert app["spec"]["destination"]["namespace"] in [d["namespace"] for d in proj["destinations"]]
    assert set(apps) == {"namespaces", "external-secrets", "secret-stores", "otterd", "chatbot"}
    # The children point at this environment's argocd/ entry points (the overlay plus the
    # platform's values the root adds), which build exactly that overlay.
    for name in ("otterd", "chatbot"):
        path = apps[name]["spec"]["source"]["path"]
        assert path.endswith(f"/argocd/{env}"), (name, path)
        kust = yaml.safe_load((K8S.parent / path / "kustomization.yaml").read_text())
        assert kust["resources"] == [f"../../overlays/{env}"], (name, kust)


def wave(obj):
    return int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


@pytest.mark.parametrize("env", ENVS)
def test_sync_waves_order_providers_before_users(env):
    objs, apps = apps_of(env)
    for p in of_kind(objs, "AppProject"):
        assert wave(p) < min(wave(a) for a in apps.values()), "AppProjects first"
    # What each child renders; the Helm chart cannot be rendered offline: it provides the CRDs.
    rendered = {}
    for name, app in apps.items():
        src = app["spec"]["source"]
        rendered[name] = docs(build(K8S.parent / src["path"])) if "path" in src else []
    provides_crds = {"external-secrets": {"external-secrets.io"}}
    namespaces = {d["metadata"]["name"]: n for n, ds in rendered.items() for d in ds if d["kind"] == "Namespace"}
    stores = {d["metadata"]["name"]: n for n, ds in rendered.items() for d in ds
              if d["kind"] == "ClusterSecretStore"}
    checked = 0
    for user, ds in rendered.items():
        for d in ds:
            group = d["apiVersion"].rpartition("/")[0]
            for provider, groups in provides_crds.items():
                if group in groups:
                    assert wave(apps[provider]) < wave(apps[user]), (user, d["kind"], provider)
                    checked += 1
            ns = d["metadata"].get("namespace")
            if ns is not None and ns in namespaces and namespaces[ns] != user:
                assert wave(apps[namespaces[ns]]) < wave(apps[user]), (user, ns)
                checked += 1
            if d["kind"] == "ExternalSecret":
                ref = d["spec"]["secretStoreRef"]
                assert ref["kind"] == "ClusterSecretStore" and ref["name"] in stores
                assert wave(apps[stores[ref["name"]]]) < wave(apps[user]), (user, ref)
                checked += 1
    dest = {n: a["spec"]["destination"]["namespace"] for n, a in apps.items()}
    for n, ns in dest.items():
        if ns in namespaces and namespaces[ns] != n:
            assert wave(apps[namespaces[ns]]) < wave(apps[n]), (n, ns)
    assert checked >= 5
    # The node agent comes up before the workloads that send to it.
    assert wave(apps["otterd"]) < wave(apps["chatbot"])


# ---- containers --------------------------------------------------------------------------------

IMAGE = re.compile(r"^(?P<name>[^@\s]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


@pytest.mark.parametrize("label,doc", WORKLOADS, ids=WL_IDS)
def test_images_pinned(label, doc):
    for c, _ in containers(doc):
        m = IMAGE.match(c["image"])
        assert m, c["image"]
        assert m["tag"] or m["digest"], f"{c['name']}: {c['image']} is not pinned"
        assert m["tag"] != "latest", f"{c['name']}: {c['image']} uses :latest"
        if "/overlays/prod" in f"/{label}":
            assert m["digest"], f"prod pins by digest: {c['image']}"


@pytest.mark.parametrize("label,doc", WORKLOADS, ids=WL_IDS)
def test_resources_and_security_context(label, doc):
    spec = pod_spec(doc)
    pod_sc = spec.get("securityContext", {})
    assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    for v in spec.get("volumes", []):
        assert "hostPath" not in v, f"hostPath volume {v['name']}"
    for c, _ in containers(doc):
        res = c.get("resources", {})
        for k in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(res.get(k, {})), f"{c['name']}: {k}"
        sc = c.get("securityContext")
        assert sc, f"{c['name']}: no securityContext"
        assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, c["name"]
        assert sc.get("runAsUser", pod_sc.get("runAsUser", 1)) != 0, c["name"]
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert sc.get("readOnlyRootFilesystem") is True, c["name"]
        assert sc.get("privileged", False) is False, c["name"]
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], c["name"]
        assert not sc.get("capabilities", {}).get("add"), c["name"]


@pytest.mark.parametrize("label,doc", WORKLOADS, ids=WL_IDS)
def test_probes_on_long_running_containers(label, doc):
    for c, long_running in containers(doc):
        if long_running:
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in c, f"{c['name']}: no {probe}"
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                assert port is None or port in ports or port in ports.values(), (c["name"], probe)


def test_no_account_ids_or_absolute_machine_paths():
    bad = []
    for f in sorted(K8S.rglob("*")):
        if f.is_file():
            text = f.read_text()
            if re.search(r"(?<![0-9a-f])\d{12}(?![0-9a-f])", text):
                bad.append(f"{f}: a 12-digit number (account id?)")
            if re.search(r"(^|\s)/(home|root|work|tmp)/", text):
                bad.append(f"{f}: absolute machine path")
    assert not bad, "\n".join(bad)


# ---- otterd ------------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_otterd_daemonset(env):
    objs = ALL[f"platform/otterd/overlays/{env}"]
    ds = one(objs, "DaemonSet", "otterd")
    spec = ds["spec"]["template"]["spec"]
    assert ds["metadata"]["namespace"] == "otter-system"
    (c,) = spec["containers"]
    env_from_field = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"] if "valueFrom" in e}
    assert env_from_field == {"K8S_NODE_NAME": "spec.nodeName", "HOST_NAME": "spec.nodeName",
                              "HOST_IP": "status.hostIP", "K8S_POD_NAME": "metadata.name",
                              "K8S_NAMESPACE": "metadata.namespace"}
    plain = {e["name"]: e.get("value") for e in c["env"] if "value" in e}
    assert plain["OTTER_ENV"] == env and plain["K8S_CLUSTER_NAME"] == f"otter-{env}"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"otlp-grpc": 4317, "otlp-http": 4318, "admin": 8888}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    pc = one(objs, "PriorityClass")
    assert spec["priorityClassName"] == pc["metadata"]["name"]
    assert any(t.get("operator") == "Exists" for t in spec.get("tolerations", []))
    sa = one(objs, "ServiceAccount", spec["serviceAccountName"])
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == \
        f"arn:aws:iam::ACCOUNT_ID:role/otter-{env}-otterd"
    cm = one(objs, "ConfigMap")
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["config"]["configMap"]["name"] == cm["metadata"]["name"]
    mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
    assert f"--config={mount['mountPath']}/otterd.yaml" in c["args"]
    assert "otterd.yaml" in cm["data"]
    state = next(m for m in c["volumeMounts"] if m["name"] == "slo-state")
    assert "emptyDir" in vols["slo-state"], "SLO state on an emptyDir, as documented"
    assert state["mountPath"] == "/var/lib/otterd"
    svc = one(objs, "Service", "otterd")
    assert svc["spec"]["internalTrafficPolicy"] == "Local"
    assert {p["port"] for p in svc["spec"]["ports"]} == {4317, 4318}
    assert svc["spec"]["selector"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()


# ---- chatbot -----------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_chatbot_wiring(env):
    objs = ALL[f"apps/chatbot/overlays/{env}"]
    assert all(d["metadata"].get("namespace") == "chatbot" for d in objs)
    dep = one(objs, "Deployment", "chatbot")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert labels["otter/environment"] == env
    sa = one(objs, "ServiceAccount", dep["spec"]["template"]["spec"]["serviceAccountName"])
    assert "eks.amazonaws.com/role-arn" not in sa["metadata"].get("annotations", {}), "Pod Identity, not IRSA"
    es = one(objs, "ExternalSecret")
    assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-ssm"}
    for item in es["spec"]["data"]:
        assert item["remoteRef"]["key"].startswith(f"/otter/{env}/chatbot/"), item
    # The origin check's secret (deploy/'s SecureString) reaches the chatbot as CHATBOT_ORIGIN_SECRET,
    # from this environment's path.
    keys = {item["secretKey"]: item["remoteRef"]["key"] for item in es["spec"]["data"]}
    assert keys["CHATBOT_ORIGIN_SECRET"] == f"/otter/{env}/chatbot/origin-secret"
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": es["spec"]["target"]["name"]}} in c["envFrom"]
    envs = {e["name"]: e.get("value") for e in c["env"]}
    assert envs["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otterd.otter-system.svc.cluster.local:4318"
    svc = one(objs, "Service", "chatbot")
    assert svc["spec"]["selector"].items() <= labels.items()
    ing = one(objs, "Ingress", "chatbot")
    assert ing["spec"]["ingressClassName"] == "alb"
    ann = ing["metadata"]["annotations"]
    assert ann["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert ann["alb.ingress.kubernetes.io/healthcheck-path"] == "/readyz"
    assert "alb.ingress.kubernetes.io/certificate-arn" in ann
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "chatbot"
    hpa = one(objs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chatbot"}
    assert hpa["spec"]["minReplicas"] <= dep["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    np_ = one(objs, "NetworkPolicy")
    assert np_["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(np_["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    if env == "prod":
        assert dep["spec"]["replicas"] >= 2 and hpa["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("env", ENVS)
def test_overlays_differ_only_where_environments_differ(env):
    """Both overlays render the same objects; the kinds and names match one to one."""
    a = sorted((d["kind"], d["metadata"]["name"]) for d in ALL["apps/chatbot/overlays/dev"])
    b = sorted((d["kind"], d["metadata"]["name"]) for d in ALL[f"apps/chatbot/overlays/{env}"])
    assert a == b


@pytest.mark.parametrize("env", ENVS)
def test_sidecar_component(env):
    objs = ALL[f"apps/chatbot/overlays/{env}+otterd-sidecar"]
    dep = one(objs, "Deployment", "chatbot")
    spec = dep["spec"]["template"]["spec"]
    (side,) = [c for c in spec["initContainers"] if c["name"] == "otterd"]
    assert side["restartPolicy"] == "Always", "a native sidecar"
    envs = {e["name"]: e for e in spec["containers"][0]["env"]}
    assert envs["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://localhost:4318"
    assert side["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert side["readinessProbe"]["httpGet"]["path"] == "/readyz"
    cm = one(objs, "ConfigMap")
    vol = next(v for v in spec["volumes"] if v["name"] == "otterd-config")
    assert vol["configMap"]["name"] == cm["metadata"]["name"]
    side_env = {e["name"]: e for e in side["env"]}
    assert side_env["OTTER_ENV"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['otter/environment']"
    # No egress to the node agent is left open in sidecar mode.
    np_ = one(objs, "NetworkPolicy")
    assert "otter-system" not in str(np_["spec"]["egress"])
    if env == "prod":
        assert "@sha256:" in side["image"]


def test_bases_hold_no_environment():
    """Environment-specific values (SSM paths, hosts, role names) live in the overlays only; the
    demo's base read /ai-chatbot/dev/... in every environment."""
    for base in ("apps/chatbot/base", "platform/otterd/base", "argocd/apps/base"):
        text = build(base)
        for env in ENVS:
            assert f"/otter/{env}/" not in text and f"otter-{env}" not in text, (base, env)


@pytest.mark.parametrize("env", ENVS)
def test_sidecar_render_stays_in_its_namespace(env):
    objs = ALL[f"apps/chatbot/overlays/{env}+otterd-sidecar"]
    assert all(d["metadata"].get("namespace") == "chatbot" for d in objs)
