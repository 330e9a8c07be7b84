/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resource and attributes processors, as the collector's: their attribute actions applied
 * in order to every resource (resource) or to every span, log record and metric data point
 * (attributes) of every payload, on private copies (ag_payload_edit_resources,
 * ag_payload_edit_item_attributes), so a payload another pipeline shares is never changed.
 *
 * insert: set the key when it is absent; update: when present; upsert: always; the value is the
 * action's (typed as YAML types it) or another attribute's (nothing happens when that one is
 * absent). delete: remove the key, or every key |pattern| matches. hash: replace the value by the
 * hex SHA-256 of its bytes (strings their bytes, ints and doubles 8 bytes little-endian, bools 1
 * or 0, bytes as they are; arrays and maps are left alone), as the collector has done since
 * SHA-256 became its default. extract: for a string value |pattern| matches, each named group's
 * text is upserted as an attribute of its name. convert: int, double or string, as pcommon
 * converts; a value that does not convert is left alone.
 */
#include "ag_component.h"
#include "ag_log.h"
#include "ag_mem.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "opentelemetry/proto/common/v1/common.pb-c.h"
#include "opentelemetry/proto/resource/v1/resource.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Resource__V1__Resource res_t;

/* An attribute list being edited: the array (the copy's own, with room to grow) and its count. */
struct kvs {
    kv_t ***a;
    size_t *n;
};

#define V_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define V_INT    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define V_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define V_BOOL   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define V_BYTES  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE

struct resource_proc {
    struct ag_component_env env;
    bool items; /* the attributes processor: the items' attributes, not the resources' */
    const struct ag_attr_actions *actions;
    regex_t *re; /* per action; compiled when it has a pattern */
    bool *has_re;
    size_t extra; /* attributes the actions may add to one resource */
};

/* ---- attribute helpers ----------------------------------------------------------------------- */

