/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the SigV4 signer: every case of the three data sets under the test data folder
 * given as argv[1] (AWS's v4 suite, the legacy suite, and the project's service vectors), each
 * signed and compared exactly with the expected canonical request, string to sign and
 * Authorization; then the signer's own rules, its key cache, its errors and failmalloc.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "config.h"
#include "ex_aws_sigv4.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct ag_test_state ag_test_current;

#define MAX_HEADERS 64
#define SUITE_AKID  "AKIDEXAMPLE"
#define SUITE_KEY   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE  "20150830T123600Z"

static const char *data_root;
static int tap_n;
static int tap_failed;
static int tap_skipped;

static void tap_result(int ok, const char *name, const char *skip_reason)
{
    tap_n++;
    if (skip_reason != NULL) {
        tap_skipped++;
        printf("ok %d - %s # SKIP %s\n", tap_n, name, skip_reason);
        return;
    }
    tap_failed += !ok;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", tap_n, name);
}

/* Runs one ag_test.h style function as a TAP point. */
static void run_test(const char *name, void (*fn)(void))
{
    ag_test_current.failed = 0;
    fn();
    tap_result(!ag_test_current.failed, name, NULL);
}

/* Reads a whole file into a new NUL-terminated string; NULL when missing. */
static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (cap - len < 4096) {
            char *nb = ag_realloc(buf, cap + 65536);
            if (nb == NULL) {
                ag_free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    if (len_out != NULL) {
        *len_out = len;
    }
    return buf;
}

static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = ag_malloc(la + lb + 2);
    if (p != NULL) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the entries of |dir| (no dot files), sorted; *n_out entries, free with free_list(). */
static char **list_dir(const char *dir, size_t *n_out)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;

    *n_out = 0;
    if (d == NULL) {
        return NULL;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char **nn = ag_realloc(names, (n + 1) * sizeof(*names));
        if (nn == NULL) {
            break;
        }
        names = nn;
        names[n] = ag_strdup(e->d_name);
        if (names[n] == NULL) {
            break;
        }
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    *n_out = n;
    return names;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ag_free(names[i]);
    }
    ag_free(names);
}

/* A request parsed from a suite's .req / request.txt; all strings point into |text|. */
struct parsed_req {
    char *text;
    char *method;
    char *path;
    char *query;
    struct ex_aws_header headers[MAX_HEADERS];
    size_t n_headers;
    char *body;
    size_t body_len;
};

/*
 * Parses an HTTP/1.1 request file. The request line's target may hold spaces (get-space), so
 * the version is taken from the last space. A continuation line (leading space or tab) is folded
 * into the previous value when |fold_continuations| (the v4 suite expects "value1 value2
 * value3"), or becomes another value of the same header (the legacy suite expects them joined
 * with ',').
 */
static int parse_request(char *text, int fold_continuations, struct parsed_req *r)
{
    char *line = text, *next, *sp;

    memset(r, 0, sizeof(*r));
    r->text = text;
    next = strchr(line, '\n');
    if (next == NULL) {
        return -1;
    }
    *next++ = '\0';
    if (next - line >= 2 && next[-2] == '\r') {
        next[-2] = '\0';
    }
    sp = strchr(line, ' ');
    char *last = strrchr(line, ' ');
    if (sp == NULL || last == sp) {
        return -1;
    }
    *sp = '\0';
    *last = '\0';
    r->method = line;
    r->path = sp + 1;
    char *q = strchr(r->path, '?');
    if (q != NULL) {
        *q = '\0';
        r->query = q + 1;
    }
    line = next;
    while (line != NULL && *line != '\0') {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        size_t ll = strlen(line);
        if (ll > 0 && line[ll - 1] == '\r') {
            line[--ll] = '\0';
        }
        if (ll == 0) {
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && r->n_headers > 0) {
            struct ex_aws_header *prev = &r->headers[r->n_headers - 1];
            if (fold_continuations) {
                /* The value runs on in the text: turn the terminator back into a newline. */
                line[-1] = '\n';
                line = next;
                continue;
            }
            if (r->n_headers == MAX_HEADERS) {
                return -1;
            }
            r->headers[r->n_headers].name = prev->name;
            r->headers[r->n_headers].value = line;
            r->n_headers++;
        } else {
            char *colon = strchr(line, ':');
            if (colon == NULL || r->n_headers == MAX_HEADERS) {
                return -1;
            }
            *colon = '\0';
            r->headers[r->n_headers].name = line;
            r->headers[r->n_headers].value = colon + 1;
            r->n_headers++;
        }
        line = next;
    }
    r->body = next != NULL ? next : (char *)"";
    r->body_len = strlen(r->body);
    return 0;
}

