/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ag_yaml: tree shape and positions, quoting, duplicate keys, anchors, aliases and
 * merge keys, tags, limits, libyaml's own errors, and ${env:VAR} expansion. Every line:col below
 * was counted by hand from the YAML text next to it.
 */
#include "ag_test.h"
#include "ag_yaml.h"
#include "ag_mem.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

static int parse(const char *text, unsigned flags, struct ag_yaml_node **root, struct ag_buf *diag)
{
    ag_buf_init(diag, 64 * 1024);
    return ag_yaml_parse("t", text, strlen(text), flags, root, diag);
}

static void test_tree_and_positions(void)
{
    const char *y = "a: 1\n"
                    "b:\n"
                    "  - x\n"
                    "  - \"y\"\n"
                    "c: {d: 'e', f: [g, h]}\n";
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse(y, 0, &r, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(r->type, AG_YAML_MAPPING);
    ASSERT_EQ(r->line, 1);
    ASSERT_EQ(r->col, 1);
    ASSERT_EQ(r->n_pairs, 3);
    ASSERT_STREQ(r->pairs[0].key->str, "a");
    ASSERT_EQ(r->pairs[0].value->line, 1);
    ASSERT_EQ(r->pairs[0].value->col, 4);
    ASSERT_STREQ(r->pairs[0].value->str, "1");

    const struct ag_yaml_node *b = ag_yaml_map_get(r, "b");
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(b->type, AG_YAML_SEQUENCE);
    ASSERT_EQ(b->n_items, 2);
    ASSERT_EQ(b->line, 3);
    ASSERT_EQ(b->col, 3);
    ASSERT_EQ(b->items[0]->line, 3);
    ASSERT_EQ(b->items[0]->col, 5);
    ASSERT_EQ(b->items[0]->quoted, 0);
    ASSERT_STREQ(b->items[1]->str, "y");
    ASSERT_EQ(b->items[1]->line, 4);
    ASSERT_EQ(b->items[1]->col, 5);
    ASSERT_EQ(b->items[1]->quoted, 1);

    const struct ag_yaml_node *c = ag_yaml_map_get(r, "c");
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->type, AG_YAML_MAPPING);
    ASSERT_EQ(c->line, 5);
    ASSERT_EQ(c->col, 4);
    const struct ag_yaml_pair *dp = ag_yaml_map_pair(c, "d");
    ASSERT_NOT_NULL(dp);
    ASSERT_EQ(dp->key->col, 5);
    ASSERT_EQ(dp->value->col, 8);
    ASSERT_STREQ(dp->value->str, "e");
    const struct ag_yaml_node *f = ag_yaml_map_get(c, "f");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->col, 16);
    ASSERT_EQ(f->items[0]->col, 17);
    ASSERT_EQ(f->items[1]->col, 20);
    ASSERT_NULL(ag_yaml_map_get(c, "zz"));
    ASSERT_NULL(ag_yaml_map_get(f, "g")); /* not a mapping */
    ag_yaml_free(r);
}

static void test_quoting_and_null(void)
{
    const char *y = "p: true\n"
                    "q: \"true\"\n"
                    "r: !!str 5\n"
                    "s: |\n"
                    "  text\n"
                    "t: ~\n"
                    "u: ''\n"
                    "v:\n"
                    "w: NULL\n"
                    "x: !!int 7\n";
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse(y, 0, &r, &d));
    ag_buf_cleanup(&d);
    ASSERT_EQ(ag_yaml_map_get(r, "p")->quoted, 0);
    ASSERT_EQ(ag_yaml_map_get(r, "q")->quoted, 1);
    ASSERT_STREQ(ag_yaml_map_get(r, "q")->str, "true");
    ASSERT_EQ(ag_yaml_map_get(r, "r")->quoted, 1);
    ASSERT_STREQ(ag_yaml_map_get(r, "r")->str, "5");
    ASSERT_EQ(ag_yaml_map_get(r, "s")->quoted, 1);
    ASSERT_STREQ(ag_yaml_map_get(r, "s")->str, "text\n");
    ASSERT_EQ(ag_yaml_is_null(ag_yaml_map_get(r, "t")), 1);
    ASSERT_EQ(ag_yaml_is_null(ag_yaml_map_get(r, "u")), 0);
    ASSERT_EQ(ag_yaml_is_null(ag_yaml_map_get(r, "v")), 1);
    ASSERT_EQ(ag_yaml_is_null(ag_yaml_map_get(r, "w")), 1);
    ASSERT_EQ(ag_yaml_is_null(ag_yaml_map_get(r, "p")), 0);
    ASSERT_EQ(ag_yaml_is_null(NULL), 1);
    ASSERT_EQ(ag_yaml_is_null(r), 0);
    ASSERT_EQ(ag_yaml_map_get(r, "x")->quoted, 0);
    ASSERT_STREQ(ag_yaml_type_name(r), "a mapping");
    ag_yaml_free(r);
}

