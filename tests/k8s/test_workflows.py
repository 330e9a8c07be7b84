# SPDX-License-Identifier: Apache-2.0
"""The GitHub workflows: actionlint and zizmor --offline with no findings, the project's rules
(actions pinned by commit, minimal permissions, OIDC only where used, no secrets, one concurrency
group per environment, destroy behind a protected environment), and the delivery workflow's
tag-bump step run for real on a copy of the overlays."""
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import K8S, ROOT, docs, tool

WF_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WF_DIR.glob("*.yml"))
ZIZMOR = str(pathlib.Path(sys.executable).parent / "zizmor")


def load(path):
    # PyYAML reads the key "on" as True.
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(doc):
    for name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield name, job, step


def test_expected_workflows():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "delivery.yml", "ops.yml"}


def shellcheck():
    path = shutil.which("shellcheck")
    assert path, "shellcheck not on PATH (scripts/install-deps.sh installs Debian's)"
    return path


def test_actionlint():
    # With shellcheck: every `run:` script is shell-checked too.
    proc = subprocess.run([tool("actionlint"), "-no-color", "-shellcheck", shellcheck()], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_shell_checks_run_scripts(tmp_path):
    # The same invocation finds an unquoted expansion (SC2086) in a run: script.
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "x.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: ls $HOME/a b\n")
    proc = subprocess.run([tool("actionlint"), "-no-color", "-shellcheck", shellcheck(),
                           str(wf / "x.yml")], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and "SC2086" in proc.stdout, proc.stdout + proc.stderr


def test_zizmor_offline():
    proc = subprocess.run([ZIZMOR, "--offline", "--no-progress", "--config",
                           str(ROOT / ".github" / "zizmor.yml"), str(WF_DIR)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "No findings to report" in out, out


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_actions_pinned_by_commit(path):
    text = path.read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses or path.name == "ci.yml"
    for ref, rest in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{ref}: say which release in a comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_permissions_minimal(path):
    doc = load(path)
    assert doc["permissions"] == {}, "no permissions at the workflow level"
    for name, job in doc["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{name}: permissions per job"
        assert "write-all" not in str(perms)
        uses_oidc = any("configure-aws-credentials" in s.get("uses", "") for s in job.get("steps", []))
        assert (perms.get("id-token") == "write") == uses_oidc, f"{name}: id-token only with OIDC"
        for scope, level in perms.items():
            assert level in ("read", "write", "none"), (name, scope)
            if level == "write":
                assert scope in ("id-token", "contents", "pull-requests"), (name, scope)
    assert "secrets." not in path.read_text(), "no secrets: OIDC and non-sensitive variables only"


def test_checkout_never_persists_credentials():
    for path in WORKFLOWS:
        for name, _, step in steps(load(path)):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, (path.name, name)


def test_ci_runs_the_full_test_command():
    doc = load(WF_DIR / "ci.yml")
    assert set(doc["on"]) == {"pull_request", "push"}
    runs = " ".join(s.get("run", "") for _, _, s in steps(doc))
    assert "scripts/test.sh" in runs and "scripts/test-k8s.sh" in runs


def test_ops_concurrency_and_destroy_gate():
    doc = load(WF_DIR / "ops.yml")
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["action"]["options"] == ["up", "deploy", "artifact", "destroy"]
    assert inputs["environment"]["options"] == ["dev", "prod"]
    assert doc["concurrency"] == {"group": "ops-${{ inputs.environment }}", "cancel-in-progress": False}
    destroy = doc["jobs"]["destroy"]
    assert destroy["if"] == "inputs.action == 'destroy'"
    assert destroy["environment"] == "${{ inputs.environment }}-destroy"
    assert "for p in destroy verify_clean; do" in destroy["steps"][-1]["run"]
    assert doc["jobs"]["operate"]["if"] == "inputs.action != 'destroy'"
    for _, _, step in steps(doc):
        assert "${{" not in step.get("run", ""), "inputs reach run steps through env only"


def test_delivery_pushes_with_oidc_and_bumps_with_the_script():
    doc = load(WF_DIR / "delivery.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"]["group"] == "delivery-dev"
    images = doc["jobs"]["images"]
    assert images["strategy"]["matrix"]["image"] == ["otterd", "chatbot"]
    push = next(s for s in images["steps"] if "build-push-action" in s.get("uses", ""))
    assert push["with"]["file"] == "deploy/docker/${{ matrix.image }}.Dockerfile"
    assert push["with"]["tags"].endswith(":${{ steps.tag.outputs.tag }}")
    bump = doc["jobs"]["bump"]
    assert bump["needs"] == "images"
    run = " ".join(s.get("run", "") for s in bump["steps"])
    assert 'scripts/bump-dev-images.sh "$tag"' in run and "gh pr create" in run
    # The kustomize version the workflow extracts is the one scripts/test-k8s.sh pins.
    install = next(s["run"] for s in bump["steps"] if "go install" in s.get("run", ""))
    sed = re.search(r"sed -n '([^']+)' scripts/test-k8s.sh", install).group(1)
    version = subprocess.run(["sed", "-n", sed, "scripts/test-k8s.sh"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r"v5\.\d+\.\d+", version)
    assert f'KUSTOMIZE_VERSION="{version}"' in (ROOT / "scripts" / "test-k8s.sh").read_text()


def test_tag_bump_on_a_copy_of_the_overlays(tmp_path):
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    env = {"KUSTOMIZE": tool("kustomize"), "PATH": "/usr/bin:/bin"}
    script = str(ROOT / "scripts" / "bump-dev-images.sh")
    out = subprocess.run([script, "1a2b3c4", str(copy)], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.strip() == "changed"
    again = subprocess.run([script, "1a2b3c4", str(copy)], capture_output=True, text=True,
                           env=env, check=True).stdout
    assert again.strip() == "unchanged"

    def images(path):
        proc = subprocess.run([tool("kustomize"), "build", str(path)], capture_output=True,
                              text=True, check=True)
        return sorted({c["image"] for d in docs(proc.stdout) if d["kind"] in ("Deployment", "DaemonSet")
                       for c in d["spec"]["template"]["spec"]["containers"]
                       + d["spec"]["template"]["spec"].get("initContainers", [])})

    assert images(copy / "platform/otterd/overlays/dev") == [
        "otterd:1a2b3c4"]
    assert images(copy / "apps/chatbot/overlays/dev") == [
        "chatbot:1a2b3c4"]
    # The sidecar component picks up the same otterd tag from the overlay.
    kust = copy / "apps/chatbot/overlays/dev/kustomization.yaml"
    k = yaml.safe_load(kust.read_text())
    k["components"] = ["../../components/otterd-sidecar"]
    kust.write_text(yaml.safe_dump(k))
    assert "otterd:1a2b3c4" in images(copy / "apps/chatbot/overlays/dev")
    # prod and the repository's own tree are untouched.
    for rel in ("apps/chatbot/overlays/prod/kustomization.yaml",
                "platform/otterd/overlays/prod/kustomization.yaml"):
        assert (copy / rel).read_text() == (K8S / rel).read_text()
    # A bad tag is refused before anything is written.
    bad = subprocess.run([script, "latest", str(copy)], capture_output=True, text=True, env=env,
                         check=False)
    assert bad.returncode == 2


# The ops run step executed for real by bash, with `docker` a fake that records its argv and the
# extra-vars file it would mount (docker itself is not available here).
FAKE_DOCKER = """#!/bin/sh
set -e
if [ "$1" = run ]; then
  printf '%s\\n' "$@" >> "$OTTER_TEST_LOG"
  for a in "$@"; do
    case "$a" in *:/otter-vars:ro) cp "${a%:/otter-vars:ro}/digests.json" "$OTTER_TEST_VARS" ;; esac
  done
fi
"""
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "0123456789abcdef" * 4


def run_ops_step(tmp_path, action, env, digests):
    doc = load(WF_DIR / "ops.yml")
    step = next(s for s in doc["jobs"]["operate"]["steps"] if s.get("name") == "Run the playbooks")
    assert step["env"]["OTTER_IMAGE_DIGESTS"] == "${{ inputs.image_digests }}"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text(FAKE_DOCKER)
    (bindir / "docker").chmod(0o755)
    log, varsfile = tmp_path / "docker.log", tmp_path / "vars.json"
    environ = {
        "PATH": f"{bindir}:/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path / "runner"), "GITHUB_SHA": "abc",
        "OTTER_ACTION": action, "OTTER_ENV": env, "OTTER_IMAGE_DIGESTS": digests,
        "OTTER_TEST_LOG": str(log), "OTTER_TEST_VARS": str(varsfile),
    }
    r = subprocess.run(["bash", "-e", "-c", step["run"]], env=environ, capture_output=True, text=True)
    argv = log.read_text().split("\n") if log.exists() else []
    return r, argv, json.loads(varsfile.read_text()) if varsfile.exists() else None


def test_ops_passes_prod_digests_to_every_playbook_as_an_extra_vars_file(tmp_path):
    digests = '{"chatbot": "%s", "otterd": "%s"}' % (DIGEST_A, DIGEST_B)
    r, argv, extra = run_ops_step(tmp_path, "deploy", "prod", digests)
    assert r.returncode == 0, r.stderr
    assert extra == {"otter_image_digests": {"chatbot": DIGEST_A, "otterd": DIGEST_B}}
    i = argv.index("ansible-playbook")
    assert argv[i:i + 6] == ["ansible-playbook", "deploy/ansible/deploy.yml", "-e", "otter_env=prod",
                             "-e", "@/otter-vars/digests.json"]


def test_ops_without_digests_passes_an_empty_object(tmp_path):
    r, argv, extra = run_ops_step(tmp_path, "up", "dev", "")
    assert r.returncode == 0, r.stderr
    assert extra == {"otter_image_digests": {}}
    # up only: bootstrap.yml (the CI roles themselves) is the administrator's, not the ops role's.
    assert [a for a in argv if a.startswith("deploy/ansible/")] == ["deploy/ansible/up.yml"]


def test_ops_destroy_confirms_and_names_existing_playbooks(tmp_path):
    """The destroy step, run by bash with the fake docker: destroy.yml with the confirmation it
    requires (the <env>-destroy environment's reviewers gave it), then verify_clean.yml; every
    playbook the workflow names exists."""
    doc = load(WF_DIR / "ops.yml")
    step = doc["jobs"]["destroy"]["steps"][-1]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text(FAKE_DOCKER)
    (bindir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    environ = {"PATH": f"{bindir}:/usr/bin:/bin", "GITHUB_SHA": "abc", "OTTER_ENV": "prod", "OTTER_TEST_LOG": str(log),
               "OTTER_TEST_VARS": str(tmp_path / "vars.json")}
    r = subprocess.run(["bash", "-e", "-c", step["run"]], env=environ, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    argv = log.read_text().split("\n")
    books = [a for a in argv if a.startswith("deploy/ansible/")]
    assert books == ["deploy/ansible/destroy.yml", "deploy/ansible/verify_clean.yml"]
    first = argv[argv.index("deploy/ansible/destroy.yml"):]
    assert first[1:5] == ["-e", "otter_env=prod", "-e", "otter_confirm_destroy=prod"]
    text = (WF_DIR / "ops.yml").read_text()
    named = [n for group in re.findall(r'playbooks="([a-z_ ]+)"|for p in ([a-z_ ]+); do', text) for g in group for n in g.split()]
    assert {"up", "deploy", "deliver", "destroy", "verify_clean"} <= set(named)
    for name in named:
        assert (ROOT / "deploy" / "ansible" / f"{name}.yml").exists(), name


@pytest.mark.parametrize("bad", [
    "sha256:" + "a" * 64,                                 # not an object
    '{"chatbot": "sha256:%s"}' % ("a" * 63),              # 63 hex digits
    '{"chatbot": "sha256:%s"}' % ("A" * 64),              # upper case
    '{"frontend": "%s"}' % DIGEST_A,                      # unknown image
    '{"chatbot": 1}',                                     # not a string
    '{"chatbot": "%s"} -e x=1' % DIGEST_A,                # trailing words
    "{not json",
])
def test_ops_refuses_malformed_digests_before_any_playbook(tmp_path, bad):
    r, argv, _ = run_ops_step(tmp_path, "deploy", "prod", bad)
    assert r.returncode == 1
    assert "image_digests: expected" in r.stderr
    assert argv == []
