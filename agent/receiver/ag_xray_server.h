#ifndef AG_XRAY_SERVER_H
#define AG_XRAY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"
#include "ag_xray_udp.h"

/*
 * The awsxray receiver's socket: X-Ray daemon datagrams on a non-blocking UDP socket of the event
 * loop, read in batches with recvmmsg(), each checked by ag_xray_udp_parse(). Valid documents
 * and every refusal go to a sink; the server itself logs refused datagrams (at most one line a
 * second, with the peer address and the parser's reason, and how many were not logged since).
 */

/* Datagrams read per recvmmsg() call. */
#define AG_XRAY_SERVER_BATCH 64
/* Asked for SO_RCVBUF (best effort: the kernel caps it at net.core.rmem_max). */
#define AG_XRAY_SERVER_RCVBUF (4 * 1024 * 1024)

struct ag_xray_server;

struct ag_xray_server_sink {
    /* One valid document; |doc| and the bytes it points at are borrowed for the call. */
    void (*document)(void *ctx, const struct ag_xray_doc *doc);
    /*
     * One datagram refused: |rc| is AG_EPROTO (malformed), AG_ETOOBIG (larger than the read
     * buffer or the X-Ray document limit) or AG_ENOMEM (could not be checked).
     */
    void (*rejected)(void *ctx, int rc);
    /* |n| datagrams the kernel dropped because the socket's receive buffer was full. */
    void (*overflow)(void *ctx, uint64_t n);
    void *ctx;
};

/*
 * Creates a server for component |id| on |base| delivering to |sink| (copied; |id| is copied).
 * Allocates the batch buffers once (AG_XRAY_SERVER_BATCH datagrams of the largest size).
 * Returns 0 and the server in |*out| (free with ag_xray_server_free()), or AG_ENOMEM.
 */
AG_NODISCARD int ag_xray_server_new(struct event_base *base, const char *id,
                                    const struct ag_xray_server_sink *sink,
                                    struct ag_xray_server **out);

/*
 * Binds |host|:|port| (|host| "" = every interface; port 0 = any) and starts reading. Writes the
 * bound port to |*bound_port_out| (may be NULL) and the kernel's receive buffer size in bytes to
 * |*rcvbuf_out| (may be NULL).
 * Returns 0, or AG_EINVAL (called twice, bad port), AG_ENOTFOUND (host unknown), AG_EIO.
 */
AG_NODISCARD int ag_xray_server_listen(struct ag_xray_server *srv, const char *host, int port,
                                       int *bound_port_out, int *rcvbuf_out);

/*
 * Stops reading for good: first hands what the kernel already queued to the sink (it reached
 * the agent before the stop), then closes the socket. Safe to call twice.
 */
void ag_xray_server_stop(struct ag_xray_server *srv);

/*
 * Stops reading (without draining the queue) and frees |srv|; logs how many refused datagrams
 * were not logged yet. ag_xray_server_free(NULL) is a no-op.
 */
void ag_xray_server_free(struct ag_xray_server *srv);

#endif /* AG_XRAY_SERVER_H */
