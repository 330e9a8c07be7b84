/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the slo exporter's counter-series bytes (slo_metric_restore, the checkpoint's extra
 * part): any input is refused with AG_EPROTO and leaves the state as it was, or is accepted, and
 * then saving gives back exactly the input (the format has one encoding; a version 1 input comes
 * back as version 2, whose layout is version 1's plus the exponential series), and a counter
 * point and a cumulative exponential histogram point (at another scale than a restored series
 * may have) fed after it never make good exceed total.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "slo_sli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char defs_yaml[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: c}\n"
                                "spec:\n"
                                "  objective: \"99\"\n"
                                "  window: 1h\n"
                                "  sli:\n"
                                "    counters: {good: {name: g}, total: {name: t}}\n"
                                "---\n"
                                "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: h}\n"
                                "spec:\n"
                                "  objective: \"99\"\n"
                                "  window: 1h\n"
                                "  sli:\n"
                                "    histogram: {name: d, threshold: \"0.5\"}\n";

static struct slo_defs *defs;

static struct slo_defs *load(void)
{
    if (defs == NULL) {
        if (slo_defs_new(NULL, &defs) != 0 ||
            slo_defs_add(defs, "f.yaml", defs_yaml, strlen(defs_yaml)) != 0 ||
            slo_defs_finish(defs) != 0) {
            abort();
        }
    }
    return defs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slo_defs *d = load();
    struct slo_metric_state *st = NULL;
    if (slo_metric_state_new(d, 0, 64, &st) != 0) {
        return 0;
    }
    int rc = slo_metric_restore(st, data, size);
    if (rc == 0) {
        struct ag_buf b;
        ag_buf_init(&b, 1u << 24);
        /* Bytes 4..11: the version, little-endian; the rest must come back as it was. */
        static const uint8_t v2[8] = {2, 0, 0, 0, 0, 0, 0, 0};
        if (slo_metric_save(st, &b) != 0 || b.len != size || memcmp(b.data, data, 4) != 0 ||
            memcmp(b.data + 4, v2, 8) != 0 || memcmp(b.data + 12, data + 12, size - 12) != 0) {
            abort();
        }
        ag_buf_cleanup(&b);
        struct slo_point p;
        memset(&p, 0, sizeof(p));
        p.key = "k";
        p.key_len = 1;
        p.cumulative = true;
        p.start_ns = 1;
        p.time_ns = 2;
        p.value = 7;
        struct slo_metric_ref ref = {0, SLO_ROLE_GOOD, &d->slis[d->slos[0].sli].good};
        if (slo_metric_add(st, &ref, &p, NULL) != 0 && size < 100000) {
            /* only AG_ENOMEM may fail here */
        }
        /* An exponential point of series "k" at scale 1 (threshold 0.5: k_1 = -2, buckets of
         * index < -2 are good): 3 + 1 good (zero bucket, negative) of 9. */
        static const uint64_t pos[] = {3, 2, 2}, neg[] = {1};
        memset(&p, 0, sizeof(p));
        p.key = "k";
        p.key_len = 1;
        p.cumulative = true;
        p.start_ns = 1;
        p.time_ns = 3;
        p.expo = true;
        p.ex.scale = 1;
        p.ex.count = 9;
        p.ex.zero_count = 1;
        p.ex.pos_offset = -3;
        p.ex.pos = pos;
        p.ex.n_pos = 3;
        p.ex.neg = neg;
        p.ex.n_neg = 1;
        struct slo_metric_ref href = {1, SLO_ROLE_HISTOGRAM, &d->slis[d->slos[1].sli].histogram};
        int hrc = slo_metric_add(st, &href, &p, NULL);
        if (hrc != 0 && hrc != AG_ENOMEM) {
            abort();
        }
        for (size_t i = 0; i < d->n_slos; i++) {
            uint64_t g, t;
            slo_metric_take(st, i, i == 1, &g, &t);
            if (g > t) {
                abort();
            }
        }
    } else if (rc != AG_EPROTO && rc != AG_ENOMEM) {
        abort();
    }
    slo_metric_state_free(st);
    return 0;
}