static int expect_str(const char *what, const char *got, const char *want)
{
    if (got != NULL && want != NULL && strcmp(got, want) == 0) {
        return 1;
    }
    printf("# %s differs\n#   got:  ", what);
    for (const char *p = got ? got : "(null)"; *p; p++) {
        putchar(*p == '\n' ? '|' : *p);
    }
    printf("\n#   want: ");
    for (const char *p = want ? want : "(null)"; *p; p++) {
        putchar(*p == '\n' ? '|' : *p);
    }
    printf("\n");
    return 0;
}

/* Removes one trailing newline (some expected files end with one, some do not). */
static void chomp(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
}

/* ------------------------------------------------------------------------------------------ */
/* v4/: aws-c-auth's suite, one folder per case with context.json. */

static int v4_case(const char *dir, const char *name)
{
    char *cdir = path_join(dir, name);
    char *ctx_path = path_join(cdir, "context.json");
    char *req_path = path_join(cdir, "request.txt");
    char *creq_path = path_join(cdir, "header-canonical-request.txt");
    char *sts_path = path_join(cdir, "header-string-to-sign.txt");
    char *sig_path = path_join(cdir, "header-signature.txt");
    char *sreq_path = path_join(cdir, "header-signed-request.txt");
    char *req_text = read_file(req_path, NULL);
    char *creq = read_file(creq_path, NULL), *sts = read_file(sts_path, NULL);
    char *sig = read_file(sig_path, NULL), *sreq = read_file(sreq_path, NULL);
    json_t *ctx = json_load_file(ctx_path, 0, NULL);
    struct ex_aws_sigv4_result res = {0};
    struct parsed_req r;
    int ok = 0;

    if (!req_text || !creq || !sts || !sig || !sreq || !ctx || parse_request(req_text, 1, &r) < 0) {
        printf("# %s: unreadable case files\n", name);
        goto out;
    }
    const char *ts = json_string_value(json_object_get(ctx, "timestamp"));
    json_t *jc = json_object_get(ctx, "credentials");
    struct ex_aws_credentials creds = {
        json_string_value(json_object_get(jc, "access_key_id")),
        json_string_value(json_object_get(jc, "secret_access_key")),
        json_string_value(json_object_get(jc, "token")),
    };
    char date[EX_AWS_SIGV4_DATE_LEN + 1];
    size_t dn = 0;
    /* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
    for (const char *p = ts ? ts : ""; *p && dn < EX_AWS_SIGV4_DATE_LEN; p++) {
        if (*p != '-' && *p != ':') {
            date[dn++] = *p;
        }
    }
    date[dn] = '\0';
    unsigned flags = 0;
    if (!json_is_true(json_object_get(ctx, "normalize"))) {
        flags |= EX_AWS_SIGV4_NO_NORMALIZE;
    }
    if (json_is_true(json_object_get(ctx, "sign_body"))) {
        flags |= EX_AWS_SIGV4_CONTENT_SHA256;
    }
    if (json_is_true(json_object_get(ctx, "omit_session_token"))) {
        flags |= EX_AWS_SIGV4_UNSIGNED_TOKEN;
    }
    struct ex_aws_sigv4_request req = {
        .method = r.method,
        .path = r.path,
        .query = r.query,
        .headers = r.headers,
        .n_headers = r.n_headers,
        .payload = (const uint8_t *)r.body,
        .payload_len = r.body_len,
        .service = json_string_value(json_object_get(ctx, "service")),
        .region = json_string_value(json_object_get(ctx, "region")),
        .amz_date = date,
        .flags = flags,
    };
    int rc = ex_aws_sigv4_sign(NULL, &creds, &req, &res);
    if (rc != 0) {
        printf("# %s: sign failed: %s\n", name, ag_strerror(rc));
        goto out;
    }
    chomp(sig);
    char *auth = strstr(sreq, "\nAuthorization:");
    if (auth != NULL) {
        auth += strlen("\nAuthorization:");
        char *nl = strchr(auth, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
    }
    ok = expect_str("canonical request", res.canonical_request, creq);
    ok &= expect_str("string to sign", res.string_to_sign, sts);
    ok &= expect_str("signature", res.signature, sig);
    ok &= expect_str("authorization", res.authorization, auth);
out:
    ex_aws_sigv4_result_cleanup(&res);
    json_decref(ctx);
    ag_free(cdir);
    ag_free(ctx_path);
    ag_free(req_path);
    ag_free(creq_path);
    ag_free(sts_path);
    ag_free(sig_path);
    ag_free(sreq_path);
    ag_free(req_text);
    ag_free(creq);
    ag_free(sts);
    ag_free(sig);
    ag_free(sreq);
    return ok;
}

static void run_v4_suite(int *counts)
{
    char *dir = path_join(data_root, "v4");
    size_t n = 0;
    char **names = list_dir(dir, &n);
    char label[512];

    if (names == NULL || n == 0) {
        printf("# no v4 cases in %s\n", dir);
        tap_result(0, "v4 suite present", NULL);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(label, sizeof(label), "v4/%s (header signing)", names[i]);
        int ok = v4_case(dir, names[i]);
        tap_result(ok, label, NULL);
        counts[0] += ok;
        /* The same folder's query-*.txt files are presigned-URL signing. */
        snprintf(label, sizeof(label), "v4/%s (query signing)", names[i]);
        tap_result(1, label,
                   "presigned-URL (query-string) signing is outside issue 3's "
                   "header-signing scope");
        counts[1]++;
    }
    free_list(names, n);
    ag_free(dir);
}

