/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The knowledge base: passage splitting, tokenisation, BM25 scores worked out by hand on a tiny
 * corpus, answers, and the bundled documents.
 */
#include <math.h>
#include <string.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "cb_kb.h"
#include "config.h"

#define DOC(name, text) {name, text, sizeof(text) - 1}

/*
 * The tiny corpus. After tokenisation ("the" is a stop word):
 *   P0 = otter agent config          |P0| = 3
 *   P1 = otter slo budget budget     |P1| = 4
 *   P2 = deploy agent                |P2| = 2
 * N = 3, avgdl = 9 / 3 = 3, k1 = 1.2, b = 0.75.
 */
static const struct cb_kb_doc tiny[] = {
    DOC("one.md", "Otter agent config."),
    DOC("two.md", "The otter SLO budget, budget!"),
    DOC("three.md", "Deploy the agent"),
};

/* idf(n) = ln(1 + (3 - n + 0.5) / (n + 0.5)):  n = 1: ln(1 + 2.5/1.5) = ln(2.6667) = 0.9808293
 *                                              n = 2: ln(1 + 1.5/2.5) = ln(1.6)    = 0.4700036 */
#define IDF1 0.98082925301172630
#define IDF2 0.47000362924573563

static void test_tiny_passages(void)
{
    struct cb_kb *kb = NULL;
    ASSERT_OK(cb_kb_new(tiny, 3, &kb));
    ASSERT_EQ(cb_kb_passage_count(kb), 3);
    ASSERT_EQ(cb_kb_passage(kb, 0)->n_tokens, 3);
    ASSERT_EQ(cb_kb_passage(kb, 1)->n_tokens, 4);
    ASSERT_EQ(cb_kb_passage(kb, 2)->n_tokens, 2);
    /* No heading: the title is the document name without ".md". */
    ASSERT_STREQ(cb_kb_passage(kb, 1)->title, "two");
    ASSERT_STREQ(cb_kb_passage(kb, 1)->document, "two.md");
    ASSERT_STREQ(cb_kb_passage(kb, 1)->text, "The otter SLO budget, budget!");
    cb_kb_free(kb);
}

static void test_bm25_single_term(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_hit hits[3];
    size_t n = 0;
    ASSERT_OK(cb_kb_new(tiny, 3, &kb));
    /* budget: n = 1, only P1 with f = 2, |D| = 4:
     * 0.9808293 * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 4/3)) = 0.9808293 * 4.4 / 3.5 = 1.2330425 */
    ASSERT_OK(cb_kb_search(kb, "budget", 6, hits, 3, &n));
    ASSERT_EQ(n, 1);
    ASSERT_EQ(hits[0].passage, 1);
    ASSERT(fabs(hits[0].score - 1.2330424895) < 1e-9);
    ASSERT(fabs(hits[0].score - IDF1 * 4.4 / 3.5) < 1e-12);
    /* Case, punctuation and a repeated query term change nothing. */
    ASSERT_OK(cb_kb_search(kb, "BUDGET? budget!", 15, hits, 3, &n));
    ASSERT_EQ(n, 1);
    ASSERT(fabs(hits[0].score - 1.2330424895) < 1e-9);
    cb_kb_free(kb);
}

static void test_bm25_length_normalisation(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_hit hits[3];
    size_t n = 0;
    ASSERT_OK(cb_kb_new(tiny, 3, &kb));
    /* agent: n = 2, f = 1 in P0 (|D| = 3) and P2 (|D| = 2).
     *   P2: 0.4700036 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2/3)) = 0.4700036 * 2.2 / 1.9 = 0.5442147
     *   P0: 0.4700036 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 3/3)) = 0.4700036 * 2.2 / 2.2 = 0.4700036
     * The shorter passage wins. */
    ASSERT_OK(cb_kb_search(kb, "agent", 5, hits, 3, &n));
    ASSERT_EQ(n, 2);
    ASSERT_EQ(hits[0].passage, 2);
    ASSERT(fabs(hits[0].score - 0.5442147286) < 1e-9);
    ASSERT_EQ(hits[1].passage, 0);
    ASSERT(fabs(hits[1].score - IDF2) < 1e-12);
    cb_kb_free(kb);
}

