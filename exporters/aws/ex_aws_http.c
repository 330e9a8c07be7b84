/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client under every AWS call: libcurl's multi interface driven by the service's
 * libevent loop (the "multi-event" pattern: curl tells us which sockets to watch and when to
 * wake it up; we call curl_multi_socket_action() when that happens). One CURLM per client keeps
 * the connection cache, so sequential requests to one host reuse a keep-alive connection.
 */
#include "config.h"
#include "ex_aws_http.h"

#include "ag_buf.h"
#include "ag_mem.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

/* Response header values we keep; longer ones are cut (they are only ids and codes). */
#define HDR_VALUE_MAX 256

/* Idle keep-alive connections kept per client (curl closes them after 118 s unused). curl's
 * default is 4 per transfer in progress: every quiet spell after a burst of calls closed the
 * burst's connections, and the next burst paid new connections (TLS handshakes) again. */
#define MAX_IDLE_CONNS 64L

/* The largest upload buffer a request gets (curl copies the body through it, one send each). */
#define UPLOAD_BUFFER_MAX (256u * 1024u)

/* Finished easy handles kept for the next requests (curl_easy_reset(): no new handle, its
 * buffers and state set up again, per call). */
#define SPARE_EASY 8

struct http_sock;

struct http_req {
    struct ex_aws_http *http;
    struct http_req *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    ex_aws_http_done_fn *done;
    void *arg;
    struct ag_buf body;
    int write_rc; /* AG_ETOOBIG / AG_ENOMEM when the body could not be kept, or on_data's */
    ex_aws_http_data_fn *on_data;
    void *data_arg;
    int streaming; /* 0 = not decided yet, 1 = a 2xx body goes to on_data, -1 = kept */
    int sock_rc;  /* AG_ENOMEM when its socket could not be watched: fail it */
    char error_type[HDR_VALUE_MAX];
    char request_id[HDR_VALUE_MAX];
    char content_type[HDR_VALUE_MAX];
    uint64_t retry_after_ms;
    int64_t date_unix_s;
    char errbuf[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. */
struct http_sock {
    struct ex_aws_http *http;
    struct http_sock *prev, *next;
    curl_socket_t fd;
    struct event *ev;
};

struct ex_aws_http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms;
    char *user_agent;
    struct http_req *reqs;
    size_t pending;
    struct http_sock *socks;
    /* Depth of our own event callbacks on the stack, and whether ex_aws_http_free() was called
     * from inside one of them: the object is then destroyed when the outermost one returns, so
     * that neither curl nor libevent runs on freed memory. */
    int depth;
    bool dead;
    bool sock_failed; /* some request has sock_rc set */
    CURL *spare[SPARE_EASY];
    size_t n_spare;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the request list ------------------------------------------------------------------------ */

static void req_link(struct ex_aws_http *http, struct http_req *r)
{
    r->next = http->reqs;
    if (http->reqs != NULL) {
        http->reqs->prev = r;
    }
    http->reqs = r;
    http->pending++;
}

static void req_unlink(struct ex_aws_http *http, struct http_req *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        http->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    r->prev = r->next = NULL;
    http->pending--;
}

/* Frees |r|; its easy handle, no longer in the multi, is kept as a spare while there is room. */
static void req_free(struct http_req *r)
{
    if (r == NULL) {
        return;
    }
    struct ex_aws_http *http = r->http;
    if (r->easy != NULL && !http->dead && http->n_spare < SPARE_EASY) {
        curl_easy_reset(r->easy);
        http->spare[http->n_spare++] = r->easy;
    } else if (r->easy != NULL) {
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    ag_buf_cleanup(&r->body);
    ag_free(r);
}

/* Removes |r| from curl and the list, runs its callback once with |resp|, frees it. */
static void req_finish(struct http_req *r, struct ex_aws_http_response *resp)
{
    struct ex_aws_http *http = r->http;
    curl_multi_remove_handle(http->multi, r->easy);
    req_unlink(http, r);
    r->done(r->arg, resp);
    req_free(r);
}

static void req_fail(struct http_req *r, int rc, const char *why)
{
    struct ex_aws_http_response resp = {
        .rc = rc, .transport_error = why, .body = (const uint8_t *)""};
    req_finish(r, &resp);
}

/* ---- what comes back ------------------------------------------------------------------------- */

static void copy_value(char *dst, const char *v, size_t len)
{
    if (len >= HDR_VALUE_MAX) {
        len = HDR_VALUE_MAX - 1;
    }
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct http_req *r = userdata;
    size_t len = size * nitems;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget the headers of the previous one. */
        r->error_type[0] = r->request_id[0] = r->content_type[0] = '\0';
        r->retry_after_ms = 0;
        r->date_unix_s = 0;
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL) {
        return len;
    }
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1;
    const char *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    size_t vlen = (size_t)(end - v);
    char val[HDR_VALUE_MAX];
    copy_value(val, v, vlen);
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(buf, name, nlen) == 0)
    if (IS("x-amzn-ErrorType")) {
        memcpy(r->error_type, val, sizeof(val));
    } else if (IS("x-amzn-RequestId") || (IS("x-amz-request-id") && r->request_id[0] == '\0')) {
        memcpy(r->request_id, val, sizeof(val));
    } else if (IS("Content-Type")) {
        memcpy(r->content_type, val, sizeof(val));
    } else if (IS("Retry-After")) {
        /* Delta seconds, as AWS sends it; an HTTP date is turned into a delta too. */
        char *ep = NULL;
        unsigned long long s = val[0] >= '0' && val[0] <= '9' ? strtoull(val, &ep, 10) : 0;
        if (ep != NULL && *ep == '\0') {
            r->retry_after_ms = s > 86400 ? 86400000ull : s * 1000ull;
        } else if (ep == NULL) {
            time_t t = curl_getdate(val, NULL);
            time_t now = time(NULL);
            if (t > now) {
                r->retry_after_ms = (uint64_t)(t - now) * 1000u;
            }
        }
    } else if (IS("Date")) {
        time_t t = curl_getdate(val, NULL);
        r->date_unix_s = t > 0 ? (int64_t)t : 0;
    }
#undef IS
    return len;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *userdata)
{
    struct http_req *r = userdata;
    size_t len = size * nmemb;
    if (r->on_data != NULL && r->streaming == 0) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        r->streaming = status >= 200 && status <= 299 ? 1 : -1;
    }
    if (r->streaming == 1) {
        int drc = r->on_data(r->data_arg, (const uint8_t *)buf, len);
        if (drc != 0) {
            r->write_rc = drc < 0 ? drc : AG_EIO;
            return 0;
        }
        return len;
    }
    int rc = ag_buf_add(&r->body, buf, len);
    if (rc != 0) {
        /* The buffer is freed; returning short makes curl stop with CURLE_WRITE_ERROR. */
        r->write_rc = rc;
        return 0;
    }
    return len;
}

