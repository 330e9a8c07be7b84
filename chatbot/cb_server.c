/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The chatbot's HTTP API: routing, limits, validation answers and the JSON bodies, over the
 * pure modules (cb_request, cb_session, cb_ratelimit) and a provider (cb_local, cb_bedrock)
 * that answers asynchronously. One event loop, one thread, so the session store needs no lock;
 * a chat request lives in a struct chat until its provider answers or its client leaves.
 */
#include "cb_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ag_buf.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "cb_bedrock.h"
#include "cb_history.h"
#include "cb_history_dynamodb.h"
#include "cb_kb_dir.h"
#include "cb_local.h"
#include "cb_otel.h"
#include "cb_provider.h"
#include "cb_origin.h"
#include "cb_ratelimit.h"
#include "cb_xff.h"
#include "cb_request.h"
#include "cb_session.h"
#include "cb_sse.h"
#include "cb_web.h"

#define WHO          "chatbot"
#define SESSIONS_PFX "/api/sessions/"
#define RESP_CAP     (1024u * 1024u)

struct cb_server {
    struct cb_server_config cfg;
    struct event_base *base;
    struct evhttp *http;
    struct event *sweep;
    struct cb_provider *provider;
    struct cb_history *history; /* memory or dynamodb */
    struct cb_ratelimit *limit; /* NULL: no rate limit */
    uint64_t origin_refused;    /* /api/ requests refused by the origin check, since start */
    uint64_t origin_unlogged;   /* ... of which not yet in a log line */
    uint64_t origin_logged_ms;  /* when the last such line was written (0: never) */
    struct chat *chats;         /* questions waiting for their provider */
    size_t n_chats;
    int draining;
    int port;                   /* the listening port (server.port) */
    struct cb_otel *tel;        /* borrowed; NULL: no telemetry */
};

/*
 * The telemetry of one request (cb_otel): its SERVER span, ended exactly once, when the reply
 * or the stream ends, with the status sent (cb_otel_server_span_end(): chatbot.requests and
 * http.server.request.duration by route and status), and its log record. /healthz and /readyz
 * are untraced (probes) but counted in the metrics.
 */
struct rq {
    struct cb_otel *tel;       /* NULL: no telemetry */
    struct cb_otel_span *span; /* NULL: untraced, or not recording */
    const char *method;        /* static */
    const char *route;         /* the route template (static); NULL: no route matched */
    uint64_t start_ns;         /* CLOCK_MONOTONIC, for untraced requests */
    bool count_untraced;       /* a probe: metrics without a span */
    bool done;                 /* ended (or handed to a struct chat) */
};

enum chat_kind {
    CHAT_ASK = 0,       /* POST /api/chat[/stream]: history, provider, history again */
    CHAT_HISTORY = 1,   /* GET /api/sessions/{id} */
    CHAT_FORGET = 2,    /* DELETE /api/sessions/{id} */
};

/* One request waiting for the history store or the provider. */
struct chat {
    struct cb_server *srv;
    struct chat *prev, *next;
    enum chat_kind kind;
    struct cb_sse *sse; /* the reply, watching the client's connection */
    bool stream;        /* /api/chat/stream */
    bool create;        /* session_id is new: the session starts with this exchange */
    char session_id[CB_SESSION_ID_LEN + 1];
    uint64_t next_turn; /* from the history's load, for the append */
    char *message;
    size_t message_len;
    struct ag_buf out;  /* the answer's JSON while the exchange is being stored */
    struct rq rq;       /* the request's span, taken over from on_request() */
};

void cb_server_config_defaults(struct cb_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->max_body = 16 * 1024;
    cfg->max_message = 4000;
    cfg->max_sessions = 1000;
    cfg->session_ttl_ms = 30 * 60 * 1000;
    cfg->max_turns = 40;
    cfg->max_session_bytes = 64 * 1024;
    cfg->rate_burst = 1;
    cfg->rate_clients = 10000;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Ends |t| once: the span with |status|, the request's log record (INFO; ERROR for 5xx or a
 * failed stream), or the metrics alone for an untraced probe. |code| is the API error code sent,
 * if any. |error| (a stream that failed after its 200: the error event's code) makes the span
 * status ERROR with error.type = |error| and leaves http.response.status_code off the span: the
 * 200 said nothing about the outcome, and the SLO exporter lets a status code decide over the
 * span status (chatbot/slo.yaml counts such a stream bad). The metrics still record the 200.
 */
static void rq_end(struct rq *t, int status, const char *code, const char *error)
{
    if (t->done) {
        return;
    }
    t->done = true;
    if (t->tel == NULL) {
        return;
    }
    if (t->span == NULL) {
        if (t->count_untraced) {
            cb_otel_record_request(t->tel, t->method, t->route, status,
                                   (double)(mono_ns() - t->start_ns) / 1e9);
        }
        return;
    }
    bool bad = status >= 500 || error != NULL;
    char body[160];
    snprintf(body, sizeof(body), "%s %s %d%s%s", t->method,
             t->route != NULL ? t->route : "(no route)", status, code != NULL ? " " : "",
             code != NULL ? code : "");
    const struct cb_otel_attr a[] = {
        CB_OTEL_STR("http.request.method", t->method),
        CB_OTEL_STR("http.route", t->route),
        CB_OTEL_INT("http.response.status_code", status),
        CB_OTEL_DBL("duration_ms", (double)(mono_ns() - t->start_ns) / 1e6),
        CB_OTEL_STR("error.code", code),
    };
    cb_otel_log(t->tel, bad ? CB_OTEL_SEV_ERROR : CB_OTEL_SEV_INFO, t->span, body, a,
                sizeof(a) / sizeof(a[0]));
    if (error != NULL) {
        cb_otel_span_set_str(t->span, "error.type", error);
        cb_otel_span_set_status(t->span, CB_OTEL_STATUS_ERROR, error);
        cb_otel_record_request(t->tel, t->method, t->route, status,
                               (double)(mono_ns() - t->start_ns) / 1e9);
        cb_otel_span_end(t->span);
    } else {
        cb_otel_server_span_end(t->tel, t->span, status);
    }
    t->span = NULL;
}

/* An error of the request's own (the cause), as an ERROR log record correlated with its span. */
static void rq_error(const struct rq *t, const char *what, const char *why)
{
    if (t->span == NULL) {
        return;
    }
    const struct cb_otel_attr a[] = {CB_OTEL_STR("http.route", t->route),
                                     CB_OTEL_STR("error.cause", why)};
    cb_otel_log(t->tel, CB_OTEL_SEV_ERROR, t->span, what, a, 2);
}

static void security_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    /* The API serves only JSON: nothing in it may run, load or be framed. */
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                      "form-action 'none'");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
    evhttp_add_header(h, "Cache-Control", "no-store");
}

