/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the request-body decompressors (ag_zip_inflate): the first byte picks the format (gzip,
 * deflate, zstd, snappy, framed snappy, LZ4) and the output cap (1 KiB .. 1 MiB), the rest is the
 * body. Checked on every input:
 * - the answer is 0, AG_ETOOBIG, AG_EPROTO or AG_ENOMEM;
 * - 0: the output is within the cap;
 * - AG_ETOOBIG: the buffer was freed (nothing past the cap is kept);
 * - AG_EPROTO: what the buffer held before is all it holds (8 bytes put there first).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "ag_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) {
        return 0;
    }
    enum ag_zip_format fmt = (enum ag_zip_format)(data[0] % 6);
    size_t cap = (size_t)1024 << ((data[0] / 6) % 11); /* 1 KiB .. 1 MiB */
    struct ag_buf out;
    ag_buf_init(&out, cap);
    if (ag_buf_add(&out, "prefix!!", 8) != 0) {
        abort();
    }
    int rc = ag_zip_inflate(fmt, data + 1, size - 1, &out);
    switch (rc) {
    case 0:
        if (out.len > cap || memcmp(ag_buf_ptr(&out), "prefix!!", 8) != 0) {
            abort();
        }
        break;
    case AG_ETOOBIG:
        if (ag_buf_ptr(&out) != NULL) {
            abort();
        }
        break;
    case AG_EPROTO:
        if (out.len != 8 || memcmp(ag_buf_ptr(&out), "prefix!!", 8) != 0) {
            abort();
        }
        break;
    case AG_ENOMEM:
        break;
    default:
        abort();
    }
    ag_buf_cleanup(&out);
    return 0;
}
