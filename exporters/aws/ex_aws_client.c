/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of one AWS service: it resolves the endpoint, gets credentials from the chain, signs
 * every attempt with SigV4, sends it through ex_aws_http and decides, from the answer, whether to
 * retry (standard mode, the quota, Retry-After), refresh credentials once after an auth error, or
 * correct the clock once after a skew error. Each call walks a small state machine on the loop.
 */
#include "ex_aws_client.h"
#include "ex_aws_client_int.h"

#include "ag_log.h"
#include "ag_mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/random.h>

#define LOG_WHO "aws"

/* Extra headers a call may add: the rest of the HTTP budget goes to Host, Content-Type,
 * X-Amz-Target, Authorization and the signer's own headers. */
#define CALL_MAX_HEADERS (EX_AWS_HTTP_MAX_HEADERS - 4 - EX_AWS_SIGV4_MAX_ADDED)
/* Clock difference beyond which a signature error is taken for a skewed clock (botocore). */
#define SKEW_LIMIT_S 240

enum call_state {
    CALL_SCHEDULED,   /* its timer will start the next attempt */
    CALL_WAIT_REGION, /* queued until IMDS tells the region */
    CALL_WAIT_CREDS,  /* an ex_aws_creds_get() of it is pending */
    CALL_IN_HTTP,     /* an attempt is in flight */
};

struct call {
    /* NULL once the client is gone while an attempt is in flight: the HTTP callback then only
     * frees the call (the HTTP client may still read |body| until then). */
    struct ex_aws_client *cl;
    struct call *prev, *next;
    enum call_state state;
    ex_aws_call_fn *done;
    void *arg;
    char *method, *path, *query, *content_type, *target;
    struct ex_aws_header *headers;
    size_t n_headers;
    const uint8_t *body; /* our copy (it must outlive an orphaned attempt), or the caller's */
    size_t body_len;
    bool body_borrowed; /* |body| is the caller's: never orphan an attempt that reads it */
    ex_aws_http_data_fn *on_data;
    void *data_arg;
    struct event *timer;
    unsigned attempts; /* HTTP attempts sent */
    unsigned extra;    /* of which the auth and skew retries, outside the retry budget */
    unsigned cost;     /* the quota cost of the last retry, refunded on success */
    unsigned cred_failures; /* credential fetches that failed transiently: count as attempts */
    bool auth_retried, skew_retried, throttled;
    int fail_rc; /* set: the next timer tick fails the call with it */
    char fail_msg[128];
};

/* The context of an IMDS region lookup; outlives the client if need be (no cancel exists). */
struct region_ask {
    struct ex_aws_client *cl;
};

enum region_state { REGION_KNOWN, REGION_UNKNOWN, REGION_ASKING };

struct ex_aws_client {
    struct event_base *base;
    struct ex_aws_http *http;
    struct ex_aws_creds *creds;
    char *service_id, *endpoint_prefix, *signing_name;
    enum ex_aws_protocol protocol;
    unsigned flags; /* SigV4 flags of the signing name */
    unsigned max_attempts;
    uint64_t connect_timeout_ms, timeout_ms;
    bool no_verify_ssl;
    char *proxy;
    /* The endpoint: "scheme://authority" + path prefix; the Host header follows it. */
    bool endpoint_fixed; /* from the option or the environment, not from the region */
    char *endpoint;      /* the whole URL, for ex_aws_client_endpoint() */
    char *origin;        /* "https://host:port" */
    char *host;          /* the Host header: authority without a default port */
    char *base_path;     /* "" or "/prefix", without a trailing slash */
    char region[64];
    enum region_state region_state;
    struct region_ask *ask;
    struct ex_aws_sigv4_signer *signer;
    struct ex_aws_retry_quota quota;
    uint64_t rng;
    double jitter_scale;
    int64_t skew_s; /* server time - local time, learnt from a skew error */
    struct call *calls;
    size_t pending;
    bool closing;
    struct ex_aws_client_stats stats;
};