/* ------------------------------------------------------------------------------------------ */
/* legacy-aws-sig-v4-test-suite/: .req/.creq/.sts/.authz per case folder, nested by topic. */

/* Cases that follow a convention Otter does not implement. */
static const char *legacy_skip_reason(const char *name)
{
    if (strcmp(name, "post-x-www-form-urlencoded-parameters") == 0) {
        return "expects the form body signed as a query string with an empty payload hash (an "
               "old SDK convention); Otter, botocore and aws-c-auth sign the body as the payload "
               "(v4/post-x-www-form-urlencoded-parameters, which passes)";
    }
    return NULL;
}

/*
 * The published .creq of post-x-www-form-urlencoded leaves content-type out of SignedHeaders
 * while its own .sts and .authz were computed with it in: the string to sign (which holds the
 * canonical request's hash) and the Authorization are compared, the .creq is not.
 */
static int legacy_creq_defect(const char *name)
{
    return strcmp(name, "post-x-www-form-urlencoded") == 0;
}

static int legacy_case(const char *cdir, const char *name)
{
    char file[256];
    char *req_path, *creq_path, *sts_path, *authz_path;
    int ok = 0;
    struct ex_aws_sigv4_result res = {0};
    struct parsed_req r;

    snprintf(file, sizeof(file), "%s.req", name);
    req_path = path_join(cdir, file);
    snprintf(file, sizeof(file), "%s.creq", name);
    creq_path = path_join(cdir, file);
    snprintf(file, sizeof(file), "%s.sts", name);
    sts_path = path_join(cdir, file);
    snprintf(file, sizeof(file), "%s.authz", name);
    authz_path = path_join(cdir, file);
    char *req_text = read_file(req_path, NULL), *creq = read_file(creq_path, NULL);
    char *sts = read_file(sts_path, NULL), *authz = read_file(authz_path, NULL);

    if (!req_text || !creq || !sts || !authz || parse_request(req_text, 0, &r) < 0) {
        printf("# %s: unreadable case files\n", name);
        goto out;
    }
    struct ex_aws_credentials creds = {SUITE_AKID, SUITE_KEY, NULL};
    struct ex_aws_sigv4_request req = {
        .method = r.method,
        .path = r.path,
        .query = r.query,
        .headers = r.headers,
        .n_headers = r.n_headers,
        .payload = (const uint8_t *)r.body,
        .payload_len = r.body_len,
        .service = "service",
        .region = "us-east-1",
        .amz_date = SUITE_DATE,
    };
    int rc = ex_aws_sigv4_sign(NULL, &creds, &req, &res);
    if (rc != 0) {
        printf("# %s: sign failed: %s\n", name, ag_strerror(rc));
        goto out;
    }
    chomp(authz);
    if (legacy_creq_defect(name)) {
        printf("# %s: .creq not compared (its SignedHeaders line contradicts its .sts)\n", name);
        ok = 1;
    } else {
        ok = expect_str("canonical request", res.canonical_request, creq);
    }
    ok &= expect_str("string to sign", res.string_to_sign, sts);
    ok &= expect_str("authorization", res.authorization, authz);
out:
    ex_aws_sigv4_result_cleanup(&res);
    ag_free(req_path);
    ag_free(creq_path);
    ag_free(sts_path);
    ag_free(authz_path);
    ag_free(req_text);
    ag_free(creq);
    ag_free(sts);
    ag_free(authz);
    return ok;
}

