// SPDX-License-Identifier: Apache-2.0
/*
 * cb_otel's settings from the OpenTelemetry environment variables (SDK configuration spec and
 * the OTLP exporter spec). Bad values are logged with the variable's name and ignored, so a typo
 * in the deployment never stops the service.
 */
#include "config.h"
#include "cb_otel.h"

#include "ag_log.h"
#include "ag_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WHO "otel"

static const char *const signal_names[3] = {"traces", "metrics", "logs"};
static const char *const signal_upper[3] = {"TRACES", "METRICS", "LOGS"};

void cb_otel_config_init(struct cb_otel_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout_ms = 10000;
    cfg->schedule_delay_ms = 1000;
    cfg->logs_delay_ms = 1000;
    cfg->metric_interval_ms = 60000;
    cfg->max_queue = 2048;
    cfg->max_batch = 512;
    cfg->max_attempts = 5;
    cfg->backoff_initial_ms = 1000;
    cfg->backoff_max_ms = 5000;
}

void cb_otel_config_cleanup(struct cb_otel_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    ag_free(cfg->traces_url);
    ag_free(cfg->metrics_url);
    ag_free(cfg->logs_url);
    for (int i = 0; i < 3; i++) {
        cb_otel_kvlist_cleanup(&cfg->headers[i]);
    }
    cb_otel_kvlist_cleanup(&cfg->resource);
    cfg->traces_url = cfg->metrics_url = cfg->logs_url = NULL;
}

static const char *env_get(cb_otel_getenv_fn *fn, void *arg, const char *name)
{
    const char *v = fn != NULL ? fn(arg, name) : getenv(name);
    /* The SDK spec: an empty value means unset. */
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool env_bool(cb_otel_getenv_fn *fn, void *arg, const char *name)
{
    const char *v = env_get(fn, arg, name);

    if (v == NULL) {
        return false;
    }
    if (strcasecmp(v, "true") == 0) {
        return true;
    }
    if (strcasecmp(v, "false") != 0) {
        ag_log(AG_LOG_WARN, WHO, "%s=%s: expected true or false; using false", name, v);
    }
    return false;
}

/* Reads a non-negative integer variable into |*out|, leaving it when unset or bad. */
static void env_uint(cb_otel_getenv_fn *fn, void *arg, const char *name, uint64_t min,
                     uint64_t *out)
{
    const char *v = env_get(fn, arg, name);
    char *end = NULL;
    unsigned long long x;

    if (v == NULL) {
        return;
    }
    errno = 0;
    x = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || errno != 0 || *end != '\0' || x < min) {
        ag_log(AG_LOG_WARN, WHO, "%s=%s: expected an integer >= %llu; using %llu", name, v,
               (unsigned long long)min, (unsigned long long)*out);
        return;
    }
    *out = x;
}

/* Appends a copy of |key|=|value| to |l|, replacing an existing key. */
static int kv_put(struct cb_otel_kvlist *l, const char *key, const char *value, bool front)
{
    char *k, *v;
    struct cb_otel_kv *ni;

    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            char *nv = ag_strdup(value);
            if (nv == NULL) {
                return AG_ENOMEM;
            }
            ag_free(l->items[i].value);
            l->items[i].value = nv;
            return 0;
        }
    }
    ni = ag_realloc(l->items, (l->n + 1) * sizeof(*ni));
    if (ni == NULL) {
        return AG_ENOMEM;
    }
    l->items = ni;
    k = ag_strdup(key);
    v = ag_strdup(value);
    if (k == NULL || v == NULL) {
        ag_free(k);
        ag_free(v);
        return AG_ENOMEM;
    }
    if (front) {
        memmove(&l->items[1], &l->items[0], l->n * sizeof(*ni));
        l->items[0].key = k;
        l->items[0].value = v;
    } else {
        l->items[l->n].key = k;
        l->items[l->n].value = v;
    }
    l->n++;
    return 0;
}

static const char *kv_find(const struct cb_otel_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            return l->items[i].value;
        }
    }
    return NULL;
}

