/* SPDX-License-Identifier: Apache-2.0 */
/* DynamoDB JSON bodies and answers of the `dynamodb` history store (see cb_ddb.h). */
#include "cb_ddb.h"
#include "ag_err.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_json.h"
#include "ag_mem.h"

#define BODY_LIMIT (1024u * 1024u) /* a request body; items are at most 400 KB */

int cb_ddb_pk(const char *user, const char *id, char *pk, size_t cap)
{
    size_t n = user != NULL ? strlen(user) : 0;
    if (n == 0 || n > CB_DDB_USER_MAX || id == NULL ||
        !cb_session_id_valid(id, strlen(id))) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = user[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-')) {
            return AG_EINVAL;
        }
    }
    if ((size_t)snprintf(pk, cap, "%s#%s", user, id) >= cap) {
        return AG_EINVAL;
    }
    return 0;
}

static void attr_s(struct ag_json *w, const char *name, const char *s, size_t len)
{
    ag_json_key(w, name);
    ag_json_obj_open(w);
    ag_json_key(w, "S");
    ag_json_strn(w, s, len);
    ag_json_obj_close(w);
}

static void attr_n(struct ag_json *w, const char *name, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)v);
    ag_json_key(w, name);
    ag_json_obj_open(w);
    ag_json_key(w, "N");
    ag_json_str(w, num);
    ag_json_obj_close(w);
}

static void start(struct ag_json *w, struct ag_buf *out, const char *table)
{
    ag_buf_reset(out);
    ag_json_init(w, out);
    ag_json_set_limit(w, BODY_LIMIT);
    ag_json_obj_open(w);
    ag_json_key(w, "TableName");
    ag_json_str(w, table);
}

int cb_ddb_put_body(struct ag_buf *out, const char *table, const char *pk, uint64_t sk,
                    enum cb_role role, const char *text, size_t len, int64_t now_s,
                    int64_t expires_s)
{
    struct ag_json w;
    start(&w, out, table);
    ag_json_key(&w, "Item");
    ag_json_obj_open(&w);
    attr_s(&w, CB_DDB_PK, pk, strlen(pk));
    attr_n(&w, CB_DDB_SK, (int64_t)sk);
    attr_s(&w, "role", role == CB_ROLE_USER ? "user" : "assistant",
           role == CB_ROLE_USER ? 4 : 9);
    attr_s(&w, "content", text, len);
    attr_n(&w, "created_at", now_s);
    attr_n(&w, CB_DDB_TTL_ATTR, expires_s);
    ag_json_obj_close(&w);
    ag_json_key(&w, "ConditionExpression");
    ag_json_str(&w, "attribute_not_exists(" CB_DDB_PK ")");
    ag_json_obj_close(&w);
    return ag_json_finish(&w);
}

static void pk_values(struct ag_json *w, const char *pk, int with_now, int64_t now_s)
{
    ag_json_key(w, "KeyConditionExpression");
    ag_json_str(w, CB_DDB_PK " = :pk");
    ag_json_key(w, "ExpressionAttributeValues");
    ag_json_obj_open(w);
    attr_s(w, ":pk", pk, strlen(pk));
    if (with_now) {
        attr_n(w, ":now", now_s);
    }
    ag_json_obj_close(w);
    ag_json_key(w, "ConsistentRead");
    ag_json_bool(w, 1);
}

int cb_ddb_query_body(struct ag_buf *out, const char *table, const char *pk, int64_t now_s,
                      size_t limit)
{
    struct ag_json w;
    start(&w, out, table);
    pk_values(&w, pk, 1, now_s);
    ag_json_key(&w, "FilterExpression");
    ag_json_str(&w, "#exp > :now");
    ag_json_key(&w, "ExpressionAttributeNames");
    ag_json_obj_open(&w);
    ag_json_key(&w, "#exp");
    ag_json_str(&w, CB_DDB_TTL_ATTR);
    ag_json_obj_close(&w);
    ag_json_key(&w, "ScanIndexForward");
    ag_json_bool(&w, 0);
    ag_json_key(&w, "Limit");
    ag_json_uint(&w, limit);
    ag_json_obj_close(&w);
    return ag_json_finish(&w);
}

