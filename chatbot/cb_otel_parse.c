// SPDX-License-Identifier: Apache-2.0
/*
 * The parsers of cb_otel's outside input: W3C traceparent and tracestate header values, and the
 * "k=v,k2=v2" lists of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS. Pure functions,
 * no I/O: unit-tested and fuzzed directly (tests/fuzz/fuzz_otel_parse.c).
 */
#include "cb_otel.h"

#include "ag_mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_ows(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_ows((*s)[*len - 1])) {
        (*len)--;
    }
}

/* Takes the member of the comma-separated list s[0..len) that starts at *pos (<= len): *m and
 * *mlen get it without surrounding spaces or tabs (possibly empty), and *pos moves past its
 * comma (beyond len after the last member). */
static void next_member(const char *s, size_t len, size_t *pos, const char **m, size_t *mlen)
{
    const char *comma;

    *m = s + *pos;
    comma = memchr(*m, ',', len - *pos);
    *mlen = comma != NULL ? (size_t)(comma - *m) : len - *pos;
    *pos += *mlen + 1;
    trim(m, mlen);
}

/* Lower-case hex only: the W3C spec refuses upper case in traceparent. */
static int lhex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static int lhex_bytes(const char *s, size_t n_bytes, uint8_t *out)
{
    for (size_t i = 0; i < n_bytes; i++) {
        int hi = lhex(s[2 * i]), lo = lhex(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return AG_EPROTO;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

int cb_otel_traceparent_parse(const char *s, size_t len, struct cb_otel_span_ctx *out)
{
    uint8_t version;
    struct cb_otel_span_ctx c;

    memset(out, 0, sizeof(*out));
    if (s == NULL) {
        return AG_EPROTO;
    }
    trim(&s, &len);
    if (len < CB_OTEL_TRACEPARENT_LEN) {
        return AG_EPROTO;
    }
    if (lhex_bytes(s, 1, &version) != 0 || version == 0xff) {
        return AG_EPROTO;
    }
    /* Version 00 has exactly four fields; a future version may append fields after a '-'. */
    if (version == 0 && len != CB_OTEL_TRACEPARENT_LEN) {
        return AG_EPROTO;
    }
    if (len > CB_OTEL_TRACEPARENT_LEN && s[CB_OTEL_TRACEPARENT_LEN] != '-') {
        return AG_EPROTO;
    }
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') {
        return AG_EPROTO;
    }
    memset(&c, 0, sizeof(c));
    if (lhex_bytes(s + 3, 16, c.trace_id) != 0 || lhex_bytes(s + 36, 8, c.span_id) != 0 ||
        lhex_bytes(s + 53, 1, &c.flags) != 0) {
        return AG_EPROTO;
    }
    if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8)) {
        return AG_EPROTO;
    }
    /* Only the sampled bit is defined for version 00; unknown future bits are not propagated. */
    if (version != 0) {
        c.flags &= 0x01;
    }
    c.valid = true;
    c.remote = true;
    *out = c;
    return 0;
}

int cb_otel_traceparent_format(const struct cb_otel_span_ctx *ctx, char out[56])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (ctx == NULL || !ctx->valid) {
        out[0] = '\0';
        return AG_EINVAL;
    }
    out[o++] = '0';
    out[o++] = '0';
    out[o++] = '-';
    for (size_t i = 0; i < 16; i++) {
        out[o++] = hex[ctx->trace_id[i] >> 4];
        out[o++] = hex[ctx->trace_id[i] & 15];
    }
    out[o++] = '-';
    for (size_t i = 0; i < 8; i++) {
        out[o++] = hex[ctx->span_id[i] >> 4];
        out[o++] = hex[ctx->span_id[i] & 15];
    }
    out[o++] = '-';
    out[o++] = hex[ctx->flags >> 4];
    out[o++] = hex[ctx->flags & 15];
    out[o] = '\0';
    return 0;
}

