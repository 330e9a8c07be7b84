/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming JSON output. The hot paths (file exporter lines, later X-Ray segments and EMF events)
 * write JSON directly with this instead of building jansson trees, which cost ~10x per document
 * (specs/performance.md).
 */
#include "ag_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ag_json_init(struct ag_json *w, struct ag_buf *buf)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
}

static void put(struct ag_json *w, const char *s, size_t len)
{
    if (w->err == 0) {
        w->err = ag_buf_add(w->buf, s, len);
    }
}

/* Per-level state bits in has_items[]. */
#define LEVEL_HAS_ITEMS 1 /* something was written at this level: the next item needs a comma */
#define LEVEL_IS_ARRAY  2 /* the container at this level is an array (else an object) */

static void set_err(struct ag_json *w, int err)
{
    if (w->err == 0) {
        w->err = err;
    }
}

/*
 * Called before every value: writes the separating comma where one is due. A value directly in
 * an object (no key before it) or a second value at the top level would not be JSON, so they are
 * AG_EINVAL. Returns nonzero when nothing more may be written.
 */
static int before_value(struct ag_json *w)
{
    if (w->err) {
        return 1;
    }
    if (w->after_key) {
        w->after_key = 0;
        return 0;
    }
    uint8_t st = w->has_items[w->depth];
    if ((w->depth > 0 && !(st & LEVEL_IS_ARRAY)) || (w->depth == 0 && (st & LEVEL_HAS_ITEMS))) {
        set_err(w, AG_EINVAL);
        return 1;
    }
    if (st & LEVEL_HAS_ITEMS) {
        put(w, ",", 1);
    }
    w->has_items[w->depth] |= LEVEL_HAS_ITEMS;
    return w->err;
}

