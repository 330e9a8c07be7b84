/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the streaming JSON writer (agent/core/ag_json.c): escaping, separators and nesting,
 * number forms, hex and base64, the buffer cap and misuse. Expected strings are written by hand
 * (base64 from RFC 4648 section 10, doubles from Python's repr()).
 */
#include "ag_json.h"
#include "ag_test.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define BIG_CAP (1024 * 1024)

/* The writer's output after the calls in a test: always NUL-terminated by ag_buf. */
static struct ag_buf out;
static struct ag_json w;

static void start(size_t cap)
{
    ag_buf_cleanup(&out);
    ag_buf_init(&out, cap);
    ag_json_init(&w, &out);
}

static const char *text(void)
{
    return ag_buf_str(&out);
}

/* Writes one string value and returns the JSON text. */
static const char *str_of(const char *s, size_t len)
{
    start(BIG_CAP);
    ag_json_strn(&w, s, len);
    return ag_json_finish(&w) == 0 ? text() : NULL;
}

static const char *double_of(double v)
{
    start(BIG_CAP);
    ag_json_double(&w, v);
    return ag_json_finish(&w) == 0 ? text() : NULL;
}

static void test_escape_quotes_and_controls(void)
{
    static const char in[] = "a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj\x7fk/";
    ASSERT_STREQ(str_of(in, sizeof(in) - 1),
                 "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u001fj\x7fk/\"");
    /* An embedded NUL is data, not the end of the string. */
    ASSERT_STREQ(str_of("x\0y", 3), "\"x\\u0000y\"");
    ASSERT_STREQ(str_of("", 0), "\"\"");
    start(BIG_CAP);
    ag_json_str(&w, NULL);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "\"\"");
}

static void test_escape_utf8(void)
{
    /* Valid 2-, 3- and 4-byte sequences (U+00E9, U+20AC, U+1F600, U+10FFFF) pass unchanged. */
    static const char ok[] = "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
    ASSERT_STREQ(str_of(ok, sizeof(ok) - 1), "\""
                                             "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 "
                                             "\xF4\x8F\xBF\xBF"
                                             "\"");
#define FFFD "\xEF\xBF\xBD"
    /* Each byte that does not start a valid sequence becomes one U+FFFD. */
    ASSERT_STREQ(str_of("a\x80z", 3), "\"a" FFFD "z\"");               /* lone continuation */
    ASSERT_STREQ(str_of("a\xC3", 2), "\"a" FFFD "\"");                 /* truncated at the end */
    ASSERT_STREQ(str_of("\xC0\xAF", 2), "\"" FFFD FFFD "\"");          /* overlong '/' */
    ASSERT_STREQ(str_of("\xED\xA0\x80", 3), "\"" FFFD FFFD FFFD "\""); /* surrogate D800 */
    ASSERT_STREQ(str_of("\xF4\x90\x80\x80", 4), "\"" FFFD FFFD FFFD FFFD "\""); /* > 10FFFF */
    ASSERT_STREQ(str_of("\xFF", 1), "\"" FFFD "\"");
    ASSERT_STREQ(str_of("\xE2\x82x", 3), "\"" FFFD FFFD "x\""); /* broken 3-byte sequence */
#undef FFFD
}

static void test_escape_function(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 64);
    ASSERT_OK(ag_json_escape(&b, "q\"\n", 3));
    ASSERT_STREQ(ag_buf_str(&b), "q\\\"\\n");
    ag_buf_cleanup(&b);
    ag_buf_init(&b, 4);
    ASSERT_EQ(ag_json_escape(&b, "\"\"\"", 3), AG_ETOOBIG);
    ag_buf_cleanup(&b);
}

