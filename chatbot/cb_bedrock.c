/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `bedrock` provider: builds Converse requests (system prompt, history trimmed to a token
 * budget, inference config), sends them through the AWS layer's client (SigV4 "bedrock",
 * standard retries, timeouts), reads Converse answers with jansson and ConverseStream answers
 * with the event-stream decoder, and turns every failure into a clean message for the user.
 */
#include "cb_bedrock.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ag_json.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "cb_eventstream.h"
#include "cb_otel.h"
#include "ex_aws_client.h"
#include "ex_aws_creds.h"
#include "ex_aws_http.h"

#define WHO "bedrock"

struct bcall {
    struct bedrock *p;
    struct bcall *prev, *next;
    void *arg;
    cb_delta_fn *delta;
    cb_reply_fn *done;
    bool stream;
    struct cb_bedrock_answer ans; /* the answer so far */
    struct cb_es_decoder *dec;    /* ConverseStream only */
    int fail_rc;                  /* why on_data stopped the transfer */
    struct cb_otel_span *span;    /* the call's CLIENT span; NULL without telemetry */
};

struct bedrock {
    struct cb_provider base; /* first: the provider pointer is the object */
    struct cb_bedrock_config cfg;
    char *model_id, *region, *endpoint, *system_prompt;
    char *path_converse, *path_stream;
    struct ex_aws_http *http;
    struct ex_aws_creds *creds;
    struct ex_aws_client *client;
    struct bcall *calls;
};

void cb_bedrock_config_defaults(struct cb_bedrock_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->model_id = CB_BEDROCK_DEFAULT_MODEL;
    cfg->max_tokens = CB_BEDROCK_DEFAULT_MAX_TOKEN;
    cfg->temperature = -1;
    cfg->top_p = -1;
    cfg->history_tokens = CB_BEDROCK_HISTORY_TOKENS;
}

size_t cb_bedrock_estimate_tokens(size_t len)
{
    return len / 4 + (len % 4 != 0);
}

int cb_bedrock_path(struct ag_buf *out, const char *model_id, const char *op)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = model_id != NULL ? strlen(model_id) : 0;
    if (n == 0 || n > CB_BEDROCK_MAX_MODEL_ID || op == NULL) {
        return AG_EINVAL;
    }
    int rc = ag_buf_adds(out, "/model/");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)model_id[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rc = ag_buf_addc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = ag_buf_add(out, e, 3);
        }
    }
    if (rc == 0) {
        rc = ag_buf_addc(out, '/');
    }
    if (rc == 0) {
        rc = ag_buf_adds(out, op);
    }
    return rc;
}

static void text_message(struct ag_json *w, const char *role, const char *text, size_t len)
{
    ag_json_obj_open(w);
    ag_json_key(w, "role");
    ag_json_str(w, role);
    ag_json_key(w, "content");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    ag_json_key(w, "text");
    ag_json_strn(w, text, len);
    ag_json_obj_close(w);
    ag_json_arr_close(w);
    ag_json_obj_close(w);
}

