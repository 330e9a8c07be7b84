/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SLO definitions: OpenSLO v1 and Otter's otter/v1 YAML into struct slo_defs (see slo_def.h and
 * slo/README.md for the Otter format). Every problem is reported at the YAML node at fault.
 */
#include "slo_def.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ag_mem.h"
#include "ag_yaml.h"
#include "slo_slices.h"
#include "slo_tz.h"

/* ---- private state ---------------------------------------------------------------------------- */

struct ref {
    char *name;
    const char *file;
    int line, col;
};

/* A reference from SLO |slo| to an SLI or an alert policy by name, and where it was written. */
struct slo_ref {
    size_t slo;
    struct ref r;
};

struct ref_list {
    struct slo_ref *v;
    size_t n, cap;
};

struct cond_def {
    char *name;
    const char *file;
    int line, col;
    char *severity;
    struct slo_decimal threshold;
    bool inclusive;
    uint64_t lookback_ms;
    char *lookback_text;
};

struct policy_def {
    char *name;
    const char *file;
    int line, col;
    struct ref *conds; /* names into conds */
    size_t n_conds;
    struct ref *targets; /* names into slo_defs.targets */
    size_t n_targets;
};

struct zone_ent {
    char *name;
    struct slo_tz *tz;
};

struct slo_defs_priv {
    struct ag_buf *diag;
    bool diag_failed;
    bool finished;
    size_t cap_slos, cap_slis, cap_targets, cap_files;
    struct ref_list sli_refs, pol_refs;
    struct policy_def *policies;
    size_t n_policies, cap_policies;
    struct cond_def *conds;
    size_t n_conds, cap_conds;
    slo_tz_loader_fn tz_loader;
    void *tz_loader_arg;
    struct zone_ent *zones; /* IANA zones loaded so far, one per distinct name */
    size_t n_zones, cap_zones;
};

/* One file being parsed. */
struct pctx {
    struct slo_defs *d;
    size_t fi;
    const char *file;
    bool oom;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t n = *cap ? *cap * 2 : 4;
    while (n < need) {
        n *= 2;
    }
    void *q = ag_realloc(*arr, n * elem);
    if (q == NULL) {
        return AG_ENOMEM;
    }
    *arr = q;
    *cap = n;
    return 0;
}

/* ---- diagnostics ------------------------------------------------------------------------------ */

__attribute__((format(printf, 6, 0))) static void diag_v(struct slo_defs *d, const char *file,
                                                          int line, int col, const char *kind,
                                                          const char *fmt, va_list ap)
{
    struct slo_defs_priv *p = d->priv;
    if (p->diag == NULL || p->diag_failed) {
        return;
    }
    int rc;
    if (line > 0) {
        rc = ag_buf_printf(p->diag, "%s:%d:%d: %s: ", file, line, col, kind);
    } else {
        rc = ag_buf_printf(p->diag, "%s: %s: ", file, kind);
    }
    if (rc == 0) {
        rc = ag_buf_vprintf(p->diag, fmt, ap);
    }
    if (rc == 0) {
        rc = ag_buf_addc(p->diag, '\n');
    }
    if (rc != 0) {
        p->diag_failed = true; /* the buffer freed itself: stop rather than write a torn half */
    }
}

static size_t file_index(const struct slo_defs *d, const char *file)
{
    for (size_t i = 0; i < d->n_files; i++) {
        if (d->files[i].name == file) {
            return i;
        }
    }
    return 0;
}

__attribute__((format(printf, 5, 6))) static void err_file(struct slo_defs *d, const char *file,
                                                            int line, int col, const char *fmt,
                                                            ...)
{
    struct slo_defs_file *f = &d->files[file_index(d, file)];
    f->n_errors++;
    d->n_errors++;
    if (f->n_errors > SLO_DEF_MAX_ERRORS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (f->n_errors == SLO_DEF_MAX_ERRORS) {
        diag_v(d, file, line, col, "error", "too many errors; stopping here", ap);
    } else {
        diag_v(d, file, line, col, "error", fmt, ap);
    }
    va_end(ap);
}

__attribute__((format(printf, 5, 6))) static void warn_file(struct slo_defs *d, const char *file,
                                                             int line, int col, const char *fmt,
                                                             ...)
{
    struct slo_defs_file *f = &d->files[file_index(d, file)];
    f->n_warnings++;
    d->n_warnings++;
    va_list ap;
    va_start(ap, fmt);
    diag_v(d, file, line, col, "warning", fmt, ap);
    va_end(ap);
}

#define ERR(c, n, ...) err_file((c)->d, (c)->file, (n)->line, (n)->col, __VA_ARGS__)

/* The text of a scalar for a message, quoted and cut. */
static const char *show(const struct ag_yaml_node *n, char *out, size_t outlen)
{
    ag_yaml_quote(n->type == AG_YAML_SCALAR ? n->str : ag_yaml_type_name(n), out, outlen);
    return out;
}

static char *dup_str(struct pctx *c, const char *s)
{
    char *r = ag_strdup(s);
    if (r == NULL) {
        c->oom = true;
    }
    return r;
}

/* ---- node helpers ----------------------------------------------------------------------------- */

static bool want_type(struct pctx *c, const struct ag_yaml_node *n, enum ag_yaml_type t,
                      const char *what)
{
    if (n->type == t) {
        return true;
    }
    static const char *names[] = {"a scalar", "a mapping", "a sequence"};
    ERR(c, n, "%s: expected %s, got %s", what, names[t], ag_yaml_type_name(n));
    return false;
}

/* Reports every key of |map| not in |allowed| (NULL-terminated). */
static bool check_keys(struct pctx *c, const struct ag_yaml_node *map, const char *where,
                       const char *const *allowed)
{
    bool ok = true;
    for (size_t i = 0; i < map->n_pairs; i++) {
        const struct ag_yaml_node *k = map->pairs[i].key;
        bool found = false;
        for (size_t j = 0; allowed[j] != NULL; j++) {
            if (strcmp(k->str, allowed[j]) == 0) {
                found = true;
                break;
            }
        }
        if (!found) {
            char q[80];
            char list[400];
            size_t off = 0;
            list[0] = '\0';
            for (size_t j = 0; allowed[j] != NULL && off < sizeof(list); j++) {
                int w = snprintf(list + off, sizeof(list) - off, "%s%s", j ? ", " : "", allowed[j]);
                if (w < 0) {
                    break;
                }
                off += (size_t)w;
            }
            ERR(c, k, "unknown key '%s' in %s; expected one of: %s", show(k, q, sizeof(q)), where,
                list);
            ok = false;
        }
    }
    return ok;
}

/* The value of a required key, or NULL after reporting it missing at |map|. */
static const struct ag_yaml_node *need(struct pctx *c, const struct ag_yaml_node *map,
                                       const char *key, const char *where)
{
    const struct ag_yaml_node *v = ag_yaml_map_get(map, key);
    if (v == NULL) {
        ERR(c, map, "%s: missing required key '%s'", where, key);
    }
    return v;
}

static const char *scalar(struct pctx *c, const struct ag_yaml_node *n, const char *what)
{
    if (!want_type(c, n, AG_YAML_SCALAR, what)) {
        return NULL;
    }
    return n->str;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.')) {
            return false;
        }
    }
    return true;
}

static bool get_name(struct pctx *c, const struct ag_yaml_node *n, const char *what, char **out)
{
    const char *s = scalar(c, n, what);
    if (s == NULL) {
        return false;
    }
    if (!name_ok(s)) {
        char q[80];
        ERR(c, n, "%s '%s': expected a name of 1 to 253 letters, digits, '-', '_' or '.'", what,
            show(n, q, sizeof(q)));
        return false;
    }
    *out = dup_str(c, s);
    return *out != NULL;
}

static bool get_str(struct pctx *c, const struct ag_yaml_node *n, const char *what, char **out)
{
    const char *s = scalar(c, n, what);
    if (s == NULL) {
        return false;
    }
    *out = dup_str(c, s);
    return *out != NULL;
}

static bool get_bool(struct pctx *c, const struct ag_yaml_node *n, const char *what, bool *out)
{
    const char *s = scalar(c, n, what);
    if (s == NULL) {
        return false;
    }
    if (!n->quoted && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)) {
        *out = true;
        return true;
    }
    if (!n->quoted &&
        (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)) {
        *out = false;
        return true;
    }
    char q[80];
    ERR(c, n, "%s '%s': expected true or false", what, show(n, q, sizeof(q)));
    return false;
}

static bool get_u64(struct pctx *c, const struct ag_yaml_node *n, const char *what, uint64_t *out)
{
    const char *s = scalar(c, n, what);
    if (s == NULL) {
        return false;
    }
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9u) / 10u) {
            break;
        }
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    if (i == 0 || s[i] != '\0') {
        char q[80];
        ERR(c, n, "%s '%s': expected a non-negative integer", what, show(n, q, sizeof(q)));
        return false;
    }
    *out = v;
    return true;
}

/* A decimal (slo_decimal_parse) or an objective in |unit| (when |objective|). */
static bool get_decimal(struct pctx *c, const struct ag_yaml_node *n, const char *what,
                        bool objective, enum slo_objective_unit unit, struct slo_decimal *out)
{
    const char *s = scalar(c, n, what);
    if (s == NULL) {
        return false;
    }
    struct slo_decimal_error e;
    memset(&e, 0, sizeof(e));
    int rc = objective ? slo_objective_parse(s, n->len, unit, out, &e)
                       : slo_decimal_parse(s, n->len, out, &e);
    if (rc == 0) {
        return true;
    }
    char q[80];
    int col = n->col;
    if (n->line > 0 && rc != AG_EINVAL) {
        col += (n->quoted ? 1 : 0) + (int)(e.offset < 1000 ? e.offset : 0);
    }
    err_file(c->d, c->file, n->line, col, "%s '%s': %s", what, show(n, q, sizeof(q)), e.msg);
    return false;
}

int slo_duration_parse(const char *text, uint64_t *ms)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; text[i] >= '0' && text[i] <= '9'; i++) {
        if (v > 1000000000u) {
            return AG_EINVAL;
        }
        v = v * 10u + (uint64_t)(text[i] - '0');
    }
    if (i == 0 || v == 0) {
        return AG_EINVAL;
    }
    const char *u = text + i;
    uint64_t mult;
    if (strcmp(u, "ms") == 0) {
        mult = 1;
    } else if (strcmp(u, "s") == 0) {
        mult = 1000;
    } else if (strcmp(u, "m") == 0) {
        mult = 60000;
    } else if (strcmp(u, "h") == 0) {
        mult = 3600000;
    } else if (strcmp(u, "d") == 0) {
        mult = 86400000;
    } else if (strcmp(u, "w") == 0) {
        mult = 7ull * 86400000;
    } else {
        return AG_EINVAL;
    }
    const uint64_t ten_years = 3660ull * 86400000;
    if (v > ten_years / mult) {
        return AG_EINVAL;
    }
    *ms = v * mult;
    return 0;
}

static bool get_duration(struct pctx *c, const struct ag_yaml_node *n, const char *what,
                         uint64_t *ms)
{
    const char *s = scalar(c, n, what);
    if (s == NULL) {
        return false;
    }
    if (slo_duration_parse(s, ms) != 0) {
        char q[80];
        ERR(c, n,
            "%s '%s': expected a duration: a positive integer and one of ms, s, m, h, d, w "
            "(\"5m\", \"30d\"), at most 10 years",
            what, show(n, q, sizeof(q)));
        return false;
    }
    return true;
}

