#ifndef SLO_REPORT_CLI_H
#define SLO_REPORT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_def.h"
#include "slo_events.h"

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

/* --from cloudwatch: where and how (every string borrowed; NULL: the default). */
struct slo_cw_fetch_opts {
    const char *region;    /* else AWS_REGION, AWS_DEFAULT_REGION, the profile's */
    const char *endpoint;  /* else AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL, the region's */
    const char *namespace; /* else SLO_CW_NAMESPACE */
    long timeout_s;        /* per attempt */
};

/* One GetMetricData time range: [start_ms, end_ms) at |period_s|. */
struct slo_cw_span {
    int64_t start_ms, end_ms;
    int period_s;
};

/*
 * Splits [from_ms, to_ms) into the ranges CloudWatch still holds at a period, given the current
 * time |now_ms|: 1-minute sums for the last 15 days, 5-minute sums up to 63 days back, hourly
 * sums before that (CloudWatch's retention). Each range starts at |from_ms| or the previous
 * range's end, aligned down to its period; the last ends at |to_ms| aligned down to a minute.
 * Returns the number of ranges written to |out| (0 to 3), oldest first.
 */
int slo_cw_periods(int64_t from_ms, int64_t to_ms, int64_t now_ms, struct slo_cw_span out[3]);

/*
 * Reads the sums of GoodCount and TotalCount (dimensions SLO and Service, slo_cw_service) of
 * every SLO of |d| over [from_ms, to_ms) from CloudWatch (GetMetricData, AWS JSON 1.0, signed
 * with the credentials chain; ranges and periods from slo_cw_periods(|now_ms|)) and appends one
 * observation per SLO and period with data to |ev| (unsorted; line 0). Returns 0, or 2 after
 * printing why to |err| (credentials, the endpoint's error code and message, a malformed answer,
 * a period where GoodCount exceeds TotalCount).
 */
int slo_cw_fetch(const struct slo_defs *d, const struct slo_cw_fetch_opts *o, int64_t from_ms,
                 int64_t to_ms, int64_t now_ms, struct slo_events *ev, FILE *err);

#endif /* SLO_REPORT_CLI_H */