/* ---- small helpers --------------------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}

static bool region_ok(const char *r)
{
    if (r == NULL || *r == '\0' || strlen(r) >= 64) {
        return false;
    }
    for (; *r; r++) {
        if (!(islower((unsigned char)*r) || isdigit((unsigned char)*r) || *r == '-')) {
            return false;
        }
    }
    return true;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (s == NULL) {
        return NULL;
    }
    char *d = ag_strdup(s);
    if (d == NULL) {
        *oom = true;
    }
    return d;
}

/* xorshift64*: the backoff's randomness needs to be cheap and independent per client, not
 * cryptographic. Returns a double in [0, 1). */
static double rand01(struct ex_aws_client *cl)
{
    uint64_t x = cl->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    cl->rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

/* ---- endpoint -------------------------------------------------------------------------------- */

/* Splits |url| into origin, Host header value and path prefix. Returns 0 or AG_EINVAL/ENOMEM. */
static int set_endpoint(struct ex_aws_client *cl, const char *url)
{
    const char *rest;
    bool tls;
    if (strncasecmp(url, "https://", 8) == 0) {
        tls = true;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        tls = false;
        rest = url + 7;
    } else {
        return AG_EINVAL;
    }
    size_t alen = strcspn(rest, "/?#");
    if (alen == 0) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < alen; i++) {
        unsigned char c = (unsigned char)rest[i];
        if (c <= ' ' || c >= 0x7f || c == '@' || c == '\\') {
            return AG_EINVAL;
        }
    }
    const char *path = rest + alen;
    if (*path == '?' || *path == '#' || strpbrk(path, "?# \t\r\n") != NULL) {
        return AG_EINVAL;
    }
    size_t plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }
    /* The Host header drops a default port, as the SDKs sign it. */
    size_t hlen = alen;
    const char *defport = tls ? ":443" : ":80";
    size_t dlen = strlen(defport);
    if (hlen > dlen && strncmp(rest + hlen - dlen, defport, dlen) == 0) {
        hlen -= dlen;
    }
    const char *scheme = tls ? "https://" : "http://";
    size_t slen = strlen(scheme);
    char *origin = ag_malloc(slen + alen + 1);
    char *endpoint = ag_malloc(slen + alen + plen + 1);
    char *host = ag_strndup(rest, hlen);
    char *base_path = ag_strndup(path, plen);
    if (origin == NULL || endpoint == NULL || host == NULL || base_path == NULL) {
        ag_free(origin);
        ag_free(endpoint);
        ag_free(host);
        ag_free(base_path);
        return AG_ENOMEM;
    }
    snprintf(origin, slen + alen + 1, "%s%.*s", scheme, (int)alen, rest);
    snprintf(endpoint, slen + alen + plen + 1, "%s%.*s%.*s", scheme, (int)alen, rest, (int)plen,
             path);
    ag_free(cl->origin);
    ag_free(cl->endpoint);
    ag_free(cl->host);
    ag_free(cl->base_path);
    cl->origin = origin;
    cl->endpoint = endpoint;
    cl->host = host;
    cl->base_path = base_path;
    return 0;
}

/* The regional default: https://<prefix>.<region>.amazonaws.com(.cn). */
static int set_default_endpoint(struct ex_aws_client *cl)
{
    char url[256];
    bool cn = strncmp(cl->region, "cn-", 3) == 0;
    int n = snprintf(url, sizeof(url), "https://%s.%s.amazonaws.com%s", cl->endpoint_prefix,
                     cl->region, cn ? ".cn" : "");
    if (n < 0 || (size_t)n >= sizeof(url)) {
        return AG_EINVAL;
    }
    return set_endpoint(cl, url);
}

/* AWS_ENDPOINT_URL_<SERVICE_ID> (the id upper-cased, other characters as '_'), then
 * AWS_ENDPOINT_URL; NULL when neither is set. */
static const char *endpoint_from_env(const char *service_id)
{
    char name[128] = "AWS_ENDPOINT_URL_";
    size_t off = strlen(name);
    for (const char *p = service_id; *p && off < sizeof(name) - 1; p++) {
        unsigned char c = (unsigned char)*p;
        name[off++] = isalnum(c) ? (char)toupper(c) : '_';
    }
    name[off] = '\0';
    const char *v = getenv(name);
    if (v != NULL && *v != '\0') {
        return v;
    }
    v = getenv("AWS_ENDPOINT_URL");
    return v != NULL && *v != '\0' ? v : NULL;
}

