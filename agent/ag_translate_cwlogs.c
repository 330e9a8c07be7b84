/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otterd translate --to cwlogs`: the awscloudwatchlogs exporter's request -> events step
 * (ex_cw_logs_batch) run offline, printing each event as one JSON object per line:
 * {"logGroupName", "logStreamName", "timestamp", "message"}, the fields of a PutLogEvents call.
 */
#include "ag_translate_int.h"
#include "ag_buf.h"
#include "ag_config.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_time.h"
#include "ex_cw_logs_batch.h"
#include "ex_cw_pusher.h"

#include <stdio.h>
#include <string.h>

#define OUT_CAP (512u * 1024 * 1024)
/* The names used without --config (the exporter requires both). */
#define DEFAULT_NAME "otterd-translate"

struct cctx {
    struct ag_awscloudwatchlogs_config cfg; /* strings borrowed from the loaded config */
    struct ex_cw_logs_batch batch;
    struct ag_buf out;
    size_t records, events, too_long;
    size_t drops[EX_CW_LOGS_DROP_COUNT_];
};

static int cwlogs_one(void *arg, const ProtobufCMessage *msg)
{
    struct cctx *t = arg;
    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        (const void *)msg;
    struct ex_cw_logs_batch *b = &t->batch;
    int rc = ex_cw_logs_batch_fill(b, &t->cfg, req, (int64_t)(ag_time_now_ns() / 1000000u));
    if (rc != 0) {
        return rc;
    }
    ag_buf_reset(&t->out);
    for (size_t i = 0; i < b->n; i++) {
        const struct ex_cw_event *e = &b->evs[i];
        struct ag_json w;
        ag_json_init(&w, &t->out);
        ag_json_obj_open(&w);
        ag_json_key(&w, "logGroupName");
        ag_json_strn(&w, e->group, strlen(e->group));
        ag_json_key(&w, "logStreamName");
        ag_json_strn(&w, e->stream, strlen(e->stream));
        ag_json_key(&w, "timestamp");
        ag_json_int(&w, e->timestamp_ms);
        ag_json_key(&w, "message");
        /* The message as the pusher sends it: valid UTF-8, cut to the per-event limit. */
        char *sent = NULL;
        size_t slen = 0;
        int cut = 0;
        if ((rc = ex_cw_message_fit(e->message, e->len, t->cfg.max_event_size, &sent, &slen,
                                    &cut)) != 0) {
            return rc;
        }
        ag_json_strn(&w, sent, slen);
        ag_free(sent);
        ag_json_obj_close(&w);
        if ((rc = ag_json_finish(&w)) != 0 || (rc = ag_buf_add(&t->out, "\n", 1)) != 0) {
            return rc;
        }
        t->too_long += (size_t)cut;
    }
    t->events += b->n;
    for (size_t i = 0; i < EX_CW_LOGS_DROP_COUNT_; i++) {
        t->drops[i] += b->drops[i];
        t->records += b->drops[i];
    }
    t->records += b->n;
    if (fwrite(ag_buf_ptr(&t->out) ? ag_buf_ptr(&t->out) : (const uint8_t *)"", 1, t->out.len,
               stdout) != t->out.len) {
        return AG_EIO;
    }
    return 0;
}

int ag_translate_cwlogs(const char *config, const char *input)
{
    struct ag_config *cfg = NULL;
    struct cctx t;
    int status = 1;
    memset(&t, 0, sizeof(t));
    t.cfg.log_group_name = DEFAULT_NAME;
    t.cfg.log_stream_name = DEFAULT_NAME;
    t.cfg.max_event_size = EX_CW_DEFAULT_EVENT_BYTES;
    ex_cw_logs_batch_init(&t.batch);
    ag_buf_init(&t.out, OUT_CAP);
    if (config != NULL) {
        const struct ag_component_config *c = ag_translate_exporter(
            config, AG_COMP_AWSCLOUDWATCHLOGS_EXPORTER, "awscloudwatchlogs", &cfg);
        if (c == NULL) {
            goto out;
        }
        t.cfg = c->u.awscloudwatchlogs;
        if (t.cfg.max_event_size == 0) {
            t.cfg.max_event_size = EX_CW_DEFAULT_EVENT_BYTES;
        }
    }
    status = ag_translate_input(input, AG_SIGNAL_LOGS, cwlogs_one, &t);
    for (size_t i = 0; i < EX_CW_LOGS_DROP_COUNT_; i++) {
        if (t.drops[i] > 0) {
            fprintf(stderr, "otterd translate: %zu of %zu log records dropped: %s\n", t.drops[i],
                    t.records, ex_cw_logs_drop_name((enum ex_cw_logs_drop)i));
        }
    }
    if (t.too_long > 0) {
        fprintf(stderr, "otterd translate: %zu of %zu events are over the per-event limit of %llu "
                "bytes (max_event_size, counting 26 per event): printed cut, as the exporter sends them\n",
                t.too_long, t.events, (unsigned long long)t.cfg.max_event_size);
    }
out:
    ex_cw_logs_batch_cleanup(&t.batch);
    ag_buf_cleanup(&t.out);
    ag_config_free(cfg);
    return status;
}
