#ifndef CB_ORIGIN_H
#define CB_ORIGIN_H

#include <stddef.h>

#include "ag_err.h"

/*
 * The origin check: only requests that came through the platform's own CloudFront distribution
 * may use /api/. The distribution adds the custom origin header CB_ORIGIN_HEADER with a shared
 * secret (deploy/'s SSM parameter /otter/<env>/chatbot/origin-secret); a request without it,
 * or with another value, went around the distribution (another CloudFront distribution reaching
 * the ALB through the same origin-facing prefix list, or anything else that reaches the pods).
 *
 * The secret is one value, or two separated by ',' while it is being rotated (the old and the
 * new value are both accepted). Pure logic, no allocation.
 */

#define CB_ORIGIN_HEADER "X-Otter-Origin-Verify"
#define CB_ORIGIN_MIN 16u    /* bytes of one value, at least */
#define CB_ORIGIN_MAX 256u   /* bytes of one value, at most (CloudFront's header value limit is larger) */
#define CB_ORIGIN_VALUES 2u  /* values accepted at once (rotation) */

struct cb_origin {
    size_t n;                                     /* values: 1 or 2 */
    size_t len[CB_ORIGIN_VALUES];
    char value[CB_ORIGIN_VALUES][CB_ORIGIN_MAX];  /* not NUL-terminated */
};

/*
 * Parses the |len| bytes of |spec| (the file of --origin-secret-file or CHATBOT_ORIGIN_SECRET)
 * into |out|: one value, or two separated by a ','. One trailing "\n" or "\r\n" is dropped (a
 * file written by echo). Each value is CB_ORIGIN_MIN..CB_ORIGIN_MAX bytes of visible ASCII
 * other than ',' (0x21-0x7e: what an HTTP header value carries unchanged, and what Python's
 * secrets.token_urlsafe() makes); two equal values are one.
 *
 * Returns 0, or AG_EINVAL with the reason in |err| (|cap| bytes, NUL-terminated; it names the
 * value by its position and the byte by its offset, never the secret's text). |out| is zeroed
 * on error.
 */
AG_NODISCARD int cb_origin_parse(const char *spec, size_t len, struct cb_origin *out, char *err,
                                 size_t cap);

/*
 * Returns 1 when the |len| bytes of |header| (the received header's value; NULL: absent) equal
 * one of |o|'s values, else 0. Every value is compared, each in time independent of where the
 * bytes differ (CRYPTO_memcmp after a length check): the time tells a client at most whether
 * its length was right, which the secret's fixed length gives away anyway.
 */
int cb_origin_match(const struct cb_origin *o, const char *header, size_t len);

/* Overwrites the values in |o| (OPENSSL_cleanse) and zeroes it. */
void cb_origin_clear(struct cb_origin *o);

#endif /* CB_ORIGIN_H */