int slo_tz_parse(const char *text, int32_t *utc_offset_s)
{
    const char *s = text;
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Etc/UTC") == 0 || strcmp(s, "Z") == 0 ||
        strcmp(s, "GMT") == 0 || strcmp(s, "Etc/GMT") == 0 || strcmp(s, "UCT") == 0 ||
        strcmp(s, "Etc/UCT") == 0 || strcmp(s, "Zulu") == 0 || strcmp(s, "Etc/Zulu") == 0) {
        *utc_offset_s = 0;
        return 0;
    }
    if (strncmp(s, "UTC", 3) == 0) {
        s += 3;
    }
    if (s[0] == '+' || s[0] == '-') {
        int sign = s[0] == '-' ? -1 : 1;
        const char *t = s + 1;
        if (t[0] >= '0' && t[0] <= '9' && t[1] >= '0' && t[1] <= '9' && t[2] == ':' &&
            t[3] >= '0' && t[3] <= '5' && t[4] >= '0' && t[4] <= '9' && t[5] == '\0') {
            int hh = (t[0] - '0') * 10 + (t[1] - '0');
            int mm = (t[3] - '0') * 10 + (t[4] - '0');
            if (hh > 18 || (hh == 18 && mm > 0)) {
                return AG_EINVAL;
            }
            *utc_offset_s = sign * (hh * 3600 + mm * 60);
            return 0;
        }
        return AG_EINVAL;
    }
    /* An IANA name: non-empty '/'-separated parts of letters, '_', '-', '+' and digits (no '.',
     * so no ".." either: the name is safe to append to a directory). */
    if (s != text || strchr(text, '/') == NULL || text[0] == '/' ||
        text[strlen(text) - 1] == '/' || strstr(text, "//") != NULL || strlen(text) > 255) {
        return AG_EINVAL;
    }
    for (const char *t = text; *t != '\0'; t++) {
        char ch = *t;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '/' || ch == '_' || ch == '-' || ch == '+')) {
            return AG_EINVAL;
        }
    }
    return AG_EUNSUPP;
}

/* The zone named |name| from the cache or the loader; NULL with an error reported at |n|. */
static const struct slo_tz *load_zone(struct pctx *c, const struct ag_yaml_node *n,
                                      const char *name)
{
    struct slo_defs_priv *p = c->d->priv;
    for (size_t i = 0; i < p->n_zones; i++) {
        if (strcmp(p->zones[i].name, name) == 0) {
            return p->zones[i].tz;
        }
    }
    if (p->tz_loader == NULL) {
        ERR(c, n, "timeZone '%s': no time zone database was given to resolve IANA names; "
            "expected UTC or a fixed offset such as \"+01:00\"", name);
        return NULL;
    }
    struct ag_buf bytes, why;
    ag_buf_init(&bytes, 1u << 20);
    ag_buf_init(&why, 512);
    struct slo_tz *tz = NULL;
    int rc = p->tz_loader(p->tz_loader_arg, name, &bytes, &why);
    if (rc == 0) {
        ag_buf_reset(&why);
        rc = slo_tz_new(ag_buf_ptr(&bytes), bytes.len, &why, &tz);
    }
    const char *w = why.len > 0 ? (const char *)ag_buf_ptr(&why) : ag_strerror(rc);
    if (rc == AG_ENOMEM) {
        c->oom = true;
    } else if (rc == AG_ENOTFOUND) {
        ERR(c, n, "timeZone '%s': unknown time zone; expected an IANA name such as "
            "\"Europe/Berlin\", UTC or a fixed offset \"+HH:MM\"", name);
    } else if (rc != 0) {
        ERR(c, n, "timeZone '%s': the zone file could not be used: %s", name, w);
    }
    ag_buf_cleanup(&bytes);
    ag_buf_cleanup(&why);
    if (rc != 0) {
        return NULL;
    }
    char *nm = dup_str(c, name);
    if (nm == NULL || grow((void **)&p->zones, &p->cap_zones, p->n_zones + 1,
                           sizeof(*p->zones)) != 0) {
        c->oom = true;
        ag_free(nm);
        slo_tz_free(tz);
        return NULL;
    }
    p->zones[p->n_zones].name = nm;
    p->zones[p->n_zones].tz = tz;
    p->n_zones++;
    return tz;
}

/* A calendar's timeZone into |s|: a fixed offset, or an IANA zone with its rules. */
static bool get_tz(struct pctx *c, const struct ag_yaml_node *n, struct slo_slo_def *s)
{
    const char *str = scalar(c, n, "timeZone");
    if (str == NULL) {
        return false;
    }
    int rc = slo_tz_parse(str, &s->utc_offset_s);
    if (rc == 0) {
        return true;
    }
    char q[80];
    if (rc == AG_EUNSUPP) {
        s->tz = load_zone(c, n, str);
        if (s->tz == NULL) {
            return false;
        }
        s->tz_name = dup_str(c, str);
        return s->tz_name != NULL;
    }
    ERR(c, n, "timeZone '%s': expected an IANA name (\"Europe/Berlin\"), UTC or a fixed offset "
        "\"+HH:MM\" / \"-HH:MM\" (at most 18h)",
        show(n, q, sizeof(q)));
    return false;
}

static bool get_calendar_unit(struct pctx *c, const struct ag_yaml_node *n,
                              enum slo_calendar_unit *u, uint64_t *ms)
{
    const char *s = scalar(c, n, "unit");
    if (s == NULL) {
        return false;
    }
    static const struct {
        const char *name;
        enum slo_calendar_unit u;
        uint64_t days; /* the shortest such period */
    } units[] = {
        {"day", SLO_CAL_DAY, 1},         {"week", SLO_CAL_WEEK, 7},     {"month", SLO_CAL_MONTH, 28},
        {"quarter", SLO_CAL_QUARTER, 89}, {"year", SLO_CAL_YEAR, 365},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s, units[i].name) == 0) {
            *u = units[i].u;
            *ms = units[i].days * 86400000ull;
            return true;
        }
    }
    char q[80];
    ERR(c, n, "calendar unit '%s': expected day, week, month, quarter or year", show(n, q, sizeof(q)));
    return false;
}

static bool get_matchers(struct pctx *c, const struct ag_yaml_node *n, const char *what,
                         struct slo_matcher **out, size_t *n_out)
{
    if (!want_type(c, n, AG_YAML_MAPPING, what)) {
        return false;
    }
    bool ok = true;
    if (n->n_pairs == 0) {
        return true;
    }
    struct slo_matcher *m = ag_calloc(n->n_pairs, sizeof(*m));
    if (m == NULL) {
        c->oom = true;
        return false;
    }
    *out = m;
    for (size_t i = 0; i < n->n_pairs; i++) {
        const struct ag_yaml_node *v = n->pairs[i].value;
        m[i].key = dup_str(c, n->pairs[i].key->str);
        (*n_out)++;
        if (!get_str(c, v, "attribute value", &m[i].value)) {
            ok = false;
        }
    }
    return ok && !c->oom;
}

/* ---- freeing ---------------------------------------------------------------------------------- */

static void free_matchers(struct slo_matcher *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ag_free(m[i].key);
        ag_free(m[i].value);
    }
    ag_free(m);
}

static void free_sel(struct slo_metric_sel *s)
{
    ag_free(s->name);
    free_matchers(s->match, s->n_match);
}

static void free_sli(struct slo_sli_def *s)
{
    ag_free(s->name);
    ag_free(s->external_type);
    ag_free(s->service);
    free_matchers(s->resource, s->n_resource);
    free_matchers(s->attributes, s->n_attributes);
    free_sel(&s->good);
    free_sel(&s->bad);
    free_sel(&s->total);
    free_sel(&s->histogram);
}

static void free_alert(struct slo_alert_def *a)
{
    ag_free(a->name);
    ag_free(a->severity);
    ag_free(a->long_text);
    ag_free(a->short_text);
    ag_free(a->drop_text);
    for (size_t i = 0; i < a->n_targets; i++) {
        ag_free(a->targets[i]);
    }
    ag_free(a->targets);
}

static void free_slo(struct slo_slo_def *s)
{
    ag_free(s->name);
    ag_free(s->display_name);
    ag_free(s->service);
    ag_free(s->window_text);
    ag_free(s->tz_name);
    for (size_t i = 0; i < s->n_alerts; i++) {
        free_alert(&s->alerts[i]);
    }
    ag_free(s->alerts);
}

static void free_refs(struct ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ag_free(r[i].name);
    }
    ag_free(r);
}

static void free_ref_list(struct ref_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        ag_free(l->v[i].r.name);
    }
    ag_free(l->v);
}

static void free_cond(struct cond_def *x)
{
    ag_free(x->name);
    ag_free(x->severity);
    ag_free(x->lookback_text);
}

static void free_policy(struct policy_def *x)
{
    ag_free(x->name);
    free_refs(x->conds, x->n_conds);
    free_refs(x->targets, x->n_targets);
}

void slo_defs_free(struct slo_defs *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_slos; i++) {
        free_slo(&d->slos[i]);
    }
    ag_free(d->slos);
    for (size_t i = 0; i < d->n_slis; i++) {
        free_sli(&d->slis[i]);
    }
    ag_free(d->slis);
    for (size_t i = 0; i < d->n_targets; i++) {
        ag_free(d->targets[i].name);
        ag_free(d->targets[i].target);
    }
    ag_free(d->targets);
    for (size_t i = 0; i < d->n_files; i++) {
        ag_free(d->files[i].name);
    }
    ag_free(d->files);
    struct slo_defs_priv *p = d->priv;
    if (p != NULL) {
        free_ref_list(&p->sli_refs);
        free_ref_list(&p->pol_refs);
        for (size_t i = 0; i < p->n_policies; i++) {
            free_policy(&p->policies[i]);
        }
        ag_free(p->policies);
        for (size_t i = 0; i < p->n_conds; i++) {
            free_cond(&p->conds[i]);
        }
        ag_free(p->conds);
        for (size_t i = 0; i < p->n_zones; i++) {
            ag_free(p->zones[i].name);
            slo_tz_free(p->zones[i].tz);
        }
        ag_free(p->zones);
        ag_free(p);
    }
    ag_free(d);
}

int slo_defs_new(struct ag_buf *diag, struct slo_defs **out)
{
    *out = NULL;
    struct slo_defs *d = ag_calloc(1, sizeof(*d));
    if (d == NULL) {
        return AG_ENOMEM;
    }
    d->priv = ag_calloc(1, sizeof(*d->priv));
    if (d->priv == NULL) {
        ag_free(d);
        return AG_ENOMEM;
    }
    d->priv->diag = diag;
    *out = d;
    return 0;
}

void slo_defs_set_tz_loader(struct slo_defs *d, slo_tz_loader_fn fn, void *arg)
{
    d->priv->tz_loader = fn;
    d->priv->tz_loader_arg = arg;
}

/* ---- storing ---------------------------------------------------------------------------------- */

static bool push_ref(struct pctx *c, struct ref **arr, size_t *n, size_t *cap,
                     const struct ag_yaml_node *at, const char *name)
{
    if (grow((void **)arr, cap, *n + 1, sizeof(**arr)) != 0) {
        c->oom = true;
        return false;
    }
    struct ref *r = &(*arr)[*n];
    r->name = dup_str(c, name);
    if (r->name == NULL) {
        return false;
    }
    r->file = c->file;
    r->line = at->line;
    r->col = at->col;
    (*n)++;
    return true;
}

/* Stores |s| (moved) as an SLI, reporting a duplicate name. */
static bool store_sli(struct pctx *c, struct slo_sli_def *s, const struct ag_yaml_node *at)
{
    struct slo_defs *d = c->d;
    for (size_t i = 0; i < d->n_slis; i++) {
        if (strcmp(d->slis[i].name, s->name) == 0) {
            ERR(c, at, "SLI '%s' is already defined at %s:%d:%d; names must be unique", s->name,
                d->slis[i].file, d->slis[i].line, d->slis[i].col);
            free_sli(s);
            return false;
        }
    }
    if (grow((void **)&d->slis, &d->priv->cap_slis, d->n_slis + 1, sizeof(*d->slis)) != 0) {
        c->oom = true;
        free_sli(s);
        return false;
    }
    d->slis[d->n_slis++] = *s;
    return true;
}

/* ---- SLIs ------------------------------------------------------------------------------------- */

static bool parse_http_classes(struct pctx *c, const struct ag_yaml_node *n, unsigned *out)
{
    if (!want_type(c, n, AG_YAML_SEQUENCE, "badHttpClasses")) {
        return false;
    }
    bool ok = true;
    *out = 0;
    for (size_t i = 0; i < n->n_items; i++) {
        const struct ag_yaml_node *it = n->items[i];
        const char *s = scalar(c, it, "badHttpClasses item");
        if (s == NULL) {
            ok = false;
            continue;
        }
        if (strlen(s) != 3 || s[0] < '1' || s[0] > '5' || s[1] != 'x' || s[2] != 'x') {
            char q[80];
            ERR(c, it, "HTTP status class '%s': expected 1xx, 2xx, 3xx, 4xx or 5xx",
                show(it, q, sizeof(q)));
            ok = false;
            continue;
        }
        *out |= 1u << (unsigned)(s[0] - '0');
    }
    return ok;
}

/* `sampling: adjustedCount | ignore` of a spans SLI: weight each span by the adjusted count its
 * tracestate records (the default), or count every span once. */
