/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AWS credentials chain (specs/aws.md §3): environment, shared files, web identity (IRSA),
 * container (EKS Pod Identity, ECS) and IMDSv2, with optional STS AssumeRole on top, cached and
 * refreshed on the service's event loop with one refresh at a time. The first half of the file
 * is pure parsing (ex_aws_creds_int.h, unit-tested and fuzzed); the second half is the chain.
 * Secrets are copied as little as possible and wiped with OPENSSL_cleanse() when dropped.
 */
#include "ex_aws_creds.h"
#include "ex_aws_creds_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "ag_log.h"
#include "ag_mem.h"
#include "ag_time.h"

#define LOG_WHO "aws/creds"

/* ---- small helpers --------------------------------------------------------------------------- */

static void wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        ag_free(s);
    }
}

void ex_aws_creds_parsed_cleanup(struct ex_aws_creds_parsed *p)
{
    wipe_free(p->access_key_id);
    wipe_free(p->secret_access_key);
    wipe_free(p->session_token);
    memset(p, 0, sizeof(*p));
}

void ex_aws_creds_profile_cleanup(struct ex_aws_creds_profile *p)
{
    wipe_free(p->access_key_id);
    wipe_free(p->secret_access_key);
    wipe_free(p->session_token);
    ag_free(p->region);
    memset(p, 0, sizeof(*p));
}

/* A credential value goes into HTTP headers and signatures: printable ASCII, no space. */
static bool token_chars_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            return false;
        }
    }
    return len > 0;
}

static bool session_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("_+=,.@-", ch) != NULL;
}

/* Copies |len| bytes of |s| to |dst| (|cap| bytes) as one printable ASCII line. */
static void copy_clean(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    dst[n] = '\0';
}

static void set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    if (why == NULL || whylen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---- ISO-8601 -------------------------------------------------------------------------------- */

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return AG_EPROTO;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ex_aws_creds_parse_time(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, sec, ms = 0;
    *out = 0;
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
        return AG_EPROTO;
    }
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec)) {
        return AG_EPROTO;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60) {
        return AG_EPROTO;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) {
        return AG_EPROTO;
    }
    size_t i = 19;
    if (s[i] == '.') {
        size_t n = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++) {
            if (n < 3) {
                ms = ms * 10 + (s[i] - '0');
            }
        }
        if (n == 0 || n > 9) {
            return AG_EPROTO;
        }
        for (; n < 3; n++) {
            ms *= 10;
        }
    }
    int offset_min = 0;
    if (i + 1 == len && s[i] == 'Z') {
        offset_min = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59) {
            return AG_EPROTO;
        }
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    } else {
        return AG_EPROTO;
    }
    /* A leap second (:60) is read as the first second of the next minute. */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    secs -= (int64_t)offset_min * 60;
    *out = secs * 1000 + ms;
    return 0;
}

/* ---- STS XML --------------------------------------------------------------------------------- */

/* Appends the UTF-8 form of |cp| at |dst| (when not NULL); returns its length. */
static size_t utf8_put(uint32_t cp, char *dst)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (dst != NULL) {
        memcpy(dst, b, n);
    }
    return n;
}

/* Whether |cp| is an XML 1.0 Char. */
static bool xml_char_ok(uint32_t cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * Decodes the character data [s, s + n) into |dst| (NULL: only checks it). Decoding never grows
 * the text, so |dst| needs n + 1 bytes. Returns the decoded length, or AG_EPROTO.
 */
static long xml_decode(const char *s, size_t n, char *dst)
{
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '<') {
            return AG_EPROTO;
        }
        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') {
            return AG_EPROTO;
        }
        if (ch != '&') {
            if (dst != NULL) {
                dst[o] = (char)ch;
            }
            o++;
            i++;
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
        if (semi == NULL) {
            return AG_EPROTO;
        }
        size_t elen = (size_t)(semi - (s + i)) + 1; /* "&...;" */
        bool done = false;
        for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
            size_t nl = strlen(named[k].name);
            if (elen == nl + 1 && memcmp(s + i + 1, named[k].name, nl) == 0) {
                if (dst != NULL) {
                    dst[o] = named[k].ch;
                }
                o++;
                done = true;
                break;
            }
        }
        if (!done) {
            if (elen < 4 || s[i + 1] != '#') {
                return AG_EPROTO;
            }
            bool hex = s[i + 2] == 'x';
            size_t p = i + (hex ? 3 : 2), end = i + elen - 1;
            if (p == end || end - p > 8) {
                return AG_EPROTO;
            }
            uint32_t cp = 0;
            for (; p < end; p++) {
                char c = s[p];
                uint32_t dv;
                if (c >= '0' && c <= '9') {
                    dv = (uint32_t)(c - '0');
                } else if (hex && c >= 'a' && c <= 'f') {
                    dv = (uint32_t)(c - 'a' + 10);
                } else if (hex && c >= 'A' && c <= 'F') {
                    dv = (uint32_t)(c - 'A' + 10);
                } else {
                    return AG_EPROTO;
                }
                cp = cp * (hex ? 16 : 10) + dv;
                if (cp > 0x10ffff) {
                    return AG_EPROTO;
                }
            }
            if (!xml_char_ok(cp)) {
                return AG_EPROTO;
            }
            o += utf8_put(cp, dst != NULL ? dst + o : NULL);
        }
        i += elen;
    }
    if (dst != NULL) {
        dst[o] = '\0';
    }
    return (long)o;
}

static bool is_name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == ':' || ch == '.' || ch == '-';
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

struct xml_name {
    const char *s;
    size_t len;
};

static bool name_is(struct xml_name n, const char *lit)
{
    return n.len == strlen(lit) && memcmp(n.s, lit, n.len) == 0;
}

enum { F_AKID, F_SECRET, F_TOKEN, F_EXPIRATION, F_CODE, F_MESSAGE, F_COUNT };

/* Which field the element at the top of |st| (|depth| elements) is, or -1. */
static int xml_field(const struct xml_name *st, int depth)
{
    /* <ErrorResponse><Error>, or with an <Errors> wrapper as some query services (and moto)
     * write it. */
    if (depth == 3 && name_is(st[0], "ErrorResponse") && name_is(st[1], "Error")) {
        return name_is(st[2], "Code") ? F_CODE : name_is(st[2], "Message") ? F_MESSAGE : -1;
    }
    if (depth == 4 && name_is(st[0], "ErrorResponse") && name_is(st[1], "Errors") &&
        name_is(st[2], "Error")) {
        return name_is(st[3], "Code") ? F_CODE : name_is(st[3], "Message") ? F_MESSAGE : -1;
    }
    if (depth != 4 || !name_is(st[2], "Credentials")) {
        return -1;
    }
    /* <XResponse><XResult><Credentials><Field> */
    if (st[0].len < 8 || st[1].len != st[0].len - 2 ||
        memcmp(st[0].s + st[0].len - 8, "Response", 8) != 0 ||
        memcmp(st[1].s, st[0].s, st[1].len - 6) != 0 ||
        memcmp(st[1].s + st[1].len - 6, "Result", 6) != 0) {
        return -1;
    }
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                        "Expiration"};
    for (int i = 0; i < 4; i++) {
        if (name_is(st[3], names[i])) {
            return i;
        }
    }
    return -1;
}

/* Parses an element name at |*pp|; returns 0 or AG_EPROTO. */
static int xml_read_name(const char **pp, const char *end, struct xml_name *out)
{
    const char *p = *pp;
    while (p < end && is_name_char((unsigned char)*p)) {
        p++;
    }
    if (p == *pp) {
        return AG_EPROTO;
    }
    out->s = *pp;
    out->len = (size_t)(p - *pp);
    *pp = p;
    return 0;
}

/* Skips the attributes of an open tag up to '>' or "/>"; sets |*empty| for "/>". */
static int xml_skip_attrs(const char **pp, const char *end, bool *empty)
{
    const char *p = *pp;
    for (;;) {
        bool ws = false;
        while (p < end && is_ws(*p)) {
            p++;
            ws = true;
        }
        if (p >= end) {
            return AG_EPROTO;
        }
        if (*p == '>' || (*p == '/' && p + 1 < end && p[1] == '>')) {
            *empty = *p == '/';
            *pp = p + (*p == '/' ? 2 : 1);
            return 0;
        }
        struct xml_name an;
        if (!ws || xml_read_name(&p, end, &an) != 0) {
            return AG_EPROTO;
        }
        while (p < end && is_ws(*p)) {
            p++;
        }
        if (p >= end || *p != '=') {
            return AG_EPROTO;
        }
        p++;
        while (p < end && is_ws(*p)) {
            p++;
        }
        if (p >= end || (*p != '"' && *p != '\'')) {
            return AG_EPROTO;
        }
        const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (q == NULL || xml_decode(p + 1, (size_t)(q - p - 1), NULL) < 0) {
            return AG_EPROTO;
        }
        p = q + 1;
    }
}

static const char *find_str(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (; p + n <= end; p++) {
        if (memcmp(p, lit, n) == 0) {
            return p;
        }
    }
    return NULL;
}

static bool starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

int ex_aws_creds_parse_sts_xml(const char *xml, size_t len, struct ex_aws_creds_parsed *out,
                               struct ex_aws_error *err)
{
    struct xml_name st[EX_AWS_CREDS_MAX_XML_DEPTH];
    char *f[F_COUNT] = {0};
    int depth = 0, capture = -1, rc = AG_EPROTO;
    bool root_done = false;
    const char *text = NULL;

