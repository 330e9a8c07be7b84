/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small driver of the SigV4 signer for tests/aws/test_sigv4_botocore.py: reads JSON requests
 * from stdin, one after another, signs each and prints one JSON line per request with the
 * canonical request, string to sign, signature, Authorization and the headers to add, or
 * {"error": "..."}. The service's usual flags apply (S3's come from ex_aws_sigv4_service_flags).
 */
#include "ex_aws_sigv4.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CLI_MAX_HEADERS 256

static const char *str_member(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_t *sign_one(json_t *in)
{
    struct ex_aws_header headers[CLI_MAX_HEADERS];
    json_t *jh = json_object_get(in, "headers");
    size_t nh = json_array_size(jh);
    struct ex_aws_sigv4_result res = {0};
    json_t *out;

    if (nh > CLI_MAX_HEADERS) {
        return json_pack("{s:s}", "error", "too many headers");
    }
    for (size_t i = 0; i < nh; i++) {
        json_t *pair = json_array_get(jh, i);
        headers[i].name = json_string_value(json_array_get(pair, 0));
        headers[i].value = json_string_value(json_array_get(pair, 1));
    }
    const char *body = str_member(in, "body");
    const char *service = str_member(in, "service");
    struct ex_aws_credentials creds = {
        str_member(in, "access_key_id"),
        str_member(in, "secret_access_key"),
        str_member(in, "session_token"),
    };
    struct ex_aws_sigv4_request req = {
        .method = str_member(in, "method"),
        .path = str_member(in, "path"),
        .query = str_member(in, "query"),
        .headers = headers,
        .n_headers = nh,
        .payload = (const uint8_t *)body,
        .payload_len = body != NULL ? strlen(body) : 0,
        .service = service,
        .region = str_member(in, "region"),
        .amz_date = str_member(in, "amz_date"),
        .flags = ex_aws_sigv4_service_flags(service),
    };
    int rc = ex_aws_sigv4_sign(NULL, &creds, &req, &res);
    if (rc != 0) {
        return json_pack("{s:s}", "error", ag_strerror(rc));
    }
    json_t *added = json_array();
    for (size_t i = 0; added != NULL && i < res.n_added; i++) {
        json_array_append_new(added, json_pack("[s,s]", res.added[i].name, res.added[i].value));
    }
    out =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o*}", "canonical_request", res.canonical_request,
                  "string_to_sign", res.string_to_sign, "signature", res.signature, "authorization",
                  res.authorization, "signed_headers", res.signed_headers, "added", added);
    ex_aws_sigv4_result_cleanup(&res);
    return out;
}

int main(void)
{
    for (;;) {
        json_error_t err;
        json_t *in = json_loadf(stdin, JSON_DISABLE_EOF_CHECK, &err);
        if (in == NULL) {
            /* End of input, or a malformed request: either way nothing more to sign. */
            return feof(stdin) ? 0 : 1;
        }
        json_t *out = sign_one(in);
        json_decref(in);
        if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0) {
            json_decref(out);
            return 1;
        }
        json_decref(out);
        fputc('\n', stdout);
        fflush(stdout);
    }
}
