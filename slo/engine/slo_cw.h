#ifndef SLO_CW_H
#define SLO_CW_H

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

#endif /* SLO_CW_H */
