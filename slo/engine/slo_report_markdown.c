/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo report --format markdown`: a GitHub-flavoured Markdown table per instant, for a CI job
 * summary or a pull request comment. Status is a plain word (no emoji), figures are those of the
 * text report (slo_report_fmt.h). Names come from user files, so every character that could
 * end a cell or start inline markup is backslash-escaped.
 */
#include "slo_eval.h"

#include <stdio.h>
#include <string.h>

#include "slo_report_fmt.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * Appends |s| escaped for a table cell: the pipe ends a cell; backslash, backtick, emphasis,
 * brackets, angle brackets (raw HTML), tilde (strikethrough), ampersand (entities) and dollar
 * (GitHub's maths) start markup. Control characters and malformed bytes become U+FFFD, so a
 * newline never breaks the table.
 */
static int add_md(struct ag_buf *out, const char *s)
{
    static const char special[] = "\\|`*_[]<>~&$";
    while (*s != '\0') {
        const char *start = s;
        int32_t cp = slo_report_utf8_next(&s);
        int rc;
        if (cp < 0 || slo_report_is_control(cp)) {
            rc = ag_buf_adds(out, REPLACEMENT);
        } else if (cp < 0x80 && strchr(special, (int)cp) != NULL) {
            rc = ag_buf_addc(out, '\\');
            if (rc == 0) {
                rc = ag_buf_addc(out, (char)cp);
            }
        } else {
            rc = ag_buf_add(out, start, (size_t)(s - start));
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int add_cell(struct ag_buf *out, const char *s)
{
    int rc = ag_buf_addc(out, ' ');
    if (rc == 0) {
        rc = add_md(out, s);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, " |");
    }
    return rc;
}

/* A cell of figures this module wrote itself (digits, "%", "/", "—", words): no escaping. */
static int add_raw_cell(struct ag_buf *out, const char *s)
{
    int rc = ag_buf_addc(out, ' ');
    if (rc == 0) {
        rc = ag_buf_adds(out, s);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, " |");
    }
    return rc;
}

static int write_row(const struct slo_eval *ev, struct ag_buf *out)
{
    struct slo_report_figs f;
    int rc = slo_report_figs(ev, &f);
    if (rc == 0) {
        rc = ag_buf_addc(out, '|');
    }
    if (rc != 0 || (rc = add_cell(out, slo_report_name(ev))) != 0 ||
        (rc = add_raw_cell(out, slo_report_status(ev))) != 0 ||
        (rc = add_raw_cell(out, f.attainment)) != 0 ||
        (rc = add_raw_cell(out, f.objective)) != 0 ||
        (rc = add_raw_cell(out, f.budget_left)) != 0 ||
        (rc = add_raw_cell(out, f.bad_total)) != 0) {
        return rc;
    }
    /* Burn rates, then firing alerts, names escaped one by one and joined with ", ". */
    rc = ag_buf_addc(out, ' ');
    if (rc == 0) {
        rc = slo_report_burn_list(ev, add_md, out);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, " | ");
    }
    size_t listed = 0;
    for (size_t i = 0; i < ev->n_alerts && rc == 0; i++) {
        if (slo_report_alert_listed(ev, i)) {
            rc = listed++ > 0 ? ag_buf_adds(out, ", ") : 0;
            if (rc == 0) {
                rc = add_md(out, ev->alerts[i].def->name);
            }
        }
    }
    if (rc == 0 && listed == 0) {
        rc = ag_buf_adds(out, ev->n_alerts > 0 ? "none" : SLO_REPORT_NULL);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, " |");
    }
    if (rc == 0) {
        rc = add_raw_cell(out, f.tte);
    }
    if (rc == 0) {
        rc = ag_buf_addc(out, '\n');
    }
    return rc;
}

static int write_notes(const struct slo_report_at *at, struct ag_buf *out)
{
    int rc = 0;
    bool any = false;
    for (size_t i = 0; i < at->n_slos && rc == 0; i++) {
        const struct slo_eval *ev = &at->slos[i];
        for (size_t j = 0; j <= ev->n_warnings && rc == 0; j++) {
            char gap[SLO_REPORT_GAP_CAP];
            const char *text;
            if (j < ev->n_warnings) {
                text = ev->warnings[j] != NULL ? ev->warnings[j] : "";
            } else if (ev->gap_ms > 0) {
                text = gap;
            } else {
                break;
            }
            rc = ag_buf_adds(out, any ? "- " : "\n- ");
            any = true;
            if (rc == 0) {
                rc = add_md(out, slo_report_name(ev));
            }
            if (rc == 0) {
                rc = ag_buf_adds(out, ": ");
            }
            if (rc == 0 && text == gap) {
                slo_report_fmt_gap(ev->gap_ms, gap);
                rc = ag_buf_adds(out, gap);
            } else if (rc == 0) {
                rc = add_md(out, text);
            }
            if (rc == 0) {
                rc = ag_buf_addc(out, '\n');
            }
        }
    }
    return rc;
}

static int write_instant(const struct slo_report_at *at, struct ag_buf *out)
{
    char when[SLO_REPORT_NUM_CAP];
    int rc;

    slo_report_fmt_instant(at->at_ms, when);
    if ((rc = ag_buf_printf(out, "### SLOs at %s\n\n", when)) != 0) {
        return rc;
    }
    if (at->n_slos == 0) {
        return ag_buf_adds(out, "No SLO.\n");
    }
    rc = ag_buf_adds(out, "| SLO | Status | Attainment | Objective | Budget left | Bad / total | "
                          "Burn rates | Firing alerts | Time to exhaustion |\n"
                          "| :-- | :-- | --: | --: | --: | --: | :-- | :-- | --: |\n");
    for (size_t i = 0; i < at->n_slos && rc == 0; i++) {
        rc = write_row(&at->slos[i], out);
    }
    if (rc == 0) {
        rc = write_notes(at, out);
    }
    return rc;
}

int slo_report_markdown(const struct slo_report *r, struct ag_buf *out)
{
    int rc = ag_buf_adds(out, "## SLO report\n\n");
    if (rc == 0 && r->n_evals == 0) {
        return ag_buf_adds(out, "No evaluation.\n");
    }
    for (size_t i = 0; i < r->n_evals && rc == 0; i++) {
        if (i > 0) {
            rc = ag_buf_addc(out, '\n');
        }
        if (rc == 0) {
            rc = write_instant(&r->evals[i], out);
        }
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "\nTime to exhaustion is an estimate at the current burn rate "
                              "(errors age out of a rolling window).\n");
    }
    return rc;
}
