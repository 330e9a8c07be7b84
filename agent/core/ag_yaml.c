/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML text to a small node tree, for otterd's collector-style config (and later the SLO
 * definitions). libyaml does the scanning; this file builds the tree from its events, keeps every
 * node's position, resolves aliases and merge keys, rejects duplicate keys and applies the
 * collector's ${env:VAR} substitution, all within fixed limits on size, depth and node count.
 */
#include "ag_yaml.h"
#include "ag_mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

struct yp_anchor {
    char *name;
    const struct ag_yaml_node *node; /* borrowed from the tree or the graveyard */
};

struct yp {
    yaml_parser_t parser;
    const char *name;
    const char *text;
    size_t len;
    struct ag_buf *diag;
    int diag_failed;
    unsigned flags;
    size_t n_nodes;
    struct yp_anchor *anchors;
    size_t n_anchors;
    size_t cap_anchors;
    /*
     * Merge-key values are copied into their mapping, not moved, because an anchor may point
     * into them; the originals wait here until the parse ends.
     */
    struct ag_yaml_node **grave;
    size_t n_grave;
    size_t cap_grave;
    /* Where the alias or merge key being copied is written: copies report limits there. */
    int copy_line;
    int copy_col;
};

static int parse_node(struct yp *p, const yaml_event_t *ev, unsigned depth, int is_key,
                      struct ag_yaml_node **out);

__attribute__((format(printf, 5, 6))) static void yp_diag(struct yp *p, int line, int col,
                                                           const char *kind, const char *fmt, ...)
{
    if (p->diag == NULL || p->diag_failed) {
        return;
    }
    va_list ap;
    int rc = ag_buf_printf(p->diag, "%s:%d:%d: %s: ", p->name, line, col, kind);
    if (rc == 0) {
        va_start(ap, fmt);
        rc = ag_buf_vprintf(p->diag, fmt, ap);
        va_end(ap);
    }
    if (rc == 0) {
        rc = ag_buf_addc(p->diag, '\n');
    }
    if (rc != 0) {
        /* The buffer freed itself; stop writing rather than leave a torn half. */
        p->diag_failed = 1;
    }
}

static int mark_line(const yaml_mark_t *m)
{
    return m->line >= (size_t)INT32_MAX ? INT32_MAX : (int)m->line + 1;
}

static int mark_col(const yaml_mark_t *m)
{
    return m->column >= (size_t)INT32_MAX ? INT32_MAX : (int)m->column + 1;
}

void ag_yaml_quote(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen < 8) {
        if (outlen > 0) {
            out[0] = '\0';
        }
        return;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[4];
        size_t n = 0;
        if (c < 0x20 || c == 0x7f) {
            tmp[n++] = '\\';
            tmp[n++] = 'x';
            tmp[n++] = hex[c >> 4];
            tmp[n++] = hex[c & 0xf];
        } else if (c == '\'' || c == '\\') {
            tmp[n++] = '\\';
            tmp[n++] = (char)c;
        } else {
            tmp[n++] = (char)c;
        }
        /* Keep room for "..." and the NUL in case a later byte does not fit. */
        if (o + n + 4 > outlen) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
}

/* ---- ${} expansion ------------------------------------------------------------------------- */

static int env_name_ok(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            return 0;
        }
    }
    return 1;
}