static bool ts_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool ts_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ts_keychar(char c)
{
    return ts_lcalpha(c) || ts_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = simple-key / multi-tenant-key (W3C trace-context level 1, 3.3.1.3.1). */
static bool ts_key_ok(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);

    if (at == NULL) {
        if (n < 1 || n > 256 || !ts_lcalpha(k[0])) {
            return false;
        }
        for (size_t i = 1; i < n; i++) {
            if (!ts_keychar(k[i])) {
                return false;
            }
        }
        return true;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14) {
        return false;
    }
    if (!ts_lcalpha(k[0]) && !ts_digit(k[0])) {
        return false;
    }
    for (size_t i = 1; i < tn; i++) {
        if (!ts_keychar(k[i])) {
            return false;
        }
    }
    if (!ts_lcalpha(at[1])) {
        return false;
    }
    for (size_t i = 1; i < sn; i++) {
        if (!ts_keychar(at[1 + i])) {
            return false;
        }
    }
    return true;
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E. */
static bool ts_value_ok(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
            return false;
        }
    }
    return true;
}

int cb_otel_tracestate_check(const char *s, size_t len)
{
    struct {
        const char *k;
        size_t n;
    } keys[32];
    size_t n_keys = 0, pos = 0;

    if (s == NULL) {
        return AG_EPROTO;
    }
    if (len > CB_OTEL_TRACESTATE_MAX) {
        return AG_ETOOBIG;
    }
    while (pos <= len) {
        const char *m;
        size_t mlen;
        next_member(s, len, &pos, &m, &mlen);
        if (mlen == 0) {
            continue;
        }
        const char *eq = memchr(m, '=', mlen);
        if (eq == NULL) {
            return AG_EPROTO;
        }
        size_t kn = (size_t)(eq - m);
        if (!ts_key_ok(m, kn) || !ts_value_ok(eq + 1, mlen - kn - 1)) {
            return AG_EPROTO;
        }
        for (size_t i = 0; i < n_keys; i++) {
            if (keys[i].n == kn && memcmp(keys[i].k, m, kn) == 0) {
                return AG_EPROTO;
            }
        }
        if (n_keys == 32) {
            return AG_ETOOBIG;
        }
        keys[n_keys].k = m;
        keys[n_keys].n = kn;
        n_keys++;
    }
    return 0;
}

