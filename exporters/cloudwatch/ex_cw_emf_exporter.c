/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The awsemf exporter: metrics -> EMF events (ex_cw_emf) on the way in, then either stdout
 * (output_destination: stdout) or ex_cw_pusher with the json/emf header over the shared AWS
 * client. Points and events that cannot be sent are dropped here and counted with a reason.
 */
#include "ex_cw_emf_exporter.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"
#include "ex_aws_client.h"
#include "ex_aws_session.h"
#include "ex_cw_pusher.h"

#include <stdio.h>
#include <string.h>

#define DRAIN_TIMEOUT_MS 5000u
#define SCRATCH_KEEP     (4u * 1024 * 1024)
#define SCRATCH_CAP      (1024u * 1024 * 1024)
#define QUEUE_UNIT       (64u * 1024)

struct pend {
    size_t msg, len;      /* in msgs */
    size_t plain;         /* the plain message's length (len when not escaped) */
    size_t group, stream; /* in names, NUL-terminated */
    int64_t ts;
};

struct ex_cw_emf_exporter {
    char *id;
    struct ex_cw_emf *emf;
    int to_stdout;
    bool escaped; /* events written escaped for the PutLogEvents body (not for stdout) */
    struct ex_aws_session aws;
    struct ex_cw_pusher *pusher;
    struct ag_buf msgs, names;
    struct pend *pend;
    struct ex_cw_event *evs;
    size_t n, cap;
    size_t invalid_names;
    uint64_t log_last_ns;
    struct ex_cw_delta_stats last; /* delta cache counters already reported */
    struct ag_metric *m_drop[EX_CW_EMF_DROP_COUNT_];
    struct ag_metric *m_invalid, *m_baseline, *m_evict_ttl, *m_evict_cap, *m_dims;
};

int ex_cw_emf_from_config(const struct ag_awsemf_config *c, uint64_t random, struct ex_cw_emf **out,
                          char *err, size_t errlen)
{
    struct ex_cw_emf_options o = {0};
    struct ex_cw_emf_declaration_opts *decls = NULL;
    struct ex_cw_emf_descriptor_opts *descs = NULL;
    struct ex_cw_emf_matcher_opts **ms = NULL;
    size_t nd = c->metric_declarations.n;
    int rc = AG_ENOMEM;
    *out = NULL;
    o.namespace_ = c->namespace_;
    o.log_group_name = c->log_group_name;
    o.log_stream_name = c->log_stream_name;
    o.rollup = c->rollup == 0   ? EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE
               : c->rollup == 1 ? EX_CW_EMF_ROLLUP_SINGLE_ONLY
                                : EX_CW_EMF_ROLLUP_NONE;
    o.parse_json_encoded_attr_values = (const char *const *)c->parse_json_encoded_attr_values;
    o.n_parse_json_encoded_attr_values = c->n_parse_json_encoded_attr_values;
    o.detailed_metrics = c->detailed_metrics;
    o.retain_initial_value_of_delta_metric = c->retain_initial_value_of_delta_metric;
    o.resource_to_telemetry_conversion = c->resource_to_telemetry_conversion;
    o.version = c->version0 ? 0 : 1;
    o.omit_invalid_units = c->omit_invalid_units;
    o.max_event_bytes = c->max_event_size > EX_CW_EVENT_OVERHEAD
                            ? (size_t)c->max_event_size - EX_CW_EVENT_OVERHEAD
                            : 0;
    o.delta_max_entries = c->delta_max_entries;
    o.delta_ttl_ns = c->delta_ttl;
    decls = ag_calloc(nd + 1, sizeof(*decls));
    ms = ag_calloc(nd + 1, sizeof(*ms));
    descs = ag_calloc(c->metric_descriptors.n + 1, sizeof(*descs));
    if (decls == NULL || ms == NULL || descs == NULL) {
        goto out;
    }
    for (size_t i = 0; i < nd; i++) {
        const struct ag_emf_declaration *d = &c->metric_declarations.items[i];
        ms[i] = ag_calloc(d->n_label_matchers + 1, sizeof(**ms));
        if (ms[i] == NULL) {
            goto out;
        }
        for (size_t j = 0; j < d->n_label_matchers; j++) {
            const struct ag_emf_label_matcher *m = &d->label_matchers[j];
            ms[i][j] =
                (struct ex_cw_emf_matcher_opts){.label_names = (const char *const *)m->label_names,
                                                .n_label_names = m->n_label_names,
                                                .separator = m->separator,
                                                .regex = m->regex};
        }
        decls[i] = (struct ex_cw_emf_declaration_opts){
            .dimensions = (const char *const *const *)d->dimensions,
            .n_dimensions = d->n_dimension_names,
            .n_sets = d->n_dimensions,
            .metric_name_selectors = (const char *const *)d->metric_name_selectors,
            .n_metric_name_selectors = d->n_metric_name_selectors,
            .label_matchers = ms[i],
            .n_label_matchers = d->n_label_matchers};
    }
    for (size_t i = 0; i < c->metric_descriptors.n; i++) {
        const struct ag_emf_descriptor *d = &c->metric_descriptors.items[i];
        descs[i] = (struct ex_cw_emf_descriptor_opts){d->metric_name, d->unit, d->overwrite};
    }
    o.declarations = decls;
    o.n_declarations = nd;
    o.descriptors = descs;
    o.n_descriptors = c->metric_descriptors.n;
    rc = ex_cw_emf_new(&o, random, out, err, errlen);
out:
    for (size_t i = 0; ms != NULL && i < nd; i++) {
        ag_free(ms[i]);
    }
    ag_free(ms);
    ag_free(decls);
    ag_free(descs);
    return rc;
}

