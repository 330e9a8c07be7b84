/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS SigV4 header signing on OpenSSL, shared by every AWS exporter. It is pure: the HTTP client
 * hands it the request as it will be sent, and adds the headers it returns. libcurl 7.88.1's
 * CURLOPT_AWS_SIGV4 is not used because it signs Bedrock model ids (':' in the path) and unsorted
 * query strings wrongly. Canonicalisation follows botocore, which the property test compares.
 */
#include "ex_aws_sigv4.h"

#include "ag_buf.h"
#include "ag_mem.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdlib.h>
#include <string.h>

#define SIGV4_CACHE_SLOTS 4
#define SIGV4_SCOPE_MAX   64 /* longest region or service name the key cache keeps */
#define SIGV4_OUT_CAP     (4u * EX_AWS_SIGV4_MAX_INPUT + 4096u)

struct sigv4_cache_slot {
    int used;
    uint8_t secret_digest[32]; /* SHA-256 of the secret: the secret itself is never stored */
    char date[9];
    char region[SIGV4_SCOPE_MAX];
    char service[SIGV4_SCOPE_MAX];
    uint8_t key[32];
};

struct ex_aws_sigv4_signer {
    EVP_MAC *mac;
    struct sigv4_cache_slot slots[SIGV4_CACHE_SLOTS];
    unsigned next_slot;
};

/* A header after canonicalisation; |order| keeps repeated headers in their sent order. */
struct sigv4_hdr {
    char *name;
    char *value;
    size_t order;
};

/* One query pair, both sides already re-encoded. */
struct sigv4_pair {
    char *key;
    char *value;
};

/* Headers botocore never signs (SIGNED_HEADERS_BLACKLIST) plus authorization. */
static const char *const sigv4_unsigned_headers[] = {
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
};

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* The whitespace botocore's str.split() collapses in header values, restricted to ASCII. */
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void hex_encode(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

/* Percent-encodes |len| bytes with the unreserved set, plus '/' when |keep_slash|. */
static int uri_encode(struct ag_buf *out, const uint8_t *s, size_t len, int keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        int rc;
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            rc = ag_buf_addc(out, (char)c);
        } else {
            char esc[3] = {'%', hex_upper[c >> 4], hex_upper[c & 0x0f]};
            rc = ag_buf_add(out, esc, sizeof(esc));
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * Decodes %XX escapes of |len| bytes into |dst| (at least |len| bytes) and returns the decoded
 * length. A '%' not followed by two hex digits stays literal; '+' stays '+' (SigV4 is not form
 * decoding).
 */
static size_t uri_decode(const char *s, size_t len, uint8_t *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hex_val((unsigned char)s[i + 1])) >= 0 &&
            (lo = hex_val((unsigned char)s[i + 2])) >= 0) {
            dst[n++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            dst[n++] = (uint8_t)s[i];
        }
    }
    return n;
}

unsigned ex_aws_sigv4_service_flags(const char *service)
{
    if (service != NULL && strcmp(service, "s3") == 0) {
        return EX_AWS_SIGV4_NO_NORMALIZE | EX_AWS_SIGV4_NO_PATH_ENCODE |
               EX_AWS_SIGV4_CONTENT_SHA256;
    }
    return 0;
}

/*
 * botocore's remove_dot_segments: drops empty and "." segments, ".." pops one, keeps the leading
 * '/' and keeps a trailing '/' only when something is left. Writes to |out|.
 */