static int rc_from_curl(CURLcode cc, const struct http_req *r)
{
    switch (cc) {
    case CURLE_OK:
        return 0;
    case CURLE_OPERATION_TIMEDOUT:
        return AG_ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return AG_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return AG_EINVAL;
    case CURLE_WRITE_ERROR:
        return r->write_rc != 0 ? r->write_rc : AG_EIO;
    default:
        return AG_EIO;
    }
}

static void check_done(struct ex_aws_http *http)
{
    CURLMsg *msg;
    int left;
    /* A callback may free the client (it then only marks it dead) or start new requests. */
    while (!http->dead && (msg = curl_multi_info_read(http->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        struct http_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        int rc = rc_from_curl(msg->data.result, r);
        struct ex_aws_http_response resp = {.rc = rc, .transport_error = ""};
        if (rc == 0) {
            long status = 0;
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
            resp.status = (int)status;
            resp.error_type = r->error_type[0] ? r->error_type : NULL;
            resp.request_id = r->request_id[0] ? r->request_id : NULL;
            resp.content_type = r->content_type[0] ? r->content_type : NULL;
            resp.retry_after_ms = r->retry_after_ms;
            resp.date_unix_s = r->date_unix_s;
            resp.body = (const uint8_t *)ag_buf_str(&r->body);
            resp.body_len = r->body.len;
            resp.streamed = r->streaming == 1;
        } else {
            resp.streamed = r->streaming == 1;
            resp.transport_error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(msg->data.result);
            resp.body = (const uint8_t *)"";
        }
        req_finish(r, &resp);
    }
    while (!http->dead && http->sock_failed) {
        http->sock_failed = false;
        for (struct http_req *r = http->reqs; r != NULL; r = r->next) {
            if (r->sock_rc != 0) {
                req_fail(r, r->sock_rc, "out of memory");
                http->sock_failed = true; /* the list changed under us: look again */
                break;
            }
        }
    }
}

/* ---- curl <-> libevent ----------------------------------------------------------------------- */

static void http_destroy(struct ex_aws_http *http);

static void enter(struct ex_aws_http *http)
{
    http->depth++;
}

static void leave(struct ex_aws_http *http)
{
    if (--http->depth == 0 && http->dead) {
        http_destroy(http);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct http_sock *s = arg;
    struct ex_aws_http *http = s->http;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running = 0;
    enter(http);
    curl_multi_socket_action(http->multi, fd, flags, &running);
    check_done(http);
    leave(http);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ex_aws_http *http = arg;
    int running = 0;
    enter(http);
    curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(http);
    leave(http);
}

static void sock_free(struct ex_aws_http *http, struct http_sock *s)
{
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        http->socks = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    event_free(s->ev);
    ag_free(s);
}

/* A socket that cannot be watched would hang its transfer until the timeout: the transfer is
 * failed instead, once curl has returned (curl must not be called back from here). */
static int sock_fail(struct ex_aws_http *http, CURL *easy)
{
    struct http_req *r = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
    if (r != NULL) {
        r->sock_rc = AG_ENOMEM;
        http->sock_failed = true;
    }
    return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct ex_aws_http *http = userp;
    struct http_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(http->multi, fd, NULL);
            sock_free(http, s);
        }
        return 0;
    }
    short kind =
        EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (s == NULL) {
        s = ag_calloc(1, sizeof(*s));
        if (s == NULL) {
            return sock_fail(http, easy);
        }
        s->http = http;
        s->fd = fd;
        s->ev = event_new(http->base, fd, kind, on_socket_event, s);
        if (s->ev == NULL) {
            ag_free(s);
            return sock_fail(http, easy);
        }
        s->next = http->socks;
        if (http->socks != NULL) {
            http->socks->prev = s;
        }
        http->socks = s;
        curl_multi_assign(http->multi, fd, s);
    } else {
        event_del(s->ev);
        event_assign(s->ev, http->base, fd, kind, on_socket_event, s);
    }
    return event_add(s->ev, NULL) == 0 ? 0 : sock_fail(http, easy);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct ex_aws_http *http = userp;
    if (timeout_ms < 0) {
        evtimer_del(http->timer);
        return 0;
    }
    /* Never call curl back from here (curl forbids it): a zero timeout fires on the next loop
     * iteration, which is also what keeps done callbacks out of ex_aws_http_send(). */
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return evtimer_add(http->timer, &tv) == 0 ? 0 : -1;
}

/* ---- public ---------------------------------------------------------------------------------- */

int ex_aws_http_new(struct event_base *base, const struct ex_aws_http_options *opts,
                    struct ex_aws_http **out)
{
    struct ex_aws_http *http = NULL;
    int rc = AG_ENOMEM;
    *out = NULL;
    if (base == NULL) {
        return AG_EINVAL;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        return AG_ENOMEM;
    }
    http = ag_calloc(1, sizeof(*http));
    if (http == NULL) {
        goto out;
    }
    http->base = base;
    http->connect_timeout_ms = opts != NULL && opts->connect_timeout_ms != 0
                                   ? opts->connect_timeout_ms
                                   : EX_AWS_HTTP_CONNECT_TIMEOUT_MS;
    http->timeout_ms =
        opts != NULL && opts->timeout_ms != 0 ? opts->timeout_ms : EX_AWS_HTTP_TIMEOUT_MS;
    http->user_agent = ag_strdup(
        opts != NULL && opts->user_agent != NULL ? opts->user_agent : "otterd/" OTTER_VERSION);
    http->timer = evtimer_new(base, on_timer, http);
    http->multi = curl_multi_init();
    if (http->user_agent == NULL || http->timer == NULL || http->multi == NULL) {
        goto out;
    }
    if (curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http) != CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http) != CURLM_OK ||
        curl_multi_setopt(http->multi, CURLMOPT_MAXCONNECTS, MAX_IDLE_CONNS) != CURLM_OK) {
        goto out;
    }
    *out = http;
    http = NULL;
    rc = 0;
