/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo report`: replays an events file against definitions at one or more instants (the replay
 * contract of issue 5) and prints the report. Each instant gets a fresh engine fed, in time
 * order, exactly the observations before it that can matter there (from the earliest window
 * start of any SLO at that instant), so instants may come in any order and never see the future.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_yaml.h"
#include "slo_cli.h"
#include "slo_def.h"
#include "slo_tz.h"
#include "slo_eval.h"
#include "slo_events.h"
#include "slo_report_cli.h"
#include "slo_report_parse.h"

#define DIAG_CAP (1024u * 1024u)
#define EVENTS_CAP (1024u * 1024u * 1024u) /* 1 GiB of events text */
#define MAX_INSTANTS 1024
#define MAX_DEFS 64

static const char report_usage[] =
    "usage: slo report --definitions FILE [--definitions FILE...] --events FILE|-\n"
    "                  --at TIME [--at TIME...] [--format json|text|markdown|html]\n"
    "                  [--output FILE] [--save-state FILE]\n"
    "       slo report --definitions FILE... --from state=FILE [--at TIME...] [--format F]\n"
    "                  [--output FILE]\n"
    "       slo report --from agent=URL [--definitions FILE...] [--timeout SECONDS] [--format F]\n"
    "                  [--output FILE]\n"
    "       slo report --from cloudwatch --definitions FILE... [--region R] [--endpoint URL]\n"
    "                  [--namespace NS] [--at TIME...] [--format F] [--output FILE]\n";

/*
 * Renders |r| in |format| into |out|: json (the replay contract), text (colour when |colour|),
 * markdown or html. Returns 0, AG_EINVAL (unknown format) or AG_ENOMEM.
 */
static int render(const char *format, const struct slo_report *r, bool colour, struct ag_buf *out)
{
    int rc;
    if (strcmp(format, "json") == 0) {
        rc = slo_report_json(r, out);
        return rc == 0 ? ag_buf_addc(out, '\n') : rc;
    }
    if (strcmp(format, "text") == 0) {
        return slo_report_text(r, colour, out);
    }
    if (strcmp(format, "markdown") == 0) {
        return slo_report_markdown(r, out);
    }
    if (strcmp(format, "html") == 0) {
        return slo_report_html(r, out);
    }
    return AG_EINVAL;
}

struct opts {
    const char *defs[MAX_DEFS];
    size_t n_defs;
    const char *events;
    const char *at[MAX_INSTANTS];
    size_t n_at;
    const char *format;
    const char *output;
    const char *state;      /* --from state=FILE */
    const char *save_state; /* --save-state FILE */
    const char *agent;      /* --from agent=URL */
    bool cloudwatch;        /* --from cloudwatch */
    const char *region, *endpoint, *namespace;
    long timeout_s;
};

static int check_format(const struct opts *o, FILE *err)
{
    if (strcmp(o->format, "json") != 0 && strcmp(o->format, "text") != 0 &&
        strcmp(o->format, "markdown") != 0 && strcmp(o->format, "html") != 0) {
        fprintf(err, "slo report: unknown format \"%s\"; expected json, text, markdown or html\n",
                o->format);
        return 2;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o, FILE *err)
{
    memset(o, 0, sizeof(*o));
    o->format = "json";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *names[] = {"--definitions", "--events",    "--at",     "--format",
                               "--output",      "--from",      "--save-state", "--region",
                               "--endpoint",    "--namespace", "--timeout"};
        int which = -1;
        for (int k = 0; k < 11; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(a, names[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                which = k;
                if (a[n] == '=') {
                    val = a + n + 1;
                } else if (i + 1 < argc) {
                    val = argv[++i];
                }
            }
        }
        if (which < 0) {
            fprintf(err, "slo report: unknown argument \"%s\"\n%s", a, report_usage);
            return 2;
        }
        if (val == NULL || val[0] == '\0') {
            fprintf(err, "slo report: %s needs a value\n%s", names[which], report_usage);
            return 2;
        }
        switch (which) {
        case 0:
            if (o->n_defs == MAX_DEFS) {
                fprintf(err, "slo report: at most %d --definitions\n", MAX_DEFS);
                return 2;
            }
            o->defs[o->n_defs++] = val;
            break;
        case 1:
            if (o->events != NULL) {
                fputs("slo report: --events given twice; expected one events file\n", err);
                return 2;
            }
            o->events = val;
            break;
        case 2:
            if (o->n_at == MAX_INSTANTS) {
                fprintf(err, "slo report: at most %d --at\n", MAX_INSTANTS);
                return 2;
            }
            o->at[o->n_at++] = val;
            break;
        case 3:
            o->format = val;
            break;
        case 4:
            o->output = val;
            break;
        case 5:
            if (o->state != NULL || o->agent != NULL || o->cloudwatch) {
                fputs("slo report: --from given twice; expected one source\n", err);
                return 2;
            }
            if (strncmp(val, "state=", 6) == 0 && val[6] != '\0') {
                o->state = val + 6;
            } else if (strncmp(val, "agent=", 6) == 0 && val[6] != '\0') {
                o->agent = val + 6;
            } else if (strcmp(val, "cloudwatch") == 0) {
                o->cloudwatch = true;
            } else {
                fprintf(err, "slo report: --from \"%s\": expected state=FILE, agent=URL or "
                             "cloudwatch\n",
                        val);
                return 2;
            }
            break;
        case 6:
            o->save_state = val;
            break;
        case 7:
            o->region = val;
            break;
        case 8:
            o->endpoint = val;
            break;
        case 9:
            o->namespace = val;
            break;
        default: {
            char *end = NULL;
            o->timeout_s = strtol(val, &end, 10);
            if (end == NULL || *end != '\0' || o->timeout_s < 1 || o->timeout_s > 3600) {
                fprintf(err, "slo report: --timeout \"%s\": expected whole seconds from 1 to "
                             "3600\n",
                        val);
                return 2;
            }
            break;
        }
        }
    }
    if (o->timeout_s == 0) {
        o->timeout_s = 10;
    }
    bool remote = o->agent != NULL || o->cloudwatch;
    if ((o->region != NULL || o->endpoint != NULL || o->namespace != NULL) && !o->cloudwatch) {
        fputs("slo report: --region, --endpoint and --namespace go with --from cloudwatch\n", err);
        return 2;
    }
    if (remote && (o->events != NULL || o->save_state != NULL)) {
        fprintf(err, "slo report: --from %s replaces --events (and takes no --save-state)\n",
                o->agent != NULL ? "agent" : "cloudwatch");
        return 2;
    }
    if (o->agent != NULL && o->n_at > 0) {
        fputs("slo report: --from agent takes no --at: the agent evaluates at the request's "
              "instant\n",
              err);
        return 2;
    }
    if (remote) {
        if (o->cloudwatch && o->n_defs == 0) {
            fprintf(err, "slo report: missing --definitions\n%s", report_usage);
            return 2;
        }
        return check_format(o, err);
    }
    if (o->state != NULL && (o->events != NULL || o->save_state != NULL)) {
        fputs("slo report: --from state=FILE replaces --events (and --save-state)\n", err);
        return 2;
    }
    if (o->n_defs == 0 || (o->events == NULL && o->state == NULL) ||
        (o->n_at == 0 && o->state == NULL)) {
        fprintf(err, "slo report: missing %s\n%s",
                o->n_defs == 0 ? "--definitions" : o->events == NULL && o->state == NULL
                                                       ? "--events"
                                                       : "--at",
                report_usage);
        return 2;
    }
    return check_format(o, err);
}

/* The earliest time any SLO's window at |at| reaches back to, and per SLO in |from|. */
static int64_t window_starts(const struct slo_defs *d, int64_t at, int64_t *from)
{
    int64_t min = at;
    for (size_t i = 0; i < d->n_slos; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        int64_t f = at - (int64_t)s->window_ms;
        if (s->calendar) {
            int64_t cs = 0, ce = 0;
            if (slo_calendar_bounds_tz(s->calendar_unit, s->tz, s->utc_offset_s, at, &cs, &ce) == 0) {
                f = cs;
            }
        }
        /* Alert lookbacks (and the 1 h of the time to exhaustion) of a calendar SLO may reach
         * before its period. */
        if (s->calendar && at - 3600000 < f) {
            f = at - 3600000;
        }
        for (size_t k = 0; k < s->n_alerts; k++) {
            const struct slo_alert_def *a = &s->alerts[k];
            int64_t l = at - (int64_t)a->long_ms;
            if (a->kind == SLO_ALERT_DROP) {
                /* budgetDrop reads the budget at floor(at) - L (a step of the budget is at most
                 * an hour or a period): the window, or calendar period, ending there. */
                int64_t step = s->slice_ms > 3600000u ? (int64_t)s->slice_ms : 3600000;
                int64_t r = at - (int64_t)a->drop_ms - step;
                int64_t cs = 0, ce = 0;
                l = r - (int64_t)s->window_ms;
                if (s->calendar && r >= 0 &&
                    slo_calendar_bounds_tz(s->calendar_unit, s->tz, s->utc_offset_s, r, &cs, &ce) ==
                        0) {
                    l = cs - 3600000;
                }
            }
            if (l < f) {
                f = l;
            }
        }
        if (f < 0) {
            f = 0;
        }
        from[i] = f;
        if (f < min) {
            min = f;
        }
    }
    return min;
}

/* Evaluates every SLO at |at| into |ra|. Returns 0 or a negative code (|why| says). */
static int eval_engine(struct slo_engine *e, const struct slo_defs *d, int64_t at,
                       const char *at_text, struct slo_report_at *ra)
{
    int rc = 0;
    ra->at_ms = at;
    ra->at_text = at_text;
    ra->slos = ag_calloc(d->n_slos ? d->n_slos : 1, sizeof(*ra->slos));
    if (ra->slos == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < d->n_slos && rc == 0; i++) {
        rc = slo_engine_eval(e, i, at, &ra->slos[i]);
        if (rc == 0) {
            ra->n_slos++;
        }
    }
    return rc;
}

/* Evaluates every SLO at |at| into |ra| with a fresh engine fed the events before |at|; the
 * engine is returned in |*keep| when not NULL (else freed). Returns 0 or a negative code (|why|
 * says). */
static int eval_at(const struct slo_defs *d, const struct slo_events *ev, int64_t at,
                   const char *at_text, int64_t *from, struct slo_report_at *ra,
                   struct ag_buf *why, struct slo_engine **keep)
{
    struct slo_engine *e = NULL;
    int64_t start = window_starts(d, at, from);
    int rc = slo_engine_new(d, start, why, &e);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < ev->n && ev->v[i].t_ms < at; i++) {
        const struct slo_event *x = &ev->v[i];
        if (x->t_ms < from[x->slo]) {
            continue;
        }
        rc = slo_engine_add(e, x->slo, x->t_ms, x->good, x->total);
        if (rc != 0) {
            int r2 = ag_buf_printf(why, "line %zu: the observation cannot be counted: %s\n",
                                   x->line,
                                   rc == AG_ETOOBIG ? "a bucket would pass 2^32 - 1 events"
                                                    : ag_strerror(rc));
            (void)r2;
            slo_engine_free(e);
            return rc;
        }
    }
    rc = eval_engine(e, d, at, at_text, ra);
    if (rc == 0 && keep != NULL) {
        *keep = e;
        return 0;
    }
    slo_engine_free(e);
    return rc;
}

/* The events of each SLO in time order: idx[first[i] .. first[i + 1]) for SLO i (a stable
 * counting sort of the time-sorted events). */
struct by_slo {
    size_t *idx;
    size_t *first;
};

static int group_events(const struct slo_defs *d, const struct slo_events *ev, struct by_slo *g)
{
    g->idx = ag_calloc(ev->n ? ev->n : 1, sizeof(*g->idx));
    g->first = ag_calloc(d->n_slos + 1, sizeof(*g->first));
    if (g->idx == NULL || g->first == NULL) {
        return AG_ENOMEM;
    }
    for (size_t k = 0; k < ev->n; k++) {
        g->first[ev->v[k].slo + 1]++;
    }
    for (size_t i = 0; i < d->n_slos; i++) {
        g->first[i + 1] += g->first[i];
    }
    size_t *fill = ag_calloc(d->n_slos ? d->n_slos : 1, sizeof(*fill));
    if (fill == NULL) {
        return AG_ENOMEM;
    }
    for (size_t k = 0; k < ev->n; k++) {
        size_t s = ev->v[k].slo;
        g->idx[g->first[s] + fill[s]++] = k;
    }
    ag_free(fill);
    return 0;
}

/*
 * Evaluates SLO |i| alone at |at| into |out|: an engine over that SLO only (the states of an
 * engine's SLOs are independent), started at |start| like the engine of every SLO would be, fed
 * the SLO's events before |at| from |from_i| on. Small engines, one at a time, keep the memory
 * of a report over many SLOs to one SLO's and let the JSON stream SLO by SLO.
 * Returns 0 or a negative code (|why| says).
 */
static int eval_one(const struct slo_defs *d, size_t i, const struct slo_events *ev,
                    const struct by_slo *g, int64_t start, int64_t from_i, int64_t at,
                    struct slo_eval *out, struct ag_buf *why)
{
    struct slo_defs one = *d;
    struct slo_engine *e = NULL;
    one.slos = &d->slos[i];
    one.n_slos = 1;
    int rc = slo_engine_new(&one, start, why, &e);
    if (rc != 0) {
        return rc;
    }
    for (size_t k = g->first[i]; k < g->first[i + 1]; k++) {
        const struct slo_event *x = &ev->v[g->idx[k]];
        if (x->t_ms >= at) {
            break;
        }
        if (x->t_ms < from_i) {
            continue;
        }
        rc = slo_engine_add(e, 0, x->t_ms, x->good, x->total);
        if (rc != 0) {
            int r2 = ag_buf_printf(why, "line %zu: the observation cannot be counted: %s\n",
                                   x->line,
                                   rc == AG_ETOOBIG ? "a bucket would pass 2^32 - 1 events"
                                                    : ag_strerror(rc));
            (void)r2;
            slo_engine_free(e);
            return rc;
        }
    }
    rc = slo_engine_eval(e, 0, at, out);
    slo_engine_free(e);
    return rc;
}

/*
 * The replay contract's JSON written as it is computed, SLO by SLO: the same bytes
 * slo_report_json() writes for the whole report (compact JSON, so each piece is that function's
 * output for a report of one instant and one SLO, less the enclosing text).
 */
struct jstream {
    FILE *f;
    struct ag_buf scratch;
    size_t head;    /* length of {"evaluations":[{"at":"...","slos":[ for the current instant */
    bool any_at, any_slo;
    bool ok;
};

#define JS_TAIL 4 /* "]}]}" */
#define JS_OPEN 16 /* {"evaluations":[ */

static int js_put(struct jstream *js, const void *p, size_t n)
{
    js->ok = js->ok && fwrite(p, 1, n, js->f) == n;
    return js->ok ? 0 : AG_EIO;
}

static int js_at(struct jstream *js, int64_t at_ms, const char *at_text)
{
    struct slo_report_at ra = {at_ms, at_text, NULL, 0};
    struct slo_report rr = {&ra, 1};
    ag_buf_reset(&js->scratch);
    int rc = slo_report_json(&rr, &js->scratch);
    if (rc != 0) {
        return rc;
    }
    const char *s = ag_buf_str(&js->scratch);
    js->head = js->scratch.len - JS_TAIL;
    js->any_slo = false;
    if (js->any_at) {
        rc = js_put(js, ",", 1);
        return rc == 0 ? js_put(js, s + JS_OPEN, js->head - JS_OPEN) : rc;
    }
    js->any_at = true;
    return js_put(js, s, js->head);
}

static int js_slo(struct jstream *js, int64_t at_ms, const char *at_text, struct slo_eval *ev)
{
    struct slo_report_at ra = {at_ms, at_text, ev, 1};
    struct slo_report rr = {&ra, 1};
    ag_buf_reset(&js->scratch);
    int rc = slo_report_json(&rr, &js->scratch);
    if (rc != 0) {
        return rc;
    }
    if (js->any_slo && js_put(js, ",", 1) != 0) {
        return AG_EIO;
    }
    js->any_slo = true;
    return js_put(js, ag_buf_str(&js->scratch) + js->head,
                  js->scratch.len - js->head - JS_TAIL);
}

static int js_at_close(struct jstream *js)
{
    return js_put(js, "]}", 2);
}

static int js_end(struct jstream *js)
{
    if (!js->any_at && js_put(js, "{\"evaluations\":[", JS_OPEN) != 0) {
        return AG_EIO;
    }
    int rc = js_put(js, "]}\n", 3);
    js->ok = js->ok && fflush(js->f) == 0;
    return rc == 0 && js->ok ? 0 : AG_EIO;
}

/*
 * Replays |ev| (sorted) at each of |n_at| instants, one SLO at a time (eval_one). With |js|,
 * writes the JSON as it goes and keeps nothing (only |*breached| of the last instant); else
 * fills |r| (r->evals allocated here). Returns 0, AG_EIO (|js| write failed) or another negative
 * code (|why| says; |*failed_at| the instant).
 */
static int replay(const struct slo_defs *d, const struct slo_events *ev, const int64_t *ats,
                  const char *const *texts, size_t n_at, struct jstream *js,
                  struct slo_report *r, bool *breached, size_t *failed_at, struct ag_buf *why)
{
    struct by_slo g = {NULL, NULL};
    int64_t *from = ag_calloc(d->n_slos ? d->n_slos : 1, sizeof(*from));
    int rc = from == NULL ? AG_ENOMEM : group_events(d, ev, &g);
    /* Every SLO's engine is built once per instant before anything is written, so that an SLO
     * the engine refuses (its memory cap) fails the report without a partial JSON prefix. */
    for (size_t a = 0; a < n_at && rc == 0; a++) {
        *failed_at = a;
        rc = slo_check_engines(d, window_starts(d, ats[a], from), why);
    }
    if (rc == 0 && js == NULL) {
        r->evals = ag_calloc(n_at ? n_at : 1, sizeof(*r->evals));
        rc = r->evals == NULL ? AG_ENOMEM : 0;
    }
    for (size_t a = 0; a < n_at && rc == 0; a++) {
        int64_t start = window_starts(d, ats[a], from);
        struct slo_report_at *ra = NULL;
        *failed_at = a;
        *breached = false;
        if (js != NULL) {
            rc = js_at(js, ats[a], texts[a]);
        } else {
            ra = &r->evals[r->n_evals++];
            ra->at_ms = ats[a];
            ra->at_text = texts[a];
            ra->slos = ag_calloc(d->n_slos ? d->n_slos : 1, sizeof(*ra->slos));
            rc = ra->slos == NULL ? AG_ENOMEM : 0;
        }
        for (size_t i = 0; i < d->n_slos && rc == 0; i++) {
            struct slo_eval one;
            struct slo_eval *out = ra != NULL ? &ra->slos[i] : &one;
            rc = eval_one(d, i, ev, &g, start, from[i], ats[a], out, why);
            if (rc != 0) {
                break;
            }
            *breached |= out->budget.status == SLO_STATUS_BREACHED;
            if (ra != NULL) {
                ra->n_slos++;
            } else {
                rc = js_slo(js, ats[a], texts[a], out);
                slo_eval_release(out);
            }
        }
        if (rc == 0 && js != NULL) {
            rc = js_at_close(js);
        }
    }
    if (rc == 0 && js != NULL) {
        rc = js_end(js);
    }
    ag_free(g.idx);
    ag_free(g.first);
    ag_free(from);
    return rc;
}

/* --from state=FILE: one engine restored from the checkpoint, evaluated at each --at in order
 * (or at the checkpoint's clock). Returns 0, 2 (reported) or AG_ENOMEM. */
static int eval_state(const struct opts *o, const struct slo_defs *d, const int64_t *ats,
                      struct slo_report *r, FILE *err)
{
    struct ag_buf data, why;
    struct slo_engine *e = NULL;
    int status = 2;
    ag_buf_init(&data, EVENTS_CAP);
    ag_buf_init(&why, DIAG_CAP);
    int rc = slo_read_all(o->state, &data);
    int64_t clock = 0;
    if (rc != 0) {
        fprintf(err, "%s: error: cannot read: %s\n", o->state, strerror(rc));
        goto out;
    }
    if (slo_checkpoint_clock(ag_buf_ptr(&data), data.len, &clock) != 0) {
        fprintf(err, "%s: error: not an Otter SLO checkpoint\n", o->state);
        goto out;
    }
    int64_t first = o->n_at > 0 ? ats[0] : clock;
    for (size_t i = 0; i < o->n_at; i++) {
        if (ats[i] < clock || (i > 0 && ats[i] < ats[i - 1])) {
            fprintf(err, "slo report: --at %s: with --from state the instants must be at or after "
                         "the checkpoint's clock and in increasing order\n",
                    o->at[i]);
            goto out;
        }
    }
    rc = slo_engine_new(d, clock, &why, &e);
    if (rc == 0) {
        rc = slo_engine_restore(e, ag_buf_ptr(&data), data.len, first, NULL, NULL, &why);
    }
    if (rc == AG_ENOMEM) {
        status = AG_ENOMEM;
        goto out;
    }
    if (rc != 0) {
        fprintf(err, "%s: error: %s", o->state, ag_buf_str(&why));
        goto out;
    }
    size_t n = o->n_at > 0 ? o->n_at : 1;
    r->evals = ag_calloc(n, sizeof(*r->evals));
    if (r->evals == NULL) {
        status = AG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = eval_engine(e, d, o->n_at > 0 ? ats[i] : clock, o->n_at > 0 ? o->at[i] : NULL,
                         &r->evals[i]);
        r->n_evals++;
        if (rc != 0) {
            status = rc == AG_ENOMEM ? AG_ENOMEM : 2;
            fprintf(err, "slo report: evaluation failed: %s\n", ag_strerror(rc));
            goto out;
        }
    }
    status = 0;
out:
    slo_engine_free(e);
    ag_buf_cleanup(&data);
    ag_buf_cleanup(&why);
    return status;
}

/* Writes the checkpoint of |e| to |path| (temp file, fsync, rename). Returns 0 or -1
 * (reported). */
static int save_state(struct slo_engine *e, const char *path, FILE *err)
{
    struct ag_buf b;
    char tmp[4096];
    ag_buf_init(&b, EVENTS_CAP);
    int rc = slo_engine_save(e, NULL, 0, &b);
    if (rc != 0 || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fputs("slo report: cannot build the checkpoint\n", err);
        ag_buf_cleanup(&b);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    if (ok) {
        ok = fwrite(ag_buf_ptr(&b), 1, b.len, f) == b.len;
        ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok &= fclose(f) == 0;
        ok = ok && rename(tmp, path) == 0;
    }
    if (!ok) {
        fprintf(err, "slo report: cannot write %s: %s\n", path, strerror(errno));
        (void)unlink(tmp);
    }
    ag_buf_cleanup(&b);
    return ok ? 0 : -1;
}

/* --from cloudwatch: the observations of [earliest window start, last instant) into |ev|; without
 * --at, one instant: now (|*n_at| becomes 1). Returns 0 or 2 (reported). */
static int cw_events(const struct opts *o, const struct slo_defs *d, int64_t *ats, size_t *n_at,
                     struct slo_events *ev, FILE *err)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (*n_at == 0) {
        ats[0] = now_ms;
        *n_at = 1;
    }
    int64_t *from = ag_calloc(d->n_slos ? d->n_slos : 1, sizeof(*from));
    if (from == NULL) {
        fputs("slo report: out of memory\n", err);
        return 2;
    }
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 0; i < *n_at; i++) {
        int64_t s = window_starts(d, ats[i], from);
        lo = s < lo ? s : lo;
        hi = ats[i] > hi ? ats[i] : hi;
    }
    ag_free(from);
    struct slo_cw_fetch_opts co = {o->region, o->endpoint, o->namespace, o->timeout_s};
    return slo_cw_fetch(d, &co, lo, hi, now_ms, ev, err);
}

int slo_report_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct opts o;
    int status = parse_opts(argc, argv, &o, err);
    if (status != 0) {
        return status;
    }
    status = 2;
    struct ag_buf diag, text, outbuf;
    struct slo_defs *d = NULL;
    struct slo_events ev = {0};
    struct slo_report r = {0};
    struct slo_report_doc *doc = NULL;
    int64_t *from = NULL;
    ag_buf_init(&diag, DIAG_CAP);
    ag_buf_init(&text, (size_t)AG_YAML_MAX_INPUT + 1u);
    ag_buf_init(&outbuf, 1024u * 1024u * 1024u);
    int64_t ats[MAX_INSTANTS];
    size_t n_at = o.n_at;
    for (size_t i = 0; i < o.n_at; i++) {
        const char *why = NULL;
        if (slo_parse_rfc3339(o.at[i], strlen(o.at[i]), &ats[i], &why) != 0) {
            fprintf(err, "slo report: --at \"%s\": expected %s\n", o.at[i], why);
            goto out;
        }
    }
    if (o.n_defs > 0 && slo_defs_new(&diag, &d) != 0) {
        goto oom;
    }
    if (d != NULL) {
        slo_defs_set_tz_loader(d, slo_tz_load_system, NULL);
    }
    for (size_t i = 0; i < o.n_defs; i++) {
        ag_buf_reset(&text);
        int rc = slo_read_all(o.defs[i], &text);
        if (rc != 0) {
            fprintf(err, "%s: error: cannot read: %s\n", o.defs[i],
                    rc == EFBIG ? "larger than the 4 MiB limit" : strerror(rc));
            goto out;
        }
        if (slo_defs_add(d, o.defs[i], ag_buf_str(&text), text.len) != 0) {
            goto oom;
        }
    }
    int rc = d != NULL ? slo_defs_finish(d) : 0;
    fputs(ag_buf_str(&diag), err);
    ag_buf_reset(&diag);
    if (rc == AG_ENOMEM) {
        goto oom;
    }
    if (rc != 0) {
        fputs("slo report: the definitions have errors\n", err);
        goto out;
    }
    ag_buf_cleanup(&text);
    if (o.agent != NULL) {
        rc = slo_agent_fetch(o.agent, o.timeout_s, &text, err);
        if (rc != 0) {
            goto out;
        }
        rc = slo_report_parse(ag_buf_str(&text), text.len, d, &r, &doc, &diag);
        if (rc == AG_ENOMEM) {
            goto oom;
        }
        if (rc != 0) {
            fprintf(err, "slo report: the answer of %s is not an SLO report: %s", o.agent,
                    ag_buf_str(&diag));
            goto out;
        }
        goto render;
    }
    if (o.state != NULL) {
        rc = eval_state(&o, d, ats, &r, err);
        if (rc == AG_ENOMEM) {
            goto oom;
        }
        if (rc != 0) {
            goto out;
        }
        goto render;
    }
    if (o.cloudwatch) {
        rc = cw_events(&o, d, ats, &n_at, &ev, err);
        if (rc != 0) {
            goto out;
        }
        goto replay;
    }
    ag_buf_init(&text, EVENTS_CAP);
    rc = slo_read_all(o.events, &text);
    if (rc != 0) {
        fprintf(err, "%s: error: cannot read: %s\n", o.events,
                rc == EFBIG ? "larger than the 1 GiB limit" : strerror(rc));
        goto out;
    }
    rc = slo_events_parse(d, strcmp(o.events, "-") == 0 ? "<stdin>" : o.events,
                          ag_buf_str(&text), text.len, &ev, &diag);
    fputs(ag_buf_str(&diag), err);
    ag_buf_reset(&diag);
    if (rc == AG_ENOMEM) {
        goto oom;
    }
    if (rc != 0) {
        fputs("slo report: the events file has errors\n", err);
        goto out;
    }
    ag_buf_cleanup(&text);
replay:
    slo_events_sort(&ev);
    if (o.save_state == NULL) {
        /* One SLO at a time; the JSON streams as it is computed (first byte after the first
         * SLO, not the last). */
        const char *texts[MAX_INSTANTS];
        for (size_t i = 0; i < n_at; i++) {
            texts[i] = i < o.n_at ? o.at[i] : NULL;
        }
        bool stream = strcmp(o.format, "json") == 0;
        struct jstream js = {.ok = true};
        FILE *f = out;
        if (stream && o.output != NULL && (f = fopen(o.output, "wb")) == NULL) {
            fprintf(err, "slo report: cannot write %s: %s\n", o.output, strerror(errno));
            goto out;
        }
        js.f = f;
        ag_buf_init(&js.scratch, 1024u * 1024u * 1024u);
        bool breached = false;
        size_t failed = 0;
        rc = replay(d, &ev, ats, texts, n_at, stream ? &js : NULL, &r, &breached, &failed,
                    &diag);
        ag_buf_cleanup(&js.scratch);
        if (stream && f != out && fclose(f) != 0 && rc == 0) {
            rc = AG_EIO;
        }
        if (rc == AG_ENOMEM) {
            goto oom;
        }
        if (rc == AG_EIO) {
            fprintf(err, "slo report: cannot write %s: %s\n", o.output ? o.output : "the output",
                    strerror(errno));
            goto out;
        }
        if (rc != 0) {
            fprintf(err, "slo report: at %s: %s", texts[failed] ? texts[failed] : "now",
                    ag_buf_str(&diag));
            goto out;
        }
        if (stream) {
            status = breached ? 1 : 0;
            goto out;
        }
        goto render;
    }
    r.evals = ag_calloc(n_at, sizeof(*r.evals));
    from = ag_calloc(d->n_slos ? d->n_slos : 1, sizeof(*from));
    if (r.evals == NULL || from == NULL) {
        goto oom;
    }
    for (size_t i = 0; i < n_at; i++) {
        struct slo_engine *keep = NULL;
        bool last = i + 1 == n_at && o.save_state != NULL;
        rc = eval_at(d, &ev, ats[i], i < o.n_at ? o.at[i] : NULL, from, &r.evals[i], &diag,
                     last ? &keep : NULL);
        r.n_evals++;
        if (rc == AG_ENOMEM) {
            goto oom;
        }
        if (rc != 0) {
            fprintf(err, "slo report: at %s: %s", i < o.n_at ? o.at[i] : "now",
                    ag_buf_str(&diag));
            goto out;
        }
        if (keep != NULL) {
            rc = save_state(keep, o.save_state, err);
            slo_engine_free(keep);
            if (rc != 0) {
                goto out;
            }
        }
    }
render:;
    /* Colour only on a terminal, and never with NO_COLOR set (no-color.org). */
    rc = render(o.format, &r,
                o.output == NULL && isatty(fileno(out)) &&
                    (getenv("NO_COLOR") == NULL || getenv("NO_COLOR")[0] == '\0'),
                &outbuf);
    if (rc == AG_EINVAL) {
        fprintf(err, "slo report: --format: expected json, text, markdown or html, got \"%s\"\n",
                o.format);
        goto out;
    }
    if (rc != 0) {
        goto oom;
    }
    FILE *f = o.output != NULL ? fopen(o.output, "wb") : out;
    if (f == NULL) {
        fprintf(err, "slo report: cannot write %s: %s\n", o.output, strerror(errno));
        goto out;
    }
    bool ok = fwrite(ag_buf_ptr(&outbuf), 1, outbuf.len, f) == outbuf.len;
    ok &= fflush(f) == 0;
    if (f != out) {
        ok &= fclose(f) == 0;
    }
    if (!ok) {
        fprintf(err, "slo report: cannot write %s: %s\n", o.output ? o.output : "the output",
                strerror(errno));
        goto out;
    }
    status = slo_report_exit_status(&r);
    goto out;
oom:
    fputs("slo report: out of memory\n", err);
    status = 2;
out:
    slo_report_release(&r);
    slo_report_doc_free(doc);
    slo_events_release(&ev);
    ag_free(from);
    slo_defs_free(d);
    ag_buf_cleanup(&outbuf);
    ag_buf_cleanup(&text);
    ag_buf_cleanup(&diag);
    return status;
}
