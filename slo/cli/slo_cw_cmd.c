/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo dashboard` and `slo alarms`: read the definitions, have slo_cw build the CloudWatch request
 * bodies, and print them indented (numbers byte for byte as generated: exact decimals stay
 * exact). deploy/ creates the dashboard and alarms from this output.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_yaml.h"
#include "slo_cli.h"
#include "slo_cw.h"
#include "slo_def.h"
#include "slo_tz.h"

#define DIAG_CAP  (1024u * 1024u)
#define MAX_FILES 256

static const char dashboard_usage[] =
    "usage: slo dashboard --definitions FILE... [--namespace NS] [--region R]\n"
    "                     [--dashboard-name N]\n";
static const char alarms_usage[] =
    "usage: slo alarms --definitions FILE... [--namespace NS] [--sns-topic-arn ARN]\n"
    "                  [--prefix P] [--metrics-period SECONDS]\n";

/* Writes the compact JSON |json| (generated, so well-formed) indented by two spaces. Strings
 * are copied untouched; so are numbers, which is the point of not re-encoding. */
static void print_indented(const char *json, size_t len, FILE *out)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_str) {
            fputc(c, out);
            if (c == '\\' && i + 1 < len) {
                fputc(json[++i], out);
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = true;
            fputc(c, out);
            break;
        case '{':
        case '[':
            fputc(c, out);
            if (i + 1 < len && (json[i + 1] == '}' || json[i + 1] == ']')) {
                fputc(json[++i], out);
                break;
            }
            depth++;
            fprintf(out, "\n%*s", depth * 2, "");
            break;
        case '}':
        case ']':
            depth--;
            fprintf(out, "\n%*s%c", depth * 2, "", c);
            break;
        case ',':
            fprintf(out, ",\n%*s", depth * 2, "");
            break;
        case ':':
            fputs(": ", out);
            break;
        default:
            fputc(c, out);
        }
    }
    fputc('\n', out);
}

struct cw_args {
    const char *files[MAX_FILES];
    int n_files;
    struct slo_cw_opts opts;
};

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SLO_CW_MAX_NAME) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

/* Parses the arguments after the command word. Returns 0, or 2 after printing a usage error. */
static int parse_args(const char *cmd, bool alarms, int argc, char **argv, struct cw_args *a,
                      FILE *err)
{
    const char *usage = alarms ? alarms_usage : dashboard_usage;
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = NULL;
        if (strcmp(o, "--definitions") == 0) {
            int before = a->n_files;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                if (a->n_files == MAX_FILES) {
                    fprintf(err, "slo %s: more than %d definition files\n", cmd, MAX_FILES);
                    return 2;
                }
                a->files[a->n_files++] = argv[++i];
            }
            if (a->n_files == before) {
                fprintf(err, "slo %s: --definitions needs at least one FILE\n%s", cmd, usage);
                return 2;
            }
            continue;
        }
        if (strcmp(o, "--namespace") == 0) {
            slot = &a->opts.ns;
        } else if (!alarms && strcmp(o, "--region") == 0) {
            slot = &a->opts.region;
        } else if (!alarms && strcmp(o, "--dashboard-name") == 0) {
            slot = &a->opts.dashboard_name;
        } else if (alarms && strcmp(o, "--sns-topic-arn") == 0) {
            slot = &a->opts.sns_topic_arn;
        } else if (alarms && strcmp(o, "--prefix") == 0) {
            slot = &a->opts.prefix;
        } else if (alarms && strcmp(o, "--metrics-period") == 0) {
            /* digits only: a multiple of 60 up to a day (slo_cw_metrics_period_ok) */
            uint64_t v = 0;
            const char *t = i + 1 < argc ? argv[i + 1] : "";
            size_t k = 0;
            for (; t[k] >= '0' && t[k] <= '9' && k < 9; k++) {
                v = v * 10 + (uint64_t)(t[k] - '0');
            }
            if (k == 0 || t[k] != '\0' || !slo_cw_metrics_period_ok(v)) {
                fprintf(err,
                        "slo %s: --metrics-period \"%s\": expected seconds, a multiple of 60 up "
                        "to 86400, at least otterd's metrics.interval\n%s",
                        cmd, t, usage);
                return 2;
            }
            a->opts.metrics_period_s = v;
            i++;
            continue;
        } else {
            fprintf(err, "slo %s: unknown option \"%s\"\n%s", cmd, o, usage);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(err, "slo %s: %s needs a value\n%s", cmd, o, usage);
            return 2;
        }
        *slot = argv[++i];
    }
    if (a->n_files == 0) {
        fprintf(err, "slo %s: --definitions FILE... is required\n%s", cmd, usage);
        return 2;
    }
    const struct slo_cw_opts *p = &a->opts;
    if (p->ns != NULL && (p->ns[0] == '\0' || strlen(p->ns) > SLO_CW_MAX_NAME)) {
        fprintf(err, "slo %s: --namespace: expected 1 to 255 characters\n", cmd);
        return 2;
    }
    if (p->region != NULL && !name_ok(p->region)) {
        fprintf(err, "slo %s: --region \"%s\": expected a region name such as us-east-1\n", cmd,
                p->region);
        return 2;
    }
    if (p->dashboard_name != NULL && !name_ok(p->dashboard_name)) {
        fprintf(err,
                "slo %s: --dashboard-name \"%s\": expected 1 to 255 characters among A-Z a-z "
                "0-9 - _ (CloudWatch's rule for dashboard names)\n",
                cmd, p->dashboard_name);
        return 2;
    }
    if (p->sns_topic_arn != NULL &&
        (strncmp(p->sns_topic_arn, "arn:", 4) != 0 || strstr(p->sns_topic_arn, ":sns:") == NULL)) {
        fprintf(err,
                "slo %s: --sns-topic-arn \"%s\": expected an SNS topic ARN (arn:...:sns:...)\n",
                cmd, p->sns_topic_arn);
        return 2;
    }
    if (p->prefix != NULL && strlen(p->prefix) > SLO_CW_MAX_NAME) {
        fprintf(err, "slo %s: --prefix: longer than an alarm name may be\n", cmd);
        return 2;
    }
    return 0;
}

static int cw_main(const char *cmd, bool alarms, int argc, char **argv, FILE *out, FILE *err)
{
    struct cw_args a;
    int rc = parse_args(cmd, alarms, argc, argv, &a, err);
    if (rc != 0) {
        return rc;
    }
    struct ag_buf diag, text, json;
    struct slo_defs *d = NULL;
    ag_buf_init(&diag, DIAG_CAP);
    ag_buf_init(&text, (size_t)AG_YAML_MAX_INPUT + 1u);
    ag_buf_init(&json, SLO_CW_OUT_CAP + 1u);
    int status = 1;
    rc = slo_defs_new(&diag, &d);
    if (rc == 0) {
        slo_defs_set_tz_loader(d, slo_tz_load_system, NULL);
    }
    for (int i = 0; rc == 0 && i < a.n_files; i++) {
        ag_buf_reset(&text);
        int e = slo_read_all(a.files[i], &text);
        if (e != 0) {
            fputs(ag_buf_str(&diag), err);
            fprintf(err, "%s: error: cannot read: %s\n", a.files[i],
                    e == EFBIG ? "larger than the 4 MiB limit" : strerror(e));
            goto out;
        }
        rc = slo_defs_add(d, a.files[i], ag_buf_str(&text), text.len);
    }
    if (rc == 0) {
        rc = slo_defs_finish(d);
    }
    fputs(ag_buf_str(&diag), err);
    ag_buf_reset(&diag);
    if (rc == AG_ENOMEM) {
        fprintf(err, "slo %s: out of memory\n", cmd);
        goto out;
    }
    if (rc != 0 || d->n_errors > 0) {
        goto out;
    }
    rc = alarms ? slo_cw_alarms(d, &a.opts, &json, &diag)
                : slo_cw_dashboard(d, &a.opts, &json, &diag);
    fputs(ag_buf_str(&diag), err);
    if (rc == AG_ENOMEM) {
        fprintf(err, "slo %s: out of memory\n", cmd);
        goto out;
    }
    if (rc == AG_ETOOBIG && diag.len == 0) {
        fprintf(err, "slo %s: the output is larger than %u bytes\n", cmd, SLO_CW_OUT_CAP);
    }
    if (rc != 0) {
        goto out;
    }
    print_indented(ag_buf_str(&json), json.len, out);
    status = fflush(out) == 0 ? 0 : 1;
out:
    slo_defs_free(d);
    ag_buf_cleanup(&json);
    ag_buf_cleanup(&text);
    ag_buf_cleanup(&diag);
    return status;
}

int slo_dashboard_main(int argc, char **argv, FILE *out, FILE *err)
{
    return cw_main("dashboard", false, argc, argv, out, err);
}

int slo_alarms_main(int argc, char **argv, FILE *out, FILE *err)
{
    return cw_main("alarms", true, argc, argv, out, err);
}