int cb_bedrock_request_body(struct ag_buf *out, const struct cb_bedrock_config *cfg,
                            const struct cb_ask *ask)
{
    struct ag_json w;
    size_t n = ask->n_history;
    bool *keep = n > 0 ? ag_calloc(n, sizeof(*keep)) : NULL;
    if (n > 0 && keep == NULL) {
        return AG_ENOMEM;
    }
    /* The newest complete user/assistant pairs that fit the budget; a stray turn (the store
     * dropped its partner) is left out so that the roles alternate from a user turn. */
    size_t used = 0;
    for (size_t i = n; i >= 2; i--) {
        const struct cb_turn *u = &ask->history[i - 2], *a = &ask->history[i - 1];
        if (a->role != CB_ROLE_ASSISTANT || u->role != CB_ROLE_USER) {
            continue;
        }
        size_t cost = cb_bedrock_estimate_tokens(u->len) + cb_bedrock_estimate_tokens(a->len);
        if (used + cost > cfg->history_tokens) {
            break;
        }
        used += cost;
        keep[i - 2] = keep[i - 1] = true;
        i--; /* with the loop's own step: past the pair */
    }
    ag_json_init(&w, out);
    ag_json_obj_open(&w);
    ag_json_key(&w, "messages");
    ag_json_arr_open(&w);
    for (size_t i = 0; i < n; i++) {
        if (keep[i]) {
            const struct cb_turn *t = &ask->history[i];
            text_message(&w, t->role == CB_ROLE_USER ? "user" : "assistant", t->text, t->len);
        }
    }
    text_message(&w, "user", ask->message, ask->message_len);
    ag_json_arr_close(&w);
    if (cfg->system_prompt != NULL && cfg->system_prompt[0] != '\0') {
        ag_json_key(&w, "system");
        ag_json_arr_open(&w);
        ag_json_obj_open(&w);
        ag_json_key(&w, "text");
        ag_json_str(&w, cfg->system_prompt);
        ag_json_obj_close(&w);
        ag_json_arr_close(&w);
    }
    if (cfg->max_tokens > 0 || cfg->temperature >= 0 || cfg->top_p >= 0) {
        ag_json_key(&w, "inferenceConfig");
        ag_json_obj_open(&w);
        if (cfg->max_tokens > 0) {
            ag_json_key(&w, "maxTokens");
            ag_json_uint(&w, cfg->max_tokens);
        }
        if (cfg->temperature >= 0) {
            ag_json_key(&w, "temperature");
            ag_json_double(&w, cfg->temperature);
        }
        if (cfg->top_p >= 0) {
            ag_json_key(&w, "topP");
            ag_json_double(&w, cfg->top_p);
        }
        ag_json_obj_close(&w);
    }
    ag_json_obj_close(&w);
    ag_free(keep);
    return ag_json_finish(&w);
}

/* ---- one question ---------------------------------------------------------------------------- */

/* The telemetry of one call (cb_otel: span attributes, token and error metrics). */
static struct cb_otel_bedrock_call call_info(const struct bcall *c)
{
    const char *region = ex_aws_client_region(c->p->client);
    return (struct cb_otel_bedrock_call){
        .operation = c->stream ? "ConverseStream" : "Converse",
        .model = c->p->model_id,
        .region = region != NULL && region[0] != '\0' ? region : NULL,
    };
}

/* Ends the call's span with |res| (once; the metrics are recorded even without a span). */
static void call_end(struct bcall *c, const struct cb_otel_bedrock_result *res)
{
    struct cb_otel_bedrock_call info = call_info(c);
    cb_otel_bedrock_span_end(c->p->cfg.tel, c->span, &info, res);
    c->span = NULL;
}

static void bcall_free(struct bcall *c)
{
    struct bedrock *p = c->p;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        p->calls = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    if (c->span != NULL) {
        /* Withdrawn (the client left, or the provider is freed): not the provider's error, so
         * not counted in chatbot.provider.errors; the span says why it stopped. */
        cb_otel_span_set_str(c->span, "error.type", "cancelled");
        call_end(c, &(struct cb_otel_bedrock_result){.input_tokens = -1, .output_tokens = -1});
    }
    cb_es_decoder_free(c->dec);
    cb_bedrock_answer_cleanup(&c->ans);
    ag_free(c);
}

void cb_bedrock_answer_init(struct cb_bedrock_answer *a)
{
    memset(a, 0, sizeof(*a));
    ag_buf_init(&a->text, CB_BEDROCK_MAX_ANSWER);
}

void cb_bedrock_answer_cleanup(struct cb_bedrock_answer *a)
{
    ag_buf_cleanup(&a->text);
}

