/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the X-Ray queue's document id readers (ex_xray_doc_id() reads the awsxray receiver's
 * documents; ex_xray_doc_id_escaped() the segment writer's, with a quick path for its shape).
 * Any bytes must give AG_EPROTO or 16 lowercase hex digits, and the escaped reader must answer
 * on the input escaped with ag_json_escape() exactly what the plain reader answers on the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_json.h"
#include "ex_xray_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(int rc, const char id[17])
{
    if (rc == AG_EPROTO) {
        return;
    }
    if (rc != 0 || strlen(id) != 16) {
        abort();
    }
    for (size_t i = 0; i < 16; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char plain[17], esc[17];
    int rc = ex_xray_doc_id((const char *)data, size, plain);
    check_id(rc, plain);
    struct ag_buf b;
    ag_buf_init(&b, 8 * size + 64);
    if (ag_json_escape(&b, (const char *)data, size) != 0) {
        return 0; /* out of memory (the buffer is freed) */
    }
    int erc = ex_xray_doc_id_escaped((const char *)ag_buf_ptr(&b), b.len, esc);
    check_id(erc, esc);
    if (erc != rc || (rc == 0 && strcmp(plain, esc) != 0)) {
        abort();
    }
    ag_buf_cleanup(&b);
    return 0;
}
