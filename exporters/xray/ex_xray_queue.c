/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The awsxray exporter's queue and batcher. Documents wait in a ring in arrival order, already
 * escaped as the content of a JSON string (the segment writer writes them so; plain ones are
 * escaped once on the way in); a call takes up to 50 from the front and its PutTraceSegments body
 * is their concatenation inside the envelope, with no second escaping pass. A 200 answer can still
 * refuse documents (UnprocessedTraceSegments, matched by segment id): those go back to the front of
 * the ring until they have been sent 1 + max_retries times, then they are dropped and counted. A
 * failed call (the client already retried it) counts its documents failed.
 */
#include "ex_xray_queue.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_drain.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define DRAIN_TIMEOUT_MS 10000u
#define LOG_EVERY_NS     (10ull * 1000000000ull) /* at most one line per kind per 10 s */
#define RETRY_PUMP_US    100000 /* a call that could not start is tried again after 100 ms */

/*
 * Escaped documents are copied into fixed-size slabs, one after the other in arrival order:
 * no malloc per document, and a slab goes back to a short free list when its last document is
 * sent, so a queue that fills and drains keeps reusing the same memory instead of fragmenting
 * the heap with documents of every size.
 */
#define SLAB_BYTES   (256u * 1024)
#define SLAB_DOC_MAX (SLAB_BYTES / 4) /* larger documents get their own allocation */
#define SLAB_KEEP    4                /* free slabs kept for reuse */

struct qblock {
    size_t refs;         /* documents in it, +1 while it is the slab being filled */
    size_t used;         /* bytes of data taken */
    struct qblock *next; /* in the free list */
    char data[SLAB_BYTES];
};

struct qdoc {
    char *data; /* |len| bytes escaped as a JSON string's content, not NUL-terminated: owned,
                 * or inside |block| */
    struct qblock *block; /* NULL when |data| is owned */
    size_t len;
    unsigned tries; /* calls it was part of */
    char id[17];
};

struct xcall {
    struct ex_xray_queue *q;
    struct xcall *prev, *next;
    size_t n;
    struct qdoc docs[EX_XRAY_MAX_BATCH_DOCS];
    struct ag_buf body; /* must live until the done callback (ex_aws_call's rule) */
};

struct ex_xray_queue {
    struct event_base *base;
    struct ex_xray_sender sender;
    char *id;
    size_t max_bytes;
    unsigned max_in_flight;
    unsigned max_retries;
    uint64_t drain_timeout_ms;

    struct qdoc *ring;
    size_t cap, head, count;
    size_t bytes;        /* documents queued and in flight */
    struct qblock *slab; /* being filled (holds a reference), or NULL */
    struct qblock *free_slabs;
    size_t n_free_slabs;
    struct xcall *calls; /* in flight */
    size_t n_calls;
    size_t in_flight_docs;
    int closed;
    bool held;           /* ex_xray_queue_hold(): pushes queue without starting calls */
    size_t held_n;       /* the documents pushed since */
    struct event *retry; /* a pump again after a call could not start (out of memory) */

    struct ex_xray_queue_stats stats;
    struct ex_xray_limiter log_failed, log_unprocessed;
    struct ag_metric *m_sent, *m_failed, *m_retried, *m_unprocessed;
};

/* ---- ids ------------------------------------------------------------------------------------- */

/*
 * Reads one character of the plain JSON text at |doc[*i]|, advancing |*i|: the byte itself, or
 * with |escaped| the character a JSON string escape stands for ("\\\"" is '"'). A \\u escape of
 * something that is not ASCII reads as 0x80, which is nothing to the id scanner. Returns -1 at
 * the end or on a broken escape.
 */
static int next_char(const char *doc, size_t len, size_t *i, bool escaped)
{
    if (*i >= len) {
        return -1;
    }
    unsigned char c = (unsigned char)doc[(*i)++];
    if (!escaped || c != '\\') {
        return c;
    }
    if (*i >= len) {
        return -1;
    }
    c = (unsigned char)doc[(*i)++];
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'u': {
        unsigned v = 0;
        for (int k = 0; k < 4; k++, (*i)++) {
            char h = *i < len ? doc[*i] : 'x';
            if (h >= '0' && h <= '9') {
                v = v * 16 + (unsigned)(h - '0');
            } else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f') {
                v = v * 16 + (unsigned)((h | 0x20) - 'a' + 10);
            } else {
                return -1;
            }
        }
        return v < 0x80 ? (int)v : 0x80;
    }
    default:
        return -1;
    }
}

