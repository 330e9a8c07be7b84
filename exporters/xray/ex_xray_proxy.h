#ifndef EX_XRAY_PROXY_H
#define EX_XRAY_PROXY_H

#include <event2/event.h>

#include "ag_config.h"
#include "ag_err.h"
#include "ag_service.h"

/*
 * The awsxray receiver's proxy_server, as the X-Ray daemon and ADOT have it: the X-Ray SDKs and
 * the OpenTelemetry X-Ray remote samplers send their sampling calls (POST /GetSamplingRules,
 * POST /SamplingTargets, unsigned) to the daemon's TCP port; each is relayed to X-Ray with the
 * same path, query, content type and body, signed with SigV4 (service_name, the region)
 * through the credentials chain, and X-Ray's answer goes back as it came: status, body,
 * content type, x-amzn-ErrorType and x-amzn-RequestId. Only those two calls are relayed (404
 * for any other path, 405 for another method): the proxy must not let whoever reaches the port
 * act with otterd's role beyond sampling (the collector's proxy relays any path).
 *
 * One attempt per call (the callers poll again; a retry here would only delay their answer);
 * X-Ray unreachable or no credentials: 502 with {"message": why}. Bodies over 1 MiB get 413,
 * more than 64 calls in flight 503. A caller that hangs up withdraws its call.
 */
struct ex_xray_proxy;

/*
 * Creates the proxy of the receiver |id| on |base| from |cfg| (borrowed; must outlive it).
 * Returns 0, or AG_EINVAL / AG_ENOMEM with a reason in |err|.
 */
AG_NODISCARD int ex_xray_proxy_new(struct event_base *base, const char *id,
                                   const struct ag_xray_proxy_config *cfg,
                                   struct ex_xray_proxy **out, char *err, size_t errlen);

/* Listens on TCP |host|:|port| (0: any free port, written to |*bound|). Returns 0 or AG_EIO. */
AG_NODISCARD int ex_xray_proxy_listen(struct ex_xray_proxy *p, const char *host, int port,
                                      int *bound);

/* Calls relayed since creation, and those that ended without an answer from X-Ray. */
void ex_xray_proxy_counts(const struct ex_xray_proxy *p, uint64_t *calls, uint64_t *failed);

/* Withdraws the calls in flight (their callers get nothing more) and frees. NULL: no-op. */
void ex_xray_proxy_free(struct ex_xray_proxy *p);

/* ag_service's hooks (ag_service_set_xray_proxy()). */
extern const struct ag_xray_proxy_ops ex_xray_proxy_ops;

#endif /* EX_XRAY_PROXY_H */
