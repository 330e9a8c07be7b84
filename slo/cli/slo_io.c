/* SPDX-License-Identifier: Apache-2.0 */
/* File input shared by the `slo` commands. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ag_err.h"
#include "slo_cli.h"
#include "slo_def.h"
#include "slo_eval.h"

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

int slo_check_engines(const struct slo_defs *d, int64_t start_ms, struct ag_buf *why)
{
    int first = 0;
    for (size_t i = 0; i < d->n_slos; i++) {
        struct slo_defs one = *d;
        struct slo_engine *e = NULL;
        one.slos = &d->slos[i];
        one.n_slos = 1;
        int rc = slo_engine_new(&one, start_ms, why, &e);
        slo_engine_free(e);
        if (rc == AG_ENOMEM) {
            return rc;
        }
        if (rc != 0 && first == 0) {
            first = rc;
        }
    }
    return first;
}