static void read_usage(struct cb_bedrock_answer *a, json_t *usage)
{
    json_t *in = json_object_get(usage, "inputTokens");
    json_t *out = json_object_get(usage, "outputTokens");
    if (json_is_integer(in) && json_integer_value(in) >= 0) {
        a->input_tokens = (uint64_t)json_integer_value(in);
    }
    if (json_is_integer(out) && json_integer_value(out) >= 0) {
        a->output_tokens = (uint64_t)json_integer_value(out);
    }
}

static void read_stop(struct cb_bedrock_answer *a, json_t *stop)
{
    if (json_is_string(stop)) {
        snprintf(a->stop_reason, sizeof(a->stop_reason), "%s", json_string_value(stop));
    }
}

int cb_bedrock_read_event(struct cb_bedrock_answer *a, const struct cb_es_message *m,
                          size_t *added)
{
    *added = 0;
    const struct cb_es_header *mt = cb_es_message_header(m, ":message-type");
    if (mt == NULL || mt->type != CB_ES_STRING) {
        return AG_EPROTO;
    }
    if (!cb_es_message_header_is(m, ":message-type", "event")) {
        /* "exception" (modelled: :exception-type) or "error" (:error-code). */
        const struct cb_es_header *t = cb_es_message_header(m, ":exception-type");
        if (t == NULL) {
            t = cb_es_message_header(m, ":error-code");
        }
        if (t != NULL && t->type == CB_ES_STRING) {
            size_t n = t->bytes_len < sizeof(a->exception) - 1 ? t->bytes_len
                                                               : sizeof(a->exception) - 1;
            memcpy(a->exception, t->bytes, n);
            a->exception[n] = '\0';
        } else {
            snprintf(a->exception, sizeof(a->exception), "unknown");
        }
        json_t *doc = json_loadb((const char *)m->payload, m->payload_len, 0, NULL);
        json_t *msg = json_object_get(doc, "message");
        ag_log_warn(WHO, "ConverseStream exception %s: %s", a->exception,
                    json_is_string(msg) ? json_string_value(msg) : "(no message)");
        json_decref(doc);
        return AG_EUPSTREAM;
    }
    const struct cb_es_header *et = cb_es_message_header(m, ":event-type");
    if (et == NULL || et->type != CB_ES_STRING) {
        return AG_EPROTO;
    }
    json_t *doc = json_loadb((const char *)m->payload, m->payload_len, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        ag_log_warn(WHO, "ConverseStream event %.*s: payload is not a JSON object",
                    (int)et->bytes_len, (const char *)et->bytes);
        return AG_EPROTO;
    }
    int rc = 0;
    if (cb_es_message_header_is(m, ":event-type", "contentBlockDelta")) {
        json_t *text = json_object_get(json_object_get(doc, "delta"), "text");
        if (json_is_string(text) && json_string_length(text) > 0) {
            rc = ag_buf_add(&a->text, json_string_value(text), json_string_length(text));
            if (rc == 0) {
                *added = json_string_length(text);
            }
        }
    } else if (cb_es_message_header_is(m, ":event-type", "messageStop")) {
        read_stop(a, json_object_get(doc, "stopReason"));
    } else if (cb_es_message_header_is(m, ":event-type", "metadata")) {
        read_usage(a, json_object_get(doc, "usage"));
    }
    json_decref(doc);
    return rc;
}

int cb_bedrock_read_converse(struct cb_bedrock_answer *a, const uint8_t *body, size_t len)
{
    json_t *doc = json_loadb((const char *)body, len, 0, NULL);
    json_t *content =
        json_object_get(json_object_get(json_object_get(doc, "output"), "message"), "content");
    int rc = 0;
    if (!json_is_array(content)) {
        ag_log_warn(WHO, "Converse answer without output.message.content");
        rc = AG_EPROTO;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(content); i++) {
        json_t *text = json_object_get(json_array_get(content, i), "text");
        if (json_is_string(text)) {
            rc = ag_buf_add(&a->text, json_string_value(text), json_string_length(text));
        }
    }
    if (rc == 0) {
        read_stop(a, json_object_get(doc, "stopReason"));
        read_usage(a, json_object_get(doc, "usage"));
    }
    json_decref(doc);
    return rc;
}