static void test_duplicate_key(void)
{
    const char *y = "x: 1\n"
                    "y:\n"
                    "  z: 1\n"
                    "  w: 2\n"
                    "  z: 3\n";
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse(y, 0, &r, &d), AG_EINVAL);
    ASSERT_NULL(r);
    ASSERT_STREQ(ag_buf_str(&d), "t:5:3: error: duplicate key 'z' (first defined at 3:3)\n");
    ag_buf_cleanup(&d);
}

static void test_duplicate_key_many(void)
{
    /* 2,000 keys and a repeat of the first at the end: the key set must catch it. */
    struct ag_buf y;
    ag_buf_init(&y, 1 << 20);
    for (int i = 0; i < 2000; i++) {
        ASSERT_OK(ag_buf_printf(&y, "k%d: %d\n", i, i));
    }
    ASSERT_OK(ag_buf_adds(&y, "k0: again\n"));
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse(ag_buf_str(&y), 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:2001:1: error: duplicate key 'k0' (first defined at 1:1)\n");
    ag_buf_cleanup(&d);
    ag_buf_cleanup(&y);
}

static void test_anchors_aliases_merge(void)
{
    const char *y = "base: &b\n"
                    "  k1: v1\n"
                    "  k2: v2\n"
                    "copy: *b\n"
                    "merged:\n"
                    "  <<: *b\n"
                    "  k2: mine\n"
                    "  k3: new\n"
                    "list: [*b, &s scalar, *s]\n"
                    "\"<<\": quoted\n";
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse(y, 0, &r, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);

    const struct ag_yaml_node *copy = ag_yaml_map_get(r, "copy");
    ASSERT_EQ(copy->type, AG_YAML_MAPPING);
    ASSERT_EQ(copy->line, 4);
    ASSERT_EQ(copy->col, 7);
    ASSERT_EQ(copy->n_pairs, 2);
    ASSERT_STREQ(ag_yaml_map_get(copy, "k2")->str, "v2");

    const struct ag_yaml_node *m = ag_yaml_map_get(r, "merged");
    ASSERT_EQ(m->n_pairs, 3);
    ASSERT_STREQ(m->pairs[0].key->str, "k2");
    ASSERT_STREQ(m->pairs[0].value->str, "mine");
    ASSERT_STREQ(m->pairs[1].key->str, "k3");
    ASSERT_STREQ(m->pairs[2].key->str, "k1");
    ASSERT_STREQ(m->pairs[2].value->str, "v1");
    ASSERT_NULL(ag_yaml_map_get(m, "<<"));

    const struct ag_yaml_node *l = ag_yaml_map_get(r, "list");
    ASSERT_EQ(l->n_items, 3);
    ASSERT_EQ(l->items[0]->type, AG_YAML_MAPPING);
    ASSERT_EQ(l->items[0]->col, 8);
    ASSERT_STREQ(l->items[1]->str, "scalar");
    ASSERT_STREQ(l->items[2]->str, "scalar");
    ASSERT_EQ(l->items[2]->line, 9);
    ASSERT_EQ(l->items[2]->col, 23);

    /* A quoted "<<" is an ordinary key. */
    ASSERT_STREQ(ag_yaml_map_get(r, "<<")->str, "quoted");
    ag_yaml_free(r);
}

static void test_merge_sequence(void)
{
    const char *y = "a: &a {x: 1, y: 1}\n"
                    "b: &b {y: 2, z: 2}\n"
                    "c:\n"
                    "  <<: [*a, *b]\n"
                    "  z: 3\n";
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse(y, 0, &r, &d));
    ag_buf_cleanup(&d);
    const struct ag_yaml_node *c = ag_yaml_map_get(r, "c");
    ASSERT_EQ(c->n_pairs, 3);
    ASSERT_STREQ(c->pairs[0].key->str, "z");
    ASSERT_STREQ(c->pairs[0].value->str, "3");
    ASSERT_STREQ(c->pairs[1].key->str, "x");
    ASSERT_STREQ(c->pairs[2].key->str, "y");
    ASSERT_STREQ(c->pairs[2].value->str, "1"); /* the earlier merge source wins */
    ag_yaml_free(r);
}

