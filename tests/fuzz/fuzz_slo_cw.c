/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes `slo dashboard` / `slo alarms` generation (slo_cw) over any definitions the parser
 * accepts: the output is always one JSON object of the expected shape (parsed back with jansson),
 * and a refusal is AG_EINVAL with "fuzz.yaml:line:col: error: ..." lines, AG_ETOOBIG or
 * AG_ENOMEM; never a crash, a leak or broken JSON.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "slo_cw.h"
#include "slo_def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(const struct ag_buf *out, int alarms)
{
    json_error_t e;
    json_t *root = json_loadb(ag_buf_str(out), out->len, 0, &e);
    if (root == NULL || !json_is_object(root)) {
        abort();
    }
    if (alarms) {
        if (!json_is_array(json_object_get(root, "MetricAlarms")) ||
            !json_is_array(json_object_get(root, "CompositeAlarms"))) {
            abort();
        }
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(root, "MetricAlarms"), i, a) {
            const char *name = json_string_value(json_object_get(a, "AlarmName"));
            if (name == NULL || strlen(name) > SLO_CW_MAX_NAME ||
                !json_is_number(json_object_get(a, "Threshold"))) {
                abort();
            }
        }
    } else if (!json_is_array(json_object_get(root, "widgets")) ||
               json_array_size(json_object_get(root, "widgets")) > SLO_CW_MAX_WIDGETS) {
        abort();
    }
    json_decref(root);
}

/* Every line "fuzz.yaml:line:col: error: ..." or (when |warnings_only|, only) "...: warning: ..."
 * (a budgetDrop condition has no alarm: a warning, and the generation succeeds). */
static void check_diag(const char *s, int warnings_only)
{
    while (*s != '\0') {
        const char *nl = strchr(s, '\n');
        if (nl == NULL || strncmp(s, "fuzz.yaml:", 10) != 0) {
            abort();
        }
        const char *e = strstr(s, ": error: ");
        const char *w = strstr(s, ": warning: ");
        bool is_err = e != NULL && e < nl, is_warn = w != NULL && w < nl;
        if ((!is_err && !is_warn) || (warnings_only && is_err)) {
            abort();
        }
        s = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ag_buf diag;
    ag_buf_init(&diag, 1u << 20);
    struct slo_defs *d = NULL;
    if (slo_defs_new(&diag, &d) != 0) {
        ag_buf_cleanup(&diag);
        return 0;
    }
    if (slo_defs_add(d, "fuzz.yaml", (const char *)data, size) == 0 && slo_defs_finish(d) == 0) {
        struct slo_cw_opts o = {.prefix = "f-", .sns_topic_arn = "arn:aws:sns:r:1:t",
                                .region = "r", .dashboard_name = "d"};
        for (int alarms = 0; alarms < 2; alarms++) {
            struct ag_buf out;
            ag_buf_init(&out, SLO_CW_OUT_CAP);
            ag_buf_reset(&diag);
            int rc = alarms ? slo_cw_alarms(d, &o, &out, &diag)
                            : slo_cw_dashboard(d, &o, &out, &diag);
            if (rc == 0) {
                check_diag(ag_buf_str(&diag), 1);
                check_json(&out, alarms);
            } else if (rc == AG_EINVAL) {
                if (diag.len == 0) {
                    abort();
                }
                check_diag(ag_buf_str(&diag), 0);
            } else if (rc != AG_ETOOBIG && rc != AG_ENOMEM) {
                abort();
            }
            ag_buf_cleanup(&out);
        }
    }
    slo_defs_free(d);
    ag_buf_cleanup(&diag);
    return 0;
}
