#ifndef CB_SESSION_H
#define CB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * The `memory` history store: conversations by session id, bounded three ways. At most
 * |max_sessions| sessions (creating one more evicts expired sessions, then the least recently
 * used); a session unused for |ttl_ms| is gone; a session keeps at most |max_turns| turns and
 * |max_bytes| bytes of text, dropping its oldest turns first. Time is given by the caller (a
 * monotonic clock in milliseconds), so the logic is testable. Not thread-safe: one event loop
 * owns a store.
 */

#define CB_SESSION_ID_LEN 32 /* lower-case hex characters */

enum cb_role {
    CB_ROLE_USER = 0,
    CB_ROLE_ASSISTANT = 1,
};

struct cb_turn {
    enum cb_role role;
    char *text; /* NUL-terminated, owned by the store */
    size_t len;
};

struct cb_session;
struct cb_session_store;

/*
 * Returns a new store, or NULL when out of memory or a bound is 0. Free with
 * cb_session_store_free().
 */
struct cb_session_store *cb_session_store_new(size_t max_sessions, uint64_t ttl_ms,
                                              size_t max_turns, size_t max_bytes);

void cb_session_store_free(struct cb_session_store *st);

/*
 * Creates a session with a random id at time |now_ms|, evicting as described above when full.
 * Returns 0 and the session (owned by the store) in |*out|, or AG_ENOMEM / AG_EIO (no
 * randomness).
 */
AG_NODISCARD int cb_session_create(struct cb_session_store *st, uint64_t now_ms,
                                   struct cb_session **out);

/*
 * The same with the given |id| (a session id, e.g. from cb_session_new_id()). Returns 0, or
 * AG_EINVAL (not a session id), AG_EAGAIN (a live session has that id), AG_ENOMEM.
 */
AG_NODISCARD int cb_session_create_id(struct cb_session_store *st, const char *id,
                                      uint64_t now_ms, struct cb_session **out);

/*
 * Writes a new random session id (128 bits from getrandom, as 32 lower-case hex digits) into
 * |id|. Returns 0, or AG_EIO (no randomness).
 */
AG_NODISCARD int cb_session_new_id(char id[CB_SESSION_ID_LEN + 1]);

/*
 * Returns the live session |id| (a C string) and marks it used at |now_ms|, or NULL when there
 * is none (an expired session is removed then).
 */
struct cb_session *cb_session_get(struct cb_session_store *st, const char *id, uint64_t now_ms);

/*
 * Removes session |id|. Returns 0, or AG_ENOTFOUND when there was no live session |id|.
 */
int cb_session_delete(struct cb_session_store *st, const char *id, uint64_t now_ms);

/*
 * Appends a turn of |len| bytes of |text| (copied) to |s|, dropping the oldest turns past the
 * bounds (a turn longer than max_bytes by itself is refused). Returns 0, AG_ETOOBIG or AG_ENOMEM.
 */
AG_NODISCARD int cb_session_append(struct cb_session_store *st, struct cb_session *s,
                                   enum cb_role role, const char *text, size_t len);

/*
 * Removes every session unused for longer than the TTL. Returns how many were removed.
 */
size_t cb_session_expire(struct cb_session_store *st, uint64_t now_ms);

size_t cb_session_count(const struct cb_session_store *st);

/* The session's id (CB_SESSION_ID_LEN characters, NUL-terminated). */
const char *cb_session_id(const struct cb_session *s);

/* Turn |i| of |s|, oldest first, for i < cb_session_turn_count(). */
size_t cb_session_turn_count(const struct cb_session *s);
const struct cb_turn *cb_session_turn(const struct cb_session *s, size_t i);

/*
 * Returns 1 when |id| has the form of a session id (32 lower-case hex characters), else 0.
 */
int cb_session_id_valid(const char *id, size_t len);

#endif /* CB_SESSION_H */
