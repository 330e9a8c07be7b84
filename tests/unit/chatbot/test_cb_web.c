/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded page: every file of chatbot/web byte for byte at its path, with its type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "cb_web.h"

/* Reads $CB_WEB_DIR/|name| (the source file) whole. */
static char *read_source(const char *name, size_t *len)
{
    const char *dir = getenv("CB_WEB_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "chatbot/web", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = ag_malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static void check(const char *path, const char *file, const char *type)
{
    size_t len = 0;
    char *want = read_source(file, &len);
    const struct cb_web_file *f = cb_web_find(path);
    ASSERT_NOT_NULL(want);
    ASSERT_NOT_NULL(f);
    if (want == NULL || f == NULL) {
        ag_free(want);
        return;
    }
    ASSERT_STREQ(f->content_type, type);
    ASSERT_EQ(f->len, len);
    ASSERT_MEMEQ(f->data, want, len);
    ASSERT_EQ(f->data[f->len], '\0'); /* a terminating NUL follows the bytes */
    ag_free(want);
}

static void test_files(void)
{
    check("/", "index.html", "text/html; charset=utf-8");
    check("/index.html", "index.html", "text/html; charset=utf-8");
    check("/app.js", "app.js", "text/javascript; charset=utf-8");
    check("/app.css", "app.css", "text/css; charset=utf-8");
    ASSERT_EQ(cb_web_file_count, 4);
}

static void test_unknown(void)
{
    ASSERT_NULL(cb_web_find("/app.js?x=1"));
    ASSERT_NULL(cb_web_find("/APP.JS"));
    ASSERT_NULL(cb_web_find("app.js"));
    ASSERT_NULL(cb_web_find("/web/app.js"));
    ASSERT_NULL(cb_web_find(""));
    ASSERT_NULL(cb_web_find(NULL));
}

static void test_page_loads_only_its_own_files(void)
{
    const struct cb_web_file *f = cb_web_find("/");
    ASSERT_NOT_NULL(f);
    /* No inline script or style and nothing from elsewhere: the CSP would block them. */
    ASSERT(strstr(f->data, "<script>") == NULL);
    ASSERT(strstr(f->data, "<style") == NULL);
    ASSERT(strstr(f->data, " style=") == NULL);
    ASSERT(strstr(f->data, "//") == NULL);
    ASSERT_STRCONTAINS(f->data, "<script src=\"app.js\" defer></script>");
    ASSERT_STRCONTAINS(f->data, "<link rel=\"stylesheet\" href=\"app.css\">");
    ASSERT_STRCONTAINS(CB_WEB_CSP, "script-src 'self'");
    ASSERT(strstr(CB_WEB_CSP, "unsafe") == NULL);
}

AG_TEST_MAIN(AG_TEST_CASE(test_files), AG_TEST_CASE(test_unknown),
             AG_TEST_CASE(test_page_loads_only_its_own_files))
