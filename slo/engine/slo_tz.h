#ifndef SLO_TZ_H
#define SLO_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_window.h"

/*
 * IANA time zones for calendar windows: a pure reader of TZif files (RFC 8536, versions 1 to 4)
 * whose bytes the caller read (on Debian from /usr/share/zoneinfo/<Area>/<City>), answering the
 * UTC offset at an instant and the local-midnight boundaries of the day, ISO week, month, quarter
 * or year containing an instant, across DST changes. Pure: no I/O, no clock, no TZ variable.
 *
 * Offsets come from the transition table; after its last transition, from the POSIX TZ rule of
 * the version 2+ footer ("CET-1CEST,M3.5.0,M10.5.0/3"); before its first, from time type 0.
 * Files that count leap seconds (the "right/" zones) are refused: their times are not Unix time.
 */

#define SLO_TZ_MAX_TRANSITIONS 100000u /* more is refused (AG_ETOOBIG); real zones have < 2,000 */
#define SLO_TZ_MIN_MS (-62135596800000ll) /* 0001-01-01T00:00:00Z */
#define SLO_TZ_MAX_MS SLO_TIME_MAX_MS      /* 10000-01-01T00:00:00Z, excluded */

struct slo_tz;

/*
 * Reads the TZif file of |len| bytes at |data| (borrowed; copied where kept) into a new zone in
 * |*out|, freed with slo_tz_free(). On failure |why| (may be NULL) receives one line saying which
 * part was wrong and what was expected ("TZif: transition 3 is not after transition 2").
 * Returns 0 on success, or one of these negative codes:
 *   AG_EPROTO   not a TZif file, truncated, trailing bytes, or a field out of range (a type index,
 *               an offset beyond -25 h .. +26 h, unsorted transitions, a malformed footer)
 *   AG_EUNSUPP  leap-second records, or a footer with DST but no rule
 *   AG_ETOOBIG  more than SLO_TZ_MAX_TRANSITIONS transitions, or |len| above 1 MiB
 *   AG_ENOMEM
 */
AG_NODISCARD int slo_tz_new(const uint8_t *data, size_t len, struct ag_buf *why,
                            struct slo_tz **out);

/* Frees |tz|; NULL is a no-op. */
void slo_tz_free(struct slo_tz *tz);

/*
 * The offset east of UTC in seconds (local = UTC + offset) in force at |t_ms| into |*offset_s|.
 * Returns 0, or AG_EINVAL when |t_ms| is outside [SLO_TZ_MIN_MS, SLO_TZ_MAX_MS).
 */
AG_NODISCARD int slo_tz_offset(const struct slo_tz *tz, int64_t t_ms, int32_t *offset_s);

/*
 * The calendar period of |unit| containing |t_ms| in zone |tz|: [*start_ms, *end_ms) in Unix ms,
 * each boundary the first instant of a local day (its midnight; when a DST change skips the
 * midnight, the change itself; when it repeats the midnight, the first occurrence). Weeks are
 * ISO weeks (Monday). A day may last 23 or 25 hours, or nothing at all when a zone skips a date
 * (then it belongs to no instant).
 * Returns 0 on success, or one of these negative codes:
 *   AG_EINVAL   |t_ms| outside the range above, or an unknown unit
 *   AG_EUNSUPP  transitions too close together (several within two days) to place a boundary
 */
AG_NODISCARD int slo_tz_bounds(const struct slo_tz *tz, enum slo_calendar_unit unit, int64_t t_ms,
                               int64_t *start_ms, int64_t *end_ms);

/*
 * The one function of slo_tz that does I/O (slo_tz_sys.c): reads the TZif file of the IANA zone
 * |name| from the system's zone database (/usr/share/zoneinfo/<name>, Debian's tzdata) and
 * appends its bytes to |out|. Has the signature of slo_def.h's slo_tz_loader_fn (|arg| unused):
 * slo_defs_set_tz_loader(d, slo_tz_load_system, NULL). The name must be '/'-separated non-empty
 * parts of letters, digits, '_', '-' and '+' (no '.', no leading '/': it cannot leave the
 * database's directory); at most 1 MiB is read. |why| (may be NULL) receives one line on failure.
 * Returns 0, or one of these negative codes:
 *   AG_EINVAL     a name that is not of that form
 *   AG_ENOTFOUND  no such zone (no file, or not a regular file)
 *   AG_ETOOBIG    a file over 1 MiB
 *   AG_EIO        the file could not be read
 *   AG_ENOMEM     (|out| is then freed, as ag_buf does)
 */
AG_NODISCARD int slo_tz_load_system(void *arg, const char *name, struct ag_buf *out,
                                    struct ag_buf *why);

/* As slo_tz_load_system(), from the directory |dir| instead of /usr/share/zoneinfo. */
AG_NODISCARD int slo_tz_load_dir(const char *dir, const char *name, struct ag_buf *out,
                                 struct ag_buf *why);

#endif /* SLO_TZ_H */
