/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the bedrock provider's reading of what Bedrock answers. The first byte picks the form:
 * even = a Converse JSON body (cb_bedrock_read_converse), odd = a ConverseStream byte stream fed
 * to the event-stream decoder in pieces of (first byte >> 1) + 1 bytes, each message read with
 * cb_bedrock_read_event. Whatever comes in, the text stays within its cap and the bytes each
 * event reports added are the last ones of the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_log.h"
#include "cb_bedrock.h"
#include "cb_eventstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_message(void *ud, const struct cb_es_message *m)
{
    struct cb_bedrock_answer *a = ud;
    size_t before = a->text.len, added = 0;
    int rc = cb_bedrock_read_event(a, m, &added);
    if (rc == 0 && a->text.len != before + added) {
        abort();
    }
    if (rc != 0 && added != 0) {
        abort();
    }
    return rc == AG_EUPSTREAM ? 0 : rc; /* go on after an exception: more of the code runs */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        ag_log_setup(AG_LOG_ERROR, AG_LOG_TEXT);
        quiet = 1;
    }
    if (size == 0) {
        return 0;
    }
    struct cb_bedrock_answer a;
    cb_bedrock_answer_init(&a);
    uint8_t mode = data[0];
    data++;
    size--;
    if ((mode & 1) == 0) {
        int rc = cb_bedrock_read_converse(&a, data, size);
        if (rc != 0 && rc != AG_EPROTO && rc != AG_ETOOBIG && rc != AG_ENOMEM) {
            abort();
        }
    } else {
        struct cb_es_decoder *d = cb_es_decoder_new(1024u * 1024u);
        if (d == NULL) {
            abort();
        }
        size_t step = (size_t)(mode >> 1) + 1;
        for (size_t off = 0; off < size; off += step) {
            size_t n = size - off < step ? size - off : step;
            if (cb_es_decoder_feed(d, data + off, n, on_message, &a) < 0) {
                break;
            }
        }
        cb_es_decoder_free(d);
    }
    if (a.text.len > CB_BEDROCK_MAX_ANSWER || strlen(a.stop_reason) >= sizeof(a.stop_reason)) {
        abort();
    }
    cb_bedrock_answer_cleanup(&a);
    return 0;
}
