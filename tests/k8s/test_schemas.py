# SPDX-License-Identifier: Apache-2.0
"""Every kustomization and component renders; every rendered object is valid in strict mode:
core kinds against kubernetes-validate's bundled schemas (-local-strict), Argo CD and External
Secrets kinds against ../shared/schemas/crds (their schemas forbid unknown fields)."""
import functools
import json

import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import (COMPONENTS, CRDS, ENVS, K8S, KUBERNETES_VERSION, build,
                      build_with_component, docs, kustomizations, renders)

ROOTS, COMPS = kustomizations()
CRD_GROUPS = ("argoproj.io", "external-secrets.io")


def test_every_component_is_tested():
    assert sorted(COMPS) == sorted(COMPONENTS.values()), "add new components to conftest.COMPONENTS"


@pytest.mark.parametrize("root", ROOTS, ids=[str(r.relative_to(K8S)) for r in ROOTS])
def test_kustomize_build(root):
    objs = docs(build(root))
    assert objs, f"{root} renders nothing"


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_kustomize_build_with_component(name, env):
    comp = str(COMPONENTS[name].relative_to(K8S))
    objs = docs(build_with_component(f"apps/chatbot/overlays/{env}", comp))
    assert objs


@functools.lru_cache(maxsize=None)
def crd_schema(group, kind, version):
    path = CRDS / group / f"{kind.lower()}_{version}.json"
    assert path.exists(), f"no CRD schema {path} (is ../shared beside the repository?)"
    return json.loads(path.read_text())


def validate(doc):
    group, _, version = doc["apiVersion"].rpartition("/")
    if group in CRD_GROUPS:
        schema = crd_schema(group, doc["kind"], version)
        validator = jsonschema.Draft7Validator(schema)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in errors]
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return ["%s: %s" % ("/".join(map(str, e.path)), e.message)]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"no schema: {e.message}"]
    return []


ALL = renders()


@pytest.mark.parametrize("label", sorted(ALL))
def test_schemas_strict(label):
    problems = []
    for doc in ALL[label]:
        for p in validate(doc):
            problems.append(f"{doc['kind']}/{doc['metadata'].get('name')}: {p}")
    assert not problems, "\n".join(problems)


def test_strict_mode_catches_a_misspelt_field():
    """The validators really are strict: a typo in a core kind and in a CRD kind both fail."""
    dep = next(d for d in ALL["apps/chatbot/overlays/dev"] if d["kind"] == "Deployment")
    bad = yaml.safe_load(yaml.safe_dump(dep))
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert validate(bad)
    app = next(d for d in ALL["argocd/apps/dev"] if d["kind"] == "Application")
    bad = yaml.safe_load(yaml.safe_dump(app))
    bad["spec"]["syncPolicy"]["automated"]["selfheal"] = True
    assert validate(bad)
    store = ALL["platform/secret-stores"][0]
    bad = yaml.safe_load(yaml.safe_dump(store))
    bad["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccount"] = {"name": "x"}
    assert validate(bad)
