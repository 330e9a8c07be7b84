/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reference-counted decoded requests, and the zero-copy reshaping the batch processor and
 * resource detection need. All three OTLP signals share one shape (request -> resource_X[] ->
 * scope_X[] -> items[]), so merge and split walk the protobuf-c descriptors generically: field
 * 1 of the request, field 2 of the resource level and field 2 of the scope level.
 */
#include "ag_payload.h"
#include "ag_mem.h"

#include <stdbool.h>
#include <string.h>

#include "opentelemetry/proto/metrics/v1/metrics.pb-c.h"
#include "opentelemetry/proto/resource/v1/resource.pb-c.h"

#define SHELL_ARENA_CAP (256u * 1024 * 1024)

static size_t bytes_in_flight;

size_t ag_payload_bytes_in_flight(void)
{
    return bytes_in_flight;
}

struct ag_payload *ag_payload_new(enum ag_signal signal, struct ag_arena *arena,
                                  ProtobufCMessage *msg, size_t items)
{
    struct ag_payload *p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        ag_arena_free(arena);
        return NULL;
    }
    p->refs = 1;
    p->signal = signal;
    p->arena = arena;
    p->msg = msg;
    p->items = items;
    ag_payload_account(p);
    return p;
}

struct ag_payload *ag_payload_ref(struct ag_payload *p)
{
    p->refs++;
    return p;
}

void ag_payload_unref(struct ag_payload *p)
{
    if (p == NULL || --p->refs > 0) {
        return;
    }
    bytes_in_flight -= p->accounted;
    for (size_t i = 0; i < p->n_parents; i++) {
        ag_payload_unref(p->parents[i]);
    }
    ag_free(p->parents);
    ag_arena_free(p->arena);
    ag_free(p);
}

/* ---- generic access to repeated message fields -------------------------------------------- */

static const ProtobufCFieldDescriptor *field(const ProtobufCMessageDescriptor *d, unsigned id)
{
    return protobuf_c_message_descriptor_get_field(d, id);
}

static size_t rep_count(const void *msg, const ProtobufCFieldDescriptor *f)
{
    return *(const size_t *)((const char *)msg + f->quantifier_offset);
}

static void **rep_items(const void *msg, const ProtobufCFieldDescriptor *f)
{
    return *(void ***)((const char *)msg + f->offset);
}

static void rep_set(void *msg, const ProtobufCFieldDescriptor *f, void **items, size_t n)
{
    *(size_t *)((char *)msg + f->quantifier_offset) = n;
    *(void ***)((char *)msg + f->offset) = items;
}

/* The three levels of a signal's request. */
struct shape {
    const ProtobufCMessageDescriptor *req;
    const ProtobufCFieldDescriptor *req_res; /* request.resource_X */
    const ProtobufCMessageDescriptor *res;
    const ProtobufCFieldDescriptor *res_scope;    /* resource_X.scope_X */
    const ProtobufCFieldDescriptor *res_resource; /* resource_X.resource */
    const ProtobufCMessageDescriptor *scope;
    const ProtobufCFieldDescriptor *scope_items; /* scope_X.items */
};

static void get_shape(enum ag_signal signal, struct shape *s)
{
    s->req = ag_otlp_request_descriptor(signal);
    s->req_res = field(s->req, 1);
    s->res = s->req_res->descriptor;
    s->res_scope = field(s->res, 2);
    s->res_resource = field(s->res, 1);
    s->scope = s->res_scope->descriptor;
    s->scope_items = field(s->scope, 2);
}

static size_t item_weight(enum ag_signal signal, const void *item)
{
    return signal == AG_SIGNAL_METRICS ? ag_otlp_metric_points(item) : 1;
}

/* Copies a message struct (shallow) into |arena|. */
static void *shallow_copy(struct ag_arena *arena, const ProtobufCMessageDescriptor *d,
                          const void *src)
{
    void *p = ag_arena_alloc(arena, d->sizeof_message);
    if (p != NULL) {
        memcpy(p, src, d->sizeof_message);
    }
    return p;
}

