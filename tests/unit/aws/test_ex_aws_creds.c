/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The credentials chain: first its pure parsers (ISO-8601, STS XML, container / IMDS JSON, INI,
 * session names, the container URL rule) against hand-written documents and hand-computed
 * values; then each provider on a real libevent loop against in-process evhttp fakes on
 * 127.0.0.1 that check what they receive strictly (the STS form fields, the token file's
 * current contents, the container Authorization token, the IMDSv2 session token), and the cache
 * rules on a fake clock: refresh before T-5 min, single flight, rate-limited invalidation.
 */
#include "config.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "aws_test_server.h"
#include "ex_aws_creds.h"
#include "ex_aws_creds_int.h"
#include "ex_aws_error.h"
#include "ex_aws_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MIN_MS (60 * 1000)

/* ---- pure parsers ---------------------------------------------------------------------------- */

static int ptime(const char *s, int64_t *out)
{
    return ex_aws_creds_parse_time(s, strlen(s), out);
}

static void test_parse_time(void)
{
    int64_t t;
    ASSERT_OK(ptime("2014-10-24T23:00:23Z", &t));
    ASSERT_EQ(t, 1414191623000LL);
    ASSERT_OK(ptime("2024-05-29T20:37:18.123Z", &t));
    ASSERT_EQ(t, 1717015038123LL);
    ASSERT_OK(ptime("2024-05-29T20:37:18.5Z", &t));
    ASSERT_EQ(t, 1717015038500LL);
    ASSERT_OK(ptime("2024-05-29T20:37:18.987654321Z", &t));
    ASSERT_EQ(t, 1717015038987LL);
    ASSERT_OK(ptime("2024-05-29T20:37:18+00:00", &t));
    ASSERT_EQ(t, 1717015038000LL);
    /* 22:37:18 at +02:00 is 20:37:18 UTC. */
    ASSERT_OK(ptime("2024-05-29T22:37:18+02:00", &t));
    ASSERT_EQ(t, 1717015038000LL);
    ASSERT_OK(ptime("2024-05-29T19:37:18.250-01:00", &t));
    ASSERT_EQ(t, 1717015038250LL);
    ASSERT_OK(ptime("2000-02-29T12:00:00Z", &t));
    ASSERT_EQ(t, 951825600000LL);
    ASSERT_OK(ptime("2026-01-01T00:00:00Z", &t));
    ASSERT_EQ(t, 1767225600000LL);
    static const char *const bad[] = {
        "",
        "2014-10-24 23:00:23Z",
        "2014-10-24T23:00:23",
        "2014-10-24T23:00:23z",
        "2014-13-24T23:00:23Z",
        "2014-02-30T23:00:23Z",
        "2001-02-29T00:00:00Z",
        "2014-10-24T24:00:23Z",
        "2014-10-24T23:00:23.Z",
        "2014-10-24T23:00:23.1234567890Z",
        "2014-10-24T23:00:23+0000",
        "2014-10-24T23:00:23+00:0",
        "2014-10-24T23:00:23ZZ",
        "2O14-10-24T23:00:23Z",
        "+014-10-24T23:00:23Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ptime(bad[i], &t) != AG_EPROTO) {
            AG_TEST_FAIL_("accepted \"%s\"", bad[i]);
        }
    }
}

static const char web_doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:a&amp;b</SubjectFromWebIdentityToken>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>"
    "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>FwoGZX&#x2F;IvYX&#43;dz&quot;q</SessionToken>\n"
    "      <SecretAccessKey>wJal&amp;rXUt&lt;nF&gt;EMI&apos;K7</SecretAccessKey>\n"
    "      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
    "      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <Provider>arn:aws:iam::1:oidc-provider/x</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <!-- a comment -->\n"
    "  <ResponseMetadata><RequestId>c6104cbe-af31</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_sts_xml_ok(void)
{
    struct ex_aws_creds_parsed p;
    struct ex_aws_error e;
    ASSERT_OK(ex_aws_creds_parse_sts_xml(web_doc, strlen(web_doc), &p, &e));
    ASSERT_STREQ(p.access_key_id, "ASIAEXAMPLE");
    ASSERT_STREQ(p.secret_access_key, "wJal&rXUt<nF>EMI'K7");
    ASSERT_STREQ(p.session_token, "FwoGZX/IvYX+dz\"q");
    ASSERT_EQ(p.expiration_ms, 1414191623000LL);
    ex_aws_creds_parsed_cleanup(&p);
    ASSERT_NULL(p.access_key_id);

    const char *ar = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                     "<AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>sec</SecretAccessKey>"
                     "<SessionToken>tok</SessionToken>"
                     "<Expiration>2024-05-29T20:37:18.5+00:00</Expiration>"
                     "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
    ASSERT_OK(ex_aws_creds_parse_sts_xml(ar, strlen(ar), &p, &e));
    ASSERT_STREQ(p.access_key_id, "ASIAROLE");
    ASSERT_STREQ(p.secret_access_key, "sec");
    ASSERT_STREQ(p.session_token, "tok");
    ASSERT_EQ(p.expiration_ms, 1717015038500LL);
    ex_aws_creds_parsed_cleanup(&p);
}

static void test_sts_xml_error(void)
{
    struct ex_aws_creds_parsed p;
    struct ex_aws_error e;
    const char *doc = "<ErrorResponse xmlns='https://sts.amazonaws.com/doc/2011-06-15/'>"
                      "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                      "<Message>No OpenIDConnect provider &lt;x&gt; &#233; found</Message>"
                      "</Error><RequestId>r-1</RequestId></ErrorResponse>";
    ASSERT_EQ(ex_aws_creds_parse_sts_xml(doc, strlen(doc), &p, &e), AG_EUPSTREAM);
    ASSERT_STREQ(e.code, "InvalidIdentityToken");
    /* é is two UTF-8 bytes, each cleaned to '?'. */
    ASSERT_STREQ(e.message, "No OpenIDConnect provider <x> ?? found");
    ASSERT_NULL(p.access_key_id);
    /* The <Errors> wrapper some query services (and moto) write. */
    const char *wrapped = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Errors>"
                          "<Error><Code>AccessDenied</Code><Message>not authorized</Message>"
                          "<Type>Sender</Type></Error></Errors></ErrorResponse>";
    ASSERT_EQ(ex_aws_creds_parse_sts_xml(wrapped, strlen(wrapped), &p, &e), AG_EUPSTREAM);
    ASSERT_STREQ(e.code, "AccessDenied");
    ASSERT_STREQ(e.message, "not authorized");
}

