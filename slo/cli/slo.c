/* SPDX-License-Identifier: Apache-2.0 */
/*
 * slo: Otter's SLO command. `slo validate FILE...` checks OpenSLO v1 and otter/v1 definitions;
 * `slo dashboard` / `slo alarms` print CloudWatch definitions from them;
 * `slo report` replays an events file against them, or reads a checkpoint, otterd's /v1/slo or
 * CloudWatch.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "slo_cli.h"

static const char usage[] =
    "usage: slo validate FILE...\n"
    "       slo dashboard --definitions FILE... [--namespace NS] [--region R]"
    " [--dashboard-name N]\n"
    "       slo alarms --definitions FILE... [--namespace NS] [--sns-topic-arn ARN] [--prefix P]\n"
    "       slo report --definitions FILE... --events FILE|- --at TIME... [--format F]\n"
    "                  [--output FILE] [--save-state FILE]\n"
    "       slo report --definitions FILE... --from state=FILE [--at TIME...] [--format F]\n"
    "       slo report --from agent=URL [--definitions FILE...] [--timeout S] [--format F]\n"
    "       slo report --from cloudwatch --definitions FILE... [--region R] [--endpoint URL]\n"
    "                  [--namespace NS] [--at TIME...] [--format F]\n"
    "       slo --version | --help\n"
    "\n"
    "Otter's SLO command.\n"
    "\n"
    "commands:\n"
    "  validate FILE...    check SLO definitions (OpenSLO v1 and otter/v1 YAML, several\n"
    "                      documents per file; references resolve within a file): prints\n"
    "                      \"FILE: ok (N SLOs)\" per valid file and file:line:col diagnostics on\n"
    "                      stderr; warns about alerts that can never fire and alert windows\n"
    "                      longer than the SLO window; exit 0 when valid, 1 on any error\n"
    "  dashboard           print a CloudWatch DashboardBody (attainment, budget left, burn\n"
    "                      rates, SLI series per SLO) from the global GoodCount/TotalCount sums\n"
    "  alarms              print {\"MetricAlarms\", \"CompositeAlarms\"}: a metric-math burn-rate\n"
    "                      alarm per alert window and ALARM(long) AND ALARM(short) per pair;\n"
    "                      both exit 0, 1 on a definition error, 2 on a usage error\n"
    "  report              evaluate the definitions (--definitions, repeatable) at each --at\n"
    "                      (RFC 3339 UTC, repeatable, in the order given) over an events file\n"
    "                      (--events: JSON lines {time, slo, good|bad, total}; - for stdin);\n"
    "                      --format json (default), text, markdown or html; --output FILE;\n"
    "                      exit 0 when every SLO is met at the last instant, 1 when any is\n"
    "                      BREACHED, 2 on an error; --save-state FILE writes the engine of\n"
    "                      the last instant; --from state=FILE reports from such a checkpoint;\n"
    "                      --from agent=URL reads otterd's GET /v1/slo (admin listener);\n"
    "                      --from cloudwatch sums GoodCount/TotalCount (GetMetricData, AWS\n"
    "                      credentials chain) and replays them\n"
    "\n"
    "options:\n"
    "  --version           print the version and exit\n"
    "  --help              print this help and exit\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(a, "--version") == 0) {
        printf("slo %s\n", OTTER_VERSION);
        return 0;
    }
    if (strcmp(a, "validate") == 0) {
        return slo_validate_main(argc - 2, argv + 2, stdout, stderr);
    }
    if (strcmp(a, "dashboard") == 0) {
        return slo_dashboard_main(argc - 2, argv + 2, stdout, stderr);
    }
    if (strcmp(a, "alarms") == 0) {
        return slo_alarms_main(argc - 2, argv + 2, stdout, stderr);
    }
    if (strcmp(a, "report") == 0) {
        return slo_report_main(argc - 2, argv + 2, stdout, stderr);
    }
    fprintf(stderr, "slo: unknown command \"%s\"\n", a);
    fputs(usage, stderr);
    return 2;
}
