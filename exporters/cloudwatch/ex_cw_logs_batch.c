/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP logs request -> CloudWatch Logs events, for the awscloudwatchlogs exporter and for
 * `otterd translate --to cwlogs`, so both print and send the same events: messages from ex_cw_logs,
 * names expanded once per resource, drops counted by reason.
 */
#include "ex_cw_logs_batch.h"
#include "ag_mem.h"
#include "ex_cw_logs.h"

#include <string.h>

/*
 * The scratch buffers keep their memory between requests up to this size: a default batch
 * (send_batch_size 8192 records of ~1 kB messages) fits, so a steady stream of batches writes
 * into memory already mapped instead of growing (copying) and faulting in ~10 MB each time.
 */
#define SCRATCH_KEEP (16u * 1024 * 1024)
#define SCRATCH_CAP  (1024u * 1024 * 1024)
/* One record's message before truncation (the receivers' request limits are far below). */
#define RECORD_CAP (64u * 1024 * 1024)

/* One event of the request being converted: offsets into the scratch buffers. */
struct ex_cw_logs_pend {
    size_t msg, len;      /* in msgs */
    size_t plain;         /* the plain message's length when escaped, else 0 */
    bool escaped;         /* msgs holds the message escaped (ex_cw_event.escaped) */
    size_t group, stream; /* in names, NUL-terminated */
    int64_t ts;
};

void ex_cw_logs_batch_init(struct ex_cw_logs_batch *b)
{
    memset(b, 0, sizeof(*b));
    ag_buf_init(&b->msgs, SCRATCH_CAP);
    ag_buf_init(&b->names, SCRATCH_CAP);
    ag_buf_init(&b->one, RECORD_CAP);
    ag_buf_init(&b->shared, RECORD_CAP);
}

void ex_cw_logs_batch_cleanup(struct ex_cw_logs_batch *b)
{
    ag_buf_cleanup(&b->msgs);
    ag_buf_cleanup(&b->names);
    ag_buf_cleanup(&b->one);
    ag_buf_cleanup(&b->shared);
    ag_free(b->pend);
    ag_free(b->evs);
    b->pend = NULL;
    b->evs = NULL;
    b->cap = 0;
    b->n = 0;
}

void ex_cw_logs_batch_trim(struct ex_cw_logs_batch *b)
{
    if (b->msgs.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&b->msgs);
    }
    if (b->one.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&b->one);
    }
    if (b->shared.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&b->shared);
    }
}

const char *ex_cw_logs_drop_name(enum ex_cw_logs_drop d)
{
    switch (d) {
    case EX_CW_LOGS_DROP_INVALID_NAME:
        return "invalid_name";
    case EX_CW_LOGS_DROP_NOT_EMF:
        return "not_emf";
    case EX_CW_LOGS_DROP_ENCODE:
        return "encode";
    case EX_CW_LOGS_DROP_COUNT_:
        break;
    }
    return "unknown";
}

static int pend_reserve(struct ex_cw_logs_batch *b, size_t n)
{
    if (n <= b->cap) {
        return 0;
    }
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < n) {
        ncap *= 2;
    }
    struct ex_cw_logs_pend *p = ag_realloc(b->pend, ncap * sizeof(*p));
    if (p == NULL) {
        return AG_ENOMEM;
    }
    b->pend = p;
    struct ex_cw_event *e = ag_realloc(b->evs, ncap * sizeof(*e));
    if (e == NULL) {
        return AG_ENOMEM;
    }
    b->evs = e;
    b->cap = ncap;
    return 0;
}

/* Appends |s| with its NUL to names and returns its offset in |*off|. */
static int add_name(struct ex_cw_logs_batch *b, const char *s, size_t *off)
{
    *off = b->names.len;
    return ag_buf_add(&b->names, s, strlen(s) + 1);
}

/* convert()'s answer when a message written straight into b->msgs failed: the writers free
 * their buffer on failure, so the fill starts over writing each message into b->one first. */
#define RETRY_VIA_ONE 1

/*
 * Converts one record into b->pend[*n]; drops (counted in b->drops) are not errors. Without
 * raw_log, b->shared holds the scope and resource members of its scope (ex_cw_logs_shared()).
 * With |direct| a default message is written straight at the end of b->msgs (no copy through
 * b->one); any failure of that write returns RETRY_VIA_ONE, b->msgs being gone.
 */
