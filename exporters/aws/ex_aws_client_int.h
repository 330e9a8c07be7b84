#ifndef EX_AWS_CLIENT_INT_H
#define EX_AWS_CLIENT_INT_H

#include "ex_aws_client.h"

/*
 * Test hooks of ex_aws_client, for the unit tests only.
 */

/*
 * Multiplies the random factor of the full-jitter backoff by |scale| (1 by default; 0 = retry at
 * once unless the server sent Retry-After), so retry tests take milliseconds, not seconds.
 * Retry-After is still honoured as it is.
 */
void ex_aws_client_set_jitter_scale(struct ex_aws_client *cl, double scale);

#endif /* EX_AWS_CLIENT_INT_H */
