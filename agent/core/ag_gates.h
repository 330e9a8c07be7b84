#ifndef AG_GATES_H
#define AG_GATES_H

#include <stdbool.h>
#include <stddef.h>

#include "ag_err.h"

/*
 * The OpenTelemetry Collector feature gates otterd honours, set as the collector sets them:
 * `--feature-gates=ID[,ID...]`, each ID optionally prefixed with `+` (enable, the same as none)
 * or `-` (disable). An ID otterd does not know is an error, as in the collector. Gates are
 * process-wide and read while the config is loaded.
 *
 *   awsemf.nodimrollupdefault                   awsemf's dimension_rollup_option defaults to
 *                                               NoDimensionRollup (specs/emf-cwlogs.md)
 *   exporter.awsxray.skiptimestampvalidation    awsxray's skip_timestamp_validation defaults
 *                                               to true (specs/xray.md §3)
 * Both are alpha gates upstream: off by default. An option written in the config wins.
 */

enum ag_gate {
    AG_GATE_AWSEMF_NODIMROLLUPDEFAULT,
    AG_GATE_AWSXRAY_SKIPTIMESTAMPVALIDATION,
    AG_GATE_COUNT,
};

/*
 * Applies the comma-separated list |list| (borrowed) on top of the current gates. On an unknown
 * or empty ID writes "no such feature gate ..." (with the known IDs) to |err| and changes
 * nothing. Returns 0 or AG_EINVAL.
 */
AG_NODISCARD int ag_gates_parse(const char *list, char *err, size_t errlen);

/* Whether gate |g| is on. */
bool ag_gate_enabled(enum ag_gate g);

/* Turns every gate off (their defaults; for tests). */
void ag_gates_reset(void);

#endif /* AG_GATES_H */
