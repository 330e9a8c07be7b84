/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the replay contract's events reader (slo_events): both count forms, both time
 * forms, the optional "slo", blank lines, the stable sort, and the exact
 * "FILE:LINE:COL: error: what; expected what" of every mistake (columns counted by hand, 1-based).
 */
#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_events.h"

#define B 1738317600000ll /* 2025-01-31T10:00:00Z */

static const char two_slos[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
                               "  service: s\n  objective: \"99\"\n  window: 1h\n"
                               "  sli: {spans: {availability: {}}}\n---\n"
                               "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: b}\nspec:\n"
                               "  service: s\n  objective: \"99\"\n  window: 1h\n"
                               "  sli: {spans: {availability: {}}}\n";

static struct slo_defs *defs(size_t n, struct ag_buf *diag)
{
    struct slo_defs *d = NULL;
    ag_buf_init(diag, 1u << 16);
    size_t len = n == 2 ? strlen(two_slos) : (size_t)(strstr(two_slos, "---") - two_slos);
    if (slo_defs_new(diag, &d) != 0 || slo_defs_add(d, "d.yaml", two_slos, len) != 0 ||
        slo_defs_finish(d) != 0) {
        slo_defs_free(d);
        return NULL;
    }
    return d;
}

static void test_good_input(void)
{
    struct ag_buf dd, diag;
    struct slo_defs *d = defs(2, &dd);
    ASSERT_NOT_NULL(d);
    static const char text[] =
        "{\"time\": \"2025-01-31T10:00:00Z\", \"slo\": \"b\", \"good\": 990, \"total\": 1000}\n"
        "  \t\r\n"
        "{\"time\":1738317599000,\"slo\":\"a\",\"bad\":10,\"total\":1000}\r\n"
        "{ \"total\" : 5 , \"bad\" : 0 , \"slo\" : \"\\u0062\", \"time\" : "
        "\"2025-01-31T10:00:00.5Z\" }\n"
        "{\"time\": \"2025-01-31T09:59:59.000999Z\", \"slo\": \"a\", \"good\": 0, \"total\": 0}";
    struct slo_events ev = {0};
    ag_buf_init(&diag, 1u << 16);
    ASSERT_OK(slo_events_parse(d, "e.jsonl", text, strlen(text), &ev, &diag));
    ASSERT_STREQ(ag_buf_str(&diag), "");
    ASSERT_UEQ(ev.n, 4);
    ASSERT_EQ(ev.v[0].t_ms, B);
    ASSERT_UEQ(ev.v[0].slo, 1);
    ASSERT_UEQ(ev.v[0].good, 990);
    ASSERT_UEQ(ev.v[1].good, 990); /* bad 10 of 1000 */
    ASSERT_UEQ(ev.v[1].line, 3);
    ASSERT_EQ(ev.v[2].t_ms, B + 500);
    ASSERT_UEQ(ev.v[2].slo, 1); /* "\u0062" is "b" */
    ASSERT_UEQ(ev.v[2].good, 5);
    ASSERT_EQ(ev.v[3].t_ms, B - 1000); /* the fraction is truncated to ms: .000999 -> 0 */
    slo_events_sort(&ev);
    /* by time, the file order kept for equal times: lines 3 and 5 are both 09:59:59.000
     * (B - 1000), then line 1 (B), then line 4 (B + 500) */
    ASSERT_UEQ(ev.v[0].line, 3);
    ASSERT_UEQ(ev.v[1].line, 5);
    ASSERT_UEQ(ev.v[2].line, 1);
    ASSERT_UEQ(ev.v[3].line, 4);
    slo_events_release(&ev);
    slo_defs_free(d);
    ag_buf_cleanup(&dd);
    ag_buf_cleanup(&diag);
}

/* One line per mistake; the expected message follows each. */
static const struct {
    const char *line;
    const char *msg;
} bad_lines[] = {
    {"[1]", "1:1: error: not a JSON object; expected one observation per line: {\"time\": ..., "
            "\"good\" or \"bad\": ..., \"total\": ...}"},
    {"{\"time\": 1, \"good\": 1, \"total\": 1", "1:34: error: end of line inside the object; "
                                               "expected \"}\""},
    {"{\"time\": 1 \"good\": 1}", "1:12: error: unexpected character; expected \",\" or \"}\""},
    {"{time: 1}", "1:2: error: unexpected character; expected a field name in quotes"},
    {"{\"time\" 1}", "1:9: error: unexpected character after \"time\"; expected \":\""},
    {"{\"tme\": 1}", "1:2: error: unknown field \"tme\"; expected time, slo, good, bad or total"},
    /* A quoted name with an escaped newline and ESC stays on one line: both become '?'. */
    {"{\"t\\nx\\u001b\": 1}",
     "1:2: error: unknown field \"t?x?\"; expected time, slo, good, bad or total"},
    {"{\"time\": 1, \"time\": 2}", "1:13: error: duplicate field \"time\"; expected each field "
                                   "once"},
    {"{\"time\": true, \"good\": 1, \"total\": 1}",
     "1:10: error: bad value for time; expected an RFC 3339 UTC string or integer Unix "
     "milliseconds"},
    {"{\"time\": -5, \"good\": 1, \"total\": 1}",
     "1:10: error: negative time; expected a non-negative integer"},
    {"{\"time\": 1.5, \"good\": 1, \"total\": 1}",
     "1:10: error: time is not an integer; expected a non-negative integer"},
    {"{\"time\": 1, \"good\": 01, \"total\": 1}",
     "1:21: error: leading zero in good; expected a JSON integer"},
    {"{\"time\": 1, \"good\": 1, \"total\": 18446744073709551616}",
     "1:33: error: total is too large; expected an integer below 2^64"},
    {"{\"time\": \"2025-01-31\", \"good\": 1, \"total\": 1}",
     "1:10: error: bad time \"2025-01-31\"; expected RFC 3339 UTC time such as "
     "2025-01-31T10:00:00Z"},
    {"{\"time\": 253402300800001, \"good\": 1, \"total\": 1}",
     "1:10: error: time out of range; expected a time before the year 10000"},
    {"{\"good\": 1, \"total\": 1}",
     "1:1: error: missing field \"time\"; expected RFC 3339 UTC or integer Unix ms"},
    {"{\"time\": 1, \"total\": 1}",
     "1:1: error: missing field \"good\" or \"bad\"; expected exactly one of them with total"},
    {"{\"time\": 1, \"bad\": 1}", "1:1: error: missing field \"total\"; expected it with bad"},
    {"{\"time\": 1, \"good\": 1, \"bad\": 0, \"total\": 1}",
     "1:31: error: both good and bad; expected exactly one of them with total"},
    {"{\"time\": 1, \"bad\": 2, \"total\": 1}",
     "1:20: error: bad 2 is more than total 1; expected bad <= total"},
    {"{\"time\": 1, \"slo\": 3, \"good\": 1, \"total\": 1}",
     "1:20: error: bad value for slo; expected an SLO name in quotes"},
    {"{\"time\": 1, \"slo\": \"c\", \"good\": 1, \"total\": 1}",
     "1:20: error: unknown SLO \"c\"; expected the name of a defined SLO"},
    {"{\"time\": 1, \"slo\": \"a\\q\", \"good\": 1, \"total\": 1}",
     "1:22: error: bad escape in a string; expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t "
     "\\uXXXX"},
    {"{\"time\": 1, \"slo\": \"\\ud800\", \"good\": 1, \"total\": 1}",
     "1:21: error: a surrogate \\u escape; expected a character of the BMP or UTF-8 text"},
    {"{\"time\": 1, \"slo\": \"a", "1:20: error: unterminated string; expected a closing quote"},
    {"{\"time\": 1, \"good\": 1, \"total\": 1} {}",
     "1:36: error: text after the object; expected one object per line"},
};

static void test_errors(void)
{
    struct ag_buf dd, dd1, diag;
    struct slo_defs *d = defs(2, &dd);
    struct slo_defs *d1 = defs(1, &dd1); /* one SLO: "slo" is optional */
    ASSERT_NOT_NULL(d);
    ASSERT_NOT_NULL(d1);
    ag_buf_init(&diag, 1u << 16);
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        struct slo_events ev = {0};
        char want[512];
        ag_buf_reset(&diag);
        int rc = slo_events_parse(d1, "e", bad_lines[i].line, strlen(bad_lines[i].line), &ev,
                                  &diag);
        snprintf(want, sizeof(want), "e:%s\n", bad_lines[i].msg);
        ASSERT_EQ(rc, AG_EPROTO);
        ASSERT_STREQ(ag_buf_str(&diag), want);
        ASSERT_UEQ(ev.n, 0);
        slo_events_release(&ev);
    }
    /* "slo" may be omitted only with one SLO */
    struct slo_events ev = {0};
    static const char no_slo[] = "{\"time\": 1, \"good\": 1, \"total\": 1}";
    ag_buf_reset(&diag);
    ASSERT_EQ(slo_events_parse(d, "e", no_slo, strlen(no_slo), &ev, &diag), AG_EPROTO);
    ASSERT_STREQ(ag_buf_str(&diag),
                 "e:1:1: error: missing field \"slo\"; expected it when 2 SLOs are defined\n");
    ag_buf_reset(&diag);
    ASSERT_OK(slo_events_parse(d1, "e", no_slo, strlen(no_slo), &ev, &diag));
    ASSERT_UEQ(ev.n, 1);
    slo_events_release(&ev);
    slo_defs_free(d1);
    ag_buf_cleanup(&dd1);
    slo_defs_free(d);
    ag_buf_cleanup(&dd);
    ag_buf_cleanup(&diag);
}