static void test_sts_xml_malformed(void)
{
    struct ex_aws_creds_parsed p;
    struct ex_aws_error e;
#define CREDS_OK                                                       \
    "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>" \
    "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"
#define WRAP(inner)                                             \
    "<AssumeRoleResponse><AssumeRoleResult><Credentials>" inner \
    "</Credentials></AssumeRoleResult></AssumeRoleResponse>"
    /* The well-formed baseline parses, so each failure below is due to its one change. */
    const char *good = WRAP(CREDS_OK);
    ASSERT_OK(ex_aws_creds_parse_sts_xml(good, strlen(good), &p, &e));
    ex_aws_creds_parsed_cleanup(&p);
    static const char *const bad[] = {
        "",
        "not xml",
        "<Other>" CREDS_OK "</Other>",
        WRAP(CREDS_OK) "<AssumeRoleResponse/>",
        WRAP(CREDS_OK) "trailing",
        WRAP("<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken>"),
        WRAP(CREDS_OK "<AccessKeyId>B</AccessKeyId>"),
        WRAP("<AccessKeyId>A<b/></AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId>A B</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId>A&bogus;</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId>A&#0;</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId>A&#xD800;</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId>A&amp</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId><![CDATA[A]]></AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiration>"),
        WRAP("<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>tomorrow</Expiration>"),
        WRAP("<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
             "<SessionToken>T</SessionToken><Expiration>2014-10-24T23:00:23Z</Expiratio>"),
        "<!DOCTYPE x [<!ENTITY e 'x'>]>" WRAP(CREDS_OK),
        "<AssumeRoleResponse><AssumeRoleResult><Credentials>" CREDS_OK
        "</Credentials></AssumeRoleResult>",
        /* Credentials under the wrong parent are not taken. */
        "<AssumeRoleResponse><Other><Credentials>" CREDS_OK
        "</Credentials></Other></AssumeRoleResponse>",
        "<AssumeRoleResponse attr=noquotes><AssumeRoleResult><Credentials>" CREDS_OK
        "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
        "<AssumeRoleResponse><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>"
        "</a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></AssumeRoleResponse>",
        WRAP(CREDS_OK "<?pi x?>"),
        WRAP(CREDS_OK "<!-- open comment"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = ex_aws_creds_parse_sts_xml(bad[i], strlen(bad[i]), &p, &e);
        if (rc != AG_EPROTO || p.access_key_id != NULL) {
            AG_TEST_FAIL_("case %zu: rc %d for \"%s\"", i, rc, bad[i]);
        }
    }
    /* Over the size cap. */
    size_t big = EX_AWS_CREDS_MAX_DOC + 1;
    char *doc = ag_malloc(big);
    ASSERT_NOT_NULL(doc);
    memset(doc, ' ', big);
    int rc = ex_aws_creds_parse_sts_xml(doc, big, &p, &e);
    ag_free(doc);
    ASSERT_EQ(rc, AG_ETOOBIG);
}

static void test_json(void)
{
    struct ex_aws_creds_parsed p;
    char why[256];
    const char *c =
        "{\"AccessKeyId\": \"ASIAC\", \"SecretAccessKey\": \"sec/+=\", \"Token\": \"tk\","
        " \"AccountId\": \"123\", \"Expiration\": \"2024-05-29T20:37:18Z\"}";
    ASSERT_OK(
        ex_aws_creds_parse_json(c, strlen(c), EX_AWS_CREDS_JSON_CONTAINER, &p, why, sizeof(why)));
    ASSERT_STREQ(p.access_key_id, "ASIAC");
    ASSERT_STREQ(p.secret_access_key, "sec/+=");
    ASSERT_STREQ(p.session_token, "tk");
    ASSERT_EQ(p.expiration_ms, 1717015038000LL);
    ex_aws_creds_parsed_cleanup(&p);
    /* ECS long-term style: no Token is accepted from a container endpoint only. */
    const char *nt = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                     "\"Expiration\":\"2024-05-29T20:37:18Z\"}";
    ASSERT_OK(
        ex_aws_creds_parse_json(nt, strlen(nt), EX_AWS_CREDS_JSON_CONTAINER, &p, why, sizeof(why)));
    ASSERT_NULL(p.session_token);
    ex_aws_creds_parsed_cleanup(&p);
    ASSERT_EQ(ex_aws_creds_parse_json(nt, strlen(nt), EX_AWS_CREDS_JSON_IMDS, &p, why, sizeof(why)),
              AG_EPROTO);
    ASSERT_STRCONTAINS(why, "Token");

    const char *im = "{\"Code\":\"Success\",\"LastUpdated\":\"2024-05-29T14:00:00Z\","
                     "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAI\",\"SecretAccessKey\":\"S\","
                     "\"Token\":\"T\",\"Expiration\":\"2024-05-29T20:37:18Z\"}";
    ASSERT_OK(
        ex_aws_creds_parse_json(im, strlen(im), EX_AWS_CREDS_JSON_IMDS, &p, why, sizeof(why)));
    ASSERT_STREQ(p.access_key_id, "ASIAI");
    ex_aws_creds_parsed_cleanup(&p);
    const char *imf = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"A\"}";
    ASSERT_EQ(
        ex_aws_creds_parse_json(imf, strlen(imf), EX_AWS_CREDS_JSON_IMDS, &p, why, sizeof(why)),
        AG_EUPSTREAM);
    ASSERT_STRCONTAINS(why, "AssumeRoleUnauthorizedAccess");

    static const char *const bad[] = {
        "",
        "[]",
        "{\"AccessKeyId\":\"A\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":1}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":\"x\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":7,\"Token\":\"T\","
        "\"Expiration\":\"2024-05-29T20:37:18Z\"}",
        "{\"AccessKeyId\":\"A\\nB\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
        "\"Expiration\":\"2024-05-29T20:37:18Z\"}",
        "{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
        "\"Expiration\":\"2024-05-29T20:37:18Z\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = ex_aws_creds_parse_json(bad[i], strlen(bad[i]), EX_AWS_CREDS_JSON_CONTAINER, &p,
                                         why, sizeof(why));
        if (rc != AG_EPROTO || p.access_key_id != NULL) {
            AG_TEST_FAIL_("case %zu: rc %d", i, rc);
        }
    }
}