/* One ConverseStream event, from the decoder: text goes to the client as it comes. */
static int on_message(void *ud, const struct cb_es_message *m)
{
    struct bcall *c = ud;
    size_t added = 0;
    int rc = cb_bedrock_read_event(&c->ans, m, &added);
    if (rc != 0) {
        c->fail_rc = rc;
        return rc;
    }
    if (added > 0) {
        c->delta(c->arg, (const char *)ag_buf_ptr(&c->ans.text) + c->ans.text.len - added,
                 added);
    }
    return 0;
}

static int on_data(void *arg, const uint8_t *data, size_t len)
{
    struct bcall *c = arg;
    int rc = cb_es_decoder_feed(c->dec, data, len, on_message, c);
    if (rc < 0) {
        if (c->fail_rc == 0) {
            c->fail_rc = rc;
            ag_log_warn(WHO, "ConverseStream: %s", cb_es_decoder_error(c->dec));
        }
        return rc;
    }
    return 0;
}

struct failure {
    int status;
    const char *code;
    const char *message;
    unsigned retry_after_s;
};

static const struct failure fail_throttled = {
    503, "upstream_throttled", "the model is busy right now: please try again in a moment", 5};
static const struct failure fail_unavailable = {
    503, "upstream_unavailable", "the model service is unavailable right now: please try again",
    5};
static const struct failure fail_timeout = {
    504, "upstream_timeout", "the model took too long to answer: please try again", 0};
static const struct failure fail_config = {
    502, "upstream_error",
    "the chatbot cannot use its model (a configuration problem on our side): please try again "
    "later",
    0};
static const struct failure fail_refused = {
    502, "upstream_error", "the model could not answer this question: try rephrasing it", 0};
static const struct failure fail_broken = {
    502, "upstream_error", "the model's answer broke off: please try again", 0};
static const struct failure fail_internal = {
    500, "internal", "the chatbot could not answer: please try again", 0};

static bool code_is(const char *code, const char *a)
{
    return strcmp(code, a) == 0;
}

/* What to tell the user about an error code or in-stream exception type (either case). */
static const struct failure *failure_of_code(const char *code, int status)
{
    if (code_is(code, "ThrottlingException") || code_is(code, "throttlingException") ||
        code_is(code, "ServiceQuotaExceededException") || status == 429) {
        return &fail_throttled;
    }
    if (code_is(code, "ModelTimeoutException") || code_is(code, "modelTimeoutException") ||
        status == 408) {
        return &fail_timeout;
    }
    if (code_is(code, "ModelNotReadyException") || code_is(code, "ServiceUnavailableException") ||
        code_is(code, "serviceUnavailableException") ||
        code_is(code, "InternalServerException") || code_is(code, "internalServerException") ||
        status >= 500) {
        return &fail_unavailable;
    }
    if (code_is(code, "modelStreamErrorException") || code_is(code, "ModelStreamErrorException")) {
        return &fail_broken;
    }
    if (code_is(code, "ValidationException") || code_is(code, "validationException") ||
        code_is(code, "ModelErrorException")) {
        return &fail_refused;
    }
    /* 403 AccessDenied, 404 ResourceNotFound (the model id), signature and key errors. */
    return &fail_config;
}

static void reply_fail(struct bcall *c, int rc, const struct failure *f)
{
    struct cb_reply r = {
        .rc = rc != 0 ? rc : AG_EUPSTREAM,
        .status = f->status,
        .code = f->code,
        .message = f->message,
        .retry_after_s = f->retry_after_s,
        .model = c->p->model_id,
    };
    c->done(c->arg, &r);
}