/* Parses a list variable; on any error logs it and leaves |out| empty. */
static int env_list(cb_otel_getenv_fn *fn, void *arg, const char *name, size_t max,
                    struct cb_otel_kvlist *out)
{
    const char *v = env_get(fn, arg, name);
    char err[160];
    int rc;

    /* The parser's messages name members and keys, never values (header values are secrets). */
    out->items = NULL;
    out->n = 0;
    if (v == NULL) {
        return 0;
    }
    rc = cb_otel_kvlist_parse(v, strlen(v), max, out, err, sizeof(err));
    if (rc == AG_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        ag_log(AG_LOG_ERROR, WHO, "%s: %s; the whole variable is ignored", name, err);
    }
    return 0;
}

/* The URL of one signal: the per-signal endpoint as is, or the generic one + "v1/<signal>". */
static int signal_url(cb_otel_getenv_fn *fn, void *arg, int sig, char **out)
{
    char name[64];
    const char *v;

    *out = NULL;
    snprintf(name, sizeof(name), "OTEL_%s_EXPORTER", signal_upper[sig]);
    v = env_get(fn, arg, name);
    if (v != NULL && strcmp(v, "none") == 0) {
        return 0;
    }
    if (v != NULL && strcmp(v, "otlp") != 0) {
        ag_log(AG_LOG_ERROR, WHO, "%s=%s: only otlp and none are supported; %s not exported", name,
               v, signal_names[sig]);
        return 0;
    }
    snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_PROTOCOL", signal_upper[sig]);
    v = env_get(fn, arg, name);
    if (v == NULL) {
        v = env_get(fn, arg, "OTEL_EXPORTER_OTLP_PROTOCOL");
    }
    if (v != NULL && strcmp(v, "http/protobuf") != 0) {
        ag_log(AG_LOG_ERROR, WHO,
               "OTLP protocol %s: only http/protobuf is supported; %s not exported", v,
               signal_names[sig]);
        return 0;
    }
    snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal_upper[sig]);
    v = env_get(fn, arg, name);
    if (v != NULL) {
        *out = ag_strdup(v);
        return *out == NULL ? AG_ENOMEM : 0;
    }
    v = env_get(fn, arg, "OTEL_EXPORTER_OTLP_ENDPOINT");
    if (v == NULL) {
        return 0; /* no endpoint configured: no export, and that is not an error */
    }
    size_t n = strlen(v);
    bool slash = n > 0 && v[n - 1] == '/';
    size_t sz = n + 16;
    *out = ag_malloc(sz);
    if (*out == NULL) {
        return AG_ENOMEM;
    }
    snprintf(*out, sz, "%s%sv1/%s", v, slash ? "" : "/", signal_names[sig]);
    return 0;
}

