/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ag_xray_server: a real UDP socket on 127.0.0.1 and the event loop run by hand.
 * Valid documents reach the sink, malformed datagrams are refused with the parser's code, a
 * batch larger than one recvmmsg() call is read whole, stop delivers what was queued, and
 * creation is OOM-safe.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ag_xray_server.h"
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct seen {
    int docs;
    int proto;
    int toobig;
    int nomem;
    uint64_t overflow;
    char last_id[17];
    size_t last_len;
};

static void on_doc(void *ctx, const struct ag_xray_doc *doc)
{
    struct seen *s = ctx;
    s->docs++;
    memcpy(s->last_id, doc->id, sizeof(s->last_id));
    s->last_len = doc->doc_len;
}

static void on_rejected(void *ctx, int rc)
{
    struct seen *s = ctx;
    s->proto += rc == AG_EPROTO;
    s->toobig += rc == AG_ETOOBIG;
    s->nomem += rc == AG_ENOMEM;
}

static void on_overflow(void *ctx, uint64_t n)
{
    struct seen *s = ctx;
    s->overflow += n;
}

static int sender(int port, struct sockaddr_in *to)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(to, 0, sizeof(*to));
    to->sin_family = AF_INET;
    to->sin_port = htons((uint16_t)port);
    to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return fd;
}

static void send_str(int fd, const struct sockaddr_in *to, const char *s)
{
    ssize_t n = sendto(fd, s, strlen(s), 0, (const struct sockaddr *)to, sizeof(*to));
    (void)n;
}

static int total(const struct seen *s)
{
    return s->docs + s->proto + s->toobig + s->nomem;
}

/* Runs the loop until |want| datagrams were handed to the sink (or 5 s passed). */
static void turn_until(struct event_base *base, const struct seen *s, int want)
{
    for (int i = 0; i < 5000 && total(s) < want; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (total(s) < want) {
            usleep(1000);
        }
    }
}

#define DOC(id)                                                                             \
    "{\"format\": \"json\", \"version\": 1}\n{\"name\": \"a\", \"id\": \"" id "\", "          \
    "\"trace_id\": \"1-5759e988-bd862e3fe1be46a994272793\", \"start_time\": 1, "             \
    "\"end_time\": 2}"

static void test_receive(void)
{
    struct event_base *base = event_base_new();
    struct seen s;
    memset(&s, 0, sizeof(s));
    struct ag_xray_server_sink sink = {on_doc, on_rejected, on_overflow, &s};
    struct ag_xray_server *srv = NULL;
    int port = 0, rcvbuf = 0;
    ASSERT_NOT_NULL(base);
    ASSERT_OK(ag_xray_server_new(base, "awsxray", &sink, &srv));
    ASSERT_OK(ag_xray_server_listen(srv, "127.0.0.1", 0, &port, &rcvbuf));
    ASSERT(port > 0);
    ASSERT(rcvbuf > 0);
    ASSERT_EQ(ag_xray_server_listen(srv, "127.0.0.1", 0, NULL, NULL), AG_EINVAL);

    struct sockaddr_in to;
    int fd = sender(port, &to);
    ASSERT(fd >= 0);
    send_str(fd, &to, DOC("0123456789abcdef"));
    send_str(fd, &to, "garbage");
    send_str(fd, &to, "{\"format\": \"json\", \"version\": 1}\n");
    send_str(fd, &to, DOC("0123456789ABCDEF")); /* ids are lowercase */
    turn_until(base, &s, 4);
    ASSERT_EQ(s.docs, 1);
    ASSERT_STREQ(s.last_id, "0123456789abcdef");
    ASSERT_EQ(s.last_len, strlen(DOC("0123456789abcdef")) - 33);
    ASSERT_EQ(s.proto, 3);
    ASSERT_EQ(s.toobig + s.nomem, 0);
    ASSERT_UEQ(s.overflow, 0);

    /* More than one recvmmsg() batch, all read in one readable event. */
    for (int i = 0; i < 3 * AG_XRAY_SERVER_BATCH + 5; i++) {
        send_str(fd, &to, DOC("00000000000000aa"));
    }
    turn_until(base, &s, 4 + 3 * AG_XRAY_SERVER_BATCH + 5);
    ASSERT_EQ(s.docs, 1 + 3 * AG_XRAY_SERVER_BATCH + 5);

    /* Stop reads what the kernel already queued, then closes: later datagrams go nowhere. */
    send_str(fd, &to, DOC("00000000000000bb"));
    ag_xray_server_stop(srv);
    ASSERT_EQ(s.docs, 2 + 3 * AG_XRAY_SERVER_BATCH + 5);
    ASSERT_STREQ(s.last_id, "00000000000000bb");
    ag_xray_server_stop(srv);
    send_str(fd, &to, DOC("00000000000000cc"));
    event_base_loop(base, EVLOOP_NONBLOCK);
    ASSERT_EQ(s.docs, 2 + 3 * AG_XRAY_SERVER_BATCH + 5);
    close(fd);
    ag_xray_server_free(srv);
    ag_xray_server_free(NULL);
    event_base_free(base);
}

static void test_listen_errors(void)
{
    struct event_base *base = event_base_new();
    struct seen s;
    struct ag_xray_server_sink sink = {on_doc, on_rejected, on_overflow, &s};
    struct ag_xray_server *a = NULL, *b = NULL;
    int port = 0;
    ASSERT_NOT_NULL(base);
    ASSERT_OK(ag_xray_server_new(base, "a", &sink, &a));
    ASSERT_OK(ag_xray_server_new(base, "b", &sink, &b));
    ASSERT_EQ(ag_xray_server_listen(a, "127.0.0.1", 70000, NULL, NULL), AG_EINVAL);
    ASSERT_OK(ag_xray_server_listen(a, "127.0.0.1", 0, &port, NULL));
    /* The port is taken: the second bind fails and the server stays usable for free. */
    ASSERT(ag_xray_server_listen(b, "127.0.0.1", port, NULL, NULL) < 0);
    ag_xray_server_free(a);
    ag_xray_server_free(b);
    event_base_free(base);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct event_base *base = event_base_new();
    struct seen s;
    struct ag_xray_server_sink sink = {on_doc, on_rejected, on_overflow, &s};
    ASSERT_NOT_NULL(base);
    for (long n = 0;; n++) {
        struct ag_xray_server *srv = NULL;
        ag_mem_fail_after(n);
        int rc = ag_xray_server_new(base, "awsxray", &sink, &srv);
        ag_mem_fail_after(-1);
        if (rc == 0) {
            ASSERT(n >= 2);
            ag_xray_server_free(srv);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(srv);
    }
    event_base_free(base);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_receive), AG_TEST_CASE(test_listen_errors),
             AG_TEST_CASE(test_failmalloc))
