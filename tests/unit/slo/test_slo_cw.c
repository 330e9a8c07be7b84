/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_cw: the CloudWatch dashboard body and alarm requests built from definitions.
 * The expected JSON, expressions and thresholds are written out by hand below (with the
 * arithmetic in comments), never produced by the code under test.
 */
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_cw.h"
#include "slo_def.h"

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

/* One SLO at 99.9 % over 30 days with the Workbook's fast page: 14.4 over 1h AND 5m. */
static const char pay[] = "apiVersion: otter/v1\n"
                          "kind: SLO\n"
                          "metadata:\n"
                          "  name: pay\n"
                          "spec:\n"
                          "  service: shop\n"
                          "  objective: \"99.9\"\n"
                          "  window: 30d\n"
                          "  sli:\n"
                          "    spans:\n"
                          "      availability:\n"
                          "  alerts:\n"
                          "    - name: fast\n"
                          "      burnRate: \"14.4\"\n"
                          "      longWindow: 1h\n"
                          "      shortWindow: 5m\n"
                          "      minEvents: 100\n";

#define ARN "arn:aws:sns:us-east-1:123456789012:alerts"

/* A MetricStat query on |metric| of SLO pay / Service shop summed over |period| seconds. */
#define STAT(id, metric, period)                                                            \
    "{\"Id\":\"" id "\",\"MetricStat\":{\"Metric\":{\"Namespace\":\"Otter/SLO\","           \
    "\"MetricName\":\"" metric "\",\"Dimensions\":[{\"Name\":\"SLO\",\"Value\":\"pay\"},"    \
    "{\"Name\":\"Service\",\"Value\":\"shop\"}]},\"Period\":" period ",\"Stat\":\"Sum\"},"   \
    "\"ReturnData\":false}"

/*
 * 1 - 0.999 = 0.001 exactly (not binary64's 0.0009999999999999432); the long window carries the
 * minimum-events guard (100 events in the hour), the short one does not; periods are the windows
 * (1h = 3600 s, 5m = 300 s); the actions sit on the composite, which is what pages.
 */
static const char pay_alarms[] =
    "{\"MetricAlarms\":["
    "{\"AlarmName\":\"p-slo-pay-fast-1h\","
    "\"AlarmDescription\":\"SLO pay (objective 99.9% over 30d): burn rate over 1h above 14.4; "
    "alert fast (severity page), long window of the pair.\","
    "\"Metrics\":[{\"Id\":\"burn\",\"Expression\":\"IF(total >= 100, (1 - good / total) / "
    "0.001, 0)\",\"Label\":\"burn rate 1h\",\"ReturnData\":true}," STAT("good", "GoodCount",
                                                                        "3600") ","
    STAT("total", "TotalCount", "3600") "],"
    "\"EvaluationPeriods\":1,\"DatapointsToAlarm\":1,\"Threshold\":14.4,"
    "\"ComparisonOperator\":\"GreaterThanThreshold\",\"TreatMissingData\":\"notBreaching\"},"
    "{\"AlarmName\":\"p-slo-pay-fast-5m\","
    "\"AlarmDescription\":\"SLO pay (objective 99.9% over 30d): burn rate over 5m above 14.4; "
    "alert fast (severity page), short window of the pair.\","
    "\"Metrics\":[{\"Id\":\"burn\",\"Expression\":\"(1 - good / total) / 0.001\","
    "\"Label\":\"burn rate 5m\",\"ReturnData\":true}," STAT("good", "GoodCount", "300") ","
    STAT("total", "TotalCount", "300") "],"
    "\"EvaluationPeriods\":1,\"DatapointsToAlarm\":1,\"Threshold\":14.4,"
    "\"ComparisonOperator\":\"GreaterThanThreshold\",\"TreatMissingData\":\"notBreaching\"}],"
    "\"CompositeAlarms\":["
    "{\"AlarmName\":\"p-slo-pay-fast-1h-5m\","
    "\"AlarmDescription\":\"SLO pay: alert fast (severity page) fires while the burn rate is "
    "above 14.4 over both 1h and 5m.\","
    "\"AlarmRule\":\"ALARM(\\\"p-slo-pay-fast-1h\\\") AND ALARM(\\\"p-slo-pay-fast-5m\\\")\","
    "\"AlarmActions\":[\"" ARN "\"],\"OKActions\":[\"" ARN "\"]}]}";

