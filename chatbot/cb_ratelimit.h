#ifndef CB_RATELIMIT_H
#define CB_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * A rate limit per client (the chatbot keys it by the peer's IP address): one token bucket per
 * client holding at most |burst| tokens, refilled at |rate| tokens a second; a request takes one
 * token or is refused, and the refusal says how long until a token is back (for Retry-After).
 * At most |max_clients| buckets are kept: a new client past that replaces the least recently
 * seen one (which loses nothing it would notice: an idle bucket is full again anyway unless it
 * was seen within burst / rate seconds). Time is given by the caller, so the logic is testable.
 * Pure logic; not thread-safe.
 */

#define CB_RATELIMIT_MAX_KEY 63u /* bytes of a client key (an IPv6 address fits) */

struct cb_ratelimit;

/*
 * Returns a new limiter, or NULL when out of memory or a value is out of range (|rate| must be
 * > 0, |burst| >= 1, |max_clients| >= 1). Free with cb_ratelimit_free().
 */
struct cb_ratelimit *cb_ratelimit_new(double rate, double burst, size_t max_clients);

void cb_ratelimit_free(struct cb_ratelimit *rl);

/*
 * Takes a token for |client| (a C string, cut to CB_RATELIMIT_MAX_KEY bytes) at |now_ms|
 * (monotonic milliseconds). Returns 0 when the request may go on; otherwise the whole seconds
 * (>= 1, rounded up) until the client's next token: the request is refused.
 */
unsigned cb_ratelimit_take(struct cb_ratelimit *rl, const char *client, uint64_t now_ms);

/* Clients currently tracked. */
size_t cb_ratelimit_clients(const struct cb_ratelimit *rl);

#endif /* CB_RATELIMIT_H */