static void test_commas_and_nesting(void)
{
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_key(&w, "a");
    ag_json_int(&w, 1);
    ag_json_key(&w, "b");
    ag_json_arr_open(&w);
    ag_json_int(&w, 1);
    ag_json_uint(&w, 2);
    ag_json_obj_open(&w);
    ag_json_key(&w, "c");
    ag_json_null(&w);
    ag_json_obj_close(&w);
    ag_json_arr_open(&w);
    ag_json_arr_close(&w);
    ag_json_bool(&w, 1);
    ag_json_bool(&w, 0);
    ag_json_arr_close(&w);
    ag_json_key(&w, "d");
    ag_json_obj_open(&w);
    ag_json_obj_close(&w);
    ag_json_keyn(&w, "e\"xyz", 2);
    ag_json_raw(&w, "[1, 2]", 6);
    ag_json_key(&w, "f");
    ag_json_str(&w, "s");
    ag_json_obj_close(&w);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(),
                 "{\"a\":1,\"b\":[1,2,{\"c\":null},[],true,false],\"d\":{},\"e\\\"\":[1, 2],"
                 "\"f\":\"s\"}");
}

static void test_top_level_scalars(void)
{
    start(BIG_CAP);
    ag_json_int(&w, 7);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "7");
    start(BIG_CAP);
    ag_json_null(&w);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "null");
}

static void test_doubles_shortest(void)
{
    /* Expected forms: Python's repr() (shortest round trip) in C's %g spelling. */
    ASSERT_STREQ(double_of(0.1), "0.1");
    ASSERT_STREQ(double_of(1.5), "1.5");
    ASSERT_STREQ(double_of(100.0), "100");
    ASSERT_STREQ(double_of(0.0), "0");
    ASSERT_STREQ(double_of(-0.0), "-0.0");
    ASSERT_STREQ(double_of(1e21), "1e+21");
    ASSERT_STREQ(double_of(1e-7), "1e-07");
    ASSERT_STREQ(double_of(0.1 + 0.2), "0.30000000000000004");
    ASSERT_STREQ(double_of(1.0 / 3.0), "0.3333333333333333");
    ASSERT_STREQ(double_of(-2.5e-10), "-2.5e-10");
    ASSERT_STREQ(double_of(123456789.125), "123456789.125");
    ASSERT_STREQ(double_of(9007199254740992.0), "9007199254740992");
    ASSERT_STREQ(double_of(DBL_MAX), "1.7976931348623157e+308");
    ASSERT_STREQ(double_of(DBL_MIN), "2.2250738585072014e-308");
    ASSERT_STREQ(double_of(5e-324), "5e-324");
}

static void test_doubles_round_trip(void)
{
    /* Pseudo-random bit patterns: every finite one must read back exactly with strtod. */
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof(v));
        if (!isfinite(v)) {
            continue;
        }
        const char *s = double_of(v);
        ASSERT_NOT_NULL(s);
        double back = strtod(s, NULL);
        ASSERT(memcmp(&back, &v, sizeof(v)) == 0);
        ASSERT(strlen(s) <= 24);
    }
}

static void test_doubles_special(void)
{
    ASSERT_STREQ(double_of(NAN), "\"NaN\"");
    ASSERT_STREQ(double_of(INFINITY), "\"Infinity\"");
    ASSERT_STREQ(double_of(-INFINITY), "\"-Infinity\"");
    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_double(&w, NAN);
    ag_json_double(&w, 2.0);
    ag_json_arr_close(&w);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "[\"NaN\",2]");
}

static void test_int_extremes(void)
{
    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_int(&w, INT64_MIN);
    ag_json_int(&w, INT64_MAX);
    ag_json_int(&w, 0);
    ag_json_int(&w, -1);
    ag_json_uint(&w, UINT64_MAX);
    ag_json_uint(&w, 0);
    ag_json_arr_close(&w);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "[-9223372036854775808,9223372036854775807,0,-1,"
                         "18446744073709551615,0]");
}

static void test_hex(void)
{
    static const uint8_t id[] = {0x00, 0x01, 0xab, 0xff, 0x10};
    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_hex(&w, id, sizeof(id));
    ag_json_hex(&w, NULL, 0);
    ag_json_arr_close(&w);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "[\"0001abff10\",\"\"]");
}

