/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The slo exporter: walks the decoded OTLP traces and metrics of its pipelines, turns what each
 * SLO selects into counts in the SLO engine (slo_sli decides, slo_engine keeps the windows),
 * evaluates on a timer and hands alert changes and EMF SLO metrics to the sinks, and keeps its
 * state across restarts in an atomically replaced checkpoint file.
 */
#include "ex_slo_exporter.h"
#include "ex_slo_feed.h"
#include "ag_buf.h"
#include "ag_drain.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"
#include "ex_slo_sink.h"
#include "slo_eval.h"
#include "slo_sli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define CKPT_MAX_BYTES   (256u * 1024 * 1024) /* a checkpoint larger than this is refused */
#define SERIES_KEY_MAX   (64u * 1024)         /* a series identity longer than this is cut */
#define DRAIN_TIMEOUT_MS 5000u                /* at shutdown: the sinks' notifications in flight */

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

struct ex_slo {
    char *id;
    const struct ag_slo_config *cfg;
    struct event_base *base;
    struct ag_buf diag; /* the definitions' diagnostics; outlives defs */
    struct slo_defs *defs;
    struct slo_sli_index *ix;
    struct slo_metric_state *ms;
    struct slo_engine *eng;
    struct ex_slo_sinks *sinks;
    struct event *eval_ev, *ckpt_ev, *metrics_ev;
    struct ex_slo_feed feed; /* every add to the engine; the span path (ex_slo_feed.h) */
    bool feed_ready;         /* feed initialized (after the checkpoint's restore) */
    bool *metric_touched;    /* per SLO: metric increases are pending */
    bool *warned_undecided;  /* per SLO: the undecidable exponential threshold was logged */
    int64_t *metric_t_ms;    /* per SLO: the latest time of those points (0: none) */
    struct ag_buf key;       /* scratch: series identities */
    struct ag_metric *m_points, *m_ckpt_ok, *m_ckpt_failed;
};

static int64_t now_ms(void)
{
    return (int64_t)(ag_time_now_ns() / 1000000ull);
}

/* ---- attributes ------------------------------------------------------------------------------ */

/* Appends "key=value" lines for |a| (strings, integers, booleans and doubles; others by type). */
static int key_add_attrs(struct ag_buf *b, const struct ex_slo_kvs *a)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        const KeyValue *kv = a->kv[i];
        if (kv == NULL || kv->key == NULL) {
            continue;
        }
        const Opentelemetry__Proto__Common__V1__AnyValue *v = kv->value;
        int vc = v != NULL ? (int)v->value_case : 0;
        rc = ag_buf_adds(b, kv->key);
        if (rc != 0) {
            break;
        }
        switch (vc) {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
            rc = ag_buf_printf(b, "=s:%s", v->string_value);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
            rc = ag_buf_printf(b, "=i:%lld", (long long)v->int_value);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
            rc = ag_buf_printf(b, "=b:%d", v->bool_value ? 1 : 0);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
            rc = ag_buf_printf(b, "=d:%.17g", v->double_value);
            break;
        default:
            rc = ag_buf_printf(b, "=?:%d", vc);
            break;
        }
        if (rc == 0) {
            rc = ag_buf_addc(b, '\n');
        }
    }
    return rc;
}

/* ---- metrics --------------------------------------------------------------------------------- */

/* Builds point |p|'s series identity in x->key: metric name, resource, point attributes. */
static int series_key(struct ex_slo *x, const char *metric, const struct ex_slo_kvs *res,
                      const struct ex_slo_kvs *pa)
{
    ag_buf_reset(&x->key);
    int rc = ag_buf_adds(&x->key, metric);
    if (rc == 0) {
        rc = ag_buf_addc(&x->key, '\n');
    }
    if (rc == 0) {
        rc = key_add_attrs(&x->key, res);
    }
    if (rc == 0) {
        rc = ag_buf_addc(&x->key, '\f');
    }
    if (rc == 0) {
        rc = key_add_attrs(&x->key, pa);
    }
    return rc;
}