/* Walks |dir|: a folder holding <folder>.req is a case; any other folder is descended into. */
static void walk_legacy(const char *dir, const char *prefix, int *counts)
{
    size_t n = 0;
    char **names = list_dir(dir, &n);
    char label[512], file[256];

    for (size_t i = 0; i < n; i++) {
        char *sub = path_join(dir, names[i]);
        DIR *d = sub ? opendir(sub) : NULL;
        if (d == NULL) {
            ag_free(sub);
            continue; /* LICENSE, NOTICE, readme files */
        }
        closedir(d);
        snprintf(file, sizeof(file), "%s.req", names[i]);
        char *req = path_join(sub, file);
        FILE *f = req ? fopen(req, "rb") : NULL;
        snprintf(label, sizeof(label), "%s%s", prefix, names[i]);
        if (f != NULL) {
            fclose(f);
            const char *why = legacy_skip_reason(names[i]);
            if (why != NULL) {
                tap_result(1, label, why);
                counts[1]++;
            } else {
                int ok = legacy_case(sub, names[i]);
                tap_result(ok, label, NULL);
                counts[0] += ok;
            }
        } else {
            char sub_prefix[sizeof(label) + 1];
            snprintf(sub_prefix, sizeof(sub_prefix), "%s/", label);
            walk_legacy(sub, sub_prefix, counts);
        }
        ag_free(req);
        ag_free(sub);
    }
    free_list(names, n);
}

/* ------------------------------------------------------------------------------------------ */
/* service-vectors/vectors.json: botocore-generated vectors for Otter's own services. */

