/* SPDX-License-Identifier: Apache-2.0 */
/* An exporter's HTTP client, credentials chain and service client from its session options. */
#include "ex_aws_session.h"

#include <stdio.h>
#include <string.h>

const struct ex_aws_service ex_aws_service_xray = {"XRAY", "xray", "xray", EX_AWS_REST_JSON};
const struct ex_aws_service ex_aws_service_logs = {"CLOUDWATCH_LOGS", "logs", "logs",
                                                   EX_AWS_JSON};
/* SNS speaks the query protocol: form-encoded Action=...&Version=2010-03-31, XML answers. */
const struct ex_aws_service ex_aws_service_sns = {"SNS", "sns", "sns", EX_AWS_QUERY};

int ex_aws_session_init(struct ex_aws_session *s, struct event_base *base,
                        const struct ag_aws_session_config *cfg, const struct ex_aws_service *svc,
                        char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    uint64_t timeout_ms = (uint64_t)cfg->request_timeout_seconds * 1000u;
    struct ex_aws_http_options hopts = {.timeout_ms = timeout_ms};
    int rc = ex_aws_http_new(base, &hopts, &s->http);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the HTTP client: %s", ag_strerror(rc));
        return rc;
    }
    struct ex_aws_creds_options copts = {
        .region = cfg->sts_region != NULL ? cfg->sts_region : cfg->region,
        .profile = cfg->profile,
        .role_arn = cfg->role_arn,
        .external_id = cfg->external_id,
        .no_verify_ssl = cfg->no_verify_ssl != 0,
        .proxy = cfg->proxy_address,
    };
    rc = ex_aws_creds_new(base, s->http, &copts, &s->creds, err, errlen);
    if (rc != 0) {
        return rc;
    }
    struct ex_aws_client_options kopts = {
        .service_id = svc->service_id,
        .endpoint_prefix = svc->endpoint_prefix,
        .signing_name = svc->signing_name,
        .protocol = svc->protocol,
        .region = cfg->region,
        .endpoint = cfg->endpoint,
        .max_attempts = cfg->max_retries + 1,
        .timeout_ms = timeout_ms,
        .no_verify_ssl = cfg->no_verify_ssl != 0,
        .proxy = cfg->proxy_address,
    };
    return ex_aws_client_new(base, s->http, s->creds, &kopts, &s->client, err, errlen);
}

void ex_aws_session_cleanup(struct ex_aws_session *s)
{
    ex_aws_client_free(s->client);
    ex_aws_creds_free(s->creds);
    ex_aws_http_free(s->http);
    memset(s, 0, sizeof(*s));
}
