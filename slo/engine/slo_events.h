#ifndef SLO_EVENTS_H
#define SLO_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_def.h"

/*
 * The events file of the replay contract (issue 5): JSON lines, one observation per line, in any
 * order:
 *
 *   {"time": "2025-01-31T10:00:00Z", "slo": "checkout-availability", "good": 990, "total": 1000}
 *   {"time": 1738317600000, "bad": 10, "total": 1000}
 *
 * `time` is RFC 3339 in UTC (an optional fraction, truncated to ms) or integer Unix ms; `slo`
 * names an SLO of the definitions and may be omitted when exactly one is defined; exactly one of
 * `good` and `bad`, and `total`, non-negative integers with good (bad) <= total. No other field.
 * Blank lines (only spaces, tabs, CR) are skipped. Pure: the caller reads the file.
 */

#define SLO_EVENTS_MAX_ERRORS 50u

struct slo_event {
    int64_t t_ms;
    size_t slo;     /* index into defs->slos */
    uint64_t good;
    uint64_t total;
    size_t line;    /* 1-based line in the file */
};

struct slo_events {
    struct slo_event *v;
    size_t n;
    size_t cap;
};

/*
 * Parses |len| bytes of |text| (borrowed) named |file| in diagnostics, resolving SLO names
 * against |defs| (finished), and appends every observation to |out| (an empty or earlier-filled
 * set; release with slo_events_release()). Every error is appended to |diag| (may be NULL) as
 * "FILE:LINE:COL: error: what; expected what\n", at most SLO_EVENTS_MAX_ERRORS, then one
 * "FILE:LINE:1: error: too many errors; stopping\n"; a line with an error adds nothing.
 * Returns 0 when the file had no error, AG_EPROTO when it had some (reported), or AG_ENOMEM.
 */
AG_NODISCARD int slo_events_parse(const struct slo_defs *defs, const char *file, const char *text,
                                  size_t len, struct slo_events *out, struct ag_buf *diag);

/* Sorts |ev| by time, keeping the file order of equal times (stable). */
void slo_events_sort(struct slo_events *ev);

/* Frees what |ev| owns and zeroes it. */
void slo_events_release(struct slo_events *ev);

#endif /* SLO_EVENTS_H */
