#ifndef SLO_SINK_SAMPLE_H
#define SLO_SINK_SAMPLE_H

/*
 * A hand-built SLO, alert and evaluations for the sink tests (test_ex_slo_sink.c and the
 * slo_sink_driver of tests/integration/test_slo_sinks.py), filled field by field so the sinks
 * are tested without the engine. The figures (worked out in slo_sink_sample.c):
 *   checkout-availability, service checkout, objective 99.9 %, alert "page" (severity page) over
 *   1h AND 5m at 14.4; the evaluation counts 9992 good of 10000 (attainment 99.92 %, budget 10
 *   events, 8 bad: 2 left, fraction 0.2, WARNING).
 *   Firing:   burn 5m = 20, 1h = 14.4, 3d = null.   Resolved: 5m = 0, 1h = 2.5, 3d = null.
 *   idle-slo: no service, no data at all (NO_DATA, every burn null).
 */
#include <stdbool.h>
#include <stdint.h>

#include "slo_eval.h"

#define SLO_SINK_SAMPLE_AT_MS 1738317600000ll /* 2025-01-31T10:00:00Z */

struct slo_sink_sample {
    struct slo_slo_def slo;
    struct slo_alert_def alert;
    struct slo_eval_burn fire_burns[3], res_burns[3];
    struct slo_eval_alert fire_alerts[1], res_alerts[1];
    struct slo_eval fire, resolved;
    struct slo_slo_def idle_slo;
    struct slo_eval_burn idle_burns[1];
    struct slo_eval idle;
};

/* Fills |s| (no allocation: nothing to free). Returns 0, or -1 if the objective did not parse. */
int slo_sink_sample_init(struct slo_sink_sample *s);

/* The alert change: firing at SLO_SINK_SAMPLE_AT_MS, or resolved one minute later. */
void slo_sink_sample_event(const struct slo_sink_sample *s, bool firing,
                           struct slo_alert_event *out);

#endif /* SLO_SINK_SAMPLE_H */
