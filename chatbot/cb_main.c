/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `chatbot`: the Q&A service's process. Parses the command line, runs the HTTP API on one
 * libevent loop, and on SIGTERM / SIGINT stops taking work (readyz 503) and exits 0.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_err.h"
#include "ag_log.h"
#include "cb_server.h"
#include "config.h"

static const char usage[] =
    "usage: chatbot [--listen HOST:PORT] [--max-sessions N] [--session-ttl SECONDS]\n"
    "               [--max-message BYTES] [--max-body BYTES] [--log-level LEVEL]\n"
    "               [--log-format text|json] [--kb-dir DIR]\n"
    "       chatbot --version | --help\n"
    "\n"
    "Answers questions about operating Otter from its bundled knowledge base (the local\n"
    "provider). Defaults: --listen 127.0.0.1:8080, 1000 sessions, 1800 s TTL, 4000-byte\n"
    "messages, 16384-byte bodies. --kb-dir answers from the *.md files of DIR (read at start)\n"
    "instead of the bundled knowledge base.\n";

struct main_ctx {
    struct event_base *base;
    struct cb_server *srv;
    int signals;
};

static int parse_size(const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    if (s == NULL || *s < '0' || *s > '9') {
        return AG_EINVAL;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

/* HOST:PORT, with an IPv6 host in brackets. |host| receives the host without brackets. */
static int parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    unsigned long long p = 0;
    if (colon == NULL || parse_size(colon + 1, 0, 65535, &p) != 0) {
        return AG_EINVAL;
    }
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= cap) {
        return AG_EINVAL;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct main_ctx *m = arg;
    if (++m->signals > 1) {
        ag_log_warn("chatbot", "second signal: exiting at once");
        exit(1);
    }
    ag_log_info("chatbot", "signal %d: draining and stopping", (int)sig);
    cb_server_drain(m->srv);
    /* Handlers answer synchronously; a short grace lets queued replies reach their sockets. */
    struct timeval grace = {0, 200000};
    event_base_loopexit(m->base, &grace);
}

int main(int argc, char **argv)
{
    struct cb_server_config cfg;
    struct main_ctx m = {0};
    char host[256];
    struct event *sigterm = NULL, *sigint = NULL;
    int level = AG_LOG_INFO, format = AG_LOG_TEXT, rc;

    cb_server_config_defaults(&cfg);
    /* Every option takes one value; --help and --version return at once. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n = 0;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("chatbot %s\n", OTTER_VERSION);
            return 0;
        } else if (strcmp(a, "--listen") == 0) {
            bad = v == NULL || parse_listen(v, host, sizeof(host), &cfg.port) != 0;
            cfg.host = host;
        } else if (strcmp(a, "--max-sessions") == 0) {
            bad = parse_size(v, 1, 1000000, &n) != 0;
            cfg.max_sessions = (size_t)n;
        } else if (strcmp(a, "--session-ttl") == 0) {
            bad = parse_size(v, 1, 7 * 86400, &n) != 0;
            cfg.session_ttl_ms = n * 1000u;
        } else if (strcmp(a, "--max-message") == 0) {
            bad = parse_size(v, 1, 1024 * 1024, &n) != 0;
            cfg.max_message = (size_t)n;
        } else if (strcmp(a, "--max-body") == 0) {
            bad = parse_size(v, 64, 8 * 1024 * 1024, &n) != 0;
            cfg.max_body = (size_t)n;
        } else if (strcmp(a, "--kb-dir") == 0) {
            bad = v == NULL || v[0] == '\0';
            cfg.kb_dir = v;
        } else if (strcmp(a, "--log-level") == 0) {
            level = v ? ag_log_level_parse(v) : -1;
            bad = level < 0;
        } else if (strcmp(a, "--log-format") == 0) {
            bad = v == NULL || (strcmp(v, "text") != 0 && strcmp(v, "json") != 0);
            format = v && strcmp(v, "json") == 0 ? AG_LOG_JSON : AG_LOG_TEXT;
        } else {
            fprintf(stderr, "chatbot: unknown argument %s\n%s", a, usage);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "chatbot: bad or missing value for %s\n", a);
            return 2;
        }
    }
    ag_log_setup((enum ag_log_level)level, (enum ag_log_format)format);
    signal(SIGPIPE, SIG_IGN);
    m.base = event_base_new();
    if (m.base == NULL) {
        ag_log_error("chatbot", "cannot create the event loop");
        return 1;
    }
    rc = cb_server_new(m.base, &cfg, &m.srv);
    if (rc != 0) {
        ag_log_error("chatbot", "cannot start: %s", ag_strerror(rc));
        event_base_free(m.base);
        return 1;
    }
    sigterm = evsignal_new(m.base, SIGTERM, on_signal, &m);
    sigint = evsignal_new(m.base, SIGINT, on_signal, &m);
    if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 ||
        evsignal_add(sigint, NULL) != 0) {
        ag_log_error("chatbot", "cannot watch signals");
        rc = AG_ENOMEM;
    } else {
        event_base_dispatch(m.base);
        ag_log_info("chatbot", "stopped");
    }
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    if (sigint != NULL) {
        event_free(sigint);
    }
    cb_server_free(m.srv);
    event_base_free(m.base);
    libevent_global_shutdown();
    return rc == 0 ? 0 : 1;
}
