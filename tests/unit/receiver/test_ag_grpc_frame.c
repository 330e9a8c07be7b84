/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ag_grpc_frame: the incremental length-prefixed message decoder fed with
 * hand-built byte sequences cut at every offset, and the grpc-timeout, grpc-message and base64
 * codecs against values worked out by hand (RFC 4648 test vectors for base64).
 */
#include "ag_grpc_frame.h"
#include "ag_mem.h"
#include "ag_test.h"

#include <stdint.h>
#include <string.h>

/* flag 0, length 3, "abc" */
static const uint8_t one_msg[] = {0x00, 0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c'};

/* flag 0, length 2, "hi"; then flag 1, length 1, "x" */
static const uint8_t two_msgs[] = {0x00, 0x00, 0x00, 0x00, 0x02, 'h', 'i',
                                   0x01, 0x00, 0x00, 0x00, 0x01, 'x'};

static void test_whole_message(void)
{
    struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
    const uint8_t *msg = NULL;
    size_t len = 0;
    int flag = -1;
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_next(dec, &msg, &len, &flag), AG_EAGAIN);
    ASSERT_EQ(ag_grpc_frame_feed(dec, one_msg, sizeof(one_msg)), 8);
    ASSERT_UEQ(ag_grpc_frame_count(dec), 1);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 3);
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_UEQ(len, 3);
    ASSERT_MEMEQ(msg, "abc", 3);
    ASSERT_EQ(flag, AG_GRPC_FRAME_PLAIN);
    ASSERT_OK(ag_grpc_frame_end(dec));
    /* Taken once: a second next() finds nothing, the message stays readable. */
    ASSERT_EQ(ag_grpc_frame_next(dec, &msg, &len, &flag), AG_EAGAIN);
    ASSERT_MEMEQ(msg, "abc", 3);
    ag_grpc_frame_free(dec);
}

/* Feeds |in| cut at |cut| (two calls) and checks the one message "abc" comes out. */
static int split_ok(size_t cut)
{
    struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
    const uint8_t *msg;
    size_t len;
    int flag, ok = 1;
    if (dec == NULL) {
        return 0;
    }
    ok &= ag_grpc_frame_feed(dec, one_msg, cut) == (ssize_t)cut;
    if (cut < sizeof(one_msg)) {
        ok &= ag_grpc_frame_end(dec) == (cut == 0 ? 0 : AG_EPROTO);
        ok &= ag_grpc_frame_next(dec, &msg, &len, &flag) == AG_EAGAIN;
        ok &= ag_grpc_frame_feed(dec, one_msg + cut, sizeof(one_msg) - cut) ==
              (ssize_t)(sizeof(one_msg) - cut);
    }
    ok &= ag_grpc_frame_next(dec, &msg, &len, &flag) == 0;
    ok &= len == 3 && memcmp(msg, "abc", 3) == 0 && flag == 0;
    ok &= ag_grpc_frame_end(dec) == 0;
    ag_grpc_frame_free(dec);
    return ok;
}

static void test_split_at_every_offset(void)
{
    for (size_t cut = 0; cut <= sizeof(one_msg); cut++) {
        if (!split_ok(cut)) {
            AG_TEST_FAIL_("split at offset %zu failed", cut);
        }
    }
}

static void test_byte_by_byte(void)
{
    struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
    const uint8_t *msg;
    size_t len;
    int flag;
    ASSERT_NOT_NULL(dec);
    for (size_t i = 0; i < sizeof(one_msg); i++) {
        ASSERT_EQ(ag_grpc_frame_feed(dec, one_msg + i, 1), 1);
        ASSERT_UEQ(ag_grpc_frame_count(dec), i + 1 == sizeof(one_msg) ? 1 : 0);
    }
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_UEQ(len, 3);
    ASSERT_MEMEQ(msg, "abc", 3);
    ag_grpc_frame_free(dec);
}

/* Two messages in one buffer: feed stops after the first; the rest gives the second. */
static void test_two_messages(void)
{
    struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
    const uint8_t *msg;
    size_t len;
    int flag;
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs, sizeof(two_msgs)), 7);
    /* Not taken yet: nothing more is consumed. */
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs + 7, 6), 0);
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_UEQ(len, 2);
    ASSERT_MEMEQ(msg, "hi", 2);
    ASSERT_EQ(flag, 0);
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs + 7, 6), 6);
    ASSERT_UEQ(ag_grpc_frame_count(dec), 2);
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_UEQ(len, 1);
    ASSERT_EQ(msg[0], 'x');
    ASSERT_EQ(flag, AG_GRPC_FRAME_COMPRESSED);
    ASSERT_OK(ag_grpc_frame_end(dec));
    ag_grpc_frame_free(dec);
}