static int vector_case(json_t *v)
{
    const char *url = json_string_value(json_object_get(v, "url"));
    const char *body = json_string_value(json_object_get(v, "body"));
    json_t *jc = json_object_get(v, "credentials");
    json_t *hin = json_object_get(v, "headers_in");
    json_t *hout = json_object_get(v, "signed_headers_out");
    struct ex_aws_header headers[MAX_HEADERS];
    size_t nh = 0;
    char host[256], path[4096], query[4096];
    struct ex_aws_sigv4_result res = {0};
    int ok;

    /* https://host/path?query */
    const char *p = url ? strstr(url, "://") : NULL;
    if (p == NULL || body == NULL) {
        return 0;
    }
    p += 3;
    size_t hl = strcspn(p, "/?");
    snprintf(host, sizeof(host), "%.*s", (int)hl, p);
    p += hl;
    size_t pl = strcspn(p, "?");
    snprintf(path, sizeof(path), "%.*s", (int)pl, p);
    p += pl;
    snprintf(query, sizeof(query), "%s", *p == '?' ? p + 1 : "");
    headers[nh].name = "Host";
    headers[nh++].value = host;
    const char *k;
    json_t *jv;
    json_object_foreach(hin, k, jv)
    {
        if (nh < MAX_HEADERS) {
            headers[nh].name = k;
            headers[nh++].value = json_string_value(jv);
        }
    }
    struct ex_aws_credentials creds = {
        json_string_value(json_object_get(jc, "access_key_id")),
        json_string_value(json_object_get(jc, "secret_access_key")),
        json_string_value(json_object_get(jc, "session_token")),
    };
    const char *service = json_string_value(json_object_get(v, "service"));
    struct ex_aws_sigv4_request req = {
        .method = json_string_value(json_object_get(v, "method")),
        .path = path,
        .query = query,
        .headers = headers,
        .n_headers = nh,
        .payload = (const uint8_t *)body,
        .payload_len = strlen(body),
        .service = service,
        .region = json_string_value(json_object_get(v, "region")),
        .amz_date = json_string_value(json_object_get(v, "timestamp")),
        .flags = ex_aws_sigv4_service_flags(service),
    };
    int rc = ex_aws_sigv4_sign(NULL, &creds, &req, &res);
    if (rc != 0) {
        printf("# sign failed: %s\n", ag_strerror(rc));
        return 0;
    }
    ok = expect_str("canonical request", res.canonical_request,
                    json_string_value(json_object_get(v, "canonical_request")));
    ok &= expect_str("string to sign", res.string_to_sign,
                     json_string_value(json_object_get(v, "string_to_sign")));
    ok &=
        expect_str("signature", res.signature, json_string_value(json_object_get(v, "signature")));
    ok &= expect_str("authorization", res.authorization,
                     json_string_value(json_object_get(hout, "Authorization")));
    /* The headers the signer asks the caller to add match what botocore added. */
    for (size_t i = 0; i < res.n_added; i++) {
        ok &= expect_str(res.added[i].name, res.added[i].value,
                         json_string_value(json_object_get(hout, res.added[i].name)));
    }
    size_t want_added = 1 + (creds.session_token != NULL);
    if (res.n_added != want_added) {
        printf("# %zu headers added, want %zu\n", res.n_added, want_added);
        ok = 0;
    }
    ex_aws_sigv4_result_cleanup(&res);
    return ok;
}

static void run_vectors(int *counts)
{
    char *file = path_join(data_root, "service-vectors/vectors.json");
    json_t *root = file ? json_load_file(file, 0, NULL) : NULL;
    json_t *vectors = json_object_get(root, "vectors");
    char label[512];

    if (json_array_size(vectors) == 0) {
        printf("# no vectors in %s\n", file ? file : "(null)");
        tap_result(0, "service vectors present", NULL);
    }
    for (size_t i = 0; i < json_array_size(vectors); i++) {
        json_t *v = json_array_get(vectors, i);
        snprintf(label, sizeof(label), "service-vectors/%s",
                 json_string_value(json_object_get(v, "name")));
        int ok = vector_case(v);
        tap_result(ok, label, NULL);
        counts[0] += ok;
    }
    json_decref(root);
    ag_free(file);
}

/* ------------------------------------------------------------------------------------------ */
/* The signer's own rules. */

static const struct ex_aws_header host_only[] = {{"Host", "example.amazonaws.com"}};

static char *canon_uri(const char *path, unsigned flags)
{
    struct ag_buf b;
    uint8_t *s;

    ag_buf_init(&b, 4096);
    if (ex_aws_sigv4_canonical_uri(path, strlen(path), flags, &b) < 0 || ag_buf_addc(&b, 0) < 0) {
        return NULL;
    }
    s = ag_buf_steal(&b, NULL);
    return (char *)s;
}

static char *canon_query(const char *q)
{
    struct ag_buf b;

    ag_buf_init(&b, 4096);
    if (ex_aws_sigv4_canonical_query(q, strlen(q), &b) < 0 || ag_buf_addc(&b, 0) < 0) {
        return NULL;
    }
    return (char *)ag_buf_steal(&b, NULL);
}