static void open_container(struct ag_json *w, char c)
{
    if (before_value(w)) {
        return;
    }
    if (w->depth >= AG_JSON_MAX_DEPTH) {
        set_err(w, AG_EINVAL);
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->has_items[w->depth] = c == '[' ? LEVEL_IS_ARRAY : 0;
}

static void close_container(struct ag_json *w, char c)
{
    if (w->err) {
        return;
    }
    /* Closing what is not open, closing after a key, or closing with the other bracket. */
    if (w->depth == 0 || w->after_key ||
        ((w->has_items[w->depth] & LEVEL_IS_ARRAY) != 0) != (c == ']')) {
        set_err(w, AG_EINVAL);
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void ag_json_obj_open(struct ag_json *w)
{
    open_container(w, '{');
}

void ag_json_obj_close(struct ag_json *w)
{
    close_container(w, '}');
}

void ag_json_arr_open(struct ag_json *w)
{
    open_container(w, '[');
}

void ag_json_arr_close(struct ag_json *w)
{
    close_container(w, ']');
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

int ag_json_escape(struct ag_buf *buf, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    size_t i = 0;
    int rc;
    while (i < len) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char tmp[6];
        size_t esc_len = 2, adv = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_len(s + i, len - i);
            if (n != 0) {
                i += n;
                continue;
            }
            esc = "\xEF\xBF\xBD"; /* U+FFFD for a byte that is not UTF-8 */
            esc_len = 3;
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c == '\b') {
            esc = "\\b";
        } else if (c == '\f') {
            esc = "\\f";
        } else {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 15];
            esc = tmp;
            esc_len = 6;
        }
        if (i > run && (rc = ag_buf_add(buf, s + run, i - run)) != 0) {
            return rc;
        }
        if ((rc = ag_buf_add(buf, esc, esc_len)) != 0) {
            return rc;
        }
        i += adv;
        run = i;
    }
    if (i > run) {
        return ag_buf_add(buf, s + run, i - run);
    }
    return 0;
}

/* Writes a quoted, escaped string, with no separator handling. */
static void put_string(struct ag_json *w, const char *s, size_t len)
{
    put(w, "\"", 1);
    if (w->err == 0) {
        w->err = ag_json_escape(w->buf, s ? s : "", s ? len : 0);
    }
    put(w, "\"", 1);
}

void ag_json_strn(struct ag_json *w, const char *s, size_t len)
{
    if (before_value(w)) {
        return;
    }
    put_string(w, s, len);
}

void ag_json_str(struct ag_json *w, const char *s)
{
    ag_json_strn(w, s, s ? strlen(s) : 0);
}

void ag_json_keyn(struct ag_json *w, const char *key, size_t len)
{
    if (w->err) {
        return;
    }
    /* Keys belong in objects, one before each value. */
    if (w->after_key || w->depth == 0 || (w->has_items[w->depth] & LEVEL_IS_ARRAY)) {
        set_err(w, AG_EINVAL);
        return;
    }
    if (w->has_items[w->depth] & LEVEL_HAS_ITEMS) {
        put(w, ",", 1);
    }
    w->has_items[w->depth] |= LEVEL_HAS_ITEMS;
    put_string(w, key, len);
    put(w, ":", 1);
    w->after_key = 1;
}

void ag_json_key(struct ag_json *w, const char *key)
{
    ag_json_keyn(w, key, strlen(key));
}

void ag_json_int(struct ag_json *w, int64_t v)
{
    char tmp[24];
    if (before_value(w)) {
        return;
    }
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    put(w, tmp, (size_t)n);
}

void ag_json_uint(struct ag_json *w, uint64_t v)
{
    char tmp[24];
    if (before_value(w)) {
        return;
    }
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    put(w, tmp, (size_t)n);
}

void ag_json_double(struct ag_json *w, double v)
{
    char tmp[32];
    if (w->err) {
        return;
    }
    if (isnan(v)) {
        ag_json_str(w, "NaN");
        return;
    }
    if (isinf(v)) {
        ag_json_str(w, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (before_value(w)) {
        return;
    }
    if (v == 0 && signbit(v)) {
        /* "-0" would read back as the integer 0 in most parsers (jansson included). */
        put(w, "-0.0", 4);
        return;
    }
    /*
     * The shortest %.Ng that reads back to the same double. For normal numbers %.15g is already
     * the shortest when it round-trips (%g drops trailing zeros); subnormals have fewer
     * significant digits, so they start from 1.
     */
    int n = 0;
    for (int prec = fpclassify(v) == FP_SUBNORMAL ? 1 : 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    put(w, tmp, (size_t)n);
}

void ag_json_bool(struct ag_json *w, int v)
{
    if (before_value(w)) {
        return;
    }
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void ag_json_null(struct ag_json *w)
{
    if (before_value(w)) {
        return;
    }
    put(w, "null", 4);
}

/*
 * Reserves |need| bytes for encoding |len| input bytes, telling the cap (AG_ETOOBIG) from an
 * allocation failure (AG_ENOMEM) as ag_buf_add() does.
 */
static uint8_t *reserve(struct ag_json *w, size_t len, size_t need)
{
    struct ag_buf *b = w->buf;
    if (need < len || need > b->cap || b->len > b->cap - need) {
        ag_buf_cleanup(b);
        set_err(w, AG_ETOOBIG);
        return NULL;
    }
    uint8_t *p = ag_buf_reserve(b, need);
    if (p == NULL) {
        set_err(w, AG_ENOMEM);
    }
    return p;
}

void ag_json_hex(struct ag_json *w, const uint8_t *bytes, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (before_value(w)) {
        return;
    }
    uint8_t *p = reserve(w, len, len * 2 + 2);
    if (p == NULL) {
        return;
    }
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        *p++ = (uint8_t)hex[bytes[i] >> 4];
        *p++ = (uint8_t)hex[bytes[i] & 15];
    }
    *p = '"';
    ag_buf_commit(w->buf, len * 2 + 2);
}

void ag_json_base64(struct ag_json *w, const uint8_t *bytes, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (before_value(w)) {
        return;
    }
    size_t out_len = (len + 2) / 3 * 4;
    uint8_t *p = reserve(w, len, out_len + 2);
    if (p == NULL) {
        return;
    }
    *p++ = '"';
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        *p++ = (uint8_t)tbl[v >> 18];
        *p++ = (uint8_t)tbl[(v >> 12) & 63];
        *p++ = (uint8_t)tbl[(v >> 6) & 63];
        *p++ = (uint8_t)tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < len) {
            v |= (uint32_t)bytes[i + 1] << 8;
        }
        *p++ = (uint8_t)tbl[v >> 18];
        *p++ = (uint8_t)tbl[(v >> 12) & 63];
        *p++ = i + 1 < len ? (uint8_t)tbl[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    *p = '"';
    ag_buf_commit(w->buf, out_len + 2);
}

void ag_json_raw(struct ag_json *w, const char *json, size_t len)
{
    if (before_value(w)) {
        return;
    }
    put(w, json, len);
}

int ag_json_finish(struct ag_json *w)
{
    if (w->err) {
        return w->err;
    }
    return w->depth == 0 && !w->after_key ? 0 : AG_EINVAL;
}
