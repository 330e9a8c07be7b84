/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the metrics -> EMF translation: the input is an OTLP metrics request in OTLP/JSON or
 * protobuf, translated twice (so cumulative sums give deltas) under a few option sets; every
 * event must pass the EMF checker of the unit tests (emf_check.h, written from the EMF rules):
 * valid JSON, no duplicate key, limits of 100 metrics, 30 dimensions, 100 values, the event
 * size. Any error other than out of memory aborts. Seeds: corpus/emf/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_arena.h"
#include "ag_otlp.h"
#include "emf_check.h"
#include "ex_cw_emf.h"

#define FUZZ_EMF_ARENA_CAP (16u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fctx {
    int version;
    size_t max;
};

static int check(void *arg, const char *group, const char *stream, int64_t ts, const char *msg,
                 size_t len)
{
    const struct fctx *f = arg;
    char why[256];
    (void)ts;
    if (group == NULL || group[0] == '\0' || stream == NULL || stream[0] == '\0') {
        fprintf(stderr, "fuzz_emf: empty group or stream\n");
        abort();
    }
    if (emf_check(msg, len, f->version, f->max, why, sizeof(why)) != 0) {
        fprintf(stderr, "fuzz_emf: invalid event (%s): %.*s\n", why, (int)len, msg);
        abort();
    }
    return 0;
}

static void run(const struct ex_cw_emf_options *o, const ProtobufCMessage *msg)
{
    struct ex_cw_emf *t = NULL;
    char err[256];
    if (ex_cw_emf_new(o, 1, &t, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_emf: ex_cw_emf_new: %s\n", err);
        abort();
    }
    struct fctx f = {o->version,
                     o->max_event_bytes ? o->max_event_bytes : EX_CW_EMF_DEFAULT_EVENT_BYTES};
    for (int round = 0; round < 2; round++) {
        struct ex_cw_emf_result res;
        int rc = ex_cw_emf_translate(t, msg, 1700000000000000000ull + (uint64_t)round * 1000000000u,
                                     check, &f, &res);
        if (rc != 0 && rc != AG_ENOMEM) {
            fprintf(stderr, "fuzz_emf: translate: %d\n", rc);
            abort();
        }
    }
    ex_cw_emf_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    ProtobufCMessage *msg = NULL;
    struct ag_arena *a = ag_arena_new(FUZZ_EMF_ARENA_CAP);
    if (a == NULL) {
        return 0;
    }
    size_t k = 0;
    while (k < size && (data[k] == ' ' || data[k] == '\n' || data[k] == '\t')) {
        k++;
    }
    enum ag_otlp_encoding enc = k < size && data[k] == '{' ? AG_OTLP_JSON : AG_OTLP_PROTOBUF;
    if (ag_otlp_decode(AG_SIGNAL_METRICS, enc, data, size, a, &msg, err, sizeof(err)) == 0) {
        static const char *const set1[] = {"a", "b"};
        static const char *const set2[] = {"OTelLib"};
        static const char *const *const sets[] = {set1, set2};
        static const size_t set_n[] = {2, 1};
        static const char *const sel[] = {".", "^x"};
        static const char *const names[] = {"a", "b"};
        static const struct ex_cw_emf_matcher_opts m = {names, 2, ":", "."};
        static const struct ex_cw_emf_declaration_opts d = {sets, set_n, 2, sel, 2, &m, 1};
        static const char *const json[] = {"a", "j"};
        static const struct ex_cw_emf_descriptor_opts desc = {"x", "Count", 1};
        struct ex_cw_emf_options o[3];
        memset(o, 0, sizeof(o));
        o[0].version = 1;
        o[1] = o[0];
        o[1].version = 0;
        o[1].rollup = EX_CW_EMF_ROLLUP_SINGLE_ONLY;
        o[1].declarations = &d;
        o[1].n_declarations = 1;
        o[1].detailed_metrics = 1;
        o[1].parse_json_encoded_attr_values = json;
        o[1].n_parse_json_encoded_attr_values = 2;
        o[1].log_group_name = "/g/{ClusterName}/{PodName}";
        o[1].log_stream_name = "{TaskId}";
        o[2] = o[0];
        o[2].rollup = EX_CW_EMF_ROLLUP_NONE;
        o[2].max_event_bytes = 600;
        o[2].resource_to_telemetry_conversion = 1;
        o[2].retain_initial_value_of_delta_metric = 1;
        o[2].descriptors = &desc;
        o[2].n_descriptors = 1;
        o[2].omit_invalid_units = 1;
        for (size_t i = 0; i < 3; i++) {
            run(&o[i], msg);
        }
    }
    ag_arena_free(a);
    return 0;
}
