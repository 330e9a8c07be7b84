/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_def: OpenSLO v1 and otter/v1 YAML snippets into definitions, with the
 * expected fields, and the exact "file:line:col: error: ..." of each mistake (lines and columns
 * counted by hand in the snippets below, 1-based).
 */
#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_def.h"
#include "slo_tz.h"

#include <unistd.h>

/* Parses |yaml| as "t.yaml" and finishes; returns slo_defs_finish()'s code (or the add's). */
static int load(const char *yaml, struct ag_buf *diag, struct slo_defs **d)
{
    ag_buf_init(diag, 1u << 20);
    int rc = slo_defs_new(diag, d);
    if (rc != 0) {
        return rc;
    }
    rc = slo_defs_add(*d, "t.yaml", yaml, strlen(yaml));
    if (rc != 0) {
        return rc;
    }
    return slo_defs_finish(*d);
}

static void done(struct ag_buf *diag, struct slo_defs *d)
{
    slo_defs_free(d);
    ag_buf_cleanup(diag);
}

static const char otter_min[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata:\n"
                                "  name: checkout\n"
                                "spec:\n"
                                "  service: shop\n"
                                "  objective: \"99.9\"\n"
                                "  window: 30d\n"
                                "  sli:\n"
                                "    spans:\n"
                                "      availability:\n";

static void test_otter_minimal(void)
{
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(otter_min, &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    ASSERT_UEQ(d->n_slos, 1);
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT_STREQ(s->name, "checkout");
    ASSERT_EQ(s->format, SLO_DEF_OTTER);
    ASSERT_UEQ(s->objective.num, 999); /* 99.9 % = 999 / 1000 */
    ASSERT_UEQ(s->objective.den, 1000);
    ASSERT_UEQ(s->window_ms, 30ull * 86400000);
    ASSERT(!s->calendar);
    ASSERT_EQ(s->budgeting, SLO_BUDGETING_OCCURRENCES);
    ASSERT_EQ(s->missing, SLO_MISSING_GOOD);
    ASSERT_UEQ(s->warning.num, 5); /* default 0.5 */
    ASSERT_UEQ(s->warning.den, 10);
    ASSERT_UEQ(s->n_alerts, 0);
    ASSERT_UEQ(d->n_slis, 1);
    const struct slo_sli_def *sli = &d->slis[s->sli];
    ASSERT_STREQ(sli->name, "checkout/sli");
    ASSERT_EQ(sli->source, SLO_SRC_SPANS);
    ASSERT_STREQ(sli->service, "shop"); /* inherited from the SLO */
    ASSERT(sli->kind_server && sli->kind_consumer);
    ASSERT_EQ(sli->span_check, SLO_SPAN_AVAILABILITY);
    ASSERT_UEQ(sli->bad_http_classes, 1u << 5); /* 5xx */
    ASSERT(sli->status_error_bad);
    ASSERT_EQ(sli->line, 10);
    ASSERT_EQ(sli->col, 5);
    done(&diag, d);
}

static void test_otter_full(void)
{
    static const char y[] = "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: lat}\n"
                            "spec:\n"
                            "  objective: \"99\"\n"
                            "  calendar: {unit: month, timeZone: \"+05:30\"}\n"
                            "  budgetingMethod: Timeslices\n"
                            "  timeSlice: {period: 5m, target: \"95\"}\n"
                            "  missingData: ignore\n"
                            "  warning: \"0.25\"\n"
                            "  sli:\n"
                            "    spans:\n"
                            "      service: api\n"
                            "      resource: {env: prod}\n"
                            "      attributes: {http.route: /a, rpc.method: Get}\n"
                            "      kinds: [server]\n"
                            "      latency: {threshold: 300ms}\n"
                            "  alerts:\n"
                            "    - name: page\n"
                            "      burnRate: \"14.4\"\n"
                            "      longWindow: 1h\n"
                            "      shortWindow: 5m\n"
                            "      minEvents: 100\n"
                            "      minBad: 3\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT(s->calendar);
    ASSERT_EQ(s->calendar_unit, SLO_CAL_MONTH);
    ASSERT_EQ(s->utc_offset_s, 5 * 3600 + 30 * 60);
    ASSERT_UEQ(s->window_ms, 28ull * 86400000); /* the shortest month */
    ASSERT_EQ(s->budgeting, SLO_BUDGETING_TIMESLICES);
    ASSERT_UEQ(s->slice_ms, 300000);
    ASSERT_UEQ(s->slice_target.num, 95); /* 95 % = 95 / 100 */
    ASSERT_UEQ(s->slice_target.den, 100);
    ASSERT_EQ(s->missing, SLO_MISSING_IGNORE);
    ASSERT_UEQ(s->warning.num, 25);
    ASSERT_UEQ(s->warning.den, 100);
    const struct slo_sli_def *sli = &d->slis[s->sli];
    ASSERT_EQ(sli->span_check, SLO_SPAN_LATENCY);
    ASSERT_UEQ(sli->latency_ms, 300);
    ASSERT(sli->kind_server && !sli->kind_consumer);
    ASSERT_UEQ(sli->n_resource, 1);
    ASSERT_STREQ(sli->resource[0].key, "env");
    ASSERT_STREQ(sli->resource[0].value, "prod");
    ASSERT_UEQ(sli->n_attributes, 2);
    ASSERT_STREQ(sli->attributes[1].key, "rpc.method");
    ASSERT_UEQ(s->n_alerts, 1);
    const struct slo_alert_def *a = &s->alerts[0];
    ASSERT_STREQ(a->name, "page");
    ASSERT_STREQ(a->severity, "page"); /* the default */
    ASSERT_UEQ(a->threshold.num, 144);
    ASSERT_UEQ(a->threshold.den, 10);
    ASSERT_UEQ(a->long_ms, 3600000);
    ASSERT_UEQ(a->short_ms, 300000);
    ASSERT_STREQ(a->long_text, "1h");
    ASSERT_STREQ(a->short_text, "5m");
    ASSERT_UEQ(a->min_events, 100);
    ASSERT_UEQ(a->min_bad, 3);
    ASSERT_EQ(a->line, 19);
    ASSERT_EQ(a->col, 7);
    done(&diag, d);
}

static void test_otter_metrics(void)
{
    static const char y[] = "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: c}\n"
                            "spec:\n"
                            "  objective: \"99.5\"\n"
                            "  window: 7d\n"
                            "  sli:\n"
                            "    counters:\n"
                            "      bad: {name: req, match: {outcome: error}}\n"
                            "      total: {name: req}\n"
                            "---\n"
                            "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: h}\n"
                            "spec:\n"
                            "  objective: \"95\"\n"
                            "  window: 1d\n"
                            "  sli:\n"
                            "    histogram: {name: dur, threshold: \"0.25\"}\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ASSERT_UEQ(d->n_slos, 2);
    const struct slo_sli_def *c = &d->slis[d->slos[0].sli];
    ASSERT_EQ(c->source, SLO_SRC_COUNTERS);
    ASSERT_NULL(c->good.name);
    ASSERT_STREQ(c->bad.name, "req");
    ASSERT_STREQ(c->bad.match[0].value, "error");
    ASSERT_STREQ(c->total.name, "req");
    ASSERT_UEQ(c->total.n_match, 0);
    const struct slo_sli_def *h = &d->slis[d->slos[1].sli];
    ASSERT_EQ(h->source, SLO_SRC_HISTOGRAM);
    ASSERT_STREQ(h->histogram.name, "dur");
    ASSERT_UEQ(h->bucket_bound.num, 25);
    ASSERT_UEQ(h->bucket_bound.den, 100);
    ASSERT_EQ(d->slos[1].line, 12); /* the second document starts on line 12 */
    done(&diag, d);
}

static void test_otter_defaults(void)
{
    /* 30 days: the Workbook's table, 1h/5m, 6h/30m, 1d/2h, 3d/6h. */
    static const char y[] = "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: a}\n"
                            "spec:\n"
                            "  objective: \"99.9\"\n"
                            "  window: 30d\n"
                            "  sli: {spans: {service: s, availability: }}\n"
                            "  alerts: defaults\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT_UEQ(s->n_alerts, 4);
    ASSERT_STREQ(s->alerts[0].long_text, "60m");
    ASSERT_STREQ(s->alerts[0].short_text, "5m");
    ASSERT_UEQ(s->alerts[0].threshold.num, 144);
    ASSERT_STREQ(s->alerts[3].long_text, "4320m");
    ASSERT_STREQ(s->alerts[3].severity, "ticket");
    /* unique names (the report's alerts object has one key each) */
    ASSERT_STREQ(s->alerts[0].name, "page-fast");
    ASSERT_STREQ(s->alerts[1].name, "page-slow");
    ASSERT_STREQ(s->alerts[2].name, "ticket-fast");
    ASSERT_STREQ(s->alerts[3].name, "ticket-slow");
    done(&diag, d);
}

static void test_openslo(void)
{
    static const char y[] = "apiVersion: openslo/v1\n"
                            "kind: SLO\n"
                            "metadata:\n"
                            "  name: avail\n"
                            "spec:\n"
                            "  indicatorRef: req-ratio\n"
                            "  timeWindow:\n"
                            "    - duration: 28d\n"
                            "      isRolling: true\n"
                            "  budgetingMethod: Occurrences\n"
                            "  objectives:\n"
                            "    - target: 0.995\n"
                            "  alertPolicies:\n"
                            "    - alertPolicyRef: pol\n"
                            "---\n"
                            "apiVersion: openslo/v1\n"
                            "kind: SLI\n"
                            "metadata: {name: req-ratio}\n"
                            "spec:\n"
                            "  ratioMetric:\n"
                            "    counter: true\n"
                            "    good: {metricSource: {type: Prometheus, spec: {query: a}}}\n"
                            "    total: {metricSource: {type: Prometheus, spec: {query: b}}}\n"
                            "---\n"
                            "apiVersion: openslo/v1\n"
                            "kind: AlertPolicy\n"
                            "metadata: {name: pol}\n"
                            "spec:\n"
                            "  conditions:\n"
                            "    - conditionRef: fast\n"
                            "  notificationTargets:\n"
                            "    - kind: AlertNotificationTarget\n"
                            "      metadata: {name: pager}\n"
                            "      spec: {target: pagerduty}\n"
                            "---\n"
                            "apiVersion: openslo/v1\n"
                            "kind: AlertCondition\n"
                            "metadata: {name: fast}\n"
                            "spec:\n"
                            "  severity: page\n"
                            "  condition: {kind: burnrate, op: gte, threshold: 2, "
                            "lookbackWindow: 1h}\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    ASSERT_UEQ(d->n_slos, 1);
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT_EQ(s->format, SLO_DEF_OPENSLO);
    ASSERT_UEQ(s->objective.num, 995);
    ASSERT_UEQ(s->objective.den, 1000);
    ASSERT_UEQ(s->window_ms, 28ull * 86400000);
    const struct slo_sli_def *sli = &d->slis[s->sli];
    ASSERT_STREQ(sli->name, "req-ratio");
    ASSERT_EQ(sli->source, SLO_SRC_EXTERNAL);
    ASSERT_STREQ(sli->external_type, "Prometheus");
    ASSERT_UEQ(s->n_alerts, 1);
    const struct slo_alert_def *a = &s->alerts[0];
    ASSERT_STREQ(a->name, "pol/fast");
    ASSERT(a->inclusive);
    ASSERT_UEQ(a->long_ms, 3600000);
    ASSERT_UEQ(a->short_ms, 0);
    ASSERT_UEQ(a->n_targets, 1);
    ASSERT_STREQ(a->targets[0], "pager");
    ASSERT_UEQ(d->n_targets, 1);
    ASSERT_STREQ(d->targets[0].target, "pagerduty");
    done(&diag, d);
}

static void test_openslo_calendar_timeslices(void)
{
    static const char y[] = "apiVersion: openslo/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: w}\n"
                            "spec:\n"
                            "  indicator:\n"
                            "    metadata: {name: lat}\n"
                            "    spec:\n"
                            "      thresholdMetric:\n"
                            "        metricSource: {type: otter, spec: {name: d}}\n"
                            "  timeWindow:\n"
                            "    - duration: 1w\n"
                            "      isRolling: false\n"
                            "      calendar: {startTime: \"2025-01-06 00:00:00\", timeZone: "
                            "Etc/UTC}\n"
                            "  budgetingMethod: Timeslices\n"
                            "  objectives:\n"
                            "    - op: lte\n"
                            "      value: 0.3\n"
                            "      targetPercent: 99\n"
                            "      timeSliceTarget: 0.9\n"
                            "      timeSliceWindow: 1m\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT(s->calendar);
    ASSERT_EQ(s->calendar_unit, SLO_CAL_WEEK);
    ASSERT_EQ(s->utc_offset_s, 0);
    ASSERT_UEQ(s->objective.num, 99);
    ASSERT_UEQ(s->objective.den, 100);
    ASSERT_UEQ(s->slice_ms, 60000);
    ASSERT_UEQ(s->slice_target.num, 9);
    ASSERT(s->has_op);
    ASSERT_STREQ(s->op, "lte");
    ASSERT_UEQ(s->op_value.num, 3);
    ASSERT(d->slis[s->sli].threshold_metric);
    ASSERT_STREQ(d->slis[s->sli].name, "lat");
    done(&diag, d);
}

/* One error: |yaml| gives exactly |want| as its diagnostics. */
static void expect_diag(const char *yaml, int want_rc, const char *want)
{
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_EQ(load(yaml, &diag, &d), want_rc);
    ASSERT_STREQ(ag_buf_str(&diag), want);
    done(&diag, d);
}

static void test_errors(void)
{
    /* objective "100": out of (0, 100); line 7, the value at column 14. */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  window: 30d\n"
                "  sli: {spans: {service: s, availability: }}\n  objective: \"100\"\n",
                AG_EINVAL,
                "t.yaml:7:14: error: objective (percent) '100': objective must be above 0 and "
                "below 100 (percent)\n");
    /* a malformed objective: the column of the bad byte inside the quotes ("99,9": the ','). */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  window: 30d\n"
                "  sli: {spans: {service: s, availability: }}\n  objective: \"99,9\"\n",
                AG_EINVAL,
                "t.yaml:7:17: error: objective (percent) '99,9': expected a digit, '.' or the end, "
                "got ','\n");
    /* an IANA zone without a zone loader (slo_def does no I/O): an error naming the zone */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objective: \"99\"\n"
                "  calendar: {unit: month, timeZone: America/New_York}\n"
                "  sli: {spans: {service: s, availability: }}\n",
                AG_EINVAL,
                "t.yaml:6:37: error: timeZone 'America/New_York': no time zone database was given "
                "to resolve IANA names; expected UTC or a fixed offset such as \"+01:00\"\n");
    /* not a zone name at all */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objective: \"99\"\n"
                "  calendar: {unit: month, timeZone: ../etc/passwd}\n"
                "  sli: {spans: {service: s, availability: }}\n",
                AG_EINVAL,
                "t.yaml:6:37: error: timeZone '../etc/passwd': expected an IANA name "
                "(\"Europe/Berlin\"), UTC or a fixed offset \"+HH:MM\" / \"-HH:MM\" (at most "
                "18h)\n");
    /* unknown key, and a missing one in the same spec */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objectiv: \"99\"\n"
                "  window: 30d\n  sli: {spans: {service: s, availability: }}\n",
                AG_EINVAL,
                "t.yaml:5:3: error: unknown key 'objectiv' in SLO spec; expected one of: "
                "description, service, objective, window, calendar, budgetingMethod, timeSlice, "
                "missingData, warning, sli, alerts\n"
                "t.yaml:5:3: error: SLO spec: missing required key 'objective'\n");
    /* a bad duration and a bad missing-data policy */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objective: \"99\"\n"
                "  window: 30 days\n  missingData: skip\n"
                "  sli: {spans: {service: s, availability: }}\n",
                AG_EINVAL,
                "t.yaml:6:11: error: window '30 days': expected a duration: a positive integer and "
                "one of ms, s, m, h, d, w (\"5m\", \"30d\"), at most 10 years\n"
                "t.yaml:7:16: error: missingData 'skip': expected good, bad or ignore\n");
    /* apiVersion */
    expect_diag("apiVersion: openslo/v1alpha\nkind: SLO\n", AG_EINVAL,
                "t.yaml:1:13: error: apiVersion 'openslo/v1alpha': expected openslo/v1 or "
                "otter/v1\n");
    /* an unresolved reference points at the reference */
    expect_diag("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                "  indicatorRef: nope\n  timeWindow: [{duration: 1d, isRolling: true}]\n"
                "  budgetingMethod: Occurrences\n  objectives: [{target: 0.9}]\n",
                AG_EINVAL,
                "t.yaml:5:17: error: SLI 'nope' is not defined; expected the name of an SLI "
                "document\n");
    /* a duplicate name names the first definition */
    expect_diag("apiVersion: openslo/v1\nkind: AlertNotificationTarget\nmetadata: {name: x}\n"
                "spec: {target: a}\n---\n"
                "apiVersion: openslo/v1\nkind: AlertNotificationTarget\nmetadata: {name: x}\n"
                "spec: {target: b}\n",
                AG_EINVAL,
                "t.yaml:6:1: error: AlertNotificationTarget 'x' is already defined at "
                "t.yaml:1:1; names must be unique\n");
    /* a slice period that does not divide the window */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objective: \"99\"\n"
                "  window: 1h\n  budgetingMethod: Timeslices\n"
                "  timeSlice: {period: 7m, target: \"90\"}\n"
                "  sli: {spans: {service: s, availability: }}\n",
                AG_EINVAL,
                "t.yaml:8:23: error: time slice: expected a period that divides the SLO window 1h "
                "(and a calendar day) into whole periods\n");
    /* invalid YAML is reported by ag_yaml with its position */
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_EQ(load("a: [\n", &diag, &d), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "t.yaml:");
    ASSERT_STRCONTAINS(ag_buf_str(&diag), ": error: ");
    ASSERT_UEQ(d->n_errors, 1);
    done(&diag, d);
    /* an empty file */
    expect_diag("", AG_EINVAL, "t.yaml:1:1: error: no documents; expected OpenSLO v1 or otter/v1 "
                               "YAML\n");
}