static void test_merge_errors(void)
{
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse("d:\n  <<: scalar\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:2:7: error: the merge key '<<' needs a mapping or a sequence "
                                 "of mappings, got a scalar\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: &a [1]\nd:\n  <<: [*a]\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:3:8: error: the merge key '<<' needs a mapping or a sequence "
                                 "of mappings, got a sequence\n");
    ag_buf_cleanup(&d);
}

static void test_unknown_anchor_and_tags(void)
{
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse("a: *nope\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: unknown anchor 'nope' in alias\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: !custom x\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: unsupported YAML tag '!custom'\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: !!map [1]\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: unsupported YAML tag 'tag:yaml.org,2002:map'\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("? [a]\n: b\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:3: error: mapping keys must be scalars, not a sequence\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: \"x\\0y\"\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: NUL characters are not supported in values\n");
    ag_buf_cleanup(&d);
}

static void test_depth_limit(void)
{
    char y[2 * 70 + 2];
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    /* 64 nested sequences are fine; the 65th '[' (column 65) is one too many. */
    for (int n = 64; n <= 65; n++) {
        memset(y, '[', (size_t)n);
        memset(y + n, ']', (size_t)n);
        y[2 * n] = '\n';
        y[2 * n + 1] = '\0';
        int rc = parse(y, 0, &r, &d);
        if (n == 64) {
            ASSERT_OK(rc);
            ag_yaml_free(r);
            r = NULL;
        } else {
            ASSERT_EQ(rc, AG_ETOOBIG);
            ASSERT_STREQ(ag_buf_str(&d), "t:1:65: error: nesting deeper than 64 levels\n");
        }
        ag_buf_cleanup(&d);
    }
}

static void test_alias_bomb(void)
{
    const char *y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse(y, 0, &r, &d), AG_ETOOBIG);
    ASSERT_NULL(r);
    /* Reported at the alias whose copy crosses the limit. Lines 1-4 make 12 + 112 + 1,112 +
     * 11,112 = 12,348 nodes (keys included), line 5's key and sequence 2 more; each *d copy adds
     * 11,111, so the 8th one (12,350 + 7 * 11,111 = 90,127 before it) passes 100,000. On line 5
     * "e: &e [" takes columns 1-7 and each "*d, " four more: the 8th *d is at column 8 + 7 * 4. */
    ASSERT_STREQ(ag_buf_str(&d), "t:5:36: error: more than 100000 YAML nodes (after expanding "
                                 "aliases)\n");
    ag_buf_cleanup(&d);
}

static void test_input_limit(void)
{
    size_t n = AG_YAML_MAX_INPUT + 1;
    char *big = ag_malloc(n);
    ASSERT_NOT_NULL(big);
    memset(big, ' ', n);
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ag_buf_init(&d, 4096);
    ASSERT_EQ(ag_yaml_parse("t", big, n, 0, &r, &d), AG_ETOOBIG);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:1: error: config larger than 4194304 bytes\n");
    ag_buf_cleanup(&d);
    ag_free(big);
}

