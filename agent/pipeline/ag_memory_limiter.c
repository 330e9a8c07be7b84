/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory_limiter processor. Every check_interval it reads the process's resident memory;
 * while that, or the bytes held by payloads in flight, is above the soft limit (limit minus
 * spike) it refuses data with AG_EAGAIN, which the receivers turn into UNAVAILABLE / 503 with a
 * retry delay: the client keeps the data, nothing is accepted and then dropped.
 */
#include "ag_component.h"
#include "ag_log.h"
#include "ag_mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB ((uint64_t)1024 * 1024)

struct memory_limiter {
    struct ag_component_env env;
    struct event *timer;
    uint64_t limit; /* bytes */
    uint64_t soft;  /* bytes: limit - spike */
    uint64_t rss;   /* at the last check */
    int refusing;
};

/* The memory the process may use: the cgroup v2 limit when there is one, else physical RAM. */
static uint64_t total_memory(void)
{
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f != NULL) {
        char line[64];
        uint64_t v = 0;
        if (fgets(line, sizeof(line), f) != NULL && strncmp(line, "max", 3) != 0) {
            v = strtoull(line, NULL, 10);
        }
        fclose(f);
        if (v > 0) {
            return v;
        }
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

static void check(struct memory_limiter *m)
{
    m->rss = ag_mem_rss_bytes();
    if (m->rss > m->soft) {
        /* Free heap kept for reuse (ag_mem_tune_malloc) is not data: give it back first. */
        ag_mem_release_free();
        m->rss = ag_mem_rss_bytes();
    }
    uint64_t held = ag_payload_bytes_in_flight();
    int over = m->rss > m->soft || held > m->soft;
    if (over != m->refusing) {
        if (over) {
            ag_log_warn(m->env.id,
                        "memory above the soft limit (%" PRIu64 " MiB resident, "
                        "%" PRIu64 " MiB in flight, soft limit %" PRIu64 " MiB): refusing data",
                        m->rss / MIB, held / MIB, m->soft / MIB);
        } else {
            ag_log_info(m->env.id, "memory back under the soft limit: accepting data again");
        }
        m->refusing = over;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    check(arg);
}

static int ml_consume(void *self, struct ag_payload *p)
{
    struct memory_limiter *m = self;
    /* In-flight bytes move with every request: check them now, resident memory on the timer. */
    if (m->refusing || ag_payload_bytes_in_flight() > m->soft) {
        return AG_EAGAIN;
    }
    return m->env.next.consume(m->env.next.self, p);
}

static void ml_flush(void *self)
{
    (void)self;
}

static void ml_destroy(void *self)
{
    struct memory_limiter *m = self;
    if (m->timer != NULL) {
        event_free(m->timer);
    }
    ag_free(m);
}

int ag_memory_limiter_new(const struct ag_memory_limiter_config *cfg,
                          const struct ag_component_env *env, struct ag_processor *out, char *err,
                          size_t errlen)
{
    uint64_t limit, spike;
    if (cfg->limit_mib > 0) {
        limit = cfg->limit_mib * MIB;
        spike = cfg->spike_limit_mib > 0 ? cfg->spike_limit_mib * MIB : limit / 5;
    } else {
        uint64_t total = total_memory();
        if (total == 0) {
            snprintf(err, errlen,
                     "limit_percentage needs the total memory, which could not be "
                     "read; set limit_mib instead");
            return AG_EINVAL;
        }
        limit = total / 100 * cfg->limit_percentage;
        spike =
            cfg->spike_limit_percentage > 0 ? total / 100 * cfg->spike_limit_percentage : limit / 5;
    }
    if (spike >= limit) {
        snprintf(err, errlen, "the spike limit must be smaller than the limit");
        return AG_EINVAL;
    }
    struct memory_limiter *m = ag_calloc(1, sizeof(*m));
    if (m == NULL) {
        return AG_ENOMEM;
    }
    m->env = *env;
    m->limit = limit;
    m->soft = limit - spike;
    m->timer = event_new(env->base, -1, EV_PERSIST, on_timer, m);
    if (m->timer == NULL) {
        ag_free(m);
        return AG_ENOMEM;
    }
    uint64_t iv = cfg->check_interval ? cfg->check_interval : 1000000000ull;
    struct timeval tv = {.tv_sec = (time_t)(iv / 1000000000ull),
                         .tv_usec = (suseconds_t)(iv % 1000000000ull / 1000)};
    event_add(m->timer, &tv);
    check(m);
    out->in.consume = ml_consume;
    out->in.self = m;
    out->flush = ml_flush;
    out->destroy = ml_destroy;
    out->self = m;
    return 0;
}
