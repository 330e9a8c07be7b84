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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The writer's rule written the slow way: the shortest %.Ng (N from 15, or 1 for subnormals) that
 * strtod reads back, integers below 1e15 as their digits. */
static const char *ref_double(double v, char *tmp, size_t cap)
{
    if (v == 0 && signbit(v)) {
        return "-0.0";
    }
    for (int prec = fpclassify(v) == FP_SUBNORMAL ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, cap, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    return tmp;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    /* xorshift64*: reproducible across runs and platforms. */
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ull;
}

/* Short decimals take a path without printf: the same text as the slow rule. */
static void test_doubles_short_fixed(void)
{
    /* By hand (Python's repr() gives the same digits). */
    ASSERT_STREQ(double_of(0.5), "0.5");
    ASSERT_STREQ(double_of(-0.5), "-0.5");
    ASSERT_STREQ(double_of(2.0625), "2.0625");       /* 33/16 */
    ASSERT_STREQ(double_of(4095.9375), "4095.9375"); /* 65535/16 */
    ASSERT_STREQ(double_of(0.001), "0.001");         /* the lower end of the path */
    ASSERT_STREQ(double_of(0.00123), "0.00123");     /* leading zeros after the point */
    ASSERT_STREQ(double_of(0.000999), "0.000999");   /* below it: %g, same text */
    ASSERT_STREQ(double_of(0.0001), "0.0001");       /* %g's last fixed form */
    ASSERT_STREQ(double_of(0.00001), "1e-05");       /* %g's first exponent form */
    ASSERT_STREQ(double_of(99999999999999.9), "99999999999999.9");     /* 15 digits, < 1e14 */
    ASSERT_STREQ(double_of(123456789012.345), "123456789012.345");     /* 15 digits */
    ASSERT_STREQ(double_of(1234567890123.4567), "1234567890123.4568"); /* 17 digits needed */
    ASSERT_STREQ(double_of(0.1 + 0.7), "0.7999999999999999");
    ASSERT_STREQ(double_of(1.1), "1.1");
    ASSERT_STREQ(double_of(-3.14159), "-3.14159");
    ASSERT_STREQ(double_of(1e-3 * 7), "0.007");

    /* Equal to the slow rule on many random doubles: decimals with few digits (what metrics
     * hold), any bit pattern, and values around the path's bounds. */
    char want[40];
    size_t bad = 0;
    for (int i = 0; i < 300000; i++) {
        uint64_t r = rnd();
        double v;
        switch (i % 4) {
        case 0: /* n / 10^k, n up to 15 digits */
            v = (double)(r % 1000000000000000ull) / pow(10.0, (double)((r >> 50) % 19));
            break;
        case 1: /* any finite double */
            memcpy(&v, &r, sizeof(v));
            if (!isfinite(v)) {
                v = 1.5;
            }
            break;
        case 2: /* binary fractions (histogram sums, x / 16) */
            v = (double)(r % 100000000ull) / (double)(1u << ((r >> 40) % 20));
            break;
        default: /* near 1e-3 and 1e14 */
            v = ((r >> 63) ? 1e14 : 1e-3) * (1.0 + ((double)(r % 2001) - 1000.0) * 1e-12);
            break;
        }
        if ((r >> 62) & 1) {
            v = -v;
        }
        if (v == trunc(v) && fabs(v) < 1e15) {
            continue; /* integers: covered by test_doubles_shortest */
        }
        const char *got = double_of(v);
        if (strcmp(got, ref_double(v, want, sizeof(want))) != 0) {
            if (bad++ < 5) {
                printf("# %.17g: got %s, want %s\n", v, got, want);
            }
        }
    }
    ASSERT_UEQ(bad, 0);
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
    /* Every byte value, against snprintf's %02x. */
    uint8_t all[256];
    char want[2 * 256 + 3] = "\"";
    for (size_t i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
        snprintf(want + 1 + 2 * i, 3, "%02x", (unsigned)i);
    }
    want[1 + 2 * 256] = '"';
    want[2 + 2 * 256] = '\0';
    start(BIG_CAP);
    ag_json_hex(&w, all, sizeof(all));
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), want);
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

