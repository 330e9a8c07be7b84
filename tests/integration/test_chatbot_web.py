# SPDX-License-Identifier: Apache-2.0
"""The chat page in a real browser: Playwright for Python driving Debian's chromium
(/usr/bin/chromium; never a downloaded browser) against the chatbot binary ($CHATBOT) on
127.0.0.1:0.

What is checked: the page and its files are served with their types and the page's CSP; a
question typed with the keyboard (Shift+Enter is a newline, Enter sends) is answered, streamed
into the page when the server streams, with its sources; the session id is kept in
sessionStorage and the history comes back on reload; "New conversation" deletes it on the
server; an answer holding HTML is shown as text and runs nothing (a test knowledge base through
--kb-dir makes the local provider return it); and the error state says what happened for HTTP
errors (400 / 429 / 500, forced with route interception), a network failure, a stream cut short
and an error event.
"""

import http.client
import json
import os

import pytest

from test_chatbot import REPO_ROOT, SESSION_RE, TIME_SCALE, Chatbot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WEB_DIR = REPO_ROOT / "chatbot" / "web"
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
WAIT_MS = int(15_000 * TIME_SCALE)

# The answer of the test knowledge base: HTML and a javascript: link that must stay inert.
EVIL_KB = """# Injection drill

The zebrafish marker: <img src=x onerror="window.__pwned=1"> and
<script>window.__pwned=2</script> and [a link](javascript:window.__pwned=3) and
[the docs](https://example.org/otter) in **bold**.
"""