static void on_result(void *arg, const struct ex_aws_result *res)
{
    struct bcall *c = arg;
    struct bedrock *p = c->p;
    int rc = res->rc;
    const struct failure *f = NULL;

    if (rc == 0 && !c->stream) {
        rc = cb_bedrock_read_converse(&c->ans, res->body, res->body_len);
        f = rc == AG_ENOMEM ? &fail_internal : &fail_broken;
    } else if (rc == 0 || (res->streamed && c->fail_rc != 0)) {
        if (c->ans.exception[0] != '\0') {
            rc = AG_EUPSTREAM;
            f = failure_of_code(c->ans.exception, 0);
        } else if (c->fail_rc != 0) {
            rc = c->fail_rc;
            f = rc == AG_ENOMEM ? &fail_internal : &fail_broken;
        } else if ((rc = cb_es_decoder_finish(c->dec)) != 0) {
            ag_log_warn(WHO, "ConverseStream ended inside a frame: %s",
                        cb_es_decoder_error(c->dec));
            f = &fail_broken;
        } else if (c->ans.stop_reason[0] == '\0') {
            /* A stream that ends cleanly always says why (messageStop). */
            ag_log_warn(WHO, "ConverseStream ended without messageStop");
            rc = AG_EPROTO;
            f = &fail_broken;
        }
    } else if (rc == AG_EUPSTREAM) {
        ag_log_warn(WHO, "%s: HTTP %d %s: %s (request id %s, %u attempts)",
                    c->stream ? "ConverseStream" : "Converse", res->status, res->error.code,
                    res->error.message, res->request_id != NULL ? res->request_id : "-",
                    res->attempts);
        f = failure_of_code(res->error.code, res->status);
    } else {
        ag_log_warn(WHO, "%s failed after %u attempts: %s (%s)",
                    c->stream ? "ConverseStream" : "Converse", res->attempts, ag_strerror(rc),
                    res->error.message);
        f = rc == AG_ETIMEDOUT                ? &fail_timeout
            : rc == AG_EIO && res->streamed   ? &fail_broken
            : rc == AG_EIO                    ? &fail_unavailable
            : rc == AG_ENOMEM || rc == AG_EAGAIN ? &fail_internal
                                               : &fail_config; /* credentials */
    }
    struct cb_otel_bedrock_result tr = {
        .request_id = res->request_id,
        .input_tokens = -1,
        .output_tokens = -1,
        .http_status = res->status,
    };
    char status_text[16]; /* an error answer with no x-amzn-ErrorType: its status code */
    snprintf(status_text, sizeof(status_text), "%d", res->status);
    if (rc == 0) {
        tr.input_tokens = (int64_t)c->ans.input_tokens;
        tr.output_tokens = (int64_t)c->ans.output_tokens;
        tr.finish_reason = c->ans.stop_reason[0] != '\0' ? c->ans.stop_reason : NULL;
        cb_otel_bedrock_span_content(c->p->cfg.tel, c->span, NULL, ag_buf_str(&c->ans.text));
    } else {
        /* error.type: the service's code (x-amzn-ErrorType or the stream's exception), else
         * what failed on our side; the status description is the user's message, never the
         * service's text (which may quote the prompt). */
        tr.error_type = c->ans.exception[0] != '\0'                   ? c->ans.exception
                        : rc == AG_EUPSTREAM && res->error.code[0] != '\0' ? res->error.code
                        : rc == AG_EUPSTREAM                         ? status_text
                        : rc == AG_ETIMEDOUT                         ? "timeout"
                        : rc == AG_EIO                               ? "connection"
                        : rc == AG_ENOMEM                            ? "internal"
                        : rc == AG_EPROTO || rc == AG_ETOOBIG        ? "protocol"
                                                                      : "credentials";
        tr.error_message = f->message;
    }
    call_end(c, &tr);
    if (rc != 0) {
        reply_fail(c, rc, f);
        bcall_free(c);
        return;
    }
    struct cb_reply r = {
        .rc = 0,
        .text = ag_buf_str(&c->ans.text),
        .text_len = c->ans.text.len,
        .model = p->model_id,
        .input_tokens = c->ans.input_tokens,
        .output_tokens = c->ans.output_tokens,
        .stop_reason = c->ans.stop_reason,
    };
    c->done(c->arg, &r);
    bcall_free(c);
}