static int scheme_ok(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '.' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

static void put_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Quotes |n| bytes of |s| (cut at 40) for a message. */
static void quote_n(const char *s, size_t n, char *out, size_t outlen)
{
    char tmp[41];
    size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
    memcpy(tmp, s, k);
    tmp[k] = '\0';
    ag_yaml_quote(tmp, out, outlen);
}

int ag_yaml_expand_env(const char *in, size_t len, struct ag_buf *out, char *unset,
                       size_t unsetlen, char *err, size_t errlen)
{
    size_t i = 0;
    int have_unset = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && in[i] != '$') {
            i++;
        }
        if (i > start) {
            int rc = ag_buf_add(out, in + start, i - start);
            if (rc != 0) {
                return rc;
            }
        }
        if (i >= len) {
            break;
        }
        /* in[i] == '$' */
        if (i + 1 < len && in[i + 1] == '$') {
            int rc = ag_buf_addc(out, '$');
            if (rc != 0) {
                return rc;
            }
            i += 2;
            continue;
        }
        if (i + 1 >= len || in[i + 1] != '{') {
            /* A lone "$" (or "$VAR", which current collectors leave alone) is literal. */
            int rc = ag_buf_addc(out, '$');
            if (rc != 0) {
                return rc;
            }
            i++;
            continue;
        }
        const char *body = in + i + 2;
        const char *close = memchr(body, '}', len - (i + 2));
        if (close == NULL) {
            put_err(err, errlen, "unterminated '${' (missing '}')");
            ag_buf_cleanup(out);
            return AG_EINVAL;
        }
        size_t blen = (size_t)(close - body);
        const char *name = body;
        size_t nlen = blen;
        const char *def = NULL;
        size_t dlen = 0;
        const char *colon = memchr(body, ':', blen);
        if (colon != NULL && !(colon + 1 < close && colon[1] == '-')) {
            /* "${scheme:rest}": only the env provider exists in otterd. */
            size_t slen = (size_t)(colon - body);
            char q[64];
            quote_n(body, slen, q, sizeof(q));
            if (!scheme_ok(body, slen)) {
                put_err(err, errlen, "invalid '${...}' reference: '%s' is not a provider name", q);
                ag_buf_cleanup(out);
                return AG_EINVAL;
            }
            if (slen != 3 || memcmp(body, "env", 3) != 0) {
                put_err(err, errlen,
                        "config provider '%s' is not supported by otterd (only ${env:VAR})", q);
                ag_buf_cleanup(out);
                return AG_EINVAL;
            }
            name = colon + 1;
            nlen = (size_t)(close - name);
            colon = memchr(name, ':', nlen);
            if (colon != NULL) {
                if (!(colon + 1 < close && colon[1] == '-')) {
                    put_err(err, errlen, "invalid '${env:...}' reference: expected ${env:VAR} "
                                         "or ${env:VAR:-default}");
                    ag_buf_cleanup(out);
                    return AG_EINVAL;
                }
            }
        }
        if (colon != NULL) {
            /* "NAME:-default" */
            def = colon + 2;
            dlen = (size_t)(close - def);
            nlen = (size_t)(colon - name);
        }
        if (!env_name_ok(name, nlen)) {
            if (nlen == 0) {
                put_err(err, errlen, "empty environment variable name in '${}'");
            } else {
                char q[64];
                quote_n(name, nlen, q, sizeof(q));
                put_err(err, errlen,
                        "invalid environment variable name '%s' (expected letters, digits "
                        "and '_', not starting with a digit)",
                        q);
            }
            ag_buf_cleanup(out);
            return AG_EINVAL;
        }
        char vname[256];
        if (nlen >= sizeof(vname)) {
            put_err(err, errlen, "environment variable name longer than %zu bytes",
                    sizeof(vname) - 1);
            ag_buf_cleanup(out);
            return AG_EINVAL;
        }
        memcpy(vname, name, nlen);
        vname[nlen] = '\0';
        const char *val = getenv(vname);
        int rc = 0;
        if (val != NULL) {
            rc = ag_buf_adds(out, val);
        } else if (def != NULL) {
            rc = ag_buf_add(out, def, dlen);
        } else if (!have_unset) {
            have_unset = 1;
            if (unset != NULL && unsetlen > 0) {
                snprintf(unset, unsetlen, "%s", vname);
            }
        }
        if (rc != 0) {
            return rc;
        }
        i = (size_t)(close - in) + 1;
    }
    /* Make sure an empty result still has storage, so callers can always read the text. */
    return ag_buf_add(out, "", 0);
}

/* ---- tree helpers ---------------------------------------------------------------------------- */

void ag_yaml_free(struct ag_yaml_node *node)
{
    if (node == NULL) {
        return;
    }
    ag_free(node->str);
    ag_free(node->raw);
    for (size_t i = 0; i < node->n_pairs; i++) {
        ag_yaml_free(node->pairs[i].key);
        ag_yaml_free(node->pairs[i].value);
    }
    ag_free(node->pairs);
    for (size_t i = 0; i < node->n_items; i++) {
        ag_yaml_free(node->items[i]);
    }
    ag_free(node->items);
    ag_free(node);
}