/* Sends the JSON reply, ending |t| with |status| (and |code|, the API's error code, if any). */
static void send_json_code(struct rq *t, struct evhttp_request *req, int status,
                           const char *reason, struct ag_buf *body, const char *code)
{
    rq_end(t, status, code, NULL);
    struct evbuffer *out = evbuffer_new();
    security_headers(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    if (out != NULL && body != NULL && body->len > 0) {
        evbuffer_add(out, ag_buf_ptr(body), body->len);
    }
    evhttp_send_reply(req, status, reason, out);
    if (out != NULL) {
        evbuffer_free(out);
    }
}

static void send_json(struct rq *t, struct evhttp_request *req, int status, const char *reason,
                      struct ag_buf *body)
{
    send_json_code(t, req, status, reason, body, NULL);
}

static void send_error(struct rq *t, struct evhttp_request *req, int status, const char *reason,
                       const char *code, const char *field, const char *message)
{
    struct ag_buf b;
    struct ag_json w;
    ag_buf_init(&b, 4096);
    ag_json_init(&w, &b);
    ag_json_obj_open(&w);
    ag_json_key(&w, "error");
    ag_json_obj_open(&w);
    ag_json_key(&w, "code");
    ag_json_str(&w, code);
    ag_json_key(&w, "message");
    ag_json_str(&w, message);
    if (field != NULL && field[0] != '\0') {
        ag_json_key(&w, "field");
        ag_json_str(&w, field);
    }
    ag_json_obj_close(&w);
    ag_json_obj_close(&w);
    if (ag_json_finish(&w) != 0) {
        ag_buf_cleanup(&b);
    }
    send_json_code(t, req, status, reason, &b, code);
    ag_buf_cleanup(&b);
}

static void send_internal(struct rq *t, struct evhttp_request *req, int rc)
{
    ag_log_error(WHO, "request failed: %s", ag_strerror(rc));
    rq_error(t, "request failed", ag_strerror(rc));
    send_error(t, req, 500, "Internal Server Error", "internal", NULL,
               "the chatbot could not answer: please try again");
}

static void method_not_allowed(struct rq *t, struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    send_error(t, req, 405, "Method Not Allowed", "method_not_allowed", NULL,
               "this method is not allowed here");
}

/* Copies the request body out of libevent, refusing it past max_body. */
static int read_body(struct cb_server *srv, struct evhttp_request *req, char **out, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    *out = NULL;
    *len = 0;
    if (n > srv->cfg.max_body) {
        return AG_ETOOBIG;
    }
    char *b = ag_malloc(n + 1);
    if (b == NULL) {
        return AG_ENOMEM;
    }
    if (evbuffer_copyout(in, b, n) != (ev_ssize_t)n) {
        ag_free(b);
        return AG_EIO;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

static int is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (ct == NULL || strncasecmp(ct, want, sizeof(want) - 1) != 0) {
        return 0;
    }
    char next = ct[sizeof(want) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

static void write_answer(struct ag_json *w, const char *session_id, const struct cb_reply *r)
{
    ag_json_obj_open(w);
    ag_json_key(w, "session_id");
    ag_json_str(w, session_id);
    ag_json_key(w, "answer");
    ag_json_strn(w, r->text, r->text_len);
    ag_json_key(w, "sources");
    ag_json_arr_open(w);
    for (size_t i = 0; i < r->n_sources; i++) {
        ag_json_obj_open(w);
        ag_json_key(w, "document");
        ag_json_str(w, r->sources[i].document);
        ag_json_key(w, "section");
        ag_json_str(w, r->sources[i].section);
        ag_json_key(w, "score");
        ag_json_double(w, r->sources[i].score);
        ag_json_obj_close(w);
    }
    ag_json_arr_close(w);
    ag_json_key(w, "model");
    ag_json_str(w, r->model);
    ag_json_key(w, "usage");
    ag_json_obj_open(w);
    ag_json_key(w, "input_tokens");
    ag_json_uint(w, r->input_tokens);
    ag_json_key(w, "output_tokens");
    ag_json_uint(w, r->output_tokens);
    ag_json_obj_close(w);
    ag_json_obj_close(w);
}

static void chat_free(struct chat *c)
{
    struct cb_server *srv = c->srv;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->chats = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    srv->n_chats--;
    rq_end(&c->rq, 500, "internal", NULL); /* every path ends it before: a safety net */
    cb_sse_free(c->sse);
    ag_buf_cleanup(&c->out);
    ag_free(c->message);
    ag_free(c);
}

/* The client went away: the question is withdrawn from the provider and the history store. An
 * exchange already being stored may still be kept (dynamodb: the PutItem in flight). */
static void chat_gone(void *arg)
{
    struct chat *c = arg;
    ag_log_info(WHO, "client disconnected before the answer was complete: provider call "
                     "cancelled, history calls withdrawn");
    cb_provider_cancel(c->srv->provider, c);
    cb_history_cancel(c->srv->history, c);
    /* A stream that started sent its 200; otherwise nothing was sent: 499, as proxies log a
     * client that closed first (not a server error: the SLOs do not count it bad). */
    rq_end(&c->rq, cb_sse_started(c->sse) ? 200 : 499, "client_closed", NULL);
    chat_free(c);
}

static void chat_delta(void *arg, const char *text, size_t len)
{
    struct chat *c = arg;
    struct ag_buf b;
    struct ag_json w;
    if (!c->stream || len == 0 || cb_sse_request(c->sse) == NULL) {
        return;
    }
    ag_buf_init(&b, RESP_CAP);
    ag_json_init(&w, &b);
    ag_json_obj_open(&w);
    ag_json_key(&w, "text");
    ag_json_strn(&w, text, len);
    ag_json_obj_close(&w);
    int rc = ag_json_finish(&w);
    if (rc == 0) {
        if (!cb_sse_started(c->sse)) {
            security_headers(cb_sse_request(c->sse));
        }
        rc = cb_sse_send(c->sse, "delta", (const char *)ag_buf_ptr(&b), b.len);
    }
    if (rc != 0) {
        ag_log_warn(WHO, "cannot send a stream event: %s", ag_strerror(rc));
    }
    ag_buf_cleanup(&b);
}

static void error_body(struct ag_buf *b, const char *code, const char *message)
{
    struct ag_json w;
    ag_json_init(&w, b);
    ag_json_obj_open(&w);
    ag_json_key(&w, "error");
    ag_json_obj_open(&w);
    ag_json_key(&w, "code");
    ag_json_str(&w, code);
    ag_json_key(&w, "message");
    ag_json_str(&w, message);
    ag_json_obj_close(&w);
    ag_json_obj_close(&w);
    if (ag_json_finish(&w) != 0) {
        ag_buf_cleanup(b);
    }
}

static const char *status_reason(int status)
{
    switch (status) {
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Internal Server Error";
    }
}

/*
 * Ends a chat: |rc| 0 sends |body| (the answer's JSON) as the reply or the stream's done event;
 * otherwise the error |status| / |code| / |message| (and |field|, |retry_after_s|), as a
 * normal reply or, once the stream started, its error event. Frees |c|.
 */
static void chat_reply(struct chat *c, int rc, const struct ag_buf *body, int status,
                       const char *code, const char *field, const char *message,
                       unsigned retry_after_s)
{
    struct ag_buf b;
    ag_buf_init(&b, RESP_CAP);
    if (c->stream && cb_sse_started(c->sse)) {
        int src;
        if (rc == 0) {
            src = cb_sse_send(c->sse, "done", (const char *)ag_buf_ptr(body), body->len);
        } else {
            error_body(&b, code, message);
            src = cb_sse_send(c->sse, "error", (const char *)ag_buf_ptr(&b), b.len);
        }
        if (src != 0) {
            ag_log_warn(WHO, "cannot send the last stream event: %s", ag_strerror(src));
        }
        cb_sse_end(c->sse);
        rq_end(&c->rq, 200, rc != 0 ? code : NULL, rc != 0 ? code : NULL);
    } else if (c->stream && rc == 0) {
        /* An answer with no text streamed before it (an empty answer): the stream is only
         * the done event. */
        security_headers(cb_sse_request(c->sse));
        if (cb_sse_send(c->sse, "done", (const char *)ag_buf_ptr(body), body->len) != 0) {
            ag_log_warn(WHO, "cannot send the stream");
        }
        cb_sse_end(c->sse);
        rq_end(&c->rq, 200, NULL, NULL);
    } else {
        struct evhttp_request *req = cb_sse_release(c->sse);
        if (req != NULL && rc == 0) {
            send_json(&c->rq, req, 200, "OK", (struct ag_buf *)body);
        } else if (req != NULL) {
            if (retry_after_s > 0) {
                char ra[16];
                snprintf(ra, sizeof(ra), "%u", retry_after_s);
                evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
            }
            send_error(&c->rq, req, status, status_reason(status), code, field, message);
        } else {
            rq_end(&c->rq, 499, "client_closed", NULL);
        }
    }
    ag_buf_cleanup(&b);
    chat_free(c);
}

/* The history store's failure as what the user is told. */
static void history_failed(struct chat *c, int rc, const char *why)
{
    if (rc == AG_ENOTFOUND) {
        chat_reply(c, rc, NULL, 404, "session_not_found", "session_id",
                   c->kind == CHAT_ASK ? "no such session: it expired or was deleted; omit "
                                         "session_id to start a new one"
                                       : "no such session",
                   0);
        return;
    }
    ag_log_error(WHO, "history store %s: %s (%s)", c->srv->history->ops->name, why,
                 ag_strerror(rc));
    rq_error(&c->rq, "history store failed", why);
    if (rc == AG_EAGAIN) {
        chat_reply(c, rc, NULL, 409, "conflict", "session_id",
                   "the conversation changed while this message was answered: send it again",
                   0);
    } else if (rc == AG_ENOMEM || rc == AG_EINVAL) {
        chat_reply(c, rc, NULL, 500, "internal", NULL,
                   "the chatbot could not answer: please try again", 0);
    } else {
        chat_reply(c, rc, NULL, 503, "history_unavailable", NULL,
                   "the conversation history is unavailable right now: please try again "
                   "later",
                   1);
    }
}

/* The exchange is stored (or not): the answer goes out, or the store's error. */
static void chat_stored(void *arg, int rc, const char *why)
{
    struct chat *c = arg;
    if (rc != 0) {
        history_failed(c, rc, why);
        return;
    }
    chat_reply(c, 0, &c->out, 200, NULL, NULL, NULL, 0);
}

static void chat_done(void *arg, const struct cb_reply *r)
{
    struct chat *c = arg;
    struct cb_server *srv = c->srv;
    struct ag_json w;
    int rc = r->rc;

    if (rc != 0) {
        /* The provider logged the cause; the user gets its clean message. Nothing is stored. */
        ag_log_warn(WHO, "provider %s failed: %s (%s)", srv->provider->ops->name,
                    r->code != NULL ? r->code : "internal", ag_strerror(rc));
        rq_error(&c->rq, "provider failed", r->code != NULL ? r->code : "internal");
        chat_reply(c, rc, NULL, r->status != 0 ? r->status : 500,
                   r->code != NULL ? r->code : "internal", NULL,
                   r->message != NULL ? r->message
                                      : "the chatbot could not answer: please try again",
                   r->retry_after_s);
        return;
    }
    /* The answer is written now (the reply's pointers last only for this callback) and sent
     * once the store has kept the exchange: an answer the history lost is not given. */
    ag_json_init(&w, &c->out);
    write_answer(&w, c->session_id, r);
    rc = ag_json_finish(&w);
    if (rc != 0) {
        ag_log_error(WHO, "cannot write the answer: %s", ag_strerror(rc));
        rq_error(&c->rq, "cannot write the answer", ag_strerror(rc));
        chat_reply(c, rc, NULL, 500, "internal", NULL,
                   "the chatbot could not answer: please try again", 0);
        return;
    }
    const struct cb_turn turns[2] = {
        {CB_ROLE_USER, c->message, c->message_len},
        {CB_ROLE_ASSISTANT, (char *)r->text, r->text_len},
    };
    /* May answer before it returns (memory): |c| is gone after this call. */
    cb_history_append(srv->history, c->session_id, c->create, c->next_turn, turns, 2,
                      chat_stored, c);
}

/* Asks the provider with the session's earlier turns (copied by the provider). */
static void chat_ask(struct chat *c, const struct cb_turn *hist, size_t n_turns)
{
    struct cb_ask ask = {
        .message = c->message,
        .message_len = c->message_len,
        .history = hist,
        .n_history = n_turns,
        .stream = c->stream,
        .trace = cb_otel_span_context(c->rq.span),
    };
    int rc = cb_provider_ask(c->srv->provider, &ask, chat_delta, chat_done, c);
    if (rc != 0) {
        struct evhttp_request *r = cb_sse_release(c->sse);
        struct rq t = c->rq;
        c->rq.done = true;
        chat_free(c);
        if (r != NULL) {
            send_internal(&t, r, rc);
        } else {
            rq_end(&t, 499, "client_closed", NULL);
        }
    }
}

static void chat_loaded(void *arg, int rc, const struct cb_turn *turns, size_t n, uint64_t next,
                        const char *why)
{
    struct chat *c = arg;
    if (rc != 0) {
        history_failed(c, rc, why);
        return;
    }
    c->next_turn = next;
    chat_ask(c, turns, n);
}

/* A request waiting for the store or the provider, watching its client's connection. */
/* Takes over |t| (the request's span): from now on the chat ends it. */
static struct chat *chat_new(struct cb_server *srv, struct rq *t, struct evhttp_request *req,
                             enum chat_kind kind)
{
    struct chat *c = ag_calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->srv = srv;
    c->kind = kind;
    ag_buf_init(&c->out, RESP_CAP);
    if (cb_sse_new(req, chat_gone, c, &c->sse) != 0) {
        ag_free(c);
        return NULL;
    }
    c->rq = *t;
    t->done = true;
    c->next = srv->chats;
    if (srv->chats != NULL) {
        srv->chats->prev = c;
    }
    srv->chats = c;
    srv->n_chats++;
    return c;
}

static void handle_chat(struct cb_server *srv, struct rq *t, struct evhttp_request *req,
                        bool stream)
{
    struct cb_chat_request cr = {0};
    struct cb_request_error err;
    struct chat *c = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        method_not_allowed(t, req, "POST");
        return;
    }
    /* application/json only: a cross-site form cannot send it without a CORS preflight. */
    if (!is_json_type(evhttp_find_header(evhttp_request_get_input_headers(req),
                                         "Content-Type"))) {
        send_error(t, req, 415, "Unsupported Media Type", "unsupported_media_type", NULL,
                   "send the request as Content-Type: application/json");
        return;
    }
    rc = read_body(srv, req, &body, &len);
    if (rc == AG_ETOOBIG) {
        char msg[96];
        snprintf(msg, sizeof(msg), "the request body is larger than %zu bytes",
                 srv->cfg.max_body);
        send_error(t, req, 413, "Payload Too Large", "too_large", NULL, msg);
        goto out;
    }
    if (rc != 0) {
        send_internal(t, req, rc);
        goto out;
    }
    rc = cb_chat_request_parse(body, len, srv->cfg.max_message, &cr, &err);
    if (rc == AG_EPROTO) {
        send_error(t, req, 400, "Bad Request", err.code, err.field, err.message);
        goto out;
    }
    if (rc != 0) {
        send_internal(t, req, rc);
        goto out;
    }
    c = chat_new(srv, t, req, CHAT_ASK);
    if (c == NULL) {
        send_internal(t, req, AG_ENOMEM);
        goto out;
    }
    c->stream = stream;
    c->message = cr.message;
    c->message_len = cr.message_len;
    cr.message = NULL;
    if (cr.session_id[0] != '\0') {
        memcpy(c->session_id, cr.session_id, sizeof(c->session_id));
        /* May answer before it returns (memory): |c| is not touched after this call. */
        cb_history_load(srv->history, c->session_id, chat_loaded, c);
        goto out;
    }
    rc = cb_session_new_id(c->session_id);
    if (rc != 0) {
        struct evhttp_request *r = cb_sse_release(c->sse);
        struct rq tc = c->rq;
        c->rq.done = true;
        chat_free(c);
        if (r != NULL) {
            send_internal(&tc, r, rc);
        }
        goto out;
    }
    c->create = true;
    chat_ask(c, NULL, 0);
out:
    cb_chat_request_cleanup(&cr);
    ag_free(body);
}

static void session_loaded(void *arg, int rc, const struct cb_turn *turns, size_t n,
                           uint64_t next, const char *why)
{
    struct chat *c = arg;
    struct ag_json w;
    (void)next;
    if (rc != 0) {
        history_failed(c, rc, why);
        return;
    }
    ag_json_init(&w, &c->out);
    ag_json_obj_open(&w);
    ag_json_key(&w, "session_id");
    ag_json_str(&w, c->session_id);
    ag_json_key(&w, "messages");
    ag_json_arr_open(&w);
    for (size_t i = 0; i < n; i++) {
        ag_json_obj_open(&w);
        ag_json_key(&w, "role");
        ag_json_str(&w, turns[i].role == CB_ROLE_USER ? "user" : "assistant");
        ag_json_key(&w, "content");
        ag_json_strn(&w, turns[i].text, turns[i].len);
        ag_json_obj_close(&w);
    }
    ag_json_arr_close(&w);
    ag_json_obj_close(&w);
    rc = ag_json_finish(&w);
    struct evhttp_request *req = cb_sse_release(c->sse);
    if (req != NULL && rc != 0) {
        send_internal(&c->rq, req, rc);
    } else if (req != NULL) {
        send_json(&c->rq, req, 200, "OK", &c->out);
    } else {
        rq_end(&c->rq, 499, "client_closed", NULL);
    }
    chat_free(c);
}

static void session_removed(void *arg, int rc, const char *why)
{
    struct chat *c = arg;
    if (rc != 0) {
        history_failed(c, rc, why);
        return;
    }
    struct evhttp_request *req = cb_sse_release(c->sse);
    if (req != NULL) {
        rq_end(&c->rq, 204, NULL, NULL);
        security_headers(req);
        evhttp_send_reply(req, 204, "No Content", NULL);
    } else {
        rq_end(&c->rq, 499, "client_closed", NULL);
    }
    chat_free(c);
}

static void handle_session(struct cb_server *srv, struct rq *t, struct evhttp_request *req,
                           const char *id)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_DELETE) {
        method_not_allowed(t, req, "GET, DELETE");
        return;
    }
    if (!cb_session_id_valid(id, strlen(id))) {
        send_error(t, req, 400, "Bad Request", "invalid_request", "session_id",
                   "the session id in the path must be 32 hex digits");
        return;
    }
    struct chat *c =
        chat_new(srv, t, req, cmd == EVHTTP_REQ_GET ? CHAT_HISTORY : CHAT_FORGET);
    if (c == NULL) {
        send_internal(t, req, AG_ENOMEM);
        return;
    }
    memcpy(c->session_id, id, CB_SESSION_ID_LEN + 1);
    /* Both may answer before they return (memory). */
    if (cmd == EVHTTP_REQ_DELETE) {
        cb_history_remove(srv->history, c->session_id, session_removed, c);
    } else {
        cb_history_load(srv->history, c->session_id, session_loaded, c);
    }
}

static void handle_status(struct rq *t, struct evhttp_request *req, int ok, const char *status)
{
    struct ag_buf b;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        method_not_allowed(t, req, "GET, HEAD");
        return;
    }
    ag_buf_init(&b, 256);
    if (ag_buf_printf(&b, "{\"status\":\"%s\"}", status) != 0) {
        ag_buf_cleanup(&b);
    }
    send_json(t, req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", &b);
    ag_buf_cleanup(&b);
}

/* The chat page's files: the API's headers, but the page's own CSP, and revalidation instead of
 * no-store (the bytes change only with the binary). */
static void handle_static(struct rq *t, struct evhttp_request *req, const struct cb_web_file *f)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        method_not_allowed(t, req, "GET, HEAD");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();
    if (out == NULL || evbuffer_add_reference(out, f->data, f->len, NULL, NULL) != 0) {
        if (out != NULL) {
            evbuffer_free(out);
        }
        send_internal(t, req, AG_ENOMEM);
        return;
    }
    evhttp_add_header(h, "Content-Security-Policy", CB_WEB_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "Content-Type", f->content_type);
    rq_end(t, 200, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

/* X-Forwarded-For fields kept (the last ones: the walk reads from the right, and needs at most
 * CB_XFF_MAX_TRUSTED - 1 elements). */
#define MAX_XFF_FIELDS 32u

/* The client's address into |out|: the peer's, or with --trusted-proxies the hop of
 * X-Forwarded-For it names (cb_xff.h; every field of the header, in order). */
static void client_address(const struct cb_server *srv, struct evhttp_request *req,
                           char out[CB_XFF_ADDR_MAX])
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *peer = NULL;
    ev_uint16_t port = 0;
    if (evcon != NULL) {
        evhttp_connection_get_peer(evcon, &peer, &port);
    }
    const char *fields[MAX_XFF_FIELDS];
    size_t n = 0;
    if (srv->cfg.trusted_proxies > 1) {
        /* keyvalq_struct.h's TAILQ without <sys/queue.h>: tqh_first, next.tqe_next. */
        for (struct evkeyval *kv = evhttp_request_get_input_headers(req)->tqh_first; kv != NULL;
             kv = kv->next.tqe_next) {
            if (evutil_ascii_strcasecmp(kv->key, "X-Forwarded-For") != 0) {
                continue;
            }
            if (n == MAX_XFF_FIELDS) {
                memmove(fields, fields + 1, (MAX_XFF_FIELDS - 1) * sizeof(fields[0]));
                n--;
            }
            fields[n++] = kv->value;
        }
    }
    (void)cb_xff_client(fields, n, peer, srv->cfg.trusted_proxies, out);
}

/* The origin check's log line: at most one per ORIGIN_LOG_MS, counting the refusals since the
 * previous one. Neither the expected nor the received value is ever written. */
#define ORIGIN_LOG_MS (60u * 1000u)

/* Writes the line when refusals are unreported and the last line is ORIGIN_LOG_MS old (or
 * none was written yet). |why| and |addr|: the refusal just made; NULL from the sweep timer. */
static void origin_log(struct cb_server *srv, uint64_t now, const char *why, const char *addr)
{
    if (srv->origin_unlogged == 0 ||
        (srv->origin_logged_ms != 0 && now - srv->origin_logged_ms < ORIGIN_LOG_MS)) {
        return;
    }
    char last[128] = "";
    if (why != NULL) {
        (void)snprintf(last, sizeof(last), "; the last from %s, header %s",
                       addr != NULL && addr[0] != '\0' ? addr : "?", why);
    }
    ag_log_warn(WHO,
                "origin check: refused %" PRIu64 " /api/ request(s) without a valid "
                CB_ORIGIN_HEADER " header since the last report (%" PRIu64 " in all%s)",
                srv->origin_unlogged, srv->origin_refused, last);
    srv->origin_unlogged = 0;
    srv->origin_logged_ms = now;
}

/* The origin check (cb_origin.h) of an /api/ request: true when it carries exactly one
 * X-Otter-Origin-Verify header with one of the configured values; else answers 403 and returns
 * false. */
static bool origin_ok(struct cb_server *srv, struct rq *t, struct evhttp_request *req)
{
    const char *got = NULL;
    size_t fields = 0;
    for (struct evkeyval *kv = evhttp_request_get_input_headers(req)->tqh_first; kv != NULL;
         kv = kv->next.tqe_next) {
        if (evutil_ascii_strcasecmp(kv->key, CB_ORIGIN_HEADER) == 0) {
            got = kv->value;
            fields++;
        }
    }
    if (fields == 1 && cb_origin_match(srv->cfg.origin, got, strlen(got))) {
        return true;
    }
    char addr[CB_XFF_ADDR_MAX];
    client_address(srv, req, addr);
    srv->origin_refused++;
    srv->origin_unlogged++;
    origin_log(srv, now_ms(), fields == 0 ? "missing" : fields > 1 ? "repeated" : "wrong", addr);
    send_error(t, req, 403, "Forbidden", "forbidden", NULL,
               "this API answers only requests that come through the site's own address");
    return false;
}

/* Takes a token for the client's address; answers 429 and returns false when there is none. */
static bool rate_ok(struct cb_server *srv, struct rq *t, struct evhttp_request *req)
{
    char addr[CB_XFF_ADDR_MAX];
    client_address(srv, req, addr);
    unsigned wait_s = cb_ratelimit_take(srv->limit, addr, now_ms());
    if (wait_s == 0) {
        return true;
    }
    char ra[16], msg[128];
    snprintf(ra, sizeof(ra), "%u", wait_s);
    snprintf(msg, sizeof(msg), "too many requests from this address: retry in %u s", wait_s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
    send_error(t, req, 429, "Too Many Requests", "rate_limited", NULL, msg);
    return false;
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "_OTHER";
    }
}

/* The route template of |path| (static strings: never the session id itself), or NULL. */
static const char *route_of(const char *path)
{
    static const char *const fixed[] = {"/api/chat", "/api/chat/stream", "/healthz", "/readyz"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strcmp(path, fixed[i]) == 0) {
            return fixed[i];
        }
    }
    if (strncmp(path, SESSIONS_PFX, sizeof(SESSIONS_PFX) - 1) == 0) {
        return "/api/sessions/{id}";
    }
    const struct cb_web_file *f = cb_web_find(path);
    return f != NULL ? f->path : NULL;
}

