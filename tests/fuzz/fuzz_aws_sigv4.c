/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the SigV4 signer: the input is a request in lines (flags byte + method, path, query,
 * then "Name:Value" headers; a blank line, then the body). Signing must not crash, must accept
 * or reject with AG_EINVAL / AG_ETOOBIG only, and a signed result must be self-consistent; the
 * path normalisation and the query canonicalisation must be idempotent. Seeds: corpus/aws_sigv4/.
 */
#include "ag_mem.h"
#include "ex_aws_sigv4.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_HEADERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs |fn| on |s| and on its own output, and aborts unless both outputs are equal. */
static void check_idempotent_query(const char *s, size_t len)
{
    struct ag_buf a, b;
    ag_buf_init(&a, 1u << 20);
    ag_buf_init(&b, 1u << 20);
    if (ex_aws_sigv4_canonical_query(s, len, &a) == 0 &&
        ex_aws_sigv4_canonical_query(ag_buf_str(&a), a.len, &b) == 0) {
        if (a.len != b.len || memcmp(ag_buf_str(&a), ag_buf_str(&b), a.len) != 0) {
            abort();
        }
    }
    ag_buf_cleanup(&a);
    ag_buf_cleanup(&b);
}

/* Normalising (no encoding) a path that starts with '/' gives a fixed point. */
static void check_idempotent_path(const char *s, size_t len)
{
    struct ag_buf a, b;
    const unsigned norm_only = EX_AWS_SIGV4_NO_PATH_ENCODE;

    if (len == 0 || s[0] != '/') {
        return;
    }
    ag_buf_init(&a, 1u << 20);
    ag_buf_init(&b, 1u << 20);
    if (ex_aws_sigv4_canonical_uri(s, len, norm_only, &a) == 0 &&
        ex_aws_sigv4_canonical_uri(ag_buf_str(&a), a.len, norm_only, &b) == 0) {
        if (a.len != b.len || memcmp(ag_buf_str(&a), ag_buf_str(&b), a.len) != 0) {
            abort();
        }
        /* The canonical URI never keeps a dot segment or an empty segment. */
        if (strstr(ag_buf_str(&a), "//") != NULL || strstr(ag_buf_str(&a), "/./") != NULL ||
            strstr(ag_buf_str(&a), "/../") != NULL) {
            abort();
        }
    }
    ag_buf_cleanup(&a);
    ag_buf_cleanup(&b);
}

static void check_result(const struct ex_aws_sigv4_result *res)
{
    if (res->canonical_request == NULL || res->string_to_sign == NULL ||
        res->authorization == NULL || res->signed_headers == NULL ||
        strlen(res->signature) != EX_AWS_SIGV4_HEX_LEN || res->n_added < 1) {
        abort();
    }
    if (strstr(res->authorization, res->signature) == NULL ||
        strstr(res->authorization, res->signed_headers) == NULL ||
        strstr(res->signed_headers, "host") == NULL ||
        strstr(res->signed_headers, "x-amz-date") == NULL ||
        strncmp(res->string_to_sign, EX_AWS_SIGV4_ALGORITHM "\n", 17) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ex_aws_header headers[FUZZ_MAX_HEADERS + 1];
    size_t nh = 0, nlines = 0;
    char *text;
    const char *lines[3] = {"", "", ""};
    unsigned flags;
    int has_host = 0;

    if (size < 1) {
        return 0;
    }
    flags = data[0] & 0x0f;
    text = ag_strndup((const char *)data + 1, size - 1);
    if (text == NULL) {
        return 0;
    }
    /* Embedded NULs end the text: the signer takes C strings. */
    char *p = text;
    const char *body = "";
    while (p != NULL) {
        char *nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        if (nlines < 3) {
            lines[nlines++] = p;
        } else if (*p == '\0') {
            body = nl != NULL ? nl + 1 : "";
            break;
        } else if (nh < FUZZ_MAX_HEADERS) {
            char *colon = strchr(p, ':');
            headers[nh].name = p;
            headers[nh].value = "";
            if (colon != NULL) {
                *colon = '\0';
                headers[nh].value = colon + 1;
            }
            has_host |= strcmp(p, "Host") == 0 || strcmp(p, "host") == 0;
            nh++;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    if (!has_host) {
        headers[nh].name = "Host";
        headers[nh].value = "example.amazonaws.com";
        nh++;
    }

    check_idempotent_path(lines[1], strlen(lines[1]));
    check_idempotent_query(lines[2], strlen(lines[2]));

    const struct ex_aws_credentials creds = {
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", (flags & 1) ? "token" : NULL};
    const struct ex_aws_sigv4_request req = {
        .method = *lines[0] ? lines[0] : "GET",
        .path = lines[1],
        .query = lines[2],
        .headers = headers,
        .n_headers = nh,
        .payload = (const uint8_t *)body,
        .payload_len = strlen(body),
        .service = (flags & 2) ? "s3" : "bedrock",
        .region = "us-east-1",
        .amz_date = "20150830T123600Z",
        .flags = (flags & 2) ? ex_aws_sigv4_service_flags("s3") : (flags & 0x0c),
    };
    struct ex_aws_sigv4_result res = {0};
    int rc = ex_aws_sigv4_sign(NULL, &creds, &req, &res);
    if (rc == 0) {
        check_result(&res);
    } else if (rc != AG_EINVAL && rc != AG_ETOOBIG) {
        abort();
    } else if (res.canonical_request != NULL || res.authorization != NULL) {
        abort();
    }
    ex_aws_sigv4_result_cleanup(&res);
    ag_free(text);
    return 0;
}