static void *new_message(struct ag_arena *arena, const ProtobufCMessageDescriptor *d)
{
    void *p = ag_arena_alloc(arena, d->sizeof_message);
    if (p != NULL) {
        protobuf_c_message_init(d, p);
    }
    return p;
}

/* A shell payload: its own small arena and one reference on each parent. */
static struct ag_payload *shell_new(enum ag_signal signal, struct ag_payload **parents, size_t n)
{
    struct ag_arena *arena = ag_arena_new(SHELL_ARENA_CAP);
    if (arena == NULL) {
        return NULL;
    }
    struct ag_payload *p = ag_payload_new(signal, arena, NULL, 0);
    if (p == NULL) {
        return NULL;
    }
    p->parents = ag_calloc(n, sizeof(*p->parents));
    if (p->parents == NULL) {
        ag_payload_unref(p);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        p->parents[i] = ag_payload_ref(parents[i]);
    }
    p->n_parents = n;
    return p;
}

void ag_payload_account(struct ag_payload *p)
{
    size_t now = ag_arena_footprint(p->arena);
    bytes_in_flight += now - p->accounted;
    p->accounted = now;
}

size_t ag_payload_footprint(const struct ag_payload *p)
{
    size_t n = p->accounted;
    for (size_t i = 0; i < p->n_parents; i++) {
        n += ag_payload_footprint(p->parents[i]);
    }
    return n;
}

struct ag_payload *ag_payload_merge(struct ag_payload **parts, size_t n)
{
    struct shape s;
    get_shape(parts[0]->signal, &s);
    struct ag_payload *p = shell_new(parts[0]->signal, parts, n);
    if (p == NULL) {
        return NULL;
    }
    size_t total = 0, items = 0;
    for (size_t i = 0; i < n; i++) {
        total += rep_count(parts[i]->msg, s.req_res);
        items += parts[i]->items;
    }
    void *req = new_message(p->arena, s.req);
    void **arr = ag_arena_alloc(p->arena, (total ? total : 1) * sizeof(void *));
    if (req == NULL || arr == NULL) {
        ag_payload_unref(p);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = rep_count(parts[i]->msg, s.req_res);
        if (c > 0) {
            memcpy(arr + k, rep_items(parts[i]->msg, s.req_res), c * sizeof(void *));
        }
        k += c;
    }
    rep_set(req, s.req_res, arr, total);
    p->msg = req;
    p->items = items;
    ag_payload_account(p);
    return p;
}

/* State of a split in progress: the chunk being filled. */
struct splitter {
    struct shape s;
    struct ag_payload *src;
    size_t max;
    struct ag_payload **chunks;
    size_t n_chunks, cap_chunks;
    struct ag_payload *cur; /* chunk being filled */
    void **cur_res;         /* its resource array */
    size_t n_cur_res;
    void *cur_res_shell; /* the last resource shell in it */
    const void *cur_res_src;
    void **cur_scopes; /* the scope array of cur_res_shell */
    size_t n_cur_scopes;
};

static int split_close(struct splitter *sp)
{
    if (sp->cur == NULL) {
        return 0;
    }
    rep_set(sp->cur->msg, sp->s.req_res, sp->cur_res, sp->n_cur_res);
    if (sp->cur_res_shell != NULL) {
        rep_set(sp->cur_res_shell, sp->s.res_scope, sp->cur_scopes, sp->n_cur_scopes);
    }
    ag_payload_account(sp->cur);
    if (sp->n_chunks == sp->cap_chunks) {
        size_t ncap = sp->cap_chunks ? sp->cap_chunks * 2 : 8;
        struct ag_payload **n = ag_realloc(sp->chunks, ncap * sizeof(*n));
        if (n == NULL) {
            ag_payload_unref(sp->cur);
            sp->cur = NULL;
            return AG_ENOMEM;
        }
        sp->chunks = n;
        sp->cap_chunks = ncap;
    }
    sp->chunks[sp->n_chunks++] = sp->cur;
    sp->cur = NULL;
    return 0;
}