static void test_syntax_errors(void)
{
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse("a: b: c\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:1:5: error: invalid YAML: mapping values are not allowed in this context\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: \"abc\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:2:1: error: invalid YAML: found unexpected end of stream "
                                 "(while scanning a quoted scalar at line 1 column 4)\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: \xff\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: invalid YAML: invalid leading UTF-8 octet\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("a: 1\n---\nb: 2\n", 0, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:2:1: error: more than one YAML document; a config is a "
                                 "single document\n");
    ag_buf_cleanup(&d);
}

static void test_stream(void)
{
    /* Three documents: positions stay those of the whole text; "---" alone is an empty document. */
    static const char y[] = "a: 1\n---\nb: [x]\n---\n---\nc: 3\n";
    struct ag_yaml_node **docs = NULL;
    size_t n = 0;
    struct ag_buf d;
    ag_buf_init(&d, 4096);
    ASSERT_OK(ag_yaml_parse_stream("t", y, strlen(y), 0, &docs, &n, &d));
    ASSERT_UEQ(n, 4);
    ASSERT_NOT_NULL(docs[0]);
    ASSERT_EQ(docs[0]->line, 1);
    ASSERT_EQ(docs[1]->line, 3);
    ASSERT_EQ(docs[1]->pairs[0].value->line, 3);
    ASSERT_EQ(docs[1]->pairs[0].value->col, 4);
    ASSERT(ag_yaml_is_null(docs[2]));
    ASSERT_EQ(docs[3]->line, 6);
    ag_yaml_free_stream(docs, n);
    /* An error in the second document frees the first and reports the position. */
    static const char bad[] = "a: 1\n---\nb: [\n";
    ASSERT_EQ(ag_yaml_parse_stream("t", bad, strlen(bad), 0, &docs, &n, &d), AG_EINVAL);
    ASSERT_NULL(docs);
    ASSERT_UEQ(n, 0);
    ASSERT_STRCONTAINS(ag_buf_str(&d), "t:4:1: error: invalid YAML");
    ag_buf_cleanup(&d);
    ASSERT_OK(ag_yaml_parse_stream("t", "", 0, 0, &docs, &n, NULL));
    ASSERT_UEQ(n, 0);
    ASSERT_NULL(docs);
}

static void test_empty(void)
{
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse("", 0, &r, &d));
    ASSERT_NULL(r);
    ag_buf_cleanup(&d);
    ASSERT_OK(parse("# only a comment\n", 0, &r, &d));
    ASSERT_NULL(r);
    ag_buf_cleanup(&d);
    ASSERT_OK(parse("---\n", 0, &r, &d));
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(ag_yaml_is_null(r), 1);
    ag_yaml_free(r);
    ag_buf_cleanup(&d);
    ag_yaml_free(NULL);
}