/* One document with every kind of value, strings needing every kind of escape among them. */
static void write_sample(struct ag_json *jw)
{
    static const char s[] = "q\"b\\c/\n\r\t\b\f\x01\x1f\x7f \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 "
                            "\xFF";
    ag_json_obj_open(jw);
    ag_json_key(jw, "s");
    ag_json_strn(jw, s, sizeof(s) - 1);
    ag_json_key(jw, "k\"ey");
    ag_json_int(jw, -42);
    ag_json_key(jw, "u");
    ag_json_uint(jw, 7);
    ag_json_key(jw, "h");
    ag_json_hex(jw, (const uint8_t *)"\xab\x01", 2);
    ag_json_key(jw, "b");
    ag_json_base64(jw, (const uint8_t *)"foo", 3);
    ag_json_key(jw, "d");
    ag_json_double(jw, 1.5);
    ag_json_key(jw, "t");
    ag_json_bool(jw, 1);
    ag_json_key(jw, "z");
    ag_json_null(jw);
    ag_json_key(jw, "r");
    ag_json_raw(jw, "{\"x\":[1,\"y\\\"\"]}", 15);
    ag_json_key(jw, "a");
    ag_json_arr_open(jw);
    ag_json_arr_close(jw);
    ag_json_obj_close(jw);
}

/* Written by hand from RFC 8259; the escaped form is Python's json.dumps(plain,
 * ensure_ascii=False) without its quotes (an independent encoder). */
#define SAMPLE_PLAIN                                                                             \
    "{\"s\":\"q\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7F \xC3\xA9 \xE2\x82\xAC "              \
    "\xF0\x9F\x98\x80 "                                                                          \
    "\xEF\xBF\xBD\",\"k\\\"ey\":-42,\"u\":7,\"h\":\"ab01\",\"b\":\"Zm9v\",\"d\":1.5,\"t\":true," \
    "\"z\":null,\"r\":{\"x\":[1,\"y\\\"\"]},\"a\":[]}"
#define SAMPLE_ESCAPED                                                                             \
    "{\\\"s\\\":\\\"q\\\\\\\"b\\\\\\\\c/\\\\n\\\\r\\\\t\\\\b\\\\f\\\\u0001\\\\u001f\x7F \xC3\xA9 " \
    "\xE2\x82\xAC \xF0\x9F\x98\x80 "                                                               \
    "\xEF\xBF\xBD\\\",\\\"k\\\\\\\"ey\\\":-42,\\\"u\\\":7,\\\"h\\\":"                              \
    "\\\"ab01\\\",\\\"b\\\":\\\"Zm9v\\\",\\\"d\\\":1.5,\\\"t\\\":true,\\\"z\\\":null,\\\"r\\\":"   \
    "{\\\"x\\\":[1,\\\"y\\\\\\\"\\\"]},\\\"a\\\":[]}"

static void test_escaped_form(void)
{
    /* From an empty buffer (every append grows it) and from a roomy one (the fast paths). */
    for (int roomy = 0; roomy < 2; roomy++) {
        start(BIG_CAP);
        if (roomy) {
            ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
        }
        write_sample(&w);
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_STREQ(text(), SAMPLE_PLAIN);
        ASSERT_UEQ(w.written, sizeof(SAMPLE_PLAIN) - 1);

        start(BIG_CAP);
        if (roomy) {
            ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
        }
        ag_json_init_escaped(&w, &out);
        write_sample(&w);
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_STREQ(text(), SAMPLE_ESCAPED);
        /* The plain length is counted, not the escaped one. */
        ASSERT_UEQ(w.written, sizeof(SAMPLE_PLAIN) - 1);
    }
    /* Raw JSON text with what a JSON string cannot hold is escaped as ag_json_escape() does. */
    start(BIG_CAP);
    ag_json_init_escaped(&w, &out);
    ag_json_raw(&w, "\"a\nb\"", 5);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "\\\"a\\nb\\\"");
}

/*
 * Raw JSON in the escaped form, against a reference written here: '"' and '\\' get a backslash,
 * '\n' becomes \n (ag_json_escape()'s short form), UTF-8 stays. Random texts of 0..70 bytes from
 * an alphabet rich in quotes put a special byte at every offset of the 8-byte steps.
 */
