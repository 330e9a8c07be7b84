/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper for tests/integration/test_slo_tz_oracle.py: reads the TZif file named by the only
 * argument with slo_tz, then for each Unix second on stdin (one per line) prints
 *   t offset day_start day_end week_start week_end month_start month_end
 *   quarter_start quarter_end year_start year_end
 * in seconds ("unsupported" for a period slo_tz_bounds refuses). Exit 1 with the reason on
 * stderr when the file is refused, 2 on a usage or input error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ag_mem.h"
#include "slo_tz.h"

int main(int argc, char **argv)
{
    static uint8_t buf[1u << 20];
    if (argc != 2) {
        fprintf(stderr, "usage: slo_tz_dump TZIF-FILE < seconds\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        fprintf(stderr, "slo_tz_dump: %s: cannot open\n", argv[1]);
        return 2;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct ag_buf why;
    struct slo_tz *tz = NULL;
    ag_buf_init(&why, 4096);
    int rc = slo_tz_new(buf, n, &why, &tz);
    if (rc != 0) {
        fprintf(stderr, "%s: %s (%s)", argv[1], ag_buf_str(&why), ag_strerror(rc));
        ag_buf_cleanup(&why);
        return 1;
    }
    ag_buf_cleanup(&why);
    char line[64];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *end;
        errno = 0;
        long long t = strtoll(line, &end, 10);
        if (errno != 0 || end == line) {
            fprintf(stderr, "slo_tz_dump: bad input line: %s", line);
            slo_tz_free(tz);
            return 2;
        }
        int32_t off;
        if (slo_tz_offset(tz, (int64_t)t * 1000, &off) != 0) {
            printf("%lld out-of-range\n", t);
            continue;
        }
        printf("%lld %" PRId32, t, off);
        for (int u = SLO_CAL_DAY; u <= SLO_CAL_YEAR; u++) {
            int64_t s, e;
            if (slo_tz_bounds(tz, (enum slo_calendar_unit)u, (int64_t)t * 1000, &s, &e) != 0) {
                printf(" unsupported unsupported");
            } else {
                printf(" %" PRId64 " %" PRId64, s / 1000, e / 1000);
            }
        }
        printf("\n");
    }
    slo_tz_free(tz);
    return 0;
}
