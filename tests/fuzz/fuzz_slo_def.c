/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the SLO definition parser (OpenSLO v1 and otter/v1 YAML streams): any input either gives
 * definitions that hold the parser's invariants, or errors counted and reported one per line as
 * "fuzz.yaml:line:col: error: ..." (or a warning); never a crash, a leak or an unbounded report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "slo_def.h"
#include "slo_slices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_diag(const char *s)
{
    while (*s != '\0') {
        const char *nl = strchr(s, '\n');
        if (nl == NULL || strncmp(s, "fuzz.yaml:", 10) != 0) {
            abort();
        }
        const char *e = strstr(s, ": error: ");
        const char *w = strstr(s, ": warning: ");
        if ((e == NULL || e > nl) && (w == NULL || w > nl)) {
            abort();
        }
        s = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ag_buf diag;
    ag_buf_init(&diag, 1u << 20);
    struct slo_defs *d = NULL;
    if (slo_defs_new(&diag, &d) != 0) {
        ag_buf_cleanup(&diag);
        return 0;
    }
    int rc = slo_defs_add(d, "fuzz.yaml", (const char *)data, size);
    if (rc == 0) {
        rc = slo_defs_finish(d);
        if (rc == 0 && d->n_errors != 0) {
            abort();
        }
        if (rc == AG_EINVAL && d->n_errors == 0) {
            abort();
        }
    }
    if (rc != 0 && rc != AG_EINVAL && rc != AG_ENOMEM) {
        abort();
    }
    if (rc == 0) {
        for (size_t i = 0; i < d->n_slos; i++) {
            const struct slo_slo_def *s = &d->slos[i];
            if (s->sli >= d->n_slis || s->objective.num == 0 ||
                s->objective.num >= s->objective.den || s->window_ms == 0 || s->name == NULL) {
                abort();
            }
            if (s->budgeting != SLO_BUDGETING_OCCURRENCES &&
                (s->slice_ms == 0 || s->slice_ms >= s->window_ms)) {
                abort();
            }
            if (s->slice_grace_ms != 0 &&
                (s->budgeting != SLO_BUDGETING_TIMESLICES ||
                 s->slice_grace_ms / s->slice_ms >= SLO_SLICES_MAX_PENDING - 2)) {
                abort();
            }
            if ((s->tz != NULL) != (s->tz_name != NULL)) {
                abort();
            }
            for (size_t j = 0; j < s->n_alerts; j++) {
                const struct slo_alert_def *a = &s->alerts[j];
                if (a->kind == SLO_ALERT_BUDGET) {
                    /* no window; a fraction in (0, 1] */
                    if (a->long_ms != 0 || a->short_ms != 0 || a->budget_below.num == 0 ||
                        a->budget_below.num > a->budget_below.den) {
                        abort();
                    }
                    continue;
                }
                if (a->kind == SLO_ALERT_DROP) {
                    /* no burn window; a drop above 0; a lookback of whole minutes <= 7 d */
                    if (a->long_ms != 0 || a->short_ms != 0 || a->drop.num == 0 ||
                        a->drop_text == NULL || a->drop_ms == 0 || a->drop_ms % 60000 != 0 ||
                        a->drop_ms > 7ull * 86400000) {
                        abort();
                    }
                    continue;
                }
                if (a->long_ms == 0 || a->long_text == NULL || a->short_ms >= a->long_ms) {
                    abort();
                }
                if (a->kind == SLO_ALERT_TTE && (a->tte_below_ms == 0 || a->short_ms != 0)) {
                    abort();
                }
            }
        }
    }
    if (rc != AG_ENOMEM && diag.len > 0) {
        check_diag(ag_buf_str(&diag));
    }
    slo_defs_free(d);
    ag_buf_cleanup(&diag);
    return 0;
}
