/* SPDX-License-Identifier: Apache-2.0 */
/* The `dynamodb` history store: the operations of cb_history over exporters/aws. */
#include "cb_history_dynamodb.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "cb_ddb.h"
#include "ex_aws_client.h"

#define WHO          "chatbot.dynamodb"
#define BODY_CAP     (1024u * 1024u)
#define TARGET_PFX   "DynamoDB_20120810."
#define REMOVE_ROUNDS 10000u /* Query + BatchWriteItem rounds of one delete: 250,000 turns */

struct ddb {
    struct cb_history base;
    struct ex_aws_http *http;
    struct ex_aws_creds *creds;
    struct ex_aws_client *client;
    char *table;
    char user[CB_DDB_USER_MAX + 1];
    uint64_t ttl_s;
    size_t max_turns;
    struct op *ops; /* calls in progress */
};

enum op_kind { OP_LOAD, OP_APPEND, OP_REMOVE_KEYS, OP_REMOVE_DELETE };

struct op {
    struct ddb *d;
    struct op *prev, *next;
    enum op_kind kind;
    cb_history_load_fn *load_fn;
    cb_history_done_fn *done_fn;
    void *arg;
    char pk[CB_DDB_USER_MAX + CB_SESSION_ID_LEN + 2];
    struct ag_buf body; /* the body of the call in flight */
    /* append */
    struct cb_turn *turns; /* copies */
    size_t n, i;
    uint64_t first_sk; /* the sort key of turns[0] */
    int64_t now_s;
    /* remove */
    int found;
    unsigned rounds;
    int linked; /* on d->ops */
};

/* Takes |o| off the list of calls in progress (so cancel cannot find it any more). */
static void op_unlink(struct op *o)
{
    struct ddb *d = o->d;
    if (!o->linked) {
        return;
    }
    o->linked = 0;
    if (o->prev != NULL) {
        o->prev->next = o->next;
    } else {
        d->ops = o->next;
    }
    if (o->next != NULL) {
        o->next->prev = o->prev;
    }
    o->prev = o->next = NULL;
}

static void op_free(struct op *o)
{
    op_unlink(o);
    for (size_t i = 0; i < o->n; i++) {
        ag_free(o->turns[i].text);
    }
    ag_free(o->turns);
    ag_buf_cleanup(&o->body);
    ag_free(o);
}

static struct op *op_new(struct ddb *d, enum op_kind kind, const char *id, void *arg)
{
    struct op *o = ag_calloc(1, sizeof(*o));
    if (o == NULL) {
        return NULL;
    }
    o->d = d;
    o->kind = kind;
    o->arg = arg;
    ag_buf_init(&o->body, BODY_CAP);
    if (cb_ddb_pk(d->user, id, o->pk, sizeof(o->pk)) != 0) {
        ag_buf_cleanup(&o->body);
        ag_free(o);
        return NULL;
    }
    o->next = d->ops;
    if (d->ops != NULL) {
        d->ops->prev = o;
    }
    d->ops = o;
    o->linked = 1;
    return o;
}

/* Ends |o| with |rc|: its callback runs (which may cancel other calls, even its own arg's),
 * then it is freed. */
static void finish(struct op *o, int rc, const char *why)
{
    op_unlink(o);
    if (o->kind == OP_LOAD) {
        o->load_fn(o->arg, rc, NULL, 0, 0, why);
    } else {
        o->done_fn(o->arg, rc, why);
    }
    op_free(o);
}

static void on_result(void *arg, const struct ex_aws_result *res);

static const char *target_name(const struct op *o)
{
    switch (o->kind) {
    case OP_LOAD:
    case OP_REMOVE_KEYS:
        return "Query";
    case OP_APPEND:
        return "PutItem";
    default:
        return "BatchWriteItem";
    }
}