/* Budget, time-to-exhaustion and cool-down conditions (§7.2): the fields, then each mistake at
 * its line:col (counted in the snippets: line 9 is the first alert). */
static void test_alert_kinds(void)
{
    static const char ok[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                             "  objective: \"99\"\n  window: 1d\n"
                             "  sli: {spans: {service: s, availability: }}\n"
                             "  alerts:\n"
                             "    - {name: low, budgetRemaining: \"0.25\", coolDown: 30m}\n"
                             "    - name: tte\n"
                             "      timeToExhaustion: {below: 24h, lookback: 1h}\n"
                             "    - {name: page, burnRate: \"14.4\", longWindow: 1h, "
                             "coolDown: 90s}\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(ok, &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT_UEQ(s->n_alerts, 3);
    ASSERT_EQ(s->alerts[0].kind, SLO_ALERT_BUDGET);
    ASSERT_UEQ(s->alerts[0].budget_below.num, 25);
    ASSERT_UEQ(s->alerts[0].budget_below.den, 100);
    ASSERT_UEQ(s->alerts[0].cool_down_ms, 30 * 60000);
    ASSERT_UEQ(s->alerts[0].long_ms, 0);
    ASSERT_EQ(s->alerts[1].kind, SLO_ALERT_TTE);
    ASSERT_UEQ(s->alerts[1].tte_below_ms, 24 * 3600000ull);
    ASSERT_UEQ(s->alerts[1].long_ms, 3600000);
    ASSERT_STREQ(s->alerts[1].long_text, "1h");
    ASSERT_UEQ(s->alerts[1].cool_down_ms, 0);
    ASSERT_EQ(s->alerts[2].kind, SLO_ALERT_BURN_RATE);
    ASSERT_UEQ(s->alerts[2].cool_down_ms, 90000);
    done(&diag, d);

#define HEAD "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n" \
             "  objective: \"99\"\n  window: 1d\n" \
             "  sli: {spans: {service: s, availability: }}\n  alerts:\n"
    /* two kinds in one alert: at the alert (line 9, col 7) */
    expect_diag(HEAD "    - {name: x, burnRate: \"2\", longWindow: 1h, budgetRemaining: \"0.5\"}\n",
                AG_EINVAL,
                "t.yaml:9:7: error: alert: expected exactly one of burnRate (with longWindow), "
                "budgetRemaining (\"0.25\"), timeToExhaustion ({below: 24h, lookback: 1h}) or "
                "budgetDrop ({drop: \"5%\", lookback: 1h})\n");
    /* a fraction above 1, and a window on a budget alert */
    expect_diag(HEAD "    - {name: x, budgetRemaining: \"1.5\", longWindow: 1h}\n", AG_EINVAL,
                "t.yaml:9:53: error: longWindow: only for a burnRate alert (this one is a "
                "budgetRemaining alert)\n"
                "t.yaml:9:34: error: budgetRemaining '1.5': expected a fraction of the budget "
                "above 0 and at most 1 (\"0.25\": fires below a quarter left)\n");
    /* a TTE without its lookback, and a cool-down that is no duration */
    expect_diag(HEAD "    - {name: x, timeToExhaustion: {below: 1h}, coolDown: soon}\n",
                AG_EINVAL,
                "t.yaml:9:58: error: coolDown 'soon': expected a duration: a positive integer "
                "and one of ms, s, m, h, d, w (\"5m\", \"30d\"), at most 10 years\n"
                "t.yaml:9:35: error: timeToExhaustion: missing required key 'lookback'\n");
#undef HEAD
}

/* budgetDrop (§7.2): the fields, each mistake at its line:col (line 9 is the first alert; in
 * "    - {name: x, budgetDrop: {drop: "5%", lookback: 90s}}" the drop's quote is col 36 and the
 * lookback's value col 52), and the warnings of slo_defs_finish. */
static void test_budget_drop(void)
{
#define HEAD                                                        \
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n" \
    "  objective: \"99\"\n  window: 1d\n"                           \
    "  sli: {spans: {service: s, availability: }}\n  alerts:\n"
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(HEAD "    - name: drop\n"
                        "      budgetDrop: {drop: \"5%\", lookback: 1h}\n"
                        "      coolDown: 10m\n"
                        "    - {name: d2, budgetDrop: {drop: \"0.125\", lookback: 30m}}\n"
                        "    - {name: d3, budgetDrop: {drop: \"12.50%\", lookback: 7d}}\n",
                   &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "t.yaml:13:7: warning: SLO 'a': alert 'd3': budgetDrop "
                                    "lookback 7d is longer than the SLO window 1d: it compares "
                                    "budgets of windows that do not overlap\n");
    const struct slo_slo_def *s = &d->slos[0];
    ASSERT_UEQ(s->n_alerts, 3);
    ASSERT_EQ(s->alerts[0].kind, SLO_ALERT_DROP);
    ASSERT_UEQ(s->alerts[0].drop.num, 5); /* 5 % = 5 / 100 */
    ASSERT_UEQ(s->alerts[0].drop.den, 100);
    ASSERT_UEQ(s->alerts[0].drop_ms, 3600000);
    ASSERT_STREQ(s->alerts[0].drop_text, "1h");
    ASSERT_UEQ(s->alerts[0].long_ms, 0); /* no burn window of its own */
    ASSERT_UEQ(s->alerts[0].cool_down_ms, 600000);
    ASSERT_UEQ(s->alerts[1].drop.num, 125); /* a fraction: 0.125 = 125 / 1000 */
    ASSERT_UEQ(s->alerts[1].drop.den, 1000);
    ASSERT_UEQ(s->alerts[1].drop_ms, 1800000);
    ASSERT_UEQ(s->alerts[2].drop.num, 125); /* 12.50 % = 1250 / 10000, normalised 125 / 1000 */
    ASSERT_UEQ(s->alerts[2].drop.den, 1000);
    ASSERT_UEQ(s->alerts[2].drop_ms, 7 * 86400000ull);
    done(&diag, d);

    /* a lookback that is not whole minutes, and a burn-only key */
    expect_diag(HEAD "    - {name: x, budgetDrop: {drop: \"5%\", lookback: 90s}, minBad: 1}\n",
                AG_EINVAL,
                "t.yaml:9:66: error: minBad: only for a burnRate alert (this one is a "
                "budgetDrop alert)\n"
                "t.yaml:9:52: error: lookback '90s': expected whole minutes, at most 7 days "
                "(\"1h\")\n");
    /* a zero drop; a lookback over 7 days */
    expect_diag(HEAD "    - {name: x, budgetDrop: {drop: \"0%\", lookback: 8d}}\n", AG_EINVAL,
                "t.yaml:9:36: error: drop '0%': expected a drop above 0 (\"5%\": fires when "
                "more than 5 % of the budget went within the lookback)\n"
                "t.yaml:9:52: error: lookback '8d': expected whole minutes, at most 7 days "
                "(\"1h\")\n");
    /* not a number; missing lookback; not a mapping */
    ASSERT_EQ(load(HEAD "    - {name: x, budgetDrop: {drop: \"lots\"}}\n", &diag, &d), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "t.yaml:9:36: error: drop 'lots': ");
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "; expected a percent of the budget (\"5%\") or a "
                                          "fraction (\"0.05\")\n");
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "t.yaml:9:29: error: budgetDrop: missing required key "
                                          "'lookback'\n");
    done(&diag, d);
    ASSERT_EQ(load(HEAD "    - {name: x, budgetDrop: 5%}\n", &diag, &d), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "t.yaml:9:29: error: budgetDrop");
    done(&diag, d);
