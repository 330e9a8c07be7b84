/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CloudWatch request bodies from SLO definitions (specs/slo.md §7, §13): the DashboardBody that
 * `slo dashboard` prints and the PutMetricAlarm / PutCompositeAlarm requests that `slo alarms`
 * prints. Everything reads the raw GoodCount / TotalCount sums (slo_cw.h), so what CloudWatch
 * shows and alarms on is the SLO over every agent, not one agent's view. Pure: JSON text out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ag_json.h"
#include "ag_mem.h"
#include "slo_cw.h"

#define EXPR_CAP 512u
#define NAME_CAP 1024u

struct gen {
    const struct slo_defs *d;
    const struct slo_cw_opts *o;
    struct ag_json w;
    struct ag_buf *diag;
    const char *ns;
    const char *prefix;
    bool bad_def; /* a definition was reported */
    bool oom;
    bool too_big;
    char **names; /* alarm names seen, for duplicates */
    size_t n_names, cap_names;
};

static void report(struct gen *g, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void report(struct gen *g, const char *file, int line, int col, const char *fmt, ...)
{
    g->bad_def = true;
    if (g->diag == NULL) {
        return;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ag_buf_printf(g->diag, "%s:%d:%d: error: %s\n", file, line, col, msg) == AG_ENOMEM) {
        g->oom = true;
    }
}

const char *slo_cw_service(const struct slo_defs *d, const struct slo_slo_def *s)
{
    (void)d; /* slo_defs_finish() gave an SLO without a service its span SLI's */
    return s->service != NULL && s->service[0] != '\0' ? s->service : SLO_CW_SERVICE_UNKNOWN;
}

int slo_cw_budget_text(const struct slo_decimal *o, char *buf, size_t cap)
{
    /* 1 - num / 10^k = (10^k - num) / 10^k: exact, then normalised like a parsed decimal so
     * 0.999 gives "0.001", never the 0.0009999999999999432 of binary floating point. */
    struct slo_decimal e = {slo_objective_budget_num(o), o->den, o->scale};
    while (e.scale > 0 && e.num % 10 == 0) {
        e.num /= 10;
        e.den /= 10;
        e.scale--;
    }
    return slo_decimal_format(&e, buf, cap);
}

bool slo_cw_period_ok(uint64_t ms)
{
    if (ms == 0 || ms % 60000 != 0) {
        return false;
    }
    uint64_t s = ms / 1000;
    if (s < 3600) {
        return s <= SLO_CW_MAX_RANGE_SHORT_S;
    }
    return s <= SLO_CW_MAX_RANGE_S;
}

bool slo_cw_metrics_period_ok(uint64_t s)
{
    return s > 0 && s % 60 == 0 && s <= SLO_CW_MAX_RANGE_SHORT_S;
}

/* ---- small writers --------------------------------------------------------------------------- */

static void raw(struct gen *g, const char *text)
{
    ag_json_raw(&g->w, text, strlen(text));
}

static void key_str(struct gen *g, const char *k, const char *v)
{
    ag_json_key(&g->w, k);
    ag_json_str(&g->w, v);
}

static void key_uint(struct gen *g, const char *k, uint64_t v)
{
    ag_json_key(&g->w, k);
    ag_json_uint(&g->w, v);
}

static void key_raw(struct gen *g, const char *k, const char *v)
{
    ag_json_key(&g->w, k);
    raw(g, v);
}

/* The burn rate over one lookback from ids |gid| and |tid|: (1 - good / total) / (1 - o), with
 * the minimum-events guards as metric math IFs (0 when the long window holds too little). */
static void burn_expr(char *buf, size_t cap, const char *gid, const char *tid, const char *budget,
                      uint64_t min_events, uint64_t min_bad)
{
    char ev[64] = "", bad[64] = "";
    if (min_events > 0) {
        (void)snprintf(ev, sizeof(ev), "IF(%.8s >= %llu, ", tid, (unsigned long long)min_events);
    }
    if (min_bad > 0) {
        (void)snprintf(bad, sizeof(bad), "IF(%.8s - %.8s >= %llu, ", tid, gid,
                       (unsigned long long)min_bad);
    }
    (void)snprintf(buf, cap, "%s%s(1 - %.8s / %.8s) / %.40s%s%s", ev, bad, gid, tid, budget,
                   min_bad > 0 ? ", 0)" : "", min_events > 0 ? ", 0)" : "");
}

static const char *budgeting_name(enum slo_budgeting b)
{
    switch (b) {
    case SLO_BUDGETING_TIMESLICES:
        return "Timeslices";
    case SLO_BUDGETING_RATIO_TIMESLICES:
        return "RatioTimeslices";
    default:
        return "Occurrences";
    }
}

/* A duration in whole minutes, hours or days for titles ("5m", "56m", "1h", "3d"). */
static void dur_text(uint64_t ms, char *buf, size_t cap)
{
    uint64_t m = ms / 60000;
    if (ms % 86400000 == 0) {
        (void)snprintf(buf, cap, "%llud", (unsigned long long)(ms / 86400000));
    } else if (ms % 3600000 == 0) {
        (void)snprintf(buf, cap, "%lluh", (unsigned long long)(ms / 3600000));
    } else if (ms % 60000 == 0) {
        (void)snprintf(buf, cap, "%llum", (unsigned long long)m);
    } else {
        (void)snprintf(buf, cap, "%llus", (unsigned long long)(ms / 1000));
    }
}

/* ---- dashboard ------------------------------------------------------------------------------- */

/* One dashboard metrics-array entry for |metric| of |s|: [ns, metric, "SLO", name, "Service",
 * service, {id, visible, period}]. */
static void dash_metric(struct gen *g, const struct slo_slo_def *s, const char *metric,
                        const char *id, bool visible, uint64_t period_s, const char *label,
                        bool right_axis)
{
    struct ag_json *w = &g->w;
    ag_json_arr_open(w);
    ag_json_str(w, g->ns);
    ag_json_str(w, metric);
    ag_json_str(w, SLO_CW_DIM_SLO);
    ag_json_str(w, s->name);
    ag_json_str(w, SLO_CW_DIM_SERVICE);
    ag_json_str(w, slo_cw_service(g->d, s));
    ag_json_obj_open(w);
    key_str(g, "id", id);
    if (label != NULL) {
        key_str(g, "label", label);
    }
    key_str(g, "stat", "Sum");
    if (period_s > 0) {
        key_uint(g, "period", period_s);
    }
    if (!visible) {
        ag_json_key(w, "visible");
        ag_json_bool(w, 0);
    }
    if (right_axis) {
        key_str(g, "yAxis", "right");
    }
    ag_json_obj_close(w);
    ag_json_arr_close(w);
}

static void dash_expr(struct gen *g, const char *expr, const char *label, const char *id)
{
    ag_json_arr_open(&g->w);
    ag_json_obj_open(&g->w);
    key_str(g, "expression", expr);
    key_str(g, "label", label);
    key_str(g, "id", id);
    ag_json_obj_close(&g->w);
    ag_json_arr_close(&g->w);
}

static void widget_open(struct gen *g, const char *type, unsigned x, unsigned y, unsigned wd,
                        unsigned ht)
{
    ag_json_obj_open(&g->w);
    key_str(g, "type", type);
    key_uint(g, "x", x);
    key_uint(g, "y", y);
    key_uint(g, "width", wd);
    key_uint(g, "height", ht);
    ag_json_key(&g->w, "properties");
    ag_json_obj_open(&g->w);
    if (strcmp(type, "metric") == 0 && g->o->region != NULL) {
        key_str(g, "region", g->o->region);
    }
}

static void widget_close(struct gen *g)
{
    ag_json_obj_close(&g->w); /* properties */
    ag_json_obj_close(&g->w);
}

/* Distinct alert windows of |s| in order of first use (long before short). Returns the count. */
static size_t alert_windows(const struct slo_slo_def *s, uint64_t *ms, const char **text,
                            size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_alerts; i++) {
        const struct slo_alert_def *a = &s->alerts[i];
        if (a->kind != SLO_ALERT_BURN_RATE) {
            continue; /* budget and TTE conditions have no CloudWatch alarm (README) */
        }
        for (int k = 0; k < 2; k++) {
            uint64_t v = k == 0 ? a->long_ms : a->short_ms;
            const char *t = k == 0 ? a->long_text : a->short_text;
            if (v == 0) {
                continue;
            }
            bool seen = false;
            for (size_t j = 0; j < n; j++) {
                seen = seen || ms[j] == v;
            }
            if (!seen && n < cap) {
                ms[n] = v;
                text[n] = t;
                n++;
            }
        }
    }
    return n;
}