static void test_alarms_exact(void)
{
    struct ag_buf diag, out;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(pay, &diag, &d));
    ag_buf_init(&out, SLO_CW_OUT_CAP);
    struct slo_cw_opts o = {.prefix = "p-", .sns_topic_arn = ARN};
    ASSERT_OK(slo_cw_alarms(d, &o, &out, &diag));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    ASSERT_STREQ(ag_buf_str(&out), pay_alarms);
    ag_buf_cleanup(&out);
    slo_defs_free(d);
    ag_buf_cleanup(&diag);
}

static void test_budget_text(void)
{
    static const struct {
        const char *objective;
        enum slo_objective_unit unit;
        const char *budget;
    } v[] = {
        {"99.9", SLO_OBJ_PERCENT, "0.001"},     /* 1 - 999/1000 = 1/1000 */
        {"90", SLO_OBJ_PERCENT, "0.1"},         /* 1 - 9/10 */
        {"99", SLO_OBJ_PERCENT, "0.01"},        /* 1 - 99/100 */
        {"95", SLO_OBJ_PERCENT, "0.05"},        /* 1 - 95/100 = 5/100 */
        {"99.95", SLO_OBJ_PERCENT, "0.0005"},   /* 1 - 9995/10000 */
        {"99.999", SLO_OBJ_PERCENT, "0.00001"}, /* 1 - 99999/100000 */
        {"0.9999", SLO_OBJ_FRACTION, "0.0001"},
        {"0.75", SLO_OBJ_FRACTION, "0.25"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct slo_decimal o;
        ASSERT_OK(slo_objective_parse(v[i].objective, strlen(v[i].objective), v[i].unit, &o, NULL));
        char buf[32];
        ASSERT_EQ(slo_cw_budget_text(&o, buf, sizeof(buf)), (int)strlen(v[i].budget));
        ASSERT_STREQ(buf, v[i].budget);
    }
    struct slo_decimal o;
    ASSERT_OK(slo_objective_parse("99.9", 4, SLO_OBJ_PERCENT, &o, NULL));
    char small[5];
    ASSERT_EQ(slo_cw_budget_text(&o, small, sizeof(small)), AG_ETOOBIG); /* "0.001" needs 6 */
}

static void test_period_ok(void)
{
    const uint64_t m = 60000, h = 60 * m, day = 24 * h;
    ASSERT(slo_cw_period_ok(5 * m));
    ASSERT(slo_cw_period_ok(56 * m));
    ASSERT(slo_cw_period_ok(h));
    ASSERT(slo_cw_period_ok(day));
    ASSERT(slo_cw_period_ok(3 * day)); /* 259,200 s: one period, within 7 days */
    ASSERT(slo_cw_period_ok(7 * day)); /* 604,800 s: the limit itself */
    ASSERT(!slo_cw_period_ok(7 * day + m));
    ASSERT(!slo_cw_period_ok(90000)); /* 90 s is no multiple of 60 */
    ASSERT(!slo_cw_period_ok(30000)); /* sub-minute periods need high-resolution metrics */
    ASSERT(!slo_cw_period_ok(0));
    ASSERT(!slo_cw_period_ok(m + 1));
}

static void test_dashboard(void)
{
    struct ag_buf diag, out;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(pay, &diag, &d));
    ag_buf_init(&out, SLO_CW_OUT_CAP);
    struct slo_cw_opts o = {.region = "eu-west-1", .dashboard_name = "shop-slos"};
    ASSERT_OK(slo_cw_dashboard(d, &o, &out, &diag));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    const char *s = ag_buf_str(&out);
    ASSERT(strncmp(s, "{\"periodOverride\":\"inherit\",\"start\":\"-PT168H\",\"widgets\":[", 57) ==
           0);
    ASSERT_STRCONTAINS(s, "{\"type\":\"text\",\"x\":0,\"y\":0,\"width\":24,\"height\":1,"
                          "\"properties\":{\"markdown\":\"# shop-slos\"}}");
    /* Attainment and budget left over the window: 30 d = 720 h as the widget's range. */
    ASSERT_STRCONTAINS(s, "\"setPeriodToTimeRange\":true,\"start\":\"-PT720H\"");
    ASSERT_STRCONTAINS(s, "[{\"expression\":\"100 * good / total\",\"label\":\"attainment % "
                          "(objective 99.9)\",\"id\":\"attainment\"}],"
                          "[\"Otter/SLO\",\"GoodCount\",\"SLO\",\"pay\",\"Service\",\"shop\","
                          "{\"id\":\"good\",\"stat\":\"Sum\",\"visible\":false}],"
                          "[\"Otter/SLO\",\"TotalCount\",\"SLO\",\"pay\",\"Service\",\"shop\","
                          "{\"id\":\"total\",\"stat\":\"Sum\",\"visible\":false}]");
    /* Budget left = 1 - burn over the window = 1 - (1 - good/total) / 0.001, in percent. */
    ASSERT_STRCONTAINS(s, "{\"expression\":\"100 * (1 - (1 - good / total) / 0.001)\"");
    /* One burn series per window, each summed over its own window. */
    ASSERT_STRCONTAINS(s, "[{\"expression\":\"(1 - g1 / t1) / 0.001\",\"label\":\"burn rate "
                          "1h\",\"id\":\"burn1\"}],[\"Otter/SLO\",\"GoodCount\",\"SLO\",\"pay\","
                          "\"Service\",\"shop\",{\"id\":\"g1\",\"stat\":\"Sum\",\"period\":3600,"
                          "\"visible\":false}]");
    ASSERT_STRCONTAINS(s, "[{\"expression\":\"(1 - g2 / t2) / 0.001\",\"label\":\"burn rate "
                          "5m\",\"id\":\"burn2\"}]");
    ASSERT_STRCONTAINS(s, "{\"id\":\"t2\",\"stat\":\"Sum\",\"period\":300,\"visible\":false}");
    ASSERT_STRCONTAINS(s, "{\"label\":\"fast (1h AND 5m) > 14.4\",\"value\":14.4}");
    ASSERT_STRCONTAINS(s, "{\"label\":\"objective 99.9%\",\"value\":99.9}");
    ASSERT_STRCONTAINS(s, "\"region\":\"eu-west-1\"");
    ASSERT_STRCONTAINS(s, "**Objective 99.9%** over a rolling **30d** window (Occurrences)");
    ag_buf_cleanup(&out);
    slo_defs_free(d);
    ag_buf_cleanup(&diag);
}