static void test_ini(void)
{
    struct ex_aws_creds_profile pr = {0};
    char why[256];
    const char *creds = "# comment\n"
                        "[default]\n"
                        "aws_access_key_id = AKIDDEFAULT\n"
                        "\n"
                        "[dev]\n"
                        "AWS_Access_Key_Id=AKIDDEV\n"
                        "aws_secret_access_key =  sec dev  \n"
                        "; another comment\n"
                        "aws_session_token = tok\n"
                        "[other]\n"
                        "aws_access_key_id = AKIDOTHER\n";
    ASSERT_OK(
        ex_aws_creds_ini_parse(creds, strlen(creds), false, "creds", "dev", &pr, why, sizeof(why)));
    ASSERT(pr.found);
    ASSERT_STREQ(pr.access_key_id, "AKIDDEV");
    ASSERT_STREQ(pr.secret_access_key, "sec dev");
    ASSERT_STREQ(pr.session_token, "tok");
    ASSERT_NULL(pr.region);
    /* The config file, read second, adds the region and does not override the keys; in config
     * "[dev]" is not the dev profile, "[profile dev]" is. */
    const char *config = "[dev]\n"
                         "region = wrong-1\n"
                         "[profile   dev ]\n"
                         "aws_access_key_id = AKIDCONFIG\n"
                         "region = eu-west-3\n"
                         "s3 =\n"
                         "  max_concurrent_requests = 20\n"
                         "[profile x]\n"
                         "role_arn = arn:aws:iam::1:role/x\n";
    ASSERT_OK(ex_aws_creds_ini_parse(config, strlen(config), true, "config", "dev", &pr, why,
                                     sizeof(why)));
    ASSERT_STREQ(pr.access_key_id, "AKIDDEV");
    ASSERT_STREQ(pr.region, "eu-west-3");
    ASSERT_STREQ(pr.unsupported, "");
    ex_aws_creds_profile_cleanup(&pr);

    /* [default] is the default profile in config too. */
    const char *cdef = "[default]\nregion = us-west-2\n";
    ASSERT_OK(ex_aws_creds_ini_parse(cdef, strlen(cdef), true, "config", "default", &pr, why,
                                     sizeof(why)));
    ASSERT(pr.found);
    ASSERT_STREQ(pr.region, "us-west-2");
    ex_aws_creds_profile_cleanup(&pr);

    /* Unsupported keys are recorded with their file, for the selected profile only. */
    const char *role = "[profile r]\nrole_arn = arn\nsource_profile = default\n"
                       "[profile s]\nsso_start_url = https://x\n";
    ASSERT_OK(
        ex_aws_creds_ini_parse(role, strlen(role), true, "cfgfile", "r", &pr, why, sizeof(why)));
    ASSERT_STREQ(pr.unsupported, "role_arn");
    ASSERT_STREQ(pr.unsupported_file, "cfgfile");
    ex_aws_creds_profile_cleanup(&pr);
    ASSERT_OK(
        ex_aws_creds_ini_parse(role, strlen(role), true, "cfgfile", "s", &pr, why, sizeof(why)));
    ASSERT_STREQ(pr.unsupported, "sso_start_url");
    ex_aws_creds_profile_cleanup(&pr);
    const char *proc = "[p]\ncredential_process = /bin/x\n";
    ASSERT_OK(ex_aws_creds_ini_parse(proc, strlen(proc), false, "c", "p", &pr, why, sizeof(why)));
    ASSERT_STREQ(pr.unsupported, "credential_process");
    ex_aws_creds_profile_cleanup(&pr);

    /* Syntax errors name the file and line. */
    const char *broken = "[a]\nk = v\njunk line\n";
    ASSERT_EQ(
        ex_aws_creds_ini_parse(broken, strlen(broken), false, "f.ini", "a", &pr, why, sizeof(why)),
        AG_EINVAL);
    ASSERT_STREQ(why, "f.ini:3: expected 'key = value'");
    ex_aws_creds_profile_cleanup(&pr);
    const char *nobracket = "[a\n";
    ASSERT_EQ(ex_aws_creds_ini_parse(nobracket, strlen(nobracket), false, "f", "a", &pr, why,
                                     sizeof(why)),
              AG_EINVAL);
    ex_aws_creds_profile_cleanup(&pr);
    ASSERT_OK(ex_aws_creds_ini_parse("", 0, false, "f", "a", &pr, why, sizeof(why)));
    ASSERT(!pr.found);
}

static void test_session_name(void)
{
    char out[EX_AWS_CREDS_SESSION_MAX + 1];
    ex_aws_creds_session_name("ip-10-0-1-2.ec2.internal", 1764000000, out, sizeof(out));
    ASSERT_STREQ(out, "otterd-ip-10-0-1-2.ec2.internal-1764000000");
    ex_aws_creds_session_name("my pod/x:y", 1764000000, out, sizeof(out));
    ASSERT_STREQ(out, "otterd-my-pod-x-y-1764000000");
    ex_aws_creds_session_name("", 17, out, sizeof(out));
    ASSERT_STREQ(out, "otterd-17");
    /* 7 + 45 + 1 + 10 = 63: the host is kept whole; with 50 characters it is cut to 46. */
    char host[80];
    memset(host, 'h', 50);
    host[50] = '\0';
    ex_aws_creds_session_name(host, 1764000000, out, sizeof(out));
    ASSERT_EQ(strlen(out), 64);
    ASSERT_STREQ(out, "otterd-hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-1764000000");
    ASSERT(ex_aws_creds_session_name_valid(out));
    ASSERT(ex_aws_creds_session_name_valid("ab"));
    ASSERT(ex_aws_creds_session_name_valid("a_+=,.@-Z9"));
    ASSERT(!ex_aws_creds_session_name_valid("a"));
    ASSERT(!ex_aws_creds_session_name_valid("a b"));
    ASSERT(!ex_aws_creds_session_name_valid("a/b"));
    memset(host, 'x', 65);
    host[65] = '\0';
    ASSERT(!ex_aws_creds_session_name_valid(host));
}

static void test_container_url(void)
{
    static const char *const ok[] = {
        "http://127.0.0.1:8080/creds",
        "http://127.1.2.3/x",
        "http://localhost:9/x",
        "http://169.254.170.2/v2/credentials/abc",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "http://[::1]:80/x",
        "https://creds.example.com/x",
        "HTTPS://anything:8443",
    };
    static const char *const refused[] = {
        "http://10.0.0.1/x",
        "http://169.254.170.3/x",
        "http://169.254.169.254/x",
        "http://example.com/x",
        "http://[fd00:ec2::24]/x",
        "http://user@127.0.0.1/x",
        "ftp://127.0.0.1/x",
        "http:///x",
        "127.0.0.1/x",
        "http://127.0.0.1.evil.com/x",
        "http://[::1/x",
        "",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!ex_aws_creds_container_url_allowed(ok[i])) {
            AG_TEST_FAIL_("refused %s", ok[i]);
        }
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (ex_aws_creds_container_url_allowed(refused[i])) {
            AG_TEST_FAIL_("allowed %s", refused[i]);
        }
    }
}

static void test_is_auth_error(void)
{
    static const char *const yes[] = {
        "ExpiredToken",
        "ExpiredTokenException",
        "AccessDenied",
        "AccessDeniedException",
        "IncompleteSignature",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "InvalidClientTokenId",
        "InvalidToken",
        "InvalidAccessKeyId",
        "InvalidSignature",
        "InvalidSignatureException",
        "UnrecognizedClientException",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        ASSERT(ex_aws_error_is_auth(yes[i]));
    }
    ASSERT(!ex_aws_error_is_auth("ThrottlingException"));
    ASSERT(!ex_aws_error_is_auth("expiredtoken"));
    ASSERT(!ex_aws_error_is_auth(""));
    ASSERT(!ex_aws_error_is_auth(NULL));
}

/* ---- the chain on a loop --------------------------------------------------------------------- */

static int64_t fake_now = 1764000000000LL; /* 2025-11-24T16:00:00Z */

static int64_t now_fn(void)
{
    return fake_now;
}

static char tmpdir[256];
static char all_why[16384]; /* every why text handed out, checked for secrets at the end */

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    path_in_tmp(p, sizeof(p), name);
    FILE *f = fopen(p, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Every variable the chain reads, cleared; IMDS off unless a test turns it on. */
static void clear_env(void)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_SESSION_NAME",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        unsetenv(vars[i]);
    }
    setenv("HOME", tmpdir, 1); /* never the real ~/.aws */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    fake_now = 1764000000000LL;
}

struct got {
    int calls;
    int rc;
    char akid[128];
    char secret[128];
    char token[256];
    int64_t exp;
    char provider[32];
    char why[512];
    int bad_exp; /* values handed out that expire within 5 minutes */
};

static void on_creds(void *arg, int rc, const struct ex_aws_creds_value *v, const char *why)
{
    struct got *g = arg;
    g->calls++;
    g->rc = rc;
    snprintf(g->why, sizeof(g->why), "%s", why);
    size_t n = strlen(all_why);
    snprintf(all_why + n, sizeof(all_why) - n, "%s\n", why);
    if (v != NULL) {
        snprintf(g->akid, sizeof(g->akid), "%s", v->creds.access_key_id);
        snprintf(g->secret, sizeof(g->secret), "%s", v->creds.secret_access_key);
        snprintf(g->token, sizeof(g->token), "%s",
                 v->creds.session_token ? v->creds.session_token : "");
        snprintf(g->provider, sizeof(g->provider), "%s", v->provider);
        g->exp = v->expiration_ms;
        if (v->expiration_ms != 0 && v->expiration_ms <= fake_now + 5 * MIN_MS) {
            g->bad_exp++;
        }
    }
}