static int client_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    return ex_aws_client_call(ctx, call, done, arg);
}

static int pend_reserve(struct ex_cw_emf_exporter *x, size_t n)
{
    if (n <= x->cap) {
        return 0;
    }
    size_t ncap = x->cap ? x->cap * 2 : 256;
    while (ncap < n) {
        ncap *= 2;
    }
    struct pend *p = ag_realloc(x->pend, ncap * sizeof(*p));
    if (p == NULL) {
        return AG_ENOMEM;
    }
    x->pend = p;
    struct ex_cw_event *e = ag_realloc(x->evs, ncap * sizeof(*e));
    if (e == NULL) {
        return AG_ENOMEM;
    }
    x->evs = e;
    x->cap = ncap;
    return 0;
}

/*
 * Keeps one event for the push at the end of consume(): |len| bytes of |msg|, standing for a plain
 * message of |plain| bytes (the same when not escaped). Names are checked here.
 */
static int keep(struct ex_cw_emf_exporter *x, const char *group, const char *stream, int64_t ts,
                const char *msg, size_t len, size_t plain)
{
    if (!ex_cw_group_name_valid(group) || !ex_cw_stream_name_valid(stream)) {
        x->invalid_names++;
        return 0;
    }
    int rc = pend_reserve(x, x->n + 1);
    if (rc != 0) {
        return rc;
    }
    struct pend *p = &x->pend[x->n];
    /* Consecutive events usually share the group and stream: store them once. */
    if (x->n > 0 && strcmp(ag_buf_str(&x->names) + x->pend[x->n - 1].group, group) == 0 &&
        strcmp(ag_buf_str(&x->names) + x->pend[x->n - 1].stream, stream) == 0) {
        p->group = x->pend[x->n - 1].group;
        p->stream = x->pend[x->n - 1].stream;
    } else {
        p->group = x->names.len;
        if ((rc = ag_buf_add(&x->names, group, strlen(group) + 1)) != 0) {
            return rc;
        }
        p->stream = x->names.len;
        if ((rc = ag_buf_add(&x->names, stream, strlen(stream) + 1)) != 0) {
            return rc;
        }
    }
    p->msg = x->msgs.len;
    p->len = len;
    p->plain = plain;
    p->ts = ts;
    if ((rc = ag_buf_add(&x->msgs, msg, len)) != 0) {
        return rc;
    }
    x->n++;
    return 0;
}

static int collect(void *arg, const char *group, const char *stream, int64_t ts, const char *msg,
                   size_t len)
{
    struct ex_cw_emf_exporter *x = arg;
    if (x->to_stdout) {
        if (fwrite(msg, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
            return AG_EIO;
        }
        return 0;
    }
    return keep(x, group, stream, ts, msg, len, len);
}

static int collect_escaped(void *arg, const char *group, const char *stream, int64_t ts,
                           const char *esc, size_t esc_len, size_t plain_len)
{
    return keep(arg, group, stream, ts, esc, esc_len, plain_len);
}

static void drop_log(struct ex_cw_emf_exporter *x, const struct ex_cw_emf_result *res)
{
    size_t total = x->invalid_names + res->dimension_sets_dropped;
    for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
        total += res->dropped[i];
    }
    uint64_t now = ag_time_mono_ns();
    if (total == 0 || (x->log_last_ns != 0 && now - x->log_last_ns < 10ull * 1000000000ull)) {
        return;
    }
    x->log_last_ns = now;
    ag_log_warn(x->id,
                "dropped: %zu no value, %zu NaN/Inf, %zu bad name, %zu duplicate, "
                "%zu too big, %zu delta cache full, %zu invalid group/stream; %zu dimension sets "
                "left out (at most one such line per 10 s)",
                res->dropped[EX_CW_EMF_DROP_NO_VALUE], res->dropped[EX_CW_EMF_DROP_NAN_INF],
                res->dropped[EX_CW_EMF_DROP_BAD_NAME], res->dropped[EX_CW_EMF_DROP_DUPLICATE],
                res->dropped[EX_CW_EMF_DROP_TOO_BIG], res->dropped[EX_CW_EMF_DROP_DELTA_OOM],
                x->invalid_names, res->dimension_sets_dropped);
}

