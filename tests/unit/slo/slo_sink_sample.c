/* SPDX-License-Identifier: Apache-2.0 */
/* The hand-built SLO evaluations of slo_sink_sample.h. */
#include "slo_sink_sample.h"

#include <string.h>

#include "slo_decimal.h"

static struct slo_rat rat(uint64_t num, uint64_t den)
{
    struct slo_rat r = {num, den, false};
    return r;
}

static void burns(struct slo_eval_burn b[3], uint64_t n5, uint64_t d5, uint64_t n1h, uint64_t d1h)
{
    b[0] = (struct slo_eval_burn){"5m", 300000u, {true, rat(n5, d5)}};
    b[1] = (struct slo_eval_burn){"1h", 3600000u, {true, rat(n1h, d1h)}};
    b[2] = (struct slo_eval_burn){"3d", 259200000u, {false, rat(0, 1)}};
}

/* 9992 good of 10000 at 99.9 %: budget (1 - 0.999) x 10000 = 10 events, 8 bad, 2 left:
 * fraction 2/10 = 0.2 < 0.5, WARNING; attainment 9992/10000 = 99.92 %. */
static void budget(struct slo_eval *e)
{
    e->budget.good = 9992;
    e->budget.bad = 8;
    e->budget.total = 10000;
    e->budget.met = true;
    e->budget.allowed_bad = 10;
    e->budget.attainment = rat(9992, 10000);
    e->budget.budget_total = rat(10, 1);
    e->budget.remaining = rat(2, 1);
    e->budget.remaining_fraction = rat(2, 10);
    e->budget.status = SLO_STATUS_WARNING;
}

int slo_sink_sample_init(struct slo_sink_sample *s)
{
    memset(s, 0, sizeof(*s));
    if (slo_objective_parse("99.9", 4, SLO_OBJ_PERCENT, &s->slo.objective, NULL) != 0) {
        return -1;
    }
    s->slo.name = "checkout-availability";
    s->slo.service = "checkout";
    s->slo.window_ms = 30ull * 86400000u;
    s->slo.window_text = "30d";
    s->alert.name = "page";
    s->alert.severity = "page";
    s->alert.long_ms = 3600000u;
    s->alert.short_ms = 300000u;
    s->alert.long_text = "1h";
    s->alert.short_text = "5m";
    if (slo_decimal_parse("14.4", 4, &s->alert.threshold, NULL) != 0) {
        return -1;
    }
    s->slo.alerts = &s->alert;
    s->slo.n_alerts = 1;

    /* Firing: 1h burn 144/10 = 14.4, 5m burn 20. */
    burns(s->fire_burns, 20, 1, 144, 10);
    s->fire_alerts[0] = (struct slo_eval_alert){&s->alert, true, true, "burn rate over 14.4"};
    s->fire.def = &s->slo;
    s->fire.at_ms = SLO_SINK_SAMPLE_AT_MS;
    budget(&s->fire);
    s->fire.burns = s->fire_burns;
    s->fire.n_burns = 3;
    s->fire.alerts = s->fire_alerts;
    s->fire.n_alerts = 1;

    /* Resolved a minute later: 1h burn 25/10 = 2.5, 5m burn 0. */
    burns(s->res_burns, 0, 1, 25, 10);
    s->res_alerts[0] = (struct slo_eval_alert){&s->alert, false, true, NULL};
    s->resolved = s->fire;
    s->resolved.at_ms = SLO_SINK_SAMPLE_AT_MS + 60000;
    s->resolved.burns = s->res_burns;
    s->resolved.alerts = s->res_alerts;

    s->idle_slo = s->slo;
    s->idle_slo.name = "idle-slo";
    s->idle_slo.service = NULL;
    s->idle_slo.alerts = NULL;
    s->idle_slo.n_alerts = 0;
    s->idle_burns[0] = (struct slo_eval_burn){"1h", 3600000u, {false, rat(0, 1)}};
    s->idle.def = &s->idle_slo;
    s->idle.at_ms = SLO_SINK_SAMPLE_AT_MS;
    s->idle.attainment_null = true;
    s->idle.budget.no_data = true;
    s->idle.budget.attainment = rat(0, 1);
    s->idle.budget.remaining_fraction = rat(1, 1);
    s->idle.budget.status = SLO_STATUS_NO_DATA;
    s->idle.burns = s->idle_burns;
    s->idle.n_burns = 1;
    return 0;
}

void slo_sink_sample_event(const struct slo_sink_sample *s, bool firing,
                           struct slo_alert_event *out)
{
    out->slo = &s->slo;
    out->alert = &s->alert;
    out->firing = firing;
    out->at_ms = firing ? s->fire.at_ms : s->resolved.at_ms;
    out->eval = firing ? &s->fire : &s->resolved;
}