#define MAX_WINDOWS ((SLO_CW_MAX_WIDGET_SERIES) / 3u)

static void dash_slo(struct gen *g, const struct slo_slo_def *s, unsigned y)
{
    struct ag_json *w = &g->w;
    char budget[48], obj[48], win[32], text[2048], title[768], expr[EXPR_CAP], label[512];
    if (slo_cw_budget_text(&s->objective, budget, sizeof(budget)) < 0 ||
        slo_objective_format_percent(&s->objective, obj, sizeof(obj)) < 0) {
        g->too_big = true;
        return;
    }
    dur_text(s->window_ms, win, sizeof(win));
    const char *shown = s->display_name != NULL ? s->display_name : s->name;
    bool slices = s->budgeting != SLO_BUDGETING_OCCURRENCES;

    /* The header: what the SLO promises and how the figures below are computed. */
    int n = snprintf(text, sizeof(text),
                     "## %s\n**Objective %s%%** over a %s **%s** window (%s), SLO `%s`, "
                     "service `%s`. Attainment, budget and burn rates are metric math over "
                     "SUM(%s) / SUM(%s) of every agent.",
                     shown, obj, s->calendar ? "calendar (shortest period)" : "rolling",
                     s->window_text != NULL ? s->window_text : win, budgeting_name(s->budgeting),
                     s->name, slo_cw_service(g->d, s), SLO_CW_GOOD, SLO_CW_TOTAL);
    if (slices && n > 0 && (size_t)n < sizeof(text)) {
        char period[32], target[48] = "";
        dur_text(s->slice_ms, period, sizeof(period));
        if (s->budgeting == SLO_BUDGETING_TIMESLICES &&
            slo_objective_format_percent(&s->slice_target, target, sizeof(target)) < 0) {
            target[0] = '\0';
        }
        (void)snprintf(text + n, sizeof(text) - (size_t)n,
                       " %s periods of %s%s%s: these are event ratios over the window, an "
                       "approximation of the period-based figures `slo report` gives.",
                       budgeting_name(s->budgeting), period, target[0] ? ", good at >= " : "",
                       target[0] ? target : "");
    }
    widget_open(g, "text", 0, y, 24, 2);
    key_str(g, "markdown", text);
    widget_close(g);

    /* Attainment and budget left over the whole SLO window: single values whose period is the
     * widget's own time range (the window), so each is one SUM over the window. */
    uint64_t win_min = s->window_ms / 60000;
    char start[48];
    if (win_min % 60 == 0) {
        (void)snprintf(start, sizeof(start), "-PT%lluH", (unsigned long long)(win_min / 60));
    } else {
        (void)snprintf(start, sizeof(start), "-PT%lluM", (unsigned long long)win_min);
    }
    unsigned sv_width = s->n_alerts > 0 ? 6 : 12;
    for (int k = 0; k < 2; k++) {
        widget_open(g, "metric", k == 0 ? 0 : sv_width, y + 2, sv_width, 6);
        if (k == 0) {
            (void)snprintf(title, sizeof(title), "%s: attainment over %s (%%)", s->name, win);
            (void)snprintf(expr, sizeof(expr), "100 * good / total");
            (void)snprintf(label, sizeof(label), "attainment %% (objective %s)", obj);
        } else {
            (void)snprintf(title, sizeof(title), "%s: error budget left over %s (%%)", s->name,
                           win);
            (void)snprintf(expr, sizeof(expr), "100 * (1 - (1 - good / total) / %s)", budget);
            (void)snprintf(label, sizeof(label), "error budget left %%");
        }
        key_str(g, "title", title);
        key_str(g, "view", "singleValue");
        key_str(g, "stat", "Sum");
        key_uint(g, "period", 3600);
        ag_json_key(w, "setPeriodToTimeRange");
        ag_json_bool(w, 1);
        key_str(g, "start", start);
        ag_json_key(w, "metrics");
        ag_json_arr_open(w);
        dash_expr(g, expr, label, k == 0 ? "attainment" : "budget");
        dash_metric(g, s, SLO_CW_GOOD, "good", false, 0, NULL, false);
        dash_metric(g, s, SLO_CW_TOTAL, "total", false, 0, NULL, false);
        ag_json_arr_close(w);
        widget_close(g);
    }

    /* Burn rates: one expression per distinct alert window, each over counts summed with
     * Period = the window (the value its alarm compares), thresholds as annotations. */
    if (s->n_alerts > 0) {
        uint64_t wms[MAX_WINDOWS + 1];
        const char *wtext[MAX_WINDOWS + 1];
        size_t nw = alert_windows(s, wms, wtext, MAX_WINDOWS + 1);
        if (nw > MAX_WINDOWS) {
            report(g, s->file, s->line, s->col,
                   "SLO '%s': more than %u distinct alert windows; a CloudWatch graph holds at "
                   "most %u metrics and expressions (3 per window)",
                   s->name, MAX_WINDOWS, SLO_CW_MAX_WIDGET_SERIES);
            nw = MAX_WINDOWS;
        }
        widget_open(g, "metric", 12, y + 2, 12, 6);
        (void)snprintf(title, sizeof(title), "%s: burn rate per alert window", s->name);
        key_str(g, "title", title);
        key_str(g, "view", "timeSeries");
        key_str(g, "stat", "Sum");
        key_uint(g, "period", 300);
        ag_json_key(w, "metrics");
        ag_json_arr_open(w);
        for (size_t i = 0; i < nw; i++) {
            char gid[16], tid[16], bid[16];
            (void)snprintf(gid, sizeof(gid), "g%zu", i + 1);
            (void)snprintf(tid, sizeof(tid), "t%zu", i + 1);
            (void)snprintf(bid, sizeof(bid), "burn%zu", i + 1);
            burn_expr(expr, sizeof(expr), gid, tid, budget, 0, 0);
            (void)snprintf(label, sizeof(label), "burn rate %s", wtext[i]);
            dash_expr(g, expr, label, bid);
            dash_metric(g, s, SLO_CW_GOOD, gid, false, wms[i] / 1000, NULL, false);
            dash_metric(g, s, SLO_CW_TOTAL, tid, false, wms[i] / 1000, NULL, false);
        }
        ag_json_arr_close(w);
        ag_json_key(w, "annotations");
        ag_json_obj_open(w);
        ag_json_key(w, "horizontal");
        ag_json_arr_open(w);
        for (size_t i = 0; i < s->n_alerts; i++) {
            const struct slo_alert_def *a = &s->alerts[i];
            char thr[48];
            if (a->kind != SLO_ALERT_BURN_RATE) {
                continue;
            }
            if (slo_decimal_format(&a->threshold, thr, sizeof(thr)) < 0) {
                g->too_big = true;
                return;
            }
            if (a->short_ms > 0) {
                (void)snprintf(label, sizeof(label), "%s (%s AND %s) %s %s", a->name,
                               a->long_text, a->short_text, a->inclusive ? ">=" : ">", thr);
            } else {
                (void)snprintf(label, sizeof(label), "%s (%s) %s %s", a->name, a->long_text,
                               a->inclusive ? ">=" : ">", thr);
            }
            ag_json_obj_open(w);
            key_str(g, "label", label);
            key_raw(g, "value", thr);
            ag_json_obj_close(w);
        }
        ag_json_arr_close(w);
        ag_json_obj_close(w);
        widget_close(g);
    }

    /* The SLI series: the global good ratio per 5 minutes (per period for Timeslices) with the
     * traffic on the right axis. */
    uint64_t sli_period = slices && s->slice_ms >= 60000 && s->slice_ms % 60000 == 0
                              ? s->slice_ms / 1000
                              : 300;
    char per[32];
    dur_text(sli_period * 1000, per, sizeof(per));
    widget_open(g, "metric", 0, y + 8, 24, 6);
    (void)snprintf(title, sizeof(title), "%s: SLI per %s", s->name, per);
    key_str(g, "title", title);
    key_str(g, "view", "timeSeries");
    key_str(g, "stat", "Sum");
    key_uint(g, "period", sli_period);
    ag_json_key(w, "metrics");
    ag_json_arr_open(w);
    dash_expr(g, "100 * good / total", "SLI % (good / total)", "sli");
    dash_metric(g, s, SLO_CW_GOOD, "good", false, 0, NULL, false);
    dash_metric(g, s, SLO_CW_TOTAL, "total", true, 0, "events (TotalCount)", true);
    ag_json_arr_close(w);
    ag_json_key(w, "annotations");
    ag_json_obj_open(w);
    ag_json_key(w, "horizontal");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    if (s->budgeting == SLO_BUDGETING_TIMESLICES) {
        char target[48];
        if (slo_objective_format_percent(&s->slice_target, target, sizeof(target)) < 0) {
            g->too_big = true;
            return;
        }
        (void)snprintf(label, sizeof(label), "period target %s%%", target);
        key_str(g, "label", label);
        key_raw(g, "value", target);
    } else {
        (void)snprintf(label, sizeof(label), "objective %s%%", obj);
        key_str(g, "label", label);
        key_raw(g, "value", obj);
    }
    ag_json_obj_close(w);
    ag_json_arr_close(w);
    ag_json_obj_close(w);
    widget_close(g);
}

