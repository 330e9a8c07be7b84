/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otterd's configuration in the OpenTelemetry Collector's shape. The YAML tree from ag_yaml is
 * checked against one option table per component type (Fluent Bit's config-map idea: name, type,
 * offset, default), so unknown keys are errors, wrong types are errors, and keys the collector
 * knows but otterd does not implement are accepted with a warning. Then service.pipelines are
 * resolved to component indexes. Every message carries file:line:col.
 */
#include "ag_config.h"
#include "ag_gates.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_time.h"
#include "ag_yaml.h"
#include "slo_def.h"
#include "slo_tz.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB          (1024ull * 1024ull)
#define NO_FIELD     SIZE_MAX
#define MAX_ERRORS   50
#define PATH_LEN     256
#define QUOTE_LEN    80

/* ---- diagnostics ----------------------------------------------------------------------------- */

struct def;

struct cctx {
    const char *name;
    struct ag_buf *diag;
    int diag_failed;
    int n_errors;
    int oom;
    struct ag_config *cfg;
    struct def *defs; /* every component id written, valid or not */
    size_t n_defs;
    size_t cap_defs;
};

struct def {
    enum ag_component_kind kind;
    const char *id; /* borrowed from the YAML tree */
    int line;
    int col;
    size_t index; /* into cfg->components, or NO_FIELD when the definition was rejected */
    int used;
};

__attribute__((format(printf, 5, 0))) static void diag_v(struct cctx *c, int line, int col,
                                                          const char *kind, const char *fmt,
                                                          va_list ap)
{
    if (c->diag == NULL || c->diag_failed) {
        return;
    }
    int rc;
    if (line > 0) {
        rc = ag_buf_printf(c->diag, "%s:%d:%d: %s: ", c->name, line, col, kind);
    } else {
        rc = ag_buf_printf(c->diag, "%s: %s: ", c->name, kind);
    }
    /* Values are quoted (ag_yaml_quote) before they go in; should one slip through raw, its
     * control characters still never break the one-line-per-diagnostic rule: they become '?'. */
    struct ag_buf msg;
    ag_buf_init(&msg, 64 * 1024);
    if (rc == 0 && (rc = ag_buf_vprintf(&msg, fmt, ap)) == 0) {
        const uint8_t *p = ag_buf_ptr(&msg);
        for (size_t i = 0, run = 0; rc == 0 && i <= msg.len; i++) {
            if (i == msg.len || p[i] < 0x20 || p[i] == 0x7f) {
                rc = ag_buf_add(c->diag, p + run, i - run);
                if (rc == 0 && i < msg.len) {
                    rc = ag_buf_addc(c->diag, '?');
                }
                run = i + 1;
            }
        }
    }
    ag_buf_cleanup(&msg);
    if (rc == 0) {
        rc = ag_buf_addc(c->diag, '\n');
    }
    if (rc != 0) {
        c->diag_failed = 1; /* the buffer freed itself: stop rather than write a torn half */
    }
}

__attribute__((format(printf, 4, 5))) static void err_at(struct cctx *c, int line, int col,
                                                          const char *fmt, ...)
{
    c->n_errors++;
    if (c->n_errors > MAX_ERRORS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (c->n_errors == MAX_ERRORS) {
        diag_v(c, line, col, "error", "too many errors; stopping here", ap);
    } else {
        diag_v(c, line, col, "error", fmt, ap);
    }
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void warn_at(struct cctx *c, int line, int col,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_v(c, line, col, "warning", fmt, ap);
    va_end(ap);
}

/* The text to show for a value: what was written, so an expanded secret is never echoed. */
static void show(const struct ag_yaml_node *n, char *out, size_t outlen)
{
    if (n == NULL) {
        ag_yaml_quote("", out, outlen);
    } else if (n->type != AG_YAML_SCALAR) {
        ag_yaml_quote(n->type == AG_YAML_MAPPING ? "<mapping>" : "<sequence>", out, outlen);
    } else {
        ag_yaml_quote(n->raw != NULL ? n->raw : n->str, out, outlen);
    }
}

static void path_join(char *out, const char *path, const char *key)
{
    char q[QUOTE_LEN];
    ag_yaml_quote(key, q, sizeof(q));
    snprintf(out, PATH_LEN, "%s::%s", path, q);
}

/* ---- endpoints ------------------------------------------------------------------------------- */

static int host_char_ok(char ch)
{
    unsigned char u = (unsigned char)ch;
    return u > 0x20 && u != 0x7f && ch != '[' && ch != ']' && ch != '/';
}

static int split_endpoint(const char *ep, char *host, size_t hostlen, int *port, const char **why)
{
    const char *h, *hend, *p;
    *why = "expected host:port with a port from 0 to 65535";
    if (ep == NULL || host == NULL || hostlen == 0 || port == NULL) {
        return AG_EINVAL;
    }
    host[0] = '\0';
    *port = 0;
    if (ep[0] == '[') {
        h = ep + 1;
        hend = strchr(h, ']');
        if (hend == NULL || hend[1] != ':') {
            *why = "expected [IPv6 address]:port";
            return AG_EINVAL;
        }
        int colons = 0;
        for (const char *s = h; s < hend; s++) {
            /* Hex digits, ':' and '.', then letters of a zone ("%eth0") if any. */
            colons += *s == ':';
            if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= 'A' && *s <= 'Z') || *s == ':' || *s == '.' || *s == '%' ||
                  *s == '-' || *s == '_')) {
                colons = 0;
                break;
            }
        }
        if (colons == 0) {
            *why = "expected [IPv6 address]:port";
            return AG_EINVAL;
        }
        p = hend + 2;
    } else {
        h = ep;
        hend = strrchr(ep, ':');
        if (hend == NULL) {
            *why = "expected host:port (the port is missing)";
            return AG_EINVAL;
        }
        if (memchr(ep, ':', (size_t)(hend - ep)) != NULL) {
            *why = "write an IPv6 address in brackets: [addr]:port";
            return AG_EINVAL;
        }
        for (const char *s = h; s < hend; s++) {
            if (!host_char_ok(*s)) {
                *why = "the host contains a character not allowed in a host name";
                return AG_EINVAL;
            }
        }
        p = hend + 1;
    }
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5) {
        return AG_EINVAL;
    }
    long v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return AG_EINVAL;
        }
        v = v * 10 + (p[i] - '0');
    }
    if (v > 65535) {
        return AG_EINVAL;
    }
    size_t hl = (size_t)(hend - h);
    if (hl >= hostlen) {
        *why = "the host name is too long";
        return AG_EINVAL;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)v;
    return 0;
}

int ag_config_split_endpoint(const char *endpoint, char *host, size_t hostlen, int *port)
{
    const char *why;
    return split_endpoint(endpoint, host, hostlen, port, &why);
}

/* ---- the option tables ----------------------------------------------------------------------- */

enum opt_type {
    OPT_STR,     /* char * */
    OPT_BOOL,    /* int */
    OPT_U32,     /* uint32_t */
    OPT_U64,     /* uint64_t */
    OPT_I64,     /* int64_t, never negative */
    OPT_MIB,     /* uint64_t bytes, written as a whole number of MiB */
    OPT_DUR,     /* uint64_t nanoseconds, written as a Go duration */
    OPT_STRLIST, /* char ** at off, size_t count at off2 */
    OPT_TABLE,   /* a nested mapping: children at base + off; int at off2 set to 1 when present */
    OPT_ANY,     /* any value; only for ignored keys */
    OPT_CUSTOM,  /* fn parses the value into base + off */
    OPT_REJECT,  /* a key with a known meaning that otterd refuses: error msg */
};

/* The key is known to the collector but not implemented: type-checked, then ignored, warned. */
#define OPT_F_IGNORED 0x1u
/* An OPT_CUSTOM field that is a struct ag_string_pairs, freed with the config. */
#define OPT_F_PAIRS 0x2u
/* OPT_CUSTOM fields that are awsemf's struct ag_emf_declarations / ag_emf_descriptors. */
#define OPT_F_EMF_DECLS 0x4u
#define OPT_F_EMF_DESCS 0x8u
/* An OPT_CUSTOM field that is a struct ag_attr_actions. */
#define OPT_F_ATTR_ACTIONS 0x10u

struct opt;

/*
 * For OPT_CUSTOM, parses |v| into |field|; for the other types, checks the converted value in
 * |field| (NULL for ignored keys). Reports its own errors. Returns 0, AG_EINVAL or AG_ENOMEM.
 */
typedef int opt_fn(struct cctx *c, const struct ag_yaml_node *v, void *field, const char *path);

struct opt {
    const char *name;
    enum opt_type type;
    unsigned flags;
    size_t off;
    size_t off2;
    const char *def; /* default, in the same syntax a config would use */
    const struct opt *sub;
    opt_fn *fn;
    const char *msg;
    uint64_t max; /* integer types: largest value accepted; 0 = the field's own limit */
};

#define OFF(type, field) offsetof(struct type, field)
#define END_OPTS         {.name = NULL}
#define IGNORED(n, t)    {.name = (n), .type = (t), .flags = OPT_F_IGNORED, .off = NO_FIELD, \
                          .off2 = NO_FIELD}

static int check_endpoint(struct cctx *c, const struct ag_yaml_node *v, void *field,
                          const char *path)
{
    char **s = field;
    char host[256];
    int port;
    const char *why;
    if (s == NULL || *s == NULL) {
        return 0;
    }
    if (split_endpoint(*s, host, sizeof(host), &port, &why) != 0) {
        char q[QUOTE_LEN];
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: invalid endpoint '%s': %s", path, q, why);
        return AG_EINVAL;
    }
    return 0;
}

static int check_endpoint_or_empty(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                   const char *path)
{
    char **s = field;
    if (s != NULL && *s != NULL && (*s)[0] == '\0') {
        return 0; /* "" turns the listener off */
    }
    return check_endpoint(c, v, field, path);
}

static int check_url_path(struct cctx *c, const struct ag_yaml_node *v, void *field,
                          const char *path)
{
    char **s = field;
    if (s == NULL || *s == NULL) {
        return 0;
    }
    for (const char *p = *s; *p != '\0'; p++) {
        unsigned char u = (unsigned char)*p;
        if (u <= 0x20 || u == 0x7f || u == '?' || u == '#') {
            char q[QUOTE_LEN];
            show(v, q, sizeof(q));
            err_at(c, v->line, v->col, "%s: '%s' is not a valid URL path", path, q);
            return AG_EINVAL;
        }
    }
    if ((*s)[0] != '/') {
        /* The collector adds the missing leading slash; so do we. */
        size_t n = strlen(*s);
        char *t = ag_malloc(n + 2);
        if (t == NULL) {
            return AG_ENOMEM;
        }
        t[0] = '/';
        memcpy(t + 1, *s, n + 1);
        ag_free(*s);
        *s = t;
    }
    return 0;
}

static int check_transport(struct cctx *c, const struct ag_yaml_node *v, void *field,
                           const char *path)
{
    if (strcmp(v->str, "tcp") != 0 && strcmp(v->str, "tcp4") != 0 &&
        strcmp(v->str, "tcp6") != 0) {
        char q[QUOTE_LEN];
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: transport '%s' is not supported by otterd (tcp only)",
               path, q);
        return AG_EINVAL;
    }
    return 0;
}

static int check_tls_version(struct cctx *c, const struct ag_yaml_node *v, void *field,
                             const char *path)
{
    char q[QUOTE_LEN];
    if (strcmp(v->str, "1.2") == 0 || strcmp(v->str, "1.3") == 0) {
        return 0;
    }
    show(v, q, sizeof(q));
    if (strcmp(v->str, "1.0") == 0 || strcmp(v->str, "1.1") == 0) {
        err_at(c, v->line, v->col, "%s: TLS %s is not supported by otterd (use 1.2 or 1.3)",
               path, q);
    } else {
        err_at(c, v->line, v->col, "%s: expected 1.2 or 1.3, got '%s'", path, q);
    }
    return AG_EINVAL;
}

static int parse_verbosity(struct cctx *c, const struct ag_yaml_node *v, void *field,
                           const char *path)
{
    enum ag_debug_verbosity *out = field;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type == AG_YAML_SCALAR) {
        if (strcmp(v->str, "basic") == 0) {
            *out = AG_DEBUG_BASIC;
            return 0;
        }
        if (strcmp(v->str, "normal") == 0) {
            *out = AG_DEBUG_NORMAL;
            return 0;
        }
        if (strcmp(v->str, "detailed") == 0) {
            *out = AG_DEBUG_DETAILED;
            return 0;
        }
    }
    char q[QUOTE_LEN];
    show(v, q, sizeof(q));
    err_at(c, v->line, v->col, "%s: expected basic, normal or detailed, got '%s'", path, q);
    return AG_EINVAL;
}

static int check_file_format(struct cctx *c, const struct ag_yaml_node *v, void *field,
                             const char *path)
{
    char q[QUOTE_LEN];
    if (strcmp(v->str, "json") == 0) {
        return 0;
    }
    show(v, q, sizeof(q));
    if (strcmp(v->str, "proto") == 0) {
        err_at(c, v->line, v->col, "%s: format 'proto' is not supported by this otterd yet "
               "(json only)", path);
    } else {
        err_at(c, v->line, v->col, "%s: expected json or proto, got '%s'", path, q);
    }
    return AG_EINVAL;
}

static const char *const known_detectors[] = {
    "docker", "ecs", "elastic_beanstalk", "elasticbeanstalk", "lambda",
    "azure", "aks", "gcp", "consul", "heroku", "openshift", "k8snode", "kubeadm", "dynatrace",
    "akamai", "hetzner", "scaleway", "upcloud", "vultr", "digitalocean", "oraclecloud",
    "openstack", NULL};

#define SUPPORTED_DETECTORS "env, eks, system, ec2"

static int check_detectors(struct cctx *c, const struct ag_yaml_node *v, void *field,
                           const char *path)
{
    int rc = 0;
    for (size_t i = 0; v->type == AG_YAML_SEQUENCE && i < v->n_items; i++) {
        const struct ag_yaml_node *it = v->items[i];
        if (strcmp(it->str, "env") == 0 || strcmp(it->str, "eks") == 0 ||
            strcmp(it->str, "system") == 0 || strcmp(it->str, "ec2") == 0) {
            continue;
        }
        int known = 0;
        for (size_t k = 0; known_detectors[k] != NULL; k++) {
            known |= strcmp(it->str, known_detectors[k]) == 0;
        }
        char q[QUOTE_LEN];
        show(it, q, sizeof(q));
        if (known) {
            err_at(c, it->line, it->col, "%s: detector '%s' is not supported by this otterd yet "
                   "(supported: " SUPPORTED_DETECTORS ")", path, q);
        } else {
            err_at(c, it->line, it->col, "%s: unknown detector '%s' (supported: "
                   SUPPORTED_DETECTORS ")", path, q);
        }
        rc = AG_EINVAL;
    }
    return rc;
}

/* receivers: otlp */

static const struct opt tls_opts[] = {
    {.name = "cert_file", .type = OPT_STR, .off = OFF(ag_tls_config, cert_file)},
    {.name = "key_file", .type = OPT_STR, .off = OFF(ag_tls_config, key_file)},
    {.name = "ca_file", .type = OPT_STR, .off = OFF(ag_tls_config, ca_file)},
    {.name = "client_ca_file", .type = OPT_STR, .off = OFF(ag_tls_config, client_ca_file)},
    {.name = "min_version", .type = OPT_STR, .off = OFF(ag_tls_config, min_version), .def = "1.2",
     .fn = check_tls_version},
    IGNORED("max_version", OPT_STR),
    IGNORED("cipher_suites", OPT_STRLIST),
    IGNORED("curve_preferences", OPT_STRLIST),
    IGNORED("reload_interval", OPT_DUR),
    IGNORED("include_system_ca_certs_pool", OPT_BOOL),
    IGNORED("client_ca_file_reload", OPT_BOOL),
    {.name = "cert_pem", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "inline PEM is not supported by this otterd yet; use cert_file"},
    {.name = "key_pem", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "inline PEM is not supported by this otterd yet; use key_file"},
    {.name = "ca_pem", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "inline PEM is not supported by this otterd yet; use ca_file"},
    END_OPTS,
};

static const struct opt grpc_server_params_opts[] = {
    {.name = "max_connection_idle", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, grpc_keepalive_max_connection_idle), .def = "0"},
    {.name = "max_connection_age", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, grpc_keepalive_max_connection_age), .def = "0"},
    {.name = "max_connection_age_grace", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, grpc_keepalive_max_connection_age_grace), .def = "0"},
    {.name = "time", .type = OPT_DUR, .off = OFF(ag_otlp_receiver_config, grpc_keepalive_time),
     .def = "0"},
    {.name = "timeout", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, grpc_keepalive_timeout), .def = "0"},
    END_OPTS,
};

static const struct opt grpc_enforcement_opts[] = {
    {.name = "min_time", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, grpc_keepalive_min_time), .def = "0"},
    {.name = "permit_without_stream", .type = OPT_BOOL,
     .off = OFF(ag_otlp_receiver_config, grpc_keepalive_permit_without_stream), .def = "false"},
    END_OPTS,
};

static const struct opt grpc_keepalive_opts[] = {
    {.name = "server_parameters", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = grpc_server_params_opts},
    {.name = "enforcement_policy", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = grpc_enforcement_opts},
    END_OPTS,
};

static const struct opt grpc_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = OFF(ag_otlp_receiver_config, grpc_endpoint),
     .def = "localhost:4317", .fn = check_endpoint},
    {.name = "transport", .type = OPT_STR, .off = NO_FIELD, .fn = check_transport},
    {.name = "max_recv_msg_size_mib", .type = OPT_MIB,
     .off = OFF(ag_otlp_receiver_config, grpc_max_recv_msg_size), .def = "4"},
    {.name = "max_concurrent_streams", .type = OPT_U32,
     .off = OFF(ag_otlp_receiver_config, grpc_max_concurrent_streams), .def = "0"},
    IGNORED("read_buffer_size", OPT_U64),
    IGNORED("write_buffer_size", OPT_U64),
    {.name = "tls", .type = OPT_TABLE, .off = OFF(ag_otlp_receiver_config, grpc_tls),
     .off2 = OFF(ag_otlp_receiver_config, grpc_tls) + OFF(ag_tls_config, enabled),
     .sub = tls_opts},
    {.name = "keepalive", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = grpc_keepalive_opts},
    IGNORED("auth", OPT_ANY),
    IGNORED("include_metadata", OPT_BOOL),
    END_OPTS,
};

