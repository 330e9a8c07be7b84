#ifndef AG_TIME_H
#define AG_TIME_H

#include <stdint.h>

#include "ag_err.h"

/*
 * Clocks and the collector's duration syntax.
 */

/* Returns CLOCK_REALTIME in nanoseconds since the Unix epoch. */
uint64_t ag_time_now_ns(void);

/* Returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t ag_time_mono_ns(void);

/*
 * Parses a Go-style duration ("200ms", "1s", "1m30s", "1h", "500us", "0") into nanoseconds.
 * Returns 0, or AG_EINVAL for anything else (negative values included).
 */
AG_NODISCARD int ag_time_parse_duration(const char *s, uint64_t *out);

#endif /* AG_TIME_H */