/* Runs slo_cw_alarms on |yaml| with |o|; returns its code, diagnostics in |diag|. */
static int alarms_of(const char *yaml, const struct slo_cw_opts *o, struct ag_buf *diag,
                     struct ag_buf *out)
{
    struct slo_defs *d = NULL;
    int rc = load(yaml, diag, &d);
    ag_buf_init(out, SLO_CW_OUT_CAP);
    if (rc == 0) {
        ag_buf_reset(diag);
        rc = slo_cw_alarms(d, o, out, diag);
    }
    slo_defs_free(d);
    return rc;
}

static const char head[] = "apiVersion: otter/v1\n"
                           "kind: SLO\n"
                           "metadata:\n"
                           "  name: pay\n"
                           "spec:\n"
                           "  objective: \"99\"\n"
                           "  window: 30d\n"
                           "  sli:\n"
                           "    counters:\n"
                           "      bad: {name: e}\n"
                           "      total: {name: r}\n"
                           "  alerts:\n";

static void test_errors(void)
{
    struct ag_buf diag, out;
    struct slo_cw_opts o = {0};
    char y[1024];
    /* 90 s is no whole minute: line 13, column 7 is the alert's mapping ("name:" after "- "). */
    (void)snprintf(y, sizeof(y), "%s%s", head,
                   "    - name: odd\n      burnRate: \"2\"\n      longWindow: 90s\n");
    ASSERT_EQ(alarms_of(y, &o, &diag, &out), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&diag),
                 "t.yaml:13:7: error: SLO 'pay', alert 'odd': the window 90s cannot be one "
                 "CloudWatch alarm period (whole minutes, at most 1 day below 1 hour and at most "
                 "7 days)\n");
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);

    /* 8 days is 691,200 s, over the 604,800 s an alarm may look back. */
    (void)snprintf(y, sizeof(y), "%s%s", head,
                   "    - name: long\n      burnRate: \"1\"\n      longWindow: 8d\n"
                   "      shortWindow: 2h\n");
    ASSERT_EQ(alarms_of(y, &o, &diag, &out), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "t.yaml:13:7: error: SLO 'pay', alert 'long': the "
                                          "window 8d cannot be one CloudWatch alarm period");
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);

    /* SLO "pay" alert "x-y" and SLO "pay-x" alert "y" both give "slo-pay-x-y-1h": the second
     * is reported at its alert: the first document is 12 + 3 lines, "---" is line 16, the
     * second head lines 17 to 28, so its alert is line 29, column 7. */
    (void)snprintf(y, sizeof(y), "%s%s---\n%s%s", head,
                   "    - name: x-y\n      burnRate: \"2\"\n      longWindow: 1h\n", head,
                   "    - name: y\n      burnRate: \"2\"\n      longWindow: 1h\n");
    char *second = strstr(y, "---\n") + 4 + strlen("apiVersion: otter/v1\nkind: SLO\n"
                                                     "metadata:\n  name: pay");
    memmove(second + 2, second, strlen(second) + 1);
    memcpy(second, "-x", 2);
    ASSERT_EQ(alarms_of(y, &o, &diag, &out), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&diag), "t.yaml:29:7: error: SLO 'pay-x', alert 'y': a second alarm "
                                    "named 'slo-pay-x-y-1h' (give the alerts distinct names)\n");
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);

    /* A prefix that pushes the name past 255: 250 + "slo-pay-x-1h" (12) = 262. */
    char prefix[251];
    memset(prefix, 'a', 250);
    prefix[250] = '\0';
    struct slo_cw_opts lp = {.prefix = prefix};
    (void)snprintf(y, sizeof(y), "%s%s", head,
                   "    - name: x\n      burnRate: \"2\"\n      longWindow: 1h\n");
    ASSERT_EQ(alarms_of(y, &lp, &diag, &out), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "is 262 characters; CloudWatch allows 255");
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);
}