static const struct opt cors_opts[] = {
    {.name = "allowed_origins", .type = OPT_STRLIST, .off = OFF(ag_cors_config, allowed_origins),
     .off2 = OFF(ag_cors_config, n_allowed_origins)},
    {.name = "allowed_headers", .type = OPT_STRLIST, .off = OFF(ag_cors_config, allowed_headers),
     .off2 = OFF(ag_cors_config, n_allowed_headers)},
    {.name = "max_age", .type = OPT_I64, .off = OFF(ag_cors_config, max_age), .def = "0"},
    IGNORED("exposed_headers", OPT_STRLIST),
    END_OPTS,
};

static int check_compression_algorithms(struct cctx *c, const struct ag_yaml_node *v,
                                        void *field, const char *path)
{
    static const char *const known[] = {"gzip", "zlib", "deflate", "zstd", "snappy",
                                        "x-snappy-framed", "lz4", NULL};
    (void)field;
    int rc = 0;
    for (size_t i = 0; v->type == AG_YAML_SEQUENCE && i < v->n_items; i++) {
        bool ok = false;
        for (size_t k = 0; known[k] != NULL; k++) {
            ok = ok || strcmp(v->items[i]->str, known[k]) == 0;
        }
        if (!ok) {
            char q[QUOTE_LEN];
            show(v->items[i], q, sizeof(q));
            err_at(c, v->items[i]->line, v->items[i]->col,
                   "%s: unknown compression '%s' (expected gzip, zlib, deflate, zstd, snappy, "
                   "x-snappy-framed or lz4)", path, q);
            rc = AG_EINVAL;
        }
    }
    return rc;
}

static const struct opt http_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = OFF(ag_otlp_receiver_config, http_endpoint),
     .def = "localhost:4318", .fn = check_endpoint},
    {.name = "tls", .type = OPT_TABLE, .off = OFF(ag_otlp_receiver_config, http_tls),
     .off2 = OFF(ag_otlp_receiver_config, http_tls) + OFF(ag_tls_config, enabled),
     .sub = tls_opts},
    {.name = "max_request_body_size", .type = OPT_U64,
     .off = OFF(ag_otlp_receiver_config, http_max_request_body_size), .def = "20971520"},
    {.name = "cors", .type = OPT_TABLE, .off = OFF(ag_otlp_receiver_config, cors),
     .off2 = OFF(ag_otlp_receiver_config, cors_enabled), .sub = cors_opts},
    {.name = "traces_url_path", .type = OPT_STR,
     .off = OFF(ag_otlp_receiver_config, traces_url_path), .def = "/v1/traces",
     .fn = check_url_path},
    {.name = "metrics_url_path", .type = OPT_STR,
     .off = OFF(ag_otlp_receiver_config, metrics_url_path), .def = "/v1/metrics",
     .fn = check_url_path},
    {.name = "logs_url_path", .type = OPT_STR, .off = OFF(ag_otlp_receiver_config, logs_url_path),
     .def = "/v1/logs", .fn = check_url_path},
    {.name = "read_header_timeout", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, http_read_header_timeout), .def = "1m"},
    {.name = "idle_timeout", .type = OPT_DUR,
     .off = OFF(ag_otlp_receiver_config, http_idle_timeout), .def = "1m"},
    IGNORED("read_timeout", OPT_DUR),
    IGNORED("write_timeout", OPT_DUR),
    IGNORED("keep_alives_enabled", OPT_BOOL),
    IGNORED("include_metadata", OPT_BOOL),
    IGNORED("response_headers", OPT_ANY),
    {.name = "compression_algorithms", .type = OPT_STRLIST,
     .off = OFF(ag_otlp_receiver_config, http_compression_algorithms),
     .off2 = OFF(ag_otlp_receiver_config, n_http_compression_algorithms),
     .fn = check_compression_algorithms},
    IGNORED("auth", OPT_ANY),
    END_OPTS,
};

static const struct opt otlp_protocols_opts[] = {
    {.name = "grpc", .type = OPT_TABLE, .off = 0,
     .off2 = OFF(ag_otlp_receiver_config, grpc_enabled), .sub = grpc_opts},
    {.name = "http", .type = OPT_TABLE, .off = 0,
     .off2 = OFF(ag_otlp_receiver_config, http_enabled), .sub = http_opts},
    END_OPTS,
};

static const struct opt otlp_opts[] = {
    {.name = "protocols", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = otlp_protocols_opts},
    END_OPTS,
};

/* receivers: awsxray. The X-Ray SDKs send their daemon datagrams over UDP only. */

static int check_udp_transport(struct cctx *c, const struct ag_yaml_node *v, void *field,
                               const char *path)
{
    (void)field;
    if (strcmp(v->str, "udp") == 0) {
        return 0;
    }
    char q[QUOTE_LEN];
    show(v, q, sizeof(q));
    err_at(c, v->line, v->col, "%s: transport '%s' is not supported (the X-Ray daemon protocol "
           "is udp only)", path, q);
    return AG_EINVAL;
}

/*
 * ADOT's keys. proxy_server, the TCP relay of the X-Ray SDKs' sampling calls (GetSamplingRules,
 * SamplingTargets) to X-Ray with SigV4, is on by default at localhost:2000 as in the collector.
 */
#define PROXY_AWS(f) (OFF(ag_xray_proxy_config, aws) + OFF(ag_aws_session_config, f))

static const struct opt xray_proxy_tls_opts[] = {
    {.name = "insecure", .type = OPT_BOOL, .off = PROXY_AWS(no_verify_ssl), .def = "false"},
    IGNORED("server_name_override", OPT_STR),
    END_OPTS,
};

static const struct opt xray_proxy_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = OFF(ag_xray_proxy_config, endpoint),
     .def = "localhost:2000", .fn = check_endpoint_or_empty},
    {.name = "region", .type = OPT_STR, .off = PROXY_AWS(region)},
    {.name = "aws_endpoint", .type = OPT_STR, .off = PROXY_AWS(endpoint)},
    {.name = "role_arn", .type = OPT_STR, .off = PROXY_AWS(role_arn)},
    {.name = "proxy_address", .type = OPT_STR, .off = PROXY_AWS(proxy_address)},
    {.name = "local_mode", .type = OPT_BOOL, .off = PROXY_AWS(local_mode), .def = "false"},
    {.name = "service_name", .type = OPT_STR, .off = OFF(ag_xray_proxy_config, service_name),
     .def = "xray"},
    {.name = "tls", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = xray_proxy_tls_opts},
    IGNORED("additional_routing_rules", OPT_ANY),
    IGNORED("transport", OPT_STR),
    END_OPTS,
};

static const struct opt awsxray_receiver_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = OFF(ag_xray_receiver_config, endpoint),
     .def = "localhost:2000", .fn = check_endpoint},
    {.name = "transport", .type = OPT_STR, .off = OFF(ag_xray_receiver_config, transport),
     .def = "udp", .fn = check_udp_transport},
    {.name = "proxy_server", .type = OPT_TABLE, .off = OFF(ag_xray_receiver_config, proxy),
     .off2 = OFF(ag_xray_receiver_config, proxy) + OFF(ag_xray_proxy_config, configured),
     .sub = xray_proxy_opts},
    IGNORED("dialer", OPT_ANY),
    END_OPTS,
};

/* processors */

static const struct opt batch_opts[] = {
    {.name = "send_batch_size", .type = OPT_U32, .off = OFF(ag_batch_config, send_batch_size),
     .def = "8192"},
    {.name = "send_batch_max_size", .type = OPT_U32,
     .off = OFF(ag_batch_config, send_batch_max_size), .def = "0"},
    {.name = "timeout", .type = OPT_DUR, .off = OFF(ag_batch_config, timeout), .def = "200ms"},
    IGNORED("metadata_keys", OPT_STRLIST),
    IGNORED("metadata_cardinality_limit", OPT_U32),
    END_OPTS,
};

static const struct opt memory_limiter_opts[] = {
    {.name = "check_interval", .type = OPT_DUR,
     .off = OFF(ag_memory_limiter_config, check_interval), .def = "0"},
    {.name = "limit_mib", .type = OPT_U64, .off = OFF(ag_memory_limiter_config, limit_mib),
     .def = "0", .max = UINT64_MAX / MIB},
    {.name = "spike_limit_mib", .type = OPT_U64,
     .off = OFF(ag_memory_limiter_config, spike_limit_mib), .def = "0", .max = UINT64_MAX / MIB},
    {.name = "limit_percentage", .type = OPT_U32,
     .off = OFF(ag_memory_limiter_config, limit_percentage), .def = "0", .max = 100},
    {.name = "spike_limit_percentage", .type = OPT_U32,
     .off = OFF(ag_memory_limiter_config, spike_limit_percentage), .def = "0", .max = 100},
    IGNORED("min_gc_interval_when_soft_limited", OPT_DUR),
    IGNORED("min_gc_interval_when_hard_limited", OPT_DUR),
    IGNORED("max_gc_interval_when_soft_limited", OPT_DUR),
    IGNORED("max_gc_interval_when_hard_limited", OPT_DUR),
    IGNORED("ballast_size_mib", OPT_U64),
    END_OPTS,
};

const char *const ag_rd_attr_names[AG_RD_ATTRS] = {
    [AG_RD_HOST_NAME] = "host.name",
    [AG_RD_OS_TYPE] = "os.type",
    [AG_RD_HOST_ID] = "host.id",
    [AG_RD_HOST_ARCH] = "host.arch",
    [AG_RD_OS_DESCRIPTION] = "os.description",
    [AG_RD_CLOUD_PROVIDER] = "cloud.provider",
    [AG_RD_CLOUD_PLATFORM] = "cloud.platform",
    [AG_RD_CLOUD_REGION] = "cloud.region",
    [AG_RD_CLOUD_ACCOUNT_ID] = "cloud.account.id",
    [AG_RD_CLOUD_AVAILABILITY_ZONE] = "cloud.availability_zone",
    [AG_RD_HOST_IMAGE_ID] = "host.image.id",
    [AG_RD_HOST_TYPE] = "host.type",
};

#define RD_BIT(a) (1u << (a))
#define RD_SYSTEM_ATTRS                                                                       \
    (RD_BIT(AG_RD_HOST_NAME) | RD_BIT(AG_RD_OS_TYPE) | RD_BIT(AG_RD_HOST_ID) |               \
     RD_BIT(AG_RD_HOST_ARCH) | RD_BIT(AG_RD_OS_DESCRIPTION))
#define RD_EC2_ATTRS                                                                          \
    (RD_BIT(AG_RD_CLOUD_PROVIDER) | RD_BIT(AG_RD_CLOUD_PLATFORM) | RD_BIT(AG_RD_CLOUD_REGION) | \
     RD_BIT(AG_RD_CLOUD_ACCOUNT_ID) | RD_BIT(AG_RD_CLOUD_AVAILABILITY_ZONE) |                \
     RD_BIT(AG_RD_HOST_ID) | RD_BIT(AG_RD_HOST_IMAGE_ID) | RD_BIT(AG_RD_HOST_NAME) |         \
     RD_BIT(AG_RD_HOST_TYPE))

/* The system detector's attributes otterd does not detect: enabling one is a warning. */
static const char *const system_attrs_missing[] = {
    "host.ip",         "host.mac",           "host.cpu.vendor.id", "host.cpu.family",
    "host.cpu.model.id", "host.cpu.model.name", "host.cpu.stepping", "host.cpu.cache.l2.size",
    NULL};

/*
 * resource_attributes: {<attribute>: {enabled: bool}} of the detector whose attributes are
 * |allowed| (bits) and, known to the collector but not detected here, |missing|.
 */
static int parse_rd_attrs(struct cctx *c, const struct ag_yaml_node *v, struct ag_rd_attrs *out,
                          const char *path, unsigned allowed, const char *const *missing)
{
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_MAPPING) {
        err_at(c, v->line, v->col, "%s: expected a mapping, got %s", path, ag_yaml_type_name(v));
        return AG_EINVAL;
    }
    int rc = 0;
    for (size_t i = 0; i < v->n_pairs; i++) {
        const struct ag_yaml_node *k = v->pairs[i].key, *m = v->pairs[i].value;
        const struct ag_yaml_node *en = m->type == AG_YAML_MAPPING ? ag_yaml_map_get(m, "enabled")
                                                                   : NULL;
        if (en == NULL || en->type != AG_YAML_SCALAR ||
            (strcmp(en->str, "true") != 0 && strcmp(en->str, "false") != 0)) {
            err_at(c, m->line, m->col, "%s::%s: expected {enabled: true or false}", path, k->str);
            rc = AG_EINVAL;
            continue;
        }
        bool on = strcmp(en->str, "true") == 0;
        long a = -1;
        for (int j = 0; j < AG_RD_ATTRS; j++) {
            if ((allowed & RD_BIT(j)) != 0 && strcmp(k->str, ag_rd_attr_names[j]) == 0) {
                a = j;
            }
        }
        bool known = false;
        for (size_t j = 0; missing != NULL && missing[j] != NULL; j++) {
            known |= strcmp(k->str, missing[j]) == 0;
        }
        if (a >= 0) {
            out->on |= on ? RD_BIT(a) : 0;
            out->off |= on ? 0 : RD_BIT(a);
        } else if (known) {
            if (on) {
                warn_at(c, k->line, k->col, "%s::%s is not detected by this otterd; ignored", path,
                        k->str);
            }
        } else {
            err_at(c, k->line, k->col, "%s: unknown resource attribute '%s'", path, k->str);
            rc = AG_EINVAL;
        }
    }
    return rc;
}

static int system_attrs_fn(struct cctx *c, const struct ag_yaml_node *v, void *field,
                           const char *path)
{
    return parse_rd_attrs(c, v, field, path, RD_SYSTEM_ATTRS, system_attrs_missing);
}

static int ec2_attrs_fn(struct cctx *c, const struct ag_yaml_node *v, void *field,
                        const char *path)
{
    return parse_rd_attrs(c, v, field, path, RD_EC2_ATTRS, NULL);
}

static int check_hostname_sources(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                  const char *path)
{
    (void)field;
    int rc = 0;
    for (size_t i = 0; v->type == AG_YAML_SEQUENCE && i < v->n_items; i++) {
        const char *s = v->items[i]->str;
        if (strcmp(s, "dns") != 0 && strcmp(s, "os") != 0 && strcmp(s, "cname") != 0 &&
            strcmp(s, "lookup") != 0) {
            char q[QUOTE_LEN];
            show(v->items[i], q, sizeof(q));
            err_at(c, v->items[i]->line, v->items[i]->col,
                   "%s: unknown hostname source '%s' (expected dns, os, cname or lookup)", path,
                   q);
            rc = AG_EINVAL;
        }
    }
    return rc;
}

static const struct opt system_detector_opts[] = {
    {.name = "hostname_sources", .type = OPT_STRLIST,
     .off = OFF(ag_resource_detection_config, hostname_sources),
     .off2 = OFF(ag_resource_detection_config, n_hostname_sources),
     .fn = check_hostname_sources},
    {.name = "resource_attributes", .type = OPT_CUSTOM,
     .off = OFF(ag_resource_detection_config, system_attrs), .fn = system_attrs_fn},
    END_OPTS,
};

static const struct opt ec2_detector_opts[] = {
    {.name = "resource_attributes", .type = OPT_CUSTOM,
     .off = OFF(ag_resource_detection_config, ec2_attrs), .fn = ec2_attrs_fn},
    IGNORED("tags", OPT_STRLIST), /* DescribeTags: EC2 instance tags are not added */
    IGNORED("max_attempts", OPT_U32),
    IGNORED("max_backoff", OPT_DUR),
    END_OPTS,
};

static const struct opt eks_detector_opts[] = {
    {.name = "node_from_env_var", .type = OPT_STR,
     .off = OFF(ag_resource_detection_config, eks_node_from_env_var), .def = "K8S_NODE_NAME"},
    IGNORED("resource_attributes", OPT_ANY),
    END_OPTS,
};

static const struct opt resource_detection_opts[] = {
    {.name = "detectors", .type = OPT_STRLIST,
     .off = OFF(ag_resource_detection_config, detectors),
     .off2 = OFF(ag_resource_detection_config, n_detectors), .fn = check_detectors},
    {.name = "override", .type = OPT_BOOL, .off = OFF(ag_resource_detection_config, override),
     .def = "true"},
    {.name = "timeout", .type = OPT_DUR, .off = OFF(ag_resource_detection_config, timeout),
     .def = "5s"},
    {.name = "eks", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = eks_detector_opts},
    {.name = "system", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = system_detector_opts},
    {.name = "ec2", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = ec2_detector_opts},
    IGNORED("refresh_interval", OPT_DUR),
    IGNORED("retry", OPT_ANY),
    IGNORED("fail_on_missing_metadata", OPT_BOOL),
    IGNORED("attributes", OPT_STRLIST),
    /* Settings of detectors otterd lacks: harmless while the detector is not listed. */
    IGNORED("docker", OPT_ANY),
    IGNORED("ecs", OPT_ANY),
    IGNORED("elastic_beanstalk", OPT_ANY),
    IGNORED("lambda", OPT_ANY),
    IGNORED("azure", OPT_ANY),
    IGNORED("aks", OPT_ANY),
    IGNORED("gcp", OPT_ANY),
    IGNORED("consul", OPT_ANY),
    IGNORED("heroku", OPT_ANY),
    IGNORED("openshift", OPT_ANY),
    IGNORED("k8snode", OPT_ANY),
    IGNORED("kubeadm", OPT_ANY),
    IGNORED("dynatrace", OPT_ANY),
    END_OPTS,
};

/* ---- processors: resource -------------------------------------------------------------------- */

static int unknown_keys(struct cctx *c, const struct ag_yaml_node *m, const char *path,
                        const char *const *known);
static int list_begin(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                      const char *what, size_t size, void **items);
static int check_regex(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                       const char *re);