static void test_base64_rfc4648(void)
{
    /* RFC 4648 section 10 test vectors, plus bytes that use '+' and '/'. */
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", "\"\""},
        {"f", "\"Zg==\""},
        {"fo", "\"Zm8=\""},
        {"foo", "\"Zm9v\""},
        {"foob", "\"Zm9vYg==\""},
        {"fooba", "\"Zm9vYmE=\""},
        {"foobar", "\"Zm9vYmFy\""},
        {"\xfb\xff", "\"+/8=\""},
        {"\xde\xad\xbe\xef", "\"3q2+7w==\""},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        start(BIG_CAP);
        ag_json_base64(&w, (const uint8_t *)v[i].in, strlen(v[i].in));
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_STREQ(text(), v[i].out);
    }
}

static void test_cap_sticky(void)
{
    start(10);
    ag_json_arr_open(&w);
    ag_json_str(&w, "0123456789abcdef");
    ASSERT_EQ(w.err, AG_ETOOBIG);
    /* Everything after the first failure is a no-op; finish reports the first error. */
    ag_json_int(&w, 1);
    ag_json_arr_close(&w);
    ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
    ASSERT_UEQ(out.len, 0);

    start(8);
    ag_json_hex(&w, (const uint8_t *)"abcd", 4);
    ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
    start(8);
    ag_json_base64(&w, (const uint8_t *)"abcdef", 6);
    ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);

    /* Exactly at the cap fits. */
    start(6);
    ag_json_hex(&w, (const uint8_t *)"ab", 2);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "\"6162\"");
}

static void test_unbalanced(void)
{
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);

    start(BIG_CAP);
    ag_json_arr_close(&w);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);

    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_key(&w, "k");
    ag_json_obj_close(&w);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);

    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_arr_close(&w);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);

    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_obj_close(&w);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
}

static void test_misuse(void)
{
    /* A value in an object without a key. */
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_int(&w, 1);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    /* A key in an array, at the top level, or twice in a row. */
    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_key(&w, "k");
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    start(BIG_CAP);
    ag_json_key(&w, "k");
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_key(&w, "a");
    ag_json_key(&w, "b");
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    /* Two top-level values. */
    start(BIG_CAP);
    ag_json_int(&w, 1);
    ag_json_int(&w, 2);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
}

static void test_depth_limit(void)
{
    start(BIG_CAP);
    for (int i = 0; i < AG_JSON_MAX_DEPTH; i++) {
        ag_json_arr_open(&w);
    }
    ASSERT_EQ(w.err, 0);
    for (int i = 0; i < AG_JSON_MAX_DEPTH; i++) {
        ag_json_arr_close(&w);
    }
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_UEQ(out.len, 2 * AG_JSON_MAX_DEPTH);

    start(BIG_CAP);
    for (int i = 0; i <= AG_JSON_MAX_DEPTH; i++) {
        ag_json_arr_open(&w);
    }
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
}

static void test_cleanup(void)
{
    ag_buf_cleanup(&out);
    ASSERT_NULL(ag_buf_ptr(&out));
}

AG_TEST_MAIN(AG_TEST_CASE(test_escape_quotes_and_controls), AG_TEST_CASE(test_escape_utf8),
             AG_TEST_CASE(test_escape_function), AG_TEST_CASE(test_commas_and_nesting),
             AG_TEST_CASE(test_top_level_scalars), AG_TEST_CASE(test_doubles_shortest),
             AG_TEST_CASE(test_doubles_round_trip), AG_TEST_CASE(test_doubles_special),
             AG_TEST_CASE(test_int_extremes), AG_TEST_CASE(test_hex),
             AG_TEST_CASE(test_base64_rfc4648), AG_TEST_CASE(test_cap_sticky),
             AG_TEST_CASE(test_unbalanced), AG_TEST_CASE(test_misuse),
             AG_TEST_CASE(test_depth_limit), AG_TEST_CASE(test_cleanup))