static void count(struct ex_cw_emf_exporter *x, const struct ex_cw_emf_result *res)
{
    for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
        ag_metric_add(x->m_drop[i], res->dropped[i]);
    }
    ag_metric_add(x->m_invalid, x->invalid_names);
    ag_metric_add(x->m_baseline, res->baseline);
    ag_metric_add(x->m_dims, res->dimension_sets_dropped);
    struct ex_cw_delta_stats st;
    ex_cw_emf_delta_stats(x->emf, &st);
    ag_metric_add(x->m_evict_ttl, st.evicted_ttl - x->last.evicted_ttl);
    ag_metric_add(x->m_evict_cap, st.evicted_cap - x->last.evicted_cap);
    x->last = st;
    drop_log(x, res);
}

static int emf_consume(void *self, struct ag_payload *pl)
{
    struct ex_cw_emf_exporter *x = self;
    struct ex_cw_emf_result res;
    if (pl->signal != AG_SIGNAL_METRICS) {
        return AG_EUNSUPP;
    }
    /* Checked before translating: a refused payload has changed nothing (the delta cache
     * included) and comes again. */
    if (x->pusher != NULL && !ex_cw_pusher_has_room(x->pusher)) {
        return AG_EAGAIN;
    }
    ag_buf_reset(&x->msgs);
    ag_buf_reset(&x->names);
    x->n = 0;
    x->invalid_names = 0;
    int rc = x->escaped ? ex_cw_emf_translate_escaped(x->emf, pl->msg, ag_time_now_ns(),
                                                      collect_escaped, x, &res)
                        : ex_cw_emf_translate(x->emf, pl->msg, ag_time_now_ns(), collect, x, &res);
    if (x->to_stdout) {
        fflush(stdout);
    }
    if (rc == 0 && x->pusher != NULL) {
        const char *msgs = ag_buf_str(&x->msgs);
        const char *names = ag_buf_str(&x->names);
        for (size_t i = 0; i < x->n; i++) {
            const struct pend *p = &x->pend[i];
            x->evs[i] = (struct ex_cw_event){.group = names + p->group,
                                             .stream = names + p->stream,
                                             .timestamp_ms = p->ts,
                                             .message = x->escaped ? NULL : msgs + p->msg,
                                             .len = p->plain,
                                             .escaped = x->escaped ? msgs + p->msg : NULL,
                                             .escaped_len = x->escaped ? p->len : 0};
        }
        rc = ex_cw_pusher_push(x->pusher, x->evs, x->n);
        if (rc == AG_EAGAIN) {
            rc = AG_ENOMEM; /* the room was checked: the delta cache moved on, do not retry */
        }
    }
    if (rc == 0) {
        count(x, &res);
    }
    if (x->msgs.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&x->msgs);
    }
    if (x->names.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&x->names);
    }
    return rc;
}

static void emf_flush(void *self)
{
    struct ex_cw_emf_exporter *x = self;
    if (x->pusher != NULL) {
        ex_cw_pusher_flush(x->pusher);
    }
}

static void emf_destroy(void *self)
{
    struct ex_cw_emf_exporter *x = self;
    if (x == NULL) {
        return;
    }
    if (x->pusher != NULL) {
        ex_cw_pusher_drain(x->pusher);
        ex_cw_pusher_close(x->pusher);
    }
    /* The client fails what is still in flight: the pusher counts it. */
    ex_aws_session_cleanup(&x->aws);
    ex_cw_pusher_free(x->pusher);
    ex_cw_emf_free(x->emf);
    ag_buf_cleanup(&x->msgs);
    ag_buf_cleanup(&x->names);
    ag_free(x->pend);
    ag_free(x->evs);
    ag_free(x->id);
    ag_free(x);
}