/* ---- calls ----------------------------------------------------------------------------------- */

static void call_free(struct call *c)
{
    if (c == NULL) {
        return;
    }
    if (c->timer != NULL) {
        event_free(c->timer);
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        ag_free((char *)c->headers[i].name);
        ag_free((char *)c->headers[i].value);
    }
    ag_free(c->headers);
    ag_free(c->method);
    ag_free(c->path);
    ag_free(c->query);
    ag_free(c->content_type);
    ag_free(c->target);
    if (!c->body_borrowed) {
        ag_free((void *)c->body);
    }
    ag_free(c);
}

static void call_unlink(struct ex_aws_client *cl, struct call *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        cl->calls = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    cl->pending--;
}

/* Ends |c| with |res| (attempts and throttled filled in here): its callback runs, then it is
 * freed. The callback may free the client: callers touch neither after this. */
static void finish(struct call *c, struct ex_aws_result *res)
{
    struct ex_aws_client *cl = c->cl;
    call_unlink(cl, c);
    if (res->rc != 0) {
        cl->stats.failures++;
    }
    res->attempts = c->attempts;
    res->throttled = c->throttled;
    if (res->body == NULL) {
        res->body = (const uint8_t *)"";
    }
    c->done(c->arg, res);
    call_free(c);
}

static void finish_err(struct call *c, int rc, const char *why)
{
    struct ex_aws_result res = {.rc = rc};
    snprintf(res.error.message, sizeof(res.error.message), "%s", why != NULL ? why : "");
    finish(c, &res);
}

static void schedule(struct call *c, uint64_t delay_ms)
{
    struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1000),
                         .tv_usec = (suseconds_t)((delay_ms % 1000) * 1000)};
    c->state = CALL_SCHEDULED;
    /* evtimer_add only fails on a broken base; the call would then hang, so say so. */
    if (evtimer_add(c->timer, &tv) != 0) {
        ag_log_error(LOG_WHO, "%s: cannot arm a timer", c->cl->service_id);
    }
}

/* ---- one attempt ----------------------------------------------------------------------------- */

static void on_http(void *arg, const struct ex_aws_http_response *resp);

/* Signs and sends the next attempt. Returns 0, or a negative code (nothing was sent). */
static int send_attempt(struct call *c, const struct ex_aws_credentials *creds)
{
    struct ex_aws_client *cl = c->cl;
    struct ex_aws_sigv4_result sig = {0};
    struct ex_aws_header hdrs[EX_AWS_HTTP_MAX_HEADERS];
    char *url = NULL;
    char *wire_path = NULL;
    int rc = AG_ENOMEM;

    char amz_date[EX_AWS_SIGV4_DATE_LEN + 1];
    time_t now = time(NULL) + (time_t)cl->skew_s;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);

    size_t n = 0;
    hdrs[n++] = (struct ex_aws_header){"Host", cl->host};
    if (c->content_type != NULL) {
        hdrs[n++] = (struct ex_aws_header){"Content-Type", c->content_type};
    }
    if (c->target != NULL) {
        hdrs[n++] = (struct ex_aws_header){"X-Amz-Target", c->target};
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        hdrs[n++] = c->headers[i];
    }
    size_t plen = strlen(cl->base_path) + strlen(c->path) + 1;
    wire_path = ag_malloc(plen);
    size_t ulen = strlen(cl->origin) + plen + (c->query != NULL ? strlen(c->query) + 1 : 0);
    url = ag_malloc(ulen);
    if (wire_path == NULL || url == NULL) {
        goto out;
    }
    snprintf(wire_path, plen, "%s%s", cl->base_path, c->path);
    snprintf(url, ulen, "%s%s%s%s", cl->origin, wire_path, c->query != NULL ? "?" : "",
             c->query != NULL ? c->query : "");

    struct ex_aws_sigv4_request sreq = {
        .method = c->method,
        .path = wire_path,
        .query = c->query,
        .headers = hdrs,
        .n_headers = n,
        .payload = c->body,
        .payload_len = c->body_len,
        .service = cl->signing_name,
        .region = cl->region,
        .amz_date = amz_date,
        .flags = cl->flags,
    };
    rc = ex_aws_sigv4_sign(cl->signer, creds, &sreq, &sig);
    if (rc != 0) {
        goto out;
    }
    /* What is sent: the signed headers, then Authorization and the signer's own ones. The
     * User-Agent comes from the HTTP client and is not signed. */
    hdrs[n++] = (struct ex_aws_header){"Authorization", sig.authorization};
    for (size_t i = 0; i < sig.n_added; i++) {
        hdrs[n++] = (struct ex_aws_header){sig.added[i].name, sig.added[i].value};
    }
    struct ex_aws_http_request hreq = {
        .method = c->method,
        .url = url,
        .headers = hdrs,
        .n_headers = n,
        .body = c->body,
        .body_len = c->body_len,
        .connect_timeout_ms = cl->connect_timeout_ms,
        .timeout_ms = cl->timeout_ms,
        .no_verify_ssl = cl->no_verify_ssl,
        .proxy = cl->proxy,
        .on_data = c->on_data,
        .data_arg = c->data_arg,
    };
    rc = ex_aws_http_send(cl->http, &hreq, on_http, c);
    if (rc == 0) {
        c->state = CALL_IN_HTTP;
        c->attempts++;
        cl->stats.attempts++;
        if (c->attempts > 1) {
            cl->stats.retries++;
        }
    }