static void test_bm25_two_terms(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_hit hits[3];
    size_t n = 0;
    ASSERT_OK(cb_kb_new(tiny, 3, &kb));
    /* "otter agent": otter has n = 2 (P0, P1), agent n = 2 (P0, P2).
     *   P0: 0.4700036 + 0.4700036                                    = 0.9400073
     *   P2: agent only                                               = 0.5442147
     *   P1: otter, |D| = 4: 0.4700036 * 2.2 / (1 + 1.2 * 1.25) = 0.4700036 * 2.2 / 2.5 = 0.4136032 */
    ASSERT_OK(cb_kb_search(kb, "How do I run the otter agent?", 29, hits, 3, &n));
    ASSERT_EQ(n, 3);
    ASSERT_EQ(hits[0].passage, 0);
    ASSERT(fabs(hits[0].score - 0.9400072585) < 1e-9);
    ASSERT_EQ(hits[1].passage, 2);
    ASSERT(fabs(hits[1].score - 0.5442147286) < 1e-9);
    ASSERT_EQ(hits[2].passage, 1);
    ASSERT(fabs(hits[2].score - IDF2 * 2.2 / 2.5) < 1e-12);
    /* Only the best one when asked for one. */
    ASSERT_OK(cb_kb_search(kb, "otter agent", 11, hits, 1, &n));
    ASSERT_EQ(n, 1);
    ASSERT_EQ(hits[0].passage, 0);
    cb_kb_free(kb);
}

