/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The documents the SLO sinks send (ex_slo_sink_int.h): the alert summary, the webhook JSON and
 * Slack text, the SNS Publish form, the EMF SLO metrics events, and the webhook's retry rules.
 * Pure: no I/O, so every byte can be checked by the unit tests.
 */
#include "ex_slo_sink_int.h"
#include "ag_json.h"
#include "slo_budget.h"
#include "slo_cw.h"
#include "slo_decimal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum ex_slo_webhook_outcome ex_slo_webhook_classify(int rc, int status)
{
    if (rc == AG_EIO || rc == AG_ETIMEDOUT) {
        return EX_SLO_WEBHOOK_RETRY;
    }
    if (rc != 0) {
        return EX_SLO_WEBHOOK_FAIL;
    }
    if (status >= 200 && status <= 299) {
        return EX_SLO_WEBHOOK_DONE;
    }
    if (status == 429 || (status >= 500 && status <= 599)) {
        return EX_SLO_WEBHOOK_RETRY;
    }
    return EX_SLO_WEBHOOK_FAIL;
}

uint64_t ex_slo_webhook_backoff_ms(unsigned retry, double rand01, uint64_t retry_after_ms)
{
    uint64_t ceil_ms = EX_SLO_WEBHOOK_BASE_MS;
    for (unsigned i = 1; i < retry && ceil_ms < EX_SLO_WEBHOOK_MAX_BACKOFF_MS; i++) {
        ceil_ms *= 2;
    }
    if (ceil_ms > EX_SLO_WEBHOOK_MAX_BACKOFF_MS) {
        ceil_ms = EX_SLO_WEBHOOK_MAX_BACKOFF_MS;
    }
    if (!(rand01 >= 0.0)) { /* NaN or negative: no wait rather than garbage */
        rand01 = 0.0;
    }
    if (rand01 >= 1.0) {
        rand01 = 0.0;
    }
    uint64_t wait = (uint64_t)(rand01 * (double)ceil_ms);
    if (retry_after_ms > 0) {
        uint64_t ra =
            retry_after_ms < EX_SLO_RETRY_AFTER_MAX_MS ? retry_after_ms : EX_SLO_RETRY_AFTER_MAX_MS;
        if (ra > wait) {
            wait = ra;
        }
    }
    return wait;
}

void ex_slo_rfc3339(int64_t at_ms, char *buf, size_t cap)
{
    int64_t secs = at_ms / 1000;
    int64_t ms = at_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
        return;
    }
    if (ms == 0) {
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    } else {
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    }
}

/* |r| × 100 as the nearest double: the product is formed exactly when it fits 128 bits, so
 * 999/1000 gives 99.9, not 99.90000000000001. */
static double rat_percent(const struct slo_rat *r)
{
    double v;
    if (r->den == 0) {
        return 0.0;
    }
    if (r->num <= ((slo_u128)-1) / 100) {
        v = slo_ratio_to_double(r->num * 100, r->den);
    } else {
        v = slo_ratio_to_double(r->num, r->den) * 100.0;
    }
    return r->neg ? -v : v;
}

static const char *service_of(const struct slo_slo_def *d)
{
    return d != NULL && d->service != NULL && d->service[0] != '\0' ? d->service
                                                                    : SLO_CW_SERVICE_UNKNOWN;
}

/* The evaluation's burn over the window of |lookback_ms|, or NULL. */
static const struct slo_eval_burn *burn_for(const struct slo_eval *ev, uint64_t lookback_ms)
{
    if (ev == NULL || lookback_ms == 0) {
        return NULL;
    }
    for (size_t i = 0; i < ev->n_burns; i++) {
        if (ev->burns[i].lookback_ms == lookback_ms) {
            return &ev->burns[i];
        }
    }
    return NULL;
}

/* The alert's windows in the order they are reported: long, then short (when it has one). */
static size_t alert_windows(const struct slo_alert_event *ev, const struct slo_eval_burn *out[2],
                            const char *names[2])
{
    size_t n = 0;
    const struct slo_alert_def *a = ev->alert;
    if (a == NULL) {
        return 0;
    }
    uint64_t ms[2] = {a->long_ms, a->short_ms};
    const char *txt[2] = {a->long_text, a->short_text};
    for (size_t i = 0; i < 2; i++) {
        if (ms[i] == 0) {
            continue;
        }
        out[n] = burn_for(ev->eval, ms[i]);
        names[n] = txt[i] != NULL ? txt[i] : (out[n] != NULL ? out[n]->window : "?");
        n++;
    }
    return n;
}

