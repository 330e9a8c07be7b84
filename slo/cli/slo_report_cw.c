/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo report --from cloudwatch`: the SLO counts otterd's EMF metrics write (GoodCount and
 * TotalCount per SLO and Service, slo_cw.h), summed over every agent by CloudWatch, read with
 * GetMetricData (AWS JSON 1.0, signed by exporters/aws) and turned into observations for a fresh
 * engine, as an events file would be. The AWS client is asynchronous; this command has nothing
 * else to do, so it runs the client's event loop on a private event_base until each call is done
 * (a synchronous wrapper).
 */
#include <event2/event.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_err.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ex_aws_client.h"
#include "slo_cw.h"
#include "slo_eval.h"
#include "slo_report_cli.h"

#define CW_BODY_CAP (4u << 20)
#define CW_MAX_QUERIES 500u /* GetMetricData: MetricDataQueries per request */
#define CW_MAX_PAGES 10000u
#define DAY_MS 86400000ll

/* One datapoint: SLO |slo|, Unix ms |t|, |good| (else total) sum |v|. */
struct point {
    size_t slo;
    int64_t t;
    bool good;
    uint64_t v;
};

struct points {
    struct point *v;
    size_t n, cap;
};

struct call_state {
    bool done;
    int rc;
    int status;
    struct ag_buf body;
    char msg[700];
};

struct cw {
    struct event_base *base;
    struct ex_aws_http *http;
    struct ex_aws_creds *creds;
    struct ex_aws_client *client;
};

static void cw_close(struct cw *c)
{
    ex_aws_client_free(c->client);
    ex_aws_creds_free(c->creds);
    ex_aws_http_free(c->http);
    if (c->base != NULL) {
        event_base_free(c->base);
    }
}

static int cw_open(struct cw *c, const struct slo_cw_fetch_opts *o, FILE *err)
{
    char why[512] = "";
    memset(c, 0, sizeof(*c));
    c->base = event_base_new();
    if (c->base == NULL) {
        fputs("slo report: cannot create an event loop\n", err);
        return 2;
    }
    struct ex_aws_http_options hopts = {.timeout_ms = (uint64_t)o->timeout_s * 1000,
                                        .connect_timeout_ms = (uint64_t)o->timeout_s * 1000,
                                        .user_agent = "otter-slo"};
    if (ex_aws_http_new(c->base, &hopts, &c->http) != 0) {
        fputs("slo report: cannot create the HTTP client\n", err);
        return 2;
    }
    struct ex_aws_creds_options copts = {.region = o->region};
    if (ex_aws_creds_new(c->base, c->http, &copts, &c->creds, why, sizeof(why)) != 0) {
        fprintf(err, "slo report: AWS credentials: %s\n", why);
        return 2;
    }
    struct ex_aws_client_options kopts = {
        .service_id = "CLOUDWATCH",
        .endpoint_prefix = "monitoring",
        .signing_name = "monitoring",
        .protocol = EX_AWS_JSON,
        .region = o->region,
        .endpoint = o->endpoint,
        .timeout_ms = (uint64_t)o->timeout_s * 1000,
        .connect_timeout_ms = (uint64_t)o->timeout_s * 1000,
    };
    if (ex_aws_client_new(c->base, c->http, c->creds, &kopts, &c->client, why, sizeof(why)) !=
        0) {
        fprintf(err, "slo report: CloudWatch client: %s\n", why);
        return 2;
    }
    return 0;
}

static void on_done(void *arg, const struct ex_aws_result *res)
{
    struct call_state *st = arg;
    st->done = true;
    st->rc = res->rc;
    st->status = res->status;
    if (res->rc == 0) {
        if (ag_buf_add(&st->body, res->body, res->body_len) != 0) {
            st->rc = AG_ETOOBIG;
        }
        return;
    }
    snprintf(st->msg, sizeof(st->msg), "%s%s%s%s", res->error.code,
             res->error.code[0] && res->error.message[0] ? ": " : "", res->error.message,
             res->error.code[0] || res->error.message[0] ? "" : ag_strerror(res->rc));
}

/* One GetMetricData call with |req| (JSON); the answer's body in st->body. Returns 0 or 2. */
static int cw_call(struct cw *c, const struct ag_buf *req, struct call_state *st, FILE *err)
{
    struct ex_aws_call call = {
        .method = "POST",
        .path = "/",
        .content_type = "application/x-amz-json-1.0",
        .target = "GraniteServiceVersion20100801.GetMetricData",
        .body = (const uint8_t *)ag_buf_str(req),
        .body_len = req->len,
    };
    st->done = false;
    ag_buf_reset(&st->body);
    if (ex_aws_client_call(c->client, &call, on_done, st) != 0) {
        fputs("slo report: cannot start the GetMetricData call\n", err);
        return 2;
    }
    while (!st->done) {
        if (event_base_loop(c->base, EVLOOP_ONCE) < 0) {
            fputs("slo report: the event loop failed\n", err);
            return 2;
        }
    }
    if (st->rc != 0) {
        const char *ep = ex_aws_client_endpoint(c->client);
        if (st->status != 0) {
            fprintf(err, "slo report: CloudWatch GetMetricData at %s: HTTP %d: %s\n", ep,
                    st->status, st->msg);
        } else {
            fprintf(err, "slo report: CloudWatch GetMetricData at %s: %s\n", ep[0] ? ep : "?",
                    st->msg);
        }
        return 2;
    }
    return 0;
}

static int add_point(struct points *p, struct point x)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        struct point *v = ag_realloc(p->v, cap * sizeof(*v));
        if (v == NULL) {
            return AG_ENOMEM;
        }
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = x;
    return 0;
}

/* The request for SLOs [first, first + n) of |d| over [start_s, end_s) at |period| seconds. */
static int build_request(const struct slo_defs *d, const char *ns, size_t first, size_t n,
                         int64_t start_s, int64_t end_s, int period, const char *token,
                         struct ag_buf *out)
{
    struct ag_json j;
    char id[32];
    ag_buf_reset(out);
    ag_json_init(&j, out);
    ag_json_obj_open(&j);
    ag_json_key(&j, "MetricDataQueries");
    ag_json_arr_open(&j);
    for (size_t i = first; i < first + n; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        for (int k = 0; k < 2; k++) {
            ag_json_obj_open(&j);
            snprintf(id, sizeof(id), "%c%zu", k == 0 ? 'g' : 't', i);
            ag_json_key(&j, "Id");
            ag_json_str(&j, id);
            ag_json_key(&j, "MetricStat");
            ag_json_obj_open(&j);
            ag_json_key(&j, "Metric");
            ag_json_obj_open(&j);
            ag_json_key(&j, "Namespace");
            ag_json_str(&j, ns);
            ag_json_key(&j, "MetricName");
            ag_json_str(&j, k == 0 ? SLO_CW_GOOD : SLO_CW_TOTAL);
            ag_json_key(&j, "Dimensions");
            ag_json_arr_open(&j);
            ag_json_obj_open(&j);
            ag_json_key(&j, "Name");
            ag_json_str(&j, SLO_CW_DIM_SLO);
            ag_json_key(&j, "Value");
            ag_json_str(&j, s->name);
            ag_json_obj_close(&j);
            ag_json_obj_open(&j);
            ag_json_key(&j, "Name");
            ag_json_str(&j, SLO_CW_DIM_SERVICE);
            ag_json_key(&j, "Value");
            ag_json_str(&j, slo_cw_service(d, s));
            ag_json_obj_close(&j);
            ag_json_arr_close(&j);
            ag_json_obj_close(&j);
            ag_json_key(&j, "Period");
            ag_json_int(&j, period);
            ag_json_key(&j, "Stat");
            ag_json_str(&j, "Sum");
            ag_json_obj_close(&j);
            ag_json_key(&j, "ReturnData");
            ag_json_bool(&j, 1);
            ag_json_obj_close(&j);
        }
    }
    ag_json_arr_close(&j);
    ag_json_key(&j, "StartTime");
    ag_json_int(&j, start_s);
    ag_json_key(&j, "EndTime");
    ag_json_int(&j, end_s);
    ag_json_key(&j, "ScanBy");
    ag_json_str(&j, "TimestampAscending");
    if (token != NULL) {
        ag_json_key(&j, "NextToken");
        ag_json_str(&j, token);
    }
    ag_json_obj_close(&j);
    return ag_json_finish(&j);
}

/*
 * Reads one GetMetricData answer into |pts|; |*token| gets a copy of NextToken (or NULL).
 * Returns 0 or 2 (reported).
 */
static int read_answer(const struct ag_buf *body, const struct slo_defs *d, size_t first,
                       size_t n, struct points *pts, char **token, FILE *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(ag_buf_str(body), body->len, 0, &jerr);
    int rc = 2;
    *token = NULL;
    const json_t *res = json_object_get(doc, "MetricDataResults");
    if (!json_is_array(res)) {
        fprintf(err, "slo report: CloudWatch GetMetricData answer: %s\n",
                doc == NULL ? ag_err_one_line(jerr.text) : "expected a MetricDataResults array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(res); i++) {
        const json_t *r = json_array_get(res, i);
        const char *id = json_string_value(json_object_get(r, "Id"));
        const char *code = json_string_value(json_object_get(r, "StatusCode"));
        const json_t *ts = json_object_get(r, "Timestamps");
        const json_t *vs = json_object_get(r, "Values");
        char *end = NULL;
        unsigned long idx = id != NULL && (id[0] == 'g' || id[0] == 't')
                                ? strtoul(id + 1, &end, 10)
                                : 0;
        if (end == NULL || *end != '\0' || idx < first || idx >= first + n) {
            fprintf(err, "slo report: CloudWatch: MetricDataResults[%zu]: unknown Id\n", i);
            goto out;
        }
        if (code != NULL && strcmp(code, "Complete") != 0 && strcmp(code, "PartialData") != 0) {
            fprintf(err, "slo report: CloudWatch: SLO \"%s\" (%s): StatusCode %s\n",
                    d->slos[idx].name, id[0] == 'g' ? SLO_CW_GOOD : SLO_CW_TOTAL, code);
            goto out;
        }
        if (!json_is_array(ts) || !json_is_array(vs) || json_array_size(ts) != json_array_size(vs)) {
            fprintf(err, "slo report: CloudWatch: MetricDataResults[%zu]: expected Timestamps and "
                         "Values of one length\n",
                    i);
            goto out;
        }
        for (size_t k = 0; k < json_array_size(ts); k++) {
            double t = json_number_value(json_array_get(ts, k));
            double v = json_number_value(json_array_get(vs, k));
            if (!json_is_number(json_array_get(ts, k)) || !json_is_number(json_array_get(vs, k)) ||
                !(t >= 0 && t < 1e11) || !(v >= 0 && v <= 9007199254740992.0) || v != floor(v)) {
                fprintf(err, "slo report: CloudWatch: SLO \"%s\" %s: datapoint %zu: expected a "
                             "time and a whole non-negative count\n",
                        d->slos[idx].name, id[0] == 'g' ? SLO_CW_GOOD : SLO_CW_TOTAL, k);
                goto out;
            }
            struct point p = {idx, (int64_t)llround(t * 1000), id[0] == 'g', (uint64_t)v};
            if (add_point(pts, p) != 0) {
                fputs("slo report: out of memory\n", err);
                goto out;
            }
        }
    }
    const char *tok = json_string_value(json_object_get(doc, "NextToken"));
    if (tok != NULL && tok[0] != '\0' && (*token = ag_strdup(tok)) == NULL) {
        fputs("slo report: out of memory\n", err);
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

static int cmp_point(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    if (x->slo != y->slo) {
        return x->slo < y->slo ? -1 : 1;
    }
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return (int)y->good - (int)x->good;
}

int slo_cw_periods(int64_t from_ms, int64_t to_ms, int64_t now_ms, struct slo_cw_span out[3])
{
    /* CloudWatch keeps 1-minute sums 15 days, 5-minute sums 63 days, hourly sums 455 days. */
    static const struct {
        int64_t age_ms;
        int period_s;
    } tiers[3] = {{455 * DAY_MS, 3600}, {63 * DAY_MS, 300}, {15 * DAY_MS, 60}};
    int n = 0;
    int64_t lo = from_ms;
    for (int i = 0; i < 3; i++) {
        int64_t p = (int64_t)tiers[i].period_s * 1000;
        /* This tier serves up to where the next, finer one starts (aligned to this period). */
        int64_t hi = i < 2 ? now_ms - tiers[i + 1].age_ms : to_ms;
        hi = hi / p * p;
        if (hi > to_ms) {
            hi = to_ms;
        }
        int64_t s = lo / p * p;
        if (i == 2) {
            hi = to_ms / p * p;
        }
        if (hi > s) {
            out[n].start_ms = s;
            out[n].end_ms = hi;
            out[n].period_s = tiers[i].period_s;
            n++;
            lo = hi;
        }
    }
    return n;
}

int slo_cw_fetch(const struct slo_defs *d, const struct slo_cw_fetch_opts *o, int64_t from_ms,
                 int64_t to_ms, int64_t now_ms, struct slo_events *ev, FILE *err)
{
    struct cw c;
    struct call_state st = {0};
    struct ag_buf req;
    struct points pts = {0};
    char *token = NULL;
    const char *ns = o->namespace != NULL ? o->namespace : SLO_CW_NAMESPACE;
    int rc = cw_open(&c, o, err);
    ag_buf_init(&req, CW_BODY_CAP);
    ag_buf_init(&st.body, 256u << 20);
    struct slo_cw_span spans[3];
    int n_spans = slo_cw_periods(from_ms, to_ms, now_ms, spans);
    size_t per = CW_MAX_QUERIES / 2;
    for (int s = 0; s < n_spans && rc == 0; s++) {
        for (size_t first = 0; first < d->n_slos && rc == 0; first += per) {
            size_t n = d->n_slos - first < per ? d->n_slos - first : per;
            for (unsigned page = 0; rc == 0; page++) {
                if (page == CW_MAX_PAGES) {
                    fputs("slo report: CloudWatch: too many pages of answers\n", err);
                    rc = 2;
                    break;
                }
                if (build_request(d, ns, first, n, spans[s].start_ms / 1000,
                                  spans[s].end_ms / 1000, spans[s].period_s, token, &req) != 0) {
                    fputs("slo report: cannot build the GetMetricData request\n", err);
                    rc = 2;
                    break;
                }
                ag_free(token);
                token = NULL;
                rc = cw_call(&c, &req, &st, err);
                if (rc == 0) {
                    rc = read_answer(&st.body, d, first, n, &pts, &token, err);
                }
                if (token == NULL) {
                    break;
                }
            }
        }
    }
    /* GoodCount and TotalCount of one SLO and time become one observation. */
    if (rc == 0 && pts.n > 0) {
        qsort(pts.v, pts.n, sizeof(*pts.v), cmp_point);
    }
    for (size_t i = 0; i < pts.n && rc == 0;) {
        size_t j = i;
        uint64_t good = 0, total = 0;
        for (; j < pts.n && pts.v[j].slo == pts.v[i].slo && pts.v[j].t == pts.v[i].t; j++) {
            if (pts.v[j].good) {
                good += pts.v[j].v;
            } else {
                total += pts.v[j].v;
            }
        }
        if (good > total) {
            char when[40];
            if (slo_format_rfc3339(pts.v[i].t, when, sizeof(when)) < 0) {
                when[0] = '\0';
            }
            fprintf(err, "slo report: CloudWatch: SLO \"%s\" at %s: %s %llu is more than %s %llu "
                         "(the agents' counts disagree)\n",
                    d->slos[pts.v[i].slo].name, when, SLO_CW_GOOD, (unsigned long long)good,
                    SLO_CW_TOTAL, (unsigned long long)total);
            rc = 2;
            break;
        }
        if (total > 0) {
            if (ev->n == ev->cap) {
                size_t cap = ev->cap ? ev->cap * 2 : 1024;
                struct slo_event *v = ag_realloc(ev->v, cap * sizeof(*v));
                if (v == NULL) {
                    fputs("slo report: out of memory\n", err);
                    rc = 2;
                    break;
                }
                ev->v = v;
                ev->cap = cap;
            }
            ev->v[ev->n++] = (struct slo_event){pts.v[i].t, pts.v[i].slo, good, total, 0};
        }
        i = j;
    }
    ag_free(token);
    ag_free(pts.v);
    ag_buf_cleanup(&req);
    ag_buf_cleanup(&st.body);
    cw_close(&c);
    return rc;
}
