/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the tracestate reader (slo_tracestate_weight: a span's adjusted count from its W3C
 * tracestate, outside input): any bytes give a status; a malformed or silent tracestate weighs
 * exactly 1 (with a message when malformed); an adjusted count is 0 (p:63) or at least 1 and at
 * most 2^62; the result does not change when another vendor's member is put in front, and the
 * bytes past |len| are never read (the input is copied into a buffer of exactly its size).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "slo_sampling.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    char *ts = ag_malloc(size > 0 ? size : 1);
    char *pre = ag_malloc(size + 4);
    if (ts == NULL || pre == NULL) {
        ag_free(ts);
        ag_free(pre);
        return 0;
    }
    memcpy(ts, data, size);
    slo_u128 w = 7;
    const char *why = NULL;
    enum slo_ts_status st = slo_tracestate_weight(ts, size, &w, &why);
    switch (st) {
    case SLO_TS_NONE:
        if (w != SLO_WEIGHT_ONE) {
            abort();
        }
        break;
    case SLO_TS_MALFORMED:
        if (w != SLO_WEIGHT_ONE || why == NULL || why[0] == '\0') {
            abort();
        }
        break;
    case SLO_TS_ADJUSTED:
        if (w != 0 && (w < SLO_WEIGHT_ONE || w > ((slo_u128)1 << 94))) {
            abort();
        }
        break;
    default:
        abort();
    }
    /* "a=b," in front: another vendor's member changes nothing. */
    memcpy(pre, "a=b,", 4);
    memcpy(pre + 4, data, size);
    slo_u128 w2 = 9;
    if (slo_tracestate_weight(pre, size + 4, &w2, NULL) != st || w2 != w) {
        abort();
    }
    ag_free(ts);
    ag_free(pre);
    return 0;
}
