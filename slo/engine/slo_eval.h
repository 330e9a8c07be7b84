#ifndef SLO_EVAL_H
#define SLO_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_budget.h"
#include "slo_def.h"

/*
 * The SLO engine (specs/slo.md §4-10): the live state of every SLO of a finished slo_defs
 * (windows, time slices or calendar periods, alert states), fed integer observations and
 * evaluated at instants into the fields of the report (the replay contract of issue 5).
 *
 * Use: slo_engine_new() over a slo_defs that slo_defs_finish() accepted (borrowed: it must
 * outlive the engine), slo_engine_add() per observation, slo_engine_eval() at an instant, which
 * also moves the alert state machine and calls the alert callback once per change.
 * Pure: no I/O, no clock (times are Unix ms given by the caller). One thread owns an engine.
 */

#define SLO_EVAL_MAX_BURNDOWN 64 /* points in an evaluation's burn-down series */

struct slo_engine;

/* The burn rate over one window named in the SLO's alert policies. */
struct slo_eval_burn {
    const char *window;   /* as written in the definition ("5m", "1h", "3d"): borrowed from defs */
    uint64_t lookback_ms;
    struct slo_burn burn; /* has_data false: the report's null */
};

/* One alert of the SLO (slo_slo_def.alerts[i]) after this evaluation. */
struct slo_eval_alert {
    const struct slo_alert_def *def; /* borrowed from defs */
    bool firing;
    bool changed;       /* this evaluation moved it between firing and resolved */
    const char *reason; /* static text when firing (why), NULL otherwise */
};

/* One point of the burn-down: the fraction of the budget left counting the window from its
 * start up to |t_ms| (1 at the window's start; below 0 once overspent). */
struct slo_eval_point {
    int64_t t_ms;
    double remaining_fraction;
};

/*
 * One SLO at one instant: everything the report prints. Arrays are owned by the struct: release
 * them with slo_eval_release(). |budget| counts events (Occurrences) or periods (Timeslices,
 * RatioTimeslices; then budget.has_seconds and the *_seconds fields are set).
 */
struct slo_eval {
    const struct slo_slo_def *def; /* borrowed from defs */
    int64_t at_ms;
    int64_t window_start_ms;       /* the window evaluated: [start, end) of whole buckets/periods */
    int64_t window_end_ms;
    bool periods;                  /* budget unit: periods (else events) */
    struct slo_budget budget;      /* status, good/bad/total, budget, remaining, attainment */
    bool attainment_null;          /* no data: the report's null */
    struct slo_eval_burn *burns;   /* one per distinct window of the alert policies, sorted by
                                    * lookback, no duplicates */
    size_t n_burns;
    struct slo_eval_alert *alerts; /* one per slo_slo_def.alerts[i], same order */
    size_t n_alerts;
    bool tte_null;                 /* no burn, or burn 0 */
    double tte_seconds;            /* remaining-budget time to exhaustion (§6); 0 when exhausted */
    int64_t gap_ms;                /* the part of the window the engine had no knowledge of (the
                                    * agent was down: between a checkpoint and its restore) */
    struct slo_eval_point burndown[SLO_EVAL_MAX_BURNDOWN];
    size_t n_burndown;
    char **warnings;               /* owned texts: young window, agent gap, late or dropped data */
    size_t n_warnings;
};

/* A change of alert state, as handed to the alert callback. All pointers valid only during
 * the call. */
struct slo_alert_event {
    const struct slo_slo_def *slo;
    const struct slo_alert_def *alert;
    bool firing;                   /* true: resolved -> firing; false: firing -> resolved */
    int64_t at_ms;
    const struct slo_eval *eval;   /* the evaluation that moved it */
};

typedef void (*slo_alert_fn)(void *arg, const struct slo_alert_event *ev);

/*
 * Creates the state of every SLO of |defs| (borrowed; finished without error) with clocks at
 * |start_ms|. Returns 0 and a new engine in |*out| (free with slo_engine_free()), or
 * AG_EINVAL (unfinished defs, a time out of range, a window layout the engine refuses: the
 * message says which SLO, appended to |why| when not NULL), AG_ETOOBIG (an SLO needs more than
 * its memory cap) or AG_ENOMEM.
 */
AG_NODISCARD int slo_engine_new(const struct slo_defs *defs, int64_t start_ms,
                                struct ag_buf *why, struct slo_engine **out);

/* Frees |e|; NULL is a no-op. */
void slo_engine_free(struct slo_engine *e);

/* The index of the SLO named |name| in defs->slos, or -1. */
long slo_engine_find(const struct slo_engine *e, const char *name);

/*
 * Says that the state this engine should have restored was lost: no checkpoint, or one that
 * slo_engine_restore() refused and the caller set aside (§10.1). Every SLO's window restarts
 * empty at the engine's start, and until that start leaves a window (or calendar period) its
 * evaluations carry the warning "no checkpoint was restored (lost or refused): the window
 * restarted empty at <start>; what came before is not counted". Kept in checkpoints.
 */
void slo_engine_set_state_lost(struct slo_engine *e);

/*
 * Memory accounting (issue 5: at most 128 KiB per 30-day SLO). slo_engine_slo_bytes(): the bytes
 * SLO |slo| holds (its state, windows or slices with their rings, calendar accumulator, alert
 * windows and alert states; 0 for an index out of range); slo_engine_bytes(): every SLO's plus
 * the engine's own. Allocations as requested (allocator overhead not included); the definitions
 * are the caller's and not counted. O(number of SLOs).
 */
size_t slo_engine_slo_bytes(const struct slo_engine *e, size_t slo);
size_t slo_engine_bytes(const struct slo_engine *e);

/* Sets the callback told about every alert change (NULL: none). */
void slo_engine_set_alert_fn(struct slo_engine *e, slo_alert_fn fn, void *arg);