static void test_canonical_uri(void)
{
    static const struct {
        const char *in;
        unsigned flags;
        const char *want;
    } cases[] = {
        {"/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", 0,
         "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"},
        {"/model/us.amazon.nova-lite-v1:0/converse", 0,
         "/model/us.amazon.nova-lite-v1%3A0/converse"},
        {"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/invoke", 0,
         "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Ainference-profile%252Fx/invoke"},
        {"", 0, "/"},
        {"/a/./b/../c//d/", 0, "/a/c/d/"},
        {"/a/.", 0, "/a"},
        {"/..", 0, "/"},
        {"//a//b//", EX_AWS_SIGV4_NO_NORMALIZE | EX_AWS_SIGV4_NO_PATH_ENCODE, "//a//b//"},
        {"/a%20b/c", EX_AWS_SIGV4_NO_NORMALIZE | EX_AWS_SIGV4_NO_PATH_ENCODE, "/a%20b/c"},
        {"/a b/~x", EX_AWS_SIGV4_NO_NORMALIZE, "/a%20b/~x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = canon_uri(cases[i].in, cases[i].flags);
        ASSERT_NOT_NULL(got);
        int same = strcmp(got, cases[i].want) == 0;
        if (!same) {
            printf("# %s -> %s\n", cases[i].in, got);
        }
        ag_free(got);
        ASSERT(same);
    }
}

static void test_canonical_query(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"b=2&a=x%2By&a=x%20y&c=", "a=x%20y&a=x%2By&b=2&c="},
        {"Version=2010-08-01&Action=PutMetricAlarm", "Action=PutMetricAlarm&Version=2010-08-01"},
        {"flag&x=1", "flag=&x=1"},
        {"a=b=c", "a=b%3Dc"},
        {"k=a+b", "k=a%2Bb"},
        {"k=%7e%2f", "k=~%2F"},
        {"k=%zz%4", "k=%25zz%254"},
        {"&&a=1&", "a=1"},
        {"p=1&p=", "p=&p=1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = canon_query(cases[i].in);
        ASSERT_NOT_NULL(got);
        int same = strcmp(got, cases[i].want) == 0;
        if (!same) {
            printf("# %s -> %s\n", cases[i].in, got);
        }
        ag_free(got);
        ASSERT(same);
    }
}

static void test_headers_rules(void)
{
    const struct ex_aws_header h[] = {
        {"Host", "h.example:8443"},
        {"User-Agent", "otter"},
        {"X-B", "  a \t  b  "},
        {"x-b", "c"},
        {"X-Amz-Date", "19990101T000000Z"},
        {"Authorization", "x"},
        {"X-Amz-Security-Token", "old"},
        {"Content-Type", "application/json"},
    };
    const struct ex_aws_credentials creds = {SUITE_AKID, SUITE_KEY, "tok en"};
    const struct ex_aws_sigv4_request req = {
        .method = "post",
        .path = "/",
        .headers = h,
        .n_headers = sizeof(h) / sizeof(h[0]),
        .service = "xray",
        .region = "eu-west-1",
        .amz_date = SUITE_DATE,
    };
    struct ex_aws_sigv4_result res = {0};

    ASSERT_OK(ex_aws_sigv4_sign(NULL, &creds, &req, &res));
    ASSERT_STREQ(res.signed_headers, "content-type;host;x-amz-date;x-amz-security-token;x-b");
    ASSERT_STRCONTAINS(res.canonical_request, "POST\n/\n\ncontent-type:application/json\n"
                                              "host:h.example:8443\nx-amz-date:" SUITE_DATE
                                              "\nx-amz-security-token:tok en\nx-b:a b,c\n\n");
    ASSERT_EQ(res.n_added, 2);
    ASSERT_STREQ(res.added[0].name, "X-Amz-Date");
    ASSERT_STREQ(res.added[1].value, "tok en");
    ASSERT_STRCONTAINS(res.authorization, "Credential=AKIDEXAMPLE/20150830/eu-west-1/xray/"
                                          "aws4_request, SignedHeaders=content-type;host;");
    ASSERT(strstr(res.canonical_request, SUITE_KEY) == NULL);
    ASSERT(strstr(res.string_to_sign, SUITE_KEY) == NULL);
    ASSERT(strstr(res.authorization, SUITE_KEY) == NULL);
    ex_aws_sigv4_result_cleanup(&res);
    ASSERT_NULL(res.authorization);
}

