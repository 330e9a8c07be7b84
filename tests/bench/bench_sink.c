/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The common frame of the benchmark sinks (bench_sink.h): arguments, the evhttp server, the
 * listening line, and the stop on a signal. Each sink only decides what its requests mean.
 */
#include "bench_sink.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>

void bench_sink_reply(struct evhttp_request *req, int code, const char *body)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(out, body, strlen(body));
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int bench_sink_main(const char *name, int argc, char **argv, size_t max_body,
                    void (*cb)(struct evhttp_request *, void *), void (*report)(void *), void *arg)
{
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 0 || v > 65535) {
                fprintf(stderr, "%s: --port wants 0..65535\n", name);
                return 2;
            }
            port = (int)v;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--port N] [--host ADDR]\n", name);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base == NULL ? NULL : evhttp_new(base);
    if (http == NULL) {
        fprintf(stderr, "%s: out of memory\n", name);
        return 1;
    }
    evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
    evhttp_set_gencb(http, cb, arg);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, (uint16_t)port);
    if (bs == NULL) {
        fprintf(stderr, "%s: cannot bind %s:%d: %s\n", name, host, port, strerror(errno));
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
    int bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("listening: %s http %s:%d\n", name, host, bound);
    fflush(stdout);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    if (report != NULL) {
        report(arg);
    }
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
