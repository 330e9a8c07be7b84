/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resource_detection processor with the `env` and `eks` detectors. Attributes are detected
 * once at start-up (they cannot change while the process runs) and added to every resource of
 * every payload; with override (the default) they replace attributes of the same key.
 *
 * env: OTEL_RESOURCE_ATTRIBUTES ("k=v,k2=v2", values percent-decoded).
 * eks: on EKS (KUBERNETES_SERVICE_HOST plus an EKS marker: the IRSA token path, the Pod Identity
 * token, or K8S_CLUSTER_NAME/CLUSTER_NAME set), cloud.provider=aws, cloud.platform=aws_eks,
 * k8s.cluster.name, k8s.node.name (from eks.node_from_env_var), k8s.pod.name, k8s.namespace.name
 * from the downward-API variables ADOT's manifests set.
 */
#include "ag_component.h"
#include "ag_log.h"
#include "ag_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/common/v1/common.pb-c.h"
#include "opentelemetry/proto/resource/v1/resource.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;

#define MAX_DETECTED 64

struct resource_detection {
    struct ag_component_env env;
    int override;
    size_t n;
    char *keys[MAX_DETECTED];
    char *values[MAX_DETECTED];
};

static int add_attr(struct resource_detection *rd, const char *key, size_t klen, const char *value,
                    size_t vlen)
{
    if (rd->n == MAX_DETECTED) {
        return AG_ETOOBIG;
    }
    /* A later detector does not override an earlier one, as in the collector. */
    for (size_t i = 0; i < rd->n; i++) {
        if (strlen(rd->keys[i]) == klen && memcmp(rd->keys[i], key, klen) == 0) {
            return 0;
        }
    }
    rd->keys[rd->n] = ag_strndup(key, klen);
    rd->values[rd->n] = ag_strndup(value, vlen);
    if (rd->keys[rd->n] == NULL || rd->values[rd->n] == NULL) {
        ag_free(rd->keys[rd->n]);
        ag_free(rd->values[rd->n]);
        return AG_ENOMEM;
    }
    rd->n++;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decodes |s|[0..len) into |out| (at least len+1 bytes); returns the decoded length. */
static size_t pct_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return o;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) {
        (*len)--;
    }
}

