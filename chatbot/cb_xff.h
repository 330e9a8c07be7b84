#ifndef CB_XFF_H
#define CB_XFF_H

#include <stddef.h>

/*
 * The client address of a request that came through trusted proxies, from X-Forwarded-For.
 *
 * Each proxy appends the address it received the request from to X-Forwarded-For, so the list
 * read from the right is the chain of hops: the peer of the chatbot's connection is hop 1, the
 * rightmost X-Forwarded-For entry hop 2 (the address the peer saw), and so on. With |trusted|
 * proxies in front (the peer and the ones before it), the client is hop |trusted|: behind
 * CloudFront and an ALB (trusted = 2) the entry CloudFront appended. Whatever a client wrote
 * itself stays to the left of that and is never read.
 *
 * Several X-Forwarded-For header fields are one list, their values joined with ',' in the order
 * received (RFC 7230 3.2.2). Elements are separated by ',', surrounded by optional spaces and
 * tabs; empty elements are ignored (RFC 7230 7). An element is an IPv4 address in dotted form or
 * an IPv6 address (inet_pton's syntax: no port, no brackets, no zone).
 *
 * Pure logic, no allocation.
 */

#define CB_XFF_ADDR_MAX 46u   /* INET6_ADDRSTRLEN: the longest address text and its NUL */
#define CB_XFF_MAX_TRUSTED 16u /* the largest |trusted| accepted (--trusted-proxies) */

/*
 * Writes the client address into |out| (CB_XFF_ADDR_MAX bytes): hop |trusted| of the chain made
 * of |peer| and the |n| X-Forwarded-For values |values| (in the order received; NULL entries
 * are skipped). An address read from the header is written in inet_ntop's canonical form, so
 * two spellings of one IPv6 address are one client.
 *
 * Falls back to |peer| (copied, cut to CB_XFF_ADDR_MAX - 1 bytes; "" when NULL) whenever the
 * header cannot be trusted that far: |trusted| <= 1, the list has fewer than |trusted| - 1
 * elements, or any element between the right end and hop |trusted| (included) is not an
 * address. It never reads further left than hop |trusted|.
 *
 * Returns 1 when the address came from X-Forwarded-For, 0 when it is the peer's.
 */
int cb_xff_client(const char *const *values, size_t n, const char *peer, unsigned trusted,
                  char out[CB_XFF_ADDR_MAX]);

#endif /* CB_XFF_H */