static void gen_init(struct gen *g, const struct slo_defs *d, const struct slo_cw_opts *o,
                     struct ag_buf *out, struct ag_buf *diag)
{
    memset(g, 0, sizeof(*g));
    g->d = d;
    g->o = o;
    g->diag = diag;
    g->ns = o->ns != NULL ? o->ns : SLO_CW_NAMESPACE;
    g->prefix = o->prefix != NULL ? o->prefix : "";
    ag_json_init(&g->w, out);
    ag_json_set_limit(&g->w, SLO_CW_OUT_CAP);
}

static int gen_finish(struct gen *g)
{
    for (size_t i = 0; i < g->n_names; i++) {
        ag_free(g->names[i]);
    }
    ag_free(g->names);
    int rc = ag_json_finish(&g->w);
    if (g->oom || rc == AG_ENOMEM) {
        return AG_ENOMEM;
    }
    if (g->bad_def) {
        return AG_EINVAL;
    }
    if (g->too_big || rc != 0) {
        return AG_ETOOBIG;
    }
    return 0;
}

int slo_cw_dashboard(const struct slo_defs *d, const struct slo_cw_opts *o, struct ag_buf *out,
                     struct ag_buf *diag)
{
    struct gen g;
    gen_init(&g, d, o, out, diag);
    size_t widgets = o->dashboard_name != NULL ? 1 : 0;
    for (size_t i = 0; i < d->n_slos; i++) {
        widgets += d->slos[i].n_alerts > 0 ? 5 : 4;
    }
    if (widgets > SLO_CW_MAX_WIDGETS) {
        if (diag != NULL && ag_buf_printf(diag,
                                          "error: %zu SLOs need %zu widgets; a CloudWatch "
                                          "dashboard holds at most %u (split the definitions)\n",
                                          d->n_slos, widgets, SLO_CW_MAX_WIDGETS) == AG_ENOMEM) {
            g.oom = true;
        }
        g.too_big = true;
        return gen_finish(&g) == AG_ENOMEM ? AG_ENOMEM : AG_ETOOBIG;
    }
    struct ag_json *w = &g.w;
    ag_json_obj_open(w);
    /* "inherit": every graph keeps its own period, so a burn rate over 1h is summed per hour. */
    key_str(&g, "periodOverride", "inherit");
    key_str(&g, "start", "-PT168H");
    ag_json_key(w, "widgets");
    ag_json_arr_open(w);
    unsigned y = 0;
    if (o->dashboard_name != NULL) {
        char md[SLO_CW_MAX_NAME + 64];
        (void)snprintf(md, sizeof(md), "# %s", o->dashboard_name);
        widget_open(&g, "text", 0, 0, 24, 1);
        key_str(&g, "markdown", md);
        widget_close(&g);
        y = 1;
    }
    for (size_t i = 0; i < d->n_slos; i++) {
        dash_slo(&g, &d->slos[i], y);
        y += 14;
    }
    ag_json_arr_close(w);
    ag_json_obj_close(w);
    return gen_finish(&g);
}