static void test_s3_and_payload_hash(void)
{
    const struct ex_aws_credentials creds = {SUITE_AKID, SUITE_KEY, NULL};
    struct ex_aws_sigv4_request req = {
        .method = "PUT",
        .path = "/bucket//a%20b/../k",
        .headers = host_only,
        .n_headers = 1,
        .payload = (const uint8_t *)"",
        .service = "s3",
        .region = "us-east-1",
        .amz_date = SUITE_DATE,
        .flags = ex_aws_sigv4_service_flags("s3"),
    };
    struct ex_aws_sigv4_result res = {0};

    ASSERT_OK(ex_aws_sigv4_sign(NULL, &creds, &req, &res));
    ASSERT_STRCONTAINS(res.canonical_request, "PUT\n/bucket//a%20b/../k\n");
    ASSERT_STRCONTAINS(res.canonical_request, "x-amz-content-sha256:" EX_AWS_SIGV4_EMPTY_SHA256);
    ASSERT_EQ(res.n_added, 2);
    ASSERT_STREQ(res.added[1].name, "x-amz-content-sha256");
    ex_aws_sigv4_result_cleanup(&res);

    req.payload_hash = EX_AWS_SIGV4_UNSIGNED;
    ASSERT_OK(ex_aws_sigv4_sign(NULL, &creds, &req, &res));
    ASSERT_STRCONTAINS(res.canonical_request, "\nUNSIGNED-PAYLOAD");
    ex_aws_sigv4_result_cleanup(&res);

    req.payload_hash = "ABC";
    ASSERT_EQ(ex_aws_sigv4_sign(NULL, &creds, &req, &res), AG_EINVAL);
}

static void test_cache(void)
{
    struct ex_aws_sigv4_signer *s = NULL;
    const struct ex_aws_credentials c1 = {SUITE_AKID, SUITE_KEY, NULL};
    const struct ex_aws_credentials c2 = {SUITE_AKID, "another-secret", NULL};
    const char *regions[] = {"us-east-1", "eu-west-1", "ap-south-1", "us-west-2", "sa-east-1"};
    char first[6][EX_AWS_SIGV4_HEX_LEN + 1];

    ASSERT_OK(ex_aws_sigv4_signer_new(&s));
    /* Two rounds over more scopes than the cache holds: cached and fresh keys agree. */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 6; i++) {
            struct ex_aws_sigv4_request req = {
                .method = "GET",
                .path = "/",
                .headers = host_only,
                .n_headers = 1,
                .service = "service",
                .region = i < 5 ? regions[i] : "us-east-1",
                .amz_date = SUITE_DATE,
            };
            struct ex_aws_sigv4_result a = {0}, b = {0};
            const struct ex_aws_credentials *c = i < 5 ? &c1 : &c2;
            ASSERT_OK(ex_aws_sigv4_sign(s, c, &req, &a));
            ASSERT_OK(ex_aws_sigv4_sign(NULL, c, &req, &b));
            ASSERT_STREQ(a.signature, b.signature);
            if (round == 0) {
                memcpy(first[i], a.signature, sizeof(first[i]));
            } else {
                ASSERT_STREQ(first[i], a.signature);
            }
            ex_aws_sigv4_result_cleanup(&a);
            ex_aws_sigv4_result_cleanup(&b);
        }
    }
    /* Same scope, other secret: another signature (the cache keys on the secret too). */
    ASSERT(strcmp(first[0], first[5]) != 0);
    ex_aws_sigv4_signer_free(s);
    ex_aws_sigv4_signer_free(NULL);
}

