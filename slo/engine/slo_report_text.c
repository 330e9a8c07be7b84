/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo report --format text`: one terminal table per instant, with a budget bar of block
 * characters, the burn rates of each SLO's windows and, when asked, ANSI colours on the status
 * and the bar. Column widths come from the
 * content, counted in code points so the bar's three-byte characters and UTF-8 names align.
 * Names come from user files: control characters (escape sequences included) never reach the
 * terminal.
 */
#include "slo_eval.h"

#include <stdio.h>
#include <string.h>

#include "ag_mem.h"
#include "slo_report_fmt.h"

#define BAR_FULL  "\xe2\x96\x88" /* U+2588 FULL BLOCK */
#define BAR_EMPTY "\xe2\x96\x91" /* U+2591 LIGHT SHADE */
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */
#define SGR_RESET "\x1b[0m"
#define COL_SEP   "  "

struct cell {
    char *text;         /* owned, sanitised */
    size_t width;       /* in code points */
    const char *colour; /* an SGR sequence, or NULL */
};

struct table {
    size_t cols, rows;  /* rows include the header */
    bool *right;        /* per column: right-aligned */
    struct cell *cells; /* rows * cols */
};

static const char *status_colour(enum slo_status s)
{
    switch (s) {
    case SLO_STATUS_OK:
        return "\x1b[32m";
    case SLO_STATUS_WARNING:
        return "\x1b[33m";
    case SLO_STATUS_BREACHED:
        return "\x1b[31m";
    case SLO_STATUS_NO_DATA:
        return "\x1b[2m";
    }
    return NULL;
}

/* Appends |s| with every control character and malformed byte replaced by U+FFFD; adds the
 * code points written to |*width| when not NULL. */
static int add_clean(struct ag_buf *out, const char *s, size_t *width)
{
    while (*s != '\0') {
        const char *start = s;
        int32_t cp = slo_report_utf8_next(&s);
        int rc = cp < 0 || slo_report_is_control(cp)
                     ? ag_buf_adds(out, REPLACEMENT)
                     : ag_buf_add(out, start, (size_t)(s - start));
        if (rc != 0) {
            return rc;
        }
        if (width != NULL) {
            (*width)++;
        }
    }
    return 0;
}

/* Sets cell (|row|, |col|) to a sanitised copy of |s|. */
static int set_cell(struct table *t, size_t row, size_t col, const char *s, const char *colour)
{
    struct ag_buf b;
    struct cell *c = &t->cells[row * t->cols + col];
    ag_buf_init(&b, 1u << 20);
    c->width = 0;
    int rc = add_clean(&b, s, &c->width);
    if (rc != 0) {
        return rc;
    }
    size_t len = 0;
    c->text = ag_buf_ptr(&b) != NULL ? (char *)ag_buf_steal(&b, &len) : ag_strdup("");
    c->colour = colour;
    return c->text != NULL ? 0 : AG_ENOMEM;
}

static void table_free(struct table *t)
{
    if (t->cells != NULL) {
        for (size_t i = 0; i < t->rows * t->cols; i++) {
            ag_free(t->cells[i].text);
        }
    }
    ag_free(t->cells);
    ag_free(t->right);
}

static int add_pad(struct ag_buf *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = ag_buf_addc(out, ' ');
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int table_write(const struct table *t, bool colour, struct ag_buf *out)
{
    size_t *w = ag_calloc(t->cols, sizeof(*w));
    int rc = 0;
    if (w == NULL) {
        return AG_ENOMEM;
    }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            if (t->cells[r * t->cols + c].width > w[c]) {
                w[c] = t->cells[r * t->cols + c].width;
            }
        }
    }
    for (size_t r = 0; r < t->rows && rc == 0; r++) {
        for (size_t c = 0; c < t->cols && rc == 0; c++) {
            const struct cell *cell = &t->cells[r * t->cols + c];
            size_t pad = w[c] - cell->width;
            bool last = c + 1 == t->cols;
            if (c > 0) {
                rc = ag_buf_adds(out, COL_SEP);
            }
            if (rc == 0 && t->right[c]) {
                rc = add_pad(out, pad);
            }
            if (rc == 0 && colour && cell->colour != NULL && cell->width > 0) {
                rc = ag_buf_adds(out, cell->colour);
                if (rc == 0) {
                    rc = ag_buf_adds(out, cell->text);
                }
                if (rc == 0) {
                    rc = ag_buf_adds(out, SGR_RESET);
                }
            } else if (rc == 0) {
                rc = ag_buf_adds(out, cell->text);
            }
            /* No trailing blanks: the last column is never padded on the right. */
            if (rc == 0 && !t->right[c] && !last) {
                rc = add_pad(out, pad);
            }
        }
        if (rc == 0) {
            rc = ag_buf_addc(out, '\n');
        }
    }
    ag_free(w);
    return rc;
}

/* Fills the row |row| of |t| with the figures of |ev|. */
/* Appends |s| as is: set_cell() sanitises the whole cell afterwards. */
static int add_plain(struct ag_buf *out, const char *s)
{
    return ag_buf_adds(out, s);
}

static int fill_row(struct table *t, size_t row, const struct slo_eval *ev)
{
    struct slo_report_figs f;
    char bar[SLO_REPORT_BAR_CELLS * 3 + 1];
    const char *colour = status_colour(ev->budget.status);
    size_t col = 0;
    int rc = slo_report_figs(ev, &f);
    if (rc != 0) {
        return rc;
    }
    size_t blen = 0;
    for (unsigned i = 0; i < SLO_REPORT_BAR_CELLS; i++) {
        memcpy(bar + blen, i < f.bar_cells ? BAR_FULL : BAR_EMPTY, 3);
        blen += 3;
    }
    bar[blen] = '\0';

    if ((rc = set_cell(t, row, col++, slo_report_name(ev), NULL)) != 0 ||
        (rc = set_cell(t, row, col++, slo_report_status(ev), colour)) != 0 ||
        (rc = set_cell(t, row, col++, f.attainment, NULL)) != 0 ||
        (rc = set_cell(t, row, col++, f.objective, NULL)) != 0 ||
        (rc = set_cell(t, row, col++, bar, colour)) != 0 ||
        (rc = set_cell(t, row, col++, f.budget_left, NULL)) != 0) {
        return rc;
    }

    struct ag_buf firing;
    ag_buf_init(&firing, 1u << 20);
    rc = slo_report_burn_list(ev, add_plain, &firing);
    if (rc == 0) {
        rc = set_cell(t, row, col++, ag_buf_str(&firing), NULL);
    }
    ag_buf_reset(&firing);
    size_t listed = 0;
    for (size_t i = 0; i < ev->n_alerts && rc == 0; i++) {
        if (slo_report_alert_listed(ev, i)) {
            rc = listed++ > 0 ? ag_buf_adds(&firing, ", ") : 0;
            if (rc == 0) {
                rc = ag_buf_adds(&firing, ev->alerts[i].def->name);
            }
        }
    }
    if (rc == 0) {
        rc = set_cell(t, row, col++,
                      listed > 0 ? ag_buf_str(&firing)
                                 : (ev->n_alerts > 0 ? "none" : SLO_REPORT_NULL),
                      NULL);
    }
    ag_buf_cleanup(&firing);
    if (rc == 0) {
        rc = set_cell(t, row, col++, f.tte, NULL);
    }
    return rc;
}

static int write_instant(const struct slo_report_at *at, bool colour, struct ag_buf *out)
{
    struct table t = {0, 0, NULL, NULL};
    char when[SLO_REPORT_NUM_CAP];
    int rc;

    slo_report_fmt_instant(at->at_ms, when);
    if ((rc = ag_buf_printf(out, "SLOs at %s\n", when)) != 0) {
        return rc;
    }
    if (at->n_slos == 0) {
        return ag_buf_adds(out, "  (no SLO)\n");
    }
    t.cols = 9;
    t.rows = 1 + at->n_slos;
    t.right = ag_calloc(t.cols, sizeof(*t.right));
    t.cells = ag_calloc(t.cols * t.rows, sizeof(*t.cells));
    if (t.right == NULL || t.cells == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    static const char *const heads[9] = {"SLO",         "STATUS", "ATTAINMENT", "OBJECTIVE",
                                         "BUDGET LEFT", "",       "BURN RATES", "FIRING",
                                         "TTE"};
    static const bool right[9] = {false, false, true, true, false, true, false, false, true};
    for (size_t col = 0; col < t.cols && rc == 0; col++) {
        t.right[col] = right[col];
        rc = set_cell(&t, 0, col, heads[col], NULL);
    }
    for (size_t i = 0; i < at->n_slos && rc == 0; i++) {
        rc = fill_row(&t, i + 1, &at->slos[i]);
    }
    if (rc == 0) {
        rc = table_write(&t, colour, out);
    }
    /* Notes under the table: the engine's warnings and the agent's own gaps. */
    for (size_t i = 0; i < at->n_slos && rc == 0; i++) {
        const struct slo_eval *ev = &at->slos[i];
        for (size_t j = 0; j < ev->n_warnings && rc == 0; j++) {
            rc = ag_buf_adds(out, "  ");
            if (rc == 0) {
                rc = add_clean(out, slo_report_name(ev), NULL);
            }
            if (rc == 0) {
                rc = ag_buf_adds(out, ": ");
            }
            if (rc == 0) {
                rc = add_clean(out, ev->warnings[j] != NULL ? ev->warnings[j] : "", NULL);
            }
            if (rc == 0) {
                rc = ag_buf_addc(out, '\n');
            }
        }
        if (rc == 0 && ev->gap_ms > 0) {
            char gap[SLO_REPORT_GAP_CAP];
            slo_report_fmt_gap(ev->gap_ms, gap);
            rc = ag_buf_adds(out, "  ");
            if (rc == 0) {
                rc = add_clean(out, slo_report_name(ev), NULL);
            }
            if (rc == 0) {
                rc = ag_buf_printf(out, ": %s\n", gap);
            }
        }
    }
out:
    table_free(&t);
    return rc;
}

int slo_report_text(const struct slo_report *r, bool colour, struct ag_buf *out)
{
    int rc = 0;
    if (r->n_evals == 0) {
        return ag_buf_adds(out, "No evaluation.\n");
    }
    for (size_t i = 0; i < r->n_evals && rc == 0; i++) {
        if (i > 0) {
            rc = ag_buf_addc(out, '\n');
        }
        if (rc == 0) {
            rc = write_instant(&r->evals[i], colour, out);
        }
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "\nTTE: time to exhaustion at the current burn rate, an estimate "
                              "(errors age out of a rolling window).\n");
    }
    return rc;
}