static void feed_point(struct ex_slo *x, const struct slo_metric_ref *refs, size_t n_refs,
                       bool histogram, struct slo_point *p)
{
    for (size_t i = 0; i < n_refs; i++) {
        const struct slo_metric_ref *ref = &refs[i];
        if ((ref->role == SLO_ROLE_HISTOGRAM) != histogram || !slo_sli_point_matches(ref->sel, p)) {
            continue;
        }
        bool warn = false;
        int rc = slo_metric_add(x->ms, ref, p, &warn);
        if (warn || (rc == AG_EUNSUPP && !x->warned_undecided[ref->slo])) {
            const struct slo_sli_def *sli = &x->defs->slis[x->defs->slos[ref->slo].sli];
            char thr[64] = "?";
            if (slo_decimal_format(&sli->bucket_bound, thr, sizeof(thr)) < 0) {
                snprintf(thr, sizeof(thr), "?");
            }
            struct slo_expo_thr et;
            if (rc == AG_EUNSUPP) {
                x->warned_undecided[ref->slo] = true;
                ag_log_warn(x->id,
                            "SLO %s: exponential histogram %s: the threshold %s is too close to "
                            "a bucket bound of scale 20 to decide which buckets lie below it; "
                            "its exponential points are skipped (counted)",
                            x->defs->slos[ref->slo].name, ref->sel->name, thr);
            } else if (p->expo && slo_expo_thr_init(&sli->bucket_bound, &et) == 0) {
                ag_log_warn(x->id,
                            "SLO %s: exponential histogram %s at scale %d has no bucket bound "
                            "equal to the threshold %s (only powers of two are bounds): good "
                            "counts the buckets up to %.6g, the nearest bound below it",
                            x->defs->slos[ref->slo].name, ref->sel->name, (int)p->ex.scale, thr,
                            slo_expo_effective_bound(&et, p->ex.scale));
            } else {
                ag_log_warn(x->id,
                            "SLO %s: histogram %s has no bucket bound equal to the threshold "
                            "%s: good counts the buckets whose bound is below it",
                            x->defs->slos[ref->slo].name, ref->sel->name, thr);
            }
        }
        if (rc == 0) {
            /* The increase happened by the point's time: it counts there (a point from the
             * future, or without a time, counts now). */
            int64_t t = (int64_t)(p->time_ns / 1000000ull), now = now_ms();
            if (t <= 0 || t > now) {
                t = now;
            }
            x->metric_touched[ref->slo] = true;
            if (t > x->metric_t_ms[ref->slo]) {
                x->metric_t_ms[ref->slo] = t;
            }
            ag_metric_add(x->m_points, 1);
        }
    }
}

/* The pending metric increases of every touched SLO go to the engine at the latest time of
 * their points (else |t_ms|); with |final| a good (or bad) count still above its total is
 * dropped (counted as a violation). */
static void take_metrics(struct ex_slo *x, int64_t t_ms, bool final)
{
    for (size_t i = 0; i < x->defs->n_slos; i++) {
        if (!x->metric_touched[i]) {
            continue;
        }
        uint64_t good, total;
        if (slo_metric_take(x->ms, i, final, &good, &total)) {
            ex_slo_feed_add(&x->feed, i, x->metric_t_ms[i] > 0 ? x->metric_t_ms[i] : t_ms, good,
                            total);
        }
        x->metric_t_ms[i] = 0;
        if (final) {
            x->metric_touched[i] = false;
        }
    }
}

/* Whether temporality |t| is one the SLIs read; *cum says cumulative (else delta). */
static bool temporality_known(int t, bool *cum)
{
    *cum = t == OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    return *cum ||
           t == OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
}

/* Fills |p| with what every metric point carries: its series key (in x->key), temporality,
 * times and the attribute lookups over |pa| and |res| (which must outlive |p|). Returns 0, or
 * non-zero when the key cannot be built (the point is skipped). */