#undef HEAD
    /* Warnings at 99 % (1 - o = 0.01, so at most 1 / 0.01 = 100 budgets can be spent: all
     * bad): 10000 % can never fire, 150 % only once overspent, 9999 % can; a lookback of 2d
     * over a 1d window. */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                "  objective: \"99\"\n  window: 1d\n"
                "  sli: {spans: {service: s, availability: }}\n  alerts:\n"
                "    - {name: p, budgetDrop: {drop: \"10000%\", lookback: 1h}}\n"
                "    - {name: q, budgetDrop: {drop: \"150%\", lookback: 2d}}\n"
                "    - {name: r, budgetDrop: {drop: \"9999%\", lookback: 1h}}\n",
                0,
                "t.yaml:9:7: warning: SLO 'a': alert 'p' can never fire: a budget drop > 100 of "
                "the budget is out of reach at objective 99%, where at most 1 / 0.01 = 100 of it "
                "can be spent\n"
                "t.yaml:10:7: warning: SLO 'a': alert 'q': a budget drop > 1.5 (100 % or more "
                "of the budget) fires only when the budget ends overspent\n"
                "t.yaml:10:7: warning: SLO 'a': alert 'q': budgetDrop lookback 2d is longer "
                "than the SLO window 1d: it compares budgets of windows that do not overlap\n"
                "t.yaml:11:7: warning: SLO 'a': alert 'r': a budget drop > 99.99 (100 % or more "
                "of the budget) fires only when the budget ends overspent\n");
}

