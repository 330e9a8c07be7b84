/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo validate FILE...`: each file is validated on its own (its documents reference each other,
 * never another file's), with its diagnostics and, when valid, one "FILE: ok (N SLOs)" line.
 * Valid means the engine accepts every SLO too (slo_check_engines: its memory cap).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ag_buf.h"
#include "ag_yaml.h"
#include "slo_cli.h"
#include "slo_def.h"
#include "slo_tz.h"

#define DIAG_CAP (1024u * 1024u)

/* Validates one file into its own set of definitions. Returns 0 valid, 1 invalid, AG_ENOMEM. */
static int validate_one(const char *path, FILE *out, FILE *err)
{
    struct ag_buf diag;
    struct ag_buf text;
    struct slo_defs *d = NULL;
    ag_buf_init(&diag, DIAG_CAP);
    ag_buf_init(&text, (size_t)AG_YAML_MAX_INPUT + 1u);
    int status = 1;
    int rc = slo_read_all(path, &text);
    if (rc != 0) {
        fprintf(err, "%s: error: cannot read: %s\n", path,
                rc == EFBIG ? "larger than the 4 MiB limit" : strerror(rc));
        goto out;
    }
    rc = slo_defs_new(&diag, &d);
    if (rc == 0) {
        slo_defs_set_tz_loader(d, slo_tz_load_system, NULL);
        rc = slo_defs_add(d, path, ag_buf_str(&text), text.len);
    }
    if (rc == 0) {
        rc = slo_defs_finish(d);
    }
    if (rc == AG_ENOMEM) {
        status = AG_ENOMEM;
        goto out;
    }
    fputs(ag_buf_str(&diag), err);
    if (d->n_errors == 0) {
        /* What the engine refuses (an SLO over its memory cap, a window layout it cannot
         * keep) is an error too: otterd and `slo report` would refuse the file. Building each
         * SLO's engine costs its memory (at most 512 KiB) for a moment. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        ag_buf_reset(&diag);
        rc = slo_check_engines(d, (int64_t)now.tv_sec * 1000, &diag);
        if (rc == AG_ENOMEM) {
            status = AG_ENOMEM;
            goto out;
        }
        if (rc != 0) {
            const char *line = ag_buf_str(&diag);
            while (*line != '\0') {
                const char *nl = strchr(line, '\n');
                int n = nl != NULL ? (int)(nl - line) : (int)strlen(line);
                fprintf(err, "%s: error: %.*s\n", path, n, line);
                line += n + (nl != NULL);
            }
            goto out;
        }
        fprintf(out, "%s: ok (%zu SLO%s)\n", path, d->n_slos, d->n_slos == 1 ? "" : "s");
        status = 0;
    }
out:
    slo_defs_free(d);
    ag_buf_cleanup(&text);
    ag_buf_cleanup(&diag);
    return status;
}

int slo_validate_main(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 1) {
        fputs("slo validate: expected at least one FILE\nusage: slo validate FILE...\n", err);
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(err, "slo validate: unknown option \"%s\"\nusage: slo validate FILE...\n",
                    argv[i]);
            return 2;
        }
    }
    int status = 0;
    for (int i = 0; i < argc; i++) {
        int rc = validate_one(argv[i], out, err);
        if (rc == AG_ENOMEM) {
            fputs("slo validate: out of memory\n", err);
            return 1;
        }
        if (rc != 0) {
            status = 1;
        }
    }
    fflush(out);
    return status;
}