/* ---- alarms ---------------------------------------------------------------------------------- */

/* Records |name| (copied); reports a duplicate or an unusable name at |a|. Returns false when
 * the name was reported. */
static bool check_name(struct gen *g, const struct slo_slo_def *s, const struct slo_alert_def *a,
                       const char *name)
{
    size_t len = strlen(name);
    if (len > SLO_CW_MAX_NAME) {
        report(g, a->file, a->line, a->col,
               "SLO '%s', alert '%s': the alarm name '%.60s...' is %zu characters; CloudWatch "
               "allows %u (shorten the SLO or alert name, or the prefix)",
               s->name, a->name, name, len, SLO_CW_MAX_NAME);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '(' || c == ')' || c == '\\') {
            report(g, a->file, a->line, a->col,
                   "SLO '%s', alert '%s': the alarm name '%s' has a character a composite "
                   "alarm rule cannot quote (quotes, parentheses, backslashes and control "
                   "characters are refused)",
                   s->name, a->name, name);
            return false;
        }
    }
    for (size_t i = 0; i < g->n_names; i++) {
        if (strcmp(g->names[i], name) == 0) {
            report(g, a->file, a->line, a->col,
                   "SLO '%s', alert '%s': a second alarm named '%s' (give the alerts distinct "
                   "names)",
                   s->name, a->name, name);
            return false;
        }
    }
    if (g->n_names == g->cap_names) {
        size_t nc = g->cap_names ? g->cap_names * 2 : 16;
        char **nn = ag_realloc(g->names, nc * sizeof(*nn));
        if (nn == NULL) {
            g->oom = true;
            return false;
        }
        g->names = nn;
        g->cap_names = nc;
    }
    char *copy = ag_malloc(len + 1);
    if (copy == NULL) {
        g->oom = true;
        return false;
    }
    memcpy(copy, name, len + 1);
    g->names[g->n_names++] = copy;
    return true;
}