# Records, in the page, the assistant's text each time it changes (before any page script runs).
RECORD_UPDATES = """
window.__updates = [];
new MutationObserver(() => {
  const all = document.querySelectorAll('.msg.assistant .body');
  if (all.length === 0) return;
  const t = all[all.length - 1].textContent;
  const u = window.__updates;
  if (u.length === 0 || u[u.length - 1] !== t) u.push(t);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("chromium not found at %s (apt-get install chromium)" % CHROMIUM)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def bots():
    started = []

    def start(*args):
        c = Chatbot(args)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


class Page:
    """A fresh browser context on the chatbot's page, with the page's console and errors kept."""

    def __init__(self, browser, bot):
        self.ctx = browser.new_context()
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors = []
        self.console = []
        self.dialogs = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.add_init_script(RECORD_UPDATES)
        self.url = "http://127.0.0.1:%d/" % bot.port

    def open(self):
        self.page.goto(self.url)
        # (Locator waits, not wait_for_function: the page's CSP forbids the eval it needs.)
        expect(self.page.locator("#message")).to_be_focused(timeout=WAIT_MS)
        return self.page

    def ask(self, text):
        """Types |text| with the keyboard (its newlines as Shift+Enter) and presses Enter."""
        p = self.page
        for i, part in enumerate(text.split("\n")):
            if i:
                p.keyboard.press("Shift+Enter")
            p.keyboard.type(part)
        p.keyboard.press("Enter")

    def wait_answer(self, n=1):
        """Waits until |n| answers have their sources or meta line (the answer is complete)."""
        self.page.locator(".msg.assistant .meta").nth(n - 1).wait_for()
        return self.page.locator(".msg.assistant").nth(n - 1)

    def wait_error(self):
        self.page.wait_for_selector("#error:not([hidden])")
        return self.page.inner_text("#error")

    def close(self):
        self.ctx.close()
        assert self.errors == [], self.errors


@pytest.fixture
def pages(browser):
    opened = []

    def open_page(bot):
        pg = Page(browser, bot)
        opened.append(pg)
        return pg

    yield open_page
    for pg in opened:
        pg.close()


def has_stream(bot):
    """Whether the server has POST /api/chat/stream (404 not_found: not built in yet)."""
    resp, body = bot.request("POST", "/api/chat/stream", {"message": "ping"})
    return not (resp.status == 404 and body and body["error"]["code"] == "not_found")


def test_page_and_files_are_served_with_types_and_csp(bots):
    bot = bots()
    want = {"/": ("index.html", "text/html; charset=utf-8"),
            "/index.html": ("index.html", "text/html; charset=utf-8"),
            "/app.js": ("app.js", "text/javascript; charset=utf-8"),
            "/app.css": ("app.css", "text/css; charset=utf-8")}
    for path, (name, ctype) in want.items():
        conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10 * TIME_SCALE)
        conn.request("GET", path)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        assert r.status == 200, path
        assert data == (WEB_DIR / name).read_bytes(), path
        assert r.getheader("Content-Type") == ctype
        assert r.getheader("Content-Security-Policy") == PAGE_CSP
        assert "unsafe" not in r.getheader("Content-Security-Policy")
        assert r.getheader("X-Content-Type-Options") == "nosniff"
        assert r.getheader("X-Frame-Options") == "DENY"
        assert r.getheader("Referrer-Policy") == "no-referrer"
        assert r.getheader("Access-Control-Allow-Origin") is None
    resp, body = bot.request("POST", "/app.js", {"message": "x"})
    assert resp.status == 405 and resp.getheader("Allow") == "GET, HEAD"
    assert body["error"]["code"] == "method_not_allowed"
    resp, body = bot.request("GET", "/nothing.js")
    assert resp.status == 404 and body["error"]["code"] == "not_found"
    # The API keeps its own, stricter CSP.
    resp, _ = bot.request("GET", "/healthz")
    assert resp.getheader("Content-Security-Policy").startswith("default-src 'none';")


def test_keyboard_question_streams_the_answer_with_sources(bots, pages, tmp_path):
    bot = bots()
    assert has_stream(bot)
    pg = pages(bot)
    # Loopback delivers the whole stream in one read; a slow link (32 KB/s, applied by chromium
    # to what it receives) makes the browser see it in pieces, as a real network would.
    cdp = pg.ctx.new_cdp_session(pg.page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": 32768, "uploadThroughput": -1})
    p = pg.open()
    assert p.get_attribute("label[for=message]", "for") == "message"
    # Shift+Enter is a newline, not a send.
    p.keyboard.type("first line")
    p.keyboard.press("Shift+Enter")
    p.keyboard.type("second")
    assert p.input_value("#message") == "first line\nsecond"
    assert p.locator(".msg").count() == 0
    p.fill("#message", "")
    pg.ask("Why does otterd answer 503\nwith Retry-After?")
    li = pg.wait_answer()
    text = li.locator(".body").inner_text()
    assert "Retry-After" in text
    # The local provider answers "## section" headings: rendered as h4 (## + 2), not as text.
    assert li.locator(".body h4").count() >= 1
    assert "##" not in text
    sources = li.locator(".sources li").all_inner_texts()
    assert 1 <= len(sources) <= 3
    assert all(".md \u2014 " in s for s in sources), sources
    assert "troubleshooting.md \u2014 Requests refused with 503 or UNAVAILABLE" in sources
    assert li.locator(".meta").inner_text().startswith("Model: local-bm25")
    # The user's message is shown as typed, newline included.
    assert p.locator(".msg.user .body").inner_text() == "Why does otterd answer 503\nwith Retry-After?"
    updates = p.evaluate("window.__updates")
    assert updates, "the answer never appeared"
    # Streamed: the answer grew over at least two updates before the last one.
    grown = [u for u in updates if u]
    print("updates seen:", len(grown))
    assert len(grown) >= 3, grown
    for a, b in zip(grown[:-1], grown[1:-1]):
        assert len(b) > len(a)
    # Focus is back in the question box, which is empty; the status says the answer came.
    assert p.evaluate("document.activeElement.id") == "message"
    assert p.input_value("#message") == ""
    assert p.inner_text("#status") == "Answer received."
    assert p.get_attribute(".msg.assistant", "aria-live") == "polite"
    assert p.get_attribute(".msg.assistant", "aria-busy") is None
    shot = tmp_path / "chatbot-page.png"
    p.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print("screenshot:", shot)


def test_session_kept_history_reloaded_and_new_conversation_deletes(bots, pages):
    bot = bots()
    pg = pages(bot)
    p = pg.open()
    pg.ask("how do I deploy otter?")
    pg.wait_answer(1)
    pg.ask("what about SLOs?")
    pg.wait_answer(2)
    sid = p.evaluate("sessionStorage.getItem('otter.chatbot.session')")
    assert SESSION_RE.match(sid)
    resp, hist = bot.request("GET", "/api/sessions/" + sid)
    assert resp.status == 200
    assert [m["role"] for m in hist["messages"]] == ["user", "assistant", "user", "assistant"]
    shown = p.locator(".msg .body").all_inner_texts()
    # Reload: the page asks GET /api/sessions/{id} and shows the same four turns.
    p.reload()
    expect(p.locator(".msg")).to_have_count(4, timeout=WAIT_MS)
    assert p.locator(".msg .body").all_inner_texts() == shown
    assert p.locator(".msg.user .body").all_inner_texts() == \
        ["how do I deploy otter?", "what about SLOs?"]
    # New conversation: DELETE on the server, the view and the stored id cleared, focus back.
    p.click("#new-conversation")
    expect(p.locator(".msg")).to_have_count(0, timeout=WAIT_MS)
    expect(p.locator("#message")).to_be_focused(timeout=WAIT_MS)
    assert p.evaluate("sessionStorage.getItem('otter.chatbot.session')") is None
    assert p.inner_text("#status") == "New conversation started."
    resp, body = bot.request("GET", "/api/sessions/" + sid)
    assert resp.status == 404 and body["error"]["code"] == "session_not_found"
    # A stored id the server no longer knows: the page starts afresh and says so.
    p.evaluate("sessionStorage.setItem('otter.chatbot.session', '%s')" % sid)
    p.reload()
    expect(p.locator("#status")).to_contain_text("expired", timeout=WAIT_MS)
    assert p.evaluate("sessionStorage.getItem('otter.chatbot.session')") is None
    assert p.is_hidden("#error")
    # A stored id that ends while the page is open: the send is refused with the API's 404, the
    # id is dropped, and sending again starts a new conversation.
    p.evaluate("sessionStorage.setItem('otter.chatbot.session', '%s')" % sid)
    pg.ask("still there?")
    assert pg.wait_error() == (
        "The server answered 404 Not Found: no such session: it expired or was deleted; omit "
        "session_id to start a new one (session_not_found). Send again to start a new "
        "conversation.")
    assert p.evaluate("sessionStorage.getItem('otter.chatbot.session')") is None
    p.keyboard.press("Enter")
    pg.wait_answer()
    new_sid = p.evaluate("sessionStorage.getItem('otter.chatbot.session')")
    assert SESSION_RE.match(new_sid) and new_sid != sid


def test_html_in_an_answer_is_text_and_runs_nothing(bots, pages, tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "drill.md").write_text(EVIL_KB)
    bot = bots("--kb-dir", str(kb))
    pg = pages(bot)
    p = pg.open()
    pg.ask("zebrafish marker")
    li = pg.wait_answer()
    body = li.locator(".body")
    text = body.inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in text
    assert "<script>window.__pwned=2</script>" in text
    assert body.locator("img, script, iframe, object").count() == 0
    assert p.locator("img, iframe, object").count() == 0
    assert p.locator("script").count() == 1  # app.js only
    # The javascript: link is its label only; the https one a real link, opened safely.
    links = body.locator("a")
    assert links.count() == 1
    assert links.get_attribute("href") == "https://example.org/otter"
    assert links.get_attribute("rel") == "noopener noreferrer"
    assert links.inner_text() == "the docs"
    assert "a link" in text and "javascript:" not in text
    assert body.locator("strong").inner_text() == "bold"
    assert li.locator(".sources li").all_inner_texts() == ["drill.md \u2014 Injection drill"]
    p.wait_for_timeout(300)
    assert p.evaluate("window.__pwned") is None
    assert pg.dialogs == []
    # The history path renders the same text the same way.
    p.reload()
    expect(p.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    assert p.locator(".msg.assistant .body").inner_text() == text
    assert p.locator("img, iframe, object").count() == 0
    assert p.evaluate("window.__pwned") is None


def api_error(status, code, message):
    return {"status": status, "content_type": "application/json",
            "body": json.dumps({"error": {"code": code, "message": message}})}


@pytest.mark.parametrize("status,reason,code,message", [
    (400, "Bad Request", "invalid_request", "message: must be at most 4000 bytes"),
    (429, "Too Many Requests", "rate_limited", "too many requests: retry in 12 s"),
    (500, "Internal Server Error", "internal", "the chatbot could not answer: please try again"),
])
def test_http_errors_say_what_happened(bots, pages, status, reason, code, message):
    bot = bots()
    pg = pages(bot)
    p = pg.open()
    seen = []

    def fail(route):
        seen.append(json.loads(route.request.post_data))
        route.fulfill(**api_error(status, code, message))

    p.route("**/api/chat/stream", fail)
    p.route("**/api/chat", fail)
    pg.ask("anything")
    err = pg.wait_error()
    assert err == "The server answered %d %s: %s (%s)" % (status, reason, message, code)
    assert seen == [{"message": "anything"}]
    assert p.get_attribute("#error", "role") == "alert"
    # Nothing was answered or stored; the question stays in the box for another try.
    assert p.locator(".msg.assistant").count() == 0
    assert p.input_value("#message") == "anything"
    assert p.evaluate("sessionStorage.getItem('otter.chatbot.session')") is None
    assert p.evaluate("document.activeElement.id") == "message"
    # The next try succeeds (interception removed) and clears the error.
    p.unroute("**/api/chat/stream")
    p.unroute("**/api/chat")
    p.keyboard.press("Enter")
    pg.wait_answer()
    assert p.is_hidden("#error")


def test_network_failure_and_cut_streams_are_explained(bots, pages):
    bot = bots()
    pg = pages(bot)
    p = pg.open()

    p.route("**/api/chat/stream", lambda route: route.abort("internetdisconnected"))
    pg.ask("first")
    err = pg.wait_error()
    assert err.startswith("Could not reach the chatbot (network error: ")
    p.unroute("**/api/chat/stream")

    # A stream that ends after one delta, without "done": what came is kept, and said to be cut.
    p.route("**/api/chat/stream", lambda route: route.fulfill(
        status=200, content_type="text/event-stream",
        body='event: delta\ndata: {"text": "Partial *answ"}\n\n'))
    p.fill("#message", "second")
    p.keyboard.press("Enter")
    expect(p.locator("#error")).to_contain_text("early", timeout=WAIT_MS)
    assert pg.wait_error() == ("The answer stopped before it was complete: the server closed "
                               "the stream early. What arrived is shown above.")
    assert p.locator(".msg.assistant .body").last.inner_text() == "Partial *answ"
    p.unroute("**/api/chat/stream")

    # An error event from the server (the provider failed mid-answer).
    p.route("**/api/chat/stream", lambda route: route.fulfill(
        status=200, content_type="text/event-stream",
        body=('event: delta\ndata: {"text": "Starting"}\n\n'
              'event: error\ndata: {"error": {"code": "provider_error", '
              '"message": "the model is overloaded: try again"}}\n\n')))
    p.fill("#message", "third")
    p.keyboard.press("Enter")
    expect(p.locator("#error")).to_contain_text("overloaded", timeout=WAIT_MS)
    assert pg.wait_error() == ("The answer failed: the model is overloaded: try again "
                               "(provider_error)")
    assert p.evaluate("sessionStorage.getItem('otter.chatbot.session')") is None


def test_sse_parsing_streams_deltas_and_uses_done(bots, pages):
    """CRLF and LF lines, a comment and several events in one body: the deltas add up, then the
    done event's answer, sources and session id are used. (The body arrives in one piece, so the
    page may draw once: growth over several reads is checked against the real server above.)"""
    bot = bots()
    pg = pages(bot)
    p = pg.open()
    sid = "0123456789abcdef0123456789abcdef"
    done = {"session_id": sid, "answer": "Hello **world**!", "model": "test-model",
            "sources": [{"document": "a.md", "section": "A", "score": 1.5}],
            "usage": {"input_tokens": 3, "output_tokens": 4}}
    body = (": keep-alive\r\n\r\n"
            'event: delta\r\ndata: {"text": "Hello "}\r\n\r\n'
            'event: delta\ndata: {"text": "**wor"}\n\n'
            'event: delta\ndata: {"text": "ld**!"}\n\n'
            "event: done\ndata: " + json.dumps(done) + "\n\n")
    p.route("**/api/chat/stream", lambda route: route.fulfill(
        status=200, content_type="text/event-stream", body=body))
    pg.ask("hi")
    li = pg.wait_answer()
    # "Hello " + "**wor" + "ld**!" = "Hello **world**!": the bold closed, shown "Hello world!".
    assert p.evaluate("window.__updates")[-1] == "Hello world!"
    assert li.locator(".body").inner_text() == "Hello world!"
    assert li.locator(".body strong").inner_text() == "world"
    assert li.locator(".sources li").all_inner_texts() == ["a.md \u2014 A"]
    assert li.locator(".meta").inner_text() == "Model: test-model \u00b7 3 tokens in, 4 out"
    assert p.evaluate("sessionStorage.getItem('otter.chatbot.session')") == sid


def test_markdown_renderer_builds_the_expected_tree(bots, pages):
    bot = bots()
    pg = pages(bot)
    p = pg.open()
    src = ("# Title\n\nSome `code <b>` and *em* and __strong__ and snake_case_name.\n"
           "- one\n- two [x](http://a.example/?q=1&r=2)\n\n"
           "3. three\n4. four\n\n```sh\necho '<tag>'\n```\n"
           "> quoted\n\n[bad](data:text/html,hi) \\*not em\\*")
    tree = p.evaluate("""(src) => {
      const walk = (n) => n.nodeType === 3 ? n.data :
        [n.nodeName.toLowerCase(),
         ...(n.getAttribute && n.getAttribute('href') ? [{href: n.getAttribute('href')}] : []),
         ...(n.nodeName === 'OL' && n.start !== 1 ? [{start: n.start}] : []),
         ...Array.from(n.childNodes).map(walk)];
      const f = window.OtterChat.renderMarkdown(src);
      return Array.from(f.childNodes).map(walk);
    }""", src)
    assert tree == [
        ["h3", "Title"],
        ["p", "Some ", ["code", "code <b>"], " and ", ["em", "em"], " and ",
         ["strong", "strong"], " and snake_case_name."],
        ["ul", ["li", "one"], ["li", "two ", ["a", {"href": "http://a.example/?q=1&r=2"}, "x"]]],
        ["ol", {"start": 3}, ["li", "three"], ["li", "four"]],
        ["pre", ["code", "echo '<tag>'"]],
        ["blockquote", ["p", "quoted"]],
        ["p", "bad", " *not em*"],
    ]