static int normalize_path(const char *path, size_t len, struct ag_buf *out)
{
    size_t *starts = NULL, *lens = NULL, n = 0, cap = len / 2 + 1;
    int rc = 0;

    starts = ag_malloc(cap * sizeof(*starts));
    lens = ag_malloc(cap * sizeof(*lens));
    if (starts == NULL || lens == NULL) {
        rc = AG_ENOMEM;
        ag_buf_cleanup(out);
        goto out;
    }
    for (size_t i = 0; i <= len;) {
        size_t j = i;
        while (j < len && path[j] != '/') {
            j++;
        }
        size_t seg = j - i;
        if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (n > 0) {
                n--;
            }
        } else if (seg > 0 && !(seg == 1 && path[i] == '.')) {
            starts[n] = i;
            lens[n] = seg;
            n++;
        }
        i = j + 1;
    }
    if (len > 0 && path[0] == '/') {
        rc = ag_buf_addc(out, '/');
    }
    for (size_t k = 0; k < n && rc == 0; k++) {
        if (k > 0) {
            rc = ag_buf_addc(out, '/');
        }
        if (rc == 0) {
            rc = ag_buf_add(out, path + starts[k], lens[k]);
        }
    }
    if (rc == 0 && len > 0 && path[len - 1] == '/' && n > 0) {
        rc = ag_buf_addc(out, '/');
    }
out:
    ag_free(starts);
    ag_free(lens);
    return rc;
}

int ex_aws_sigv4_canonical_uri(const char *path, size_t len, unsigned flags, struct ag_buf *out)
{
    struct ag_buf norm;
    int rc;

    if (path == NULL || len == 0) {
        path = "/";
        len = 1;
    }
    ag_buf_init(&norm, out->cap);
    if (flags & EX_AWS_SIGV4_NO_NORMALIZE) {
        rc = ag_buf_add(&norm, path, len);
    } else {
        rc = normalize_path(path, len, &norm);
    }
    if (rc < 0) {
        ag_buf_cleanup(out);
        return rc;
    }
    if (flags & EX_AWS_SIGV4_NO_PATH_ENCODE) {
        rc = ag_buf_add(out, ag_buf_str(&norm), norm.len);
    } else {
        /* The wire path is already encoded, so this is the second encoding: '%' becomes "%25". */
        rc = uri_encode(out, (const uint8_t *)ag_buf_str(&norm), norm.len, 1);
    }
    ag_buf_cleanup(&norm);
    return rc;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct sigv4_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : strcmp(x->value, y->value);
}

/* Terminates |b| and moves its text to a new string in |*out| ("" when empty). */
static int steal_str(struct ag_buf *b, char **out)
{
    int rc = ag_buf_add(b, "", 0);
    if (rc < 0) {
        return rc;
    }
    *out = (char *)ag_buf_steal(b, NULL);
    if (*out == NULL) {
        *out = ag_strdup("");
    }
    return *out != NULL ? 0 : AG_ENOMEM;
}

/* Decodes then re-encodes |len| bytes of |s| into a new string in |*out|. */
static int reencode(const char *s, size_t len, size_t cap, char **out)
{
    struct ag_buf b;
    uint8_t *tmp = ag_malloc(len + 1);
    int rc;

    *out = NULL;
    if (tmp == NULL) {
        return AG_ENOMEM;
    }
    size_t n = uri_decode(s, len, tmp);
    ag_buf_init(&b, cap);
    rc = uri_encode(&b, tmp, n, 0);
    ag_free(tmp);
    if (rc == 0) {
        rc = steal_str(&b, out);
    }
    return rc;
}

int ex_aws_sigv4_canonical_query(const char *query, size_t len, struct ag_buf *out)
{
    struct sigv4_pair *pairs = NULL;
    size_t n = 0, cap = 1;
    int rc = 0;

    if (query == NULL || len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        cap += query[i] == '&';
    }
    pairs = ag_calloc(cap, sizeof(*pairs));
    if (pairs == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i <= len && rc == 0;) {
        size_t j = i, eq;
        while (j < len && query[j] != '&') {
            j++;
        }
        if (j > i) {
            eq = i;
            while (eq < j && query[eq] != '=') {
                eq++;
            }
            rc = reencode(query + i, eq - i, out->cap, &pairs[n].key);
            if (rc == 0) {
                size_t vstart = eq < j ? eq + 1 : j;
                rc = reencode(query + vstart, j - vstart, out->cap, &pairs[n].value);
            }
            n++;
        }
        i = j + 1;
    }
    if (rc < 0) {
        goto out;
    }
    qsort(pairs, n, sizeof(*pairs), pair_cmp);
    for (size_t k = 0; k < n && rc == 0; k++) {
        if (k > 0) {
            rc = ag_buf_addc(out, '&');
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, pairs[k].key);
        }
        if (rc == 0) {
            rc = ag_buf_addc(out, '=');
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, pairs[k].value);
        }
    }