static void test_no_match(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_hit hits[3];
    size_t n = 5;
    struct cb_kb_answer a;
    ASSERT_OK(cb_kb_new(tiny, 3, &kb));
    ASSERT_OK(cb_kb_search(kb, "the a of x", 10, hits, 3, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(cb_kb_search(kb, "", 0, hits, 3, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(cb_kb_answer(kb, "zebra", 5, &a));
    ASSERT_EQ(a.n_hits, 0);
    ASSERT_STRCONTAINS(a.text, "found nothing");
    cb_kb_answer_cleanup(&a);
    cb_kb_free(kb);
}

static void test_answer(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_answer a;
    ASSERT_OK(cb_kb_new(tiny, 3, &kb));
    /* 0.4136 < 0.9400 / 2: the third passage is left out. */
    ASSERT_OK(cb_kb_answer(kb, "otter agent", 11, &a));
    ASSERT_EQ(a.n_hits, 2);
    ASSERT_STREQ(a.text, "## one\n\nOtter agent config.\n\n## three\n\nDeploy the agent");
    ASSERT_EQ(a.text_len, strlen(a.text));
    cb_kb_answer_cleanup(&a);
    cb_kb_free(kb);
}

static void test_tokenizer(void)
{
    ASSERT_EQ(cb_kb_count_words("Hello, w\xc3\xb6rld 42!", 16), 3);
    ASSERT_EQ(cb_kb_count_words("", 0), 0);
    ASSERT_EQ(cb_kb_count_words("  memory_limiter  ", 18), 1);
    /* UTF-8 stays inside a word; '_' joins config keys. */
    static const struct cb_kb_doc docs[] = {
        DOC("u.md", "w\xc3\xb6rld memory_limiter x-ray"),
        DOC("v.md", "other words"),
    };
    struct cb_kb *kb = NULL;
    struct cb_kb_hit hits[2];
    size_t n = 0;
    ASSERT_OK(cb_kb_new(docs, 2, &kb));
    /* "x" is one byte: dropped; "ray" stays. */
    ASSERT_EQ(cb_kb_passage(kb, 0)->n_tokens, 3);
    ASSERT_OK(cb_kb_search(kb, "W\xc3\xb6RLD", 6, hits, 2, &n));
    ASSERT_EQ(n, 1);
    ASSERT_OK(cb_kb_search(kb, "memory", 6, hits, 2, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(cb_kb_search(kb, "memory_limiter", 14, hits, 2, &n));
    ASSERT_EQ(n, 1);
    cb_kb_free(kb);
}

static void test_markdown_sections(void)
{
    static const struct cb_kb_doc docs[] = {
        DOC("m.md", "# Top\n\nintro text\n\n## Sec A\n\nalpha text\n```sh\n# not a heading\n```\n"
                    "\n## Empty\n\n## Sec B\nbeta\n"),
    };
    struct cb_kb *kb = NULL;
    ASSERT_OK(cb_kb_new(docs, 1, &kb));
    ASSERT_EQ(cb_kb_passage_count(kb), 3);
    ASSERT_STREQ(cb_kb_passage(kb, 0)->title, "Top");
    ASSERT_STREQ(cb_kb_passage(kb, 0)->text, "intro text");
    ASSERT_STREQ(cb_kb_passage(kb, 1)->title, "Sec A");
    ASSERT_STREQ(cb_kb_passage(kb, 1)->text, "alpha text\n```sh\n# not a heading\n```");
    ASSERT_STREQ(cb_kb_passage(kb, 2)->title, "Sec B");
    ASSERT_STREQ(cb_kb_passage(kb, 2)->text, "beta");
    /* Title words are indexed: "sec", "alpha", "text", "not", "heading", "sh" -> 5 (not: stop). */
    ASSERT_EQ(cb_kb_passage(kb, 1)->n_tokens, 5);
    cb_kb_free(kb);
}

static void test_long_section_split(void)
{
    char text[2048];
    size_t off = 0;
    off += (size_t)snprintf(text + off, sizeof(text) - off, "## Long\n\n");
    for (int p = 0; p < 3; p++) {
        for (int i = 0; i < 100; i++) {
            off += (size_t)snprintf(text + off, sizeof(text) - off, "w%d%02d ", p, i);
        }
        off += (size_t)snprintf(text + off, sizeof(text) - off, "\n\n");
    }
    struct cb_kb_doc doc = {"l.md", text, off};
    struct cb_kb *kb = NULL;
    ASSERT_OK(cb_kb_new(&doc, 1, &kb));
    /* Three paragraphs of 500 bytes: no two fit in 900, so one passage each. */
    ASSERT_EQ(cb_kb_passage_count(kb), 3);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_STREQ(cb_kb_passage(kb, i)->title, "Long");
        ASSERT(cb_kb_passage(kb, i)->text_len <= CB_KB_MAX_PASSAGE);
        ASSERT_EQ(cb_kb_passage(kb, i)->text[1], '0' + (int)i);
    }
    cb_kb_free(kb);
}

static void test_bad_input(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_doc bad = {NULL, "x", 1};
    ASSERT_EQ(cb_kb_new(tiny, 0, &kb), AG_EINVAL);
    ASSERT_EQ(cb_kb_new(&bad, 1, &kb), AG_EINVAL);
    ASSERT_NULL(kb);
    cb_kb_free(NULL);
}

static int sources_contain(const struct cb_kb *kb, const struct cb_kb_answer *a, const char *doc)
{
    for (size_t i = 0; i < a->n_hits; i++) {
        if (strcmp(cb_kb_passage(kb, a->hits[i].passage)->document, doc) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_bundled(void)
{
    struct cb_kb *kb = NULL;
    struct cb_kb_answer a;
    ASSERT(cb_kb_bundled_count >= 6);
    ASSERT_OK(cb_kb_new(cb_kb_bundled, cb_kb_bundled_count, &kb));
    ASSERT(cb_kb_passage_count(kb) >= 30);
    for (size_t i = 0; i < cb_kb_passage_count(kb); i++) {
        ASSERT(cb_kb_passage(kb, i)->text_len <= 2 * CB_KB_MAX_PASSAGE);
    }
    static const struct {
        const char *q, *doc;
    } cases[] = {
        {"Why does otterd answer 503 with Retry-After?", "troubleshooting.md"},
        {"How do I validate my config file?", "configuration.md"},
        {"What is a burn rate?", "slo.md"},
        {"Which credentials providers does the AWS layer use? IRSA?", "aws-exporters.md"},
        {"How do I tear down an environment with ansible?", "deploying.md"},
        {"Where does otterd write data without an AWS account?", "overview.md"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_OK(cb_kb_answer(kb, cases[i].q, strlen(cases[i].q), &a));
        int ok = a.n_hits > 0 && sources_contain(kb, &a, cases[i].doc);
        if (!ok) {
            printf("# %s -> %s\n", cases[i].q,
                   a.n_hits ? cb_kb_passage(kb, a.hits[0].passage)->document : "(none)");
        }
        cb_kb_answer_cleanup(&a);
        ASSERT(ok);
    }
    cb_kb_free(kb);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    int built = 0;
    for (long n = 1; n < 100000 && !built; n++) {
        struct cb_kb *kb = NULL;
        struct cb_kb_answer a;
        ag_mem_fail_after(n);
        int rc = cb_kb_new(cb_kb_bundled, cb_kb_bundled_count, &kb);
        if (rc == 0) {
            rc = cb_kb_answer(kb, "otter agent budget", 18, &a);
            if (rc == 0) {
                cb_kb_answer_cleanup(&a);
                built = 1;
            }
        }
        ag_mem_fail_after(0);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        cb_kb_free(kb);
    }
    ASSERT(built);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_tiny_passages), AG_TEST_CASE(test_bm25_single_term),
             AG_TEST_CASE(test_bm25_length_normalisation), AG_TEST_CASE(test_bm25_two_terms),
             AG_TEST_CASE(test_no_match), AG_TEST_CASE(test_answer), AG_TEST_CASE(test_tokenizer),
             AG_TEST_CASE(test_markdown_sections), AG_TEST_CASE(test_long_section_split),
             AG_TEST_CASE(test_bad_input), AG_TEST_CASE(test_bundled),
             AG_TEST_CASE(test_failmalloc))