static int bedrock_ask(struct cb_provider *base, const struct cb_ask *ask, cb_delta_fn *delta,
                       cb_reply_fn *done, void *arg)
{
    struct bedrock *p = (struct bedrock *)base;
    struct ag_buf body;
    int rc;
    if (done == NULL || (ask->stream && delta == NULL)) {
        return AG_EINVAL;
    }
    struct bcall *c = ag_calloc(1, sizeof(*c));
    if (c == NULL) {
        return AG_ENOMEM;
    }
    c->p = p;
    c->arg = arg;
    c->delta = delta;
    c->done = done;
    c->stream = ask->stream;
    cb_bedrock_answer_init(&c->ans);
    struct cb_otel_bedrock_call info = call_info(c);
    ag_buf_init(&body, 4u * 1024u * 1024u);
    if (ask->stream) {
        c->dec = cb_es_decoder_new(1024u * 1024u);
        if (c->dec == NULL) {
            ag_free(c);
            return AG_ENOMEM;
        }
    }
    rc = cb_bedrock_request_body(&body, &p->cfg, ask);
    if (rc == 0) {
        struct ex_aws_call call = {
            .method = "POST",
            .path = ask->stream ? p->path_stream : p->path_converse,
            .content_type = "application/json",
            .body = ag_buf_ptr(&body),
            .body_len = body.len,
            .on_data = ask->stream ? on_data : NULL,
            .data_arg = c,
        };
        if (rc == 0) {
            c->span = cb_otel_bedrock_span_start(p->cfg.tel, ask->trace, &info);
            cb_otel_bedrock_span_content(p->cfg.tel, c->span, ask->message, NULL);
        }
        rc = ex_aws_client_call(p->client, &call, on_result, c);
    }
    ag_buf_cleanup(&body);
    if (rc != 0) {
        if (c->span != NULL) {
            call_end(c, &(struct cb_otel_bedrock_result){.input_tokens = -1,
                                                          .output_tokens = -1,
                                                          .error_type = "internal",
                                                          .error_message = "not sent"});
        }
        cb_es_decoder_free(c->dec);
        cb_bedrock_answer_cleanup(&c->ans);
        ag_free(c);
        return rc;
    }
    c->next = p->calls;
    if (p->calls != NULL) {
        p->calls->prev = c;
    }
    p->calls = c;
    return 0;
}

static void bedrock_cancel(struct cb_provider *base, void *arg)
{
    struct bedrock *p = (struct bedrock *)base;
    for (struct bcall *c = p->calls; c != NULL; c = c->next) {
        if (c->arg == arg) {
            (void)ex_aws_client_cancel(p->client, on_result, c);
            bcall_free(c);
            return;
        }
    }
}

static void bedrock_free(struct cb_provider *base)
{
    struct bedrock *p = (struct bedrock *)base;
    while (p->calls != NULL) {
        struct bcall *c = p->calls;
        (void)ex_aws_client_cancel(p->client, on_result, c);
        bcall_free(c);
    }
    ex_aws_client_free(p->client);
    ex_aws_creds_free(p->creds);
    ex_aws_http_free(p->http);
    ag_free(p->model_id);
    ag_free(p->region);
    ag_free(p->endpoint);
    ag_free(p->system_prompt);
    ag_free(p->path_converse);
    ag_free(p->path_stream);
    ag_free(p);
}