    memset(out, 0, sizeof(*out));
    err->code[0] = '\0';
    err->message[0] = '\0';
    if (len > EX_AWS_CREDS_MAX_DOC) {
        return AG_ETOOBIG;
    }
    const char *p = xml, *end = xml + len;
    while (p < end && is_ws(*p)) {
        p++;
    }
    if (starts(p, end, "<?xml")) {
        const char *q = find_str(p, end, "?>");
        if (q == NULL) {
            goto out;
        }
        p = q + 2;
    }
    while (p < end) {
        if (*p != '<') {
            const char *q = memchr(p, '<', (size_t)(end - p));
            if (q == NULL) {
                q = end;
            }
            if (depth == 0) {
                for (; p < q; p++) {
                    if (!is_ws(*p)) {
                        goto out;
                    }
                }
            } else if (capture < 0 && xml_decode(p, (size_t)(q - p), NULL) < 0) {
                goto out;
            }
            p = q;
            continue;
        }
        if (starts(p, end, "<!--")) {
            const char *q = find_str(p + 4, end, "-->");
            if (q == NULL || capture >= 0) {
                goto out;
            }
            p = q + 3;
            continue;
        }
        if (starts(p, end, "<!") || starts(p, end, "<?")) {
            goto out; /* DTDs, CDATA and processing instructions: not in STS answers */
        }
        if (starts(p, end, "</")) {
            const char *tag = p;
            struct xml_name n;
            p += 2;
            if (xml_read_name(&p, end, &n) != 0) {
                goto out;
            }
            while (p < end && is_ws(*p)) {
                p++;
            }
            if (p >= end || *p != '>' || depth == 0 || n.len != st[depth - 1].len ||
                memcmp(n.s, st[depth - 1].s, n.len) != 0) {
                goto out;
            }
            p++;
            if (capture >= 0) {
                if (f[capture] != NULL) {
                    goto out; /* the same element twice */
                }
                size_t tl = (size_t)(tag - text);
                f[capture] = ag_calloc(1, tl + 1); /* terminated even if decoding stops */
                if (f[capture] == NULL) {
                    rc = AG_ENOMEM;
                    goto out;
                }
                if (xml_decode(text, tl, f[capture]) < 0) {
                    goto out;
                }
                capture = -1;
            }
            depth--;
            root_done = depth == 0;
            continue;
        }
        /* An open tag. */
        struct xml_name n;
        bool empty = false;
        p++;
        if (root_done || capture >= 0 || depth == EX_AWS_CREDS_MAX_XML_DEPTH ||
            xml_read_name(&p, end, &n) != 0 || xml_skip_attrs(&p, end, &empty) != 0) {
            goto out;
        }
        if (depth == 0 && !name_is(n, "AssumeRoleWithWebIdentityResponse") &&
            !name_is(n, "AssumeRoleResponse") && !name_is(n, "ErrorResponse")) {
            goto out;
        }
        st[depth++] = n;
        int field = xml_field(st, depth);
        if (empty) {
            if (field >= 0) {
                if (f[field] != NULL || (f[field] = ag_strdup("")) == NULL) {
                    rc = f[field] != NULL ? AG_EPROTO : AG_ENOMEM;
                    goto out;
                }
            }
            depth--;
            root_done = depth == 0;
        } else if (field >= 0) {
            capture = field;
            text = p;
        }
    }
    if (depth != 0 || !root_done) {
        goto out;
    }
    if (name_is(st[0], "ErrorResponse")) {
        if (f[F_CODE] != NULL) {
            copy_clean(err->code, sizeof(err->code), f[F_CODE], strlen(f[F_CODE]));
        }
        if (f[F_MESSAGE] != NULL) {
            copy_clean(err->message, sizeof(err->message), f[F_MESSAGE], strlen(f[F_MESSAGE]));
        }
        rc = AG_EUPSTREAM;
        goto out;
    }
    for (int i = F_AKID; i <= F_EXPIRATION; i++) {
        if (f[i] == NULL || !token_chars_ok(f[i], strlen(f[i]))) {
            goto out;
        }
    }
    if (ex_aws_creds_parse_time(f[F_EXPIRATION], strlen(f[F_EXPIRATION]), &out->expiration_ms)) {
        goto out;
    }
    out->access_key_id = f[F_AKID];
    out->secret_access_key = f[F_SECRET];
    out->session_token = f[F_TOKEN];
    f[F_AKID] = f[F_SECRET] = f[F_TOKEN] = NULL;
    rc = 0;
out:
    for (int i = 0; i < F_COUNT; i++) {
        wipe_free(f[i]);
    }
    if (rc != 0) {
        out->expiration_ms = 0;
    }
    return rc;
}

/* ---- container / IMDS JSON ------------------------------------------------------------------- */

/* Copies the string member |key| of |obj| to |*dst|; a missing member is 0 when |optional|. */
static int json_take(json_t *obj, const char *key, bool optional, char **dst, char *why,
                     size_t whylen)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL && optional) {
        return 0;
    }
    if (!json_is_string(v) || !token_chars_ok(json_string_value(v), json_string_length(v))) {
        set_why(why, whylen, "credentials document: %s missing or not a valid string", key);
        return AG_EPROTO;
    }
    *dst = ag_strndup(json_string_value(v), json_string_length(v));
    return *dst != NULL ? 0 : AG_ENOMEM;
}

int ex_aws_creds_parse_json(const char *body, size_t len, enum ex_aws_creds_json_kind kind,
                            struct ex_aws_creds_parsed *out, char *why, size_t whylen)
{
    json_t *root = NULL;
    json_error_t jerr;
    int rc = AG_EPROTO;

    memset(out, 0, sizeof(*out));
    if (len > EX_AWS_CREDS_MAX_DOC) {
        set_why(why, whylen, "credentials document over %u bytes", EX_AWS_CREDS_MAX_DOC);
        return AG_ETOOBIG;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        set_why(why, whylen, "credentials document is not a JSON object");
        goto out;
    }
    if (kind == EX_AWS_CREDS_JSON_IMDS) {
        json_t *code = json_object_get(root, "Code");
        if (code != NULL &&
            (!json_is_string(code) || strcmp(json_string_value(code), "Success") != 0)) {
            char c[64] = "?";
            if (json_is_string(code)) {
                copy_clean(c, sizeof(c), json_string_value(code), json_string_length(code));
            }
            set_why(why, whylen, "IMDS credentials Code is %s", c);
            rc = AG_EUPSTREAM;
            goto out;
        }
    }
    if ((rc = json_take(root, "AccessKeyId", false, &out->access_key_id, why, whylen)) != 0 ||
        (rc = json_take(root, "SecretAccessKey", false, &out->secret_access_key, why, whylen)) !=
            0 ||
        (rc = json_take(root, "Token", kind == EX_AWS_CREDS_JSON_CONTAINER, &out->session_token,
                        why, whylen)) != 0) {
        goto out;
    }
    json_t *exp = json_object_get(root, "Expiration");
    rc = AG_EPROTO;
    if (!json_is_string(exp) ||
        ex_aws_creds_parse_time(json_string_value(exp), json_string_length(exp),
                                &out->expiration_ms) != 0) {
        set_why(why, whylen, "credentials document: Expiration missing or not ISO-8601");
        goto out;
    }
    rc = 0;
out:
    if (rc == AG_ENOMEM) {
        set_why(why, whylen, "out of memory");
    }
    if (rc != 0) {
        ex_aws_creds_parsed_cleanup(out);
    }
    json_decref(root);
    return rc;
}

/* ---- shared files (INI) ---------------------------------------------------------------------- */

static const char *const unsupported_keys[] = {
    "role_arn",           "source_profile",          "credential_source",
    "credential_process", "web_identity_token_file",
};

static bool key_unsupported(const char *k, size_t n)
{
    if (n > 4 && strncasecmp(k, "sso_", 4) == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof(unsupported_keys) / sizeof(unsupported_keys[0]); i++) {
        if (strlen(unsupported_keys[i]) == n && strncasecmp(k, unsupported_keys[i], n) == 0) {
            return true;
        }
    }
    return false;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ws(**s)) {
        (*s)++;
    }
    while (*e > *s && is_ws((*e)[-1])) {
        (*e)--;
    }
}

/* Whether the section header text [s, e) (between the brackets, trimmed) selects |profile|. */
static bool section_matches(const char *s, const char *e, bool config, const char *profile)
{
    size_t n = (size_t)(e - s), pl = strlen(profile);
    if (config && n > 8 && memcmp(s, "profile", 7) == 0 && is_ws(s[7])) {
        s += 8;
        trim(&s, &e);
        n = (size_t)(e - s);
    } else if (config && !(n == 7 && memcmp(s, "default", 7) == 0)) {
        return false; /* in config, other profiles are "[profile name]" */
    }
    return n == pl && memcmp(s, profile, n) == 0;
}