/* timeSlice grace: Timeslices only, fewer than 14 periods (line 8: the timeSlice). */
static void test_slice_grace(void)
{
#define HEAD "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n" \
             "  objective: \"99\"\n  window: 1d\n" \
             "  sli: {spans: {service: s, availability: }}\n"
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(HEAD "  budgetingMethod: Timeslices\n"
                        "  timeSlice: {period: 5m, target: \"95\", grace: 90s}\n",
                   &diag, &d));
    ASSERT_UEQ(d->slos[0].slice_grace_ms, 90000);
    done(&diag, d);
    ASSERT_OK(load(HEAD "  budgetingMethod: Timeslices\n  timeSlice: {period: 5m, target: \"95\"}\n",
                   &diag, &d));
    ASSERT_UEQ(d->slos[0].slice_grace_ms, 0); /* the default: judged at the period's end */
    done(&diag, d);
    /* 14 periods of 5m = 70m: too long (col 48: the value) */
    expect_diag(HEAD "  budgetingMethod: Timeslices\n"
                     "  timeSlice: {period: 5m, target: \"95\", grace: 70m}\n",
                AG_EINVAL,
                "t.yaml:9:48: error: timeSlice grace 70m: expected less than 14 periods of 5m\n");
    expect_diag(HEAD "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 5m, grace: 1m}\n",
                AG_EINVAL,
                "t.yaml:9:34: error: timeSlice grace: only for Timeslices (RatioTimeslices "
                "periods take late data for as long as they are in the window)\n");
