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
 * system: host.name (the first of hostname_sources that answers: dns and cname, the canonical
 * name getaddrinfo gives the host name; lookup, the name of its first address; os,
 * gethostname), os.type; host.id (/etc/machine-id), host.arch, os.description when enabled.
 * ec2: IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, else 169.254.169.254; none with
 * AWS_EC2_METADATA_DISABLED=true): the instance identity document and the hostname give
 * cloud.provider, cloud.platform (aws_ec2), cloud.region, cloud.account.id,
 * cloud.availability_zone, host.id, host.image.id, host.type, host.name. No IMDS within the
 * processor's timeout: not on EC2, nothing detected; an IMDS that answers wrongly: a warning,
 * nothing detected (the collector logs the error and goes on too).
 */
#include "ag_component.h"
#include "ag_log.h"
#include "ag_mem.h"

#include "ag_time.h"

#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

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

/* ---- system ---------------------------------------------------------------------------------- */

static bool attr_on(const struct ag_rd_attrs *a, unsigned defaults, enum ag_rd_attr x)
{
    unsigned bit = 1u << x;
    return ((defaults & bit) != 0 || (a->on & bit) != 0) && (a->off & bit) == 0;
}

static int add_named(struct resource_detection *rd, enum ag_rd_attr x, const char *v)
{
    const char *k = ag_rd_attr_names[x];
    return add_attr(rd, k, strlen(k), v, strlen(v));
}

/* Copies |s| to |out| (|len| bytes); 0, or -1 when it does not fit. */
static int put_str(char *out, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n >= len) {
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* The host's name by one hostname source; 0, or -1 when the source has no answer. */
static int host_name_from(const char *source, char *out, size_t len)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0) {
        return -1;
    }
    host[sizeof(host) - 1] = '\0';
    if (strcmp(source, "os") == 0) {
        return host[0] != '\0' ? put_str(out, len, host) : -1;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_CANONNAME;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL) {
        return -1;
    }
    int rc = -1;
    char name[NI_MAXHOST];
    if (strcmp(source, "lookup") == 0) {
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, name, sizeof(name), NULL, 0, NI_NAMEREQD) ==
            0) {
            rc = put_str(out, len, name);
        }
    } else if (ai->ai_canonname != NULL && ai->ai_canonname[0] != '\0') {
        rc = put_str(out, len, ai->ai_canonname);
    }
    freeaddrinfo(ai);
    size_t n = strlen(out);
    if (rc == 0 && n > 0 && out[n - 1] == '.') {
        out[n - 1] = '\0'; /* a fully qualified name's root dot, as the collector trims it */
    }
    return rc;
}

/* The first line of |path|, trimmed, into |out|; 0 or -1. */
static int read_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return -1;
    }
    char *got = fgets(out, (int)len, f);
    fclose(f);
    if (got == NULL) {
        return -1;
    }
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] != '\0' ? 0 : -1;
}

/* uname's machine in the semantic conventions' host.arch values. */
static const char *host_arch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"arm64", "arm64"},   {"i386", "x86"},
        {"i686", "x86"},     {"armv7l", "arm32"},  {"ppc64le", "ppc64"}, {"ppc64", "ppc64"},
        {"s390x", "s390x"},  {"ia64", "ia64"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(machine, map[i][0]) == 0) {
            return map[i][1];
        }
    }
    return machine;
}

/* os-release's PRETTY_NAME, unquoted, into |out|; 0 or -1. */
static int pretty_name(char *out, size_t len)
{
    FILE *f = fopen("/etc/os-release", "re");
    if (f == NULL) {
        return -1;
    }
    char line[512];
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
            char *v = line + 12;
            v[strcspn(v, "\r\n")] = '\0';
            size_t n = strlen(v);
            if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v[n - 1] = '\0';
                v++;
            }
            rc = put_str(out, len, v);
        }
    }
    fclose(f);
    return rc;
}