int ex_aws_creds_ini_parse(const char *text, size_t len, bool config, const char *file,
                           const char *profile, struct ex_aws_creds_profile *out, char *why,
                           size_t whylen)
{
    bool in = false, after_key = false;
    unsigned line = 0;

    if (len > EX_AWS_CREDS_MAX_INI) {
        set_why(why, whylen, "%s: over %u bytes", file, EX_AWS_CREDS_MAX_INI);
        return AG_ETOOBIG;
    }
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *ls = p, *le = nl != NULL ? nl : end;
        p = nl != NULL ? nl + 1 : end;
        line++;
        bool indented = ls < le && (*ls == ' ' || *ls == '\t');
        trim(&ls, &le);
        if (ls == le || *ls == '#' || *ls == ';') {
            continue;
        }
        if (indented && after_key) {
            continue; /* a nested value ("s3 =\n  max_concurrent_requests = 2"): ignored */
        }
        if (*ls == '[') {
            if (le[-1] != ']') {
                set_why(why, whylen, "%s:%u: section header without ']'", file, line);
                return AG_EINVAL;
            }
            const char *ss = ls + 1, *se = le - 1;
            trim(&ss, &se);
            in = section_matches(ss, se, config, profile);
            out->found |= in;
            after_key = false;
            continue;
        }
        const char *eq = memchr(ls, '=', (size_t)(le - ls));
        if (eq == NULL || eq == ls) {
            set_why(why, whylen, "%s:%u: expected 'key = value'", file, line);
            return AG_EINVAL;
        }
        after_key = true;
        if (!in) {
            continue;
        }
        const char *ks = ls, *ke = eq, *vs = eq + 1, *ve = le;
        trim(&ks, &ke);
        trim(&vs, &ve);
        size_t kl = (size_t)(ke - ks);
        if (key_unsupported(ks, kl)) {
            if (out->unsupported[0] == '\0') {
                copy_clean(out->unsupported, sizeof(out->unsupported), ks, kl);
                copy_clean(out->unsupported_file, sizeof(out->unsupported_file), file,
                           strlen(file));
            }
            continue;
        }
        static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                           "aws_session_token", "region"};
        char **dst[] = {&out->access_key_id, &out->secret_access_key, &out->session_token,
                        &out->region};
        for (size_t k = 0; k < 4; k++) {
            if (strlen(keys[k]) != kl || strncasecmp(ks, keys[k], kl) != 0) {
                continue;
            }
            if (*dst[k] == NULL) {
                if ((*dst[k] = ag_strndup(vs, (size_t)(ve - vs))) == NULL) {
                    set_why(why, whylen, "out of memory");
                    return AG_ENOMEM;
                }
            }
            break;
        }
    }
    return 0;
}

/* ---- session names and container URLs -------------------------------------------------------- */

void ex_aws_creds_session_name(const char *host, int64_t epoch_s, char *out, size_t cap)
{
    char tail[32];
    int tl = snprintf(tail, sizeof(tail), "%lld", (long long)epoch_s);
    size_t room = EX_AWS_CREDS_SESSION_MAX - strlen("otterd-") - (size_t)tl - 1;
    size_t hl = host != NULL ? strlen(host) : 0;
    if (hl > room) {
        hl = room;
    }
    if (cap < EX_AWS_CREDS_SESSION_MAX + 1) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return;
    }
    size_t o = 0;
    memcpy(out, "otterd-", 7);
    o = 7;
    for (size_t i = 0; i < hl; i++) {
        out[o++] = session_char((unsigned char)host[i]) ? host[i] : '-';
    }
    if (hl > 0) {
        out[o++] = '-';
    }
    memcpy(out + o, tail, (size_t)tl + 1);
}

bool ex_aws_creds_session_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 2 || n > EX_AWS_CREDS_SESSION_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!session_char((unsigned char)name[i])) {
            return false;
        }
    }
    return true;
}

/*
 * Splits an http(s) URL: |*https|, the authority [host_s, host_e) (port included) and the path
 * start. Returns false for another scheme, user info or an empty host.
 */
static bool url_split(const char *url, bool *https, const char **auth_s, const char **auth_e,
                      const char **path)
{
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        p = url + 7;
    } else {
        return false;
    }
    size_t n = strcspn(p, "/?#");
    if (n == 0 || memchr(p, '@', n) != NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f) {
            return false;
        }
    }
    *auth_s = p;
    *auth_e = p + n;
    *path = p + n;
    return true;
}

/* The host of the authority [s, e), without brackets or port, into |out|. */
static bool url_host(const char *s, const char *e, char *out, size_t cap)
{
    const char *hs = s, *he;
    if (*s == '[') {
        const char *rb = memchr(s, ']', (size_t)(e - s));
        if (rb == NULL || (rb + 1 != e && rb[1] != ':')) {
            return false;
        }
        hs = s + 1;
        he = rb;
    } else {
        const char *colon = memchr(s, ':', (size_t)(e - s));
        he = colon != NULL ? colon : e;
    }
    size_t n = (size_t)(he - hs);
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(out, hs, n);
    out[n] = '\0';
    return true;
}

bool ex_aws_creds_container_url_allowed(const char *url)
{
    bool https;
    const char *as, *ae, *path;
    char host[256];
    if (url == NULL || !url_split(url, &https, &as, &ae, &path) ||
        !url_host(as, ae, host, sizeof(host))) {
        return false;
    }
    if (https) {
        return true;
    }
    if (strcasecmp(host, "localhost") == 0) {
        return true;
    }
    unsigned char a4[4], a6[16];
    if (inet_pton(AF_INET, host, a4) == 1) {
        return a4[0] == 127 ||
               (a4[0] == 169 && a4[1] == 254 && a4[2] == 170 && (a4[3] == 2 || a4[3] == 23));
    }
    if (*as == '[' && inet_pton(AF_INET6, host, a6) == 1) {
        static const unsigned char lo[16] = {[15] = 1};
        static const unsigned char pod[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};
        return memcmp(a6, lo, 16) == 0 || memcmp(a6, pod, 16) == 0;
    }
    return false;
}

/* ---- the chain ------------------------------------------------------------------------------- */

enum provider { P_NONE, P_ENV, P_PROFILE, P_WEB, P_CONTAINER, P_IMDS };

static const char *const provider_names[] = {"none",         "environment", "profile",
                                             "web-identity", "container",   "imds"};

#define STS_TIMEOUT_MS       10000u
#define CONTAINER_TIMEOUT_MS 2000u
#define IMDS_TIMEOUT_MS      1000u
#define FETCH_ATTEMPTS       3
#define FETCH_RETRY_DELAY_MS 1000
#define FAILED_RETRY_MS      (60 * 1000) /* a failed background refresh is tried again */
#define MIN_TIMER_MS         (10 * 1000) /* background refreshes never run closer than this */
#define MAX_TOKEN_FILE       (64u * 1024u)
#define IMDS_DEFAULT         "http://169.254.169.254"
#define ECS_BASE             "http://169.254.170.2"

struct ticket;
typedef void step_fn(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *resp);

/*
 * One HTTP request in flight. The HTTP client outlives the chain and has no per-request cancel,
 * so its callback gets this ticket rather than the chain: freeing the chain orphans the ticket
 * (c = NULL) and the callback then only frees it.
 */
struct ticket {
    struct ex_aws_creds *c;
    void *ctx;
    step_fn *step;
    struct ticket **slot; /* the owner's pointer to this ticket, cleared when it completes */
    uint8_t *body;        /* the request body (may hold a token): wiped */
    size_t body_len;
};

struct waiter {
    struct waiter *next;
    ex_aws_creds_fn *fn;
    void *arg;
};

struct region_req {
    struct region_req *next;
    struct ex_aws_creds *c;
    ex_aws_region_fn *fn;
    void *arg;
    struct ticket *ticket;
    struct event *ev; /* delivers an immediate failure from the loop */
    char *token;      /* the IMDS session token */
};

struct ex_aws_creds {
    struct event_base *base;
    struct ex_aws_http *http;
    enum provider kind;
    int64_t (*now_ms)(void);

    char *region;     /* "" when none was found */
    char *sts_region; /* region, else us-east-1 */
    char *sts_url;    /* STS endpoint with a path */
    char *sts_host;   /* its Host header */
    char *profile, *creds_file, *config_file;
    char *web_role_arn, *web_token_file, *web_session;
    char *container_url, *container_token_file, *container_token;
    char *imds_base;
    char *role_arn, *external_id, *session_name;
    bool no_verify_ssl;
    char *proxy;
    struct ex_aws_creds_parsed env;

    /* the cache */
    struct ex_aws_creds_parsed cache;
    bool have_cache;
    bool stale; /* invalidated: the next get refreshes */
    const char *cache_provider;
    int64_t last_forced_ms;
    bool forced_once;

    /* the refresh in flight */
    bool refreshing;
    int attempt;
    struct ticket *ticket;
    struct event *kick;  /* starts (or retries) a fetch from the loop */
    struct event *timer; /* background refresh */
    char *imds_token;
    bool imds_unavailable;
    struct waiter *waiters, *delivering;
    int depth;  /* callbacks running */
    bool dying; /* freed from inside a callback */
    char why[384];

    struct region_req *regions;
    uint64_t refreshes, failures;
};

static int64_t real_now_ms(void)
{
    return (int64_t)(ag_time_now_ns() / 1000000u);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? ag_strdup(s) : NULL;
}

/* An environment variable, or NULL when unset or empty. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Reads a whole small file into one exact allocation (no realloc, so no stray copy of a secret is
 * left in freed memory). Returns 0, AG_ENOTFOUND (no such file), AG_ETOOBIG, AG_EIO, AG_ENOMEM.
 */
