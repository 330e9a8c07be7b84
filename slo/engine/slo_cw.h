#ifndef SLO_CW_H
#define SLO_CW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_def.h"

/*
 * The CloudWatch names Otter's SLO metrics use (specs/slo.md §13), shared by the EMF SLO metrics
 * that otterd's slo exporter writes and by `slo dashboard` / `slo alarms`, which read them.
 *
 * Every metric carries the dimensions SLO (the SLO's name) and Service (its service, or
 * "unknown"); BurnRate adds BurnRateWindowMinutes (the lookback in whole minutes, as text).
 * GoodCount and TotalCount are the increase since the previous emission (unit Count): CloudWatch
 * sums every agent's counts, so SUM(GoodCount) / SUM(TotalCount) over any period is the global
 * SLI. The other three are one agent's view (AttainmentRate and ErrorBudgetRemaining in Percent,
 * BurnRate unit None) and are skipped, never NaN, when the agent has no data.
 */

#define SLO_CW_NAMESPACE           "Otter/SLO"
#define SLO_CW_DIM_SLO             "SLO"
#define SLO_CW_DIM_SERVICE         "Service"
#define SLO_CW_DIM_WINDOW          "BurnRateWindowMinutes"
#define SLO_CW_SERVICE_UNKNOWN     "unknown"

#define SLO_CW_GOOD                "GoodCount"
#define SLO_CW_TOTAL               "TotalCount"
#define SLO_CW_ATTAINMENT          "AttainmentRate"
#define SLO_CW_BUDGET_REMAINING    "ErrorBudgetRemaining"
#define SLO_CW_BURN_RATE           "BurnRate"

/* ---- `slo dashboard` and `slo alarms`: CloudWatch request bodies from definitions ------------ */

/* CloudWatch limits the generators check (PutMetricAlarm, PutCompositeAlarm, PutDashboard). */
#define SLO_CW_MAX_NAME          255u        /* AlarmName, DashboardName */
#define SLO_CW_MAX_WIDGETS       500u        /* widgets in one dashboard body */
#define SLO_CW_MAX_WIDGET_SERIES 100u        /* metrics + expressions in one metric widget */
#define SLO_CW_MAX_RANGE_S       604800u     /* Period * EvaluationPeriods: 7 days... */
#define SLO_CW_MAX_RANGE_SHORT_S 86400u      /* ... and 1 day when Period < 1 hour */
#define SLO_CW_OUT_CAP           (8u << 20)  /* the generated JSON, in bytes */

/* Options of both generators; every string is borrowed and may be NULL. */
struct slo_cw_opts {
    const char *ns;             /* metric namespace; NULL: SLO_CW_NAMESPACE */
    const char *region;         /* dashboard: "region" of every metric widget; NULL: none */
    const char *dashboard_name; /* dashboard: a title text widget on top; NULL: none */
    const char *prefix;         /* alarms: prepended to every alarm name; NULL: "" */
    const char *sns_topic_arn;  /* alarms: AlarmActions and OKActions of the alarm that
                                   represents a condition (the composite of a pair, the metric
                                   alarm of a single window); NULL: no actions */
    uint64_t metrics_period_s;  /* alarms on the per-agent ErrorBudgetRemaining and BurnRate
                                   (budget and time-to-exhaustion conditions): their Period, at
                                   least otterd's metrics.interval; a multiple of 60 up to
                                   86,400 (slo_cw_metrics_period_ok); 0: 60 */
};

#define SLO_CW_METRICS_PERIOD_S 60u /* otterd's default metrics.interval */

/*
 * The value of the Service dimension of |s|'s metrics: the SLO's service, else the service of
 * its span SLI, else SLO_CW_SERVICE_UNKNOWN. Borrowed from |d|. otterd's EMF SLO metrics must
 * use the same rule, or the dashboard and alarms read series nobody writes.
 */
const char *slo_cw_service(const struct slo_defs *d, const struct slo_slo_def *s);