static bool is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The top-level "id" of a document, read one character at a time so that the escaped form needs
 * no unescaped copy. Only keys of the top-level object count; a key is "id" when its text between
 * the quotes is exactly those two bytes.
 */
static int doc_id(const char *doc, size_t len, bool escaped, char out[17])
{
    int depth = 0, want_key = 0;
    size_t i = 0;
    int c;
    out[0] = '\0';
    while ((c = next_char(doc, len, &i, escaped)) >= 0) {
        if (c == '"' && depth == 1 && want_key) {
            /* A key: its raw text, then ':' with optional whitespace around. */
            size_t klen = 0;
            int k0 = 0, k1 = 0, prev_bs = 0;
            while ((c = next_char(doc, len, &i, escaped)) >= 0 && !(c == '"' && !prev_bs)) {
                prev_bs = c == '\\' && !prev_bs;
                k0 = klen == 0 ? c : k0;
                k1 = klen == 1 ? c : k1;
                klen++;
            }
            if (c < 0) {
                return AG_EPROTO;
            }
            while (is_ws(c = next_char(doc, len, &i, escaped))) {
            }
            if (c != ':') {
                return AG_EPROTO;
            }
            if (klen == 2 && k0 == 'i' && k1 == 'd') {
                while (is_ws(c = next_char(doc, len, &i, escaped))) {
                }
                if (c != '"') {
                    return AG_EPROTO;
                }
                for (size_t k = 0; k < 16; k++) {
                    c = next_char(doc, len, &i, escaped);
                    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                        return AG_EPROTO;
                    }
                    out[k] = (char)c;
                }
                if (next_char(doc, len, &i, escaped) != '"') {
                    out[0] = '\0';
                    return AG_EPROTO;
                }
                out[16] = '\0';
                return 0;
            }
            want_key = 0;
            continue;
        }
        if (c == '"') {
            /* A string elsewhere: skipped, escapes and all. */
            int prev_bs = 0;
            while ((c = next_char(doc, len, &i, escaped)) >= 0 && !(c == '"' && !prev_bs)) {
                prev_bs = c == '\\' && !prev_bs;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
            want_key = depth == 1 && c == '{';
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            want_key = 1;
        }
    }
    return AG_EPROTO;
}

int ex_xray_doc_id(const char *doc, size_t len, char out[17])
{
    return doc_id(doc, len, false, out);
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * The segment writer's shape, escaped: {\"name\":\"<name>\",\"id\":\"<16 hex>\". Found with
 * memchr() over the name instead of one next_char() call per byte. Returns 0 with the id, or -1
 * whenever the document is not exactly that shape (doc_id() then reads it): a \\u escape, any
 * whitespace, another first key. In the escaped text every '"' and '\\' of the plain JSON starts
 * with a backslash, so the bytes between two backslashes are ordinary characters of the name.
 */
static int doc_id_writer_shape(const char *doc, size_t len, char out[17])
{
    static const char head[] = "{\\\"name\\\":\\\"";
    static const char mid[] = ",\\\"id\\\":\\\"";
    size_t i = sizeof(head) - 1;
    if (len < i || memcmp(doc, head, i) != 0) {
        return -1;
    }
    bool plain_bs = false; /* the plain text's last character was an escaping backslash */
    for (;;) {
        const char *bs = memchr(doc + i, '\\', len - i);
        if (bs == NULL || (size_t)(bs - doc) + 1 >= len) {
            return -1;
        }
        size_t j = (size_t)(bs - doc);
        if (j > i) {
            plain_bs = false; /* ordinary characters in between */
        }
        char c = doc[j + 1];
        i = j + 2;
        if (c == '"') {
            if (!plain_bs) {
                break; /* the plain '"' that ends the name */
            }
            plain_bs = false;
        } else if (c == '\\') {
            plain_bs = !plain_bs;
        } else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f' || c == '/') {
            plain_bs = false;
        } else {
            return -1; /* \\u or a broken escape */
        }
    }
    if (len - i < sizeof(mid) - 1 + 16 + 2 || memcmp(doc + i, mid, sizeof(mid) - 1) != 0) {
        return -1;
    }
    i += sizeof(mid) - 1;
    for (size_t k = 0; k < 16; k++) {
        if (!is_lower_hex(doc[i + k])) {
            return -1;
        }
    }
    if (doc[i + 16] != '\\' || doc[i + 17] != '"') {
        return -1;
    }
    memcpy(out, doc + i, 16);
    out[16] = '\0';
    return 0;
}

