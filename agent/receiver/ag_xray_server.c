/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The X-Ray daemon's UDP listener. A readable socket is drained with recvmmsg() into buffers
 * allocated once, so the hot path allocates nothing but the parser's own tree. UDP has no way
 * to push back, so every datagram ends in exactly one of: a document handed to the sink, a
 * refusal handed to the sink (and logged, rate-limited), or a kernel drop, which SO_RXQ_OVFL
 * makes visible and which is reported too: nothing is lost without a count.
 */
#include "ag_xray_server.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_sockaddr.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/util.h>

/* Larger than any UDP payload (65,527 bytes over IPv6), so MSG_TRUNC means a jumbogram. */
#define DGRAM_BUF (AG_XRAY_MAX_DOC + 512)
/* Batches read per readable event before the loop serves the other sockets. */
#define ROUNDS_PER_EVENT 16
/* Batches read at stop: what the kernel queued before the stop, not an endless stream. */
#define ROUNDS_AT_STOP 1024
#define LOG_INTERVAL_NS 1000000000ull

/* Room for one SO_RXQ_OVFL control message, aligned as CMSG_FIRSTHDR() expects. */
struct ovfl_cmsg {
    _Alignas(size_t) char buf[CMSG_SPACE(sizeof(uint32_t))];
};

struct ag_xray_server {
    struct event_base *base;
    char *id;
    struct ag_xray_server_sink sink;
    int fd;
    struct event *ev;
    uint8_t *bufs; /* AG_XRAY_SERVER_BATCH * DGRAM_BUF */
    struct mmsghdr msgs[AG_XRAY_SERVER_BATCH];
    struct iovec iov[AG_XRAY_SERVER_BATCH];
    struct sockaddr_storage peers[AG_XRAY_SERVER_BATCH];
    struct ovfl_cmsg cmsgs[AG_XRAY_SERVER_BATCH];
    uint32_t drops_seen; /* the kernel's running drop count, as last reported */
    /* Rate-limited warnings: one line per LOG_INTERVAL_NS; the others are counted. */
    uint64_t last_log_ns;
    int logged;
    uint64_t suppressed;
};

int ag_xray_server_new(struct event_base *base, const char *id,
                       const struct ag_xray_server_sink *sink, struct ag_xray_server **out)
{
    *out = NULL;
    struct ag_xray_server *srv = ag_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return AG_ENOMEM;
    }
    srv->fd = -1;
    srv->base = base;
    srv->sink = *sink;
    srv->id = ag_strdup(id);
    srv->bufs = ag_malloc((size_t)AG_XRAY_SERVER_BATCH * DGRAM_BUF);
    if (srv->id == NULL || srv->bufs == NULL) {
        ag_xray_server_free(srv);
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < AG_XRAY_SERVER_BATCH; i++) {
        srv->iov[i].iov_base = srv->bufs + i * DGRAM_BUF;
        srv->iov[i].iov_len = DGRAM_BUF;
    }
    *out = srv;
    return 0;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, outlen, "%s:%d", host, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(out, outlen, "[%s]:%d", host, ntohs(a->sin6_port));
    } else {
        snprintf(out, outlen, "an unknown peer");
    }
}

/*
 * One warning line per second at most: a burst of bad datagrams must not turn into a burst of
 * log lines. The line after a quiet spell says how many were not logged meanwhile.
 */
__attribute__((format(printf, 2, 3))) static void warn_limited(struct ag_xray_server *srv,
                                                                const char *fmt, ...)
{
    uint64_t now = ag_time_mono_ns();
    if (srv->logged && now - srv->last_log_ns < LOG_INTERVAL_NS) {
        srv->suppressed++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (srv->suppressed > 0) {
        ag_log_warn(srv->id, "%s (and %llu more problems not logged since the last line)", msg,
                    (unsigned long long)srv->suppressed);
    } else {
        ag_log_warn(srv->id, "%s", msg);
    }
    srv->suppressed = 0;
    srv->logged = 1;
    srv->last_log_ns = now;
}

/* SO_RXQ_OVFL carries the socket's running count of drops as of this datagram's arrival. */
static void check_overflow(struct ag_xray_server *srv, struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) {
            continue;
        }
        uint32_t total;
        memcpy(&total, CMSG_DATA(c), sizeof(total));
        if (total != srv->drops_seen) {
            uint32_t n = total - srv->drops_seen; /* modulo 2^32, as the kernel's counter */
            srv->drops_seen = total;
            srv->sink.overflow(srv->sink.ctx, n);
            warn_limited(srv, "the socket receive buffer was full: the kernel dropped %u "
                         "datagrams", n);
        }
    }
}

