/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The replay contract's JSON read back into a struct slo_report (slo_report_parse.h): jansson
 * for the syntax, then every field checked by hand with its JSON path in the error.
 */
#include "slo_report_parse.h"
#include "ag_err.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "slo_decimal.h"

#define MAX_ENTRIES 1000000u
#define PATH_CAP 256

/* Everything the parsed report borrows: texts and minimal definitions, freed together. */
struct slo_report_doc {
    void **owned;
    size_t n, cap;
};

struct parser {
    const struct slo_defs *defs;
    struct slo_report_doc *doc;
    struct ag_buf *why;
    char path[PATH_CAP];
    size_t entries;
};

static _Thread_local bool jansson_failed;

static void *jansson_malloc(size_t size)
{
    void *p = ag_malloc(size);
    if (p == NULL) {
        jansson_failed = true;
    }
    return p;
}

void slo_report_doc_free(struct slo_report_doc *doc)
{
    if (doc == NULL) {
        return;
    }
    for (size_t i = 0; i < doc->n; i++) {
        ag_free(doc->owned[i]);
    }
    ag_free(doc->owned);
    ag_free(doc);
}

/* Hands |p| (may be NULL: then AG_ENOMEM) to |doc|. On failure |p| is freed. */
static int own(struct slo_report_doc *doc, void *p)
{
    if (p == NULL) {
        return AG_ENOMEM;
    }
    if (doc->n == doc->cap) {
        size_t cap = doc->cap ? doc->cap * 2 : 64;
        void **v = ag_realloc(doc->owned, cap * sizeof(*v));
        if (v == NULL) {
            ag_free(p);
            return AG_ENOMEM;
        }
        doc->owned = v;
        doc->cap = cap;
    }
    doc->owned[doc->n++] = p;
    return 0;
}

/* A copy of |s| owned by the document, or NULL (out of memory). */
static char *own_str(struct parser *p, const char *s)
{
    char *c = ag_strdup(s);
    return own(p->doc, c) == 0 ? c : NULL;
}

/* Appends "<path><suffix>: <message>\n" to |why|; returns |rc|. */
__attribute__((format(printf, 4, 5))) static int fail(struct parser *p, int rc,
                                                      const char *suffix, const char *fmt, ...)
{
    if (p->why != NULL && rc != AG_ENOMEM) {
        va_list ap;
        char msg[512];
        va_start(ap, fmt);
        int n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        (void)n;
        char line[PATH_CAP + 600];
        n = snprintf(line, sizeof(line), "%s%s%s: %s", p->path,
                     p->path[0] && suffix[0] ? "." : "", suffix, msg);
        /* Keys and names come from the document: one line, no control character. */
        for (char *c = line; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                *c = '?';
            }
        }
        int r2 = ag_buf_printf(p->why, "%s\n", line);
        (void)r2;
    }
    return rc;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Sets p->path to |base| + |fmt|...; returns the old length to restore with pop(). */
__attribute__((format(printf, 2, 3))) static size_t push(struct parser *p, const char *fmt, ...)
{
    size_t old = strlen(p->path);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->path + old, sizeof(p->path) - old, fmt, ap);
    va_end(ap);
    (void)n;
    return old;
}

static void pop(struct parser *p, size_t old)
{
    p->path[old] = '\0';
}

/* Checks that object |o| has exactly the keys of |keys| (|n| of them). */
static int check_keys(struct parser *p, const json_t *o, const char *const *keys, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) {
            known = strcmp(k, keys[i]) == 0;
        }
        if (!known) {
            return fail(p, AG_EPROTO, "", "unknown field \"%.64s\"", k);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(o, keys[i]) == NULL) {
            return fail(p, AG_EPROTO, "", "missing field \"%s\"", keys[i]);
        }
    }
    return 0;
}

