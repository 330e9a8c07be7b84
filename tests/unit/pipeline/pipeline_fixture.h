#ifndef PIPELINE_FIXTURE_H
#define PIPELINE_FIXTURE_H

/*
 * Hand-built OTLP requests for the pipeline tests: |n_res| resources, each with |n_scopes|
 * scopes of |n_spans| spans. Span i (counting across the whole request) is named "s<i>", so
 * tests can check order and identity after splitting and merging.
 */

#include <stdio.h>
#include <string.h>

#include "ag_arena.h"
#include "ag_payload.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest fx_req;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans fx_rs;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans fx_ss;
typedef Opentelemetry__Proto__Trace__V1__Span fx_span;

static inline struct ag_payload *fx_traces(size_t n_res, size_t n_scopes, size_t n_spans,
                                           int *next_name)
{
    struct ag_arena *a = ag_arena_new(0);
    fx_req *req = ag_arena_alloc(a, sizeof(*req));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
    req->n_resource_spans = n_res;
    req->resource_spans = ag_arena_alloc(a, n_res * sizeof(void *));
    for (size_t r = 0; r < n_res; r++) {
        fx_rs *rs = ag_arena_alloc(a, sizeof(*rs));
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        rs->resource = ag_arena_alloc(a, sizeof(*rs->resource));
        opentelemetry__proto__resource__v1__resource__init(rs->resource);
        rs->n_scope_spans = n_scopes;
        rs->scope_spans = ag_arena_alloc(a, n_scopes * sizeof(void *));
        for (size_t s = 0; s < n_scopes; s++) {
            fx_ss *ss = ag_arena_alloc(a, sizeof(*ss));
            opentelemetry__proto__trace__v1__scope_spans__init(ss);
            ss->n_spans = n_spans;
            ss->spans = ag_arena_alloc(a, n_spans * sizeof(void *));
            for (size_t i = 0; i < n_spans; i++) {
                fx_span *sp = ag_arena_alloc(a, sizeof(*sp));
                opentelemetry__proto__trace__v1__span__init(sp);
                char name[32];
                snprintf(name, sizeof(name), "s%d", (*next_name)++);
                sp->name = ag_arena_strndup(a, name, strlen(name));
                ss->spans[i] = sp;
            }
            rs->scope_spans[s] = ss;
        }
        req->resource_spans[r] = rs;
    }
    return ag_payload_new(AG_SIGNAL_TRACES, a, &req->base, n_res * n_scopes * n_spans);
}

/* Writes the span names of a payload, in order, separated by spaces, into |out|. */
static inline void fx_names(const struct ag_payload *p, char *out, size_t len)
{
    const fx_req *req = (const fx_req *)p->msg;
    size_t o = 0;
    out[0] = '\0';
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
            fx_ss *ss = req->resource_spans[r]->scope_spans[s];
            for (size_t i = 0; i < ss->n_spans && o + 8 < len; i++) {
                o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " " : "", ss->spans[i]->name);
            }
        }
    }
}

#endif /* PIPELINE_FIXTURE_H */
