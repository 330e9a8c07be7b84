/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The replay contract's events file: a strict reader of flat JSON objects, one per line, with
 * positioned errors. Only the five fields of the contract are accepted; values are strings or
 * non-negative integers (no fractions, exponents or signs), so no count is ever rounded.
 */
#include "slo_events.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "slo_eval.h"
#include "slo_window.h"

#define STR_MAX 512 /* longest string value kept (SLO names, times) */

/* SLO names sorted, for a binary search per line (1,000 SLOs x 1,000,000 lines). */
struct name_ix {
    const char *name;
    size_t len;
    size_t slo;
};

struct cur {
    const struct name_ix *ix;
    size_t n_ix;
    const char *file;
    const char *s;   /* the line */
    size_t len;
    size_t i;
    size_t line;
    struct ag_buf *diag;
    size_t *n_errors;
    bool failed;     /* this line had an error */
};

static void err_at(struct cur *c, size_t col0, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err_at(struct cur *c, size_t col0, const char *fmt, ...)
{
    if (c->failed) {
        return; /* one error per line: the rest of it is not trusted */
    }
    c->failed = true;
    (*c->n_errors)++;
    if (c->diag == NULL || *c->n_errors > SLO_EVENTS_MAX_ERRORS) {
        return;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    /* Quoted input (a field name with an escaped newline, say) must not split or colour the
     * one-line diagnostic: control characters become '?'. */
    for (char *p = msg; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    int rc = ag_buf_printf(c->diag, "%s:%zu:%zu: error: %s\n", c->file, c->line, col0 + 1, msg);
    (void)rc;
}

static void skip_ws(struct cur *c)
{
    while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r')) {
        c->i++;
    }
}

static int hexv(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* A JSON string at c->i (the opening quote) into |out| (NUL-terminated, at most STR_MAX bytes). */
static bool get_string(struct cur *c, char *out, size_t *out_len)
{
    size_t start = c->i, n = 0;
    c->i++;
    while (c->i < c->len) {
        unsigned char ch = (unsigned char)c->s[c->i];
        if (ch == '"') {
            c->i++;
            out[n] = '\0';
            *out_len = n;
            return true;
        }
        if (ch < 0x20) {
            err_at(c, c->i, "control character in a string; expected it escaped");
            return false;
        }
        if (n + 4 >= STR_MAX) {
            err_at(c, start, "string longer than %d bytes; expected a shorter value", STR_MAX - 5);
            return false;
        }
        if (ch != '\\') {
            out[n++] = (char)ch;
            c->i++;
            continue;
        }
        if (c->i + 1 >= c->len) {
            break;
        }
        char e = c->s[c->i + 1];
        const char *map = strchr("\"\\/bfnrt", e);
        if (e != '\0' && map != NULL) {
            static const char rep[] = "\"\\/\b\f\n\r\t";
            out[n++] = rep[map - "\"\\/bfnrt"];
            c->i += 2;
            continue;
        }
        if (e != 'u' || c->i + 6 > c->len) {
            err_at(c, c->i, "bad escape in a string; expected one of \\\" \\\\ \\/ \\b \\f \\n "
                            "\\r \\t \\uXXXX");
            return false;
        }
        unsigned cp = 0;
        for (int k = 0; k < 4; k++) {
            int h = hexv(c->s[c->i + 2 + (size_t)k]);
            if (h < 0) {
                err_at(c, c->i, "bad \\u escape; expected 4 hex digits");
                return false;
            }
            cp = cp * 16 + (unsigned)h;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            err_at(c, c->i, "a surrogate \\u escape; expected a character of the BMP or UTF-8 "
                            "text");
            return false;
        }
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xC0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[n++] = (char)(0xE0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        }
        c->i += 6;
    }
    err_at(c, start, "unterminated string; expected a closing quote");
    return false;
}

/* A non-negative JSON integer at c->i. */
static bool get_uint(struct cur *c, const char *field, uint64_t *out)
{
    size_t start = c->i;
    uint64_t v = 0;
    if (c->i < c->len && c->s[c->i] == '-') {
        err_at(c, start, "negative %s; expected a non-negative integer", field);
        return false;
    }
    if (c->i >= c->len || c->s[c->i] < '0' || c->s[c->i] > '9') {
        err_at(c, start, "bad value for %s; expected a non-negative integer", field);
        return false;
    }
    if (c->s[c->i] == '0' && c->i + 1 < c->len && c->s[c->i + 1] >= '0' &&
        c->s[c->i + 1] <= '9') {
        err_at(c, start, "leading zero in %s; expected a JSON integer", field);
        return false;
    }
    while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        unsigned d = (unsigned)(c->s[c->i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            err_at(c, start, "%s is too large; expected an integer below 2^64", field);
            return false;
        }
        v = v * 10 + d;
        c->i++;
    }
    if (c->i < c->len && (c->s[c->i] == '.' || c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        err_at(c, start, "%s is not an integer; expected a non-negative integer", field);
        return false;
    }
    *out = v;
    return true;
}

enum { F_TIME, F_SLO, F_GOOD, F_BAD, F_TOTAL, F_N };
static const char *const fields[F_N] = {"time", "slo", "good", "bad", "total"};

static int push(struct slo_events *out, const struct slo_event *e)
{
    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 256;
        struct slo_event *nv = ag_realloc(out->v, nc * sizeof(*nv));
        if (nv == NULL) {
            return AG_ENOMEM;
        }
        out->v = nv;
        out->cap = nc;
    }
    out->v[out->n++] = *e;
    return 0;
}

/* One line (not blank). Returns 0 (an error is recorded in c->failed) or AG_ENOMEM. */
static int parse_line(const struct slo_defs *defs, struct cur *c, struct slo_events *out)
{
    bool have[F_N] = {false};
    size_t col[F_N] = {0};
    uint64_t num[F_N] = {0};
    bool time_str = false;
    char tstr[STR_MAX], slo[STR_MAX];
    size_t tlen = 0, slen = 0;

    skip_ws(c);
    if (c->s[c->i] != '{') {
        err_at(c, c->i, "not a JSON object; expected one observation per line: {\"time\": ..., "
                        "\"good\" or \"bad\": ..., \"total\": ...}");
        return 0;
    }
    c->i++;
    skip_ws(c);
    bool first = true;
    for (;;) {
        skip_ws(c);
        if (c->i >= c->len) {
            err_at(c, c->i, "end of line inside the object; expected \"}\"");
            return 0;
        }
        if (c->s[c->i] == '}' && first) {
            c->i++;
            break;
        }
        if (!first) {
            if (c->s[c->i] == '}') {
                c->i++;
                break;
            }
            if (c->s[c->i] != ',') {
                err_at(c, c->i, "unexpected character; expected \",\" or \"}\"");
                return 0;
            }
            c->i++;
            skip_ws(c);
        }
        first = false;
        if (c->i >= c->len || c->s[c->i] != '"') {
            err_at(c, c->i, "%s; expected a field name in quotes",
                   c->i >= c->len ? "end of line" : "unexpected character");
            return 0;
        }
        size_t kcol = c->i;
        char key[STR_MAX];
        size_t klen = 0;
        if (!get_string(c, key, &klen)) {
            return 0;
        }
        int f = -1;
        for (int k = 0; k < F_N; k++) {
            if (strcmp(key, fields[k]) == 0 && strlen(fields[k]) == klen) {
                f = k;
            }
        }
        if (f < 0) {
            err_at(c, kcol, "unknown field \"%.64s\"; expected time, slo, good, bad or total", key);
            return 0;
        }
        if (have[f]) {
            err_at(c, kcol, "duplicate field \"%s\"; expected each field once", fields[f]);
            return 0;
        }
        skip_ws(c);
        if (c->i >= c->len || c->s[c->i] != ':') {
            err_at(c, c->i, "%s after \"%s\"; expected \":\"",
                   c->i >= c->len ? "end of line" : "unexpected character", fields[f]);
            return 0;
        }
        c->i++;
        skip_ws(c);
        have[f] = true;
        col[f] = c->i;
        if (c->i >= c->len) {
            err_at(c, c->i, "end of line; expected a value for %s", fields[f]);
            return 0;
        }
        if (f == F_SLO || (f == F_TIME && c->s[c->i] == '"')) {
            if (c->s[c->i] != '"') {
                err_at(c, c->i, "bad value for slo; expected an SLO name in quotes");
                return 0;
            }
            if (!get_string(c, f == F_SLO ? slo : tstr, f == F_SLO ? &slen : &tlen)) {
                return 0;
            }
            time_str |= f == F_TIME;
        } else if (f == F_TIME && c->s[c->i] != '-' &&
                   (c->s[c->i] < '0' || c->s[c->i] > '9')) {
            err_at(c, c->i, "bad value for time; expected an RFC 3339 UTC string or integer "
                            "Unix milliseconds");
            return 0;
        } else if (!get_uint(c, fields[f], &num[f])) {
            return 0;
        }
    }
    skip_ws(c);
    if (c->i < c->len) {
        err_at(c, c->i, "text after the object; expected one object per line");
        return 0;
    }
    struct slo_event ev = {0, 0, 0, 0, c->line};
    /* time */
    if (!have[F_TIME]) {
        err_at(c, 0, "missing field \"time\"; expected RFC 3339 UTC or integer Unix ms");
        return 0;
    }
    if (time_str) {
        const char *why = NULL;
        if (slo_parse_rfc3339(tstr, tlen, &ev.t_ms, &why) != 0) {
            err_at(c, col[F_TIME], "bad time \"%.64s\"; expected %s", tstr, why);
            return 0;
        }
    } else {
        ev.t_ms = (int64_t)(num[F_TIME] > (uint64_t)SLO_TIME_MAX_MS ? -1 : (int64_t)num[F_TIME]);
    }
    if (ev.t_ms < 0 || ev.t_ms > SLO_TIME_MAX_MS) {
        err_at(c, col[F_TIME], "time out of range; expected a time before the year 10000");
        return 0;
    }
    /* slo */
    if (have[F_SLO]) {
        bool found = false;
        size_t lo = 0, hi = c->n_ix;
        while (lo < hi && !found) {
            size_t mid = lo + (hi - lo) / 2;
            int cmp = strcmp(slo, c->ix[mid].name);
            if (cmp == 0 && slen == c->ix[mid].len) {
                ev.slo = c->ix[mid].slo;
                found = true;
            } else if (cmp < 0) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if (!found) {
            err_at(c, col[F_SLO], "unknown SLO \"%.128s\"; expected the name of a defined SLO",
                   slo);
            return 0;
        }
    } else if (defs->n_slos != 1) {
        err_at(c, 0, "missing field \"slo\"; expected it when %zu SLOs are defined",
               defs->n_slos);
        return 0;
    }
    /* counts */
    if (have[F_GOOD] && have[F_BAD]) {
        err_at(c, col[F_BAD], "both good and bad; expected exactly one of them with total");
        return 0;
    }
    if (!have[F_GOOD] && !have[F_BAD]) {
        err_at(c, 0, "missing field \"good\" or \"bad\"; expected exactly one of them with total");
        return 0;
    }
    if (!have[F_TOTAL]) {
        err_at(c, 0, "missing field \"total\"; expected it with %s",
               have[F_GOOD] ? "good" : "bad");
        return 0;
    }
    ev.total = num[F_TOTAL];
    int which = have[F_GOOD] ? F_GOOD : F_BAD;
    if (num[which] > ev.total) {
        err_at(c, col[which], "%s %llu is more than total %llu; expected %s <= total",
               fields[which], (unsigned long long)num[which], (unsigned long long)ev.total,
               fields[which]);
        return 0;
    }
    ev.good = which == F_GOOD ? num[F_GOOD] : ev.total - num[F_BAD];
    return push(out, &ev);
}

static int cmp_ix(const void *a, const void *b)
{
    return strcmp(((const struct name_ix *)a)->name, ((const struct name_ix *)b)->name);
}

int slo_events_parse(const struct slo_defs *defs, const char *file, const char *text, size_t len,
                     struct slo_events *out, struct ag_buf *diag)
{
    size_t n_errors = 0, line = 0, pos = 0;
    int rc = 0;
    struct name_ix *ix = ag_calloc(defs->n_slos ? defs->n_slos : 1, sizeof(*ix));
    if (ix == NULL) {
        return AG_ENOMEM;
    }
    for (size_t k = 0; k < defs->n_slos; k++) {
        ix[k].name = defs->slos[k].name;
        ix[k].len = strlen(defs->slos[k].name);
        ix[k].slo = k;
    }
    if (defs->n_slos > 1) {
        qsort(ix, defs->n_slos, sizeof(*ix), cmp_ix);
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        line++;
        struct cur c = {ix, defs->n_slos, file, text + pos, end - pos, 0, line, diag, &n_errors,
                        false};
        skip_ws(&c);
        if (c.i < c.len) {
            if (n_errors >= SLO_EVENTS_MAX_ERRORS) {
                if (diag != NULL) {
                    int r2 = ag_buf_printf(diag, "%s:%zu:1: error: too many errors; stopping\n",
                                           file, line);
                    (void)r2;
                }
                break;
            }
            c.i = 0;
            rc = parse_line(defs, &c, out);
            if (rc != 0) {
                break;
            }
        }
        pos = end + 1;
    }
    ag_free(ix);
    if (rc != 0) {
        return rc;
    }
    return n_errors > 0 ? AG_EPROTO : 0;
}

static int cmp_event(const void *a, const void *b)
{
    const struct slo_event *x = a, *y = b;
    if (x->t_ms != y->t_ms) {
        return x->t_ms < y->t_ms ? -1 : 1;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

void slo_events_sort(struct slo_events *ev)
{
    if (ev->n > 1) {
        qsort(ev->v, ev->n, sizeof(*ev->v), cmp_event);
    }
}

void slo_events_release(struct slo_events *ev)
{
    ag_free(ev->v);
    memset(ev, 0, sizeof(*ev));
}