/* A non-negative integer count (0 .. 2^63 - 1). */
static int get_count(struct parser *p, const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return fail(p, AG_EPROTO, key, "expected a non-negative integer, got %s",
                    json_is_integer(v) ? "a negative integer" : type_name(v));
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static const slo_u128 POW10_36 = (slo_u128)1000000000000000000u * 1000000000000000000u;

/*
 * |x| as the rational of its shortest decimal text (the digits ag_json_double writes), whose
 * correctly rounded double is |x| again. Returns 0, or AG_EPROTO outside 1e-30..1e30 (0 aside)
 * or beyond 36 decimals.
 */
static int decimal_rat(double x, struct slo_rat *out)
{
    memset(out, 0, sizeof(*out));
    out->neg = signbit(x) != 0;
    out->den = 1;
    if (x == 0) {
        return 0;
    }
    double a = fabs(x);
    if (!(a >= 1e-30 && a <= 1e30)) {
        return AG_EPROTO;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        int n = snprintf(buf, sizeof(buf), "%.*e", prec - 1, a);
        if (n <= 0 || (size_t)n >= sizeof(buf) || strtod(buf, NULL) != a) {
            continue;
        }
        /* d[.ddd]e[+-]XX */
        uint64_t digits = 0;
        int nd = 0;
        const char *s = buf;
        for (; *s != 'e'; s++) {
            if (*s >= '0' && *s <= '9') {
                digits = digits * 10 + (uint64_t)(*s - '0');
                nd++;
            }
        }
        long e = strtol(s + 1, NULL, 10) - (nd - 1);
        slo_u128 num = digits, den = 1;
        for (; e > 0; e--) {
            num *= 10;
        }
        for (; e < 0; e++) {
            if (den >= POW10_36) {
                return AG_EPROTO;
            }
            den *= 10;
        }
        while (num % 10 == 0 && den % 10 == 0 && num != 0) {
            num /= 10;
            den /= 10;
        }
        out->num = num;
        out->den = den;
        return 0;
    }
    return AG_EPROTO;
}

/* |want| when it rounds to |x| exactly (same sign), else the decimal rational of |x|. */
static int pick_rat(double x, const struct slo_rat *want, struct slo_rat *out)
{
    if (want != NULL && want->den != 0 && slo_eval_double(want) == x &&
        (want->num != 0 || want->neg == (signbit(x) != 0))) {
        *out = *want;
        return 0;
    }
    return decimal_rat(x, out);
}

/* A finite number (integer or real) at |key|, or null when |nullable| (*is_null then true). */
static int get_number(struct parser *p, const json_t *o, const char *key, bool nullable,
                      double *out, bool *is_null)
{
    const json_t *v = json_object_get(o, key);
    if (is_null != NULL) {
        *is_null = false;
    }
    if (nullable && json_is_null(v)) {
        *is_null = true;
        *out = 0;
        return 0;
    }
    if (!json_is_number(v)) {
        return fail(p, AG_EPROTO, key, "expected a number%s, got %s", nullable ? " or null" : "",
                    type_name(v));
    }
    *out = json_number_value(v);
    if (!isfinite(*out)) {
        return fail(p, AG_EPROTO, key, "expected a finite number");
    }
    return 0;
}

/* |x| into |out| through pick_rat(); the error names |key|. */
static int to_rat(struct parser *p, const char *key, double x, const struct slo_rat *want,
                  struct slo_rat *out)
{
    if (pick_rat(x, want, out) != 0) {
        return fail(p, AG_EPROTO, key,
                    "%.17g is out of range: expected 0 or a magnitude from 1e-30 to 1e30", x);
    }
    return 0;
}

/* a - b for rationals with a non-negative |a| and |b| (exact when the products fit). */
static bool rat_sub(const struct slo_rat *a, const struct slo_rat *b, struct slo_rat *out)
{
    if (a->neg || b->neg || a->den == 0 || b->den == 0 ||
        (a->den > 1 && b->num > UINT64_MAX) || (b->den > 1 && a->num > UINT64_MAX) ||
        a->den > UINT64_MAX || b->den > UINT64_MAX) {
        return false;
    }
    slo_u128 x = a->num * b->den, y = b->num * a->den;
    out->den = a->den * b->den;
    out->neg = y > x;
    out->num = y > x ? y - x : x - y;
    return true;
}

static int parse_budget(struct parser *p, const json_t *eb, const struct slo_decimal *o,
                        struct slo_eval *ev)
{
    static const char *const keys[] = {"unit",      "total",          "consumed",
                                       "remaining", "remaining_fraction", "remaining_seconds"};
    struct slo_budget *b = &ev->budget;
    if (!json_is_object(eb)) {
        return fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(eb));
    }
    int rc = check_keys(p, eb, keys, 6);
    if (rc != 0) {
        return rc;
    }
    const char *unit = json_string_value(json_object_get(eb, "unit"));
    if (unit == NULL || (strcmp(unit, "events") != 0 && strcmp(unit, "periods") != 0)) {
        return fail(p, AG_EPROTO, "unit", "expected \"events\" or \"periods\"");
    }
    ev->periods = strcmp(unit, "periods") == 0;
    double total, consumed, remaining, fraction, seconds;
    bool sec_null;
    if ((rc = get_number(p, eb, "total", false, &total, NULL)) != 0 ||
        (rc = get_number(p, eb, "consumed", false, &consumed, NULL)) != 0 ||
        (rc = get_number(p, eb, "remaining", false, &remaining, NULL)) != 0 ||
        (rc = get_number(p, eb, "remaining_fraction", false, &fraction, NULL)) != 0 ||
        (rc = get_number(p, eb, "remaining_seconds", true, &seconds, &sec_null)) != 0) {
        return rc;
    }
    if (total < 0 || consumed < 0) {
        return fail(p, AG_EPROTO, total < 0 ? "total" : "consumed", "expected a number >= 0");
    }
    if (!sec_null && !ev->periods) {
        return fail(p, AG_EPROTO, "remaining_seconds", "expected null when the unit is events");
    }
    /* The exact values the counts imply: budget (1 - o) * N, consumed = bad, remaining and its
     * fraction; used when they round to the document's numbers. */
    struct slo_rat want_total = {0, 1, false}, want_consumed = {b->bad, 1, false};
    bool exact = o->den != 0 && o->num < o->den;
    if (exact) {
        want_total.num = (slo_u128)(o->den - o->num) * b->total;
        want_total.den = o->den;
    }
    if ((rc = to_rat(p, "total", total, exact ? &want_total : NULL, &b->budget_total)) != 0) {
        return rc;
    }
    struct slo_rat cons;
    if ((rc = to_rat(p, "consumed", consumed, &want_consumed, &cons)) != 0) {
        return rc;
    }
    struct slo_rat want_rem;
    bool have_rem = rat_sub(&b->budget_total, &cons, &want_rem);
    if ((rc = to_rat(p, "remaining", remaining, have_rem ? &want_rem : NULL, &b->remaining)) !=
        0) {
        return rc;
    }
    struct slo_rat want_frac = {0, 1, false};
    bool have_frac = b->budget_total.num != 0 && b->remaining.den <= UINT64_MAX &&
                     b->budget_total.den <= UINT64_MAX && b->budget_total.num <= UINT64_MAX &&
                     b->remaining.num <= UINT64_MAX;
    if (have_frac) {
        want_frac.num = b->remaining.num * b->budget_total.den;
        want_frac.den = b->remaining.den * b->budget_total.num;
        want_frac.neg = b->remaining.neg;
    }
    if ((rc = to_rat(p, "remaining_fraction", fraction, have_frac ? &want_frac : NULL,
                     &b->remaining_fraction)) != 0) {
        return rc;
    }
    b->has_seconds = !sec_null;
    if (b->has_seconds &&
        (rc = to_rat(p, "remaining_seconds", seconds, NULL, &b->remaining_seconds)) != 0) {
        return rc;
    }
    b->met = !b->remaining.neg || b->remaining.num == 0;
    b->exhausted = b->remaining.neg || b->remaining.num == 0;
    b->allowed_bad = total >= 1.8e19 ? UINT64_MAX : (uint64_t)floor(total);
    return 0;
}

