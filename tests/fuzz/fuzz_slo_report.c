/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the escaping of the text, Markdown and HTML reports: the input, split at NUL bytes,
 * becomes the names, display name, burn window, alert name and warning of the hand-built report
 * (tests/unit/slo/slo_report_fixture.h). Whatever those bytes are, every output must be valid
 * UTF-8; the text report must hold no control byte but newlines and (with colour) its own escape
 * sequences, and as many lines as with plain names; the Markdown as many lines and table cell
 * separators; the HTML as many '<', '>' and '"' as with plain names (no markup from a name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "slo_eval.h"
#include "slo_report_fixture.h"
#include "slo_report_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { N_FIELDS = 6 };

static size_t count_byte(const char *s, char c)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += *s == c;
    }
    return n;
}

/* Unescaped " | " cell separators of Markdown (a name's pipe is written "\|"). */
static size_t count_cells(const char *s)
{
    size_t n = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        n += s[i] == '|' && (i == 0 || s[i - 1] != '\\');
    }
    return n;
}

static void check_utf8(const char *s)
{
    while (*s != '\0') {
        if (slo_report_utf8_next(&s) < 0) {
            abort();
        }
    }
}

struct outputs {
    struct ag_buf text, colour, md, html;
};

static void render(const char *const f[N_FIELDS], struct outputs *o)
{
    struct slo_report r;
    fixture_report(&r);
    fix_defs[0].name = (char *)f[0];
    fix_defs[2].display_name = (char *)f[1];
    fix_burns[0].window = f[2];
    fix_alerts[3].name = (char *)f[3];
    fix_warning_ptr_set(f[4]);
    fix_defs[3].name = (char *)f[5];
    ag_buf_init(&o->text, 1u << 24);
    ag_buf_init(&o->colour, 1u << 24);
    ag_buf_init(&o->md, 1u << 24);
    ag_buf_init(&o->html, 1u << 24);
    if (slo_report_text(&r, false, &o->text) != 0 || slo_report_text(&r, true, &o->colour) != 0 ||
        slo_report_markdown(&r, &o->md) != 0 || slo_report_html(&r, &o->html) != 0) {
        abort();
    }
}

static void release(struct outputs *o)
{
    ag_buf_cleanup(&o->text);
    ag_buf_cleanup(&o->colour);
    ag_buf_cleanup(&o->md);
    ag_buf_cleanup(&o->html);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const plain[N_FIELDS] = {"a", "b", "5m", "c", "d", "e"};
    const char *f[N_FIELDS];
    char *copy = ag_malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* Fields split at NUL bytes; missing ones are empty. */
    const char *p = copy;
    const char *end = copy + size;
    for (int i = 0; i < N_FIELDS; i++) {
        f[i] = p <= end ? p : "";
        p = p <= end ? p + strlen(p) + 1 : p;
    }

    struct outputs got, base;
    render(f, &got);
    render(plain, &base);
    const char *t = ag_buf_str(&got.text), *c = ag_buf_str(&got.colour);
    const char *m = ag_buf_str(&got.md), *h = ag_buf_str(&got.html);
    check_utf8(t);
    check_utf8(c);
    check_utf8(m);
    check_utf8(h);
    for (const char *q = t; *q != '\0'; q++) {
        if (((unsigned char)*q < 0x20 && *q != '\n') || *q == 0x7f) {
            abort();
        }
    }
    if (count_byte(c, '\x1b') != count_byte(ag_buf_str(&base.colour), '\x1b') ||
        count_byte(t, '\n') != count_byte(ag_buf_str(&base.text), '\n') ||
        count_byte(m, '\n') != count_byte(ag_buf_str(&base.md), '\n') ||
        count_cells(m) != count_cells(ag_buf_str(&base.md))) {
        abort();
    }
    if (count_byte(h, '<') != count_byte(ag_buf_str(&base.html), '<') ||
        count_byte(h, '>') != count_byte(ag_buf_str(&base.html), '>') ||
        count_byte(h, '"') != count_byte(ag_buf_str(&base.html), '"')) {
        abort();
    }
    release(&got);
    release(&base);
    ag_free(copy);
    return 0;
}