static void test_escaped_raw_random(void)
{
    static const char *const units[] = {"a", "\"", "\\", "1", ",", "[", "\n", "\xC3\xA9"};
    uint64_t r = 99;
    for (int round = 0; round < 3000; round++) {
        char in[160], want[400];
        size_t n = 0, m = 0;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = (size_t)(r >> 33) % 71;
        while (n < len) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            const char *u = units[(r >> 40) % 8];
            size_t ul = strlen(u);
            memcpy(in + n, u, ul);
            n += ul;
            if (u[0] == '"' || u[0] == '\\') {
                want[m++] = '\\';
                want[m++] = u[0];
            } else if (u[0] == '\n') {
                want[m++] = '\\';
                want[m++] = 'n';
            } else {
                memcpy(want + m, u, ul);
                m += ul;
            }
        }
        want[m] = '\0';
        start(BIG_CAP);
        if (round % 2) {
            ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096)); /* the fast path's room */
        }
        ag_json_init_escaped(&w, &out);
        ag_json_raw(&w, in, n);
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_STREQ(text(), want);
        ASSERT_UEQ(w.written, n);
    }
}

static void test_plain_limit(void)
{
    for (int escaped = 0; escaped < 2; escaped++) {
        /* Exactly the plain length fits, in both forms. */
        start(BIG_CAP);
        if (escaped) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_set_limit(&w, sizeof(SAMPLE_PLAIN) - 1);
        write_sample(&w);
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_EQ(w.over_limit, 0);
        /* One byte less fails; the buffer is kept (the caller cuts it back), not freed. */
        start(BIG_CAP);
        if (escaped) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_set_limit(&w, sizeof(SAMPLE_PLAIN) - 2);
        write_sample(&w);
        ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
        ASSERT_EQ(w.over_limit, 1);
        ASSERT_NOT_NULL(ag_buf_ptr(&out));
        /* A limit inside a hex string. */
        start(BIG_CAP);
        if (escaped) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_set_limit(&w, 5);
        ag_json_hex(&w, (const uint8_t *)"ab", 2);
        ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
        ASSERT_EQ(w.over_limit, 1);
    }
    /* The buffer's own cap is not the limit: the buffer is freed then, as always. */
    start(8);
    ag_json_init_escaped(&w, &out);
    ag_json_set_limit(&w, 100);
    ag_json_str(&w, "\"\"\"");
    ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
    ASSERT_EQ(w.over_limit, 0);
    ASSERT_NULL(ag_buf_ptr(&out));
}

/* A reference escaper for ASCII, as simple as can be: the expectation of test_word_paths. */
static size_t ref_escape(const char *s, size_t len, int twice, char *dst)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        size_t el = 0;
        if (c == '"' || c == '\\') {
            e[el++] = '\\';
            e[el++] = (char)c;
        } else if (c == '\n') {
            e[el++] = '\\';
            e[el++] = 'n';
        } else if (c < 0x20) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            el = 6;
        } else {
            e[el++] = (char)c;
        }
        for (size_t k = 0; k < el; k++) {
            if (twice && (e[k] == '\\' || e[k] == '"')) {
                dst[n++] = '\\';
            }
            dst[n++] = e[k];
        }
    }
    dst[n] = '\0';
    return n;
}

/* Clean runs of every length around a special byte at every offset (the 8-byte fast path). */
static void test_word_paths(void)
{
    static const char specials[] = {'"', '\\', '\n', '\x01', '\x1f'};
    char in[64], want[512];
    for (size_t sp = 0; sp < sizeof(specials); sp++) {
        for (size_t at = 0; at < 40; at++) {
            for (size_t len = at + 1; len <= 40; len += 7) {
                for (size_t i = 0; i < len; i++) {
                    in[i] = (char)('a' + i % 26);
                }
                in[at] = specials[sp];
                for (int twice = 0; twice < 2; twice++) {
                    start(BIG_CAP);
                    ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
                    if (twice) {
                        ag_json_init_escaped(&w, &out);
                    }
                    ag_json_arr_open(&w);
                    ag_json_strn(&w, in, len);
                    ag_json_arr_close(&w);
                    ASSERT_OK(ag_json_finish(&w));
                    char *p = want;
                    *p++ = '[';
                    if (twice) {
                        *p++ = '\\';
                    }
                    *p++ = '"';
                    p += ref_escape(in, len, twice, p);
                    if (twice) {
                        *p++ = '\\';
                    }
                    *p++ = '"';
                    *p++ = ']';
                    *p = '\0';
                    ASSERT_STREQ(text(), want);
                }
            }
        }
    }
}