static const struct slo_alert_def *find_alert(const struct slo_slo_def *d, const char *name,
                                              const bool *used, size_t *at)
{
    for (size_t i = 0; i < d->n_alerts; i++) {
        if (!used[i] && strcmp(d->alerts[i].name, name) == 0) {
            *at = i;
            return &d->alerts[i];
        }
    }
    return NULL;
}

static int parse_alerts(struct parser *p, const json_t *al, const struct slo_slo_def *d,
                        bool minimal, struct slo_eval *ev)
{
    if (!json_is_object(al)) {
        return fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(al));
    }
    size_t n = json_object_size(al);
    ev->alerts = ag_calloc(n ? n : 1, sizeof(*ev->alerts));
    bool *used = ag_calloc(d->n_alerts + 1, sizeof(*used));
    int rc = 0;
    if (ev->alerts == NULL || used == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    struct slo_alert_def *mine = NULL;
    if (minimal) {
        mine = ag_calloc(n ? n : 1, sizeof(*mine));
        if ((rc = own(p->doc, mine)) != 0) {
            goto out;
        }
        ((struct slo_slo_def *)d)->alerts = mine;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)al, k, v)
    {
        struct slo_eval_alert *a = &ev->alerts[ev->n_alerts];
        size_t old = push(p, ".%.64s", k);
        static const char *const keys[] = {"firing", "reason"};
        if (!json_is_object(v)) {
            rc = fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(v));
        } else if ((rc = check_keys(p, v, keys, 2)) == 0) {
            const json_t *f = json_object_get(v, "firing"), *r = json_object_get(v, "reason");
            if (!json_is_boolean(f)) {
                rc = fail(p, AG_EPROTO, "firing", "expected true or false, got %s",
                          type_name(f));
            } else if (!json_is_null(r) && !json_is_string(r)) {
                rc = fail(p, AG_EPROTO, "reason", "expected a string or null, got %s",
                          type_name(r));
            } else if (json_is_true(f) != json_is_string(r)) {
                rc = fail(p, AG_EPROTO, "reason", "expected a reason exactly when firing");
            } else {
                a->firing = json_is_true(f);
                if (json_is_string(r) && (a->reason = own_str(p, json_string_value(r))) == NULL) {
                    rc = AG_ENOMEM;
                }
            }
        }
        if (rc == 0) {
            size_t at = 0;
            if (minimal) {
                mine[d->n_alerts].name = own_str(p, k);
                if (mine[d->n_alerts].name == NULL) {
                    rc = AG_ENOMEM;
                } else {
                    a->def = &mine[((struct slo_slo_def *)d)->n_alerts++];
                }
            } else if ((a->def = find_alert(d, k, used, &at)) == NULL) {
                rc = fail(p, AG_EINVAL, "", "the definitions of SLO \"%.64s\" have no alert of "
                                            "this name (or fewer alerts of it)",
                          d->name);
            } else {
                used[at] = true;
            }
        }
        pop(p, old);
        if (rc != 0) {
            goto out;
        }
        ev->n_alerts++;
    }
