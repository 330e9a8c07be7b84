/* SPDX-License-Identifier: Apache-2.0 */
/* The client address from X-Forwarded-For: hand-written chains, hop counted from the right with
 * the peer as hop 1. */
#include <stdio.h>
#include <string.h>

#include "config.h"

#include "ag_test.h"
#include "cb_xff.h"

#define PEER "10.0.1.9" /* the ALB's address as the chatbot sees it */

/* One header field |v|, |trusted| proxies: the address chosen, and whether from the header. */
static int one(const char *v, unsigned trusted, char out[CB_XFF_ADDR_MAX])
{
    const char *f[1] = {v};
    return cb_xff_client(f, v != NULL ? 1 : 0, PEER, trusted, out);
}

static void test_peer_when_not_trusting(void)
{
    char out[CB_XFF_ADDR_MAX];
    /* 0 and 1: the peer is the client, whatever the header says. */
    ASSERT_EQ(one("198.51.100.7, 203.0.113.5", 0, out), 0);
    ASSERT_STREQ(out, PEER);
    ASSERT_EQ(one("198.51.100.7, 203.0.113.5", 1, out), 0);
    ASSERT_STREQ(out, PEER);
    /* No header at all. */
    ASSERT_EQ(cb_xff_client(NULL, 0, PEER, 2, out), 0);
    ASSERT_STREQ(out, PEER);
    /* No peer either: "". */
    ASSERT_EQ(cb_xff_client(NULL, 0, NULL, 2, out), 0);
    ASSERT_STREQ(out, "");
}

