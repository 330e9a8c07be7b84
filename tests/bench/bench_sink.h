#ifndef BENCH_SINK_H
#define BENCH_SINK_H

#include <event2/http.h>

/*
 * The frame of the benchmark's local AWS endpoints (xray-sink, cwlogs-sink): arguments
 * (--port N, --host ADDR), an evhttp server on libevent, the "listening: NAME http HOST:PORT"
 * line, and a clean stop on SIGTERM / SIGINT.
 */

/* Answers |req| with |code| (200 = "OK", else "Bad Request") and the JSON |body| (borrowed). */
void bench_sink_reply(struct evhttp_request *req, int code, const char *body);

/*
 * Runs the sink |name| with the command line |argc|/|argv|: every request goes to |cb| with
 * |arg|; bodies up to |max_body| bytes. At the stop |report| (may be NULL) is called with |arg|.
 * Returns the process exit status (0, 1 on a setup failure, 2 on bad arguments).
 */
int bench_sink_main(const char *name, int argc, char **argv, size_t max_body,
                    void (*cb)(struct evhttp_request *, void *), void (*report)(void *), void *arg);

#endif /* BENCH_SINK_H */