out:
    ex_aws_sigv4_result_cleanup(&sig);
    ag_free(url);
    ag_free(wire_path);
    return rc;
}

/* A credential fetch that failed for now (a timeout, a connection error, an error answer of the
 * credential endpoint) is retried like a failed attempt, within the same budget and backoff:
 * the data waiting on it is not lost to one slow IMDS or STS answer. No provider, a malformed
 * answer or no memory end the call. Returns true when a retry was scheduled. */
static bool retry_creds(struct call *c, int rc, const char *why)
{
    struct ex_aws_client *cl = c->cl;
    if (rc != AG_ETIMEDOUT && rc != AG_EIO && rc != AG_EUPSTREAM) {
        return false;
    }
    enum ex_aws_failure f = rc == AG_ETIMEDOUT ? EX_AWS_TIMEOUT : EX_AWS_TRANSIENT;
    unsigned attempt = c->attempts - c->extra + c->cred_failures + 1;
    unsigned cost = 0;
    if (!ex_aws_retry_should(&cl->quota, f, attempt, cl->max_attempts, &cost)) {
        return false;
    }
    c->cred_failures++;
    c->cost = cost;
    uint64_t delay = ex_aws_retry_backoff_ms(attempt, rand01(cl) * cl->jitter_scale, 0);
    ag_log_warn(LOG_WHO, "%s: no credentials yet (%s), retry %u in %llu ms", cl->service_id,
                why != NULL ? why : ag_strerror(rc), attempt, (unsigned long long)delay);
    schedule(c, delay);
    return true;
}

static void on_creds(void *arg, int rc, const struct ex_aws_creds_value *value, const char *why)
{
    struct call *c = arg;
    if (rc != 0) {
        if (!retry_creds(c, rc, why)) {
            finish_err(c, rc, why != NULL ? why : "no credentials");
        }
        return;
    }
    rc = send_attempt(c, &value->creds);
    if (rc != 0) {
        finish_err(c, rc, rc == AG_ENOMEM ? "out of memory" : "the request could not be signed");
    }
}

static void ask_region(struct ex_aws_client *cl);

/* The call's timer: start the next attempt (or fail, or wait for the region). */
static void on_call_timer(evutil_socket_t fd, short what, void *arg)
{
    struct call *c = arg;
    struct ex_aws_client *cl = c->cl;
    if (c->fail_rc != 0) {
        finish_err(c, c->fail_rc, c->fail_msg);
        return;
    }
    if (cl->region_state != REGION_KNOWN) {
        c->state = CALL_WAIT_REGION;
        if (cl->region_state == REGION_UNKNOWN) {
            ask_region(cl);
        }
        return;
    }
    c->state = CALL_WAIT_CREDS;
    /* May call on_creds before it returns; |c| may then be gone. */
    ex_aws_creds_get(cl->creds, on_creds, c);
}

/* ---- the region, from IMDS ------------------------------------------------------------------- */