static int detect_system(struct resource_detection *rd,
                         const struct ag_resource_detection_config *cfg)
{
    static const char *const default_sources[] = {"dns", "os"};
    const unsigned defaults = 1u << AG_RD_HOST_NAME | 1u << AG_RD_OS_TYPE;
    const struct ag_rd_attrs *a = &cfg->system_attrs;
    char buf[512];
    int rc = 0;
    if (attr_on(a, defaults, AG_RD_HOST_NAME)) {
        size_t n = cfg->n_hostname_sources ? cfg->n_hostname_sources : 2;
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) {
            const char *src =
                cfg->n_hostname_sources ? cfg->hostname_sources[i] : default_sources[i];
            found = host_name_from(src, buf, sizeof(buf)) == 0;
        }
        if (found) {
            rc = add_named(rd, AG_RD_HOST_NAME, buf);
        } else {
            ag_log_warn(rd->env.id, "system detector: no hostname source answered; host.name "
                                    "not set");
        }
    }
    struct utsname u;
    bool have_uname = uname(&u) == 0;
    if (rc == 0 && attr_on(a, defaults, AG_RD_OS_TYPE)) {
        rc = add_named(rd, AG_RD_OS_TYPE, "linux");
    }
    if (rc == 0 && attr_on(a, defaults, AG_RD_HOST_ID)) {
        if (read_line("/etc/machine-id", buf, sizeof(buf)) == 0 ||
            read_line("/var/lib/dbus/machine-id", buf, sizeof(buf)) == 0) {
            rc = add_named(rd, AG_RD_HOST_ID, buf);
        } else {
            ag_log_warn(rd->env.id, "system detector: no machine id; host.id not set");
        }
    }
    if (rc == 0 && have_uname && attr_on(a, defaults, AG_RD_HOST_ARCH)) {
        rc = add_named(rd, AG_RD_HOST_ARCH, host_arch(u.machine));
    }
    if (rc == 0 && have_uname && attr_on(a, defaults, AG_RD_OS_DESCRIPTION)) {
        char pretty[256], desc[1024];
        bool named = pretty_name(pretty, sizeof(pretty)) == 0;
        snprintf(desc, sizeof(desc), "%s%s(%s %s %s %s %s)", named ? pretty : "", named ? " " : "",
                 u.sysname, u.nodename, u.release, u.version, u.machine);
        rc = add_named(rd, AG_RD_OS_DESCRIPTION, desc);
    }
    return rc;
}

/* ---- ec2 ------------------------------------------------------------------------------------- */

#define IMDS_DEFAULT    "http://169.254.169.254"
#define IMDS_BODY_CAP   16384
#define IMDS_CONNECT_MS 1000L

struct imds {
    char base[256];
    char token_hdr[1100]; /* "X-aws-ec2-metadata-token: <token>", or "" (IMDSv1) */
    uint64_t deadline;    /* monotonic ns */
    char body[IMDS_BODY_CAP + 1];
    size_t len;
};

static size_t imds_write(char *p, size_t size, size_t n, void *ud)
{
    struct imds *m = ud;
    size_t k = size * n;
    if (m->len + k > IMDS_BODY_CAP) {
        return 0; /* longer than any metadata answer: fail the transfer */
    }
    memcpy(m->body + m->len, p, k);
    m->len += k;
    m->body[m->len] = '\0';
    return k;
}

/* One IMDS request; returns the HTTP status, or 0 when nothing answered in time. */
static long imds_call(struct imds *m, const char *method, const char *path, const char *hdr)
{
    uint64_t now = ag_time_mono_ns();
    if (now >= m->deadline) {
        return 0;
    }
    long ms = (long)((m->deadline - now) / 1000000u) + 1;
    char url[512];
    snprintf(url, sizeof(url), "%s%s", m->base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hs = hdr != NULL && hdr[0] != '\0' ? curl_slist_append(NULL, hdr) : NULL;
    long status = 0;
    m->len = 0;
    m->body[0] = '\0';
    if (h != NULL && (hdr == NULL || hdr[0] == '\0' || hs != NULL)) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms < IMDS_CONNECT_MS ? ms : IMDS_CONNECT_MS);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the link-local endpoint, never a proxy */
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, imds_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
        if (curl_easy_perform(h) == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        }
    }
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return status;
}

/* The IMDSv2 session token (IMDSv1 when the endpoint has no token API). Returns 0, or -1 when
 * no IMDS answered: not on EC2. */