/* Sends o->body as the operation of o->kind. Returns 0 or an AG_E* code (no callback then). */
static int send_call(struct op *o)
{
    char target[64];
    snprintf(target, sizeof(target), TARGET_PFX "%s", target_name(o));
    struct ex_aws_call call = {
        .method = "POST",
        .path = "/",
        .content_type = "application/x-amz-json-1.0",
        .target = target,
        .body = ag_buf_ptr(&o->body),
        .body_len = o->body.len,
    };
    return ex_aws_client_call(o->d->client, &call, on_result, o);
}

static int64_t wall_s(void)
{
    return (int64_t)time(NULL);
}

static int put_next(struct op *o)
{
    const struct cb_turn *t = &o->turns[o->i];
    int rc = cb_ddb_put_body(&o->body, o->d->table, o->pk, o->first_sk + o->i, t->role, t->text,
                             t->len, o->now_s, o->now_s + (int64_t)o->d->ttl_s);
    return rc != 0 ? rc : send_call(o);
}

static int query_keys(struct op *o)
{
    o->kind = OP_REMOVE_KEYS;
    int rc = cb_ddb_keys_body(&o->body, o->d->table, o->pk);
    return rc != 0 ? rc : send_call(o);
}

static void on_load(struct op *o, const struct ex_aws_result *res)
{
    struct cb_ddb_turns t;
    char why[256] = "";
    int rc = cb_ddb_parse_turns((const char *)res->body, res->body_len, &t, why, sizeof(why));
    if (rc != 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "DynamoDB Query: an answer that cannot be read: %s", why);
        cb_ddb_turns_free(&t);
        finish(o, rc == AG_EPROTO ? AG_EUPSTREAM : rc, msg);
        return;
    }
    if (t.n == 0) {
        cb_ddb_turns_free(&t);
        finish(o, AG_ENOTFOUND, "no such session");
        return;
    }
    struct cb_turn *views = ag_calloc(t.n, sizeof(*views));
    if (views == NULL) {
        cb_ddb_turns_free(&t);
        finish(o, AG_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < t.n; i++) {
        views[i].role = t.turns[i].role;
        views[i].text = (char *)t.turns[i].text; /* read-only view into the parsed answer */
        views[i].len = t.turns[i].len;
    }
    op_unlink(o);
    o->load_fn(o->arg, 0, views, t.n, t.next_sk, "");
    ag_free(views);
    cb_ddb_turns_free(&t);
    op_free(o);
}

static void on_result(void *arg, const struct ex_aws_result *res)
{
    struct op *o = arg;
    char why[768];
    int rc;

    if (res->rc != 0) {
        rc = res->rc;
        if (res->error.code[0] != '\0') {
            snprintf(why, sizeof(why), "DynamoDB %s: HTTP %d %s: %s (%u attempts)",
                     target_name(o), res->status, res->error.code, res->error.message,
                     res->attempts);
        } else {
            snprintf(why, sizeof(why), "DynamoDB %s: %s (HTTP %d, %u attempts)", target_name(o),
                     ag_strerror(rc), res->status, res->attempts);
        }
        if (strcmp(res->error.code, "ConditionalCheckFailedException") == 0) {
            rc = AG_EAGAIN; /* another writer took this turn's key */
        } else if (rc == AG_EAGAIN) {
            rc = AG_EIO; /* the client was freed: the store is going away */
        }
        finish(o, rc, why);
        return;
    }
    switch (o->kind) {
    case OP_LOAD:
        on_load(o, res);
        return;
    case OP_APPEND:
        o->i++;
        if (o->i == o->n) {
            finish(o, 0, "");
            return;
        }
        rc = put_next(o);
        break;
    case OP_REMOVE_KEYS: {
        uint64_t sks[CB_DDB_BATCH_MAX], last = 0;
        size_t n = 0;
        int more = 0;
        char perr[256] = "";
        rc = cb_ddb_parse_keys((const char *)res->body, res->body_len, sks, CB_DDB_BATCH_MAX,
                               &n, &more, &last, perr, sizeof(perr));
        if (rc != 0) {
            snprintf(why, sizeof(why), "DynamoDB Query: an answer that cannot be read: %s",
                     rc == AG_ETOOBIG ? "more items than asked for" : perr);
            finish(o, AG_EUPSTREAM, why);
            return;
        }
        if (n == 0) {
            finish(o, o->found ? 0 : AG_ENOTFOUND, o->found ? "" : "no such session");
            return;
        }
        o->found = 1;
        if (++o->rounds > REMOVE_ROUNDS) {
            finish(o, AG_EIO, "DynamoDB: items keep coming back after deleting; gave up");
            return;
        }
        o->kind = OP_REMOVE_DELETE;
        rc = cb_ddb_delete_body(&o->body, o->d->table, o->pk, sks, n);
        if (rc == 0) {
            rc = send_call(o);
        }
        break;
    }
    case OP_REMOVE_DELETE: {
        long left = cb_ddb_unprocessed((const char *)res->body, res->body_len);
        if (left > 0) {
            ag_log_debug(WHO, "BatchWriteItem left %ld deletes unprocessed: asking again", left);
        }
        rc = query_keys(o);
        break;
    }
    default:
        rc = AG_EINVAL;
        break;
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "DynamoDB %s: cannot send: %s", target_name(o),
                 ag_strerror(rc));
        finish(o, rc, why);
    }
}