int cb_ddb_keys_body(struct ag_buf *out, const char *table, const char *pk)
{
    struct ag_json w;
    start(&w, out, table);
    pk_values(&w, pk, 0, 0);
    ag_json_key(&w, "ProjectionExpression");
    ag_json_str(&w, CB_DDB_PK ", " CB_DDB_SK);
    ag_json_key(&w, "Limit");
    ag_json_uint(&w, CB_DDB_BATCH_MAX);
    ag_json_obj_close(&w);
    return ag_json_finish(&w);
}

int cb_ddb_delete_body(struct ag_buf *out, const char *table, const char *pk,
                       const uint64_t *sks, size_t n)
{
    struct ag_json w;
    if (n == 0 || n > CB_DDB_BATCH_MAX) {
        return AG_EINVAL;
    }
    ag_buf_reset(out);
    ag_json_init(&w, out);
    ag_json_set_limit(&w, BODY_LIMIT);
    ag_json_obj_open(&w);
    ag_json_key(&w, "RequestItems");
    ag_json_obj_open(&w);
    ag_json_key(&w, table);
    ag_json_arr_open(&w);
    for (size_t i = 0; i < n; i++) {
        ag_json_obj_open(&w);
        ag_json_key(&w, "DeleteRequest");
        ag_json_obj_open(&w);
        ag_json_key(&w, "Key");
        ag_json_obj_open(&w);
        attr_s(&w, CB_DDB_PK, pk, strlen(pk));
        attr_n(&w, CB_DDB_SK, (int64_t)sks[i]);
        ag_json_obj_close(&w);
        ag_json_obj_close(&w);
        ag_json_obj_close(&w);
    }
    ag_json_arr_close(&w);
    ag_json_obj_close(&w);
    ag_json_obj_close(&w);
    return ag_json_finish(&w);
}

__attribute__((format(printf, 3, 4))) static int whyf(char *why, size_t whylen,
                                                      const char *fmt, ...)
{
    if (why != NULL && whylen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return AG_EPROTO;
}

/* The string of attribute |name| of |item| typed |type| ("S" or "N"), or NULL. */
static const char *typed(json_t *item, const char *name, const char *type, size_t *len)
{
    json_t *a = json_object_get(item, name);
    json_t *v = json_is_object(a) && json_object_size(a) == 1 ? json_object_get(a, type) : NULL;
    if (!json_is_string(v)) {
        return NULL;
    }
    if (len != NULL) {
        *len = json_string_length(v);
    }
    return json_string_value(v);
}

/* A DynamoDB number that must be a non-negative integer below 2^53. */
static int parse_sk(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 16) {
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > (1ull << 53)) {
        return -1;
    }
    *out = v;
    return 0;
}

static json_t *load(const char *body, size_t len, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (why != NULL && whylen > 0) {
            snprintf(why, whylen, "the answer is not JSON: %s (line %d, column %d)", ag_err_one_line(jerr.text),
                     jerr.line, jerr.column);
        }
        return NULL;
    }
    if (!json_is_object(root)) {
        if (why != NULL && whylen > 0) {
            snprintf(why, whylen, "the answer is not a JSON object");
        }
        json_decref(root);
        return NULL;
    }
    return root;
}