static bool parse_sampling(struct pctx *c, const struct ag_yaml_node *v, struct slo_sli_def *s)
{
    const char *m = scalar(c, v, "sampling");
    if (m == NULL) {
        return false;
    }
    if (strcmp(m, "adjustedCount") == 0 || strcmp(m, "ignore") == 0) {
        s->sampling_ignore = m[0] == 'i';
        return true;
    }
    char q[80];
    ERR(c, v, "sampling '%s': expected adjustedCount or ignore", show(v, q, sizeof(q)));
    return false;
}

static bool parse_spans(struct pctx *c, const struct ag_yaml_node *n, struct slo_sli_def *s,
                        const char *slo_service)
{
    static const char *const keys[] = {"service", "resource", "attributes", "kinds",
                                       "availability", "latency", "sampling", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, "spans") || !check_keys(c, n, "spans", keys)) {
        return false;
    }
    bool ok = true;
    s->source = SLO_SRC_SPANS;
    s->kind_server = s->kind_consumer = true;
    const struct ag_yaml_node *v;
    if ((v = ag_yaml_map_get(n, "service")) != NULL) {
        ok &= get_str(c, v, "service", &s->service);
    } else if (slo_service != NULL) {
        s->service = dup_str(c, slo_service);
    } else {
        ERR(c, n, "spans: missing 'service' (here or in the SLO's spec)");
        ok = false;
    }
    if ((v = ag_yaml_map_get(n, "resource")) != NULL) {
        ok &= get_matchers(c, v, "resource", &s->resource, &s->n_resource);
    }
    if ((v = ag_yaml_map_get(n, "attributes")) != NULL) {
        ok &= get_matchers(c, v, "attributes", &s->attributes, &s->n_attributes);
    }
    if ((v = ag_yaml_map_get(n, "kinds")) != NULL && want_type(c, v, AG_YAML_SEQUENCE, "kinds")) {
        s->kind_server = s->kind_consumer = false;
        for (size_t i = 0; i < v->n_items; i++) {
            const char *k = scalar(c, v->items[i], "kinds item");
            if (k != NULL && strcmp(k, "server") == 0) {
                s->kind_server = true;
            } else if (k != NULL && strcmp(k, "consumer") == 0) {
                s->kind_consumer = true;
            } else if (k != NULL) {
                char q[80];
                ERR(c, v->items[i], "span kind '%s': expected server or consumer",
                    show(v->items[i], q, sizeof(q)));
                ok = false;
            } else {
                ok = false;
            }
        }
        if (v->n_items == 0) {
            ERR(c, v, "kinds: expected at least one of server, consumer");
            ok = false;
        }
    } else if (v != NULL) {
        ok = false;
    }
    if ((v = ag_yaml_map_get(n, "sampling")) != NULL) {
        ok &= parse_sampling(c, v, s);
    }
    const struct ag_yaml_node *av = ag_yaml_map_get(n, "availability");
    const struct ag_yaml_node *lat = ag_yaml_map_get(n, "latency");
    if ((av == NULL) == (lat == NULL)) {
        ERR(c, n, "spans: expected exactly one of 'availability' or 'latency'");
        return false;
    }
    if (av != NULL) {
        static const char *const akeys[] = {"badHttpClasses", "statusError", NULL};
        s->span_check = SLO_SPAN_AVAILABILITY;
        s->bad_http_classes = 1u << 5;
        s->status_error_bad = true;
        if (ag_yaml_is_null(av)) {
            return ok;
        }
        if (!want_type(c, av, AG_YAML_MAPPING, "availability") ||
            !check_keys(c, av, "availability", akeys)) {
            return false;
        }
        if ((v = ag_yaml_map_get(av, "badHttpClasses")) != NULL) {
            ok &= parse_http_classes(c, v, &s->bad_http_classes);
        }
        if ((v = ag_yaml_map_get(av, "statusError")) != NULL) {
            ok &= get_bool(c, v, "statusError", &s->status_error_bad);
        }
    } else {
        static const char *const lkeys[] = {"threshold", NULL};
        s->span_check = SLO_SPAN_LATENCY;
        if (!want_type(c, lat, AG_YAML_MAPPING, "latency") ||
            !check_keys(c, lat, "latency", lkeys)) {
            return false;
        }
        if ((v = need(c, lat, "threshold", "latency")) == NULL) {
            return false;
        }
        ok &= get_duration(c, v, "latency threshold", &s->latency_ms);
    }
    return ok;
}

static bool parse_sel(struct pctx *c, const struct ag_yaml_node *n, const char *what,
                      struct slo_metric_sel *sel)
{
    static const char *const keys[] = {"name", "match", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, what) || !check_keys(c, n, what, keys)) {
        return false;
    }
    const struct ag_yaml_node *v = need(c, n, "name", what);
    bool ok = v != NULL && get_str(c, v, "metric name", &sel->name);
    if ((v = ag_yaml_map_get(n, "match")) != NULL) {
        ok &= get_matchers(c, v, "match", &sel->match, &sel->n_match);
    }
    return ok;
}

static bool parse_counters(struct pctx *c, const struct ag_yaml_node *n, struct slo_sli_def *s)
{
    static const char *const keys[] = {"good", "bad", "total", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, "counters") || !check_keys(c, n, "counters", keys)) {
        return false;
    }
    s->source = SLO_SRC_COUNTERS;
    const struct ag_yaml_node *g = ag_yaml_map_get(n, "good");
    const struct ag_yaml_node *b = ag_yaml_map_get(n, "bad");
    const struct ag_yaml_node *t = need(c, n, "total", "counters");
    if ((g == NULL) == (b == NULL)) {
        ERR(c, n, "counters: expected exactly one of 'good' or 'bad', with 'total'");
        return false;
    }
    bool ok = t != NULL && parse_sel(c, t, "total", &s->total);
    ok &= g != NULL ? parse_sel(c, g, "good", &s->good) : parse_sel(c, b, "bad", &s->bad);
    return ok;
}

static bool parse_histogram(struct pctx *c, const struct ag_yaml_node *n, struct slo_sli_def *s)
{
    static const char *const keys[] = {"name", "match", "threshold", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, "histogram") || !check_keys(c, n, "histogram", keys)) {
        return false;
    }
    s->source = SLO_SRC_HISTOGRAM;
    const struct ag_yaml_node *v = need(c, n, "name", "histogram");
    bool ok = v != NULL && get_str(c, v, "metric name", &s->histogram.name);
    if ((v = ag_yaml_map_get(n, "match")) != NULL) {
        ok &= get_matchers(c, v, "match", &s->histogram.match, &s->histogram.n_match);
    }
    v = need(c, n, "threshold", "histogram");
    ok &= v != NULL && get_decimal(c, v, "histogram threshold (a bucket bound)", false,
                                   SLO_OBJ_FRACTION, &s->bucket_bound);
    return ok;
}

/* Otter's `sli:` mapping: exactly one of spans, counters, histogram. */
static bool parse_otter_sli(struct pctx *c, const struct ag_yaml_node *n, struct slo_sli_def *s,
                            const char *slo_service)
{
    static const char *const keys[] = {"spans", "counters", "histogram", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, "sli") || !check_keys(c, n, "sli", keys)) {
        return false;
    }
    if (n->n_pairs != 1) {
        ERR(c, n, "sli: expected exactly one of 'spans', 'counters' or 'histogram'");
        return false;
    }
    const char *k = n->pairs[0].key->str;
    const struct ag_yaml_node *v = n->pairs[0].value;
    if (strcmp(k, "spans") == 0) {
        return parse_spans(c, v, s, slo_service);
    }
    if (strcmp(k, "counters") == 0) {
        return parse_counters(c, v, s);
    }
    return parse_histogram(c, v, s);
}

/* OpenSLO metricSource: type otter with spec {name, match} selects an otterd counter. */
static bool parse_metric_source(struct pctx *c, const struct ag_yaml_node *n, const char *what,
                                struct slo_sli_def *s, struct slo_metric_sel *sel)
{
    static const char *const keys[] = {"metricSource", NULL};
    static const char *const mkeys[] = {"metricSourceRef", "type", "spec", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, what) || !check_keys(c, n, what, keys)) {
        return false;
    }
    const struct ag_yaml_node *ms = need(c, n, "metricSource", what);
    if (ms == NULL || !want_type(c, ms, AG_YAML_MAPPING, "metricSource") ||
        !check_keys(c, ms, "metricSource", mkeys)) {
        return false;
    }
    const struct ag_yaml_node *t = ag_yaml_map_get(ms, "type");
    const struct ag_yaml_node *spec = ag_yaml_map_get(ms, "spec");
    if (t == NULL || scalar(c, t, "metricSource type") == NULL) {
        return t == NULL; /* a metricSourceRef alone names an external DataSource */
    }
    if (strcmp(t->str, "otter") == 0 || strcmp(t->str, "Otter") == 0) {
        if (spec == NULL) {
            ERR(c, ms, "metricSource of type otter: missing required key 'spec' ({name, match})");
            return false;
        }
        if (s->source == SLO_SRC_EXTERNAL && s->external_type == NULL) {
            s->source = SLO_SRC_COUNTERS;
        }
        return parse_sel(c, spec, "metricSource spec", sel);
    }
    if (s->external_type == NULL) {
        s->external_type = dup_str(c, t->str);
    }
    return true;
}

static bool parse_openslo_sli_spec(struct pctx *c, const struct ag_yaml_node *spec,
                                   struct slo_sli_def *s)
{
    static const char *const keys[] = {"description", "ratioMetric", "thresholdMetric", NULL};
    if (!want_type(c, spec, AG_YAML_MAPPING, "SLI spec") ||
        !check_keys(c, spec, "SLI spec", keys)) {
        return false;
    }
    s->format = SLO_DEF_OPENSLO;
    s->source = SLO_SRC_EXTERNAL;
    const struct ag_yaml_node *rm = ag_yaml_map_get(spec, "ratioMetric");
    const struct ag_yaml_node *tm = ag_yaml_map_get(spec, "thresholdMetric");
    if ((rm == NULL) == (tm == NULL)) {
        ERR(c, spec, "SLI spec: expected exactly one of 'ratioMetric' or 'thresholdMetric'");
        return false;
    }
    if (tm != NULL) {
        s->threshold_metric = true;
        return parse_metric_source(c, tm, "thresholdMetric", s, &s->total);
    }
    static const char *const rkeys[] = {"counter", "good", "bad", "total", "rawType", "raw", NULL};
    if (!want_type(c, rm, AG_YAML_MAPPING, "ratioMetric") ||
        !check_keys(c, rm, "ratioMetric", rkeys)) {
        return false;
    }
    bool ok = true;
    const struct ag_yaml_node *v;
    bool counter = false;
    if ((v = ag_yaml_map_get(rm, "counter")) != NULL) {
        ok &= get_bool(c, v, "counter", &counter);
    }
    if (ag_yaml_map_get(rm, "raw") != NULL) {
        ERR(c, ag_yaml_map_get(rm, "raw"),
            "ratioMetric raw: precomputed ratios are not supported (counts cannot be recovered "
            "from them); expected good or bad with total");
        return false;
    }
    const struct ag_yaml_node *g = ag_yaml_map_get(rm, "good");
    const struct ag_yaml_node *b = ag_yaml_map_get(rm, "bad");
    const struct ag_yaml_node *t = need(c, rm, "total", "ratioMetric");
    if ((g == NULL) == (b == NULL)) {
        ERR(c, rm, "ratioMetric: expected exactly one of 'good' or 'bad', with 'total'");
        return false;
    }
    ok &= g != NULL ? parse_metric_source(c, g, "good", s, &s->good)
                    : parse_metric_source(c, b, "bad", s, &s->bad);
    ok &= t != NULL && parse_metric_source(c, t, "total", s, &s->total);
    if (ok && s->source == SLO_SRC_COUNTERS && s->total.name == NULL) {
        ERR(c, rm, "ratioMetric: good/bad and total must all be of metricSource type otter");
        ok = false;
    }
    return ok;
}