static void alarm_name(struct gen *g, const struct slo_slo_def *s, const struct slo_alert_def *a,
                       const char *w1, const char *w2, char *buf, size_t cap)
{
    if (w2 != NULL) {
        (void)snprintf(buf, cap, "%sslo-%s-%s-%s-%s", g->prefix, s->name, a->name, w1, w2);
    } else {
        (void)snprintf(buf, cap, "%sslo-%s-%s-%s", g->prefix, s->name, a->name, w1);
    }
}

static void actions(struct gen *g)
{
    if (g->o->sns_topic_arn == NULL) {
        return;
    }
    for (int k = 0; k < 2; k++) {
        ag_json_key(&g->w, k == 0 ? "AlarmActions" : "OKActions");
        ag_json_arr_open(&g->w);
        ag_json_str(&g->w, g->o->sns_topic_arn);
        ag_json_arr_close(&g->w);
    }
}

/* The fields of one of otterd's per-SLO metrics: namespace, name, [SLO, Service] and, when
 * |window_min| is not NULL, BurnRateWindowMinutes. */
static void agent_metric(struct gen *g, const struct slo_slo_def *s, const char *metric,
                         const char *window_min)
{
    struct ag_json *w = &g->w;
    key_str(g, "Namespace", g->ns);
    key_str(g, "MetricName", metric);
    ag_json_key(w, "Dimensions");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    key_str(g, "Name", SLO_CW_DIM_SLO);
    key_str(g, "Value", s->name);
    ag_json_obj_close(w);
    ag_json_obj_open(w);
    key_str(g, "Name", SLO_CW_DIM_SERVICE);
    key_str(g, "Value", slo_cw_service(g->d, s));
    ag_json_obj_close(w);
    if (window_min != NULL) {
        ag_json_obj_open(w);
        key_str(g, "Name", SLO_CW_DIM_WINDOW);
        key_str(g, "Value", window_min);
        ag_json_obj_close(w);
    }
    ag_json_arr_close(w);
}