/* A call that could not start still answers, from the loop's point of view at once. */
static void start_failed(struct op *o, int rc)
{
    char why[128];
    snprintf(why, sizeof(why), "DynamoDB %s: cannot send: %s", target_name(o), ag_strerror(rc));
    finish(o, rc, why);
}

static void ddb_load(struct cb_history *h, const char *id, cb_history_load_fn *fn, void *arg)
{
    struct ddb *d = (struct ddb *)h;
    struct op *o = op_new(d, OP_LOAD, id, arg);
    if (o == NULL) {
        fn(arg, AG_ENOMEM, NULL, 0, 0, "out of memory or a bad session id");
        return;
    }
    o->load_fn = fn;
    int rc = cb_ddb_query_body(&o->body, d->table, o->pk, wall_s(), d->max_turns);
    if (rc == 0) {
        rc = send_call(o);
    }
    if (rc != 0) {
        start_failed(o, rc);
    }
}

static void ddb_append(struct cb_history *h, const char *id, int create, uint64_t next,
                       const struct cb_turn *turns, size_t n, cb_history_done_fn *fn, void *arg)
{
    struct ddb *d = (struct ddb *)h;
    struct op *o = op_new(d, OP_APPEND, id, arg);
    if (o == NULL) {
        fn(arg, AG_ENOMEM, "out of memory or a bad session id");
        return;
    }
    o->done_fn = fn;
    o->first_sk = create ? 0 : next;
    o->now_s = wall_s();
    int rc = n > 0 ? 0 : AG_EINVAL;
    if (rc == 0) {
        o->turns = ag_calloc(n, sizeof(*o->turns));
        rc = o->turns == NULL ? AG_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        o->turns[i].role = turns[i].role;
        o->turns[i].len = turns[i].len;
        o->turns[i].text = ag_strndup(turns[i].text, turns[i].len);
        if (o->turns[i].text == NULL) {
            rc = AG_ENOMEM;
        } else {
            o->n++;
        }
    }
    if (rc == 0) {
        rc = put_next(o);
    }
    if (rc != 0) {
        start_failed(o, rc);
    }
}

static void ddb_remove(struct cb_history *h, const char *id, cb_history_done_fn *fn, void *arg)
{
    struct ddb *d = (struct ddb *)h;
    struct op *o = op_new(d, OP_REMOVE_KEYS, id, arg);
    if (o == NULL) {
        fn(arg, AG_ENOMEM, "out of memory or a bad session id");
        return;
    }
    o->done_fn = fn;
    int rc = query_keys(o);
    if (rc != 0) {
        start_failed(o, rc);
    }
}