/*
 * Random ASCII strings of 0 to 40 bytes, mostly clean with a special byte now and then (so the
 * 8-byte words, the overlapping last word and the byte loop all run, and specials land on every
 * offset of the tail), written once and twice escaped: the reference escaper says what each must
 * give. A fixed seed keeps the run reproducible.
 */
static void test_random_against_reference(void)
{
    static const char pool[] = "abcdefghijklmnopqrstuvwxyz0123456789 /.:-_";
    static const char specials[] = {'"', '\\', '\n', '\x01', '\x1f'};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    char in[64], want[512];
    for (int round = 0; round < 200000; round++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = (size_t)(seed >> 33) % 41;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(seed >> 33);
            in[i] = r % 16 == 0 ? specials[(r >> 4) % sizeof(specials)]
                                : pool[(r >> 4) % (sizeof(pool) - 1)];
        }
        int twice = round & 1;
        start(BIG_CAP);
        ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
        if (twice) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_strn(&w, in, len);
        ASSERT_OK(ag_json_finish(&w));
        char *p = want;
        if (twice) {
            *p++ = '\\';
        }
        *p++ = '"';
        p += ref_escape(in, len, twice, p);
        if (twice) {
            *p++ = '\\';
        }
        *p++ = '"';
        *p = '\0';
        ASSERT_STREQ(text(), want);
    }
}

/* ag_json_key_lit() writes what ag_json_key() writes, in both forms, commas included; misuse
 * fails the same way. */
static void test_key_lit(void)
{
    for (int twice = 0; twice < 2; twice++) {
        char lit[256];
        start(BIG_CAP);
        if (twice) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_obj_open(&w);
        ag_json_key_lit(&w, "a_b.c-1");
        ag_json_int(&w, 1);
        ag_json_key_lit(&w, "start_time");
        ag_json_obj_open(&w);
        ag_json_key_lit(&w, "x");
        ag_json_null(&w);
        ag_json_obj_close(&w);
        ag_json_obj_close(&w);
        ASSERT_OK(ag_json_finish(&w));
        snprintf(lit, sizeof(lit), "%s", text());

        start(BIG_CAP);
        if (twice) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_obj_open(&w);
        ag_json_key(&w, "a_b.c-1");
        ag_json_int(&w, 1);
        ag_json_key(&w, "start_time");
        ag_json_obj_open(&w);
        ag_json_key(&w, "x");
        ag_json_null(&w);
        ag_json_obj_close(&w);
        ag_json_obj_close(&w);
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_STREQ(lit, text());
        ASSERT_STREQ(lit, twice ? "{\\\"a_b.c-1\\\":1,\\\"start_time\\\":{\\\"x\\\":null}}"
                                : "{\"a_b.c-1\":1,\"start_time\":{\"x\":null}}");
    }
    /* A key in an array, or two keys in a row: AG_EINVAL, as ag_json_key(). */
    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_key_lit(&w, "k");
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_key_lit(&w, "k");
    ag_json_key_lit(&w, "k");
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    /* No room allocated yet: the general path grows the buffer. */
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_key_lit(&w, "k");
    ag_json_bool(&w, 1);
    ag_json_obj_close(&w);
    ASSERT_OK(ag_json_finish(&w));
    ASSERT_STREQ(text(), "{\"k\":true}");
}

/*
 * A key that needs escaping goes through ag_json_keyn()'s one-go path (room reserved) and its
 * general path (empty buffer) alike. Expected by hand: the plain text {"q\"k\n":1}, and escaped
 * again every '"' and '\\' of it gets a backslash.
 */