out:
    if (rc < 0) {
        ag_buf_cleanup(out);
    }
    if (pairs != NULL) {
        for (size_t k = 0; k < n; k++) {
            ag_free(pairs[k].key);
            ag_free(pairs[k].value);
        }
    }
    ag_free(pairs);
    return rc;
}

static int sha256_hex(const void *data, size_t len, char out[EX_AWS_SIGV4_HEX_LEN + 1])
{
    uint8_t md[32];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md)) {
        return AG_ENOMEM;
    }
    hex_encode(md, sizeof(md), out);
    return 0;
}

static int hmac_sha256(EVP_MAC *mac, const uint8_t *key, size_t keylen, const void *data,
                       size_t len, uint8_t out[32])
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[2];
    size_t outlen = 0;
    int ok;

    if (ctx == NULL) {
        return AG_ENOMEM;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_MAC_init(ctx, key, keylen, params) == 1 && EVP_MAC_update(ctx, data, len) == 1 &&
         EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : AG_ENOMEM;
}

/* kSigning = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request". */
static int derive_key(EVP_MAC *mac, const char *secret, const char *date8, const char *region,
                      const char *service, uint8_t key[32])
{
    size_t slen = strlen(secret);
    uint8_t *k0 = ag_malloc(slen + 4);
    uint8_t k[32];
    int rc;

    if (k0 == NULL) {
        return AG_ENOMEM;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    rc = hmac_sha256(mac, k0, slen + 4, date8, 8, k);
    OPENSSL_cleanse(k0, slen + 4);
    ag_free(k0);
    if (rc == 0) {
        rc = hmac_sha256(mac, k, 32, region, strlen(region), k);
    }
    if (rc == 0) {
        rc = hmac_sha256(mac, k, 32, service, strlen(service), k);
    }
    if (rc == 0) {
        rc = hmac_sha256(mac, k, 32, "aws4_request", 12, key);
    }
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

/* Gets the signing key from |signer|'s cache, deriving and caching it on a miss. */
static int signing_key(struct ex_aws_sigv4_signer *signer, EVP_MAC *mac, const char *secret,
                       const char *date8, const char *region, const char *service, uint8_t key[32])
{
    uint8_t digest[32];
    unsigned int dlen = 0;
    struct sigv4_cache_slot *slot;
    int rc;

    if (signer == NULL || strlen(region) >= SIGV4_SCOPE_MAX || strlen(service) >= SIGV4_SCOPE_MAX) {
        return derive_key(mac, secret, date8, region, service, key);
    }
    if (EVP_Digest(secret, strlen(secret), digest, &dlen, EVP_sha256(), NULL) != 1) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < SIGV4_CACHE_SLOTS; i++) {
        slot = &signer->slots[i];
        if (slot->used && CRYPTO_memcmp(slot->secret_digest, digest, 32) == 0 &&
            memcmp(slot->date, date8, 8) == 0 && strcmp(slot->region, region) == 0 &&
            strcmp(slot->service, service) == 0) {
            memcpy(key, slot->key, 32);
            return 0;
        }
    }
    rc = derive_key(mac, secret, date8, region, service, key);
    if (rc < 0) {
        return rc;
    }
    slot = &signer->slots[signer->next_slot];
    signer->next_slot = (signer->next_slot + 1) % SIGV4_CACHE_SLOTS;
    slot->used = 1;
    memcpy(slot->secret_digest, digest, 32);
    memcpy(slot->date, date8, 8);
    slot->date[8] = '\0';
    memcpy(slot->region, region, strlen(region) + 1);
    memcpy(slot->service, service, strlen(service) + 1);
    memcpy(slot->key, key, 32);
    OPENSSL_cleanse(digest, sizeof(digest));
    return 0;
}

int ex_aws_sigv4_signer_new(struct ex_aws_sigv4_signer **out)
{
    struct ex_aws_sigv4_signer *s;

    *out = NULL;
    s = ag_calloc(1, sizeof(*s));
    if (s == NULL) {
        return AG_ENOMEM;
    }
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (s->mac == NULL) {
        ag_free(s);
        return AG_ENOMEM;
    }
    *out = s;
    return 0;
}

void ex_aws_sigv4_signer_free(struct ex_aws_sigv4_signer *signer)
{
    if (signer == NULL) {
        return;
    }
    EVP_MAC_free(signer->mac);
    OPENSSL_cleanse(signer->slots, sizeof(signer->slots));
    ag_free(signer);
}

static void free_secret_str(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        ag_free(s);
    }
}