static int split_open(struct splitter *sp)
{
    sp->cur = shell_new(sp->src->signal, &sp->src, 1);
    if (sp->cur == NULL) {
        return AG_ENOMEM;
    }
    size_t n_res = rep_count(sp->src->msg, sp->s.req_res);
    sp->cur->msg = new_message(sp->cur->arena, sp->s.req);
    sp->cur_res = ag_arena_alloc(sp->cur->arena, (n_res ? n_res : 1) * sizeof(void *));
    sp->n_cur_res = 0;
    sp->cur_res_shell = NULL;
    sp->cur_res_src = NULL;
    if (sp->cur->msg == NULL || sp->cur_res == NULL) {
        ag_payload_unref(sp->cur);
        sp->cur = NULL;
        return AG_ENOMEM;
    }
    return 0;
}

/*
 * The data message of the Metric |metric| (its oneof, found through the descriptor: |*oneof|)
 * and the field of its data points (field 1 of every kind: |*pts|); NULL when it has no data.
 */
static const void *metric_data(const void *metric, const ProtobufCFieldDescriptor **oneof,
                               const ProtobufCFieldDescriptor **pts)
{
    const Opentelemetry__Proto__Metrics__V1__Metric *m = metric;
    *oneof = field(&opentelemetry__proto__metrics__v1__metric__descriptor, (unsigned)m->data_case);
    if (*oneof == NULL) {
        return NULL;
    }
    *pts = field((*oneof)->descriptor, 1);
    return *(void *const *)((const char *)m + (*oneof)->offset);
}

/*
 * A shallow copy of the Metric |metric| in |a| that holds only its data points [from, from + n),
 * whatever its type (gauge, sum, histograms, summary). With |own| the copy's array of points is
 * its own (its entries can be replaced); else it points into the original's. Returns it, or NULL
 * when out of memory.
 */
static void *metric_slice(struct ag_arena *a, const void *metric, size_t from, size_t n, bool own)
{
    const ProtobufCFieldDescriptor *f = NULL, *pts = NULL;
    const void *data = metric_data(metric, &f, &pts);
    char *c = shallow_copy(a, &opentelemetry__proto__metrics__v1__metric__descriptor, metric);
    if (c == NULL || data == NULL) {
        return c; /* no data: nothing to slice (a metric of 0 points is never cut) */
    }
    void *dc = shallow_copy(a, f->descriptor, data);
    void **items = rep_items(data, pts) + from;
    if (own && n > 0) {
        void **copy = ag_arena_alloc(a, n * sizeof(void *));
        if (copy == NULL) {
            return NULL;
        }
        memcpy(copy, items, n * sizeof(void *));
        items = copy;
    }
    if (dc == NULL) {
        return NULL;
    }
    rep_set(dc, pts, items, n);
    memcpy(c + f->offset, &dc, sizeof(dc));
    return c;
}

/*
 * Adds items [from, from+k) of scope |scope| (in resource |res|) to the current chunk. With
 * |first| or |last| (metrics cut inside their data points), the chunk's copy of the range has
 * those in its first or last place.
 */
