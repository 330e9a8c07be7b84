#ifndef CB_DDB_H
#define CB_DDB_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "cb_session.h"

/*
 * The `dynamodb` history store's wire format (DynamoDB JSON 1.0, X-Amz-Target
 * DynamoDB_20120810.*): request bodies written with ag_json and answers parsed with jansson.
 * Pure logic, no I/O; cb_history_dynamodb.c does the calls.
 *
 * Table layout (the table is created by deploy/: otter_infra/names.py TABLE_HASH_KEY,
 * TABLE_RANGE_KEY, TABLE_TTL_ATTRIBUTE; or by the tests):
 *   session_id  S  partition key: "<user>#<session id>", one partition per session and user
 *   seq         N  sort key: the turn's index in the session, 0, 1, 2, ...
 *   role        S  "user" | "assistant"
 *   content     S  the turn's text
 *   created_at  N  Unix seconds when written
 *   expires_at  N  Unix seconds: created_at + the TTL; the table's TTL attribute
 * A session exists while it has an unexpired turn. Reads filter on expires_at > now because
 * DynamoDB deletes expired items lazily (up to days later).
 */

#define CB_DDB_PK         "session_id"
#define CB_DDB_SK         "seq"
#define CB_DDB_TTL_ATTR   "expires_at"
#define CB_DDB_BATCH_MAX  25u /* BatchWriteItem's limit */
#define CB_DDB_USER_MAX   64u /* bytes of the user part of pk */

/* One turn read back; |text| points into the parsed document (valid until cb_ddb_turns_free). */
struct cb_ddb_turn {
    enum cb_role role;
    const char *text;
    size_t len;
    uint64_t sk;
};

struct cb_ddb_turns {
    struct cb_ddb_turn *turns; /* oldest first */
    size_t n;
    uint64_t next_sk; /* the sort key for the next turn: newest seq + 1, or 0 with no turn */
    int more;         /* the answer had LastEvaluatedKey: older turns were not read */
    void *doc;        /* the parsed document the texts point into */
};

/*
 * Writes "<user>#<id>" into |pk| (|cap| bytes). |user| is 1..CB_DDB_USER_MAX bytes of
 * [A-Za-z0-9_.@-]; |id| a session id. Returns 0 or AG_EINVAL.
 */
AG_NODISCARD int cb_ddb_pk(const char *user, const char *id, char *pk, size_t cap);

/*
 * The PutItem body of one turn, refused when an item with that key exists already
 * (ConditionExpression attribute_not_exists(session_id): two writers of one session cannot overwrite
 * each other's turns). Returns 0, AG_ETOOBIG or AG_ENOMEM (|out| holds the body).
 */
AG_NODISCARD int cb_ddb_put_body(struct ag_buf *out, const char *table, const char *pk,
                                 uint64_t sk, enum cb_role role, const char *text, size_t len,
                                 int64_t now_s, int64_t expires_s);

/*
 * The Query body reading the newest |limit| unexpired turns (expires_at > |now_s|) of |pk|,
 * newest first, strongly consistent. Returns 0, AG_ETOOBIG or AG_ENOMEM.
 */
AG_NODISCARD int cb_ddb_query_body(struct ag_buf *out, const char *table, const char *pk,
                                   int64_t now_s, size_t limit);

/*
 * The Query body listing the keys (session_id, seq) of the first CB_DDB_BATCH_MAX items of |pk|,
 * expired or not: what one BatchWriteItem deletes (deleting repeats until none is left).
 * Returns 0, AG_ETOOBIG or AG_ENOMEM.
 */
AG_NODISCARD int cb_ddb_keys_body(struct ag_buf *out, const char *table, const char *pk);

/*
 * The BatchWriteItem body deleting the |n| (1..CB_DDB_BATCH_MAX) items of |pk| with sort keys
 * |sks|. Returns 0, AG_EINVAL, AG_ETOOBIG or AG_ENOMEM.
 */
AG_NODISCARD int cb_ddb_delete_body(struct ag_buf *out, const char *table, const char *pk,
                                    const uint64_t *sks, size_t n);

/*
 * Parses a Query answer of cb_ddb_query_body() into |out| (free with cb_ddb_turns_free(), also
 * after a failure): Items must each hold seq (N, a non-negative integer), role (S, "user" or
 * "assistant") and content (S); other attributes are ignored. Items are taken newest first
 * (descending seq) and returned oldest first. Returns 0, AG_EPROTO (with a reason in |why|, of
 * |whylen| bytes: which item, which attribute) or AG_ENOMEM.
 */
AG_NODISCARD int cb_ddb_parse_turns(const char *body, size_t len, struct cb_ddb_turns *out,
                                    char *why, size_t whylen);

void cb_ddb_turns_free(struct cb_ddb_turns *t);

/*
 * Parses a Query answer of cb_ddb_keys_body(): the sort keys of its Items into |sks| (at most
 * |cap|), their count into |*n|, and whether a LastEvaluatedKey follows (|*more|, its seq in
 * |*last_sk|). Returns 0, AG_ETOOBIG (more than |cap| items), AG_EPROTO (|why| says why) or
 * AG_ENOMEM.
 */
AG_NODISCARD int cb_ddb_parse_keys(const char *body, size_t len, uint64_t *sks, size_t cap,
                                   size_t *n, int *more, uint64_t *last_sk, char *why,
                                   size_t whylen);

/*
 * Counts the requests left in a BatchWriteItem answer's UnprocessedItems (0 when none).
 * Returns the count, or AG_EPROTO when the answer is not a JSON object.
 */
long cb_ddb_unprocessed(const char *body, size_t len);

#endif /* CB_DDB_H */
