/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the reading of a 200 PutLogEvents answer (rejectedLogEventsInfo): the first two bytes
 * give the batch size, the rest is the body. The counts must never exceed the batch, whatever
 * the indices say. The same bytes also go through the raw_log EMF routing reader, whose names
 * must stay terminated within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ex_cw_logs.h"
#include "ex_cw_pusher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t n = (size_t)data[0] << 8 | data[1];
    struct ex_cw_rejected r;
    int rc = ex_cw_parse_rejected(data + 2, size - 2, n, &r);
    if (rc != 0 && rc != AG_EPROTO) {
        abort();
    }
    if (r.too_new + r.too_old + r.expired > n ||
        (rc != 0 && r.too_new + r.too_old + r.expired != 0)) {
        abort();
    }
    char g[64], s[64];
    (void)ex_cw_logs_emf_route((const char *)data + 2, size - 2, g, s, sizeof(g));
    if (strnlen(g, sizeof(g)) == sizeof(g) || strnlen(s, sizeof(s)) == sizeof(s)) {
        abort();
    }
    return 0;
}