/* metadata: {name, displayName, labels, annotations}; stores the name (and displayName). */
static bool parse_metadata(struct pctx *c, const struct ag_yaml_node *doc, const char *kind,
                           char **name, char **display)
{
    static const char *const keys[] = {"name", "displayName", "labels", "annotations", NULL};
    const struct ag_yaml_node *m = need(c, doc, "metadata", kind);
    if (m == NULL || !want_type(c, m, AG_YAML_MAPPING, "metadata") ||
        !check_keys(c, m, "metadata", keys)) {
        return false;
    }
    const struct ag_yaml_node *n = need(c, m, "name", "metadata");
    if (n == NULL || !get_name(c, n, "metadata name", name)) {
        return false;
    }
    const struct ag_yaml_node *dn = ag_yaml_map_get(m, "displayName");
    if (dn != NULL && display != NULL) {
        return get_str(c, dn, "displayName", display);
    }
    return true;
}

/* A document or inline object {apiVersion?, kind, metadata, spec}. */
static const char *const obj_keys[] = {"apiVersion", "kind", "metadata", "spec", NULL};

static bool parse_sli_doc(struct pctx *c, const struct ag_yaml_node *doc, char **name_out)
{
    struct slo_sli_def s;
    memset(&s, 0, sizeof(s));
    s.file = c->file;
    s.line = doc->line;
    s.col = doc->col;
    bool ok = parse_metadata(c, doc, "SLI", &s.name, NULL);
    const struct ag_yaml_node *spec = need(c, doc, "spec", "SLI");
    ok = ok && spec != NULL && parse_openslo_sli_spec(c, spec, &s);
    if (!ok) {
        free_sli(&s);
        return false;
    }
    if (name_out != NULL) {
        *name_out = dup_str(c, s.name);
        if (*name_out == NULL) {
            free_sli(&s);
            return false;
        }
    }
    return store_sli(c, &s, doc);
}

/* ---- alert conditions and policies ------------------------------------------------------------ */

static bool store_cond(struct pctx *c, struct cond_def *x, const struct ag_yaml_node *at)
{
    struct slo_defs_priv *p = c->d->priv;
    for (size_t i = 0; i < p->n_conds; i++) {
        if (strcmp(p->conds[i].name, x->name) == 0) {
            ERR(c, at, "AlertCondition '%s' is already defined at %s:%d:%d; names must be unique",
                x->name, p->conds[i].file, p->conds[i].line, p->conds[i].col);
            free_cond(x);
            return false;
        }
    }
    if (grow((void **)&p->conds, &p->cap_conds, p->n_conds + 1, sizeof(*p->conds)) != 0) {
        c->oom = true;
        free_cond(x);
        return false;
    }
    p->conds[p->n_conds++] = *x;
    return true;
}

static bool parse_cond_doc(struct pctx *c, const struct ag_yaml_node *doc, char **name_out)
{
    static const char *const skeys[] = {"description", "severity", "condition", NULL};
    static const char *const ckeys[] = {"kind", "op", "threshold", "lookbackWindow", "alertAfter",
                                        NULL};
    struct cond_def x;
    memset(&x, 0, sizeof(x));
    x.file = c->file;
    x.line = doc->line;
    x.col = doc->col;
    bool ok = parse_metadata(c, doc, "AlertCondition", &x.name, NULL);
    const struct ag_yaml_node *spec = need(c, doc, "spec", "AlertCondition");
    if (!ok || spec == NULL || !want_type(c, spec, AG_YAML_MAPPING, "AlertCondition spec") ||
        !check_keys(c, spec, "AlertCondition spec", skeys)) {
        free_cond(&x);
        return false;
    }
    const struct ag_yaml_node *v = need(c, spec, "severity", "AlertCondition spec");
    ok = v != NULL && get_str(c, v, "severity", &x.severity);
    const struct ag_yaml_node *cond = need(c, spec, "condition", "AlertCondition spec");
    if (cond == NULL || !want_type(c, cond, AG_YAML_MAPPING, "condition") ||
        !check_keys(c, cond, "condition", ckeys)) {
        free_cond(&x);
        return false;
    }
    x.line = cond->line;
    x.col = cond->col;
    if ((v = need(c, cond, "kind", "condition")) != NULL && scalar(c, v, "condition kind")) {
        if (strcmp(v->str, "burnrate") != 0) {
            char q[80];
            ERR(c, v, "condition kind '%s': expected burnrate", show(v, q, sizeof(q)));
            ok = false;
        }
    } else {
        ok = false;
    }
    x.inclusive = false;
    if ((v = ag_yaml_map_get(cond, "op")) != NULL && scalar(c, v, "op") != NULL) {
        if (strcmp(v->str, "gte") == 0) {
            x.inclusive = true;
        } else if (strcmp(v->str, "gt") != 0) {
            char q[80];
            ERR(c, v, "op '%s': a burn-rate condition fires above its threshold; expected gt or gte",
                show(v, q, sizeof(q)));
            ok = false;
        }
    } else if (v != NULL) {
        ok = false;
    }
    v = need(c, cond, "threshold", "condition");
    ok &= v != NULL && get_decimal(c, v, "threshold", false, SLO_OBJ_FRACTION, &x.threshold);
    v = need(c, cond, "lookbackWindow", "condition");
    ok &= v != NULL && get_duration(c, v, "lookbackWindow", &x.lookback_ms);
    if (ok) {
        x.lookback_text = dup_str(c, v->str);
    }
    if ((v = ag_yaml_map_get(cond, "alertAfter")) != NULL) {
        uint64_t ms;
        ok &= get_duration(c, v, "alertAfter", &ms);
    }
    if (!ok || c->oom) {
        free_cond(&x);
        return false;
    }
    if (name_out != NULL) {
        *name_out = dup_str(c, x.name);
        if (*name_out == NULL) {
            free_cond(&x);
            return false;
        }
    }
    return store_cond(c, &x, doc);
}

static bool parse_target_doc(struct pctx *c, const struct ag_yaml_node *doc, char **name_out)
{
    static const char *const skeys[] = {"description", "target", NULL};
    struct slo_target_def t;
    memset(&t, 0, sizeof(t));
    t.file = c->file;
    t.line = doc->line;
    t.col = doc->col;
    bool ok = parse_metadata(c, doc, "AlertNotificationTarget", &t.name, NULL);
    const struct ag_yaml_node *spec = need(c, doc, "spec", "AlertNotificationTarget");
    if (ok && spec != NULL && want_type(c, spec, AG_YAML_MAPPING, "AlertNotificationTarget spec") &&
        check_keys(c, spec, "AlertNotificationTarget spec", skeys)) {
        const struct ag_yaml_node *v = need(c, spec, "target", "AlertNotificationTarget spec");
        ok = v != NULL && get_str(c, v, "target", &t.target);
    } else {
        ok = false;
    }
    struct slo_defs *d = c->d;
    for (size_t i = 0; ok && i < d->n_targets; i++) {
        if (strcmp(d->targets[i].name, t.name) == 0) {
            ERR(c, doc, "AlertNotificationTarget '%s' is already defined at %s:%d:%d; names must be "
                "unique", t.name, d->targets[i].file, d->targets[i].line, d->targets[i].col);
            ok = false;
        }
    }
    if (ok && grow((void **)&d->targets, &d->priv->cap_targets, d->n_targets + 1,
                   sizeof(*d->targets)) != 0) {
        c->oom = true;
        ok = false;
    }
    if (ok && name_out != NULL) {
        *name_out = dup_str(c, t.name);
        ok = *name_out != NULL;
    }
    if (!ok) {
        ag_free(t.name);
        ag_free(t.target);
        return false;
    }
    d->targets[d->n_targets++] = t;
    return true;
}

/* An inline object of |kind| or a {refKey: name} mapping; the name goes to |*name|. */
static bool inline_or_ref(struct pctx *c, const struct ag_yaml_node *it, const char *ref_key,
                          const char *kind,
                          bool (*parse)(struct pctx *, const struct ag_yaml_node *, char **),
                          char **name)
{
    if (!want_type(c, it, AG_YAML_MAPPING, kind)) {
        return false;
    }
    const struct ag_yaml_node *r = ag_yaml_map_get(it, ref_key);
    if (r != NULL) {
        if (it->n_pairs != 1) {
            ERR(c, it, "%s: '%s' stands alone; expected either a reference or an inline %s",
                kind, ref_key, kind);
            return false;
        }
        return get_name(c, r, ref_key, name);
    }
    const struct ag_yaml_node *k = ag_yaml_map_get(it, "kind");
    if (k == NULL || k->type != AG_YAML_SCALAR || strcmp(k->str, kind) != 0) {
        ERR(c, it, "%s: expected {%s: name} or an inline object with kind: %s", kind, ref_key,
            kind);
        return false;
    }
    if (!check_keys(c, it, kind, obj_keys)) {
        return false;
    }
    return parse(c, it, name);
}

static bool parse_policy_doc(struct pctx *c, const struct ag_yaml_node *doc, char **name_out)
{
    static const char *const skeys[] = {"description", "alertWhenNoData", "alertWhenResolved",
                                        "alertWhenBreaching", "conditions", "notificationTargets",
                                        NULL};
    struct policy_def x;
    memset(&x, 0, sizeof(x));
    x.file = c->file;
    x.line = doc->line;
    x.col = doc->col;
    size_t cap_c = 0, cap_t = 0;
    bool ok = parse_metadata(c, doc, "AlertPolicy", &x.name, NULL);
    const struct ag_yaml_node *spec = need(c, doc, "spec", "AlertPolicy");
    if (!ok || spec == NULL || !want_type(c, spec, AG_YAML_MAPPING, "AlertPolicy spec") ||
        !check_keys(c, spec, "AlertPolicy spec", skeys)) {
        free_policy(&x);
        return false;
    }
    static const char *const bools[] = {"alertWhenNoData", "alertWhenResolved",
                                        "alertWhenBreaching"};
    for (size_t i = 0; i < 3; i++) {
        const struct ag_yaml_node *v = ag_yaml_map_get(spec, bools[i]);
        bool b;
        if (v != NULL) {
            ok &= get_bool(c, v, bools[i], &b);
        }
    }
    const struct ag_yaml_node *conds = need(c, spec, "conditions", "AlertPolicy spec");
    if (conds != NULL && want_type(c, conds, AG_YAML_SEQUENCE, "conditions")) {
        if (conds->n_items == 0) {
            ERR(c, conds, "conditions: expected at least one condition");
            ok = false;
        }
        for (size_t i = 0; i < conds->n_items && !c->oom; i++) {
            char *name = NULL;
            if (inline_or_ref(c, conds->items[i], "conditionRef", "AlertCondition",
                              parse_cond_doc, &name)) {
                ok &= push_ref(c, &x.conds, &x.n_conds, &cap_c, conds->items[i], name);
            } else {
                ok = false;
            }
            ag_free(name);
        }
    } else {
        ok = false;
    }
    const struct ag_yaml_node *tg = ag_yaml_map_get(spec, "notificationTargets");
    if (tg != NULL && want_type(c, tg, AG_YAML_SEQUENCE, "notificationTargets")) {
        for (size_t i = 0; i < tg->n_items && !c->oom; i++) {
            char *name = NULL;
            if (inline_or_ref(c, tg->items[i], "targetRef", "AlertNotificationTarget",
                              parse_target_doc, &name)) {
                ok &= push_ref(c, &x.targets, &x.n_targets, &cap_t, tg->items[i], name);
            } else {
                ok = false;
            }
            ag_free(name);
        }
    } else if (tg != NULL) {
        ok = false;
    }
    struct slo_defs_priv *p = c->d->priv;
    for (size_t i = 0; ok && i < p->n_policies; i++) {
        if (strcmp(p->policies[i].name, x.name) == 0) {
            ERR(c, doc, "AlertPolicy '%s' is already defined at %s:%d:%d; names must be unique",
                x.name, p->policies[i].file, p->policies[i].line, p->policies[i].col);
            ok = false;
        }
    }
    if (ok && grow((void **)&p->policies, &p->cap_policies, p->n_policies + 1,
                   sizeof(*p->policies)) != 0) {
        c->oom = true;
        ok = false;
    }
    if (ok && name_out != NULL) {
        *name_out = dup_str(c, x.name);
        ok = *name_out != NULL;
    }
    if (!ok || c->oom) {
        free_policy(&x);
        return false;
    }
    p->policies[p->n_policies++] = x;
    return true;
}

/* ---- SLOs ------------------------------------------------------------------------------------- */

static bool check_slo_name(struct pctx *c, const struct slo_slo_def *s,
                           const struct ag_yaml_node *at)
{
    struct slo_defs *d = c->d;
    for (size_t i = 0; i < d->n_slos; i++) {
        if (strcmp(d->slos[i].name, s->name) == 0) {
            ERR(c, at, "SLO '%s' is already defined at %s:%d:%d; names must be unique", s->name,
                d->slos[i].file, d->slos[i].line, d->slos[i].col);
            return false;
        }
    }
    return true;
}