static void handle(struct ag_xray_server *srv, size_t i, size_t len)
{
    struct msghdr *h = &srv->msgs[i].msg_hdr;
    char err[256];
    int rc;
    struct ag_xray_doc doc;
    check_overflow(srv, h);
    if (h->msg_flags & MSG_TRUNC) {
        rc = AG_ETOOBIG;
        snprintf(err, sizeof(err), "datagram larger than %d bytes", DGRAM_BUF);
    } else {
        rc = ag_xray_udp_parse(srv->iov[i].iov_base, len, &doc, err, sizeof(err));
    }
    if (rc == 0) {
        srv->sink.document(srv->sink.ctx, &doc);
        return;
    }
    srv->sink.rejected(srv->sink.ctx, rc);
    char peer[INET6_ADDRSTRLEN + 16];
    peer_text(&srv->peers[i], peer, sizeof(peer));
    if (rc == AG_ENOMEM) {
        warn_limited(srv, "dropped a datagram from %s: out of memory while checking it", peer);
    } else {
        warn_limited(srv, "refused a malformed datagram from %s (%zu bytes): %s", peer, len,
                     err[0] != '\0' ? err : ag_strerror(rc));
    }
}

/* Reads one batch. Returns how many datagrams were read (0: the queue is empty), or AG_E*. */
static int read_batch(struct ag_xray_server *srv)
{
    for (size_t i = 0; i < AG_XRAY_SERVER_BATCH; i++) {
        struct msghdr *h = &srv->msgs[i].msg_hdr;
        memset(h, 0, sizeof(*h));
        h->msg_name = &srv->peers[i];
        h->msg_namelen = sizeof(srv->peers[i]);
        h->msg_iov = &srv->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = srv->cmsgs[i].buf;
        h->msg_controllen = sizeof(srv->cmsgs[i].buf);
        srv->msgs[i].msg_len = 0;
    }
    int n;
    do {
        n = recvmmsg(srv->fd, srv->msgs, AG_XRAY_SERVER_BATCH, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : ag_err_from_errno(errno);
    }
    for (int i = 0; i < n; i++) {
        handle(srv, (size_t)i, srv->msgs[i].msg_len);
    }
    return n;
}

static void drain(struct ag_xray_server *srv, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        int n = read_batch(srv);
        if (n < 0) {
            warn_limited(srv, "reading the UDP socket failed: %s", ag_strerror(n));
            return;
        }
        if (n < AG_XRAY_SERVER_BATCH) {
            return;
        }
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    /* Level-triggered: what is left after these rounds fires the event again. */
    drain(arg, ROUNDS_PER_EVENT);
}

int ag_xray_server_listen(struct ag_xray_server *srv, const char *host, int port,
                          int *bound_port_out, int *rcvbuf_out)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = 0;
    int rc = 0, fd = -1;

    if (srv->fd >= 0 || srv->ev != NULL) {
        return AG_EINVAL;
    }
    rc = ag_sockaddr_resolve(host, port, SOCK_DGRAM, &addr, &addrlen);
    if (rc != 0) {
        return rc;
    }
    fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = ag_err_from_errno(errno);
        goto out;
    }
    /* Bursts are absorbed by the kernel's buffer between two loop turns: ask for a large one.
     * Best effort; the size granted is reported so the log can say when it was capped. */
    int want = AG_XRAY_SERVER_RCVBUF, on = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
    (void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&addr, addrlen) != 0) {
        rc = ag_err_from_errno(errno);
        goto out;
    }
    srv->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, srv);
    if (srv->ev == NULL || event_add(srv->ev, NULL) != 0) {
        rc = AG_ENOMEM;
        goto out;
    }
    srv->fd = fd;
    fd = -1;
    if (bound_port_out != NULL) {
        int bound = ag_sockaddr_bound_port(srv->fd);
        *bound_port_out = bound != 0 ? bound : port;
    }
    if (rcvbuf_out != NULL) {
        int got = 0;
        socklen_t gl = sizeof(got);
        *rcvbuf_out = getsockopt(srv->fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 ? got : 0;
    }
out:
    if (rc != 0 && srv->ev != NULL) {
        event_free(srv->ev);
        srv->ev = NULL;
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static void close_socket(struct ag_xray_server *srv)
{
    if (srv->ev != NULL) {
        event_free(srv->ev);
        srv->ev = NULL;
    }
    if (srv->fd >= 0) {
        close(srv->fd);
        srv->fd = -1;
    }
}

void ag_xray_server_stop(struct ag_xray_server *srv)
{
    if (srv == NULL || srv->fd < 0) {
        return;
    }
    drain(srv, ROUNDS_AT_STOP);
    close_socket(srv);
}

void ag_xray_server_free(struct ag_xray_server *srv)
{
    if (srv == NULL) {
        return;
    }
    close_socket(srv);
    if (srv->suppressed > 0) {
        ag_log_warn(srv->id, "%llu more problems with datagrams were not logged since the last "
                    "line", (unsigned long long)srv->suppressed);
    }
    ag_free(srv->bufs);
    ag_free(srv->id);
    ag_free(srv);
}
