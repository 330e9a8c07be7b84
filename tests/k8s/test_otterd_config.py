# SPDX-License-Identifier: Apache-2.0
"""The otterd configs shipped in ConfigMaps (DaemonSet and sidecar), taken from the rendered
manifests, pass `otterd validate` as otterd would read them: every file of the ConfigMap is
written to one directory, which stands for the mount path /etc/otterd/config. The SLO definitions
in those ConfigMaps are copies of chatbot/slo.yaml and must stay equal to it."""
import os
import pathlib
import subprocess

import pytest
import yaml

from conftest import ENVS, K8S, ROOT, docs, build, build_with_component, otterd_binary

MOUNT = "/etc/otterd/config/"
ENV = {"AWS_REGION": "eu-west-1", "OTTER_ENV": "dev", "K8S_NODE_NAME": "node-1",
       "K8S_POD_NAME": "pod-1", "K8S_NAMESPACE": "otter-system", "K8S_CLUSTER_NAME": "otter-dev"}
SLO_COPIES = [K8S / "platform/otterd/base/slo.yaml",
              K8S / "apps/chatbot/components/otterd-sidecar/slo.yaml"]


def configs():
    out = []
    for env in ENVS:
        cm = next(d for d in docs(build(f"platform/otterd/overlays/{env}")) if d["kind"] == "ConfigMap")
        out.append((f"daemonset-{env}", cm["data"]))
        cm = next(d for d in docs(build_with_component(f"apps/chatbot/overlays/{env}",
                                                       "apps/chatbot/components/otterd-sidecar"))
                  if d["kind"] == "ConfigMap")
        out.append((f"sidecar-{env}", cm["data"]))
    return out


CONFIGS = configs()
IDS = [c[0] for c in CONFIGS]


def otterd_validate(tmp_path, files):
    binary = otterd_binary()
    if binary is None:
        pytest.skip("no otterd binary (build it, or set OTTERD)")
    mount = str(tmp_path) + "/"
    for name, text in files.items():
        (tmp_path / name).write_text(text.replace(MOUNT, mount))
    env = dict(os.environ, **ENV)
    proc = subprocess.run([binary, "validate", "--config", str(tmp_path / "otterd.yaml")],
                          capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("name,files", CONFIGS, ids=IDS)
def test_config_validates(tmp_path, name, files):
    assert set(files) == {"otterd.yaml", "slo.yaml"}, sorted(files)
    rc, out = otterd_validate(tmp_path, files)
    assert rc == 0, out
    assert "warning" not in out, out


@pytest.mark.parametrize("name,files", CONFIGS, ids=IDS)
def test_config_errors_are_caught(tmp_path, name, files):
    """The validation above can fail: a definitions file with an error is reported at its line."""
    broken = dict(files, **{"slo.yaml": files["slo.yaml"].replace('objective: "99.9"',
                                                                  'objective: "100"', 1)})
    assert broken["slo.yaml"] != files["slo.yaml"]
    rc, out = otterd_validate(tmp_path, broken)
    assert rc != 0 and "slo.yaml:" in out, out


@pytest.mark.parametrize("copy", SLO_COPIES, ids=lambda p: p.parent.name)
def test_slo_definitions_are_chatbots(copy):
    original = (ROOT / "chatbot/slo.yaml").read_text()
    text = copy.read_text()
    body = "".join(line for line in text.splitlines(keepends=True)[2:])
    assert body == original, f"{copy} differs from chatbot/slo.yaml: copy it again (keep the " \
                             "first two comment lines)"


def test_configs_have_the_adot_shape():
    for name, files in CONFIGS:
        cfg = yaml.safe_load(files["otterd.yaml"])
        pipes = cfg["service"]["pipelines"]
        assert set(pipes) == {"traces", "metrics", "logs"}, name
        for sig, p in pipes.items():
            assert p["receivers"] == ["otlp"], (name, sig)
            assert p["processors"][0] == "memory_limiter", (name, sig)
            assert p["processors"][-1].startswith("batch"), (name, sig)
            assert "resource_detection" in p["processors"], (name, sig)
        assert "awsxray" in pipes["traces"]["exporters"] and "slo" in pipes["traces"]["exporters"]
        assert "awsemf" in pipes["metrics"]["exporters"]
        assert "awscloudwatchlogs" in pipes["logs"]["exporters"]
        assert cfg["service"]["telemetry"]["metrics"]["address"].endswith(":8888"), "admin port"
        emf = cfg["exporters"]["awsemf"]["log_group_name"]
        logs = cfg["exporters"]["awscloudwatchlogs"]["log_group_name"]
        # deploy/pulumi/otter_infra/names.py: the log groups otterd's IAM role may write.
        assert emf == "/otter/${env:OTTER_ENV}/emf" and logs == "/otter/${env:OTTER_ENV}/chatbot"
        # The SLO metrics go to the EMF group (the same IAM grant) in the namespace that the
        # dashboard and alarms of deploy/ read (slo/engine/slo_cw.h).
        metrics = cfg["exporters"]["slo"]["metrics"]
        assert metrics["log_group_name"] == emf and metrics["namespace"] == "Otter/SLO", name
        assert cfg["exporters"]["slo"]["definitions"] == ["/etc/otterd/config/slo.yaml"], name


def mebibytes(quantity):
    """A Kubernetes memory quantity in MiB ("128Mi", "1Gi")."""
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


def otterd_memory_limits():
    """(name, container memory limit in MiB, otterd.yaml) of every rendered otterd."""
    out = []
    for env in ENVS:
        for name, built in ((f"daemonset-{env}", build(f"platform/otterd/overlays/{env}")),
                            (f"sidecar-{env}", build_with_component(
                                f"apps/chatbot/overlays/{env}",
                                "apps/chatbot/components/otterd-sidecar"))):
            ds = docs(built)
            cm = next(d for d in ds if d["kind"] == "ConfigMap" and "otterd.yaml" in d["data"])
            spec = next(d for d in ds if d["kind"] in ("DaemonSet", "Deployment"))["spec"]
            pod = spec["template"]["spec"]
            box = next(c for c in pod["containers"] + pod.get("initContainers", [])
                       if c["name"] == "otterd")
            out.append((name, mebibytes(box["resources"]["limits"]["memory"]), cm["data"]["otterd.yaml"]))
    return out


def test_queues_fit_under_the_memory_limiter():
    """Every AWS exporter's queue is sized (its default, 1000 x 64 KiB, is 62.5 MiB each): the
    queues plus otterd's own 32 MiB at saturation (tests/bench, issue 3's bound) stay under the
    memory_limiter's soft limit (limit - spike), and its hard limit under the container's, so the
    limiter refuses data before the kernel kills the pod."""
    checked = 0
    for name, container_mib, text in otterd_memory_limits():
        cfg = yaml.safe_load(text)
        limiter = cfg["processors"]["memory_limiter"]
        queues_kib = 0
        for exp in ("awsxray", "awsemf", "awscloudwatchlogs"):
            size = cfg["exporters"][exp].get("sending_queue", {}).get("queue_size")
            assert size is not None, f"{name}: {exp} has no sending_queue.queue_size"
            queues_kib += size * 64
        soft_mib = limiter["limit_mib"] - limiter["spike_limit_mib"]
        assert queues_kib / 1024 + 32 <= soft_mib, (name, queues_kib, soft_mib)
        assert limiter["limit_mib"] < container_mib, (name, limiter["limit_mib"], container_mib)
        checked += 1
    assert checked == 2 * len(ENVS)
