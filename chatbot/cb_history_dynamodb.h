#ifndef CB_HISTORY_DYNAMODB_H
#define CB_HISTORY_DYNAMODB_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "cb_history.h"

struct event_base;

/*
 * The `dynamodb` history store: the table layout of cb_ddb.h, through exporters/aws (endpoint
 * resolution, the credentials chain, SigV4 with signing name "dynamodb", the standard retry
 * mode), AWS JSON 1.0 with X-Amz-Target DynamoDB_20120810.<Operation>:
 *   load    Query (newest max_turns unexpired turns, strongly consistent);
 *   append  PutItem per turn, in order, each refused if its key exists (a concurrent writer:
 *           AG_EAGAIN); expires_at = now + ttl_s;
 *   remove  Query of keys (25 at a time) + BatchWriteItem deletes, repeated until none is left
 *           (unprocessed items are found again by the next Query).
 * A call the store cannot complete (unreachable, throttled past the retries, the table missing)
 * ends with AG_EUPSTREAM / AG_EIO / AG_ETIMEDOUT and a reason for the log.
 */

struct cb_history_dynamodb_config {
    const char *table;    /* required */
    const char *region;   /* NULL: AWS_REGION, the profile's, else IMDS */
    const char *endpoint; /* NULL: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, else AWS's */
    const char *user;     /* the user part of pk; NULL = "anonymous" (no authentication yet) */
    uint64_t ttl_s;       /* expires_at = write time + ttl_s; 0 = 30 days */
    size_t max_turns;     /* turns read back; 0 = 40 */
    uint64_t timeout_ms;  /* per attempt; 0 = 5000 */
    unsigned max_attempts; /* 0 = 3 */
};

/*
 * Creates the store on |base| (borrowed). On failure writes a reason to |err|. Returns 0 and a
 * new store in |*out| (free with cb_history_free()), or AG_EINVAL, AG_ENOMEM.
 */
AG_NODISCARD int cb_history_dynamodb_new(struct event_base *base,
                                         const struct cb_history_dynamodb_config *cfg,
                                         struct cb_history **out, char *err, size_t errlen);

#endif /* CB_HISTORY_DYNAMODB_H */