static int aws_setup(struct ex_cw_emf_exporter *x, const struct ag_component_config *cfg,
                     const struct ag_component_env *env, char *err, size_t errlen)
{
    const struct ag_awsemf_config *ec = &cfg->u.awsemf;
    const struct ag_aws_session_config *s = &ec->aws;
    struct ex_cw_tag tags[EX_CW_MAX_TAGS];
    int rc = ex_aws_session_init(&x->aws, env->base, s, &ex_aws_service_logs, err, errlen);
    if (rc != 0) {
        return rc;
    }
    size_t n_tags = ec->tags.n < EX_CW_MAX_TAGS ? ec->tags.n : EX_CW_MAX_TAGS;
    for (size_t i = 0; i < n_tags; i++) {
        tags[i].key = ec->tags.kv[2 * i];
        tags[i].value = ec->tags.kv[2 * i + 1];
    }
    struct ex_cw_pusher_options popts = {
        .id = cfg->id,
        .max_bytes = (size_t)ec->queue_size * QUEUE_UNIT,
        .max_in_flight = s->num_workers,
        .max_event_bytes = (size_t)ec->max_event_size,
        .drain_timeout_ms = DRAIN_TIMEOUT_MS,
        .logs_format = "json/emf",
        .retention_days = ec->log_retention,
        .tags = tags,
        .n_tags = n_tags,
    };
    struct ex_cw_sender sender = {client_send, x->aws.client};
    rc = ex_cw_pusher_new(env->base, &popts, &sender, &x->pusher);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the CloudWatch Logs pusher: %s", ag_strerror(rc));
    }
    return rc;
}

static int emf_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                      void **out, char *err, size_t errlen)
{
    const struct ag_awsemf_config *ec = &cfg->u.awsemf;
    int rc = AG_ENOMEM;
    *out = NULL;
    struct ex_cw_emf_exporter *x = ag_calloc(1, sizeof(*x));
    if (x == NULL) {
        return AG_ENOMEM;
    }
    ag_buf_init(&x->msgs, SCRATCH_CAP);
    ag_buf_init(&x->names, SCRATCH_CAP);
    x->to_stdout = ec->output_stdout;
    /* Written once in the body's form when the translator's event limit is the pusher's less the
     * 26 bytes (ex_cw_emf_from_config()), so no escaped event ever needs cutting. */
    x->escaped = !x->to_stdout && ec->max_event_size > EX_CW_EVENT_OVERHEAD;
    x->id = ag_strdup(cfg->id);
    if (x->id == NULL) {
        goto out;
    }
    rc =
        ex_cw_emf_from_config(ec, (uint64_t)(uintptr_t)x ^ ag_time_mono_ns(), &x->emf, err, errlen);
    if (rc != 0) {
        goto out;
    }
    if (!x->to_stdout && (rc = aws_setup(x, cfg, env, err, errlen)) != 0) {
        goto out;
    }
    rc = AG_ENOMEM;
    for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
        x->m_drop[i] =
            ag_metrics_exporter_dropped(x->id, ex_cw_emf_drop_name((enum ex_cw_emf_drop)i));
    }
    x->m_invalid = ag_metrics_exporter_dropped(x->id, "invalid_name");
    x->m_baseline = ag_metrics_exporter_counter(
        "otter_exporter_emf_delta_baseline_total",
        "Cumulative points kept only as the baseline of a delta.", x->id, NULL);
    static const char evict_help[] = "Delta cache entries evicted, by reason.";
    x->m_evict_ttl = ag_metrics_exporter_counter("otter_exporter_emf_delta_evictions_total",
                                                 evict_help, x->id, "ttl");
    x->m_evict_cap = ag_metrics_exporter_counter("otter_exporter_emf_delta_evictions_total",
                                                 evict_help, x->id, "cap");
    x->m_dims = ag_metrics_exporter_counter(
        "otter_exporter_emf_dimension_sets_dropped_total",
        "Dimension sets left out because CloudWatch would refuse them.", x->id, NULL);
    *out = x;
    x = NULL;
    rc = 0;
out:
    if (x != NULL && rc == AG_ENOMEM && err != NULL && errlen > 0 && err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
    emf_destroy(x);
    return rc;
}

const struct ag_exporter_ops ex_cw_emf_exporter_ops = {
    .type = "awsemf",
    .create = emf_create,
    .consume = emf_consume,
    .flush = emf_flush,
    .destroy = emf_destroy,
};