/* Both messages, the buffer cut at every offset into two feeds (each feed drained in a loop). */
static void test_two_messages_every_split(void)
{
    for (size_t cut = 0; cut <= sizeof(two_msgs); cut++) {
        struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
        char got[8];
        size_t ngot = 0;
        size_t spans[2][2] = {{0, cut}, {cut, sizeof(two_msgs)}};
        ASSERT_NOT_NULL(dec);
        for (int s = 0; s < 2; s++) {
            size_t at = spans[s][0];
            while (at < spans[s][1]) {
                const uint8_t *msg;
                size_t len;
                int flag;
                ssize_t n = ag_grpc_frame_feed(dec, two_msgs + at, spans[s][1] - at);
                ASSERT(n >= 0);
                at += (size_t)n;
                if (ag_grpc_frame_next(dec, &msg, &len, &flag) == 0) {
                    ASSERT(ngot + len + 1 <= sizeof(got));
                    memcpy(got + ngot, msg, len);
                    ngot += len;
                    got[ngot++] = (char)('0' + flag);
                }
            }
        }
        ASSERT_UEQ(ngot, 5);
        ASSERT_MEMEQ(got, "hi0x1", 5);
        ASSERT_OK(ag_grpc_frame_end(dec));
        ag_grpc_frame_free(dec);
    }
}

static void test_empty_message(void)
{
    static const uint8_t in[] = {0x00, 0x00, 0x00, 0x00, 0x00};
    struct ag_grpc_frame *dec = ag_grpc_frame_new(0);
    const uint8_t *msg = NULL;
    size_t len = 99;
    int flag = -1;
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, in, sizeof(in)), 5);
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_NOT_NULL(msg);
    ASSERT_UEQ(len, 0);
    ASSERT_EQ(flag, 0);
    ag_grpc_frame_free(dec);
}

static void test_at_the_limit(void)
{
    /* length 4 = the limit: accepted. */
    static const uint8_t in[] = {0x00, 0x00, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    struct ag_grpc_frame *dec = ag_grpc_frame_new(4);
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, in, sizeof(in)), 9);
    ASSERT_UEQ(ag_grpc_frame_count(dec), 1);
    ag_grpc_frame_free(dec);
}

/* Over the limit: refused on the prefix's last byte, before any message byte is buffered. */
static void test_oversize_prefix(void)
{
    /* 0x00400001 = 4194305 = 4 MiB + 1 */
    static const uint8_t in[] = {0x00, 0x00, 0x40, 0x00, 0x01};
    struct ag_grpc_frame *dec = ag_grpc_frame_new(4u * 1024 * 1024);
    const uint8_t *msg;
    size_t len;
    int flag;
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, in, 4), 4);
    uint64_t allocs = ag_mem_alloc_count();
    ASSERT_EQ(ag_grpc_frame_feed(dec, in + 4, 1), AG_ETOOBIG);
    ASSERT_UEQ(ag_mem_alloc_count(), allocs);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 4194305);
    /* Sticky. */
    ASSERT_EQ(ag_grpc_frame_feed(dec, one_msg, sizeof(one_msg)), AG_ETOOBIG);
    ASSERT_EQ(ag_grpc_frame_next(dec, &msg, &len, &flag), AG_ETOOBIG);
    ASSERT_EQ(ag_grpc_frame_end(dec), AG_ETOOBIG);
    ag_grpc_frame_free(dec);

    /* 0xFFFFFFFF with a small limit. */
    static const uint8_t huge[] = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xAA};
    dec = ag_grpc_frame_new(10);
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, huge, sizeof(huge)), AG_ETOOBIG);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 4294967295u);
    ag_grpc_frame_free(dec);
}

/* A large announced length costs memory only as its bytes arrive. */
static void test_no_preallocation(void)
{
    static const uint8_t in[] = {0x00, 0x00, 0x10, 0x00, 0x00, 'a'}; /* 1 MiB announced */
    struct ag_grpc_frame *dec = ag_grpc_frame_new(4u * 1024 * 1024);
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, in, sizeof(in)), 6);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 1048576);
    ASSERT_EQ(ag_grpc_frame_end(dec), AG_EPROTO);
    ag_grpc_frame_free(dec);
}

static void test_compressed_flag(void)
{
    static const uint8_t in[] = {0x01, 0x00, 0x00, 0x00, 0x02, 0x1F, 0x8B};
    struct ag_grpc_frame *dec = ag_grpc_frame_new(16);
    const uint8_t *msg;
    size_t len;
    int flag = -1;
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, in, sizeof(in)), 7);
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_EQ(flag, AG_GRPC_FRAME_COMPRESSED);
    ASSERT_UEQ(len, 2);
    ASSERT_EQ(msg[0], 0x1F);
    ASSERT_EQ(msg[1], 0x8B);
    ag_grpc_frame_free(dec);
}

