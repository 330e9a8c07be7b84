/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otterd translate`: shows offline what an exporter would send for some OTLP data, using the
 * exporter's own translation code and options, so a user (or a test) can check the documents
 * without AWS. Input is OTLP/JSON (a single request, or one request per line as the file
 * exporter writes them) or one OTLP protobuf request; errors name the line.
 */
#include "ag_translate.h"
#include "ag_translate_emf.h"
#include "ag_translate_int.h"
#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_config.h"
#include "ag_gates.h"
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
    "       otterd translate --to emf [--config FILE] [FILE|-]\n"
    "       otterd translate --to cwlogs [--config FILE] [FILE|-]\n"
    "       (translate also takes --feature-gates IDS, as otterd does)\n";

/* The input being read. */
struct tctx {
    const char *name; /* input name for messages */
    enum ag_signal sig;
    ag_translate_fn *fn;
    void *arg;
    int errors;
};

/* --to xray */
struct xctx {
    struct ex_xray_options opts;
    struct ex_xray_translate_result total;
    struct ag_buf out;
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
    int rc = ag_otlp_decode(t->sig, enc, buf, len, arena, &msg, err, sizeof(err));
    if (rc == 0) {
        rc = t->fn(t->arg, msg);
        if (rc != 0) {
            snprintf(err, sizeof(err), "cannot translate: %s", ag_strerror(rc));
        }
    }
    ag_arena_free(arena);
    if (rc != 0 && report) {
        t->errors++;
        if (t->errors <= MAX_REPORTED_ERRORS) {
            const char *what = enc == AG_OTLP_JSON ? "OTLP/JSON" : "OTLP protobuf";
            const char *noun = t->sig == AG_SIGNAL_TRACES    ? "trace"
                               : t->sig == AG_SIGNAL_METRICS ? "metrics"
                                                             : "logs";
            if (line > 0) {
                fprintf(stderr, "%s:%d: error: not an %s %s request: %s\n", t->name, line,
                        what, noun, err);
            } else {
                fprintf(stderr, "%s: error: not an %s %s request: %s\n", t->name, what, noun,
                        err);
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

int ag_translate_input(const char *input, enum ag_signal sig, ag_translate_fn *fn, void *arg)
{
    struct tctx t = {.sig = sig, .fn = fn, .arg = arg};
    struct ag_buf in;
    int fd = -1, status = 1;
    ag_buf_init(&in, INPUT_CAP);
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
        fprintf(stderr, "otterd translate: writing the output failed: %s\n", strerror(errno));
        goto out;
    }
    if (t.errors > MAX_REPORTED_ERRORS) {
        fprintf(stderr, "otterd translate: %d more bad lines not shown\n",
                t.errors - MAX_REPORTED_ERRORS);
    }
    status = t.errors > 0 ? 1 : 0;
out:
    if (fd > STDIN_FILENO) {
        close(fd);
    }
    ag_buf_cleanup(&in);
    return status;
}

const struct ag_component_config *ag_translate_exporter(const char *path,
                                                        enum ag_component_type type,
                                                        const char *type_name,
                                                        struct ag_config **cfg)
{
    struct ag_buf diag;
    ag_buf_init(&diag, 1024 * 1024);
    int rc = ag_config_load_file(path, cfg, &diag);
    if (rc != 0) {
        fputs(ag_buf_str(&diag), stderr);
        ag_buf_cleanup(&diag);
        return NULL;
    }
    ag_buf_cleanup(&diag);
    for (size_t i = 0; i < (*cfg)->n_components; i++) {
        const struct ag_component_config *c = &(*cfg)->components[i];
        if (c->kind == AG_KIND_EXPORTER && c->type == type) {
            return c;
        }
    }
    fprintf(stderr, "otterd translate: %s defines no %s exporter\n", path, type_name);
    return NULL;
}

static int xray_one(void *arg, const ProtobufCMessage *msg)
{
    struct xctx *x = arg;
    struct ex_xray_translate_result res;
    ag_buf_reset(&x->out);
    int rc = ex_xray_translate(&x->opts, msg, &x->out, &res);
    if (rc == 0) {
        fwrite(ag_buf_ptr(&x->out) ? ag_buf_ptr(&x->out) : (const uint8_t *)"", 1, x->out.len,
               stdout);
        x->total.docs += res.docs;
        x->total.spans += res.spans;
        x->total.invalid += res.invalid;
        x->total.too_big += res.too_big;
        x->total.dropped_attributes += res.dropped_attributes;
        x->total.trimmed_docs += res.trimmed_docs;
    }
    return rc;
}

static int translate_xray(const char *config, const char *input)
{
    struct ag_config *cfg = NULL;
    struct xctx x;
    int status = 1;
    memset(&x, 0, sizeof(x));
    ag_buf_init(&x.out, OUT_CAP);
    if (config != NULL) {
        const struct ag_component_config *c =
            ag_translate_exporter(config, AG_COMP_AWSXRAY_EXPORTER, "awsxray", &cfg);
        if (c == NULL) {
            goto out;
        }
        ex_xray_options_from_config(&c->u.awsxray_exporter, &x.opts);
    } else {
        x.opts.skip_timestamp_validation =
            ag_gate_enabled(AG_GATE_AWSXRAY_SKIPTIMESTAMPVALIDATION);
    }
    status = ag_translate_input(input, AG_SIGNAL_TRACES, xray_one, &x);
    if (x.total.invalid > 0) {
        fprintf(stderr, "otterd translate: %zu of %zu spans dropped: trace id not valid for "
                "X-Ray (its first 4 bytes must be a Unix time within the last 28 days; see "
                "skip_timestamp_validation) or span id missing\n", x.total.invalid, x.total.spans);
    }
    if (x.total.too_big > 0) {
        fprintf(stderr, "otterd translate: %zu of %zu spans dropped: document over 64 kB\n",
                x.total.too_big, x.total.spans);
    }
out:
    ag_buf_cleanup(&x.out);
    ag_config_free(cfg);
    return status;
}

int ag_translate_main(int argc, char **argv)
{
    const char *to = NULL, *config = NULL, *input = NULL;
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
        } else if (strcmp(a, "--feature-gates") == 0 || strncmp(a, "--feature-gates=", 16) == 0) {
            const char *v = a[15] == '=' ? a + 16 : (++i < argc ? argv[i] : "");
            char err[512];
            if (ag_gates_parse(v, err, sizeof(err)) != 0) {
                fprintf(stderr, "otterd translate: --feature-gates: %s\n", err);
                return 2;
            }
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
    if (strcmp(to, "xray") == 0) {
        return translate_xray(config, input);
    }
    if (strcmp(to, "emf") == 0) {
        return ag_translate_emf(config, input);
    }
    if (strcmp(to, "cwlogs") == 0) {
        return ag_translate_cwlogs(config, input);
    }
    fprintf(stderr, "otterd translate: --to: expected xray, emf or cwlogs, got \"%s\"\n", to);
    return 2;
}
