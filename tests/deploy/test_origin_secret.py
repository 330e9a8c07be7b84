"""The chatbot's origin check on the deploy side: a SecureString parameter with a random value made
once (ignore_changes on the value), read back with decryption and sent by the CloudFront
distribution as the custom origin header X-Otter-Origin-Verify of the `chatbot-api` origin, a
Pulumi secret everywhere. No assertion here prints the value: comparisons go through
hmac.compare_digest into a plain bool first, asserted with a message of its own (pytest's
assertion rewriting would otherwise show the arguments of a failing call)."""

import hmac
import json
import re

import pytest

import pulumi_harness as h

HOST = "chat.example.org"
REPO = "example-org/otter"
HEADER = "X-Otter-Origin-Verify"  # chatbot/cb_origin.h CB_ORIGIN_HEADER, written out
PARAM = "aws:ssm/parameter:Parameter"
DIST = "aws:cloudfront/distribution:Distribution"
# Python's secrets.token_urlsafe(32): 32 bytes in unpadded URL-safe base64, ceil(32 * 8 / 6) = 43
# characters of A-Z a-z 0-9 - _.
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module", params=["dev", "prod"])
def with_api(request):
    env = request.param
    return env, h.run(env, environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_PUBLIC_HOST": HOST})


@pytest.fixture(scope="module")
def without_api():
    return h.run("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO})


def is_secret(raw) -> bool:
    """Whether a raw input value is wrapped as a Pulumi secret on the wire."""
    return isinstance(raw, dict) and h.SECRET_SIG in raw and "value" in raw


def secret_at(raw, *path) -> bool:
    """Whether the value at |path| of the raw inputs, or one of its parents, is a secret."""
    v = raw
    for key in path:
        if is_secret(v):
            return True
        v = v[key]
    return is_secret(v)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def origin_parameter(rec, env):
    found = [p for p in rec.of(PARAM) if p.inputs["name"] == f"/otter/{env}/chatbot/origin-secret"]
    assert len(found) == 1, "one origin-secret parameter"
    return found[0]


def test_parameter_is_a_securestring_made_once(with_api):
    env, rec = with_api
    p = origin_parameter(rec, env)
    assert p.inputs["type"] == "SecureString"
    assert p.inputs["tier"] == "Standard"
    # No key of our own: the AWS-managed aws/ssm key (its key policy serves the account).
    assert "keyId" not in p.inputs
    assert p.inputs["tags"]["otter:environment"] == env
    assert p.inputs["tags"]["otter:component"] == "secrets"
    # The value: 32 random bytes as token_urlsafe makes them, a secret on the wire; kept on
    # later runs (ignore_changes) and secret in the state.
    shaped = TOKEN.fullmatch(p.inputs["value"]) is not None
    assert shaped, "the value is not token_urlsafe(32)-shaped"
    wrapped = is_secret(p.raw["value"])
    assert wrapped, "the value is not sent as a secret"
    assert p.opts["ignore_changes"] == ["value"]
    assert "value" in p.opts["additional_secret_outputs"]
    # The only SecureString; the ids stay String.
    assert [q.inputs["name"] for q in rec.of(PARAM) if q.inputs["type"] == "SecureString"] == [p.inputs["name"]]


def test_each_new_stack_gets_its_own_value(with_api):
    env, rec = with_api
    again = h.run(env, environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_PUBLIC_HOST": HOST})
    a, b = origin_parameter(rec, env).inputs["value"], origin_parameter(again, env).inputs["value"]
    equal = same(a, b)
    assert not equal, "two runs made the same value: not random"


def test_api_origin_sends_the_parameter_value(with_api):
    env, rec = with_api
    p = origin_parameter(rec, env)
    d = rec.of(DIST)
    assert len(d) == 1
    inputs, raw = d[0].inputs, d[0].raw
    origins = {o["originId"]: o for o in inputs["origins"]}
    assert set(origins) == {"web-bucket", "chatbot-api"}
    headers = origins["chatbot-api"]["customHeaders"]
    assert [x["name"] for x in headers] == [HEADER]
    equal = same(headers[0]["value"], p.inputs["value"])
    assert equal, "the header's value is not the parameter's"
    # The bucket's origin carries no header (S3 would ignore it; it must not leak there).
    assert "customHeaders" not in origins["web-bucket"] or origins["web-bucket"]["customHeaders"] == []
    # Read back from SSM with decryption (so a value put by hand reaches the distribution).
    assert "aws:ssm/getParameter:getParameter" in rec.calls
    # Secret on the wire, and in the distribution's outputs and state.
    api = [i for i, o in enumerate(inputs["origins"]) if o["originId"] == "chatbot-api"][0]
    wrapped = secret_at(raw, "origins", api, "customHeaders", 0, "value")
    assert wrapped, "the header value is not a secret"
    assert "origins" in d[0].opts["additional_secret_outputs"]


def test_no_export_holds_the_value(with_api):
    env, rec = with_api
    value = origin_parameter(rec, env).inputs["value"]
    assert rec.outputs["originSecretParameter"] == f"/otter/{env}/chatbot/origin-secret"
    leaked = value in json.dumps(rec.outputs)
    assert not leaked, "an export holds the origin secret"


def test_without_an_api_the_parameter_still_exists(without_api):
    """k8s/'s ExternalSecret asks for the key in every environment: the parameter is made even when
    the distribution has no API origin (and then no header is sent anywhere)."""
    origin_parameter(without_api, "dev")
    d = without_api.of(DIST)[0].inputs
    assert [o["originId"] for o in d["origins"]] == ["web-bucket"]
    assert all(not o.get("customHeaders") for o in d["origins"])


def test_preview_does_not_read_a_parameter_that_does_not_exist_yet():
    """A preview of a new stack knows no version of the parameter: it must not ask SSM for it
    (the read would fail with ParameterNotFound)."""
    rec = h.run("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_PUBLIC_HOST": HOST}, preview=True)
    assert "aws:ssm/getParameter:getParameter" not in rec.calls
    origin_parameter(rec, "dev")


def header_of(rec):
    d = rec.of(DIST)[0].inputs
    return [o for o in d["origins"] if o["originId"] == "chatbot-api"][0]["customHeaders"][0]["value"]


@pytest.mark.parametrize(
    "stored,sent",
    [
        # Put by hand (a rotation's first step): the old and the new value; CloudFront sends
        # the new one, the last.
        ("OLD-0123456789abcdef,NEW-0123456789abcdef", "NEW-0123456789abcdef"),
        # The rotation's last step: the new value alone, as `aws ssm put-parameter` may leave it
        # with a newline.
        ("NEW-0123456789abcdef\n", "NEW-0123456789abcdef"),
    ],
)
def test_a_value_put_by_hand_reaches_the_distribution(stored, sent):
    rec = h.run("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_PUBLIC_HOST": HOST},
                ssm={"/otter/dev/chatbot/origin-secret": stored})
    equal = same(header_of(rec), sent)
    assert equal, "the distribution does not send the parameter's last value"


def test_an_empty_last_value_stops_the_run():
    out = h.failure_of("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO, "OTTER_PUBLIC_HOST": HOST},
                       ssm={"/otter/dev/chatbot/origin-secret": "OLD-0123456789abcdef,"})
    assert "the origin secret parameter holds no value after its last comma" in out