/* Flag bytes other than 0 and 1 are refused on the first byte. */
static void test_bad_flag(void)
{
    static const uint8_t flags[] = {0x02, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof(flags); i++) {
        struct ag_grpc_frame *dec = ag_grpc_frame_new(16);
        ASSERT_NOT_NULL(dec);
        ASSERT_EQ(ag_grpc_frame_feed(dec, &flags[i], 1), AG_EPROTO);
        ASSERT_EQ(ag_grpc_frame_feed(dec, one_msg, sizeof(one_msg)), AG_EPROTO);
        ASSERT_EQ(ag_grpc_frame_end(dec), AG_EPROTO);
        ag_grpc_frame_free(dec);
    }
    /* The second message's flag is checked too. */
    static const uint8_t in[] = {0x00, 0x00, 0x00, 0x00, 0x01, 'a', 0x03};
    struct ag_grpc_frame *dec = ag_grpc_frame_new(16);
    const uint8_t *msg;
    size_t len;
    int flag;
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, in, sizeof(in)), 6);
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_EQ(ag_grpc_frame_feed(dec, in + 6, 1), AG_EPROTO);
    ag_grpc_frame_free(dec);
}

static void test_truncated(void)
{
    struct ag_grpc_frame *dec = ag_grpc_frame_new(16);
    ASSERT_NOT_NULL(dec);
    ASSERT_OK(ag_grpc_frame_end(dec)); /* nothing at all is a boundary */
    ASSERT_EQ(ag_grpc_frame_feed(dec, one_msg, 3), 3);
    ASSERT_EQ(ag_grpc_frame_end(dec), AG_EPROTO); /* inside the prefix */
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 0);
    ASSERT_EQ(ag_grpc_frame_feed(dec, one_msg + 3, 4), 4);
    ASSERT_EQ(ag_grpc_frame_end(dec), AG_EPROTO); /* inside the message */
    ASSERT_UEQ(ag_grpc_frame_count(dec), 0);
    ag_grpc_frame_free(dec);
}

static void test_prefix(void)
{
    uint8_t p[AG_GRPC_FRAME_PREFIX];
    static const uint8_t want[] = {0x01, 0x01, 0x02, 0x03, 0x04};
    static const uint8_t want0[] = {0x00, 0x00, 0x00, 0x00, 0x00};
    ag_grpc_frame_prefix(p, 1, 0x01020304u);
    ASSERT_MEMEQ(p, want, 5);
    ag_grpc_frame_prefix(p, 0, 0);
    ASSERT_MEMEQ(p, want0, 5);
}

/* prefix_left counts down through the prefix, is 0 over the body, and feeding exactly that
 * many bytes stops the decoder before the body, with the length already known. */
static void test_prefix_left(void)
{
    static const uint8_t bad[] = {0x07};
    struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
    const uint8_t *msg;
    size_t len;
    int flag;
    ASSERT_NOT_NULL(dec);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 5);
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs, 2), 2);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 3);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 0);
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs + 2, 3), 3);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 0);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 2);
    ASSERT_EQ(ag_grpc_frame_end(dec), AG_EPROTO); /* the body has not started */
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs + 5, 1), 1);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 0);
    /* The rest of the first message and the whole second: stops after the first. */
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs + 6, sizeof(two_msgs) - 6), 1);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 0); /* a message is held */
    ASSERT_OK(ag_grpc_frame_next(dec, &msg, &len, &flag));
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 5); /* taken: the next prefix is due */
    ASSERT_EQ(ag_grpc_frame_feed(dec, two_msgs + 7, 5), 5);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 0);
    ASSERT_UEQ(ag_grpc_frame_announced(dec), 1);
    ag_grpc_frame_free(dec);

    /* An empty message is complete with its prefix; an error leaves nothing to wait for. */
    dec = ag_grpc_frame_new(1024);
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, (const uint8_t *)"\0\0\0\0\0", 5), 5);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 0);
    ASSERT_UEQ(ag_grpc_frame_count(dec), 1);
    ag_grpc_frame_free(dec);
    dec = ag_grpc_frame_new(1024);
    ASSERT_NOT_NULL(dec);
    ASSERT_EQ(ag_grpc_frame_feed(dec, bad, 1), AG_EPROTO);
    ASSERT_UEQ(ag_grpc_frame_prefix_left(dec), 0);
    ag_grpc_frame_free(dec);
}