int ex_xray_doc_id_escaped(const char *doc, size_t len, char out[17])
{
    if (doc_id_writer_shape(doc, len, out) == 0) {
        return 0;
    }
    return doc_id(doc, len, true, out);
}

/* ---- the ring -------------------------------------------------------------------------------- */

/* The ring's capacity is a power of two (64, doubled as it grows): indexes wrap with a mask. */
static struct qdoc *ring_at(struct ex_xray_queue *q, size_t i)
{
    return &q->ring[(q->head + i) & (q->cap - 1)];
}

/* Makes room for |n| more documents. Returns 0 or AG_ENOMEM (the ring is unchanged). */
static int ring_reserve(struct ex_xray_queue *q, size_t n)
{
    if (q->count + n <= q->cap) {
        return 0;
    }
    size_t ncap = q->cap ? q->cap : 64;
    while (ncap < q->count + n) {
        ncap *= 2;
    }
    struct qdoc *r = ag_calloc(ncap, sizeof(*r));
    if (r == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < q->count; i++) {
        r[i] = *ring_at(q, i);
    }
    ag_free(q->ring);
    q->ring = r;
    q->cap = ncap;
    q->head = 0;
    return 0;
}

/* Both need room reserved. */
static void ring_push_back(struct ex_xray_queue *q, const struct qdoc *d)
{
    q->count++;
    *ring_at(q, q->count - 1) = *d;
}

static void ring_push_front(struct ex_xray_queue *q, const struct qdoc *d)
{
    q->head = (q->head + q->cap - 1) & (q->cap - 1);
    q->count++;
    q->ring[q->head] = *d;
}

static struct qdoc ring_pop_front(struct ex_xray_queue *q)
{
    struct qdoc d = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    return d;
}

static struct qdoc ring_pop_back(struct ex_xray_queue *q)
{
    struct qdoc d = *ring_at(q, q->count - 1);
    q->count--;
    return d;
}

static void slab_unref(struct ex_xray_queue *q, struct qblock *b)
{
    if (--b->refs > 0) {
        return;
    }
    if (q->n_free_slabs < SLAB_KEEP && !q->closed) {
        b->next = q->free_slabs;
        q->free_slabs = b;
        q->n_free_slabs++;
    } else {
        ag_free(b);
    }
}

/* Copies |len| bytes into the slab being filled (a new one when they do not fit). Returns where
 * they went, with *|block| set, or NULL when out of memory. */
static char *slab_copy(struct ex_xray_queue *q, const char *doc, size_t len, struct qblock **block)
{
    struct qblock *b = q->slab;
    if (b == NULL || SLAB_BYTES - b->used < len) {
        if (q->free_slabs != NULL) {
            b = q->free_slabs;
            q->free_slabs = b->next;
            q->n_free_slabs--;
        } else if ((b = ag_malloc(sizeof(*b))) == NULL) {
            return NULL;
        }
        b->refs = 1;
        b->used = 0;
        if (q->slab != NULL) {
            slab_unref(q, q->slab);
        }
        q->slab = b;
    }
    char *p = b->data + b->used;
    memcpy(p, doc, len);
    b->used += len;
    b->refs++;
    *block = b;
    return p;
}

static void doc_free(struct ex_xray_queue *q, struct qdoc *d)
{
    q->bytes -= d->len;
    if (d->block == NULL) {
        ag_free(d->data);
    } else {
        slab_unref(q, d->block);
    }
    d->data = NULL;
    d->block = NULL;
}

/* ---- counting and logging ------------------------------------------------------------------- */

uint64_t ex_xray_limiter_take(struct ex_xray_limiter *l)
{
    uint64_t now = ag_time_mono_ns();
    if (l->last_ns != 0 && now - l->last_ns < LOG_EVERY_NS) {
        l->held++;
        return 0;
    }
    uint64_t n = l->held + 1;
    l->last_ns = now;
    l->held = 0;
    return n;
}

