/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the engine's checkpoint reader (slo_engine_restore) over five SLOs, one per kind of
 * state: any input is either refused with one of the documented codes and leaves the engine
 * byte for byte as it was (its own checkpoint before and after), or restores an engine that
 * evaluates every SLO with consistent counts and saves again. Never a crash or a leak.
 * When the first byte is odd, the rest gets a valid checksum first, so that mutations reach the
 * decoder's layout and consistency checks behind the CRC. When its bit 1 is set, the engine is
 * built over three SLOs with budgetDrop conditions instead (rolling Occurrences, rolling
 * RatioTimeslices, a calendar day), whose checkpoints carry the rings of budget samples. When
 * its bit 2 is set, over one rolling RatioTimeslices SLO too long for one bucket per period
 * (2 days of 10-second periods: a 1-hour ring, then 8,641 groups of 20 s), whose checkpoint
 * carries the groups.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "slo_def.h"
#include "slo_eval.h"
#include "slo_eval_int.h"
#include "slo_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char five[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: occ}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  window: 2h\n  sli: {spans: {availability: {}}}\n  alerts:\n"
    "    - {name: page, burnRate: \"6\", longWindow: 30m, shortWindow: 5m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: ts}\nspec:\n  service: s\n"
    "  objective: \"90\"\n  window: 2h\n  budgetingMethod: Timeslices\n"
    "  timeSlice: {period: 5m, target: \"95\"}\n  sli: {spans: {availability: {}}}\n"
    "  alerts:\n    - {name: t, burnRate: \"2\", longWindow: 30m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: rt}\nspec:\n  service: s\n"
    "  objective: \"90\"\n  window: 1h\n  budgetingMethod: RatioTimeslices\n"
    "  timeSlice: {period: 5m}\n  sli: {spans: {availability: {}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: cal}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  calendar: {unit: day, timeZone: UTC}\n"
    "  sli: {spans: {availability: {}}}\n"
    "  alerts:\n    - {name: p, burnRate: \"10\", longWindow: 1h, shortWindow: 5m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: calts}\nspec:\n  service: s\n"
    "  objective: \"95\"\n  calendar: {unit: day, timeZone: \"+02:00\"}\n"
    "  budgetingMethod: Timeslices\n  timeSlice: {period: 10m, target: \"90\"}\n"
    "  sli: {spans: {availability: {}}}\n";

/* tests/fuzz/corpus/slo_state/drops_* were written by `slo report --save-state` over these
 * definitions (the fingerprint covers names, methods, windows, objectives and alerts). */
static const char drops[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: occ}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  window: 2h\n  sli: {spans: {availability: {}}}\n  alerts:\n"
    "    - {name: d, budgetDrop: {drop: \"10%\", lookback: 30m}, coolDown: 10m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: rt}\nspec:\n  service: s\n"
    "  objective: \"90\"\n  window: 1h\n  budgetingMethod: RatioTimeslices\n"
    "  timeSlice: {period: 5m}\n  sli: {spans: {availability: {}}}\n  alerts:\n"
    "    - {name: d, budgetDrop: {drop: \"0.5\", lookback: 20m}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: cal}\nspec:\n  service: s\n"
    "  objective: \"99.9\"\n  calendar: {unit: day, timeZone: UTC}\n"
    "  sli: {spans: {availability: {}}}\n  alerts:\n"
    "    - {name: d, budgetDrop: {drop: \"5%\", lookback: 1h}}\n";

/* tests/fuzz/corpus/slo_state/groups_* likewise (`slo report --save-state`). */
static const char groups[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: lr}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  window: 2d\n  budgetingMethod: RatioTimeslices\n"
    "  timeSlice: {period: 10s}\n  missingData: bad\n  sli: {spans: {availability: {}}}\n";

#define START 1735761600000ll /* 2025-01-01T20:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct slo_defs *sets[3];
    static struct ag_buf ddiag;
    if (sets[0] == NULL) {
        ag_buf_init(&ddiag, 1u << 16);
        for (int k = 0; k < 3; k++) {
            const char *y = k == 0 ? five : k == 1 ? drops : groups;
            if (slo_defs_new(&ddiag, &sets[k]) != 0 ||
                slo_defs_add(sets[k], "d.yaml", y, strlen(y)) != 0 ||
                slo_defs_finish(sets[k]) != 0) {
                abort();
            }
        }
    }
    if (size == 0) {
        return 0;
    }
    const struct slo_defs *defs = sets[(data[0] & 4) != 0 ? 2 : (data[0] & 2) != 0];
    bool fix_crc = (data[0] & 1) != 0;
    data++;
    size--;
    uint8_t *copy = NULL;
    if (fix_crc && size >= 8) {
        copy = ag_malloc(size);
        if (copy == NULL) {
            return 0;
        }
        memcpy(copy, data, size);
        uint32_t crc = slo_eval_crc32c(copy, size - 8);
        for (int i = 0; i < 8; i++) {
            copy[size - 8 + (size_t)i] = (uint8_t)((uint64_t)crc >> (8 * i));
        }
        data = copy;
    }
    struct slo_engine *e = NULL;
    if (slo_engine_new(defs, START, NULL, &e) != 0) {
        ag_free(copy);
        return 0;
    }
    /* some state of its own, so that "unchanged" means something */
    for (size_t i = 0; i < defs->n_slos; i++) {
        if (slo_engine_add(e, i, START + 61000 * (int64_t)(i + 1), 7, 9) != 0) {
            abort();
        }
    }
    struct ag_buf before, after, why;
    ag_buf_init(&before, 1u << 26);
    ag_buf_init(&after, 1u << 26);
    ag_buf_init(&why, 1u << 16);
    if (slo_engine_save(e, NULL, 0, &before) != 0) {
        goto out;
    }
    const int64_t now = START + 86400000ll;
    const void *x = NULL;
    size_t xl = 0;
    int rc = slo_engine_restore(e, data, size, now, &x, &xl, &why);
    if (rc != 0) {
        if ((rc != AG_EPROTO && rc != AG_EUNSUPP && rc != AG_EINVAL && rc != AG_ENOMEM) ||
            why.len == 0 || x != NULL || xl != 0) {
            abort();
        }
        if (slo_engine_save(e, NULL, 0, &after) == 0 &&
            (after.len != before.len ||
             memcmp(ag_buf_ptr(&after), ag_buf_ptr(&before), before.len) != 0)) {
            abort(); /* a refused checkpoint changed the engine */
        }
        goto out;
    }
    if (xl > size || (xl > 0 && ((const uint8_t *)x < data ||
                                 (const uint8_t *)x + xl > data + size))) {
        abort();
    }
    for (size_t i = 0; i < defs->n_slos; i++) {
        struct slo_eval ev;
        rc = slo_engine_eval(e, i, now + 60000, &ev);
        if (rc == AG_ENOMEM) {
            continue;
        }
        if (rc != 0 || ev.budget.good > ev.budget.total ||
            ev.budget.bad != ev.budget.total - ev.budget.good) {
            fprintf(stderr,
                    "SLO %zu: eval %d, good %" PRIu64 " bad %" PRIu64 " total %" PRIu64 "\n", i, rc,
                    ev.budget.good, ev.budget.bad, ev.budget.total);
            abort();
        }
        slo_eval_release(&ev);
    }
    if (slo_engine_save(e, NULL, 0, &after) != 0) {
        goto out;
    }
out:
    ag_buf_cleanup(&before);
    ag_buf_cleanup(&after);
    ag_buf_cleanup(&why);
    slo_engine_free(e);
    ag_free(copy);
    return 0;
}