int cb_otel_extract(const char *traceparent, const char *tracestate, struct cb_otel_span_ctx *out)
{
    int rc;

    if (traceparent == NULL) {
        memset(out, 0, sizeof(*out));
        return AG_ENOTFOUND;
    }
    rc = cb_otel_traceparent_parse(traceparent, strlen(traceparent), out);
    if (rc != 0) {
        return rc;
    }
    if (tracestate != NULL) {
        const char *ts = tracestate;
        size_t tl = strlen(ts);
        trim(&ts, &tl);
        if (cb_otel_tracestate_check(ts, tl) == 0) {
            memcpy(out->tracestate, ts, tl);
            out->tracestate[tl] = '\0';
        }
    }
    return 0;
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int hexval(char c)
{
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return lhex(c);
}

/* Percent-decodes |n| bytes of |s| into a new string. Control characters (NUL, CR, LF, ...),
 * raw or decoded, are refused: they would cut the C string or split an HTTP header. Returns
 * the string, or NULL with *rc set. */
static char *pct_decode(const char *s, size_t n, int *rc)
{
    char *out = ag_malloc(n + 1);
    size_t o = 0;

    if (out == NULL) {
        *rc = AG_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                goto bad;
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            goto bad;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
bad:
    ag_free(out);
    *rc = AG_EPROTO;
    return NULL;
}

void cb_otel_kvlist_cleanup(struct cb_otel_kvlist *list)
{
    if (list == NULL) {
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        ag_free(list->items[i].key);
        ag_free(list->items[i].value);
    }
    ag_free(list->items);
    list->items = NULL;
    list->n = 0;
}

int cb_otel_kvlist_parse(const char *s, size_t len, size_t max_items, struct cb_otel_kvlist *out,
                         char *err, size_t errlen)
{
    struct cb_otel_kvlist l = {NULL, 0};
    size_t pos = 0, member = 0, cap = 0;
    int rc = 0;

    out->items = NULL;
    out->n = 0;
    set_err(err, errlen, "%s", "");
    if (len > CB_OTEL_KV_MAX_INPUT) {
        set_err(err, errlen, "longer than %u bytes", (unsigned)CB_OTEL_KV_MAX_INPUT);
        return AG_ETOOBIG;
    }
    while (pos <= len && len > 0) {
        const char *m;
        size_t mlen;
        next_member(s, len, &pos, &m, &mlen);
        member++;
        if (mlen == 0) {
            continue;
        }
        const char *eq = memchr(m, '=', mlen);
        if (eq == NULL) {
            set_err(err, errlen, "member %zu: expected key=value, found no '='", member);
            rc = AG_EPROTO;
            goto out;
        }
        const char *k = m, *v = eq + 1;
        size_t kn = (size_t)(eq - m), vn = mlen - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);
        if (kn == 0) {
            set_err(err, errlen, "member %zu: empty key", member);
            rc = AG_EPROTO;
            goto out;
        }
        if (l.n == max_items) {
            set_err(err, errlen, "more than %zu members", max_items);
            rc = AG_ETOOBIG;
            goto out;
        }
        if (l.n == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            struct cb_otel_kv *ni = ag_realloc(l.items, ncap * sizeof(*ni));
            if (ni == NULL) {
                rc = AG_ENOMEM;
                goto out;
            }
            l.items = ni;
            cap = ncap;
        }
        char *dk = pct_decode(k, kn, &rc);
        if (dk == NULL) {
            if (rc == AG_EPROTO) {
                set_err(err, errlen, "member %zu: bad %%-escape or a control character in the key",
                        member);
            }
            goto out;
        }
        char *dv = pct_decode(v, vn, &rc);
        if (dv == NULL) {
            if (rc == AG_EPROTO) {
                set_err(err, errlen,
                        "member %zu (key %s): bad %%-escape or a control character in the value",
                        member, dk);
            }
            ag_free(dk);
            goto out;
        }
        l.items[l.n].key = dk;
        l.items[l.n].value = dv;
        l.n++;
    }
    *out = l;
    return 0;
out:
    cb_otel_kvlist_cleanup(&l);
    return rc;
}

/* The length of the well-formed UTF-8 sequence at |s| (1-4), or 0 when it is ill-formed; then
 * |*bad| is how many bytes form its maximal subpart (the lead and the continuation bytes that
 * were right, at least 1): Unicode §3.9's "U+FFFD substitution of maximal subparts", which is
 * the WHATWG UTF-8 decoder's rule. A NUL ends the string. */
static size_t utf8_seq(const unsigned char *s, size_t *bad)
{
    unsigned char b = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;

    *bad = 1;
    if (b < 0x80) {
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
    } else if (b == 0xE0) {
        need = 2;
        lo = 0xA0; /* no overlong forms */
    } else if (b == 0xED) {
        need = 2;
        hi = 0x9F; /* no surrogates */
    } else if (b >= 0xE1 && b <= 0xEF) {
        need = 2;
    } else if (b == 0xF0) {
        need = 3;
        lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
        need = 3;
    } else if (b == 0xF4) {
        need = 3;
        hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0; /* 80-C1, F5-FF: never a lead byte */
    }
    for (size_t k = 1; k <= need; k++) {
        if (s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

char *cb_otel_utf8_dup(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad, n;

    if (s == NULL) {
        return NULL;
    }
    while (u[i] != '\0' && (n = utf8_seq(u + i, &bad)) != 0) {
        i += n;
    }
    if (u[i] == '\0') {
        return ag_strdup(s); /* the usual case: already well-formed */
    }
    /* Each replaced subpart is at least one byte and becomes 3: at most 3x the input. */
    size_t len = i + strlen(s + i);
    if (len > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    char *out = ag_malloc(3 * len + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, s, i);
    size_t o = i;
    while (u[i] != '\0') {
        n = utf8_seq(u + i, &bad);
        if (n != 0) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            i += bad;
        }
    }
    out[o] = '\0';
    return out;
}
