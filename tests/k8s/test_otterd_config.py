# SPDX-License-Identifier: Apache-2.0
"""The otterd configs shipped in ConfigMaps (DaemonSet and sidecar), taken from the rendered
manifests, pass `otterd validate`. The target configs name exporters otterd does not have yet
(awsemf, awscloudwatchlogs, slo; awsxray is landing): they are strict xfails until then, and a
reduced copy without exactly those exporters must validate cleanly today."""
import os
import re
import subprocess

import pytest
import yaml

from conftest import ENVS, docs, build, build_with_component, otterd_binary

NOT_YET = {"awsxray", "awsemf", "awscloudwatchlogs", "slo"}
ENV = {"AWS_REGION": "eu-west-1", "OTTER_ENV": "dev", "K8S_NODE_NAME": "node-1",
       "K8S_POD_NAME": "pod-1", "K8S_NAMESPACE": "otter-system", "K8S_CLUSTER_NAME": "otter-dev"}


def configs():
    out = []
    for env in ENVS:
        cm = next(d for d in docs(build(f"platform/otterd/overlays/{env}")) if d["kind"] == "ConfigMap")
        out.append((f"daemonset-{env}", cm["data"]["otterd.yaml"]))
        cm = next(d for d in docs(build_with_component(f"apps/chatbot/overlays/{env}",
                                                       "apps/chatbot/components/otterd-sidecar"))
                  if d["kind"] == "ConfigMap")
        out.append((f"sidecar-{env}", cm["data"]["otterd.yaml"]))
    return out


CONFIGS = configs()
IDS = [c[0] for c in CONFIGS]


def otterd_validate(tmp_path, text):
    binary = otterd_binary()
    if binary is None:
        pytest.skip("no otterd binary (build it, or set OTTERD)")
    path = tmp_path / "otterd.yaml"
    path.write_text(text)
    env = dict(os.environ, **ENV)
    proc = subprocess.run([binary, "validate", "--config", str(path)], capture_output=True,
                          text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def unsupported(output):
    return set(re.findall(r"component type '([\w]+)' is not supported by this otterd yet", output)) | \
        set(re.findall(r"unknown exporter type '([\w]+)'", output))


@pytest.mark.xfail(strict=True, reason="otterd has no awsemf, awscloudwatchlogs and slo exporters "
                                        "yet (issues 4, 5); awsxray is being wired (issue 3)")
@pytest.mark.parametrize("name,text", CONFIGS, ids=IDS)
def test_target_config_validates(tmp_path, name, text):
    rc, out = otterd_validate(tmp_path, text)
    assert rc == 0, out
    assert "warning" not in out, out


@pytest.mark.parametrize("name,text", CONFIGS, ids=IDS)
def test_reduced_config_validates_today(tmp_path, name, text):
    rc, out = otterd_validate(tmp_path, text)
    missing = unsupported(out)
    assert missing <= NOT_YET, f"unexpected problems:\n{out}"
    errors = [l for l in out.splitlines() if ": error: " in l]
    assert len(errors) == len(missing), f"errors other than the missing exporters:\n{out}"
    cfg = yaml.safe_load(text)
    for t in missing:
        cfg["exporters"] = {k: v for k, v in cfg["exporters"].items() if k.split("/")[0] != t}
    for pipe in cfg["service"]["pipelines"].values():
        pipe["exporters"] = [e for e in pipe["exporters"] if e.split("/")[0] not in missing] or ["debug"]
    if any("debug" in p["exporters"] for p in cfg["service"]["pipelines"].values()):
        cfg["exporters"].setdefault("debug", {"verbosity": "basic"})
    rc, out = otterd_validate(tmp_path, yaml.safe_dump(cfg, sort_keys=False))
    assert rc == 0, out
    assert "warning" not in out, out


def test_configs_have_the_adot_shape():
    for name, text in CONFIGS:
        cfg = yaml.safe_load(text)
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
