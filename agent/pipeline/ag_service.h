#ifndef AG_SERVICE_H
#define AG_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_component.h"
#include "ag_config.h"
#include "ag_err.h"

/*
 * The running agent: every component a config's pipelines use, wired together on one event
 * loop, plus the admin listener (/healthz, /readyz, /metrics, /v1/slo) and the health_check extension.
 * Lifecycle: new (build everything, bind nothing) -> start (bind and log "listening:" lines) ->
 * drain (stop accepting, flush every processor and exporter) -> free.
 */
struct ag_service;

/* Maps an exporter type to its implementation; NULL when this build has none. */
typedef const struct ag_exporter_ops *ag_exporter_lookup_fn(enum ag_component_type type);

/*
 * Builds the service for |cfg| (borrowed: it must outlive the service) on |base|.
 * On failure writes "<component id>: reason" to |err|.
 * Returns 0 and the service in |*out|, or AG_EINVAL, AG_ENOMEM.
 */
AG_NODISCARD int ag_service_new(const struct ag_config *cfg, struct event_base *base,
                                ag_exporter_lookup_fn *lookup, struct ag_service **out, char *err,
                                size_t errlen);

/*
 * The awsxray receiver's proxy_server, which needs the AWS client: otterd passes the X-Ray
 * library's (ex_xray_proxy_ops); without them no proxy is started.
 */
struct ag_xray_proxy_ops {
    /* Creates the proxy of receiver |id| and listens on TCP |host|:|port|; the port bound goes
     * to |*bound|. Returns 0, or an error with a reason in |err|. */
    int (*start)(struct event_base *base, const char *id, const struct ag_xray_proxy_config *cfg,
                 const char *host, int port, void **out, int *bound, char *err, size_t errlen);
    void (*stop)(void *self);
    /* Calls relayed so far, and those that ended without an answer from X-Ray. */
    void (*counts)(const void *self, uint64_t *calls, uint64_t *failed);
};

/* Sets the proxy hooks (borrowed); before ag_service_start(). */
void ag_service_set_xray_proxy(struct ag_service *svc, const struct ag_xray_proxy_ops *ops);

/*
 * Binds every listener and starts the timers. Logs one line per listener:
 * "listening: <component-id> <grpc|http|udp|tcp> <host>:<port>" (tcp: awsxray's proxy_server).
 * Returns 0, or AG_EIO (a port cannot be bound; |err| says which), AG_EINVAL (bad TLS files).
 */
AG_NODISCARD int ag_service_start(struct ag_service *svc, char *err, size_t errlen);

/*
 * Stops accepting new connections and refuses new requests with a retryable status. UDP
 * receivers deliver what the kernel had queued, then close their sockets.
 */
void ag_service_stop_accepting(struct ag_service *svc);

/*
 * Sends everything held in processors to the exporters and flushes every exporter.
 */
void ag_service_flush(struct ag_service *svc);

/*
 * Returns 1 while the service is started and not draining (/readyz).
 */
int ag_service_ready(const struct ag_service *svc);

/*
 * Frees the service and everything it built. ag_service_free(NULL) is a no-op.
 */
void ag_service_free(struct ag_service *svc);

#endif /* AG_SERVICE_H */
