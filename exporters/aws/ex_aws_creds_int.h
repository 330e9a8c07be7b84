#ifndef EX_AWS_CREDS_INT_H
#define EX_AWS_CREDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "ex_aws_error.h"

/*
 * The pure parts of the credentials chain (ex_aws_creds.c), exposed to the unit tests and the
 * fuzzer only: the STS XML extractor, the container / IMDS JSON parsers, ISO-8601 times, the
 * shared-file INI reader, RoleSessionName generation and the container URL rule. No I/O, no
 * event loop. Nothing outside exporters/aws and tests/ includes this header.
 */

#define EX_AWS_CREDS_MAX_DOC       (64u * 1024u) /* STS / container / IMDS answers over this fail */
#define EX_AWS_CREDS_MAX_XML_DEPTH 16
#define EX_AWS_CREDS_MAX_INI       (1024u * 1024u) /* shared files over this are refused */
#define EX_AWS_CREDS_SESSION_MAX   64

/* One set of credentials; every string owned, wiped and freed by ex_aws_creds_parsed_cleanup(). */
struct ex_aws_creds_parsed {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL = none */
    int64_t expiration_ms; /* Unix ms; 0 = does not expire */
};

/* Wipes and frees every string of |p| and leaves it zeroed. Safe on a zeroed struct. */
void ex_aws_creds_parsed_cleanup(struct ex_aws_creds_parsed *p);

/*
 * Parses an ISO-8601 / RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"
 * (|len| bytes, not NUL-terminated) into Unix ms; the fraction is truncated to milliseconds.
 * Returns 0, or AG_EPROTO for anything else (out-of-range fields included).
 */
AG_NODISCARD int ex_aws_creds_parse_time(const char *s, size_t len, int64_t *out);

/*
 * Extracts the credentials of an STS AssumeRoleWithWebIdentityResponse or AssumeRoleResponse
 * (Result/Credentials: AccessKeyId, SecretAccessKey, SessionToken, Expiration), or the Code and
 * Message of an ErrorResponse, from |xml| (|len| bytes). A strict scanner: one root element, tags
 * balanced, at most EX_AWS_CREDS_MAX_XML_DEPTH deep, no DTD / CDATA / processing instruction
 * after the prolog, the five named entities and numeric references only. Borrows |xml|; fills
 * |*out| (caller-owned, released with ex_aws_creds_parsed_cleanup()) on success and |*err| for an
 * ErrorResponse (printable ASCII, "" when absent).
 *
 * Returns 0 on success, or one of these negative codes (|*out| is then zeroed):
 *   AG_EUPSTREAM  an ErrorResponse (|*err| says which)
 *   AG_EPROTO     malformed XML, another document, a missing or bad credential element
 *   AG_ETOOBIG    |len| over EX_AWS_CREDS_MAX_DOC
 *   AG_ENOMEM     out of memory
 */
AG_NODISCARD int ex_aws_creds_parse_sts_xml(const char *xml, size_t len,
                                            struct ex_aws_creds_parsed *out,
                                            struct ex_aws_error *err);

enum ex_aws_creds_json_kind {
    EX_AWS_CREDS_JSON_CONTAINER = 0, /* {"AccessKeyId","SecretAccessKey","Token","Expiration"} */
    EX_AWS_CREDS_JSON_IMDS = 1,      /* the same plus "Code": "Success"; Token required */
};

/*
 * Parses the JSON credentials document of the container endpoint or IMDS (|len| bytes of
 * |body|, borrowed). Fills |*out| (caller-owned) and, on failure, writes a reason without any
 * secret to |why|.
 *
 * Returns 0 on success, or one of these negative codes (|*out| is then zeroed):
 *   AG_EPROTO     not a JSON object, a missing or non-string field, a bad Expiration
 *   AG_EUPSTREAM  IMDS answered a Code other than "Success"
 *   AG_ETOOBIG    |len| over EX_AWS_CREDS_MAX_DOC
 *   AG_ENOMEM     out of memory
 */
AG_NODISCARD int ex_aws_creds_parse_json(const char *body, size_t len,
                                         enum ex_aws_creds_json_kind kind,
                                         struct ex_aws_creds_parsed *out, char *why, size_t whylen);

/* What the selected profile of the shared files holds; strings owned, see _profile_cleanup(). */
struct ex_aws_creds_profile {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    char *region;
    bool found;                 /* a section of that profile exists in some file */
    char unsupported[64];       /* the first key Otter does not support ("role_arn"), or "" */
    char unsupported_file[256]; /* the file it was in */
};

/* Wipes and frees the strings of |p| and leaves it zeroed. Safe on a zeroed struct. */
void ex_aws_creds_profile_cleanup(struct ex_aws_creds_profile *p);

/*
 * Reads one INI file's text (|len| bytes of |text|, borrowed) for profile |profile|: sections
 * "[name]" in a credentials file, "[profile name]" (and "[default]") when |config| is true; keys
 * aws_access_key_id, aws_secret_access_key, aws_session_token, region (case-insensitive), each
 * only set in |*out| when not already set (so the credentials file, read first, wins). Keys of
 * role, process and SSO profiles (role_arn, source_profile, credential_source,
 * credential_process, web_identity_token_file, sso_*) are recorded in out->unsupported.
 * |file| names the file in error texts.
 *
 * Returns 0, or one of these negative codes (|why| then says file, line and reason):
 *   AG_EINVAL   a line that is neither a section, a key = value, a comment nor a continuation
 *   AG_ETOOBIG  |len| over EX_AWS_CREDS_MAX_INI
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int ex_aws_creds_ini_parse(const char *text, size_t len, bool config, const char *file,
                                        const char *profile, struct ex_aws_creds_profile *out,
                                        char *why, size_t whylen);

/*
 * Writes "otterd-<host>-<epoch_s>" to |out| (|cap| bytes, at least EX_AWS_CREDS_SESSION_MAX + 1),
 * with every byte of |host| outside [A-Za-z0-9_+=,.@-] replaced by '-' and |host| shortened so
 * that the whole name fits in 64 characters (the epoch is kept). An empty |host| gives
 * "otterd-<epoch_s>".
 */
void ex_aws_creds_session_name(const char *host, int64_t epoch_s, char *out, size_t cap);

/* Whether |name| is a valid RoleSessionName: 2 to 64 characters of [A-Za-z0-9_+=,.@-]. */
bool ex_aws_creds_session_name_valid(const char *name);

/*
 * Whether |url| may serve container credentials: any host over https; over plain http only
 * loopback (127.0.0.0/8, ::1, localhost), 169.254.170.2, 169.254.170.23 and fd00:ec2::23. A URL
 * with user info, no host or another scheme is refused.
 */
bool ex_aws_creds_container_url_allowed(const char *url);

#endif /* EX_AWS_CREDS_INT_H */