/* Runs the loop until |g| has |want| calls (or 5 s pass). */
static bool wait_calls(struct event_base *base, struct got *g, int want)
{
    return ts_run_until_count(base, &g->calls, want, 5.0);
}

/* A fixture: loop, HTTP client, and (optionally) a fake peer. */
struct fake;
typedef void fake_fn(struct fake *f, struct evhttp_request *req, const char *body);

struct fake {
    struct event_base *base;
    struct ex_aws_http *http;
    struct evhttp *srv;
    uint16_t port;
    char url[64];
    fake_fn *fn;
    int requests;
    char err[512];        /* the first strict check that failed */
    const char *role_arn; /* what the STS fake expects */
    int64_t lifetime_ms;  /* credentials it hands out expire this long after fake_now */
    bool hold;            /* keep requests until released */
    struct evhttp_request *held[16];
    char held_body[16][4096];
    int n_held;
    char seen_token[4096];
    char seen_auth[512];
    int status; /* STS fake: answer this error status instead (0 = success) */
};

static void fake_cb(struct evhttp_request *req, void *arg)
{
    struct fake *f = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char body[4096];
    if (len >= sizeof(body)) {
        len = sizeof(body) - 1;
    }
    evbuffer_remove(in, body, len);
    body[len] = '\0';
    f->requests++;
    if (f->hold && f->n_held < 16) {
        memcpy(f->held_body[f->n_held], body, len + 1);
        f->held[f->n_held++] = req;
        return;
    }
    f->fn(f, req, body);
}

static void fake_release(struct fake *f)
{
    for (int i = 0; i < f->n_held; i++) {
        f->fn(f, f->held[i], f->held_body[i]);
    }
    f->n_held = 0;
    f->hold = false;
}

static void reply(struct evhttp_request *req, int status, const char *body)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, body, strlen(body));
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", out);
    evbuffer_free(out);
}

static void fake_fail(struct fake *f, const char *what)
{
    if (f->err[0] == '\0') {
        snprintf(f->err, sizeof(f->err), "%s", what);
    }
}

static int fx_start(struct fake *f, fake_fn *fn)
{
    memset(f, 0, sizeof(*f));
    f->base = event_base_new();
    f->fn = fn;
    f->lifetime_ms = 60 * MIN_MS;
    if (f->base == NULL || ex_aws_http_new(f->base, NULL, &f->http) != 0) {
        return -1;
    }
    if (fn == NULL) {
        return 0;
    }
    f->srv = evhttp_new(f->base);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(f->srv, "127.0.0.1", 0);
    if (bs == NULL) {
        return -1;
    }
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
    f->port = ntohs(sin.sin_port);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", (unsigned)f->port);
    evhttp_set_allowed_methods(f->srv, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
    evhttp_set_gencb(f->srv, fake_cb, f);
    return 0;
}

static void fx_stop(struct fake *f)
{
    ex_aws_http_free(f->http);
    if (f->srv != NULL) {
        evhttp_free(f->srv);
    }
    event_base_free(f->base);
}

static void iso(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
    buf[n] = '\0';
    if (fp != NULL) {
        fclose(fp);
    }
    return buf;
}

/* Checks RoleSessionName: "otterd-<host>-<fake epoch>", at most 64 valid characters. */
static bool session_ok(const char *s)
{
    char tail[32];
    snprintf(tail, sizeof(tail), "-%lld", (long long)(1764000000000LL / 1000));
    size_t n = strlen(s), tl = strlen(tail);
    return strncmp(s, "otterd-", 7) == 0 && n <= 64 && n > tl && strcmp(s + n - tl, tail) == 0 &&
           ex_aws_creds_session_name_valid(s);
}

/* The STS fake: strict about the form, answers with credentials numbered by request. */
static void sts_fake(struct fake *f, struct evhttp_request *req, const char *body)
{
    struct evkeyvalq q;
    q.tqh_first = NULL;
    q.tqh_last = &q.tqh_first;
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    snprintf(f->seen_auth, sizeof(f->seen_auth), "%s", auth ? auth : "");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST ||
        strcmp(evhttp_request_get_uri(req), "/") != 0) {
        fake_fail(f, "not POST /");
    }
    if (ctype == NULL || strncmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
        fake_fail(f, "content type");
    }
    if (evhttp_parse_query_str(body, &q) != 0) {
        fake_fail(f, "form does not parse");
    }
    int n = 0;
    const char *action = NULL;
    for (struct evkeyval *kv = q.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        n++;
        if (strcmp(kv->key, "Action") == 0) {
            action = kv->value;
        }
    }
    const char *version = evhttp_find_header(&q, "Version");
    const char *arn = evhttp_find_header(&q, "RoleArn");
    const char *sess = evhttp_find_header(&q, "RoleSessionName");
    const char *tok = evhttp_find_header(&q, "WebIdentityToken");
    bool web = action != NULL && strcmp(action, "AssumeRoleWithWebIdentity") == 0;
    if (action == NULL || (!web && strcmp(action, "AssumeRole") != 0)) {
        fake_fail(f, "Action");
    }
    if (version == NULL || strcmp(version, "2011-06-15") != 0) {
        fake_fail(f, "Version");
    }
    if (arn == NULL || f->role_arn == NULL || strcmp(arn, f->role_arn) != 0) {
        fake_fail(f, "RoleArn");
    }
    if (sess == NULL || !session_ok(sess)) {
        fake_fail(f, "RoleSessionName");
    }
    if (web) {
        char path[512];
        path_in_tmp(path, sizeof(path), "wi-token");
        if (n != 5 || tok == NULL || strcmp(tok, slurp(path)) != 0) {
            fake_fail(f, "WebIdentityToken is not the file's current contents");
        }
        snprintf(f->seen_token, sizeof(f->seen_token), "%s", tok ? tok : "");
    } else if (n != 4 || auth == NULL) {
        fake_fail(f, "AssumeRole fields or signature");
    }
    evhttp_clear_headers(&q);
    if (f->status != 0) {
        reply(req, f->status,
              "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
              "<Message>Couldn't retrieve verification key</Message></Error>"
              "<RequestId>r</RequestId></ErrorResponse>");
        return;
    }
    char exp[32], doc[2048];
    iso(fake_now + f->lifetime_ms, exp, sizeof(exp));
    const char *root = web ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    snprintf(doc, sizeof(doc),
             "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><%sResult>"
             "<Credentials><SessionToken>TOKEN%d</SessionToken>"
             "<SecretAccessKey>SECRET%d&amp;x</SecretAccessKey><Expiration>%s</Expiration>"
             "<AccessKeyId>ASIA%s%d</AccessKeyId></Credentials></%sResult>"
             "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></%sResponse>",
             root, root, f->requests, f->requests, exp, web ? "WEB" : "ROLE", f->requests, root,
             root);
    reply(req, 200, doc);
}