int cb_ddb_parse_turns(const char *body, size_t len, struct cb_ddb_turns *out, char *why,
                       size_t whylen)
{
    json_t *root, *items, *item;
    size_t i, n;

    memset(out, 0, sizeof(*out));
    root = load(body, len, why, whylen);
    if (root == NULL) {
        return AG_EPROTO;
    }
    out->doc = root;
    items = json_object_get(root, "Items");
    if (!json_is_array(items)) {
        return whyf(why, whylen, "the answer has no Items array");
    }
    n = json_array_size(items);
    out->more = json_object_get(root, "LastEvaluatedKey") != NULL;
    if (n == 0) {
        return 0;
    }
    out->turns = ag_calloc(n, sizeof(*out->turns));
    if (out->turns == NULL) {
        return AG_ENOMEM;
    }
    json_array_foreach(items, i, item) {
        struct cb_ddb_turn *t = &out->turns[n - 1 - i]; /* newest first in, oldest first out */
        size_t rl = 0;
        uint64_t sk = 0;
        if (!json_is_object(item)) {
            return whyf(why, whylen, "item %zu is not an object", i);
        }
        if (parse_sk(typed(item, CB_DDB_SK, "N", NULL), &sk) != 0) {
            return whyf(why, whylen, "item %zu: %s must be a non-negative integer N", i, CB_DDB_SK);
        }
        const char *role = typed(item, "role", "S", &rl);
        if (role != NULL && rl == 4 && memcmp(role, "user", 4) == 0) {
            t->role = CB_ROLE_USER;
        } else if (role != NULL && rl == 9 && memcmp(role, "assistant", 9) == 0) {
            t->role = CB_ROLE_ASSISTANT;
        } else {
            return whyf(why, whylen, "item %zu: %s must be S \"user\" or \"assistant\"", i,
                        "role");
        }
        t->text = typed(item, "content", "S", &t->len);
        if (t->text == NULL) {
            return whyf(why, whylen, "item %zu: %s must be a string (S)", i, "content");
        }
        if (i > 0 && sk >= out->turns[n - i].sk) {
            return whyf(why, whylen, "item %zu: %s is not below the previous item's", i, CB_DDB_SK);
        }
        t->sk = sk;
        out->n++;
    }
    out->next_sk = out->turns[n - 1].sk + 1;
    return 0;
}

void cb_ddb_turns_free(struct cb_ddb_turns *t)
{
    if (t == NULL) {
        return;
    }
    ag_free(t->turns);
    if (t->doc != NULL) {
        json_decref((json_t *)t->doc);
    }
    memset(t, 0, sizeof(*t));
}

int cb_ddb_parse_keys(const char *body, size_t len, uint64_t *sks, size_t cap, size_t *n,
                      int *more, uint64_t *last_sk, char *why, size_t whylen)
{
    json_t *root, *items, *item, *last;
    size_t i;
    int rc = 0;

    *n = 0;
    *more = 0;
    *last_sk = 0;
    root = load(body, len, why, whylen);
    if (root == NULL) {
        return AG_EPROTO;
    }
    items = json_object_get(root, "Items");
    if (!json_is_array(items)) {
        rc = whyf(why, whylen, "the answer has no Items array");
        goto out;
    }
    if (json_array_size(items) > cap) {
        rc = AG_ETOOBIG;
        goto out;
    }
    json_array_foreach(items, i, item) {
        if (!json_is_object(item) || parse_sk(typed(item, CB_DDB_SK, "N", NULL), &sks[i]) != 0) {
            rc = whyf(why, whylen, "item %zu: %s must be a non-negative integer N", i, CB_DDB_SK);
            goto out;
        }
        *n = i + 1;
    }
    last = json_object_get(root, "LastEvaluatedKey");
    if (last != NULL) {
        if (!json_is_object(last) || parse_sk(typed(last, CB_DDB_SK, "N", NULL), last_sk) != 0) {
            rc = whyf(why, whylen, "LastEvaluatedKey: " CB_DDB_SK " must be a non-negative integer N");
            goto out;
        }
        *more = 1;
    }
out:
    json_decref(root);
    return rc;
}

long cb_ddb_unprocessed(const char *body, size_t len)
{
    json_t *root = load(body, len, NULL, 0), *u, *reqs;
    const char *table;
    long count = 0;
    if (root == NULL) {
        return AG_EPROTO;
    }
    u = json_object_get(root, "UnprocessedItems");
    if (json_is_object(u)) {
        json_object_foreach(u, table, reqs) {
            count += json_is_array(reqs) ? (long)json_array_size(reqs) : 1;
        }
    }
    json_decref(root);
    return count;
}
