/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CloudWatch Logs pusher. Each (group, stream) has a queue of events; a batch is the longest
 * prefix of the timestamp-sorted queue that fits the PutLogEvents limits. A put answered
 * ResourceNotFoundException parks on its stream while the stream (and, if need be, the group)
 * is created, then leaves again once. Messages are queued in the form the body carries them
 * (valid UTF-8, escaped as JSON string content), so a put only copies them into its body, and
 * their counted size (the plain message's) is their size at the service.
 */
#include "ex_cw_pusher.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_drain.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES (64u * 1024 * 1024)
#define DEFAULT_FLUSH_MS  200u
#define DRAIN_TIMEOUT_MS  10000u
#define LOG_EVERY_NS      (10ull * 1000000000ull) /* at most one line per kind per 10 s */
#define MARKER_LEN        (sizeof(EX_CW_TRUNCATED_MARKER) - 1)
/* JSON escaping grows a byte to at most 6 ("\u001f"); the envelope per event is < 64 bytes. */
#define MAX_BODY_BYTES (6u * EX_CW_MAX_BATCH_BYTES + 64u * EX_CW_MAX_BATCH_EVENTS + 4096u)
#define TARGET_PREFIX  "Logs_20140328."

struct cwev {
    int64_t ts;
    uint64_t seq; /* arrival order, for a stable sort */
    char *msg;    /* owned: the message escaped as JSON string content, |esc_len| bytes */
    size_t len;   /* the plain message's length (valid UTF-8, cut to the limit) */
    size_t esc_len;
};

struct limiter {
    uint64_t last_ns;
    uint64_t held;
};

enum call_kind { CALL_PUT, CALL_CREATE_STREAM, CALL_CREATE_GROUP, CALL_RETENTION };

struct cwstream;

struct cwcall {
    struct ex_cw_pusher *p;
    struct cwstream *s;
    struct cwcall *prev, *next; /* in p->calls (sent) or s->parked */
    enum call_kind kind;
    struct cwev *evs; /* owned; PUT only */
    size_t n;
    int resent; /* sent again after creating the stream */
    struct ag_buf body;
};

struct cwstream {
    struct cwstream *next;  /* p->streams */
    struct cwstream *hnext; /* hash chain */
    uint64_t hash;
    char *group, *stream; /* owned */
    struct cwev *evs;     /* queued, evs[head..head+count) */
    size_t head, count, cap;
    size_t bytes;           /* Σ(len + 26) of the queued events */
    int64_t min_ts, max_ts; /* of the queued events */
    int sorted;             /* the queue is sorted */
    int known;              /* the stream exists (created or written) */
    int creating;           /* a creation sequence is running */
    struct cwcall *parked;  /* puts waiting for the creation */
    size_t n_calls;         /* calls (puts, creations) that point at this stream */
};

#define HASH_BUCKETS 256u
/* Streams known at most; past it the idle ones (nothing queued or in flight) are forgotten, and
 * a stream forgotten then written again costs one ResourceNotFound round trip at worst. */
#define STREAM_CACHE_MAX 4096u

struct ex_cw_pusher {
    struct event_base *base;
    struct ex_cw_sender sender;
    char *id;
    char *logs_format;
    size_t max_bytes;
    unsigned max_in_flight;
    size_t max_event_bytes;
    uint64_t flush_ms;
    uint64_t drain_timeout_ms;
    unsigned retention_days;
    struct ex_cw_tag *tags; /* owned, with owned strings */
    size_t n_tags;
    ex_cw_clock_fn *clock;
    void *clock_ctx;

    struct cwstream *streams;
    struct cwstream *buckets[HASH_BUCKETS];
    struct cwstream *rr;   /* where the next pump starts looking */
    struct cwstream *last; /* the last stream pushed to */
    size_t n_streams;
    size_t queued; /* events queued (not in calls) */
    size_t bytes;  /* message bytes queued and in calls */
    uint64_t seq;
    struct cwcall *calls; /* sent and not done */
    size_t n_puts;        /* puts sent or parked */
    size_t n_creates;
    int force; /* send partial batches */
    int closed;
    struct event *timer;
    struct ag_buf spare; /* the last finished put's body, kept for the next put: its ~1 MB stays
                            allocated and mapped instead of being freed and faulted in again */

    struct ex_cw_pusher_stats stats;
    struct limiter log_failed, log_dropped, log_rejected;
    struct ag_metric *m_sent, *m_failed, *m_truncated;
    struct ag_metric *m_empty, *m_old, *m_new, *m_rnew, *m_rold, *m_rexp;
};

/* ---- pure helpers ---------------------------------------------------------------------------- */

static const unsigned retentions[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                      365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

bool ex_cw_retention_valid(long long days)
{
    if (days == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof(retentions) / sizeof(retentions[0]); i++) {
        if (days == (long long)retentions[i]) {
            return true;
        }
    }
    return false;
}

bool ex_cw_group_name_valid(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > EX_CW_MAX_NAME_BYTES) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '/' || c == '#')) {
            return false;
        }
    }
    return true;
}

bool ex_cw_stream_name_valid(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    return n > 0 && n <= EX_CW_MAX_NAME_BYTES && strchr(name, ':') == NULL &&
           strchr(name, '*') == NULL;
}

size_t ex_cw_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t cut = max;
    /* Back off continuation bytes: at most 3 in valid UTF-8. */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) {
        cut--;
    }
    return cut;
}

/* The size of |s| once every byte that is not UTF-8 became U+FFFD, and whether it changes. */
static size_t utf8_clean_len(const char *s, size_t len, int *dirty)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 0;
    *dirty = 0;
    for (size_t i = 0; i < len;) {
        /* ASCII runs 8 bytes at a time. */
        uint64_t word;
        if (i + 8 <= len && (memcpy(&word, u + i, 8), (word & 0x8080808080808080ull) == 0)) {
            i += 8;
            out += 8;
            continue;
        }
        if (u[i] < 0x80) {
            i++;
            out++;
            continue;
        }
        size_t n = ag_json_utf8_len(u + i, len - i);
        if (n == 0) {
            *dirty = 1;
            out += 3;
            i++;
        } else {
            out += n;
            i += n;
        }
    }
    return out;
}