out:
    ag_free(used);
    return rc;
}

static int parse_burns(struct parser *p, const json_t *br, struct slo_eval *ev)
{
    if (!json_is_object(br)) {
        return fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(br));
    }
    size_t n = json_object_size(br);
    ev->burns = ag_calloc(n ? n : 1, sizeof(*ev->burns));
    if (ev->burns == NULL) {
        return AG_ENOMEM;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)br, k, v)
    {
        struct slo_eval_burn *b = &ev->burns[ev->n_burns];
        int rc = 0;
        if ((b->window = own_str(p, k)) == NULL) {
            return AG_ENOMEM;
        }
        if (!json_is_null(v)) {
            double x = json_number_value(v);
            if (!json_is_number(v)) {
                rc = fail(p, AG_EPROTO, k, "expected a number or null, got %s", type_name(v));
            } else if (x < 0) {
                rc = fail(p, AG_EPROTO, k, "expected a burn rate >= 0");
            } else {
                b->burn.has_data = true;
                rc = to_rat(p, k, x, NULL, &b->burn.rate);
            }
        }
        if (rc != 0) {
            return rc;
        }
        ev->n_burns++;
    }
    return 0;
}

static const struct slo_slo_def *find_def(const struct slo_defs *d, const char *name)
{
    for (size_t i = 0; i < d->n_slos; i++) {
        if (strcmp(d->slos[i].name, name) == 0) {
            return &d->slos[i];
        }
    }
    return NULL;
}

