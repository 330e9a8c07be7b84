# SPDX-License-Identifier: Apache-2.0
"""`chatbot --history dynamodb` against moto server with IAM authentication on: every request the
chatbot makes is SigV4-checked by moto, with the credentials of an IAM user allowed only Query,
PutItem and BatchWriteItem. The table (deploy/'s schema: session_id S + seq N, TTL on expires_at) is made
and read back with boto3 as an admin user.

Checked: two exchanges give four items, one partition (session_id "anonymous#<session>"), seq 0-3,
expires_at = created_at + --session-ttl and created_at = now (within a tolerance); GET returns the
same history; the stream endpoint stores too; DELETE removes every item (scan) and then 404; a
store that refuses writes or cannot be reached gives a clean 503 with nothing stored and no
answer; a turn key already taken gives 409.
"""

import http.client
import json
import time

import pytest

from aws_peers import REGION, MotoServer, aws_env, free_port
from test_chatbot import SESSION_RE, Chatbot

TABLE = "otter-chat-it"
TTL = 600


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


def iam_user(moto, name, actions, resource):
    iam = moto.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="ddb", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def table(moto):
    key, secret = iam_user(moto, "ddb-admin", ["dynamodb:*"], "*")
    ddb = moto.client("dynamodb", key=key, secret=secret)
    desc = ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        # deploy/'s key schema (otter_infra/names.py): session_id S + seq N, TTL on expires_at.
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"},
                   {"AttributeName": "seq", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"},
                              {"AttributeName": "seq", "AttributeType": "N"}])
    ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expires_at"})
    arn = desc["TableDescription"]["TableArn"]
    return ddb, arn


def wait_log(bot, text, timeout=10):
    """The log once it holds |text| (stderr is read by a thread: a line may trail the reply)."""
    deadline = time.monotonic() + timeout
    while text not in "".join(bot.lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    log = "".join(bot.lines)
    assert text in log, log
    return log


def scan(ddb, sid):
    items = ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    mine = [i for i in items if i["session_id"]["S"] == "anonymous#" + sid]
    return sorted(mine, key=lambda i: int(i["seq"]["N"]))


@pytest.fixture
def start(moto, table):
    started = []

    def run(actions=("dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem"),
            endpoint=None, *extra):
        name = "chatbot-%d" % len(started) + "-%d" % int(time.time() * 1000)
        # Resource "*": moto's IAM check refused these calls under a policy naming the table's
        # ARN; the actions are what this test restricts.
        key, secret = iam_user(moto, name, list(actions), "*")
        env = aws_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=REGION)
        bot = Chatbot(["--history", "dynamodb", "--dynamodb-table", TABLE,
                       "--dynamodb-endpoint", endpoint or moto.endpoint,
                       "--session-ttl", str(TTL), *extra], env=env)
        started.append(bot)
        return bot

    yield run
    for b in started:
        b.stop()


def test_two_exchanges_are_kept_read_back_and_deleted(start, table):
    ddb = table[0]
    bot = start()
    assert "history: dynamodb" in "".join(bot.lines)
    before = time.time()
    resp, a1 = bot.chat("how do I deploy otter?")
    assert resp.status == 200, (a1, "".join(bot.lines))
    sid = a1["session_id"]
    assert SESSION_RE.match(sid)
    resp, a2 = bot.chat("and the SLOs?", session_id=sid)
    assert resp.status == 200, a2
    after = time.time()
    assert a2["session_id"] == sid

    resp, hist = bot.request("GET", "/api/sessions/" + sid)
    assert resp.status == 200, hist
    assert hist == {"session_id": sid, "messages": [
        {"role": "user", "content": "how do I deploy otter?"},
        {"role": "assistant", "content": a1["answer"]},
        {"role": "user", "content": "and the SLOs?"},
        {"role": "assistant", "content": a2["answer"]}]}

    items = scan(ddb, sid)
    assert [int(i["seq"]["N"]) for i in items] == [0, 1, 2, 3]
    assert [i["role"]["S"] for i in items] == ["user", "assistant", "user", "assistant"]
    assert [i["content"]["S"] for i in items] == \
        ["how do I deploy otter?", a1["answer"], "and the SLOs?", a2["answer"]]
    for i in items:
        created, expires = int(i["created_at"]["N"]), int(i["expires_at"]["N"])
        # Written between before and after (whole seconds, so 1 s of slack each side).
        assert before - 1 <= created <= after + 1
        assert expires - created == TTL
    ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"

    resp, _ = bot.request("DELETE", "/api/sessions/" + sid)
    assert resp.status == 204
    assert scan(ddb, sid) == []
    resp, body = bot.request("GET", "/api/sessions/" + sid)
    assert resp.status == 404 and body["error"]["code"] == "session_not_found"
    resp, body = bot.request("DELETE", "/api/sessions/" + sid)
    assert resp.status == 404 and body["error"]["code"] == "session_not_found"
    resp, body = bot.chat("again", session_id=sid)
    assert resp.status == 404 and body["error"]["code"] == "session_not_found"


def test_a_long_session_is_deleted_in_batches(start, table):
    """60 turns: three Query + BatchWriteItem rounds (25 + 25 + 10), then an empty Query."""
    ddb = table[0]
    bot = start()
    resp, a = bot.chat("first question")
    sid = a["session_id"]
    for k in range(29):
        resp, body = bot.chat("question %d" % k, session_id=sid)
        assert resp.status == 200, body
    assert len(scan(ddb, sid)) == 60
    resp, hist = bot.request("GET", "/api/sessions/" + sid)
    # The newest --max-turns default (40) come back, oldest first: sort keys 20..59.
    assert len(hist["messages"]) == 40
    assert hist["messages"][0] == {"role": "user", "content": "question 9"}
    resp, _ = bot.request("DELETE", "/api/sessions/" + sid)
    assert resp.status == 204
    assert scan(ddb, sid) == []