static void test_keyn_escapes(void)
{
    for (int roomy = 0; roomy < 2; roomy++) {
        for (int twice = 0; twice < 2; twice++) {
            start(BIG_CAP);
            if (roomy) {
                ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
            }
            if (twice) {
                ag_json_init_escaped(&w, &out);
            }
            ag_json_obj_open(&w);
            ag_json_keyn(&w, "q\"k\n", 4);
            ag_json_int(&w, 1);
            ag_json_obj_close(&w);
            ASSERT_OK(ag_json_finish(&w));
            ASSERT_STREQ(text(), twice ? "{\\\"q\\\\\\\"k\\\\n\\\":1}" : "{\"q\\\"k\\n\":1}");
            /* 12 plain bytes: { "q\"k\n" : 1 } = 1 + 8 + 1 + 1 + 1. */
            ASSERT_UEQ(w.written, 12);
        }
    }
}

/* Renders {"a":1} in |twice|'s form into |buf|, the writer's plain count in |*plain|; returns
 * ag_json_finish()'s result. */
static int render_a1(struct ag_buf *buf, int twice, size_t *plain)
{
    struct ag_json r;
    ag_buf_init(buf, BIG_CAP);
    if (twice) {
        ag_json_init_escaped(&r, buf);
    } else {
        ag_json_init(&r, buf);
    }
    ag_json_obj_open(&r);
    ag_json_key_lit(&r, "a");
    ag_json_int(&r, 1);
    ag_json_obj_close(&r);
    *plain = r.written;
    return ag_json_finish(&r);
}

/*
 * ag_json_raw_out(): a value rendered by another writer of the same form goes in as it is, after a
 * key or in an array with its comma, counted in plain bytes against the limit.
 */
static void test_raw_out(void)
{
    for (int twice = 0; twice < 2; twice++) {
        struct ag_buf v;
        size_t plain = 0;
        ASSERT_OK(render_a1(&v, twice, &plain));
        for (int roomy = 0; roomy < 2; roomy++) {
            start(BIG_CAP);
            if (roomy) {
                ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
            }
            if (twice) {
                ag_json_init_escaped(&w, &out);
            }
            ag_json_obj_open(&w);
            ag_json_key_lit(&w, "k");
            ag_json_raw_out(&w, ag_buf_str(&v), v.len, plain);
            ag_json_key_lit(&w, "l");
            ag_json_arr_open(&w);
            ag_json_int(&w, 2);
            ag_json_raw_out(&w, ag_buf_str(&v), v.len, plain);
            ag_json_arr_close(&w);
            ag_json_obj_close(&w);
            ASSERT_OK(ag_json_finish(&w));
            ASSERT_STREQ(text(), twice ? "{\\\"k\\\":{\\\"a\\\":1},\\\"l\\\":[2,{\\\"a\\\":1}]}"
                                       : "{\"k\":{\"a\":1},\"l\":[2,{\"a\":1}]}");
            /* Plain {"k":{"a":1},"l":[2,{"a":1}]}: '{' 1, "k": 4, {"a":1} 7, ',' 1, "l": 4,
             * '[' 1, 2 1, ',' 1, {"a":1} 7, ']' 1, '}' 1 = 29 bytes. */
            ASSERT_UEQ(w.written, 29);
        }
        /* The limit counts the plain bytes: 29 do not fit in 28. */
        start(BIG_CAP);
        if (twice) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_set_limit(&w, 28);
        ag_json_obj_open(&w);
        ag_json_key_lit(&w, "k");
        ag_json_raw_out(&w, ag_buf_str(&v), v.len, plain);
        ag_json_key_lit(&w, "l");
        ag_json_arr_open(&w);
        ag_json_int(&w, 2);
        ag_json_raw_out(&w, ag_buf_str(&v), v.len, plain);
        ag_json_arr_close(&w);
        ag_json_obj_close(&w);
        ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
        ASSERT_EQ(w.over_limit, 1);
        ag_buf_cleanup(&v);
    }
}

/*
 * ag_json_members_out(): members rendered by another writer of the same form, copied between
 * others with the commas where they belong, counted in plain bytes; misuse is AG_EINVAL; the
 * limit counts them.
 */
