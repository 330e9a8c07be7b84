/* SPDX-License-Identifier: Apache-2.0 */
/* The origin check's secret (cb_origin): parsing its one or two values, with the limits at their
 * bounds, and matching a received header against them. */
#include <stdio.h>
#include <string.h>

#include "config.h"

#include "ag_test.h"
#include "cb_origin.h"

/* 43 characters: what Python's secrets.token_urlsafe(32) makes (32 bytes in unpadded base64url:
 * ceil(32 * 8 / 6) = 43). */
#define A "mF3qT9x_Lk2-ZpW8vR1sYc7uNb4hJd6eGa0oQiXyUtE"
#define B "Qw8eR7tY6uI5oP4aS3dF2gH1jK0lZxCvBnM-_qWeRtY"

static int parse(const char *s, struct cb_origin *o, char *err, size_t cap)
{
    return cb_origin_parse(s, strlen(s), o, err, cap);
}

static int match(const struct cb_origin *o, const char *h)
{
    return cb_origin_match(o, h, h != NULL ? strlen(h) : 0);
}

static void test_one_value(void)
{
    struct cb_origin o;
    char err[128] = "";
    ASSERT_EQ(strlen(A), 43);
    ASSERT_OK(parse(A, &o, err, sizeof(err)));
    ASSERT_UEQ(o.n, 1);
    ASSERT_UEQ(o.len[0], 43);
    ASSERT_EQ(match(&o, A), 1);
    /* The same length, the last byte different; the first byte different. */
    ASSERT_EQ(match(&o, "mF3qT9x_Lk2-ZpW8vR1sYc7uNb4hJd6eGa0oQiXyUtF"), 0);
    ASSERT_EQ(match(&o, "nF3qT9x_Lk2-ZpW8vR1sYc7uNb4hJd6eGa0oQiXyUtE"), 0);
    /* A prefix, the value with one more byte, empty, absent, another case. */
    ASSERT_EQ(match(&o, "mF3qT9x_Lk2-ZpW8vR1sYc7uNb4hJd6eGa0oQiXyUt"), 0);
    ASSERT_EQ(match(&o, A "x"), 0);
    ASSERT_EQ(match(&o, ""), 0);
    ASSERT_EQ(match(&o, NULL), 0);
    ASSERT_EQ(match(&o, "MF3QT9X_LK2-ZPW8VR1SYC7UNB4HJD6EGA0OQIXYUTE"), 0);
    ASSERT_EQ(match(&o, B), 0);
    /* No secret at all: nothing matches. */
    ASSERT_EQ(match(NULL, A), 0);
    /* The length passed counts, not a NUL: the value followed by a NUL and more is not it. */
    ASSERT_EQ(cb_origin_match(&o, A "\0zz", 46), 0);
    cb_origin_clear(&o);
    ASSERT_UEQ(o.n, 0);
    ASSERT_UEQ(o.len[0], 0);
    ASSERT_EQ(o.value[0][0], '\0');
    ASSERT_EQ(match(&o, A), 0);
}