static void test_single_window_and_unknown_service(void)
{
    struct ag_buf diag, out;
    char y[1024];
    /* No short window: one metric alarm, which then carries the actions; no composite. The
     * counters SLI names no service: Service "unknown". 1 - 0.99 = 0.01. */
    (void)snprintf(y, sizeof(y), "%s%s", head,
                   "    - name: slow\n      severity: ticket\n      burnRate: \"2\"\n"
                   "      longWindow: 1d\n      minEvents: 10\n      minBad: 3\n");
    struct slo_cw_opts o = {.sns_topic_arn = ARN, .ns = "Shop/SLO"};
    ASSERT_OK(alarms_of(y, &o, &diag, &out));
    const char *s = ag_buf_str(&out);
    ASSERT_STRCONTAINS(s, "{\"MetricAlarms\":[{\"AlarmName\":\"slo-pay-slow-1d\",");
    ASSERT_STRCONTAINS(s, "(severity ticket), single window.\",\"AlarmActions\":[\"" ARN
                          "\"],\"OKActions\":[\"" ARN "\"],\"Metrics\":");
    /* Both guards on the (only, so long) window: 10 events, 3 bad (total - good). */
    ASSERT_STRCONTAINS(s, "\"Expression\":\"IF(total >= 10, IF(total - good >= 3, (1 - good / "
                          "total) / 0.01, 0), 0)\"");
    ASSERT_STRCONTAINS(s, "\"Namespace\":\"Shop/SLO\"");
    ASSERT_STRCONTAINS(s, "{\"Name\":\"Service\",\"Value\":\"unknown\"}");
    ASSERT_STRCONTAINS(s, "\"Period\":86400,");
    ASSERT_STRCONTAINS(s, "\"Threshold\":2,");
    ASSERT(strstr(s, "\"CompositeAlarms\":[]}") != NULL);
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);
}

