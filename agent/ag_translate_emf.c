/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otterd translate --to emf`: the awsemf exporter's translation run offline, printing the EMF
 * events (one message per line) exactly as the exporter would send them, without AWS.
 */
#include "ag_translate_emf.h"
#include "ag_translate_int.h"
#include "ag_config.h"
#include "ag_gates.h"
#include "ag_otlp.h"
#include "ag_time.h"
#include "ex_cw_emf_exporter.h"

#include <stdio.h>
#include <string.h>

struct ectx {
    struct ex_cw_emf *emf;
    struct ex_cw_emf_result total;
};

static int print_event(void *arg, const char *group, const char *stream, int64_t ts,
                       const char *msg, size_t len)
{
    (void)arg, (void)group, (void)stream, (void)ts;
    if (fwrite(msg, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
        return AG_EIO;
    }
    return 0;
}

static int emf_one(void *arg, const ProtobufCMessage *msg)
{
    struct ectx *t = arg;
    struct ex_cw_emf_result res;
    int rc = ex_cw_emf_translate(t->emf, msg, ag_time_now_ns(), print_event, t, &res);
    if (rc == 0) {
        t->total.events += res.events;
        t->total.points += res.points;
        t->total.baseline += res.baseline;
        t->total.dimension_sets_dropped += res.dimension_sets_dropped;
        for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
            t->total.dropped[i] += res.dropped[i];
        }
    }
    return rc;
}

static int make_translator(const char *path, struct ectx *t)
{
    struct ag_config *cfg = NULL;
    char err[256] = "";
    int rc;
    if (path == NULL) {
        struct ex_cw_emf_options o = {.version = 1};
        if (ag_gate_enabled(AG_GATE_AWSEMF_NODIMROLLUPDEFAULT)) {
            o.rollup = EX_CW_EMF_ROLLUP_NONE;
        }
        rc = ex_cw_emf_new(&o, ag_time_mono_ns(), &t->emf, err, sizeof(err));
    } else {
        const struct ag_component_config *c =
            ag_translate_exporter(path, AG_COMP_AWSEMF_EXPORTER, "awsemf", &cfg);
        rc = c == NULL ? AG_ENOTFOUND
                       : ex_cw_emf_from_config(&c->u.awsemf, ag_time_mono_ns(), &t->emf, err,
                                               sizeof(err));
        ag_config_free(cfg);
        if (rc == AG_ENOTFOUND) {
            return 1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "otterd translate: %s\n", err[0] ? err : ag_strerror(rc));
        return 1;
    }
    return 0;
}

int ag_translate_emf(const char *config, const char *input)
{
    struct ectx t;
    memset(&t, 0, sizeof(t));
    if (make_translator(config, &t) != 0) {
        return 1;
    }
    int status = ag_translate_input(input, AG_SIGNAL_METRICS, emf_one, &t);
    for (size_t i = 0; i < EX_CW_EMF_DROP_COUNT_; i++) {
        if (t.total.dropped[i] > 0) {
            fprintf(stderr, "otterd translate: %zu of %zu data points or metrics dropped: %s\n",
                    t.total.dropped[i], t.total.points,
                    ex_cw_emf_drop_name((enum ex_cw_emf_drop)i));
        }
    }
    if (t.total.baseline > 0) {
        fprintf(stderr, "otterd translate: %zu cumulative points only set the delta baseline\n",
                t.total.baseline);
    }
    ex_cw_emf_free(t.emf);
    return status;
}