static void test_trailing_newline(void)
{
    struct cb_origin o;
    char err[128] = "";
    /* echo's LF and a CRLF are dropped, once. */
    ASSERT_OK(parse(A "\n", &o, err, sizeof(err)));
    ASSERT_UEQ(o.len[0], 43);
    ASSERT_EQ(match(&o, A), 1);
    ASSERT_OK(parse(A "\r\n", &o, err, sizeof(err)));
    ASSERT_UEQ(o.len[0], 43);
    ASSERT_EQ(match(&o, A), 1);
    /* A second newline is part of the value, and a newline is not a visible character: byte 43
     * (0-based) of A "\n\n" is the first LF. */
    ASSERT_EQ(parse(A "\n\n", &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "value 1: byte 43 is not visible ASCII (a space, a control character, or "
                      "non-ASCII)");
    /* A lone CR stays (only CRLF is dropped). */
    ASSERT_EQ(parse(A "\r", &o, err, sizeof(err)), AG_EINVAL);
}

static void test_two_values_while_rotating(void)
{
    struct cb_origin o;
    char err[128] = "";
    ASSERT_OK(parse(A "," B "\n", &o, err, sizeof(err)));
    ASSERT_UEQ(o.n, 2);
    ASSERT_EQ(match(&o, A), 1);
    ASSERT_EQ(match(&o, B), 1);
    ASSERT_EQ(match(&o, A "," B), 0);
    ASSERT_EQ(match(&o, "0123456789abcdef"), 0);
    /* The same value twice is one. */
    ASSERT_OK(parse(A "," A, &o, err, sizeof(err)));
    ASSERT_UEQ(o.n, 1);
    ASSERT_EQ(match(&o, A), 1);
    /* Values of different lengths: each compared at its own length. */
    ASSERT_OK(parse("0123456789abcdef," A, &o, err, sizeof(err)));
    ASSERT_EQ(match(&o, "0123456789abcdef"), 1);
    ASSERT_EQ(match(&o, A), 1);
    ASSERT_EQ(match(&o, "0123456789abcdeF"), 0);
}

static void test_lengths_at_their_bounds(void)
{
    struct cb_origin o;
    char err[128] = "", v[CB_ORIGIN_MAX + 2];
    /* 16 bytes: accepted; 15: refused. */
    ASSERT_OK(parse("0123456789abcdef", &o, err, sizeof(err)));
    ASSERT_EQ(parse("0123456789abcde", &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "value 1: 15 bytes, expected 16 to 256");
    ASSERT_UEQ(o.n, 0);
    /* 256 bytes: accepted; 257: refused. */
    memset(v, 'k', CB_ORIGIN_MAX);
    v[CB_ORIGIN_MAX] = '\0';
    ASSERT_OK(parse(v, &o, err, sizeof(err)));
    ASSERT_UEQ(o.len[0], 256);
    ASSERT_EQ(match(&o, v), 1);
    v[CB_ORIGIN_MAX] = 'k';
    v[CB_ORIGIN_MAX + 1] = '\0';
    ASSERT_EQ(parse(v, &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "value 1: 257 bytes, expected 16 to 256");
    /* The second value is checked as well. */
    ASSERT_EQ(parse(A ",short", &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "value 2: 5 bytes, expected 16 to 256");
}

static void test_refused_values(void)
{
    struct cb_origin o;
    char err[128] = "";
    const char *bad[] = {
        "",                          /* empty */
        "\n",                        /* empty after the newline */
        ",",                         /* two empty values */
        A ",",                       /* an empty second value */
        "," A,                       /* an empty first value */
        A "," B "," A,               /* three values */
        "mF3qT9x_Lk2 ZpW8vR1sYc7u",  /* a space */
        "mF3qT9x_Lk2\tZpW8vR1sYc7u", /* a tab */
        "mF3qT9x_Lk2\xc3\xa9pW8vR1sYc7u", /* non-ASCII (UTF-8 e acute) */
        "mF3qT9x_Lk2\x7fZpW8vR1sYc7u", /* DEL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ASSERT_EQ(parse(bad[i], &o, err, sizeof(err)), AG_EINVAL);
        ASSERT(err[0] != '\0');
        ASSERT_UEQ(o.n, 0);
        /* The reason never repeats the secret's text. */
        ASSERT(strstr(err, "mF3q") == NULL);
        ASSERT(strstr(err, "Qw8e") == NULL);
    }
    ASSERT_EQ(parse(A "," B "," A, &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "more than 2 values separated by ','");
    /* "mF3qT9x_Lk2 ...": the space is byte 11. */
    ASSERT_EQ(parse("mF3qT9x_Lk2 ZpW8vR1sYc7u", &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "value 1: byte 11 is not visible ASCII (a space, a control character, or "
                      "non-ASCII)");
    /* A NUL inside the given length is a byte like the others: refused. */
    ASSERT_EQ(cb_origin_parse("0123456789\0abcdefgh", 19, &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_EQ(cb_origin_parse(NULL, 0, &o, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "no value");
    /* A short reason buffer is cut, still terminated; none at all is allowed. */
    ASSERT_EQ(parse("short", &o, err, 8), AG_EINVAL);
    ASSERT_STREQ(err, "value 1");
    ASSERT_EQ(parse("short", &o, NULL, 0), AG_EINVAL);
}

AG_TEST_MAIN(AG_TEST_CASE(test_one_value), AG_TEST_CASE(test_trailing_newline),
             AG_TEST_CASE(test_two_values_while_rotating), AG_TEST_CASE(test_lengths_at_their_bounds),
             AG_TEST_CASE(test_refused_values))
