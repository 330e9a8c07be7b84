/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the credentials chain's parsers: the first byte picks STS XML, container JSON, IMDS
 * JSON, an ISO-8601 time or a shared-file INI; the rest is the document. Results must be
 * consistent: credentials only on success, each printable and non-empty, error texts clean.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ag_mem.h"
#include "ex_aws_creds_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *s, bool optional)
{
    if (s == NULL) {
        if (!optional) {
            abort();
        }
        return;
    }
    if (s[0] == '\0') {
        abort();
    }
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            abort();
        }
    }
}

static void check_clean(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
            abort();
        }
    }
}

static void check_creds(int rc, struct ex_aws_creds_parsed *p, bool token_optional)
{
    if (rc == 0) {
        check_value(p->access_key_id, false);
        check_value(p->secret_access_key, false);
        check_value(p->session_token, token_optional);
    } else if (p->access_key_id != NULL || p->secret_access_key != NULL ||
               p->session_token != NULL) {
        abort();
    }
    ex_aws_creds_parsed_cleanup(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        json_set_alloc_funcs(ag_malloc, ag_free);
        init = 1;
    }
    if (size == 0) {
        return 0;
    }
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    struct ex_aws_creds_parsed p;
    struct ex_aws_error e;
    char why[256];
    int rc;
    switch (data[0] % 5) {
    case 0:
        rc = ex_aws_creds_parse_sts_xml(doc, len, &p, &e);
        check_clean(e.code, sizeof(e.code));
        check_clean(e.message, sizeof(e.message));
        check_creds(rc, &p, false);
        break;
    case 1:
    case 2:
        rc = ex_aws_creds_parse_json(doc, len, (enum ex_aws_creds_json_kind)(data[0] % 5 - 1), &p,
                                     why, sizeof(why));
        if (rc != 0) {
            check_clean(why, sizeof(why));
        }
        check_creds(rc, &p, data[0] % 5 == 1);
        break;
    case 3: {
        int64_t t;
        rc = ex_aws_creds_parse_time(doc, len, &t);
        if (rc != 0 && t != 0) {
            abort();
        }
        break;
    }
    default: {
        struct ex_aws_creds_profile pr = {0};
        rc =
            ex_aws_creds_ini_parse(doc, len, data[0] & 8, "fuzz", "default", &pr, why, sizeof(why));
        check_clean(pr.unsupported, sizeof(pr.unsupported));
        ex_aws_creds_profile_cleanup(&pr);
        break;
    }
    }
    return 0;
}