static int point_init(struct ex_slo *x, struct slo_point *p, const char *metric,
                      const struct ex_slo_kvs *res, const struct ex_slo_kvs *pa, bool cum,
                      uint64_t start_ns, uint64_t time_ns)
{
    if (series_key(x, metric, res, pa) != 0) {
        return -1;
    }
    memset(p, 0, sizeof(*p));
    p->key = (const char *)x->key.data;
    p->key_len = x->key.len;
    p->cumulative = cum;
    p->start_ns = start_ns;
    p->time_ns = time_ns;
    p->attr = ex_slo_kv_lookup;
    p->attr_ctx = pa;
    p->res_attr = ex_slo_kv_lookup;
    p->res_ctx = res;
    return 0;
}

/* The points of exponential histogram |met| (its SLOs in |refs|): the histogram SLIs' rule, with
 * the buckets of each point's scale (slo_expo.h). */
static void consume_expo(struct ex_slo *x, const Opentelemetry__Proto__Metrics__V1__Metric *met,
                         const struct ex_slo_kvs *res, const struct slo_metric_ref *refs,
                         size_t n_refs)
{
    const Opentelemetry__Proto__Metrics__V1__ExponentialHistogram *h = met->exponential_histogram;
    bool cum;
    bool known = temporality_known((int)h->aggregation_temporality, &cum);
    for (size_t k = 0; known && k < h->n_data_points; k++) {
        const Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *dp =
            h->data_points[k];
        struct ex_slo_kvs pa = {dp->attributes, dp->n_attributes};
        struct slo_point p;
        if (point_init(x, &p, met->name, res, &pa, cum, dp->start_time_unix_nano,
                       dp->time_unix_nano) != 0) {
            continue;
        }
        p.expo = true;
        p.ex.scale = dp->scale;
        p.ex.count = dp->count;
        p.ex.zero_count = dp->zero_count;
        p.ex.zero_threshold = dp->zero_threshold;
        if (dp->positive != NULL) {
            p.ex.pos_offset = dp->positive->offset;
            p.ex.pos = dp->positive->bucket_counts;
            p.ex.n_pos = dp->positive->n_bucket_counts;
        }
        if (dp->negative != NULL) {
            p.ex.neg = dp->negative->bucket_counts;
            p.ex.n_neg = dp->negative->n_bucket_counts;
        }
        feed_point(x, refs, n_refs, true, &p);
    }
}

static void consume_metrics(struct ex_slo *x, const ProtobufCMessage *msg)
{
    const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
        (const void *)msg;
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[r];
        struct ex_slo_kvs res = {NULL, 0};
        if (rm->resource != NULL) {
            res.kv = rm->resource->attributes;
            res.n = rm->resource->n_attributes;
        }
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[s];
            for (size_t m = 0; m < sm->n_metrics; m++) {
                const Opentelemetry__Proto__Metrics__V1__Metric *met = sm->metrics[m];
                const struct slo_metric_ref *refs;
                size_t n_refs = slo_sli_metrics_for(x->ix, met->name, strlen(met->name), &refs);
                if (n_refs == 0) {
                    continue;
                }
                if (met->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) {
                    const Opentelemetry__Proto__Metrics__V1__Sum *sum = met->sum;
                    bool cum;
                    bool known = temporality_known((int)sum->aggregation_temporality, &cum);
                    for (size_t k = 0; known && k < sum->n_data_points; k++) {
                        const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp =
                            sum->data_points[k];
                        uint64_t v;
                        if (dp->value_case ==
                            OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) {
                            if (dp->as_int < 0) {
                                continue;
                            }
                            v = (uint64_t)dp->as_int;
                        } else if (
                            dp->value_case ==
                            OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) {
                            /* Event counts are whole: a fraction is cut, NaN and negatives
                             * skipped. */
                            if (!(dp->as_double >= 0 && dp->as_double < 1.8e19)) {
                                continue;
                            }
                            v = (uint64_t)dp->as_double;
                        } else {
                            continue;
                        }
                        struct ex_slo_kvs pa = {dp->attributes, dp->n_attributes};
                        struct slo_point p;
                        if (point_init(x, &p, met->name, &res, &pa, cum,
                                       dp->start_time_unix_nano, dp->time_unix_nano) != 0) {
                            continue;
                        }
                        p.value = v;
                        feed_point(x, refs, n_refs, false, &p);
                    }
                } else if (met->data_case ==
                           OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM) {
                    const Opentelemetry__Proto__Metrics__V1__Histogram *h = met->histogram;
                    bool cum;
                    bool known = temporality_known((int)h->aggregation_temporality, &cum);
                    for (size_t k = 0; known && k < h->n_data_points; k++) {
                        const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp =
                            h->data_points[k];
                        struct ex_slo_kvs pa = {dp->attributes, dp->n_attributes};
                        struct slo_point p;
                        if (point_init(x, &p, met->name, &res, &pa, cum,
                                       dp->start_time_unix_nano, dp->time_unix_nano) != 0) {
                            continue;
                        }
                        p.bounds = dp->explicit_bounds;
                        p.n_bounds = dp->n_explicit_bounds;
                        p.buckets = dp->bucket_counts;
                        p.n_buckets = dp->n_bucket_counts;
                        p.count = dp->count;
                        feed_point(x, refs, n_refs, true, &p);
                    }
                } else if (met->data_case ==
                           OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM) {
                    consume_expo(x, met, &res, refs, n_refs);
                }
            }
        }
    }
    /* Good and total of one SLO usually come in the same request: hand over now, keeping a
     * good excess until the next evaluation in case its total comes in a later request. */
    take_metrics(x, now_ms(), false);
}

