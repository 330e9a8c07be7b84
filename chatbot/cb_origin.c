/* SPDX-License-Identifier: Apache-2.0 */
/* The origin check's secret: parsing and constant-time matching (cb_origin.h). */
#include "cb_origin.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Clears |out|, writes the reason into |err| and returns AG_EINVAL. */
__attribute__((format(printf, 4, 5))) static int fail(struct cb_origin *out, char *err,
                                                      size_t cap, const char *fmt, ...)
{
    cb_origin_clear(out);
    if (err != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return AG_EINVAL;
}

int cb_origin_parse(const char *spec, size_t len, struct cb_origin *out, char *err, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (spec == NULL) {
        return fail(out, err, cap, "no value");
    }
    if (len > 0 && spec[len - 1] == '\n') {
        len--;
        if (len > 0 && spec[len - 1] == '\r') {
            len--;
        }
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && spec[i] != ',') {
            unsigned char c = (unsigned char)spec[i];
            if (c < 0x21 || c > 0x7e) {
                return fail(out, err, cap,
                            "value %zu: byte %zu is not visible ASCII (a space, a control "
                            "character, or non-ASCII)",
                            out->n + 1, i);
            }
            continue;
        }
        size_t n = i - start;
        if (out->n == CB_ORIGIN_VALUES) {
            return fail(out, err, cap, "more than %u values separated by ','", CB_ORIGIN_VALUES);
        }
        if (n < CB_ORIGIN_MIN || n > CB_ORIGIN_MAX) {
            return fail(out, err, cap, "value %zu: %zu bytes, expected %u to %u", out->n + 1, n,
                        CB_ORIGIN_MIN, CB_ORIGIN_MAX);
        }
        memcpy(out->value[out->n], spec + start, n);
        out->len[out->n++] = n;
        start = i + 1;
    }
    if (out->n == 2 && out->len[0] == out->len[1] &&
        memcmp(out->value[0], out->value[1], out->len[0]) == 0) {
        OPENSSL_cleanse(out->value[1], sizeof(out->value[1]));
        out->len[1] = 0;
        out->n = 1;
    }
    return 0;
}

int cb_origin_match(const struct cb_origin *o, const char *header, size_t len)
{
    int ok = 0;
    if (o == NULL || header == NULL) {
        return 0;
    }
    for (size_t k = 0; k < o->n && k < CB_ORIGIN_VALUES; k++) {
        if (len == o->len[k]) {
            ok |= CRYPTO_memcmp(header, o->value[k], len) == 0;
        }
    }
    return ok;
}

void cb_origin_clear(struct cb_origin *o)
{
    if (o != NULL) {
        OPENSSL_cleanse(o, sizeof(*o));
        memset(o, 0, sizeof(*o));
    }
}