static int parse_slo(struct parser *p, const json_t *s, int64_t at, struct slo_eval *ev)
{
    static const char *const keys[] = {
        "name",      "objective",    "status",     "good",
        "bad",       "total",        "attainment_pct", "error_budget",
        "burn_rates", "alerts",       "time_to_exhaustion_seconds", "warnings"};
    if (!json_is_object(s)) {
        return fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(s));
    }
    int rc = check_keys(p, s, keys, 12);
    if (rc != 0) {
        return rc;
    }
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *obj = json_string_value(json_object_get(s, "objective"));
    const char *status = json_string_value(json_object_get(s, "status"));
    if (name == NULL || name[0] == '\0') {
        return fail(p, AG_EPROTO, "name", "expected a non-empty string");
    }
    struct slo_decimal o;
    struct slo_decimal_error derr;
    if (obj == NULL || slo_objective_parse(obj, strlen(obj), SLO_OBJ_PERCENT, &o, &derr) != 0) {
        return fail(p, AG_EPROTO, "objective",
                    "expected a percent as decimal text strictly between 0 and 100 (\"99.9\")");
    }
    static const char *const st[] = {"NO_DATA", "OK", "WARNING", "BREACHED"};
    int si = -1;
    for (int i = 0; i < 4 && status != NULL; i++) {
        if (strcmp(status, st[i]) == 0) {
            si = i;
        }
    }
    if (si < 0) {
        return fail(p, AG_EPROTO, "status",
                    "expected \"OK\", \"WARNING\", \"BREACHED\" or \"NO_DATA\"");
    }
    struct slo_budget *b = &ev->budget;
    b->status = (enum slo_status)si;
    if ((rc = get_count(p, s, "good", &b->good)) != 0 ||
        (rc = get_count(p, s, "bad", &b->bad)) != 0 ||
        (rc = get_count(p, s, "total", &b->total)) != 0) {
        return rc;
    }
    if (b->good > b->total || b->bad != b->total - b->good) {
        return fail(p, AG_EPROTO, "bad", "expected good + bad = total (%llu + %llu != %llu)",
                    (unsigned long long)b->good, (unsigned long long)b->bad,
                    (unsigned long long)b->total);
    }
    b->no_data = b->total == 0;
    if ((b->status == SLO_STATUS_NO_DATA) != b->no_data) {
        return fail(p, AG_EPROTO, "status", "expected NO_DATA exactly when total is 0");
    }

    /* The definition: attached by name, or a minimal one owned by the document. */
    const struct slo_slo_def *d = NULL;
    bool minimal = p->defs == NULL;
    if (!minimal) {
        d = find_def(p->defs, name);
        if (d == NULL) {
            return fail(p, AG_EINVAL, "name", "no SLO \"%.64s\" in the definitions", name);
        }
        if (slo_decimal_cmp(&d->objective, &o) != 0) {
            return fail(p, AG_EINVAL, "objective",
                        "\"%.32s\" differs from the definitions' objective of SLO \"%.64s\"",
                        obj, name);
        }
    } else {
        struct slo_slo_def *m = ag_calloc(1, sizeof(*m));
        if ((rc = own(p->doc, m)) != 0) {
            return rc;
        }
        if ((m->name = own_str(p, name)) == NULL) {
            return AG_ENOMEM;
        }
        m->objective = o;
        d = m;
    }
    ev->def = d;
    ev->at_ms = at;
    ev->window_end_ms = at;
    ev->window_start_ms = minimal || (int64_t)d->window_ms > at ? at : at - (int64_t)d->window_ms;

    double pct;
    bool pct_null;
    if ((rc = get_number(p, s, "attainment_pct", true, &pct, &pct_null)) != 0) {
        return rc;
    }
    if (pct_null != b->no_data || pct < 0 || pct > 100) {
        return fail(p, AG_EPROTO, "attainment_pct",
                    "expected null exactly when total is 0, else a number from 0 to 100");
    }
    ev->attainment_null = pct_null;
    if (pct_null) {
        b->attainment = (struct slo_rat){0, 1, false};
    } else {
        struct slo_rat want = {(slo_u128)b->good * 100, b->total, false}, got;
        if ((rc = to_rat(p, "attainment_pct", pct, &want, &got)) != 0) {
            return rc;
        }
        b->attainment = got;
        b->attainment.den *= 100; /* percent -> fraction; den <= 10^36 * 100 < 2^127 */
    }

    size_t old = push(p, ".error_budget");
    rc = parse_budget(p, json_object_get(s, "error_budget"), &o, ev);
    pop(p, old);
    if (rc != 0) {
        return rc;
    }
    old = push(p, ".burn_rates");
    rc = parse_burns(p, json_object_get(s, "burn_rates"), ev);
    pop(p, old);
    if (rc != 0) {
        return rc;
    }
    old = push(p, ".alerts");
    rc = parse_alerts(p, json_object_get(s, "alerts"), d, minimal, ev);
    pop(p, old);
    if (rc != 0) {
        return rc;
    }
    double tte;
    if ((rc = get_number(p, s, "time_to_exhaustion_seconds", true, &tte, &ev->tte_null)) != 0) {
        return rc;
    }
    if (tte < 0) {
        return fail(p, AG_EPROTO, "time_to_exhaustion_seconds", "expected a number >= 0 or null");
    }
    ev->tte_seconds = tte;
    const json_t *w = json_object_get(s, "warnings");
    if (!json_is_array(w)) {
        return fail(p, AG_EPROTO, "warnings", "expected an array, got %s", type_name(w));
    }
    size_t nw = json_array_size(w);
    ev->warnings = ag_calloc(nw ? nw : 1, sizeof(*ev->warnings));
    if (ev->warnings == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < nw; i++) {
        const json_t *t = json_array_get(w, i);
        if (!json_is_string(t)) {
            old = push(p, ".warnings[%zu]", i);
            rc = fail(p, AG_EPROTO, "", "expected a string, got %s", type_name(t));
            pop(p, old);
            return rc;
        }
        if ((ev->warnings[i] = ag_strdup(json_string_value(t))) == NULL) {
            return AG_ENOMEM;
        }
        ev->n_warnings++;
    }
    return 0;
}