static void count_failed(struct ex_xray_queue *q, size_t n, const char *why)
{
    q->stats.failed += n;
    ag_metric_add(q->m_failed, n);
    uint64_t lines = ex_xray_limiter_take(&q->log_failed);
    if (lines > 0) {
        ag_log_error(q->id, "PutTraceSegments failed: %s; %zu documents lost (%llu similar "
                     "lines held back before this one)", why, n, (unsigned long long)lines - 1);
    }
}

/* ---- calls ----------------------------------------------------------------------------------- */

static void call_unlink(struct ex_xray_queue *q, struct xcall *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        q->calls = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    q->n_calls--;
    q->in_flight_docs -= c->n;
}

static void call_free(struct ex_xray_queue *q, struct xcall *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->docs[i].data != NULL) {
            doc_free(q, &c->docs[i]);
        }
    }
    ag_buf_cleanup(&c->body);
    ag_free(c);
}

/*
 * Marks in |unproc| the documents of |c| that the answer lists as unprocessed; keeps the first
 * error code and message for the log. An answer that is not the expected JSON marks nothing: the
 * service said 200.
 */
static void read_unprocessed(struct ex_xray_queue *q, struct xcall *c,
                             const struct ex_aws_result *res, unsigned char *unproc, char *code,
                             size_t codelen)
{
    json_error_t jerr;
    json_t *root = res->body_len > 0
                       ? json_loadb((const char *)res->body, res->body_len, 0, &jerr)
                       : NULL;
    json_t *list = json_object_get(root, "UnprocessedTraceSegments");
    size_t i;
    json_t *e;
    if (res->body_len > 0 && root == NULL) {
        ag_log_warn(q->id, "PutTraceSegments answered 200 with a body that is not JSON; "
                    "taking every document as sent");
    }
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "Id"));
        if (id == NULL) {
            continue;
        }
        if (code[0] == '\0') {
            const char *ec = json_string_value(json_object_get(e, "ErrorCode"));
            const char *msg = json_string_value(json_object_get(e, "Message"));
            snprintf(code, codelen, "%s%s%s", ec ? ec : "no ErrorCode", msg ? ": " : "",
                     msg ? msg : "");
        }
        for (size_t k = 0; k < c->n; k++) {
            if (strcmp(c->docs[k].id, id) == 0) {
                unproc[k] = 1;
            }
        }
    }
    json_decref(root);
}

static void on_done(void *arg, const struct ex_aws_result *res)
{
    struct xcall *c = arg;
    struct ex_xray_queue *q = c->q;
    call_unlink(q, c);
    if (res->rc != 0) {
        char why[768];
        if (res->error.code[0] != '\0') {
            snprintf(why, sizeof(why), "%s (HTTP %d, %s%s%s) after %u attempts", res->error.code,
                     res->status, res->error.message[0] ? res->error.message : "no message",
                     res->request_id ? ", request id " : "",
                     res->request_id ? res->request_id : "", res->attempts);
        } else {
            snprintf(why, sizeof(why), "%s%s%s (HTTP %d) after %u attempts",
                     ag_strerror(res->rc), res->error.message[0] ? ": " : "",
                     res->error.message, res->status, res->attempts);
        }
        count_failed(q, c->n, why);
        call_free(q, c);
        ex_xray_queue_pump(q);
        return;
    }
    unsigned char unproc[EX_XRAY_MAX_BATCH_DOCS] = {0};
    char code[384] = "";
    read_unprocessed(q, c, res, unproc, code, sizeof(code));
    size_t sent = 0, retry = 0, dropped = 0;
    for (size_t k = 0; k < c->n; k++) {
        sent += !unproc[k];
        retry += unproc[k] && c->docs[k].tries <= q->max_retries;
    }
    int room = !q->closed && retry > 0 ? ring_reserve(q, retry) == 0 : 0;
    /* Back to the front in reverse, so they leave again in their old order. */
    for (size_t k = c->n; k-- > 0;) {
        if (!unproc[k]) {
            continue;
        }
        if (c->docs[k].tries <= q->max_retries && room) {
            ring_push_front(q, &c->docs[k]);
            c->docs[k].data = NULL;
            q->stats.retried++;
            ag_metric_add(q->m_retried, 1);
        } else if (c->docs[k].tries <= q->max_retries) {
            q->stats.failed++;
            ag_metric_add(q->m_failed, 1);
        } else {
            dropped++;
        }
    }
    q->stats.sent += sent;
    ag_metric_add(q->m_sent, sent);
    if (retry > 0 && !room) {
        ag_log_error(q->id, "%zu unprocessed documents could not be queued again (%s)", retry,
                     q->closed ? "shutting down" : "out of memory");
    }
    if (dropped > 0) {
        q->stats.unprocessed += dropped;
        ag_metric_add(q->m_unprocessed, dropped);
        uint64_t lines = ex_xray_limiter_take(&q->log_unprocessed);
        if (lines > 0) {
            ag_log_error(q->id, "%zu documents still unprocessed after %u retries, dropped: %s",
                         dropped, q->max_retries, code);
        }
    }
    call_free(q, c);
    ex_xray_queue_pump(q);
}

