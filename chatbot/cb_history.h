#ifndef CB_HISTORY_H
#define CB_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "cb_session.h"

struct event_base;

/*
 * Where conversations are kept (`--history memory|dynamodb`), behind one asynchronous interface
 * so the HTTP handlers never block:
 *   - `memory` (cb_session): every callback runs before the call returns;
 *   - `dynamodb` (cb_history_dynamodb.h): callbacks run later, from the event loop.
 * Every call runs its callback exactly once unless cancelled first (cb_history_cancel()).
 *
 * Callback codes: 0; AG_ENOTFOUND (no such session: never created, expired or deleted);
 * AG_EAGAIN (a conflict: another request changed the session meanwhile); AG_EUPSTREAM,
 * AG_EIO, AG_ETIMEDOUT (the store is unavailable; |why| says what failed, for the log, never
 * for the user); AG_ENOMEM. |why| is "" on success.
 */

/* |turns| oldest first, valid only during the callback; |next| is what cb_history_append()
 * needs to add the following turns. */
typedef void cb_history_load_fn(void *arg, int rc, const struct cb_turn *turns, size_t n,
                                uint64_t next, const char *why);
typedef void cb_history_done_fn(void *arg, int rc, const char *why);

struct cb_history;

struct cb_history_ops {
    const char *name;
    void (*load)(struct cb_history *h, const char *id, cb_history_load_fn *fn, void *arg);
    void (*append)(struct cb_history *h, const char *id, int create, uint64_t next,
                   const struct cb_turn *turns, size_t n, cb_history_done_fn *fn, void *arg);
    void (*remove)(struct cb_history *h, const char *id, cb_history_done_fn *fn, void *arg);
    void (*cancel)(struct cb_history *h, void *arg);
    void (*sweep)(struct cb_history *h);
    void (*free)(struct cb_history *h);
};

struct cb_history {
    const struct cb_history_ops *ops;
};

/* The turns of session |id| (a valid session id). */
static inline void cb_history_load(struct cb_history *h, const char *id, cb_history_load_fn *fn,
                                   void *arg)
{
    h->ops->load(h, id, fn, arg);
}

/*
 * Adds the |n| turns (copied) to session |id|, all of them or none. |create|: |id| is new (from
 * cb_session_new_id()) and the session starts with these turns, |next| 0; else |next| comes
 * from the cb_history_load() of this request. memory: a session that ended meanwhile is not
 * re-created (the turns are dropped, rc 0, as before the store was asynchronous).
 */
static inline void cb_history_append(struct cb_history *h, const char *id, int create,
                                     uint64_t next, const struct cb_turn *turns, size_t n,
                                     cb_history_done_fn *fn, void *arg)
{
    h->ops->append(h, id, create, next, turns, n, fn, arg);
}

/* Removes every turn of session |id|: rc 0, or AG_ENOTFOUND when it had none. */
static inline void cb_history_remove(struct cb_history *h, const char *id,
                                     cb_history_done_fn *fn, void *arg)
{
    h->ops->remove(h, id, fn, arg);
}

/* Withdraws every call made with |arg|: their callbacks will not run. */
static inline void cb_history_cancel(struct cb_history *h, void *arg)
{
    h->ops->cancel(h, arg);
}

/* Periodic upkeep (memory: drops expired sessions). */
static inline void cb_history_sweep(struct cb_history *h)
{
    h->ops->sweep(h);
}

/* Frees |h|; calls still open are dropped without callbacks. NULL is a no-op. */
static inline void cb_history_free(struct cb_history *h)
{
    if (h != NULL) {
        h->ops->free(h);
    }
}

/*
 * The `memory` store: cb_session with these bounds (see cb_session.h). Returns 0 and a new store
 * in |*out|, or AG_EINVAL (a bound is 0), AG_ENOMEM.
 */
AG_NODISCARD int cb_history_memory_new(size_t max_sessions, uint64_t ttl_ms, size_t max_turns,
                                       size_t max_bytes, struct cb_history **out);

#endif /* CB_HISTORY_H */