/* Writes the clean form of |s| into |dst| (utf8_clean_len() bytes, at most |max|). */
static size_t utf8_clean_copy(char *dst, size_t max, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = u[i] < 0x80 ? 1 : ag_json_utf8_len(u + i, len - i);
        const char *src = n != 0 ? s + i : "\xEF\xBF\xBD";
        size_t w = n != 0 ? n : 3;
        if (o + w > max) {
            break;
        }
        memcpy(dst + o, src, w);
        o += w;
        i += n != 0 ? n : 1;
    }
    return o;
}

int ex_cw_parse_rejected(const uint8_t *body, size_t len, size_t n, struct ex_cw_rejected *out)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *root = json_loadb((const char *)body, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return AG_EPROTO;
    }
    json_t *info = json_object_get(root, "rejectedLogEventsInfo");
    json_t *jnew = json_object_get(info, "tooNewLogEventStartIndex");
    json_t *jold = json_object_get(info, "tooOldLogEventEndIndex");
    json_t *jexp = json_object_get(info, "expiredLogEventEndIndex");
    /* End indices are exclusive: events [0, end) were rejected; the new ones are [start, n). */
    size_t exp_end = 0, old_end = 0, new_start = n;
    if (json_is_integer(jexp) && json_integer_value(jexp) > 0) {
        json_int_t v = json_integer_value(jexp);
        exp_end = (uint64_t)v > n ? n : (size_t)v;
    }
    if (json_is_integer(jold) && json_integer_value(jold) > 0) {
        json_int_t v = json_integer_value(jold);
        old_end = (uint64_t)v > n ? n : (size_t)v;
    }
    if (json_is_integer(jnew) && json_integer_value(jnew) >= 0) {
        json_int_t v = json_integer_value(jnew);
        new_start = (uint64_t)v > n ? n : (size_t)v;
    }
    /* An event is counted once: expired first, then too old, then too new. */
    out->expired = exp_end;
    out->too_old = old_end > exp_end ? old_end - exp_end : 0;
    size_t low = exp_end > old_end ? exp_end : old_end;
    out->too_new = new_start > low ? n - new_start : n - low;
    json_decref(root);
    return 0;
}

/* ---- counting and logging -------------------------------------------------------------------- */

/* Returns 0 when this line must be held back, else 1 + the lines held back since the last. */
static uint64_t limiter_take(struct limiter *l)
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

static void count_failed(struct ex_cw_pusher *p, size_t n, const char *what, const char *why)
{
    if (n == 0) {
        return;
    }
    p->stats.failed += n;
    ag_metric_add(p->m_failed, n);
    uint64_t lines = limiter_take(&p->log_failed);
    if (lines > 0) {
        ag_log_error(p->id,
                     "%s failed: %s; %zu log events lost (%llu similar lines held back "
                     "before this one)",
                     what, why, n, (unsigned long long)lines - 1);
    }
}

static void describe(const struct ex_aws_result *res, char *why, size_t len)
{
    if (res->error.code[0] != '\0') {
        snprintf(why, len, "%s (HTTP %d, %s%s%s) after %u attempts", res->error.code, res->status,
                 res->error.message[0] ? res->error.message : "no message",
                 res->request_id ? ", request id " : "", res->request_id ? res->request_id : "",
                 res->attempts);
    } else {
        snprintf(why, len, "%s%s%s (HTTP %d) after %u attempts", ag_strerror(res->rc),
                 res->error.message[0] ? ": " : "", res->error.message, res->status, res->attempts);
    }
}

static int64_t now_ms(const struct ex_cw_pusher *p)
{
    if (p->clock != NULL) {
        return p->clock(p->clock_ctx);
    }
    return (int64_t)(ag_time_now_ns() / 1000000u);
}

/* ---- streams --------------------------------------------------------------------------------- */

static uint64_t name_hash(const char *g, const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *g; g++) {
        h = (h ^ (unsigned char)*g) * 1099511628211ull;
    }
    h = (h ^ 0xff) * 1099511628211ull;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static struct cwstream *stream_find(struct ex_cw_pusher *p, const char *g, const char *s,
                                    uint64_t h)
{
    for (struct cwstream *st = p->buckets[h % HASH_BUCKETS]; st != NULL; st = st->hnext) {
        if (st->hash == h && strcmp(st->group, g) == 0 && strcmp(st->stream, s) == 0) {
            return st;
        }
    }
    return NULL;
}

static void stream_free(struct cwstream *st)
{
    ag_free(st->evs);
    ag_free(st->group);
    ag_free(st->stream);
    ag_free(st);
}

/* Forgets every idle stream and rebuilds the hash table. */
static void streams_sweep(struct ex_cw_pusher *p)
{
    struct cwstream **pp = &p->streams;
    memset(p->buckets, 0, sizeof(p->buckets));
    while (*pp != NULL) {
        struct cwstream *st = *pp;
        if (st->count == 0 && st->n_calls == 0 && !st->creating && st->parked == NULL) {
            *pp = st->next;
            stream_free(st);
            p->n_streams--;
            continue;
        }
        st->hnext = p->buckets[st->hash % HASH_BUCKETS];
        p->buckets[st->hash % HASH_BUCKETS] = st;
        pp = &st->next;
    }
    p->rr = NULL;
    p->last = NULL;
}

/* Returns the stream of (g, s), created empty when new, or NULL when out of memory. */
static struct cwstream *stream_get(struct ex_cw_pusher *p, const char *g, const char *s)
{
    if (p->last != NULL && strcmp(p->last->group, g) == 0 && strcmp(p->last->stream, s) == 0) {
        return p->last;
    }
    uint64_t h = name_hash(g, s);
    struct cwstream *st = stream_find(p, g, s, h);
    if (st != NULL) {
        p->last = st;
        return st;
    }
    if (p->n_streams >= STREAM_CACHE_MAX) {
        streams_sweep(p);
    }
    st = ag_calloc(1, sizeof(*st));
    if (st == NULL) {
        return NULL;
    }
    st->group = ag_strdup(g);
    st->stream = ag_strdup(s);
    if (st->group == NULL || st->stream == NULL) {
        ag_free(st->group);
        ag_free(st->stream);
        ag_free(st);
        return NULL;
    }
    st->hash = h;
    st->sorted = 1;
    st->hnext = p->buckets[h % HASH_BUCKETS];
    p->buckets[h % HASH_BUCKETS] = st;
    st->next = p->streams;
    p->streams = st;
    p->last = st;
    p->n_streams++;
    return st;
}