/* Starts one call with up to 50 documents from the front. Returns 0, or AG_ENOMEM when nothing
 * could be started (the documents stay queued). */
static int start_call(struct ex_xray_queue *q)
{
    struct xcall *c = ag_calloc(1, sizeof(*c));
    if (c == NULL) {
        return AG_ENOMEM;
    }
    c->q = q;
    ag_buf_init(&c->body, EX_XRAY_MAX_BODY_BYTES);
    size_t n = q->count < EX_XRAY_MAX_BATCH_DOCS ? q->count : EX_XRAY_MAX_BATCH_DOCS;
    /* {"TraceSegmentDocuments":["doc1","doc2"]}: the documents are escaped already. */
    static const char head[] = "{\"TraceSegmentDocuments\":[";
    size_t total = sizeof(head) - 1 + 2 + (n > 0 ? n - 1 : 0);
    for (size_t i = 0; i < n; i++) {
        total += ring_at(q, i)->len + 2;
    }
    uint8_t *p = ag_buf_reserve(&c->body, total);
    if (p == NULL) {
        ag_free(c);
        return total > EX_XRAY_MAX_BODY_BYTES ? AG_ETOOBIG : AG_ENOMEM;
    }
    uint8_t *start = p;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    for (size_t i = 0; i < n; i++) {
        const struct qdoc *d = ring_at(q, i);
        if (i > 0) {
            *p++ = ',';
        }
        *p++ = '"';
        memcpy(p, d->data, d->len);
        p += d->len;
        *p++ = '"';
    }
    *p++ = ']';
    *p++ = '}';
    ag_buf_commit(&c->body, (size_t)(p - start));
    int rc;
    for (size_t i = 0; i < n; i++) {
        c->docs[i] = ring_pop_front(q);
        c->docs[i].tries++;
    }
    c->n = n;
    struct ex_aws_call call = {
        .method = "POST",
        .path = "/TraceSegments",
        .content_type = "application/json",
        .body = ag_buf_ptr(&c->body),
        .body_len = c->body.len,
        /* c->body lives until on_done has run (call_free), so the client need not copy it. */
        .body_borrowed = true,
    };
    q->stats.calls++;
    rc = q->sender.send(q->sender.ctx, &call, on_done, c);
    if (rc != 0) {
        count_failed(q, n, ag_strerror(rc));
        call_free(q, c);
        return 0;
    }
    c->next = q->calls;
    if (q->calls != NULL) {
        q->calls->prev = c;
    }
    q->calls = c;
    q->n_calls++;
    q->in_flight_docs += n;
    return 0;
}

