/* SPDX-License-Identifier: Apache-2.0 */
/* The `memory` history store: cb_session behind the asynchronous interface, synchronously. */
#include "cb_history.h"

#include <string.h>
#include <time.h>

#include "ag_mem.h"

struct memory {
    struct cb_history base;
    struct cb_session_store *st;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void mem_load(struct cb_history *h, const char *id, cb_history_load_fn *fn, void *arg)
{
    struct memory *m = (struct memory *)h;
    struct cb_session *s = cb_session_get(m->st, id, mono_ms());
    if (s == NULL) {
        fn(arg, AG_ENOTFOUND, NULL, 0, 0, "no such session");
        return;
    }
    size_t n = cb_session_turn_count(s);
    struct cb_turn *turns = n > 0 ? ag_calloc(n, sizeof(*turns)) : NULL;
    if (n > 0 && turns == NULL) {
        fn(arg, AG_ENOMEM, NULL, 0, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        turns[i] = *cb_session_turn(s, i);
    }
    fn(arg, 0, turns, n, n, "");
    ag_free(turns);
}

static void mem_append(struct cb_history *h, const char *id, int create, uint64_t next,
                       const struct cb_turn *turns, size_t n, cb_history_done_fn *fn,
                       void *arg)
{
    struct memory *m = (struct memory *)h;
    uint64_t now = mono_ms();
    struct cb_session *s = NULL;
    int rc = 0;
    (void)next;
    if (create) {
        rc = cb_session_create_id(m->st, id, now, &s);
    } else {
        s = cb_session_get(m->st, id, now);
        if (s == NULL) {
            /* Deleted or expired while the model was answering: the answer still goes out. */
            fn(arg, 0, "");
            return;
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = cb_session_append(m->st, s, turns[i].role, turns[i].text, turns[i].len);
    }
    fn(arg, rc, rc == 0 ? "" : ag_strerror(rc));
}

static void mem_remove(struct cb_history *h, const char *id, cb_history_done_fn *fn, void *arg)
{
    struct memory *m = (struct memory *)h;
    int rc = cb_session_delete(m->st, id, mono_ms());
    fn(arg, rc, rc == 0 ? "" : "no such session");
}

static void mem_cancel(struct cb_history *h, void *arg)
{
    (void)h;
    (void)arg; /* nothing is ever pending */
}

static void mem_sweep(struct cb_history *h)
{
    struct memory *m = (struct memory *)h;
    (void)cb_session_expire(m->st, mono_ms());
}

static void mem_free(struct cb_history *h)
{
    struct memory *m = (struct memory *)h;
    cb_session_store_free(m->st);
    ag_free(m);
}

static const struct cb_history_ops memory_ops = {
    .name = "memory",
    .load = mem_load,
    .append = mem_append,
    .remove = mem_remove,
    .cancel = mem_cancel,
    .sweep = mem_sweep,
    .free = mem_free,
};

int cb_history_memory_new(size_t max_sessions, uint64_t ttl_ms, size_t max_turns,
                          size_t max_bytes, struct cb_history **out)
{
    *out = NULL;
    if (max_sessions == 0 || ttl_ms == 0 || max_turns == 0 || max_bytes == 0) {
        return AG_EINVAL;
    }
    struct memory *m = ag_calloc(1, sizeof(*m));
    if (m == NULL) {
        return AG_ENOMEM;
    }
    m->base.ops = &memory_ops;
    m->st = cb_session_store_new(max_sessions, ttl_ms, max_turns, max_bytes);
    if (m->st == NULL) {
        ag_free(m);
        return AG_ENOMEM;
    }
    *out = &m->base;
    return 0;
}
