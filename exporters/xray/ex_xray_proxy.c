/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The awsxray receiver's proxy_server (see ex_xray_proxy.h): an evhttp server whose every
 * request becomes one ex_aws_client call to X-Ray, answered from that call's result.
 */
#include "ex_xray_proxy.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_sockaddr.h"
#include "ag_time.h"
#include "ex_aws_session.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define WHO                 "receiver/awsxray proxy"
#define PROXY_MAX_BODY      (1u << 20)
#define PROXY_MAX_IN_FLIGHT 64u
#define PROXY_TIMEOUT_S     10u
#define FAIL_LOG_EVERY_NS   (10ULL * 1000000000ULL)

struct px_call {
    struct px_call *prev, *next;
    struct ex_xray_proxy *p;
    struct evhttp_request *req;
    struct evhttp_connection *evcon; /* its close callback is this call's while it runs */
};

struct ex_xray_proxy {
    struct event_base *base;
    char id[128];
    struct ag_aws_session_config scfg; /* the receiver's, with the proxy's timeout and retries */
    struct ex_aws_service svc;
    struct ex_aws_session aws;
    struct evhttp *http;
    struct px_call *running; /* the calls in flight */
    size_t in_flight;
    uint64_t calls, failed;
    uint64_t last_fail_log_ns;
};

/* Answers |req| with |status| and {"message": |why|}. */
static void reply_message(struct evhttp_request *req, int status, const char *why)
{
    struct evbuffer *out = evbuffer_new();
    struct ag_buf b;
    struct ag_json w;
    ag_buf_init(&b, 4096);
    ag_json_init(&w, &b);
    ag_json_obj_open(&w);
    ag_json_keyn(&w, "message", 7);
    ag_json_strn(&w, why, strlen(why));
    ag_json_obj_close(&w);
    if (out != NULL && b.len > 0) {
        evbuffer_add(out, ag_buf_ptr(&b), b.len);
    }
    ag_buf_cleanup(&b);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, NULL, out);
    if (out != NULL) {
        evbuffer_free(out);
    }
}

/* The caller hung up: libevent frees its request; the call is withdrawn. */
static void on_close(struct evhttp_connection *evcon, void *arg);

static void call_end(struct px_call *c)
{
    evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        c->p->running = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->p->in_flight--;
    ag_free(c);
}

/* A call of |evcon| already in flight: one close callback per connection, so one call each
 * (evhttp reads a connection's next request only after answering, but this does not rely on
 * it). */
static bool conn_busy(const struct ex_xray_proxy *p, const struct evhttp_connection *evcon)
{
    for (const struct px_call *c = p->running; c != NULL; c = c->next) {
        if (c->evcon == evcon) {
            return true;
        }
    }
    return false;
}

