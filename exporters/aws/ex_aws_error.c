/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error code and message out of AWS error responses, for the three protocols Otter talks: the
 * REST-JSON header form ("ThrottlingException:http://internal.amazon.com/..."), the JSON __type
 * form ("com.amazonaws.logs#ResourceNotFoundException"), and Query XML. The XML case is two tag
 * lookups inside <Error>, not an XML parser: AWS error documents are small and flat.
 */
#include "ex_aws_error.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

/* Copies |len| bytes of |s| into |dst| (|cap| bytes), keeping printable ASCII and turning any
 * other byte into '?', so what reaches a log line is one clean line. */
static void copy_clean(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* "prefix#Code" -> "Code"; "Code:uri" -> "Code". */
static void set_code(struct ex_aws_error *out, const char *s, size_t len)
{
    const char *hash = memchr(s, '#', len);
    if (hash != NULL) {
        len -= (size_t)(hash + 1 - s);
        s = hash + 1;
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL) {
        len = (size_t)(colon - s);
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    copy_clean(out->code, sizeof(out->code), s, len);
}

static void parse_json_body(const char *body, size_t len, struct ex_aws_error *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return;
    }
    json_t *type = json_object_get(root, "__type");
    if (!json_is_string(type)) {
        type = json_object_get(root, "code");
    }
    if (out->code[0] == '\0' && json_is_string(type)) {
        set_code(out, json_string_value(type), json_string_length(type));
    }
    json_t *msg = json_object_get(root, "message");
    if (!json_is_string(msg)) {
        msg = json_object_get(root, "Message");
    }
    if (json_is_string(msg)) {
        copy_clean(out->message, sizeof(out->message), json_string_value(msg),
                   json_string_length(msg));
    }
    json_decref(root);
}

/* Finds the text of the first <tag>...</tag> in [s, end); returns its start and length. */
static const char *xml_text(const char *s, const char *end, const char *tag, size_t *len)
{
    char open[48], close[48];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    size_t ol = strlen(open), cl = strlen(close);
    for (const char *p = s; p + ol <= end; p++) {
        if (memcmp(p, open, ol) != 0) {
            continue;
        }
        const char *t = p + ol;
        for (const char *q = t; q + cl <= end; q++) {
            if (memcmp(q, close, cl) == 0) {
                *len = (size_t)(q - t);
                return t;
            }
        }
        return NULL;
    }
    return NULL;
}

static void parse_query_body(const char *body, size_t len, struct ex_aws_error *out)
{
    const char *end = body + len;
    size_t elen;
    /* Look inside <Error> when there is one, so a <Code> elsewhere is not taken. */
    const char *err = xml_text(body, end, "Error", &elen);
    const char *s = err ? err : body, *e = err ? err + elen : end;
    size_t n;
    const char *code = xml_text(s, e, "Code", &n);
    if (code != NULL) {
        set_code(out, code, n);
    }
    const char *msg = xml_text(s, e, "Message", &n);
    if (msg != NULL) {
        copy_clean(out->message, sizeof(out->message), msg, n);
    }
}

bool ex_aws_error_is_auth(const char *code)
{
    static const char *const codes[] = {
        "ExpiredToken",
        "ExpiredTokenException",
        "AccessDenied",
        "AccessDeniedException",
        "IncompleteSignature",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "InvalidClientTokenId",
        "InvalidToken",
        "InvalidAccessKeyId",
        "InvalidSignature",
        "InvalidSignatureException",
        "UnrecognizedClientException",
    };
    if (code == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

int ex_aws_error_parse(enum ex_aws_protocol protocol, const char *error_type, const char *body,
                       size_t len, struct ex_aws_error *out)
{
    out->code[0] = '\0';
    out->message[0] = '\0';
    if (body == NULL) {
        len = 0;
        body = "";
    }
    if (protocol == EX_AWS_REST_JSON && error_type != NULL && error_type[0] != '\0') {
        set_code(out, error_type, strlen(error_type));
    }
    if (protocol == EX_AWS_QUERY) {
        parse_query_body(body, len, out);
    } else {
        parse_json_body(body, len, out);
        /* A JSON service's front end may still answer in XML (an <ErrorResponse> for a bad
         * signature: moto does, and AWS's own edge can): take the code from it rather than
         * report an anonymous HTTP status. */
        size_t i = 0;
        while (i < len && strchr(" \t\r\n", body[i]) != NULL && body[i] != '\0') {
            i++;
        }
        if (out->code[0] == '\0' && i < len && body[i] == '<') {
            parse_query_body(body + i, len - i, out);
        }
    }
    return out->code[0] != '\0' ? 0 : AG_ENOTFOUND;
}
