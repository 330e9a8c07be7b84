#ifndef EX_AWS_SIGV4_H
#define EX_AWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"

/*
 * AWS Signature Version 4 (header signing) on OpenSSL, with no I/O: the caller gives the request
 * as it will go on the wire, and gets back the canonical request, the string to sign, the
 * signature, the Authorization value and the headers to add (the AWS SigV4 rules, with the path
 * double-encoded for every service but S3, as the SDKs do).
 */

#define EX_AWS_SIGV4_ALGORITHM    "AWS4-HMAC-SHA256"
#define EX_AWS_SIGV4_DATE_LEN     16             /* YYYYMMDDTHHMMSSZ */
#define EX_AWS_SIGV4_HEX_LEN      64             /* a hex SHA-256 */
#define EX_AWS_SIGV4_MAX_INPUT    (256u * 1024u) /* method+path+query+headers, in bytes */
#define EX_AWS_SIGV4_MAX_ADDED    3
#define EX_AWS_SIGV4_UNSIGNED     "UNSIGNED-PAYLOAD"
#define EX_AWS_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Flags of struct ex_aws_sigv4_request; ex_aws_sigv4_service_flags() gives the usual ones. */
enum ex_aws_sigv4_flag {
    /* Keep "." / ".." segments and repeated slashes in the path (S3). */
    EX_AWS_SIGV4_NO_NORMALIZE = 1u << 0,
    /* Use the wire path as it is instead of encoding it again (S3: encoded once). */
    EX_AWS_SIGV4_NO_PATH_ENCODE = 1u << 1,
    /* Add x-amz-content-sha256 (the payload hash) to the request and sign it (S3). */
    EX_AWS_SIGV4_CONTENT_SHA256 = 1u << 2,
    /* Add x-amz-security-token to the request but leave it out of the signature. */
    EX_AWS_SIGV4_UNSIGNED_TOKEN = 1u << 3,
};

/* One request header; both strings NUL-terminated. A name may repeat. */
struct ex_aws_header {
    const char *name;
    const char *value;
};

/* Credentials for one signature; all borrowed. */
struct ex_aws_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" for long-term credentials */
};

/* The request to sign; all pointers borrowed for the duration of the call. */
struct ex_aws_sigv4_request {
    const char *method; /* "GET", "POST"...; upper-cased in the canonical request */
    const char *path;   /* the path as sent on the wire (percent-encoded); NULL or "" = "/" */
    const char *query;  /* the query as sent, without '?'; NULL or "" = none */
    const struct ex_aws_header *headers; /* must contain Host (with :port when not default) */
    size_t n_headers;
    const uint8_t *payload; /* the exact body bytes; may be NULL when payload_len is 0 */
    size_t payload_len;
    /* Lowercase hex SHA-256 of the body, or EX_AWS_SIGV4_UNSIGNED: used instead of hashing
     * |payload| when non-NULL. Otherwise an x-amz-content-sha256 request header is used when
     * present (as botocore does), else the hash of |payload|. */
    const char *payload_hash;
    const char *service;  /* signing name: "logs", "xray", "bedrock", "s3"... */
    const char *region;   /* "us-east-1" */
    const char *amz_date; /* the signing time, ISO 8601 basic: YYYYMMDDTHHMMSSZ (UTC) */
    unsigned flags;       /* enum ex_aws_sigv4_flag bits */
};

/* A header the caller adds to the request it sends (besides Authorization). */
struct ex_aws_sigv4_added {
    const char *name; /* static: "X-Amz-Date", "X-Amz-Security-Token", "x-amz-content-sha256" */
    char *value;      /* owned by the result */
};

/*
 * The output of a signature. Every string is owned by the result and released (and wiped, as
 * the canonical request may hold a session token) by ex_aws_sigv4_result_cleanup().
 */
struct ex_aws_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers; /* "content-type;host;x-amz-date" */
    char *authorization;  /* the Authorization header value: secret, never log it */
    char signature[EX_AWS_SIGV4_HEX_LEN + 1];
    struct ex_aws_sigv4_added added[EX_AWS_SIGV4_MAX_ADDED];
    size_t n_added;
};