#undef HEAD
}

static void test_warnings(void)
{
    /* At 90 % the highest burn is 1 / 0.1 = 10: "> 10" can never fire, "> 9.99" can; and "gte 10"
     * fires only when everything is bad. At 99.7 % the bound 1000/3 does not terminate. */
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objective: \"90\"\n"
                "  window: 1h\n  sli: {spans: {service: s, availability: }}\n  alerts:\n"
                "    - {name: p, burnRate: \"10\", longWindow: 5m}\n"
                "    - {name: q, burnRate: \"9.99\", longWindow: 2h}\n",
                0,
                "t.yaml:9:7: warning: SLO 'a': alert 'p' can never fire: burn rate > 10 is out of "
                "reach at objective 90%, whose highest burn rate is 1 / 0.1 = 10\n"
                "t.yaml:10:7: warning: SLO 'a': alert 'q': window 2h is longer than the SLO "
                "window 1h\n");
    expect_diag("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                "  objective: \"99.7\"\n"
                "  window: 30d\n  sli: {spans: {service: s, availability: }}\n  alerts:\n"
                "    - {name: p, burnRate: \"333.34\", longWindow: 1h}\n"
                "    - {name: q, burnRate: \"333.33\", longWindow: 1h}\n",
                0,
                "t.yaml:9:7: warning: SLO 'a': alert 'p' can never fire: burn rate > 333.34 is out "
                "of reach at objective 99.7%, whose highest burn rate is 1 / 0.003 = 1000/3 "
                "(about 333.333)\n");
    /* OpenSLO gte: threshold equal to the bound can fire (everything bad), above it cannot; the
     * warning points at the condition mapping (line 19, after "spec: {severity: page, "). */
    expect_diag("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                "  indicator: {metadata: {name: i}, spec: {thresholdMetric: {metricSource: "
                "{type: x}}}}\n"
                "  timeWindow: [{duration: 1d, isRolling: true}]\n"
                "  budgetingMethod: Occurrences\n  objectives: [{target: 0.5}]\n"
                "  alertPolicies:\n"
                "    - kind: AlertPolicy\n      metadata: {name: p}\n      spec:\n"
                "        conditions:\n"
                "          - kind: AlertCondition\n            metadata: {name: c}\n"
                "            spec: {severity: page, condition: {kind: burnrate, op: gte, "
                "threshold: 2, lookbackWindow: 1h}}\n"
                "          - kind: AlertCondition\n            metadata: {name: e}\n"
                "            spec: {severity: page, condition: {kind: burnrate, op: gte, "
                "threshold: 2.5, lookbackWindow: 1h}}\n",
                0,
                "t.yaml:19:47: warning: SLO 'a': alert 'p/e' can never fire: burn rate >= 2.5 is "
                "out of reach at objective 50%, whose highest burn rate is 1 / 0.5 = 2\n");
}

static void test_tz_duration(void)
{
    int32_t off = 1;
    ASSERT_OK(slo_tz_parse("UTC", &off));
    ASSERT_EQ(off, 0);
    ASSERT_OK(slo_tz_parse("-03:30", &off));
    ASSERT_EQ(off, -(3 * 3600 + 30 * 60));
    ASSERT_OK(slo_tz_parse("UTC+18:00", &off));
    ASSERT_EQ(off, 18 * 3600);
    ASSERT_EQ(slo_tz_parse("+18:01", &off), AG_EINVAL);
    ASSERT_EQ(slo_tz_parse("Europe/Paris", &off), AG_EUNSUPP);
    ASSERT_EQ(slo_tz_parse("Paris", &off), AG_EINVAL);
    ASSERT_EQ(slo_tz_parse("/etc/passwd", &off), AG_EINVAL);     /* leading '/' */
    ASSERT_EQ(slo_tz_parse("Europe//Paris", &off), AG_EINVAL);   /* empty part */
    ASSERT_EQ(slo_tz_parse("Europe/", &off), AG_EINVAL);
    ASSERT_EQ(slo_tz_parse("Europe/../../x", &off), AG_EINVAL);  /* '.' */
    ASSERT_EQ(slo_tz_parse("Etc/GMT+5", &off), AG_EUNSUPP);      /* a zone file, signs inverted */
    ASSERT_EQ(slo_tz_parse("+1:00", &off), AG_EINVAL);
    uint64_t ms = 0;
    ASSERT_OK(slo_duration_parse("90s", &ms));
    ASSERT_UEQ(ms, 90000);
    ASSERT_OK(slo_duration_parse("2w", &ms));
    ASSERT_UEQ(ms, 14ull * 86400000);
    ASSERT_EQ(slo_duration_parse("0m", &ms), AG_EINVAL);
    ASSERT_EQ(slo_duration_parse("1M", &ms), AG_EINVAL);
    ASSERT_EQ(slo_duration_parse("5", &ms), AG_EINVAL);
    ASSERT_EQ(slo_duration_parse("3661d", &ms), AG_EINVAL); /* over 10 years */
    ASSERT_EQ(slo_duration_parse("99999999999999999999h", &ms), AG_EINVAL);
}

/* A zone loader that counts its calls and reads the system's database (a real tzdata file). */
struct loader_log {
    int calls;
    char last[64];
};

static int counting_loader(void *arg, const char *name, struct ag_buf *out, struct ag_buf *why)
{
    struct loader_log *l = arg;
    l->calls++;
    snprintf(l->last, sizeof(l->last), "%s", name);
    if (strcmp(name, "Test/Garbage") == 0) {
        return ag_buf_adds(out, "not a TZif file");
    }
    return slo_tz_load_system(NULL, name, out, why);
}

static bool have_tzdata(void)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
        printf("# SKIP /usr/share/zoneinfo absent (tzdata not installed)\n");
        return false;
    }
    return true;
}

