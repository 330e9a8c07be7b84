/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS standard retry mode. The code lists are botocore's (data/_retry.json, standard.py); the
 * modelled retryable errors of the services Otter calls (Bedrock ModelNotReadyException, STS
 * IDPCommunicationError) are included.
 */
#include "ex_aws_retry.h"

#include <stddef.h>
#include <string.h>

static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
};

static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "ModelNotReadyException",
    "IDPCommunicationError",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(code, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

enum ex_aws_failure ex_aws_retry_classify(int http_status, const char *error_code, int timed_out)
{
    if (timed_out) {
        return EX_AWS_TIMEOUT;
    }
    if (http_status >= 200 && http_status < 300) {
        return EX_AWS_OK;
    }
    if (error_code != NULL && error_code[0] != '\0') {
        if (in_list(error_code, throttling_codes,
                    sizeof(throttling_codes) / sizeof(throttling_codes[0]))) {
            return EX_AWS_THROTTLED;
        }
        if (in_list(error_code, transient_codes,
                    sizeof(transient_codes) / sizeof(transient_codes[0]))) {
            return EX_AWS_TRANSIENT;
        }
    }
    if (http_status == 0 || http_status == 500 || http_status == 502 || http_status == 503 ||
        http_status == 504) {
        return EX_AWS_TRANSIENT; /* no response at all is a connection error */
    }
    if (http_status == 429) {
        return EX_AWS_THROTTLED;
    }
    return EX_AWS_PERMANENT;
}

void ex_aws_retry_quota_init(struct ex_aws_retry_quota *q)
{
    q->tokens = EX_AWS_RETRY_QUOTA;
}

int ex_aws_retry_should(struct ex_aws_retry_quota *q, enum ex_aws_failure f, unsigned attempt,
                        unsigned max_attempts, unsigned *cost)
{
    *cost = 0;
    if (f == EX_AWS_OK || f == EX_AWS_PERMANENT || attempt >= max_attempts) {
        return 0;
    }
    unsigned c = f == EX_AWS_TIMEOUT ? EX_AWS_RETRY_TIMEOUT_COST : EX_AWS_RETRY_COST;
    if (q->tokens < c) {
        return 0;
    }
    q->tokens -= c;
    *cost = c;
    return 1;
}

void ex_aws_retry_success(struct ex_aws_retry_quota *q, unsigned cost)
{
    q->tokens += cost > 0 ? cost : 1;
    if (q->tokens > EX_AWS_RETRY_QUOTA) {
        q->tokens = EX_AWS_RETRY_QUOTA;
    }
}

uint64_t ex_aws_retry_backoff_ms(unsigned attempt, double rand01, uint64_t retry_after_ms)
{
    uint64_t cap = EX_AWS_RETRY_MAX_BACKOFF_MS;
    if (attempt >= 1 && attempt <= 15) {
        uint64_t base = 1000ull << (attempt - 1);
        cap = base < cap ? base : cap;
    } else if (attempt == 0) {
        cap = 0;
    }
    if (rand01 < 0) {
        rand01 = 0;
    }
    if (rand01 >= 1) {
        rand01 = 0.999999;
    }
    uint64_t wait = (uint64_t)(rand01 * (double)cap);
    if (retry_after_ms > wait) {
        wait = retry_after_ms < EX_AWS_RETRY_MAX_BACKOFF_MS ? retry_after_ms
                                                            : EX_AWS_RETRY_MAX_BACKOFF_MS;
    }
    return wait;
}
