/* SPDX-License-Identifier: Apache-2.0 */
/* The client address from X-Forwarded-For behind a known number of proxies (cb_xff.h). */
#include "cb_xff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void copy_peer(const char *peer, char out[CB_XFF_ADDR_MAX])
{
    size_t n = peer != NULL ? strlen(peer) : 0;
    if (n > CB_XFF_ADDR_MAX - 1) {
        n = CB_XFF_ADDR_MAX - 1;
    }
    if (n > 0) {
        memcpy(out, peer, n);
    }
    out[n] = '\0';
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses the element [b, e) (spaces trimmed already) as an address; writes its canonical text
 * into |out|. Returns 0, or -1 when it is not an IPv4 or IPv6 address. */
static int parse_addr(const char *b, const char *e, char out[CB_XFF_ADDR_MAX])
{
    char text[CB_XFF_ADDR_MAX];
    size_t n = (size_t)(e - b);
    if (n == 0 || n >= sizeof(text)) {
        return -1;
    }
    memcpy(text, b, n);
    text[n] = '\0';
    struct in6_addr a6;
    struct in_addr a4;
    if (memchr(text, ':', n) != NULL) {
        if (inet_pton(AF_INET6, text, &a6) != 1 || inet_ntop(AF_INET6, &a6, out, CB_XFF_ADDR_MAX) == NULL) {
            return -1;
        }
        return 0;
    }
    if (inet_pton(AF_INET, text, &a4) != 1 || inet_ntop(AF_INET, &a4, out, CB_XFF_ADDR_MAX) == NULL) {
        return -1;
    }
    return 0;
}

int cb_xff_client(const char *const *values, size_t n, const char *peer, unsigned trusted,
                  char out[CB_XFF_ADDR_MAX])
{
    if (trusted <= 1 || values == NULL) {
        copy_peer(peer, out);
        return 0;
    }
    /* Hop 1 is the peer: hop |trusted| is element |trusted| - 1 from the right. */
    unsigned want = trusted - 1, seen = 0;
    char addr[CB_XFF_ADDR_MAX];
    for (size_t i = n; i-- > 0;) {
        const char *v = values[i];
        if (v == NULL) {
            continue;
        }
        const char *end = v + strlen(v);
        while (end > v) {
            /* The element ending at |end|: back to the previous ',' (or the start). */
            const char *b = end;
            while (b > v && b[-1] != ',') {
                b--;
            }
            const char *s = b, *e = end;
            while (s < e && is_ows(*s)) {
                s++;
            }
            while (e > s && is_ows(e[-1])) {
                e--;
            }
            if (s < e) {
                if (parse_addr(s, e, addr) != 0) {
                    copy_peer(peer, out);
                    return 0;
                }
                if (++seen == want) {
                    memcpy(out, addr, CB_XFF_ADDR_MAX);
                    return 1;
                }
            }
            end = b > v ? b - 1 : v; /* past the ',' */
        }
    }
    copy_peer(peer, out);
    return 0;
}