static int read_file(const char *path, size_t cap, char **out, size_t *len)
{
    int rc = 0;
    char *buf = NULL;
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? AG_ENOTFOUND : AG_EIO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = AG_EIO;
        goto out;
    }
    if ((uint64_t)sb.st_size > cap) {
        rc = AG_ETOOBIG;
        goto out;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    if ((buf = ag_malloc(size + 1)) == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = AG_EIO;
            goto out;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, size);
        ag_free(buf);
    }
    close(fd);
    return rc;
}

static void wipe_free_n(char *s, size_t n)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, n);
        ag_free(s);
    }
}

/*
 * Loads profile |name| from the two shared files (either may be missing). Returns 0 with |*out|
 * filled, or an error with |why| set.
 */
static int load_profile(const char *creds_file, const char *config_file, const char *name,
                        struct ex_aws_creds_profile *out, char *why, size_t whylen)
{
    const char *files[2] = {creds_file, config_file};
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 2; i++) {
        char *text = NULL;
        size_t len = 0;
        if (files[i] == NULL) {
            continue;
        }
        int rc = read_file(files[i], EX_AWS_CREDS_MAX_INI, &text, &len);
        if (rc == AG_ENOTFOUND) {
            continue;
        }
        if (rc == 0) {
            rc = ex_aws_creds_ini_parse(text, len, i == 1, files[i], name, out, why, whylen);
        } else {
            set_why(why, whylen, "%s: %s", files[i], ag_strerror(rc));
            rc = rc == AG_ENOMEM ? rc : AG_EINVAL;
        }
        wipe_free_n(text, len);
        if (rc != 0) {
            ex_aws_creds_profile_cleanup(out);
            return rc;
        }
    }
    return 0;
}

/* Turns a loaded profile into credentials, or says why it cannot. */
static int profile_creds(const struct ex_aws_creds_profile *pr, const char *name,
                         struct ex_aws_creds_parsed *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (pr->unsupported[0] != '\0') {
        set_why(why, whylen,
                "%s: profile '%s' sets '%s', which Otter does not support (use static keys, "
                "or the role_arn option)",
                pr->unsupported_file, name, pr->unsupported);
        return AG_EINVAL;
    }
    if (pr->access_key_id == NULL && pr->secret_access_key == NULL) {
        set_why(why, whylen, "profile '%s' has no aws_access_key_id / aws_secret_access_key", name);
        return pr->found ? AG_EINVAL : AG_ENOTFOUND;
    }
    if (pr->access_key_id == NULL || pr->secret_access_key == NULL ||
        !token_chars_ok(pr->access_key_id, strlen(pr->access_key_id)) ||
        !token_chars_ok(pr->secret_access_key, strlen(pr->secret_access_key)) ||
        (pr->session_token != NULL && pr->session_token[0] != '\0' &&
         !token_chars_ok(pr->session_token, strlen(pr->session_token)))) {
        set_why(why, whylen,
                "profile '%s': aws_access_key_id and aws_secret_access_key must both be set, "
                "without spaces",
                name);
        return AG_EINVAL;
    }
    out->access_key_id = ag_strdup(pr->access_key_id);
    out->secret_access_key = ag_strdup(pr->secret_access_key);
    if (pr->session_token != NULL && pr->session_token[0] != '\0') {
        out->session_token = ag_strdup(pr->session_token);
    }
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        (pr->session_token != NULL && pr->session_token[0] != '\0' && out->session_token == NULL)) {
        ex_aws_creds_parsed_cleanup(out);
        set_why(why, whylen, "out of memory");
        return AG_ENOMEM;
    }
    return 0;
}

static int parsed_copy(const struct ex_aws_creds_parsed *src, struct ex_aws_creds_parsed *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->access_key_id = ag_strdup(src->access_key_id);
    dst->secret_access_key = ag_strdup(src->secret_access_key);
    dst->session_token = dup_or_null(src->session_token);
    dst->expiration_ms = src->expiration_ms;
    if (dst->access_key_id == NULL || dst->secret_access_key == NULL ||
        (src->session_token != NULL && dst->session_token == NULL)) {
        ex_aws_creds_parsed_cleanup(dst);
        return AG_ENOMEM;
    }
    return 0;
}

/* ---- form bodies ----------------------------------------------------------------------------- */

static bool unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

/*
 * Writes "k1=v1&k2=v2..." (|n| pairs, values percent-encoded, NULL values skipped) into |dst|
 * when not NULL; returns the length. Run twice (measure, write) so the body, which may hold a
 * token, is allocated once and never reallocated.
 */
static size_t form_write(const char *const *kv, size_t n, char *dst)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[2 * i], *v = kv[2 * i + 1];
        if (v == NULL) {
            continue;
        }
        if (o > 0) {
            if (dst != NULL) {
                dst[o] = '&';
            }
            o++;
        }
        size_t kl = strlen(k);
        if (dst != NULL) {
            memcpy(dst + o, k, kl);
            dst[o + kl] = '=';
        }
        o += kl + 1;
        for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
            if (unreserved(*p)) {
                if (dst != NULL) {
                    dst[o] = (char)*p;
                }
                o++;
            } else {
                if (dst != NULL) {
                    dst[o] = '%';
                    dst[o + 1] = hex[*p >> 4];
                    dst[o + 2] = hex[*p & 15];
                }
                o += 3;
            }
        }
    }
    if (dst != NULL) {
        dst[o] = '\0';
    }
    return o;
}

static char *form_new(const char *const *kv, size_t n, size_t *len)
{
    *len = form_write(kv, n, NULL);
    char *body = ag_malloc(*len + 1);
    if (body != NULL) {
        form_write(kv, n, body);
    }
    return body;
}

/* ---- requests -------------------------------------------------------------------------------- */

static void on_http_done(void *arg, const struct ex_aws_http_response *resp)
{
    struct ticket *t = arg;
    if (t->c != NULL && t->slot != NULL) {
        *t->slot = NULL;
    }
    wipe_free_n((char *)t->body, t->body_len);
    t->body = NULL;
    if (t->c != NULL) {
        t->step(t->c, t->ctx, resp);
    }
    ag_free(t);
}

/* Sends one request; takes ownership of |body| (wiped once sent). Returns 0 or a code. */
static int send_req(struct ex_aws_creds *c, struct ticket **slot, void *ctx, step_fn *step,
                    const char *method, const char *url, const struct ex_aws_header *h, size_t nh,
                    char *body, size_t body_len, uint64_t timeout_ms)
{
    struct ticket *t = ag_calloc(1, sizeof(*t));
    if (t == NULL) {
        wipe_free_n(body, body_len);
        return AG_ENOMEM;
    }
    t->c = c;
    t->ctx = ctx;
    t->step = step;
    t->slot = slot;
    t->body = (uint8_t *)body;
    t->body_len = body_len;
    struct ex_aws_http_request req = {
        .method = method,
        .url = url,
        .headers = h,
        .n_headers = nh,
        .body = t->body,
        .body_len = body_len,
        .connect_timeout_ms = timeout_ms < EX_AWS_HTTP_CONNECT_TIMEOUT_MS ? timeout_ms : 0,
        .timeout_ms = timeout_ms,
        .no_verify_ssl = c->no_verify_ssl,
        /* Only STS goes through the proxy: IMDS and the container agent are link-local or
         * loopback endpoints, reached directly as the SDKs do. */
        .proxy = url == c->sts_url ? c->proxy : NULL,
        .max_response = EX_AWS_CREDS_MAX_DOC,
    };
    int rc = ex_aws_http_send(c->http, &req, on_http_done, t);
    if (rc != 0) {
        wipe_free_n(body, body_len);
        ag_free(t);
        return rc;
    }
    *slot = t;
    return 0;
}

/* Words for a failed HTTP exchange: transport error, or status with the parsed AWS error. */
static int http_failure(const struct ex_aws_http_response *resp, const char *what, char *why,
                        size_t whylen)
{
    if (resp->rc != 0) {
        set_why(why, whylen, "%s: %s (%s)", what, ag_strerror(resp->rc),
                resp->transport_error != NULL ? resp->transport_error : "");
        return resp->rc == AG_ETOOBIG ? AG_EPROTO : resp->rc;
    }
    set_why(why, whylen, "%s: HTTP %d", what, resp->status);
    return AG_EUPSTREAM;
}

/* ---- delivery -------------------------------------------------------------------------------- */

static void really_free(struct ex_aws_creds *c);

static bool cache_usable(const struct ex_aws_creds *c, int64_t now)
{
    return c->have_cache && !c->stale &&
           (c->cache.expiration_ms == 0 ||
            now < c->cache.expiration_ms - EX_AWS_CREDS_MANDATORY_BEFORE_MS);
}

static void fill_value(const struct ex_aws_creds *c, struct ex_aws_creds_value *v)
{
    v->creds.access_key_id = c->cache.access_key_id;
    v->creds.secret_access_key = c->cache.secret_access_key;
    v->creds.session_token = c->cache.session_token;
    v->expiration_ms = c->cache.expiration_ms;
    v->provider = c->cache_provider;
}

/* Runs every waiter with the outcome; a callback may get, cancel, invalidate or free. */
static void deliver(struct ex_aws_creds *c, int rc, const char *why)
{
    struct ex_aws_creds_value v;
    char msg[sizeof(c->why)];
    snprintf(msg, sizeof(msg), "%s", why);
    fill_value(c, &v);
    c->delivering = c->waiters;
    c->waiters = NULL;
    c->depth++;
    while (c->delivering != NULL && !c->dying) {
        struct waiter *w = c->delivering;
        c->delivering = w->next;
        ex_aws_creds_fn *fn = w->fn;
        void *arg = w->arg;
        ag_free(w);
        fn(arg, rc, rc == 0 ? &v : NULL, rc == 0 ? "" : msg);
    }
    c->depth--;
    if (c->dying && c->depth == 0) {
        really_free(c);
    }
}

