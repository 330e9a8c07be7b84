#ifndef AG_SOCKADDR_H
#define AG_SOCKADDR_H

#include <sys/socket.h>

#include "ag_err.h"

/*
 * The listeners' address handling, shared by the gRPC and UDP listeners: resolving the address
 * a listener binds, and reading back the port the kernel chose for port 0.
 */

/*
 * Resolves |host| (NULL or "" = every address) and |port| (0..65535, numeric) for binding a
 * socket of |socktype| (SOCK_STREAM or SOCK_DGRAM). A name with addresses of both families
 * ("localhost") gives the IPv4 one, as the SDKs' default of 127.0.0.1 expects. Fills |*out| and
 * |*len|. Returns 0, or AG_EINVAL (a port out of range), AG_ENOTFOUND (the name does not
 * resolve).
 */
AG_NODISCARD int ag_sockaddr_resolve(const char *host, int port, int socktype,
                                     struct sockaddr_storage *out, socklen_t *len);

/* The local port of the bound socket |fd|, or 0 when it cannot be read. */
int ag_sockaddr_bound_port(int fd);

#endif /* AG_SOCKADDR_H */