static int load_with(const char *yaml, struct loader_log *log, struct ag_buf *diag,
                     struct slo_defs **d)
{
    ag_buf_init(diag, 1u << 20);
    int rc = slo_defs_new(diag, d);
    if (rc != 0) {
        return rc;
    }
    slo_defs_set_tz_loader(*d, counting_loader, log);
    rc = slo_defs_add(*d, "t.yaml", yaml, strlen(yaml));
    return rc != 0 ? rc : slo_defs_finish(*d);
}

/* IANA zones through the loader: resolved once per name and shared, unknown and unusable zones
 * reported at the timeZone's line:col, periods that cannot divide a 23-hour day refused. */
static void test_iana_zones(void)
{
    if (!have_tzdata()) {
        return;
    }
    static const char two[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  objective: \"99\"\n"
        "  calendar: {unit: month, timeZone: Europe/Berlin}\n"
        "  sli: {spans: {service: s, availability: }}\n"
        "---\n"
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: b}\nspec:\n"
        "  service: s\n  budgetingMethod: Occurrences\n"
        "  timeWindow: [{duration: 1d, isRolling: false, calendar: {startTime: "
        "\"2025-01-01 00:00:00\", timeZone: Europe/Berlin}}]\n"
        "  objectives: [{target: 0.99}]\n"
        "  indicator:\n    metadata: {name: i}\n    spec:\n      ratioMetric:\n"
        "        counter: true\n"
        "        good: {metricSource: {type: otter, spec: {name: g}}}\n"
        "        total: {metricSource: {type: otter, spec: {name: t}}}\n";
    struct loader_log log = {0};
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load_with(two, &log, &diag, &d));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    ASSERT_EQ(log.calls, 1); /* one zone, read once */
    ASSERT_UEQ(d->n_slos, 2);
    ASSERT_NOT_NULL(d->slos[0].tz);
    ASSERT(d->slos[0].tz == d->slos[1].tz);
    ASSERT_STREQ(d->slos[0].tz_name, "Europe/Berlin");
    ASSERT_STREQ(d->slos[1].tz_name, "Europe/Berlin");
    ASSERT(d->slos[1].calendar);
    ASSERT_EQ(d->slos[1].calendar_unit, SLO_CAL_DAY);
    int32_t off = 0;
    ASSERT_OK(slo_tz_offset(d->slos[0].tz, 1751328000000ll, &off)); /* 2025-07-01Z: CEST */
    ASSERT_EQ(off, 7200);
    done(&diag, d);

    /* an unknown zone: the column of the value (line 6, col 37) and the name */
    memset(&log, 0, sizeof(log));
    ASSERT_EQ(load_with("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                        "  objective: \"99\"\n"
                        "  calendar: {unit: month, timeZone: Europe/Atlantis}\n"
                        "  sli: {spans: {service: s, availability: }}\n",
                        &log, &diag, &d),
              AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&diag),
                 "t.yaml:6:37: error: timeZone 'Europe/Atlantis': unknown time zone; expected an "
                 "IANA name such as \"Europe/Berlin\", UTC or a fixed offset \"+HH:MM\"\n");
    ASSERT_STREQ(log.last, "Europe/Atlantis");
    done(&diag, d);

    /* a directory of the database is no zone */
    ASSERT_EQ(load_with("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                        "  objective: \"99\"\n"
                        "  calendar: {unit: month, timeZone: Europe/}\n"
                        "  sli: {spans: {service: s, availability: }}\n",
                        &log, &diag, &d),
              AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag),
                       "t.yaml:6:37: error: timeZone 'Europe/': expected an IANA name");
    done(&diag, d);

    /* bytes that are no TZif file: the reader's reason */
    ASSERT_EQ(load_with("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                        "  objective: \"99\"\n"
                        "  calendar: {unit: month, timeZone: Test/Garbage}\n"
                        "  sli: {spans: {service: s, availability: }}\n",
                        &log, &diag, &d),
              AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag),
                       "t.yaml:6:37: error: timeZone 'Test/Garbage': the zone file could not be "
                       "used: TZif");
    done(&diag, d);

    /* a 2-hour slice would cut a 23-hour day into 11.5 periods: the period, line 7, col 23 */
    ASSERT_EQ(load_with("apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                        "  objective: \"99\"\n"
                        "  calendar: {unit: month, timeZone: America/New_York}\n"
                        "  timeSlice: {period: 2h, target: \"90\"}\n"
                        "  budgetingMethod: Timeslices\n"
                        "  sli: {spans: {service: s, availability: }}\n",
                        &log, &diag, &d),
              AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&diag),
                 "t.yaml:7:23: error: time slice: in the time zone America/New_York (days of 23 "
                 "or 25 hours) expected a period that divides an hour\n");
    done(&diag, d);
}