int ag_config_named_groups(const char *p, char **ere, char ***names, size_t **index, size_t *n)
{
    size_t len = strlen(p), o = 0, group = 0, k = 0;
    char *out = ag_malloc(len + 1);
    char **nm = ag_calloc(len / 4 + 1, sizeof(*nm));
    size_t *ix = ag_calloc(len / 4 + 1, sizeof(*ix));
    int rc = out != NULL && nm != NULL && ix != NULL ? 0 : AG_ENOMEM;
    bool in_bracket = false;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char ch = p[i];
        if (ch == '\\' && i + 1 < len) {
            out[o++] = ch;
            out[o++] = p[++i];
        } else if (in_bracket) {
            in_bracket = ch != ']';
            out[o++] = ch;
        } else if (ch == '[') {
            in_bracket = true;
            out[o++] = ch;
            if (p[i + 1] == '^') {
                out[o++] = p[++i];
            }
            if (p[i + 1] == ']') {
                out[o++] = p[++i]; /* a leading ] is a member, not the end */
            }
        } else if (ch == '(' && p[i + 1] == '?') {
            size_t at = p[i + 2] == 'P' ? i + 3 : i + 2;
            const char *end = p[at] == '<' ? strchr(p + at, '>') : NULL;
            if (end == NULL || end == p + at + 1) {
                rc = AG_EINVAL; /* (?:, (?i), (?=, ...: not POSIX */
                break;
            }
            group++;
            nm[k] = ag_strndup(p + at + 1, (size_t)(end - p - at - 1));
            ix[k] = group;
            rc = nm[k++] != NULL ? 0 : AG_ENOMEM;
            out[o++] = '(';
            i = (size_t)(end - p);
        } else {
            group += ch == '(';
            out[o++] = ch;
        }
    }
    if (rc != 0) {
        for (size_t i = 0; i < k; i++) {
            ag_free(nm[i]);
        }
        ag_free(nm);
        ag_free(ix);
        ag_free(out);
        return rc;
    }
    out[o] = '\0';
    *ere = out;
    *names = nm;
    *index = ix;
    *n = k;
    return 0;
}

static void free_attr_actions(struct ag_attr_actions *a)
{
    for (size_t i = 0; i < a->n; i++) {
        struct ag_attr_action *x = &a->items[i];
        ag_free(x->key);
        ag_free(x->pattern);
        ag_free(x->from_attribute);
        ag_free(x->value);
        for (size_t g = 0; g < x->n_groups; g++) {
            ag_free(x->group_names[g]);
        }
        ag_free(x->group_names);
        ag_free(x->group_index);
    }
    ag_free(a->items);
    a->items = NULL;
    a->n = 0;
}

/* A scalar |v| typed as YAML types it: quoted is a string; true/false; an integer; a float. */
static void typed_value(const struct ag_yaml_node *v, struct ag_attr_action *a)
{
    char *end = NULL;
    a->value_type = AG_ATTR_STRING;
    if (v->quoted || v->str[0] == '\0') {
        return;
    }
    if (strcmp(v->str, "true") == 0 || strcmp(v->str, "false") == 0) {
        a->value_type = AG_ATTR_BOOL;
        a->int_value = v->str[0] == 't';
        return;
    }
    errno = 0;
    long long i = strtoll(v->str, &end, 10);
    if (errno == 0 && end != NULL && *end == '\0') {
        a->value_type = AG_ATTR_INT;
        a->int_value = i;
        return;
    }
    double d = strtod(v->str, &end);
    if (end != NULL && *end == '\0' && isfinite(d)) {
        a->value_type = AG_ATTR_DOUBLE;
        a->double_value = d;
    }
}

static int parse_attr_action(struct cctx *c, const struct ag_yaml_node *m, const char *path,
                             struct ag_attr_action *a)
{
    static const char *const known[] = {"key",          "action",  "value", "from_attribute",
                                        "from_context", "pattern", "converted_type", NULL};
    static const char *const actions[] = {"insert", "update",  "upsert", "delete",
                                          "hash",   "extract", "convert"};
    int rc = unknown_keys(c, m, path, known);
    if (rc != 0) {
        return rc;
    }
    const struct ag_yaml_node *act = ag_yaml_map_get(m, "action");
    const struct ag_yaml_node *key = ag_yaml_map_get(m, "key");
    const struct ag_yaml_node *val = ag_yaml_map_get(m, "value");
    const struct ag_yaml_node *from = ag_yaml_map_get(m, "from_attribute");
    const struct ag_yaml_node *ctx = ag_yaml_map_get(m, "from_context");
    const struct ag_yaml_node *pat = ag_yaml_map_get(m, "pattern");
    const struct ag_yaml_node *conv = ag_yaml_map_get(m, "converted_type");
    long kind = -1;
    for (size_t i = 0; act != NULL && act->type == AG_YAML_SCALAR && i < 7; i++) {
        kind = strcasecmp(act->str, actions[i]) == 0 ? (long)i : kind;
    }
    if (kind < 0) {
        const struct ag_yaml_node *at = act != NULL ? act : m;
        err_at(c, at->line, at->col, "%s: action: expected insert, update, upsert, delete, hash, "
               "extract or convert", path);
        return AG_EINVAL;
    }
    a->action = (enum ag_attr_action_kind)kind;
    const struct ag_yaml_node *scalars[] = {key, from, pat, conv};
    for (size_t i = 0; i < 4; i++) {
        if (scalars[i] != NULL && scalars[i]->type != AG_YAML_SCALAR) {
            err_at(c, scalars[i]->line, scalars[i]->col, "%s: expected a string", path);
            return AG_EINVAL;
        }
    }
    if (ctx != NULL) {
        err_at(c, ctx->line, ctx->col, "%s: from_context is not supported by this otterd (it "
               "keeps no client metadata)", path);
        return AG_EINVAL;
    }
    bool sets = a->action == AG_ATTR_INSERT || a->action == AG_ATTR_UPDATE ||
                a->action == AG_ATTR_UPSERT;
    bool by_pattern = a->action == AG_ATTR_DELETE || a->action == AG_ATTR_HASH;
    if ((key == NULL || key->str[0] == '\0') && !(by_pattern && pat != NULL)) {
        err_at(c, m->line, m->col, "%s: key is required%s", path,
               by_pattern ? " (or pattern)" : "");
        return AG_EINVAL;
    }
    if (sets && (val == NULL) == (from == NULL)) {
        err_at(c, m->line, m->col, "%s: %s needs exactly one of value and from_attribute", path,
               actions[kind]);
        return AG_EINVAL;
    }
    if (val != NULL && (!sets || val->type != AG_YAML_SCALAR)) {
        err_at(c, val->line, val->col, "%s: value: %s", path,
               sets ? "only a scalar (string, number, bool) is supported by this otterd"
                    : "only insert, update and upsert take a value");
        return AG_EINVAL;
    }
    if (a->action == AG_ATTR_EXTRACT && pat == NULL) {
        err_at(c, m->line, m->col, "%s: extract needs a pattern with named groups", path);
        return AG_EINVAL;
    }
    if (a->action == AG_ATTR_CONVERT) {
        static const char *const types[] = {"string", "int", "double"};
        static const enum ag_attr_type tv[] = {AG_ATTR_STRING, AG_ATTR_INT, AG_ATTR_DOUBLE};
        long t = -1;
        for (size_t i = 0; conv != NULL && i < 3; i++) {
            t = strcmp(conv->str, types[i]) == 0 ? (long)i : t;
        }
        if (t < 0) {
            const struct ag_yaml_node *at = conv != NULL ? conv : m;
            err_at(c, at->line, at->col, "%s: converted_type: expected int, double or string",
                   path);
            return AG_EINVAL;
        }
        a->converted_type = tv[t];
    }
    if ((key != NULL && key->str[0] != '\0' && (a->key = ag_strdup(key->str)) == NULL) ||
        (from != NULL && (a->from_attribute = ag_strdup(from->str)) == NULL) ||
        (val != NULL && (a->value = ag_strdup(val->str)) == NULL)) {
        return AG_ENOMEM;
    }
    if (val != NULL) {
        a->has_value = 1;
        typed_value(val, a);
    }
    if (pat != NULL && a->action == AG_ATTR_EXTRACT) {
        rc = ag_config_named_groups(pat->str, &a->pattern, &a->group_names, &a->group_index,
                                    &a->n_groups);
        if (rc == AG_EINVAL || (rc == 0 && a->n_groups == 0)) {
            err_at(c, pat->line, pat->col, "%s: pattern: extract needs named groups, "
                   "(?P<name>...), and no other (? construct", path);
            return AG_EINVAL;
        }
    } else if (pat != NULL && (a->pattern = ag_strdup(pat->str)) == NULL) {
        rc = AG_ENOMEM;
    }
    if (rc == 0 && a->pattern != NULL) {
        rc = check_regex(c, pat, path, a->pattern);
    }
    return rc;
}

static int parse_attr_actions(struct cctx *c, const struct ag_yaml_node *v, void *field,
                              const char *path)
{
    struct ag_attr_actions *out = field;
    free_attr_actions(out);
    void *items = NULL;
    int e = list_begin(c, v, path, "actions", sizeof(*out->items), &items);
    out->items = items;
    /* Every action is checked, so one run reports every mistake. */
    for (size_t i = 0; e != AG_ENOMEM && out->items != NULL && i < v->n_items; i++) {
        out->n = i + 1;
        int rc = parse_attr_action(c, v->items[i], path, &out->items[i]);
        e = e != 0 ? e : rc;
        e = rc == AG_ENOMEM ? rc : e;
    }
    return e;
}

static const struct opt resource_opts[] = {
    {.name = "attributes", .type = OPT_CUSTOM, .flags = OPT_F_ATTR_ACTIONS,
     .off = OFF(ag_resource_config, attributes), .fn = parse_attr_actions},
    END_OPTS,
};

/* include/exclude choose the items the actions apply to: ignoring them would change items the
 * config meant to leave alone, so they are refused rather than warned about. */
static const struct opt attributes_opts[] = {
    {.name = "actions", .type = OPT_CUSTOM, .flags = OPT_F_ATTR_ACTIONS,
     .off = OFF(ag_attributes_config, actions), .fn = parse_attr_actions},
    {.name = "include", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "include/exclude matching is not supported by this otterd yet (without it the "
            "actions would apply to every item)"},
    {.name = "exclude", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "include/exclude matching is not supported by this otterd yet (without it the "
            "actions would apply to every item)"},
    END_OPTS,
};

/* exporters */

static const struct opt debug_opts[] = {
    {.name = "verbosity", .type = OPT_CUSTOM, .off = OFF(ag_debug_config, verbosity),
     .fn = parse_verbosity},
    {.name = "loglevel", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "'loglevel' was removed from the collector; use 'verbosity: basic|normal|detailed'"},
    IGNORED("sampling_initial", OPT_U32),
    IGNORED("sampling_thereafter", OPT_U32),
    IGNORED("use_internal_logger", OPT_BOOL),
    END_OPTS,
};

static const struct opt file_rotation_opts[] = {
    {.name = "max_megabytes", .type = OPT_U64, .off = OFF(ag_file_config, rotation_max_megabytes),
     .def = "100", .max = UINT64_MAX / MIB},
    {.name = "max_days", .type = OPT_U32, .off = OFF(ag_file_config, rotation_max_days),
     .def = "0"},
    {.name = "max_backups", .type = OPT_U32, .off = OFF(ag_file_config, rotation_max_backups),
     .def = "100"},
    {.name = "localtime", .type = OPT_BOOL, .off = OFF(ag_file_config, rotation_localtime),
     .def = "false"},
    END_OPTS,
};

static const struct opt file_opts[] = {
    {.name = "path", .type = OPT_STR, .off = OFF(ag_file_config, path)},
    {.name = "rotation", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = file_rotation_opts},
    {.name = "format", .type = OPT_STR, .off = NO_FIELD, .fn = check_file_format},
    {.name = "flush_interval", .type = OPT_DUR, .off = OFF(ag_file_config, flush_interval),
     .def = "1s"},
    {.name = "append", .type = OPT_BOOL, .off = OFF(ag_file_config, append), .def = "false"},
    {.name = "encoding", .type = OPT_REJECT, .off = NO_FIELD,
     .msg = "encoding extensions are not supported by this otterd yet"},
    IGNORED("group_by", OPT_ANY),
    IGNORED("compression", OPT_STR),
    END_OPTS,
};

static int warn_cert_file(struct cctx *c, const struct ag_yaml_node *v, void *field,
                          const char *path)
{
    warn_at(c, v->line, v->col, "%s is not implemented by otterd; the system CA store is used",
            path);
    return 0;
}

/* The AWS session keys (ADOT's awsutil.AWSSessionSettings), squashed into each AWS exporter's
 * mapping; |T| is the exporter's config struct, which holds them in its member |aws|. */
#define AWS_OFF(T, f) (OFF(T, aws) + OFF(ag_aws_session_config, f))
#define AWS_OPT(T, n, t, f, d) {.name = (n), .type = (t), .off = AWS_OFF(T, f), .def = (d)}
#define AWS_SESSION_OPTS(T)                                                                      \
    AWS_OPT(T, "region", OPT_STR, region, NULL), AWS_OPT(T, "endpoint", OPT_STR, endpoint, NULL), \
    AWS_OPT(T, "role_arn", OPT_STR, role_arn, NULL),                                             \
    AWS_OPT(T, "external_id", OPT_STR, external_id, NULL),                                       \
    AWS_OPT(T, "sts_region", OPT_STR, sts_region, NULL),                                         \
    AWS_OPT(T, "profile", OPT_STR, profile, NULL),                                               \
    AWS_OPT(T, "max_retries", OPT_U32, max_retries, "2"),                                        \
    AWS_OPT(T, "no_verify_ssl", OPT_BOOL, no_verify_ssl, "false"),                               \
    AWS_OPT(T, "proxy_address", OPT_STR, proxy_address, NULL),                                   \
    AWS_OPT(T, "local_mode", OPT_BOOL, local_mode, "false"),                                     \
    AWS_OPT(T, "request_timeout_seconds", OPT_U32, request_timeout_seconds, "30"),               \
    AWS_OPT(T, "num_workers", OPT_U32, num_workers, "8"),                                        \
    AWS_OPT(T, "resource_arn", OPT_STR, resource_arn, NULL),                                     \
    {.name = "certificate_file_path", .type = OPT_STR, .off = AWS_OFF(T, certificate_file_path), \
     .fn = warn_cert_file},                                                                      \
    IGNORED("shared_credentials_file", OPT_STRLIST), IGNORED("middleware", OPT_STR),             \
    IGNORED("timeout", OPT_DUR), IGNORED("retry_on_failure", OPT_ANY)

static const struct opt sending_queue_opts[] = {
    {.name = "enabled", .type = OPT_BOOL, .off = NO_FIELD},
    {.name = "queue_size", .type = OPT_U32, .off = OFF(ag_awsxray_config, queue_size),
     .def = "1000", .max = 1000000},
    IGNORED("num_consumers", OPT_U32),
    IGNORED("storage", OPT_STR),
    IGNORED("blocking", OPT_BOOL),
    END_OPTS,
};

static const struct opt awsxray_exporter_opts[] = {
    AWS_SESSION_OPTS(ag_awsxray_config),
    {.name = "indexed_attributes", .type = OPT_STRLIST,
     .off = OFF(ag_awsxray_config, indexed_attributes),
     .off2 = OFF(ag_awsxray_config, n_indexed_attributes)},
    {.name = "index_all_attributes", .type = OPT_BOOL,
     .off = OFF(ag_awsxray_config, index_all_attributes), .def = "false"},
    {.name = "aws_log_groups", .type = OPT_STRLIST, .off = OFF(ag_awsxray_config, aws_log_groups),
     .off2 = OFF(ag_awsxray_config, n_aws_log_groups)},
    {.name = "skip_timestamp_validation", .type = OPT_BOOL,
     .off = OFF(ag_awsxray_config, skip_timestamp_validation), .def = "false"},
    {.name = "allow_dot", .type = OPT_BOOL, .off = OFF(ag_awsxray_config, allow_dot),
     .def = "true"},
    {.name = "sending_queue", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = sending_queue_opts},
    IGNORED("telemetry", OPT_ANY),
    END_OPTS,
};

static void free_strlist(char **list, size_t n);

/* CloudWatch Logs tags (CreateLogGroup): at most 50; keys 1..128 bytes not starting with
 * "aws:", values 0..256 bytes; letters (any UTF-8), digits, spaces and _ . : / = + - @. */
static int tag_text_ok(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || strchr(" _.:/=+-@", ch) != NULL)) {
            return 0;
        }
    }
    return 1;
}

/* Replaces |out| with copies of the pairs of the mapping |v| (borrowed; every key and value a
 * checked scalar). Returns 0, or AG_ENOMEM (|out| unchanged). */
static int set_string_pairs(struct ag_string_pairs *out, const struct ag_yaml_node *v)
{
    char **kv = v->n_pairs > 0 ? ag_calloc(2 * v->n_pairs, sizeof(*kv)) : NULL;
    if (v->n_pairs > 0 && kv == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < v->n_pairs; i++) {
        kv[2 * i] = ag_strdup(v->pairs[i].key->str);
        kv[2 * i + 1] = kv[2 * i] != NULL ? ag_strdup(v->pairs[i].value->str) : NULL;
        if (kv[2 * i + 1] == NULL) {
            free_strlist(kv, 2 * v->n_pairs);
            return AG_ENOMEM;
        }
    }
    free_strlist(out->kv, 2 * out->n);
    out->kv = kv;
    out->n = v->n_pairs;
    return 0;
}

static int parse_cw_tags(struct cctx *c, const struct ag_yaml_node *v, void *field,
                         const char *path)
{
    struct ag_string_pairs *out = field;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_MAPPING) {
        char q[QUOTE_LEN];
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: expected a mapping of tag keys to values, got '%s'", path,
               q);
        return AG_EINVAL;
    }
    if (v->n_pairs > 50) {
        err_at(c, v->line, v->col, "%s: at most 50 tags, got %zu", path, v->n_pairs);
        return AG_EINVAL;
    }
    for (size_t i = 0; i < v->n_pairs; i++) {
        const struct ag_yaml_node *k = v->pairs[i].key, *val = v->pairs[i].value;
        if (k->type != AG_YAML_SCALAR || !tag_text_ok(k->str, 1, 128) ||
            strncmp(k->str, "aws:", 4) == 0) {
            err_at(c, k->line, k->col, "%s: tag keys are 1 to 128 letters, digits, spaces or "
                   "_.:/=+-@ and do not start with 'aws:'", path);
            return AG_EINVAL;
        }
        if (val->type != AG_YAML_SCALAR || ag_yaml_is_null(val) ||
            !tag_text_ok(val->str, 0, 256)) {
            err_at(c, val->line, val->col, "%s: tag '%s': values are 0 to 256 letters, digits, "
                   "spaces or _.:/=+-@", path, k->str);
            return AG_EINVAL;
        }
    }
    return set_string_pairs(out, v);
}