/* Makes room for |n| more events at the back. Returns 0 or AG_ENOMEM (unchanged). */
static int stream_reserve(struct cwstream *st, size_t n)
{
    if (st->head + st->count + n <= st->cap) {
        return 0;
    }
    if (st->head > 0) {
        memmove(st->evs, st->evs + st->head, st->count * sizeof(*st->evs));
        st->head = 0;
        if (st->count + n <= st->cap) {
            return 0;
        }
    }
    size_t ncap = st->cap ? st->cap : 16;
    while (ncap < st->count + n) {
        ncap *= 2;
    }
    struct cwev *e = ag_realloc(st->evs, ncap * sizeof(*e));
    if (e == NULL) {
        return AG_ENOMEM;
    }
    st->evs = e;
    st->cap = ncap;
    return 0;
}

static void stream_recount(struct cwstream *st)
{
    st->bytes = 0;
    for (size_t i = 0; i < st->count; i++) {
        const struct cwev *e = &st->evs[st->head + i];
        st->bytes += e->len + EX_CW_EVENT_OVERHEAD;
        if (i == 0 || e->ts < st->min_ts) {
            st->min_ts = e->ts;
        }
        if (i == 0 || e->ts > st->max_ts) {
            st->max_ts = e->ts;
        }
    }
}