static int split_add(struct splitter *sp, const void *res, const void *scope, size_t from, size_t k,
                     size_t weight, void *first, void *last)
{
    struct ag_arena *a = sp->cur->arena;
    if (sp->cur_res_src != res) {
        if (sp->cur_res_shell != NULL) {
            rep_set(sp->cur_res_shell, sp->s.res_scope, sp->cur_scopes, sp->n_cur_scopes);
        }
        size_t n_sc = rep_count(res, sp->s.res_scope);
        sp->cur_res_shell = shallow_copy(a, sp->s.res, res);
        sp->cur_scopes = ag_arena_alloc(a, (n_sc ? n_sc : 1) * sizeof(void *));
        if (sp->cur_res_shell == NULL || sp->cur_scopes == NULL) {
            return AG_ENOMEM;
        }
        sp->n_cur_scopes = 0;
        sp->cur_res_src = res;
        sp->cur_res[sp->n_cur_res++] = sp->cur_res_shell;
    }
    void *sc = shallow_copy(a, sp->s.scope, scope);
    if (sc == NULL) {
        return AG_ENOMEM;
    }
    void **items = rep_items(scope, sp->s.scope_items) + from;
    if (first != NULL || last != NULL) {
        void **copy = ag_arena_alloc(a, k * sizeof(void *));
        if (copy == NULL) {
            return AG_ENOMEM;
        }
        memcpy(copy, items, k * sizeof(void *));
        copy[0] = first != NULL ? first : copy[0];
        copy[k - 1] = last != NULL ? last : copy[k - 1];
        items = copy;
    }
    rep_set(sc, sp->s.scope_items, items, k);
    sp->cur_scopes[sp->n_cur_scopes++] = sc;
    sp->cur->items += weight;
    return 0;
}

long ag_payload_split(struct ag_payload *p, size_t max, struct ag_payload ***out)
{
    struct splitter sp;
    memset(&sp, 0, sizeof(sp));
    get_shape(p->signal, &sp.s);
    sp.src = p;
    sp.max = max ? max : SIZE_MAX;
    int rc = 0;
    size_t n_res = rep_count(p->msg, sp.s.req_res);
    void **res = rep_items(p->msg, sp.s.req_res);
    for (size_t r = 0; r < n_res && rc == 0; r++) {
        size_t n_sc = rep_count(res[r], sp.s.res_scope);
        void **scopes = rep_items(res[r], sp.s.res_scope);
        for (size_t s = 0; s < n_sc && rc == 0; s++) {
            size_t n_it = rep_count(scopes[s], sp.s.scope_items);
            void **items = rep_items(scopes[s], sp.s.scope_items);
            size_t i = 0, done = 0; /* |done|: data points of items[i] already in a chunk */
            while (i < n_it && rc == 0) {
                if (sp.cur == NULL && (rc = split_open(&sp)) != 0) {
                    break;
                }
                size_t k = 0, w = 0, room = sp.max - sp.cur->items, cut = 0;
                /* As many items as fit; a metric that does not is cut inside its data points,
                 * as the collector's batch processor does (another signal's item always fits). */
                while (i + k < n_it && w < room) {
                    size_t iw = item_weight(p->signal, items[i + k]) - (k == 0 ? done : 0);
                    if (w + iw > room) {
                        cut = room - w; /* of this metric's points, the ones that fit */
                        w = room;
                        k++;
                        break;
                    }
                    w += iw;
                    k++;
                }
                struct ag_arena *a = sp.cur->arena;
                void *first = NULL, *last = NULL;
                if (done > 0) {
                    size_t n = item_weight(p->signal, items[i]) - done;
                    first = metric_slice(a, items[i], done, k == 1 && cut ? cut : n, false);
                    rc = first == NULL ? AG_ENOMEM : 0;
                }
                if (rc == 0 && cut > 0 && !(k == 1 && done > 0)) {
                    last = metric_slice(a, items[i + k - 1], 0, cut, false);
                    rc = last == NULL ? AG_ENOMEM : 0;
                }
                if (rc == 0) {
                    rc = split_add(&sp, res[r], scopes[s], i, k, w, first, last);
                }
                /* A cut metric stays the next chunk's first item, from the points not sent. */
                done = cut > 0 ? (k == 1 ? done : 0) + cut : 0;
                i += cut > 0 ? k - 1 : k;
                if (rc == 0 && sp.cur->items >= sp.max) {
                    rc = split_close(&sp);
                }
            }
        }
    }
    if (rc == 0) {
        rc = split_close(&sp);
    }
    if (rc != 0) {
        ag_payload_unref(sp.cur);
        for (size_t i = 0; i < sp.n_chunks; i++) {
            ag_payload_unref(sp.chunks[i]);
        }
        ag_free(sp.chunks);
        *out = NULL;
        return AG_ENOMEM;
    }
    *out = sp.chunks;
    return (long)sp.n_chunks;
}

