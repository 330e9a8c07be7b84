/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes slo_report_parse (the replay contract's JSON read back, `slo report --from agent`):
 * the first input byte picks whether definitions are given (an SLO "a" with alert "page");
 * the rest is the document. Any input either parses, and then its JSON is a fixed point (the
 * JSON of the parsed report parses again into a report with the same JSON) and every renderer
 * succeeds, or is refused with one diagnostic line; never a crash, a leak or an unbounded message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "slo_def.h"
#include "slo_eval.h"
#include "slo_report_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char defs_text[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: a}\n"
                                "spec:\n"
                                "  service: s\n"
                                "  objective: \"99\"\n"
                                "  window: 1h\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "  alerts: [{name: page, burnRate: \"14.4\", longWindow: 1h, "
                                "shortWindow: 5m}]\n";

static struct slo_defs *defs(void)
{
    static struct slo_defs *d;
    if (d == NULL) {
        if (slo_defs_new(NULL, &d) != 0 ||
            slo_defs_add(d, "fuzz.yaml", defs_text, sizeof(defs_text) - 1) != 0 ||
            slo_defs_finish(d) != 0) {
            abort();
        }
    }
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    const struct slo_defs *d = (data[0] & 1) ? defs() : NULL;
    struct slo_report r, r2;
    struct slo_report_doc *doc = NULL, *doc2 = NULL;
    struct ag_buf why, j1, j2, other;
    ag_buf_init(&why, 1u << 20);
    ag_buf_init(&j1, 1u << 26);
    ag_buf_init(&j2, 1u << 26);
    ag_buf_init(&other, 1u << 26);
    int rc = slo_report_parse((const char *)data + 1, size - 1, d, &r, &doc, &why);
    if (rc == 0) {
        if (why.len != 0 || slo_report_json(&r, &j1) != 0) {
            abort();
        }
        if (slo_report_parse(ag_buf_str(&j1), j1.len, d, &r2, &doc2, &why) != 0) {
            abort();
        }
        if (slo_report_json(&r2, &j2) != 0 || j1.len != j2.len ||
            memcmp(ag_buf_str(&j1), ag_buf_str(&j2), j1.len) != 0) {
            abort();
        }
        int t = slo_report_text(&r, true, &other);
        ag_buf_reset(&other);
        int m = slo_report_markdown(&r, &other);
        ag_buf_reset(&other);
        int h = slo_report_html(&r, &other);
        if ((t != 0 && t != AG_ETOOBIG) || (m != 0 && m != AG_ETOOBIG) ||
            (h != 0 && h != AG_ETOOBIG)) {
            abort();
        }
        slo_report_release(&r2);
        slo_report_doc_free(doc2);
        slo_report_release(&r);
        slo_report_doc_free(doc);
    } else {
        const char *s = ag_buf_str(&why);
        const char *nl = strchr(s, '\n');
        if (rc != AG_ENOMEM && (rc == AG_EPROTO || rc == AG_EINVAL || rc == AG_ETOOBIG) &&
            (why.len == 0 || nl == NULL || nl[1] != '\0')) {
            abort();
        }
        if (rc != AG_ENOMEM && rc != AG_EPROTO && rc != AG_EINVAL && rc != AG_ETOOBIG) {
            abort();
        }
    }
    ag_buf_cleanup(&why);
    ag_buf_cleanup(&j1);
    ag_buf_cleanup(&j2);
    ag_buf_cleanup(&other);
    return 0;
}