static int imds_session(struct imds *m)
{
    long st = imds_call(m, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 60");
    static const char name[] = "X-aws-ec2-metadata-token: ";
    if (st == 200 && m->len > 0 && m->len < sizeof(m->token_hdr) - sizeof(name) &&
        strcspn(m->body, "\r\n") == m->len) {
        memcpy(m->token_hdr, name, sizeof(name) - 1);
        memcpy(m->token_hdr + sizeof(name) - 1, m->body, m->len + 1);
        return 0;
    }
    if (st == 404 || st == 405) {
        m->token_hdr[0] = '\0'; /* an IMDSv1-only endpoint, as the SDKs fall back */
        return 0;
    }
    return -1;
}

static const char *doc_str(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return v != NULL ? v : "";
}

static int detect_ec2(struct resource_detection *rd, const struct ag_resource_detection_config *cfg)
{
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    if (disabled != NULL && strcasecmp(disabled, "true") == 0) {
        ag_log_info(rd->env.id, "ec2 detector: AWS_EC2_METADATA_DISABLED; nothing detected");
        return 0;
    }
    struct imds *m = ag_calloc(1, sizeof(*m));
    if (m == NULL) {
        return AG_ENOMEM;
    }
    const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    snprintf(m->base, sizeof(m->base), "%s", ep != NULL && ep[0] != '\0' ? ep : IMDS_DEFAULT);
    for (size_t n = strlen(m->base); n > 0 && m->base[n - 1] == '/'; n--) {
        m->base[n - 1] = '\0';
    }
    m->deadline = ag_time_mono_ns() + cfg->timeout;
    int rc = 0;
    json_t *doc = NULL;
    char host[256];
    if (imds_session(m) != 0) {
        ag_log_info(rd->env.id,
                    "ec2 detector: no instance metadata at %s; not on EC2, nothing "
                    "detected",
                    m->base);
        goto out;
    }
    long st = imds_call(m, "GET", "/latest/dynamic/instance-identity/document", m->token_hdr);
    json_error_t jerr;
    doc = st == 200 ? json_loadb(m->body, m->len, 0, &jerr) : NULL;
    if (doc == NULL || !json_is_object(doc) || doc_str(doc, "instanceId")[0] == '\0') {
        ag_log_warn(rd->env.id,
                    "ec2 detector: the instance identity document could not be read "
                    "(HTTP %ld); nothing detected",
                    st);
        goto out;
    }
    st = imds_call(m, "GET", "/latest/meta-data/hostname", m->token_hdr);
    if (st != 200 || m->len == 0 || m->len >= sizeof(host)) {
        ag_log_warn(rd->env.id,
                    "ec2 detector: the hostname could not be read (HTTP %ld); "
                    "nothing detected",
                    st);
        goto out;
    }
    snprintf(host, sizeof(host), "%.*s", (int)strcspn(m->body, "\r\n"), m->body);
    const struct {
        enum ag_rd_attr a;
        const char *v;
    } got[] = {
        {AG_RD_CLOUD_PROVIDER, "aws"},
        {AG_RD_CLOUD_PLATFORM, "aws_ec2"},
        {AG_RD_CLOUD_REGION, doc_str(doc, "region")},
        {AG_RD_CLOUD_ACCOUNT_ID, doc_str(doc, "accountId")},
        {AG_RD_CLOUD_AVAILABILITY_ZONE, doc_str(doc, "availabilityZone")},
        {AG_RD_HOST_ID, doc_str(doc, "instanceId")},
        {AG_RD_HOST_IMAGE_ID, doc_str(doc, "imageId")},
        {AG_RD_HOST_TYPE, doc_str(doc, "instanceType")},
        {AG_RD_HOST_NAME, host},
    };
    for (size_t i = 0; i < sizeof(got) / sizeof(got[0]) && rc == 0; i++) {
        if (attr_on(&cfg->ec2_attrs, ~0u, got[i].a) && got[i].v[0] != '\0') {
            rc = add_named(rd, got[i].a, got[i].v);
        }
    }
out:
    json_decref(doc);
    /* The token is a credential of sorts: not left in freed memory. */
    explicit_bzero(m, sizeof(*m));
    ag_free(m);
    return rc;
}

static int apply(struct ag_payload *p, ProtobufCMessage *resmsg, void *arg)
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
            return AG_ENOMEM;
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
    return 0;
}

static int rd_consume(void *self, struct ag_payload *p)
{
    struct resource_detection *rd = self;
    if (rd->n == 0) {
        return rd->env.next.consume(rd->env.next.self, p);
    }
    return ag_payload_edit_resources(p, rd->n, apply, rd, rd->env.next.consume, rd->env.next.self);
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
        } else if (strcmp(cfg->detectors[i], "system") == 0) {
            rc = detect_system(rd, cfg);
        } else if (strcmp(cfg->detectors[i], "ec2") == 0) {
            rc = detect_ec2(rd, cfg);
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