void ex_xray_queue_pump(struct ex_xray_queue *q)
{
    while (q != NULL && !q->closed && !q->held && q->count > 0 && q->n_calls < q->max_in_flight) {
        if (start_call(q) != 0) {
            /* Out of memory: the documents wait for the next push, answer or flush, and with
             * no call in flight to answer, for the retry timer. */
            if (q->n_calls == 0 && !evtimer_pending(q->retry, NULL)) {
                struct timeval tv = {0, RETRY_PUMP_US};
                evtimer_add(q->retry, &tv);
            }
            break;
        }
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ex_xray_queue_pump(arg);
}

/* ---- the interface --------------------------------------------------------------------------- */

int ex_xray_queue_new(struct event_base *base, const struct ex_xray_queue_options *opts,
                      const struct ex_xray_sender *sender, struct ex_xray_queue **out)
{
    char labels[256];
    *out = NULL;
    if (base == NULL || opts == NULL || sender == NULL || sender->send == NULL) {
        return AG_EINVAL;
    }
    struct ex_xray_queue *q = ag_calloc(1, sizeof(*q));
    if (q == NULL) {
        return AG_ENOMEM;
    }
    q->id = ag_strdup(opts->id != NULL ? opts->id : "awsxray");
    if (q->id == NULL) {
        ag_free(q);
        return AG_ENOMEM;
    }
    q->base = base;
    q->retry = evtimer_new(base, on_retry, q);
    if (q->retry == NULL) {
        ag_free(q->id);
        ag_free(q);
        return AG_ENOMEM;
    }
    q->sender = *sender;
    q->max_bytes = opts->max_bytes;
    q->max_in_flight = opts->max_in_flight ? opts->max_in_flight : 1;
    q->max_retries = opts->max_retries;
    q->drain_timeout_ms = opts->drain_timeout_ms ? opts->drain_timeout_ms : DRAIN_TIMEOUT_MS;
    /* Counters are optional (NULL ones are ignored), so a failed registration costs only them. */
    snprintf(labels, sizeof(labels), "exporter=\"%s\"", q->id);
    q->m_sent = ag_metrics_counter("otter_exporter_documents_sent_total",
                                   "Documents an AWS API accepted.", labels);
    q->m_failed = ag_metrics_counter("otter_exporter_documents_failed_total",
                                     "Documents lost with a failed AWS API call.", labels);
    q->m_retried = ag_metrics_counter("otter_exporter_documents_retried_total",
                                      "Documents an AWS API left unprocessed and that were sent "
                                      "again.",
                                      labels);
    q->m_unprocessed = ag_metrics_exporter_dropped(q->id, "unprocessed");
    *out = q;
    return 0;
}

bool ex_xray_queue_has_room(const struct ex_xray_queue *q)
{
    return q->bytes < q->max_bytes;
}

bool ex_xray_queue_has_room_for(const struct ex_xray_queue *q, size_t bytes)
{
    return q->bytes == 0 || (q->bytes < q->max_bytes && bytes <= q->max_bytes - q->bytes);
}

/*
 * Copies one document into |d|, escaped: a plain one (|escaped| false) is escaped once here.
 * Returns 0, AG_EPROTO or AG_ENOMEM.
 */
static int doc_make(struct ex_xray_queue *q, const char *doc, size_t len, bool escaped,
                    struct qdoc *d)
{
    memset(d, 0, sizeof(*d));
    if (!escaped) {
        if (len == 0 || len > EX_XRAY_MAX_DOC_BYTES || ex_xray_doc_id(doc, len, d->id) != 0) {
            return AG_EPROTO;
        }
        struct ag_buf b;
        ag_buf_init(&b, EX_XRAY_MAX_ESCAPED_DOC_BYTES);
        /* Reserved up front: most documents need no more than a fifth more once escaped. */
        if (ag_buf_reserve(&b, len + len / 4 + 16) == NULL) {
            return AG_ENOMEM;
        }
        int rc = ag_json_escape(&b, doc, len);
        if (rc != 0) {
            /* Only a document full of control characters can pass twice its size. */
            return rc == AG_ETOOBIG ? AG_EPROTO : rc;
        }
        d->data = (char *)ag_buf_steal(&b, &d->len);
        return 0;
    }
    if (len == 0 || len > EX_XRAY_MAX_ESCAPED_DOC_BYTES ||
        ex_xray_doc_id_escaped(doc, len, d->id) != 0) {
        return AG_EPROTO;
    }
    if (len > SLAB_DOC_MAX) {
        d->data = ag_malloc(len);
        if (d->data == NULL) {
            return AG_ENOMEM;
        }
        memcpy(d->data, doc, len);
    } else if ((d->data = slab_copy(q, doc, len, &d->block)) == NULL) {
        return AG_ENOMEM;
    }
    d->len = len;
    return 0;
}

int ex_xray_queue_push_doc(struct ex_xray_queue *q, const char *doc, size_t len)
{
    struct qdoc d;
    int rc = ring_reserve(q, 1);
    if (rc == 0) {
        rc = doc_make(q, doc, len, false, &d);
    }
    if (rc != 0) {
        return rc;
    }
    ring_push_back(q, &d);
    q->bytes += d.len;
    ex_xray_queue_pump(q);
    return 0;
}

static int push_docs(struct ex_xray_queue *q, const char *docs, size_t len, bool escaped)
{
    size_t pushed = 0;
    int rc = 0;
    if (len == 0) {
        return 0;
    }
    /* One pass: the ring grows as documents come (it doubles, so that stays amortised O(1)). */
    for (size_t i = 0; rc == 0 && i < len;) {
        const char *nl = memchr(docs + i, '\n', len - i);
        size_t dlen = nl != NULL ? (size_t)(nl - (docs + i)) : len - i;
        struct qdoc d;
        rc = ring_reserve(q, 1);
        rc = rc ? rc : doc_make(q, docs + i, dlen, escaped, &d);
        if (rc == 0) {
            ring_push_back(q, &d);
            q->bytes += d.len;
            pushed++;
        }
        i += dlen + 1;
    }
    if (rc != 0) {
        /* All or none: the caller counts the whole push as refused. */
        while (pushed-- > 0) {
            struct qdoc d = ring_pop_back(q);
            doc_free(q, &d);
        }
    }
    if (rc != 0) {
        return rc;
    }
    if (q->held) {
        q->held_n += pushed;
    }
    ex_xray_queue_pump(q);
    return 0;
}

void ex_xray_queue_hold(struct ex_xray_queue *q)
{
    q->held = true;
    q->held_n = 0;
}

void ex_xray_queue_release(struct ex_xray_queue *q, bool keep)
{
    /* Nothing left the queue meanwhile (no call started): what came since is at its back. */
    while (!keep && q->held_n > 0) {
        struct qdoc d = ring_pop_back(q);
        doc_free(q, &d);
        q->held_n--;
    }
    q->held = false;
    q->held_n = 0;
    ex_xray_queue_pump(q);
}

int ex_xray_queue_push(struct ex_xray_queue *q, const char *docs, size_t len)
{
    return push_docs(q, docs, len, false);
}

int ex_xray_queue_push_escaped(struct ex_xray_queue *q, const char *docs, size_t len)
{
    return push_docs(q, docs, len, true);
}

static bool queue_busy(void *arg)
{
    const struct ex_xray_queue *q = arg;
    return q->count > 0 || q->n_calls > 0;
}

static void queue_kick(void *arg)
{
    ex_xray_queue_pump(arg);
}

void ex_xray_queue_drain(struct ex_xray_queue *q)
{
    if (q == NULL || q->closed) {
        return;
    }
    if (ag_drain(q->base, q->drain_timeout_ms, queue_busy, queue_kick, q) != 0) {
        ag_log_warn(q->id, "drain timed out with %zu documents queued and %zu in flight",
                    q->count, q->in_flight_docs);
    }
}

size_t ex_xray_queue_queued(const struct ex_xray_queue *q)
{
    return q->count;
}

size_t ex_xray_queue_in_flight_docs(const struct ex_xray_queue *q)
{
    return q->in_flight_docs;
}

size_t ex_xray_queue_in_flight(const struct ex_xray_queue *q)
{
    return q->n_calls;
}

const struct ex_xray_queue_stats *ex_xray_queue_stats(const struct ex_xray_queue *q)
{
    return &q->stats;
}

void ex_xray_queue_close(struct ex_xray_queue *q)
{
    if (q == NULL || q->closed) {
        return;
    }
    q->closed = 1;
    size_t n = q->count;
    while (q->count > 0) {
        struct qdoc d = ring_pop_front(q);
        doc_free(q, &d);
    }
    if (n > 0) {
        count_failed(q, n, "shutting down with documents still queued");
    }
}

void ex_xray_queue_free(struct ex_xray_queue *q)
{
    if (q == NULL) {
        return;
    }
    ex_xray_queue_close(q);
    /* Calls still here mean the sender broke its contract; free them rather than leak. */
    while (q->calls != NULL) {
        struct xcall *c = q->calls;
        call_unlink(q, c);
        count_failed(q, c->n, "freed while in flight");
        call_free(q, c);
    }
    if (q->slab != NULL) {
        slab_unref(q, q->slab); /* closed: freed, not kept */
    }
    while (q->free_slabs != NULL) {
        struct qblock *b = q->free_slabs;
        q->free_slabs = b->next;
        ag_free(b);
    }
    if (q->retry != NULL) {
        event_free(q->retry);
    }
    ag_free(q->ring);
    ag_free(q->id);
    ag_free(q);
}