static void ddb_cancel(struct cb_history *h, void *arg)
{
    struct ddb *d = (struct ddb *)h;
    struct op *o = d->ops;
    while (o != NULL) {
        struct op *next = o->next;
        if (o->arg == arg) {
            (void)ex_aws_client_cancel(d->client, on_result, o);
            op_free(o);
        }
        o = next;
    }
}

static void ddb_sweep(struct cb_history *h)
{
    (void)h; /* DynamoDB's TTL expires items; reads filter on expires_at */
}

static void ddb_free(struct cb_history *h)
{
    struct ddb *d = (struct ddb *)h;
    while (d->ops != NULL) {
        struct op *o = d->ops;
        if (d->client != NULL) {
            (void)ex_aws_client_cancel(d->client, on_result, o);
        }
        op_free(o);
    }
    ex_aws_client_free(d->client);
    ex_aws_creds_free(d->creds);
    ex_aws_http_free(d->http);
    ag_free(d->table);
    ag_free(d);
}

static const struct cb_history_ops dynamodb_ops = {
    .name = "dynamodb",
    .load = ddb_load,
    .append = ddb_append,
    .remove = ddb_remove,
    .cancel = ddb_cancel,
    .sweep = ddb_sweep,
    .free = ddb_free,
};

int cb_history_dynamodb_new(struct event_base *base, const struct cb_history_dynamodb_config *cfg,
                            struct cb_history **out, char *err, size_t errlen)
{
    const char *user = cfg->user != NULL ? cfg->user : "anonymous";
    uint64_t timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : 5000;
    char probe[CB_DDB_USER_MAX + CB_SESSION_ID_LEN + 2];
    int rc;

    *out = NULL;
    if (cfg->table == NULL || cfg->table[0] == '\0' || strlen(cfg->table) > 255) {
        snprintf(err, errlen, "a table name of 1 to 255 characters is required");
        return AG_EINVAL;
    }
    if (cb_ddb_pk(user, "00000000000000000000000000000000", probe, sizeof(probe)) != 0) {
        snprintf(err, errlen, "the user must be 1 to %u characters of [A-Za-z0-9_.@-]",
                 CB_DDB_USER_MAX);
        return AG_EINVAL;
    }
    struct ddb *d = ag_calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return AG_ENOMEM;
    }
    d->base.ops = &dynamodb_ops;
    snprintf(d->user, sizeof(d->user), "%s", user);
    d->ttl_s = cfg->ttl_s != 0 ? cfg->ttl_s : 30u * 86400u;
    d->max_turns = cfg->max_turns != 0 ? cfg->max_turns : 40;
    d->table = ag_strdup(cfg->table);
    if (d->table == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = AG_ENOMEM;
        goto fail;
    }
    struct ex_aws_http_options hopts = {.timeout_ms = timeout_ms, .connect_timeout_ms = 2000};
    rc = ex_aws_http_new(base, &hopts, &d->http);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the HTTP client: %s", ag_strerror(rc));
        goto fail;
    }
    struct ex_aws_creds_options copts = {.region = cfg->region};
    rc = ex_aws_creds_new(base, d->http, &copts, &d->creds, err, errlen);
    if (rc != 0) {
        goto fail;
    }
    struct ex_aws_client_options kopts = {
        .service_id = "DYNAMODB",
        .endpoint_prefix = "dynamodb",
        .signing_name = "dynamodb",
        .protocol = EX_AWS_JSON,
        .region = cfg->region,
        .endpoint = cfg->endpoint,
        .max_attempts = cfg->max_attempts != 0 ? cfg->max_attempts : 3,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = 2000,
    };
    rc = ex_aws_client_new(base, d->http, d->creds, &kopts, &d->client, err, errlen);
    if (rc != 0) {
        goto fail;
    }
    *out = &d->base;
    return 0;
fail:
    ddb_free(&d->base);
    return rc;
}
