#ifndef EX_AWS_RETRY_H
#define EX_AWS_RETRY_H

#include <stdint.h>

/*
 * The AWS SDKs' "standard" retry mode (specs/aws.md §8, from botocore's retries/standard.py and
 * quota.py): what is retryable, full-jitter exponential backoff, and the retry quota that stops
 * a client from piling retries onto a service that is failing. Pure logic: the HTTP client asks
 * it, after each attempt, whether and when to try again.
 */

#define EX_AWS_RETRY_MAX_ATTEMPTS 3      /* including the first; ADOT's max_retries 2 + 1 */
#define EX_AWS_RETRY_QUOTA        500    /* tokens in a client's bucket */
#define EX_AWS_RETRY_COST         5      /* a retry after an error */
#define EX_AWS_RETRY_TIMEOUT_COST 10     /* a retry after a connect or read timeout */
#define EX_AWS_RETRY_MAX_BACKOFF_MS 20000

enum ex_aws_failure {
    EX_AWS_OK = 0,         /* the attempt succeeded */
    EX_AWS_PERMANENT = 1,  /* not retryable (validation, auth, not found...) */
    EX_AWS_TRANSIENT = 2,  /* 500/502/503/504, RequestTimeout..., connection errors */
    EX_AWS_THROTTLED = 3,  /* a throttling error code, or 429 */
    EX_AWS_TIMEOUT = 4,    /* connect or read timeout: retryable, costs more */
};

/* A client's retry quota. Starts full; not thread-safe (one per event loop). */
struct ex_aws_retry_quota {
    unsigned tokens;
};

/*
 * Classifies an attempt's outcome: |http_status| (0 when no response came), |error_code| from
 * ex_aws_error_parse() (may be NULL or ""), |timed_out| when the transport timed out.
 */
enum ex_aws_failure ex_aws_retry_classify(int http_status, const char *error_code, int timed_out);

void ex_aws_retry_quota_init(struct ex_aws_retry_quota *q);

/*
 * After failed attempt number |attempt| (1 = the first) of at most |max_attempts|: returns 1 and
 * takes the retry's cost from the quota (written to |*cost|, to give back on success) when
 * another attempt should be made; 0 when the failure is permanent, the attempts are used up, or
 * the quota cannot pay.
 */
int ex_aws_retry_should(struct ex_aws_retry_quota *q, enum ex_aws_failure f, unsigned attempt,
                        unsigned max_attempts, unsigned *cost);

/*
 * Records a successful attempt: refunds |cost| (what its retry took; 0 when none), or adds 1
 * token when it needed no retry, up to the full quota.
 */
void ex_aws_retry_success(struct ex_aws_retry_quota *q, unsigned cost);

/*
 * The wait before attempt |attempt| + 1, in ms: |rand01| (uniform in [0, 1), from the caller)
 * × min(2^(attempt-1) s, 20 s). A server's Retry-After (|retry_after_ms| > 0) is honoured when
 * longer, capped at 20 s.
 */
uint64_t ex_aws_retry_backoff_ms(unsigned attempt, double rand01, uint64_t retry_after_ms);

#endif /* EX_AWS_RETRY_H */
