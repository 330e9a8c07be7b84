/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_report_parse (the replay contract's JSON read back): exact rationals where
 * the counts determine them, the shortest decimal elsewhere (so a 14.4 burn prints 14.40, not
 * the binary double's 14.41), minimal and attached definitions, errors with their JSON paths,
 * the byte-exact round trip, failmalloc. Expected values are worked out in the comments.
 */
#include "ag_mem.h"
#include "config.h"
#include "ag_test.h"
#include "slo_def.h"
#include "slo_eval.h"
#include "slo_report_fmt.h"
#include "slo_report_parse.h"

/* pay at 99.9 %: 999 good of 1000, budget 0.001 * 1000 = 1 event, 1 bad: remaining 0,
 * fraction 0, WARNING (0 < 0.5); burns: 5m 14.4 (as written by the engine for some counts),
 * 1h null; alert page firing. */
static const char doc_text[] =
    "{\"evaluations\":[{\"at\":\"2025-01-31T10:00:00Z\",\"slos\":[{\"name\":\"pay\","
    "\"objective\":\"99.9\",\"status\":\"WARNING\",\"good\":999,\"bad\":1,\"total\":1000,"
    "\"attainment_pct\":99.9,\"error_budget\":{\"unit\":\"events\",\"total\":1,\"consumed\":1,"
    "\"remaining\":0,\"remaining_fraction\":0,\"remaining_seconds\":null},"
    "\"burn_rates\":{\"5m\":14.4,\"1h\":null},\"alerts\":{\"page\":{\"firing\":true,"
    "\"reason\":\"burn over 14.4\"}},\"time_to_exhaustion_seconds\":0,\"warnings\":[\"w\"]}]}]}";

static const char defs_text[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: pay, displayName: Payments}\n"
                                "spec:\n"
                                "  service: s\n"
                                "  objective: \"99.9\"\n"
                                "  window: 1h\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "  alerts: [{name: page, burnRate: \"14.4\", longWindow: 1h, "
                                "shortWindow: 5m}]\n";

static struct slo_defs *load_defs(void)
{
    struct slo_defs *d = NULL;
    if (slo_defs_new(NULL, &d) != 0 ||
        slo_defs_add(d, "t.yaml", defs_text, sizeof(defs_text) - 1) != 0 ||
        slo_defs_finish(d) != 0) {
        slo_defs_free(d);
        return NULL;
    }
    return d;
}

/* num / den == a / b exactly (small values). */
static int rat_is(const struct slo_rat *r, uint64_t a, uint64_t b, bool neg)
{
    return r->den != 0 && r->num * b == (slo_u128)a * r->den && (a == 0 || r->neg == neg);
}

static void test_minimal_exact(void)
{
    struct slo_report r;
    struct slo_report_doc *doc = NULL;
    struct ag_buf why, js;
    ag_buf_init(&why, 4096);
    ag_buf_init(&js, 1 << 20);
    ASSERT_OK(slo_report_parse(doc_text, sizeof(doc_text) - 1, NULL, &r, &doc, &why));
    ASSERT_UEQ(r.n_evals, 1);
    ASSERT_EQ(r.evals[0].at_ms, 1738317600000); /* 2025-01-31T10:00:00Z */
    ASSERT_UEQ(r.evals[0].n_slos, 1);
    const struct slo_eval *ev = &r.evals[0].slos[0];
    ASSERT_STREQ(ev->def->name, "pay");
    ASSERT_NULL(ev->def->display_name);
    ASSERT_UEQ(ev->def->objective.num, 999); /* 99.9 % = 999 / 1000 */
    ASSERT_UEQ(ev->def->objective.den, 1000);
    ASSERT_EQ(ev->budget.status, SLO_STATUS_WARNING);
    ASSERT_UEQ(ev->budget.good, 999);
    ASSERT_UEQ(ev->budget.bad, 1);
    /* Exact from the counts: 999 / 1000 (the double 99.9 % is not 0.999 exactly). */
    ASSERT(rat_is(&ev->budget.attainment, 999, 1000, false));
    ASSERT(rat_is(&ev->budget.budget_total, 1, 1, false));       /* 0.001 * 1000 */
    ASSERT(rat_is(&ev->budget.remaining, 0, 1, false));          /* 1 - 1 */
    ASSERT(rat_is(&ev->budget.remaining_fraction, 0, 1, false)); /* 0 / 1 */
    ASSERT(ev->budget.met && ev->budget.exhausted);              /* exactly on budget */
    ASSERT(!ev->budget.has_seconds && !ev->periods);
    /* Burns: the shortest decimal, 144 / 10. */
    ASSERT_UEQ(ev->n_burns, 2);
    ASSERT_STREQ(ev->burns[0].window, "5m");
    ASSERT(ev->burns[0].burn.has_data);
    ASSERT(rat_is(&ev->burns[0].burn.rate, 144, 10, false));
    char buf[SLO_REPORT_NUM_CAP];
    ASSERT(slo_report_fmt_burn(&ev->burns[0].burn, buf, sizeof(buf)) > 0);
    ASSERT_STREQ(buf, "14.40"); /* 14.4 exactly rounds up to itself; the double would be 14.41 */
    ASSERT(!ev->burns[1].burn.has_data);
    ASSERT_UEQ(ev->n_alerts, 1);
    ASSERT_STREQ(ev->alerts[0].def->name, "page");
    ASSERT(ev->alerts[0].firing);
    ASSERT_STREQ(ev->alerts[0].reason, "burn over 14.4");
    ASSERT(!ev->tte_null);
    ASSERT_UEQ(ev->n_warnings, 1);
    ASSERT_STREQ(ev->warnings[0], "w");
    /* Attainment in the renderers' figures: 999 / 1000 to 3 decimals, exactly 99.900%. */
    struct slo_report_figs f;
    ASSERT_OK(slo_report_figs(ev, &f));
    ASSERT_STREQ(f.attainment, "99.900%");
    ASSERT_STREQ(f.budget_left, "0.0%");
    /* The round trip writes the same bytes. */
    ASSERT_OK(slo_report_json(&r, &js));
    ASSERT_UEQ(js.len, sizeof(doc_text) - 1);
    ASSERT_MEMEQ(ag_buf_str(&js), doc_text, js.len);
    ASSERT_EQ(slo_report_exit_status(&r), 0);
    slo_report_release(&r);
    slo_report_doc_free(doc);
    ag_buf_cleanup(&why);
    ag_buf_cleanup(&js);
}

static void test_attached_definitions(void)
{
    struct slo_defs *d = load_defs();
    ASSERT_NOT_NULL(d);
    struct slo_report r;
    struct slo_report_doc *doc = NULL;
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    ASSERT_OK(slo_report_parse(doc_text, sizeof(doc_text) - 1, d, &r, &doc, &why));
    const struct slo_eval *ev = &r.evals[0].slos[0];
    ASSERT(ev->def == &d->slos[0]);
    ASSERT_STREQ(ev->def->display_name, "Payments");
    ASSERT(ev->alerts[0].def == &d->slos[0].alerts[0]);
    /* The window [at - 1h, at). */
    ASSERT_EQ(ev->window_start_ms, 1738317600000 - 3600000);
    ASSERT_EQ(ev->window_end_ms, 1738317600000);
    slo_report_release(&r);
    slo_report_doc_free(doc);

    /* An alert the definitions lack, and an SLO they do not name. */
    static const char *const bad[][2] = {
        {"\"page\":{\"firing\"", "evaluations[0].slos[0].alerts.ticket: the definitions of SLO "
                                 "\"pay\" have no alert of this name (or fewer alerts of it)\n"},
        {"\"name\":\"pay\"", "evaluations[0].slos[0].name: no SLO \"nope\" in the definitions\n"},
    };
    static const char *const repl[] = {"\"ticket\":{\"firing\"", "\"name\":\"nope\""};
    for (int i = 0; i < 2; i++) {
        char text[2048];
        const char *at = strstr(doc_text, bad[i][0]);
        ASSERT_NOT_NULL(at);
        int n = snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - doc_text), doc_text, repl[i],
                         at + strlen(bad[i][0]));
        ASSERT(n > 0 && (size_t)n < sizeof(text));
        ag_buf_reset(&why);
        ASSERT_EQ(slo_report_parse(text, (size_t)n, d, &r, &doc, &why), AG_EINVAL);
        ASSERT_NULL(doc);
        ASSERT_STREQ(ag_buf_str(&why), bad[i][1]);
    }
    slo_defs_free(d);
    ag_buf_cleanup(&why);
}

static void test_errors(void)
{
    static const struct {
        const char *json;
        int rc;
        const char *why;
    } cases[] = {
        {"{\"evaluations\":[]", AG_EPROTO, "invalid JSON at line 1, column 17: "},
        {"{\"evaluations\":[],\"evaluations\":[]}", AG_EPROTO, "invalid JSON"}, /* duplicate key */
        {"{}", AG_EPROTO, ": missing field \"evaluations\"\n"},
        {"{\"evaluations\":{}}", AG_EPROTO, "evaluations: expected an array, got an object\n"},
        {"{\"evaluations\":[{\"at\":\"2025-01-31T10:00:00Z\",\"slos\":[1]}]}", AG_EPROTO,
         "evaluations[0].slos[0]: expected an object, got a number\n"},
        {"{\"evaluations\":[{\"at\":5,\"slos\":[]}]}", AG_EPROTO,
         "evaluations[0].at: expected RFC 3339 UTC text\n"},
        {"{\"evaluations\":[{\"at\":\"2025-01-31T10:00:00Z\",\"slos\":[],\"x\":1}]}", AG_EPROTO,
         "evaluations[0]: unknown field \"x\"\n"},
        /* jansson quotes the bad token, newline included: the diagnostic stays one line. */
        {"{\"a\":\"b\\\n\"}", AG_EPROTO,
         "invalid JSON at line 2, column 0: invalid escape near '\"b\\?'\n"},
    };
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slo_report r;
        struct slo_report_doc *doc = (struct slo_report_doc *)&why; /* must come back NULL */
        ag_buf_reset(&why);
        ASSERT_EQ(slo_report_parse(cases[i].json, strlen(cases[i].json), NULL, &r, &doc, &why),
                  cases[i].rc);
        ASSERT_NULL(doc);
        ASSERT_UEQ(r.n_evals, 0);
        ASSERT_STRCONTAINS(ag_buf_str(&why), cases[i].why);
    }
    /* A field of the SLO entry, with its whole path: good + bad must be total. */
    char text[2048];
    const char *at = strstr(doc_text, "\"bad\":1");
    ASSERT_NOT_NULL(at);
    int n = snprintf(text, sizeof(text), "%.*s\"bad\":2%s", (int)(at - doc_text), doc_text,
                     at + 7);
    ASSERT(n > 0 && (size_t)n < sizeof(text));
    struct slo_report r;
    struct slo_report_doc *doc = NULL;
    ag_buf_reset(&why);
    ASSERT_EQ(slo_report_parse(text, (size_t)n, NULL, &r, &doc, &why), AG_EPROTO);
    ASSERT_STREQ(ag_buf_str(&why),
                 "evaluations[0].slos[0].bad: expected good + bad = total (999 + 2 != 1000)\n");
    ag_buf_cleanup(&why);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 0; n < 100000; n++) {
        struct slo_report r;
        struct slo_report_doc *doc = NULL;
        ag_mem_fail_after(n);
        int rc = slo_report_parse(doc_text, sizeof(doc_text) - 1, NULL, &r, &doc, NULL);
        ag_mem_fail_after(-1);
        if (rc == 0) {
            slo_report_release(&r);
            slo_report_doc_free(doc);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(doc);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_minimal_exact), AG_TEST_CASE(test_attached_definitions),
             AG_TEST_CASE(test_errors), AG_TEST_CASE(test_failmalloc))