def test_the_stream_endpoint_stores_too(start, table):
    bot = start()
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=20)
    conn.request("POST", "/api/chat/stream", body=json.dumps({"message": "what is otterd?"}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    assert r.status == 200
    done = text.split("event: done\ndata: ", 1)[1].split("\n", 1)[0]
    final = json.loads(done)
    items = scan(table[0], final["session_id"])
    assert [i["content"]["S"] for i in items] == ["what is otterd?", final["answer"]]


def test_a_store_that_refuses_writes_gives_503_and_no_answer(start, table):
    bot = start(actions=("dynamodb:Query",))
    resp, body = bot.chat("how do I deploy otter? (refused)")
    assert resp.status == 503, body
    assert body == {"error": {"code": "history_unavailable", "message":
                              "the conversation history is unavailable right now: please try "
                              "again later"}}
    assert resp.getheader("Retry-After") == "1"
    log = wait_log(bot, "DynamoDB PutItem: HTTP 4")
    assert "AccessDenied" in log, log
    # Nothing was stored.
    items = table[0].scan(TableName=TABLE, ConsistentRead=True)["Items"]
    assert all(i["content"]["S"] != "how do I deploy otter? (refused)" for i in items)
    # The stream endpoint: the answer streamed, then an error event instead of done.
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=20)
    conn.request("POST", "/api/chat/stream", body=json.dumps({"message": "streamed, refused"}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    assert "event: delta" in text and "event: done" not in text
    assert text.endswith('event: error\ndata: {"error":{"code":"history_unavailable","message":'
                         '"the conversation history is unavailable right now: please try again '
                         'later"}}\n\n'), text[-300:]
    items = table[0].scan(TableName=TABLE, ConsistentRead=True)["Items"]
    assert all(i["content"]["S"] != "streamed, refused" for i in items)


def test_an_unreachable_store_gives_503(start):
    dead = "http://127.0.0.1:%d" % free_port()
    bot = start(endpoint=dead)
    t0 = time.monotonic()
    resp, body = bot.chat("hello?")
    assert resp.status == 503, body
    assert body["error"]["code"] == "history_unavailable"
    resp, body = bot.request("GET", "/api/sessions/" + "a" * 32)
    assert resp.status == 503 and body["error"]["code"] == "history_unavailable"
    resp, body = bot.request("DELETE", "/api/sessions/" + "a" * 32)
    assert resp.status == 503 and body["error"]["code"] == "history_unavailable"
    resp, body = bot.chat("hello?", session_id="b" * 32)
    assert resp.status == 503 and body["error"]["code"] == "history_unavailable"
    assert time.monotonic() - t0 < 60
    wait_log(bot, "3 attempts")
    # The service itself is fine.
    assert bot.request("GET", "/readyz")[0].status == 200


def test_a_taken_turn_key_is_a_conflict(start, table):
    """An expired item the table has not removed yet holds the key the next turn wants: the
    conditional PutItem refuses to overwrite it and the client is told to send again."""
    ddb = table[0]
    bot = start()
    resp, a = bot.chat("first")
    sid = a["session_id"]
    now = int(time.time())
    ddb.put_item(TableName=TABLE, Item={
        "session_id": {"S": "anonymous#" + sid}, "seq": {"N": "2"}, "role": {"S": "user"},
        "content": {"S": "stale"}, "created_at": {"N": str(now - 100)},
        "expires_at": {"N": str(now - 10)}})
    # Reads skip the expired item (expires_at <= now): the next turn's key is 2, taken.
    resp, hist = bot.request("GET", "/api/sessions/" + sid)
    assert len(hist["messages"]) == 2
    resp, body = bot.chat("second", session_id=sid)
    assert resp.status == 409, body
    assert body["error"]["code"] == "conflict"
    assert [i["content"]["S"] for i in scan(ddb, sid)] == ["first", a["answer"], "stale"]


def test_a_client_leaving_cancels_the_store_call(start):
    """DynamoDB that accepts connections and never answers: a client that gives up and closes
    has its calls cancelled (logged), the service stays ready and exits cleanly."""
    import socket
    import threading
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    held = []

    def accept():
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            held.append(c)  # read nothing, answer nothing

    threading.Thread(target=accept, daemon=True).start()
    try:
        bot = start(endpoint="http://127.0.0.1:%d" % lsock.getsockname()[1])
        for path, method, body in [("/api/chat", "POST", {"message": "hello?"}),
                                   ("/api/sessions/" + "c" * 32, "GET", None),
                                   ("/api/sessions/" + "c" * 32, "DELETE", None)]:
            conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=1)
            conn.request(method, path, body=json.dumps(body) if body else None,
                         headers={"Content-Type": "application/json"})
            with pytest.raises(OSError):
                conn.getresponse()  # times out: the store never answers
            conn.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                "".join(bot.lines).count("history calls withdrawn") < 3:
            time.sleep(0.1)
        assert "".join(bot.lines).count("history calls withdrawn") == 3, "".join(bot.lines)
        assert bot.request("GET", "/readyz")[0].status == 200
    finally:
        lsock.close()
        for c in held:
            c.close()