static struct ex_aws_creds *new_chain(struct fake *f, const struct ex_aws_creds_options *o)
{
    struct ex_aws_creds_options opts = o != NULL ? *o : (struct ex_aws_creds_options){0};
    struct ex_aws_creds *c = NULL;
    char err[512];
    opts.now_ms = now_fn;
    if (ex_aws_creds_new(f->base, f->http, &opts, &c, err, sizeof(err)) != 0) {
        printf("# ex_aws_creds_new: %s\n", err);
        return NULL;
    }
    return c;
}

static void test_env_provider(void)
{
    struct fake f;
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV", 1);
    setenv("AWS_SESSION_TOKEN", "TOKENENV", 1);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    ASSERT_OK(fx_start(&f, NULL));
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "environment");
    ASSERT_STREQ(ex_aws_creds_region(c), "ap-south-1");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT_EQ(g.calls, 0); /* nothing cached yet: from the loop */
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_OK(g.rc);
    ASSERT_STREQ(g.akid, "AKIDENV");
    ASSERT_STREQ(g.secret, "SECRETENV");
    ASSERT_STREQ(g.token, "TOKENENV");
    ASSERT_STREQ(g.provider, "environment");
    ASSERT_EQ(g.exp, 0);
    /* Cached: the next get answers before it returns, and later changes are not seen. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDLATER", 1);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT_EQ(g.calls, 2);
    ASSERT_STREQ(g.akid, "AKIDENV");
    ASSERT_UEQ(ex_aws_creds_refreshes(c), 1);
    ex_aws_creds_free(c);

    /* Half a key pair is a configuration error. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    char err[256];
    struct ex_aws_creds_options o = {.now_ms = now_fn};
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_NULL(c);
    ASSERT_STRCONTAINS(err, "AWS_SECRET_ACCESS_KEY");
    fx_stop(&f);
}

static void test_no_provider(void)
{
    struct fake f;
    clear_env();
    ASSERT_OK(fx_start(&f, NULL));
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "none");
    ASSERT_STREQ(ex_aws_creds_region(c), "");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_EQ(g.rc, AG_ENOTFOUND);
    ASSERT_UEQ(ex_aws_creds_failures(c), 1);
    ex_aws_creds_free(c);
    fx_stop(&f);
}

static void test_profile_provider(void)
{
    struct fake f;
    char cp[512], gp[512];
    clear_env();
    path_in_tmp(cp, sizeof(cp), "credentials");
    path_in_tmp(gp, sizeof(gp), "config");
    write_file("credentials", "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = "
                              "SDEF\n[dev]\naws_access_key_id = AKIDDEV\n"
                              "aws_secret_access_key = SECRETDEV\n");
    write_file("config", "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-west-3\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cp, 1);
    setenv("AWS_CONFIG_FILE", gp, 1);
    setenv("AWS_PROFILE", "dev", 1);
    ASSERT_OK(fx_start(&f, NULL));
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "profile");
    ASSERT_STREQ(ex_aws_creds_region(c), "eu-west-3");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_OK(g.rc);
    ASSERT_STREQ(g.akid, "AKIDDEV");
    ASSERT_STREQ(g.secret, "SECRETDEV");
    ASSERT_STREQ(g.token, "");
    ASSERT_STREQ(g.provider, "profile");

    /* Files are read at each fetch: a profile that turns into a role profile is an error
     * naming the file, the profile and the key. */
    write_file("config", "[profile dev]\nregion = eu-west-3\ncredential_process = /bin/cat\n");
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 2));
    ASSERT_EQ(g.rc, AG_EINVAL);
    ASSERT_STRCONTAINS(g.why, gp);
    ASSERT_STRCONTAINS(g.why, "'dev'");
    ASSERT_STRCONTAINS(g.why, "credential_process");
    ex_aws_creds_free(c);

    /* The default profile, from the files' default sections; the region option wins. */
    unsetenv("AWS_PROFILE");
    struct ex_aws_creds_options o = {.region = "ca-central-1"};
    c = new_chain(&f, &o);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "profile");
    ASSERT_STREQ(ex_aws_creds_region(c), "ca-central-1");
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 3));
    ASSERT_STREQ(g.akid, "AKIDDEF");
    ex_aws_creds_free(c);
    fx_stop(&f);
}

static void test_profile_errors(void)
{
    struct fake f;
    char cp[512], gp[512], err[512];
    struct ex_aws_creds *c = NULL;
    clear_env();
    path_in_tmp(cp, sizeof(cp), "credentials");
    path_in_tmp(gp, sizeof(gp), "config");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cp, 1);
    setenv("AWS_CONFIG_FILE", gp, 1);
    ASSERT_OK(fx_start(&f, NULL));
    struct ex_aws_creds_options o = {.now_ms = now_fn};

    /* A role profile selected: an error, not a fall-through to web identity. */
    write_file("credentials", "");
    write_file("config", "[profile ops]\nrole_arn = arn:aws:iam::1:role/x\n"
                         "source_profile = default\n");
    setenv("AWS_PROFILE", "ops", 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/web", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", cp, 1);
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_NULL(c);
    ASSERT_STRCONTAINS(err, gp);
    ASSERT_STRCONTAINS(err, "'ops'");
    ASSERT_STRCONTAINS(err, "role_arn");

    /* sso keys, through the profile option. */
    write_file("config", "[profile s]\nsso_session = corp\n");
    unsetenv("AWS_PROFILE");
    o.profile = "s";
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "sso_session");

    /* A named profile that does not exist. */
    o.profile = "missing";
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "'missing' not found");

    /* Half a key pair in a profile. */
    write_file("credentials", "[half]\naws_access_key_id = AKID\n");
    o.profile = "half";
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "'half'");

    /* A syntax error in the credentials file. */
    write_file("credentials", "[half]\nthis is not ini\n");
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, ":2: expected");

    /* A region-only default profile does not capture the chain: web identity is chosen. */
    write_file("credentials", "");
    write_file("config", "[default]\nregion = sa-east-1\n");
    o.profile = NULL;
    ASSERT_OK(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_creds_provider(c), "web-identity");
    ASSERT_STREQ(ex_aws_creds_region(c), "sa-east-1");
    ex_aws_creds_free(c);

    /* A broken default config file stops the chain too, rather than being skipped. */
    write_file("config", "[default]\nregion\n");
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, ":2: expected");
    write_file("config", "");

    /* Bad options. */
    o.role_session_name = "bad name";
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    o.role_session_name = NULL;
    o.sts_endpoint = "ftp://x";
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    fx_stop(&f);
}

/* Points the web identity provider at the fake STS. */
static void web_env(struct fake *f)
{
    char tp[512];
    path_in_tmp(tp, sizeof(tp), "wi-token");
    write_file("wi-token", "eyJhbGciOiJSUzI1NiJ9.first+token/==");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/otter-irsa", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tp, 1);
    setenv("AWS_REGION", "eu-central-1", 1);
    setenv("AWS_ENDPOINT_URL_STS", f->url, 1);
    f->role_arn = "arn:aws:iam::123456789012:role/otter-irsa";
}