/* One MetricStat entry of a metric-math alarm over a per-agent metric (|window_min|: the
 * Window dimension, or NULL), not returned. */
static void metric_stat(struct gen *g, const struct slo_slo_def *s, const char *id,
                        const char *metric, const char *window_min, uint64_t period_s,
                        const char *stat)
{
    struct ag_json *w = &g->w;
    ag_json_obj_open(w);
    key_str(g, "Id", id);
    ag_json_key(w, "MetricStat");
    ag_json_obj_open(w);
    ag_json_key(w, "Metric");
    ag_json_obj_open(w);
    agent_metric(g, s, metric, window_min);
    ag_json_obj_close(w);
    key_uint(g, "Period", period_s);
    key_str(g, "Stat", stat);
    ag_json_obj_close(w);
    ag_json_key(w, "ReturnData");
    ag_json_bool(w, 0);
    ag_json_obj_close(w);
}

/* One window of |a| (|is_long|): checks it and writes its metric alarm. */
static void metric_alarm(struct gen *g, const struct slo_slo_def *s, const struct slo_alert_def *a,
                         bool is_long)
{
    uint64_t ms = is_long ? a->long_ms : a->short_ms;
    const char *wt = is_long ? a->long_text : a->short_text;
    char name[NAME_CAP], budget[48], obj[48], thr[48], expr[EXPR_CAP], desc[1024], win[32];
    if (!slo_cw_period_ok(ms)) {
        report(g, a->file, a->line, a->col,
               "SLO '%s', alert '%s': the window %s cannot be one CloudWatch alarm period "
               "(whole minutes, at most 1 day below 1 hour and at most 7 days)",
               s->name, a->name, wt);
        return;
    }
    alarm_name(g, s, a, wt, NULL, name, sizeof(name));
    if (!check_name(g, s, a, name)) {
        return;
    }
    if (slo_cw_budget_text(&s->objective, budget, sizeof(budget)) < 0 ||
        slo_objective_format_percent(&s->objective, obj, sizeof(obj)) < 0 ||
        slo_decimal_format(&a->threshold, thr, sizeof(thr)) < 0) {
        g->too_big = true;
        return;
    }
    dur_text(s->window_ms, win, sizeof(win));
    const char *role = a->short_ms == 0 ? "single window"
                       : is_long        ? "long window of the pair"
                                        : "short window of the pair";
    int n = snprintf(desc, sizeof(desc),
                     "SLO %s (objective %s%% over %s): burn rate over %s %s %s; alert %s "
                     "(severity %s), %s.",
                     s->name, obj, s->window_text != NULL ? s->window_text : win, wt,
                     a->inclusive ? "at or above" : "above", thr, a->name,
                     a->severity != NULL ? a->severity : "page", role);
    if (s->budgeting != SLO_BUDGETING_OCCURRENCES && n > 0 && (size_t)n < sizeof(desc)) {
        (void)snprintf(desc + n, sizeof(desc) - (size_t)n,
                       " %s SLO: the burn is over events, an approximation of the period burn.",
                       budgeting_name(s->budgeting));
    }
    bool guard = is_long;
    burn_expr(expr, sizeof(expr), "good", "total", budget, guard ? a->min_events : 0,
              guard ? a->min_bad : 0);

    struct ag_json *w = &g->w;
    ag_json_obj_open(w);
    key_str(g, "AlarmName", name);
    key_str(g, "AlarmDescription", desc);
    if (a->short_ms == 0) {
        actions(g);
    }
    ag_json_key(w, "Metrics");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    key_str(g, "Id", "burn");
    key_str(g, "Expression", expr);
    char label[64];
    (void)snprintf(label, sizeof(label), "burn rate %s", wt);
    key_str(g, "Label", label);
    ag_json_key(w, "ReturnData");
    ag_json_bool(w, 1);
    ag_json_obj_close(w);
    metric_stat(g, s, "good", SLO_CW_GOOD, NULL, ms / 1000, "Sum");
    metric_stat(g, s, "total", SLO_CW_TOTAL, NULL, ms / 1000, "Sum");
    ag_json_arr_close(w);
    key_uint(g, "EvaluationPeriods", 1);
    key_uint(g, "DatapointsToAlarm", 1);
    key_raw(g, "Threshold", thr);
    key_str(g, "ComparisonOperator",
            a->inclusive ? "GreaterThanOrEqualToThreshold" : "GreaterThanThreshold");
    key_str(g, "TreatMissingData", "notBreaching");
    ag_json_obj_close(w);
}