static void test_members_out(void)
{
    for (int twice = 0; twice < 2; twice++) {
        struct ag_buf m;
        size_t plain = 0;
        ASSERT_OK(render_a1(&m, twice, &plain));
        ASSERT_UEQ(plain, 7); /* {"a":1} */
        const char *members = ag_buf_str(&m) + 1;
        size_t len = m.len - 2;
        for (int roomy = 0; roomy < 2; roomy++) {
            start(BIG_CAP);
            if (roomy) {
                ASSERT_NOT_NULL(ag_buf_reserve(&out, 4096));
            }
            if (twice) {
                ag_json_init_escaped(&w, &out);
            }
            ag_json_obj_open(&w);
            ag_json_key_lit(&w, "x");
            ag_json_bool(&w, 1);
            ag_json_members_out(&w, members, len, plain - 2);
            ag_json_key_lit(&w, "y");
            ag_json_null(&w);
            ag_json_obj_close(&w);
            ASSERT_OK(ag_json_finish(&w));
            ASSERT_STREQ(text(), twice ? "{\\\"x\\\":true,\\\"a\\\":1,\\\"y\\\":null}"
                                       : "{\"x\":true,\"a\":1,\"y\":null}");
            /* Plain {"x":true,"a":1,"y":null}: '{' 1, "x":true 8, ',' 1, "a":1 5, ',' 1,
             * "y":null 8, '}' 1 = 25 bytes. */
            ASSERT_UEQ(w.written, 25);
        }
        /* First in the object: no comma. Nothing to write: nothing written. */
        start(BIG_CAP);
        if (twice) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_obj_open(&w);
        ag_json_members_out(&w, members, 0, 0);
        ag_json_members_out(&w, members, len, plain - 2);
        ag_json_obj_close(&w);
        ASSERT_OK(ag_json_finish(&w));
        ASSERT_STREQ(text(), twice ? "{\\\"a\\\":1}" : "{\"a\":1}");
        /* The limit counts them: 25 plain bytes do not fit in 24. */
        start(BIG_CAP);
        if (twice) {
            ag_json_init_escaped(&w, &out);
        }
        ag_json_set_limit(&w, 24);
        ag_json_obj_open(&w);
        ag_json_key_lit(&w, "x");
        ag_json_bool(&w, 1);
        ag_json_members_out(&w, members, len, plain - 2);
        ag_json_key_lit(&w, "y");
        ag_json_null(&w);
        ag_json_obj_close(&w);
        ASSERT_EQ(ag_json_finish(&w), AG_ETOOBIG);
        ASSERT_EQ(w.over_limit, 1);
        ag_buf_cleanup(&m);
    }
    /* In an array, at the top level, or after a key: AG_EINVAL. */
    start(BIG_CAP);
    ag_json_arr_open(&w);
    ag_json_members_out(&w, "\"a\":1", 5, 5);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    start(BIG_CAP);
    ag_json_members_out(&w, "\"a\":1", 5, 5);
    ASSERT_EQ(ag_json_finish(&w), AG_EINVAL);
    start(BIG_CAP);
    ag_json_obj_open(&w);
    ag_json_key_lit(&w, "k");
    ag_json_members_out(&w, "\"a\":1", 5, 5);
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
             AG_TEST_CASE(test_doubles_round_trip), AG_TEST_CASE(test_doubles_short_fixed),
             AG_TEST_CASE(test_doubles_special),
             AG_TEST_CASE(test_int_extremes), AG_TEST_CASE(test_hex),
             AG_TEST_CASE(test_base64_rfc4648), AG_TEST_CASE(test_cap_sticky),
             AG_TEST_CASE(test_unbalanced), AG_TEST_CASE(test_misuse),
             AG_TEST_CASE(test_depth_limit), AG_TEST_CASE(test_escaped_form),
             AG_TEST_CASE(test_escaped_raw_random),
             AG_TEST_CASE(test_raw_out),
             AG_TEST_CASE(test_plain_limit), AG_TEST_CASE(test_word_paths),
             AG_TEST_CASE(test_random_against_reference),
             AG_TEST_CASE(test_key_lit), AG_TEST_CASE(test_keyn_escapes),
             AG_TEST_CASE(test_members_out),
             AG_TEST_CASE(test_cleanup))