static const struct opt cwlogs_sending_queue_opts[] = {
    {.name = "enabled", .type = OPT_BOOL, .off = NO_FIELD},
    {.name = "queue_size", .type = OPT_U32, .off = OFF(ag_awscloudwatchlogs_config, queue_size),
     .def = "1000", .max = 1000000},
    IGNORED("num_consumers", OPT_U32),
    IGNORED("storage", OPT_STR),
    IGNORED("blocking", OPT_BOOL),
    END_OPTS,
};

static const struct opt awscloudwatchlogs_opts[] = {
    AWS_SESSION_OPTS(ag_awscloudwatchlogs_config),
    {.name = "log_group_name", .type = OPT_STR,
     .off = OFF(ag_awscloudwatchlogs_config, log_group_name)},
    {.name = "log_stream_name", .type = OPT_STR,
     .off = OFF(ag_awscloudwatchlogs_config, log_stream_name)},
    {.name = "log_retention", .type = OPT_U32,
     .off = OFF(ag_awscloudwatchlogs_config, log_retention), .def = "0"},
    {.name = "tags", .type = OPT_CUSTOM, .flags = OPT_F_PAIRS,
     .off = OFF(ag_awscloudwatchlogs_config, tags), .fn = parse_cw_tags},
    {.name = "raw_log", .type = OPT_BOOL, .off = OFF(ag_awscloudwatchlogs_config, raw_log),
     .def = "false"},
    {.name = "emf_only", .type = OPT_BOOL, .off = OFF(ag_awscloudwatchlogs_config, emf_only),
     .def = "false"},
    {.name = "max_event_size", .type = OPT_U64,
     .off = OFF(ag_awscloudwatchlogs_config, max_event_size), .def = "262144", .max = 1048576},
    {.name = "sending_queue", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = cwlogs_sending_queue_opts},
    END_OPTS,
};

/* ---- awsemf (emf-cwlogs.md 3-8) ---- */

static void free_emf_declarations(struct ag_emf_declarations *d)
{
    for (size_t i = 0; d->items != NULL && i < d->n; i++) {
        struct ag_emf_declaration *x = &d->items[i];
        for (size_t j = 0; x->dimensions != NULL && j < x->n_dimensions; j++) {
            free_strlist(x->dimensions[j], x->n_dimension_names[j]);
        }
        ag_free(x->dimensions);
        ag_free(x->n_dimension_names);
        free_strlist(x->metric_name_selectors, x->n_metric_name_selectors);
        for (size_t j = 0; x->label_matchers != NULL && j < x->n_label_matchers; j++) {
            struct ag_emf_label_matcher *m = &x->label_matchers[j];
            free_strlist(m->label_names, m->n_label_names);
            ag_free(m->separator);
            ag_free(m->regex);
        }
        ag_free(x->label_matchers);
    }
    ag_free(d->items);
    d->items = NULL;
    d->n = 0;
}

static void free_emf_descriptors(struct ag_emf_descriptors *d)
{
    for (size_t i = 0; d->items != NULL && i < d->n; i++) {
        ag_free(d->items[i].metric_name);
        ag_free(d->items[i].unit);
    }
    ag_free(d->items);
    d->items = NULL;
    d->n = 0;
}

/* A list of non-null scalars copied into a new array (|*out| NULL for an empty list). */
static int emf_strlist(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                       char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_SEQUENCE) {
        err_at(c, v->line, v->col, "%s: expected a list of strings, got %s", path,
               ag_yaml_type_name(v));
        return AG_EINVAL;
    }
    for (size_t i = 0; i < v->n_items; i++) {
        if (v->items[i]->type != AG_YAML_SCALAR || ag_yaml_is_null(v->items[i])) {
            err_at(c, v->items[i]->line, v->items[i]->col, "%s: expected a string in the list",
                   path);
            return AG_EINVAL;
        }
    }
    if (v->n_items == 0) {
        return 0;
    }
    char **l = ag_calloc(v->n_items, sizeof(*l));
    if (l == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < v->n_items; i++) {
        if ((l[i] = ag_strdup(v->items[i]->str)) == NULL) {
            free_strlist(l, i);
            return AG_ENOMEM;
        }
    }
    *out = l;
    *n = v->n_items;
    return 0;
}

static int check_regex(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                           const char *re)
{
    regex_t r;
    int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
    if (rc == REG_ESPACE) {
        return AG_ENOMEM;
    }
    if (rc != 0) {
        char msg[128];
        regerror(rc, &r, msg, sizeof(msg));
        err_at(c, v->line, v->col, "%s: invalid regular expression: %s", path, msg);
        return AG_EINVAL;
    }
    regfree(&r);
    return 0;
}

/* Checks that |m| is a mapping whose keys are all in |known| (NULL-terminated). */
static int unknown_keys(struct cctx *c, const struct ag_yaml_node *m, const char *path,
                        const char *const *known)
{
    if (m->type != AG_YAML_MAPPING) {
        err_at(c, m->line, m->col, "%s: expected a mapping", path);
        return AG_EINVAL;
    }
    for (size_t i = 0; i < m->n_pairs; i++) {
        int ok = 0;
        for (size_t k = 0; known[k] != NULL; k++) {
            ok = ok || strcmp(m->pairs[i].key->str, known[k]) == 0;
        }
        if (!ok) {
            char q[QUOTE_LEN];
            ag_yaml_quote(m->pairs[i].key->str, q, sizeof(q));
            err_at(c, m->pairs[i].key->line, m->pairs[i].key->col, "%s: unknown key '%s'", path, q);
            return AG_EINVAL;
        }
    }
    return 0;
}

static int parse_emf_matcher(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                             struct ag_emf_label_matcher *m)
{
    static const char *const known[] = {"label_names", "separator", "regex", NULL};
    int rc = unknown_keys(c, v, path, known);
    if (rc != 0) {
        return rc;
    }
    const struct ag_yaml_node *names = ag_yaml_map_get(v, "label_names");
    const struct ag_yaml_node *sep = ag_yaml_map_get(v, "separator");
    const struct ag_yaml_node *re = ag_yaml_map_get(v, "regex");
    if ((rc = emf_strlist(c, names, path, &m->label_names, &m->n_label_names)) != 0) {
        return rc;
    }
    if (m->n_label_names == 0 || re == NULL || re->type != AG_YAML_SCALAR ||
        ag_yaml_is_null(re) || re->str[0] == '\0') {
        err_at(c, v->line, v->col, "%s: label_names and regex are required", path);
        return AG_EINVAL;
    }
    if ((rc = check_regex(c, re, path, re->str)) != 0) {
        return rc;
    }
    if ((m->regex = ag_strdup(re->str)) == NULL) {
        return AG_ENOMEM;
    }
    if (sep != NULL && sep->type == AG_YAML_SCALAR && !ag_yaml_is_null(sep) &&
        (m->separator = ag_strdup(sep->str)) == NULL) {
        return AG_ENOMEM;
    }
    return 0;
}