static bool store_slo(struct pctx *c, struct slo_slo_def *s)
{
    struct slo_defs *d = c->d;
    if (grow((void **)&d->slos, &d->priv->cap_slos, d->n_slos + 1, sizeof(*d->slos)) != 0) {
        c->oom = true;
        free_slo(s);
        return false;
    }
    d->slos[d->n_slos++] = *s;
    d->files[c->fi].n_slos++;
    return true;
}

static bool add_ref(struct pctx *c, struct ref_list *l, size_t slo, const struct ag_yaml_node *at,
                    const char *name)
{
    if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) != 0) {
        c->oom = true;
        return false;
    }
    struct slo_ref *r = &l->v[l->n];
    r->slo = slo;
    r->r.name = dup_str(c, name);
    if (r->r.name == NULL) {
        return false;
    }
    r->r.file = c->file;
    r->r.line = at->line;
    r->r.col = at->col;
    l->n++;
    return true;
}

static bool parse_budgeting(struct pctx *c, const struct ag_yaml_node *v, enum slo_budgeting *b)
{
    const char *s = scalar(c, v, "budgetingMethod");
    if (s == NULL) {
        return false;
    }
    if (strcmp(s, "Occurrences") == 0) {
        *b = SLO_BUDGETING_OCCURRENCES;
    } else if (strcmp(s, "Timeslices") == 0) {
        *b = SLO_BUDGETING_TIMESLICES;
    } else if (strcmp(s, "RatioTimeslices") == 0) {
        *b = SLO_BUDGETING_RATIO_TIMESLICES;
    } else {
        char q[80];
        ERR(c, v, "budgetingMethod '%s': expected Occurrences, Timeslices or RatioTimeslices",
            show(v, q, sizeof(q)));
        return false;
    }
    return true;
}

/* The slice period must divide the window (and be shorter), so N is a whole number. */
static bool check_slice(struct pctx *c, const struct ag_yaml_node *at, const struct slo_slo_def *s)
{
    if (s->slice_ms >= s->window_ms || (!s->calendar && s->window_ms % s->slice_ms != 0) ||
        (s->calendar && 86400000u % s->slice_ms != 0)) {
        ERR(c, at, "time slice: expected a period that divides the SLO window %s (and a calendar "
            "day) into whole periods", s->window_text);
        return false;
    }
    if (s->tz != NULL && 3600000u % s->slice_ms != 0) {
        /* Days of 23 and 25 hours must hold whole periods too. */
        ERR(c, at, "time slice: in the time zone %s (days of 23 or 25 hours) expected a period "
            "that divides an hour", s->tz_name);
        return false;
    }
    return true;
}

/*
 * Otter's budgetDrop: {drop: "5%" (percent) or "0.05" (a fraction of the budget), lookback: a
 * duration of whole minutes, at most 7 days (Nobl9's alertingWindow range, from 1 minute)}.
 */
static bool parse_budget_drop(struct pctx *c, const struct ag_yaml_node *n, struct slo_alert_def *a)
{
    static const char *const keys[] = {"drop", "lookback", NULL};
    if (!want_type(c, n, AG_YAML_MAPPING, "budgetDrop") || !check_keys(c, n, "budgetDrop", keys)) {
        return false;
    }
    bool ok = true;
    const struct ag_yaml_node *v = need(c, n, "drop", "budgetDrop");
    const char *s = v != NULL ? scalar(c, v, "drop") : NULL;
    if (s == NULL) {
        ok = false;
    } else {
        size_t len = v->len;
        bool pct = len > 0 && s[len - 1] == '%';
        struct slo_decimal_error e;
        memset(&e, 0, sizeof(e));
        int rc = slo_decimal_parse(s, pct ? len - 1 : len, &a->drop, &e);
        if (rc == 0 && pct) {
            /* percent: two more decimals, exactly */
            if (a->drop.scale + 2 > SLO_DECIMAL_MAX_SCALE) {
                rc = AG_ETOOBIG;
                (void)snprintf(e.msg, sizeof(e.msg), "expected at most %d decimals in percent",
                               SLO_DECIMAL_MAX_SCALE - 2);
            } else {
                a->drop.den *= 100;
                a->drop.scale += 2;
                while (a->drop.scale > 0 && a->drop.num % 10 == 0) {
                    a->drop.num /= 10; /* normalised as a parsed decimal: "100%" is 1 */
                    a->drop.den /= 10;
                    a->drop.scale--;
                }
            }
        }
        if (rc != 0) {
            char q[80];
            ERR(c, v,
                "drop '%s': %s; expected a percent of the budget (\"5%%\") or a fraction "
                "(\"0.05\")",
                show(v, q, sizeof(q)), e.msg);
            ok = false;
        } else if (a->drop.num == 0) {
            char q[80];
            ERR(c, v,
                "drop '%s': expected a drop above 0 (\"5%%\": fires when more than 5 %% "
                "of the budget went within the lookback)",
                show(v, q, sizeof(q)));
            ok = false;
        }
    }
    const struct ag_yaml_node *lb = need(c, n, "lookback", "budgetDrop");
    if (lb == NULL || !get_duration(c, lb, "lookback", &a->drop_ms)) {
        ok = false;
    } else if (a->drop_ms % 60000 != 0 || a->drop_ms > 7ull * 86400000) {
        char q[80];
        ERR(c, lb, "lookback '%s': expected whole minutes, at most 7 days (\"1h\")",
            show(lb, q, sizeof(q)));
        ok = false;
    } else {
        a->drop_text = dup_str(c, lb->str);
    }
    return ok;
}

/* Otter: alerts as a sequence of pairs, or the string "defaults". */
static bool parse_otter_alerts(struct pctx *c, const struct ag_yaml_node *n, struct slo_slo_def *s)
{
    static const char *const keys[] = {"name",        "severity",  "burnRate", "longWindow",
                                       "shortWindow", "minEvents", "minBad",   "notify",
                                       "budgetRemaining", "timeToExhaustion", "coolDown",
                                       "budgetDrop", NULL};
    if (n->type == AG_YAML_SCALAR && strcmp(n->str, "defaults") == 0) {
        struct slo_mwmbr_default def[SLO_MWMBR_DEFAULTS];
        if (slo_mwmbr_defaults(s->window_ms, 60000, def) != 0) {
            ERR(c, n, "alerts: the default windows scaled from %s would be shorter than 2 minutes; "
                "write the alerts out", s->window_text);
            return false;
        }
        s->alerts = ag_calloc(SLO_MWMBR_DEFAULTS, sizeof(*s->alerts));
        if (s->alerts == NULL) {
            c->oom = true;
            return false;
        }
        for (size_t i = 0; i < SLO_MWMBR_DEFAULTS; i++) {
            struct slo_alert_def *a = &s->alerts[i];
            char lt[32], st[32];
            (void)snprintf(lt, sizeof(lt), "%llum", (unsigned long long)(def[i].long_ms / 60000));
            (void)snprintf(st, sizeof(st), "%llum", (unsigned long long)(def[i].short_ms / 60000));
            s->n_alerts++;
            a->file = c->file;
            a->line = n->line;
            a->col = n->col;
            /* Named page-fast, page-slow, ticket-fast, ticket-slow (the Workbook's fast and
             * slow burns): unique per SLO, so each is one key of a report's alerts object. */
            static const char *const names[SLO_MWMBR_DEFAULTS] = {"page-fast", "page-slow",
                                                                  "ticket-fast", "ticket-slow"};
            a->name = dup_str(c, names[i]);
            a->severity = dup_str(c, def[i].severity);
            a->long_text = dup_str(c, lt);
            a->short_text = dup_str(c, st);
            a->long_ms = def[i].long_ms;
            a->short_ms = def[i].short_ms;
            struct slo_decimal_error e;
            if (slo_decimal_parse(def[i].threshold, strlen(def[i].threshold), &a->threshold, &e) !=
                0) {
                return false;
            }
        }
        return !c->oom;
    }
    if (n->type == AG_YAML_SCALAR) {
        char q[80];
        ERR(c, n, "alerts '%s': expected a sequence of alerts or the word defaults",
            show(n, q, sizeof(q)));
        return false;
    }
    if (!want_type(c, n, AG_YAML_SEQUENCE, "alerts")) {
        return false;
    }
    bool ok = true;
    if (n->n_items == 0) {
        return true;
    }
    s->alerts = ag_calloc(n->n_items, sizeof(*s->alerts));
    if (s->alerts == NULL) {
        c->oom = true;
        return false;
    }
    for (size_t i = 0; i < n->n_items; i++) {
        const struct ag_yaml_node *it = n->items[i];
        struct slo_alert_def *a = &s->alerts[s->n_alerts++];
        a->file = c->file;
        a->line = it->line;
        a->col = it->col;
        if (!want_type(c, it, AG_YAML_MAPPING, "alert") || !check_keys(c, it, "alert", keys)) {
            ok = false;
            continue;
        }
        const struct ag_yaml_node *v = need(c, it, "name", "alert");
        ok &= v != NULL && get_name(c, v, "alert name", &a->name);
        if ((v = ag_yaml_map_get(it, "severity")) != NULL) {
            ok &= get_str(c, v, "severity", &a->severity);
        } else {
            a->severity = dup_str(c, "page");
        }
        if ((v = ag_yaml_map_get(it, "coolDown")) != NULL) {
            ok &= get_duration(c, v, "coolDown", &a->cool_down_ms);
        }
        const struct ag_yaml_node *br = ag_yaml_map_get(it, "burnRate");
        const struct ag_yaml_node *bud = ag_yaml_map_get(it, "budgetRemaining");
        const struct ag_yaml_node *tte = ag_yaml_map_get(it, "timeToExhaustion");
        const struct ag_yaml_node *drop = ag_yaml_map_get(it, "budgetDrop");
        if ((br != NULL) + (bud != NULL) + (tte != NULL) + (drop != NULL) != 1) {
            ERR(c, it,
                "alert: expected exactly one of burnRate (with longWindow), "
                "budgetRemaining (\"0.25\"), timeToExhaustion ({below: 24h, lookback: 1h}) or "
                "budgetDrop ({drop: \"5%%\", lookback: 1h})");
            ok = false;
            continue;
        }
        if (br == NULL) {
            static const char *const burn_only[] = {"longWindow", "shortWindow", "minEvents",
                                                    "minBad", NULL};
            for (size_t k = 0; burn_only[k] != NULL; k++) {
                if ((v = ag_yaml_map_get(it, burn_only[k])) != NULL) {
                    ERR(c, v, "%s: only for a burnRate alert (this one is a %s alert)",
                        burn_only[k],
                        bud != NULL ? "budgetRemaining"
                                    : (tte != NULL ? "timeToExhaustion" : "budgetDrop"));
                    ok = false;
                }
            }
        }
        if (bud != NULL) {
            a->kind = SLO_ALERT_BUDGET;
            if (get_decimal(c, bud, "budgetRemaining", false, SLO_OBJ_FRACTION,
                            &a->budget_below)) {
                if (a->budget_below.num == 0 || a->budget_below.num > a->budget_below.den) {
                    char q[80];
                    ERR(c, bud, "budgetRemaining '%s': expected a fraction of the budget above 0 "
                        "and at most 1 (\"0.25\": fires below a quarter left)",
                        show(bud, q, sizeof(q)));
                    ok = false;
                }
            } else {
                ok = false;
            }
        }
        if (tte != NULL) {
            static const char *const tkeys[] = {"below", "lookback", NULL};
            a->kind = SLO_ALERT_TTE;
            if (!want_type(c, tte, AG_YAML_MAPPING, "timeToExhaustion") ||
                !check_keys(c, tte, "timeToExhaustion", tkeys)) {
                ok = false;
            } else {
                const struct ag_yaml_node *b = need(c, tte, "below", "timeToExhaustion");
                ok &= b != NULL && get_duration(c, b, "below", &a->tte_below_ms);
                const struct ag_yaml_node *lb = need(c, tte, "lookback", "timeToExhaustion");
                if (lb != NULL && get_duration(c, lb, "lookback", &a->long_ms)) {
                    a->long_text = dup_str(c, lb->str);
                } else {
                    ok = false;
                }
            }
        }
        if (drop != NULL) {
            a->kind = SLO_ALERT_DROP;
            ok &= parse_budget_drop(c, drop, a);
        }
        if (br != NULL) {
            ok &= get_decimal(c, br, "burnRate", false, SLO_OBJ_FRACTION, &a->threshold);
            const struct ag_yaml_node *lw = need(c, it, "longWindow", "alert");
            if (lw != NULL && get_duration(c, lw, "longWindow", &a->long_ms)) {
                a->long_text = dup_str(c, lw->str);
            } else {
                ok = false;
            }
            const struct ag_yaml_node *sw = ag_yaml_map_get(it, "shortWindow");
            if (sw != NULL && get_duration(c, sw, "shortWindow", &a->short_ms)) {
                a->short_text = dup_str(c, sw->str);
                if (a->long_ms != 0 && a->short_ms >= a->long_ms) {
                    ERR(c, sw, "shortWindow %s: expected a window shorter than longWindow %s",
                        sw->str, lw->str);
                    ok = false;
                }
            } else if (sw != NULL) {
                ok = false;
            }
            if ((v = ag_yaml_map_get(it, "minEvents")) != NULL) {
                ok &= get_u64(c, v, "minEvents", &a->min_events);
            }
            if ((v = ag_yaml_map_get(it, "minBad")) != NULL) {
                ok &= get_u64(c, v, "minBad", &a->min_bad);
            }
        }
        if ((v = ag_yaml_map_get(it, "notify")) != NULL) {
            if (want_type(c, v, AG_YAML_SEQUENCE, "notify") && v->n_items > 0) {
                a->targets = ag_calloc(v->n_items, sizeof(*a->targets));
                if (a->targets == NULL) {
                    c->oom = true;
                    return false;
                }
                for (size_t j = 0; j < v->n_items; j++) {
                    ok &= get_name(c, v->items[j], "notify target", &a->targets[a->n_targets]);
                    if (a->targets[a->n_targets] != NULL) {
                        a->n_targets++;
                    }
                }
            } else if (v->type != AG_YAML_SEQUENCE) {
                ok = false;
            }
        }
        for (size_t j = 0; a->name != NULL && j < i; j++) {
            if (s->alerts[j].name != NULL && strcmp(s->alerts[j].name, a->name) == 0) {
                ERR(c, it, "alert '%s' is already defined at line %d; names must be unique",
                    a->name, s->alerts[j].line);
                ok = false;
            }
        }
    }
    return ok && !c->oom;
}