static void test_web_identity(void)
{
    struct fake f;
    clear_env();
    ASSERT_OK(fx_start(&f, sts_fake));
    web_env(&f);
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "web-identity");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_STREQ(f.err, "");
    ASSERT_OK(g.rc);
    ASSERT_STREQ(g.akid, "ASIAWEB1");
    ASSERT_STREQ(g.secret, "SECRET1&x");
    ASSERT_STREQ(g.token, "TOKEN1");
    ASSERT_STREQ(g.provider, "web-identity");
    ASSERT_EQ(g.exp, fake_now + 60 * MIN_MS);
    ASSERT_STREQ(f.seen_token, "eyJhbGciOiJSUzI1NiJ9.first+token/==");

    /* The kubelet rotates the token: the next STS call sends the new one. */
    write_file("wi-token", "eyJhbGciOiJSUzI1NiJ9.second&token");
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 2));
    ASSERT_STREQ(f.err, "");
    ASSERT_EQ(f.requests, 2);
    ASSERT_STREQ(f.seen_token, "eyJhbGciOiJSUzI1NiJ9.second&token");
    ASSERT_STREQ(g.akid, "ASIAWEB2");

    /* STS refuses: AG_EUPSTREAM with the code, never the token. */
    f.status = 400;
    fake_now += 61 * 1000;
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 3));
    ASSERT_EQ(g.rc, AG_EUPSTREAM);
    ASSERT_STRCONTAINS(g.why, "InvalidIdentityToken");
    ASSERT_EQ(f.requests, 3); /* a 400 is not tried again */
    ASSERT_UEQ(ex_aws_creds_failures(c), 1);
    ASSERT_UEQ(ex_aws_creds_refreshes(c), 2);
    ex_aws_creds_free(c);

    /* A missing token file: AG_EINVAL naming the file. */
    f.status = 0;
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/otter-token", 1);
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 4));
    ASSERT_EQ(g.rc, AG_EINVAL);
    ASSERT_STRCONTAINS(g.why, "/nonexistent/otter-token");
    ex_aws_creds_free(c);
    fx_stop(&f);
}

static void test_refresh_fake_clock(void)
{
    struct fake f;
    clear_env();
    ASSERT_OK(fx_start(&f, sts_fake));
    web_env(&f);
    f.lifetime_ms = 6 * MIN_MS;
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_STREQ(g.akid, "ASIAWEB1");
    /* 30 s later: T-5.5 min, still served from the cache, synchronously. */
    fake_now += 30 * 1000;
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT_EQ(g.calls, 2);
    ASSERT_EQ(f.requests, 1);
    ASSERT_STREQ(g.akid, "ASIAWEB1");
    /* 2 min after the fetch, T-4 min: never handed out again, a refresh runs first. */
    fake_now += 90 * 1000;
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT_EQ(g.calls, 2);
    ASSERT(wait_calls(f.base, &g, 3));
    ASSERT_EQ(f.requests, 2);
    ASSERT_STREQ(g.akid, "ASIAWEB2");
    /* And again, a refresh per lapse. */
    for (int i = 0; i < 5; i++) {
        fake_now += 61 * 1000 + i * 1000;
        ex_aws_creds_get(c, on_creds, &g);
        ASSERT(wait_calls(f.base, &g, 4 + i));
    }
    ASSERT_EQ(g.bad_exp, 0);
    ASSERT_STREQ(f.err, "");
    ex_aws_creds_free(c);
    fx_stop(&f);
}

static void test_single_flight(void)
{
    struct fake f;
    clear_env();
    ASSERT_OK(fx_start(&f, sts_fake));
    web_env(&f);
    f.hold = true;
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    struct got g[10];
    memset(g, 0, sizeof(g));
    for (int i = 0; i < 10; i++) {
        ex_aws_creds_get(c, on_creds, &g[i]);
    }
    ASSERT(ts_run_until_count(f.base, &f.requests, 1, 5.0));
    /* Give any duplicate request time to arrive. */
    struct timeval tv = {0, 100000};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ASSERT_EQ(f.requests, 1);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(g[i].calls, 0);
    }
    fake_release(&f);
    ASSERT(wait_calls(f.base, &g[9], 1));
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(g[i].calls, 1);
        ASSERT_OK(g[i].rc);
        ASSERT_STREQ(g[i].akid, "ASIAWEB1");
    }
    ASSERT_UEQ(ex_aws_creds_refreshes(c), 1);
    ex_aws_creds_free(c);
    fx_stop(&f);
}

static void test_invalidate_rate_limit(void)
{
    struct fake f;
    clear_env();
    ASSERT_OK(fx_start(&f, sts_fake));
    web_env(&f);
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 2));
    ASSERT_EQ(f.requests, 2);
    /* 30 s later: a second invalidation is ignored, the cache is served. */
    fake_now += 30 * 1000;
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT_EQ(g.calls, 3);
    ASSERT_EQ(f.requests, 2);
    ASSERT_STREQ(g.akid, "ASIAWEB2");
    /* 61 s after the first: allowed again. */
    fake_now += 31 * 1000;
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 4));
    ASSERT_EQ(f.requests, 3);
    ASSERT_STREQ(g.akid, "ASIAWEB3");
    ex_aws_creds_free(c);
    fx_stop(&f);
}

static void test_cancel_and_free(void)
{
    struct fake f;
    clear_env();
    ASSERT_OK(fx_start(&f, sts_fake));
    web_env(&f);
    f.hold = true;
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    struct got a = {0}, b = {0};
    ex_aws_creds_get(c, on_creds, &a);
    ex_aws_creds_get(c, on_creds, &b);
    ex_aws_creds_get(c, on_creds, &a);
    ex_aws_creds_cancel(c, on_creds, &a);
    ASSERT(ts_run_until_count(f.base, &f.requests, 1, 5.0));
    fake_release(&f);
    ASSERT(wait_calls(f.base, &b, 1));
    ASSERT_EQ(a.calls, 0);
    /* Freed with a request in flight: no callback, and the late answer is dropped. */
    f.hold = true;
    ex_aws_creds_invalidate(c);
    ex_aws_creds_get(c, on_creds, &a);
    ASSERT(ts_run_until_count(f.base, &f.requests, 2, 5.0));
    ex_aws_creds_free(c);
    fake_release(&f);
    struct timeval tv = {0, 100000};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ASSERT_EQ(a.calls, 0);
    fx_stop(&f);
}

/* Frees the chain from inside its callback, with another waiter queued behind. */
static struct ex_aws_creds *free_me;
static void on_creds_free(void *arg, int rc, const struct ex_aws_creds_value *v, const char *why)
{
    on_creds(arg, rc, v, why);
    ex_aws_creds_free(free_me);
}

static void test_free_in_callback(void)
{
    struct fake f;
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV", 1);
    ASSERT_OK(fx_start(&f, NULL));
    free_me = new_chain(&f, NULL);
    ASSERT_NOT_NULL(free_me);
    struct got a = {0}, b = {0};
    ex_aws_creds_get(free_me, on_creds_free, &a);
    ex_aws_creds_get(free_me, on_creds, &b);
    ASSERT(wait_calls(f.base, &a, 1));
    ASSERT_EQ(b.calls, 0);
    fx_stop(&f);
}