static int slo_consume(void *self, struct ag_payload *p)
{
    struct ex_slo *x = self;
    if (p->signal == AG_SIGNAL_TRACES) {
        ex_slo_feed_traces(&x->feed, (const void *)p->msg, now_ms());
    } else if (p->signal == AG_SIGNAL_METRICS) {
        consume_metrics(x, p->msg);
    }
    return 0;
}

/* ---- evaluation and the sinks ---------------------------------------------------------------- */

static void on_alert(void *arg, const struct slo_alert_event *ev)
{
    struct ex_slo *x = arg;
    ex_slo_sinks_alert(x->sinks, ev);
}

/* Evaluates every SLO at |at| into |evals| (n_slos of them, zeroed by the caller). */
static int eval_all(struct ex_slo *x, int64_t at, struct slo_eval *evals)
{
    for (size_t i = 0; i < x->defs->n_slos; i++) {
        int rc = slo_engine_eval(x->eng, i, at, &evals[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static void release_all(struct slo_eval *evals, size_t n)
{
    for (size_t i = 0; evals != NULL && i < n; i++) {
        slo_eval_release(&evals[i]);
    }
    ag_free(evals);
}

static void on_eval(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ex_slo *x = arg;
    int64_t at = now_ms();
    take_metrics(x, at, true);
    struct slo_eval *evals = ag_calloc(x->defs->n_slos ? x->defs->n_slos : 1, sizeof(*evals));
    if (evals == NULL || eval_all(x, at, evals) != 0) {
        ag_log_error(x->id, "evaluation failed: out of memory");
    }
    release_all(evals, x->defs->n_slos);
}

static void on_metrics(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ex_slo *x = arg;
    int64_t at = now_ms();
    size_t n = x->defs->n_slos;
    take_metrics(x, at, true);
    struct slo_eval *evals = ag_calloc(n ? n : 1, sizeof(*evals));
    struct ex_slo_metric_input *in = ag_calloc(n ? n : 1, sizeof(*in));
    int rc = evals == NULL || in == NULL ? AG_ENOMEM : eval_all(x, at, evals);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        in[i].eval = &evals[i];
        in[i].good_delta = x->feed.emit_good[i];
        in[i].total_delta = x->feed.emit_total[i];
    }
    if (rc == 0) {
        rc = ex_slo_sinks_metrics(x->sinks, at, in, n);
    }
    if (rc == 0) {
        /* Emitted (or queued): the next emission counts from here. */
        memset(x->feed.emit_good, 0, n * sizeof(*x->feed.emit_good));
        memset(x->feed.emit_total, 0, n * sizeof(*x->feed.emit_total));
    } else {
        ag_log_warn(x->id, "SLO metrics not emitted: %s (the counts carry over)", ag_strerror(rc));
    }
    ag_free(in);
    release_all(evals, n);
}

static int slo_report(void *self, int64_t at, struct slo_report_at *out)
{
    struct ex_slo *x = self;
    size_t n = x->defs->n_slos;
    take_metrics(x, at, false);
    struct slo_eval *a = ag_realloc(out->slos, (out->n_slos + n + 1) * sizeof(*a));
    if (a == NULL) {
        return AG_ENOMEM;
    }
    out->slos = a;
    for (size_t i = 0; i < n; i++) {
        memset(&a[out->n_slos], 0, sizeof(*a));
        int rc = slo_engine_eval(x->eng, i, at, &a[out->n_slos]);
        if (rc != 0) {
            return rc;
        }
        out->n_slos++;
    }
    return 0;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* Writes |len| bytes of |data| to |path| atomically: a temp file in the same directory, fsync,
 * rename over |path|, fsync of the directory. Returns 0 or an AG_E* code (|why| says what). */
static int write_atomic(const char *path, const void *data, size_t len, char *why, size_t whylen)
{
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(why, whylen, "path too long");
        return AG_EINVAL;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(e));
        return ag_err_from_errno(e);
    }
    const uint8_t *p = data;
    size_t left = len;
    int rc = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(e));
            rc = ag_err_from_errno(e);
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0) {
        int e = errno;
        snprintf(why, whylen, "cannot fsync %s: %s", tmp, strerror(e));
        rc = ag_err_from_errno(e);
    }
    if (close(fd) != 0 && rc == 0) {
        int e = errno;
        snprintf(why, whylen, "cannot close %s: %s", tmp, strerror(e));
        rc = ag_err_from_errno(e);
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        int e = errno;
        snprintf(why, whylen, "cannot rename %s to %s: %s", tmp, path, strerror(e));
        rc = ag_err_from_errno(e);
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0) {
            int e = errno;
            snprintf(why, whylen, "cannot fsync directory %s: %s", dir, strerror(e));
            rc = ag_err_from_errno(e);
        }
        close(dfd);
    }
    return rc;
}