static const char *reason_of(const struct slo_alert_event *ev)
{
    if (!ev->firing || ev->eval == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < ev->eval->n_alerts; i++) {
        if (ev->eval->alerts[i].def == ev->alert) {
            return ev->eval->alerts[i].reason;
        }
    }
    return NULL;
}

/* A display number: up to 6 significant digits, no exponent for ordinary values. */
static int add_num(struct ag_buf *out, double v)
{
    return ag_buf_printf(out, "%.6g", v);
}

int ex_slo_summary(const struct slo_alert_event *ev, struct ag_buf *out)
{
    const char *slo = ev->slo != NULL ? ev->slo->name : "?";
    const char *alert = ev->alert != NULL ? ev->alert->name : "?";
    const char *sev = ev->alert != NULL && ev->alert->severity != NULL ? ev->alert->severity : "";
    int rc = ag_buf_printf(out, "%s: SLO %s, alert %s (severity %s)",
                           ev->firing ? "FIRING" : "RESOLVED", slo, alert, sev);
    const struct slo_eval_burn *b[2];
    const char *names[2];
    size_t nw = alert_windows(ev, b, names);
    for (size_t i = 0; i < nw && rc == 0; i++) {
        rc = ag_buf_adds(out, i == 0 ? ": burn rate " : ", ");
        if (rc == 0 && b[i] != NULL && b[i]->burn.has_data) {
            rc = add_num(out, slo_rat_to_double(&b[i]->burn.rate));
        } else if (rc == 0) {
            rc = ag_buf_adds(out, "n/a");
        }
        if (rc == 0) {
            rc = ag_buf_printf(out, " over %s", names[i]);
        }
    }
    if (rc == 0 && ev->eval != NULL) {
        rc = ag_buf_adds(out, "; ");
        if (rc == 0) {
            rc = add_num(out, rat_percent(&ev->eval->budget.remaining_fraction));
        }
        if (rc == 0) {
            rc = ag_buf_printf(out, "%% of the error budget left; status %s",
                               slo_status_name(ev->eval->budget.status));
        }
    }
    return rc;
}

int ex_slo_webhook_body(const struct slo_alert_event *ev, bool slack, struct ag_buf *out)
{
    struct ag_buf sum;
    ag_buf_init(&sum, EX_SLO_BODY_MAX);
    int rc = ex_slo_summary(ev, &sum);
    if (rc != 0) {
        ag_buf_cleanup(&sum);
        return rc;
    }
    struct ag_json w;
    ag_json_init(&w, out);
    ag_json_obj_open(&w);
    if (slack) {
        /* Slack reads &, < and > as markup (links, mentions): its rule is to escape those three
         * as HTML entities, nothing else. */
        struct ag_buf esc;
        ag_buf_init(&esc, 4 * EX_SLO_BODY_MAX);
        for (size_t i = 0; i < sum.len && rc == 0; i++) {
            char c = ag_buf_str(&sum)[i];
            rc = c == '&'   ? ag_buf_adds(&esc, "&amp;")
                 : c == '<' ? ag_buf_adds(&esc, "&lt;")
                 : c == '>' ? ag_buf_adds(&esc, "&gt;")
                            : ag_buf_addc(&esc, c);
        }
        ag_json_key(&w, "text");
        ag_json_strn(&w, ag_buf_str(&esc), esc.len);
        ag_json_obj_close(&w);
        ag_buf_cleanup(&sum);
        ag_buf_cleanup(&esc);
        return rc != 0 ? rc : ag_json_finish(&w);
    }
    char at[40], obj[48];
    ex_slo_rfc3339(ev->at_ms, at, sizeof(at));
    ag_json_key(&w, "slo");
    ag_json_str(&w, ev->slo != NULL ? ev->slo->name : NULL);
    ag_json_key(&w, "service");
    ag_json_str(&w, service_of(ev->slo));
    ag_json_key(&w, "alert");
    ag_json_str(&w, ev->alert != NULL ? ev->alert->name : NULL);
    ag_json_key(&w, "severity");
    ag_json_str(&w, ev->alert != NULL ? ev->alert->severity : NULL);
    ag_json_key(&w, "state");
    ag_json_str(&w, ev->firing ? "firing" : "resolved");
    ag_json_key(&w, "at");
    ag_json_str(&w, at);
    ag_json_key(&w, "objective");
    if (ev->slo != NULL &&
        slo_objective_format_percent(&ev->slo->objective, obj, sizeof(obj)) >= 0) {
        ag_json_str(&w, obj);
    } else {
        ag_json_null(&w);
    }
    ag_json_key(&w, "status");
    if (ev->eval != NULL) {
        ag_json_str(&w, slo_status_name(ev->eval->budget.status));
    } else {
        ag_json_null(&w);
    }
    ag_json_key(&w, "burn_rates");
    ag_json_obj_open(&w);
    const struct slo_eval_burn *b[2];
    const char *names[2];
    size_t nw = alert_windows(ev, b, names);
    for (size_t i = 0; i < nw; i++) {
        ag_json_key(&w, names[i]);
        double v = b[i] != NULL && b[i]->burn.has_data ? slo_rat_to_double(&b[i]->burn.rate) : NAN;
        if (isfinite(v)) {
            ag_json_double(&w, v);
        } else {
            ag_json_null(&w);
        }
    }
    ag_json_obj_close(&w);
    ag_json_key(&w, "error_budget_remaining_fraction");
    double rf = ev->eval != NULL ? slo_rat_to_double(&ev->eval->budget.remaining_fraction) : NAN;
    if (isfinite(rf)) {
        ag_json_double(&w, rf);
    } else {
        ag_json_null(&w);
    }
    ag_json_key(&w, "reason");
    const char *reason = reason_of(ev);
    if (reason != NULL) {
        ag_json_str(&w, reason);
    } else {
        ag_json_null(&w);
    }
    ag_json_key(&w, "summary");
    ag_json_strn(&w, ag_buf_str(&sum), sum.len);
    ag_json_obj_close(&w);
    ag_buf_cleanup(&sum);
    return ag_json_finish(&w);
}

