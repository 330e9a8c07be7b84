/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo report --format html`: one self-contained HTML5 page. Inline CSS, no script, nothing
 * fetched (a Content-Security-Policy meta forbids it), a card per SLO and instant with its
 * figures, an inline SVG burn-down of the error budget over the window, and its burn rates and
 * alerts. Every text from a definition file is HTML-escaped; the chart only prints numbers.
 */
#include "slo_eval.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "slo_report_fmt.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* The chart's geometry (SVG user units): the plot spans x 50..350 and y 20..170. */
#define SVG_W      360
#define SVG_H      200
#define PLOT_LEFT  50.0
#define PLOT_RIGHT 350.0
#define PLOT_TOP   20.0
#define PLOT_BOT   170.0

static const char head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
    "'unsafe-inline'; img-src data:\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>SLO report</title>\n"
    "<style>\n"
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:1.5rem;"
    "color:#1f2328;background:#f6f8fa}\n"
    "h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .75rem}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:1rem}\n"
    ".card{background:#fff;border:1px solid #d0d7de;border-left:6px solid #8c959f;"
    "border-radius:6px;padding:1rem;width:380px}\n"
    ".card header{display:flex;justify-content:space-between;align-items:baseline;gap:.5rem}\n"
    ".card h3{font-size:1rem;margin:0;overflow-wrap:anywhere}\n"
    ".slo-name{font-family:ui-monospace,monospace;font-size:.8rem;color:#57606a;margin:.25rem 0;"
    "overflow-wrap:anywhere}\n"
    ".status{font-weight:700;font-size:.8rem;padding:.1rem .5rem;border-radius:1rem;"
    "color:#fff;background:#8c959f}\n"
    ".st-ok{border-left-color:#1a7f37}.st-ok .status{background:#1a7f37}\n"
    ".st-warning{border-left-color:#9a6700}.st-warning .status{background:#9a6700}\n"
    ".st-breached{border-left-color:#cf222e}.st-breached .status{background:#cf222e}\n"
    ".st-no-data .status{background:#8c959f}\n"
    "dl{margin:.75rem 0;font-size:.9rem}dl div{display:flex;justify-content:space-between;"
    "gap:1rem;padding:.1rem 0}dt{color:#57606a}dd{margin:0;text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    "svg{display:block;width:100%;height:auto;margin:.5rem 0}\n"
    "svg text{font-size:10px;fill:#57606a}\n"
    "table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;width:100%}\n"
    "caption{text-align:left;font-weight:600;padding:.25rem 0}\n"
    "th,td{border-bottom:1px solid #d0d7de;padding:.2rem .4rem;text-align:left}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".firing{color:#cf222e;font-weight:600}\n"
    ".notes{font-size:.85rem;color:#9a6700}\n"
    ".foot{font-size:.8rem;color:#57606a;margin-top:1.5rem}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>SLO report</h1>\n";

/* Appends |s| HTML-escaped (text and attribute values alike); control characters and
 * malformed bytes become U+FFFD. */
static int add_esc(struct ag_buf *out, const char *s)
{
    while (*s != '\0') {
        const char *start = s;
        int32_t cp = slo_report_utf8_next(&s);
        int rc;
        if (cp < 0 || slo_report_is_control(cp)) {
            rc = ag_buf_adds(out, REPLACEMENT);
        } else if (cp == '&') {
            rc = ag_buf_adds(out, "&amp;");
        } else if (cp == '<') {
            rc = ag_buf_adds(out, "&lt;");
        } else if (cp == '>') {
            rc = ag_buf_adds(out, "&gt;");
        } else if (cp == '"') {
            rc = ag_buf_adds(out, "&quot;");
        } else if (cp == '\'') {
            rc = ag_buf_adds(out, "&#39;");
        } else {
            rc = ag_buf_add(out, start, (size_t)(s - start));
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Appends |a|, then |s| escaped, then |b|. */
static int add3(struct ag_buf *out, const char *a, const char *s, const char *b)
{
    int rc = ag_buf_adds(out, a);
    if (rc == 0) {
        rc = add_esc(out, s);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, b);
    }
    return rc;
}

static const char *status_class(enum slo_status s)
{
    switch (s) {
    case SLO_STATUS_OK:
        return "st-ok";
    case SLO_STATUS_WARNING:
        return "st-warning";
    case SLO_STATUS_BREACHED:
        return "st-breached";
    case SLO_STATUS_NO_DATA:
        return "st-no-data";
    }
    return "st-no-data";
}

static int add_fig(struct ag_buf *out, const char *label, const char *value)
{
    int rc = add3(out, "<div><dt>", label, "</dt>");
    if (rc == 0) {
        rc = add3(out, "<dd>", value, "</dd></div>\n");
    }
    return rc;
}

/* The y of the fraction |v| on a scale from |ymin| (bottom) to 1 (top). */
static double chart_y(double v, double ymin)
{
    if (v > 1.0) {
        v = 1.0;
    }
    if (v < ymin) {
        v = ymin;
    }
    return PLOT_BOT - (v - ymin) / (1.0 - ymin) * (PLOT_BOT - PLOT_TOP);
}

/*
 * The burn-down chart: remaining_fraction of each burndown point over [window start, instant].
 * The scale runs from 0 to 1, or from -1 to 1 when some point is overspent; points beyond are
 * clamped to the edge (a budget overspent ten times would otherwise flatten the rest).
 */
static int write_chart(const struct slo_eval *ev, struct ag_buf *out)
{
    char a[SLO_REPORT_NUM_CAP], b[SLO_REPORT_NUM_CAP], pct[SLO_REPORT_NUM_CAP];
    int64_t t0 = ev->window_start_ms;
    int64_t t1 = ev->at_ms > t0 ? ev->at_ms : ev->window_end_ms;
    double ymin = 0.0;
    size_t n = ev->n_burndown <= SLO_EVAL_MAX_BURNDOWN ? ev->n_burndown : SLO_EVAL_MAX_BURNDOWN;
    size_t drawn = 0;
    int rc;

    if (t1 < t0) {
        t1 = t0;
    }
    /* In doubles: a span of arbitrary int64 times cannot overflow; an empty one draws at x0. */
    double span = (double)t1 - (double)t0;
    if (span <= 0) {
        span = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (ev->burndown[i].remaining_fraction < 0.0) {
            ymin = -1.0;
        }
    }
    rc = ag_buf_printf(out,
                       "<svg class=\"burndown\" "
                       "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                       "aria-label=\"Error budget left over the window\">\n"
                       "<title>Error budget left over the window</title>\n",
                       SVG_W, SVG_H, SVG_W, SVG_H);
    /* Axes, then the scale's labels. */
    if (rc == 0) {
        rc = ag_buf_printf(out,
                           "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#57606a\"/>\n"
                           "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#57606a\"/>\n",
                           PLOT_LEFT, PLOT_TOP, PLOT_LEFT, PLOT_BOT, PLOT_LEFT, PLOT_BOT,
                           PLOT_RIGHT, PLOT_BOT);
    }
    if (rc == 0) {
        rc = ag_buf_printf(out,
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">100%%</text>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0%%</text>\n",
                           PLOT_LEFT - 6, chart_y(1.0, ymin) + 3, PLOT_LEFT - 6,
                           chart_y(0.0, ymin) + 3);
    }
    if (rc == 0 && ymin < 0) {
        rc = ag_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">-100%%</text>\n",
                           PLOT_LEFT - 6, chart_y(-1.0, ymin) + 3);
    }
    /* The 0 line (budget exhausted) and the warning line. */
    if (rc == 0) {
        rc = ag_buf_printf(out,
                           "<line class=\"zero\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#cf222e\"/>\n",
                           PLOT_LEFT, chart_y(0.0, ymin), PLOT_RIGHT, chart_y(0.0, ymin));
    }
    if (rc == 0 && ev->def != NULL && ev->def->warning.den != 0) {
        double w = (double)ev->def->warning.num / (double)ev->def->warning.den;
        double y = chart_y(w, ymin);
        if (slo_objective_format_percent(&ev->def->warning, pct, sizeof(pct)) < 0) {
            memcpy(pct, "?", 2);
        }
        rc = ag_buf_printf(out,
                           "<line class=\"warning\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                           "y2=\"%.1f\" stroke=\"#9a6700\" stroke-dasharray=\"4 3\"/>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">warning %s%%</text>\n",
                           PLOT_LEFT, y, PLOT_RIGHT, y, PLOT_RIGHT, y - 3, pct);
    }
    /* Time labels at both ends of the x axis. */
    slo_report_fmt_instant(t0, a);
    slo_report_fmt_instant(t1, b);
    if (rc == 0) {
        rc = ag_buf_printf(out,
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\">%s</text>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                           PLOT_LEFT, PLOT_BOT + 16, a, PLOT_RIGHT, PLOT_BOT + 16, b);
    }
    /* The series; NaN points (never produced by the engine) are left out. */
    if (rc == 0 && n > 0) {
        rc = ag_buf_adds(out, "<polyline class=\"line\" fill=\"none\" stroke=\"#0969da\" "
                              "stroke-width=\"2\" points=\"");
        for (size_t i = 0; i < n && rc == 0; i++) {
            const struct slo_eval_point *p = &ev->burndown[i];
            if (isnan(p->remaining_fraction)) {
                continue;
            }
            int64_t t = p->t_ms < t0 ? t0 : (p->t_ms > t1 ? t1 : p->t_ms);
            double x = PLOT_LEFT + ((double)t - (double)t0) / span * (PLOT_RIGHT - PLOT_LEFT);
            rc = ag_buf_printf(out, "%s%.1f,%.1f", drawn++ > 0 ? " " : "", x,
                               chart_y(p->remaining_fraction, ymin));
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, "\"/>\n");
        }
    }
    if (rc == 0 && drawn == 0) {
        rc = ag_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no data"
                                "</text>\n",
                           (PLOT_LEFT + PLOT_RIGHT) / 2, (PLOT_TOP + PLOT_BOT) / 2);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "</svg>\n");
    }
    return rc;
}

/* |frac| (a fraction of the budget, num / 10^scale) as a percent's decimal text in |buf|.
 * Returns its length, or -1 when it does not fit (the caller writes the fraction then). */
static int percent_text(const struct slo_decimal *frac, char *buf, size_t cap)
{
    struct slo_decimal pc = *frac;
    if (pc.den == 0) {
        return -1;
    }
    if (pc.scale >= 2) {
        pc.scale -= 2;
        pc.den /= 100;
    } else {
        for (unsigned i = pc.scale; i < 2; i++) {
            if (pc.num > UINT64_MAX / 10) {
                return -1;
            }
            pc.num *= 10;
        }
        pc.scale = 0;
        pc.den = 1;
    }
    return slo_decimal_format(&pc, buf, cap);
}

/* |ms| in its largest whole unit: "2d", "90m", "1500ms". */
static int add_duration(struct ag_buf *out, uint64_t ms)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms && ms % units[i].ms == 0) {
            return ag_buf_printf(out, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
        }
    }
    return ag_buf_printf(out, "%" PRIu64 "ms", ms);
}

/* The budget, time-to-exhaustion and budget-drop conditions: "budget left < 25%", "time to
 * exhaustion over 1h < 2d", "budget drop > 5% within 1h". */
static int add_budget_condition(const struct slo_alert_def *d, struct ag_buf *out)
{
    char x[SLO_REPORT_NUM_CAP];
    switch (d->kind) {
    case SLO_ALERT_BUDGET:
        if (percent_text(&d->budget_below, x, sizeof(x)) < 0) {
            return ag_buf_adds(out, SLO_REPORT_NULL);
        }
        return ag_buf_printf(out, "budget left &lt; %s%%", x);
    case SLO_ALERT_TTE: {
        int rc = ag_buf_adds(out, "time to exhaustion over ");
        if (rc == 0) {
            rc = add_esc(out, d->long_text != NULL ? d->long_text : "?");
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, " &lt; ");
        }
        return rc == 0 ? add_duration(out, d->tte_below_ms) : rc;
    }
    case SLO_ALERT_DROP: {
        if (percent_text(&d->drop, x, sizeof(x)) < 0) {
            return ag_buf_adds(out, SLO_REPORT_NULL);
        }
        int rc = ag_buf_printf(out, "budget drop &gt; %s%% within ", x);
        return rc == 0 ? add_esc(out, d->drop_text != NULL ? d->drop_text : "?") : rc;
    }
    case SLO_ALERT_BURN_RATE:
        break;
    }
    return ag_buf_adds(out, SLO_REPORT_NULL);
}

/* "burn > 14.4 over 1h and 5m" (">=" for OpenSLO's gte), the budget conditions as
 * add_budget_condition() writes them, or "—" without a definition. */
static int add_condition(const struct slo_alert_def *d, struct ag_buf *out)
{
    char x[SLO_REPORT_NUM_CAP];
    if (d != NULL && d->kind != SLO_ALERT_BURN_RATE) {
        return add_budget_condition(d, out);
    }
    if (d == NULL || d->threshold.den == 0 || d->long_text == NULL ||
        slo_decimal_format(&d->threshold, x, sizeof(x)) < 0) {
        return ag_buf_adds(out, SLO_REPORT_NULL);
    }
    int rc = ag_buf_printf(out, "burn %s %s over ", d->inclusive ? "&ge;" : "&gt;", x);
    if (rc == 0) {
        rc = add_esc(out, d->long_text);
    }
    if (rc == 0 && d->short_text != NULL) {
        rc = ag_buf_adds(out, " and ");
        if (rc == 0) {
            rc = add_esc(out, d->short_text);
        }
    }
    return rc;
}

static int write_tables(const struct slo_eval *ev, struct ag_buf *out)
{
    char num[SLO_REPORT_NUM_CAP];
    int rc = 0;
    if (ev->n_burns > 0) {
        rc = ag_buf_adds(out, "<table class=\"burns\"><caption>Burn rates</caption>\n"
                              "<thead><tr><th>Window</th><th>Burn rate</th></tr></thead>\n"
                              "<tbody>\n");
        for (size_t i = 0; i < ev->n_burns && rc == 0; i++) {
            if (slo_report_fmt_burn(&ev->burns[i].burn, num, sizeof(num)) < 0) {
                return AG_ETOOBIG;
            }
            rc = add3(out, "<tr><td>", ev->burns[i].window ? ev->burns[i].window : "?", "</td>");
            if (rc == 0) {
                rc = add3(out, "<td class=\"num\">", num, "</td></tr>\n");
            }
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, "</tbody></table>\n");
        }
    }
    if (rc == 0 && ev->n_alerts > 0) {
        rc = ag_buf_adds(out, "<table class=\"alerts\"><caption>Alerts</caption>\n"
                              "<thead><tr><th>Alert</th><th>Severity</th><th>Condition</th>"
                              "<th>State</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < ev->n_alerts && rc == 0; i++) {
            const struct slo_eval_alert *a = &ev->alerts[i];
            const char *name = a->def != NULL && a->def->name != NULL ? a->def->name : "?";
            const char *sev = a->def != NULL && a->def->severity != NULL ? a->def->severity : "";
            rc = add3(out, "<tr><td>", name, "</td>");
            if (rc == 0) {
                rc = add3(out, "<td>", sev, "</td><td>");
            }
            if (rc == 0) {
                rc = add_condition(a->def, out);
            }
            if (rc == 0) {
                rc = ag_buf_adds(out, "</td>");
            }
            if (rc == 0 && a->firing) {
                rc = add3(out, "<td class=\"firing\">firing", a->reason ? ": " : "", "");
                if (rc == 0 && a->reason != NULL) {
                    rc = add_esc(out, a->reason);
                }
                if (rc == 0) {
                    rc = ag_buf_adds(out, "</td></tr>\n");
                }
            } else if (rc == 0) {
                rc = ag_buf_adds(out, "<td>resolved</td></tr>\n");
            }
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, "</tbody></table>\n");
        }
    }
    return rc;
}

static int write_card(const struct slo_eval *ev, struct ag_buf *out)
{
    struct slo_report_figs f;
    const char *name = slo_report_name(ev);
    const char *title = ev->def != NULL && ev->def->display_name != NULL ? ev->def->display_name
                                                                          : name;
    int rc = slo_report_figs(ev, &f);
    if (rc == 0) {
        rc = ag_buf_printf(out, "<article class=\"card %s\" data-slo=\"",
                           status_class(ev->budget.status));
    }
    if (rc == 0) {
        rc = add3(out, "", name, "\">\n<header>");
    }
    if (rc == 0) {
        rc = add3(out, "<h3>", title, "</h3>");
    }
    if (rc == 0) {
        rc = add3(out, "<span class=\"status\">", slo_report_status(ev), "</span></header>\n");
    }
    if (rc == 0) {
        rc = add3(out, "<p class=\"slo-name\">", name, "</p>\n<dl class=\"figures\">\n");
    }
    if (rc == 0) {
        rc = add_fig(out, "Attainment", f.attainment);
    }
    if (rc == 0) {
        rc = add_fig(out, "Objective", f.objective);
    }
    if (rc == 0) {
        rc = add_fig(out, "Budget left", f.budget_left);
    }
    if (rc == 0) {
        rc = add_fig(out, ev->periods ? "Bad / total periods" : "Bad / total events",
                     f.bad_total);
    }
    if (rc == 0) {
        rc = add_fig(out, "Error budget", f.budget);
    }
    if (rc == 0) {
        rc = add_fig(out, "Remaining", f.remaining);
    }
    if (rc == 0 && ev->budget.has_seconds) {
        rc = add_fig(out, "Remaining time", f.seconds);
    }
    if (rc == 0) {
        rc = add_fig(out, "Time to exhaustion", f.tte);
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "</dl>\n");
    }
    if (rc == 0) {
        rc = write_chart(ev, out);
    }
    if (rc == 0) {
        rc = write_tables(ev, out);
    }
    if (rc == 0 && (ev->n_warnings > 0 || ev->gap_ms > 0)) {
        rc = ag_buf_adds(out, "<ul class=\"notes\">\n");
        for (size_t i = 0; i < ev->n_warnings && rc == 0; i++) {
            rc = add3(out, "<li>", ev->warnings[i] ? ev->warnings[i] : "", "</li>\n");
        }
        if (rc == 0 && ev->gap_ms > 0) {
            char gap[SLO_REPORT_GAP_CAP];
            slo_report_fmt_gap(ev->gap_ms, gap);
            rc = ag_buf_printf(out, "<li>%s</li>\n", gap);
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, "</ul>\n");
        }
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "</article>\n");
    }
    return rc;
}

int slo_report_html(const struct slo_report *r, struct ag_buf *out)
{
    char when[SLO_REPORT_NUM_CAP];
    int rc = ag_buf_add(out, head, sizeof(head) - 1);
    if (rc == 0 && r->n_evals == 0) {
        rc = ag_buf_adds(out, "<p>No evaluation.</p>\n");
    }
    for (size_t i = 0; i < r->n_evals && rc == 0; i++) {
        const struct slo_report_at *at = &r->evals[i];
        slo_report_fmt_instant(at->at_ms, when);
        rc = ag_buf_printf(out,
                           "<section class=\"instant\">\n<h2>SLOs at <time datetime=\"%s\">%s"
                           "</time></h2>\n<div class=\"cards\">\n",
                           when, when);
        if (rc == 0 && at->n_slos == 0) {
            rc = ag_buf_adds(out, "<p>No SLO.</p>\n");
        }
        for (size_t j = 0; j < at->n_slos && rc == 0; j++) {
            rc = write_card(&at->slos[j], out);
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, "</div>\n</section>\n");
        }
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, "<p class=\"foot\">Time to exhaustion is an estimate at the current "
                              "burn rate (errors age out of a rolling window). Attainment and "
                              "budget left are rounded down, burn rates up.</p>\n"
                              "</body>\n</html>\n");
    }
    return rc;
}