static bool parse_otter_slo(struct pctx *c, const struct ag_yaml_node *doc)
{
    static const char *const keys[] = {"description", "service", "objective", "window",
                                       "calendar", "budgetingMethod", "timeSlice", "missingData",
                                       "warning", "sli", "alerts", NULL};
    struct slo_slo_def s;
    memset(&s, 0, sizeof(s));
    s.file = c->file;
    s.line = doc->line;
    s.col = doc->col;
    s.format = SLO_DEF_OTTER;
    s.warning.num = 5;
    s.warning.den = 10;
    s.warning.scale = 1;
    bool ok = parse_metadata(c, doc, "SLO", &s.name, &s.display_name);
    const struct ag_yaml_node *spec = need(c, doc, "spec", "SLO");
    if (!ok || spec == NULL || !want_type(c, spec, AG_YAML_MAPPING, "SLO spec") ||
        !check_slo_name(c, &s, doc)) {
        free_slo(&s);
        return false;
    }
    ok = check_keys(c, spec, "SLO spec", keys); /* then go on, to report more */
    const struct ag_yaml_node *v;
    if ((v = ag_yaml_map_get(spec, "description")) != NULL) {
        ok &= scalar(c, v, "description") != NULL;
    }
    if ((v = ag_yaml_map_get(spec, "service")) != NULL) {
        ok &= get_str(c, v, "service", &s.service);
    }
    v = need(c, spec, "objective", "SLO spec");
    ok &= v != NULL && get_decimal(c, v, "objective (percent)", true, SLO_OBJ_PERCENT, &s.objective);
    const struct ag_yaml_node *win = ag_yaml_map_get(spec, "window");
    const struct ag_yaml_node *cal = ag_yaml_map_get(spec, "calendar");
    if ((win == NULL) == (cal == NULL)) {
        ERR(c, spec, "SLO spec: expected exactly one of 'window' (rolling, \"30d\") or 'calendar' "
            "({unit: month, timeZone: UTC})");
        ok = false;
    } else if (win != NULL) {
        if (get_duration(c, win, "window", &s.window_ms)) {
            s.window_text = dup_str(c, win->str);
        } else {
            ok = false;
        }
    } else {
        static const char *const ckeys[] = {"unit", "timeZone", NULL};
        s.calendar = true;
        if (want_type(c, cal, AG_YAML_MAPPING, "calendar") &&
            check_keys(c, cal, "calendar", ckeys)) {
            const struct ag_yaml_node *u = need(c, cal, "unit", "calendar");
            if (u != NULL && get_calendar_unit(c, u, &s.calendar_unit, &s.window_ms)) {
                s.window_text = dup_str(c, u->str);
            } else {
                ok = false;
            }
            if ((v = ag_yaml_map_get(cal, "timeZone")) != NULL) {
                ok &= get_tz(c, v, &s);
            }
        } else {
            ok = false;
        }
    }
    s.budgeting = SLO_BUDGETING_OCCURRENCES;
    const struct ag_yaml_node *bm = ag_yaml_map_get(spec, "budgetingMethod");
    if (bm != NULL) {
        ok &= parse_budgeting(c, bm, &s.budgeting);
    }
    const struct ag_yaml_node *ts = ag_yaml_map_get(spec, "timeSlice");
    if (s.budgeting != SLO_BUDGETING_OCCURRENCES) {
        static const char *const tkeys[] = {"period", "target", "grace", NULL};
        if (ts == NULL) {
            ERR(c, spec, "SLO spec: budgetingMethod %s needs 'timeSlice' ({period: 5m, target: "
                "\"95\"})", bm->str);
            ok = false;
        } else if (want_type(c, ts, AG_YAML_MAPPING, "timeSlice") &&
                   check_keys(c, ts, "timeSlice", tkeys)) {
            v = need(c, ts, "period", "timeSlice");
            bool pok = v != NULL && get_duration(c, v, "timeSlice period", &s.slice_ms);
            ok &= pok;
            if (pok && s.window_ms != 0) {
                ok &= check_slice(c, v, &s);
            }
            if (s.budgeting == SLO_BUDGETING_TIMESLICES) {
                v = need(c, ts, "target", "timeSlice");
                ok &= v != NULL && get_decimal(c, v, "timeSlice target (percent)", true,
                                               SLO_OBJ_PERCENT, &s.slice_target);
            } else if ((v = ag_yaml_map_get(ts, "target")) != NULL) {
                ERR(c, v, "timeSlice target: RatioTimeslices averages the period ratios against "
                    "the objective; expected no per-period target");
                ok = false;
            }
            if ((v = ag_yaml_map_get(ts, "grace")) != NULL) {
                if (s.budgeting != SLO_BUDGETING_TIMESLICES) {
                    ERR(c, v, "timeSlice grace: only for Timeslices (RatioTimeslices periods take "
                        "late data for as long as they are in the window)");
                    ok = false;
                } else if (get_duration(c, v, "timeSlice grace", &s.slice_grace_ms)) {
                    if (pok && s.slice_grace_ms / s.slice_ms >= SLO_SLICES_MAX_PENDING - 2) {
                        ERR(c, v, "timeSlice grace %s: expected less than %u periods of %s",
                            v->str, SLO_SLICES_MAX_PENDING - 2,
                            ag_yaml_map_get(ts, "period")->str);
                        ok = false;
                    }
                } else {
                    ok = false;
                }
            }
        } else {
            ok = false;
        }
    } else if (ts != NULL) {
        ERR(c, ts, "timeSlice: only for budgetingMethod Timeslices or RatioTimeslices");
        ok = false;
    }
    s.missing = SLO_MISSING_GOOD;
    if ((v = ag_yaml_map_get(spec, "missingData")) != NULL && scalar(c, v, "missingData")) {
        if (strcmp(v->str, "good") == 0) {
            s.missing = SLO_MISSING_GOOD;
        } else if (strcmp(v->str, "bad") == 0) {
            s.missing = SLO_MISSING_BAD;
        } else if (strcmp(v->str, "ignore") == 0) {
            s.missing = SLO_MISSING_IGNORE;
        } else {
            char q[80];
            ERR(c, v, "missingData '%s': expected good, bad or ignore", show(v, q, sizeof(q)));
            ok = false;
        }
    } else if (v != NULL) {
        ok = false;
    }
    if ((v = ag_yaml_map_get(spec, "warning")) != NULL) {
        if (get_decimal(c, v, "warning", false, SLO_OBJ_FRACTION, &s.warning)) {
            if (s.warning.num >= s.warning.den) {
                char q[80];
                ERR(c, v, "warning '%s': expected the fraction of budget left below which the SLO "
                    "warns, from 0 to less than 1 (\"0.5\")", show(v, q, sizeof(q)));
                ok = false;
            }
        } else {
            ok = false;
        }
    }
    const struct ag_yaml_node *sli = need(c, spec, "sli", "SLO spec");
    struct slo_sli_def d;
    memset(&d, 0, sizeof(d));
    d.file = c->file;
    d.format = SLO_DEF_OTTER;
    bool sli_ok = sli != NULL && parse_otter_sli(c, sli, &d, s.service);
    if (sli_ok) {
        d.line = sli->line;
        d.col = sli->col;
        char name[300];
        (void)snprintf(name, sizeof(name), "%s/sli", s.name);
        d.name = dup_str(c, name);
    }
    if ((v = ag_yaml_map_get(spec, "alerts")) != NULL) {
        ok &= s.window_ms != 0 && parse_otter_alerts(c, v, &s);
    }
    if (!ok || !sli_ok || c->oom) {
        free_sli(&d);
        free_slo(&s);
        return false;
    }
    char *sli_name = dup_str(c, d.name);
    if (sli_name == NULL || !store_sli(c, &d, sli)) {
        if (sli_name == NULL) {
            free_sli(&d);
        }
        ag_free(sli_name);
        free_slo(&s);
        return false;
    }
    size_t idx = c->d->n_slos;
    if (!store_slo(c, &s)) {
        ag_free(sli_name);
        return false;
    }
    bool r = add_ref(c, &c->d->priv->sli_refs, idx, sli, sli_name);
    ag_free(sli_name);
    return r;
}

static bool parse_time_window(struct pctx *c, const struct ag_yaml_node *n, struct slo_slo_def *s)
{
    static const char *const keys[] = {"duration", "isRolling", "calendar", NULL};
    if (!want_type(c, n, AG_YAML_SEQUENCE, "timeWindow")) {
        return false;
    }
    if (n->n_items != 1) {
        ERR(c, n, "timeWindow: expected exactly one time window, got %zu", n->n_items);
        return false;
    }
    const struct ag_yaml_node *w = n->items[0];
    if (!want_type(c, w, AG_YAML_MAPPING, "timeWindow item") ||
        !check_keys(c, w, "timeWindow", keys)) {
        return false;
    }
    const struct ag_yaml_node *du = need(c, w, "duration", "timeWindow");
    if (du == NULL || scalar(c, du, "duration") == NULL) {
        return false;
    }
    bool rolling = false;
    const struct ag_yaml_node *v = ag_yaml_map_get(w, "isRolling");
    if (v != NULL && !get_bool(c, v, "isRolling", &rolling)) {
        return false;
    }
    const struct ag_yaml_node *cal = ag_yaml_map_get(w, "calendar");
    s->window_text = dup_str(c, du->str);
    if (s->window_text == NULL) {
        return false;
    }
    if (rolling) {
        if (cal != NULL) {
            ERR(c, cal, "calendar: only for a window with isRolling: false");
            return false;
        }
        return get_duration(c, du, "duration", &s->window_ms);
    }
    s->calendar = true;
    static const struct {
        const char *text;
        enum slo_calendar_unit u;
        uint64_t days;
    } units[] = {{"1d", SLO_CAL_DAY, 1},      {"1w", SLO_CAL_WEEK, 7},
                 {"1M", SLO_CAL_MONTH, 28},   {"1Q", SLO_CAL_QUARTER, 89},
                 {"1Y", SLO_CAL_YEAR, 365}};
    bool found = false;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(du->str, units[i].text) == 0) {
            s->calendar_unit = units[i].u;
            s->window_ms = units[i].days * 86400000ull;
            found = true;
        }
    }
    if (!found) {
        char q[80];
        ERR(c, du, "duration '%s': a calendar window is one period; expected 1d, 1w, 1M, 1Q or 1Y",
            show(du, q, sizeof(q)));
        return false;
    }
    if (cal == NULL) {
        return true; /* UTC */
    }
    static const char *const ckeys[] = {"startTime", "timeZone", NULL};
    if (!want_type(c, cal, AG_YAML_MAPPING, "calendar") || !check_keys(c, cal, "calendar", ckeys)) {
        return false;
    }
    bool ok = true;
    if ((v = ag_yaml_map_get(cal, "startTime")) != NULL) {
        ok &= scalar(c, v, "startTime") != NULL;
    }
    if ((v = ag_yaml_map_get(cal, "timeZone")) != NULL) {
        ok &= get_tz(c, v, s);
    }
    return ok;
}