static int ev_cmp(const void *a, const void *b)
{
    const struct cwev *x = a, *y = b;
    if (x->ts != y->ts) {
        return x->ts < y->ts ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The end of the sorted run of the |n| events of |a| that starts at |i|. */
static size_t run_end(const struct cwev *a, size_t n, size_t i)
{
    while (i + 1 < n && ev_cmp(&a[i], &a[i + 1]) <= 0) {
        i++;
    }
    return i + 1;
}

/*
 * Sorts the queue by (timestamp, arrival), a total order, so the result is the one order a
 * stable sort by timestamp gives. The queue is mostly a few sorted runs (what was sorted before,
 * then each push in its own order), so adjacent runs are merged, pass after pass: linear for the
 * usual two or three runs where qsort was n log n through a pointer. Without memory for the merge
 * buffer, qsort does it.
 */
static void stream_sort(struct cwstream *st)
{
    if (st->sorted) {
        return;
    }
    struct cwev *a = st->evs + st->head;
    size_t n = st->count;
    struct cwev *tmp = n > 1 ? ag_malloc(n * sizeof(*tmp)) : NULL;
    if (tmp == NULL) {
        qsort(a, n, sizeof(*a), ev_cmp);
        st->sorted = 1;
        return;
    }
    for (;;) {
        size_t i = 0, runs = 0;
        while (i < n) {
            size_t mid = run_end(a, n, i);
            runs++;
            if (mid == n) {
                break;
            }
            size_t end = run_end(a, n, mid), x = i, y = mid, o = 0;
            while (x < mid && y < end) {
                /* Ties go to the left run: it holds the earlier arrivals. */
                tmp[o++] = ev_cmp(&a[y], &a[x]) < 0 ? a[y++] : a[x++];
            }
            while (x < mid) {
                tmp[o++] = a[x++];
            }
            /* What is left of the right run is already in place. */
            memcpy(a + i, tmp, o * sizeof(*a));
            i = end;
        }
        if (runs <= 1) {
            break;
        }
    }
    ag_free(tmp);
    st->sorted = 1;
}

/* Whether the queue holds more than one batch can carry (so a full batch can leave now). */
static int stream_full(const struct cwstream *st)
{
    return st->count >= EX_CW_MAX_BATCH_EVENTS || st->bytes > EX_CW_MAX_BATCH_BYTES ||
           (st->count > 0 && st->max_ts - st->min_ts > EX_CW_MAX_SPAN_MS);
}

/* The number of events from the front of the sorted queue that make one batch. */
static size_t batch_take(const struct cwstream *st)
{
    size_t bytes = 0, n = 0;
    const struct cwev *first = &st->evs[st->head];
    while (n < st->count && n < EX_CW_MAX_BATCH_EVENTS) {
        const struct cwev *e = &st->evs[st->head + n];
        if (bytes + e->len + EX_CW_EVENT_OVERHEAD > EX_CW_MAX_BATCH_BYTES ||
            e->ts - first->ts > EX_CW_MAX_SPAN_MS) {
            break;
        }
        bytes += e->len + EX_CW_EVENT_OVERHEAD;
        n++;
    }
    return n;
}

static void ev_free(struct ex_cw_pusher *p, struct cwev *e)
{
    p->bytes -= e->len;
    ag_free(e->msg);
    e->msg = NULL;
}

/* ---- calls ----------------------------------------------------------------------------------- */

static void call_link(struct cwcall **list, struct cwcall *c)
{
    c->prev = NULL;
    c->next = *list;
    if (*list != NULL) {
        (*list)->prev = c;
    }
    *list = c;
}

static void call_unlink(struct cwcall **list, struct cwcall *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        *list = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
}

static void call_free(struct ex_cw_pusher *p, struct cwcall *c)
{
    for (size_t i = 0; i < c->n; i++) {
        ev_free(p, &c->evs[i]);
    }
    ag_free(c->evs);
    if (c->kind == CALL_PUT && ag_buf_ptr(&p->spare) == NULL) {
        p->spare = c->body;
        ag_buf_reset(&p->spare);
    } else {
        ag_buf_cleanup(&c->body);
    }
    c->s->n_calls--;
    if (c->kind == CALL_PUT) {
        p->n_puts--;
    }
    ag_free(c);
}

static const char *kind_target(enum call_kind k)
{
    switch (k) {
    case CALL_PUT:
        return TARGET_PREFIX "PutLogEvents";
    case CALL_CREATE_STREAM:
        return TARGET_PREFIX "CreateLogStream";
    case CALL_CREATE_GROUP:
        return TARGET_PREFIX "CreateLogGroup";
    case CALL_RETENTION:
        return TARGET_PREFIX "PutRetentionPolicy";
    }
    return "";
}

static void on_done(void *arg, const struct ex_aws_result *res);

/* Sends |c| (its body written). Returns 0 (in p->calls now) or the sender's error. */
static int call_send(struct ex_cw_pusher *p, struct cwcall *c)
{
    struct ex_aws_header hdr = {"x-amzn-logs-format", p->logs_format};
    struct ex_aws_call call = {
        .method = "POST",
        .path = "/",
        .content_type = "application/x-amz-json-1.1",
        .target = kind_target(c->kind),
        .headers = c->kind == CALL_PUT && p->logs_format != NULL ? &hdr : NULL,
        .n_headers = c->kind == CALL_PUT && p->logs_format != NULL ? 1 : 0,
        .body = ag_buf_ptr(&c->body),
        .body_len = c->body.len,
        /* |c| owns the body until on_done() has run (call_free() only after that, or for a
         * call that never started): the client need not copy ~1 MB per put. */
        .body_borrowed = true,
    };
    if (c->kind == CALL_PUT) {
        p->stats.calls++;
    }
    int rc = p->sender.send(p->sender.ctx, &call, on_done, c);
    if (rc == 0) {
        call_link(&p->calls, c);
        if (c->kind != CALL_PUT) {
            p->n_creates++;
        }
    }
    return rc;
}

/* Writes and sends one creation call for |st|. Returns 0 or an AG_E* (nothing in flight). */
static int create_send(struct ex_cw_pusher *p, struct cwstream *st, enum call_kind kind)
{
    struct cwcall *c = ag_calloc(1, sizeof(*c));
    if (c == NULL) {
        return AG_ENOMEM;
    }
    c->p = p;
    c->s = st;
    st->n_calls++;
    c->kind = kind;
    ag_buf_init(&c->body, 64 * 1024);
    struct ag_json w;
    ag_json_init(&w, &c->body);
    ag_json_obj_open(&w);
    ag_json_key(&w, "logGroupName");
    ag_json_str(&w, st->group);
    if (kind == CALL_CREATE_STREAM) {
        ag_json_key(&w, "logStreamName");
        ag_json_str(&w, st->stream);
    } else if (kind == CALL_CREATE_GROUP && p->n_tags > 0) {
        ag_json_key(&w, "tags");
        ag_json_obj_open(&w);
        for (size_t i = 0; i < p->n_tags; i++) {
            ag_json_key(&w, p->tags[i].key);
            ag_json_str(&w, p->tags[i].value);
        }
        ag_json_obj_close(&w);
    } else if (kind == CALL_RETENTION) {
        ag_json_key(&w, "retentionInDays");
        ag_json_uint(&w, p->retention_days);
    }
    ag_json_obj_close(&w);
    int rc = ag_json_finish(&w);
    if (rc == 0) {
        rc = call_send(p, c);
    }
    if (rc != 0) {
        call_free(p, c);
    }
    return rc;
}

/* Fails every put parked on |st| and ends its creation. */
static void fail_parked(struct ex_cw_pusher *p, struct cwstream *st, const char *why)
{
    st->creating = 0;
    while (st->parked != NULL) {
        struct cwcall *c = st->parked;
        call_unlink(&st->parked, c);
        count_failed(p, c->n, "PutLogEvents", why);
        call_free(p, c);
    }
}

/* Sends again every put parked on |st|, its stream now known. */
static void resend_parked(struct ex_cw_pusher *p, struct cwstream *st)
{
    st->creating = 0;
    st->known = 1;
    while (st->parked != NULL) {
        struct cwcall *c = st->parked;
        call_unlink(&st->parked, c);
        c->resent = 1;
        int rc = p->closed ? AG_EAGAIN : call_send(p, c);
        if (rc != 0) {
            count_failed(p, c->n, "PutLogEvents", p->closed ? "shutting down" : ag_strerror(rc));
            call_free(p, c);
        }
    }
}

static int is_code(const struct ex_aws_result *res, const char *code)
{
    return res->rc == AG_EUPSTREAM && strcmp(res->error.code, code) == 0;
}

static void pump(struct ex_cw_pusher *p);

static void on_create_done(struct ex_cw_pusher *p, struct cwcall *c,
                           const struct ex_aws_result *res)
{
    struct cwstream *st = c->s;
    enum call_kind kind = c->kind;
    int ok = res->rc == 0 || is_code(res, "ResourceAlreadyExistsException");
    char why[768];
    describe(res, why, sizeof(why));
    call_free(p, c);
    if (p->closed) {
        fail_parked(p, st, "shutting down");
        return;
    }
    int rc = 0;
    if (kind == CALL_CREATE_STREAM) {
        if (ok) {
            p->stats.streams_created++;
            resend_parked(p, st);
            return;
        }
        if (is_code(res, "ResourceNotFoundException")) {
            rc = create_send(p, st, CALL_CREATE_GROUP);
        } else {
            ag_log_error(p->id, "CreateLogStream %s / %s failed: %s", st->group, st->stream, why);
            fail_parked(p, st, why);
            return;
        }
    } else if (kind == CALL_CREATE_GROUP) {
        if (!ok) {
            ag_log_error(p->id, "CreateLogGroup %s failed: %s", st->group, why);
            fail_parked(p, st, why);
            return;
        }
        p->stats.groups_created++;
        rc = p->retention_days > 0 && res->rc == 0 ? create_send(p, st, CALL_RETENTION)
                                                   : create_send(p, st, CALL_CREATE_STREAM);
    } else {
        if (res->rc != 0) {
            /* The events matter more than the retention: log and go on. */
            ag_log_error(p->id, "PutRetentionPolicy %s (%u days) failed: %s", st->group,
                         p->retention_days, why);
        }
        rc = create_send(p, st, CALL_CREATE_STREAM);
    }
    if (rc != 0) {
        fail_parked(p, st, ag_strerror(rc));
    }
}

static void count_rejected(struct ex_cw_pusher *p, struct cwcall *c,
                           const struct ex_aws_result *res)
{
    struct ex_cw_rejected r = {0, 0, 0};
    if (res->body_len > 0 && ex_cw_parse_rejected(res->body, res->body_len, c->n, &r) != 0) {
        ag_log_warn(p->id, "PutLogEvents answered 200 with a body that is not a JSON object; "
                           "taking every event as sent");
    }
    size_t rej = r.too_new + r.too_old + r.expired;
    p->stats.sent += c->n - rej;
    ag_metric_add(p->m_sent, c->n - rej);
    if (rej == 0) {
        return;
    }
    p->stats.rejected_too_new += r.too_new;
    p->stats.rejected_too_old += r.too_old;
    p->stats.rejected_expired += r.expired;
    ag_metric_add(p->m_rnew, r.too_new);
    ag_metric_add(p->m_rold, r.too_old);
    ag_metric_add(p->m_rexp, r.expired);
    uint64_t lines = limiter_take(&p->log_rejected);
    if (lines > 0) {
        ag_log_warn(p->id,
                    "PutLogEvents to %s / %s: the service rejected %zu of %zu events "
                    "(%zu too new, %zu too old, %zu expired; %llu similar lines held back)",
                    c->s->group, c->s->stream, rej, c->n, r.too_new, r.too_old, r.expired,
                    (unsigned long long)lines - 1);
    }
}

static void on_done(void *arg, const struct ex_aws_result *res)
{
    struct cwcall *c = arg;
    struct ex_cw_pusher *p = c->p;
    struct cwstream *st = c->s;
    call_unlink(&p->calls, c);
    if (c->kind != CALL_PUT) {
        p->n_creates--;
        on_create_done(p, c, res);
        pump(p);
        return;
    }
    if (res->rc == 0) {
        st->known = 1;
        count_rejected(p, c, res);
        call_free(p, c);
    } else if (is_code(res, "ResourceNotFoundException") && !c->resent && !p->closed) {
        /* Park the put until the stream exists; one creation sequence per stream. */
        st->known = 0;
        call_link(&st->parked, c);
        if (!st->creating) {
            st->creating = 1;
            int rc = create_send(p, st, CALL_CREATE_STREAM);
            if (rc != 0) {
                fail_parked(p, st, ag_strerror(rc));
            }
        }
    } else {
        char why[768];
        describe(res, why, sizeof(why));
        count_failed(p, c->n, "PutLogEvents", why);
        call_free(p, c);
    }
    pump(p);
}

/* Writes the decimal form of |v| at |q| (room for 20 digits and a sign); returns the end. */
static char *put_int(char *q, int64_t v)
{
    char tmp[24], *t = tmp + sizeof(tmp);
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--t = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0) {
        *--t = '-';
    }
    size_t n = (size_t)(tmp + sizeof(tmp) - t);
    memcpy(q, t, n);
    return q + n;
}

/*
 * Writes the PutLogEvents body for the first |n| queued events of |st| into |b|: the JSON the
 * streaming writer would give, with each message copied as queued (escaped already). The names
 * go through the escaper; the events are written straight into room reserved for all of them at
 * once (one bound check per body, not five appends per event). Returns 0, or AG_ETOOBIG /
 * AG_ENOMEM (|b| freed).
 */
static int put_body(struct ag_buf *b, const struct cwstream *st, size_t n)
{
    static const char ev_open[] = "{\"timestamp\":", ev_msg[] = ",\"message\":\"";
    size_t glen = strlen(st->group), slen = strlen(st->stream);
    size_t need = 64 + 6 * (glen + slen), events = 2;
    for (size_t i = 0; i < n; i++) {
        /* The comma, 20 digits and a sign at most, the quote and brace after the message. */
        events += 1 + sizeof(ev_open) + sizeof(ev_msg) + 24 + st->evs[st->head + i].esc_len;
    }
    need += events;
    if (b->len == 0 && b->alloc != 0 && b->alloc <= need) {
        /* A kept body too small: growing it would copy its old bytes for nothing. */
        ag_buf_cleanup(b);
    }
    if (ag_buf_reserve(b, need) == NULL) {
        return need > b->cap ? AG_ETOOBIG : AG_ENOMEM;
    }
    int rc = ag_buf_adds(b, "{\"logGroupName\":\"");
    rc = rc != 0 ? rc : ag_json_escape(b, st->group, glen);
    rc = rc != 0 ? rc : ag_buf_adds(b, "\",\"logStreamName\":\"");
    rc = rc != 0 ? rc : ag_json_escape(b, st->stream, slen);
    rc = rc != 0 ? rc : ag_buf_adds(b, "\",\"logEvents\":[");
    char *q = rc == 0 ? (char *)ag_buf_reserve(b, events) : NULL;
    if (q == NULL) {
        return rc != 0 ? rc : AG_ENOMEM; /* not reached: |need| covers it */
    }
    char *const q0 = q;
    for (size_t i = 0; i < n; i++) {
        const struct cwev *e = &st->evs[st->head + i];
        if (i > 0) {
            *q++ = ',';
        }
        memcpy(q, ev_open, sizeof(ev_open) - 1);
        q = put_int(q + sizeof(ev_open) - 1, e->ts);
        memcpy(q, ev_msg, sizeof(ev_msg) - 1);
        q += sizeof(ev_msg) - 1;
        memcpy(q, e->msg, e->esc_len);
        q += e->esc_len;
        *q++ = '"';
        *q++ = '}';
    }
    *q++ = ']';
    *q++ = '}';
    ag_buf_commit(b, (size_t)(q - q0));
    return 0;
}

/* Starts one put with the first batch of |st|. Returns 0, or AG_ENOMEM (nothing started). */
static int start_put(struct ex_cw_pusher *p, struct cwstream *st)
{
    stream_sort(st);
    size_t n = batch_take(st);
    struct cwcall *c = ag_calloc(1, sizeof(*c));
    struct cwev *evs = ag_malloc(n * sizeof(*evs));
    if (c == NULL || evs == NULL) {
        ag_free(c);
        ag_free(evs);
        return AG_ENOMEM;
    }
    c->p = p;
    c->s = st;
    c->kind = CALL_PUT;
    c->body = p->spare;
    ag_buf_init(&p->spare, MAX_BODY_BYTES);
    int rc = put_body(&c->body, st, n);
    if (rc != 0) {
        ag_buf_cleanup(&c->body);
        ag_free(c);
        ag_free(evs);
        return rc;
    }
    memcpy(evs, st->evs + st->head, n * sizeof(*evs));
    st->n_calls++;
    st->head += n;
    st->count -= n;
    p->queued -= n;
    /* The queue is sorted: the rest's bounds are its ends, its size what the batch did not take. */
    for (size_t i = 0; i < n; i++) {
        st->bytes -= evs[i].len + EX_CW_EVENT_OVERHEAD;
    }
    if (st->count > 0) {
        st->min_ts = st->evs[st->head].ts;
        st->max_ts = st->evs[st->head + st->count - 1].ts;
    }
    c->evs = evs;
    c->n = n;
    p->n_puts++;
    rc = call_send(p, c);
    if (rc != 0) {
        count_failed(p, n, "PutLogEvents", ag_strerror(rc));
        call_free(p, c);
    }
    return 0;
}

/* Starts puts, round robin over the streams, up to max_in_flight. */
static void pump(struct ex_cw_pusher *p)
{
    if (p->closed) {
        return;
    }
    if (p->queued == 0) {
        p->force = 0;
        return;
    }
    while (p->n_puts < p->max_in_flight && p->queued > 0) {
        struct cwstream *start = p->rr != NULL ? p->rr : p->streams;
        struct cwstream *st = start, *pick = NULL;
        do {
            if (st->count > 0 && !st->creating && (p->force || stream_full(st))) {
                pick = st;
                break;
            }
            st = st->next != NULL ? st->next : p->streams;
        } while (st != start);
        if (pick == NULL) {
            return;
        }
        p->rr = pick->next;
        if (start_put(p, pick) != 0) {
            /* Out of memory: the events wait for the next push, answer or tick. */
            return;
        }
    }
    if (p->queued == 0) {
        p->force = 0;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ex_cw_pusher *p = arg;
    if (p->queued > 0) {
        p->force = 1;
        pump(p);
    }
}

/* ---- the interface --------------------------------------------------------------------------- */

int ex_cw_pusher_new(struct event_base *base, const struct ex_cw_pusher_options *opts,
                     const struct ex_cw_sender *sender, struct ex_cw_pusher **out)
{
    struct ex_cw_pusher *p = NULL;
    int rc = AG_EINVAL;
    *out = NULL;
    if (base == NULL || opts == NULL || sender == NULL || sender->send == NULL ||
        (opts->max_event_bytes != 0 &&
         (opts->max_event_bytes > EX_CW_MAX_EVENT_BYTES ||
          opts->max_event_bytes < EX_CW_EVENT_OVERHEAD + MARKER_LEN + 4)) ||
        !ex_cw_retention_valid(opts->retention_days) || opts->n_tags > EX_CW_MAX_TAGS ||
        (opts->n_tags > 0 && opts->tags == NULL)) {
        goto out;
    }
    rc = AG_ENOMEM;
    p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        goto out;
    }
    ag_buf_init(&p->spare, MAX_BODY_BYTES);
    p->id = ag_strdup(opts->id != NULL ? opts->id : "awscloudwatchlogs");
    if (p->id == NULL) {
        goto out;
    }
    if (opts->logs_format != NULL && (p->logs_format = ag_strdup(opts->logs_format)) == NULL) {
        goto out;
    }
    if (opts->n_tags > 0) {
        p->tags = ag_calloc(opts->n_tags, sizeof(*p->tags));
        if (p->tags == NULL) {
            goto out;
        }
        for (size_t i = 0; i < opts->n_tags; i++) {
            p->n_tags++;
            if (opts->tags[i].key == NULL || opts->tags[i].value == NULL) {
                rc = AG_EINVAL;
                goto out;
            }
            p->tags[i].key = ag_strdup(opts->tags[i].key);
            p->tags[i].value = ag_strdup(opts->tags[i].value);
            if (p->tags[i].key == NULL || p->tags[i].value == NULL) {
                goto out;
            }
        }
    }
    p->base = base;
    p->sender = *sender;
    p->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
    p->max_in_flight = opts->max_in_flight ? opts->max_in_flight : 1;
    p->max_event_bytes = opts->max_event_bytes ? opts->max_event_bytes : EX_CW_DEFAULT_EVENT_BYTES;
    p->flush_ms = opts->flush_interval_ms ? opts->flush_interval_ms : DEFAULT_FLUSH_MS;
    p->drain_timeout_ms = opts->drain_timeout_ms ? opts->drain_timeout_ms : DRAIN_TIMEOUT_MS;
    p->retention_days = opts->retention_days;
    p->clock = opts->clock;
    p->clock_ctx = opts->clock_ctx;
    p->timer = event_new(base, -1, EV_PERSIST, on_tick, p);
    if (p->timer == NULL) {
        goto out;
    }
    struct timeval tv = {(time_t)(p->flush_ms / 1000), (suseconds_t)(p->flush_ms % 1000 * 1000)};
    if (event_add(p->timer, &tv) != 0) {
        goto out;
    }
    /* Counters are optional (NULL ones are ignored), so a failed registration costs only them. */
    p->m_sent = ag_metrics_exporter_counter("otter_exporter_log_events_sent_total",
                                            "Log events CloudWatch Logs accepted.", p->id, NULL);
    p->m_failed = ag_metrics_exporter_counter("otter_exporter_log_events_failed_total",
                                              "Log events lost with a failed CloudWatch Logs "
                                              "call.",
                                              p->id, NULL);
    p->m_truncated =
        ag_metrics_exporter_counter("otter_exporter_log_events_truncated_total",
                                    "Log events cut to the per-event size limit.", p->id, NULL);
    p->m_empty = ag_metrics_exporter_dropped(p->id, "empty");
    p->m_old = ag_metrics_exporter_dropped(p->id, "too_old");
    p->m_new = ag_metrics_exporter_dropped(p->id, "too_new");
    p->m_rnew = ag_metrics_exporter_dropped(p->id, "rejected_too_new");
    p->m_rold = ag_metrics_exporter_dropped(p->id, "rejected_too_old");
    p->m_rexp = ag_metrics_exporter_dropped(p->id, "rejected_expired");
    *out = p;
    p = NULL;
    rc = 0;
out:
    ex_cw_pusher_free(p);
    return rc;
}

bool ex_cw_pusher_has_room(const struct ex_cw_pusher *p)
{
    return p->bytes < p->max_bytes;
}

/* What to do with one event before it is queued. */
enum verdict { KEEP, DROP_EMPTY, DROP_OLD, DROP_NEW };

static enum verdict judge(const struct ex_cw_event *e, int64_t now)
{
    if (e->len == 0) {
        return DROP_EMPTY;
    }
    if (e->timestamp_ms < now - EX_CW_MAX_AGE_MS) {
        return DROP_OLD;
    }
    if (e->timestamp_ms > now + EX_CW_MAX_AHEAD_MS) {
        return DROP_NEW;
    }
    return KEEP;
}

int ex_cw_message_fit(const char *msg, size_t len, size_t max_event_bytes, char **out,
                      size_t *out_len, int *truncated)
{
    size_t limit = max_event_bytes - EX_CW_EVENT_OVERHEAD;
    int dirty;
    size_t clean = utf8_clean_len(msg, len, &dirty);
    size_t keep = clean, alloc = clean;
    *truncated = clean > limit;
    if (*truncated) {
        keep = limit - MARKER_LEN;
        alloc = limit;
    }
    char *m = ag_malloc(alloc + 1);
    if (m == NULL) {
        return AG_ENOMEM;
    }
    if (dirty) {
        keep = utf8_clean_copy(m, keep, msg, len);
    } else {
        keep = ex_cw_utf8_cut(msg, len, keep);
        memcpy(m, msg, keep);
    }
    if (*truncated) {
        memcpy(m + keep, EX_CW_TRUNCATED_MARKER, MARKER_LEN);
        keep += MARKER_LEN;
    }
    m[keep] = '\0';
    *out = m;
    *out_len = keep;
    return 0;
}

/* Escapes |len| bytes of |s| into a new string: |*out| (NUL-terminated), |*out_len| bytes. */
static int escape_new(const char *s, size_t len, char **out, size_t *out_len)
{
    struct ag_buf b;
    ag_buf_init(&b, 6 * EX_CW_MAX_EVENT_BYTES);
    /* Room for a few escapes up front: most messages then take one allocation. */
    if (ag_buf_reserve(&b, len + len / 8 + 16) == NULL || ag_json_escape(&b, s, len) != 0) {
        return AG_ENOMEM;
    }
    *out = (char *)ag_buf_steal(&b, out_len);
    /* The buffer grew in powers of two: give back what the queue would hold for nothing (a
     * shrink in place; should it fail, the larger block serves as well). */
    char *fit = ag_realloc(*out, *out_len + 1);
    if (fit != NULL) {
        *out = fit;
    }
    return 0;
}

/*
 * Makes the queued form of |e|: valid UTF-8, cut to the limit, escaped for the body (copied as it
 * is when the producer escaped it). Returns 0 or AG_ENOMEM.
 */
static int ev_make(struct ex_cw_pusher *p, const struct ex_cw_event *e, struct cwev *out,
                   int *truncated)
{
    int rc;
    *truncated = 0;
    out->ts = e->timestamp_ms;
    if (e->escaped != NULL) {
        out->msg = ag_malloc(e->escaped_len + 1);
        if (out->msg == NULL) {
            return AG_ENOMEM;
        }
        memcpy(out->msg, e->escaped, e->escaped_len);
        out->msg[e->escaped_len] = '\0';
        out->len = e->len;
        out->esc_len = e->escaped_len;
        return 0;
    }
    int dirty;
    size_t clean = utf8_clean_len(e->message, e->len, &dirty);
    if (!dirty && clean + EX_CW_EVENT_OVERHEAD <= p->max_event_bytes) {
        /* Nothing to replace or cut (the common case): escaped straight from the producer's. */
        out->len = clean;
        return escape_new(e->message, e->len, &out->msg, &out->esc_len);
    }
    char *fit;
    rc = ex_cw_message_fit(e->message, e->len, p->max_event_bytes, &fit, &out->len, truncated);
    if (rc == 0) {
        rc = escape_new(fit, out->len, &out->msg, &out->esc_len);
        ag_free(fit);
    }
    return rc;
}

int ex_cw_pusher_push(struct ex_cw_pusher *p, const struct ex_cw_event *evs, size_t n)
{
    size_t drops[4] = {0};
    size_t truncated = 0;
    int rc = 0;
    if (p->closed) {
        return AG_EAGAIN;
    }
    if (n == 0) {
        return 0;
    }
    if (!ex_cw_pusher_has_room(p)) {
        return AG_EAGAIN;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ex_cw_event *e = &evs[i];
        /* Events of one request mostly share their names: checked once per distinct pointer. */
        bool names_seen = i > 0 && e->group == evs[i - 1].group && e->stream == evs[i - 1].stream;
        if (!names_seen &&
            (!ex_cw_group_name_valid(e->group) || !ex_cw_stream_name_valid(e->stream))) {
            return AG_EINVAL;
        }
        if (e->escaped != NULL ? e->len + EX_CW_EVENT_OVERHEAD > p->max_event_bytes
                               : e->message == NULL && e->len > 0) {
            return AG_EINVAL;
        }
    }
    int64_t now = now_ms(p);
    struct cwstream *st = NULL;
    size_t done = 0;
    for (; done < n; done++) {
        const struct ex_cw_event *e = &evs[done];
        enum verdict v = judge(e, now);
        if (v != KEEP) {
            drops[v]++;
            continue;
        }
        st = stream_get(p, e->group, e->stream);
        if (st == NULL || stream_reserve(st, 1) != 0) {
            rc = AG_ENOMEM;
            break;
        }
        struct cwev ev;
        int cut;
        rc = ev_make(p, e, &ev, &cut);
        if (rc != 0) {
            break;
        }
        ev.seq = p->seq++;
        truncated += cut;
        if (st->count > 0 && ev.ts < st->evs[st->head + st->count - 1].ts) {
            st->sorted = 0;
        }
        if (st->count == 0 || ev.ts < st->min_ts) {
            st->min_ts = ev.ts;
        }
        if (st->count == 0 || ev.ts > st->max_ts) {
            st->max_ts = ev.ts;
        }
        st->evs[st->head + st->count++] = ev;
        st->bytes += ev.len + EX_CW_EVENT_OVERHEAD;
        p->bytes += ev.len;
        p->queued++;
    }
    if (rc != 0) {
        /* All or none: take back what this push queued, newest first (they are at the backs). */
        for (size_t i = done; i-- > 0;) {
            const struct ex_cw_event *e = &evs[i];
            if (judge(e, now) != KEEP) {
                continue;
            }
            st = stream_get(p, e->group, e->stream);
            struct cwev *ev = &st->evs[st->head + --st->count];
            ev_free(p, ev);
            p->queued--;
            p->seq--;
        }
        for (st = p->streams; st != NULL; st = st->next) {
            stream_recount(st);
            st->sorted = 0;
        }
        return rc;
    }
    p->stats.accepted += n - drops[DROP_EMPTY] - drops[DROP_OLD] - drops[DROP_NEW];
    p->stats.truncated += truncated;
    ag_metric_add(p->m_truncated, truncated);
    p->stats.dropped_empty += drops[DROP_EMPTY];
    p->stats.dropped_too_old += drops[DROP_OLD];
    p->stats.dropped_too_new += drops[DROP_NEW];
    ag_metric_add(p->m_empty, drops[DROP_EMPTY]);
    ag_metric_add(p->m_old, drops[DROP_OLD]);
    ag_metric_add(p->m_new, drops[DROP_NEW]);
    if (drops[DROP_EMPTY] + drops[DROP_OLD] + drops[DROP_NEW] > 0) {
        uint64_t lines = limiter_take(&p->log_dropped);
        if (lines > 0) {
            ag_log_warn(p->id,
                        "dropped log events before sending: %zu empty, %zu older than 14 "
                        "days, %zu more than 2 hours ahead (%llu similar lines held back)",
                        drops[DROP_EMPTY], drops[DROP_OLD], drops[DROP_NEW],
                        (unsigned long long)lines - 1);
        }
    }
    pump(p);
    return 0;
}

void ex_cw_pusher_flush(struct ex_cw_pusher *p)
{
    if (p == NULL || p->closed || p->queued == 0) {
        return;
    }
    p->force = 1;
    pump(p);
}

static bool pusher_busy(void *arg)
{
    const struct ex_cw_pusher *p = arg;
    return p->queued > 0 || p->n_puts > 0 || p->n_creates > 0;
}

static void pusher_kick(void *arg)
{
    ex_cw_pusher_flush(arg);
}

void ex_cw_pusher_drain(struct ex_cw_pusher *p)
{
    if (p == NULL || p->closed) {
        return;
    }
    if (ag_drain(p->base, p->drain_timeout_ms, pusher_busy, pusher_kick, p) != 0) {
        ag_log_warn(p->id, "drain timed out with %zu log events queued and %zu calls in flight",
                    p->queued, p->n_puts);
    }
}

size_t ex_cw_pusher_queued(const struct ex_cw_pusher *p)
{
    return p->queued;
}

size_t ex_cw_pusher_in_flight(const struct ex_cw_pusher *p)
{
    return p->n_puts + p->n_creates;
}

const struct ex_cw_pusher_stats *ex_cw_pusher_stats(const struct ex_cw_pusher *p)
{
    return &p->stats;
}

void ex_cw_pusher_close(struct ex_cw_pusher *p)
{
    if (p == NULL || p->closed) {
        return;
    }
    p->closed = 1;
    if (p->timer != NULL) {
        event_del(p->timer);
    }
    size_t n = 0;
    for (struct cwstream *st = p->streams; st != NULL; st = st->next) {
        for (size_t i = 0; i < st->count; i++) {
            ev_free(p, &st->evs[st->head + i]);
        }
        n += st->count;
        st->count = 0;
        st->head = 0;
        st->bytes = 0;
    }
    p->queued = 0;
    count_failed(p, n, "PutLogEvents", "shutting down with log events still queued");
}

void ex_cw_pusher_free(struct ex_cw_pusher *p)
{
    if (p == NULL) {
        return;
    }
    ex_cw_pusher_close(p);
    /* Calls still here mean the sender broke its contract; free them rather than leak. */
    while (p->calls != NULL) {
        struct cwcall *c = p->calls;
        call_unlink(&p->calls, c);
        if (c->kind != CALL_PUT) {
            p->n_creates--;
        }
        count_failed(p, c->n, "PutLogEvents", "freed while in flight");
        call_free(p, c);
    }
    while (p->streams != NULL) {
        struct cwstream *st = p->streams;
        p->streams = st->next;
        fail_parked(p, st, "freed while waiting for the stream");
        stream_free(st);
    }
    for (size_t i = 0; i < p->n_tags; i++) {
        ag_free((char *)p->tags[i].key);
        ag_free((char *)p->tags[i].value);
    }
    ag_free(p->tags);
    if (p->timer != NULL) {
        event_free(p->timer);
    }
    ag_buf_cleanup(&p->spare);
    ag_free(p->logs_format);
    ag_free(p->id);
    ag_free(p);
}
