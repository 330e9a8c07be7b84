/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `local` provider: BM25 retrieval over the bundled knowledge base, answered through the
 * same asynchronous interface as Bedrock so that /api/chat and /api/chat/stream handle both
 * alike. The answer is computed at once; the event loop then hands it out piece by piece.
 */
#include "cb_local.h"

#include <event2/event.h>
#include <string.h>

#include "ag_mem.h"
#include "cb_kb.h"

struct job {
    struct local *p;
    struct job *prev, *next;
    void *arg;
    cb_delta_fn *delta;
    cb_reply_fn *done;
    bool stream;
    bool busy;      /* inside one of its callbacks */
    bool cancelled; /* cancelled from inside a callback: freed when it returns */
    struct cb_kb_answer a;
    size_t in_tokens;
    size_t off; /* bytes of the answer delivered */
    struct event *ev;
};

struct local {
    struct cb_provider base; /* first: the provider pointer is the object */
    struct event_base *evb;
    struct cb_kb *kb;
    struct job *jobs;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t cb_local_next_chunk(const char *text, size_t len, size_t off)
{
    size_t i = off;
    while (i < len && is_space(text[i])) {
        i++;
    }
    while (i < len && !is_space(text[i])) {
        i++;
    }
    return i > off ? i - off : 0;
}

static void job_free(struct job *j)
{
    struct local *p = j->p;
    if (j->prev != NULL) {
        j->prev->next = j->next;
    } else {
        p->jobs = j->next;
    }
    if (j->next != NULL) {
        j->next->prev = j->prev;
    }
    if (j->ev != NULL) {
        event_free(j->ev);
    }
    cb_kb_answer_cleanup(&j->a);
    ag_free(j);
}

/* A zero timer, not event_active(): libevent runs events activated during a callback in the
 * same loop turn, which would send every piece in one write; a timer waits for the next turn,
 * after the sockets have been served. */
static void next_turn(struct job *j)
{
    static const struct timeval now = {0, 0};
    evtimer_add(j->ev, &now);
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg;
    (void)fd;
    (void)what;
    if (j->stream && j->off < j->a.text_len) {
        size_t n = cb_local_next_chunk(j->a.text, j->a.text_len, j->off);
        j->busy = true;
        j->delta(j->arg, j->a.text + j->off, n);
        j->busy = false;
        j->off += n;
        if (j->cancelled) {
            job_free(j);
        } else {
            next_turn(j);
        }
        return;
    }
    struct cb_source src[CB_KB_MAX_HITS];
    for (size_t i = 0; i < j->a.n_hits; i++) {
        const struct cb_kb_passage *ps = cb_kb_passage(j->p->kb, j->a.hits[i].passage);
        src[i].document = ps->document;
        src[i].section = ps->title;
        /* Four decimals are plenty for a user and keep the JSON short. */
        src[i].score = (double)(int64_t)(j->a.hits[i].score * 10000.0 + 0.5) / 10000.0;
    }
    struct cb_reply r = {
        .rc = 0,
        .text = j->a.text,
        .text_len = j->a.text_len,
        .sources = src,
        .n_sources = j->a.n_hits,
        .model = CB_LOCAL_MODEL,
        .input_tokens = j->in_tokens,
        .output_tokens = cb_kb_count_words(j->a.text, j->a.text_len),
        .stop_reason = "end_turn",
    };
    j->busy = true;
    j->done(j->arg, &r);
    job_free(j);
}

static int local_ask(struct cb_provider *base, const struct cb_ask *ask, cb_delta_fn *delta,
                     cb_reply_fn *done, void *arg)
{
    struct local *p = (struct local *)base;
    if (done == NULL || (ask->stream && delta == NULL)) {
        return AG_EINVAL;
    }
    struct job *j = ag_calloc(1, sizeof(*j));
    if (j == NULL) {
        return AG_ENOMEM;
    }
    j->p = p;
    j->arg = arg;
    j->delta = delta;
    j->done = done;
    j->stream = ask->stream;
    j->in_tokens = cb_kb_count_words(ask->message, ask->message_len);
    int rc = cb_kb_answer(p->kb, ask->message, ask->message_len, &j->a);
    j->ev = rc == 0 ? evtimer_new(p->evb, on_step, j) : NULL;
    if (rc != 0 || j->ev == NULL) {
        cb_kb_answer_cleanup(&j->a);
        ag_free(j);
        return rc != 0 ? rc : AG_ENOMEM;
    }
    j->next = p->jobs;
    if (p->jobs != NULL) {
        p->jobs->prev = j;
    }
    p->jobs = j;
    next_turn(j);
    return 0;
}

static void local_cancel(struct cb_provider *base, void *arg)
{
    struct local *p = (struct local *)base;
    for (struct job *j = p->jobs; j != NULL; j = j->next) {
        if (j->arg == arg && !j->cancelled) {
            if (j->busy) {
                j->cancelled = true;
            } else {
                job_free(j);
            }
            return;
        }
    }
}

static void local_free(struct cb_provider *base)
{
    struct local *p = (struct local *)base;
    while (p->jobs != NULL) {
        job_free(p->jobs);
    }
    cb_kb_free(p->kb);
    ag_free(p);
}

static const struct cb_provider_ops local_ops = {
    .name = "local",
    .ask = local_ask,
    .cancel = local_cancel,
    .free = local_free,
};

int cb_local_new(struct event_base *base, struct cb_provider **out)
{
    return cb_local_new_docs(base, cb_kb_bundled, cb_kb_bundled_count, out);
}

int cb_local_new_docs(struct event_base *base, const struct cb_kb_doc *docs, size_t n,
                      struct cb_provider **out)
{
    *out = NULL;
    struct local *p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        return AG_ENOMEM;
    }
    p->base.ops = &local_ops;
    p->evb = base;
    int rc = cb_kb_new(docs, n, &p->kb);
    if (rc != 0) {
        ag_free(p);
        return rc;
    }
    *out = &p->base;
    return 0;
}