out:
    http_destroy(http);
    return rc;
}

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static bool header_name_ok(const char *n)
{
    if (n == NULL || *n == '\0') {
        return false;
    }
    for (; *n; n++) {
        unsigned char c = (unsigned char)*n;
        if (c <= ' ' || c == ':' || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* Appends one header line; on failure the list is left as it was (curl keeps it intact). */
static int slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (n == NULL) {
        return AG_ENOMEM;
    }
    *list = n;
    return 0;
}

/* Appends "Name: value" (or "Name;" for an empty value: curl's way to send it empty). */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    struct ag_buf b;
    ag_buf_init(&b, 64 * 1024);
    int rc = value != NULL && *value != '\0' ? ag_buf_printf(&b, "%s: %s", name, value)
                                             : ag_buf_printf(&b, "%s;", name);
    if (rc == 0) {
        rc = slist_add(list, ag_buf_str(&b));
    }
    ag_buf_cleanup(&b);
    return rc;
}

static bool given(const struct ex_aws_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

#define SET(opt, val)                                          \
    do {                                                       \
        if (curl_easy_setopt(r->easy, opt, val) != CURLE_OK) { \
            goto out;                                          \
        }                                                      \
    } while (0)

int ex_aws_http_send(struct ex_aws_http *http, const struct ex_aws_http_request *req,
                     ex_aws_http_done_fn *done, void *arg)
{
    struct http_req *r = NULL;
    int rc = AG_EINVAL;
    if (http == NULL || req == NULL || done == NULL || req->method == NULL || req->url == NULL ||
        req->n_headers > EX_AWS_HTTP_MAX_HEADERS || (req->n_headers > 0 && req->headers == NULL) ||
        (req->body_len > 0 && req->body == NULL) || has_crlf(req->method) ||
        (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (!header_name_ok(req->headers[i].name) || req->headers[i].value == NULL ||
            has_crlf(req->headers[i].value)) {
            return AG_EINVAL;
        }
    }
    if (http->dead) {
        return AG_EAGAIN;
    }
    rc = AG_ENOMEM;
    r = ag_calloc(1, sizeof(*r));
    if (r == NULL) {
        goto out;
    }
    r->http = http;
    r->done = done;
    r->arg = arg;
    r->on_data = req->on_data;
    r->data_arg = req->data_arg;
    ag_buf_init(&r->body, req->max_response != 0 ? req->max_response : EX_AWS_HTTP_MAX_RESPONSE);
    r->easy = http->n_spare > 0 ? http->spare[--http->n_spare] : curl_easy_init();
    if (r->easy == NULL) {
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (add_header(&r->headers, req->headers[i].name, req->headers[i].value) != 0) {
            goto out;
        }
    }
    bool has_body =
        req->body_len > 0 || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
    /* "Name:" removes a header curl would add: no "Expect: 100-continue" round trip, no curl
     * default Content-Type the caller did not choose; "Accept: * / *" stays, it is harmless. */
    if (has_body &&
        (slist_add(&r->headers, "Expect:") != 0 ||
         (!given(req, "Content-Type") && slist_add(&r->headers, "Content-Type:") != 0))) {
        goto out;
    }
    rc = AG_EINVAL;
    SET(CURLOPT_URL, req->url);
    rc = AG_ENOMEM;
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_PRIVATE, r);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SET(CURLOPT_PROXY, req->proxy != NULL ? req->proxy : "");
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        (long)(req->connect_timeout_ms ? req->connect_timeout_ms : http->connect_timeout_ms));
    SET(CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : http->timeout_ms));
    SET(CURLOPT_USERAGENT, http->user_agent);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (req->no_verify_ssl) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, r);
    if (r->headers != NULL) {
        SET(CURLOPT_HTTPHEADER, r->headers);
    }
    if (has_body) {
        /* The body is borrowed until done: curl reads it in place. */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body_len > 0 ? (const char *)req->body : "");
        /* curl sends a body through its upload buffer, 64 kB by default: an X-Ray batch is a
         * little more, and went out in two sends. Sized to the body, up to UPLOAD_BUFFER_MAX. */
        if (req->body_len > 65536) {
            SET(CURLOPT_UPLOAD_BUFFERSIZE,
                (long)(req->body_len < UPLOAD_BUFFER_MAX ? req->body_len : UPLOAD_BUFFER_MAX));
        }
        if (strcmp(req->method, "POST") != 0) {
            SET(CURLOPT_CUSTOMREQUEST, req->method);
        }
    } else if (strcmp(req->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
    /* Linked first: adding runs the timer callback, which only arms an evtimer, so nothing
     * completes (and no done callback runs) before this function returns. */
    req_link(http, r);
    if (curl_multi_add_handle(http->multi, r->easy) != CURLM_OK) {
        req_unlink(http, r);
        goto out;
    }
    return 0;
out:
    req_free(r);
    return rc;
}

int ex_aws_http_cancel(struct ex_aws_http *http, ex_aws_http_done_fn *done, void *arg)
{
    if (http == NULL) {
        return AG_ENOTFOUND;
    }
    for (struct http_req *r = http->reqs; r != NULL; r = r->next) {
        if (r->done == done && r->arg == arg) {
            /* Outside curl's own callbacks (the contract), so the handle can go at once. */
            curl_multi_remove_handle(http->multi, r->easy);
            req_unlink(http, r);
            req_free(r);
            return 0;
        }
    }
    return AG_ENOTFOUND;
}

size_t ex_aws_http_pending(const struct ex_aws_http *http)
{
    return http != NULL ? http->pending : 0;
}

static void abort_all(struct ex_aws_http *http)
{
    /* Callbacks may not start new requests (send refuses once dead), so this ends. */
    while (http->reqs != NULL) {
        req_fail(http->reqs, AG_EAGAIN, "the HTTP client is shutting down");
    }
}

static void http_destroy(struct ex_aws_http *http)
{
    if (http == NULL) {
        return;
    }
    http->dead = true;
    abort_all(http);
    if (http->multi != NULL) {
        curl_multi_cleanup(http->multi);
    }
    while (http->n_spare > 0) {
        curl_easy_cleanup(http->spare[--http->n_spare]);
    }
    /* curl does not always announce CURL_POLL_REMOVE for sockets it closes at cleanup. */
    while (http->socks != NULL) {
        sock_free(http, http->socks);
    }
    if (http->timer != NULL) {
        event_free(http->timer);
    }
    ag_free(http->user_agent);
    ag_free(http);
}

void ex_aws_http_free(struct ex_aws_http *http)
{
    if (http == NULL || http->dead) {
        return;
    }
    if (http->depth > 0) {
        /* Called from a done callback: fail the rest now, destroy when the stack unwinds. */
        http->dead = true;
        abort_all(http);
        return;
    }
    http_destroy(http);
}
