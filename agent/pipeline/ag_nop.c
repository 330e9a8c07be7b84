/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nop exporter: takes everything and keeps nothing. It is the discarding end of the
 * receive-and-decode benchmark and a valid exporter for configs that only feed the SLO engine.
 */
#include "ag_component.h"

static int nop_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                      void **out, char *err, size_t errlen)
{
    (void)cfg;
    (void)env;
    (void)err;
    (void)errlen;
    static int token;
    *out = &token;
    return 0;
}

static int nop_consume(void *self, struct ag_payload *p)
{
    (void)self;
    (void)p;
    return 0;
}

static void nop_flush(void *self)
{
    (void)self;
}

static void nop_destroy(void *self)
{
    (void)self;
}

const struct ag_exporter_ops ag_nop_exporter_ops = {
    .type = "nop",
    .create = nop_create,
    .consume = nop_consume,
    .flush = nop_flush,
    .destroy = nop_destroy,
};