static void schedule_timer(struct ex_aws_creds *c, int64_t delay_ms)
{
    if (delay_ms < MIN_TIMER_MS) {
        delay_ms = MIN_TIMER_MS;
    }
    struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1000),
                         .tv_usec = (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* The end of a refresh: installs the result (taking ownership of |got|) and runs the waiters. */
static void finish(struct ex_aws_creds *c, int rc, struct ex_aws_creds_parsed *got,
                   const char *provider, const char *why)
{
    int64_t now = c->now_ms();
    c->refreshing = false;
    wipe_free(c->imds_token);
    c->imds_token = NULL;
    if (rc == 0 && got->expiration_ms != 0 && got->expiration_ms <= now) {
        rc = AG_EUPSTREAM;
        why = "the credentials provider handed out expired credentials";
    }
    if (rc == 0) {
        ex_aws_creds_parsed_cleanup(&c->cache);
        c->cache = *got;
        memset(got, 0, sizeof(*got));
        c->have_cache = true;
        c->stale = false;
        c->cache_provider = provider;
        c->refreshes++;
        evtimer_del(c->timer);
        if (c->cache.expiration_ms != 0) {
            /* From T-15 min, but never so late that the cache stops being served first. */
            int64_t exp = c->cache.expiration_ms;
            int64_t at = exp - EX_AWS_CREDS_REFRESH_BEFORE_MS - now;
            int64_t last = exp - EX_AWS_CREDS_MANDATORY_BEFORE_MS - now;
            schedule_timer(c, at > 0 ? at : (last < FAILED_RETRY_MS ? last : FAILED_RETRY_MS));
        }
    } else {
        if (got != NULL) {
            ex_aws_creds_parsed_cleanup(got);
        }
        c->failures++;
        ag_log_warn(LOG_WHO, "credentials from %s: %s", provider_names[c->kind], why);
        if (cache_usable(c, now) && c->cache.expiration_ms != 0) {
            schedule_timer(c, FAILED_RETRY_MS);
        }
    }
    deliver(c, rc, why);
}

static void fail(struct ex_aws_creds *c, int rc)
{
    finish(c, rc, NULL, NULL, c->why);
}

/* ---- AssumeRole on top ----------------------------------------------------------------------- */

/*
 * Reads an STS answer of |action|: 0 with |*got| filled, or a code with c->why set (the AWS error
 * code, when there is one, in |*e|).
 */
static int sts_answer(struct ex_aws_creds *c, const char *action,
                      const struct ex_aws_http_response *r, struct ex_aws_creds_parsed *got,
                      struct ex_aws_error *e)
{
    memset(got, 0, sizeof(*got));
    e->code[0] = e->message[0] = '\0';
    if (r->rc != 0) {
        return http_failure(r, action, c->why, sizeof(c->why));
    }
    int rc = ex_aws_creds_parse_sts_xml((const char *)r->body, r->body_len, got, e);
    if (rc == 0 && r->status == 200) {
        return 0;
    }
    ex_aws_creds_parsed_cleanup(got);
    if (rc == AG_ENOMEM) {
        set_why(c->why, sizeof(c->why), "%s: out of memory", action);
        return AG_ENOMEM;
    }
    if (r->status == 200 && rc != AG_EUPSTREAM) {
        set_why(c->why, sizeof(c->why), "%s: HTTP 200 with an answer that could not be read",
                action);
        return AG_EPROTO;
    }
    set_why(c->why, sizeof(c->why), "%s: HTTP %d %s%s%s", action, r->status,
            e->code[0] ? e->code : "error", e->message[0] ? ": " : "", e->message);
    return AG_EUPSTREAM;
}

static void on_assume_role(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    (void)ctx;
    struct ex_aws_creds_parsed got;
    struct ex_aws_error e;
    int rc = sts_answer(c, "STS AssumeRole", r, &got, &e);
    if (rc != 0) {
        fail(c, rc);
        return;
    }
    finish(c, 0, &got, "assume-role", "");
}

static void amz_date(int64_t now_ms, char out[EX_AWS_SIGV4_DATE_LEN + 1])
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, EX_AWS_SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* Signs and sends AssumeRole with |base| (wiped here). */
static void assume_role(struct ex_aws_creds *c, struct ex_aws_creds_parsed *base)
{
    const char *kv[] = {"Action",     "AssumeRole",  "Version",         "2011-06-15",
                        "RoleArn",    c->role_arn,   "RoleSessionName", c->session_name,
                        "ExternalId", c->external_id};
    struct ex_aws_sigv4_result sig = {0};
    size_t len;
    char *body = form_new(kv, 5, &len);
    char date[EX_AWS_SIGV4_DATE_LEN + 1];
    int rc = AG_ENOMEM;
    if (body == NULL) {
        set_why(c->why, sizeof(c->why), "out of memory");
        goto out;
    }
    amz_date(c->now_ms(), date);
    const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
    struct ex_aws_header h[3 + EX_AWS_SIGV4_MAX_ADDED] = {{"Host", c->sts_host},
                                                          {"Content-Type", ctype}};
    struct ex_aws_credentials cr = {base->access_key_id, base->secret_access_key,
                                    base->session_token};
    struct ex_aws_sigv4_request sr = {
        .method = "POST",
        .path = "/",
        .headers = h,
        .n_headers = 2,
        .payload = (const uint8_t *)body,
        .payload_len = len,
        .service = "sts",
        .region = c->sts_region,
        .amz_date = date,
    };
    if ((rc = ex_aws_sigv4_sign(NULL, &cr, &sr, &sig)) != 0) {
        set_why(c->why, sizeof(c->why), "signing STS AssumeRole: %s", ag_strerror(rc));
        wipe_free_n(body, len);
        goto out;
    }
    size_t nh = 2;
    for (size_t i = 0; i < sig.n_added; i++) {
        h[nh++] = (struct ex_aws_header){sig.added[i].name, sig.added[i].value};
    }
    h[nh++] = (struct ex_aws_header){"Authorization", sig.authorization};
    rc = send_req(c, &c->ticket, NULL, on_assume_role, "POST", c->sts_url, h, nh, body, len,
                  STS_TIMEOUT_MS);
    if (rc != 0) {
        set_why(c->why, sizeof(c->why), "STS AssumeRole: %s", ag_strerror(rc));
    }
out:
    ex_aws_sigv4_result_cleanup(&sig);
    ex_aws_creds_parsed_cleanup(base);
    if (rc != 0) {
        fail(c, rc);
    }
}

/* The base provider has answered: hand out, or assume the role with what it gave. */
static void base_done(struct ex_aws_creds *c, int rc, struct ex_aws_creds_parsed *got)
{
    if (rc != 0) {
        finish(c, rc, got, NULL, c->why);
    } else if (c->role_arn != NULL) {
        assume_role(c, got);
    } else {
        finish(c, 0, got, provider_names[c->kind], "");
    }
}

/* Whether a failed fetch is worth another attempt, which is then scheduled. */
static bool retry_later(struct ex_aws_creds *c, const struct ex_aws_http_response *r,
                        const char *code)
{
    bool transient =
        r->rc == AG_ETIMEDOUT || r->rc == AG_EIO || r->status >= 500 || r->status == 429 ||
        (code != NULL &&
         (strcmp(code, "IDPCommunicationError") == 0 || strcmp(code, "Throttling") == 0));
    if (!transient || ++c->attempt >= FETCH_ATTEMPTS) {
        return false;
    }
    struct timeval tv = {.tv_sec = FETCH_RETRY_DELAY_MS / 1000,
                         .tv_usec = (FETCH_RETRY_DELAY_MS % 1000) * 1000};
    return evtimer_add(c->kick, &tv) == 0;
}

/* ---- web identity ---------------------------------------------------------------------------- */

static void on_web_identity(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    (void)ctx;
    struct ex_aws_creds_parsed got;
    struct ex_aws_error e;
    int rc = sts_answer(c, "STS AssumeRoleWithWebIdentity", r, &got, &e);
    /* Only transient failures (no answer, 5xx, IDPCommunicationError) are tried again. */
    if (rc != 0 && rc != AG_ENOMEM && retry_later(c, r, e.code)) {
        return;
    }
    base_done(c, rc, rc == 0 ? &got : NULL);
}

static void fetch_web_identity(struct ex_aws_creds *c)
{
    char *token = NULL, *body = NULL;
    size_t tlen = 0, blen = 0;
    int rc = read_file(c->web_token_file, MAX_TOKEN_FILE, &token, &tlen);
    if (rc != 0 || tlen == 0 || strlen(token) != tlen) {
        set_why(c->why, sizeof(c->why), "web identity token file %s: %s", c->web_token_file,
                rc != 0 ? ag_strerror(rc) : "empty or binary");
        rc = rc == AG_ENOMEM ? rc : AG_EINVAL;
        goto out;
    }
    const char *kv[] = {
        "Action",        "AssumeRoleWithWebIdentity", "Version",      "2011-06-15",       "RoleArn",
        c->web_role_arn, "RoleSessionName",           c->web_session, "WebIdentityToken", token};
    if ((body = form_new(kv, 5, &blen)) == NULL) {
        rc = AG_ENOMEM;
        set_why(c->why, sizeof(c->why), "out of memory");
        goto out;
    }
    const struct ex_aws_header h[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"Accept", "text/xml"},
    };
    rc = send_req(c, &c->ticket, NULL, on_web_identity, "POST", c->sts_url, h, 2, body, blen,
                  STS_TIMEOUT_MS);
    if (rc != 0) {
        set_why(c->why, sizeof(c->why), "STS AssumeRoleWithWebIdentity: %s", ag_strerror(rc));
    }
out:
    wipe_free_n(token, tlen);
    if (rc != 0) {
        base_done(c, rc, NULL);
    }
}