int cb_otel_config_from_env(struct cb_otel_config *cfg, const char *service_version,
                            cb_otel_getenv_fn *getenv_fn, void *arg)
{
    struct cb_otel_kvlist generic = {NULL, 0};
    const char *v;
    char name[64];
    int rc = 0;

    cfg->disabled = env_bool(getenv_fn, arg, "OTEL_SDK_DISABLED");

    /* Resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME over its service.name. */
    cb_otel_kvlist_cleanup(&cfg->resource);
    rc = env_list(getenv_fn, arg, "OTEL_RESOURCE_ATTRIBUTES", 128, &cfg->resource);
    if (rc != 0) {
        goto out;
    }
    v = env_get(getenv_fn, arg, "OTEL_SERVICE_NAME");
    if (v == NULL) {
        v = kv_find(&cfg->resource, "service.name");
    }
    if (v == NULL) {
        v = "chatbot";
    }
    {
        /* kv_put may replace the very string |v| points to: copy it first. */
        char *svc = ag_strdup(v);
        if (svc == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < cfg->resource.n; i++) {
            if (strcmp(cfg->resource.items[i].key, "service.name") == 0) {
                ag_free(cfg->resource.items[i].key);
                ag_free(cfg->resource.items[i].value);
                memmove(&cfg->resource.items[i], &cfg->resource.items[i + 1],
                        (cfg->resource.n - i - 1) * sizeof(cfg->resource.items[0]));
                cfg->resource.n--;
                break;
            }
        }
        rc = kv_put(&cfg->resource, "service.name", svc, true);
        ag_free(svc);
        if (rc != 0) {
            goto out;
        }
    }
    if (service_version != NULL && kv_find(&cfg->resource, "service.version") == NULL) {
        rc = kv_put(&cfg->resource, "service.version", service_version, false);
        if (rc != 0) {
            goto out;
        }
    }

    for (int sig = 0; sig < 3; sig++) {
        char *url = NULL;
        rc = signal_url(getenv_fn, arg, sig, &url);
        if (rc != 0) {
            goto out;
        }
        char **dst = sig == 0 ? &cfg->traces_url : sig == 1 ? &cfg->metrics_url : &cfg->logs_url;
        ag_free(*dst);
        *dst = url;
    }

    rc = env_list(getenv_fn, arg, "OTEL_EXPORTER_OTLP_HEADERS", CB_OTEL_MAX_HEADERS, &generic);
    if (rc != 0) {
        goto out;
    }
    for (int sig = 0; sig < 3; sig++) {
        struct cb_otel_kvlist specific = {NULL, 0};
        cb_otel_kvlist_cleanup(&cfg->headers[sig]);
        for (size_t i = 0; i < generic.n; i++) {
            rc = kv_put(&cfg->headers[sig], generic.items[i].key, generic.items[i].value, false);
            if (rc != 0) {
                goto out;
            }
        }
        snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_HEADERS", signal_upper[sig]);
        rc = env_list(getenv_fn, arg, name, CB_OTEL_MAX_HEADERS, &specific);
        for (size_t i = 0; rc == 0 && i < specific.n; i++) {
            if (cfg->headers[sig].n >= CB_OTEL_MAX_HEADERS &&
                kv_find(&cfg->headers[sig], specific.items[i].key) == NULL) {
                ag_log(AG_LOG_ERROR, WHO, "%s: more than %d headers in all; %s ignored", name,
                       CB_OTEL_MAX_HEADERS, specific.items[i].key);
                continue;
            }
            rc = kv_put(&cfg->headers[sig], specific.items[i].key, specific.items[i].value, false);
        }
        cb_otel_kvlist_cleanup(&specific);
        if (rc != 0) {
            goto out;
        }
    }

    env_uint(getenv_fn, arg, "OTEL_EXPORTER_OTLP_TIMEOUT", 1, &cfg->timeout_ms);
    v = env_get(getenv_fn, arg, "OTEL_EXPORTER_OTLP_COMPRESSION");
    if (v != NULL) {
        if (strcmp(v, "gzip") == 0) {
            cfg->gzip = true;
        } else if (strcmp(v, "none") != 0) {
            ag_log(AG_LOG_WARN, WHO,
                   "OTEL_EXPORTER_OTLP_COMPRESSION=%s: expected gzip or none; "
                   "using none",
                   v);
        }
    }
    env_uint(getenv_fn, arg, "OTEL_BSP_SCHEDULE_DELAY", 1, &cfg->schedule_delay_ms);
    env_uint(getenv_fn, arg, "OTEL_BLRP_SCHEDULE_DELAY", 1, &cfg->logs_delay_ms);
    env_uint(getenv_fn, arg, "OTEL_METRIC_EXPORT_INTERVAL", 1, &cfg->metric_interval_ms);
    {
        uint64_t q = cfg->max_queue, b = cfg->max_batch;
        env_uint(getenv_fn, arg, "OTEL_BSP_MAX_QUEUE_SIZE", 1, &q);
        env_uint(getenv_fn, arg, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, &b);
        if (q > 1000000) {
            q = 1000000;
        }
        if (b > q) {
            ag_log(AG_LOG_WARN, WHO,
                   "OTEL_BSP_MAX_EXPORT_BATCH_SIZE over the queue size; using %llu",
                   (unsigned long long)q);
            b = q;
        }
        cfg->max_queue = (size_t)q;
        cfg->max_batch = (size_t)b;
    }
    cfg->record_content =
        env_bool(getenv_fn, arg, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
out:
    cb_otel_kvlist_cleanup(&generic);
    return rc;
}