static long find(const struct kvs *r, const char *key)
{
    for (size_t i = 0; i < *r->n; i++) {
        const kv_t *kv = (*r->a)[i];
        if (kv != NULL && kv->key != NULL && strcmp(kv->key, key) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void remove_at(const struct kvs *r, size_t i)
{
    memmove(&(*r->a)[i], &(*r->a)[i + 1], (*r->n - i - 1) * sizeof((*r->a)[0]));
    (*r->n)--;
}

/* Sets |key| to |v| (borrowed for the payload's life): replaced in place, else appended (the
 * shell's array has room for every attribute the actions can add). */
static int set(struct ag_payload *p, const struct kvs *r, const char *key, any_t *v)
{
    kv_t *kv = ag_arena_alloc(p->arena, sizeof(*kv));
    if (kv == NULL) {
        return AG_ENOMEM;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = v;
    long i = find(r, key);
    if (i >= 0) {
        (*r->a)[i] = kv;
    } else {
        (*r->a)[(*r->n)++] = kv;
    }
    return 0;
}

static any_t *new_value(struct ag_payload *p)
{
    any_t *v = ag_arena_alloc(p->arena, sizeof(*v));
    if (v != NULL) {
        opentelemetry__proto__common__v1__any_value__init(v);
    }
    return v;
}

static any_t *string_value(struct ag_payload *p, const char *s, size_t n)
{
    any_t *v = new_value(p);
    char *copy = v != NULL ? ag_arena_strndup(p->arena, s, n) : NULL;
    if (copy == NULL) {
        return NULL;
    }
    v->value_case = V_STRING;
    v->string_value = copy;
    return v;
}

static any_t *config_value(struct ag_payload *p, const struct ag_attr_action *a)
{
    if (a->value_type == AG_ATTR_STRING) {
        return string_value(p, a->value, strlen(a->value));
    }
    any_t *v = new_value(p);
    if (v == NULL) {
        return NULL;
    }
    if (a->value_type == AG_ATTR_INT) {
        v->value_case = V_INT;
        v->int_value = a->int_value;
    } else if (a->value_type == AG_ATTR_DOUBLE) {
        v->value_case = V_DOUBLE;
        v->double_value = a->double_value;
    } else {
        v->value_case = V_BOOL;
        v->bool_value = a->int_value != 0;
    }
    return v;
}

/* A double as Go's strconv.FormatFloat(v, 'f', -1, 64): the fewest digits that read back. */
static void format_double(double d, char *buf, size_t len)
{
    for (int prec = 0; prec <= 340; prec++) {
        snprintf(buf, len, "%.*f", prec, d);
        if (strtod(buf, NULL) == d) {
            return;
        }
    }
}

/* ---- the actions ----------------------------------------------------------------------------- */

static int hash_value(struct ag_payload *p, const struct kvs *r, size_t i)
{
    const any_t *v = (*r->a)[i]->value;
    uint8_t le[8];
    const void *data;
    size_t n;
    if (v == NULL) {
        return 0;
    }
    if (v->value_case == V_STRING) {
        data = v->string_value;
        n = strlen(v->string_value);
    } else if (v->value_case == V_INT || v->value_case == V_DOUBLE) {
        uint64_t u;
        if (v->value_case == V_INT) {
            u = (uint64_t)v->int_value;
        } else {
            memcpy(&u, &v->double_value, 8);
        }
        for (int k = 0; k < 8; k++) {
            le[k] = (uint8_t)(u >> (8 * k));
        }
        data = le;
        n = 8;
    } else if (v->value_case == V_BOOL) {
        le[0] = v->bool_value ? 1 : 0;
        data = le;
        n = 1;
    } else if (v->value_case == V_BYTES) {
        data = v->bytes_value.data;
        n = v->bytes_value.len;
    } else {
        return 0; /* arrays and maps: left alone */
    }
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        return AG_ENOMEM;
    }
    char hex[65];
    for (int k = 0; k < 32; k++) {
        snprintf(hex + 2 * k, 3, "%02x", md[k]);
    }
    any_t *h = string_value(p, hex, 64);
    return h != NULL ? set(p, r, (*r->a)[i]->key, h) : AG_ENOMEM;
}

static int convert(struct ag_payload *p, const struct kvs *r, size_t i, enum ag_attr_type to)
{
    const any_t *v = (*r->a)[i]->value;
    if (v == NULL) {
        return 0;
    }
    any_t *nv = new_value(p);
    if (nv == NULL) {
        return AG_ENOMEM;
    }
    char buf[400];
    char *end = NULL;
    if (to == AG_ATTR_STRING) {
        if (v->value_case == V_STRING) {
            return 0;
        }
        if (v->value_case == V_INT) {
            snprintf(buf, sizeof(buf), "%lld", (long long)v->int_value);
        } else if (v->value_case == V_DOUBLE) {
            format_double(v->double_value, buf, sizeof(buf));
        } else if (v->value_case == V_BOOL) {
            snprintf(buf, sizeof(buf), "%s", v->bool_value ? "true" : "false");
        } else {
            return 0;
        }
        nv = string_value(p, buf, strlen(buf));
    } else if (to == AG_ATTR_INT) {
        nv->value_case = V_INT;
        if (v->value_case == V_INT) {
            return 0;
        } else if (v->value_case == V_DOUBLE && isfinite(v->double_value) &&
                   fabs(v->double_value) < 9.2e18) {
            nv->int_value = (int64_t)v->double_value;
        } else if (v->value_case == V_BOOL) {
            nv->int_value = v->bool_value ? 1 : 0;
        } else if (v->value_case == V_STRING) {
            errno = 0;
            long long x = strtoll(v->string_value, &end, 10);
            if (errno != 0 || end == v->string_value || *end != '\0') {
                return 0;
            }
            nv->int_value = x;
        } else {
            return 0;
        }
    } else {
        nv->value_case = V_DOUBLE;
        if (v->value_case == V_DOUBLE) {
            return 0;
        } else if (v->value_case == V_INT) {
            nv->double_value = (double)v->int_value;
        } else if (v->value_case == V_BOOL) {
            nv->double_value = v->bool_value ? 1.0 : 0.0;
        } else if (v->value_case == V_STRING) {
            double x = strtod(v->string_value, &end);
            if (end == v->string_value || *end != '\0') {
                return 0;
            }
            nv->double_value = x;
        } else {
            return 0;
        }
    }
    return nv != NULL ? set(p, r, (*r->a)[i]->key, nv) : AG_ENOMEM;
}

static int extract(struct ag_payload *p, const struct kvs *r, size_t i,
                   const struct ag_attr_action *a, const regex_t *re)
{
    const any_t *v = (*r->a)[i]->value;
    if (v == NULL || v->value_case != V_STRING) {
        return 0;
    }
    size_t ngroups = 0;
    for (size_t g = 0; g < a->n_groups; g++) {
        ngroups = a->group_index[g] > ngroups ? a->group_index[g] : ngroups;
    }
    regmatch_t m[64];
    if (ngroups + 1 > sizeof(m) / sizeof(m[0]) ||
        regexec(re, v->string_value, ngroups + 1, m, 0) != 0) {
        return 0;
    }
    const char *s = v->string_value;
    for (size_t g = 0; g < a->n_groups; g++) {
        const regmatch_t *gm = &m[a->group_index[g]];
        if (gm->rm_so < 0) {
            continue;
        }
        any_t *nv = string_value(p, s + gm->rm_so, (size_t)(gm->rm_eo - gm->rm_so));
        int rc = nv != NULL ? set(p, r, a->group_names[g], nv) : AG_ENOMEM;
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int run_action(struct resource_proc *rp, struct ag_payload *p, const struct kvs *r, size_t k)
{
    const struct ag_attr_action *a = &rp->actions->items[k];
    long i = a->key != NULL ? find(r, a->key) : -1;
    switch (a->action) {
    case AG_ATTR_INSERT:
    case AG_ATTR_UPDATE:
    case AG_ATTR_UPSERT: {
        if ((a->action == AG_ATTR_INSERT && i >= 0) || (a->action == AG_ATTR_UPDATE && i < 0)) {
            return 0;
        }
        any_t *v;
        if (a->from_attribute != NULL) {
            long from = find(r, a->from_attribute);
            if (from < 0) {
                return 0;
            }
            v = (*r->a)[from]->value; /* values are never changed in place: shared */
        } else if ((v = config_value(p, a)) == NULL) {
            return AG_ENOMEM;
        }
        return set(p, r, a->key, v);
    }
    case AG_ATTR_DELETE:
    case AG_ATTR_HASH:
        for (size_t j = *r->n; j-- > 0;) {
            const char *key = (*r->a)[j] != NULL ? (*r->a)[j]->key : NULL;
            bool hit = key != NULL && (a->key != NULL ? strcmp(key, a->key) == 0
                                                      : regexec(&rp->re[k], key, 0, NULL, 0) == 0);
            if (!hit) {
                continue;
            }
            if (a->action == AG_ATTR_DELETE) {
                remove_at(r, j);
            } else {
                int rc = hash_value(p, r, j);
                if (rc != 0) {
                    return rc;
                }
            }
        }
        return 0;
    case AG_ATTR_EXTRACT:
        return i >= 0 ? extract(p, r, (size_t)i, a, &rp->re[k]) : 0;
    case AG_ATTR_CONVERT:
        return i >= 0 ? convert(p, r, (size_t)i, a->converted_type) : 0;
    }
    return 0;
}

static int run_actions(struct resource_proc *rp, struct ag_payload *p, const struct kvs *r)
{
    int rc = 0;
    for (size_t k = 0; k < rp->actions->n && rc == 0; k++) {
        rc = run_action(rp, p, r, k);
    }
    return rc;
}

static int apply_resource(struct ag_payload *p, ProtobufCMessage *resmsg, void *arg)
{
    res_t *res = (res_t *)resmsg;
    struct kvs r = {&res->attributes, &res->n_attributes};
    return run_actions(arg, p, &r);
}

static int apply_item(struct ag_payload *p, ProtobufCMessage ***attrs, size_t *n, void *arg)
{
    struct kvs r = {(kv_t ***)attrs, n};
    return run_actions(arg, p, &r);
}

static int rp_consume(void *self, struct ag_payload *p)
{
    struct resource_proc *rp = self;
    if (rp->actions->n == 0) {
        return rp->env.next.consume(rp->env.next.self, p);
    }
    if (rp->items) {
        return ag_payload_edit_item_attributes(p, rp->extra, apply_item, rp, rp->env.next.consume,
                                               rp->env.next.self);
    }
    return ag_payload_edit_resources(p, rp->extra, apply_resource, rp, rp->env.next.consume,
                                     rp->env.next.self);
}

static void rp_flush(void *self)
{
    (void)self;
}

static void rp_destroy(void *self)
{
    struct resource_proc *rp = self;
    for (size_t k = 0; rp->has_re != NULL && k < rp->actions->n; k++) {
        if (rp->has_re[k]) {
            regfree(&rp->re[k]);
        }
    }
    ag_free(rp->re);
    ag_free(rp->has_re);
    ag_free(rp);
}

static int actions_new(const struct ag_attr_actions *actions, bool items,
                       const struct ag_component_env *env, struct ag_processor *out, char *err,
                       size_t errlen)
{
    struct resource_proc *rp = ag_calloc(1, sizeof(*rp));
    size_t n = actions->n;
    if (rp == NULL || (n > 0 && ((rp->re = ag_calloc(n, sizeof(*rp->re))) == NULL ||
                                 (rp->has_re = ag_calloc(n, sizeof(*rp->has_re))) == NULL))) {
        if (rp != NULL) {
            ag_free(rp->re);
            ag_free(rp);
        }
        return AG_ENOMEM;
    }
    rp->env = *env;
    rp->items = items;
    rp->actions = actions;
    for (size_t k = 0; k < n; k++) {
        const struct ag_attr_action *a = &actions->items[k];
        if (a->pattern != NULL) {
            if (regcomp(&rp->re[k], a->pattern, REG_EXTENDED) != 0) {
                snprintf(err, errlen, "action %zu: pattern does not compile", k + 1);
                rp_destroy(rp);
                return AG_EINVAL;
            }
            rp->has_re[k] = true;
        }
        rp->extra += a->action == AG_ATTR_EXTRACT                                 ? a->n_groups
                     : a->action == AG_ATTR_INSERT || a->action == AG_ATTR_UPSERT ? 1
                                                                                  : 0;
    }
    out->in.consume = rp_consume;
    out->in.self = rp;
    out->flush = rp_flush;
    out->destroy = rp_destroy;
    out->self = rp;
    return 0;
}

int ag_resource_new(const struct ag_resource_config *cfg, const struct ag_component_env *env,
                    struct ag_processor *out, char *err, size_t errlen)
{
    return actions_new(&cfg->attributes, false, env, out, err, errlen);
}

int ag_attributes_new(const struct ag_attributes_config *cfg, const struct ag_component_env *env,
                      struct ag_processor *out, char *err, size_t errlen)
{
    return actions_new(&cfg->actions, true, env, out, err, errlen);
}
