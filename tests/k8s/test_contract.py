# SPDX-License-Identifier: Apache-2.0
"""k8s/ and deploy/ name the same things the same way.

deploy/pulumi/otter_infra/names.py is the single source of the names IAM grants depend on (log
groups, SSM parameters, ECR repositories, namespaces and service accounts bound to roles). A
manifest that drifts from it deploys fine and then fails at run time with AccessDenied, so these
tests compare the rendered manifests with that module, read straight from deploy/.
"""
import importlib.util

import yaml

from conftest import ENVS, ROOT, build

spec = importlib.util.spec_from_file_location(
    "otter_names", ROOT / "deploy" / "pulumi" / "otter_infra" / "names.py")
names = importlib.util.module_from_spec(spec)
spec.loader.exec_module(names)


def _docs(path):
    return [d for d in yaml.safe_load_all(build(path)) if d]


def _by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def test_service_accounts_bound_to_roles():
    for env in ENVS:
        otterd = _docs(f"platform/otterd/overlays/{env}")
        sas = {(d["metadata"].get("namespace"), d["metadata"]["name"])
               for d in _by_kind(otterd, "ServiceAccount")}
        assert (names.OTTERD_NAMESPACE, names.OTTERD_SERVICE_ACCOUNT) in sas
        chatbot = _docs(f"apps/chatbot/overlays/{env}")
        sas = {(d["metadata"].get("namespace"), d["metadata"]["name"])
               for d in _by_kind(chatbot, "ServiceAccount")}
        assert (names.CHATBOT_NAMESPACE, names.CHATBOT_SERVICE_ACCOUNT) in sas


def test_otterd_writes_only_the_log_groups_its_role_grants():
    for env in ENVS:
        granted = set(names.log_groups(env).values())
        for path in (f"platform/otterd/overlays/{env}", f"apps/chatbot/overlays/{env}"):
            for cm in _by_kind(_docs(path), "ConfigMap"):
                for text in cm.get("data", {}).values():
                    if "exporters:" not in text:
                        continue
                    cfg = yaml.safe_load(text)
                    for eid, e in cfg["exporters"].items():
                        group = (e or {}).get("log_group_name")
                        if group is not None:
                            group = group.replace("${env:OTTER_ENV}", env)
                            assert group in granted, (path, eid, group, sorted(granted))


def test_external_secrets_read_the_parameters_deploy_writes():
    for env in ENVS:
        written = set(names.ssm_parameters(env).values()) | {names.origin_secret_parameter(env)}
        keys = []
        for es in _by_kind(_docs(f"apps/chatbot/overlays/{env}"), "ExternalSecret"):
            keys += [d["remoteRef"]["key"] for d in es["spec"].get("data", [])]
        assert keys, env
        for k in keys:
            assert k in written, (env, k, sorted(written))


def test_images_come_from_the_repositories_deploy_creates():
    """The overlays name the images by the keys of names.repositories(env); render_gitops.py adds
    `<registry>/<that repository>` (test_gitops_render.py checks the rendered names)."""
    for env in ENVS:
        repos = names.repositories(env)
        for path in (f"platform/otterd/overlays/{env}", f"apps/chatbot/overlays/{env}"):
            for d in _docs(path):
                spec_ = d.get("spec", {}).get("template", {}).get("spec", {})
                for c in spec_.get("containers", []) + spec_.get("initContainers", []):
                    image = c["image"].split("@")[0].rsplit(":", 1)[0]
                    assert image in repos, (path, c["name"], image, sorted(repos))