/* Every error is reported up to 50, then one "too many errors" line where reading stopped. */
static void test_error_cap(void)
{
    struct ag_buf dd, diag, text;
    struct slo_defs *d = defs(1, &dd);
    ASSERT_NOT_NULL(d);
    ag_buf_init(&diag, 1u << 20);
    ag_buf_init(&text, 1u << 20);
    for (int i = 0; i < 60; i++) {
        ASSERT_OK(ag_buf_adds(&text, "{\"time\": 1, \"good\": 2, \"total\": 1}\n"
                                     "{\"time\": 1, \"good\": 1, \"total\": 1}\n"));
    }
    struct slo_events ev = {0};
    ASSERT_EQ(slo_events_parse(d, "e", ag_buf_str(&text), text.len, &ev, &diag), AG_EPROTO);
    size_t lines = 0;
    for (const char *p = ag_buf_str(&diag); *p != '\0'; p++) {
        lines += *p == '\n';
    }
    ASSERT_UEQ(lines, 51);
    /* errors on the odd lines 1..99 (50 of them); reading stops at the next line, 100 */
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "e:99:21: error: good 2 is more than total 1");
    ASSERT_STRCONTAINS(ag_buf_str(&diag), "e:100:1: error: too many errors; stopping\n");
    ASSERT_UEQ(ev.n, 49); /* the good lines 2..98 before the stop */
    slo_events_release(&ev);
    slo_defs_free(d);
    ag_buf_cleanup(&dd);
    ag_buf_cleanup(&diag);
    ag_buf_cleanup(&text);
}

AG_TEST_MAIN(AG_TEST_CASE(test_good_input), AG_TEST_CASE(test_errors),
             AG_TEST_CASE(test_error_cap))