static int convert(struct ex_cw_logs_batch *b, const struct ag_awscloudwatchlogs_config *cfg,
                   const ex_cw_log_record *rec, const ex_cw_scope *scope, const ex_cw_resource *res,
                   size_t g, size_t s, int names_ok, int64_t now, bool direct, size_t *n)
{
    int rc;
    size_t plain = 0;
    bool escaped = b->escaped && !cfg->raw_log;
    direct = direct && !cfg->raw_log;
    struct ag_buf *out = direct ? &b->msgs : &b->one;
    size_t at = out->len; /* where the message starts in |out| */
    if (!direct) {
        ag_buf_reset(&b->one);
        at = 0;
    }
    if (cfg->raw_log) {
        rc = ex_cw_logs_raw(rec, out);
    } else {
        rc = ex_cw_logs_message_shared(rec, ag_buf_str(&b->shared), b->shared.len, b->shared_plain,
                                       escaped, out, &plain);
    }
    size_t limit = cfg->max_event_size != 0 ? cfg->max_event_size : EX_CW_DEFAULT_EVENT_BYTES;
    if (rc == 0 && escaped && plain + EX_CW_EVENT_OVERHEAD > limit) {
        /* Too long for one event: the pusher cuts it, and that needs the plain text. */
        escaped = false;
        ag_buf_truncate(out, at);
        rc = ex_cw_logs_message(rec, scope, res, out);
    }
    if (direct && (rc != 0 || out->len - at >= RECORD_CAP)) {
        /* b->one's cap (one record's message) is what drops a giant record: let it decide. */
        return RETRY_VIA_ONE;
    }
    if (rc == AG_EINVAL || rc == AG_ETOOBIG) {
        b->drops[EX_CW_LOGS_DROP_ENCODE]++;
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (cfg->raw_log) {
        char eg[EX_CW_MAX_NAME_BYTES + 1], es[EX_CW_MAX_NAME_BYTES + 1];
        int emf = ex_cw_logs_emf_route(ag_buf_str(&b->one), b->one.len, eg, es, sizeof(eg));
        if (!emf && cfg->emf_only) {
            b->drops[EX_CW_LOGS_DROP_NOT_EMF]++;
            return 0;
        }
        if (eg[0] != '\0') {
            names_ok = ex_cw_group_name_valid(eg);
            if ((rc = add_name(b, eg, &g)) != 0) {
                return rc;
            }
            if (es[0] != '\0') {
                names_ok = names_ok && ex_cw_stream_name_valid(es);
                if ((rc = add_name(b, es, &s)) != 0) {
                    return rc;
                }
            }
        }
    }
    size_t len = out->len - at;
    if (!names_ok) {
        b->drops[EX_CW_LOGS_DROP_INVALID_NAME]++;
        ag_buf_truncate(out, at);
        return 0;
    }
    if ((rc = pend_reserve(b, *n + 1)) != 0) {
        return rc;
    }
    struct ex_cw_logs_pend *p = &b->pend[(*n)++];
    p->len = len;
    p->plain = escaped ? plain : 0;
    p->escaped = escaped;
    p->group = g;
    p->stream = s;
    p->ts = ex_cw_logs_timestamp(rec, now);
    if (direct) {
        p->msg = at;
        return 0;
    }
    p->msg = b->msgs.len;
    return ag_buf_add(&b->msgs, ag_buf_ptr(&b->one), b->one.len);
}

/* One pass of ex_cw_logs_batch_fill() over |req| into b->pend; returns the events in |*n|. */
static int fill_pass(struct ex_cw_logs_batch *b, const struct ag_awscloudwatchlogs_config *cfg,
                     const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req,
                     int64_t now, bool direct, size_t *np)
{
    size_t n = 0;
    int rc = 0;
    memset(b->drops, 0, sizeof(b->drops));
    ag_buf_reset(&b->msgs);
    ag_buf_reset(&b->names);
    for (size_t i = 0; rc == 0 && i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        size_t g = b->names.len, s;
        rc = ex_cw_logs_name(cfg->log_group_name, rl->resource, &b->names);
        rc = rc != 0 ? rc : ag_buf_add(&b->names, "", 1);
        s = b->names.len;
        rc = rc != 0 ? rc : ex_cw_logs_name(cfg->log_stream_name, rl->resource, &b->names);
        rc = rc != 0 ? rc : ag_buf_add(&b->names, "", 1);
        if (rc != 0) {
            break;
        }
        const char *names = ag_buf_str(&b->names);
        int names_ok = ex_cw_group_name_valid(names + g) && ex_cw_stream_name_valid(names + s);
        for (size_t j = 0; rc == 0 && j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            ag_buf_reset(&b->shared);
            b->shared_plain = 0;
            if (!cfg->raw_log && sl->n_log_records > 0) {
                /* Written once for the scope's records rather than once per record. */
                rc = ex_cw_logs_shared(sl->scope, rl->resource, b->escaped, &b->shared,
                                       &b->shared_plain);
                if (rc == AG_EINVAL || rc == AG_ETOOBIG) {
                    /* Every record of the scope would fail to encode, as it did before. */
                    b->drops[EX_CW_LOGS_DROP_ENCODE] += sl->n_log_records;
                    rc = 0;
                    continue;
                }
            }
            for (size_t k = 0; rc == 0 && k < sl->n_log_records; k++) {
                rc = convert(b, cfg, sl->log_records[k], sl->scope, rl->resource, g, s, names_ok,
                             now, direct, &n);
            }
        }
    }
    *np = n;
    return rc;
}

int ex_cw_logs_batch_fill(
    struct ex_cw_logs_batch *b, const struct ag_awscloudwatchlogs_config *cfg,
    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req, int64_t now)
{
    size_t n = 0;
    b->n = 0;
    /* Messages written where they are kept; a failed write (rare: a message nested too deep or
     * over a cap) starts the request over through the per-record buffer, which keeps the
     * others when one record fails to encode. */
    int rc = fill_pass(b, cfg, req, now, true, &n);
    if (rc == RETRY_VIA_ONE) {
        rc = fill_pass(b, cfg, req, now, false, &n);
    }
    if (rc != 0) {
        return rc;
    }
    const char *msgs = ag_buf_str(&b->msgs);
    const char *names = ag_buf_str(&b->names);
    for (size_t i = 0; i < n; i++) {
        const struct ex_cw_logs_pend *p = &b->pend[i];
        b->evs[i] = (struct ex_cw_event){.group = names + p->group,
                                         .stream = names + p->stream,
                                         .timestamp_ms = p->ts,
                                         .message = p->escaped ? NULL : msgs + p->msg,
                                         .len = p->escaped ? p->plain : p->len,
                                         .escaped = p->escaped ? msgs + p->msg : NULL,
                                         .escaped_len = p->escaped ? p->len : 0};
    }
    b->n = n;
    return 0;
}
