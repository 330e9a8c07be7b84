/* SPDX-License-Identifier: Apache-2.0 */
/* --kb-dir: which files of a directory become documents, in what order, and the errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "cb_kb.h"
#include "cb_kb_dir.h"
#include "config.h"

static char base[256];

static void write_file(const char *name, const char *text, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", base, name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    if (f != NULL) {
        ASSERT_EQ(fwrite(text, 1, len, f), len);
        fclose(f);
    }
}

static void make_dir(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", base, name);
    ASSERT_EQ(mkdir(path, 0700), 0);
}

static void sub(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", base, name);
}

static void test_loads_md_files_in_name_order(void)
{
    struct cb_kb_dir d;
    struct cb_kb *kb = NULL;
    char dir[512], err[512];
    sub(dir, sizeof(dir), "kb");
    make_dir("kb");
    write_file("kb/b.md", "# Bee\nbuzzing insects\n", 22);
    write_file("kb/a.md", "# Ant\ncolony of workers\n", 24);
    write_file("kb/notes.txt", "# not markdown\n", 15);
    write_file("kb/.hidden.md", "# hidden\n", 9);
    write_file("kb/.md", "# only an extension\n", 20);
    make_dir("kb/dir.md");
    ASSERT_OK(cb_kb_dir_load(dir, &d, err, sizeof(err)));
    /* a.md and b.md only; "a.md" < "b.md" byte-wise. */
    ASSERT_EQ(d.n, 2);
    ASSERT_STREQ(d.docs[0].name, "a.md");
    ASSERT_STREQ(d.docs[1].name, "b.md");
    ASSERT_EQ(d.docs[0].len, 24);
    ASSERT_MEMEQ(d.docs[0].text, "# Ant\ncolony of workers\n", 24);
    ASSERT_OK(cb_kb_new(d.docs, d.n, &kb));
    cb_kb_dir_cleanup(&d);
    ASSERT_EQ(d.n, 0);
    /* The knowledge base copied what it needs: it answers after the directory is freed. */
    struct cb_kb_answer a = {0};
    ASSERT_OK(cb_kb_answer(kb, "workers", 7, &a));
    ASSERT_EQ(a.n_hits, 1);
    ASSERT_STREQ(cb_kb_passage(kb, a.hits[0].passage)->document, "a.md");
    ASSERT_STRCONTAINS(a.text, "colony of workers");
    cb_kb_answer_cleanup(&a);
    cb_kb_free(kb);
}

static void test_errors(void)
{
    struct cb_kb_dir d;
    char dir[512], err[512];

    sub(dir, sizeof(dir), "missing");
    ASSERT_EQ(cb_kb_dir_load(dir, &d, err, sizeof(err)), AG_ENOTFOUND);
    ASSERT_STRCONTAINS(err, "cannot open the directory");
    ASSERT_STRCONTAINS(err, "missing");
    cb_kb_dir_cleanup(&d);

    make_dir("empty");
    write_file("empty/readme.txt", "x", 1);
    sub(dir, sizeof(dir), "empty");
    ASSERT_EQ(cb_kb_dir_load(dir, &d, err, sizeof(err)), AG_ENOTFOUND);
    ASSERT_STRCONTAINS(err, "holds no .md file");
    cb_kb_dir_cleanup(&d);

    make_dir("nul");
    write_file("nul/a.md", "# A\nok\n", 7);
    write_file("nul/z.md", "bad\0byte", 8);
    sub(dir, sizeof(dir), "nul");
    ASSERT_EQ(cb_kb_dir_load(dir, &d, err, sizeof(err)), AG_EPROTO);
    ASSERT_STRCONTAINS(err, "z.md contains a NUL byte");
    cb_kb_dir_cleanup(&d);

    /* One byte over the cap is refused, naming the file. */
    make_dir("big");
    size_t n = CB_KB_DIR_MAX_FILE + 1;
    char *big = ag_malloc(n);
    ASSERT_NOT_NULL(big);
    memset(big, 'a', n);
    write_file("big/huge.md", big, n);
    sub(dir, sizeof(dir), "big");
    ASSERT_EQ(cb_kb_dir_load(dir, &d, err, sizeof(err)), AG_ETOOBIG);
    ASSERT_STRCONTAINS(err, "huge.md is larger than");
    cb_kb_dir_cleanup(&d);
    /* Exactly the cap is accepted. */
    write_file("big/huge.md", big, n - 1);
    ASSERT_OK(cb_kb_dir_load(dir, &d, err, sizeof(err)));
    ASSERT_EQ(d.n, 1);
    ASSERT_EQ(d.docs[0].len, CB_KB_DIR_MAX_FILE);
    cb_kb_dir_cleanup(&d);
    ag_free(big);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    char dir[512], err[512];
    sub(dir, sizeof(dir), "kb");
    for (long n = 1; n < 12; n++) {
        struct cb_kb_dir d;
        ag_mem_fail_after(n);
        int rc = cb_kb_dir_load(dir, &d, err, sizeof(err));
        ag_mem_fail_after(0);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        ASSERT(rc != 0 || d.n == 2);
        cb_kb_dir_cleanup(&d);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void cleanup_tree(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", base);
    }
}

static void test_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/cb_kb_dir_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    ASSERT_NOT_NULL(mkdtemp(base));
}

static void test_teardown(void)
{
    cleanup_tree();
}

AG_TEST_MAIN(AG_TEST_CASE(test_setup), AG_TEST_CASE(test_loads_md_files_in_name_order),
             AG_TEST_CASE(test_errors), AG_TEST_CASE(test_failmalloc),
             AG_TEST_CASE(test_teardown))