static void test_env_expansion(void)
{
    ASSERT_OK(setenv("AG_T_HOST", "example.org", 1));
    ASSERT_OK(setenv("AG_T_EMPTY", "", 1));
    ASSERT_OK(unsetenv("AG_T_UNSET"));
    const char *y = "h: ${env:AG_T_HOST}:4317\n"
                    "o: ${AG_T_HOST}\n"
                    "d: $${env:AG_T_HOST}\n"
                    "u: x${env:AG_T_UNSET}y\n"
                    "f: ${env:AG_T_UNSET:-fallback}\n"
                    "e: ${env:AG_T_EMPTY:-fallback}\n"
                    "q: \"${env:AG_T_HOST}\"\n"
                    "${env:AG_T_HOST}: key\n"
                    "p: a$b $\n"
                    "l: [\"${AG_T_HOST}\"]\n"; /* braces are flow indicators: quote */
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse(y, AG_YAML_EXPAND_ENV, &r, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:4:4: warning: environment variable 'AG_T_UNSET' is not set; using \"\"\n");
    ag_buf_cleanup(&d);
    const struct ag_yaml_node *h = ag_yaml_map_get(r, "h");
    ASSERT_STREQ(h->str, "example.org:4317");
    ASSERT_EQ(h->len, 16);
    ASSERT_STREQ(h->raw, "${env:AG_T_HOST}:4317");
    ASSERT_EQ(h->line, 1);
    ASSERT_EQ(h->col, 4);
    ASSERT_EQ(h->quoted, 0);
    ASSERT_STREQ(ag_yaml_map_get(r, "o")->str, "example.org");
    ASSERT_STREQ(ag_yaml_map_get(r, "d")->str, "${env:AG_T_HOST}");
    ASSERT_STREQ(ag_yaml_map_get(r, "u")->str, "xy");
    ASSERT_EQ(ag_yaml_map_get(r, "u")->line, 4);
    ASSERT_STREQ(ag_yaml_map_get(r, "f")->str, "fallback");
    ASSERT_STREQ(ag_yaml_map_get(r, "e")->str, "");
    ASSERT_EQ(ag_yaml_map_get(r, "e")->len, 0);
    ASSERT_STREQ(ag_yaml_map_get(r, "q")->str, "example.org");
    ASSERT_EQ(ag_yaml_map_get(r, "q")->quoted, 1);
    ASSERT_STREQ(ag_yaml_map_get(r, "${env:AG_T_HOST}")->str, "key");
    ASSERT_STREQ(ag_yaml_map_get(r, "p")->str, "a$b $");
    ASSERT_NULL(ag_yaml_map_get(r, "p")->raw);
    ASSERT_STREQ(ag_yaml_map_get(r, "l")->items[0]->str, "example.org");
    ag_yaml_free(r);

    /* Without the flag nothing is expanded. */
    ASSERT_OK(parse("h: ${env:AG_T_HOST}\n", 0, &r, &d));
    ASSERT_STREQ(ag_yaml_map_get(r, "h")->str, "${env:AG_T_HOST}");
    ag_yaml_free(r);
    ag_buf_cleanup(&d);
}