void ex_aws_sigv4_result_cleanup(struct ex_aws_sigv4_result *res)
{
    if (res == NULL) {
        return;
    }
    free_secret_str(res->canonical_request);
    free_secret_str(res->string_to_sign);
    free_secret_str(res->signed_headers);
    free_secret_str(res->authorization);
    for (size_t i = 0; i < res->n_added && i < EX_AWS_SIGV4_MAX_ADDED; i++) {
        free_secret_str(res->added[i].value);
    }
    OPENSSL_cleanse(res, sizeof(*res));
    memset(res, 0, sizeof(*res));
}

static int valid_amz_date(const char *d)
{
    if (d == NULL || strlen(d) != EX_AWS_SIGV4_DATE_LEN || d[8] != 'T' || d[15] != 'Z') {
        return 0;
    }
    for (size_t i = 0; i < 15; i++) {
        if (i != 8 && (d[i] < '0' || d[i] > '9')) {
            return 0;
        }
    }
    return 1;
}

static int valid_payload_hash(const char *h)
{
    if (strcmp(h, EX_AWS_SIGV4_UNSIGNED) == 0) {
        return 1;
    }
    if (strlen(h) != EX_AWS_SIGV4_HEX_LEN) {
        return 0;
    }
    for (size_t i = 0; i < EX_AWS_SIGV4_HEX_LEN; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* Scope strings go into the credential scope and must not break its '/' separated form. */
static int valid_scope_part(const char *s)
{
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (*s == '/' || (unsigned char)*s <= ' ' || *s == 0x7f || *s == ',') {
            return 0;
        }
    }
    return 1;
}

/* Header text may carry tab and the CR/LF of folded lines, but no other control bytes. */
static int valid_header_text(const char *s, int is_name)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (is_name && (c <= ' ' || c == ':' || c == 0x7f)) {
            return 0;
        }
        if (!is_name && ((c < ' ' && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)) {
            return 0;
        }
    }
    return 1;
}

