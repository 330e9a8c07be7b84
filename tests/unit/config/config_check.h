#ifndef CONFIG_CHECK_H
#define CONFIG_CHECK_H

/*
 * Helpers shared by the config tests (test_ag_config.c, test_ag_config_slo.c): load a config
 * from YAML text, and assert that a text fails with exactly the diagnostics expected.
 */

#include "ag_test.h"
#include "ag_config.h"

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

#endif
