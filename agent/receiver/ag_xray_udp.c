/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X-Ray daemon datagrams: `{"format": "json", "version": 1}\n<document>`. The header and the
 * document are checked the way the X-Ray API checks a segment (specs/xray.md §1), so a malformed
 * datagram is refused here with a reason, counted by the receiver, and never reaches the
 * exporter. jansson parses both parts: this is the cold path (the daemon protocol carries one
 * document per datagram), and the document is forwarded as it came.
 */
#include "ag_xray_udp.h"
#include "ag_err.h"

#include <stdio.h>
#include <string.h>
#include <jansson.h>

/* The X-Ray API counts a name's characters; UTF-8 continuation bytes are not characters. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* "1-" + 8 hex digits (epoch seconds) + "-" + 24 hex digits. */
static int trace_id_ok(const char *s)
{
    return strlen(s) == 35 && s[0] == '1' && s[1] == '-' && is_lower_hex(s + 2, 8) &&
           s[10] == '-' && is_lower_hex(s + 11, 24);
}

static int span_id_ok(const char *s)
{
    return strlen(s) == 16 && is_lower_hex(s, 16);
}

static int fail(char *err, size_t errlen, const char *msg, const char *detail)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
    }
    return AG_EPROTO;
}

static int check_header(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *h = json_loadb((const char *)buf, len, 0, &jerr);
    int rc = 0;
    if (h == NULL) {
        return fail(err, errlen, "header: not JSON (expected {\"format\": \"json\", \"version\": 1})",
                     ag_err_one_line(jerr.text));
    }
    json_t *format = json_object_get(h, "format");
    json_t *version = json_object_get(h, "version");
    if (!json_is_string(format) || strcmp(json_string_value(format), "json") != 0) {
        rc = fail(err, errlen, "header: expected \"format\": \"json\"", NULL);
    } else if (!json_is_integer(version) || json_integer_value(version) != 1) {
        rc = fail(err, errlen, "header: expected \"version\": 1", NULL);
    }
    json_decref(h);
    return rc;
}

/* Returns the string member |key| of |doc|, or NULL after writing why to |err|. */
static const char *need_string(json_t *doc, const char *key, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_string(v)) {
        char what[64];
        snprintf(what, sizeof(what), "document: '%s' %s", key,
                 v == NULL ? "is missing" : "must be a string");
        fail(err, errlen, what, NULL);
        return NULL;
    }
    return json_string_value(v);
}

static int check_document(json_t *doc, struct ag_xray_doc *out, char *err, size_t errlen)
{
    if (!json_is_object(doc)) {
        return fail(err, errlen, "document: expected a JSON object", NULL);
    }
    const char *name = need_string(doc, "name", err, errlen);
    const char *id = name ? need_string(doc, "id", err, errlen) : NULL;
    const char *trace_id = id ? need_string(doc, "trace_id", err, errlen) : NULL;
    if (trace_id == NULL) {
        return AG_EPROTO;
    }
    size_t chars = utf8_chars(name);
    if (chars == 0 || chars > 200) {
        return fail(err, errlen, "document: 'name' must have 1 to 200 characters", NULL);
    }
    if (!span_id_ok(id)) {
        return fail(err, errlen, "document: 'id' must be 16 lowercase hex digits", id);
    }
    if (!trace_id_ok(trace_id)) {
        return fail(err, errlen, "document: 'trace_id' must look like "
                    "1-5759e988-bd862e3fe1be46a994272793", trace_id);
    }
    if (!json_is_number(json_object_get(doc, "start_time"))) {
        return fail(err, errlen, "document: 'start_time' (epoch seconds) is missing or not a "
                    "number", NULL);
    }
    json_t *end = json_object_get(doc, "end_time");
    int in_progress = json_is_true(json_object_get(doc, "in_progress"));
    if (end != NULL && !json_is_number(end)) {
        return fail(err, errlen, "document: 'end_time' must be a number", NULL);
    }
    if (end == NULL && !in_progress) {
        return fail(err, errlen, "document: needs 'end_time' or \"in_progress\": true", NULL);
    }
    json_t *type = json_object_get(doc, "type");
    int sub = json_is_string(type) && strcmp(json_string_value(type), "subsegment") == 0;
    if (type != NULL && !sub) {
        return fail(err, errlen, "document: 'type' can only be \"subsegment\"", NULL);
    }
    if (sub) {
        const char *parent = need_string(doc, "parent_id", err, errlen);
        if (parent == NULL) {
            return AG_EPROTO;
        }
        if (!span_id_ok(parent)) {
            return fail(err, errlen, "document: 'parent_id' must be 16 lowercase hex digits",
                        parent);
        }
    }
    memcpy(out->trace_id, trace_id, 36);
    memcpy(out->id, id, 17);
    out->is_subsegment = sub;
    out->in_progress = end == NULL;
    return 0;
}

int ag_xray_udp_parse(const uint8_t *buf, size_t len, struct ag_xray_doc *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    const uint8_t *nl = memchr(buf, '\n', len);
    if (nl == NULL) {
        return fail(err, errlen, "no newline after the header {\"format\": \"json\", "
                    "\"version\": 1}", NULL);
    }
    int rc = check_header(buf, (size_t)(nl - buf), err, errlen);
    if (rc != 0) {
        return rc;
    }
    const uint8_t *doc = nl + 1;
    size_t doc_len = len - (size_t)(doc - buf);
    /* Trailing white space (a second newline, say) is not part of the document. */
    while (doc_len > 0 && (doc[doc_len - 1] == '\n' || doc[doc_len - 1] == '\r' ||
                           doc[doc_len - 1] == ' ' || doc[doc_len - 1] == '\t')) {
        doc_len--;
    }
    if (doc_len == 0) {
        return fail(err, errlen, "no document after the header", NULL);
    }
    if (doc_len > AG_XRAY_MAX_DOC) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "document: %zu bytes, over X-Ray's %d", doc_len,
                     AG_XRAY_MAX_DOC);
        }
        return AG_ETOOBIG;
    }
    json_error_t jerr;
    json_t *d = json_loadb((const char *)doc, doc_len, JSON_REJECT_DUPLICATES, &jerr);
    if (d == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            return AG_ENOMEM;
        }
        char where[256];
        snprintf(where, sizeof(where), "line %d column %d: %s", jerr.line, jerr.column, ag_err_one_line(jerr.text));
        return fail(err, errlen, "document: not JSON", where);
    }
    rc = check_document(d, out, err, errlen);
    json_decref(d);
    if (rc == 0) {
        out->doc = doc;
        out->doc_len = doc_len;
    }
    return rc;
}

void ag_xray_udp_flatten(uint8_t *dst, const uint8_t *doc, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        dst[i] = doc[i] == '\n' || doc[i] == '\r' ? ' ' : doc[i];
    }
}