static void checkpoint(struct ex_slo *x)
{
    if (x->cfg->state_file == NULL) {
        return;
    }
    struct ag_buf extra, out;
    ag_buf_init(&extra, CKPT_MAX_BYTES);
    ag_buf_init(&out, CKPT_MAX_BYTES);
    char why[PATH_MAX + 128] = "";
    slo_engine_advance(x->eng, now_ms());
    int rc = slo_metric_save(x->ms, &extra);
    if (rc == 0) {
        rc = slo_engine_save(x->eng, extra.data, extra.len, &out);
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "%s", ag_strerror(rc));
    } else {
        rc = write_atomic(x->cfg->state_file, out.data, out.len, why, sizeof(why));
    }
    if (rc == 0) {
        ag_metric_add(x->m_ckpt_ok, 1);
        ag_log_debug(x->id, "checkpoint written to %s (%zu bytes)", x->cfg->state_file, out.len);
    } else {
        ag_metric_add(x->m_ckpt_failed, 1);
        ag_log_error(x->id, "checkpoint not written: %s", why);
    }
    ag_buf_cleanup(&extra);
    ag_buf_cleanup(&out);
}

static void on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    checkpoint(arg);
}

/* Renames a checkpoint that cannot be trusted out of the way, so it is kept for a post-mortem
 * and never read again, and marks the engine's state as lost. */
static void set_aside(struct ex_slo *x, const char *reason)
{
    slo_engine_set_state_lost(x->eng); /* reports say the window restarted empty */
    char bad[PATH_MAX];
    int n = snprintf(bad, sizeof(bad), "%s.bad-%llu", x->cfg->state_file,
                     (unsigned long long)(ag_time_now_ns() / 1000000000ull));
    if (n < 0 || (size_t)n >= sizeof(bad) || rename(x->cfg->state_file, bad) != 0) {
        ag_log_error(x->id, "checkpoint %s not used: %s; it could not be renamed aside (%s)",
                     x->cfg->state_file, reason, strerror(errno));
        return;
    }
    ag_log_error(x->id, "checkpoint %s not used: %s; renamed to %s, starting without state",
                 x->cfg->state_file, reason, bad);
}

