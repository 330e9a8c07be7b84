#ifndef SLO_CLI_H
#define SLO_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ag_buf.h"

/*
 * Reads |path| ("-": stdin) whole into |buf|, up to the buffer's cap (the parsers report input
 * over their limits). Returns 0, or an errno value (EFBIG when the cap is reached).
 */
int slo_read_all(const char *path, struct ag_buf *buf);

struct slo_defs;

/*
 * Builds the engine of each SLO of |d| (finished without error) alone at |start_ms| and frees
 * it at once, one SLO at a time (at most one SLO's memory, the same check slo_engine_new()
 * makes when a report or otterd starts): appends to |why| one line per SLO the engine refuses
 * ("SLO \"name\": needs more than 131072 bytes of buckets", or the layout refused).
 * Returns 0 when every SLO is accepted, AG_EINVAL or AG_ETOOBIG (the first refusal's code) when
 * any is refused, or AG_ENOMEM.
 */
int slo_check_engines(const struct slo_defs *d, int64_t start_ms, struct ag_buf *why);

/*
 * `slo validate FILE...`: |argc| arguments in |argv| (borrowed), after the word "validate".
 * Prints diagnostics to |err| and "FILE: ok (N SLOs)" per valid file to |out|.
 * Returns the exit status: 0 when every file is valid (warnings allowed), 1 when any file has an
 * error or cannot be read, 2 on a usage error.
 */
int slo_validate_main(int argc, char **argv, FILE *out, FILE *err);

/*
 * `slo dashboard --definitions FILE... [--namespace NS] [--region R] [--dashboard-name N]`:
 * prints a CloudWatch DashboardBody for every SLO of the files to |out| (slo/README.md).
 * Returns the exit status: 0 on success, 1 when a file cannot be read or has an error (printed
 * to |err| as file:line:col), 2 on a usage error.
 */
int slo_dashboard_main(int argc, char **argv, FILE *out, FILE *err);

/*
 * `slo alarms --definitions FILE... [--namespace NS] [--sns-topic-arn ARN] [--prefix P]`:
 * prints {"MetricAlarms": [...], "CompositeAlarms": [...]} (PutMetricAlarm and
 * PutCompositeAlarm requests) to |out|. Exit status as slo_dashboard_main().
 */
int slo_alarms_main(int argc, char **argv, FILE *out, FILE *err);

/*
 * `slo report ...`: |argc| arguments in |argv| (borrowed), after the word "report" (see
 * slo/README.md). Prints the report to |out| (or --output) and diagnostics to |err|.
 * Returns the exit status: 0 when every SLO is met at the last instant, 1 when any is
 * BREACHED, 2 on any error.
 */
int slo_report_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* SLO_CLI_H */
