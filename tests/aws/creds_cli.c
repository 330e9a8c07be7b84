/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The credentials chain as a command, for tests/aws/test_creds_moto.py: builds the chain from
 * the environment (plus --role-arn / --external-id), asks for credentials once and prints
 * "provider=<p> access_key_id=<id> expiration_ms=<n>" or "error rc=<code> why=<text>". It never
 * prints the secret key or the session token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "ex_aws_creds.h"
#include "ex_aws_http.h"

struct result {
    int done;
    int rc;
};

static void on_creds(void *arg, int rc, const struct ex_aws_creds_value *v, const char *why)
{
    struct result *r = arg;
    r->done = 1;
    r->rc = rc;
    if (rc == 0) {
        printf("provider=%s access_key_id=%s expiration_ms=%lld session_token=%s\n", v->provider,
               v->creds.access_key_id, (long long)v->expiration_ms,
               v->creds.session_token != NULL ? "set" : "none");
    } else {
        printf("error rc=%d why=%s\n", rc, why);
    }
}

int main(int argc, char **argv)
{
    struct ex_aws_creds_options o = {0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--role-arn") == 0) {
            o.role_arn = argv[i + 1];
        } else if (strcmp(argv[i], "--external-id") == 0) {
            o.external_id = argv[i + 1];
        } else {
            fprintf(stderr, "usage: creds_cli [--role-arn ARN] [--external-id ID]\n");
            return 2;
        }
    }
    struct event_base *base = event_base_new();
    struct ex_aws_http *http = NULL;
    struct ex_aws_creds *c = NULL;
    struct result r = {0, 0};
    char err[512];
    if (base == NULL || ex_aws_http_new(base, NULL, &http) != 0) {
        fprintf(stderr, "creds_cli: no event loop or HTTP client\n");
        return 1;
    }
    int rc = ex_aws_creds_new(base, http, &o, &c, err, sizeof(err));
    if (rc != 0) {
        printf("error rc=%d why=%s\n", rc, err);
    } else {
        printf("chain provider=%s region=%s\n", ex_aws_creds_provider(c), ex_aws_creds_region(c));
        ex_aws_creds_get(c, on_creds, &r);
        while (!r.done && event_base_loop(base, EVLOOP_ONCE) == 0) {
        }
        rc = r.rc;
    }
    ex_aws_creds_free(c);
    ex_aws_http_free(http);
    event_base_free(base);
    return rc == 0 ? 0 : 1;
}