/* slo_tz_load_system: real files, names that could leave the directory refused. */
static void test_tz_load_system(void)
{
    if (!have_tzdata()) {
        return;
    }
    struct ag_buf b, why;
    ag_buf_init(&b, 1u << 20);
    ag_buf_init(&why, 4096);
    ASSERT_OK(slo_tz_load_system(NULL, "America/New_York", &b, &why));
    ASSERT(b.len > 44);
    ASSERT_MEMEQ(ag_buf_ptr(&b), "TZif", 4);
    ag_buf_reset(&b);
    ASSERT_EQ(slo_tz_load_system(NULL, "../../../etc/passwd", &b, &why), AG_EINVAL);
    ASSERT_EQ(slo_tz_load_system(NULL, "/etc/passwd", &b, &why), AG_EINVAL);
    ASSERT_EQ(slo_tz_load_system(NULL, "Europe/.", &b, &why), AG_EINVAL);
    ASSERT_EQ(slo_tz_load_system(NULL, "", &b, &why), AG_EINVAL);
    ASSERT_EQ(slo_tz_load_system(NULL, "Europe", &b, &why), AG_ENOTFOUND); /* a directory */
    ASSERT_EQ(slo_tz_load_system(NULL, "Europe/Atlantis", &b, &why), AG_ENOTFOUND);
    ASSERT_UEQ(b.len, 0);
    ag_buf_cleanup(&b);
    ag_buf_cleanup(&why);
}

