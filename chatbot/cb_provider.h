#ifndef CB_PROVIDER_H
#define CB_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "cb_session.h"

/*
 * What answers a chat message: `local` (BM25 over the bundled knowledge base, cb_local) or
 * `bedrock` (Converse / ConverseStream, cb_bedrock). A question is asked once; the provider
 * calls back from the event loop (never from inside ask()) with text deltas when streaming, then
 * exactly once with the reply, unless the question is cancelled first.
 */

struct cb_otel_span_ctx;

struct cb_ask {
    const char *message; /* the user's message, UTF-8, |message_len| bytes */
    size_t message_len;
    const struct cb_turn *history; /* earlier turns of the session, oldest first */
    size_t n_history;
    bool stream;                   /* deliver text deltas as they come */
    /* The request's server span context (cb_otel): a provider that calls a service starts its
     * CLIENT span under it. NULL = no parent (a new trace); borrowed, copied by the provider. */
    const struct cb_otel_span_ctx *trace;
};

struct cb_source {
    const char *document; /* "troubleshooting.md" */
    const char *section;  /* the heading */
    double score;
};

/* The outcome. Every pointer is valid only during the callback. */
struct cb_reply {
    int rc;              /* 0: |text| is the answer; else one of the AG_E* codes, and |status|,
                            |code| and |message| say what to tell the user */
    int status;          /* HTTP status for a failure: 502 (the model failed), 503 (throttled,
                            unavailable), 504 (timed out), 500 (ours) */
    const char *code;    /* "upstream_throttled", "upstream_unavailable", "upstream_timeout",
                            "upstream_error", "internal" */
    const char *message; /* for the user: never the provider's raw text, ids or secrets */
    unsigned retry_after_s; /* > 0: worth telling the client when to retry */
    const char *text;    /* the whole answer */
    size_t text_len;
    const struct cb_source *sources;
    size_t n_sources;
    const char *model;
    uint64_t input_tokens, output_tokens;
    const char *stop_reason; /* "end_turn", "max_tokens", ... ("" when none) */
};

/* A piece of the answer, in order; the pieces joined are the reply's |text|. */
typedef void cb_delta_fn(void *arg, const char *text, size_t len);
typedef void cb_reply_fn(void *arg, const struct cb_reply *reply);

struct cb_provider;

struct cb_provider_ops {
    const char *name;
    /* Starts answering |ask| (borrowed: copied as needed). |arg| identifies the question for
     * cancel(). Returns 0, or AG_ENOMEM / AG_EINVAL: then no callback runs. */
    int (*ask)(struct cb_provider *p, const struct cb_ask *ask, cb_delta_fn *delta,
               cb_reply_fn *done, void *arg);
    /* Withdraws the question asked with |arg|: no callback runs for it after this. */
    void (*cancel)(struct cb_provider *p, void *arg);
    /* Frees the provider; questions still open are dropped without callbacks. */
    void (*free)(struct cb_provider *p);
};

struct cb_provider {
    const struct cb_provider_ops *ops;
};

static inline int cb_provider_ask(struct cb_provider *p, const struct cb_ask *ask,
                                  cb_delta_fn *delta, cb_reply_fn *done, void *arg)
{
    return p->ops->ask(p, ask, delta, done, arg);
}

static inline void cb_provider_cancel(struct cb_provider *p, void *arg)
{
    p->ops->cancel(p, arg);
}

static inline void cb_provider_free(struct cb_provider *p)
{
    if (p != NULL) {
        p->ops->free(p);
    }
}

#endif /* CB_PROVIDER_H */
