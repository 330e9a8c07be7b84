#ifndef AWS_TEST_SERVER_H
#define AWS_TEST_SERVER_H

/*
 * In-process HTTP peers for the AWS client tests, on 127.0.0.1:0 and the test's own libevent
 * loop: a scripted evhttp server (answers from a queue, records what it got) and a raw TCP peer
 * that misbehaves on purpose (never answers, cuts a body short, answers too much).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#define TS_MAX_SCRIPT 128
#define TS_MAX_SEEN   128

struct ts_answer {
    int status;
    const char *headers[6][2]; /* name, value; NULL name ends */
    const char *body;
    bool no_reply; /* keep the request open forever */
};

struct ts_seen {
    char method[16];
    char uri[256];
    char headers[4096]; /* "name: value\n" lines, as received */
    char body[4096];
    size_t body_len;
    uint16_t peer_port; /* the client's port: one value per TCP connection */
    double at_s;        /* monotonic arrival time */
};

struct ts_server {
    struct event_base *base;
    struct evhttp *http;
    uint16_t port;
    char url[64]; /* "http://127.0.0.1:<port>" */
    struct ts_answer script[TS_MAX_SCRIPT];
    size_t n_script, next; /* past the script: the last answer repeats */
    struct ts_seen seen[TS_MAX_SEEN];
    size_t n_seen;
    int requests;
};

/* Starts the scripted server; returns 0 or -1. */
int ts_start(struct ts_server *s, struct event_base *base);
void ts_stop(struct ts_server *s);
void ts_push(struct ts_server *s, struct ts_answer a);
/* The value of header |name| in |seen| (case-insensitive), copied to |out|; NULL if absent. */
const char *ts_header(const struct ts_seen *seen, const char *name, char *out, size_t outlen);

/* The raw peer: on each connection, reads a request head, then writes |reply| (if not NULL) and
 * closes the connection when |close_after| is set. */
struct ts_raw {
    struct event_base *base;
    struct evconnlistener *lis;
    uint16_t port;
    char url[64];
    const char *reply;
    size_t reply_len;
    bool close_after;
    int accepted;
    struct bufferevent *bevs[16];
    int n_bevs;
};

int ts_raw_start(struct ts_raw *r, struct event_base *base, const char *reply, size_t reply_len,
                 bool close_after);
void ts_raw_stop(struct ts_raw *r);

/* A port nothing listens on (bound, then closed). */
uint16_t ts_dead_port(void);

double ts_now_s(void);
/* Runs the loop until *flag becomes nonzero or |timeout_s| passes; returns whether it did. */
bool ts_run_until(struct event_base *base, const int *flag, double timeout_s);
/* Runs the loop until *count >= want. */
bool ts_run_until_count(struct event_base *base, const int *count, int want, double timeout_s);

#endif /* AWS_TEST_SERVER_H */
