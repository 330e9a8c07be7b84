#ifndef SLO_REPORT_FIXTURE_H
#define SLO_REPORT_FIXTURE_H

/*
 * A report built by hand for the renderers' tests (test_slo_report_render.c) and the browser
 * test's page (slo_render_demo.c): one instant, 2025-01-31T10:00:00Z, four SLOs whose every
 * figure is worked out below, independently of the engine. Everything is static storage: no
 * slo_report_release().
 *
 *   checkout-availability  Occurrences 99.9 %, 9995 of 10000 good: bad 5, budget 0.001 * 10000
 *                          = 10 events, remaining 5, fraction 5 / 10 = 0.5 (not < 0.5: OK),
 *                          attainment 99.95 % -> "99.950%" (1 + 2 decimals). Burn 5m 1/2, 1h
 *                          without data. Alert page not firing. TTE 2d 3h 0m 59s -> "2d 3h".
 *   search-latency         Occurrences 99 %, 980 of 1000: bad 20, budget 10, remaining -10,
 *                          fraction -1 (BREACHED, "overspent 100.0%"), attainment "98.00%".
 *                          Burn 5m 2, 1h 14401/1000 = 14.401, rounded up "14.41". Alerts page,
 *                          page (a second condition of the same policy) and ticket firing,
 *                          listed "page, ticket". TTE 0 (exhausted). Agent gap 3,900 s "1h 5m".
 *   batch|jobs             Timeslices 90 % over 24 periods of 5 min, 2 bad: budget 2.4 periods,
 *                          remaining 0.4 periods = 120 s ("2m"), fraction 0.4 / 2.4 = 1/6 =
 *                          16.66 % -> "16.6%" (< 0.5: WARNING), attainment 22 / 24 = 91.666 %
 *                          -> "91.66%". No burn window, no alert, TTE null.
 *   idle&<b>               Occurrences 99.5 %, no data: NO_DATA, attainment null, budget 0,
 *                          fraction 1 ("100.0%"). Burn 5m null, alert page not firing. One
 *                          warning.
 *
 * Burn-down (window start S = at - window): checkout 1 h window, points (S, 1), (S + 30 min,
 * 0.75), (at, 0.5); search-latency 1 h, (S, 1), (S + 30 min, 0), (at, -1.5); batch 2 h, (S, 1),
 * (at, 1/6); idle 1 h, (S, 1), (at, 1).
 */

#include <string.h>

#include "slo_eval.h"

#define FIX_AT_MS 1738317600000LL /* 2025-01-01 is day 20089 (1735689600 s); + 30 d + 10 h */
#define FIX_HOUR  3600000LL

static struct slo_decimal fix_decimal(const char *s)
{
    struct slo_decimal d = {0, 0, 0};
    if (slo_decimal_parse(s, strlen(s), &d, NULL) != 0) {
        d.den = 0;
    }
    return d;
}

static struct slo_rat fix_rat(uint64_t num, uint64_t den, bool neg)
{
    struct slo_rat r = {num, den, neg};
    return r;
}

static struct slo_alert_def fix_alerts[5];
static struct slo_slo_def fix_defs[4];
static struct slo_eval_burn fix_burns[4];
static struct slo_eval_alert fix_ev_alerts[5];
static char fix_warning[] = "the window is younger than the SLO window (started 10m ago)";
static char *fix_warnings[1] = {fix_warning};
static struct slo_eval fix_evals[4];

/* Replaces the text of idle's warning (the fuzz target sets arbitrary bytes). */
static inline void fix_warning_ptr_set(const char *w)
{
    fix_warnings[0] = (char *)w;
}
static struct slo_report_at fix_at;

static void fix_def(struct slo_slo_def *d, const char *name, const char *display,
                    const char *objective_fraction, const char *window)
{
    memset(d, 0, sizeof(*d));
    d->name = (char *)name;
    d->display_name = (char *)display;
    d->objective = fix_decimal(objective_fraction);
    d->warning = fix_decimal("0.5");
    d->window_text = (char *)window;
}