struct ag_payload *ag_payload_own_resources(struct ag_payload *p, size_t extra)
{
    struct shape s;
    get_shape(p->signal, &s);
    struct ag_payload *q = shell_new(p->signal, &p, 1);
    if (q == NULL) {
        return NULL;
    }
    struct ag_arena *a = q->arena;
    size_t n_res = rep_count(p->msg, s.req_res);
    void **res = rep_items(p->msg, s.req_res);
    void *req = shallow_copy(a, s.req, p->msg);
    void **arr = ag_arena_alloc(a, (n_res ? n_res : 1) * sizeof(void *));
    if (req == NULL || arr == NULL) {
        goto fail;
    }
    for (size_t r = 0; r < n_res; r++) {
        void *rs = shallow_copy(a, s.res, res[r]);
        if (rs == NULL) {
            goto fail;
        }
        ProtobufCMessage **resp = (ProtobufCMessage **)((char *)rs + s.res_resource->offset);
        Opentelemetry__Proto__Resource__V1__Resource *nr = ag_arena_alloc(a, sizeof(*nr));
        if (nr == NULL) {
            goto fail;
        }
        if (*resp != NULL) {
            memcpy(nr, *resp, sizeof(*nr));
        } else {
            opentelemetry__proto__resource__v1__resource__init(nr);
        }
        Opentelemetry__Proto__Common__V1__KeyValue **attrs =
            ag_arena_alloc(a, (nr->n_attributes + extra + 1) * sizeof(*attrs));
        if (attrs == NULL) {
            goto fail;
        }
        if (nr->n_attributes > 0) {
            memcpy(attrs, nr->attributes, nr->n_attributes * sizeof(*attrs));
        }
        nr->attributes = attrs;
        *resp = &nr->base;
        arr[r] = rs;
    }
    rep_set(req, s.req_res, arr, n_res);
    q->msg = req;
    q->items = p->items;
    ag_payload_account(q);
    return q;
fail:
    ag_payload_account(q);
    ag_payload_unref(q);
    return NULL;
}

