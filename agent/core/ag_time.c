/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time helpers: the two clocks, and durations written the way collector configs write them.
 */
#include "ag_time.h"

#include <string.h>
#include <time.h>

uint64_t ag_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ag_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ag_time_parse_duration(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {{"ns", 1ull},
                 {"us", 1000ull},
                 {"\xc2\xb5s", 1000ull}, /* U+00B5 micro sign, as Go accepts */
                 {"\xce\xbcs", 1000ull}, /* U+03BC Greek mu, likewise */
                 {"ms", 1000000ull},
                 {"s", 1000000000ull},
                 {"m", 60000000000ull},
                 {"h", 3600000000000ull}};
    *out = 0;
    if (s == NULL || *s == '\0') {
        return AG_EINVAL;
    }
    if (strcmp(s, "0") == 0) {
        return 0;
    }
    uint64_t total = 0;
    const char *p = s;
    while (*p != '\0') {
        /* A number starts with a digit, or with a dot and a digit (".5s", as Go allows). */
        int digit_first = *p >= '0' && *p <= '9';
        if (!digit_first && !(*p == '.' && p[1] >= '0' && p[1] <= '9')) {
            return AG_EINVAL;
        }
        uint64_t whole = 0;
        while (*p >= '0' && *p <= '9') {
            uint64_t digit = (uint64_t)(*p - '0');
            if (whole > (UINT64_MAX - digit) / 10) {
                return AG_EINVAL;
            }
            whole = whole * 10 + digit;
            p++;
        }
        /* A fraction ("1.5s") is kept in millionths so the product stays exact. */
        uint64_t frac = 0, frac_div = 1;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                if (frac_div < 1000000) {
                    frac = frac * 10 + (uint64_t)(*p - '0');
                    frac_div *= 10;
                }
                p++;
            }
        }
        size_t best = 0;
        uint64_t mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, n) == 0 && n > best) {
                best = n;
                mult = units[i].ns;
            }
        }
        if (best == 0) {
            return AG_EINVAL;
        }
        p += best;
        if (whole > UINT64_MAX / mult) {
            return AG_EINVAL;
        }
        /* frac < 10^6 and mult <= 3.6 * 10^12, so frac * mult cannot wrap; the sum can. */
        uint64_t v = whole * mult, part = frac * mult / frac_div;
        if (v > UINT64_MAX - part) {
            return AG_EINVAL;
        }
        v += part;
        if (total > UINT64_MAX - v) {
            return AG_EINVAL;
        }
        total += v;
    }
    *out = total;
    return 0;
}