/* Wakes every call waiting for the region; they fail with |rc| when it is not 0. */
static void wake_region_waiters(struct ex_aws_client *cl, int rc, const char *why)
{
    for (struct call *c = cl->calls; c != NULL; c = c->next) {
        if (c->state == CALL_WAIT_REGION) {
            if (rc != 0) {
                c->fail_rc = rc;
                snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", why);
            }
            schedule(c, 0);
        }
    }
}

static void on_region(void *arg, int rc, const char *region)
{
    struct region_ask *ask = arg;
    struct ex_aws_client *cl = ask->cl;
    ag_free(ask);
    if (cl == NULL) {
        return; /* the client is gone */
    }
    cl->ask = NULL;
    if (rc == 0 && !region_ok(region)) {
        rc = AG_EPROTO;
    }
    if (rc == 0) {
        snprintf(cl->region, sizeof(cl->region), "%s", region);
        if (!cl->endpoint_fixed) {
            rc = set_default_endpoint(cl);
        }
    }
    if (rc != 0) {
        /* Unknown again: the next call asks again. */
        cl->region_state = REGION_UNKNOWN;
        cl->region[0] = '\0';
        ag_log_warn(LOG_WHO, "%s: no region configured and none from IMDS (%s)", cl->service_id,
                    ag_strerror(rc));
        wake_region_waiters(cl, rc, "no region: set region or AWS_REGION");
        return;
    }
    cl->region_state = REGION_KNOWN;
    wake_region_waiters(cl, 0, NULL);
}

static void ask_region(struct ex_aws_client *cl)
{
    struct region_ask *ask = ag_calloc(1, sizeof(*ask));
    if (ask == NULL) {
        wake_region_waiters(cl, AG_ENOMEM, "out of memory");
        return;
    }
    ask->cl = cl;
    cl->ask = ask;
    cl->region_state = REGION_ASKING;
    ex_aws_creds_imds_region(cl->creds, on_region, ask);
}

/* ---- what came back -------------------------------------------------------------------------- */

/* A clock-skew error, by code; signature errors count only when the server's clock is far from
 * ours (they are auth errors otherwise). */
static bool is_skew(const struct ex_aws_client *cl, const char *code, int64_t server_s)
{
    if (server_s <= 0) {
        return false;
    }
    if (strcmp(code, "RequestTimeTooSkewed") == 0 || strcmp(code, "RequestExpired") == 0 ||
        strcmp(code, "RequestInTheFuture") == 0) {
        return true;
    }
    if (strcmp(code, "InvalidSignatureException") == 0 ||
        strcmp(code, "SignatureDoesNotMatch") == 0) {
        int64_t ours = (int64_t)time(NULL) + cl->skew_s;
        int64_t d = server_s - ours;
        return d > SKEW_LIMIT_S || d < -SKEW_LIMIT_S;
    }
    return false;
}