static void composite_alarm(struct gen *g, const struct slo_slo_def *s,
                            const struct slo_alert_def *a)
{
    char name[NAME_CAP], ln[NAME_CAP], sn[NAME_CAP], rule[3 * NAME_CAP], desc[1024], thr[48];
    alarm_name(g, s, a, a->long_text, a->short_text, name, sizeof(name));
    alarm_name(g, s, a, a->long_text, NULL, ln, sizeof(ln));
    alarm_name(g, s, a, a->short_text, NULL, sn, sizeof(sn));
    if (slo_decimal_format(&a->threshold, thr, sizeof(thr)) < 0) {
        g->too_big = true;
        return;
    }
    (void)snprintf(rule, sizeof(rule), "ALARM(\"%s\") AND ALARM(\"%s\")", ln, sn);
    (void)snprintf(desc, sizeof(desc),
                   "SLO %s: alert %s (severity %s) fires while the burn rate is %s %s over both "
                   "%s and %s.",
                   s->name, a->name, a->severity != NULL ? a->severity : "page",
                   a->inclusive ? "at or above" : "above", thr, a->long_text, a->short_text);
    struct ag_json *w = &g->w;
    ag_json_obj_open(w);
    key_str(g, "AlarmName", name);
    key_str(g, "AlarmDescription", desc);
    key_str(g, "AlarmRule", rule);
    actions(g);
    ag_json_obj_close(w);
}

