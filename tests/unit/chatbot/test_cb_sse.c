/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SSE writer: the event format (expected bytes written out by hand), and a real evhttp
 * server on 127.0.0.1 with a raw socket client: the chunked framing of each event, and the
 * client's disconnect reported before and after the stream started.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ag_test.h"
#include "cb_sse.h"

static void expect_format(const char *event, const char *data, size_t len, const char *want)
{
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    ASSERT_OK(cb_sse_format(&b, event, data, len));
    ASSERT_EQ(b.len, strlen(want));
    ASSERT_MEMEQ(ag_buf_ptr(&b), want, b.len);
    ag_buf_cleanup(&b);
}

static void test_format(void)
{
    expect_format("delta", "{\"text\":\"hi\"}", 13, "event: delta\ndata: {\"text\":\"hi\"}\n\n");
    /* Every line end of the data starts a new data line; a client joins them with \n. */
    expect_format("e", "a\nb", 3, "event: e\ndata: a\ndata: b\n\n");
    expect_format("e", "a\r\nb", 4, "event: e\ndata: a\ndata: b\n\n");
    expect_format("e", "a\rb", 3, "event: e\ndata: a\ndata: b\n\n");
    /* "\r\r\n": a CR line end, then a CRLF one: three lines, the middle one empty. */
    expect_format("e", "a\r\r\nb", 5, "event: e\ndata: a\ndata: \ndata: b\n\n");
    /* A trailing line end gives an empty last line, so the join keeps it. */
    expect_format("e", "a\n", 2, "event: e\ndata: a\ndata: \n\n");
    expect_format("e", "", 0, "event: e\ndata: \n\n");
    /* An injection attempt stays inside data lines. */
    expect_format("e", "x\n\nevent: done\ndata: y", 22,
                  "event: e\ndata: x\ndata: \ndata: event: done\ndata: data: y\n\n");
    expect_format("done.v-1_A", "z", 1, "event: done.v-1_A\ndata: z\n\n");
}

static void expect_refused(const char *event, const char *data, size_t len)
{
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    ASSERT_EQ(cb_sse_format(&b, event, data, len), AG_EINVAL);
    ASSERT_EQ(b.len, 0);
    ag_buf_cleanup(&b);
}

static void test_refused(void)
{
    expect_refused("", "x", 1);
    expect_refused(NULL, "x", 1);
    expect_refused("a\nb", "x", 1);
    expect_refused("a\rb", "x", 1);
    expect_refused("a b", "x", 1);
    expect_refused("a:b", "x", 1);
    expect_refused("e", "a\0b", 3);
    expect_refused("e", NULL, 1);
    char long_name[CB_SSE_MAX_EVENT_NAME + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    expect_refused(long_name, "x", 1);
    long_name[CB_SSE_MAX_EVENT_NAME] = '\0';
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    ASSERT_OK(cb_sse_format(&b, long_name, "x", 1));
    ag_buf_cleanup(&b);
    /* Over the buffer's cap: the buffer's own error. */
    ag_buf_init(&b, 10);
    ASSERT_EQ(cb_sse_format(&b, "delta", "0123456789", 10), AG_ETOOBIG);
    ag_buf_cleanup(&b);
}

/* ---- over a real connection ------------------------------------------------------------------ */

struct live {
    struct event_base *base;
    struct evhttp *http;
    struct cb_sse *sse;
    int send_on_request; /* events to send when the request comes */
    int gone;
};

static void on_gone(void *arg)
{
    struct live *l = arg;
    l->gone++;
}

static void on_req(struct evhttp_request *req, void *arg)
{
    struct live *l = arg;
    ASSERT_OK(cb_sse_new(req, on_gone, l, &l->sse));
    ASSERT(!cb_sse_started(l->sse));
    for (int i = 0; i < l->send_on_request; i++) {
        ASSERT_OK(cb_sse_send(l->sse, "delta", "a\nb", 3));
    }
    ASSERT(cb_sse_started(l->sse) == (l->send_on_request > 0));
}

static void start_into(struct live *l, int events, int *out)
{
    memset(l, 0, sizeof(*l));
    l->send_on_request = events;
    l->base = event_base_new();
    l->http = evhttp_new(l->base);
    ASSERT_NOT_NULL(l->base);
    ASSERT_NOT_NULL(l->http);
    evhttp_set_gencb(l->http, on_req, l);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(l->http, "127.0.0.1", 0);
    ASSERT_NOT_NULL(bs);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    ASSERT_OK(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sl));
    static const char rq[] = "POST /s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(send(fd, rq, sizeof(rq) - 1, 0), (ssize_t)(sizeof(rq) - 1));
    *out = fd;
}

static int start(struct live *l, int events)
{
    int fd = -1;
    start_into(l, events, &fd);
    if (fd < 0) {
        abort();
    }
    return fd;
}

static void stop(struct live *l)
{
    cb_sse_free(l->sse);
    evhttp_free(l->http);
    /* libevent finishes freeing some of a connection in deferred callbacks. */
    event_base_loop(l->base, EVLOOP_NONBLOCK);
    event_base_free(l->base);
}

/* Runs the loop for about 100 ms. */
#define RUN_A_WHILE(l)                                            \
    do {                                                          \
        for (int i_ = 0; i_ < 20; i_++) {                         \
            struct timeval tv_ = {0, 5000};                       \
            event_base_loopexit((l)->base, &tv_);                 \
            event_base_dispatch((l)->base);                       \
        }                                                         \
    } while (0)