static void test_assume_role(void)
{
    struct fake f;
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDBASE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRETBASE", 1);
    ASSERT_OK(fx_start(&f, sts_fake));
    f.role_arn = "arn:aws:iam::123456789012:role/cross";
    struct ex_aws_creds_options o = {.role_arn = "arn:aws:iam::123456789012:role/cross",
                                     .region = "us-west-2",
                                     .sts_endpoint = f.url};
    struct ex_aws_creds *c = new_chain(&f, &o);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "environment");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_STREQ(f.err, "");
    ASSERT_OK(g.rc);
    ASSERT_STREQ(g.akid, "ASIAROLE1");
    ASSERT_STREQ(g.provider, "assume-role");
    /* Signed with the base key for sts in us-west-2 on the fake clock's day (2025-11-24). */
    ASSERT_STRCONTAINS(f.seen_auth, "AWS4-HMAC-SHA256 Credential=AKIDBASE/20251124/us-west-2/sts/"
                                    "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                                    "Signature=");
    ex_aws_creds_free(c);

    /* ExternalId goes in the form (the fake then sees five fields and flags it). */
    o.external_id = "ext-1";
    c = new_chain(&f, &o);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 2));
    ASSERT_STREQ(f.err, "AssumeRole fields or signature");
    ex_aws_creds_free(c);
    fx_stop(&f);
}

/* The container fake: the exact token from the file, or 401. */
static void container_fake(struct fake *f, struct evhttp_request *req, const char *body)
{
    (void)body;
    char path[512];
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    path_in_tmp(path, sizeof(path), "pod-token");
    snprintf(f->seen_auth, sizeof(f->seen_auth), "%s", auth ? auth : "");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
        strcmp(evhttp_request_get_uri(req), "/v1/credentials") != 0) {
        fake_fail(f, "not GET /v1/credentials");
    }
    if (f->status != 0) {
        reply(req, f->status, "");
        return;
    }
    if (auth == NULL || strcmp(auth, slurp(path)) != 0) {
        reply(req, 401, "{\"code\":\"Unauthorized\"}");
        return;
    }
    char exp[32], doc[512];
    iso(fake_now + f->lifetime_ms, exp, sizeof(exp));
    snprintf(doc, sizeof(doc),
             "{\"AccessKeyId\":\"ASIAPOD%d\",\"SecretAccessKey\":\"SECRETPOD\","
             "\"Token\":\"TOKENPOD\",\"AccountId\":\"123456789012\",\"Expiration\":\"%s\"}",
             f->requests, exp);
    reply(req, 200, doc);
}

static void test_container(void)
{
    struct fake f;
    char tp[512], url[128];
    clear_env();
    ASSERT_OK(fx_start(&f, container_fake));
    path_in_tmp(tp, sizeof(tp), "pod-token");
    write_file("pod-token", "eyJpod.identity.token");
    snprintf(url, sizeof(url), "%s/v1/credentials", f.url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tp, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-a-file-is-set", 1);
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "container");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_OK(g.rc);
    ASSERT_STREQ(g.akid, "ASIAPOD1");
    ASSERT_STREQ(g.secret, "SECRETPOD");
    ASSERT_STREQ(g.token, "TOKENPOD");
    ASSERT_EQ(g.exp, fake_now + 60 * MIN_MS);
    ASSERT_STREQ(f.seen_auth, "eyJpod.identity.token");
    ex_aws_creds_free(c);

    /* The static token, when no file: refused by the fake with 401, not retried. */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 2));
    ASSERT_EQ(g.rc, AG_EUPSTREAM);
    ASSERT_STRCONTAINS(g.why, "HTTP 401");
    ASSERT_EQ(f.requests, 2);
    ASSERT_STREQ(f.seen_auth, "ignored-when-a-file-is-set");
    ex_aws_creds_free(c);

    /* A 500 is tried three times in all (one second apart, as botocore does). */
    f.status = 500;
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(ts_run_until_count(f.base, &g.calls, 3, 5.0));
    ASSERT_EQ(g.rc, AG_EUPSTREAM);
    ASSERT_STRCONTAINS(g.why, "HTTP 500");
    ASSERT_EQ(f.requests, 5);
    ex_aws_creds_free(c);
    f.status = 0;

    /* A token with a newline never goes out. */
    write_file("pod-token", "eyJpod\r\nX-Injected: 1");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tp, 1);
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 4));
    ASSERT_EQ(g.rc, AG_EINVAL);
    ASSERT_EQ(f.requests, 5);
    ex_aws_creds_free(c);

    /* Plain http to anything but the allowed hosts is refused at creation. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
    char err[256];
    struct ex_aws_creds_options o = {.now_ms = now_fn};
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "plain http");
    /* ECS: a relative URI on 169.254.170.2. */
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "container");
    ex_aws_creds_free(c);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials/abc", 1);
    ASSERT_EQ(ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(f.err, "");
    fx_stop(&f);
}

/* The IMDSv2 fake: token PUT with a TTL, then GETs with that token (401 without). */
static void imds_fake(struct fake *f, struct evhttp_request *req, const char *body)
{
    (void)body;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (f->status != 0) {
        reply(req, f->status, "");
        return;
    }
    if (strcmp(uri, "/latest/api/token") == 0) {
        const char *ttl = evhttp_find_header(h, "X-aws-ec2-metadata-token-ttl-seconds");
        if (cmd != EVHTTP_REQ_PUT || ttl == NULL || strcmp(ttl, "21600") != 0) {
            fake_fail(f, "token PUT without the TTL header");
            reply(req, 400, "");
            return;
        }
        reply(req, 200, "AQAEAIMDSSESSIONTOKEN==");
        return;
    }
    const char *tok = evhttp_find_header(h, "X-aws-ec2-metadata-token");
    if (cmd != EVHTTP_REQ_GET || tok == NULL || strcmp(tok, "AQAEAIMDSSESSIONTOKEN==") != 0) {
        fake_fail(f, "GET without the session token");
        reply(req, 401, "");
        return;
    }
    if (strcmp(uri, "/latest/meta-data/iam/security-credentials/") == 0) {
        reply(req, 200, "otter-node-role\n");
    } else if (strcmp(uri, "/latest/meta-data/iam/security-credentials/otter-node-role") == 0) {
        char exp[32], doc[512];
        iso(fake_now + f->lifetime_ms, exp, sizeof(exp));
        snprintf(doc, sizeof(doc),
                 "{\"Code\":\"Success\",\"LastUpdated\":\"2025-11-24T15:00:00Z\",\"Type\":"
                 "\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"SECRETIMDS\","
                 "\"Token\":\"TOKENIMDS\",\"Expiration\":\"%s\"}",
                 exp);
        reply(req, 200, doc);
    } else if (strcmp(uri, "/latest/meta-data/placement/region") == 0) {
        reply(req, 200, "eu-north-1");
    } else {
        fake_fail(f, "unexpected path");
        reply(req, 404, "");
    }
}

struct region_got {
    int calls;
    int rc;
    char region[64];
};

static void on_region(void *arg, int rc, const char *region)
{
    struct region_got *r = arg;
    r->calls++;
    r->rc = rc;
    snprintf(r->region, sizeof(r->region), "%s", region ? region : "(null)");
}