/* ---- container ------------------------------------------------------------------------------- */

static void on_container(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    (void)ctx;
    struct ex_aws_creds_parsed got;
    if (r->rc != 0 || r->status != 200) {
        if (retry_later(c, r, NULL)) {
            return;
        }
        base_done(c, http_failure(r, "container credentials endpoint", c->why, sizeof(c->why)),
                  NULL);
        return;
    }
    char w[256];
    int rc = ex_aws_creds_parse_json((const char *)r->body, r->body_len,
                                     EX_AWS_CREDS_JSON_CONTAINER, &got, w, sizeof(w));
    if (rc != 0) {
        set_why(c->why, sizeof(c->why), "container credentials endpoint: %s", w);
    }
    base_done(c, rc, rc == 0 ? &got : NULL);
}

static void fetch_container(struct ex_aws_creds *c)
{
    char *token = NULL;
    size_t tlen = 0;
    int rc = 0;
    if (c->container_token_file != NULL) {
        rc = read_file(c->container_token_file, MAX_TOKEN_FILE, &token, &tlen);
        if (rc != 0) {
            set_why(c->why, sizeof(c->why), "container authorization token file %s: %s",
                    c->container_token_file, ag_strerror(rc));
            rc = rc == AG_ENOMEM ? rc : AG_EINVAL;
            goto out;
        }
    } else if (c->container_token != NULL) {
        tlen = strlen(c->container_token);
        if ((token = ag_strdup(c->container_token)) == NULL) {
            rc = AG_ENOMEM;
            set_why(c->why, sizeof(c->why), "out of memory");
            goto out;
        }
    }
    /* A token with CR or LF would split the header (and any other control byte is suspect). */
    if (token != NULL && (strlen(token) != tlen || strpbrk(token, "\r\n") != NULL)) {
        set_why(c->why, sizeof(c->why), "container authorization token holds CR, LF or NUL");
        rc = AG_EINVAL;
        goto out;
    }
    const struct ex_aws_header h[] = {{"Authorization", token}, {"Accept", "application/json"}};
    rc = send_req(c, &c->ticket, NULL, on_container, "GET", c->container_url,
                  token != NULL ? h : h + 1, token != NULL ? 2 : 1, NULL, 0, CONTAINER_TIMEOUT_MS);
    if (rc != 0) {
        set_why(c->why, sizeof(c->why), "container credentials endpoint: %s", ag_strerror(rc));
    }
out:
    wipe_free_n(token, tlen);
    if (rc != 0) {
        base_done(c, rc, NULL);
    }
}

/* ---- IMDSv2 ---------------------------------------------------------------------------------- */

static int imds_token_send(struct ex_aws_creds *c, struct ticket **slot, void *ctx, step_fn *step)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/latest/api/token", c->imds_base);
    const struct ex_aws_header h[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    return send_req(c, slot, ctx, step, "PUT", url, h, 1, NULL, 0, IMDS_TIMEOUT_MS);
}

/*
 * Checks the token PUT's answer and copies the token to |*token|. No answer, or 403/404/405,
 * means there is no IMDSv2 here: remembered, and AG_ENOTFOUND.
 */
static int imds_token_take(struct ex_aws_creds *c, const struct ex_aws_http_response *r,
                           char **token, char *why, size_t whylen)
{
    if (r->rc == AG_ETIMEDOUT || r->rc == AG_EIO || r->status == 403 || r->status == 404 ||
        r->status == 405) {
        c->imds_unavailable = true;
        set_why(why, whylen, "IMDS at %s unavailable (%s)", c->imds_base,
                r->rc != 0 ? ag_strerror(r->rc) : "token refused");
        return AG_ENOTFOUND;
    }
    if (r->rc != 0 || r->status != 200) {
        return http_failure(r, "IMDS token", why, whylen);
    }
    size_t n = r->body_len;
    while (n > 0 && is_ws((char)r->body[n - 1])) {
        n--;
    }
    if (n > 1024 || !token_chars_ok((const char *)r->body, n)) {
        set_why(why, whylen, "IMDS token: unusable answer");
        return AG_EPROTO;
    }
    *token = ag_strndup((const char *)r->body, n);
    if (*token == NULL) {
        set_why(why, whylen, "out of memory");
        return AG_ENOMEM;
    }
    return 0;
}

static int imds_get(struct ex_aws_creds *c, struct ticket **slot, void *ctx, step_fn *step,
                    const char *token, const char *path, const char *suffix)
{
    char url[768];
    snprintf(url, sizeof(url), "%s%s%s", c->imds_base, path, suffix);
    const struct ex_aws_header h[] = {{"X-aws-ec2-metadata-token", token}, {"Accept", "*/*"}};
    return send_req(c, slot, ctx, step, "GET", url, h, 2, NULL, 0, IMDS_TIMEOUT_MS);
}

#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

static void on_imds_creds(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    (void)ctx;
    struct ex_aws_creds_parsed got;
    if (r->rc != 0 || r->status != 200) {
        base_done(c, http_failure(r, "IMDS role credentials", c->why, sizeof(c->why)), NULL);
        return;
    }
    char w[256];
    int rc = ex_aws_creds_parse_json((const char *)r->body, r->body_len, EX_AWS_CREDS_JSON_IMDS,
                                     &got, w, sizeof(w));
    if (rc != 0) {
        set_why(c->why, sizeof(c->why), "IMDS: %s", w);
    }
    base_done(c, rc, rc == 0 ? &got : NULL);
}

static void on_imds_role(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    (void)ctx;
    int rc;
    if (r->rc == 0 && r->status == 404) {
        set_why(c->why, sizeof(c->why), "IMDS: no IAM role attached to this instance");
        base_done(c, AG_ENOTFOUND, NULL);
        return;
    }
    if (r->rc != 0 || r->status != 200) {
        base_done(c, http_failure(r, "IMDS role name", c->why, sizeof(c->why)), NULL);
        return;
    }
    /* The first line is the role name. */
    char role[129];
    size_t n = 0;
    while (n < r->body_len && r->body[n] != '\n' && r->body[n] != '\r') {
        n++;
    }
    bool ok = n > 0 && n < sizeof(role);
    for (size_t i = 0; ok && i < n; i++) {
        ok = session_char(r->body[i]);
    }
    if (!ok) {
        set_why(c->why, sizeof(c->why), "IMDS role name: unusable answer");
        base_done(c, AG_EPROTO, NULL);
        return;
    }
    memcpy(role, r->body, n);
    role[n] = '\0';
    rc = imds_get(c, &c->ticket, NULL, on_imds_creds, c->imds_token, IMDS_CREDS_PATH, role);
    if (rc != 0) {
        set_why(c->why, sizeof(c->why), "IMDS: %s", ag_strerror(rc));
        base_done(c, rc, NULL);
    }
}

static void on_imds_token(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    (void)ctx;
    int rc = imds_token_take(c, r, &c->imds_token, c->why, sizeof(c->why));
    if (rc == 0) {
        rc = imds_get(c, &c->ticket, NULL, on_imds_role, c->imds_token, IMDS_CREDS_PATH, "");
        if (rc != 0) {
            set_why(c->why, sizeof(c->why), "IMDS: %s", ag_strerror(rc));
        }
    }
    if (rc != 0) {
        base_done(c, rc, NULL);
    }
}

static void fetch_imds(struct ex_aws_creds *c)
{
    int rc = AG_ENOTFOUND;
    if (c->imds_unavailable) {
        set_why(c->why, sizeof(c->why), "IMDS at %s unavailable (remembered)", c->imds_base);
    } else if ((rc = imds_token_send(c, &c->ticket, NULL, on_imds_token)) != 0) {
        set_why(c->why, sizeof(c->why), "IMDS: %s", ag_strerror(rc));
    }
    if (rc != 0) {
        base_done(c, rc, NULL);
    }
}

/* ---- the fetch ------------------------------------------------------------------------------- */

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ex_aws_creds *c = arg;
    struct ex_aws_creds_parsed got;
    struct ex_aws_creds_profile pr;
    int rc;

    switch (c->kind) {
    case P_ENV:
        rc = parsed_copy(&c->env, &got);
        if (rc != 0) {
            set_why(c->why, sizeof(c->why), "out of memory");
        }
        base_done(c, rc, rc == 0 ? &got : NULL);
        break;
    case P_PROFILE:
        rc = load_profile(c->creds_file, c->config_file, c->profile, &pr, c->why, sizeof(c->why));
        if (rc == 0) {
            rc = profile_creds(&pr, c->profile, &got, c->why, sizeof(c->why));
        }
        ex_aws_creds_profile_cleanup(&pr);
        base_done(c, rc, rc == 0 ? &got : NULL);
        break;
    case P_WEB:
        fetch_web_identity(c);
        break;
    case P_CONTAINER:
        fetch_container(c);
        break;
    case P_IMDS:
        fetch_imds(c);
        break;
    default:
        set_why(c->why, sizeof(c->why),
                "no AWS credentials found (environment, shared files, web identity, container; "
                "IMDS disabled)");
        base_done(c, AG_ENOTFOUND, NULL);
        break;
    }
}

