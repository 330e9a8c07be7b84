#ifndef EX_AWS_SESSION_H
#define EX_AWS_SESSION_H

#include <event2/event.h>

#include "ag_config.h"
#include "ag_err.h"
#include "ex_aws_client.h"
#include "ex_aws_creds.h"
#include "ex_aws_http.h"

/*
 * The AWS objects one exporter owns, made from ADOT's session options (struct
 * ag_aws_session_config: region, endpoint, role_arn, external_id, sts_region, profile,
 * max_retries, no_verify_ssl, proxy_address, request_timeout_seconds): an HTTP client, a
 * credentials chain and a client of one service.
 */

/* Which service a session talks to (ex_aws_client_options' names). */
struct ex_aws_service {
    const char *service_id;
    const char *endpoint_prefix;
    const char *signing_name;
    enum ex_aws_protocol protocol;
};

extern const struct ex_aws_service ex_aws_service_xray;
extern const struct ex_aws_service ex_aws_service_logs;
extern const struct ex_aws_service ex_aws_service_sns;

struct ex_aws_session {
    struct ex_aws_http *http;
    struct ex_aws_creds *creds;
    struct ex_aws_client *client;
};

/*
 * Creates the three objects on |base| for |svc| from |cfg| (borrowed; its strings must outlive
 * the session). On failure writes a reason to |err| and leaves |s| for
 * ex_aws_session_cleanup(). Returns 0, or AG_EINVAL, AG_ENOMEM.
 */
AG_NODISCARD int ex_aws_session_init(struct ex_aws_session *s, struct event_base *base,
                                     const struct ag_aws_session_config *cfg,
                                     const struct ex_aws_service *svc, char *err, size_t errlen);

/* Frees the client (failing what is in flight), the chain and the HTTP client; zeroes |s|. */
void ex_aws_session_cleanup(struct ex_aws_session *s);

#endif /* EX_AWS_SESSION_H */