/* Starts the request's telemetry: a SERVER span continuing its traceparent (probes: none), and
 * the traceresponse header carrying the span's context back to the client. */
static void rq_start(struct cb_server *srv, struct rq *t, struct evhttp_request *req,
                     const char *path, const char *route)
{
    t->tel = srv->tel;
    t->method = method_name(evhttp_request_get_command(req));
    t->route = route;
    t->start_ns = mono_ns();
    if (!cb_otel_enabled(srv->tel)) {
        return;
    }
    if (route != NULL && (strcmp(route, "/healthz") == 0 || strcmp(route, "/readyz") == 0)) {
        t->count_untraced = true;
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    char peer[CB_XFF_ADDR_MAX];
    client_address(srv, req, peer);
    /* server.address: the Host header without its port (an IPv6 literal keeps its brackets
     * off). */
    char host[256] = "";
    const char *h = evhttp_find_header(in, "Host");
    if (h != NULL) {
        size_t n = strlen(h);
        const char *end = h + n;
        if (h[0] == '[' && memchr(h, ']', n) != NULL) {
            end = memchr(h, ']', n);
            h++;
        } else if (memchr(h, ':', n) != NULL) {
            end = memchr(h, ':', n);
        }
        n = (size_t)(end - h);
        if (n < sizeof(host)) {
            memcpy(host, h, n);
            host[n] = '\0';
        }
    }
    t->span = cb_otel_server_span_start(
        srv->tel, &(struct cb_otel_http_request_info){
                      .method = t->method,
                      .path = path,
                      .route = route,
                      .server_address = host[0] != '\0' ? host : NULL,
                      .server_port = srv->port,
                      .client_address = peer[0] != '\0' ? peer : NULL,
                      .user_agent = evhttp_find_header(in, "User-Agent"),
                      .traceparent = evhttp_find_header(in, "traceparent"),
                      .tracestate = evhttp_find_header(in, "tracestate"),
                  });
    char tr[56];
    if (cb_otel_traceparent_format(cb_otel_span_context(t->span), tr) == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "traceresponse", tr);
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct cb_server *srv = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct rq t = {0};

    if (path == NULL) {
        path = "";
    }
    const char *route = route_of(path);
    rq_start(srv, &t, req, path, route);
    if (srv->cfg.origin != NULL && strncmp(path, "/api/", 5) == 0 && !origin_ok(srv, &t, req)) {
        return;
    }
    if (srv->limit != NULL && strncmp(path, "/api/", 5) == 0 && !rate_ok(srv, &t, req)) {
        return;
    }
    if (route == NULL) {
        send_error(&t, req, 404, "Not Found", "not_found", NULL, "no such endpoint");
    } else if (strcmp(route, "/api/chat") == 0) {
        handle_chat(srv, &t, req, false);
    } else if (strcmp(route, "/api/chat/stream") == 0) {
        handle_chat(srv, &t, req, true);
    } else if (strcmp(route, "/api/sessions/{id}") == 0) {
        handle_session(srv, &t, req, path + sizeof(SESSIONS_PFX) - 1);
    } else if (strcmp(route, "/healthz") == 0) {
        handle_status(&t, req, 1, "ok");
    } else if (strcmp(route, "/readyz") == 0) {
        handle_status(&t, req, !srv->draining, srv->draining ? "draining" : "ready");
    } else {
        handle_static(&t, req, cb_web_find(path));
    }
    rq_end(&t, 500, "internal", NULL); /* every handler ended it or handed it on: a safety net */
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct cb_server *srv = arg;
    cb_history_sweep(srv->history);
    origin_log(srv, now_ms(), NULL, NULL);
}

int cb_server_new(struct event_base *base, const struct cb_server_config *cfg,
                  struct cb_server **out)
{
    struct cb_server *srv = NULL;
    struct evhttp_bound_socket *sock;
    int rc;

    *out = NULL;
    if (cfg->max_body == 0 || cfg->max_message == 0 || cfg->host == NULL) {
        return AG_EINVAL;
    }
    srv = ag_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return AG_ENOMEM;
    }
    srv->cfg = *cfg;
    srv->base = base;
    srv->tel = cfg->tel;
    if (cfg->bedrock != NULL) {
        char why[256] = "";
        struct cb_bedrock_config bcfg = *cfg->bedrock;
        bcfg.tel = cfg->tel;
        rc = cb_bedrock_new(base, &bcfg, &srv->provider, why, sizeof(why));
        if (rc != 0) {
            ag_log_error(WHO, "bedrock provider: %s", why);
            goto fail;
        }
    } else if (cfg->kb_dir != NULL) {
        struct cb_kb_dir dir;
        char why[512];
        rc = cb_kb_dir_load(cfg->kb_dir, &dir, why, sizeof(why));
        if (rc == 0) {
            rc = cb_local_new_docs(base, dir.docs, dir.n, &srv->provider);
            ag_log_info(WHO, "knowledge base: %zu documents from %s", dir.n, cfg->kb_dir);
        } else {
            ag_log_error(WHO, "knowledge base: %s", why);
        }
        cb_kb_dir_cleanup(&dir);
        if (rc != 0) {
            goto fail;
        }
    } else {
        rc = cb_local_new(base, &srv->provider);
        if (rc != 0) {
            goto fail;
        }
    }
    if (cfg->rate_limit > 0) {
        srv->limit = cb_ratelimit_new(cfg->rate_limit, cfg->rate_burst, cfg->rate_clients);
        if (srv->limit == NULL) {
            rc = cfg->rate_burst < 1 || cfg->rate_clients == 0 ? AG_EINVAL : AG_ENOMEM;
            goto fail;
        }
    }
    if (cfg->dynamodb != NULL) {
        char why[256] = "";
        rc = cb_history_dynamodb_new(base, cfg->dynamodb, &srv->history, why, sizeof(why));
        if (rc != 0) {
            ag_log_error(WHO, "dynamodb history: %s", why);
            goto fail;
        }
    } else {
        rc = cb_history_memory_new(cfg->max_sessions, cfg->session_ttl_ms, cfg->max_turns,
                                   cfg->max_session_bytes, &srv->history);
        if (rc != 0) {
            goto fail;
        }
    }
    srv->http = evhttp_new(base);
    srv->sweep = event_new(base, -1, EV_PERSIST, on_sweep, srv);
    if (srv->http == NULL || srv->sweep == NULL) {
        rc = AG_ENOMEM;
        goto fail;
    }
    /* Bodies over the cap never reach us: evhttp answers 413 itself before reading them. */
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body);
    evhttp_set_max_headers_size(srv->http, 16 * 1024);
    evhttp_set_timeout(srv->http, 30);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(srv->http, on_request, srv);
    sock = evhttp_bind_socket_with_handle(srv->http, cfg->host, cfg->port);
    if (sock == NULL) {
        ag_log_error(WHO, "cannot listen on %s:%u", cfg->host, (unsigned)cfg->port);
        rc = AG_EIO;
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
            port = ntohs(a6->sin6_port);
        } else {
            const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
            port = ntohs(a4->sin_port);
        }
    }
    srv->port = (int)port;
    struct timeval every = {30, 0};
    event_add(srv->sweep, &every);
    ag_log_info(WHO, "provider: %s; history: %s", srv->provider->ops->name,
                srv->history->ops->name);
    if (cfg->origin != NULL) {
        ag_log_info(WHO, "origin check: on: /api/ requires the " CB_ORIGIN_HEADER
                         " header (%zu value(s) accepted)",
                    cfg->origin->n);
    } else {
        ag_log_info(WHO, "origin check: off (no --origin-secret-file or CHATBOT_ORIGIN_SECRET): "
                         "/api/ answers whoever reaches the port");
    }
    ag_log_info(WHO, "listening: chatbot http %s:%u", host, port);
    *out = srv;
    return 0;
