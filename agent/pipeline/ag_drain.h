#ifndef AG_DRAIN_H
#define AG_DRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"

/*
 * Draining an exporter at shutdown, after the service loop has stopped: the exporter runs the
 * loop itself, turn by turn, until nothing is queued or in flight, or a deadline passes.
 */

/* Whether there is still something to send or to wait for. */
typedef bool ag_drain_busy_fn(void *arg);
/* Starts what can be started (called before each turn of the loop). */
typedef void ag_drain_kick_fn(void *arg);

/*
 * Kicks, then runs |base| one turn at a time while |busy| says so, for at most |timeout_ms|.
 * Returns 0 when nothing is left, AG_ETIMEDOUT when the deadline passed (or could not be set:
 * without one the loop could wait for ever), AG_EIO when the loop failed.
 */
AG_NODISCARD int ag_drain(struct event_base *base, uint64_t timeout_ms, ag_drain_busy_fn *busy,
                          ag_drain_kick_fn *kick, void *arg);

#endif /* AG_DRAIN_H */