static void test_env_errors(void)
{
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_EQ(parse("a: 1\nx: ${file:secret.txt}\n", AG_YAML_EXPAND_ENV, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:2:4: error: config provider 'file' is not supported by otterd "
                                 "(only ${env:VAR})\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("x: ab${env:AG_T_HOST\n", AG_YAML_EXPAND_ENV, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: unterminated '${' (missing '}')\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("x: ${1BAD}\n", AG_YAML_EXPAND_ENV, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: invalid environment variable name '1BAD' "
                                 "(expected letters, digits and '_', not starting with a digit)\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("x: ${}\n", AG_YAML_EXPAND_ENV, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: empty environment variable name in '${}'\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("x: ${env:A:B}\n", AG_YAML_EXPAND_ENV, &r, &d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: invalid '${env:...}' reference: expected "
                                 "${env:VAR} or ${env:VAR:-default}\n");
    ag_buf_cleanup(&d);
}

static void test_env_too_long(void)
{
    char *val = ag_malloc(40001);
    ASSERT_NOT_NULL(val);
    memset(val, 'v', 40000);
    val[40000] = '\0';
    ASSERT_OK(setenv("AG_T_LONG", val, 1));
    ag_free(val);
    struct ag_yaml_node *r = NULL;
    struct ag_buf d;
    ASSERT_OK(parse("x: ${AG_T_LONG}\n", AG_YAML_EXPAND_ENV, &r, &d));
    ASSERT_EQ(ag_yaml_map_get(r, "x")->len, 40000);
    ag_yaml_free(r);
    ag_buf_cleanup(&d);
    ASSERT_EQ(parse("x: ${AG_T_LONG}${AG_T_LONG}\n", AG_YAML_EXPAND_ENV, &r, &d), AG_ETOOBIG);
    ASSERT_STREQ(ag_buf_str(&d), "t:1:4: error: value longer than 65536 bytes after ${} "
                                 "expansion\n");
    ag_buf_cleanup(&d);
    ASSERT_OK(unsetenv("AG_T_LONG"));
}

static void test_expand_env_direct(void)
{
    struct ag_buf out;
    char unset[8] = "";
    char err[128] = "";
    ASSERT_OK(setenv("AG_T_HOST", "example.org", 1));
    ASSERT_OK(unsetenv("AG_T_UNSET_LONG_NAME"));
    ag_buf_init(&out, 1024);
    ASSERT_OK(ag_yaml_expand_env("$$${AG_T_HOST}$", 15, &out, unset, sizeof(unset), err,
                                 sizeof(err)));
    ASSERT_STREQ(ag_buf_str(&out), "$example.org$");
    ASSERT_STREQ(unset, "");
    ag_buf_cleanup(&out);
    /* The unset name is truncated to the caller's buffer. */
    ASSERT_OK(ag_yaml_expand_env("a${AG_T_UNSET_LONG_NAME}b", 25, &out, unset, sizeof(unset),
                                 err, sizeof(err)));
    ASSERT_STREQ(ag_buf_str(&out), "ab");
    ASSERT_STREQ(unset, "AG_T_UN");
    ag_buf_cleanup(&out);
    ASSERT_OK(ag_yaml_expand_env("", 0, &out, NULL, 0, NULL, 0));
    ASSERT_STREQ(ag_buf_str(&out), "");
    ag_buf_cleanup(&out);
    ASSERT_EQ(ag_yaml_expand_env("${s3:bucket/key}", 16, &out, NULL, 0, err, sizeof(err)),
              AG_EINVAL);
    ASSERT_STREQ(err, "config provider 's3' is not supported by otterd (only ${env:VAR})");
    ASSERT_EQ(ag_yaml_expand_env("${9x:y}", 7, &out, NULL, 0, err, sizeof(err)), AG_EINVAL);
    ASSERT_STREQ(err, "invalid '${...}' reference: '9x' is not a provider name");
    /* A cap too small for the result. */
    ag_buf_init(&out, 4);
    ASSERT_EQ(ag_yaml_expand_env("${AG_T_HOST}", 12, &out, NULL, 0, NULL, 0), AG_ETOOBIG);
    ag_buf_cleanup(&out);
}

static void test_quote(void)
{
    char wide[16];
    char q[10];
    ag_yaml_quote("a'b\x01", wide, sizeof(wide));
    ASSERT_STREQ(wide, "a\\'b\\x01");
    /* 4 bytes used, then "\x01" (4) would leave no room for "..." and the NUL in 10. */
    ag_yaml_quote("a'b\x01", q, sizeof(q));
    ASSERT_STREQ(q, "a\\'b...");
    ag_yaml_quote("abcdefghijkl", q, sizeof(q));
    ASSERT_STREQ(q, "abcdef...");
    ag_yaml_quote("x", q, 4); /* below the minimum: an empty string */
    ASSERT_STREQ(q, "");
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    const char *y = "base: &b {k1: v1, k2: [a, b]}\n"
                    "m:\n"
                    "  <<: *b\n"
                    "  k3: ${AG_T_HOST}\n"
                    "l: [*b, *b]\n";
    ASSERT_OK(setenv("AG_T_HOST", "example.org", 1));
    for (long n = 0;; n++) {
        struct ag_yaml_node *r = NULL;
        ag_mem_fail_after(n);
        int rc = ag_yaml_parse("t", y, strlen(y), AG_YAML_EXPAND_ENV, &r, NULL);
        ag_mem_fail_after(-1);
        if (rc == 0) {
            ASSERT(n > 10);
            ag_yaml_free(r);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(r);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_stream), AG_TEST_CASE(test_tree_and_positions), AG_TEST_CASE(test_quoting_and_null),
             AG_TEST_CASE(test_duplicate_key), AG_TEST_CASE(test_duplicate_key_many),
             AG_TEST_CASE(test_anchors_aliases_merge), AG_TEST_CASE(test_merge_sequence),
             AG_TEST_CASE(test_merge_errors), AG_TEST_CASE(test_unknown_anchor_and_tags),
             AG_TEST_CASE(test_depth_limit), AG_TEST_CASE(test_alias_bomb),
             AG_TEST_CASE(test_input_limit), AG_TEST_CASE(test_syntax_errors),
             AG_TEST_CASE(test_empty), AG_TEST_CASE(test_env_expansion),
             AG_TEST_CASE(test_env_errors), AG_TEST_CASE(test_env_too_long),
             AG_TEST_CASE(test_expand_env_direct), AG_TEST_CASE(test_quote),
             AG_TEST_CASE(test_failmalloc))