fail:
    cb_server_free(srv);
    return rc;
}

void cb_server_drain(struct cb_server *srv)
{
    srv->draining = 1;
}

size_t cb_server_in_flight(const struct cb_server *srv)
{
    return srv->n_chats;
}

void cb_server_free(struct cb_server *srv)
{
    if (srv == NULL) {
        return;
    }
    /* Questions still open: withdrawn from the provider, their clients told it failed. */
    while (srv->chats != NULL) {
        struct chat *c = srv->chats;
        static const char stop_msg[] = "the chatbot is restarting: please try again";
        cb_provider_cancel(srv->provider, c);
        if (srv->history != NULL) {
            cb_history_cancel(srv->history, c);
        }
        if (cb_sse_started(c->sse)) {
            struct ag_buf b;
            ag_buf_init(&b, 4096);
            error_body(&b, "shutting_down", stop_msg);
            if (cb_sse_send(c->sse, "error", (const char *)ag_buf_ptr(&b), b.len) != 0) {
                ag_log_debug(WHO, "cannot tell a stream's client about the shutdown");
            }
            ag_buf_cleanup(&b);
            cb_sse_end(c->sse);
            rq_end(&c->rq, 200, "shutting_down", "shutting_down");
        } else {
            struct evhttp_request *req = cb_sse_release(c->sse);
            if (req != NULL) {
                send_error(&c->rq, req, 503, "Service Unavailable", "shutting_down", NULL,
                           stop_msg);
            }
        }
        chat_free(c);
    }
    if (srv->sweep != NULL) {
        event_free(srv->sweep);
    }
    if (srv->http != NULL) {
        evhttp_free(srv->http);
    }
    cb_history_free(srv->history);
    cb_provider_free(srv->provider);
    cb_ratelimit_free(srv->limit);
    ag_free(srv);
}
