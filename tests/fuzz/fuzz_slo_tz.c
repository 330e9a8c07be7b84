/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the TZif reader (slo_tz): any input is either refused with a known code and a one-line
 * reason, or gives a zone whose offsets stay within RFC 8536's bounds and whose calendar periods
 * contain the instant asked about, start before they end, and follow one another (a period's
 * end is the next period's start). Instants to ask about come from the input's last 8 bytes and
 * from fixed dates around the transitions it may hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slo_tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_instant(const struct slo_tz *tz, int64_t t_ms)
{
    int32_t off;
    if (t_ms < SLO_TZ_MIN_MS || t_ms >= SLO_TZ_MAX_MS) {
        if (slo_tz_offset(tz, t_ms, &off) != AG_EINVAL) {
            abort();
        }
        return;
    }
    if (slo_tz_offset(tz, t_ms, &off) != 0 || off < -89999 || off > 93599) {
        abort();
    }
    for (int u = SLO_CAL_DAY; u <= SLO_CAL_YEAR; u++) {
        int64_t s, e, s2, e2;
        int rc = slo_tz_bounds(tz, (enum slo_calendar_unit)u, t_ms, &s, &e);
        if (rc == AG_EUNSUPP) {
            continue;
        }
        if (rc != 0 || !(s <= t_ms && t_ms < e)) {
            abort();
        }
        /* The next period starts where this one ends. */
        if (e < SLO_TZ_MAX_MS &&
            slo_tz_bounds(tz, (enum slo_calendar_unit)u, e, &s2, &e2) == 0 && s2 != e) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slo_tz *tz = NULL;
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    int rc = slo_tz_new(data, size, &why, &tz);
    if (rc != 0) {
        const char *w = ag_buf_str(&why);
        size_t n = strlen(w);
        if ((rc != AG_EPROTO && rc != AG_EUNSUPP && rc != AG_ETOOBIG && rc != AG_ENOMEM) ||
            tz != NULL || n < 7 || strncmp(w, "TZif: ", 6) != 0 || w[n - 1] != '\n') {
            abort();
        }
        ag_buf_cleanup(&why);
        return 0;
    }
    ag_buf_cleanup(&why);
    static const int64_t fixed[] = {
        0, -1, 1743296400000LL, 1761440400000LL, 2216250000000LL, 1324000000000LL,
        SLO_TZ_MIN_MS, SLO_TZ_MAX_MS - 1, SLO_TZ_MAX_MS - 86400000LL * 400, -2208988800000LL};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        check_instant(tz, fixed[i]);
    }
    if (size >= 8) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | data[size - 8 + i];
        }
        /* Fold into the supported range most of the time, keep a few outside. */
        int64_t t = (int64_t)v;
        if ((v & 0xff) != 0xff) {
            uint64_t span = (uint64_t)(SLO_TZ_MAX_MS - SLO_TZ_MIN_MS);
            t = SLO_TZ_MIN_MS + (int64_t)(v % span);
        }
        check_instant(tz, t);
    }
    slo_tz_free(tz);
    return 0;
}
