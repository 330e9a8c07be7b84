#ifndef SLO_CLI_H
#define SLO_CLI_H

#include <stdio.h>

/*
 * `slo validate FILE...`: |argc| arguments in |argv| (borrowed), after the word "validate".
 * Prints diagnostics to |err| and "FILE: ok (N SLOs)" per valid file to |out|.
 * Returns the exit status: 0 when every file is valid (warnings allowed), 1 when any file has an
 * error or cannot be read, 2 on a usage error.
 */
int slo_validate_main(int argc, char **argv, FILE *out, FILE *err);

/*
 * `slo report ...`: |argc| arguments in |argv| (borrowed), after the word "report" (see
 * slo/README.md). Prints the report to |out| (or --output) and diagnostics to |err|.
 * Returns the exit status: 0 when every SLO is met at the last instant, 1 when any is
 * BREACHED, 2 on any error.
 */
int slo_report_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* SLO_CLI_H */