static void test_timeout_parse(void)
{
    static const struct {
        const char *in;
        uint64_t ns;
    } good[] = {
        {"1S", 1000000000ULL},
        {"5S", 5000000000ULL},
        {"9946m", 9946000000ULL},
        {"1H", 3600000000000ULL},
        {"2M", 120000000000ULL},
        {"7u", 7000ULL},
        {"13n", 13ULL},
        {"0n", 0ULL},
        {"00000001m", 1000000ULL}, /* 8 digits */
        {"99999999n", 99999999ULL},
        {"99999999S", 99999999000000000ULL},
        {"99999999H", UINT64_MAX}, /* 3.6e20 ns: saturates */
    };
    static const char *bad[] = {"",    "S",   "1",   "123456789S", "1s", "1X",
                                "-1S", " 1S", "1 S", "1.5S",       "S1"};
    uint64_t ns;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ASSERT_OK(ag_grpc_frame_timeout_parse(good[i].in, strlen(good[i].in), &ns));
        ASSERT_UEQ(ns, good[i].ns);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ns = 42;
        ASSERT_EQ(ag_grpc_frame_timeout_parse(bad[i], strlen(bad[i]), &ns), AG_EINVAL);
        ASSERT_UEQ(ns, 0);
    }
    /* The length is honoured: "5S" inside "5Sx". */
    ASSERT_OK(ag_grpc_frame_timeout_parse("5Sx", 2, &ns));
    ASSERT_UEQ(ns, 5000000000ULL);
}

static void test_percent_encode(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"ok", "ok"},
        {"", ""},
        {"50% off\n", "50%25 off%0A"},
        {"caf\xc3\xa9", "caf%C3%A9"},
        {"~ }", "~ }"},
        {"\x7f\x1f", "%7F%1F"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ag_buf b;
        ag_buf_init(&b, 64);
        ASSERT_OK(ag_grpc_frame_percent_encode(cases[i].in, &b));
        ASSERT_STREQ(ag_buf_str(&b), cases[i].out);
        ag_buf_cleanup(&b);
    }
    struct ag_buf small;
    ag_buf_init(&small, 4);
    ASSERT_EQ(ag_grpc_frame_percent_encode("%%", &small), AG_ETOOBIG);
    ag_buf_cleanup(&small);
}

static void test_base64(void)
{
    /* RFC 4648 section 10, without the '=' padding. */
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ag_buf b;
        ag_buf_init(&b, 64);
        ASSERT_OK(ag_grpc_frame_base64((const uint8_t *)cases[i].in, strlen(cases[i].in), &b));
        ASSERT_STREQ(ag_buf_str(&b), cases[i].out);
        ag_buf_cleanup(&b);
    }
    /* 0xFB 0xFF -> 111110 111111 1111(00): "+/8", the two non-alphanumeric letters. */
    static const uint8_t hi[] = {0xFB, 0xFF};
    struct ag_buf b;
    ag_buf_init(&b, 64);
    ASSERT_OK(ag_grpc_frame_base64(hi, sizeof(hi), &b));
    ASSERT_STREQ(ag_buf_str(&b), "+/8");
    ag_buf_cleanup(&b);
    ag_buf_init(&b, 3);
    ASSERT_EQ(ag_grpc_frame_base64((const uint8_t *)"foo", 3, &b), AG_ETOOBIG);
    ag_buf_cleanup(&b);
}

/* Failing each allocation in turn ends in AG_ENOMEM or success, never a crash or a leak (only
 * effective with -Dfailmalloc=true). */
static void test_failmalloc(void)
{
    for (long n = 0; n < 64; n++) {
        ag_mem_fail_after(n);
        struct ag_grpc_frame *dec = ag_grpc_frame_new(1024);
        if (dec != NULL) {
            ssize_t r = ag_grpc_frame_feed(dec, one_msg, sizeof(one_msg));
            ag_mem_fail_after(-1);
            ASSERT(r == 8 || r == AG_ENOMEM);
            ag_grpc_frame_free(dec);
        }
        ag_mem_fail_after(-1);
    }
}

AG_TEST_MAIN(AG_TEST_CASE(test_whole_message), AG_TEST_CASE(test_split_at_every_offset),
             AG_TEST_CASE(test_byte_by_byte), AG_TEST_CASE(test_two_messages),
             AG_TEST_CASE(test_two_messages_every_split), AG_TEST_CASE(test_empty_message),
             AG_TEST_CASE(test_at_the_limit), AG_TEST_CASE(test_oversize_prefix),
             AG_TEST_CASE(test_no_preallocation), AG_TEST_CASE(test_compressed_flag),
             AG_TEST_CASE(test_bad_flag), AG_TEST_CASE(test_truncated), AG_TEST_CASE(test_prefix),
             AG_TEST_CASE(test_prefix_left), AG_TEST_CASE(test_timeout_parse),
             AG_TEST_CASE(test_percent_encode), AG_TEST_CASE(test_base64),
             AG_TEST_CASE(test_failmalloc))
