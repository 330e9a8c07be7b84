/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The standard retry mode: classification, the quota's arithmetic (500 tokens, 5 per retry,
 * 10 after a timeout, refunds) and full-jitter backoff, against numbers worked out by hand
 * from botocore's rules (specs/aws.md §8).
 */
#include "ag_test.h"
#include "ex_aws_retry.h"

static void test_classify(void)
{
    ASSERT_EQ(ex_aws_retry_classify(200, NULL, 0), EX_AWS_OK);
    ASSERT_EQ(ex_aws_retry_classify(400, "ThrottlingException", 0), EX_AWS_THROTTLED);
    ASSERT_EQ(ex_aws_retry_classify(400, "ThrottledException", 0), EX_AWS_THROTTLED);
    ASSERT_EQ(ex_aws_retry_classify(429, "", 0), EX_AWS_THROTTLED);
    ASSERT_EQ(ex_aws_retry_classify(503, NULL, 0), EX_AWS_TRANSIENT);
    ASSERT_EQ(ex_aws_retry_classify(500, "InternalFailure", 0), EX_AWS_TRANSIENT);
    ASSERT_EQ(ex_aws_retry_classify(400, "RequestTimeout", 0), EX_AWS_TRANSIENT);
    ASSERT_EQ(ex_aws_retry_classify(400, "ModelNotReadyException", 0), EX_AWS_TRANSIENT);
    ASSERT_EQ(ex_aws_retry_classify(0, NULL, 0), EX_AWS_TRANSIENT);
    ASSERT_EQ(ex_aws_retry_classify(0, NULL, 1), EX_AWS_TIMEOUT);
    ASSERT_EQ(ex_aws_retry_classify(400, "InvalidParameterException", 0), EX_AWS_PERMANENT);
    ASSERT_EQ(ex_aws_retry_classify(403, "AccessDeniedException", 0), EX_AWS_PERMANENT);
    ASSERT_EQ(ex_aws_retry_classify(404, NULL, 0), EX_AWS_PERMANENT);
}

static void test_attempts_and_quota(void)
{
    struct ex_aws_retry_quota q;
    unsigned cost;
    ex_aws_retry_quota_init(&q);
    ASSERT_UEQ(q.tokens, 500);
    /* Attempt 1 and 2 of 3 may retry; attempt 3 may not. */
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_TRANSIENT, 1, 3, &cost), 1);
    ASSERT_UEQ(cost, 5);
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_TIMEOUT, 2, 3, &cost), 1);
    ASSERT_UEQ(cost, 10);
    ASSERT_UEQ(q.tokens, 485);
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_THROTTLED, 3, 3, &cost), 0);
    ASSERT_UEQ(cost, 0);
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_PERMANENT, 1, 3, &cost), 0);
    ASSERT_UEQ(q.tokens, 485);
    /* A success refunds its retry's cost, or adds 1, never past 500. */
    ex_aws_retry_success(&q, 10);
    ASSERT_UEQ(q.tokens, 495);
    ex_aws_retry_success(&q, 0);
    ASSERT_UEQ(q.tokens, 496);
    for (int i = 0; i < 10; i++) {
        ex_aws_retry_success(&q, 5);
    }
    ASSERT_UEQ(q.tokens, 500);
    /* Drained: 100 retries of 5 empty the bucket; the 101st is refused. */
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_TRANSIENT, 1, 3, &cost), 1);
    }
    ASSERT_UEQ(q.tokens, 0);
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_TRANSIENT, 1, 3, &cost), 0);
    /* 4 tokens cannot pay a timeout's 10 nor a retry's 5. */
    q.tokens = 4;
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_TIMEOUT, 1, 3, &cost), 0);
    ASSERT_EQ(ex_aws_retry_should(&q, EX_AWS_THROTTLED, 1, 3, &cost), 0);
}

static void test_backoff(void)
{
    /* rand01 x min(2^(attempt-1) s, 20 s). */
    ASSERT_UEQ(ex_aws_retry_backoff_ms(1, 0.5, 0), 500);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(2, 0.5, 0), 1000);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(3, 0.25, 0), 1000);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(5, 0.5, 0), 8000);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(6, 0.5, 0), 10000); /* 32 s capped at 20 s */
    ASSERT_UEQ(ex_aws_retry_backoff_ms(40, 0.5, 0), 10000);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(1, 0.0, 0), 0);
    ASSERT(ex_aws_retry_backoff_ms(1, 1.0, 0) < 1000);
    /* Retry-After: used when longer than the jitter, capped at 20 s. */
    ASSERT_UEQ(ex_aws_retry_backoff_ms(1, 0.5, 3000), 3000);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(5, 0.5, 3000), 8000);
    ASSERT_UEQ(ex_aws_retry_backoff_ms(1, 0.5, 60000), 20000);
}

AG_TEST_MAIN(AG_TEST_CASE(test_classify), AG_TEST_CASE(test_attempts_and_quota),
             AG_TEST_CASE(test_backoff))