/* An alarm request on one of otterd's per-agent metrics of SLO pay (no service: "unknown"). */
#define AGENT_DIMS                                                                          \
    "\"Dimensions\":[{\"Name\":\"SLO\",\"Value\":\"pay\"},{\"Name\":\"Service\",\"Value\":" \
    "\"unknown\"}"
#define ACTIONS "\"AlarmActions\":[\"" ARN "\"],\"OKActions\":[\"" ARN "\"],"

/*
 * Budget and time-to-exhaustion conditions over otterd's per-agent metrics (ErrorBudgetRemaining
 * in percent, BurnRate per BurnRateWindowMinutes), at 99 % over 30 d (W = 30 x 86,400 =
 * 2,592,000 s), the whole requests written out:
 *   budgetRemaining "0.25": ErrorBudgetRemaining (Minimum over 60 s) < 25 (0.25 x 100, exact);
 *     "0.005" gives 0.5 (5 / 1000 x 100 = 5 / 10).
 *   timeToExhaustion {below: 24h, lookback: 1h}: rem / 100 x 2,592,000 / burn < 86,400 s, with
 *     burn the BurnRate of BurnRateWindowMinutes 60 (Maximum): 50 % left burning at 20 is
 *     0.5 x 2,592,000 / 20 = 64,800 s < 86,400: ALARM; a burn of 0 divides by zero and
 *     CloudWatch drops the point (not breaching), as the engine's null.
 *   budgetDrop: no alarm, a warning at the alert (line 16: the head is 12 lines).
 *   The burn-rate alert "slow" keeps its alarm over the counts (slo-pay-slow-1d); the TTE
 *   lookback 1h is no burn-rate widget of the dashboard.
 */
