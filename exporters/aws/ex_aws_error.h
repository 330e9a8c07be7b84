#ifndef EX_AWS_ERROR_H
#define EX_AWS_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "ag_err.h"

/*
 * AWS error responses: where the error code and message sit depends on the protocol
 * (specs/aws.md §4). The parsed code drives the retry decision (ex_aws_retry) and the counters;
 * code and message go to logs with the request id. Neither can carry a secret: they come from
 * the service's answer.
 */

enum ex_aws_protocol {
    EX_AWS_REST_JSON = 0, /* X-Ray, Bedrock Runtime: x-amzn-ErrorType header, body __type */
    EX_AWS_JSON = 1,      /* AWS JSON 1.0/1.1 (CloudWatch, CloudWatch Logs): body __type */
    EX_AWS_QUERY = 2,     /* Query/XML (STS, SNS): <ErrorResponse><Error><Code>, <Message> */
};

struct ex_aws_error {
    char code[128];    /* e.g. "ThrottlingException"; "" when none was found */
    char message[512]; /* the service's message, shortened to fit; "" when none */
};

/*
 * Parses an error response of |protocol|: |error_type| is the x-amzn-ErrorType header value or
 * NULL, |body| the response body (|len| bytes, not NUL-terminated). Fills |out|; anything not
 * found stays "". Returns 0, or AG_ENOTFOUND when no error code was found at all.
 */
AG_NODISCARD int ex_aws_error_parse(enum ex_aws_protocol protocol, const char *error_type,
                                    const char *body, size_t len, struct ex_aws_error *out);

/*
 * Whether an AWS error code means the credentials should be refreshed (specs/aws.md §3.6:
 * ExpiredToken, SignatureDoesNotMatch, InvalidClientTokenId, ...). Case-sensitive; NULL is no.
 */
bool ex_aws_error_is_auth(const char *code);

#endif /* EX_AWS_ERROR_H */