int ex_slo_sns_subject(const struct slo_alert_event *ev, struct ag_buf *out)
{
    char subj[EX_SLO_SNS_SUBJECT_MAX + 1];
    snprintf(subj, sizeof(subj), "%s: %s / %s", ev->firing ? "FIRING" : "RESOLVED",
             ev->slo != NULL ? ev->slo->name : "?", ev->alert != NULL ? ev->alert->name : "?");
    /* SNS refuses line breaks and anything outside printable ASCII in a subject. */
    for (char *p = subj; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e) {
            *p = '?';
        }
    }
    return ag_buf_adds(out, subj);
}

/* application/x-www-form-urlencoded as Python's urlencode() writes it: the RFC 3986 unreserved
 * characters as they are, space as '+', every other byte as %XX. The same bytes whichever way a
 * peer re-encodes the parsed form to check the signature (moto does). */
static int form_value(struct ag_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc == 0; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            rc = ag_buf_addc(out, (char)c);
        } else if (c == ' ') {
            rc = ag_buf_addc(out, '+');
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = ag_buf_add(out, e, 3);
        }
    }
    return rc;
}

int ex_slo_sns_body(const char *topic_arn, const char *message, const char *subject,
                    struct ag_buf *out)
{
    int rc = ag_buf_adds(out, "Action=Publish&TopicArn=");
    if (rc == 0) {
        rc = form_value(out, topic_arn);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "&Message=");
    }
    if (rc == 0) {
        rc = form_value(out, message);
    }
    if (rc == 0 && subject != NULL && subject[0] != '\0') {
        rc = ag_buf_adds(out, "&Subject=");
        if (rc == 0) {
            rc = form_value(out, subject);
        }
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "&Version=2010-03-31");
    }
    return rc;
}

/* Opens an event: _aws with one directive of |metrics| (name, unit pairs) under one dimension
 * set of |dims|, then the dimension values. The caller writes the metric values and closes. */
static void emf_open(struct ag_json *w, const char *ns, int64_t ts, const char *const *dims,
                     size_t n_dims, const char *const *metrics, size_t n_metrics)
{
    ag_json_obj_open(w);
    ag_json_key(w, "_aws");
    ag_json_obj_open(w);
    ag_json_key(w, "Timestamp");
    ag_json_int(w, ts);
    ag_json_key(w, "CloudWatchMetrics");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    ag_json_key(w, "Namespace");
    ag_json_str(w, ns);
    ag_json_key(w, "Dimensions");
    ag_json_arr_open(w);
    ag_json_arr_open(w);
    for (size_t i = 0; i < n_dims; i++) {
        ag_json_str(w, dims[i]);
    }
    ag_json_arr_close(w);
    ag_json_arr_close(w);
    ag_json_key(w, "Metrics");
    ag_json_arr_open(w);
    for (size_t i = 0; i < n_metrics; i++) {
        ag_json_obj_open(w);
        ag_json_key(w, "Name");
        ag_json_str(w, metrics[2 * i]);
        ag_json_key(w, "Unit");
        ag_json_str(w, metrics[2 * i + 1]);
        ag_json_obj_close(w);
    }
    ag_json_arr_close(w);
    ag_json_obj_close(w);
    ag_json_arr_close(w);
    ag_json_obj_close(w);
}