const struct ag_yaml_pair *ag_yaml_map_pair(const struct ag_yaml_node *map, const char *key)
{
    if (map == NULL || map->type != AG_YAML_MAPPING) {
        return NULL;
    }
    for (size_t i = 0; i < map->n_pairs; i++) {
        if (strcmp(map->pairs[i].key->str, key) == 0) {
            return &map->pairs[i];
        }
    }
    return NULL;
}

const struct ag_yaml_node *ag_yaml_map_get(const struct ag_yaml_node *map, const char *key)
{
    const struct ag_yaml_pair *pair = ag_yaml_map_pair(map, key);
    return pair != NULL ? pair->value : NULL;
}

int ag_yaml_is_null(const struct ag_yaml_node *node)
{
    if (node == NULL) {
        return 1;
    }
    if (node->type != AG_YAML_SCALAR || node->quoted) {
        return 0;
    }
    return node->len == 0 || strcmp(node->str, "~") == 0 || strcmp(node->str, "null") == 0 ||
           strcmp(node->str, "Null") == 0 || strcmp(node->str, "NULL") == 0;
}

const char *ag_yaml_type_name(const struct ag_yaml_node *node)
{
    if (node == NULL) {
        return "nothing";
    }
    switch (node->type) {
    case AG_YAML_MAPPING:
        return "a mapping";
    case AG_YAML_SEQUENCE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

static int node_new(struct yp *p, enum ag_yaml_type type, int line, int col,
                    struct ag_yaml_node **out)
{
    *out = NULL;
    if (p->n_nodes >= AG_YAML_MAX_NODES) {
        yp_diag(p, line, col, "error", "more than %u YAML nodes (after expanding aliases)",
                AG_YAML_MAX_NODES);
        return AG_ETOOBIG;
    }
    struct ag_yaml_node *n = ag_calloc(1, sizeof(*n));
    if (n == NULL) {
        return AG_ENOMEM;
    }
    p->n_nodes++;
    n->type = type;
    n->line = line;
    n->col = col;
    *out = n;
    return 0;
}

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

static int copy_node(struct yp *p, const struct ag_yaml_node *src, unsigned depth,
                     struct ag_yaml_node **out)
{
    struct ag_yaml_node *n = NULL;
    *out = NULL;
    if (depth > AG_YAML_MAX_DEPTH) {
        yp_diag(p, p->copy_line, p->copy_col, "error", "nesting deeper than %u levels",
                AG_YAML_MAX_DEPTH);
        return AG_ETOOBIG;
    }
    if (p->n_nodes >= AG_YAML_MAX_NODES) {
        yp_diag(p, p->copy_line, p->copy_col, "error",
                "more than %u YAML nodes (after expanding aliases)", AG_YAML_MAX_NODES);
        return AG_ETOOBIG;
    }
    int rc = node_new(p, src->type, src->line, src->col, &n);
    if (rc != 0) {
        return rc;
    }
    n->quoted = src->quoted;
    n->len = src->len;
    if (src->str != NULL && (n->str = ag_strndup(src->str, src->len)) == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    if (src->raw != NULL && (n->raw = ag_strdup(src->raw)) == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    if (src->n_pairs > 0) {
        n->pairs = ag_calloc(src->n_pairs, sizeof(*n->pairs));
        if (n->pairs == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < src->n_pairs; i++) {
            rc = copy_node(p, src->pairs[i].key, depth + 1, &n->pairs[i].key);
            if (rc == 0) {
                rc = copy_node(p, src->pairs[i].value, depth + 1, &n->pairs[i].value);
            }
            n->n_pairs = i + 1;
            if (rc != 0) {
                goto out;
            }
        }
    }
    if (src->n_items > 0) {
        n->items = ag_calloc(src->n_items, sizeof(*n->items));
        if (n->items == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < src->n_items; i++) {
            rc = copy_node(p, src->items[i], depth + 1, &n->items[i]);
            n->n_items = i + 1;
            if (rc != 0) {
                goto out;
            }
        }
    }
out:
    if (rc != 0) {
        ag_yaml_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int next_event(struct yp *p, yaml_event_t *ev)
{
    if (yaml_parser_parse(&p->parser, ev)) {
        return 0;
    }
    const yaml_parser_t *y = &p->parser;
    if (y->error == YAML_MEMORY_ERROR) {
        return AG_ENOMEM;
    }
    int line, col;
    if (y->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = y->problem_offset < p->len ? y->problem_offset : p->len;
        line = 1;
        col = 1;
        for (size_t i = 0; i < off; i++) {
            if (p->text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    } else {
        line = mark_line(&y->problem_mark);
        col = mark_col(&y->problem_mark);
    }
    const char *problem = y->problem != NULL ? y->problem : "invalid YAML";
    if (y->context != NULL) {
        yp_diag(p, line, col, "error", "invalid YAML: %s (%s at line %d column %d)", problem,
                y->context, mark_line(&y->context_mark), mark_col(&y->context_mark));
    } else {
        yp_diag(p, line, col, "error", "invalid YAML: %s", problem);
    }
    return AG_EINVAL;
}

static int add_anchor(struct yp *p, const yaml_char_t *anchor, const struct ag_yaml_node *node)
{
    if (anchor == NULL) {
        return 0;
    }
    void *arr = p->anchors;
    if (grow(&arr, &p->cap_anchors, p->n_anchors + 1, sizeof(*p->anchors)) != 0) {
        return AG_ENOMEM;
    }
    p->anchors = arr;
    char *name = ag_strdup((const char *)anchor);
    if (name == NULL) {
        return AG_ENOMEM;
    }
    p->anchors[p->n_anchors].name = name;
    p->anchors[p->n_anchors].node = node;
    p->n_anchors++;
    return 0;
}

static const struct ag_yaml_node *find_anchor(const struct yp *p, const char *name)
{
    /* The latest definition wins: YAML allows an anchor to be redefined. */
    for (size_t i = p->n_anchors; i > 0; i--) {
        if (strcmp(p->anchors[i - 1].name, name) == 0) {
            return p->anchors[i - 1].node;
        }
    }
    return NULL;
}

static int to_grave(struct yp *p, struct ag_yaml_node *node)
{
    void *arr = p->grave;
    if (grow(&arr, &p->cap_grave, p->n_grave + 1, sizeof(*p->grave)) != 0) {
        ag_yaml_free(node);
        return AG_ENOMEM;
    }
    p->grave = arr;
    p->grave[p->n_grave++] = node;
    return 0;
}

/*
 * Checks a node's tag: NULL (none), "!" and the core-schema tags are fine. Sets |*as_str| for
 * !!str and "!", which make a scalar a string even when it looks like a number.
 */
static int check_tag(struct yp *p, const yaml_char_t *tag, enum ag_yaml_type type, int line,
                     int col, int *as_str)
{
    *as_str = 0;
    if (tag == NULL) {
        return 0;
    }
    const char *t = (const char *)tag;
    if (strcmp(t, "!") == 0) {
        *as_str = type == AG_YAML_SCALAR;
        return 0;
    }
    size_t plen = strlen(TAG_PREFIX);
    if (strncmp(t, TAG_PREFIX, plen) == 0) {
        const char *s = t + plen;
        if (type == AG_YAML_SCALAR) {
            if (strcmp(s, "str") == 0) {
                *as_str = 1;
                return 0;
            }
            if (strcmp(s, "int") == 0 || strcmp(s, "float") == 0 || strcmp(s, "bool") == 0 ||
                strcmp(s, "null") == 0) {
                return 0;
            }
        } else if ((type == AG_YAML_MAPPING && strcmp(s, "map") == 0) ||
                   (type == AG_YAML_SEQUENCE && strcmp(s, "seq") == 0)) {
            return 0;
        }
    }
    char q[80];
    ag_yaml_quote(t, q, sizeof(q));
    yp_diag(p, line, col, "error", "unsupported YAML tag '%s'", q);
    return AG_EINVAL;
}

static int parse_scalar(struct yp *p, const yaml_event_t *ev, int is_key,
                        struct ag_yaml_node **out)
{
    int line = mark_line(&ev->start_mark), col = mark_col(&ev->start_mark);
    int as_str = 0;
    struct ag_yaml_node *n = NULL;
    struct ag_buf exp;
    ag_buf_init(&exp, AG_YAML_MAX_EXPANDED);
    int rc = check_tag(p, ev->data.scalar.tag, AG_YAML_SCALAR, line, col, &as_str);
    if (rc != 0) {
        goto out;
    }
    const char *value = (const char *)ev->data.scalar.value;
    size_t vlen = ev->data.scalar.length;
    if (memchr(value, '\0', vlen) != NULL) {
        yp_diag(p, line, col, "error", "NUL characters are not supported in values");
        rc = AG_EINVAL;
        goto out;
    }
    rc = node_new(p, AG_YAML_SCALAR, line, col, &n);
    if (rc != 0) {
        goto out;
    }
    n->quoted = as_str || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (!is_key && (p->flags & AG_YAML_EXPAND_ENV) && memchr(value, '$', vlen) != NULL) {
        char unset[128] = "";
        char err[160] = "";
        rc = ag_yaml_expand_env(value, vlen, &exp, unset, sizeof(unset), err, sizeof(err));
        if (rc == AG_ETOOBIG) {
            yp_diag(p, line, col, "error", "value longer than %u bytes after ${} expansion",
                    AG_YAML_MAX_EXPANDED);
            goto out;
        }
        if (rc == AG_EINVAL) {
            yp_diag(p, line, col, "error", "%s", err);
            goto out;
        }
        if (rc != 0) {
            goto out;
        }
        if (unset[0] != '\0') {
            yp_diag(p, line, col, "warning", "environment variable '%s' is not set; using \"\"",
                    unset);
        }
        /* NUL cannot come from the environment, so the expanded text is a C string. */
        n->len = exp.len;
        n->str = (char *)ag_buf_steal(&exp, NULL);
        if (n->str == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        if (n->len != vlen || memcmp(n->str, value, vlen) != 0) {
            n->raw = ag_strndup(value, vlen);
            if (n->raw == NULL) {
                rc = AG_ENOMEM;
                goto out;
            }
        }
    } else {
        n->len = vlen;
        n->str = ag_strndup(value, vlen);
        if (n->str == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
    }
    rc = add_anchor(p, ev->data.scalar.anchor, n);
out:
    ag_buf_cleanup(&exp);
    if (rc != 0) {
        ag_yaml_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int parse_sequence(struct yp *p, const yaml_event_t *ev, unsigned depth,
                          struct ag_yaml_node **out)
{
    int line = mark_line(&ev->start_mark), col = mark_col(&ev->start_mark);
    int as_str = 0;
    struct ag_yaml_node *n = NULL;
    size_t cap = 0;
    int rc = check_tag(p, ev->data.sequence_start.tag, AG_YAML_SEQUENCE, line, col, &as_str);
    if (rc == 0) {
        rc = node_new(p, AG_YAML_SEQUENCE, line, col, &n);
    }
    while (rc == 0) {
        yaml_event_t cev;
        struct ag_yaml_node *child = NULL;
        rc = next_event(p, &cev);
        if (rc != 0) {
            break;
        }
        if (cev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&cev);
            break;
        }
        rc = parse_node(p, &cev, depth + 1, 0, &child);
        yaml_event_delete(&cev);
        if (rc != 0) {
            break;
        }
        void *arr = n->items;
        if (grow(&arr, &cap, n->n_items + 1, sizeof(*n->items)) != 0) {
            ag_yaml_free(child);
            rc = AG_ENOMEM;
            break;
        }
        n->items = arr;
        n->items[n->n_items++] = child;
    }
    if (rc == 0) {
        rc = add_anchor(p, ev->data.sequence_start.anchor, n);
    }
    if (rc != 0) {
        ag_yaml_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/*
 * An open-addressing set of the keys of one mapping (slot = pair index + 1), so duplicate and
 * merge checks stay linear even for a mapping with thousands of keys.
 */
struct keyset {
    size_t *slots;
    size_t mask;
};

static int keyset_init(struct keyset *ks, size_t n)
{
    size_t size = 8;
    while (size < n * 2) {
        size *= 2;
    }
    ks->slots = ag_calloc(size, sizeof(*ks->slots));
    ks->mask = size - 1;
    return ks->slots != NULL ? 0 : AG_ENOMEM;
}

/* Returns the index of the pair already holding |key|, or inserts |idx| and returns SIZE_MAX. */
static size_t keyset_add(struct keyset *ks, const struct ag_yaml_pair *pairs, const char *key,
                         size_t idx)
{
    size_t i = (size_t)key_hash(key) & ks->mask;
    while (ks->slots[i] != 0) {
        size_t other = ks->slots[i] - 1;
        if (strcmp(pairs[other].key->str, key) == 0) {
            return other;
        }
        i = (i + 1) & ks->mask;
    }
    ks->slots[i] = idx + 1;
    return SIZE_MAX;
}

static int is_merge_key(const struct ag_yaml_node *key)
{
    return key->type == AG_YAML_SCALAR && !key->quoted && strcmp(key->str, "<<") == 0;
}

/* Applies the merge values |merges| to mapping |n|, whose explicit keys are in |ks|. */
static int apply_merges(struct yp *p, struct ag_yaml_node *n, size_t *cap, struct keyset *ks,
                        struct ag_yaml_node **merges, size_t n_merges, unsigned depth)
{
    for (size_t m = 0; m < n_merges; m++) {
        const struct ag_yaml_node *mv = merges[m];
        p->copy_line = mv->line;
        p->copy_col = mv->col;
        size_t n_src = mv->type == AG_YAML_SEQUENCE ? mv->n_items : 1;
        for (size_t s = 0; s < n_src; s++) {
            const struct ag_yaml_node *src = mv->type == AG_YAML_SEQUENCE ? mv->items[s] : mv;
            if (src->type != AG_YAML_MAPPING) {
                yp_diag(p, src->line, src->col, "error",
                        "the merge key '<<' needs a mapping or a sequence of mappings, got %s",
                        ag_yaml_type_name(src));
                return AG_EINVAL;
            }
            for (size_t i = 0; i < src->n_pairs; i++) {
                const struct ag_yaml_pair *sp = &src->pairs[i];
                void *arr = n->pairs;
                if (grow(&arr, cap, n->n_pairs + 1, sizeof(*n->pairs)) != 0) {
                    return AG_ENOMEM;
                }
                n->pairs = arr;
                if (keyset_add(ks, n->pairs, sp->key->str, n->n_pairs) != SIZE_MAX) {
                    continue; /* written explicitly, or by an earlier merge source */
                }
                struct ag_yaml_pair *dp = &n->pairs[n->n_pairs];
                dp->key = NULL;
                dp->value = NULL;
                n->n_pairs++;
                int rc = copy_node(p, sp->key, depth + 1, &dp->key);
                if (rc == 0) {
                    rc = copy_node(p, sp->value, depth + 1, &dp->value);
                }
                if (rc != 0) {
                    /* Leave no half pair behind: the caller frees |n|. */
                    ag_yaml_free(dp->key);
                    ag_yaml_free(dp->value);
                    n->n_pairs--;
                    return rc;
                }
            }
        }
    }
    return 0;
}

static int parse_mapping(struct yp *p, const yaml_event_t *ev, unsigned depth,
                         struct ag_yaml_node **out)
{
    int line = mark_line(&ev->start_mark), col = mark_col(&ev->start_mark);
    int as_str = 0;
    struct ag_yaml_node *n = NULL;
    struct ag_yaml_node **merges = NULL;
    size_t n_merges = 0, cap_merges = 0, cap = 0;
    struct keyset ks = {NULL, 0};
    int rc = check_tag(p, ev->data.mapping_start.tag, AG_YAML_MAPPING, line, col, &as_str);
    if (rc == 0) {
        rc = node_new(p, AG_YAML_MAPPING, line, col, &n);
    }
    while (rc == 0) {
        yaml_event_t kev, vev;
        struct ag_yaml_node *key = NULL, *val = NULL;
        rc = next_event(p, &kev);
        if (rc != 0) {
            break;
        }
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        rc = parse_node(p, &kev, depth + 1, 1, &key);
        yaml_event_delete(&kev);
        if (rc != 0) {
            break;
        }
        if (key->type != AG_YAML_SCALAR) {
            yp_diag(p, key->line, key->col, "error", "mapping keys must be scalars, not %s",
                    ag_yaml_type_name(key));
            ag_yaml_free(key);
            rc = AG_EINVAL;
            break;
        }
        rc = next_event(p, &vev);
        if (rc != 0) {
            ag_yaml_free(key);
            break;
        }
        rc = parse_node(p, &vev, depth + 1, 0, &val);
        yaml_event_delete(&vev);
        if (rc != 0) {
            ag_yaml_free(key);
            break;
        }
        if (is_merge_key(key)) {
            ag_yaml_free(key);
            void *arr = merges;
            if (grow(&arr, &cap_merges, n_merges + 1, sizeof(*merges)) != 0) {
                ag_yaml_free(val);
                rc = AG_ENOMEM;
                break;
            }
            merges = arr;
            merges[n_merges++] = val;
            continue;
        }
        void *arr = n->pairs;
        if (grow(&arr, &cap, n->n_pairs + 1, sizeof(*n->pairs)) != 0) {
            ag_yaml_free(key);
            ag_yaml_free(val);
            rc = AG_ENOMEM;
            break;
        }
        n->pairs = arr;
        n->pairs[n->n_pairs].key = key;
        n->pairs[n->n_pairs].value = val;
        n->n_pairs++;
    }
    if (rc == 0) {
        size_t total = n->n_pairs;
        for (size_t m = 0; m < n_merges; m++) {
            if (merges[m]->type == AG_YAML_SEQUENCE) {
                for (size_t s = 0; s < merges[m]->n_items; s++) {
                    total += merges[m]->items[s]->n_pairs;
                }
            } else {
                total += merges[m]->n_pairs;
            }
        }
        rc = keyset_init(&ks, total);
    }
    for (size_t i = 0; rc == 0 && i < n->n_pairs; i++) {
        size_t first = keyset_add(&ks, n->pairs, n->pairs[i].key->str, i);
        if (first != SIZE_MAX) {
            const struct ag_yaml_node *k = n->pairs[i].key;
            const struct ag_yaml_node *f = n->pairs[first].key;
            char q[80];
            ag_yaml_quote(k->str, q, sizeof(q));
            yp_diag(p, k->line, k->col, "error", "duplicate key '%s' (first defined at %d:%d)", q,
                    f->line, f->col);
            rc = AG_EINVAL;
        }
    }
    if (rc == 0 && n_merges > 0) {
        rc = apply_merges(p, n, &cap, &ks, merges, n_merges, depth);
    }
    for (size_t m = 0; m < n_merges; m++) {
        if (rc == 0) {
            rc = to_grave(p, merges[m]);
        } else {
            /* Only an anchor could still point at it, and nothing reads anchors after an error. */
            ag_yaml_free(merges[m]);
        }
    }
    ag_free(merges);
    ag_free(ks.slots);
    if (rc == 0) {
        rc = add_anchor(p, ev->data.mapping_start.anchor, n);
    }
    if (rc != 0) {
        ag_yaml_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int parse_node(struct yp *p, const yaml_event_t *ev, unsigned depth, int is_key,
                      struct ag_yaml_node **out)
{
    int line = mark_line(&ev->start_mark), col = mark_col(&ev->start_mark);
    *out = NULL;
    if (depth > AG_YAML_MAX_DEPTH) {
        yp_diag(p, line, col, "error", "nesting deeper than %u levels", AG_YAML_MAX_DEPTH);
        return AG_ETOOBIG;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(p, ev, is_key, out);
    case YAML_SEQUENCE_START_EVENT:
        return parse_sequence(p, ev, depth, out);
    case YAML_MAPPING_START_EVENT:
        return parse_mapping(p, ev, depth, out);
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        const struct ag_yaml_node *target = find_anchor(p, name);
        if (target == NULL) {
            char q[80];
            ag_yaml_quote(name, q, sizeof(q));
            yp_diag(p, line, col, "error", "unknown anchor '%s' in alias", q);
            return AG_EINVAL;
        }
        struct ag_yaml_node *copy = NULL;
        p->copy_line = line;
        p->copy_col = col;
        int rc = copy_node(p, target, depth, &copy);
        if (rc != 0) {
            return rc;
        }
        /* The copy is where the alias is written, so messages point at the use. */
        copy->line = line;
        copy->col = col;
        *out = copy;
        return 0;
    }
    default:
        yp_diag(p, line, col, "error", "unexpected YAML structure");
        return AG_EINVAL;
    }
}

/* Parses one stream: a single document (|multi| 0) into |*roots| with |*n_roots| 0 or 1, or every
 * document of the stream (|multi| 1). On failure nothing is returned. */
static int parse_stream(const char *name, const char *text, size_t len, unsigned flags, int multi,
                        struct ag_yaml_node ***roots, size_t *n_roots, struct ag_buf *diag)
{
    struct yp p;
    struct ag_yaml_node **docs = NULL;
    size_t n_docs = 0;
    size_t cap_docs = 0;
    yaml_event_t ev;
    int have_ev = 0;
    int rc = 0;

    *roots = NULL;
    *n_roots = 0;
    memset(&p, 0, sizeof(p));
    p.name = name != NULL ? name : "<yaml>";
    p.text = text;
    p.len = len;
    p.diag = diag;
    p.flags = flags;
    if (len > AG_YAML_MAX_INPUT) {
        yp_diag(&p, 1, 1, "error", "config larger than %u bytes", AG_YAML_MAX_INPUT);
        return AG_ETOOBIG;
    }
    if (!yaml_parser_initialize(&p.parser)) {
        return AG_ENOMEM;
    }
    yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);

    /* STREAM-START, then DOCUMENT-START or STREAM-END (an empty stream). */
    rc = next_event(&p, &ev);
    if (rc != 0) {
        goto out;
    }
    yaml_event_delete(&ev);
    rc = next_event(&p, &ev);
    if (rc != 0) {
        goto out;
    }
    have_ev = 1;
    while (ev.type != YAML_STREAM_END_EVENT) {
        if (n_docs > 0 && !multi) {
            /* A second document is refused, not ignored. */
            yp_diag(&p, mark_line(&ev.start_mark), mark_col(&ev.start_mark), "error",
                    "more than one YAML document; a config is a single document");
            rc = AG_EINVAL;
            goto out;
        }
        /* DOCUMENT-START, the root node, DOCUMENT-END. */
        yaml_event_delete(&ev);
        have_ev = 0;
        rc = next_event(&p, &ev);
        if (rc != 0) {
            goto out;
        }
        have_ev = 1;
        rc = grow((void **)&docs, &cap_docs, n_docs + 1, sizeof(*docs));
        if (rc != 0) {
            goto out;
        }
        docs[n_docs] = NULL;
        rc = parse_node(&p, &ev, 1, 0, &docs[n_docs]);
        n_docs++; /* counted even on failure, so a partial tree is freed */
        if (rc != 0) {
            goto out;
        }
        yaml_event_delete(&ev);
        have_ev = 0;
        rc = next_event(&p, &ev);
        if (rc != 0) {
            goto out;
        }
        yaml_event_delete(&ev);
        rc = next_event(&p, &ev);
        if (rc != 0) {
            goto out;
        }
        have_ev = 1;
    }
out:
    if (have_ev) {
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p.parser);
    for (size_t i = 0; i < p.n_anchors; i++) {
        ag_free(p.anchors[i].name);
    }
    ag_free(p.anchors);
    for (size_t i = 0; i < p.n_grave; i++) {
        ag_yaml_free(p.grave[i]);
    }
    ag_free(p.grave);
    if (rc != 0) {
        ag_yaml_free_stream(docs, n_docs);
        return rc;
    }
    *roots = docs;
    *n_roots = n_docs;
    return 0;
}

int ag_yaml_parse(const char *name, const char *text, size_t len, unsigned flags,
                  struct ag_yaml_node **out, struct ag_buf *diag)
{
    struct ag_yaml_node **docs = NULL;
    size_t n = 0;
    *out = NULL;
    int rc = parse_stream(name, text, len, flags, 0, &docs, &n, diag);
    if (rc != 0) {
        return rc;
    }
    if (n == 1) {
        *out = docs[0];
    }
    ag_free(docs);
    return 0;
}

int ag_yaml_parse_stream(const char *name, const char *text, size_t len, unsigned flags,
                         struct ag_yaml_node ***docs, size_t *n_docs, struct ag_buf *diag)
{
    return parse_stream(name, text, len, flags, 1, docs, n_docs, diag);
}

void ag_yaml_free_stream(struct ag_yaml_node **docs, size_t n_docs)
{
    for (size_t i = 0; i < n_docs; i++) {
        ag_yaml_free(docs[i]);
    }
    ag_free(docs);
}