static int is_unsigned_header(const char *lname)
{
    for (size_t i = 0; i < sizeof(sigv4_unsigned_headers) / sizeof(sigv4_unsigned_headers[0]);
         i++) {
        if (strcmp(lname, sigv4_unsigned_headers[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int hdr_cmp(const void *a, const void *b)
{
    const struct sigv4_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static char *lower_dup(const char *s)
{
    char *d = ag_strdup(s);
    if (d != NULL) {
        for (char *p = d; *p; p++) {
            if (*p >= 'A' && *p <= 'Z') {
                *p = (char)(*p - 'A' + 'a');
            }
        }
    }
    return d;
}

/* Trims |s| and collapses inner runs of whitespace (folded lines included) to one space. */
static char *trimall_dup(const char *s)
{
    size_t len = strlen(s), n = 0;
    char *d = ag_malloc(len + 1);
    int pending_space = 0;

    if (d == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (is_space((unsigned char)s[i])) {
            pending_space = n > 0;
            continue;
        }
        if (pending_space) {
            d[n++] = ' ';
            pending_space = 0;
        }
        d[n++] = s[i];
    }
    d[n] = '\0';
    return d;
}

/* Finds the last header named |lname| (case-insensitively) in |req|, or NULL. */
static const char *find_header(const struct ex_aws_sigv4_request *req, const char *lname)
{
    const char *found = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *a = req->headers[i].name, *b = lname;
        while (*a && *b) {
            char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
            if (ca != *b) {
                break;
            }
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0') {
            found = req->headers[i].value;
        }
    }
    return found;
}

static int add_output(struct ex_aws_sigv4_result *res, const char *name, const char *value)
{
    char *v = ag_strdup(value);
    if (v == NULL) {
        return AG_ENOMEM;
    }
    res->added[res->n_added].name = name;
    res->added[res->n_added].value = v;
    res->n_added++;
    return 0;
}

static int check_request(const struct ex_aws_credentials *creds,
                         const struct ex_aws_sigv4_request *req)
{
    size_t total = 0;

    if (creds == NULL || req == NULL || creds->access_key_id == NULL ||
        creds->secret_access_key == NULL || req->method == NULL || *req->method == '\0' ||
        !valid_scope_part(req->service) || !valid_scope_part(req->region) ||
        !valid_amz_date(req->amz_date) || (req->n_headers > 0 && req->headers == NULL) ||
        (req->payload == NULL && req->payload_len > 0) || !valid_scope_part(creds->access_key_id)) {
        return AG_EINVAL;
    }
    if (req->payload_hash != NULL && !valid_payload_hash(req->payload_hash)) {
        return AG_EINVAL;
    }
    total += strlen(req->method) + (req->path ? strlen(req->path) : 0) +
             (req->query ? strlen(req->query) : 0);
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct ex_aws_header *h = &req->headers[i];
        if (h->name == NULL || h->value == NULL || *h->name == '\0' ||
            !valid_header_text(h->name, 1) || !valid_header_text(h->value, 0)) {
            return AG_EINVAL;
        }
        total += strlen(h->name) + strlen(h->value) + 2;
        if (total > EX_AWS_SIGV4_MAX_INPUT) {
            return AG_ETOOBIG;
        }
    }
    for (const char *m = req->method; *m; m++) {
        if (*m <= ' ' || *m == 0x7f) {
            return AG_EINVAL;
        }
    }
    return total > EX_AWS_SIGV4_MAX_INPUT ? AG_ETOOBIG : 0;
}

/*
 * Builds the sorted, canonicalised header list in |hdrs|: the caller's signable headers, then
 * the signer's own. |*n_out| counts the entries filled, also on failure (for the cleanup).
 * Returns AG_EINVAL when there is no Host header.
 */
static int collect_headers(const struct ex_aws_credentials *creds,
                           const struct ex_aws_sigv4_request *req, const char *payload_hash,
                           struct sigv4_hdr *hdrs, size_t *n_out)
{
    int has_token = creds->session_token != NULL && *creds->session_token != '\0';
    int sign_token = has_token && !(req->flags & EX_AWS_SIGV4_UNSIGNED_TOKEN);
    int own_sha = (req->flags & EX_AWS_SIGV4_CONTENT_SHA256) != 0;
    int has_host = 0;
    size_t n = 0;

    *n_out = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        char *lname = lower_dup(req->headers[i].name);
        if (lname == NULL) {
            goto nomem;
        }
        if (is_unsigned_header(lname) || strcmp(lname, "x-amz-date") == 0 ||
            (has_token && strcmp(lname, "x-amz-security-token") == 0) ||
            (own_sha && strcmp(lname, "x-amz-content-sha256") == 0)) {
            ag_free(lname);
            continue;
        }
        has_host |= strcmp(lname, "host") == 0;
        hdrs[n].name = lname;
        hdrs[n].order = n;
        hdrs[n].value = trimall_dup(req->headers[i].value);
        n++;
        *n_out = n;
        if (hdrs[n - 1].value == NULL) {
            goto nomem;
        }
    }
    if (!has_host) {
        return AG_EINVAL;
    }
    struct {
        int on;
        const char *name, *value;
    } own[] = {
        {1, "x-amz-date", req->amz_date},
        {sign_token, "x-amz-security-token", creds->session_token},
        {own_sha, "x-amz-content-sha256", payload_hash},
    };
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        if (!own[i].on) {
            continue;
        }
        hdrs[n].name = ag_strdup(own[i].name);
        hdrs[n].value = trimall_dup(own[i].value);
        hdrs[n].order = n;
        n++;
        *n_out = n;
        if (hdrs[n - 1].name == NULL || hdrs[n - 1].value == NULL) {
            goto nomem;
        }
    }
    qsort(hdrs, n, sizeof(*hdrs), hdr_cmp);
    return 0;
nomem:
    return AG_ENOMEM;
}

int ex_aws_sigv4_sign(struct ex_aws_sigv4_signer *signer, const struct ex_aws_credentials *creds,
                      const struct ex_aws_sigv4_request *req, struct ex_aws_sigv4_result *out)
{
    struct sigv4_hdr *hdrs = NULL;
    size_t n_hdrs = 0;
    struct ag_buf creq, sts, signed_list, auth;
    char payload_hex[EX_AWS_SIGV4_HEX_LEN + 1];
    char creq_hash[EX_AWS_SIGV4_HEX_LEN + 1];
    const char *payload_hash = NULL;
    EVP_MAC *own_mac = NULL, *mac;
    uint8_t key[32], sig[32];
    char date8[9];
    int rc;

    ag_buf_init(&creq, SIGV4_OUT_CAP);
    ag_buf_init(&sts, SIGV4_OUT_CAP);
    ag_buf_init(&signed_list, SIGV4_OUT_CAP);
    ag_buf_init(&auth, SIGV4_OUT_CAP);
    memset(out, 0, sizeof(*out));
    OPENSSL_cleanse(key, sizeof(key));

    rc = check_request(creds, req);
    if (rc < 0) {
        goto out;
    }
    memcpy(date8, req->amz_date, 8);
    date8[8] = '\0';

    /* Payload hash: explicit, else the caller's x-amz-content-sha256 (botocore), else hashed. */
    payload_hash = req->payload_hash;
    if (payload_hash == NULL && !(req->flags & EX_AWS_SIGV4_CONTENT_SHA256)) {
        payload_hash = find_header(req, "x-amz-content-sha256");
    }
    if (payload_hash == NULL) {
        rc = sha256_hex(req->payload_len ? (const void *)req->payload : "", req->payload_len,
                        payload_hex);
        if (rc < 0) {
            goto out;
        }
        payload_hash = payload_hex;
    }

    hdrs = ag_calloc(req->n_headers + EX_AWS_SIGV4_MAX_ADDED, sizeof(*hdrs));
    if (hdrs == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    rc = collect_headers(creds, req, payload_hash, hdrs, &n_hdrs);
    if (rc < 0) {
        goto out;
    }

    /* Canonical request: method, URI, query, headers, signed headers, payload hash. */
    for (const char *m = req->method; *m && rc == 0; m++) {
        rc = ag_buf_addc(&creq, (*m >= 'a' && *m <= 'z') ? (char)(*m - 'a' + 'A') : *m);
    }
    if (rc == 0) {
        rc = ag_buf_addc(&creq, '\n');
    }
    if (rc == 0) {
        rc = ex_aws_sigv4_canonical_uri(req->path, req->path ? strlen(req->path) : 0, req->flags,
                                        &creq);
    }
    if (rc == 0) {
        rc = ag_buf_addc(&creq, '\n');
    }
    if (rc == 0) {
        rc = ex_aws_sigv4_canonical_query(req->query, req->query ? strlen(req->query) : 0, &creq);
    }
    if (rc == 0) {
        rc = ag_buf_addc(&creq, '\n');
    }
    for (size_t i = 0; i < n_hdrs && rc == 0; i++) {
        int first = i == 0 || strcmp(hdrs[i].name, hdrs[i - 1].name) != 0;
        if (first) {
            if (i > 0) {
                rc = ag_buf_addc(&creq, '\n');
                if (rc == 0) {
                    rc = ag_buf_addc(&signed_list, ';');
                }
            }
            if (rc == 0) {
                rc = ag_buf_adds(&signed_list, hdrs[i].name);
            }
            if (rc == 0) {
                rc = ag_buf_adds(&creq, hdrs[i].name);
            }
            if (rc == 0) {
                rc = ag_buf_addc(&creq, ':');
            }
        } else {
            rc = ag_buf_addc(&creq, ',');
        }
        if (rc == 0) {
            rc = ag_buf_adds(&creq, hdrs[i].value);
        }
    }
    if (rc == 0) {
        rc = ag_buf_printf(&creq, "\n\n%s\n%s", ag_buf_str(&signed_list), payload_hash);
    }
    if (rc < 0) {
        goto out;
    }

    /* String to sign. */
    rc = sha256_hex(ag_buf_str(&creq), creq.len, creq_hash);
    if (rc == 0) {
        rc = ag_buf_printf(&sts, "%s\n%s\n%s/%s/%s/aws4_request\n%s", EX_AWS_SIGV4_ALGORITHM,
                           req->amz_date, date8, req->region, req->service, creq_hash);
    }
    if (rc < 0) {
        goto out;
    }

    /* Signature. */
    mac = signer != NULL ? signer->mac : (own_mac = EVP_MAC_fetch(NULL, "HMAC", NULL));
    if (mac == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    rc = signing_key(signer, mac, creds->secret_access_key, date8, req->region, req->service, key);
    if (rc == 0) {
        rc = hmac_sha256(mac, key, sizeof(key), ag_buf_str(&sts), sts.len, sig);
    }
    if (rc < 0) {
        goto out;
    }
    hex_encode(sig, sizeof(sig), out->signature);
    rc = ag_buf_printf(&auth,
                       "%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                       "Signature=%s",
                       EX_AWS_SIGV4_ALGORITHM, creds->access_key_id, date8, req->region,
                       req->service, ag_buf_str(&signed_list), out->signature);
    if (rc < 0) {
        goto out;
    }

    rc = add_output(out, "X-Amz-Date", req->amz_date);
    if (rc == 0 && creds->session_token != NULL && *creds->session_token != '\0') {
        rc = add_output(out, "X-Amz-Security-Token", creds->session_token);
    }
    if (rc == 0 && (req->flags & EX_AWS_SIGV4_CONTENT_SHA256)) {
        rc = add_output(out, "x-amz-content-sha256", payload_hash);
    }
    if (rc == 0) {
        rc = steal_str(&creq, &out->canonical_request);
    }
    if (rc == 0) {
        rc = steal_str(&sts, &out->string_to_sign);
    }
    if (rc == 0) {
        rc = steal_str(&signed_list, &out->signed_headers);
    }
    if (rc == 0) {
        rc = steal_str(&auth, &out->authorization);
    }

out:
    if (rc < 0) {
        ex_aws_sigv4_result_cleanup(out);
    }
    if (hdrs != NULL) {
        for (size_t i = 0; i < n_hdrs; i++) {
            ag_free(hdrs[i].name);
            free_secret_str(hdrs[i].value);
        }
        ag_free(hdrs);
    }
    /* The canonical request and Authorization are only left here on failure. */
    if (ag_buf_ptr(&creq) != NULL) {
        OPENSSL_cleanse((void *)ag_buf_ptr(&creq), creq.len);
    }
    if (ag_buf_ptr(&auth) != NULL) {
        OPENSSL_cleanse((void *)ag_buf_ptr(&auth), auth.len);
    }
    ag_buf_cleanup(&creq);
    ag_buf_cleanup(&sts);
    ag_buf_cleanup(&signed_list);
    ag_buf_cleanup(&auth);
    EVP_MAC_free(own_mac);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(sig, sizeof(sig));
    return rc;
}