static int detect_env(struct resource_detection *rd)
{
    const char *v = getenv("OTEL_RESOURCE_ATTRIBUTES");
    if (v == NULL || *v == '\0') {
        return 0;
    }
    size_t total = strlen(v);
    char *tmp = ag_malloc(total + 1);
    if (tmp == NULL) {
        return AG_ENOMEM;
    }
    const char *p = v;
    int rc = 0;
    while (*p != '\0' && rc == 0) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        if (eq == NULL) {
            ag_log_warn(rd->env.id,
                        "OTEL_RESOURCE_ATTRIBUTES: ignoring \"%.*s\": expected "
                        "key=value",
                        (int)n, p);
        } else {
            const char *k = p, *val = eq + 1;
            size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
            trim(&k, &klen);
            trim(&val, &vlen);
            size_t dl = pct_decode(val, vlen, tmp);
            if (klen > 0) {
                rc = add_attr(rd, k, klen, tmp, dl);
            }
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    ag_free(tmp);
    return rc;
}

static int add_env(struct resource_detection *rd, const char *key, const char *var)
{
    const char *v = var ? getenv(var) : NULL;
    if (v == NULL || *v == '\0') {
        return 0;
    }
    return add_attr(rd, key, strlen(key), v, strlen(v));
}

static int on_eks(void)
{
    if (getenv("KUBERNETES_SERVICE_HOST") == NULL) {
        return 0;
    }
    const char *tok = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *pod_identity = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    return (tok != NULL && strstr(tok, "eks.amazonaws.com") != NULL) ||
           (pod_identity != NULL && strstr(pod_identity, "eks-pod-identity") != NULL) ||
           getenv("K8S_CLUSTER_NAME") != NULL || getenv("CLUSTER_NAME") != NULL;
}

static int detect_eks(struct resource_detection *rd, const char *node_var)
{
    if (!on_eks()) {
        ag_log_info(rd->env.id, "eks detector: not running on EKS, nothing detected");
        return 0;
    }
    int rc = add_attr(rd, "cloud.provider", 14, "aws", 3);
    if (rc == 0) {
        rc = add_attr(rd, "cloud.platform", 14, "aws_eks", 7);
    }
    if (rc == 0) {
        rc = add_env(rd, "k8s.cluster.name",
                     getenv("K8S_CLUSTER_NAME") ? "K8S_CLUSTER_NAME" : "CLUSTER_NAME");
    }
    if (rc == 0) {
        rc = add_env(rd, "k8s.node.name", node_var ? node_var : "K8S_NODE_NAME");
    }
    if (rc == 0) {
        rc = add_env(rd, "k8s.pod.name", "K8S_POD_NAME");
    }
    if (rc == 0) {
        rc = add_env(rd, "k8s.namespace.name", "K8S_NAMESPACE");
    }
    return rc;
}

static void apply(struct ag_payload *p, ProtobufCMessage *resmsg, void *arg)
{
    struct resource_detection *rd = arg;
    Opentelemetry__Proto__Resource__V1__Resource *res = (void *)resmsg;
    for (size_t i = 0; i < rd->n; i++) {
        kv_t *existing = NULL;
        for (size_t j = 0; j < res->n_attributes; j++) {
            if (strcmp(res->attributes[j]->key, rd->keys[i]) == 0) {
                existing = res->attributes[j];
            }
        }
        if (existing != NULL && !rd->override) {
            continue;
        }
        kv_t *kv = ag_arena_alloc(p->arena, sizeof(*kv));
        any_t *v = ag_arena_alloc(p->arena, sizeof(*v));
        if (kv == NULL || v == NULL) {
            continue;
        }
        opentelemetry__proto__common__v1__key_value__init(kv);
        opentelemetry__proto__common__v1__any_value__init(v);
        kv->key = rd->keys[i];
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = rd->values[i];
        kv->value = v;
        if (existing != NULL) {
            /* The attribute array is the shell's own copy: replacing an entry is safe. */
            for (size_t j = 0; j < res->n_attributes; j++) {
                if (res->attributes[j] == existing) {
                    res->attributes[j] = kv;
                }
            }
        } else {
            res->attributes[res->n_attributes++] = kv;
        }
    }
}

static int rd_consume(void *self, struct ag_payload *p)
{
    struct resource_detection *rd = self;
    if (rd->n == 0) {
        return rd->env.next.consume(rd->env.next.self, p);
    }
    struct ag_payload *q = ag_payload_own_resources(p, rd->n);
    if (q == NULL) {
        return AG_ENOMEM;
    }
    int rc = ag_payload_foreach_resource(q, apply, rd);
    ag_payload_account(q);
    if (rc == 0) {
        rc = rd->env.next.consume(rd->env.next.self, q);
    }
    ag_payload_unref(q);
    return rc;
}

static void rd_flush(void *self)
{
    (void)self;
}

static void rd_destroy(void *self)
{
    struct resource_detection *rd = self;
    for (size_t i = 0; i < rd->n; i++) {
        ag_free(rd->keys[i]);
        ag_free(rd->values[i]);
    }
    ag_free(rd);
}

int ag_resource_detection_new(const struct ag_resource_detection_config *cfg,
                              const struct ag_component_env *env, struct ag_processor *out,
                              char *err, size_t errlen)
{
    struct resource_detection *rd = ag_calloc(1, sizeof(*rd));
    if (rd == NULL) {
        return AG_ENOMEM;
    }
    rd->env = *env;
    rd->override = cfg->override;
    int rc = 0;
    for (size_t i = 0; i < cfg->n_detectors && rc == 0; i++) {
        if (strcmp(cfg->detectors[i], "env") == 0) {
            rc = detect_env(rd);
        } else if (strcmp(cfg->detectors[i], "eks") == 0) {
            rc = detect_eks(rd, cfg->eks_node_from_env_var);
        } else {
            snprintf(err, errlen, "detector \"%s\" is not supported", cfg->detectors[i]);
            rc = AG_EINVAL;
        }
    }
    if (rc != 0) {
        if (rc != AG_EINVAL) {
            snprintf(err, errlen, "resource detection failed: %s", ag_strerror(rc));
        }
        rd_destroy(rd);
        return rc;
    }
    for (size_t i = 0; i < rd->n; i++) {
        ag_log_info(env->id, "detected %s=%s", rd->keys[i], rd->values[i]);
    }
    out->in.consume = rd_consume;
    out->in.self = rd;
    out->flush = rd_flush;
    out->destroy = rd_destroy;
    out->self = rd;
    return 0;
}
