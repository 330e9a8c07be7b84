/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otterd translate`: shows offline what an exporter would send for some OTLP data, using the
 * exporter's own translation code and options, so a user (or a test) can check the documents
 * without AWS. Input is OTLP/JSON (a single request, or one request per line as the file
 * exporter writes them) or one OTLP protobuf request; errors name the line.
 */
#include "ag_translate.h"
#include "ag_translate_emf.h"
#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_config.h"
#include "ag_mem.h"
#include "ag_otlp.h"
#include "ag_otlp_json.h"
#include "ex_xray_translate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INPUT_CAP          (256u * 1024 * 1024)
#define ARENA_FACTOR       24 /* as the service: decoded requests take more than their text */
#define ARENA_MIN          (1024u * 1024)
#define OUT_CAP            (512u * 1024 * 1024)
#define MAX_REPORTED_ERRORS 20

const char ag_translate_usage[] =
    "       otterd translate --to xray [--config FILE] [FILE|-]\n"
    "       otterd translate --to emf [--config FILE] [FILE|-]\n";

struct tctx {
    const char *name; /* input name for messages */
    struct ex_xray_options opts;
    struct ex_xray_translate_result total;
    struct ag_buf out;
    int errors;
};

/* Reads all of |fd| into |buf| (cap INPUT_CAP). Returns 0 or an AG_E* code. */
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

/*
 * Decodes one request and prints its documents. |line| is 0 for a whole-input request. Returns 0,
 * AG_EPROTO (reported), or AG_ENOMEM / AG_ETOOBIG.
 */
static int translate_one(struct tctx *t, enum ag_otlp_encoding enc, const uint8_t *buf,
                         size_t len, int line, int report)
{
    char err[512] = "";
    ProtobufCMessage *msg = NULL;
    size_t cap = len > SIZE_MAX / ARENA_FACTOR ? SIZE_MAX : len * ARENA_FACTOR;
    struct ag_arena *arena = ag_arena_new(cap + ARENA_MIN);
    if (arena == NULL) {
        return AG_ENOMEM;
    }
    int rc = ag_otlp_decode(AG_SIGNAL_TRACES, enc, buf, len, arena, &msg, err, sizeof(err));
    if (rc == 0) {
        struct ex_xray_translate_result res;
        ag_buf_reset(&t->out);
        rc = ex_xray_translate(&t->opts, msg, &t->out, &res);
        if (rc == 0) {
            fwrite(ag_buf_ptr(&t->out) ? ag_buf_ptr(&t->out) : (const uint8_t *)"", 1,
                   t->out.len, stdout);
            t->total.docs += res.docs;
            t->total.spans += res.spans;
            t->total.invalid += res.invalid;
            t->total.too_big += res.too_big;
            t->total.dropped_attributes += res.dropped_attributes;
            t->total.trimmed_docs += res.trimmed_docs;
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
                fprintf(stderr, "%s:%d: error: not an %s trace request: %s\n", t->name, line,
                        what, err);
            } else {
                fprintf(stderr, "%s: error: not an %s trace request: %s\n", t->name, what, err);
            }
        }
    }
    return rc;
}

/* One JSON document, or (when that fails and there are several lines) one request per line. */
static void translate_json(struct tctx *t, const uint8_t *buf, size_t len)
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
    if (lines <= 1 || translate_one(t, AG_OTLP_JSON, buf, len, 0, 0) != 0) {
        int line = 0;
        for (size_t i = 0; i < len;) {
            const uint8_t *nl = memchr(buf + i, '\n', len - i);
            size_t end = nl != NULL ? (size_t)(nl - buf) : len;
            line++;
            size_t k = i;
            while (k < end && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) {
                k++;
            }
            if (k < end) {
                int rc = translate_one(t, AG_OTLP_JSON, buf + i, end - i, line, 1);
                if (rc == AG_ENOMEM) {
                    return;
                }
            }
            i = end + 1;
        }
    }
}

/* The options of the first awsxray exporter of |path|'s config. Returns 0 or 1 (reported). */
static int load_options(const char *path, struct ag_config **cfg, struct tctx *t)
{
    struct ag_buf diag;
    ag_buf_init(&diag, 1024 * 1024);
    int rc = ag_config_load_file(path, cfg, &diag);
    if (rc != 0) {
        fputs(ag_buf_str(&diag), stderr);
        ag_buf_cleanup(&diag);
        return 1;
    }
    ag_buf_cleanup(&diag);
    for (size_t i = 0; i < (*cfg)->n_components; i++) {
        const struct ag_component_config *c = &(*cfg)->components[i];
        if (c->kind == AG_KIND_EXPORTER && c->type == AG_COMP_AWSXRAY_EXPORTER) {
            ex_xray_options_from_config(&c->u.awsxray_exporter, &t->opts);
            return 0;
        }
    }
    fprintf(stderr, "otterd translate: %s defines no awsxray exporter\n", path);
    return 1;
}

int ag_translate_main(int argc, char **argv)
{
    const char *to = NULL, *config = NULL, *input = NULL;
    struct ag_config *cfg = NULL;
    struct ag_buf in;
    struct tctx t;
    int status = 1;
    int fd = -1;

    memset(&t, 0, sizeof(t));
    ag_buf_init(&in, INPUT_CAP);
    ag_buf_init(&t.out, OUT_CAP);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--to") == 0 && i + 1 < argc) {
            to = argv[++i];
        } else if ((strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if (strncmp(a, "--to=", 5) == 0) {
            to = a + 5;
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if ((a[0] != '-' || strcmp(a, "-") == 0) && input == NULL) {
            input = a;
        } else {
            fprintf(stderr, "otterd translate: unexpected argument \"%s\"\nusage:\n%s", a,
                    ag_translate_usage);
            return 2;
        }
    }
    if (to == NULL) {
        fprintf(stderr, "otterd translate: --to is required\nusage:\n%s", ag_translate_usage);
        return 2;
    }
    if (strcmp(to, "emf") == 0) {
        status = ag_translate_emf(config, input);
        goto out;
    }
    if (strcmp(to, "cwlogs") == 0) {
        fprintf(stderr, "otterd translate: --to %s is not supported by this otterd yet\n", to);
        return 2;
    }
    if (strcmp(to, "xray") != 0) {
        fprintf(stderr, "otterd translate: --to: expected xray, emf or cwlogs, got \"%s\"\n", to);
        return 2;
    }
    if (config != NULL && load_options(config, &cfg, &t) != 0) {
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
        fprintf(stderr, "otterd translate: writing the documents failed: %s\n", strerror(errno));
        goto out;
    }
    if (t.errors > MAX_REPORTED_ERRORS) {
        fprintf(stderr, "otterd translate: %d more bad lines not shown\n",
                t.errors - MAX_REPORTED_ERRORS);
    }
    if (t.total.invalid > 0) {
        fprintf(stderr, "otterd translate: %zu of %zu spans dropped: trace id not valid for "
                "X-Ray (its first 4 bytes must be a Unix time within the last 28 days; see "
                "skip_timestamp_validation) or span id missing\n", t.total.invalid, t.total.spans);
    }
    if (t.total.too_big > 0) {
        fprintf(stderr, "otterd translate: %zu of %zu spans dropped: document over 64 kB\n",
                t.total.too_big, t.total.spans);
    }
    status = t.errors > 0 ? 1 : 0;
out:
    if (fd > STDIN_FILENO) {
        close(fd);
    }
    ag_buf_cleanup(&in);
    ag_buf_cleanup(&t.out);
    ag_config_free(cfg);
    return status;
}
