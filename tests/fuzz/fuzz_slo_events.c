/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the replay contract's events-file reader (slo_events_parse) against two SLOs: any input
 * either gives observations that hold the contract (a known SLO, good <= total, a time in range,
 * a line inside the input) or errors reported one per line as "fuzz.jsonl:LINE:COL: error: ...;
 * expected ...", at most SLO_EVENTS_MAX_ERRORS plus the "too many errors" line; never a crash, a
 * leak or an unbounded report. The first input byte picks one or two SLOs (the "slo" field is
 * optional only with one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "slo_def.h"
#include "slo_events.h"
#include "slo_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char defs_text[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: a}\n"
                                "spec:\n"
                                "  service: s\n"
                                "  objective: \"99\"\n"
                                "  window: 1h\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "---\n"
                                "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: b}\n"
                                "spec:\n"
                                "  service: s\n"
                                "  objective: \"99\"\n"
                                "  window: 1h\n"
                                "  sli: {spans: {availability: {}}}\n";

static void check_diag(const char *s)
{
    size_t lines = 0;
    while (*s != '\0') {
        const char *nl = strchr(s, '\n');
        const char *e = strstr(s, ": error: ");
        if (nl == NULL || strncmp(s, "fuzz.jsonl:", 11) != 0 || e == NULL || e > nl) {
            abort();
        }
        if (strstr(s, "too many errors") == NULL) {
            const char *x = strstr(s, "; expected ");
            if (x == NULL || x > nl) {
                abort();
            }
        }
        lines++;
        s = nl + 1;
    }
    if (lines > SLO_EVENTS_MAX_ERRORS + 1) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct slo_defs *one, *two;
    static struct ag_buf ddiag;
    if (two == NULL) {
        ag_buf_init(&ddiag, 1u << 16);
        /* two SLOs, and one built from the first document alone */
        if (slo_defs_new(&ddiag, &two) != 0 ||
            slo_defs_add(two, "d.yaml", defs_text, strlen(defs_text)) != 0 ||
            slo_defs_finish(two) != 0 || slo_defs_new(&ddiag, &one) != 0 ||
            slo_defs_add(one, "d.yaml", defs_text, strstr(defs_text, "---") - defs_text) != 0 ||
            slo_defs_finish(one) != 0) {
            abort();
        }
    }
    if (size == 0) {
        return 0;
    }
    const struct slo_defs *d = (data[0] & 1) ? two : one;
    struct ag_buf diag;
    ag_buf_init(&diag, 1u << 20);
    struct slo_events ev = {0};
    int rc = slo_events_parse(d, "fuzz.jsonl", (const char *)data + 1, size - 1, &ev, &diag);
    if (rc != 0 && rc != AG_EPROTO && rc != AG_ENOMEM) {
        abort();
    }
    if (rc == 0 && diag.len != 0) {
        abort();
    }
    if (rc == AG_EPROTO && diag.len == 0) {
        abort();
    }
    check_diag(ag_buf_str(&diag));
    for (size_t i = 0; i < ev.n; i++) {
        const struct slo_event *x = &ev.v[i];
        if (x->slo >= d->n_slos || x->good > x->total || x->t_ms < 0 ||
            x->t_ms > SLO_TIME_MAX_MS || x->line == 0 || x->line > size) {
            abort();
        }
    }
    slo_events_sort(&ev);
    for (size_t i = 1; i < ev.n; i++) {
        if (ev.v[i - 1].t_ms > ev.v[i].t_ms) {
            abort();
        }
    }
    slo_events_release(&ev);
    ag_buf_cleanup(&diag);
    return 0;
}
