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

/* Called before every value or key: writes the separating comma where one is due. */
static void before_value(struct ag_json *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->has_items[w->depth]) {
        put(w, ",", 1);
    }
    w->has_items[w->depth] = 1;
}

static void open_container(struct ag_json *w, char c)
{
    if (w->err) {
        return;
    }
    before_value(w);
    if (w->depth >= AG_JSON_MAX_DEPTH) {
        w->err = AG_EINVAL;
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->has_items[w->depth] = 0;
}

static void close_container(struct ag_json *w, char c)
{
    if (w->err) {
        return;
    }
    if (w->depth == 0 || w->after_key) {
        w->err = AG_EINVAL;
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

void ag_json_strn(struct ag_json *w, const char *s, size_t len)
{
    if (w->err) {
        return;
    }
    before_value(w);
    put(w, "\"", 1);
    if (w->err == 0) {
        w->err = ag_json_escape(w->buf, s ? s : "", s ? len : 0);
    }
    put(w, "\"", 1);
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
    ag_json_strn(w, key, len);
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
    if (w->err) {
        return;
    }
    before_value(w);
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    put(w, tmp, (size_t)n);
}

void ag_json_uint(struct ag_json *w, uint64_t v)
{
    char tmp[24];
    if (w->err) {
        return;
    }
    before_value(w);
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
    before_value(w);
    /* The shortest of %.15g..%.17g that reads back to the same double. */
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    put(w, tmp, (size_t)n);
}

void ag_json_bool(struct ag_json *w, int v)
{
    if (w->err) {
        return;
    }
    before_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void ag_json_null(struct ag_json *w)
{
    if (w->err) {
        return;
    }
    before_value(w);
    put(w, "null", 4);
}

void ag_json_hex(struct ag_json *w, const uint8_t *bytes, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (w->err) {
        return;
    }
    before_value(w);
    uint8_t *p = ag_buf_reserve(w->buf, len * 2 + 2);
    if (p == NULL) {
        w->err = AG_ETOOBIG;
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
    if (w->err) {
        return;
    }
    before_value(w);
    size_t out_len = (len + 2) / 3 * 4;
    uint8_t *p = ag_buf_reserve(w->buf, out_len + 2);
    if (p == NULL) {
        w->err = AG_ETOOBIG;
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
    if (w->err) {
        return;
    }
    before_value(w);
    put(w, json, len);
}

int ag_json_finish(struct ag_json *w)
{
    if (w->err) {
        return w->err;
    }
    return w->depth == 0 && !w->after_key ? 0 : AG_EINVAL;
}