static int parse_emf_declaration(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                                 struct ag_emf_declaration *d)
{
    static const char *const known[] = {"dimensions", "metric_name_selectors", "label_matchers",
                                        NULL};
    int rc;
    if ((rc = unknown_keys(c, v, path, known)) != 0) {
        return rc;
    }
    const struct ag_yaml_node *sel = ag_yaml_map_get(v, "metric_name_selectors");
    if ((rc = emf_strlist(c, sel, path, &d->metric_name_selectors,
                          &d->n_metric_name_selectors)) != 0) {
        return rc;
    }
    if (d->n_metric_name_selectors == 0) {
        err_at(c, v->line, v->col, "%s: metric_name_selectors is required", path);
        return AG_EINVAL;
    }
    for (size_t i = 0; i < d->n_metric_name_selectors; i++) {
        if ((rc = check_regex(c, sel->items[i], path, d->metric_name_selectors[i])) != 0) {
            return rc;
        }
    }
    const struct ag_yaml_node *dims = ag_yaml_map_get(v, "dimensions");
    if (dims != NULL && !ag_yaml_is_null(dims)) {
        if (dims->type != AG_YAML_SEQUENCE) {
            err_at(c, dims->line, dims->col, "%s: dimensions: expected a list of lists", path);
            return AG_EINVAL;
        }
        if (dims->n_items > 0) {
            d->dimensions = ag_calloc(dims->n_items, sizeof(*d->dimensions));
            d->n_dimension_names = ag_calloc(dims->n_items, sizeof(size_t));
            if (d->dimensions == NULL || d->n_dimension_names == NULL) {
                return AG_ENOMEM;
            }
        }
        for (size_t i = 0; i < dims->n_items; i++) {
            rc = emf_strlist(c, dims->items[i], path, &d->dimensions[i],
                             &d->n_dimension_names[i]);
            d->n_dimensions = i + 1;
            if (rc != 0) {
                return rc;
            }
            if (d->n_dimension_names[i] > 10) {
                warn_at(c, dims->items[i]->line, dims->items[i]->col,
                        "%s: a dimension set of more than 10 names is dropped (as upstream)",
                        path);
            }
        }
    }
    const struct ag_yaml_node *lm = ag_yaml_map_get(v, "label_matchers");
    if (lm != NULL && !ag_yaml_is_null(lm)) {
        if (lm->type != AG_YAML_SEQUENCE) {
            err_at(c, lm->line, lm->col, "%s: label_matchers: expected a list", path);
            return AG_EINVAL;
        }
        if (lm->n_items > 0 &&
            (d->label_matchers = ag_calloc(lm->n_items, sizeof(*d->label_matchers))) == NULL) {
            return AG_ENOMEM;
        }
        for (size_t i = 0; i < lm->n_items; i++) {
            d->n_label_matchers = i + 1;
            if ((rc = parse_emf_matcher(c, lm->items[i], path, &d->label_matchers[i])) != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/*
 * The list of |what| at |v| (a list option at |path|): |*items| gets v->n_items zeroed
 * elements of |size| bytes, or stays NULL when the option is null or the list empty. Returns 0,
 * AG_EINVAL (not a list, reported) or AG_ENOMEM.
 */
static int list_begin(struct cctx *c, const struct ag_yaml_node *v, const char *path,
                          const char *what, size_t size, void **items)
{
    *items = NULL;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_SEQUENCE) {
        err_at(c, v->line, v->col, "%s: expected a list of %s", path, what);
        return AG_EINVAL;
    }
    if (v->n_items > 0 && (*items = ag_calloc(v->n_items, size)) == NULL) {
        return AG_ENOMEM;
    }
    return 0;
}

static int parse_emf_declarations(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                  const char *path)
{
    struct ag_emf_declarations *out = field;
    free_emf_declarations(out);
    void *items = NULL;
    int e = list_begin(c, v, path, "declarations", sizeof(*out->items), &items);
    out->items = items;
    if (e != 0 || out->items == NULL) {
        return e;
    }
    for (size_t i = 0; i < v->n_items; i++) {
        out->n = i + 1;
        int rc = parse_emf_declaration(c, v->items[i], path, &out->items[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int parse_emf_descriptors(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                 const char *path)
{
    static const char *const known[] = {"metric_name", "unit", "overwrite", NULL};
    struct ag_emf_descriptors *out = field;
    free_emf_descriptors(out);
    void *items = NULL;
    int e = list_begin(c, v, path, "descriptors", sizeof(*out->items), &items);
    out->items = items;
    if (e != 0 || out->items == NULL) {
        return e;
    }
    for (size_t i = 0; i < v->n_items; i++) {
        const struct ag_yaml_node *m = v->items[i];
        out->n = i + 1;
        int rc = unknown_keys(c, m, path, known);
        if (rc != 0) {
            return rc;
        }
        const struct ag_yaml_node *name = ag_yaml_map_get(m, "metric_name");
        const struct ag_yaml_node *unit = ag_yaml_map_get(m, "unit");
        const struct ag_yaml_node *ow = ag_yaml_map_get(m, "overwrite");
        if (name == NULL || name->type != AG_YAML_SCALAR || ag_yaml_is_null(name) ||
            name->str[0] == '\0' || unit == NULL || unit->type != AG_YAML_SCALAR ||
            ag_yaml_is_null(unit)) {
            err_at(c, m->line, m->col, "%s: metric_name and unit are required", path);
            return AG_EINVAL;
        }
        if (ow != NULL && !(ow->type == AG_YAML_SCALAR &&
                            (strcmp(ow->str, "true") == 0 || strcmp(ow->str, "false") == 0))) {
            err_at(c, ow->line, ow->col, "%s: overwrite: expected true or false", path);
            return AG_EINVAL;
        }
        out->items[i].overwrite = ow != NULL && strcmp(ow->str, "true") == 0;
        if ((out->items[i].metric_name = ag_strdup(name->str)) == NULL ||
            (out->items[i].unit = ag_strdup(unit->str)) == NULL) {
            return AG_ENOMEM;
        }
    }
    return 0;
}

static int parse_emf_rollup(struct cctx *c, const struct ag_yaml_node *v, void *field,
                            const char *path)
{
    int *out = field;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_SCALAR) {
        err_at(c, v->line, v->col, "%s: expected a string", path);
        return AG_EINVAL;
    }
    /* Upstream: anything but the two roll-up names means no roll-up. */
    *out = strcmp(v->str, "ZeroAndSingleDimensionRollup") == 0 ? 0
           : strcmp(v->str, "SingleDimensionRollupOnly") == 0 ? 1
                                                               : 2;
    return 0;
}

/* One of a fixed set of words: sets *out to the index of v's text in names[0..n) (compared
 * without regard to case when icase), and leaves *out alone when v is null. expected lists the
 * words for the error message. Returns 0, or AG_EINVAL (reported at v). */
static int parse_choice(struct cctx *c, const struct ag_yaml_node *v, int *out, const char *path,
                        const char *const *names, int n, bool icase, const char *expected)
{
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    for (int i = 0; v->type == AG_YAML_SCALAR && i < n; i++) {
        if ((icase ? strcasecmp(v->str, names[i]) : strcmp(v->str, names[i])) == 0) {
            *out = i;
            return 0;
        }
    }
    char q[QUOTE_LEN];
    show(v, q, sizeof(q));
    err_at(c, v->line, v->col, "%s: expected %s, got '%s'", path, expected, q);
    return AG_EINVAL;
}

static int parse_emf_output(struct cctx *c, const struct ag_yaml_node *v, void *field,
                            const char *path)
{
    static const char *const names[] = {"cloudwatch", "stdout"}; /* 0, 1 */
    return parse_choice(c, v, field, path, names, 2, true, "cloudwatch or stdout");
}

static int parse_emf_version(struct cctx *c, const struct ag_yaml_node *v, void *field,
                             const char *path)
{
    int *out = field;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type == AG_YAML_SCALAR && (strcmp(v->str, "0") == 0 || strcmp(v->str, "1") == 0)) {
        *out = v->str[0] == '0';
        return 0;
    }
    char q[QUOTE_LEN];
    show(v, q, sizeof(q));
    err_at(c, v->line, v->col, "%s: expected \"0\" or \"1\", got '%s'", path, q);
    return AG_EINVAL;
}

static const struct opt emf_r2t_opts[] = {
    {.name = "enabled", .type = OPT_BOOL,
     .off = OFF(ag_awsemf_config, resource_to_telemetry_conversion), .def = "false"},
    END_OPTS,
};

static const struct opt emf_sending_queue_opts[] = {
    {.name = "enabled", .type = OPT_BOOL, .off = NO_FIELD},
    {.name = "queue_size", .type = OPT_U32, .off = OFF(ag_awsemf_config, queue_size),
     .def = "1000", .max = 1000000},
    IGNORED("num_consumers", OPT_U32),
    IGNORED("storage", OPT_STR),
    IGNORED("blocking", OPT_BOOL),
    END_OPTS,
};

static const struct opt awsemf_opts[] = {
    AWS_SESSION_OPTS(ag_awsemf_config),
    {.name = "namespace", .type = OPT_STR, .off = OFF(ag_awsemf_config, namespace_)},
    {.name = "log_group_name", .type = OPT_STR, .off = OFF(ag_awsemf_config, log_group_name)},
    {.name = "log_stream_name", .type = OPT_STR, .off = OFF(ag_awsemf_config, log_stream_name)},
    {.name = "log_retention", .type = OPT_U32, .off = OFF(ag_awsemf_config, log_retention),
     .def = "0"},
    {.name = "tags", .type = OPT_CUSTOM, .flags = OPT_F_PAIRS,
     .off = OFF(ag_awsemf_config, tags), .fn = parse_cw_tags},
    {.name = "dimension_rollup_option", .type = OPT_CUSTOM, .off = OFF(ag_awsemf_config, rollup),
     .fn = parse_emf_rollup},
    {.name = "metric_declarations", .type = OPT_CUSTOM, .flags = OPT_F_EMF_DECLS,
     .off = OFF(ag_awsemf_config, metric_declarations), .fn = parse_emf_declarations},
    {.name = "metric_descriptors", .type = OPT_CUSTOM, .flags = OPT_F_EMF_DESCS,
     .off = OFF(ag_awsemf_config, metric_descriptors), .fn = parse_emf_descriptors},
    {.name = "parse_json_encoded_attr_values", .type = OPT_STRLIST,
     .off = OFF(ag_awsemf_config, parse_json_encoded_attr_values),
     .off2 = OFF(ag_awsemf_config, n_parse_json_encoded_attr_values)},
    {.name = "detailed_metrics", .type = OPT_BOOL, .off = OFF(ag_awsemf_config, detailed_metrics),
     .def = "false"},
    {.name = "retain_initial_value_of_delta_metric", .type = OPT_BOOL,
     .off = OFF(ag_awsemf_config, retain_initial_value_of_delta_metric), .def = "false"},
    {.name = "resource_to_telemetry_conversion", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = emf_r2t_opts},
    {.name = "output_destination", .type = OPT_CUSTOM, .off = OFF(ag_awsemf_config, output_stdout),
     .fn = parse_emf_output},
    {.name = "version", .type = OPT_CUSTOM, .off = OFF(ag_awsemf_config, version0),
     .fn = parse_emf_version},
    {.name = "omit_invalid_units", .type = OPT_BOOL,
     .off = OFF(ag_awsemf_config, omit_invalid_units), .def = "false"},
    {.name = "delta_max_entries", .type = OPT_U32, .off = OFF(ag_awsemf_config, delta_max_entries),
     .def = "100000", .max = 10000000},
    {.name = "delta_ttl", .type = OPT_DUR, .off = OFF(ag_awsemf_config, delta_ttl), .def = "5m"},
    {.name = "max_event_size", .type = OPT_U64, .off = OFF(ag_awsemf_config, max_event_size),
     .def = "262144", .max = 1048576},
    {.name = "sending_queue", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = emf_sending_queue_opts},
    IGNORED("eks_fargate_container_insights_enabled", OPT_BOOL),
    IGNORED("disable_metric_extraction", OPT_BOOL),
    IGNORED("enhanced_container_insights", OPT_BOOL),
    IGNORED("add_entity", OPT_BOOL),
    END_OPTS,
};

/* ---- slo (specs/slo.md; exporters/slo/README.md) ---- */

int ag_config_slo_defs(const struct ag_slo_config *cfg, struct ag_buf *diag,
                       struct slo_defs **out)
{
    struct slo_defs *d = NULL;
    struct ag_buf text;
    *out = NULL;
    int rc = slo_defs_new(diag, &d);
    if (rc == 0) {
        slo_defs_set_tz_loader(d, slo_tz_load_system, NULL);
    }
    for (size_t i = 0; rc == 0 && i < cfg->n_definitions; i++) {
        const char *why = NULL;
        ag_buf_init(&text, (size_t)AG_YAML_MAX_INPUT + 1u);
        /* Only regular files: a FIFO or a device named here must not block or stream forever. */
        int fd = open(cfg->definitions[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat sb;
        if (fd < 0) {
            why = strerror(errno);
        } else if (fstat(fd, &sb) != 0) {
            why = strerror(errno);
        } else if (!S_ISREG(sb.st_mode)) {
            why = "not a regular file";
        } else if (sb.st_size > (off_t)AG_YAML_MAX_INPUT) {
            why = "larger than the 4 MiB limit";
        }
        while (why == NULL) {
            size_t room = text.cap - text.len < 16384 ? text.cap - text.len : 16384;
            if (room == 0) {
                why = "larger than the 4 MiB limit"; /* it grew since fstat */
                break;
            }
            uint8_t *p = ag_buf_reserve(&text, room);
            if (p == NULL) {
                rc = AG_ENOMEM;
                break;
            }
            ssize_t n = read(fd, p, room);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                why = strerror(errno);
                break;
            }
            if (n == 0) {
                break;
            }
            ag_buf_commit(&text, (size_t)n);
        }
        if (fd >= 0) {
            close(fd);
        }
        if (rc != 0) {
            ag_buf_cleanup(&text);
            break;
        }
        if (why != NULL) {
            if (diag != NULL && ag_buf_printf(diag, "%s: error: cannot read: %s\n",
                                              cfg->definitions[i], why) != 0) {
                /* diag is best effort */
            }
            d->n_errors++;
        } else {
            rc = slo_defs_add(d, cfg->definitions[i], text.len > 0 ? ag_buf_str(&text) : "",
                              text.len);
        }
        ag_buf_cleanup(&text);
    }
    if (rc == 0) {
        size_t before = d->n_errors;
        rc = slo_defs_finish(d);
        if (rc == AG_EINVAL || (rc == 0 && before > 0)) {
            rc = AG_EINVAL;
        }
    }
    if (rc != 0) {
        slo_defs_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* Appends text that is already "file:line:col: kind: message" lines to the diagnostics. */
static void diag_raw(struct cctx *c, const struct ag_buf *text)
{
    if (c->diag == NULL || c->diag_failed || text->len == 0) {
        return;
    }
    if (ag_buf_add(c->diag, text->data, text->len) != 0) {
        c->diag_failed = 1;
    }
}

/* definitions: every file is read and checked now, so `otterd validate` reports the errors of
 * the SLO definitions with their own file:line:col. */
static int check_slo_definitions(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                 const char *path)
{
    char **list = field != NULL ? *(char ***)field : NULL;
    if (list == NULL) {
        return 0; /* validate_slo reports an empty list */
    }
    struct ag_slo_config tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.definitions = list;
    tmp.n_definitions = v->n_items;
    struct ag_buf diag;
    ag_buf_init(&diag, 1024 * 1024);
    struct slo_defs *d = NULL;
    int rc = ag_config_slo_defs(&tmp, &diag, &d);
    diag_raw(c, &diag);
    ag_buf_cleanup(&diag);
    if (rc == AG_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        err_at(c, v->line, v->col, "%s: the SLO definitions have errors (above)", path);
        return AG_EINVAL;
    }
    for (size_t i = 0; i < d->n_slos; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        if (d->slis[s->sli].source == SLO_SRC_EXTERNAL) {
            warn_at(c, v->line, v->col, "%s: SLO '%s' (%s:%d:%d) reads an external metric source "
                    "that otterd does not see: it will report NO_DATA", path, s->name, s->file,
                    s->line, s->col);
        }
    }
    slo_defs_free(d);
    return 0;
}

static int parse_slo_format(struct cctx *c, const struct ag_yaml_node *v, void *field,
                            const char *path)
{
    static const char *const names[] = {"json", "slack"}; /* 0, 1 */
    return parse_choice(c, v, field, path, names, 2, false, "json or slack");
}

static int parse_slo_destination(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                 const char *path)
{
    static const char *const names[] = {"none", "cloudwatch", "stdout"}; /* 0, 1, 2 */
    return parse_choice(c, v, field, path, names, 3, false, "none, cloudwatch or stdout");
}

/* An HTTP header name: an RFC 9110 token. */
static int header_name_ok(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        unsigned char u = (unsigned char)*s;
        if (!(u > 0x20 && u < 0x7f) || strchr("\"(),/:;<=>?@[\\]{}", u) != NULL) {
            return 0;
        }
    }
    return 1;
}

/* webhook headers: a mapping of header names to values. Values are never echoed (they are
 * often credentials). */
static int parse_slo_headers(struct cctx *c, const struct ag_yaml_node *v, void *field,
                             const char *path)
{
    struct ag_string_pairs *out = field;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_MAPPING) {
        err_at(c, v->line, v->col, "%s: expected a mapping of header names to values, got %s",
               path, ag_yaml_type_name(v));
        return AG_EINVAL;
    }
    for (size_t i = 0; i < v->n_pairs; i++) {
        const struct ag_yaml_node *k = v->pairs[i].key, *val = v->pairs[i].value;
        if (k->type != AG_YAML_SCALAR || !header_name_ok(k->str)) {
            char q[QUOTE_LEN];
            ag_yaml_quote(k->str != NULL ? k->str : "", q, sizeof(q));
            err_at(c, k->line, k->col, "%s: '%s' is not a valid HTTP header name", path, q);
            return AG_EINVAL;
        }
        if (strcasecmp(k->str, "Content-Type") == 0 || strcasecmp(k->str, "Content-Length") == 0 ||
            strcasecmp(k->str, "Host") == 0) {
            err_at(c, k->line, k->col, "%s: header '%s' is set by otterd", path, k->str);
            return AG_EINVAL;
        }
        if (val->type != AG_YAML_SCALAR || ag_yaml_is_null(val) ||
            strpbrk(val->str, "\r\n") != NULL) {
            err_at(c, val->line, val->col, "%s: header '%s': expected a one-line string", path,
                   k->str);
            return AG_EINVAL;
        }
    }
    return set_string_pairs(out, v);
}

/* An http:// or https:// URL with a host. */
static int check_http_url(struct cctx *c, const struct ag_yaml_node *v, void *field,
                          const char *path)
{
    char **s = field;
    if (s == NULL || *s == NULL) {
        return 0;
    }
    const char *rest = strncmp(*s, "http://", 7) == 0    ? *s + 7
                       : strncmp(*s, "https://", 8) == 0 ? *s + 8
                                                         : NULL;
    int ok = rest != NULL && *rest != '\0' && *rest != '/';
    for (const char *p = *s; ok && *p != '\0'; p++) {
        unsigned char u = (unsigned char)*p;
        ok = u > 0x20 && u != 0x7f;
    }
    if (!ok) {
        char q[QUOTE_LEN];
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: expected an http:// or https:// URL, got '%s'", path, q);
        return AG_EINVAL;
    }
    return 0;
}

static const struct opt slo_webhook_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = OFF(ag_slo_webhook_config, endpoint),
     .fn = check_http_url},
    {.name = "format", .type = OPT_CUSTOM, .off = OFF(ag_slo_webhook_config, slack),
     .fn = parse_slo_format},
    {.name = "timeout", .type = OPT_DUR, .off = OFF(ag_slo_webhook_config, timeout), .def = "5s"},
    {.name = "max_retries", .type = OPT_U32, .off = OFF(ag_slo_webhook_config, max_retries),
     .def = "3", .max = 100},
    {.name = "headers", .type = OPT_CUSTOM, .flags = OPT_F_PAIRS,
     .off = OFF(ag_slo_webhook_config, headers), .fn = parse_slo_headers},
    END_OPTS,
};

static const struct opt slo_sns_opts[] = {
    AWS_SESSION_OPTS(ag_slo_sns_config),
    {.name = "topic_arn", .type = OPT_STR, .off = OFF(ag_slo_sns_config, topic_arn)},
    END_OPTS,
};

static const struct opt slo_alerts_opts[] = {
    {.name = "log", .type = OPT_BOOL, .off = OFF(ag_slo_config, alert_log), .def = "true"},
    {.name = "webhook", .type = OPT_TABLE, .off = OFF(ag_slo_config, webhook), .off2 = NO_FIELD,
     .sub = slo_webhook_opts},
    {.name = "sns", .type = OPT_TABLE, .off = OFF(ag_slo_config, sns), .off2 = NO_FIELD,
     .sub = slo_sns_opts},
    END_OPTS,
};

static const struct opt slo_metrics_opts[] = {
    AWS_SESSION_OPTS(ag_slo_metrics_config),
    {.name = "output_destination", .type = OPT_CUSTOM,
     .off = OFF(ag_slo_metrics_config, destination), .fn = parse_slo_destination},
    {.name = "namespace", .type = OPT_STR, .off = OFF(ag_slo_metrics_config, namespace_),
     .def = "Otter/SLO"},
    {.name = "log_group_name", .type = OPT_STR, .off = OFF(ag_slo_metrics_config, log_group_name),
     .def = "/otter/slo"},
    {.name = "log_stream_name", .type = OPT_STR,
     .off = OFF(ag_slo_metrics_config, log_stream_name)},
    {.name = "interval", .type = OPT_DUR, .off = OFF(ag_slo_metrics_config, interval),
     .def = "60s"},
    END_OPTS,
};

static const struct opt slo_opts[] = {
    {.name = "definitions", .type = OPT_STRLIST, .off = OFF(ag_slo_config, definitions),
     .off2 = OFF(ag_slo_config, n_definitions), .fn = check_slo_definitions},
    {.name = "state_file", .type = OPT_STR, .off = OFF(ag_slo_config, state_file)},
    {.name = "checkpoint_interval", .type = OPT_DUR, .off = OFF(ag_slo_config, checkpoint_interval),
     .def = "60s"},
    {.name = "evaluation_interval", .type = OPT_DUR, .off = OFF(ag_slo_config, evaluation_interval),
     .def = "10s"},
    {.name = "alerts", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = slo_alerts_opts},
    {.name = "metrics", .type = OPT_TABLE, .off = OFF(ag_slo_config, metrics), .off2 = NO_FIELD,
     .sub = slo_metrics_opts},
    END_OPTS,
};

static const struct opt nop_opts[] = {
    END_OPTS,
};

/* extensions */

static const struct opt health_check_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = OFF(ag_health_check_config, endpoint),
     .def = "localhost:13133", .fn = check_endpoint},
    {.name = "path", .type = OPT_STR, .off = OFF(ag_health_check_config, path), .def = "/",
     .fn = check_url_path},
    IGNORED("check_collector_pipeline", OPT_ANY),
    IGNORED("response_body", OPT_ANY),
    IGNORED("tls", OPT_ANY),
    END_OPTS,
};

/* ---- converting values ----------------------------------------------------------------------- */

union val {
    char *s;
    int b;
    uint64_t u;
};

static const char *type_expectation(enum opt_type t)
{
    switch (t) {
    case OPT_BOOL:
        return "true or false";
    case OPT_U32:
    case OPT_U64:
    case OPT_I64:
        return "an integer";
    case OPT_MIB:
        return "a whole number of MiB";
    case OPT_DUR:
        return "a duration like 200ms";
    case OPT_STRLIST:
        return "a list of strings";
    case OPT_TABLE:
        return "a mapping";
    default:
        return "a string";
    }
}

static uint64_t type_max(const struct opt *o)
{
    uint64_t m;
    switch (o->type) {
    case OPT_U32:
        m = UINT32_MAX;
        break;
    case OPT_I64:
        m = INT64_MAX;
        break;
    case OPT_MIB:
        m = UINT64_MAX / MIB;
        break;
    default:
        m = UINT64_MAX;
        break;
    }
    return o->max != 0 && o->max < m ? o->max : m;
}

/* Returns 0, 1 when |s| is a valid number over |max|, or -1 when it is not a number. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int over = 0;
    if (*s == '+') {
        s++;
    }
    if (*s == '\0') {
        return -1;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) {
            over = 1;
            v = UINT64_MAX;
        } else {
            v = v * 10 + d;
        }
    }
    *out = v;
    return over || v > max ? 1 : 0;
}

/*
 * Converts scalar text |s| for option |o|. Returns 0, or AG_EINVAL after reporting at |v| (NULL
 * for a built-in default, which is then a programming error), or AG_ENOMEM.
 */
static int convert(struct cctx *c, const struct opt *o, const char *s,
                   const struct ag_yaml_node *v, const char *path, union val *out)
{
    char q[QUOTE_LEN];
    memset(out, 0, sizeof(*out));
    switch (o->type) {
    case OPT_STR:
        out->s = ag_strdup(s);
        return out->s != NULL ? 0 : AG_ENOMEM;
    case OPT_BOOL:
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
            out->b = 1;
            return 0;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
            out->b = 0;
            return 0;
        }
        break;
    case OPT_U32:
    case OPT_U64:
    case OPT_I64:
    case OPT_MIB: {
        uint64_t max = type_max(o);
        int r = parse_uint(s, max, &out->u);
        if (r == 1) {
            if (v != NULL) {
                show(v, q, sizeof(q));
                err_at(c, v->line, v->col, "%s: expected an integer from 0 to %llu, got '%s'",
                       path, (unsigned long long)max, q);
            }
            return AG_EINVAL;
        }
        if (r == 0) {
            if (o->type == OPT_MIB) {
                out->u *= MIB;
            }
            return 0;
        }
        break;
    }
    case OPT_DUR:
        if (ag_time_parse_duration(s, &out->u) == 0) {
            return 0;
        }
        break;
    default:
        break;
    }
    if (v != NULL) {
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: expected %s, got '%s'", path, type_expectation(o->type),
               q);
    }
    return AG_EINVAL;
}

static void store(const struct opt *o, char *base, const union val *v)
{
    void *f = base + o->off;
    switch (o->type) {
    case OPT_STR: {
        char **s = f;
        ag_free(*s);
        *s = v->s;
        break;
    }
    case OPT_BOOL:
        *(int *)f = v->b;
        break;
    case OPT_U32:
        *(uint32_t *)f = (uint32_t)v->u;
        break;
    case OPT_I64:
        *(int64_t *)f = (int64_t)v->u;
        break;
    default:
        *(uint64_t *)f = v->u;
        break;
    }
}

static void free_strlist(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ag_free(list[i]);
    }
    ag_free(list);
}

static void free_fields(const struct opt *schema, char *base)
{
    for (const struct opt *o = schema; o->name != NULL; o++) {
        if (o->type == OPT_TABLE) {
            free_fields(o->sub, base + o->off);
        } else if (o->off == NO_FIELD) {
            continue;
        } else if (o->type == OPT_STR) {
            char **s = (char **)(base + o->off);
            ag_free(*s);
            *s = NULL;
        } else if (o->type == OPT_CUSTOM && (o->flags & OPT_F_PAIRS) != 0) {
            struct ag_string_pairs *sp = (struct ag_string_pairs *)(base + o->off);
            free_strlist(sp->kv, 2 * sp->n);
            sp->kv = NULL;
            sp->n = 0;
        } else if (o->type == OPT_CUSTOM && (o->flags & OPT_F_EMF_DECLS) != 0) {
            free_emf_declarations((struct ag_emf_declarations *)(base + o->off));
        } else if (o->type == OPT_CUSTOM && (o->flags & OPT_F_EMF_DESCS) != 0) {
            free_emf_descriptors((struct ag_emf_descriptors *)(base + o->off));
        } else if (o->type == OPT_CUSTOM && (o->flags & OPT_F_ATTR_ACTIONS) != 0) {
            free_attr_actions((struct ag_attr_actions *)(base + o->off));
        } else if (o->type == OPT_STRLIST) {
            char ***l = (char ***)(base + o->off);
            size_t *n = (size_t *)(base + o->off2);
            free_strlist(*l, *n);
            *l = NULL;
            *n = 0;
        }
    }
}

static int apply_defaults(struct cctx *c, const struct opt *schema, char *base)
{
    for (const struct opt *o = schema; o->name != NULL; o++) {
        if (o->type == OPT_TABLE) {
            int rc = apply_defaults(c, o->sub, base + o->off);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if (o->def == NULL || o->off == NO_FIELD) {
            continue;
        }
        union val v;
        int rc = convert(c, o, o->def, NULL, "", &v);
        if (rc != 0) {
            return rc == AG_ENOMEM ? AG_ENOMEM : AG_EINVAL;
        }
        store(o, base, &v);
    }
    return 0;
}

static int walk_table(struct cctx *c, const struct opt *schema, char *base,
                      const struct ag_yaml_node *node, const char *path);

static int parse_strlist(struct cctx *c, const struct opt *o, char *base,
                         const struct ag_yaml_node *v, const char *path)
{
    char **list = NULL;
    size_t n = 0;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_SEQUENCE) {
        char q[QUOTE_LEN];
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: expected a list of strings, got '%s'", path, q);
        return AG_EINVAL;
    }
    for (size_t i = 0; i < v->n_items; i++) {
        const struct ag_yaml_node *it = v->items[i];
        if (it->type != AG_YAML_SCALAR || ag_yaml_is_null(it)) {
            err_at(c, it->line, it->col, "%s: expected a string in the list, got %s", path,
                   it->type == AG_YAML_SCALAR ? "null" : ag_yaml_type_name(it));
            return AG_EINVAL;
        }
    }
    if (o->off == NO_FIELD) {
        return 0;
    }
    if (v->n_items > 0) {
        list = ag_calloc(v->n_items, sizeof(*list));
        if (list == NULL) {
            return AG_ENOMEM;
        }
        for (n = 0; n < v->n_items; n++) {
            list[n] = ag_strdup(v->items[n]->str);
            if (list[n] == NULL) {
                free_strlist(list, n);
                return AG_ENOMEM;
            }
        }
    }
    char ***lp = (char ***)(base + o->off);
    size_t *np = (size_t *)(base + o->off2);
    free_strlist(*lp, *np);
    *lp = list;
    *np = n;
    return 0;
}

