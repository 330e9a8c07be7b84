/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-process HTTP peers for the AWS client tests: a scripted evhttp server that records every
 * request, and a raw TCP peer that answers with canned bytes (or never), to provoke timeouts,
 * cut bodies and oversize answers.
 */
#include "aws_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

double ts_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ts_server *s = arg;
    s->requests++;
    if (s->n_seen < TS_MAX_SEEN) {
        struct ts_seen *w = &s->seen[s->n_seen++];
        memset(w, 0, sizeof(*w));
        w->at_s = ts_now_s();
        static const char *const names[] = {"GET", "POST", "HEAD", "PUT", "DELETE"};
        static const enum evhttp_cmd_type cmds[] = {
            EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_HEAD, EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE};
        for (size_t i = 0; i < 5; i++) {
            if (evhttp_request_get_command(req) == cmds[i]) {
                snprintf(w->method, sizeof(w->method), "%s", names[i]);
            }
        }
        snprintf(w->uri, sizeof(w->uri), "%s", evhttp_request_get_uri(req));
        size_t off = 0;
        struct evkeyval *kv;
        for (kv = evhttp_request_get_input_headers(req)->tqh_first; kv != NULL;
             kv = kv->next.tqe_next) {
            int n = snprintf(w->headers + off, sizeof(w->headers) - off, "%s: %s\n", kv->key,
                             kv->value);
            if (n > 0 && (size_t)n < sizeof(w->headers) - off) {
                off += (size_t)n;
            }
        }
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        w->body_len = evbuffer_get_length(in);
        evbuffer_copyout(in, w->body,
                         w->body_len < sizeof(w->body) - 1 ? w->body_len : sizeof(w->body) - 1);
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
        w->peer_port = port;
    }
    struct ts_answer a = {.status = 200, .body = "{}"};
    if (s->n_script > 0) {
        a = s->script[s->next < s->n_script ? s->next : s->n_script - 1];
        s->next++;
    }
    if (a.no_reply) {
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    for (size_t i = 0; i < 6 && a.headers[i][0] != NULL; i++) {
        evhttp_add_header(out, a.headers[i][0], a.headers[i][1]);
    }
    struct evbuffer *body = evbuffer_new();
    if (a.body != NULL) {
        evbuffer_add(body, a.body, strlen(a.body));
    }
    evhttp_send_reply(req, a.status, "X", body);
    evbuffer_free(body);
}

int ts_start(struct ts_server *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->http = evhttp_new(base);
    if (s->http == NULL) {
        return -1;
    }
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(s->http, on_request, s);
    struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    if (h == NULL) {
        return -1;
    }
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sin, &len);
    s->port = ntohs(sin.sin_port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)s->port);
    return 0;
}

void ts_stop(struct ts_server *s)
{
    if (s->http != NULL) {
        evhttp_free(s->http);
        s->http = NULL;
    }
}

void ts_push(struct ts_server *s, struct ts_answer a)
{
    if (s->n_script < TS_MAX_SCRIPT) {
        s->script[s->n_script++] = a;
    }
}

const char *ts_header(const struct ts_seen *seen, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *p = seen->headers; *p;) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL) {
            break;
        }
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':' && p[nlen + 1] == ' ') {
            const char *v = p + nlen + 2;
            snprintf(out, outlen, "%.*s", (int)(eol - v), v);
            return out;
        }
        p = eol + 1;
    }
    return NULL;
}

/* ---- the raw peer ---------------------------------------------------------------------------- */

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    (void)arg;
    (void)bev;
}

static void raw_written(struct bufferevent *bev, void *arg)
{
    struct ts_raw *r = arg;
    if (r->close_after && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        for (int i = 0; i < r->n_bevs; i++) {
            if (r->bevs[i] == bev) {
                r->bevs[i] = NULL;
            }
        }
        bufferevent_free(bev);
    }
}

static void raw_read(struct bufferevent *bev, void *arg)
{
    struct ts_raw *r = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (p.pos < 0) {
        return;
    }
    evbuffer_drain(in, evbuffer_get_length(in));
    if (r->reply != NULL) {
        bufferevent_setcb(bev, NULL, raw_written, raw_event, r);
        bufferevent_write(bev, r->reply, r->reply_len);
    }
}

static void raw_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                       int socklen, void *arg)
{
    struct ts_raw *r = arg;
    r->accepted++;
    struct bufferevent *bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL || r->n_bevs >= 16) {
        if (bev != NULL) {
            bufferevent_free(bev);
        }
        return;
    }
    r->bevs[r->n_bevs++] = bev;
    bufferevent_setcb(bev, raw_read, NULL, raw_event, r);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int ts_raw_start(struct ts_raw *r, struct event_base *base, const char *reply, size_t reply_len,
                 bool close_after)
{
    memset(r, 0, sizeof(*r));
    r->base = base;
    r->reply = reply;
    r->reply_len = reply_len;
    r->close_after = close_after;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    r->lis = evconnlistener_new_bind(base, raw_accept, r, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                     16, (struct sockaddr *)&sin, sizeof(sin));
    if (r->lis == NULL) {
        return -1;
    }
    socklen_t len = sizeof(sin);
    getsockname(evconnlistener_get_fd(r->lis), (struct sockaddr *)&sin, &len);
    r->port = ntohs(sin.sin_port);
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%u", (unsigned)r->port);
    return 0;
}

void ts_raw_stop(struct ts_raw *r)
{
    for (int i = 0; i < r->n_bevs; i++) {
        if (r->bevs[i] != NULL) {
            bufferevent_free(r->bevs[i]);
        }
    }
    r->n_bevs = 0;
    if (r->lis != NULL) {
        evconnlistener_free(r->lis);
        r->lis = NULL;
    }
}

uint16_t ts_dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

bool ts_run_until_count(struct event_base *base, const int *count, int want, double timeout_s)
{
    double end = ts_now_s() + timeout_s;
    while (*count < want) {
        if (ts_now_s() > end) {
            return false;
        }
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return true;
}

bool ts_run_until(struct event_base *base, const int *flag, double timeout_s)
{
    return ts_run_until_count(base, flag, 1, timeout_s);
}
