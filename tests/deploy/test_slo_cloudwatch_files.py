"""The checked-in dashboard and alarm files (deploy/pulumi/slo/*.json) are exactly what
`slo dashboard` / `slo alarms` print for chatbot/slo.yaml. The slo binary is $SLO (default
build/slo/cli/slo); without a build and without $SLO the check is skipped, with $SLO set to a
missing binary it fails."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "tools" / "gen_slo_cloudwatch.sh"


def slo_binary():
    given = os.environ.get("SLO")
    p = Path(given or "build/slo/cli/slo")
    if not p.is_absolute():
        p = ROOT / p
    if not p.exists():
        if given:
            pytest.fail(f"SLO={given}: no such binary")
        pytest.skip("no slo binary at build/slo/cli/slo (ninja -C build, or set SLO)")
    return p


def check(slo, cwd=ROOT):
    return subprocess.run([str(SCRIPT), "--check"], cwd=cwd, env=dict(os.environ, SLO=str(slo)),
                          capture_output=True, text=True, timeout=60)


def test_checked_in_files_match_the_slo_command():
    p = check(slo_binary())
    assert p.returncode == 0, (
        "deploy/pulumi/slo/*.json differ from `slo dashboard` / `slo alarms` over chatbot/slo.yaml; "
        "regenerate them with deploy/tools/gen_slo_cloudwatch.sh and commit the result\n" + p.stderr
    )


def test_a_stale_file_is_reported(tmp_path):
    """The check itself can fail: a copy of the tree with one threshold changed is stale."""
    slo = slo_binary()
    for rel in ("chatbot/slo.yaml", "deploy/tools/gen_slo_cloudwatch.sh", "deploy/pulumi/slo/dashboard.json",
                "deploy/pulumi/slo/alarms.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((ROOT / rel).read_bytes())
    (tmp_path / "deploy/tools/gen_slo_cloudwatch.sh").chmod(0o755)
    defs = tmp_path / "chatbot/slo.yaml"
    defs.write_text(defs.read_text().replace('burnRate: "14.4"', 'burnRate: "14.5"', 1))
    p = subprocess.run([str(tmp_path / "deploy/tools/gen_slo_cloudwatch.sh"), "--check"], cwd=tmp_path,
                       env=dict(os.environ, SLO=str(slo)), capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert '-      "Threshold": 14.4,' in p.stderr and '+      "Threshold": 14.5,' in p.stderr
    assert "regenerate it with deploy/tools/gen_slo_cloudwatch.sh" in p.stderr