static const struct cb_provider_ops bedrock_ops = {
    .name = "bedrock",
    .ask = bedrock_ask,
    .cancel = bedrock_cancel,
    .free = bedrock_free,
};

static char *dup_opt(const char *s, bool *oom)
{
    if (s == NULL || *s == '\0') {
        return NULL;
    }
    char *d = ag_strdup(s);
    if (d == NULL) {
        *oom = true;
    }
    return d;
}

static char *make_path(const char *model_id, const char *op, int *rc)
{
    struct ag_buf b;
    ag_buf_init(&b, 16u * 1024u);
    *rc = cb_bedrock_path(&b, model_id, op);
    if (*rc != 0) {
        ag_buf_cleanup(&b);
        return NULL;
    }
    size_t n;
    return (char *)ag_buf_steal(&b, &n);
}

int cb_bedrock_new(struct event_base *base, const struct cb_bedrock_config *cfg,
                   struct cb_provider **out, char *err, size_t errlen)
{
    bool oom = false;
    int rc = 0;
    *out = NULL;
    struct bedrock *p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return AG_ENOMEM;
    }
    p->base.ops = &bedrock_ops;
    p->cfg = *cfg;
    p->model_id = dup_opt(cfg->model_id, &oom);
    p->region = dup_opt(cfg->region, &oom);
    p->endpoint = dup_opt(cfg->endpoint, &oom);
    p->system_prompt = dup_opt(cfg->system_prompt, &oom);
    p->cfg.model_id = p->model_id;
    p->cfg.region = p->region;
    p->cfg.endpoint = p->endpoint;
    p->cfg.system_prompt = p->system_prompt;
    if (oom) {
        rc = AG_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    p->path_converse = make_path(p->model_id, "converse", &rc);
    if (rc == 0) {
        p->path_stream = make_path(p->model_id, "converse-stream", &rc);
    }
    if (rc != 0) {
        if (rc == AG_EINVAL) {
            snprintf(err, errlen, "bad model id: want 1 to %u characters",
                     CB_BEDROCK_MAX_MODEL_ID);
        } else {
            snprintf(err, errlen, "out of memory");
        }
        goto fail;
    }
    struct ex_aws_http_options hopts = {
        .connect_timeout_ms = cfg->connect_timeout_ms != 0 ? cfg->connect_timeout_ms : 2000,
        .timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : 60000,
        .user_agent = "otter-chatbot",
    };
    rc = ex_aws_http_new(base, &hopts, &p->http);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the HTTP client: %s", ag_strerror(rc));
        goto fail;
    }
    struct ex_aws_creds_options copts = {.region = p->region};
    rc = ex_aws_creds_new(base, p->http, &copts, &p->creds, err, errlen);
    if (rc != 0) {
        goto fail;
    }
    struct ex_aws_client_options kopts = {
        .service_id = "BEDROCK_RUNTIME",
        .endpoint_prefix = "bedrock-runtime",
        .signing_name = "bedrock",
        .protocol = EX_AWS_REST_JSON,
        .region = p->region,
        .endpoint = p->endpoint,
        .max_attempts = cfg->max_attempts,
        .connect_timeout_ms = hopts.connect_timeout_ms,
        .timeout_ms = hopts.timeout_ms,
    };
    rc = ex_aws_client_new(base, p->http, p->creds, &kopts, &p->client, err, errlen);
    if (rc != 0) {
        goto fail;
    }
    ag_log_info(WHO, "model %s at %s (region %s, credentials: %s)", p->model_id,
                ex_aws_client_endpoint(p->client)[0] ? ex_aws_client_endpoint(p->client)
                                                     : "(from the region, once known)",
                ex_aws_client_region(p->client)[0] ? ex_aws_client_region(p->client) : "?",
                ex_aws_creds_provider(p->creds));
    *out = &p->base;
    return 0;
fail:
    bedrock_free(&p->base);
    return rc;
}