/*
 * Adds |good| of |total| observed at |t_ms| to SLO |slo| (an index into defs->slos). O(1) on the
 * hot path. Late or too old data is counted (it shows up in the evaluation's warnings).
 * Returns 0, or AG_EINVAL (index out of range, good > total, time out of range) or AG_ETOOBIG
 * (a count would overflow).
 */
AG_NODISCARD int slo_engine_add(struct slo_engine *e, size_t slo, int64_t t_ms, uint64_t good,
                                uint64_t total);

/* Moves every SLO's clock to |now_ms| (never backwards). */
void slo_engine_advance(struct slo_engine *e, int64_t now_ms);

/*
 * Evaluates SLO |slo| at |at_ms| into |*out| (caller storage; release with slo_eval_release()),
 * first moving its clock to |at_ms| (an earlier time than the clock evaluates at the clock).
 * Moves the SLO's alert states and calls the alert callback once per change.
 * Returns 0, or AG_EINVAL (index out of range) or AG_ENOMEM (|*out| then holds nothing).
 */
AG_NODISCARD int slo_engine_eval(struct slo_engine *e, size_t slo, int64_t at_ms,
                                 struct slo_eval *out);

/* Frees what |ev| owns and zeroes it; safe on a zeroed struct. */
void slo_eval_release(struct slo_eval *ev);

/*
 * Checkpoint (§10.1): appends to |out| the engine's whole state at its clock (buckets, running
 * sums, periods, alert states, the definitions' fingerprint), then |extra_len| bytes of |extra|
 * (the caller's own state, such as counter series; may be 0), framed with a format version and
 * a checksum. Returns 0 or AG_ENOMEM.
 */
AG_NODISCARD int slo_engine_save(const struct slo_engine *e, const void *extra, size_t extra_len,
                                 struct ag_buf *out);

/*
 * Restores a checkpoint written by slo_engine_save() into |e| (freshly created over the same
 * definitions), then advances to |now_ms|; the time between the checkpoint's clock and |now_ms|
 * becomes the agent's gap. |*extra| / |*extra_len| (either may be NULL) point into |data| at the
 * caller's bytes. On any error |e| is unchanged and |why| (may be NULL) says what was wrong.
 * Returns 0, or one of these negative codes:
 *   AG_EPROTO   corrupt: truncated, bad checksum, malformed
 *   AG_EUNSUPP  a newer format version
 *   AG_EINVAL   foreign: written for other definitions, or a clock after |now_ms|
 *   AG_ENOMEM
 */
AG_NODISCARD int slo_engine_restore(struct slo_engine *e, const void *data, size_t len,
                                    int64_t now_ms, const void **extra, size_t *extra_len,
                                    struct ag_buf *why);

/*
 * The engine clock a checkpoint was written at, read from its header (nothing else is checked:
 * slo_engine_restore() does). Returns 0, or AG_EPROTO when |data| is too short or not a
 * checkpoint.
 */
AG_NODISCARD int slo_checkpoint_clock(const void *data, size_t len, int64_t *clock_ms);

/* ---- reports ---------------------------------------------------------------------------------- */

/* Every SLO evaluated at one instant. */
struct slo_report_at {
    int64_t at_ms;
    const char *at_text;   /* the instant as the caller wrote it (borrowed), or NULL: the
                            * report prints at_ms in RFC 3339 UTC */
    struct slo_eval *slos;
    size_t n_slos;
};

/* The evaluations of a report, in the order of the instants asked for. */
struct slo_report {
    struct slo_report_at *evals;
    size_t n_evals;
};

/* Frees what |r| owns (every evaluation) and zeroes it. */
void slo_report_release(struct slo_report *r);

/* Appends the report as the replay contract's JSON ({"evaluations": [...]}) to |out|. */
AG_NODISCARD int slo_report_json(const struct slo_report *r, struct ag_buf *out);

/* Appends a terminal table (budget bars; ANSI colour when |colour|). */
AG_NODISCARD int slo_report_text(const struct slo_report *r, bool colour, struct ag_buf *out);

/* Appends a Markdown report (tables; fit for a CI job summary or a pull request comment). */
AG_NODISCARD int slo_report_markdown(const struct slo_report *r, struct ag_buf *out);

/* Appends one self-contained HTML file (inline CSS, no script, an SVG burn-down chart per SLO). */
AG_NODISCARD int slo_report_html(const struct slo_report *r, struct ag_buf *out);

/* The exit status `slo report` gives for |r|: 0 when every SLO of the last instant is met
 * (OK, WARNING, NO_DATA), 1 when any is BREACHED. */
int slo_report_exit_status(const struct slo_report *r);

/* |r| correctly rounded to the nearest double (ties to even), for reports: equal to what an exact
 * rational type (Python's float(Fraction)) gives. */
double slo_eval_double(const struct slo_rat *r);

/*
 * Writes |ms| (Unix ms, >= 0) as RFC 3339 UTC ("2025-01-31T10:00:00Z", with ".mmm" when the
 * milliseconds are not 0) into |buf| of |cap| bytes. Returns the length, or AG_ETOOBIG.
 */
AG_NODISCARD int slo_format_rfc3339(int64_t ms, char *buf, size_t cap);

/*
 * Parses RFC 3339 text in UTC ("2025-01-31T10:00:00Z", an optional fraction of up to 9 digits,
 * truncated to ms; "z" and "t" accepted; offsets other than Z refused) of |len| bytes into Unix
 * ms. Returns 0, or AG_EINVAL (|*why| then names what was expected; may be NULL).
 */
AG_NODISCARD int slo_parse_rfc3339(const char *text, size_t len, int64_t *ms, const char **why);

#endif /* SLO_EVAL_H */