static int handle_opt(struct cctx *c, const struct opt *o, char *base,
                      const struct ag_yaml_pair *pair, const char *path)
{
    const struct ag_yaml_node *k = pair->key, *v = pair->value;
    char sub[PATH_LEN];
    int rc = 0;
    path_join(sub, path, k->str);
    switch (o->type) {
    case OPT_REJECT:
        err_at(c, k->line, k->col, "%s: %s", sub, o->msg);
        return AG_EINVAL;
    case OPT_ANY:
        break;
    case OPT_TABLE:
        if (o->off2 != NO_FIELD) {
            *(int *)(base + o->off2) = 1;
        }
        rc = walk_table(c, o->sub, base + o->off, v, sub);
        break;
    case OPT_STRLIST:
        rc = parse_strlist(c, o, base, v, sub);
        if (rc == 0 && o->fn != NULL && !ag_yaml_is_null(v)) {
            rc = o->fn(c, v, o->off == NO_FIELD ? NULL : base + o->off, sub);
        }
        break;
    case OPT_CUSTOM:
        rc = o->fn(c, v, base + o->off, sub);
        break;
    default:
        if (ag_yaml_is_null(v)) {
            break; /* "key:" with nothing keeps the default, as in the collector */
        }
        if (v->type != AG_YAML_SCALAR) {
            err_at(c, v->line, v->col, "%s: expected %s, got %s", sub, type_expectation(o->type),
                   ag_yaml_type_name(v));
            return AG_EINVAL;
        }
        union val val;
        rc = convert(c, o, v->str, v, sub, &val);
        if (rc != 0) {
            return rc;
        }
        if (o->off == NO_FIELD) {
            if (o->type == OPT_STR && o->fn != NULL) {
                rc = o->fn(c, v, &val.s, sub);
            }
            if (o->type == OPT_STR) {
                ag_free(val.s);
            }
            break;
        }
        store(o, base, &val);
        if (o->fn != NULL) {
            rc = o->fn(c, v, base + o->off, sub);
        }
        break;
    }
    if (rc == 0 && (o->flags & OPT_F_IGNORED)) {
        warn_at(c, k->line, k->col, "%s is not implemented by otterd and is ignored", sub);
    }
    return rc;
}

/*
 * Walks mapping |node| against |schema|. Errors are counted in |c| and the walk goes on, so
 * one run reports every problem; only AG_ENOMEM stops it.
 */
static int walk_table(struct cctx *c, const struct opt *schema, char *base,
                      const struct ag_yaml_node *node, const char *path)
{
    if (ag_yaml_is_null(node)) {
        return 0;
    }
    if (node->type != AG_YAML_MAPPING) {
        char q[QUOTE_LEN];
        show(node, q, sizeof(q));
        err_at(c, node->line, node->col, "%s: expected a mapping, got %s '%s'", path,
               ag_yaml_type_name(node), q);
        return 0;
    }
    for (size_t i = 0; i < node->n_pairs; i++) {
        const struct ag_yaml_pair *pair = &node->pairs[i];
        const struct opt *o = schema;
        while (o->name != NULL && strcmp(o->name, pair->key->str) != 0) {
            o++;
        }
        if (o->name == NULL) {
            char q[QUOTE_LEN];
            ag_yaml_quote(pair->key->str, q, sizeof(q));
            err_at(c, pair->key->line, pair->key->col, "unknown key '%s' in %s", q, path);
            continue;
        }
        int rc = handle_opt(c, o, base, pair, path);
        if (rc == AG_ENOMEM) {
            return rc;
        }
    }
    return 0;
}

/* Where to point for |key| of |body|: its value, else |fallback|. */
static const struct ag_yaml_node *at_value(const struct ag_yaml_node *body, const char *key,
                                           const struct ag_yaml_node *fallback)
{
    const struct ag_yaml_node *v = ag_yaml_map_get(body, key);
    return v != NULL ? v : fallback;
}

/* ---- component types ------------------------------------------------------------------------- */

typedef int validate_fn(struct cctx *c, struct ag_component_config *comp,
                        const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                        const char *path);

struct comp_type {
    const char *name;
    const char *alias;
    enum ag_component_kind kind;
    enum ag_component_type type;
    const struct opt *schema;
    validate_fn *validate;
};

static int validate_tls(struct cctx *c, const struct ag_tls_config *tls,
                        const struct ag_yaml_node *proto, const char *path)
{
    const struct ag_yaml_pair *tp = ag_yaml_map_pair(proto, "tls");
    if (!tls->enabled || tp == NULL) {
        return 0;
    }
    if (tls->cert_file == NULL || tls->key_file == NULL || tls->cert_file[0] == '\0' ||
        tls->key_file[0] == '\0') {
        err_at(c, tp->key->line, tp->key->col, "%s::tls: cert_file and key_file are both required",
               path);
    }
    return 0;
}

static int validate_otlp(struct cctx *c, struct ag_component_config *comp,
                         const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                         const char *path)
{
    struct ag_otlp_receiver_config *o = &comp->u.otlp;
    const struct ag_yaml_node *protocols = ag_yaml_map_get(body, "protocols");
    char sub[PATH_LEN];
    if (!o->grpc_enabled && !o->http_enabled) {
        err_at(c, at->line, at->col,
               "%s: must specify at least one protocol (protocols: grpc: and/or http:)", path);
        return 0;
    }
    if (o->grpc_max_recv_msg_size == 0) {
        o->grpc_max_recv_msg_size = 4 * MIB;
    }
    if (o->http_max_request_body_size == 0) {
        o->http_max_request_body_size = 20 * MIB;
    }
    snprintf(sub, sizeof(sub), "%s::protocols::grpc", path);
    validate_tls(c, &o->grpc_tls, ag_yaml_map_get(protocols, "grpc"), sub);
    snprintf(sub, sizeof(sub), "%s::protocols::http", path);
    validate_tls(c, &o->http_tls, ag_yaml_map_get(protocols, "http"), sub);
    return 0;
}

static int validate_batch(struct cctx *c, struct ag_component_config *comp,
                          const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                          const char *path)
{
    const struct ag_batch_config *b = &comp->u.batch;
    if (b->send_batch_max_size != 0 && b->send_batch_max_size < b->send_batch_size) {
        const struct ag_yaml_node *v = at_value(body, "send_batch_max_size", at);
        err_at(c, v->line, v->col,
               "%s: send_batch_max_size (%u) must be 0 or at least send_batch_size (%u)", path,
               b->send_batch_max_size, b->send_batch_size);
    }
    return 0;
}

static int validate_memory_limiter(struct cctx *c, struct ag_component_config *comp,
                                   const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                                   const char *path)
{
    struct ag_memory_limiter_config *m = &comp->u.memory_limiter;
    if (m->check_interval == 0) {
        const struct ag_yaml_node *v = at_value(body, "check_interval", at);
        err_at(c, v->line, v->col, "%s: check_interval must be greater than zero", path);
    }
    if (m->limit_mib == 0 && m->limit_percentage == 0) {
        err_at(c, at->line, at->col, "%s: limit_mib or limit_percentage must be set", path);
        return 0;
    }
    if (m->limit_mib != 0) {
        if (m->limit_percentage != 0) {
            const struct ag_yaml_node *v = at_value(body, "limit_percentage", at);
            warn_at(c, v->line, v->col,
                    "%s: both limit_mib and limit_percentage are set; limit_mib is used", path);
        }
        if (m->spike_limit_mib == 0) {
            m->spike_limit_mib = m->limit_mib / 5;
        } else if (m->spike_limit_mib >= m->limit_mib) {
            const struct ag_yaml_node *v = at_value(body, "spike_limit_mib", at);
            err_at(c, v->line, v->col,
                   "%s: spike_limit_mib (%llu) must be less than limit_mib (%llu)", path,
                   (unsigned long long)m->spike_limit_mib, (unsigned long long)m->limit_mib);
        }
        return 0;
    }
    if (m->spike_limit_percentage == 0) {
        m->spike_limit_percentage = m->limit_percentage / 5;
    } else if (m->spike_limit_percentage >= m->limit_percentage) {
        const struct ag_yaml_node *v = at_value(body, "spike_limit_percentage", at);
        err_at(c, v->line, v->col,
               "%s: spike_limit_percentage (%u) must be less than limit_percentage (%u)", path,
               m->spike_limit_percentage, m->limit_percentage);
    }
    return 0;
}

static int validate_file(struct cctx *c, struct ag_component_config *comp,
                         const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                         const char *path)
{
    struct ag_file_config *f = &comp->u.file;
    int rotation = ag_yaml_map_pair(body, "rotation") != NULL;
    if (f->path == NULL || f->path[0] == '\0') {
        const struct ag_yaml_node *v = at_value(body, "path", at);
        err_at(c, v->line, v->col, "%s: path is required", path);
    }
    if (!rotation) {
        f->rotation_max_megabytes = 0;
    } else if (f->append) {
        const struct ag_yaml_node *v = at_value(body, "append", at);
        err_at(c, v->line, v->col, "%s: append and rotation cannot be used together", path);
    }
    return 0;
}

/* The checks every AWS exporter shares: its session's counts, its queue, its log retention. */
static void check_session(struct cctx *c, const struct ag_aws_session_config *aws,
                          const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                          const char *path)
{
    static const char *const keys[] = {"num_workers", "request_timeout_seconds"};
    const uint32_t vals[] = {aws->num_workers, aws->request_timeout_seconds};
    for (size_t i = 0; i < 2; i++) {
        if (vals[i] == 0) {
            const struct ag_yaml_node *v = at_value(body, keys[i], at);
            err_at(c, v->line, v->col, "%s: %s must be greater than zero", path, keys[i]);
        }
    }
}

static void check_queue_size(struct cctx *c, uint32_t queue_size, const struct ag_yaml_node *body,
                             const struct ag_yaml_node *at, const char *path)
{
    if (queue_size == 0) {
        const struct ag_yaml_node *v = at_value(ag_yaml_map_get(body, "sending_queue"),
                                                "queue_size", at);
        err_at(c, v->line, v->col, "%s: sending_queue::queue_size must be greater than zero",
               path);
    }
}

/* PutRetentionPolicy's accepted values (specs/emf-cwlogs.md 10.4). */
static const uint32_t cw_retentions[] = {1,   3,   5,   7,    14,   30,   60,   90,
                                         120, 150, 180, 365,  400,  545,  731,  1096,
                                         1827, 2192, 2557, 2922, 3288, 3653};

static void check_retention(struct cctx *c, uint32_t days, const struct ag_yaml_node *body,
                            const struct ag_yaml_node *at, const char *path)
{
    int ok = days == 0;
    for (size_t i = 0; i < sizeof(cw_retentions) / sizeof(cw_retentions[0]); i++) {
        ok = ok || days == cw_retentions[i];
    }
    if (!ok) {
        const struct ag_yaml_node *v = at_value(body, "log_retention", at);
        err_at(c, v->line, v->col, "%s: log_retention must be 0 (never expire) or one of 1, 3, "
               "5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
               "2922, 3288, 3653 (days), got %u", path, days);
    }
}

static int validate_awsxray(struct cctx *c, struct ag_component_config *comp,
                            const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                            const char *path)
{
    struct ag_awsxray_config *x = &comp->u.awsxray_exporter;
    check_session(c, &x->aws, body, at, path);
    if (ag_gate_enabled(AG_GATE_AWSXRAY_SKIPTIMESTAMPVALIDATION) &&
        ag_yaml_map_get(body, "skip_timestamp_validation") == NULL) {
        x->skip_timestamp_validation = 1;
    }
    check_queue_size(c, x->queue_size, body, at, path);
    return 0;
}

static int validate_awscloudwatchlogs(struct cctx *c, struct ag_component_config *comp,
                                      const struct ag_yaml_node *body,
                                      const struct ag_yaml_node *at, const char *path)
{
    const struct ag_awscloudwatchlogs_config *x = &comp->u.awscloudwatchlogs;
    check_session(c, &x->aws, body, at, path);
    static const char *const names[] = {"log_group_name", "log_stream_name"};
    const char *const nvals[] = {x->log_group_name, x->log_stream_name};
    for (size_t i = 0; i < 2; i++) {
        if (nvals[i] == NULL || nvals[i][0] == '\0') {
            const struct ag_yaml_node *v = at_value(body, names[i], at);
            err_at(c, v->line, v->col, "%s: %s is required", path, names[i]);
        } else if (strlen(nvals[i]) > 512) {
            const struct ag_yaml_node *v = at_value(body, names[i], at);
            err_at(c, v->line, v->col, "%s: %s is longer than 512 bytes", path, names[i]);
        }
    }
    check_retention(c, x->log_retention, body, at, path);
    if (x->max_event_size < 64) {
        const struct ag_yaml_node *v = at_value(body, "max_event_size", at);
        err_at(c, v->line, v->col, "%s: max_event_size must be at least 64 bytes", path);
    }
    check_queue_size(c, x->queue_size, body, at, path);
    return 0;
}

static int validate_awsemf(struct cctx *c, struct ag_component_config *comp,
                           const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                           const char *path)
{
    struct ag_awsemf_config *x = &comp->u.awsemf;
    check_session(c, &x->aws, body, at, path);
    if (ag_gate_enabled(AG_GATE_AWSEMF_NODIMROLLUPDEFAULT) &&
        ag_yaml_map_get(body, "dimension_rollup_option") == NULL) {
        x->rollup = 2; /* NoDimensionRollup */
    }
    static const char *const names[] = {"log_group_name", "log_stream_name", "namespace"};
    const char *const nvals[] = {x->log_group_name, x->log_stream_name, x->namespace_};
    const size_t maxes[] = {512, 512, 1024};
    for (size_t i = 0; i < 3; i++) {
        if (nvals[i] != NULL && strlen(nvals[i]) > maxes[i]) {
            const struct ag_yaml_node *v = at_value(body, names[i], at);
            err_at(c, v->line, v->col, "%s: %s is longer than %zu bytes", path, names[i],
                   maxes[i]);
        }
    }
    check_retention(c, x->log_retention, body, at, path);
    if (x->max_event_size < 1024) {
        const struct ag_yaml_node *v = at_value(body, "max_event_size", at);
        err_at(c, v->line, v->col, "%s: max_event_size must be at least 1024 bytes", path);
    }
    check_queue_size(c, x->queue_size, body, at, path);
    return 0;
}

static int validate_slo(struct cctx *c, struct ag_component_config *comp,
                        const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                        const char *path)
{
    const struct ag_slo_config *x = &comp->u.slo;
    char sub[PATH_LEN];
    if (x->n_definitions == 0) {
        const struct ag_yaml_node *v = at_value(body, "definitions", at);
        err_at(c, v->line, v->col, "%s: definitions is required: a list of SLO definition files",
               path);
    }
    static const char *const names[] = {"checkpoint_interval", "evaluation_interval"};
    const uint64_t durs[] = {x->checkpoint_interval, x->evaluation_interval};
    for (size_t i = 0; i < 2; i++) {
        if (durs[i] < 1000000000ull) {
            const struct ag_yaml_node *v = at_value(body, names[i], at);
            err_at(c, v->line, v->col, "%s: %s must be at least 1s", path, names[i]);
        }
    }
    if (x->state_file != NULL && x->state_file[0] == '\0') {
        const struct ag_yaml_node *v = at_value(body, "state_file", at);
        err_at(c, v->line, v->col, "%s: state_file must not be empty (leave it out for no "
               "checkpoint)", path);
    }
    const struct ag_yaml_node *alerts = ag_yaml_map_get(body, "alerts");
    const struct ag_yaml_node *wh = ag_yaml_map_get(alerts, "webhook");
    const struct ag_yaml_node *wh_at = wh != NULL ? wh : at;
    if (wh != NULL && !ag_yaml_is_null(wh)) {
        if (x->webhook.endpoint == NULL) {
            err_at(c, wh_at->line, wh_at->col, "%s::alerts::webhook: endpoint is required", path);
        }
        if (x->webhook.timeout < 1000000ull) {
            const struct ag_yaml_node *v = at_value(wh, "timeout", wh_at);
            err_at(c, v->line, v->col, "%s::alerts::webhook: timeout must be at least 1ms", path);
        }
    }
    const struct ag_yaml_node *sns = ag_yaml_map_get(alerts, "sns");
    if (sns != NULL && !ag_yaml_is_null(sns)) {
        snprintf(sub, sizeof(sub), "%s::alerts::sns", path);
        check_session(c, &x->sns.aws, sns, sns, sub);
        if (x->sns.topic_arn == NULL || strncmp(x->sns.topic_arn, "arn:", 4) != 0) {
            const struct ag_yaml_node *v = at_value(sns, "topic_arn", sns);
            err_at(c, v->line, v->col, "%s: topic_arn is required: an SNS topic ARN "
                   "(arn:aws:sns:REGION:ACCOUNT:NAME)", sub);
        }
    }
    const struct ag_yaml_node *m = ag_yaml_map_get(body, "metrics");
    if (m != NULL && !ag_yaml_is_null(m)) {
        snprintf(sub, sizeof(sub), "%s::metrics", path);
        check_session(c, &x->metrics.aws, m, m, sub);
        if (x->metrics.interval < 1000000000ull) {
            const struct ag_yaml_node *v = at_value(m, "interval", m);
            err_at(c, v->line, v->col, "%s: interval must be at least 1s", sub);
        }
        static const char *const mn[] = {"log_group_name", "log_stream_name", "namespace"};
        const char *const mv[] = {x->metrics.log_group_name, x->metrics.log_stream_name,
                                  x->metrics.namespace_};
        const size_t maxes[] = {512, 512, 255};
        for (size_t i = 0; i < 3; i++) {
            if (mv[i] != NULL && (mv[i][0] == '\0' || strlen(mv[i]) > maxes[i])) {
                const struct ag_yaml_node *v = at_value(m, mn[i], m);
                err_at(c, v->line, v->col, "%s: %s must be 1 to %zu bytes", sub, mn[i], maxes[i]);
            }
        }
    }
    return 0;
}

