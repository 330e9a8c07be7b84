/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otterd translate --to emf`: the awsemf exporter's translation run offline, printing the EMF
 * events (one message per line) exactly as the exporter would send them, without AWS.
 */
#include "ag_translate_emf.h"
#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_config.h"
#include "ag_mem.h"
#include "ag_otlp.h"
#include "ag_time.h"
#include "ex_cw_emf_exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INPUT_CAP           (256u * 1024 * 1024)
#define ARENA_FACTOR        24
#define ARENA_MIN           (1024u * 1024)
#define MAX_REPORTED_ERRORS 20

struct ectx {
    const char *name;
    struct ex_cw_emf *emf;
    struct ex_cw_emf_result total;
    int errors;
};

static int read_all(int fd, struct ag_buf *buf)
{
    for (;;) {
        uint8_t *p = ag_buf_reserve(buf, 65536);
        if (p == NULL) {
            return buf->cap == INPUT_CAP ? AG_ETOOBIG : AG_ENOMEM;
        }
        ssize_t n = read(fd, p, 65536);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ag_err_from_errno(errno);
        }
        if (n == 0) {
            return 0;
        }
        ag_buf_commit(buf, (size_t)n);
    }
}

static int print_event(void *arg, const char *group, const char *stream, int64_t ts,
                       const char *msg, size_t len)
{
    (void)arg, (void)group, (void)stream, (void)ts;
    if (fwrite(msg, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
        return AG_EIO;
    }
    return 0;
}

static int translate_one(struct ectx *t, enum ag_otlp_encoding enc, const uint8_t *buf, size_t len,
                         int line, int report)
{
    char err[512] = "";
    ProtobufCMessage *msg = NULL;
    size_t cap = len > SIZE_MAX / ARENA_FACTOR ? SIZE_MAX : len * ARENA_FACTOR;
    struct ag_arena *arena = ag_arena_new(cap + ARENA_MIN);
    if (arena == NULL) {
        return AG_ENOMEM;
    }
    int rc = ag_otlp_decode(AG_SIGNAL_METRICS, enc, buf, len, arena, &msg, err, sizeof(err));
    if (rc == 0) {
        struct ex_cw_emf_result res;
        rc = ex_cw_emf_translate(t->emf, msg, ag_time_now_ns(), print_event, t, &res);
        if (rc == 0) {
            t->total.events += res.events;
            t->total.points += res.points;
            t->total.baseline += res.baseline;
            t->total.dimension_sets_dropped += res.dimension_sets_dropped;
            for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
                t->total.dropped[i] += res.dropped[i];
            }
        } else {
            snprintf(err, sizeof(err), "cannot translate: %s", ag_strerror(rc));
        }
    }
    ag_arena_free(arena);
    if (rc != 0 && report) {
        t->errors++;
        if (t->errors <= MAX_REPORTED_ERRORS) {
            const char *what = enc == AG_OTLP_JSON ? "OTLP/JSON" : "OTLP protobuf";
            if (line > 0) {
                fprintf(stderr, "%s:%d: error: not an %s metrics request: %s\n", t->name, line,
                        what, err);
            } else {
                fprintf(stderr, "%s: error: not an %s metrics request: %s\n", t->name, what, err);
            }
        }
    }
    return rc;
}

static void translate_json(struct ectx *t, const uint8_t *buf, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        for (size_t k = i; k < end; k++) {
            if (buf[k] != ' ' && buf[k] != '\t' && buf[k] != '\r') {
                lines++;
                break;
            }
        }
        i = end + 1;
    }
    if (lines <= 1) {
        (void)translate_one(t, AG_OTLP_JSON, buf, len, 0, 1);
        return;
    }
    int line = 0;
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        line++;
        size_t k = i;
        while (k < end && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) {
            k++;
        }
        if (k < end && translate_one(t, AG_OTLP_JSON, buf + i, end - i, line, 1) == AG_ENOMEM) {
            return;
        }
        i = end + 1;
    }
}

static int make_translator(const char *path, struct ectx *t)
{
    struct ag_config *cfg = NULL;
    char err[256] = "";
    int rc;
    if (path == NULL) {
        struct ex_cw_emf_options o = {.version = 1};
        rc = ex_cw_emf_new(&o, ag_time_mono_ns(), &t->emf, err, sizeof(err));
    } else {
        struct ag_buf diag;
        ag_buf_init(&diag, 1024 * 1024);
        rc = ag_config_load_file(path, &cfg, &diag);
        if (rc != 0) {
            fputs(ag_buf_str(&diag), stderr);
            ag_buf_cleanup(&diag);
            return 1;
        }
        ag_buf_cleanup(&diag);
        rc = AG_ENOTFOUND;
        for (size_t i = 0; i < cfg->n_components; i++) {
            const struct ag_component_config *c = &cfg->components[i];
            if (c->kind == AG_KIND_EXPORTER && c->type == AG_COMP_AWSEMF_EXPORTER) {
                rc = ex_cw_emf_from_config(&c->u.awsemf, ag_time_mono_ns(), &t->emf, err,
                                           sizeof(err));
                break;
            }
        }
        ag_config_free(cfg);
        if (rc == AG_ENOTFOUND) {
            fprintf(stderr, "otterd translate: %s defines no awsemf exporter\n", path);
            return 1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "otterd translate: %s\n", err[0] ? err : ag_strerror(rc));
        return 1;
    }
    return 0;
}

int ag_translate_emf(const char *config, const char *input)
{
    struct ectx t;
    struct ag_buf in;
    int fd = -1, status = 1;
    memset(&t, 0, sizeof(t));
    ag_buf_init(&in, INPUT_CAP);
    if (make_translator(config, &t) != 0) {
        goto out;
    }
    if (input == NULL || strcmp(input, "-") == 0) {
        t.name = "<stdin>";
        fd = STDIN_FILENO;
    } else {
        t.name = input;
        fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "otterd translate: cannot open %s: %s\n", input, strerror(errno));
            goto out;
        }
    }
    int rc = read_all(fd, &in);
    if (rc != 0) {
        fprintf(stderr, "otterd translate: cannot read %s: %s\n", t.name,
                rc == AG_ETOOBIG ? "larger than 256 MiB" : ag_strerror(rc));
        goto out;
    }
    const uint8_t *buf = ag_buf_ptr(&in) ? ag_buf_ptr(&in) : (const uint8_t *)"";
    size_t k = 0;
    while (k < in.len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r' || buf[k] == '\n')) {
        k++;
    }
    if (k == in.len) {
        fprintf(stderr, "otterd translate: %s is empty\n", t.name);
        goto out;
    }
    if (buf[k] == '{') {
        translate_json(&t, buf, in.len);
    } else {
        (void)translate_one(&t, AG_OTLP_PROTOBUF, buf, in.len, 0, 1);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "otterd translate: writing the events failed: %s\n", strerror(errno));
        goto out;
    }
    if (t.errors > MAX_REPORTED_ERRORS) {
        fprintf(stderr, "otterd translate: %d more bad lines not shown\n",
                t.errors - MAX_REPORTED_ERRORS);
    }
    for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
        if (t.total.dropped[i] > 0) {
            fprintf(stderr, "otterd translate: %zu of %zu data points or metrics dropped: %s\n",
                    t.total.dropped[i], t.total.points,
                    ex_cw_emf_drop_name((enum ex_cw_emf_drop)i));
        }
    }
    if (t.total.baseline > 0) {
        fprintf(stderr, "otterd translate: %zu cumulative points only set the delta baseline\n",
                t.total.baseline);
    }
    status = t.errors > 0 ? 1 : 0;
out:
    if (fd > STDIN_FILENO) {
        close(fd);
    }
    ag_buf_cleanup(&in);
    ex_cw_emf_free(t.emf);
    return status;
}