static void test_errors(void)
{
    const struct ex_aws_credentials creds = {SUITE_AKID, SUITE_KEY, "secret-token"};
    const struct ex_aws_header no_host[] = {{"X-A", "1"}};
    const struct ex_aws_header bad[] = {{"Host", "h"}, {"X-A", "a\001b"}};
    struct ex_aws_sigv4_request req = {
        .method = "GET",
        .path = "/",
        .headers = no_host,
        .n_headers = 1,
        .service = "logs",
        .region = "us-east-1",
        .amz_date = SUITE_DATE,
    };
    struct ex_aws_sigv4_result res = {0};

    ASSERT_EQ(ex_aws_sigv4_sign(NULL, &creds, &req, &res), AG_EINVAL);
    ASSERT_NULL(res.canonical_request);
    req.headers = bad;
    req.n_headers = 2;
    ASSERT_EQ(ex_aws_sigv4_sign(NULL, &creds, &req, &res), AG_EINVAL);
    req.headers = host_only;
    req.n_headers = 1;
    req.amz_date = "2015-08-30T12:36:00Z";
    ASSERT_EQ(ex_aws_sigv4_sign(NULL, &creds, &req, &res), AG_EINVAL);
    req.amz_date = SUITE_DATE;
    req.region = "us/east";
    ASSERT_EQ(ex_aws_sigv4_sign(NULL, &creds, &req, &res), AG_EINVAL);
    req.region = "us-east-1";
    req.service = NULL;
    ASSERT_EQ(ex_aws_sigv4_sign(NULL, &creds, &req, &res), AG_EINVAL);
    req.service = "logs";

    size_t big = EX_AWS_SIGV4_MAX_INPUT + 1;
    char *path = ag_malloc(big + 1);
    ASSERT_NOT_NULL(path);
    memset(path, 'a', big);
    path[0] = '/';
    path[big] = '\0';
    req.path = path;
    int rc = ex_aws_sigv4_sign(NULL, &creds, &req, &res);
    ag_free(path);
    ASSERT_EQ(rc, AG_ETOOBIG);
    ASSERT_NULL(res.authorization);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    const struct ex_aws_header h[] = {{"Host", "h"}, {"X-B", " 1 "}, {"x-b", "2"}};
    const struct ex_aws_credentials creds = {SUITE_AKID, SUITE_KEY, "tok"};
    const struct ex_aws_sigv4_request req = {
        .method = "GET",
        .path = "/a/../b%3A",
        .query = "z=1&a=%20",
        .headers = h,
        .n_headers = 3,
        .service = "bedrock",
        .region = "us-east-1",
        .amz_date = SUITE_DATE,
    };
    for (long n = 0;; n++) {
        struct ex_aws_sigv4_signer *s = NULL;
        struct ex_aws_sigv4_result res = {0};
        ag_mem_fail_after(n);
        int rc = ex_aws_sigv4_signer_new(&s);
        if (rc == 0) {
            rc = ex_aws_sigv4_sign(s, &creds, &req, &res);
        }
        ag_mem_fail_after(-1);
        ex_aws_sigv4_signer_free(s);
        if (rc == 0) {
            ASSERT(n > 10);
            ex_aws_sigv4_result_cleanup(&res);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(res.canonical_request);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

int main(int argc, char **argv)
{
    int v4[2] = {0, 0}, legacy[2] = {0, 0}, vectors[2] = {0, 0};

    if (argc < 2) {
        printf("1..1\nnot ok 1 - usage: test_ex_aws_sigv4 <testdata/sigv4 folder>\n");
        return 1;
    }
    data_root = argv[1];
    /* The data lives outside the project (../shared/testdata): missing data is a failure. */
    DIR *d = opendir(data_root);
    if (d == NULL) {
        printf("1..1\nnot ok 1 - SigV4 test data not found at %s\n", data_root);
        return 1;
    }
    closedir(d);

    run_v4_suite(v4);
    char *legacy_dir = path_join(data_root, "legacy-aws-sig-v4-test-suite");
    DIR *ld = legacy_dir ? opendir(legacy_dir) : NULL;
    if (ld == NULL) {
        tap_result(0, "legacy suite present", NULL);
    } else {
        closedir(ld);
        walk_legacy(legacy_dir, "legacy/", legacy);
    }
    ag_free(legacy_dir);
    run_vectors(vectors);

    run_test("canonical_uri", test_canonical_uri);
    run_test("canonical_query", test_canonical_query);
    run_test("headers_rules", test_headers_rules);
    run_test("s3_and_payload_hash", test_s3_and_payload_hash);
    run_test("cache", test_cache);
    run_test("errors", test_errors);
    run_test("failmalloc", test_failmalloc);

    printf("# v4 suite: %d header-signing cases passed, %d query-signing cases skipped\n", v4[0],
           v4[1]);
    printf("# legacy suite: %d passed, %d skipped\n", legacy[0], legacy[1]);
    printf("# service vectors: %d passed\n", vectors[0]);
    printf("# total: %d test points, %d failed, %d skipped\n", tap_n, tap_failed, tap_skipped);
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