static void test_budget_tte_alarms(void)
{
    struct ag_buf diag, out;
    char y[1024];
    (void)snprintf(y, sizeof(y), "%s%s", head,
                   "    - {name: low, budgetRemaining: \"0.25\"}\n"
                   "    - {name: low2, budgetRemaining: \"0.005\", severity: ticket}\n"
                   "    - {name: tte, timeToExhaustion: {below: 24h, lookback: 1h}}\n"
                   "    - {name: drop, budgetDrop: {drop: \"5%\", lookback: 1h}}\n"
                   "    - {name: slow, burnRate: \"2\", longWindow: 1d, coolDown: 1h}\n");
    struct slo_cw_opts o = {0};
    o.sns_topic_arn = ARN;
    ASSERT_OK(alarms_of(y, &o, &diag, &out));
    ASSERT_STREQ(ag_buf_str(&diag),
                 "t.yaml:16:7: warning: SLO 'pay', alert 'drop': no CloudWatch alarm for a "
                 "budgetDrop condition (metric math cannot read the budget a lookback ago); "
                 "otterd's alert sinks carry it\n");
    const char *s = ag_buf_str(&out);
    static const char low[] =
        "{\"MetricAlarms\":[{\"AlarmName\":\"slo-pay-low\",\"AlarmDescription\":\"SLO pay "
        "(objective 99% over 30d): error budget left below 25% (ErrorBudgetRemaining, the "
        "lowest of the agents' own views); alert low (severity page).\"," ACTIONS
        "\"Namespace\":\"Otter/SLO\",\"MetricName\":\"ErrorBudgetRemaining\"," AGENT_DIMS
        "],\"Statistic\":\"Minimum\",\"Period\":60,\"EvaluationPeriods\":1,"
        "\"DatapointsToAlarm\":1,\"Threshold\":25,\"ComparisonOperator\":\"LessThanThreshold\","
        "\"TreatMissingData\":\"notBreaching\"},"
        "{\"AlarmName\":\"slo-pay-low2\",\"AlarmDescription\":\"SLO pay (objective 99% over "
        "30d): error budget left below 0.5% (ErrorBudgetRemaining, the lowest of the agents' "
        "own views); alert low2 (severity ticket).\"," ACTIONS
        "\"Namespace\":\"Otter/SLO\",\"MetricName\":\"ErrorBudgetRemaining\"," AGENT_DIMS
        "],\"Statistic\":\"Minimum\",\"Period\":60,\"EvaluationPeriods\":1,"
        "\"DatapointsToAlarm\":1,\"Threshold\":0.5,\"ComparisonOperator\":\"LessThanThreshold\","
        "\"TreatMissingData\":\"notBreaching\"},"
        "{\"AlarmName\":\"slo-pay-tte\",\"AlarmDescription\":\"SLO pay (objective 99% over 30d): "
        "time to exhaustion below 86400 s: the budget left x 2592000 s / the burn rate over 1h "
        "(ErrorBudgetRemaining lowest and BurnRate highest of the agents' own views); alert tte "
        "(severity page).\"," ACTIONS
        "\"Metrics\":[{\"Id\":\"tte\",\"Expression\":\"rem / 100 * 2592000 / burn\","
        "\"Label\":\"time to exhaustion over 1h (s)\",\"ReturnData\":true},"
        "{\"Id\":\"rem\",\"MetricStat\":{\"Metric\":{\"Namespace\":\"Otter/SLO\","
        "\"MetricName\":\"ErrorBudgetRemaining\"," AGENT_DIMS "]},\"Period\":60,"
        "\"Stat\":\"Minimum\"},\"ReturnData\":false},"
        "{\"Id\":\"burn\",\"MetricStat\":{\"Metric\":{\"Namespace\":\"Otter/SLO\","
        "\"MetricName\":\"BurnRate\"," AGENT_DIMS ",{\"Name\":\"BurnRateWindowMinutes\","
        "\"Value\":\"60\"}]},\"Period\":60,\"Stat\":\"Maximum\"},\"ReturnData\":false}],"
        "\"EvaluationPeriods\":1,\"DatapointsToAlarm\":1,\"Threshold\":86400,"
        "\"ComparisonOperator\":\"LessThanThreshold\",\"TreatMissingData\":\"notBreaching\"},"
        "{\"AlarmName\":\"slo-pay-slow-1d\",";
    ASSERT(strncmp(s, low, strlen(low)) == 0);
    if (strncmp(s, low, strlen(low)) != 0) {
        fprintf(stderr, "# got %s\n", s);
    }
    ASSERT(strstr(s, "slo-pay-drop") == NULL);
    size_t names = 0;
    for (const char *p = s; (p = strstr(p, "\"AlarmName\":")) != NULL; p++) {
        names++;
    }
    ASSERT_UEQ(names, 4);
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);

    /* --metrics-period 300: both per-agent metrics summarised over 5 minutes */
    o.metrics_period_s = 300;
    o.sns_topic_arn = NULL;
    ASSERT_OK(alarms_of(y, &o, &diag, &out));
    s = ag_buf_str(&out);
    ASSERT_STRCONTAINS(s, "\"Statistic\":\"Minimum\",\"Period\":300,");
    ASSERT_STRCONTAINS(s, "\"Value\":\"60\"}]},\"Period\":300,\"Stat\":\"Maximum\"}");
    ASSERT(strstr(s, "\"Period\":60,") == NULL);
    ASSERT(strstr(s, "AlarmActions") == NULL);
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);
    ASSERT(slo_cw_metrics_period_ok(60) && slo_cw_metrics_period_ok(86400));
    ASSERT(!slo_cw_metrics_period_ok(0) && !slo_cw_metrics_period_ok(90) &&
           !slo_cw_metrics_period_ok(86460));

    o.metrics_period_s = 0;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ag_buf_init(&out, SLO_CW_OUT_CAP);
    ASSERT_OK(slo_cw_dashboard(d, &o, &out, &diag));
    ASSERT_STRCONTAINS(ag_buf_str(&out), "burn rate 1d");
    ASSERT(strstr(ag_buf_str(&out), "burn rate 1h") == NULL);
    slo_defs_free(d);
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);
}

