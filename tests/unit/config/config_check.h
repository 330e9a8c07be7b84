#ifndef CONFIG_CHECK_H
#define CONFIG_CHECK_H

/*
 * Helpers shared by the config tests (test_ag_config.c, test_ag_config_slo.c): load a config
 * from YAML text, assert that a text fails with exactly the diagnostics expected, and load one
 * with each allocation in turn failing.
 */

#include "ag_test.h"
#include "ag_config.h"
#include "ag_mem.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

/* Loads |yaml| (named "t" in diagnostics) into *cfg; the diagnostics go to |diag|, which this
 * initialises and the caller cleans up. Returns what ag_config_load_string() returns. */
static int load(const char *yaml, struct ag_config **cfg, struct ag_buf *diag)
{
    ag_buf_init(diag, 64 * 1024);
    return ag_config_load_string("t", yaml, strlen(yaml), cfg, diag);
}

/* Loads |yaml|, which must fail with exactly the diagnostics |want|; what it got is copied to
 * |got|. Returns 1 when it did, 0 otherwise. */
static int fails_with(const char *yaml, const char *want, char *got, size_t gotlen)
{
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    int rc = load(yaml, &cfg, &d);
    snprintf(got, gotlen, "%s", ag_buf_str(&d));
    ag_buf_cleanup(&d);
    ag_config_free(cfg);
    return rc == AG_EINVAL && cfg == NULL && strcmp(got, want) == 0;
}

#define ASSERT_FAILS(yaml, want)                                                            \
    do {                                                                                   \
        char got_[4096];                                                                   \
        if (!fails_with((yaml), (want), got_, sizeof(got_))) {                \
            AG_TEST_FAIL_("diagnostics differ:\n# want: %s# got:  %s", (want), got_);      \
        }                                                                                  \
    } while (0)

#if AG_FAILMALLOC
/* Loads |yaml| with allocation n failing, for n = 0, 1, ... until a load succeeds; every failed
 * load must return AG_ENOMEM and no config. Returns the n that loaded, the config in *out (the
 * caller frees it), or -1 when a failed load did otherwise (said on stdout). */
static long failing_loads(const char *yaml, struct ag_config **out)
{
    for (long n = 0;; n++) {
        struct ag_config *cfg = NULL;
        struct ag_buf d;
        ag_buf_init(&d, 4096);
        ag_mem_fail_after(n);
        int rc = ag_config_load_string("t", yaml, strlen(yaml), &cfg, &d);
        ag_mem_fail_after(-1);
        ag_buf_cleanup(&d);
        if (rc == 0) {
            *out = cfg;
            return n;
        }
        if (rc != AG_ENOMEM || cfg != NULL) {
            printf("# allocation %ld failing: rc %d, config %p (expected AG_ENOMEM, NULL)\n", n,
                   rc, (void *)cfg);
            ag_config_free(cfg);
            return -1;
        }
    }
}
#endif

#endif
