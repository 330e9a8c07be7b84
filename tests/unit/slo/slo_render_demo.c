/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints the hand-built report of slo_report_fixture.h through one renderer: HTML by default
 * (the page tests/integration/test_slo_html.py opens in headless Chromium), or the format named
 * by the only argument: html, text, text-colour, markdown.
 * TODO(render): #5 the browser test will render through `slo report --format html` once the
 * command exists; this program then only serves the renderer's own checks.
 */
#include <stdio.h>
#include <string.h>

#include "ag_buf.h"
#include "slo_eval.h"
#include "slo_report_fixture.h"

int main(int argc, char **argv)
{
    const char *format = argc > 1 ? argv[1] : "html";
    struct slo_report r;
    struct ag_buf out;
    int rc;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [html|text|text-colour|markdown]\n", argv[0]);
        return 2;
    }
    fixture_report(&r);
    ag_buf_init(&out, 1u << 24);
    if (strcmp(format, "html") == 0) {
        rc = slo_report_html(&r, &out);
    } else if (strcmp(format, "text") == 0) {
        rc = slo_report_text(&r, false, &out);
    } else if (strcmp(format, "text-colour") == 0) {
        rc = slo_report_text(&r, true, &out);
    } else if (strcmp(format, "markdown") == 0) {
        rc = slo_report_markdown(&r, &out);
    } else {
        fprintf(stderr, "%s: unknown format \"%s\"; expected html, text, text-colour or "
                        "markdown\n", argv[0], format);
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: rendering failed: %s\n", argv[0], ag_strerror(rc));
        return 1;
    }
    if (fwrite(ag_buf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        ag_buf_cleanup(&out);
        return 1;
    }
    ag_buf_cleanup(&out);
    return 0;
}