static int emf_one_slo(const char *ns, int64_t now_ms, const struct ex_slo_metric_input *in,
                       struct ag_buf *buf, ex_slo_emf_fn *fn, void *arg)
{
    const struct slo_eval *ev = in->eval;
    const struct slo_slo_def *d = ev != NULL ? ev->def : NULL;
    const char *name = d != NULL ? d->name : NULL;
    const char *svc = service_of(d);
    if (name == NULL || name[0] == '\0') {
        return 0; /* nothing to name the metrics by: never happens with finished defs */
    }
    double att = NAN, rem = NAN;
    if (ev != NULL && !ev->attainment_null && !ev->budget.no_data) {
        att = rat_percent(&ev->budget.attainment);
        rem = rat_percent(&ev->budget.remaining_fraction);
    }
    const char *dims[3] = {SLO_CW_DIM_SLO, SLO_CW_DIM_SERVICE, SLO_CW_DIM_WINDOW};
    /* A metric whose value is skipped is not declared either. */
    const char *decl[8] = {SLO_CW_GOOD, "Count", SLO_CW_TOTAL, "Count"};
    size_t nm = 2;
    if (isfinite(att)) {
        decl[2 * nm] = SLO_CW_ATTAINMENT;
        decl[2 * nm + 1] = "Percent";
        nm++;
    }
    if (isfinite(rem)) {
        decl[2 * nm] = SLO_CW_BUDGET_REMAINING;
        decl[2 * nm + 1] = "Percent";
        nm++;
    }
    ag_buf_reset(buf);
    struct ag_json w;
    ag_json_init(&w, buf);
    emf_open(&w, ns, now_ms, dims, 2, decl, nm);
    ag_json_key(&w, SLO_CW_DIM_SLO);
    ag_json_str(&w, name);
    ag_json_key(&w, SLO_CW_DIM_SERVICE);
    ag_json_str(&w, svc);
    ag_json_key(&w, SLO_CW_GOOD);
    ag_json_uint(&w, in->good_delta);
    ag_json_key(&w, SLO_CW_TOTAL);
    ag_json_uint(&w, in->total_delta);
    if (isfinite(att)) {
        ag_json_key(&w, SLO_CW_ATTAINMENT);
        ag_json_double(&w, att);
    }
    if (isfinite(rem)) {
        ag_json_key(&w, SLO_CW_BUDGET_REMAINING);
        ag_json_double(&w, rem);
    }
    ag_json_obj_close(&w);
    int rc = ag_json_finish(&w);
    if (rc == 0) {
        rc = fn(arg, now_ms, ag_buf_str(buf), buf->len);
    }
    for (size_t i = 0; ev != NULL && rc == 0 && i < ev->n_burns; i++) {
        const struct slo_eval_burn *b = &ev->burns[i];
        double v = b->burn.has_data ? slo_rat_to_double(&b->burn.rate) : NAN;
        if (!isfinite(v)) {
            continue;
        }
        char minutes[24];
        snprintf(minutes, sizeof(minutes), "%" PRIu64, b->lookback_ms / 60000u);
        const char *bm[2] = {SLO_CW_BURN_RATE, "None"};
        ag_buf_reset(buf);
        ag_json_init(&w, buf);
        emf_open(&w, ns, now_ms, dims, 3, bm, 1);
        ag_json_key(&w, SLO_CW_DIM_SLO);
        ag_json_str(&w, name);
        ag_json_key(&w, SLO_CW_DIM_SERVICE);
        ag_json_str(&w, svc);
        ag_json_key(&w, SLO_CW_DIM_WINDOW);
        ag_json_str(&w, minutes);
        ag_json_key(&w, SLO_CW_BURN_RATE);
        ag_json_double(&w, v);
        ag_json_obj_close(&w);
        rc = ag_json_finish(&w);
        if (rc == 0) {
            rc = fn(arg, now_ms, ag_buf_str(buf), buf->len);
        }
    }
    return rc;
}

int ex_slo_emf_events(const char *ns, int64_t now_ms, const struct ex_slo_metric_input *in,
                      size_t n, ex_slo_emf_fn *fn, void *arg)
{
    struct ag_buf buf;
    ag_buf_init(&buf, EX_SLO_BODY_MAX);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = emf_one_slo(ns != NULL && ns[0] != '\0' ? ns : SLO_CW_NAMESPACE, now_ms, &in[i], &buf,
                         fn, arg);
    }
    ag_buf_cleanup(&buf);
    return rc;
}