static void test_imds(void)
{
    struct fake f;
    clear_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    ASSERT_OK(fx_start(&f, imds_fake));
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.url, 1);
    struct ex_aws_creds *c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ASSERT_STREQ(ex_aws_creds_provider(c), "imds");
    struct got g = {0};
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 1));
    ASSERT_STREQ(f.err, "");
    ASSERT_OK(g.rc);
    ASSERT_STREQ(g.akid, "ASIAIMDS");
    ASSERT_STREQ(g.secret, "SECRETIMDS");
    ASSERT_STREQ(g.token, "TOKENIMDS");
    ASSERT_STREQ(g.provider, "imds");
    ASSERT_EQ(f.requests, 3);
    struct region_got r = {0};
    ex_aws_creds_imds_region(c, on_region, &r);
    ASSERT_EQ(r.calls, 0);
    ASSERT(ts_run_until_count(f.base, &r.calls, 1, 5.0));
    ASSERT_OK(r.rc);
    ASSERT_STREQ(r.region, "eu-north-1");
    ex_aws_creds_free(c);

    /* The token PUT refused with 403: IMDS is unavailable, and that is remembered. */
    f.status = 403;
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 2));
    ASSERT_EQ(g.rc, AG_ENOTFOUND);
    int before = f.requests;
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 3));
    ASSERT_EQ(g.rc, AG_ENOTFOUND);
    ex_aws_creds_imds_region(c, on_region, &r);
    ASSERT(ts_run_until_count(f.base, &r.calls, 2, 5.0));
    ASSERT_EQ(r.rc, AG_ENOTFOUND);
    ASSERT_EQ(f.requests, before);
    ex_aws_creds_free(c);

    /* No answer within the 1 s timeout (a hop limit of 1 in a pod): unavailable. */
    f.status = 0;
    f.hold = true;
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    double t0 = ts_now_s();
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(ts_run_until_count(f.base, &g.calls, 4, 5.0));
    ASSERT_EQ(g.rc, AG_ENOTFOUND);
    ASSERT(ts_now_s() - t0 < 3.0);
    ASSERT_STRCONTAINS(g.why, "unavailable");
    ex_aws_creds_free(c);
    f.n_held = 0; /* their connections are gone: never answered */
    f.hold = false;

    /* Nothing listening: unavailable too. */
    char dead[64];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", (unsigned)ts_dead_port());
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", dead, 1);
    c = new_chain(&f, NULL);
    ASSERT_NOT_NULL(c);
    ex_aws_creds_get(c, on_creds, &g);
    ASSERT(wait_calls(f.base, &g, 5));
    ASSERT_EQ(g.rc, AG_ENOTFOUND);
    /* A region request left pending at free time never runs. */
    ex_aws_creds_imds_region(c, on_region, &r);
    ex_aws_creds_free(c);
    struct timeval tv = {0, 50000};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ASSERT_EQ(r.calls, 2);
    fx_stop(&f);
}

static void test_no_secret_in_why(void)
{
    /* Every why text handed out by the tests above, against every secret they used. */
    static const char *const secrets[] = {
        "SECRETENV",   "TOKENENV",     "SECRETDEV",
        "SECRET1",     "TOKEN1",       "SECRET2",
        "first+token", "second&token", "SECRETPOD",
        "TOKENPOD",    "eyJpod",       "ignored-when-a-file-is-set",
        "SECRETIMDS",  "TOKENIMDS",    "AQAEAIMDSSESSIONTOKEN",
        "SECRETBASE",
    };
    ASSERT(strlen(all_why) > 0);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(all_why, secrets[i]) != NULL) {
            AG_TEST_FAIL_("a why text holds %s", secrets[i]);
        }
    }
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct ex_aws_creds_parsed p;
    struct ex_aws_error e;
    for (long n = 0;; n++) {
        ag_mem_fail_after(n);
        int rc = ex_aws_creds_parse_sts_xml(web_doc, strlen(web_doc), &p, &e);
        ag_mem_fail_after(-1);
        if (rc == 0) {
            ASSERT(n >= 3);
            ex_aws_creds_parsed_cleanup(&p);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(p.access_key_id);
    }
    /* The chain's constructor with a profile, env and role options. */
    struct fake f;
    char cp[512];
    clear_env();
    path_in_tmp(cp, sizeof(cp), "credentials");
    write_file("credentials", "[dev]\naws_access_key_id = A\naws_secret_access_key = S\n"
                              "region = r\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cp, 1);
    ASSERT_OK(fx_start(&f, NULL));
    struct ex_aws_creds_options o = {.profile = "dev",
                                     .role_arn = "arn",
                                     .external_id = "x",
                                     .proxy = "http://127.0.0.1:1",
                                     .now_ms = now_fn};
    for (long n = 0;; n++) {
        struct ex_aws_creds *c = NULL;
        char err[256];
        ag_mem_fail_after(n);
        int rc = ex_aws_creds_new(f.base, f.http, &o, &c, err, sizeof(err));
        ag_mem_fail_after(-1);
        if (rc == 0) {
            ASSERT(n > 5);
            ex_aws_creds_free(c);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(c);
    }
    fx_stop(&f);

    /* A whole web identity refresh, with allocations failing from the Nth on: every get is
     * answered (success or an error), nothing leaks, nothing crashes. */
    clear_env();
    ASSERT_OK(fx_start(&f, sts_fake));
    web_env(&f);
    for (long n = 0;; n++) {
        struct ex_aws_creds *c = new_chain(&f, NULL);
        ASSERT_NOT_NULL(c);
        struct got g = {0};
        ag_mem_fail_after(n);
        ex_aws_creds_get(c, on_creds, &g);
        bool answered = wait_calls(f.base, &g, 1);
        ag_mem_fail_after(-1);
        ex_aws_creds_free(c);
        ASSERT(answered);
        if (g.rc == 0) {
            ASSERT(n > 3);
            ASSERT_STREQ(g.provider, "web-identity");
            break;
        }
        ASSERT(n < 1000);
    }
    fx_stop(&f);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/otter-creds-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static void cleanup_tmp(void)
{
    static const char *const names[] = {"credentials", "config", "wi-token", "pod-token"};
    char p[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_in_tmp(p, sizeof(p), names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

struct ag_test_state ag_test_current;

int main(void)
{
    static const struct ag_test_case cases[] = {
        AG_TEST_CASE(test_parse_time),
        AG_TEST_CASE(test_sts_xml_ok),
        AG_TEST_CASE(test_sts_xml_error),
        AG_TEST_CASE(test_sts_xml_malformed),
        AG_TEST_CASE(test_json),
        AG_TEST_CASE(test_ini),
        AG_TEST_CASE(test_session_name),
        AG_TEST_CASE(test_container_url),
        AG_TEST_CASE(test_is_auth_error),
        AG_TEST_CASE(test_env_provider),
        AG_TEST_CASE(test_no_provider),
        AG_TEST_CASE(test_profile_provider),
        AG_TEST_CASE(test_profile_errors),
        AG_TEST_CASE(test_web_identity),
        AG_TEST_CASE(test_refresh_fake_clock),
        AG_TEST_CASE(test_single_flight),
        AG_TEST_CASE(test_invalidate_rate_limit),
        AG_TEST_CASE(test_cancel_and_free),
        AG_TEST_CASE(test_free_in_callback),
        AG_TEST_CASE(test_assume_role),
        AG_TEST_CASE(test_container),
        AG_TEST_CASE(test_imds),
        AG_TEST_CASE(test_no_secret_in_why),
        AG_TEST_CASE(test_failmalloc),
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    int failures = 0;
    setup_tmp();
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        ag_test_current.failed = 0;
        cases[i].fn();
        printf("%s %zu - %s\n", ag_test_current.failed ? "not ok" : "ok", i + 1, cases[i].name);
        fflush(stdout);
        failures += ag_test_current.failed;
    }
    cleanup_tmp();
    return failures != 0;
}