/* A warning line in the diagnostics (the generation goes on and succeeds). */
static void note(struct gen *g, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void note(struct gen *g, const char *file, int line, int col, const char *fmt, ...)
{
    if (g->diag == NULL) {
        return;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ag_buf_printf(g->diag, "%s:%d:%d: warning: %s\n", file, line, col, msg) == AG_ENOMEM) {
        g->oom = true;
    }
}

static uint64_t metrics_period(const struct gen *g)
{
    return g->o->metrics_period_s != 0 ? g->o->metrics_period_s : SLO_CW_METRICS_PERIOD_S;
}

/* The SLO's objective in percent and window as written, for descriptions; false on overflow. */
static bool slo_words(struct gen *g, const struct slo_slo_def *s, char *obj, size_t oc, char *win,
                      size_t wc)
{
    if (slo_objective_format_percent(&s->objective, obj, oc) < 0) {
        g->too_big = true;
        return false;
    }
    dur_text(s->window_ms, win, wc);
    if (s->window_text != NULL) {
        (void)snprintf(win, wc, "%s", s->window_text);
    }
    return true;
}

/* budgetRemaining x: ErrorBudgetRemaining (percent, each agent's own view) below 100 x. */
static void budget_alarm(struct gen *g, const struct slo_slo_def *s, const struct slo_alert_def *a)
{
    char name[NAME_CAP], obj[48], win[32], thr[48], desc[1024];
    (void)snprintf(name, sizeof(name), "%sslo-%s-%s", g->prefix, s->name, a->name);
    if (!check_name(g, s, a, name) || !slo_words(g, s, obj, sizeof(obj), win, sizeof(win))) {
        return;
    }
    /* x in percent, exactly: num / 10^k x 100 */
    struct slo_decimal p = a->budget_below;
    if (p.scale >= 2) {
        p.den /= 100;
        p.scale -= 2;
    } else {
        p.num *= p.scale == 1 ? 10 : 100; /* num <= den <= 10: no overflow */
        p.den = 1;
        p.scale = 0;
    }
    if (slo_decimal_format(&p, thr, sizeof(thr)) < 0) {
        g->too_big = true;
        return;
    }
    (void)snprintf(desc, sizeof(desc),
                   "SLO %s (objective %s%% over %s): error budget left below %s%% "
                   "(ErrorBudgetRemaining, the lowest of the agents' own views); alert %s "
                   "(severity %s).",
                   s->name, obj, win, thr, a->name, a->severity != NULL ? a->severity : "page");
    struct ag_json *w = &g->w;
    ag_json_obj_open(w);
    key_str(g, "AlarmName", name);
    key_str(g, "AlarmDescription", desc);
    actions(g);
    agent_metric(g, s, SLO_CW_BUDGET_REMAINING, NULL);
    key_str(g, "Statistic", "Minimum");
    key_uint(g, "Period", metrics_period(g));
    key_uint(g, "EvaluationPeriods", 1);
    key_uint(g, "DatapointsToAlarm", 1);
    key_raw(g, "Threshold", thr);
    key_str(g, "ComparisonOperator", "LessThanThreshold");
    key_str(g, "TreatMissingData", "notBreaching");
    ag_json_obj_close(w);
}

/* timeToExhaustion {below: D, lookback: L}: rem / 100 x W / burn(L) < D seconds, where W is the
 * rolling window (a calendar window's shortest period) in seconds. A zero burn divides by zero:
 * CloudWatch drops the point (missing, not breaching), as the engine's null. */
static void tte_alarm(struct gen *g, const struct slo_slo_def *s, const struct slo_alert_def *a)
{
    char name[NAME_CAP], obj[48], win[32], desc[1024], expr[EXPR_CAP], label[96], wmin[24];
    char below[32];
    (void)snprintf(name, sizeof(name), "%sslo-%s-%s", g->prefix, s->name, a->name);
    if (a->long_ms % 60000 != 0 || a->tte_below_ms % 1000 != 0) {
        report(g, a->file, a->line, a->col,
               "SLO '%s', alert '%s': a timeToExhaustion alarm needs a lookback of whole "
               "minutes (BurnRateWindowMinutes) and a duration of whole seconds",
               s->name, a->name);
        return;
    }
    if (!check_name(g, s, a, name) || !slo_words(g, s, obj, sizeof(obj), win, sizeof(win))) {
        return;
    }
    uint64_t w_s = s->window_ms / 1000;
    (void)snprintf(wmin, sizeof(wmin), "%llu", (unsigned long long)(a->long_ms / 60000));
    (void)snprintf(below, sizeof(below), "%llu", (unsigned long long)(a->tte_below_ms / 1000));
    (void)snprintf(expr, sizeof(expr), "rem / 100 * %llu / burn", (unsigned long long)w_s);
    (void)snprintf(label, sizeof(label), "time to exhaustion over %.40s (s)", a->long_text);
    int n = snprintf(desc, sizeof(desc),
                     "SLO %s (objective %s%% over %s): time to exhaustion below %s s: the budget "
                     "left x %llu s / the burn rate over %s (ErrorBudgetRemaining lowest and "
                     "BurnRate highest of the agents' own views); alert %s (severity %s).",
                     s->name, obj, win, below, (unsigned long long)w_s, a->long_text, a->name,
                     a->severity != NULL ? a->severity : "page");
    if (s->calendar && n > 0 && (size_t)n < sizeof(desc)) {
        (void)snprintf(desc + n, sizeof(desc) - (size_t)n,
                       " Calendar window: its shortest period stands for its length.");
    }
    struct ag_json *w = &g->w;
    ag_json_obj_open(w);
    key_str(g, "AlarmName", name);
    key_str(g, "AlarmDescription", desc);
    actions(g);
    ag_json_key(w, "Metrics");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    key_str(g, "Id", "tte");
    key_str(g, "Expression", expr);
    key_str(g, "Label", label);
    ag_json_key(w, "ReturnData");
    ag_json_bool(w, 1);
    ag_json_obj_close(w);
    metric_stat(g, s, "rem", SLO_CW_BUDGET_REMAINING, NULL, metrics_period(g), "Minimum");
    metric_stat(g, s, "burn", SLO_CW_BURN_RATE, wmin, metrics_period(g), "Maximum");
    ag_json_arr_close(w);
    key_uint(g, "EvaluationPeriods", 1);
    key_uint(g, "DatapointsToAlarm", 1);
    key_raw(g, "Threshold", below);
    key_str(g, "ComparisonOperator", "LessThanThreshold");
    key_str(g, "TreatMissingData", "notBreaching");
    ag_json_obj_close(w);
}

int slo_cw_alarms(const struct slo_defs *d, const struct slo_cw_opts *o, struct ag_buf *out,
                  struct ag_buf *diag)
{
    struct gen g;
    gen_init(&g, d, o, out, diag);
    struct ag_json *w = &g.w;
    ag_json_obj_open(w);
    ag_json_key(w, "MetricAlarms");
    ag_json_arr_open(w);
    for (size_t i = 0; i < d->n_slos && !g.oom; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        for (size_t j = 0; j < s->n_alerts && !g.oom; j++) {
            const struct slo_alert_def *a = &s->alerts[j];
            if (a->kind == SLO_ALERT_BUDGET) {
                budget_alarm(&g, s, a);
                continue;
            }
            if (a->kind == SLO_ALERT_TTE) {
                tte_alarm(&g, s, a);
                continue;
            }
            if (a->kind == SLO_ALERT_DROP) {
                note(&g, a->file, a->line, a->col,
                     "SLO '%s', alert '%s': no CloudWatch alarm for a budgetDrop condition "
                     "(metric math cannot read the budget a lookback ago); otterd's alert "
                     "sinks carry it",
                     s->name, a->name);
                continue;
            }
            metric_alarm(&g, s, a, true);
            if (a->short_ms > 0) {
                metric_alarm(&g, s, a, false);
                char name[NAME_CAP];
                alarm_name(&g, s, a, a->long_text, a->short_text, name, sizeof(name));
                (void)check_name(&g, s, a, name);
            }
        }
    }
    ag_json_arr_close(w);
    ag_json_key(w, "CompositeAlarms");
    ag_json_arr_open(w);
    for (size_t i = 0; i < d->n_slos && !g.bad_def && !g.oom; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        for (size_t j = 0; j < s->n_alerts; j++) {
            if (s->alerts[j].short_ms > 0) {
                composite_alarm(&g, s, &s->alerts[j]);
            }
        }
    }
    ag_json_arr_close(w);
    ag_json_obj_close(w);
    return gen_finish(&g);
}