static void on_http(void *arg, const struct ex_aws_http_response *resp)
{
    struct call *c = arg;
    struct ex_aws_client *cl = c->cl;
    if (cl == NULL) {
        call_free(c); /* orphaned by ex_aws_client_free() */
        return;
    }
    struct ex_aws_result res = {.rc = resp->rc, .status = resp->status, .streamed = resp->streamed};
    if (resp->streamed) {
        /* Part of the answer has been delivered: its outcome is final, whatever it is. */
        res.request_id = resp->request_id;
        if (resp->rc != 0) {
            snprintf(res.error.message, sizeof(res.error.message), "%s", resp->transport_error);
        } else {
            ex_aws_retry_success(&cl->quota, c->cost);
        }
        finish(c, &res);
        return;
    }
    if (resp->rc != 0 && resp->rc != AG_EIO && resp->rc != AG_ETIMEDOUT) {
        /* Shutting down, out of memory, an oversize answer: not worth another attempt. */
        finish_err(c, resp->rc, resp->transport_error);
        return;
    }
    if (resp->rc == 0) {
        res.request_id = resp->request_id;
        res.body = resp->body;
        res.body_len = resp->body_len;
        if (resp->status < 200 || resp->status > 299) {
            /* No code found (a bare 503) leaves it "": the status then decides. */
            if (ex_aws_error_parse(cl->protocol, resp->error_type, (const char *)resp->body,
                                   resp->body_len, &res.error) != 0) {
                res.error.code[0] = '\0';
            }
        }
    } else {
        snprintf(res.error.message, sizeof(res.error.message), "%s", resp->transport_error);
    }
    enum ex_aws_failure f =
        ex_aws_retry_classify(resp->status, res.error.code, resp->rc == AG_ETIMEDOUT);
    if (f == EX_AWS_OK) {
        ex_aws_retry_success(&cl->quota, c->cost);
        finish(c, &res);
        return;
    }
    if (f == EX_AWS_THROTTLED) {
        c->throttled = true;
        cl->stats.throttles++;
    }
    if (resp->rc == 0 && !c->skew_retried && is_skew(cl, res.error.code, resp->date_unix_s)) {
        cl->skew_s = resp->date_unix_s - (int64_t)time(NULL);
        ag_log_warn(LOG_WHO, "%s: %s: correcting the clock by %lld s (request id %s)",
                    cl->service_id, res.error.code, (long long)cl->skew_s,
                    resp->request_id != NULL ? resp->request_id : "-");
        c->skew_retried = true;
        c->extra++;
        schedule(c, 0);
        return;
    }
    if (resp->rc == 0 && !c->auth_retried && ex_aws_error_is_auth(res.error.code)) {
        ag_log_info(LOG_WHO, "%s: %s: refreshing credentials (request id %s)", cl->service_id,
                    res.error.code, resp->request_id != NULL ? resp->request_id : "-");
        ex_aws_creds_invalidate(cl->creds);
        cl->stats.auth_refreshes++;
        c->auth_retried = true;
        c->extra++;
        schedule(c, 0);
        return;
    }
    unsigned cost = 0;
    unsigned attempt = c->attempts - c->extra + c->cred_failures;
    if (ex_aws_retry_should(&cl->quota, f, attempt, cl->max_attempts, &cost)) {
        c->cost = cost;
        uint64_t delay =
            ex_aws_retry_backoff_ms(attempt, rand01(cl) * cl->jitter_scale, resp->retry_after_ms);
        ag_log_debug(LOG_WHO, "%s: attempt %u failed (%s, status %d%s%s), retry in %llu ms",
                     cl->service_id, c->attempts, ag_strerror(resp->rc), resp->status,
                     res.error.code[0] ? ", " : "", res.error.code, (unsigned long long)delay);
        schedule(c, delay);
        return;
    }
    if (resp->rc == 0) {
        res.rc = AG_EUPSTREAM;
    }
    finish(c, &res);
}

/* ---- public ---------------------------------------------------------------------------------- */

