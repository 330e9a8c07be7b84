#ifndef CB_SERVER_H
#define CB_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "cb_bedrock.h"

struct event_base;
struct cb_history_dynamodb_config;
struct cb_origin;
struct cb_otel;

/*
 * The chatbot's HTTP API on libevent's evhttp:
 *   POST   /api/chat            {"session_id"?, "message"} -> the answer and the session id
 *   POST   /api/chat/stream     the same request, answered as server-sent events (cb_sse)
 *   GET    /api/sessions/{id}   the history
 *   DELETE /api/sessions/{id}   forget it (204)
 *   GET    /healthz, /readyz    liveness; readiness (503 while draining)
 *   GET    /, /app.js, /app.css the chat page (cb_web.h), with its own CSP
 * With an origin secret (cfg.origin), every /api/ request must carry X-Otter-Origin-Verify with
 * one of its values (cb_origin.h), else 403 "forbidden"; the probes and the page stay open.
 * Every answer is JSON with security headers (CSP, nosniff, no-referrer, DENY framing, no-store)
 * and no CORS header: cross-origin browsers are refused by default.
 */

struct cb_server_config {
    const char *host;     /* listen address, e.g. "127.0.0.1" */
    uint16_t port;        /* 0: an ephemeral port */
    size_t max_body;      /* bytes of request body */
    size_t max_message;   /* bytes of a chat message */
    size_t max_sessions;  /* sessions held in memory */
    uint64_t session_ttl_ms;
    size_t max_turns;     /* turns kept per session */
    size_t max_session_bytes;
    const struct cb_bedrock_config *bedrock; /* NULL: the local provider; else borrowed */
    double rate_limit;    /* requests a second per client IP on /api/; 0 = no limit */
    double rate_burst;    /* bucket size; >= 1 when rate_limit is set */
    size_t rate_clients;  /* client buckets kept (least recently seen replaced) */
    /* Proxies in front of the chatbot, the peer included (cb_xff.h): 0 or 1 = the client is the
     * peer; N = hop N of X-Forwarded-For (2 behind CloudFront and an ALB). The rate limit and
     * the span's client.address use that address. At most CB_XFF_MAX_TRUSTED. */
    unsigned trusted_proxies;
    /* The origin check (cb_origin.h; borrowed, must outlive the server): NULL = off, /api/ is
     * open to whoever reaches the port; else a request to /api/ without a matching
     * X-Otter-Origin-Verify header is refused with 403 before anything else (rate limit
     * included), counted, and logged at most once a minute (never the values). */
    const struct cb_origin *origin;
    const char *kb_dir;   /* NULL: the bundled knowledge base; else *.md of this directory */
    /* NULL: the memory history store (max_sessions ... bounds); else dynamodb, borrowed */
    const struct cb_history_dynamodb_config *dynamodb;
    /* Telemetry (borrowed, must outlive the server; NULL: none): a SERVER span per request
     * (probes: metrics only), request metrics, log records; handed to the bedrock provider. */
    struct cb_otel *tel;
};

/* Fills |cfg| with the defaults (127.0.0.1:8080, 16 KiB bodies, 4000-byte messages, 1000
 * sessions of at most 40 turns and 64 KiB for 30 minutes). */
void cb_server_config_defaults(struct cb_server_config *cfg);

struct cb_server;

/*
 * Creates the provider (bedrock when |cfg->bedrock| is set, else local: the knowledge base,
 * bundled or read from cfg->kb_dir: cb_kb_dir.h), binds the listener on |base| (borrowed, must
 * outlive the server) and logs "listening: chatbot http HOST:PORT". Returns 0 and a new server
 * in |*out| (free with cb_server_free()), or AG_EINVAL, AG_EIO (cannot bind), a
 * cb_kb_dir_load() code (logged with the reason) or AG_ENOMEM.
 */
AG_NODISCARD int cb_server_new(struct event_base *base, const struct cb_server_config *cfg,
                               struct cb_server **out);

/* Marks the server as draining: /readyz answers 503 from now on. */
void cb_server_drain(struct cb_server *srv);

/* Chat requests waiting for their provider's answer. */
size_t cb_server_in_flight(const struct cb_server *srv);

void cb_server_free(struct cb_server *srv);

#endif /* CB_SERVER_H */