static void start_refresh(struct ex_aws_creds *c)
{
    if (c->refreshing) {
        return;
    }
    c->refreshing = true;
    c->attempt = 0;
    const struct timeval zero = {0, 0};
    evtimer_add(c->kick, &zero);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_refresh(arg);
}

void ex_aws_creds_get(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg)
{
    if (cache_usable(c, c->now_ms())) {
        struct ex_aws_creds_value v;
        fill_value(c, &v);
        fn(arg, 0, &v, "");
        return;
    }
    struct waiter *w = ag_calloc(1, sizeof(*w));
    if (w == NULL) {
        /* Nothing can be queued: say so now rather than never. */
        fn(arg, AG_ENOMEM, NULL, "out of memory");
        return;
    }
    w->fn = fn;
    w->arg = arg;
    struct waiter **tail = &c->waiters;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = w;
    start_refresh(c);
}

static void drop_matching(struct waiter **list, ex_aws_creds_fn *fn, void *arg)
{
    while (*list != NULL) {
        struct waiter *w = *list;
        if (w->fn == fn && w->arg == arg) {
            *list = w->next;
            ag_free(w);
        } else {
            list = &w->next;
        }
    }
}

void ex_aws_creds_cancel(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg)
{
    drop_matching(&c->waiters, fn, arg);
    drop_matching(&c->delivering, fn, arg);
}

void ex_aws_creds_invalidate(struct ex_aws_creds *c)
{
    int64_t now = c->now_ms();
    if (c->forced_once && now - c->last_forced_ms < EX_AWS_CREDS_INVALIDATE_EVERY_MS) {
        return;
    }
    c->forced_once = true;
    c->last_forced_ms = now;
    c->stale = true;
}

const char *ex_aws_creds_provider(const struct ex_aws_creds *c)
{
    return provider_names[c->kind];
}

uint64_t ex_aws_creds_refreshes(const struct ex_aws_creds *c)
{
    return c->refreshes;
}

uint64_t ex_aws_creds_failures(const struct ex_aws_creds *c)
{
    return c->failures;
}

const char *ex_aws_creds_region(const struct ex_aws_creds *c)
{
    return c->region;
}

/* ---- IMDS region ----------------------------------------------------------------------------- */

static void region_done(struct region_req *rr, int rc, const char *region)
{
    struct ex_aws_creds *c = rr->c;
    for (struct region_req **p = &c->regions; *p != NULL; p = &(*p)->next) {
        if (*p == rr) {
            *p = rr->next;
            break;
        }
    }
    ex_aws_region_fn *fn = rr->fn;
    void *arg = rr->arg;
    wipe_free(rr->token);
    if (rr->ev != NULL) {
        event_free(rr->ev);
    }
    ag_free(rr);
    /* Last: the callback may free the chain. */
    fn(arg, rc, region);
}

static void on_region(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    struct region_req *rr = ctx;
    char region[64];
    size_t n = r->body_len;
    (void)c;
    if (r->rc != 0 || r->status != 200) {
        region_done(rr, r->rc != 0 ? r->rc : AG_EUPSTREAM, NULL);
        return;
    }
    while (n > 0 && is_ws((char)r->body[n - 1])) {
        n--;
    }
    bool ok = n > 0 && n < sizeof(region);
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char ch = r->body[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    }
    if (!ok) {
        region_done(rr, AG_EPROTO, NULL);
        return;
    }
    memcpy(region, r->body, n);
    region[n] = '\0';
    region_done(rr, 0, region);
}

static void on_region_token(struct ex_aws_creds *c, void *ctx, const struct ex_aws_http_response *r)
{
    struct region_req *rr = ctx;
    char why[256];
    int rc = imds_token_take(c, r, &rr->token, why, sizeof(why));
    if (rc == 0) {
        rc = imds_get(c, &rr->ticket, rr, on_region, rr->token,
                      "/latest/meta-data/placement/region", "");
    }
    if (rc != 0) {
        region_done(rr, rc, NULL);
    }
}

static void on_region_fail(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    region_done(arg, AG_ENOTFOUND, NULL);
}

void ex_aws_creds_imds_region(struct ex_aws_creds *c, ex_aws_region_fn *fn, void *arg)
{
    struct region_req *rr = ag_calloc(1, sizeof(*rr));
    int rc = AG_ENOMEM;
    if (rr == NULL) {
        goto fail_now;
    }
    rr->c = c;
    rr->fn = fn;
    rr->arg = arg;
    rr->next = c->regions;
    c->regions = rr;
    if (c->imds_base != NULL && !c->imds_unavailable &&
        imds_token_send(c, &rr->ticket, rr, on_region_token) == 0) {
        return;
    }
    /* IMDS off, known absent, or the send failed: answer from the loop all the same. */
    const struct timeval zero = {0, 0};
    rr->ev = evtimer_new(c->base, on_region_fail, rr);
    if (rr->ev != NULL && evtimer_add(rr->ev, &zero) == 0) {
        return;
    }
    c->regions = rr->next;
    if (rr->ev != NULL) {
        event_free(rr->ev);
    }
    ag_free(rr);
fail_now:
    fn(arg, rc, NULL);
}

/* ---- creation and release -------------------------------------------------------------------- */

static void really_free(struct ex_aws_creds *c)
{
    while (c->waiters != NULL) {
        struct waiter *w = c->waiters;
        c->waiters = w->next;
        ag_free(w);
    }
    while (c->delivering != NULL) {
        struct waiter *w = c->delivering;
        c->delivering = w->next;
        ag_free(w);
    }
    if (c->ticket != NULL) {
        c->ticket->c = NULL;
    }
    while (c->regions != NULL) {
        struct region_req *rr = c->regions;
        c->regions = rr->next;
        if (rr->ticket != NULL) {
            rr->ticket->c = NULL;
        }
        if (rr->ev != NULL) {
            event_free(rr->ev);
        }
        wipe_free(rr->token);
        ag_free(rr);
    }
    if (c->kick != NULL) {
        event_free(c->kick);
    }
    if (c->timer != NULL) {
        event_free(c->timer);
    }
    ex_aws_creds_parsed_cleanup(&c->cache);
    ex_aws_creds_parsed_cleanup(&c->env);
    wipe_free(c->imds_token);
    wipe_free(c->container_token);
    char *plain[] = {c->region,         c->sts_region,  c->sts_url,       c->sts_host,
                     c->profile,        c->creds_file,  c->config_file,   c->web_role_arn,
                     c->web_token_file, c->web_session, c->container_url, c->container_token_file,
                     c->imds_base,      c->role_arn,    c->external_id,   c->session_name,
                     c->proxy};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        ag_free(plain[i]);
    }
    OPENSSL_cleanse(c, sizeof(*c));
    ag_free(c);
}

void ex_aws_creds_free(struct ex_aws_creds *c)
{
    if (c == NULL) {
        return;
    }
    if (c->depth > 0) {
        c->dying = true;
        return;
    }
    really_free(c);
}

/* "$HOME/.aws/<name>", or NULL without HOME. */
static int home_file(const char *name, char **out)
{
    const char *home = env("HOME");
    *out = NULL;
    if (home == NULL) {
        return 0;
    }
    size_t n = strlen(home) + strlen(name) + 7;
    if ((*out = ag_malloc(n)) == NULL) {
        return AG_ENOMEM;
    }
    snprintf(*out, n, "%s/.aws/%s", home, name);
    return 0;
}

/* Sets the STS URL (with a path) and Host header from |endpoint| or the region. */
static int set_sts_endpoint(struct ex_aws_creds *c, const char *endpoint, char *err, size_t errlen)
{
    char def[128];
    if (endpoint == NULL) {
        snprintf(def, sizeof(def), "https://sts.%s.amazonaws.com%s", c->sts_region,
                 strncmp(c->sts_region, "cn-", 3) == 0 ? ".cn" : "");
        endpoint = def;
    }
    bool https;
    const char *as, *ae, *path;
    if (!url_split(endpoint, &https, &as, &ae, &path)) {
        set_why(err, errlen, "STS endpoint '%.128s' is not an http(s) URL", endpoint);
        return AG_EINVAL;
    }
    size_t al = (size_t)(ae - as);
    /* libcurl leaves a default port out of Host; the signature must see the same Host. */
    if (https && al > 4 && memcmp(ae - 4, ":443", 4) == 0) {
        al -= 4;
    } else if (!https && al > 3 && memcmp(ae - 3, ":80", 3) == 0) {
        al -= 3;
    }
    c->sts_host = ag_strndup(as, al);
    size_t ul = strlen(endpoint) + 2;
    c->sts_url = ag_malloc(ul);
    if (c->sts_host == NULL || c->sts_url == NULL) {
        return AG_ENOMEM;
    }
    snprintf(c->sts_url, ul, "%s%s", endpoint, *path == '\0' ? "/" : "");
    return 0;
}