static void on_done(void *arg, const struct ex_aws_result *res)
{
    struct px_call *c = arg;
    struct ex_xray_proxy *p = c->p;
    struct evhttp_request *req = c->req;
    call_end(c);
    if (res->status <= 0 || (res->rc != 0 && res->rc != AG_EUPSTREAM)) {
        char why[640];
        snprintf(why, sizeof(why), "X-Ray could not be reached: %s",
                 res->error.message[0] != '\0' ? res->error.message : ag_strerror(res->rc));
        p->failed++;
        uint64_t now = ag_time_mono_ns();
        if (now - p->last_fail_log_ns >= FAIL_LOG_EVERY_NS || p->last_fail_log_ns == 0) {
            p->last_fail_log_ns = now;
            ag_log_warn(p->id, "proxy_server: %s (answered 502)", why);
        }
        reply_message(req, 502, why);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (res->error.code[0] != '\0') {
        evhttp_add_header(h, "x-amzn-ErrorType", res->error.code);
    }
    if (res->request_id != NULL) {
        evhttp_add_header(h, "x-amzn-RequestId", res->request_id);
    }
    struct evbuffer *out = evbuffer_new();
    if (out != NULL && res->body_len > 0) {
        evbuffer_add(out, res->body, res->body_len);
    }
    evhttp_send_reply(req, res->status, NULL, out);
    if (out != NULL) {
        evbuffer_free(out);
    }
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct px_call *c = arg;
    (void)evcon;
    (void)ex_aws_client_cancel(c->p->aws.client, on_done, c);
    call_end(c);
}

/* The calls relayed: X-Ray's sampling API, all the SDKs and remote samplers use. Anything else
 * (PutTraceSegments, rule changes) would let whoever reaches the port act with otterd's role. */
static bool sampling_path(const char *path)
{
    return strcmp(path, "/GetSamplingRules") == 0 || strcmp(path, "/SamplingTargets") == 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ex_xray_proxy *p = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || !sampling_path(path)) {
        reply_message(req, 404,
                      "otterd relays X-Ray's sampling calls only: POST "
                      "/GetSamplingRules and POST /SamplingTargets");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply_message(req, 405, "X-Ray's sampling calls are POST");
        return;
    }
    if (p->in_flight >= PROXY_MAX_IN_FLIGHT || conn_busy(p, evhttp_request_get_connection(req))) {
        reply_message(req, 503, "too many calls in flight; retry later");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const uint8_t *body = len > 0 ? evbuffer_pullup(in, -1) : NULL;
    struct px_call *c = ag_calloc(1, sizeof(*c));
    if (c == NULL || (len > 0 && body == NULL)) {
        ag_free(c);
        reply_message(req, 500, "out of memory");
        return;
    }
    c->p = p;
    c->req = req;
    c->evcon = evhttp_request_get_connection(req);
    struct ex_aws_call call = {
        .method = "POST",
        .path = path,
        .query = evhttp_uri_get_query(uri),
        .content_type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type"),
        .body = body,
        .body_len = len,
    };
    p->calls++;
    if (ex_aws_client_call(p->aws.client, &call, on_done, c) != 0) {
        ag_free(c);
        p->failed++;
        reply_message(req, 500, "out of memory");
        return;
    }
    p->in_flight++;
    c->next = p->running;
    if (p->running != NULL) {
        p->running->prev = c;
    }
    p->running = c;
    evhttp_connection_set_closecb(c->evcon, on_close, c);
}

int ex_xray_proxy_new(struct event_base *base, const char *id,
                      const struct ag_xray_proxy_config *cfg, struct ex_xray_proxy **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    struct ex_xray_proxy *p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "%s: out of memory", id);
        return AG_ENOMEM;
    }
    p->base = base;
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->scfg = cfg->aws;
    p->scfg.max_retries = 0;
    p->scfg.request_timeout_seconds = PROXY_TIMEOUT_S;
    p->scfg.num_workers = PROXY_MAX_IN_FLIGHT;
    p->svc = ex_aws_service_xray;
    if (cfg->service_name != NULL && cfg->service_name[0] != '\0') {
        p->svc.signing_name = cfg->service_name;
    }
    int rc = ex_aws_session_init(&p->aws, base, &p->scfg, &p->svc, err, errlen);
    if (rc == 0 && (p->http = evhttp_new(base)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", id);
        rc = AG_ENOMEM;
    }
    if (rc != 0) {
        ex_xray_proxy_free(p);
        return rc;
    }
    evhttp_set_max_body_size(p->http, PROXY_MAX_BODY);
    evhttp_set_timeout(p->http, 60);
    evhttp_set_allowed_methods(p->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(p->http, on_request, p);
    *out = p;
    return 0;
}

int ex_xray_proxy_listen(struct ex_xray_proxy *p, const char *host, int port, int *bound)
{
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(p->http, host, (ev_uint16_t)port);
    if (bs == NULL) {
        return AG_EIO;
    }
    *bound = ag_sockaddr_bound_port(evhttp_bound_socket_get_fd(bs));
    return 0;
}

void ex_xray_proxy_counts(const struct ex_xray_proxy *p, uint64_t *calls, uint64_t *failed)
{
    *calls = p->calls;
    *failed = p->failed;
}

void ex_xray_proxy_free(struct ex_xray_proxy *p)
{
    if (p == NULL) {
        return;
    }
    /* Freeing the HTTP server closes the callers' connections (each on_close withdraws its
     * call); the session then has nothing in flight of ours. */
    if (p->http != NULL) {
        evhttp_free(p->http);
    }
    ex_aws_session_cleanup(&p->aws);
    ag_free(p);
}

/* ---- ag_service's hooks ---------------------------------------------------------------------- */

static int hook_start(struct event_base *base, const char *id,
                      const struct ag_xray_proxy_config *cfg, const char *host, int port,
                      void **out, int *bound, char *err, size_t errlen)
{
    struct ex_xray_proxy *p = NULL;
    int rc = ex_xray_proxy_new(base, id, cfg, &p, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (ex_xray_proxy_listen(p, host, port, bound) != 0) {
        snprintf(err, errlen, "%s: proxy_server cannot listen on %s", id, cfg->endpoint);
        ex_xray_proxy_free(p);
        return AG_EIO;
    }
    *out = p;
    return 0;
}

static void hook_stop(void *self)
{
    ex_xray_proxy_free(self);
}

static void hook_counts(const void *self, uint64_t *calls, uint64_t *failed)
{
    ex_xray_proxy_counts(self, calls, failed);
}

const struct ag_xray_proxy_ops ex_xray_proxy_ops = {hook_start, hook_stop, hook_counts};
