/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the X-Forwarded-For reader (cb_xff_client). Input: the first byte chooses how many
 * proxies are trusted (0..CB_XFF_MAX_TRUSTED); the rest is split at '\n' into the peer's
 * address (the first piece) and up to 8 header values. Checked on every input:
 * - the result is NUL-terminated text shorter than CB_XFF_ADDR_MAX;
 * - from the header (1): at least 2 proxies are trusted and the text is an address inet_pton
 *   reads back (canonical form: inet_ntop of it is the same text);
 * - from the peer (0): the text is the peer's, cut to CB_XFF_ADDR_MAX - 1 bytes;
 * - the left part is never read: with one more element ("spoofed") joined in front of the
 *   first value, a result taken from the header is the same.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "cb_xff.h"

#define MAX_VALUES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) {
        return 0;
    }
    unsigned trusted = data[0] % (CB_XFF_MAX_TRUSTED + 1);
    char *buf = ag_malloc(size);
    char *alt = ag_malloc(size + 16);
    if (buf == NULL || alt == NULL) {
        abort();
    }
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *pieces[MAX_VALUES + 1];
    size_t n = 0;
    char *p = buf;
    pieces[n++] = p;
    while (n < MAX_VALUES + 1 && (p = strchr(p, '\n')) != NULL) {
        *p++ = '\0';
        pieces[n++] = p;
    }
    const char *peer = pieces[0];
    const char *const *values = pieces + 1;
    size_t nv = n - 1;

    char out[CB_XFF_ADDR_MAX];
    memset(out, 'X', sizeof(out));
    int from = cb_xff_client(values, nv, peer, trusted, out);
    size_t len = strnlen(out, sizeof(out));
    if (len >= sizeof(out) || (from != 0 && from != 1)) {
        abort();
    }
    if (from == 1) {
        unsigned char a[16];
        char back[CB_XFF_ADDR_MAX];
        int af = strchr(out, ':') != NULL ? AF_INET6 : AF_INET;
        if (trusted < 2 || inet_pton(af, out, a) != 1 ||
            inet_ntop(af, a, back, sizeof(back)) == NULL || strcmp(back, out) != 0) {
            abort();
        }
        if (nv > 0) {
            /* One more element in front of the first value: the result does not move. */
            size_t l0 = strlen(values[0]);
            memcpy(alt, "spoofed,", 8);
            memcpy(alt + 8, values[0], l0 + 1);
            const char *v2[MAX_VALUES];
            memcpy(v2, values, nv * sizeof(*v2));
            v2[0] = alt;
            char out2[CB_XFF_ADDR_MAX];
            if (cb_xff_client(v2, nv, peer, trusted, out2) != 1 || strcmp(out, out2) != 0) {
                abort();
            }
        }
    } else {
        size_t pl = strlen(peer);
        size_t want = pl < CB_XFF_ADDR_MAX - 1 ? pl : CB_XFF_ADDR_MAX - 1;
        if (len != want || memcmp(out, peer, want) != 0) {
            abort();
        }
    }
    ag_free(buf);
    ag_free(alt);
    return 0;
}