static int parse_root(struct parser *p, const json_t *root, struct slo_report *r)
{
    static const char *const root_keys[] = {"evaluations"};
    static const char *const at_keys[] = {"at", "slos"};
    if (!json_is_object(root)) {
        return fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(root));
    }
    int rc = check_keys(p, root, root_keys, 1);
    if (rc != 0) {
        return rc;
    }
    const json_t *evs = json_object_get(root, "evaluations");
    if (!json_is_array(evs)) {
        return fail(p, AG_EPROTO, "evaluations", "expected an array, got %s", type_name(evs));
    }
    size_t n = json_array_size(evs);
    r->evals = ag_calloc(n ? n : 1, sizeof(*r->evals));
    if (r->evals == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(evs, i);
        struct slo_report_at *ra = &r->evals[i];
        size_t old = push(p, "evaluations[%zu]", i);
        r->n_evals++;
        if (!json_is_object(e)) {
            rc = fail(p, AG_EPROTO, "", "expected an object, got %s", type_name(e));
        } else if ((rc = check_keys(p, e, at_keys, 2)) == 0) {
            const char *at = json_string_value(json_object_get(e, "at"));
            const json_t *slos = json_object_get(e, "slos");
            const char *why = NULL;
            if (at == NULL || slo_parse_rfc3339(at, strlen(at), &ra->at_ms, &why) != 0) {
                rc = fail(p, AG_EPROTO, "at", "expected %s",
                          why != NULL ? why : "RFC 3339 UTC text");
            } else if ((ra->at_text = own_str(p, at)) == NULL) {
                rc = AG_ENOMEM;
            } else if (!json_is_array(slos)) {
                rc = fail(p, AG_EPROTO, "slos", "expected an array, got %s", type_name(slos));
            } else {
                size_t m = json_array_size(slos);
                p->entries += m;
                if (p->entries > MAX_ENTRIES) {
                    rc = fail(p, AG_ETOOBIG, "slos", "more than %u SLO entries", MAX_ENTRIES);
                } else if ((ra->slos = ag_calloc(m ? m : 1, sizeof(*ra->slos))) == NULL) {
                    rc = AG_ENOMEM;
                }
                for (size_t k = 0; k < m && rc == 0; k++) {
                    size_t o2 = push(p, ".slos[%zu]", k);
                    ra->n_slos++;
                    rc = parse_slo(p, json_array_get(slos, k), ra->at_ms, &ra->slos[k]);
                    pop(p, o2);
                }
                for (size_t k = 0; k < ra->n_slos && rc == 0; k++) {
                    for (size_t j = 0; j < k && rc == 0; j++) {
                        if (strcmp(ra->slos[j].def->name, ra->slos[k].def->name) == 0) {
                            size_t o2 = push(p, ".slos[%zu].name", k);
                            rc = fail(p, AG_EPROTO, "", "\"%.64s\" repeats slos[%zu]",
                                      ra->slos[k].def->name, j);
                            pop(p, o2);
                        }
                    }
                }
            }
        }
        pop(p, old);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int slo_report_parse(const char *json, size_t len, const struct slo_defs *defs,
                     struct slo_report *out, struct slo_report_doc **doc, struct ag_buf *why)
{
    struct parser p = {.defs = defs, .why = why};
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    *doc = NULL;
    json_set_alloc_funcs(jansson_malloc, ag_free);
    p.doc = ag_calloc(1, sizeof(*p.doc));
    if (p.doc == NULL) {
        return AG_ENOMEM;
    }
    jansson_failed = false;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc;
    if (root == NULL) {
        /* jansson reports a failed allocation as an ordinary error: its allocator tells. */
        rc = jansson_failed ? AG_ENOMEM : AG_EPROTO;
        if (rc == AG_EPROTO && why != NULL) {
            int r2 = ag_buf_printf(why, "invalid JSON at line %d, column %d: %s\n", jerr.line,
                                   jerr.column, ag_err_one_line(jerr.text));
            (void)r2;
        }
    } else {
        rc = parse_root(&p, root, out);
        json_decref(root);
    }
    if (rc != 0) {
        slo_report_release(out);
        slo_report_doc_free(p.doc);
        return rc;
    }
    *doc = p.doc;
    return 0;
}
