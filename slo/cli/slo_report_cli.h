#ifndef SLO_REPORT_CLI_H
#define SLO_REPORT_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "ag_buf.h"
#include "ag_err.h"

/*
 * The sources of `slo report` other than an events file (internal to slo/cli).
 */

/*
 * Writes the /v1/slo URL of |base| into |out| (|cap| bytes): |base| itself when it ends in
 * "/v1/slo", else |base| without trailing slashes + "/v1/slo". |base| must be http:// or
 * https://, with no other path, query or fragment. Returns 0, AG_EINVAL or AG_ETOOBIG.
 */
AG_NODISCARD int slo_agent_url(const char *base, char *out, size_t cap);

/*
 * GETs the /v1/slo URL of |base| (slo_agent_url) with a connect and total timeout of |timeout_s|
 * seconds, into |body| (initialised here; the caller cleans it up). Returns 0 on a 200 answer,
 * else 2 after printing to |err| why (connection refused, a timeout, HTTP status and the JSON
 * error text of the body).
 */
int slo_agent_fetch(const char *base, long timeout_s, struct ag_buf *body, FILE *err);

#endif /* SLO_REPORT_CLI_H */