/*
 * Writes the error-budget fraction 1 - |o| of an objective (a fraction of 1, borrowed) as exact
 * decimal text ("0.001" for 0.999) into |buf| of |cap| bytes.
 * Returns the length written, or AG_ETOOBIG when |cap| is short.
 */
AG_NODISCARD int slo_cw_budget_text(const struct slo_decimal *o, char *buf, size_t cap);

/*
 * Whether a lookback of |ms| milliseconds can be one alarm period: PutMetricAlarm accepts
 * periods of 10, 20, 30 or a multiple of 60 seconds, with Period * EvaluationPeriods (here 1)
 * at most 1 day below a 1-hour period and at most 7 days otherwise. So 5m, 1h, 1d and 3d are
 * single periods; 90s and 8d are not. Sub-minute periods need high-resolution metrics, which
 * Otter does not write: they are refused too.
 */
bool slo_cw_period_ok(uint64_t ms);

/* Whether |s| seconds can be the Period of the per-agent alarms: a multiple of 60 (otterd writes
 * standard-resolution metrics) of at most one day (Period x 1 evaluation period). */
bool slo_cw_metrics_period_ok(uint64_t s);

/*
 * Appends to |out| (capped; see SLO_CW_OUT_CAP) a CloudWatch DashboardBody for every SLO of |d|
 * (finished by slo_defs_finish() without errors; borrowed), per SLO: a text header (objective,
 * window, budgeting method), the attainment and the error budget left over the SLO window
 * (metric math over SUM(GoodCount) and SUM(TotalCount), global across agents), the burn rate of
 * every alert window and the SLI series. Numbers derived from objectives and thresholds are
 * written as exact decimal text. Problems with a definition are appended to |diag| (borrowed;
 * may be NULL) as "file:line:col: error: ..." lines.
 * Returns 0 on success, or one of these negative codes:
 *   AG_EINVAL   a definition CloudWatch cannot express (reported in |diag|)
 *   AG_ETOOBIG  more widgets or series than CloudWatch allows, or the output cap
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int slo_cw_dashboard(const struct slo_defs *d, const struct slo_cw_opts *o,
                                  struct ag_buf *out, struct ag_buf *diag);

/*
 * Appends to |out| {"MetricAlarms": [...], "CompositeAlarms": [...]}, each entry a
 * PutMetricAlarm / PutCompositeAlarm request, for every alert condition of |d| (borrowed):
 * per window of the condition a metric-math alarm on the global burn rate
 * (1 - SUM(GoodCount) / SUM(TotalCount)) / (1 - o) with Period = the window, one evaluation
 * period, the condition's comparison (GreaterThanThreshold; GreaterThanOrEqualToThreshold for
 * OpenSLO's gte) and TreatMissingData notBreaching; the minimum-events guards on the long window
 * only; and for a short-AND-long pair a composite alarm ALARM(long) AND ALARM(short). Names:
 * "<prefix>slo-<slo>-<alert>-<window>" and "<prefix>slo-<slo>-<alert>-<long>-<short>".
 * A budgetRemaining condition: an alarm on the per-agent ErrorBudgetRemaining (Minimum over
 * the metrics period, LessThanThreshold the fraction in percent, exact decimal text); a
 * timeToExhaustion condition: metric math rem / 100 * W / burn over ErrorBudgetRemaining
 * (Minimum) and BurnRate of the lookback (Maximum), LessThanThreshold the duration in
 * seconds; both named "<prefix>slo-<slo>-<alert>", TreatMissingData notBreaching. A budgetDrop
 * condition has no alarm (CloudWatch metric math cannot read a value a lookback ago): a
 * warning line in |diag| says so.
 * Returns 0 on success, or one of these negative codes:
 *   AG_EINVAL   a window that is not one alarm period, a name over 255 characters or with a
 *               character an AlarmRule cannot quote, or two alarms with one name (each
 *               reported in |diag| with the alert's file:line:col)
 *   AG_ETOOBIG  the output cap
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int slo_cw_alarms(const struct slo_defs *d, const struct slo_cw_opts *o,
                               struct ag_buf *out, struct ag_buf *diag);

#endif /* SLO_CW_H */