struct ex_aws_sigv4_signer;

/*
 * Returns the flags the signing name |service| needs: S3 ("s3") skips normalising and
 * re-encoding the path and signs x-amz-content-sha256; every other service gets 0.
 */
unsigned ex_aws_sigv4_service_flags(const char *service);

/*
 * Creates a signer that caches signing keys per (secret, date, region, service); it is not
 * thread-safe (one per thread or under the caller's lock). Returns a new object in |*out|; the
 * caller frees it with ex_aws_sigv4_signer_free().
 *
 * Returns 0 on success, or one of these negative codes:
 *   AG_ENOMEM  out of memory, or OpenSSL could not provide HMAC-SHA256
 */
AG_NODISCARD int ex_aws_sigv4_signer_new(struct ex_aws_sigv4_signer **out);

/*
 * Frees |signer| and wipes its cached keys. NULL is a no-op.
 */
void ex_aws_sigv4_signer_free(struct ex_aws_sigv4_signer *signer);

/*
 * Signs |req| with |creds| and fills |*out| (caller-owned storage, released with
 * ex_aws_sigv4_result_cleanup()). |signer| may be NULL (no key cache). Borrows |req| and
 * |creds|.
 *
 * The headers signed are every header of |req| except hop-by-hop and volatile ones (connection,
 * expect, keep-alive, proxy-authenticate, proxy-authorization, te, trailer, transfer-encoding,
 * upgrade, user-agent, x-amzn-trace-id: botocore's list) and authorization. The signer's own
 * X-Amz-Date, X-Amz-Security-Token (temporary credentials) and x-amz-content-sha256
 * (EX_AWS_SIGV4_CONTENT_SHA256) replace any copy in |req| and are listed in out->added; the
 * caller sends them with Authorization: out->authorization. Pass only the headers to sign:
 * Content-Length, for one, is signed when passed (the AWS suite does so). A Date header is signed
 * as given (botocore would rewrite it to the signing time); Otter's clients send X-Amz-Date only.
 * No output or error ever holds the secret key.
 *
 * Returns 0 on success, or one of these negative codes (|*out| is then empty):
 *   AG_EINVAL   a missing field, no Host header, a bad amz_date or payload_hash, a header name
 *               or value with a control character other than tab / CR / LF
 *   AG_ETOOBIG  method, path, query and headers together over EX_AWS_SIGV4_MAX_INPUT
 *   AG_ENOMEM   out of memory (or OpenSSL failed)
 */
AG_NODISCARD int ex_aws_sigv4_sign(struct ex_aws_sigv4_signer *signer,
                                   const struct ex_aws_credentials *creds,
                                   const struct ex_aws_sigv4_request *req,
                                   struct ex_aws_sigv4_result *out);

/*
 * Frees and wipes everything in |res| and leaves it zeroed. Safe on a zeroed result.
 */
void ex_aws_sigv4_result_cleanup(struct ex_aws_sigv4_result *res);

/*
 * Writes the canonical URI of |path| (wire form, |len| bytes) to |out|, as the signer does for
 * |flags|. |out| is caller storage (an initialised struct ag_buf, appended to).
 *
 * Returns 0 on success, or AG_ETOOBIG / AG_ENOMEM from the buffer (which is then freed).
 */
AG_NODISCARD int ex_aws_sigv4_canonical_uri(const char *path, size_t len, unsigned flags,
                                            struct ag_buf *out);

/*
 * Writes the canonical query string of |query| (wire form without '?', |len| bytes) to |out|:
 * pairs split at the first '=', percent-decoded, re-encoded with the RFC 3986 unreserved set,
 * sorted by key then value, joined with '&'. Empty pairs ("a&&b") are dropped.
 *
 * Returns 0 on success, or one of these negative codes (the buffer is then freed):
 *   AG_ETOOBIG / AG_ENOMEM
 */
AG_NODISCARD int ex_aws_sigv4_canonical_query(const char *query, size_t len, struct ag_buf *out);

#endif /* EX_AWS_SIGV4_H */