static bool parse_openslo_objective(struct pctx *c, const struct ag_yaml_node *objs,
                                    struct slo_slo_def *s, const struct ag_yaml_node **ind,
                                    const struct ag_yaml_node **ind_ref)
{
    static const char *const keys[] = {"displayName",     "op",           "value",
                                       "target",          "targetPercent", "timeSliceTarget",
                                       "timeSliceWindow", "indicator",    "indicatorRef",
                                       "compositeWeight", NULL};
    if (!want_type(c, objs, AG_YAML_SEQUENCE, "objectives")) {
        return false;
    }
    if (objs->n_items != 1) {
        ERR(c, objs, "objectives: expected exactly one objective (write one SLO per objective), "
            "got %zu", objs->n_items);
        return false;
    }
    const struct ag_yaml_node *o = objs->items[0];
    if (!want_type(c, o, AG_YAML_MAPPING, "objective") || !check_keys(c, o, "objective", keys)) {
        return false;
    }
    bool ok = true;
    const struct ag_yaml_node *t = ag_yaml_map_get(o, "target");
    const struct ag_yaml_node *tp = ag_yaml_map_get(o, "targetPercent");
    if ((t == NULL) == (tp == NULL)) {
        ERR(c, o, "objective: expected exactly one of 'target' (a fraction, 0.999) or "
            "'targetPercent' (99.9)");
        ok = false;
    } else if (t != NULL) {
        ok &= get_decimal(c, t, "target (a fraction)", true, SLO_OBJ_FRACTION, &s->objective);
    } else {
        ok &= get_decimal(c, tp, "targetPercent", true, SLO_OBJ_PERCENT, &s->objective);
    }
    const struct ag_yaml_node *op = ag_yaml_map_get(o, "op");
    const struct ag_yaml_node *val = ag_yaml_map_get(o, "value");
    if ((op == NULL) != (val == NULL)) {
        ERR(c, o, "objective: 'op' and 'value' go together (a thresholdMetric objective)");
        ok = false;
    } else if (op != NULL && scalar(c, op, "op") != NULL) {
        if (strcmp(op->str, "lt") == 0 || strcmp(op->str, "lte") == 0 ||
            strcmp(op->str, "gt") == 0 || strcmp(op->str, "gte") == 0) {
            s->has_op = true;
            (void)snprintf(s->op, sizeof(s->op), "%s", op->str);
        } else {
            char q[80];
            ERR(c, op, "op '%s': expected lt, lte, gt or gte", show(op, q, sizeof(q)));
            ok = false;
        }
        ok &= get_decimal(c, val, "value", false, SLO_OBJ_FRACTION, &s->op_value);
    } else if (op != NULL) {
        ok = false;
    }
    const struct ag_yaml_node *tst = ag_yaml_map_get(o, "timeSliceTarget");
    const struct ag_yaml_node *tsw = ag_yaml_map_get(o, "timeSliceWindow");
    if (s->budgeting == SLO_BUDGETING_OCCURRENCES) {
        if (tst != NULL || tsw != NULL) {
            const struct ag_yaml_node *x = tst != NULL ? tst : tsw;
            ERR(c, x, "%s: only for budgetingMethod Timeslices or RatioTimeslices",
                x == tst ? "timeSliceTarget" : "timeSliceWindow");
            ok = false;
        }
    } else {
        if (tsw == NULL) {
            ERR(c, o, "objective: budgetingMethod %s needs 'timeSliceWindow'",
                s->budgeting == SLO_BUDGETING_TIMESLICES ? "Timeslices" : "RatioTimeslices");
            ok = false;
        } else if (get_duration(c, tsw, "timeSliceWindow", &s->slice_ms)) {
            if (s->window_ms != 0) {
                ok &= check_slice(c, tsw, s);
            }
        } else {
            ok = false;
        }
        if (s->budgeting == SLO_BUDGETING_TIMESLICES) {
            if (tst == NULL) {
                ERR(c, o, "objective: budgetingMethod Timeslices needs 'timeSliceTarget'");
                ok = false;
            } else {
                ok &= get_decimal(c, tst, "timeSliceTarget (a fraction)", true, SLO_OBJ_FRACTION,
                                  &s->slice_target);
            }
        }
    }
    *ind = ag_yaml_map_get(o, "indicator");
    *ind_ref = ag_yaml_map_get(o, "indicatorRef");
    return ok;
}

static bool parse_openslo_slo(struct pctx *c, const struct ag_yaml_node *doc)
{
    static const char *const keys[] = {"description",     "service",    "indicator",
                                       "indicatorRef",    "timeWindow", "budgetingMethod",
                                       "objectives",      "alertPolicies", NULL};
    struct slo_slo_def s;
    memset(&s, 0, sizeof(s));
    s.file = c->file;
    s.line = doc->line;
    s.col = doc->col;
    s.format = SLO_DEF_OPENSLO;
    s.warning.num = 5;
    s.warning.den = 10;
    s.warning.scale = 1;
    s.missing = SLO_MISSING_GOOD;
    bool ok = parse_metadata(c, doc, "SLO", &s.name, &s.display_name);
    const struct ag_yaml_node *spec = need(c, doc, "spec", "SLO");
    if (!ok || spec == NULL || !want_type(c, spec, AG_YAML_MAPPING, "SLO spec") ||
        !check_slo_name(c, &s, doc)) {
        free_slo(&s);
        return false;
    }
    ok = check_keys(c, spec, "SLO spec", keys); /* then go on, to report more */
    const struct ag_yaml_node *v;
    if ((v = ag_yaml_map_get(spec, "description")) != NULL) {
        ok &= scalar(c, v, "description") != NULL;
    }
    if ((v = ag_yaml_map_get(spec, "service")) != NULL) {
        ok &= get_str(c, v, "service", &s.service);
    }
    v = need(c, spec, "timeWindow", "SLO spec");
    ok &= v != NULL && parse_time_window(c, v, &s);
    v = need(c, spec, "budgetingMethod", "SLO spec");
    ok &= v != NULL && parse_budgeting(c, v, &s.budgeting);
    const struct ag_yaml_node *ind = NULL, *ind_ref = NULL;
    v = need(c, spec, "objectives", "SLO spec");
    ok &= v != NULL && parse_openslo_objective(c, v, &s, &ind, &ind_ref);
    const struct ag_yaml_node *sind = ag_yaml_map_get(spec, "indicator");
    const struct ag_yaml_node *sref = ag_yaml_map_get(spec, "indicatorRef");
    int n_ind = (ind != NULL) + (ind_ref != NULL) + (sind != NULL) + (sref != NULL);
    if (n_ind != 1) {
        ERR(c, spec, "SLO spec: expected exactly one SLI: 'indicator' (inline) or 'indicatorRef' "
            "(a name), in the spec or in the objective");
        ok = false;
    }
    const struct ag_yaml_node *ref_node = ind_ref != NULL ? ind_ref : sref;
    const struct ag_yaml_node *inl = ind != NULL ? ind : sind;
    char *sli_name = NULL;
    if (ok && ref_node != NULL) {
        ok = get_name(c, ref_node, "indicatorRef", &sli_name);
    } else if (ok && inl != NULL) {
        /* An inline SLI: {metadata, spec} (kind optional). */
        static const char *const ikeys[] = {"apiVersion", "kind", "metadata", "spec", NULL};
        ok = want_type(c, inl, AG_YAML_MAPPING, "indicator") &&
             check_keys(c, inl, "indicator", ikeys) && parse_sli_doc(c, inl, &sli_name);
    }
    const struct ag_yaml_node *ap = ag_yaml_map_get(spec, "alertPolicies");
    struct ref *pols = NULL;
    size_t n_pols = 0, cap_pols = 0;
    if (ap != NULL && want_type(c, ap, AG_YAML_SEQUENCE, "alertPolicies")) {
        for (size_t i = 0; i < ap->n_items && !c->oom; i++) {
            const struct ag_yaml_node *it = ap->items[i];
            char *name = NULL;
            if (it->type == AG_YAML_SCALAR) {
                ok &= get_name(c, it, "alertPolicies item", &name);
            } else if (inline_or_ref(c, it, "alertPolicyRef", "AlertPolicy", parse_policy_doc,
                                     &name)) {
                /* stored */
            } else {
                ok = false;
            }
            if (name != NULL) {
                ok &= push_ref(c, &pols, &n_pols, &cap_pols, it, name);
            }
            ag_free(name);
        }
    } else if (ap != NULL) {
        ok = false;
    }
    size_t idx = c->d->n_slos;
    if (!ok || c->oom || !store_slo(c, &s)) {
        if (!ok || c->oom) {
            free_slo(&s);
        }
        ag_free(sli_name);
        free_refs(pols, n_pols);
        return false;
    }
    ok = add_ref(c, &c->d->priv->sli_refs, idx, ref_node != NULL ? ref_node : inl, sli_name);
    for (size_t i = 0; ok && i < n_pols; i++) {
        struct ag_yaml_node at;
        memset(&at, 0, sizeof(at));
        at.line = pols[i].line;
        at.col = pols[i].col;
        ok = add_ref(c, &c->d->priv->pol_refs, idx, &at, pols[i].name);
    }
    ag_free(sli_name);
    free_refs(pols, n_pols);
    return ok;
}

/* ---- documents -------------------------------------------------------------------------------- */

static void parse_doc(struct pctx *c, const struct ag_yaml_node *doc)
{
    if (doc == NULL) {
        return; /* an empty document */
    }
    if (!want_type(c, doc, AG_YAML_MAPPING, "document")) {
        return;
    }
    const struct ag_yaml_node *av = need(c, doc, "apiVersion", "document");
    const struct ag_yaml_node *kind = need(c, doc, "kind", "document");
    if (av == NULL || kind == NULL || scalar(c, av, "apiVersion") == NULL ||
        scalar(c, kind, "kind") == NULL) {
        return;
    }
    char q[80];
    if (strcmp(av->str, "otter/v1") == 0) {
        if (strcmp(kind->str, "SLO") != 0) {
            ERR(c, kind, "kind '%s': an otter/v1 document is an SLO; use openslo/v1 for SLI, "
                "AlertPolicy, AlertCondition and AlertNotificationTarget", show(kind, q, sizeof(q)));
            return;
        }
        (void)check_keys(c, doc, "document", obj_keys);
        (void)parse_otter_slo(c, doc);
        return;
    }
    if (strcmp(av->str, "openslo/v1") != 0) {
        ERR(c, av, "apiVersion '%s': expected openslo/v1 or otter/v1", show(av, q, sizeof(q)));
        return;
    }
    (void)check_keys(c, doc, "document", obj_keys);
    const char *k = kind->str;
    if (strcmp(k, "SLO") == 0) {
        (void)parse_openslo_slo(c, doc);
    } else if (strcmp(k, "SLI") == 0) {
        (void)parse_sli_doc(c, doc, NULL);
    } else if (strcmp(k, "AlertPolicy") == 0) {
        (void)parse_policy_doc(c, doc, NULL);
    } else if (strcmp(k, "AlertCondition") == 0) {
        (void)parse_cond_doc(c, doc, NULL);
    } else if (strcmp(k, "AlertNotificationTarget") == 0) {
        (void)parse_target_doc(c, doc, NULL);
    } else if (strcmp(k, "Service") == 0 || strcmp(k, "DataSource") == 0) {
        char *name = NULL;
        (void)parse_metadata(c, doc, k, &name, NULL); /* accepted, not used */
        ag_free(name);
    } else {
        ERR(c, kind, "kind '%s': expected SLO, SLI, AlertPolicy, AlertCondition, "
            "AlertNotificationTarget, Service or DataSource", show(kind, q, sizeof(q)));
    }
}