/* An SLO naming no service takes its span SLI's (the Service dimension of its metrics); a
 * counters SLI gives none. */
static void test_service_from_sli(void)
{
    static const char y[] = "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: a}\n"
                            "spec:\n"
                            "  objective: \"99\"\n"
                            "  window: 1d\n"
                            "  sli: {spans: {service: chat, availability: {}}}\n"
                            "---\n"
                            "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: b}\n"
                            "spec:\n"
                            "  objective: \"99\"\n"
                            "  window: 1d\n"
                            "  sli: {counters: {bad: {name: e}, total: {name: t}}}\n";
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ASSERT_UEQ(d->n_slos, 2);
    ASSERT_STREQ(d->slos[0].service, "chat");
    ASSERT(d->slos[1].service == NULL);
    done(&diag, d);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    static const char *const inputs[] = {otter_min};
    for (long n = 0; n < 10000; n++) {
        struct ag_buf diag;
        struct slo_defs *d = NULL;
        ag_mem_fail_after(n);
        int rc = load(inputs[0], &diag, &d);
        ag_mem_fail_after(-1);
        done(&diag, d);
        if (rc == 0) {
            break;
        }
        ASSERT(rc == AG_ENOMEM || rc == AG_EINVAL);
    }
    /* an IANA zone through the loader: its buffers and the zone cache under failing allocations */
    static const char zoned[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                                "  objective: \"99\"\n"
                                "  calendar: {unit: month, timeZone: Europe/Berlin}\n"
                                "  alerts: [{name: b, budgetRemaining: \"0.5\", coolDown: 1h}]\n"
                                "  sli: {spans: {service: s, availability: }}\n";
    for (long n = 0; have_tzdata() && n < 10000; n++) {
        struct ag_buf diag;
        struct slo_defs *d = NULL;
        struct loader_log log = {0};
        ag_mem_fail_after(n);
        int rc = load_with(zoned, &log, &diag, &d);
        ag_mem_fail_after(-1);
        done(&diag, d);
        if (rc == 0) {
            break;
        }
        ASSERT(rc == AG_ENOMEM || rc == AG_EINVAL);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_otter_minimal), AG_TEST_CASE(test_otter_full),
             AG_TEST_CASE(test_otter_metrics), AG_TEST_CASE(test_otter_defaults),
             AG_TEST_CASE(test_openslo), AG_TEST_CASE(test_openslo_calendar_timeslices),
             AG_TEST_CASE(test_errors), AG_TEST_CASE(test_warnings), AG_TEST_CASE(test_tz_duration),
             AG_TEST_CASE(test_iana_zones), AG_TEST_CASE(test_alert_kinds),
             AG_TEST_CASE(test_budget_drop), AG_TEST_CASE(test_slice_grace),
             AG_TEST_CASE(test_tz_load_system), AG_TEST_CASE(test_service_from_sli),
             AG_TEST_CASE(test_failmalloc))
