/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes otterd's config loader: arbitrary bytes go through ag_config_load_string (libyaml, the
 * node tree with aliases and merge keys, ${env:VAR} expansion, the component schemas and the
 * pipeline checks). A loaded config must be internally consistent; a rejected one must leave no
 * config behind. Seeds: corpus/config/.
 */
#include "ag_config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct ag_config *cfg, const size_t *idx, size_t n,
                       enum ag_component_kind kind)
{
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= cfg->n_components || cfg->components[idx[i]].kind != kind) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ag_config *cfg = NULL;
    struct ag_buf diag;
    ag_buf_init(&diag, 64 * 1024);
    int rc = ag_config_load_string("fuzz", (const char *)data, size, &cfg, &diag);
    if (rc != 0) {
        if (cfg != NULL || rc > 0) {
            abort();
        }
    } else {
        if (cfg == NULL || cfg->n_pipelines == 0) {
            abort();
        }
        for (size_t i = 0; i < cfg->n_pipelines; i++) {
            const struct ag_pipeline_config *p = &cfg->pipelines[i];
            if (p->n_receivers == 0 || p->n_exporters == 0) {
                abort();
            }
            check_list(cfg, p->receivers, p->n_receivers, AG_KIND_RECEIVER);
            check_list(cfg, p->processors, p->n_processors, AG_KIND_PROCESSOR);
            check_list(cfg, p->exporters, p->n_exporters, AG_KIND_EXPORTER);
        }
        check_list(cfg, cfg->extensions, cfg->n_extensions, AG_KIND_EXTENSION);
        for (size_t i = 0; i < cfg->n_components; i++) {
            if (ag_config_find(cfg, cfg->components[i].kind, cfg->components[i].id) < 0) {
                abort();
            }
        }
    }
    /* Every diagnostic line names the input. */
    const char *s = ag_buf_str(&diag);
    while (*s != '\0') {
        if (strncmp(s, "fuzz:", 5) != 0) {
            abort();
        }
        const char *nl = strchr(s, '\n');
        if (nl == NULL) {
            abort();
        }
        s = nl + 1;
    }
    ag_buf_cleanup(&diag);
    ag_config_free(cfg);
    return 0;
}