/* Reads the whole file at |path| into |out|. Returns 0, AG_ENOTFOUND, AG_ETOOBIG or AG_EIO. */
static int read_file(const char *path, struct ag_buf *out, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s", strerror(e));
        return e == ENOENT ? AG_ENOTFOUND : ag_err_from_errno(e);
    }
    int rc = 0;
    for (;;) {
        uint8_t *p = ag_buf_reserve(out, 65536);
        if (p == NULL) {
            snprintf(why, whylen, "larger than %u bytes", CKPT_MAX_BYTES);
            rc = AG_ETOOBIG;
            break;
        }
        ssize_t r = read(fd, p, 65536);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int e = errno;
            snprintf(why, whylen, "%s", strerror(e));
            rc = ag_err_from_errno(e);
            break;
        }
        if (r == 0) {
            break;
        }
        ag_buf_commit(out, (size_t)r);
    }
    close(fd);
    return rc;
}

/* Restores the checkpoint, if any. Only AG_ENOMEM is an error: anything wrong with the file is
 * logged, the file set aside, and the exporter starts empty. */
static int restore(struct ex_slo *x, int64_t start)
{
    if (x->cfg->state_file == NULL) {
        return 0;
    }
    struct ag_buf data, why;
    ag_buf_init(&data, CKPT_MAX_BYTES);
    ag_buf_init(&why, 4096);
    char reason[512] = "";
    int rc = read_file(x->cfg->state_file, &data, reason, sizeof(reason));
    if (rc == AG_ENOTFOUND) {
        ag_log_info(x->id, "no checkpoint at %s: starting without state", x->cfg->state_file);
        rc = 0;
        goto out;
    }
    if (rc != 0) {
        if (rc == AG_ETOOBIG) {
            set_aside(x, reason);
        } else {
            ag_log_error(x->id, "checkpoint %s cannot be read (%s): starting without state",
                         x->cfg->state_file, reason);
            slo_engine_set_state_lost(x->eng);
        }
        rc = 0;
        goto out;
    }
    const void *extra = NULL;
    size_t extra_len = 0;
    rc = slo_engine_restore(x->eng, data.data, data.len, start, &extra, &extra_len, &why);
    if (rc == AG_ENOMEM) {
        goto out;
    }
    if (rc != 0) {
        snprintf(reason, sizeof(reason), "%s (%s)",
                 rc == AG_EPROTO    ? "corrupt"
                 : rc == AG_EUNSUPP ? "written by a newer version"
                                    : "written for other definitions or a later time",
                 why.len > 0 ? ag_buf_str(&why) : ag_strerror(rc));
        set_aside(x, reason);
        rc = 0;
        goto out;
    }
    rc = extra_len > 0 ? slo_metric_restore(x->ms, extra, extra_len) : 0;
    if (rc == AG_ENOMEM) {
        goto out;
    }
    if (rc != 0) {
        /* The engine took the checkpoint but its counter series are malformed: trust none of
         * it. A fresh engine replaces the restored one. */
        struct slo_engine *fresh = NULL;
        rc = slo_engine_new(x->defs, start, NULL, &fresh);
        if (rc != 0) {
            goto out;
        }
        slo_engine_free(x->eng);
        x->eng = fresh;
        slo_engine_set_alert_fn(x->eng, on_alert, x);
        set_aside(x, "corrupt (malformed counter series)");
        goto out;
    }
    struct slo_metric_stats st;
    slo_metric_stats(x->ms, &st);
    ag_log_info(x->id, "restored %zu SLOs and %llu counter series from %s", x->defs->n_slos,
                (unsigned long long)st.series, x->cfg->state_file);
out:
    ag_buf_cleanup(&data);
    ag_buf_cleanup(&why);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void slo_flush(void *self)
{
    struct ex_slo *x = self;
    take_metrics(x, now_ms(), false);
}

static bool sinks_busy(void *arg)
{
    return !ex_slo_sinks_idle(arg);
}

static void sinks_kick(void *arg)
{
    (void)arg; /* the sinks start their own sends */
}

static void slo_destroy(void *self)
{
    struct ex_slo *x = self;
    if (x == NULL) {
        return;
    }
    /* No timer may run while the sinks drain below. */
    if (x->eval_ev != NULL) {
        event_free(x->eval_ev);
    }
    if (x->ckpt_ev != NULL) {
        event_free(x->ckpt_ev);
    }
    if (x->metrics_ev != NULL) {
        event_free(x->metrics_ev);
    }
    if (x->eng != NULL && x->ms != NULL) {
        if (x->feed_ready) {
            take_metrics(x, now_ms(), true);
        }
        checkpoint(x);
    }
    /* Notifications queued or in flight get a bounded time to be delivered (the process-wide
     * shutdown_timeout still applies); what is left is failed and counted by the sinks. */
    if (x->sinks != NULL && x->base != NULL &&
        ag_drain(x->base, DRAIN_TIMEOUT_MS, sinks_busy, sinks_kick, x->sinks) != 0) {
        ag_log_warn(x->id, "alert notifications still pending after %u ms at shutdown",
                    DRAIN_TIMEOUT_MS);
    }
    ex_slo_sinks_free(x->sinks);
    slo_engine_free(x->eng);
    slo_metric_state_free(x->ms);
    slo_sli_index_free(x->ix);
    slo_defs_free(x->defs);
    ag_buf_cleanup(&x->diag);
    ag_buf_cleanup(&x->key);
    ex_slo_feed_cleanup(&x->feed);
    ag_free(x->metric_touched);
    ag_free(x->warned_undecided);
    ag_free(x->metric_t_ms);
    ag_free(x->id);
    ag_free(x);
}

static struct event *periodic(struct ex_slo *x, uint64_t ns, event_callback_fn fn)
{
    struct event *ev = event_new(x->base, -1, EV_PERSIST, fn, x);
    struct timeval tv = {(time_t)(ns / 1000000000ull), (suseconds_t)(ns % 1000000000ull / 1000)};
    if (ev != NULL && event_add(ev, &tv) != 0) {
        event_free(ev);
        ev = NULL;
    }
    return ev;
}

static int slo_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                      void **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ex_slo *x = ag_calloc(1, sizeof(*x));
    if (x == NULL) {
        return AG_ENOMEM;
    }
    int rc = AG_ENOMEM;
    x->cfg = &cfg->u.slo;
    x->base = env->base;
    ag_buf_init(&x->diag, 1024 * 1024);
    ag_buf_init(&x->key, SERIES_KEY_MAX);
    x->id = ag_strdup(cfg->id);
    if (x->id == NULL) {
        goto fail;
    }
    rc = ag_config_slo_defs(x->cfg, &x->diag, &x->defs);
    if (rc != 0) {
        /* The config loader checked the same files: they changed since, or cannot be read. */
        size_t n = strcspn(ag_buf_str(&x->diag), "\n");
        snprintf(err, errlen, "SLO definitions: %.*s", (int)n,
                 x->diag.len > 0 ? ag_buf_str(&x->diag) : ag_strerror(rc));
        goto fail;
    }
    int64_t start = now_ms();
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    rc = slo_engine_new(x->defs, start, &why, &x->eng);
    if (rc != 0) {
        snprintf(err, errlen, "the SLO engine refused the definitions: %s",
                 why.len > 0 ? ag_buf_str(&why) : ag_strerror(rc));
        ag_buf_cleanup(&why);
        goto fail;
    }
    ag_buf_cleanup(&why);
    slo_engine_set_alert_fn(x->eng, on_alert, x);
    rc = slo_sli_index_new(x->defs, &x->ix);
    if (rc == 0) {
        rc = slo_metric_state_new(x->defs, ag_time_now_ns(), 0, &x->ms);
    }
    size_t n = x->defs->n_slos ? x->defs->n_slos : 1;
    x->metric_touched = ag_calloc(n, sizeof(*x->metric_touched));
    x->warned_undecided = ag_calloc(n, sizeof(*x->warned_undecided));
    x->metric_t_ms = ag_calloc(n, sizeof(*x->metric_t_ms));
    if (rc != 0 || x->metric_touched == NULL || x->warned_undecided == NULL ||
        x->metric_t_ms == NULL) {
        rc = AG_ENOMEM;
        goto fail;
    }
    rc = restore(x, start);
    if (rc != 0) {
        goto fail;
    }
    /* After the restore, which may replace the engine. */
    rc = ex_slo_feed_init(&x->feed, x->id, x->defs, x->ix, x->eng);
    if (rc != 0) {
        goto fail;
    }
    x->feed_ready = true;
    rc = ex_slo_sinks_new(env->base, x->cfg, &x->sinks, err, errlen);
    if (rc != 0) {
        goto fail;
    }
    char labels[192];
    snprintf(labels, sizeof(labels), "exporter=\"%s\"", cfg->id);
    x->feed.m_spans = ag_metrics_counter("otter_slo_spans_total",
                                    "Spans the slo exporter looked at "
                                    "for a matching SLO.",
                                    labels);
    x->m_points =
        ag_metrics_counter("otter_slo_points_total", "Metric data points an SLO counted.", labels);
    x->feed.m_good =
        ag_metrics_counter("otter_slo_good_events_total", "Good events added to SLOs.", labels);
    x->feed.m_total = ag_metrics_counter("otter_slo_events_total", "Events added to SLOs.", labels);
    x->feed.m_refused = ag_metrics_counter("otter_slo_refused_events_total",
                                      "Events the SLO engine refused (time out of range, "
                                      "overflow).",
                                      labels);
    x->feed.m_ts_weighted = ag_metrics_counter(
        "otter_slo_weighted_spans_total",
        "Spans of an SLO whose tracestate records an adjusted count other than 1.", labels);
    x->feed.m_ts_malformed = ag_metrics_counter(
        "otter_slo_tracestate_malformed_total",
        "Spans of an SLO whose tracestate could not be read (counted 1).", labels);
    x->m_ckpt_ok =
        ag_metrics_counter("otter_slo_checkpoints_total", "Checkpoints written.", labels);
    x->m_ckpt_failed = ag_metrics_counter("otter_slo_checkpoint_failures_total",
                                          "Checkpoints that could not be written.", labels);
    x->eval_ev = periodic(x, x->cfg->evaluation_interval, on_eval);
    x->ckpt_ev =
        x->cfg->state_file != NULL ? periodic(x, x->cfg->checkpoint_interval, on_checkpoint) : NULL;
    x->metrics_ev =
        x->cfg->metrics.destination != 0 ? periodic(x, x->cfg->metrics.interval, on_metrics) : NULL;
    if (x->eval_ev == NULL || (x->cfg->state_file != NULL && x->ckpt_ev == NULL) ||
        (x->cfg->metrics.destination != 0 && x->metrics_ev == NULL)) {
        snprintf(err, errlen, "cannot create the exporter's timers");
        rc = AG_ENOMEM;
        goto fail;
    }
    ag_log_info(x->id, "%zu SLOs from %zu definition file(s)%s%s", x->defs->n_slos,
                x->cfg->n_definitions, x->cfg->state_file ? ", state in " : "",
                x->cfg->state_file ? x->cfg->state_file : "");
    *out = x;
    return 0;
fail:
    /* Nothing to checkpoint: a failed start must not overwrite a good state file. */
    slo_engine_free(x->eng);
    x->eng = NULL;
    slo_destroy(x);
    return rc;
}

const struct ag_exporter_ops ex_slo_exporter_ops = {
    .type = "slo",
    .create = slo_create,
    .consume = slo_consume,
    .flush = slo_flush,
    .destroy = slo_destroy,
    .consume_xray = NULL,
    .slo_report = slo_report,
};