/*
 * pprof and zpages: the collector's Go profiler and its debug pages. otterd has neither, but
 * ADOT's example configs list them, so they are accepted (their keys checked) and not started.
 */
static const struct opt go_debug_opts[] = {
    {.name = "endpoint", .type = OPT_STR, .off = NO_FIELD, .fn = check_endpoint},
    {.name = "block_profile_fraction", .type = OPT_I64, .off = NO_FIELD},
    {.name = "mutex_profile_fraction", .type = OPT_I64, .off = NO_FIELD},
    {.name = "save_to_file", .type = OPT_STR, .off = NO_FIELD},
    {.name = "expvar", .type = OPT_ANY, .off = NO_FIELD},
    END_OPTS,
};

static int validate_go_debug(struct cctx *c, struct ag_component_config *comp,
                             const struct ag_yaml_node *body, const struct ag_yaml_node *at,
                             const char *path)
{
    (void)comp;
    (void)body;
    warn_at(c, at->line, at->col, "%s: otterd has no Go runtime to profile or inspect: the "
            "extension is accepted and not started (its endpoint is not opened)", path);
    return 0;
}

static const struct comp_type comp_types[] = {
    {"otlp", NULL, AG_KIND_RECEIVER, AG_COMP_OTLP_RECEIVER, otlp_opts, validate_otlp},
    {"batch", NULL, AG_KIND_PROCESSOR, AG_COMP_BATCH, batch_opts, validate_batch},
    {"memory_limiter", NULL, AG_KIND_PROCESSOR, AG_COMP_MEMORY_LIMITER, memory_limiter_opts,
     validate_memory_limiter},
    {"resource", NULL, AG_KIND_PROCESSOR, AG_COMP_RESOURCE, resource_opts, NULL},
    {"attributes", NULL, AG_KIND_PROCESSOR, AG_COMP_ATTRIBUTES, attributes_opts, NULL},
    {"resource_detection", "resourcedetection", AG_KIND_PROCESSOR, AG_COMP_RESOURCE_DETECTION,
     resource_detection_opts, NULL},
    {"debug", NULL, AG_KIND_EXPORTER, AG_COMP_DEBUG, debug_opts, NULL},
    {"file", NULL, AG_KIND_EXPORTER, AG_COMP_FILE, file_opts, validate_file},
    {"nop", NULL, AG_KIND_EXPORTER, AG_COMP_NOP, nop_opts, NULL},
    {"health_check", NULL, AG_KIND_EXTENSION, AG_COMP_HEALTH_CHECK, health_check_opts, NULL},
    {"pprof", NULL, AG_KIND_EXTENSION, AG_COMP_GO_DEBUG, go_debug_opts, validate_go_debug},
    {"zpages", NULL, AG_KIND_EXTENSION, AG_COMP_GO_DEBUG, go_debug_opts, validate_go_debug},
    {"awsxray", NULL, AG_KIND_EXPORTER, AG_COMP_AWSXRAY_EXPORTER, awsxray_exporter_opts,
     validate_awsxray},
    {"awsxray", NULL, AG_KIND_RECEIVER, AG_COMP_AWSXRAY_RECEIVER, awsxray_receiver_opts, NULL},
    {"awscloudwatchlogs", NULL, AG_KIND_EXPORTER, AG_COMP_AWSCLOUDWATCHLOGS_EXPORTER,
     awscloudwatchlogs_opts, validate_awscloudwatchlogs},
    {"awsemf", NULL, AG_KIND_EXPORTER, AG_COMP_AWSEMF_EXPORTER, awsemf_opts, validate_awsemf},
    {"slo", NULL, AG_KIND_EXPORTER, AG_COMP_SLO_EXPORTER, slo_opts, validate_slo},
};

#define N_COMP_TYPES (sizeof(comp_types) / sizeof(comp_types[0]))

/* Component types of the collector and ADOT that otterd knows of but does not have yet. */
static const char *const unsupported_receivers[] = {
    "prometheus", "prometheus_simple", "awsecscontainermetrics",
    "awscontainerinsightreceiver", "statsd", "zipkin", "jaeger", "hostmetrics", "filelog",
    "kafka", "otlpjsonfile", "k8s_cluster", "k8s_events", "kubeletstats", "journald", "syslog",
    "tcplog", "udplog", "awsfirehose", "nop", NULL};
static const char *const unsupported_processors[] = {
    "filter", "transform", "probabilistic_sampler", "tail_sampling",
    "span", "metricstransform", "cumulativetodelta", "deltatorate", "deltatocumulative",
    "groupbytrace", "groupbyattrs", "k8sattributes", "metricsgeneration",
    "experimental_metricsgeneration", "routing", "redaction", "interval", NULL};
static const char *const unsupported_exporters[] = {
    "otlphttp", "otlp", "otlp_grpc", "otlp_http",
    "prometheus", "prometheusremotewrite", "kafka", "loadbalancing", "awss3", "awskinesis",
    "zipkin", "sapm", "signalfx", NULL};
static const char *const unsupported_extensions[] = {
    "sigv4auth", "awsproxy", "ecs_observer", "ecsobserver", "file_storage",
    "oidc", "bearertokenauth", "basicauth", "headers_setter", "memory_ballast",
    "jaegerremotesampling", "k8s_observer", NULL};

static const char *const section_names[] = {"receivers", "processors", "exporters",
                                            "extensions"};
static const char *const kind_names[] = {"receiver", "processor", "exporter", "extension"};

static const struct comp_type *comp_type_for(enum ag_component_type type)
{
    for (size_t i = 0; i < N_COMP_TYPES; i++) {
        if (comp_types[i].type == type) {
            return &comp_types[i];
        }
    }
    return NULL;
}

