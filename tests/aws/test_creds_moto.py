# SPDX-License-Identifier: Apache-2.0
"""The credentials chain (exporters/aws/ex_aws_creds.c, driven through the creds_cli executable)
against moto server's real STS on 127.0.0.1: AssumeRoleWithWebIdentity from a token file (the
IRSA path: unsigned form POST), and AssumeRole signed with environment credentials (the
role_arn option). moto does not check the token or the signature; what is checked here is that
Otter's requests are ones a real STS implementation accepts and that its answers are parsed.
The driver prints the access key id, never the secret or the session token.

The driver is found through OTTER_CREDS_CLI, else at build/tests/unit/aws/creds_cli; moto_server
through OTTER_MOTO_SERVER, else next to the Python running the test. A missing driver or server
is a failure, not a skip.
"""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("OTTER_CREDS_CLI", ROOT / "build" / "tests" / "unit" / "aws" / "creds_cli"))
MOTO = Path(os.environ.get("OTTER_MOTO_SERVER", Path(sys.executable).parent / "moto_server"))
ROLE = "arn:aws:iam::123456789012:role/otter-irsa"
LINE = re.compile(r"^provider=(\S+) access_key_id=(ASIA[A-Z0-9]{16}) expiration_ms=(\d+) "
                  r"session_token=set$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto():
    assert MOTO.exists(), f"moto_server not found at {MOTO}"
    port = free_port()
    proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_cli(env, *args):
    assert CLI.exists(), f"creds_cli not found at {CLI} (build first)"
    base = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"}
    base.update(env)
    out = subprocess.run([str(CLI), *args], env=base, capture_output=True, text=True,
                         timeout=30)
    return out.returncode, out.stdout.strip().splitlines()


def test_web_identity(moto, tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2ln")
    rc, lines = run_cli({"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
                         "AWS_ENDPOINT_URL_STS": moto})
    assert rc == 0, lines
    assert lines[0] == "chain provider=web-identity region=us-east-1"
    m = LINE.match(lines[1])
    assert m, lines
    assert m.group(1) == "web-identity"
    assert int(m.group(3)) > (time.time() + 300) * 1000


def test_assume_role_signed(moto):
    rc, lines = run_cli({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                         "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                         "AWS_ENDPOINT_URL": moto},
                        "--role-arn", ROLE, "--external-id", "otter-ext")
    assert rc == 0, lines
    assert lines[0] == "chain provider=environment region=us-east-1"
    m = LINE.match(lines[1])
    assert m, lines
    assert m.group(1) == "assume-role"
    assert "wJalrXUtnFEMI" not in "\n".join(lines)


def test_missing_token_file(moto, tmp_path):
    rc, lines = run_cli({"AWS_ROLE_ARN": ROLE,
                         "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "absent"),
                         "AWS_ENDPOINT_URL_STS": moto})
    assert rc == 1
    assert lines[1].startswith("error rc=-2 why=web identity token file ")