int ag_payload_foreach_resource(struct ag_payload *p, ag_payload_resource_fn *fn, void *arg)
{
    struct shape s;
    get_shape(p->signal, &s);
    size_t n_res = rep_count(p->msg, s.req_res);
    void **res = rep_items(p->msg, s.req_res);
    for (size_t r = 0; r < n_res; r++) {
        ProtobufCMessage **resp = (ProtobufCMessage **)((char *)res[r] + s.res_resource->offset);
        if (*resp == NULL) {
            return AG_EINVAL;
        }
        int rc = fn(p, *resp, arg);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int ag_payload_edit_resources(struct ag_payload *p, size_t extra, ag_payload_resource_fn *fn,
                              void *arg, int (*consume)(void *self, struct ag_payload *shell),
                              void *self)
{
    struct ag_payload *q = ag_payload_own_resources(p, extra);
    if (q == NULL) {
        return AG_ENOMEM;
    }
    int rc = ag_payload_foreach_resource(q, fn, arg);
    ag_payload_account(q);
    if (rc == 0) {
        rc = consume(self, q);
    }
    ag_payload_unref(q);
    return rc;
}

/* ---- items with private attributes ----------------------------------------------------------- */

/* A shallow copy of |msg| in |a| whose repeated field |f| is a private array with room for
 * |extra| more entries. */
static void *own_repeated(struct ag_arena *a, const ProtobufCMessageDescriptor *d, const void *msg,
                          const ProtobufCFieldDescriptor *f, size_t extra)
{
    void *c = shallow_copy(a, d, msg);
    size_t n = rep_count(msg, f);
    void **arr = ag_arena_alloc(a, (n + extra + 1) * sizeof(void *));
    if (c == NULL || arr == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(arr, rep_items(msg, f), n * sizeof(void *));
    }
    rep_set(c, f, arr, n);
    return c;
}

struct item_edit {
    ag_payload_attrs_fn *fn;
    void *arg;
    size_t extra;
    /* The last item type seen and its attributes field: looked up by name once per run of
     * items of one type, not once per item. */
    const ProtobufCMessageDescriptor *d;
    const ProtobufCFieldDescriptor *attrs;
};

/* Replaces *|slot| (an item) by its copy with private attributes, and edits them. */
static int edit_item(struct ag_payload *q, void **slot, const ProtobufCMessageDescriptor *d,
                     struct item_edit *e)
{
    if (e->d != d) {
        e->d = d;
        e->attrs = protobuf_c_message_descriptor_get_field_by_name(d, "attributes");
    }
    const ProtobufCFieldDescriptor *f = e->attrs;
    void *c = f != NULL ? own_repeated(q->arena, d, *slot, f, e->extra) : NULL;
    if (c == NULL) {
        return AG_ENOMEM;
    }
    *slot = c;
    return e->fn(q, (ProtobufCMessage ***)((char *)c + f->offset),
                 (size_t *)((char *)c + f->quantifier_offset), e->arg);
}

/* A metric: its data message and data points copied, each point's attributes edited. */
static int edit_metric(struct ag_payload *q, void **slot, struct item_edit *e)
{
    const ProtobufCFieldDescriptor *f = NULL, *pts = NULL;
    const void *data = metric_data(*slot, &f, &pts);
    if (data == NULL) {
        return 0; /* no data */
    }
    char *c = metric_slice(q->arena, *slot, 0, rep_count(data, pts), true);
    if (c == NULL) {
        return AG_ENOMEM;
    }
    *slot = c;
    const void *dc = *(void *const *)(c + f->offset);
    void **points = rep_items(dc, pts);
    int rc = 0;
    for (size_t i = 0; i < rep_count(dc, pts) && rc == 0; i++) {
        rc = edit_item(q, &points[i], pts->descriptor, e);
    }
    return rc;
}

int ag_payload_edit_item_attributes(struct ag_payload *p, size_t extra, ag_payload_attrs_fn *fn,
                                    void *arg, int (*consume)(void *self, struct ag_payload *shell),
                                    void *self)
{
    struct shape s;
    get_shape(p->signal, &s);
    struct ag_payload *q = shell_new(p->signal, &p, 1);
    if (q == NULL) {
        return AG_ENOMEM;
    }
    struct item_edit e = {fn, arg, extra, NULL, NULL};
    int rc = 0;
    void *req = own_repeated(q->arena, s.req, p->msg, s.req_res, 0);
    if (req == NULL) {
        rc = AG_ENOMEM;
    }
    void **res = req != NULL ? rep_items(req, s.req_res) : NULL;
    for (size_t r = 0; rc == 0 && r < rep_count(req, s.req_res); r++) {
        if ((res[r] = own_repeated(q->arena, s.res, res[r], s.res_scope, 0)) == NULL) {
            rc = AG_ENOMEM;
            break;
        }
        void **scopes = rep_items(res[r], s.res_scope);
        for (size_t k = 0; rc == 0 && k < rep_count(res[r], s.res_scope); k++) {
            if ((scopes[k] = own_repeated(q->arena, s.scope, scopes[k], s.scope_items, 0)) ==
                NULL) {
                rc = AG_ENOMEM;
                break;
            }
            void **items = rep_items(scopes[k], s.scope_items);
            for (size_t i = 0; rc == 0 && i < rep_count(scopes[k], s.scope_items); i++) {
                rc = p->signal == AG_SIGNAL_METRICS
                         ? edit_metric(q, &items[i], &e)
                         : edit_item(q, &items[i], s.scope_items->descriptor, &e);
            }
        }
    }
    if (rc == 0) {
        q->msg = req;
        q->items = p->items;
        ag_payload_account(q);
        rc = consume(self, q);
    }
    ag_payload_unref(q);
    return rc;
}