int slo_defs_add(struct slo_defs *d, const char *file, const char *text, size_t len)
{
    struct slo_defs_priv *p = d->priv;
    if (grow((void **)&d->files, &p->cap_files, d->n_files + 1, sizeof(*d->files)) != 0) {
        return AG_ENOMEM;
    }
    struct slo_defs_file *f = &d->files[d->n_files];
    memset(f, 0, sizeof(*f));
    f->name = ag_strdup(file);
    if (f->name == NULL) {
        return AG_ENOMEM;
    }
    d->n_files++;
    struct pctx c = {d, d->n_files - 1, f->name, false};
    struct ag_yaml_node **docs = NULL;
    size_t n_docs = 0;
    int rc = ag_yaml_parse_stream(f->name, text, len, 0, &docs, &n_docs, p->diag);
    if (rc == AG_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        f->n_errors++; /* ag_yaml reported it */
        d->n_errors++;
        return 0;
    }
    if (n_docs == 0) {
        err_file(d, f->name, 1, 1, "no documents; expected OpenSLO v1 or otter/v1 YAML");
    }
    for (size_t i = 0; i < n_docs && !c.oom; i++) {
        parse_doc(&c, docs[i]);
    }
    ag_yaml_free_stream(docs, n_docs);
    return c.oom ? AG_ENOMEM : 0;
}

/* ---- references and checks -------------------------------------------------------------------- */

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Writes p/q exactly as a decimal when it terminates within 18 places, else "p/q (~x)". */
static void format_ratio(uint64_t p, uint64_t q, char *out, size_t cap)
{
    uint64_t g = gcd_u64(p, q);
    p /= g;
    q /= g;
    uint64_t r = q;
    unsigned twos = 0, fives = 0;
    while (r % 2 == 0) {
        r /= 2;
        twos++;
    }
    while (r % 5 == 0) {
        r /= 5;
        fives++;
    }
    unsigned m = twos > fives ? twos : fives;
    if (r == 1 && m <= 18) {
        uint64_t pow10 = 1;
        for (unsigned i = 0; i < m; i++) {
            pow10 *= 10;
        }
        slo_u128 num = (slo_u128)p * (pow10 / q);
        uint64_t ip = (uint64_t)(num / pow10);
        uint64_t fp = (uint64_t)(num % pow10);
        if (m == 0) {
            (void)snprintf(out, cap, "%llu", (unsigned long long)ip);
            return;
        }
        char frac[24];
        (void)snprintf(frac, sizeof(frac), "%0*llu", (int)m, (unsigned long long)fp);
        size_t fl = strlen(frac);
        while (fl > 0 && frac[fl - 1] == '0') {
            frac[--fl] = '\0';
        }
        (void)snprintf(out, cap, "%llu.%s", (unsigned long long)ip, frac);
        return;
    }
    (void)snprintf(out, cap, "%llu/%llu (about %.6g)", (unsigned long long)p,
                   (unsigned long long)q, (double)p / (double)q);
}

/* budgetDrop: the consumed fraction of the budget lies in [0, 1 / (1 - o)] (everything bad), so
 * a drop of 1 / (1 - o) or more never happens (strict >), and one of 1 (100 %) or more only
 * when the budget ends overspent. */
static void check_drop(struct slo_defs *d, const struct slo_slo_def *s,
                       const struct slo_alert_def *a)
{
    char x[48], o[48], bound[96], one_minus[48];
    uint64_t e = slo_objective_budget_num(&s->objective);
    struct slo_decimal om = {e, s->objective.den, s->objective.scale};
    if (slo_decimal_format(&a->drop, x, sizeof(x)) < 0 ||
        slo_objective_format_percent(&s->objective, o, sizeof(o)) < 0 ||
        slo_decimal_format(&om, one_minus, sizeof(one_minus)) < 0) {
        return;
    }
    if (slo_threshold_unreachable(&s->objective, &a->drop)) {
        format_ratio(s->objective.den, e, bound, sizeof(bound));
        warn_file(d, a->file, a->line, a->col,
                  "SLO '%s': alert '%s' can never fire: a budget drop > %s of the budget is out "
                  "of reach at objective %s%%, where at most 1 / %s = %s of it can be spent",
                  s->name, a->name, x, o, one_minus, bound);
    } else if (a->drop.num >= a->drop.den) {
        warn_file(d, a->file, a->line, a->col,
                  "SLO '%s': alert '%s': a budget drop > %s (100 %% or more of the budget) fires "
                  "only when the budget ends overspent",
                  s->name, a->name, x);
    }
    if (a->drop_ms > s->window_ms) {
        warn_file(d, a->file, a->line, a->col,
                  "SLO '%s': alert '%s': budgetDrop lookback %s is longer than the SLO window "
                  "%s%s: it compares budgets of windows that do not overlap",
                  s->name, a->name, a->drop_text != NULL ? a->drop_text : "?", s->window_text,
                  s->calendar ? " (its shortest period)" : "");
    }
}

static void check_alert(struct slo_defs *d, const struct slo_slo_def *s,
                        const struct slo_alert_def *a)
{
    /* The highest burn is 1 / (1 - o) = den / e (everything bad). */
    uint64_t e = slo_objective_budget_num(&s->objective);
    int cmp = slo_cmp3(a->threshold.num, e, 1, s->objective.den, a->threshold.den, 1);
    bool never = a->kind == SLO_ALERT_BURN_RATE && (a->inclusive ? cmp > 0 : cmp >= 0);
    if (never) {
        char x[48], o[48], bound[96], one_minus[48];
        struct slo_decimal om = {e, s->objective.den, s->objective.scale};
        if (slo_decimal_format(&a->threshold, x, sizeof(x)) < 0 ||
            slo_objective_format_percent(&s->objective, o, sizeof(o)) < 0 ||
            slo_decimal_format(&om, one_minus, sizeof(one_minus)) < 0) {
            return;
        }
        format_ratio(s->objective.den, e, bound, sizeof(bound));
        warn_file(d, a->file, a->line, a->col,
                  "SLO '%s': alert '%s' can never fire: burn rate %s %s is out of reach at "
                  "objective %s%%, whose highest burn rate is 1 / %s = %s",
                  s->name, a->name, a->inclusive ? ">=" : ">", x, o, one_minus, bound);
    }
    if (a->kind == SLO_ALERT_DROP) {
        check_drop(d, s, a);
        return;
    }
    uint64_t lw = a->long_ms > a->short_ms ? a->long_ms : a->short_ms;
    if (lw > s->window_ms) {
        warn_file(d, a->file, a->line, a->col,
                  "SLO '%s': alert '%s': window %s is longer than the SLO window %s%s", s->name,
                  a->name,
                  a->long_text != NULL ? a->long_text : "?", s->window_text,
                  s->calendar ? " (its shortest period)" : "");
    }
}

static bool attach_policy(struct slo_defs *d, struct slo_slo_def *s, const struct policy_def *pol)
{
    struct slo_defs_priv *p = d->priv;
    for (size_t i = 0; i < pol->n_conds; i++) {
        const struct cond_def *cd = NULL;
        for (size_t j = 0; j < p->n_conds; j++) {
            if (strcmp(p->conds[j].name, pol->conds[i].name) == 0) {
                cd = &p->conds[j];
            }
        }
        if (cd == NULL) {
            err_file(d, pol->conds[i].file, pol->conds[i].line, pol->conds[i].col,
                     "AlertCondition '%s' is not defined; expected the name of an AlertCondition "
                     "document", pol->conds[i].name);
            continue;
        }
        struct slo_alert_def *na = ag_realloc(s->alerts, (s->n_alerts + 1) * sizeof(*na));
        if (na == NULL) {
            return false;
        }
        s->alerts = na;
        struct slo_alert_def *a = &na[s->n_alerts++];
        memset(a, 0, sizeof(*a));
        char name[600];
        (void)snprintf(name, sizeof(name), "%s/%s", pol->name, cd->name);
        a->name = ag_strdup(name);
        a->severity = ag_strdup(cd->severity);
        a->long_text = ag_strdup(cd->lookback_text);
        a->file = cd->file;
        a->line = cd->line;
        a->col = cd->col;
        a->threshold = cd->threshold;
        a->inclusive = cd->inclusive;
        a->long_ms = cd->lookback_ms;
        if (a->name == NULL || a->severity == NULL || a->long_text == NULL) {
            return false;
        }
        if (pol->n_targets > 0) {
            a->targets = ag_calloc(pol->n_targets, sizeof(*a->targets));
            if (a->targets == NULL) {
                return false;
            }
            for (size_t t = 0; t < pol->n_targets; t++) {
                a->targets[t] = ag_strdup(pol->targets[t].name);
                if (a->targets[t] == NULL) {
                    return false;
                }
                a->n_targets++;
            }
        }
    }
    return true;
}

int slo_defs_finish(struct slo_defs *d)
{
    struct slo_defs_priv *p = d->priv;
    if (p->finished) {
        return AG_EINVAL;
    }
    p->finished = true;
    for (size_t i = 0; i < p->sli_refs.n; i++) {
        const struct slo_ref *r = &p->sli_refs.v[i];
        bool found = false;
        for (size_t j = 0; j < d->n_slis; j++) {
            if (strcmp(d->slis[j].name, r->r.name) == 0) {
                d->slos[r->slo].sli = j;
                found = true;
            }
        }
        if (!found) {
            err_file(d, r->r.file, r->r.line, r->r.col,
                     "SLI '%s' is not defined; expected the name of an SLI document", r->r.name);
        }
    }
    for (size_t i = 0; i < p->n_policies; i++) {
        const struct policy_def *pol = &p->policies[i];
        for (size_t t = 0; t < pol->n_targets; t++) {
            bool found = false;
            for (size_t j = 0; j < d->n_targets; j++) {
                found |= strcmp(d->targets[j].name, pol->targets[t].name) == 0;
            }
            if (!found) {
                err_file(d, pol->targets[t].file, pol->targets[t].line, pol->targets[t].col,
                         "AlertNotificationTarget '%s' is not defined; expected the name of an "
                         "AlertNotificationTarget document", pol->targets[t].name);
            }
        }
    }
    for (size_t i = 0; i < p->pol_refs.n; i++) {
        const struct slo_ref *r = &p->pol_refs.v[i];
        const struct policy_def *pol = NULL;
        for (size_t j = 0; j < p->n_policies; j++) {
            if (strcmp(p->policies[j].name, r->r.name) == 0) {
                pol = &p->policies[j];
            }
        }
        if (pol == NULL) {
            err_file(d, r->r.file, r->r.line, r->r.col,
                     "AlertPolicy '%s' is not defined; expected the name of an AlertPolicy "
                     "document", r->r.name);
            continue;
        }
        if (!attach_policy(d, &d->slos[r->slo], pol)) {
            return AG_ENOMEM;
        }
    }
    for (size_t i = 0; i < d->n_slos; i++) {
        /* An SLO without a service takes its span SLI's: one rule for every output (the EMF SLO
         * metrics' Service dimension, the dashboard and alarms reading them, reports). */
        struct slo_slo_def *s = &d->slos[i];
        const struct slo_sli_def *sli = s->sli < d->n_slis ? &d->slis[s->sli] : NULL;
        if ((s->service == NULL || s->service[0] == '\0') && sli != NULL &&
            sli->source == SLO_SRC_SPANS && sli->service != NULL && sli->service[0] != '\0') {
            char *svc = ag_strdup(sli->service);
            if (svc == NULL) {
                return AG_ENOMEM;
            }
            ag_free(s->service);
            s->service = svc;
        }
    }
    for (size_t i = 0; i < d->n_slos; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        for (size_t j = 0; j < s->n_alerts; j++) {
            const struct slo_alert_def *a = &s->alerts[j];
            for (size_t t = 0; s->format == SLO_DEF_OTTER && t < a->n_targets; t++) {
                bool found = false;
                for (size_t k = 0; k < d->n_targets; k++) {
                    found |= strcmp(d->targets[k].name, a->targets[t]) == 0;
                }
                if (!found) {
                    err_file(d, a->file, a->line, a->col,
                             "alert '%s': notification target '%s' is not defined; expected the "
                             "name of an AlertNotificationTarget document", a->name,
                             a->targets[t]);
                }
            }
            check_alert(d, s, a);
        }
    }
    return d->n_errors > 0 ? AG_EINVAL : 0;
}
