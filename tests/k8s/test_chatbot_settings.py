# SPDX-License-Identifier: Apache-2.0
"""The chatbot's settings in k8s/ and its image are names the chatbot reads: every CHATBOT_* name
set in the rendered Deployment env, in the ExternalSecret's keys and in the Dockerfile's ENV is
CHATBOT_<OPTION> for an option that `chatbot --help` lists (chatbot/README.md), or a variable
the help names as holding a value itself (CHATBOT_ORIGIN_SECRET: a secret is never an option)."""
import os
import re
import subprocess

import pytest

from conftest import ENVS, ROOT, build, docs


def chatbot_options():
    path = os.environ.get("CHATBOT") or str(ROOT / "build" / "chatbot" / "chatbot")
    if not os.access(path, os.X_OK):
        pytest.skip("no chatbot binary (build it, or set CHATBOT)")
    out = subprocess.run([path, "--help"], capture_output=True, text=True, check=True).stdout
    options = {"CHATBOT_" + o.upper().replace("-", "_") for o in re.findall(r"\[--([a-z-]+) ", out)}
    return options | set(re.findall(r"the value itself in (CHATBOT_[A-Z_]+)", out))


def names_in_k8s(env):
    found = set()
    for d in docs(build(f"apps/chatbot/overlays/{env}")):
        if d["kind"] == "Deployment":
            for c in d["spec"]["template"]["spec"]["containers"]:
                found |= {e["name"] for e in c.get("env", []) if e["name"].startswith("CHATBOT_")}
        if d["kind"] == "ExternalSecret":
            found |= {x["secretKey"] for x in d["spec"]["data"]}
    return found


@pytest.mark.parametrize("env", ENVS)
def test_k8s_settings_are_options(env):
    options = chatbot_options()
    assert "CHATBOT_MODEL_ID" in options and "CHATBOT_LISTEN" in options  # the parse works
    names = names_in_k8s(env)
    assert {"CHATBOT_PROVIDER", "CHATBOT_HISTORY", "CHATBOT_MODEL_ID",
            "CHATBOT_DYNAMODB_TABLE", "CHATBOT_ORIGIN_SECRET"} <= names, names
    assert names <= options, sorted(names - options)


@pytest.mark.parametrize("env", ENVS)
def test_chatbot_trusts_cloudfront_and_the_alb(env):
    # Two proxies: the ALB (the peer, hop 1) and CloudFront (which appended the viewer, hop 2).
    # More would let a viewer's own X-Forwarded-For pick its rate-limit bucket; fewer would key
    # every viewer on CloudFront's edge addresses.
    for d in docs(build(f"apps/chatbot/overlays/{env}")):
        if d["kind"] == "Deployment":
            c = [c for c in d["spec"]["template"]["spec"]["containers"] if c["name"] == "chatbot"][0]
            env_vars = {e["name"]: e.get("value") for e in c.get("env", [])}
            assert env_vars["CHATBOT_TRUSTED_PROXIES"] == "2"


def test_image_settings_are_options():
    text = (ROOT / "deploy/docker/chatbot.Dockerfile").read_text()
    names = set(re.findall(r"\b(CHATBOT_[A-Z_]+)=", text))
    assert names, "the chatbot image sets no CHATBOT_ variable"
    assert names <= chatbot_options(), sorted(names - chatbot_options())
