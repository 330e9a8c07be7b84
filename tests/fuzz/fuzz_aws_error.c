/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes AWS error-response parsing: the first byte picks the protocol and whether the first
 * line is the x-amzn-ErrorType header; the rest is the body. Outputs must stay terminated,
 * printable and within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "ex_aws_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    enum ex_aws_protocol proto = (enum ex_aws_protocol)(data[0] % 3);
    int with_header = data[0] & 4;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char *hdr = NULL;
    if (with_header) {
        const char *nl = memchr(body, '\n', len);
        size_t hl = nl ? (size_t)(nl - body) : len;
        hdr = ag_strndup(body, hl);
        body += nl ? hl + 1 : hl;
        len -= nl ? hl + 1 : hl;
    }
    struct ex_aws_error e;
    int rc = ex_aws_error_parse(proto, hdr, body, len, &e);
    if (rc != 0 && rc != AG_ENOTFOUND) {
        abort();
    }
    if ((rc == 0) != (e.code[0] != '\0')) {
        abort();
    }
    check_clean(e.code, sizeof(e.code));
    check_clean(e.message, sizeof(e.message));
    ag_free(hdr);
    return 0;
}
