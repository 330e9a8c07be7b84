/* SPDX-License-Identifier: Apache-2.0 */
/* Listener addresses: resolve for bind, read back the bound port. */
#include "ag_sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <event2/util.h>

int ag_sockaddr_resolve(const char *host, int port, int socktype, struct sockaddr_storage *out,
                        socklen_t *len)
{
    struct evutil_addrinfo hints, *res = NULL, *pick = NULL;
    char portstr[16];

    if (port < 0 || port > 65535) {
        return AG_EINVAL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (evutil_getaddrinfo(host != NULL && host[0] != '\0' ? host : NULL, portstr, &hints,
                           &res) != 0 ||
        res == NULL) {
        return AG_ENOTFOUND;
    }
    for (struct evutil_addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
        if (pick == NULL) {
            pick = ai;
        }
    }
    int rc = AG_ENOTFOUND;
    if (pick->ai_addrlen <= sizeof(*out)) {
        memset(out, 0, sizeof(*out));
        memcpy(out, pick->ai_addr, pick->ai_addrlen);
        *len = (socklen_t)pick->ai_addrlen;
        rc = 0;
    }
    evutil_freeaddrinfo(res);
    return rc;
}

int ag_sockaddr_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        return 0;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}