static int in_list(const char *const *list, const char *s, size_t len)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Checks "type[/name]"; returns the type's length, or 0 after reporting. */
static size_t check_id(struct cctx *c, const struct ag_yaml_node *k, const char *what)
{
    const char *id = k->str;
    const char *slash = strchr(id, '/');
    size_t tlen = slash != NULL ? (size_t)(slash - id) : strlen(id);
    char q[QUOTE_LEN];
    ag_yaml_quote(id, q, sizeof(q));
    int ok = tlen > 0 && tlen <= 63 && ((id[0] >= 'a' && id[0] <= 'z') ||
                                        (id[0] >= 'A' && id[0] <= 'Z'));
    for (size_t i = 1; ok && i < tlen; i++) {
        char ch = id[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_';
    }
    if (!ok) {
        err_at(c, k->line, k->col, "invalid %s id '%s': the type must start with a letter and "
               "contain only letters, digits and '_'", what, q);
        return 0;
    }
    if (slash != NULL) {
        const char *name = slash + 1;
        ok = *name != '\0';
        for (const char *p = name; ok && *p != '\0'; p++) {
            unsigned char u = (unsigned char)*p;
            ok = u > 0x20 && u != 0x7f && u != '/';
        }
        if (!ok) {
            err_at(c, k->line, k->col, "invalid %s id '%s': the name after '/' must be non-empty "
                   "without spaces or '/'", what, q);
            return 0;
        }
    }
    return tlen;
}

static int add_def(struct cctx *c, enum ag_component_kind kind, const struct ag_yaml_node *k,
                   size_t index)
{
    if (c->n_defs == c->cap_defs) {
        size_t n = c->cap_defs ? c->cap_defs * 2 : 16;
        struct def *d = ag_realloc(c->defs, n * sizeof(*d));
        if (d == NULL) {
            return AG_ENOMEM;
        }
        c->defs = d;
        c->cap_defs = n;
    }
    struct def *d = &c->defs[c->n_defs++];
    d->kind = kind;
    d->id = k->str;
    d->line = k->line;
    d->col = k->col;
    d->index = index;
    d->used = 0;
    return 0;
}

static struct def *find_def(struct cctx *c, enum ag_component_kind kind, const char *id)
{
    for (size_t i = 0; i < c->n_defs; i++) {
        if (c->defs[i].kind == kind && strcmp(c->defs[i].id, id) == 0) {
            return &c->defs[i];
        }
    }
    return NULL;
}

static int parse_component(struct cctx *c, enum ag_component_kind kind,
                           const struct ag_yaml_pair *pair)
{
    const struct ag_yaml_node *k = pair->key;
    char q[QUOTE_LEN];
    char path[PATH_LEN];
    size_t tlen = check_id(c, k, kind_names[kind]);
    if (tlen == 0) {
        return add_def(c, kind, k, NO_FIELD);
    }
    const struct comp_type *ct = NULL;
    for (size_t i = 0; i < N_COMP_TYPES && ct == NULL; i++) {
        const struct comp_type *t = &comp_types[i];
        if (t->kind == kind && ((strlen(t->name) == tlen && memcmp(t->name, k->str, tlen) == 0) ||
                                (t->alias != NULL && strlen(t->alias) == tlen &&
                                 memcmp(t->alias, k->str, tlen) == 0))) {
            ct = t;
        }
    }
    if (ct == NULL) {
        static const char *const *const unsupported[] = {
            unsupported_receivers, unsupported_processors, unsupported_exporters,
            unsupported_extensions};
        snprintf(q, sizeof(q), "%.*s", (int)tlen, k->str);
        if (kind == AG_KIND_EXPORTER && strcmp(q, "logging") == 0) {
            err_at(c, k->line, k->col, "exporter type 'logging' was removed from the collector; "
                   "use 'debug'");
        } else if (in_list(unsupported[kind], k->str, tlen)) {
            err_at(c, k->line, k->col, "component type '%s' is not supported by this otterd yet",
                   q);
        } else {
            err_at(c, k->line, k->col, "unknown %s type '%s'", kind_names[kind], q);
        }
        return add_def(c, kind, k, NO_FIELD);
    }

    struct ag_config *cfg = c->cfg;
    struct ag_component_config *arr =
        ag_realloc(cfg->components, (cfg->n_components + 1) * sizeof(*arr));
    if (arr == NULL) {
        return AG_ENOMEM;
    }
    cfg->components = arr;
    size_t idx = cfg->n_components;
    struct ag_component_config *comp = &arr[idx];
    memset(comp, 0, sizeof(*comp));
    comp->id = ag_strdup(k->str);
    if (comp->id == NULL) {
        return AG_ENOMEM;
    }
    cfg->n_components++;
    comp->kind = kind;
    comp->type = ct->type;
    comp->loc.line = k->line;
    comp->loc.col = k->col;
    int rc = apply_defaults(c, ct->schema, (char *)&comp->u);
    if (rc == 0) {
        rc = add_def(c, kind, k, idx);
    }
    if (rc != 0) {
        return rc;
    }
    int before = c->n_errors;
    ag_yaml_quote(k->str, q, sizeof(q));
    snprintf(path, sizeof(path), "%s::%s", section_names[kind], q);
    rc = walk_table(c, ct->schema, (char *)&comp->u, pair->value, path);
    if (rc == 0 && ct->validate != NULL && c->n_errors == before &&
        (ag_yaml_is_null(pair->value) || pair->value->type == AG_YAML_MAPPING)) {
        /* Cross-field checks only make sense once every field parsed. */
        rc = ct->validate(c, comp, pair->value, k, path);
    }
    return rc;
}

static int parse_section(struct cctx *c, enum ag_component_kind kind,
                         const struct ag_yaml_pair *sec)
{
    const struct ag_yaml_node *v = sec->value;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_MAPPING) {
        err_at(c, v->line, v->col, "%s: expected a mapping of component ids, got %s",
               section_names[kind], ag_yaml_type_name(v));
        return 0;
    }
    for (size_t i = 0; i < v->n_pairs; i++) {
        int rc = parse_component(c, kind, &v->pairs[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- service --------------------------------------------------------------------------------- */

/* Resolves a list of component ids to indexes. Returns 0 or AG_ENOMEM; errors are counted. */
static int resolve_list(struct cctx *c, enum ag_component_kind kind,
                        const struct ag_yaml_node *list, const char *owner, size_t **out,
                        size_t *n_out)
{
    char q[QUOTE_LEN];
    *out = NULL;
    *n_out = 0;
    if (ag_yaml_is_null(list)) {
        return 0;
    }
    if (list->type != AG_YAML_SEQUENCE) {
        show(list, q, sizeof(q));
        err_at(c, list->line, list->col, "%s: expected a list of %s ids, got '%s'", owner,
               kind_names[kind], q);
        return 0;
    }
    if (list->n_items == 0) {
        return 0;
    }
    size_t *idx = ag_calloc(list->n_items, sizeof(*idx));
    if (idx == NULL) {
        return AG_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < list->n_items; i++) {
        const struct ag_yaml_node *it = list->items[i];
        if (it->type != AG_YAML_SCALAR || ag_yaml_is_null(it)) {
            err_at(c, it->line, it->col, "%s: expected a %s id, got %s", owner, kind_names[kind],
                   it->type == AG_YAML_SCALAR ? "null" : ag_yaml_type_name(it));
            continue;
        }
        ag_yaml_quote(it->str, q, sizeof(q));
        struct def *d = find_def(c, kind, it->str);
        if (d == NULL) {
            err_at(c, it->line, it->col, "%s references undefined %s %s", owner,
                   kind_names[kind], q);
            continue;
        }
        d->used = 1;
        if (d->index == NO_FIELD) {
            continue; /* its definition was already reported */
        }
        int dup = 0;
        for (size_t j = 0; j < n; j++) {
            dup |= idx[j] == d->index;
        }
        if (dup) {
            err_at(c, it->line, it->col, "%s references %s %s more than once", owner,
                   kind_names[kind], q);
            continue;
        }
        idx[n++] = d->index;
    }
    if (n == 0) {
        ag_free(idx);
        idx = NULL;
    }
    *out = idx;
    *n_out = n;
    return 0;
}

static int list_empty(const struct ag_yaml_node *list)
{
    return ag_yaml_is_null(list) || (list->type == AG_YAML_SEQUENCE && list->n_items == 0);
}

static void free_pipeline(struct ag_pipeline_config *p)
{
    ag_free(p->id);
    ag_free(p->receivers);
    ag_free(p->processors);
    ag_free(p->exporters);
}

static int parse_pipeline(struct cctx *c, const struct ag_yaml_pair *pair)
{
    static const char *const signals[] = {"traces", "metrics", "logs"};
    static const enum ag_signal signal_values[] = {AG_SIGNAL_TRACES, AG_SIGNAL_METRICS,
                                                   AG_SIGNAL_LOGS};
    const struct ag_yaml_node *k = pair->key, *body = pair->value;
    struct ag_pipeline_config p;
    char q[QUOTE_LEN];
    char owner[PATH_LEN];
    int rc = 0;
    memset(&p, 0, sizeof(p));
    ag_yaml_quote(k->str, q, sizeof(q));
    size_t tlen = check_id(c, k, "pipeline");
    if (tlen == 0) {
        return 0;
    }
    int sig = -1;
    for (int i = 0; i < 3; i++) {
        if (strlen(signals[i]) == tlen && memcmp(signals[i], k->str, tlen) == 0) {
            sig = i;
        }
    }
    if (sig < 0) {
        err_at(c, k->line, k->col, "invalid pipeline id '%s': the signal must be traces, metrics "
               "or logs", q);
        return 0;
    }
    snprintf(owner, sizeof(owner), "pipeline %s", q);
    if (!ag_yaml_is_null(body) && body->type != AG_YAML_MAPPING) {
        err_at(c, body->line, body->col, "%s: expected a mapping with receivers, processors and "
               "exporters, got %s", owner, ag_yaml_type_name(body));
        return 0;
    }
    for (size_t i = 0; body != NULL && i < body->n_pairs; i++) {
        const char *key = body->pairs[i].key->str;
        if (strcmp(key, "receivers") != 0 && strcmp(key, "processors") != 0 &&
            strcmp(key, "exporters") != 0) {
            char kq[QUOTE_LEN];
            ag_yaml_quote(key, kq, sizeof(kq));
            err_at(c, body->pairs[i].key->line, body->pairs[i].key->col,
                   "unknown key '%s' in service::pipelines::%s", kq, q);
        }
    }
    p.signal = signal_values[sig];
    p.loc.line = k->line;
    p.loc.col = k->col;
    rc = resolve_list(c, AG_KIND_RECEIVER, ag_yaml_map_get(body, "receivers"), owner,
                      &p.receivers, &p.n_receivers);
    if (rc == 0) {
        rc = resolve_list(c, AG_KIND_PROCESSOR, ag_yaml_map_get(body, "processors"), owner,
                          &p.processors, &p.n_processors);
    }
    if (rc == 0) {
        rc = resolve_list(c, AG_KIND_EXPORTER, ag_yaml_map_get(body, "exporters"), owner,
                          &p.exporters, &p.n_exporters);
    }
    if (rc != 0) {
        free_pipeline(&p);
        return rc;
    }
    /* Count written ids, not resolved ones, so an undefined id is not reported twice. */
    if (list_empty(ag_yaml_map_get(body, "receivers"))) {
        err_at(c, k->line, k->col, "%s must have at least one receiver", owner);
    }
    if (list_empty(ag_yaml_map_get(body, "exporters"))) {
        err_at(c, k->line, k->col, "%s must have at least one exporter", owner);
    }
    /* X-Ray documents are traces: the awsxray receiver feeds nothing else (as upstream). */
    const struct ag_yaml_node *rl = ag_yaml_map_get(body, "receivers");
    for (size_t j = 0; rl != NULL && rl->type == AG_YAML_SEQUENCE && j < rl->n_items; j++) {
        const struct ag_yaml_node *it = rl->items[j];
        const struct def *d =
            it->type == AG_YAML_SCALAR ? find_def(c, AG_KIND_RECEIVER, it->str) : NULL;
        if (d != NULL && d->index != NO_FIELD && p.signal != AG_SIGNAL_TRACES &&
            c->cfg->components[d->index].type == AG_COMP_AWSXRAY_RECEIVER) {
            char rq[QUOTE_LEN];
            ag_yaml_quote(it->str, rq, sizeof(rq));
            err_at(c, it->line, it->col, "%s: receiver %s is an awsxray receiver, which feeds "
                   "traces pipelines only", owner, rq);
        }
    }
    const struct ag_yaml_node *pl = ag_yaml_map_get(body, "processors");
    for (size_t j = 1; pl != NULL && pl->type == AG_YAML_SEQUENCE && j < pl->n_items; j++) {
        const struct ag_yaml_node *it = pl->items[j];
        const struct def *d =
            it->type == AG_YAML_SCALAR ? find_def(c, AG_KIND_PROCESSOR, it->str) : NULL;
        if (d != NULL && d->index != NO_FIELD &&
            c->cfg->components[d->index].type == AG_COMP_MEMORY_LIMITER) {
            warn_at(c, it->line, it->col, "%s: memory_limiter should be the first processor",
                    owner);
        }
    }
    const struct ag_yaml_node *el = ag_yaml_map_get(body, "exporters");
    for (size_t j = 0; p.signal != AG_SIGNAL_TRACES && el != NULL &&
                       el->type == AG_YAML_SEQUENCE && j < el->n_items; j++) {
        const struct ag_yaml_node *it = el->items[j];
        const struct def *d =
            it->type == AG_YAML_SCALAR ? find_def(c, AG_KIND_EXPORTER, it->str) : NULL;
        if (d != NULL && d->index != NO_FIELD &&
            c->cfg->components[d->index].type == AG_COMP_AWSXRAY_EXPORTER) {
            err_at(c, it->line, it->col, "%s: exporter '%s' takes traces only", owner, it->str);
        }
    }
    for (size_t j = 0; p.signal != AG_SIGNAL_LOGS && el != NULL && el->type == AG_YAML_SEQUENCE &&
                       j < el->n_items; j++) {
        const struct ag_yaml_node *it = el->items[j];
        const struct def *d =
            it->type == AG_YAML_SCALAR ? find_def(c, AG_KIND_EXPORTER, it->str) : NULL;
        if (d != NULL && d->index != NO_FIELD &&
            c->cfg->components[d->index].type == AG_COMP_AWSCLOUDWATCHLOGS_EXPORTER) {
            err_at(c, it->line, it->col, "%s: exporter '%s' takes logs only", owner, it->str);
        }
    }
    for (size_t j = 0; p.signal != AG_SIGNAL_METRICS && el != NULL &&
                       el->type == AG_YAML_SEQUENCE && j < el->n_items; j++) {
        const struct ag_yaml_node *it = el->items[j];
        const struct def *d =
            it->type == AG_YAML_SCALAR ? find_def(c, AG_KIND_EXPORTER, it->str) : NULL;
        if (d != NULL && d->index != NO_FIELD &&
            c->cfg->components[d->index].type == AG_COMP_AWSEMF_EXPORTER) {
            err_at(c, it->line, it->col, "%s: exporter '%s' takes metrics only", owner, it->str);
        }
    }
    for (size_t j = 0; p.signal == AG_SIGNAL_LOGS && el != NULL && el->type == AG_YAML_SEQUENCE &&
                       j < el->n_items; j++) {
        const struct ag_yaml_node *it = el->items[j];
        const struct def *d =
            it->type == AG_YAML_SCALAR ? find_def(c, AG_KIND_EXPORTER, it->str) : NULL;
        if (d != NULL && d->index != NO_FIELD &&
            c->cfg->components[d->index].type == AG_COMP_SLO_EXPORTER) {
            err_at(c, it->line, it->col, "%s: exporter '%s' takes traces and metrics only", owner,
                   it->str);
        }
    }
    p.id = ag_strdup(k->str);
    struct ag_config *cfg = c->cfg;
    struct ag_pipeline_config *arr =
        p.id != NULL ? ag_realloc(cfg->pipelines, (cfg->n_pipelines + 1) * sizeof(*arr)) : NULL;
    if (arr == NULL) {
        free_pipeline(&p);
        return AG_ENOMEM;
    }
    cfg->pipelines = arr;
    arr[cfg->n_pipelines++] = p;
    return 0;
}

static int parse_pipelines(struct cctx *c, const struct ag_yaml_node *v, void *field,
                           const char *path)
{
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    if (v->type != AG_YAML_MAPPING) {
        err_at(c, v->line, v->col, "%s: expected a mapping of pipelines, got %s", path,
               ag_yaml_type_name(v));
        return AG_EINVAL;
    }
    for (size_t i = 0; i < v->n_pairs; i++) {
        int rc = parse_pipeline(c, &v->pairs[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int parse_service_extensions(struct cctx *c, const struct ag_yaml_node *v, void *field,
                                    const char *path)
{
    ag_free(c->cfg->extensions);
    c->cfg->extensions = NULL;
    c->cfg->n_extensions = 0;
    return resolve_list(c, AG_KIND_EXTENSION, v, path, &c->cfg->extensions,
                        &c->cfg->n_extensions);
}

static int parse_log_level(struct cctx *c, const struct ag_yaml_node *v, void *field,
                           const char *path)
{
    int *out = field;
    if (ag_yaml_is_null(v)) {
        return 0;
    }
    int level = v->type == AG_YAML_SCALAR ? ag_log_level_parse(v->str) : -1;
    if (level < 0) {
        char q[QUOTE_LEN];
        show(v, q, sizeof(q));
        err_at(c, v->line, v->col, "%s: expected debug, info, warn or error, got '%s'", path, q);
        return AG_EINVAL;
    }
    *out = level;
    return 0;
}

static int parse_log_encoding(struct cctx *c, const struct ag_yaml_node *v, void *field,
                              const char *path)
{
    static const char *const names[] = {"console", "json"}; /* 0, 1 */
    return parse_choice(c, v, field, path, names, 2, false, "console or json");
}

static const struct opt telemetry_logs_opts[] = {
    {.name = "level", .type = OPT_CUSTOM, .off = OFF(ag_config, log_level),
     .fn = parse_log_level},
    {.name = "encoding", .type = OPT_CUSTOM, .off = OFF(ag_config, log_json),
     .fn = parse_log_encoding},
    IGNORED("development", OPT_BOOL),
    IGNORED("sampling", OPT_ANY),
    IGNORED("output_paths", OPT_STRLIST),
    IGNORED("error_output_paths", OPT_STRLIST),
    IGNORED("initial_fields", OPT_ANY),
    IGNORED("disable_caller", OPT_BOOL),
    IGNORED("disable_stacktrace", OPT_BOOL),
    IGNORED("processors", OPT_ANY),
    END_OPTS,
};

static const struct opt telemetry_metrics_opts[] = {
    {.name = "address", .type = OPT_STR, .off = OFF(ag_config, metrics_address),
     .def = "localhost:8888", .fn = check_endpoint_or_empty},
    IGNORED("level", OPT_STR),
    IGNORED("readers", OPT_ANY),
    END_OPTS,
};

static const struct opt telemetry_opts[] = {
    {.name = "logs", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = telemetry_logs_opts},
    {.name = "metrics", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD,
     .sub = telemetry_metrics_opts},
    IGNORED("traces", OPT_ANY),
    IGNORED("resource", OPT_ANY),
    END_OPTS,
};

static const struct opt service_opts[] = {
    {.name = "extensions", .type = OPT_CUSTOM, .off = 0, .fn = parse_service_extensions},
    {.name = "pipelines", .type = OPT_CUSTOM, .off = 0, .fn = parse_pipelines},
    {.name = "telemetry", .type = OPT_TABLE, .off = 0, .off2 = NO_FIELD, .sub = telemetry_opts},
    {.name = "shutdown_timeout", .type = OPT_DUR, .off = OFF(ag_config, shutdown_timeout),
     .def = "10s"},
    END_OPTS,
};

/* ---- loading --------------------------------------------------------------------------------- */

static void warn_unused(struct cctx *c)
{
    for (size_t i = 0; i < c->n_defs; i++) {
        const struct def *d = &c->defs[i];
        char q[QUOTE_LEN];
        if (d->used || d->index == NO_FIELD) {
            continue;
        }
        ag_yaml_quote(d->id, q, sizeof(q));
        if (d->kind == AG_KIND_EXTENSION) {
            warn_at(c, d->line, d->col, "extension %s is defined but not enabled in "
                    "service::extensions", q);
        } else {
            warn_at(c, d->line, d->col, "%s %s is defined but not used in any pipeline",
                    kind_names[d->kind], q);
        }
    }
}

static int load_tree(struct cctx *c, const struct ag_yaml_node *root)
{
    struct ag_config *cfg = c->cfg;
    const struct ag_yaml_pair *sections[4] = {NULL, NULL, NULL, NULL};
    const struct ag_yaml_pair *service = NULL;
    int rc;

    cfg->log_level = AG_LOG_INFO;
    cfg->log_json = 0;
    rc = apply_defaults(c, service_opts, (char *)cfg);
    if (rc != 0) {
        return rc;
    }
    if (root != NULL && !ag_yaml_is_null(root) && root->type != AG_YAML_MAPPING) {
        err_at(c, root->line, root->col, "the config must be a mapping (receivers, processors, "
               "exporters, extensions, service), got %s", ag_yaml_type_name(root));
        return 0;
    }
    for (size_t i = 0; root != NULL && i < root->n_pairs; i++) {
        const struct ag_yaml_pair *pair = &root->pairs[i];
        const char *key = pair->key->str;
        int found = 0;
        for (int k = 0; k < 4; k++) {
            if (strcmp(key, section_names[k]) == 0) {
                sections[k] = pair;
                found = 1;
            }
        }
        if (found) {
            continue;
        }
        if (strcmp(key, "service") == 0) {
            service = pair;
        } else if (strcmp(key, "connectors") == 0) {
            const struct ag_yaml_node *v = pair->value;
            if (!ag_yaml_is_null(v) && !(v->type == AG_YAML_MAPPING && v->n_pairs == 0)) {
                err_at(c, pair->key->line, pair->key->col,
                       "connectors are not supported by this otterd yet");
            }
        } else {
            char q[QUOTE_LEN];
            ag_yaml_quote(key, q, sizeof(q));
            err_at(c, pair->key->line, pair->key->col, "unknown key '%s' at the top level", q);
        }
    }
    for (int k = 0; k < 4; k++) {
        if (sections[k] != NULL) {
            rc = parse_section(c, (enum ag_component_kind)k, sections[k]);
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (service != NULL) {
        rc = walk_table(c, service_opts, (char *)cfg, service->value, "service");
        if (rc != 0) {
            return rc;
        }
    }
    const struct ag_yaml_pair *pls =
        service != NULL ? ag_yaml_map_pair(service->value, "pipelines") : NULL;
    if (pls == NULL || ag_yaml_is_null(pls->value) ||
        (pls->value->type == AG_YAML_MAPPING && pls->value->n_pairs == 0)) {
        const struct ag_yaml_node *at = pls != NULL ? pls->key : service != NULL ? service->key
                                                                                 : NULL;
        err_at(c, at != NULL ? at->line : 1, at != NULL ? at->col : 1,
               "service::pipelines must define at least one pipeline");
    }
    if (c->n_errors == 0) {
        warn_unused(c);
    }
    return 0;
}

int ag_config_load_string(const char *name, const char *yaml, size_t len, struct ag_config **out,
                          struct ag_buf *diag)
{
    struct cctx c;
    struct ag_yaml_node *root = NULL;
    struct ag_config *cfg = NULL;
    int rc;

    *out = NULL;
    memset(&c, 0, sizeof(c));
    c.name = name != NULL ? name : "<config>";
    c.diag = diag;
    if (yaml == NULL) {
        return AG_EINVAL;
    }
    rc = ag_yaml_parse(c.name, yaml, len, AG_YAML_EXPAND_ENV, &root, diag);
    if (rc != 0) {
        return rc == AG_ETOOBIG ? AG_EINVAL : rc;
    }
    cfg = ag_calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    cfg->source = ag_strdup(c.name);
    if (cfg->source == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    c.cfg = cfg;
    rc = load_tree(&c, root);
    if (rc == 0 && c.n_errors > 0) {
        rc = AG_EINVAL;
    }
out:
    ag_free(c.defs);
    ag_yaml_free(root);
    if (rc != 0) {
        ag_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int ag_config_load_file(const char *path, struct ag_config **out, struct ag_buf *diag)
{
    struct ag_buf text;
    int fd = -1;
    int rc = 0;

    *out = NULL;
    ag_buf_init(&text, AG_YAML_MAX_INPUT);
    if (path == NULL) {
        return AG_EINVAL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = e == ENOENT ? AG_ENOTFOUND : ag_err_from_errno(e);
        if (diag != NULL && ag_buf_printf(diag, "%s: error: cannot open: %s\n", path,
                                          strerror(e)) != 0) {
            rc = rc != 0 ? rc : AG_ENOMEM;
        }
        return rc;
    }
    for (;;) {
        size_t room = text.cap - text.len;
        if (room == 0) {
            /* Full: one more byte tells a file that fits exactly from one that is too big. */
            char probe;
            ssize_t n = read(fd, &probe, 1);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            rc = n == 0 ? 0 : n > 0 ? AG_ETOOBIG : ag_err_from_errno(errno);
            break;
        }
        size_t chunk = room < 4096 ? room : 4096;
        uint8_t *p = ag_buf_reserve(&text, chunk);
        if (p == NULL) {
            rc = AG_ENOMEM;
            break;
        }
        ssize_t n = read(fd, p, chunk);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = ag_err_from_errno(errno);
            break;
        }
        if (n == 0) {
            break;
        }
        ag_buf_commit(&text, (size_t)n);
    }
    close(fd);
    if (rc == AG_ETOOBIG) {
        if (diag != NULL && ag_buf_printf(diag, "%s: error: the config is larger than %u bytes\n",
                                          path, AG_YAML_MAX_INPUT) != 0) {
            /* diag is best effort */
        }
        ag_buf_cleanup(&text);
        return AG_EINVAL;
    }
    if (rc != 0) {
        if (diag != NULL && rc != AG_ENOMEM &&
            ag_buf_printf(diag, "%s: error: cannot read: %s\n", path, ag_strerror(rc)) != 0) {
            /* diag is best effort */
        }
        ag_buf_cleanup(&text);
        return rc;
    }
    const char *s = text.data != NULL ? (const char *)text.data : "";
    rc = ag_config_load_string(path, s, text.len, out, diag);
    ag_buf_cleanup(&text);
    return rc;
}

/* Appends |s| as the inside of a YAML double-quoted scalar that survives ${} expansion. */
static int add_yaml_quoted(struct ag_buf *b, const char *s)
{
    int rc = 0;
    for (; rc == 0 && *s != '\0'; s++) {
        unsigned char u = (unsigned char)*s;
        if (u == '"' || u == '\\') {
            rc = ag_buf_addc(b, '\\');
            if (rc == 0) {
                rc = ag_buf_addc(b, (char)u);
            }
        } else if (u == '$') {
            rc = ag_buf_adds(b, "$$");
        } else if (u < 0x20 || u == 0x7f) {
            return AG_EINVAL;
        } else {
            rc = ag_buf_addc(b, (char)u);
        }
    }
    return rc;
}

int ag_config_default(const char *data_dir, struct ag_config **out, struct ag_buf *diag)
{
    static const char *const sig[] = {"traces", "metrics", "logs"};
    struct ag_buf y;
    int rc = 0;

    *out = NULL;
    if (data_dir == NULL) {
        data_dir = "./otter-data";
    }
    size_t dlen = strlen(data_dir);
    while (dlen > 1 && data_dir[dlen - 1] == '/') {
        dlen--; /* "dir/" and "dir" give the same paths */
    }
    char *dir = ag_strndup(data_dir, dlen);
    if (dir == NULL) {
        return AG_ENOMEM;
    }
    ag_buf_init(&y, 64 * 1024);
    rc = ag_buf_adds(&y, "receivers:\n"
                         "  otlp:\n"
                         "    protocols:\n"
                         "      grpc:\n"
                         "        endpoint: localhost:4317\n"
                         "      http:\n"
                         "        endpoint: localhost:4318\n"
                         "processors:\n"
                         "  batch:\n"
                         "exporters:\n");
    for (int i = 0; rc == 0 && i < 3; i++) {
        rc = ag_buf_printf(&y, "  file/%s:\n    path: \"", sig[i]);
        if (rc == 0) {
            rc = add_yaml_quoted(&y, dir);
        }
        if (rc == 0) {
            rc = ag_buf_printf(&y, "%s%s.jsonl\"\n", strcmp(dir, "/") == 0 ? "" : "/", sig[i]);
        }
    }
    if (rc == 0) {
        rc = ag_buf_adds(&y, "service:\n  pipelines:\n");
    }
    for (int i = 0; rc == 0 && i < 3; i++) {
        rc = ag_buf_printf(&y, "    %s:\n      receivers: [otlp]\n      processors: [batch]\n"
                               "      exporters: [file/%s]\n", sig[i], sig[i]);
    }
    ag_free(dir);
    if (rc == AG_EINVAL) {
        if (diag != NULL && ag_buf_adds(diag, "<default>: error: the data directory contains "
                                              "control characters\n") != 0) {
            /* diag is best effort */
        }
        ag_buf_cleanup(&y);
        return AG_EINVAL;
    }
    if (rc != 0) {
        ag_buf_cleanup(&y);
        return rc == AG_ETOOBIG ? AG_EINVAL : rc;
    }
    rc = ag_config_load_string("<default>", ag_buf_str(&y), y.len, out, diag);
    ag_buf_cleanup(&y);
    return rc;
}

long ag_config_find(const struct ag_config *cfg, enum ag_component_kind kind, const char *id)
{
    if (cfg == NULL || id == NULL) {
        return -1;
    }
    for (size_t i = 0; i < cfg->n_components; i++) {
        if (cfg->components[i].kind == kind && strcmp(cfg->components[i].id, id) == 0) {
            return (long)i;
        }
    }
    return -1;
}

void ag_config_free(struct ag_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->n_components; i++) {
        struct ag_component_config *comp = &cfg->components[i];
        const struct comp_type *ct = comp_type_for(comp->type);
        if (ct != NULL) {
            free_fields(ct->schema, (char *)&comp->u);
        }
        ag_free(comp->id);
    }
    ag_free(cfg->components);
    for (size_t i = 0; i < cfg->n_pipelines; i++) {
        free_pipeline(&cfg->pipelines[i]);
    }
    ag_free(cfg->pipelines);
    ag_free(cfg->extensions);
    free_fields(service_opts, (char *)cfg);
    ag_free(cfg->source);
    ag_free(cfg);
}