/* Fills |*r| with the report described above (static storage). */
static void fixture_report(struct slo_report *r)
{
    struct slo_eval *e = fix_evals;
    memset(fix_evals, 0, sizeof(fix_evals));
    fix_warnings[0] = fix_warning;
    memset(fix_alerts, 0, sizeof(fix_alerts));

    fix_def(&fix_defs[0], "checkout-availability", "Checkout availability", "0.999", "1h");
    fix_def(&fix_defs[1], "search-latency", NULL, "0.99", "1h");
    fix_def(&fix_defs[2], "batch|jobs", "Batch <script>document.title='pwned'</script> & co",
            "0.9", "2h");
    fix_def(&fix_defs[3], "idle&<b>", NULL, "0.995", "1h");

    fix_alerts[0].name = (char *)"page";
    fix_alerts[0].severity = (char *)"page";
    fix_alerts[0].threshold = fix_decimal("14.4");
    fix_alerts[0].long_text = (char *)"1h";
    fix_alerts[0].short_text = (char *)"5m";
    fix_alerts[1] = fix_alerts[0];
    fix_alerts[2] = fix_alerts[0];
    fix_alerts[3].name = (char *)"ticket";
    fix_alerts[3].severity = (char *)"ticket";
    fix_alerts[3].threshold = fix_decimal("1");
    fix_alerts[3].inclusive = true;
    fix_alerts[3].long_text = (char *)"<3d>";
    fix_alerts[4] = fix_alerts[0];

    fix_burns[0] = (struct slo_eval_burn){"5m", 300000, {true, fix_rat(1, 2, false)}};
    fix_burns[1] = (struct slo_eval_burn){"1h", 3600000, {false, fix_rat(0, 1, false)}};
    fix_burns[2] = (struct slo_eval_burn){"5m", 300000, {true, fix_rat(2, 1, false)}};
    fix_burns[3] = (struct slo_eval_burn){"1h", 3600000, {true, fix_rat(14401, 1000, false)}};
    /* idle's 5m reuses fix_burns[1]'s shape: no data. */
    static struct slo_eval_burn idle_burn = {"5m", 300000, {false, {0, 1, false}}};

    fix_ev_alerts[0] = (struct slo_eval_alert){&fix_alerts[0], false, false, NULL};
    fix_ev_alerts[1] = (struct slo_eval_alert){&fix_alerts[1], true, true, "burn 14.41 > 14.4"};
    fix_ev_alerts[2] = (struct slo_eval_alert){&fix_alerts[2], true, false, "burn 2 > 1"};
    fix_ev_alerts[3] = (struct slo_eval_alert){&fix_alerts[3], true, true, "burn 2 > 1"};
    fix_ev_alerts[4] = (struct slo_eval_alert){&fix_alerts[4], false, false, NULL};

    /* checkout-availability */
    e[0].def = &fix_defs[0];
    e[0].window_start_ms = FIX_AT_MS - FIX_HOUR;
    e[0].budget = (struct slo_budget){.good = 9995, .bad = 5, .total = 10000,
                                      .met = true, .allowed_bad = 10,
                                      .attainment = fix_rat(9995, 10000, false),
                                      .budget_total = fix_rat(10000, 1000, false),
                                      .remaining = fix_rat(5000, 1000, false),
                                      .remaining_fraction = fix_rat(5000, 10000, false),
                                      .status = SLO_STATUS_OK};
    e[0].burns = &fix_burns[0];
    e[0].n_burns = 2;
    e[0].alerts = &fix_ev_alerts[0];
    e[0].n_alerts = 1;
    e[0].tte_seconds = 2 * 86400 + 3 * 3600 + 59;
    e[0].burndown[0] = (struct slo_eval_point){FIX_AT_MS - FIX_HOUR, 1.0};
    e[0].burndown[1] = (struct slo_eval_point){FIX_AT_MS - FIX_HOUR / 2, 0.75};
    e[0].burndown[2] = (struct slo_eval_point){FIX_AT_MS, 0.5};
    e[0].n_burndown = 3;

    /* search-latency */
    e[1].def = &fix_defs[1];
    e[1].window_start_ms = FIX_AT_MS - FIX_HOUR;
    e[1].budget = (struct slo_budget){.good = 980, .bad = 20, .total = 1000, .exhausted = true,
                                      .allowed_bad = 10,
                                      .attainment = fix_rat(980, 1000, false),
                                      .budget_total = fix_rat(1000, 100, false),
                                      .remaining = fix_rat(1000, 100, true),
                                      .remaining_fraction = fix_rat(1000, 1000, true),
                                      .status = SLO_STATUS_BREACHED};
    e[1].burns = &fix_burns[2];
    e[1].n_burns = 2;
    e[1].alerts = &fix_ev_alerts[1];
    e[1].n_alerts = 3;
    e[1].tte_seconds = 0;
    e[1].gap_ms = 3900000;
    e[1].burndown[0] = (struct slo_eval_point){FIX_AT_MS - FIX_HOUR, 1.0};
    e[1].burndown[1] = (struct slo_eval_point){FIX_AT_MS - FIX_HOUR / 2, 0.0};
    e[1].burndown[2] = (struct slo_eval_point){FIX_AT_MS, -1.5};
    e[1].n_burndown = 3;

    /* batch|jobs: budget 0.1 * 24 = 24/10 periods; remaining 24/10 - 2 = 4/10; in seconds
     * 4/10 * 300 = 120; fraction (4/10) / (24/10) = 4/24. */
    e[2].def = &fix_defs[2];
    e[2].periods = true;
    e[2].window_start_ms = FIX_AT_MS - 2 * FIX_HOUR;
    e[2].budget = (struct slo_budget){.good = 22, .bad = 2, .total = 24, .met = true,
                                      .allowed_bad = 2,
                                      .attainment = fix_rat(22, 24, false),
                                      .budget_total = fix_rat(24, 10, false),
                                      .remaining = fix_rat(4, 10, false),
                                      .remaining_fraction = fix_rat(4, 24, false),
                                      .has_seconds = true,
                                      .budget_seconds = fix_rat(7200, 10, false),
                                      .remaining_seconds = fix_rat(1200, 10, false),
                                      .status = SLO_STATUS_WARNING};
    e[2].tte_null = true;
    e[2].burndown[0] = (struct slo_eval_point){FIX_AT_MS - 2 * FIX_HOUR, 1.0};
    e[2].burndown[1] = (struct slo_eval_point){FIX_AT_MS, 4.0 / 24.0};
    e[2].n_burndown = 2;

    /* idle&<b> */
    e[3].def = &fix_defs[3];
    e[3].window_start_ms = FIX_AT_MS - FIX_HOUR;
    e[3].attainment_null = true;
    e[3].budget = (struct slo_budget){.no_data = true, .met = true,
                                      .attainment = fix_rat(0, 1, false),
                                      .budget_total = fix_rat(0, 1000, false),
                                      .remaining = fix_rat(0, 1000, false),
                                      .remaining_fraction = fix_rat(1, 1, false),
                                      .status = SLO_STATUS_NO_DATA};
    e[3].burns = &idle_burn;
    e[3].n_burns = 1;
    e[3].alerts = &fix_ev_alerts[4];
    e[3].n_alerts = 1;
    e[3].tte_null = true;
    e[3].warnings = fix_warnings;
    e[3].n_warnings = 1;
    e[3].burndown[0] = (struct slo_eval_point){FIX_AT_MS - FIX_HOUR, 1.0};
    e[3].burndown[1] = (struct slo_eval_point){FIX_AT_MS, 1.0};
    e[3].n_burndown = 2;

    for (size_t i = 0; i < 4; i++) {
        e[i].at_ms = FIX_AT_MS;
        e[i].window_end_ms = FIX_AT_MS;
    }
    fix_at.at_ms = FIX_AT_MS;
    fix_at.slos = fix_evals;
    fix_at.n_slos = 4;
    r->evals = &fix_at;
    r->n_evals = 1;
}

#endif /* SLO_REPORT_FIXTURE_H */
