#ifndef EX_AWS_CREDS_H
#define EX_AWS_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"
#include "ex_aws_http.h"
#include "ex_aws_sigv4.h"

/*
 * The AWS credentials chain (specs/aws.md §3), asynchronous on the service's event loop:
 *
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN];
 *   2. shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE
 *      (~/.aws/config), profile AWS_PROFILE or "default" (static keys; region from config);
 *   3. web identity (IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE [+ AWS_ROLE_SESSION_NAME]
 *      -> STS AssumeRoleWithWebIdentity (unsigned form POST) on the regional endpoint, the token
 *      file re-read on every call;
 *   4. container: AWS_CONTAINER_CREDENTIALS_FULL_URI (+ AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
 *      re-read on every fetch, or AWS_CONTAINER_AUTHORIZATION_TOKEN) -- EKS Pod Identity -- or
 *      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS, http://169.254.170.2<uri>); plain http only
 *      to loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23;
 *   5. IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true): token PUT, role name, role credentials,
 *      at AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254, 1 s timeouts; an
 *      unreachable IMDS is remembered as unavailable.
 *
 * The first provider whose variables are present is chosen (a provider that is configured but
 * fails is an error, never a silent fall-through: the SDKs' rule). Then, when role_arn is set,
 * STS AssumeRole signed with those credentials gives the credentials handed out (ADOT's
 * role_arn).
 *
 * Credentials are cached: a background refresh starts 15 minutes before expiry, cached values
 * are served until 5 minutes before it, and callers arriving while a refresh runs wait for that
 * one refresh (single flight). ex_aws_creds_invalidate() forces one refresh after an auth error,
 * at most once per 60 s. No secret, session token or web identity / authorization token ever
 * appears in a log line, an error text or a metric; the module wipes them when it drops them.
 *
 * Everything runs on one event loop; nothing here is thread-safe.
 */

#define EX_AWS_CREDS_REFRESH_BEFORE_MS    (15 * 60 * 1000) /* background refresh starts */
#define EX_AWS_CREDS_MANDATORY_BEFORE_MS  (5 * 60 * 1000)  /* cache no longer served */
#define EX_AWS_CREDS_INVALIDATE_EVERY_MS  (60 * 1000)      /* forced refreshes at most this often */

struct ex_aws_creds;

/* Every field may be 0 / NULL. */
struct ex_aws_creds_options {
    const char *region;           /* STS region; NULL = AWS_REGION, AWS_DEFAULT_REGION, the
                                     profile's region, else "us-east-1" */
    const char *profile;          /* set: use the shared-file provider with this profile only */
    const char *role_arn;         /* set: AssumeRole on top of the chain */
    const char *external_id;      /* AssumeRole ExternalId */
    const char *role_session_name; /* NULL = "otterd-<hostname>-<epoch>", at most 64 chars */
    const char *sts_endpoint;     /* NULL = AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else
                                     https://sts.<region>.amazonaws.com(.cn) */
    bool no_verify_ssl;
    const char *proxy;
    int64_t (*now_ms)(void);      /* the wall clock in Unix ms; NULL = the real one (tests) */
};

/* Credentials handed to a caller; valid only during the callback. */
struct ex_aws_creds_value {
    struct ex_aws_credentials creds; /* access key id, secret, session token (or NULL) */
    int64_t expiration_ms;           /* Unix ms; 0 = does not expire */
    const char *provider;            /* "environment", "profile", "web-identity", "container",
                                        "imds", "assume-role" */
};

/*
 * |rc| 0: |value| holds usable credentials. Otherwise |value| is NULL and |why| says what failed
 * in words fit for a log (never a secret): AG_ENOTFOUND (no provider configured), AG_EUPSTREAM
 * (STS / the endpoint refused), AG_ETIMEDOUT, AG_EIO, AG_EPROTO (an answer that could not be
 * parsed), AG_EINVAL (a bad profile or file), AG_EAGAIN (cancelled: the chain is being freed).
 */
typedef void ex_aws_creds_fn(void *arg, int rc, const struct ex_aws_creds_value *value,
                             const char *why);

/*
 * Creates a chain that fetches through |http| (borrowed; must outlive the chain) on |base|.
 * Reads the environment now (a later change of the environment is not seen); files and token
 * files are read at each fetch. On failure writes a reason to |err|.
 * Returns 0, or AG_EINVAL (bad options), AG_ENOMEM.
 */
AG_NODISCARD int ex_aws_creds_new(struct event_base *base, struct ex_aws_http *http,
                                  const struct ex_aws_creds_options *opts,
                                  struct ex_aws_creds **out, char *err, size_t errlen);

/*
 * Asks for credentials. When the cache is good, |fn| runs before this returns; otherwise it runs
 * from the loop once the (single, shared) refresh has finished.
 */
void ex_aws_creds_get(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg);

/* Withdraws every pending ex_aws_creds_get() of (|fn|, |arg|): they will not run. */
void ex_aws_creds_cancel(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg);

/*
 * Reports an auth error (ExpiredToken, SignatureDoesNotMatch, ...: ex_aws_error_is_auth()):
 * the next get refreshes, unless a forced refresh happened less than 60 s ago.
 */
void ex_aws_creds_invalidate(struct ex_aws_creds *c);


/* The provider chosen at creation ("environment", ..., "none"); with role_arn the base one. */
const char *ex_aws_creds_provider(const struct ex_aws_creds *c);

/* Completed refreshes and failed ones, for /metrics. */
uint64_t ex_aws_creds_refreshes(const struct ex_aws_creds *c);
uint64_t ex_aws_creds_failures(const struct ex_aws_creds *c);

/* The region found from options, environment and profile; "" when none was (ask IMDS). */
const char *ex_aws_creds_region(const struct ex_aws_creds *c);

/*
 * Asks IMDSv2 for the instance's region (placement/region); |fn| gets rc 0 and the region, or a
 * negative code and NULL. Runs from the loop.
 */
typedef void ex_aws_region_fn(void *arg, int rc, const char *region);
void ex_aws_creds_imds_region(struct ex_aws_creds *c, ex_aws_region_fn *fn, void *arg);

/* Cancels pending gets (they do not run), wipes the cache and frees the chain. NULL: no-op. */
void ex_aws_creds_free(struct ex_aws_creds *c);

#endif /* EX_AWS_CREDS_H */