/* Runs the loop until |cond| holds or about 2 s have passed. */
#define RUN_UNTIL(l, cond)                                        \
    do {                                                          \
        for (int i_ = 0; i_ < 400 && !(cond); i_++) {             \
            struct timeval tv_ = {0, 5000};                       \
            event_base_loopexit((l)->base, &tv_);                 \
            event_base_dispatch((l)->base);                       \
        }                                                         \
    } while (0)

/* Reads what has arrived on |fd| into |buf| (NUL-terminated), without blocking. */
static size_t drain(int fd, char *buf, size_t cap, size_t have)
{
    for (;;) {
        ssize_t n = recv(fd, buf + have, cap - 1 - have, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
    }
    buf[have] = '\0';
    return have;
}

static void test_stream(void)
{
    struct live l;
    char got[4096];
    size_t have = 0;
    int fd = start(&l, 2);
    /* Each event "event: delta\ndata: a\ndata: b\n\n" is 13 + 8 + 8 + 1 = 30 = 0x1e bytes. */
    static const char chunk[] = "1e\r\nevent: delta\ndata: a\ndata: b\n\n\r\n";
    RUN_UNTIL(&l, (have = drain(fd, got, sizeof(got), have)) > 0 &&
                      strstr(got, "\r\n\r\n1e\r\nevent: delta\ndata: a\ndata: b\n\n\r\n1e") != NULL);
    ASSERT_STRCONTAINS(got, "HTTP/1.1 200 OK\r\n");
    ASSERT_STRCONTAINS(got, "Content-Type: text/event-stream; charset=utf-8\r\n");
    ASSERT_STRCONTAINS(got, "Transfer-Encoding: chunked\r\n");
    const char *body = strstr(got, "\r\n\r\n") + 4;
    ASSERT_EQ(strlen(body), 2 * (sizeof(chunk) - 1));
    ASSERT_MEMEQ(body, chunk, sizeof(chunk) - 1);
    ASSERT_MEMEQ(body + sizeof(chunk) - 1, chunk, sizeof(chunk) - 1);
    /* A third event, then the end: the last chunk is "0\r\n\r\n". */
    ASSERT_OK(cb_sse_send(l.sse, "done", "{}", 2));
    cb_sse_end(l.sse);
    ASSERT_NULL(cb_sse_request(l.sse));
    ASSERT_EQ(cb_sse_send(l.sse, "done", "{}", 2), AG_EIO);
    /* "event: done\ndata: {}\n\n" = 12 + 9 + 1 = 22 = 0x16 bytes. */
    RUN_UNTIL(&l, strstr((have = drain(fd, got, sizeof(got), have), got), "0\r\n\r\n") != NULL &&
                      strstr(got, "16\r\nevent: done\ndata: {}\n\n\r\n0\r\n\r\n") != NULL);
    ASSERT_STRCONTAINS(got, "16\r\nevent: done\ndata: {}\n\n\r\n0\r\n\r\n");
    /* Ended: a disconnect now is no longer reported. */
    close(fd);
    RUN_A_WHILE(&l);
    ASSERT_EQ(l.gone, 0);
    stop(&l);
}

static void test_gone_while_streaming(void)
{
    struct live l;
    char got[4096];
    size_t have = 0;
    int fd = start(&l, 1);
    RUN_UNTIL(&l, (have = drain(fd, got, sizeof(got), have)) > 0 && strstr(got, "data: b") != NULL);
    close(fd);
    /* The next writes fail against the closed socket; libevent closes the connection. */
    for (int i = 0; i < 50 && l.gone == 0; i++) {
        if (cb_sse_request(l.sse) != NULL) {
            ASSERT_OK(cb_sse_send(l.sse, "delta", "more", 4));
        }
        RUN_UNTIL(&l, l.gone > 0);
    }
    ASSERT_EQ(l.gone, 1);
    ASSERT_NULL(cb_sse_request(l.sse));
    ASSERT_EQ(cb_sse_send(l.sse, "delta", "x", 1), AG_EIO);
    stop(&l);
}

static void test_gone_before_start(void)
{
    struct live l;
    int fd = start(&l, 0);
    RUN_UNTIL(&l, l.sse != NULL);
    ASSERT_NOT_NULL(l.sse);
    /* Nothing sent yet: the client leaves while the answer is being prepared. */
    close(fd);
    RUN_UNTIL(&l, l.gone > 0);
    ASSERT_EQ(l.gone, 1);
    ASSERT_NULL(cb_sse_request(l.sse));
    ASSERT_NULL(cb_sse_release(l.sse));
    stop(&l);
}

static void test_release(void)
{
    struct live l;
    char got[4096];
    size_t have = 0;
    int fd = start(&l, 0);
    RUN_UNTIL(&l, l.sse != NULL);
    struct evhttp_request *req = cb_sse_release(l.sse);
    ASSERT_NOT_NULL(req);
    ASSERT_NULL(cb_sse_request(l.sse));
    evhttp_send_reply(req, 503, "Service Unavailable", NULL);
    RUN_UNTIL(&l, (have = drain(fd, got, sizeof(got), have)) > 0 && strstr(got, "\r\n\r\n"));
    ASSERT_STRCONTAINS(got, "HTTP/1.1 503 Service Unavailable\r\n");
    close(fd);
    RUN_A_WHILE(&l);
    ASSERT_EQ(l.gone, 0); /* released: no longer watched */
    stop(&l);
}

AG_TEST_MAIN(AG_TEST_CASE(test_format), AG_TEST_CASE(test_refused), AG_TEST_CASE(test_stream),
             AG_TEST_CASE(test_gone_while_streaming), AG_TEST_CASE(test_gone_before_start),
             AG_TEST_CASE(test_release))
