#ifndef SLO_REPORT_FMT_H
#define SLO_REPORT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_budget.h"
#include "slo_eval.h"

/*
 * Helpers shared by the text, Markdown and HTML renderers of slo_eval.h (internal to them; the
 * JSON renderer prints raw numbers instead). Number formatting is decided here once, so the three
 * formats always show the same figures (slo/README.md, "Report formats"):
 *
 *   attainment   good / total in percent, rounded DOWN, to the objective's decimals + 2
 *                ("99.9" -> "99.950%"); "—" without data
 *   budget left  remaining_fraction in percent, rounded DOWN (toward -inf), 1 decimal; below 0
 *                shown as "overspent 20.1%"
 *   burn rate    rounded UP, 2 decimals ("14.41"); "—" without data; listed per SLO as
 *                "5m 0.50, 1h —" (SLOs' windows differ: default windows scale with the SLO
 *                window, so one column per window would multiply columns)
 *   TTE          the two largest units ("2d 3h", "45m 10s", "0s"); "—" when null
 *
 * Rounding attainment and budget down and burn rates up keeps a printed figure on the same side
 * of any threshold on its grid as the exact value (a 99.8999 % attainment never prints as the
 * 99.900 % objective; a burn of 14.4001 prints 14.41, above the 14.4 threshold it exceeds).
 * Every figure is computed from the exact rationals, never printed as "nan".
 */

#define SLO_REPORT_NULL "\xe2\x80\x94" /* "—" (U+2014): a null figure */
#define SLO_REPORT_BAR_CELLS 20        /* cells of the text budget bar */
#define SLO_REPORT_NUM_CAP 64          /* enough for any figure these helpers write */

enum slo_report_round {
    SLO_ROUND_DOWN, /* toward -infinity */
    SLO_ROUND_UP,   /* toward +infinity */
};

/*
 * Writes |r| * |mul| with exactly |decimals| (<= 30) digits after the point, rounded in
 * direction |mode|, into |buf| of |cap| bytes, NUL-terminated ("-" only for a non-zero result).
 * Returns the length, or AG_ETOOBIG when |cap| is short.
 */
AG_NODISCARD int slo_report_fmt_rat(const struct slo_rat *r, uint64_t mul, unsigned decimals,
                                    enum slo_report_round mode, char *buf, size_t cap);

/* Decimals to print attainment with: the objective's in percent, plus 2 ("99.9" -> 3). */
unsigned slo_report_attain_decimals(const struct slo_decimal *objective);

/*
 * The figures of one SLO as NUL-terminated texts, unescaped (the renderers escape names
 * themselves; figures are ASCII plus "—").
 */
struct slo_report_figs {
    char objective[SLO_REPORT_NUM_CAP];   /* "99.9%" */
    char attainment[SLO_REPORT_NUM_CAP];  /* "99.950%" or "—" */
    char budget_left[SLO_REPORT_NUM_CAP]; /* "50.0%", "overspent 20.1%" */
    char bad_total[SLO_REPORT_NUM_CAP];   /* "5 / 10000" */
    char budget[SLO_REPORT_NUM_CAP];      /* the budget in units: "10 events", "2.4 periods" */
    char remaining[SLO_REPORT_NUM_CAP];   /* left in units, rounded down: "5 events", "-0.6 ..." */
    char seconds[SLO_REPORT_NUM_CAP];     /* Timeslices: remaining time "12m" (or "—") */
    char tte[SLO_REPORT_NUM_CAP];         /* "2d 3h" or "—" */
    unsigned bar_cells;                   /* 0..SLO_REPORT_BAR_CELLS cells of budget left */
};

/* Fills |*out| from |ev| (borrowed). Returns 0 or AG_ETOOBIG (a figure did not fit). */
AG_NODISCARD int slo_report_figs(const struct slo_eval *ev, struct slo_report_figs *out);

/*
 * Writes the burn rate |b| (borrowed) into |buf| of |cap| bytes: "—" without data, else rounded
 * up to 2 decimals. Returns the length or AG_ETOOBIG.
 */
AG_NODISCARD int slo_report_fmt_burn(const struct slo_burn *b, char *buf, size_t cap);

/*
 * Writes |seconds| as a duration of its two largest non-zero units among d, h, m, s, rounded
 * down ("2d 3h", "1h", "45m 10s", "0s"); a negative value gets a "-" sign; NaN or beyond
 * 10^9 days writes "—". Returns the length or AG_ETOOBIG.
 */
AG_NODISCARD int slo_report_fmt_duration(double seconds, char *buf, size_t cap);

/*
 * Writes the Unix time |ms| as RFC 3339 in UTC: "2025-01-31T10:00:00Z", with ".mmm" when the
 * milliseconds are not 0. Years outside 0..9999 are refused. Returns the length or AG_ETOOBIG /
 * AG_EINVAL.
 */
AG_NODISCARD int slo_report_fmt_time(int64_t ms, char *buf, size_t cap);

/*
 * Writes the time |ms| as slo_report_fmt_time() does into |buf| of SLO_REPORT_NUM_CAP bytes, or
 * "?" where it cannot: what the renderers show as an instant.
 */
void slo_report_fmt_instant(int64_t ms, char *buf);

#define SLO_REPORT_GAP_CAP 128 /* holds any note slo_report_fmt_gap() writes */

/*
 * Writes the note every renderer gives an agent gap of |gap_ms| (> 0) into |buf|, which holds
 * SLO_REPORT_GAP_CAP bytes: "no data from the agent for 1h 5m of the window (it was down)", the
 * duration as slo_report_fmt_duration() writes it, or "?" where it cannot.
 */
void slo_report_fmt_gap(int64_t gap_ms, char *buf);

/*
 * Decodes one UTF-8 code point at |*s| (a NUL-terminated string) and advances |*s| past it.
 * Returns the code point, 0 at the end of the string (not advancing), or -1 for a malformed,
 * overlong or surrogate sequence (advancing one byte).
 */
int32_t slo_report_utf8_next(const char **s);

/*
 * Whether code point |cp| is a control character a report must not print as is (C0, DEL, C1,
 * and the bidirectional overrides and isolates U+202A-U+202E, U+2066-U+2069 that can reorder
 * what a reader sees).
 */
bool slo_report_is_control(int32_t cp);

/* Appends |s| to |out| escaped for one output format. Returns 0 or an ag_buf error. */
typedef int slo_report_esc_fn(struct ag_buf *out, const char *s);

/*
 * Appends the burn rates of |ev| (borrowed) as one list, "5m 0.50, 1h —" (window names through
 * |esc|, in the evaluation's order: by lookback), or "—" when the SLO has no burn window.
 * Returns 0, or an ag_buf error (AG_ENOMEM, AG_ETOOBIG).
 */
AG_NODISCARD int slo_report_burn_list(const struct slo_eval *ev, slo_report_esc_fn *esc,
                                      struct ag_buf *out);

/*
 * Whether alert |i| of |ev| is listed among the firing ones: it fires and no earlier firing
 * alert of |ev| has the same name (the conditions of one policy share its name).
 */
bool slo_report_alert_listed(const struct slo_eval *ev, size_t i);

/* The display name of |ev|'s SLO: its name, or "?" when the evaluation has no definition. */
const char *slo_report_name(const struct slo_eval *ev);

/* The report's word for the status of |ev| (slo_status_name of the budget status). */
const char *slo_report_status(const struct slo_eval *ev);

#endif /* SLO_REPORT_FMT_H */