/* Picks the provider from the environment (and the shared files, probed now). */
static int choose_provider(struct ex_aws_creds *c, const struct ex_aws_creds_options *o,
                           const struct ex_aws_creds_profile *pr, int prc, const char *prwhy,
                           bool explicit_profile, char *err, size_t errlen)
{
    const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    if (o->profile == NULL && (akid != NULL || secret != NULL)) {
        if (akid == NULL || secret == NULL || !token_chars_ok(akid, strlen(akid)) ||
            !token_chars_ok(secret, strlen(secret))) {
            set_why(err, errlen,
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set, "
                    "without spaces");
            return AG_EINVAL;
        }
        const char *tok = env("AWS_SESSION_TOKEN");
        struct ex_aws_creds_parsed e = {(char *)akid, (char *)secret, (char *)tok, 0};
        c->kind = P_ENV;
        return parsed_copy(&e, &c->env);
    }
    bool has_keys =
        pr->access_key_id != NULL || pr->secret_access_key != NULL || pr->unsupported[0] != '\0';
    /* A shared file that cannot be read or parsed is an error, as in the SDKs, not a reason to
     * try the next provider. */
    if (o->profile != NULL || has_keys || prc != 0) {
        struct ex_aws_creds_parsed tmp;
        if (prc != 0) {
            set_why(err, errlen, "%s", prwhy);
            return prc == AG_ENOMEM ? prc : AG_EINVAL;
        }
        if (!pr->found) {
            set_why(err, errlen, "profile '%s' not found in %s or %s", c->profile,
                    c->creds_file ? c->creds_file : "(no credentials file)",
                    c->config_file ? c->config_file : "(no config file)");
            return AG_EINVAL;
        }
        int rc = profile_creds(pr, c->profile, &tmp, err, errlen);
        ex_aws_creds_parsed_cleanup(&tmp);
        c->kind = P_PROFILE;
        return rc == AG_ENOTFOUND ? AG_EINVAL : rc;
    }
    if (explicit_profile && !pr->found) {
        set_why(err, errlen, "AWS_PROFILE '%s' not found in %s or %s", c->profile,
                c->creds_file ? c->creds_file : "(no credentials file)",
                c->config_file ? c->config_file : "(no config file)");
        return AG_EINVAL;
    }
    const char *role = env("AWS_ROLE_ARN"), *tokf = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    if (role != NULL && tokf != NULL) {
        c->kind = P_WEB;
        c->web_role_arn = ag_strdup(role);
        c->web_token_file = ag_strdup(tokf);
        const char *sn = env("AWS_ROLE_SESSION_NAME");
        c->web_session = ag_strdup(sn != NULL ? sn : c->session_name);
        if (c->web_role_arn == NULL || c->web_token_file == NULL || c->web_session == NULL) {
            return AG_ENOMEM;
        }
        if (!ex_aws_creds_session_name_valid(c->web_session)) {
            set_why(err, errlen,
                    "AWS_ROLE_SESSION_NAME must be 2-64 characters of "
                    "[A-Za-z0-9_+=,.@-]");
            return AG_EINVAL;
        }
        return 0;
    }
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (full != NULL || rel != NULL) {
        c->kind = P_CONTAINER;
        if (full != NULL) {
            c->container_url = ag_strdup(full);
        } else if (rel[0] == '/') {
            size_t n = strlen(ECS_BASE) + strlen(rel) + 1;
            if ((c->container_url = ag_malloc(n)) != NULL) {
                snprintf(c->container_url, n, "%s%s", ECS_BASE, rel);
            }
        } else {
            set_why(err, errlen, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
            return AG_EINVAL;
        }
        if (c->container_url == NULL) {
            return AG_ENOMEM;
        }
        if (!ex_aws_creds_container_url_allowed(c->container_url)) {
            set_why(err, errlen,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to loopback, "
                    "169.254.170.2, 169.254.170.23 or fd00:ec2::23");
            return AG_EINVAL;
        }
        const char *tf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *tk = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if ((tf != NULL && (c->container_token_file = ag_strdup(tf)) == NULL) ||
            (tf == NULL && tk != NULL && (c->container_token = ag_strdup(tk)) == NULL)) {
            return AG_ENOMEM;
        }
        return 0;
    }
    c->kind = c->imds_base != NULL ? P_IMDS : P_NONE;
    return 0;
}

int ex_aws_creds_new(struct event_base *base, struct ex_aws_http *http,
                     const struct ex_aws_creds_options *opts, struct ex_aws_creds **out, char *err,
                     size_t errlen)
{
    static const struct ex_aws_creds_options none = {0};
    const struct ex_aws_creds_options *o = opts != NULL ? opts : &none;
    struct ex_aws_creds_profile pr = {0};
    struct ex_aws_creds *c = NULL;
    char prwhy[384] = "";
    int rc = AG_ENOMEM;

    *out = NULL;
    set_why(err, errlen, "out of memory");
    if (base == NULL || http == NULL) {
        set_why(err, errlen, "no event loop or HTTP client");
        return AG_EINVAL;
    }
    if (o->role_session_name != NULL && !ex_aws_creds_session_name_valid(o->role_session_name)) {
        set_why(err, errlen, "role_session_name must be 2-64 characters of [A-Za-z0-9_+=,.@-]");
        return AG_EINVAL;
    }
    if ((c = ag_calloc(1, sizeof(*c))) == NULL) {
        return AG_ENOMEM;
    }
    c->base = base;
    c->http = http;
    c->now_ms = o->now_ms != NULL ? o->now_ms : real_now_ms;
    c->no_verify_ssl = o->no_verify_ssl;
    if ((o->proxy != NULL && (c->proxy = ag_strdup(o->proxy)) == NULL) ||
        (o->role_arn != NULL && (c->role_arn = ag_strdup(o->role_arn)) == NULL) ||
        (o->external_id != NULL && (c->external_id = ag_strdup(o->external_id)) == NULL)) {
        goto out;
    }
    if (o->role_session_name != NULL) {
        c->session_name = ag_strdup(o->role_session_name);
    } else {
        char host[256] = "", name[EX_AWS_CREDS_SESSION_MAX + 1];
        if (gethostname(host, sizeof(host) - 1) != 0) {
            host[0] = '\0';
        }
        ex_aws_creds_session_name(host, c->now_ms() / 1000, name, sizeof(name));
        c->session_name = ag_strdup(name);
    }
    if (c->session_name == NULL) {
        goto out;
    }

    /* The shared files, probed now for the region and to choose the provider. */
    const char *prof = o->profile != NULL ? o->profile : env("AWS_PROFILE");
    bool explicit_profile = prof != NULL;
    const char *cf = env("AWS_SHARED_CREDENTIALS_FILE"), *gf = env("AWS_CONFIG_FILE");
    c->profile = ag_strdup(prof != NULL ? prof : "default");
    if (c->profile == NULL || (cf != NULL && (c->creds_file = ag_strdup(cf)) == NULL) ||
        (gf != NULL && (c->config_file = ag_strdup(gf)) == NULL) ||
        (cf == NULL && home_file("credentials", &c->creds_file) != 0) ||
        (gf == NULL && home_file("config", &c->config_file) != 0)) {
        goto out;
    }
    int prc = load_profile(c->creds_file, c->config_file, c->profile, &pr, prwhy, sizeof(prwhy));
    if (prc == AG_ENOMEM) {
        goto out;
    }

    const char *region = o->region;
    if (region == NULL) {
        region = env("AWS_REGION");
    }
    if (region == NULL) {
        region = env("AWS_DEFAULT_REGION");
    }
    if (region == NULL && pr.region != NULL) {
        region = pr.region;
    }
    c->region = ag_strdup(region != NULL ? region : "");
    c->sts_region = ag_strdup(region != NULL && region[0] != '\0' ? region : "us-east-1");
    if (c->region == NULL || c->sts_region == NULL) {
        goto out;
    }
    const char *disabled = env("AWS_EC2_METADATA_DISABLED");
    if (disabled == NULL || strcasecmp(disabled, "true") != 0) {
        const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        c->imds_base = ag_strdup(ep != NULL ? ep : IMDS_DEFAULT);
        if (c->imds_base == NULL) {
            goto out;
        }
        size_t n = strlen(c->imds_base);
        while (n > 0 && c->imds_base[n - 1] == '/') {
            c->imds_base[--n] = '\0';
        }
    }
    const char *sts = o->sts_endpoint;
    if (sts == NULL) {
        sts = env("AWS_ENDPOINT_URL_STS");
    }
    if (sts == NULL) {
        sts = env("AWS_ENDPOINT_URL");
    }
    if ((rc = set_sts_endpoint(c, sts, err, errlen)) != 0) {
        goto out;
    }
    if ((rc = choose_provider(c, o, &pr, prc, prwhy, explicit_profile, err, errlen)) != 0) {
        goto out;
    }
    rc = AG_ENOMEM;
    c->kick = evtimer_new(base, on_kick, c);
    c->timer = evtimer_new(base, on_timer, c);
    if (c->kick == NULL || c->timer == NULL) {
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
    set_why(err, errlen, "%s", "");
out:
    if (rc == AG_ENOMEM) {
        set_why(err, errlen, "out of memory");
    }
    ex_aws_creds_profile_cleanup(&pr);
    OPENSSL_cleanse(prwhy, sizeof(prwhy));
    if (c != NULL) {
        really_free(c);
    }
    return rc;
}
