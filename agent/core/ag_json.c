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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void ag_json_init(struct ag_json *w, struct ag_buf *buf)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
}

void ag_json_init_escaped(struct ag_json *w, struct ag_buf *buf)
{
    ag_json_init(w, buf);
    w->escaped = 1;
}

void ag_json_set_limit(struct ag_json *w, size_t limit)
{
    w->limit = limit;
}

/* Counts |len| more bytes of plain text; returns nonzero (and fails) past the limit. */
static int count(struct ag_json *w, size_t len)
{
    w->written += len;
    if (w->limit != 0 && w->written > w->limit) {
        if (w->err == 0) {
            w->err = AG_ETOOBIG;
            w->over_limit = 1;
        }
        return 1;
    }
    return 0;
}

static int escape(struct ag_buf *buf, const char *str, size_t len, int twice, size_t *plain_out);
static inline uint64_t word_special(uint64_t v);

/*
 * Copies the 8 bytes at |s| to |q| and returns how many of them come before the first one that
 * needs a look (8 when none does; those bytes are copied already, the caller skips them).
 */
static inline size_t copy8_clean(const unsigned char *s, uint8_t *q)
{
    uint64_t v;
    memcpy(&v, s, 8);
    uint64_t m = word_special(v);
    memcpy(q, &v, 8);
    if (m == 0) {
        return 8;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The lowest flagged byte is a special one (a borrow only flags bytes above a special
     * byte), so the bytes before it are plain. */
    return (size_t)__builtin_ctzll(m) / 8;
#else
    return 0;
#endif
}

/*
 * Where |n| more bytes go when |b| has them allocated already (the common case: one check, no
 * call), or NULL. ag_buf keeps a NUL after the contents, hence the strict comparison.
 */
static inline uint8_t *room(const struct ag_buf *b, size_t n)
{
    return b->data != NULL && n < b->alloc - b->len && n <= b->cap - b->len ? b->data + b->len
                                                                            : NULL;
}

static inline void advance(struct ag_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = 0;
}

/*
 * memcpy() of the short keys the writers copy most (a call into glibc costs more than the copy
 * below 32 bytes): fixed-size moves that compile to a few loads and stores, each read within
 * [src, src + len), all reads before any write.
 */
static inline void copy_short(uint8_t *dst, const char *src, size_t len)
{
    uint64_t a, b, c, d;
    uint32_t e, f;
    if (len >= 8 && len <= 16) {
        memcpy(&a, src, 8);
        memcpy(&b, src + len - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + len - 8, &b, 8);
    } else if (len > 16 && len <= 32) {
        memcpy(&a, src, 8);
        memcpy(&b, src + 8, 8);
        memcpy(&c, src + len - 16, 8);
        memcpy(&d, src + len - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + 8, &b, 8);
        memcpy(dst + len - 16, &c, 8);
        memcpy(dst + len - 8, &d, 8);
    } else if (len >= 4 && len < 8) {
        memcpy(&e, src, 4);
        memcpy(&f, src + len - 4, 4);
        memcpy(dst, &e, 4);
        memcpy(dst + len - 4, &f, 4);
    } else if (len < 4) {
        for (size_t i = 0; i < len; i++) {
            dst[i] = (uint8_t)src[i];
        }
    } else {
        memcpy(dst, src, len);
    }
}

/* Writes one of ",:{}[]", which are the same in both forms (nothing to escape). */
static inline void put1(struct ag_json *w, char c)
{
    uint8_t *p;
    if (w->err != 0 || count(w, 1) != 0) {
        return;
    }
    if ((p = room(w->buf, 1)) != NULL) {
        *p = (uint8_t)c;
        advance(w->buf, 1);
        return;
    }
    w->err = ag_buf_add(w->buf, &c, 1);
}

/* Writes |len| bytes of JSON text (structure, numbers, literals, already-encoded JSON). */
static void put(struct ag_json *w, const char *s, size_t len)
{
    if (w->err != 0 || count(w, len) != 0) {
        return;
    }
    struct ag_buf *b = w->buf;
    uint8_t *p;
    if (!w->escaped) {
        if ((p = room(b, len)) != NULL) {
            memcpy(p, s, len);
            advance(b, len);
            return;
        }
        w->err = ag_buf_add(b, s, len);
        return;
    }
    /* JSON text escaped again: only quotes (and backslashes, in raw JSON) need a backslash. */
    if (len < SIZE_MAX / 4 && (p = room(b, 2 * len)) != NULL) {
        size_t i = 0;
        uint8_t *q = p;
        while (i < len) {
            /* Eight bytes at a time while none needs a look (numbers: all of them); after a quote
             * (raw JSON has one every few bytes) the next eight again, as escape_into() does.
             * |q| - |p| ≤ 2i and i + 8 ≤ len: the 8-byte store stays in the room. */
            if (len - i >= 8) {
                size_t k = copy8_clean((const unsigned char *)s + i, q);
                q += k;
                i += k;
                if (k == 8) {
                    continue;
                }
            }
            unsigned char c = (unsigned char)s[i];
            if (c == '"' || c == '\\') {
                *q++ = '\\';
            } else if (c < 0x20 || c >= 0x80) {
                goto slow; /* raw JSON with more to escape: nothing advanced yet */
            }
            *q++ = c;
            i++;
        }
        advance(b, (size_t)(q - p));
        return;
    }
slow:
    w->err = escape(b, s, len, 0, NULL);
}

/*
 * Copies |len| bytes already in the writer's form, counting |plain_len| plain bytes against the
 * limit.
 */
static void put_counted(struct ag_json *w, const char *s, size_t len, size_t plain_len)
{
    uint8_t *p;
    if (w->err != 0 || count(w, plain_len) != 0) {
        return;
    }
    if ((p = room(w->buf, len)) != NULL) {
        memcpy(p, s, len);
        advance(w->buf, len);
        return;
    }
    w->err = ag_buf_add(w->buf, s, len);
}

/*
 * put() of text that is the same in both forms: numbers and the literals true, false and null
 * (ASCII without '"', '\\' or control characters), so the escaped form needs no look at it.
 */
static void put_safe(struct ag_json *w, const char *s, size_t len)
{
    put_counted(w, s, len, len);
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
        put1(w, ',');
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
    put1(w, c);
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
    put1(w, c);
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

size_t ag_json_utf8_len(const unsigned char *s, size_t avail)
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

/* Bytes that a JSON string cannot hold as they are: controls, '"', '\\', and non-ASCII (checked).
 */
static const uint8_t special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when one of the 8 bytes of |v| is special[]: below 0x20, '"', '\\' or non-ASCII. */
static inline uint64_t word_special(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
    return (v | ((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/*
 * The escaping loop of escape() into |q|, which has room for 7 bytes per input byte (the
 * longest: a control character escaped twice, "\\\\u00XX"). Sixteen bytes at a time (SSE2),
 * else eight, while none needs escaping. Adds to |*plain| what once-escaping adds; returns the
 * end of the output.
 */
static uint8_t *escape_into(uint8_t *q, const unsigned char *s, size_t len, int twice,
                            size_t *plain)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    int tail_tried = 0;
    while (i < len) {
        if (len - i < 8 && len >= 8 && !tail_tried) {
            /*
             * Under 8 bytes left (most strings end so): the last 8 bytes of |s| also cover some
             * before |i|. If none of the 8 needs escaping, those earlier ones were copied as they
             * are, right before |q|, so the 8 go out in one store that rewrites them unchanged.
             */
            size_t back = 8 - (len - i);
            uint64_t v;
            memcpy(&v, s + len - 8, 8);
            if (word_special(v) == 0) {
                memcpy(q - back, &v, 8);
                return q + (len - i);
            }
            tail_tried = 1;
        }
#if defined(__SSE2__)
        if (len - i >= 16) {
            /* 16 bytes at a time: special[] as three compares (signed: below 0x20 also takes
             * every byte from 0x80), stored as they are; stop at the first special one. */
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            unsigned bits = (unsigned)_mm_movemask_epi8(m);
            _mm_storeu_si128((__m128i *)(void *)q, v);
            if (bits == 0) {
                q += 16;
                i += 16;
                continue;
            }
            size_t k = (size_t)__builtin_ctz(bits);
            q += k;
            i += k;
        } else
#endif
        if (len - i >= 8) {
            size_t k = copy8_clean(s + i, q);
            q += k;
            i += k;
            if (k == 8) {
                continue;
            }
        }
        unsigned char c = s[i];
        if (!special[c]) {
            *q++ = c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = ag_json_utf8_len(s + i, len - i);
            if (n != 0) {
                memcpy(q, s + i, n);
                q += n;
                i += n;
            } else {
                memcpy(q, "\xEF\xBF\xBD", 3); /* U+FFFD for a byte that is not UTF-8 */
                q += 3;
                *plain += 2;
                i++;
            }
            continue;
        }
        *q++ = '\\';
        if (twice) {
            *q++ = '\\';
            if (c == '"' || c == '\\') {
                *q++ = '\\';
            }
        }
        *plain += 1;
        switch (c) {
        case '"':
        case '\\':
            *q++ = c;
            break;
        case '\n':
            *q++ = 'n';
            break;
        case '\r':
            *q++ = 'r';
            break;
        case '\t':
            *q++ = 't';
            break;
        case '\b':
            *q++ = 'b';
            break;
        case '\f':
            *q++ = 'f';
            break;
        default:
            memcpy(q, "u00", 3);
            q[3] = (uint8_t)hex[c >> 4];
            q[4] = (uint8_t)hex[c & 15];
            q += 5;
            *plain += 4;
            break;
        }
        i++;
    }
    return q;
}

/*
 * JSON-escapes |len| bytes of |str| into |buf|, once, or with |twice| escaped again as
 * ag_json_escape() of the once-escaped text would be: each escape's backslash doubled, and its
 * '"' or '\\' escaped. Nothing else changes at the second level, since once-escaped text holds
 * no control character and only valid UTF-8. |plain_out| (may be NULL) gets the length of the
 * once-escaped text.
 */
static int escape(struct ag_buf *buf, const char *str, size_t len, int twice, size_t *plain_out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    size_t i = 0, plain = len;
    int rc;
    /* The usual case: room for the longest result (7 bytes per input byte) is there already. */
    uint8_t *p = len < SIZE_MAX / 8 ? room(buf, 7 * len) : NULL;
    if (p == NULL && len <= 4096 && 7 * len <= buf->cap - buf->len) {
        /* Short strings: grow once for the longest result rather than append piece by piece. */
        if ((p = ag_buf_reserve(buf, 7 * len)) == NULL) {
            return AG_ENOMEM;
        }
    }
    if (p != NULL) {
        uint8_t *q = escape_into(p, s, len, twice, &plain);
        advance(buf, (size_t)(q - p));
        if (plain_out != NULL) {
            *plain_out = plain;
        }
        return 0;
    }
    while (i < len) {
        unsigned char c = s[i];
        char tmp[8];
        size_t esc_len = 2, adv = 1;
        if (!special[c]) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = ag_json_utf8_len(s + i, len - i);
            if (n != 0) {
                i += n;
                continue;
            }
            memcpy(tmp, "\xEF\xBF\xBD", 3); /* U+FFFD for a byte that is not UTF-8 */
            esc_len = 3;
        } else {
            tmp[0] = '\\';
            switch (c) {
            case '"':
                tmp[1] = '"';
                break;
            case '\\':
                tmp[1] = '\\';
                break;
            case '\n':
                tmp[1] = 'n';
                break;
            case '\r':
                tmp[1] = 'r';
                break;
            case '\t':
                tmp[1] = 't';
                break;
            case '\b':
                tmp[1] = 'b';
                break;
            case '\f':
                tmp[1] = 'f';
                break;
            default:
                memcpy(tmp + 1, "u00", 3);
                tmp[4] = hex[c >> 4];
                tmp[5] = hex[c & 15];
                esc_len = 6;
                break;
            }
        }
        plain += esc_len - 1;
        if (i > run && (rc = ag_buf_add(buf, s + run, i - run)) != 0) {
            return rc;
        }
        if (twice && esc_len != 3) {
            /* "\\x" -> "\\\\x", and x itself escaped when it is '"' or '\\'. */
            char tw[9] = "\\\\";
            size_t n = 2;
            if (tmp[1] == '"' || tmp[1] == '\\') {
                tw[n++] = '\\';
            }
            memcpy(tw + n, tmp + 1, esc_len - 1);
            rc = ag_buf_add(buf, tw, n + esc_len - 1);
        } else {
            rc = ag_buf_add(buf, tmp, esc_len);
        }
        if (rc != 0) {
            return rc;
        }
        i += adv;
        run = i;
    }
    if (plain_out != NULL) {
        *plain_out = plain;
    }
    if (i > run) {
        return ag_buf_add(buf, s + run, i - run);
    }
    return 0;
}

int ag_json_escape(struct ag_buf *buf, const char *s, size_t len)
{
    return escape(buf, s, len, 0, NULL);
}

/* Writes a quoted, escaped string, with no separator handling. */
static void put_string(struct ag_json *w, const char *s, size_t len)
{
    size_t plain = len;
    uint8_t *p;
    /* The usual case: both quotes and the content in room the buffer has, in one go. */
    if (w->err == 0 && s != NULL && len < SIZE_MAX / 8 && (p = room(w->buf, 7 * len + 4)) != NULL) {
        uint8_t *q = p;
        if (w->escaped) {
            *q++ = '\\';
        }
        *q++ = '"';
        q = escape_into(q, (const unsigned char *)s, len, w->escaped, &plain);
        if (w->escaped) {
            *q++ = '\\';
        }
        *q++ = '"';
        advance(w->buf, (size_t)(q - p));
        (void)count(w, plain + 2);
        return;
    }
    plain = 0;
    put(w, "\"", 1);
    if (w->err == 0) {
        w->err = escape(w->buf, s ? s : "", s ? len : 0, w->escaped, &plain);
        if (w->err == 0) {
            (void)count(w, plain);
        }
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

void ag_json_keyn(struct ag_json *w, const char *key, size_t len)
{
    uint8_t *p;
    if (w->err) {
        return;
    }
    /* The usual case: [,]"key": in room the buffer has, in one go (7 bytes per key byte is the
     * longest escape, 6 for the rest: comma, two quotes with their backslashes when escaped,
     * the colon). */
    if (!w->after_key && w->depth != 0 && !(w->has_items[w->depth] & LEVEL_IS_ARRAY) &&
        key != NULL && len < SIZE_MAX / 8 && (p = room(w->buf, 7 * len + 6)) != NULL) {
        uint8_t *q = p;
        size_t plain = len + 3;
        if (w->has_items[w->depth] & LEVEL_HAS_ITEMS) {
            *q++ = ',';
            plain++;
        }
        w->has_items[w->depth] |= LEVEL_HAS_ITEMS;
        if (w->escaped) {
            *q++ = '\\';
        }
        *q++ = '"';
        q = escape_into(q, (const unsigned char *)key, len, w->escaped, &plain);
        if (w->escaped) {
            *q++ = '\\';
        }
        *q++ = '"';
        *q++ = ':';
        advance(w->buf, (size_t)(q - p));
        (void)count(w, plain);
        w->after_key = 1;
        return;
    }
    /* Keys belong in objects, one before each value. */
    if (w->after_key || w->depth == 0 || (w->has_items[w->depth] & LEVEL_IS_ARRAY)) {
        set_err(w, AG_EINVAL);
        return;
    }
    if (w->has_items[w->depth] & LEVEL_HAS_ITEMS) {
        put1(w, ',');
    }
    w->has_items[w->depth] |= LEVEL_HAS_ITEMS;
    put_string(w, key, len);
    put1(w, ':');
    w->after_key = 1;
}

void ag_json_keyn_plain(struct ag_json *w, const char *key, size_t len)
{
    uint8_t *p;
    if (w->err != 0 || w->after_key || w->depth == 0 ||
        (w->has_items[w->depth] & LEVEL_IS_ARRAY) || len > SIZE_MAX / 2 ||
        (p = room(w->buf, len + 6)) == NULL) {
        ag_json_keyn(w, key, len); /* the general way: its checks, errors and growth */
        return;
    }
    /* [,]"key": or, escaped, [,]\"key\": */
    uint8_t *q = p;
    size_t plain = len + 3;
    if (w->has_items[w->depth] & LEVEL_HAS_ITEMS) {
        *q++ = ',';
        plain++;
    }
    w->has_items[w->depth] |= LEVEL_HAS_ITEMS;
    if (w->escaped) {
        *q++ = '\\';
    }
    *q++ = '"';
    copy_short(q, key, len);
    q += len;
    if (w->escaped) {
        *q++ = '\\';
    }
    *q++ = '"';
    *q++ = ':';
    advance(w->buf, (size_t)(q - p));
    (void)count(w, plain);
    w->after_key = 1;
}

/* Decimal digits of |v| ending at |end| (exclusive); returns where they start. */
static char *utoa_end(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

void ag_json_int(struct ag_json *w, int64_t v)
{
    char tmp[24];
    if (before_value(w)) {
        return;
    }
    /* The magnitude as unsigned, so INT64_MIN needs no special case. */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = utoa_end(m, tmp + sizeof(tmp));
    if (v < 0) {
        *--p = '-';
    }
    put_safe(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void ag_json_uint(struct ag_json *w, uint64_t v)
{
    char tmp[24];
    if (before_value(w)) {
        return;
    }
    char *p = utoa_end(v, tmp + sizeof(tmp));
    put_safe(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* 10^0 .. 10^18: all exact in a double (up to 10^22 are). */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

/*
 * The text %.15g gives for |v| (finite, not an integer) when that text has at most 15
 * significant digits and reads back as |v| (then it is the shortest %.Ng form the loop below would
 * settle on), written to |out| (>= 32 bytes) without printf or strtod. Returns its length, or 0
 * when |v| has no such short form or is outside [1e-3, 1e14), where this is not tried.
 *
 * Why it is the same text: for the smallest k with m = |v| * 10^k an integer below 10^15 and
 * m / 10^k == |v| (m and 10^k are exact doubles, so the division is correctly rounded), the
 * decimal D = m / 10^k has at most 15 significant digits and |v| is its nearest double, so
 * |D - |v|| <= ulp/2 < |v| * 1.2e-16, while other 15-digit decimals lie at least |v| * 1e-15 away
 * from D: D is the 15-digit rounding of |v| that %.15g prints, in fixed notation (its exponent is
 * between -3 and 13), trailing zeros dropped, and strtod reads it back as |v|.
 */
static size_t short_fixed(double v, char *out)
{
    double a = fabs(v);
    if (!(a >= 1e-3 && a < 1e14)) {
        return 0;
    }
    for (size_t k = 1; k < sizeof(pow10_exact) / sizeof(pow10_exact[0]); k++) {
        double m = a * pow10_exact[k];
        if (m >= 1e15) {
            return 0;
        }
        if (m != trunc(m) || m / pow10_exact[k] != a) {
            continue;
        }
        char digits[24];
        char *d = utoa_end((uint64_t)m, digits + sizeof(digits));
        size_t nd = (size_t)(digits + sizeof(digits) - d);
        size_t frac = k;
        while (frac > 0 && d[nd - 1] == '0') { /* %g drops trailing zeros */
            nd--;
            frac--;
        }
        if (frac == 0) {
            return 0; /* an integer after all: not for this path (cannot happen, see above) */
        }
        size_t o = 0;
        if (v < 0) {
            out[o++] = '-';
        }
        if (nd <= frac) { /* 0.000ddd */
            out[o++] = '0';
            out[o++] = '.';
            memset(out + o, '0', frac - nd);
            o += frac - nd;
            memcpy(out + o, d, nd);
            return o + nd;
        }
        memcpy(out + o, d, nd - frac);
        o += nd - frac;
        out[o++] = '.';
        memcpy(out + o, d + nd - frac, frac);
        return o + frac;
    }
    return 0;
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
        put_safe(w, "-0.0", 4);
        return;
    }
    if (v == trunc(v) && fabs(v) < 1e15) {
        /* An integer of at most 15 digits: %.15g prints exactly its digits (no exponent below
         * 1e15, no fraction), and that reads back; write them without printf and strtod. */
        double a = fabs(v);
        char *p = utoa_end((uint64_t)a, tmp + sizeof(tmp));
        if (v < 0) {
            *--p = '-';
        }
        put_safe(w, p, (size_t)(tmp + sizeof(tmp) - p));
        return;
    }
    size_t len = short_fixed(v, tmp);
    if (len > 0) {
        put_safe(w, tmp, len);
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
    put_safe(w, tmp, (size_t)n);
}

void ag_json_bool(struct ag_json *w, int v)
{
    if (before_value(w)) {
        return;
    }
    put_safe(w, v ? "true" : "false", v ? 4 : 5);
}

void ag_json_null(struct ag_json *w)
{
    if (before_value(w)) {
        return;
    }
    put_safe(w, "null", 4);
}

/*
 * Reserves |need| bytes for encoding |len| input bytes, telling the cap (AG_ETOOBIG) from an
 * allocation failure (AG_ENOMEM) as ag_buf_add() does.
 */
static uint8_t *reserve(struct ag_json *w, size_t len, size_t need)
{
    struct ag_buf *b = w->buf;
    if (count(w, need) != 0) {
        return NULL;
    }
    if (w->escaped) {
        need += 2; /* the quotes, escaped */
    }
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

/* Writes a string's quote at |p| ('"', or '\\"' escaped) and returns the byte after it. */
static uint8_t *open_quote(const struct ag_json *w, uint8_t *p)
{
    if (w->escaped) {
        *p++ = '\\';
    }
    *p++ = '"';
    return p;
}

/* "00" "01" ... "ff": the two hex digits of every byte, one 2-byte copy per byte. */
#define HEX_ROW(h)                                                                                \
    h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex_pairs[] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2") HEX_ROW("3") HEX_ROW("4")
    HEX_ROW("5") HEX_ROW("6") HEX_ROW("7") HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b")
        HEX_ROW("c") HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");
#undef HEX_ROW

void ag_json_hex(struct ag_json *w, const uint8_t *bytes, size_t len)
{
    if (before_value(w)) {
        return;
    }
    uint8_t *p = reserve(w, len, len * 2 + 2);
    if (p == NULL) {
        return;
    }
    uint8_t *start = p;
    p = open_quote(w, p);
    for (size_t i = 0; i < len; i++) {
        memcpy(p, hex_pairs + 2 * bytes[i], 2);
        p += 2;
    }
    p = open_quote(w, p);
    ag_buf_commit(w->buf, (size_t)(p - start));
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
    uint8_t *start = p;
    p = open_quote(w, p);
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
    p = open_quote(w, p);
    ag_buf_commit(w->buf, (size_t)(p - start));
}

void ag_json_raw(struct ag_json *w, const char *json, size_t len)
{
    if (before_value(w)) {
        return;
    }
    put(w, json, len);
}

void ag_json_raw_out(struct ag_json *w, const char *text, size_t len, size_t plain_len)
{
    if (before_value(w)) {
        return;
    }
    put_counted(w, text, len, plain_len);
}

void ag_json_members_out(struct ag_json *w, const char *text, size_t len, size_t plain_len)
{
    uint8_t *p;
    if (w->err) {
        return;
    }
    /* Members belong in objects, not after a key. */
    if (w->after_key || w->depth == 0 || (w->has_items[w->depth] & LEVEL_IS_ARRAY)) {
        set_err(w, AG_EINVAL);
        return;
    }
    if (len == 0) {
        return;
    }
    if (w->has_items[w->depth] & LEVEL_HAS_ITEMS) {
        put1(w, ',');
    }
    w->has_items[w->depth] |= LEVEL_HAS_ITEMS;
    if (w->err != 0 || count(w, plain_len) != 0) {
        return;
    }
    if ((p = room(w->buf, len)) != NULL) {
        memcpy(p, text, len);
        advance(w->buf, len);
        return;
    }
    w->err = ag_buf_add(w->buf, text, len);
}

int ag_json_finish(struct ag_json *w)
{
    if (w->err) {
        return w->err;
    }
    return w->depth == 0 && !w->after_key ? 0 : AG_EINVAL;
}
