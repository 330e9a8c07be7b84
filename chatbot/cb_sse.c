/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server-sent events for the streaming chat answer: the event format (pure), and one chunked
 * evhttp reply that watches its client's connection so that a provider call can be cancelled the
 * moment the client disconnects.
 */
#include "cb_sse.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <string.h>
#include <sys/socket.h>

#include "ag_mem.h"

struct cb_sse {
    struct evhttp_request *req;  /* NULL once ended, released or gone */
    struct evhttp_connection *evcon;
    cb_sse_gone_fn *gone;
    void *arg;
    bool watching; /* our close callback is set on evcon */
    bool started;  /* headers sent */
    /* evhttp reads nothing from a connection while its request is being answered, so a client
     * that leaves early is only noticed at a failed write. This event watches the socket for
     * the end of the stream meanwhile. */
    struct event *eof;
};

static bool event_name_ok(const char *event)
{
    size_t n = event != NULL ? strlen(event) : 0;
    if (n == 0 || n > CB_SSE_MAX_EVENT_NAME) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = event[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

int cb_sse_format(struct ag_buf *out, const char *event, const char *data, size_t len)
{
    if (!event_name_ok(event) || (len > 0 && (data == NULL || memchr(data, '\0', len) != NULL))) {
        return AG_EINVAL;
    }
    int rc = ag_buf_printf(out, "event: %s\n", event);
    size_t i = 0;
    /* One pass over the lines; a final line end leaves one empty last line, which is what
     * makes the client's join give the line end back. */
    while (rc == 0) {
        size_t j = i;
        while (j < len && data[j] != '\r' && data[j] != '\n') {
            j++;
        }
        rc = ag_buf_add(out, "data: ", 6);
        if (rc == 0) {
            rc = ag_buf_add(out, data + i, j - i);
        }
        if (rc == 0) {
            rc = ag_buf_addc(out, '\n');
        }
        if (j >= len) {
            break;
        }
        i = j + 1;
        if (data[j] == '\r' && i < len && data[i] == '\n') {
            i++;
        }
    }
    if (rc == 0) {
        rc = ag_buf_addc(out, '\n');
    }
    return rc;
}

static void stop_eof_watch(struct cb_sse *s)
{
    if (s->eof != NULL) {
        event_free(s->eof);
        s->eof = NULL;
    }
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct cb_sse *s = arg;
    (void)evcon;
    stop_eof_watch(s);
    /* When libevent failed the connection itself (a write error, a timeout) while the request
     * was still ours, it detached the request from the connection and leaves freeing it to
     * us; otherwise it frees the request after this returns. Either way: forget it now. */
    if (s->req != NULL && evhttp_request_get_connection(s->req) == NULL) {
        evhttp_request_free(s->req);
    }
    s->req = NULL;
    s->evcon = NULL;
    s->watching = false;
    if (s->gone != NULL) {
        s->gone(s->arg);
    }
}

/* The socket is readable while the reply is pending: the client closed it (EOF or an error),
 * or sent more (a pipelined request, which evhttp reads after this reply; we stop watching). */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct cb_sse *s = arg;
    char c;
    (void)what;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n > 0 || s->evcon == NULL) {
        stop_eof_watch(s);
        return;
    }
    /* Gone: closing the connection runs on_close (and so the owner's gone callback, which may
     * free |s|), and frees the request. */
    evhttp_connection_free(s->evcon);
}

static void unwatch(struct cb_sse *s)
{
    stop_eof_watch(s);
    if (s->watching && s->evcon != NULL) {
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
    }
    s->watching = false;
}

int cb_sse_new(struct evhttp_request *req, cb_sse_gone_fn *gone, void *arg, struct cb_sse **out)
{
    *out = NULL;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon == NULL) {
        return AG_EIO;
    }
    struct cb_sse *s = ag_calloc(1, sizeof(*s));
    if (s == NULL) {
        return AG_ENOMEM;
    }
    s->req = req;
    s->evcon = evcon;
    s->gone = gone;
    s->arg = arg;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd >= 0) {
        s->eof = event_new(evhttp_connection_get_base(evcon), fd, EV_READ | EV_PERSIST,
                           on_readable, s);
        if (s->eof == NULL || event_add(s->eof, NULL) != 0) {
            stop_eof_watch(s);
            ag_free(s);
            return AG_ENOMEM;
        }
    }
    evhttp_connection_set_closecb(evcon, on_close, s);
    s->watching = true;
    *out = s;
    return 0;
}

struct evhttp_request *cb_sse_request(const struct cb_sse *s)
{
    return s->req;
}

bool cb_sse_started(const struct cb_sse *s)
{
    return s->started;
}

int cb_sse_send(struct cb_sse *s, const char *event, const char *data, size_t len)
{
    if (s->req == NULL) {
        return AG_EIO;
    }
    struct ag_buf b;
    ag_buf_init(&b, 16u * 1024u * 1024u);
    int rc = cb_sse_format(&b, event, data, len);
    if (rc != 0) {
        ag_buf_cleanup(&b);
        return rc;
    }
    struct evbuffer *chunk = evbuffer_new();
    if (chunk == NULL || evbuffer_add(chunk, ag_buf_ptr(&b), b.len) != 0) {
        if (chunk != NULL) {
            evbuffer_free(chunk);
        }
        ag_buf_cleanup(&b);
        return AG_ENOMEM;
    }
    ag_buf_cleanup(&b);
    if (!s->started) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
        evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
        /* Proxies that buffer (nginx) would hold the events back. */
        evhttp_add_header(h, "X-Accel-Buffering", "no");
        evhttp_send_reply_start(s->req, 200, "OK");
        s->started = true;
    }
    /* Each event is its own chunk: libevent writes it out on the next loop turn. */
    evhttp_send_reply_chunk(s->req, chunk);
    evbuffer_free(chunk);
    return 0;
}

void cb_sse_end(struct cb_sse *s)
{
    if (s == NULL || s->req == NULL) {
        return;
    }
    unwatch(s);
    if (s->started) {
        evhttp_send_reply_end(s->req);
        s->req = NULL;
    }
}

struct evhttp_request *cb_sse_release(struct cb_sse *s)
{
    unwatch(s);
    struct evhttp_request *req = s->req;
    s->req = NULL;
    return req;
}

void cb_sse_free(struct cb_sse *s)
{
    if (s == NULL) {
        return;
    }
    cb_sse_end(s);
    stop_eof_watch(s);
    if (s->req != NULL) {
        /* Never started and never released: the request still needs an answer. */
        evhttp_send_error(s->req, 500, "Internal Server Error");
        s->req = NULL;
    }
    ag_free(s);
}
