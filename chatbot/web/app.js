// SPDX-License-Identifier: Apache-2.0
// The chatbot's page: plain JavaScript, no build step, no external resource.
//
// Safety rule: text that comes from the model or the API is only ever put into the page through
// document.createTextNode / textContent and elements made with createElement (the Markdown
// renderer below). Nothing here assigns HTML markup, so an answer cannot inject markup or script.
"use strict";

(function () {
  const SESSION_KEY = "otter.chatbot.session";
  const API_CHAT = "api/chat";
  const API_STREAM = "api/chat/stream";
  const API_SESSIONS = "api/sessions/";

  // ---- Markdown -----------------------------------------------------------------------------
  // A small CommonMark subset: ATX headings, paragraphs, bullet and numbered lists (one level),
  // fenced code blocks, block quotes; inline code spans, **strong**, *emphasis*, backslash
  // escapes and [links](http(s) URLs only). Anything else is shown as the text it is.

  const FENCE_RE = /^ {0,3}(```+|~~~+)\s*([^`\s]*)/;
  const HEADING_RE = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
  const BULLET_RE = /^ {0,3}[-*+]\s+(.*)$/;
  const ORDERED_RE = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
  const QUOTE_RE = /^ {0,3}>\s?(.*)$/;
  const RULE_RE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function isBlank(line) {
    return /^\s*$/.test(line);
  }

  function startsBlock(line) {
    return FENCE_RE.test(line) || HEADING_RE.test(line) || BULLET_RE.test(line) ||
      ORDERED_RE.test(line) || QUOTE_RE.test(line) || RULE_RE.test(line);
  }

  // Renders |src| (Markdown) into a DocumentFragment.
  function renderMarkdown(src) {
    const frag = document.createDocumentFragment();
    renderBlocks(String(src).replace(/\r\n?/g, "\n").split("\n"), frag, 0);
    return frag;
  }

  function renderBlocks(lines, parent, depth) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if (isBlank(line)) {
        i++;
      } else if ((m = FENCE_RE.exec(line))) {
        const fence = m[1];
        const body = [];
        i++;
        while (i < lines.length && !lines[i].trim().startsWith(fence)) {
          body.push(lines[i]);
          i++;
        }
        i++; // the closing fence (or the end: an unclosed block runs to the end)
        const pre = el("pre");
        const code = el("code", null, body.join("\n"));
        if (m[2]) code.dataset.lang = m[2];
        pre.appendChild(code);
        parent.appendChild(pre);
      } else if ((m = HEADING_RE.exec(line))) {
        // The page has h1 (title) and h2 (conversation); an answer's "#" is h3, down to h6.
        const level = Math.min(6, m[1].length + 2);
        const h = el("h" + level);
        appendInline(h, m[2] || "");
        parent.appendChild(h);
        i++;
      } else if (RULE_RE.test(line)) {
        parent.appendChild(el("hr"));
        i++;
      } else if (QUOTE_RE.test(line) && depth < 4) {
        const inner = [];
        while (i < lines.length && (m = QUOTE_RE.exec(lines[i]))) {
          inner.push(m[1]);
          i++;
        }
        const q = el("blockquote");
        renderBlocks(inner, q, depth + 1);
        parent.appendChild(q);
      } else if (BULLET_RE.test(line) || ORDERED_RE.test(line)) {
        const ordered = !BULLET_RE.test(line);
        const re = ordered ? ORDERED_RE : BULLET_RE;
        const list = el(ordered ? "ol" : "ul");
        if (ordered) {
          const start = parseInt(ORDERED_RE.exec(line)[1], 10);
          if (start !== 1) list.start = start;
        }
        let item = null;
        while (i < lines.length) {
          const l = lines[i];
          if ((m = re.exec(l))) {
            item = [ordered ? m[2] : m[1]];
            list.appendChild(el("li"))._md = item;
          } else if (!isBlank(l) && /^\s+\S/.test(l) && item) {
            item.push(l.trim()); // an indented continuation line
          } else if (!isBlank(l) && !startsBlock(l) && item) {
            item.push(l.trim()); // a lazy continuation line
          } else {
            break;
          }
          i++;
        }
        for (const li of list.children) {
          appendInline(li, li._md.join("\n"));
          delete li._md;
        }
        parent.appendChild(list);
      } else {
        const para = [];
        while (i < lines.length && !isBlank(lines[i]) && (para.length === 0 ||
               !startsBlock(lines[i]))) {
          para.push(lines[i].trim());
          i++;
        }
        const p = el("p");
        appendInline(p, para.join("\n"));
        parent.appendChild(p);
      }
    }
  }

  function safeHref(raw) {
    const s = raw.trim().replace(/^<(.*)>$/, "$1");
    if (!/^https?:\/\//i.test(s)) return null;
    try {
      const u = new URL(s);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

  // Appends the inline Markdown of |s| to |parent| as text nodes and elements.
  function appendInline(parent, s, depth) {
    depth = depth || 0;
    let text = "";
    const flush = () => {
      if (text) {
        parent.appendChild(document.createTextNode(text));
        text = "";
      }
    };
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === "\\" && i + 1 < s.length && PUNCT.includes(s[i + 1])) {
        text += s[i + 1];
        i += 2;
      } else if (c === "\n") {
        text += " ";
        i++;
      } else if (c === "`") {
        let n = 1;
        while (s[i + n] === "`") n++;
        const ticks = "`".repeat(n);
        let j = s.indexOf(ticks, i + n);
        while (j !== -1 && s[j + n] === "`") {
          // a longer run does not close this one
          let k = j;
          while (s[k] === "`") k++;
          j = s.indexOf(ticks, k);
        }
        if (j === -1) {
          text += ticks;
          i += n;
        } else {
          let code = s.slice(i + n, j).replace(/\n/g, " ");
          if (code.length > 1 && code[0] === " " && code[code.length - 1] === " " &&
              code.trim() !== "") {
            code = code.slice(1, -1);
          }
          flush();
          parent.appendChild(el("code", null, code));
          i = j + n;
        }
      } else if (c === "[" && depth < 8) {
        const close = findClose(s, i);
        const href = close !== -1 && s[close + 1] === "(" ? s.indexOf(")", close + 2) : -1;
        if (href === -1) {
          text += c;
          i++;
          continue;
        }
        const label = s.slice(i + 1, close);
        const target = s.slice(close + 2, href).trim().split(/\s+/)[0] || "";
        const url = safeHref(target);
        flush();
        if (url) {
          const a = el("a");
          a.href = url;
          a.rel = "noopener noreferrer";
          a.target = "_blank";
          appendInline(a, label, depth + 1);
          parent.appendChild(a);
        } else {
          // not http(s): the label only, never a link
          appendInline(parent, label, depth + 1);
        }
        i = href + 1;
      } else if ((c === "*" || c === "_") && depth < 8) {
        const dbl = s[i + 1] === c;
        const delim = dbl ? c + c : c;
        const prev = i > 0 ? s[i - 1] : " ";
        const next = s[i + delim.length];
        const intraword = c === "_" && /[A-Za-z0-9]/.test(prev);
        let j = next === undefined || /\s/.test(next) || intraword ? -1 :
          findDelim(s, i + delim.length, delim);
        if (j === -1) {
          text += delim;
          i += delim.length;
          continue;
        }
        flush();
        const e = el(dbl ? "strong" : "em");
        appendInline(e, s.slice(i + delim.length, j), depth + 1);
        parent.appendChild(e);
        i = j + delim.length;
      } else {
        text += c;
        i++;
      }
    }
    flush();
  }

  // The ']' closing the '[' at |i| (brackets may nest), or -1.
  function findClose(s, i) {
    let level = 0;
    for (let k = i; k < s.length; k++) {
      if (s[k] === "\\") {
        k++;
      } else if (s[k] === "[") {
        level++;
      } else if (s[k] === "]") {
        level--;
        if (level === 0) return k;
      } else if (s[k] === "`") {
        return -1; // keep it simple: no code spans inside link labels
      }
    }
    return -1;
  }

  // The closing |delim| after |from| (not preceded by a space, and for a single delimiter not
  // part of a double one), or -1.
  function findDelim(s, from, delim) {
    let k = from + 1;
    while (k < s.length) {
      const j = s.indexOf(delim, k);
      if (j === -1) return -1;
      const single = delim.length === 1;
      const doubled = single && (s[j + 1] === delim || s[j - 1] === delim);
      const after = s[j + delim.length];
      const closesWord = !(delim[0] === "_" && after !== undefined && /[A-Za-z0-9]/.test(after));
      if (!/\s/.test(s[j - 1]) && !doubled && closesWord) return j;
      k = j + (doubled ? 2 : 1);
    }
    return -1;
  }

  // ---- Server-sent events -------------------------------------------------------------------

  // Feeds decoded text into an SSE parser; |onEvent(name, data)| runs per complete event.
  function sseParser(onEvent) {
    let buf = "";
    let name = "";
    let data = [];
    function line(l) {
      if (l === "") {
        if (data.length > 0 || name) onEvent(name || "message", data.join("\n"));
        name = "";
        data = [];
        return;
      }
      if (l[0] === ":") return; // a comment (keep-alive)
      const colon = l.indexOf(":");
      const field = colon === -1 ? l : l.slice(0, colon);
      let value = colon === -1 ? "" : l.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    return {
      push(chunk) {
        buf += chunk;
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) !== -1) {
          const len = buf[nl] === "\r" && buf[nl + 1] === "\n" ? 2 : 1;
          if (buf[nl] === "\r" && nl + 1 === buf.length) break; // maybe a split CRLF
          line(buf.slice(0, nl));
          buf = buf.slice(nl + len);
        }
      },
    };
  }

  // ---- The page -----------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const form = $("ask");
  const input = $("message");
  const send = $("send");
  const conv = $("conversation");
  const empty = $("empty");
  const errorBox = $("error");
  const statusBox = $("status");
  const newButton = $("new-conversation");
  let busy = false;

  function sessionId() {
    try {
      return sessionStorage.getItem(SESSION_KEY);
    } catch (e) {
      return null;
    }
  }

  function setSessionId(id) {
    try {
      if (id) sessionStorage.setItem(SESSION_KEY, id);
      else sessionStorage.removeItem(SESSION_KEY);
    } catch (e) {
      // storage refused (private mode): the conversation lasts as long as the page
    }
  }

  function showError(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function setStatus(msg) {
    statusBox.textContent = msg;
  }

  function addMessage(role, text) {
    empty.hidden = true;
    const li = el("li", "msg " + role);
    li.appendChild(el("p", "who", role === "user" ? "You" : "Assistant"));
    const body = el("div", "body");
    if (role === "user") body.textContent = text;
    else body.appendChild(renderMarkdown(text));
    li.appendChild(body);
    conv.appendChild(li);
    return li;
  }

  function setAnswer(li, text) {
    li.querySelector(".body").replaceChildren(renderMarkdown(text));
  }

  function addSources(li, sources, model, usage) {
    if (Array.isArray(sources) && sources.length > 0) {
      const box = el("div", "sources");
      box.appendChild(el("h3", null, "Sources"));
      const ul = el("ul");
      for (const s of sources) {
        const doc = s && typeof s.document === "string" ? s.document : "?";
        const sec = s && typeof s.section === "string" ? s.section : "";
        ul.appendChild(el("li", null, sec ? doc + " \u2014 " + sec : doc));
      }
      box.appendChild(ul);
      li.appendChild(box);
    }
    if (typeof model === "string" && model) {
      let meta = "Model: " + model;
      if (usage && Number.isFinite(usage.input_tokens) && Number.isFinite(usage.output_tokens)) {
        meta += " \u00b7 " + usage.input_tokens + " tokens in, " + usage.output_tokens + " out";
      }
      li.appendChild(el("p", "meta", meta));
    }
  }

  // An HTTP error as a sentence: the status and the API's own message when it sent one.
  async function httpError(resp) {
    let detail = "";
    try {
      const body = await resp.json();
      if (body && body.error && typeof body.error.message === "string") {
        detail = body.error.message;
        if (typeof body.error.code === "string") detail += " (" + body.error.code + ")";
      }
    } catch (e) {
      // not JSON: the status says it all
    }
    const err = new Error("The server answered " + resp.status +
      (resp.statusText ? " " + resp.statusText : "") + (detail ? ": " + detail : "."));
    err.status = resp.status;
    err.code = detail;
    return err;
  }

  function networkError(e) {
    const err = new Error("Could not reach the chatbot (network error: " +
      (e && e.message ? e.message : String(e)) + "). Check your connection and try again.");
    err.network = true;
    return err;
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream"},
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    }).catch((e) => {
      throw networkError(e);
    });
  }

  // Asks |message|; streams the answer into |li|. Resolves to the final {session_id, answer,
  // sources, model, usage}; rejects with an Error whose message is shown to the user.
  async function ask(message, li) {
    const body = {message: message};
    const sid = sessionId();
    if (sid) body.session_id = sid;
    let resp = await postJson(API_STREAM, body);
    if (resp.status === 404) {
      // A server without streaming answers 404 not_found for the route: use the plain API.
      const err = await httpError(resp);
      if (!/\(not_found\)$/.test(err.code || "")) throw err;
      resp = await postJson(API_CHAT, body);
    }
    if (!resp.ok) throw await httpError(resp);
    const type = resp.headers.get("Content-Type") || "";
    if (!type.startsWith("text/event-stream")) {
      let result;
      try {
        result = await resp.json();
      } catch (e) {
        throw new Error("The server's answer could not be read (" + e.message + ").");
      }
      setAnswer(li, typeof result.answer === "string" ? result.answer : "");
      return result;
    }
    let text = "";
    let final = null;
    let failure = null;
    const parser = sseParser((name, data) => {
      let obj;
      try {
        obj = JSON.parse(data);
      } catch (e) {
        failure = failure || new Error("The server sent an event that could not be read.");
        return;
      }
      if (name === "delta" && obj && typeof obj.text === "string") {
        text += obj.text;
        setAnswer(li, text);
      } else if (name === "done") {
        final = obj;
      } else if (name === "error") {
        const e = obj && obj.error ? obj.error : {};
        failure = new Error("The answer failed: " + (e.message || "unknown error") +
          (e.code ? " (" + e.code + ")" : ""));
      }
    });
    const reader = resp.body.getReader();
    const decoder = new TextDecoder("utf-8");
    try {
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, {stream: true}));
        if (final || failure) break;
      }
      parser.push(decoder.decode() + "\n\n");
    } catch (e) {
      if (!final && !failure) {
        throw new Error("The connection broke while the answer was streaming (" +
          (e && e.message ? e.message : String(e)) + "); what arrived is shown above.");
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    if (failure) throw failure;
    if (!final) {
      throw new Error("The answer stopped before it was complete: the server closed the " +
        "stream early. What arrived is shown above.");
    }
    if (typeof final.answer === "string") setAnswer(li, final.answer);
    return final;
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    if (busy) return;
    const message = input.value;
    if (message.trim() === "") {
      showError("Type a question first.");
      input.focus();
      return;
    }
    busy = true;
    clearError();
    send.disabled = true;
    input.readOnly = true;
    input.setAttribute("aria-busy", "true");
    addMessage("user", message);
    const li = addMessage("assistant", "");
    li.setAttribute("aria-live", "polite");
    li.setAttribute("aria-busy", "true");
    li.scrollIntoView({block: "nearest"});
    setStatus("Answering\u2026");
    try {
      const result = await ask(message, li);
      if (result && typeof result.session_id === "string") setSessionId(result.session_id);
      addSources(li, result.sources, result.model, result.usage);
      input.value = "";
      setStatus("Answer received.");
    } catch (e) {
      li.classList.add("failed");
      if (!li.querySelector(".body").textContent) li.remove();
      if (e.status === 404 && /session_not_found/.test(e.code || "")) {
        setSessionId(null);
        showError(e.message.replace(/\.?$/, ".") + " Send again to start a new conversation.");
      } else {
        showError(e.message);
      }
      setStatus("");
    } finally {
      li.removeAttribute("aria-busy");
      input.removeAttribute("aria-busy");
      input.readOnly = false;
      send.disabled = false;
      busy = false;
      input.focus();
    }
  }

  function onKey(ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey &&
        !ev.metaKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  }

  function clearConversation() {
    conv.replaceChildren();
    empty.hidden = false;
    clearError();
    setStatus("");
  }

  async function onNew() {
    if (busy) return;
    const sid = sessionId();
    clearConversation();
    setSessionId(null);
    if (sid) {
      try {
        const resp = await fetch(API_SESSIONS + encodeURIComponent(sid), {method: "DELETE"})
          .catch((e) => {
            throw networkError(e);
          });
        if (!resp.ok && resp.status !== 404) throw await httpError(resp);
      } catch (e) {
        showError("The old conversation could not be deleted on the server: " + e.message);
      }
    }
    setStatus("New conversation started.");
    input.focus();
  }

  async function loadHistory() {
    const sid = sessionId();
    if (!sid) return;
    setStatus("Loading the conversation\u2026");
    try {
      const resp = await fetch(API_SESSIONS + encodeURIComponent(sid), {cache: "no-store"})
        .catch((e) => {
          throw networkError(e);
        });
      if (resp.status === 404) {
        setSessionId(null);
        setStatus("The previous conversation has expired; this is a new one.");
        return;
      }
      if (!resp.ok) throw await httpError(resp);
      const h = await resp.json();
      for (const m of Array.isArray(h.messages) ? h.messages : []) {
        if (m && typeof m.content === "string") {
          addMessage(m.role === "user" ? "user" : "assistant", m.content);
        }
      }
      setStatus("");
    } catch (e) {
      showError("The conversation could not be loaded: " + e.message);
      setStatus("");
    }
  }

  // Exposed for tests and debugging; touches nothing.
  window.OtterChat = {renderMarkdown: renderMarkdown, sseParser: sseParser};

  form.addEventListener("submit", onSubmit);
  input.addEventListener("keydown", onKey);
  newButton.addEventListener("click", onNew);
  loadHistory().finally(() => input.focus());
})();
