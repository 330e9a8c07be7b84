/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the origin secret's parser and matcher (cb_origin). Input: the secret's text up to the
 * first '\n' followed by a '\t' ("\n\t"), the received header after it. Checked on every input:
 * - on success: 1 or 2 values, each CB_ORIGIN_MIN..CB_ORIGIN_MAX bytes of 0x21-0x7e without ',';
 *   each value matches itself; the header matches exactly when it equals one of them
 *   (compared here with memcmp);
 * - on failure: the result is cleared (n = 0) and matches nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cb_origin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    const char *s = (const char *)data;
    size_t spec_len = size;
    const char *hdr = NULL;
    size_t hdr_len = 0;
    for (size_t i = 0; i + 1 < size; i++) {
        if (s[i] == '\n' && s[i + 1] == '\t') {
            spec_len = i;
            hdr = s + i + 2;
            hdr_len = size - i - 2;
            break;
        }
    }
    struct cb_origin o;
    char err[160];
    int rc = cb_origin_parse(s, spec_len, &o, err, sizeof(err));
    if (rc != 0) {
        if (rc != AG_EINVAL || o.n != 0 || memchr(err, '\0', sizeof(err)) == NULL ||
            cb_origin_match(&o, hdr != NULL ? hdr : s, hdr != NULL ? hdr_len : spec_len)) {
            abort();
        }
        return 0;
    }
    if (o.n < 1 || o.n > CB_ORIGIN_VALUES) {
        abort();
    }
    int want = 0;
    for (size_t k = 0; k < o.n; k++) {
        if (o.len[k] < CB_ORIGIN_MIN || o.len[k] > CB_ORIGIN_MAX) {
            abort();
        }
        for (size_t j = 0; j < o.len[k]; j++) {
            unsigned char c = (unsigned char)o.value[k][j];
            if (c < 0x21 || c > 0x7e || c == ',') {
                abort();
            }
        }
        if (!cb_origin_match(&o, o.value[k], o.len[k])) {
            abort();
        }
        if (hdr != NULL && hdr_len == o.len[k] && memcmp(hdr, o.value[k], hdr_len) == 0) {
            want = 1;
        }
    }
    if (hdr != NULL && cb_origin_match(&o, hdr, hdr_len) != want) {
        abort();
    }
    cb_origin_clear(&o);
    if (o.n != 0 || o.len[0] != 0) {
        abort();
    }
    return 0;
}
