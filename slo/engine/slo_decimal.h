#ifndef SLO_DECIMAL_H
#define SLO_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * Exact decimals for SLO arithmetic (specs/slo.md §11): objectives, thresholds and warning
 * fractions are parsed from their decimal text into num / 10^k, never through strtod, and every
 * comparison is an integer cross-multiplication. Products of three u64 factors are compared in
 * 256 bits, so no input can overflow a comparison.
 */

/* Most digits after the point we keep; 10^18 still fits an int64. */
#define SLO_DECIMAL_MAX_SCALE 18
/* Most significant digits in a number (num < 10^18). */
#define SLO_DECIMAL_MAX_DIGITS 18

__extension__ typedef unsigned __int128 slo_u128;

/*
 * A non-negative decimal: value = num / den with den = 10^scale, normalised (no trailing zero
 * after the point: "99.90" gives 999 / 10). num < 10^18, den <= 10^18.
 */
struct slo_decimal {
    uint64_t num;
    uint64_t den;
    unsigned scale;
};

/* How an objective is written: in percent (Otter's YAML, "99.9") or as a fraction (OpenSLO's
 * `target: 0.999`). The caller knows which field it read, so the text is never guessed. */
enum slo_objective_unit {
    SLO_OBJ_PERCENT,
    SLO_OBJ_FRACTION,
};

/* Where and why a parse failed: |offset| is the byte of |text| at fault (0-based). */
struct slo_decimal_error {
    size_t offset;
    char msg[96];
};

/*
 * Parses |len| bytes of |text| (borrowed) as an unsigned decimal: digits, optionally a point
 * followed by at least one digit. No sign, exponent, space or thousands separator.
 * On failure |*err| (may be NULL) says which byte and what was expected.
 * Returns 0 on success, or one of these negative codes:
 *   AG_EPROTO   malformed text (empty, a stray character, a point without digits)
 *   AG_ETOOBIG  more than SLO_DECIMAL_MAX_DIGITS significant digits or SLO_DECIMAL_MAX_SCALE
 *               decimals after normalisation
 */
AG_NODISCARD int slo_decimal_parse(const char *text, size_t len, struct slo_decimal *out,
                                   struct slo_decimal_error *err);

/*
 * Parses an objective written in |unit| and stores it as a fraction of 1 in |*out| ("99.9" in
 * percent and "0.999" as a fraction both give 999 / 1000). The objective must lie strictly
 * between 0 and 1 (0 % and 100 % have no budget and no finite burn rate).
 * Returns 0 on success, or one of these negative codes:
 *   AG_EPROTO   malformed text (see slo_decimal_parse)
 *   AG_ETOOBIG  too many digits
 *   AG_EINVAL   outside (0, 100) percent or (0, 1) as a fraction
 */
AG_NODISCARD int slo_objective_parse(const char *text, size_t len, enum slo_objective_unit unit,
                                     struct slo_decimal *out, struct slo_decimal_error *err);

/*
 * The error-budget fraction e / den = 1 - o of an objective |o| (num < den): returns den - num.
 */
uint64_t slo_objective_budget_num(const struct slo_decimal *o);

/*
 * Compares a1 * a2 * a3 with b1 * b2 * b3 exactly. Returns -1, 0 or 1.
 */
int slo_cmp3(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t b1, uint64_t b2, uint64_t b3);

/*
 * Compares a * b with c * d exactly (a, c up to 128 bits). Returns -1, 0 or 1.
 */
int slo_cmp_wide(slo_u128 a, uint64_t b, slo_u128 c, uint64_t d);

/*
 * Compares the decimals |a| and |b| exactly. Returns -1, 0 or 1.
 */
int slo_decimal_cmp(const struct slo_decimal *a, const struct slo_decimal *b);

/*
 * Writes |d| back as decimal text ("99.9"; a fraction objective prints as a fraction) into |buf|
 * of |cap| bytes, NUL-terminated. Returns the length written, or AG_ETOOBIG if |cap| is short.
 */
AG_NODISCARD int slo_decimal_format(const struct slo_decimal *d, char *buf, size_t cap);

/*
 * Writes the objective |o| (a fraction of 1) in percent ("99.9") into |buf| of |cap| bytes.
 * Returns the length written, or AG_ETOOBIG if |cap| is short.
 */
AG_NODISCARD int slo_objective_format_percent(const struct slo_decimal *o, char *buf, size_t cap);

/*
 * Converts num / den to the nearest double, for display only. 0 when |den| is 0.
 */
double slo_ratio_to_double(slo_u128 num, slo_u128 den);

#endif /* SLO_DECIMAL_H */
