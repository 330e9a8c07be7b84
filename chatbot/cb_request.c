/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of chat requests with jansson. jansson checks the UTF-8 and refuses NUL in strings
 * (no JSON_ALLOW_NUL), so a message that passes is a C string of valid UTF-8.
 */
#include "cb_request.h"
#include "ag_err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ag_mem.h"

static int bad(struct cb_request_error *err, const char *code, const char *field,
               const char *msg)
{
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->message, sizeof(err->message), "%s", msg);
    return AG_EPROTO;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

int cb_chat_request_parse(const char *body, size_t len, size_t max_message,
                          struct cb_chat_request *out, struct cb_request_error *err)
{
    json_error_t jerr;
    json_t *root = NULL, *v;
    const char *key;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        err->code = "invalid_json";
        snprintf(err->message, sizeof(err->message),
                 "the body is not valid JSON: %s (line %d, column %d)", ag_err_one_line(jerr.text), jerr.line,
                 jerr.column);
        return AG_EPROTO;
    }
    if (!json_is_object(root)) {
        rc = bad(err, "invalid_request", "", "the body must be a JSON object");
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "message") != 0 && strcmp(key, "session_id") != 0) {
            char msg[128];
            snprintf(msg, sizeof(msg), "unknown field \"%.60s\": only message and session_id",
                     key);
            rc = bad(err, "invalid_request", key, msg);
            goto out;
        }
    }
    v = json_object_get(root, "session_id");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || !cb_session_id_valid(json_string_value(v), json_string_length(v))) {
            rc = bad(err, "invalid_request", "session_id",
                     "session_id must be a session id from an earlier answer (32 hex digits)");
            goto out;
        }
        memcpy(out->session_id, json_string_value(v), CB_SESSION_ID_LEN + 1);
    }
    v = json_object_get(root, "message");
    if (v == NULL) {
        rc = bad(err, "invalid_request", "message", "message is required");
        goto out;
    }
    if (!json_is_string(v)) {
        rc = bad(err, "invalid_request", "message", "message must be a string");
        goto out;
    }
    size_t n = json_string_length(v);
    if (blank(json_string_value(v), n)) {
        rc = bad(err, "invalid_request", "message", "message must not be empty");
        goto out;
    }
    if (n > max_message) {
        char msg[128];
        snprintf(msg, sizeof(msg), "message is longer than %zu bytes", max_message);
        rc = bad(err, "invalid_request", "message", msg);
        goto out;
    }
    out->message = ag_strndup(json_string_value(v), n);
    if (out->message == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    out->message_len = n;
out:
    json_decref(root);
    return rc;
}

void cb_chat_request_cleanup(struct cb_chat_request *req)
{
    ag_free(req->message);
    memset(req, 0, sizeof(*req));
}