static void test_json_is_balanced(void)
{
    /* The "defaults" alerts of a 28-day window: 4 pairs, 8 alarms, 4 composites; every alarm
     * named once: <slo>-<alert>-<window> and <slo>-<alert>-<long>-<short>. */
    static const char y[] = "apiVersion: otter/v1\n"
                            "kind: SLO\n"
                            "metadata: {name: lat}\n"
                            "spec:\n"
                            "  service: s\n"
                            "  objective: \"99\"\n"
                            "  window: 28d\n"
                            "  budgetingMethod: Timeslices\n"
                            "  timeSlice: {period: 5m, target: \"95\"}\n"
                            "  sli:\n"
                            "    spans:\n"
                            "      latency: {threshold: 2s}\n"
                            "  alerts: defaults\n";
    struct ag_buf diag, out;
    struct slo_cw_opts o = {0};
    ASSERT_OK(alarms_of(y, &o, &diag, &out));
    const char *s = ag_buf_str(&out);
    /* 28/30 of 1h = 56m, short 56/12 = 4.67 -> 4m; 6h -> 336m/28m; 1d -> 1344m/112m;
     * 3d -> 4032m/336m. */
    static const char *const names[] = {
        "slo-lat-page-fast-56m",          "slo-lat-page-fast-4m",
        "slo-lat-page-slow-336m",         "slo-lat-page-slow-28m",
        "slo-lat-ticket-fast-1344m",      "slo-lat-ticket-fast-112m",
        "slo-lat-ticket-slow-4032m",      "slo-lat-ticket-slow-336m",
        "slo-lat-page-fast-56m-4m",       "slo-lat-page-slow-336m-28m",
        "slo-lat-ticket-fast-1344m-112m", "slo-lat-ticket-slow-4032m-336m"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char q[80];
        (void)snprintf(q, sizeof(q), "\"AlarmName\":\"%s\"", names[i]);
        ASSERT_STRCONTAINS(s, q);
    }
    ASSERT_STRCONTAINS(s, "\"Period\":241920,"); /* 4032 min * 60 */
    ASSERT_STRCONTAINS(s, "the burn is over events, an approximation of the period burn.");
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&diag);

    struct slo_defs *d = NULL;
    ASSERT_OK(load(y, &diag, &d));
    ag_buf_init(&out, SLO_CW_OUT_CAP);
    ASSERT_OK(slo_cw_dashboard(d, &o, &out, &diag));
    s = ag_buf_str(&out);
    /* Timeslices: the SLI per 5-minute period against the period target, 28 d = 672 h. */
    ASSERT_STRCONTAINS(s, "{\"label\":\"period target 95%\",\"value\":95}");
    ASSERT_STRCONTAINS(s, "\"title\":\"lat: SLI per 5m\"");
    ASSERT_STRCONTAINS(s, "\"start\":\"-PT672H\"");
    ASSERT_STRCONTAINS(s, "Timeslices periods of 5m, good at >= 95");
    ag_buf_cleanup(&out);
    slo_defs_free(d);
    ag_buf_cleanup(&diag);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct ag_buf diag;
    struct slo_defs *d = NULL;
    ASSERT_OK(load(pay, &diag, &d));
    struct slo_cw_opts o = {.sns_topic_arn = ARN};
    for (int which = 0; which < 2; which++) {
        for (long n = 0; n < 10000; n++) {
            struct ag_buf out;
            ag_buf_init(&out, SLO_CW_OUT_CAP);
            ag_buf_reset(&diag);
            ag_mem_fail_after(n);
            int rc = which == 0 ? slo_cw_alarms(d, &o, &out, &diag)
                                : slo_cw_dashboard(d, &o, &out, &diag);
            ag_mem_fail_after(-1);
            ag_buf_cleanup(&out);
            if (rc == 0) {
                break;
            }
            ASSERT_EQ(rc, AG_ENOMEM);
        }
    }
    slo_defs_free(d);
    ag_buf_cleanup(&diag);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_alarms_exact), AG_TEST_CASE(test_budget_text),
             AG_TEST_CASE(test_period_ok), AG_TEST_CASE(test_dashboard), AG_TEST_CASE(test_errors),
             AG_TEST_CASE(test_single_window_and_unknown_service),
             AG_TEST_CASE(test_budget_tte_alarms), AG_TEST_CASE(test_json_is_balanced),
             AG_TEST_CASE(test_failmalloc))
