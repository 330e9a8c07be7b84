/* SPDX-License-Identifier: Apache-2.0 */
/* File input shared by the `slo` commands. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "slo_cli.h"

int slo_read_all(const char *path, struct ag_buf *buf)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        return errno;
    }
    int rc = 0;
    char chunk[65536];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n > 0 && ag_buf_add(buf, chunk, n) != 0) {
            rc = EFBIG;
            break;
        }
        if (n < sizeof(chunk)) {
            if (ferror(f)) {
                rc = EIO;
            }
            break;
        }
    }
    if (!is_stdin && fclose(f) != 0 && rc == 0) {
        rc = errno;
    }
    return rc;
}
