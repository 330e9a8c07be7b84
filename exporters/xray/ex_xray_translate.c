/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Walks an ExportTraceServiceRequest and translates each span with ex_xray_segment_write(),
 * skipping (and counting) the spans X-Ray cannot take. Shared by the awsxray exporter and
 * `otterd translate --to xray`, so the command prints exactly what the exporter sends.
 */
#include "ex_xray_translate.h"

#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

void ex_xray_options_from_config(const struct ag_awsxray_config *cfg,
                                 struct ex_xray_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    if (cfg == NULL) {
        return;
    }
    opts->indexed_attributes = (const char *const *)cfg->indexed_attributes;
    opts->n_indexed_attributes = cfg->n_indexed_attributes;
    opts->index_all_attributes = cfg->index_all_attributes != 0;
    opts->aws_log_groups = (const char *const *)cfg->aws_log_groups;
    opts->n_aws_log_groups = cfg->n_aws_log_groups;
    opts->skip_timestamp_validation = cfg->skip_timestamp_validation != 0;
    opts->disallow_dot = cfg->allow_dot == 0;
}

int ex_xray_translate(const struct ex_xray_options *opts, const ProtobufCMessage *req,
                      struct ag_buf *out, struct ex_xray_translate_result *res)
{
    return ex_xray_translate_chunked(opts, req, out, 0, NULL, NULL, res);
}

/* The spans of one ResourceSpans, as ex_xray_translate_chunked() describes. */
static int translate_resource(const struct ex_xray_options *opts,
                              const struct ex_xray_resource *prepared,
                              const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs,
                              struct ag_buf *out, size_t chunk_bytes, ex_xray_chunk_fn *flush,
                              void *ctx, struct ex_xray_translate_result *res)
{
    for (size_t j = 0; j < rs->n_scope_spans; j++) {
        const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
        for (size_t k = 0; k < ss->n_spans; k++) {
            struct ex_xray_result one;
            size_t before = out->len;
            res->spans++;
            int rc = ex_xray_segment_write_res(opts, prepared, &ss->spans[k]->base, out, &one);
            if (rc == 0) {
                res->docs += one.n_docs;
                res->dropped_attributes += one.dropped_attributes;
                res->trimmed_docs += one.trimmed_docs;
            } else if (rc == AG_EPROTO) {
                res->invalid++;
            } else if (rc == AG_ETOOBIG && (before == 0 || out->data != NULL)) {
                /* The document, not |out| (a failed append would have freed a non-empty
                 * |out|, and an empty one holds any span's documents): only this span is
                 * lost. */
                res->too_big++;
            } else {
                return rc;
            }
            if (flush != NULL && out->len >= chunk_bytes) {
                if ((rc = flush(ctx, (const char *)ag_buf_ptr(out), out->len)) != 0) {
                    return rc;
                }
                ag_buf_reset(out);
            }
        }
    }
    return 0;
}

int ex_xray_translate_chunked(const struct ex_xray_options *opts, const ProtobufCMessage *req,
                              struct ag_buf *out, size_t chunk_bytes, ex_xray_chunk_fn *flush,
                              void *ctx, struct ex_xray_translate_result *res)
{
    const ProtobufCMessageDescriptor *want =
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    memset(res, 0, sizeof(*res));
    if (req == NULL || req->descriptor != want) {
        return AG_EINVAL;
    }
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
        (const void *)req;
    for (size_t i = 0; i < r->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = r->resource_spans[i];
        const ProtobufCMessage *resource = rs->resource != NULL ? &rs->resource->base : NULL;
        /* The resource is indexed once for all its spans. */
        struct ex_xray_resource *prepared;
        int rc = ex_xray_resource_new(opts, resource, &prepared);
        if (rc != 0) {
            return rc;
        }
        rc = translate_resource(opts, prepared, rs, out, chunk_bytes, flush, ctx, res);
        ex_xray_resource_free(prepared);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