int ex_aws_client_new(struct event_base *base, struct ex_aws_http *http, struct ex_aws_creds *creds,
                      const struct ex_aws_client_options *opts, struct ex_aws_client **out,
                      char *err, size_t errlen)
{
    struct ex_aws_client *cl = NULL;
    int rc = AG_EINVAL;
    bool oom = false;
    *out = NULL;
    if (base == NULL || http == NULL || creds == NULL || opts == NULL || opts->service_id == NULL ||
        *opts->service_id == '\0' || opts->endpoint_prefix == NULL ||
        *opts->endpoint_prefix == '\0' || opts->signing_name == NULL ||
        *opts->signing_name == '\0') {
        set_err(err, errlen, "a service id, endpoint prefix and signing name are required");
        return AG_EINVAL;
    }
    cl = ag_calloc(1, sizeof(*cl));
    if (cl == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    cl->base = base;
    cl->http = http;
    cl->creds = creds;
    cl->protocol = opts->protocol;
    cl->max_attempts = opts->max_attempts != 0 ? opts->max_attempts : EX_AWS_RETRY_MAX_ATTEMPTS;
    cl->connect_timeout_ms = opts->connect_timeout_ms;
    cl->timeout_ms = opts->timeout_ms;
    cl->no_verify_ssl = opts->no_verify_ssl;
    cl->jitter_scale = 1.0;
    cl->service_id = dup_or_null(opts->service_id, &oom);
    cl->endpoint_prefix = dup_or_null(opts->endpoint_prefix, &oom);
    cl->signing_name = dup_or_null(opts->signing_name, &oom);
    cl->proxy = dup_or_null(opts->proxy, &oom);
    cl->flags = ex_aws_sigv4_service_flags(opts->signing_name);
    ex_aws_retry_quota_init(&cl->quota);
    if (getrandom(&cl->rng, sizeof(cl->rng), GRND_NONBLOCK) != (ssize_t)sizeof(cl->rng)) {
        cl->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)cl;
    }
    cl->rng |= 1; /* xorshift must not start at 0 */
    if (oom || ex_aws_sigv4_signer_new(&cl->signer) != 0) {
        rc = AG_ENOMEM;
        goto out;
    }

    const char *region =
        opts->region != NULL && *opts->region != '\0' ? opts->region : ex_aws_creds_region(creds);
    if (region != NULL && *region != '\0') {
        if (!region_ok(region)) {
            set_err(err, errlen, "bad region name");
            rc = AG_EINVAL;
            goto out;
        }
        snprintf(cl->region, sizeof(cl->region), "%s", region);
        cl->region_state = REGION_KNOWN;
    } else {
        cl->region_state = REGION_UNKNOWN;
    }

    const char *endpoint = opts->endpoint != NULL && *opts->endpoint != '\0'
                               ? opts->endpoint
                               : endpoint_from_env(opts->service_id);
    if (endpoint != NULL) {
        cl->endpoint_fixed = true;
        rc = set_endpoint(cl, endpoint);
    } else if (cl->region_state == REGION_KNOWN) {
        rc = set_default_endpoint(cl);
    } else {
        rc = 0; /* the endpoint follows the region from IMDS */
    }
    if (rc != 0) {
        set_err(err, errlen,
                rc == AG_ENOMEM ? "out of memory"
                                : "bad endpoint URL (want http(s)://host[:port])");
        goto out;
    }
    *out = cl;
    cl = NULL;
    rc = 0;
out:
    if (rc == AG_ENOMEM) {
        set_err(err, errlen, "out of memory");
    }
    ex_aws_client_free(cl);
    return rc;
}

static bool header_reserved(const char *name)
{
    static const char *const reserved[] = {"host",         "authorization",
                                           "x-amz-date",   "x-amz-security-token",
                                           "content-type", "x-amz-target"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcasecmp(name, reserved[i]) == 0) {
            return true;
        }
    }
    return false;
}

int ex_aws_client_call(struct ex_aws_client *cl, const struct ex_aws_call *call,
                       ex_aws_call_fn *done, void *arg)
{
    struct call *c = NULL;
    bool oom = false;
    if (cl == NULL || call == NULL || done == NULL || call->method == NULL || call->path == NULL ||
        call->path[0] != '/' || call->n_headers > CALL_MAX_HEADERS ||
        (call->n_headers > 0 && call->headers == NULL) ||
        (call->body_len > 0 && call->body == NULL) || cl->closing) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < call->n_headers; i++) {
        if (call->headers[i].name == NULL || call->headers[i].value == NULL ||
            header_reserved(call->headers[i].name)) {
            return AG_EINVAL;
        }
    }
    c = ag_calloc(1, sizeof(*c));
    if (c == NULL) {
        return AG_ENOMEM;
    }
    c->cl = cl;
    c->done = done;
    c->arg = arg;
    c->method = dup_or_null(call->method, &oom);
    c->path = dup_or_null(call->path, &oom);
    c->query = call->query != NULL && *call->query != '\0' ? dup_or_null(call->query, &oom) : NULL;
    c->content_type = dup_or_null(call->content_type, &oom);
    c->on_data = call->on_data;
    c->data_arg = call->data_arg;
    c->target = dup_or_null(call->target, &oom);
    if (call->n_headers > 0 && !oom) {
        c->headers = ag_calloc(call->n_headers, sizeof(*c->headers));
        oom = c->headers == NULL;
        for (size_t i = 0; !oom && i < call->n_headers; i++) {
            c->n_headers++;
            c->headers[i].name = dup_or_null(call->headers[i].name, &oom);
            c->headers[i].value = dup_or_null(call->headers[i].value, &oom);
        }
    }
    if (call->body_len > 0 && !oom && call->body_borrowed) {
        c->body = call->body;
        c->body_len = call->body_len;
        c->body_borrowed = true;
    } else if (call->body_len > 0 && !oom) {
        uint8_t *copy = ag_malloc(call->body_len);
        oom = copy == NULL;
        if (!oom) {
            memcpy(copy, call->body, call->body_len);
            c->body = copy;
            c->body_len = call->body_len;
        }
    }
    c->timer = oom ? NULL : evtimer_new(cl->base, on_call_timer, c);
    if (oom || c->timer == NULL) {
        call_free(c);
        return AG_ENOMEM;
    }
    c->next = cl->calls;
    if (cl->calls != NULL) {
        cl->calls->prev = c;
    }
    cl->calls = c;
    cl->pending++;
    cl->stats.calls++;
    /* The first attempt starts from the loop, so done never runs inside this function. */
    schedule(c, 0);
    return 0;
}