static void test_behind_cloudfront_and_alb(void)
{
    char out[CB_XFF_ADDR_MAX];
    /* The viewer 198.51.100.7 sent no header: CloudFront sends "198.51.100.7" to the ALB,
     * which proxies it on (the peer, hop 1) with that header. trusted = 2: hop 2 = the
     * rightmost element = the viewer. */
    ASSERT_EQ(one("198.51.100.7", 2, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
    /* One more proxy in the chain (hop 2 = 203.0.113.5, hop 3 = the second from the right). */
    ASSERT_EQ(one("198.51.100.7, 203.0.113.5", 3, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
    ASSERT_EQ(one("198.51.100.7, 203.0.113.5", 2, out), 1);
    ASSERT_STREQ(out, "203.0.113.5");
}

static void test_spoofed_left_entries_are_not_read(void)
{
    char out[CB_XFF_ADDR_MAX];
    /* The client wrote "1.1.1.1, 2.2.2.2" itself; the trusted proxy appended 198.51.100.7: the
     * left part never decides. */
    ASSERT_EQ(one("1.1.1.1, 2.2.2.2, 198.51.100.7", 2, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
    /* Garbage on the left is beyond hop 2: not read, not a reason to fall back. */
    ASSERT_EQ(one("not an address,,, 198.51.100.7", 2, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
    ASSERT_EQ(one("<script>, 198.51.100.7", 2, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
}

static void test_too_few_entries_falls_back(void)
{
    char out[CB_XFF_ADDR_MAX];
    /* 3 trusted hops need 2 elements; 1 given. */
    ASSERT_EQ(one("198.51.100.7", 3, out), 0);
    ASSERT_STREQ(out, PEER);
    /* Only empty elements and spaces: no element at all. */
    ASSERT_EQ(one("", 2, out), 0);
    ASSERT_STREQ(out, PEER);
    ASSERT_EQ(one(" , ,\t", 2, out), 0);
    ASSERT_STREQ(out, PEER);
    /* The most the option allows, with 15 elements: hop 16 = the leftmost one. */
    char v[512] = "";
    size_t vl = 0;
    for (int i = 1; i <= 15; i++) {
        vl += (size_t)snprintf(v + vl, sizeof(v) - vl, "%s192.0.2.%d", i > 1 ? ", " : "", i);
    }
    ASSERT_EQ(one(v, CB_XFF_MAX_TRUSTED, out), 1);
    ASSERT_STREQ(out, "192.0.2.1");
}

static void test_ipv6_and_spaces(void)
{
    char out[CB_XFF_ADDR_MAX];
    /* Written in canonical form: 2001:0db8:0000::0001 is 2001:db8::1. */
    ASSERT_EQ(one("2001:0db8:0000::0001", 2, out), 1);
    ASSERT_STREQ(out, "2001:db8::1");
    ASSERT_EQ(one(" \t2001:db8::1\t , 198.51.100.7 ", 3, out), 1);
    ASSERT_STREQ(out, "2001:db8::1");
    /* The longest IPv6 text (45 characters, the mapped IPv4 form) fits. */
    ASSERT_EQ(one("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 2, out), 1);
    ASSERT_STREQ(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ASSERT_EQ(one("::ffff:198.51.100.7", 2, out), 1);
    ASSERT_STREQ(out, "::ffff:198.51.100.7");
}

static void test_garbage_in_the_trusted_part_falls_back(void)
{
    char out[CB_XFF_ADDR_MAX];
    const char *bad[] = {
        "unknown",              /* RFC 7239's obfuscated form is not an address */
        "198.51.100.7:443",     /* a port */
        "[2001:db8::1]",        /* brackets */
        "fe80::1%eth0",         /* a zone */
        "198.51.100",           /* three parts */
        "198.51.100.256",       /* out of range */
        "1.2.3.4 5.6.7.8",      /* two addresses without a comma */
        "2001:db8::1::2",       /* two '::' */
        "0123456789012345678901234567890123456789012345678901234567890", /* too long */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(one(bad[i], 2, out), 0);
        ASSERT_STREQ(out, PEER);
    }
    /* A bad element between the right end and the wanted hop: the chain is broken there. */
    ASSERT_EQ(one("198.51.100.7, bogus", 3, out), 0);
    ASSERT_STREQ(out, PEER);
}

static void test_several_fields_are_one_list(void)
{
    char out[CB_XFF_ADDR_MAX];
    /* Joined in order: "1.1.1.1, 198.51.100.7" + "," + "203.0.113.5". */
    const char *f[] = {"1.1.1.1, 198.51.100.7", "203.0.113.5"};
    ASSERT_EQ(cb_xff_client(f, 2, PEER, 2, out), 1);
    ASSERT_STREQ(out, "203.0.113.5");
    ASSERT_EQ(cb_xff_client(f, 2, PEER, 3, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
    ASSERT_EQ(cb_xff_client(f, 2, PEER, 4, out), 1);
    ASSERT_STREQ(out, "1.1.1.1");
    ASSERT_EQ(cb_xff_client(f, 2, PEER, 5, out), 0);
    ASSERT_STREQ(out, PEER);
    /* An empty field and a NULL one add no element. */
    const char *g[] = {"198.51.100.7", "", NULL, " "};
    ASSERT_EQ(cb_xff_client(g, 4, PEER, 2, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
    /* A trailing comma in one field does not join its last element to the next field's. */
    const char *h[] = {"198.51.100.7,", "203.0.113.5"};
    ASSERT_EQ(cb_xff_client(h, 2, PEER, 3, out), 1);
    ASSERT_STREQ(out, "198.51.100.7");
}

static void test_long_peer_is_cut(void)
{
    char out[CB_XFF_ADDR_MAX];
    char peer[100];
    memset(peer, 'p', sizeof(peer) - 1);
    peer[sizeof(peer) - 1] = '\0';
    ASSERT_EQ(cb_xff_client(NULL, 0, peer, 0, out), 0);
    ASSERT_EQ(strlen(out), CB_XFF_ADDR_MAX - 1);
}

AG_TEST_MAIN(AG_TEST_CASE(test_peer_when_not_trusting), AG_TEST_CASE(test_behind_cloudfront_and_alb),
             AG_TEST_CASE(test_spoofed_left_entries_are_not_read), AG_TEST_CASE(test_too_few_entries_falls_back),
             AG_TEST_CASE(test_ipv6_and_spaces), AG_TEST_CASE(test_garbage_in_the_trusted_part_falls_back),
             AG_TEST_CASE(test_several_fields_are_one_list), AG_TEST_CASE(test_long_peer_is_cut))
