#ifndef SLO_REPORT_PARSE_H
#define SLO_REPORT_PARSE_H

#include <stddef.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_def.h"
#include "slo_eval.h"

/*
 * The replay contract's JSON ({"evaluations": [...]}, written by slo_report_json() and served by
 * otterd's GET /v1/slo) read back into a struct slo_report, so `slo report --from agent=URL` can
 * render it in any format (slo/README.md, "`--from agent`").
 *
 * Strict: every field of the contract must be present with its type (and no other field), counts
 * are integers from 0 to 2^63 - 1 with good + bad = total, statuses and units are the contract's
 * words, numbers are finite, object keys unique. Every error names the JSON path
 * ("evaluations[0].slos[2].error_budget.remaining: expected a number or null, got a string").
 *
 * Numbers: each double of the document becomes an exact rational whose correctly rounded double
 * is that same double, so slo_report_json() of the parsed report writes the same numbers back.
 * Where the counts determine the exact value (attainment = good / total, budget = (1 - o) *
 * total, remaining = budget - consumed, remaining fraction = remaining / budget) and it rounds to
 * the document's double, the exact value is used (the renderers then round from it, as they do
 * for a replay); otherwise the shortest decimal text of the double is used (14.4, never
 * 14.4000000000000003552...). Magnitudes outside 1e-30..1e30 other than 0 are refused.
 *
 * Definitions: with |defs| (finished, borrowed: must outlive the report), each SLO is attached
 * to the definition of the same name (its objective must be equal; its alerts are matched by name,
 * each definition alert at most once), so the renderers see display names, warning lines and
 * alert conditions; an SLO the definitions do not name is an error. Without |defs| (NULL), a
 * minimal definition is built from the document: name, objective, alert names; no display name,
 * window, warning line or conditions (the HTML then shows no warning line, "—" for conditions).
 * Burn-downs and the window's bounds are not in the contract: the parsed evaluations have no
 * burn-down points and a window [at - W, at) with the definition's W (empty without |defs|).
 */

struct slo_report_doc;

/*
 * Parses |len| bytes of |json| into |*out| (zeroed first; release with slo_report_release(),
 * then free |*doc| with slo_report_doc_free(): it owns the texts and minimal definitions the
 * report borrows). Returns 0, or
 *   AG_EPROTO  malformed JSON or a document that breaks the contract (|why| says where and why:
 *              one line, appended when not NULL)
 *   AG_EINVAL  a valid document that does not match |defs|
 *   AG_ETOOBIG more than 1,000,000 SLO entries
 *   AG_ENOMEM
 * On error |*out| and |*doc| hold nothing.
 */
AG_NODISCARD int slo_report_parse(const char *json, size_t len, const struct slo_defs *defs,
                                  struct slo_report *out, struct slo_report_doc **doc,
                                  struct ag_buf *why);

/* Frees |doc|; NULL is a no-op. */
void slo_report_doc_free(struct slo_report_doc *doc);

#endif /* SLO_REPORT_PARSE_H */
