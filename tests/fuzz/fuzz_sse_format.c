/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the SSE event writer with arbitrary data: either it is refused (a NUL byte) or the
 * event reads back, by the WHATWG parsing rules written out here, as one event named "delta"
 * whose data is the input with every CRLF and CR turned into LF, and nothing else (no line of
 * the input can start a field or end the event).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "cb_sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ag_buf out;
    ag_buf_init(&out, 8u * size + 64u);
    int rc = cb_sse_format(&out, "delta", (const char *)data, size);
    if (memchr(data, '\0', size) != NULL) {
        if (rc != AG_EINVAL || out.len != 0) {
            abort();
        }
        ag_buf_cleanup(&out);
        return 0;
    }
    if (rc != 0) {
        abort();
    }
    /* The expected data: line ends normalised to LF. */
    char *want = ag_malloc(size + 1);
    size_t wn = 0;
    if (want == NULL) {
        abort();
    }
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\r') {
            want[wn++] = '\n';
            if (i + 1 < size && data[i + 1] == '\n') {
                i++;
            }
        } else {
            want[wn++] = (char)data[i];
        }
    }
    /* Parse: our output ends lines with LF only, so any CR in it would be a bug. */
    const char *p = (const char *)ag_buf_ptr(&out), *end = p + out.len;
    if (memchr(p, '\r', out.len) != NULL) {
        abort();
    }
    char *got = ag_malloc(out.len + 1);
    size_t gn = 0, lines = 0, events = 0, data_lines = 0;
    if (got == NULL) {
        abort();
    }
    int named = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            abort(); /* an unterminated line */
        }
        size_t len = (size_t)(nl - p);
        lines++;
        if (len == 0) {
            events++;
            if (nl + 1 != end) {
                abort(); /* the blank line must be the very end */
            }
        } else if (len >= 7 && memcmp(p, "event: ", 7) == 0) {
            if (lines != 1 || len != 12 || memcmp(p + 7, "delta", 5) != 0) {
                abort();
            }
            named = 1;
        } else if (len >= 5 && memcmp(p, "data:", 5) == 0) {
            const char *v = p + 5;
            size_t vl = len - 5;
            if (vl > 0 && *v == ' ') {
                v++;
                vl--;
            }
            if (data_lines++ > 0) {
                got[gn++] = '\n';
            }
            memcpy(got + gn, v, vl);
            gn += vl;
        } else {
            abort(); /* any other field is an injection */
        }
        p = nl + 1;
    }
    if (!named || events != 1 || gn != wn || memcmp(got, want, wn) != 0) {
        abort();
    }
    ag_free(got);
    ag_free(want);
    ag_buf_cleanup(&out);
    return 0;
}
