/* SPDX-License-Identifier: Apache-2.0 */
#include "ag_gates.h"

#include <stdio.h>
#include <string.h>

static const char *const gate_ids[AG_GATE_COUNT] = {
    [AG_GATE_AWSEMF_NODIMROLLUPDEFAULT] = "awsemf.nodimrollupdefault",
    [AG_GATE_AWSXRAY_SKIPTIMESTAMPVALIDATION] = "exporter.awsxray.skiptimestampvalidation",
};

static bool gates[AG_GATE_COUNT];

static int find_gate(const char *id, size_t len)
{
    for (int g = 0; g < AG_GATE_COUNT; g++) {
        if (strlen(gate_ids[g]) == len && memcmp(gate_ids[g], id, len) == 0) {
            return g;
        }
    }
    return -1;
}

int ag_gates_parse(const char *list, char *err, size_t errlen)
{
    bool next[AG_GATE_COUNT];
    memcpy(next, gates, sizeof(next));
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        bool on = true;
        const char *id = p;
        if (len > 0 && (id[0] == '+' || id[0] == '-')) {
            on = id[0] == '+';
            id++;
            len--;
        }
        int g = len > 0 ? find_gate(id, len) : -1;
        if (g < 0) {
            char known[256] = "";
            size_t used = 0;
            for (int k = 0; k < AG_GATE_COUNT && used < sizeof(known); k++) {
                int n = snprintf(known + used, sizeof(known) - used, "%s%s", k > 0 ? ", " : "",
                                 gate_ids[k]);
                used += n > 0 ? (size_t)n : 0;
            }
            snprintf(err, errlen,
                     "no such feature gate \"%.*s\"; known: %s (each optionally prefixed with + "
                     "or -)",
                     (int)(len > 200 ? 200 : len), id, known);
            return AG_EINVAL;
        }
        next[g] = on;
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    memcpy(gates, next, sizeof(gates));
    return 0;
}

bool ag_gate_enabled(enum ag_gate g)
{
    return g >= 0 && g < AG_GATE_COUNT && gates[g];
}

void ag_gates_reset(void)
{
    memset(gates, 0, sizeof(gates));
}
