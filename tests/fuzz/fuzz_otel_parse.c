/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes cb_otel's parsers of outside input: the W3C traceparent and tracestate header values
 * and the "k=v,..." lists of OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS. Every input
 * goes through all of them. Invariants: a parsed traceparent has non-zero ids and formats back
 * to a version-00 value that parses to the same context; a parsed list has non-empty keys with
 * no NUL; a tracestate kept by cb_otel_extract() passes cb_otel_tracestate_check();
 * cb_otel_utf8_dup() gives well-formed UTF-8 (checked by a decoder written here, by code point
 * ranges), leaves well-formed input unchanged and is idempotent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "cb_otel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed UTF-8 by decoding: each sequence's code point must need exactly that many bytes
 * and be a scalar value (not a surrogate, at most U+10FFFF). */
static int utf8_ok(const unsigned char *s)
{
    while (*s != '\0') {
        unsigned cp, n;
        if (*s < 0x80) {
            s++;
            continue;
        } else if ((*s & 0xE0) == 0xC0) {
            cp = *s & 0x1F;
            n = 1;
        } else if ((*s & 0xF0) == 0xE0) {
            cp = *s & 0x0F;
            n = 2;
        } else if ((*s & 0xF8) == 0xF0) {
            cp = *s & 0x07;
            n = 3;
        } else {
            return 0;
        }
        for (unsigned k = 1; k <= n; k++) {
            if ((s[k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[k] & 0x3F);
        }
        static const unsigned min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        s += n + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct cb_otel_span_ctx c, c2;
    struct cb_otel_kvlist l;
    char out[56], err[160];

    if (cb_otel_traceparent_parse(s, size, &c) == 0) {
        static const uint8_t zero[16];
        if (!c.valid || memcmp(c.trace_id, zero, 16) == 0 || memcmp(c.span_id, zero, 8) == 0) {
            abort();
        }
        if (cb_otel_traceparent_format(&c, out) != 0 || strlen(out) != 55 ||
            cb_otel_traceparent_parse(out, 55, &c2) != 0 ||
            memcmp(c.trace_id, c2.trace_id, 16) != 0 || memcmp(c.span_id, c2.span_id, 8) != 0 ||
            c.flags != c2.flags) {
            abort();
        }
    } else if (c.valid) {
        abort();
    }
    int rc = cb_otel_tracestate_check(s, size);
    if (rc != 0 && rc != AG_EPROTO && rc != AG_ETOOBIG) {
        abort();
    }
    rc = cb_otel_kvlist_parse(s, size, 64, &l, err, sizeof(err));
    if (rc == 0) {
        for (size_t i = 0; i < l.n; i++) {
            if (l.items[i].key[0] == '\0' || l.items[i].value == NULL) {
                abort();
            }
        }
        cb_otel_kvlist_cleanup(&l);
    } else if (rc != AG_EPROTO && rc != AG_ETOOBIG && rc != AG_ENOMEM) {
        abort();
    } else if (l.items != NULL || l.n != 0 || (rc != AG_ENOMEM && err[0] == '\0')) {
        abort(); /* a refusal leaves nothing behind and says why */
    }
    /* The header pair as the server sees it: split at the first newline, NUL-terminated. */
    char *copy = ag_malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *nl = strchr(copy, '\n');
    if (nl != NULL) {
        *nl = '\0';
    }
    /* UTF-8 repair of the first line (a header value as the server holds it). */
    char *u = cb_otel_utf8_dup(copy);
    if (u != NULL) {
        char *u2 = cb_otel_utf8_dup(u);
        if (!utf8_ok((const unsigned char *)u) ||
            (utf8_ok((const unsigned char *)copy) && strcmp(u, copy) != 0) ||
            (u2 != NULL && strcmp(u, u2) != 0)) {
            abort();
        }
        ag_free(u2);
        ag_free(u);
    }
    if (cb_otel_extract(copy, nl != NULL ? nl + 1 : NULL, &c) == 0) {
        size_t tl = strlen(c.tracestate);
        if (tl > CB_OTEL_TRACESTATE_MAX ||
            (tl > 0 && cb_otel_tracestate_check(c.tracestate, tl) != 0)) {
            abort();
        }
    }
    ag_free(copy);
    return 0;
}