int ex_aws_client_cancel(struct ex_aws_client *cl, ex_aws_call_fn *done, void *arg)
{
    if (cl == NULL) {
        return AG_ENOTFOUND;
    }
    for (struct call *c = cl->calls; c != NULL; c = c->next) {
        if (c->done != done || c->arg != arg) {
            continue;
        }
        call_unlink(cl, c);
        if (c->state == CALL_WAIT_CREDS) {
            ex_aws_creds_cancel(cl->creds, on_creds, c);
        } else if (c->state == CALL_IN_HTTP) {
            /* The attempt stops now, so nothing reads c->body any more. */
            (void)ex_aws_http_cancel(cl->http, on_http, c);
        }
        call_free(c);
        return 0;
    }
    return AG_ENOTFOUND;
}

size_t ex_aws_client_pending(const struct ex_aws_client *cl)
{
    return cl != NULL ? cl->pending : 0;
}

const struct ex_aws_client_stats *ex_aws_client_stats(const struct ex_aws_client *cl)
{
    return &cl->stats;
}

const char *ex_aws_client_endpoint(const struct ex_aws_client *cl)
{
    return cl->endpoint != NULL ? cl->endpoint : "";
}

const char *ex_aws_client_region(const struct ex_aws_client *cl)
{
    return cl->region_state == REGION_KNOWN ? cl->region : "";
}

void ex_aws_client_set_jitter_scale(struct ex_aws_client *cl, double scale)
{
    cl->jitter_scale = scale < 0 ? 0 : scale > 1 ? 1 : scale;
}

void ex_aws_client_free(struct ex_aws_client *cl)
{
    if (cl == NULL || cl->closing) {
        return;
    }
    cl->closing = true;
    while (cl->calls != NULL) {
        struct call *c = cl->calls;
        call_unlink(cl, c);
        bool orphan = false;
        switch (c->state) {
        case CALL_WAIT_CREDS:
            ex_aws_creds_cancel(cl->creds, on_creds, c);
            break;
        case CALL_IN_HTTP:
            /* The HTTP client still owns the attempt (and reads c->body): on_http frees it.
             * A borrowed body may be freed by the done callback below, so that attempt stops
             * here instead. */
            if (c->body_borrowed) {
                (void)ex_aws_http_cancel(cl->http, on_http, c);
            } else {
                orphan = true;
            }
            break;
        case CALL_SCHEDULED:
        case CALL_WAIT_REGION:
            break;
        }
        event_free(c->timer);
        c->timer = NULL;
        c->cl = NULL;
        struct ex_aws_result res = {.rc = AG_EAGAIN, .body = (const uint8_t *)""};
        snprintf(res.error.message, sizeof(res.error.message), "cancelled: the client is closing");
        res.attempts = c->attempts;
        res.throttled = c->throttled;
        cl->stats.failures++;
        c->done(c->arg, &res);
        if (!orphan) {
            call_free(c);
        }
    }
    if (cl->ask != NULL) {
        cl->ask->cl = NULL; /* on_region frees it */
    }
    ex_aws_sigv4_signer_free(cl->signer);
    ag_free(cl->service_id);
    ag_free(cl->endpoint_prefix);
    ag_free(cl->signing_name);
    ag_free(cl->proxy);
    ag_free(cl->origin);
    ag_free(cl->endpoint);
    ag_free(cl->host);
    ag_free(cl->base_path);
    ag_free(cl);
}
