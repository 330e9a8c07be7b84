/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the SLO decimal parser (objectives, thresholds): any input either parses into a
 * normalised num / 10^k that formats and re-parses to the same value, or fails with a known code
 * and an error offset inside the input. The first byte picks the objective unit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slo_decimal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const struct slo_decimal_error *e, size_t len)
{
    if (rc != AG_EPROTO && rc != AG_ETOOBIG && rc != AG_EINVAL) {
        abort();
    }
    if (e->offset > len || strnlen(e->msg, sizeof(e->msg)) == sizeof(e->msg) || e->msg[0] == '\0') {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slo_decimal d, again;
    struct slo_decimal_error e;
    char buf[64];
    if (size == 0) {
        return 0;
    }
    enum slo_objective_unit unit = (data[0] & 1) ? SLO_OBJ_FRACTION : SLO_OBJ_PERCENT;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    memset(&e, 0, sizeof(e));
    int rc = slo_decimal_parse(text, len, &d, &e);
    if (rc == 0) {
        if (d.scale > SLO_DECIMAL_MAX_SCALE || d.num >= 1000000000000000000ull) {
            abort();
        }
        if (d.scale > 0 && d.num % 10 == 0) {
            abort(); /* not normalised */
        }
        int n = slo_decimal_format(&d, buf, sizeof(buf));
        if (n <= 0 || slo_decimal_parse(buf, (size_t)n, &again, NULL) != 0 ||
            again.num != d.num || again.den != d.den || slo_decimal_cmp(&d, &again) != 0) {
            abort();
        }
    } else {
        check_err(rc, &e, len);
    }

    memset(&e, 0, sizeof(e));
    rc = slo_objective_parse(text, len, unit, &d, &e);
    if (rc == 0) {
        if (d.num == 0 || d.num >= d.den || slo_objective_budget_num(&d) == 0) {
            abort();
        }
        int n = unit == SLO_OBJ_PERCENT ? slo_objective_format_percent(&d, buf, sizeof(buf))
                                        : slo_decimal_format(&d, buf, sizeof(buf));
        if (n <= 0 || slo_objective_parse(buf, (size_t)n, unit, &again, NULL) != 0 ||
            again.num != d.num || again.den != d.den) {
            abort();
        }
    } else {
        check_err(rc, &e, len);
    }
    return 0;
}
