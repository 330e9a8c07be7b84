# SPDX-License-Identifier: Apache-2.0
"""checkov, offline (--skip-download), on the rendered manifests, the Dockerfiles and the
workflows. Every skipped check is listed in checkov-skips.yaml with its reason."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, renders

SKIPS = yaml.safe_load((pathlib.Path(__file__).parent / "checkov-skips.yaml").read_text())
CHECKOV = str(pathlib.Path(sys.executable).parent / "checkov")


def test_every_skip_has_a_reason():
    for framework, skips in SKIPS.items():
        for s in skips:
            assert s.get("id") and len((s.get("reason") or "").split()) >= 5, (framework, s)


def run_checkov(framework, args):
    skips = [s["id"] for s in SKIPS.get(framework) or []]
    cmd = [CHECKOV, "--skip-download", "--framework", framework, "--quiet", "--compact",
           "-o", "json", *args]
    if skips:
        cmd += ["--skip-check", ",".join(skips)]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    reports = out if isinstance(out, list) else [out]
    failed, passed = [], 0
    for r in reports:
        if "results" not in r:
            continue
        passed += r["summary"]["passed"]
        assert r["summary"]["parsing_errors"] == 0, r["summary"]
        for f in r["results"]["failed_checks"]:
            failed.append(f"{f['check_id']} {f['check_name']}: {f['file_path']} {f['resource']}")
    return passed, failed


def test_checkov_kubernetes(tmp_path):
    for label, objs in renders().items():
        name = label.replace("/", "_").replace("+", "_")
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(objs))
    passed, failed = run_checkov("kubernetes", ["-d", str(tmp_path)])
    assert passed > 100
    assert not failed, "\n".join(failed)


def test_checkov_dockerfiles():
    files = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))
    assert {f.name for f in files} >= {"otterd.Dockerfile", "chatbot.Dockerfile"}
    args = [a for f in files for a in ("-f", str(f.relative_to(ROOT)))]
    passed, failed = run_checkov("dockerfile", args)
    assert passed > 20
    assert not failed, "\n".join(failed)


def test_checkov_workflows():
    passed, failed = run_checkov("github_actions", ["-d", ".github/workflows"])
    assert passed > 10
    assert not failed, "\n".join(failed)
