/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the chat request parser: any bytes either parse into a message within the limit (valid
 * UTF-8, no NUL, not blank) or fail with a named error code; the answer to a parsed message then
 * goes through the knowledge base, as the server does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cb_kb.h"
#include "cb_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cb_kb *kb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cb_chat_request r;
    struct cb_request_error e;
    if (kb == NULL && cb_kb_new(cb_kb_bundled, cb_kb_bundled_count, &kb) != 0) {
        abort();
    }
    int rc = cb_chat_request_parse((const char *)data, size, 64, &r, &e);
    if (rc == 0) {
        if (r.message == NULL || r.message_len == 0 || r.message_len > 64 ||
            strlen(r.message) != r.message_len) {
            abort();
        }
        struct cb_kb_answer a;
        if (cb_kb_answer(kb, r.message, r.message_len, &a) == 0) {
            if (a.text == NULL || strlen(a.text) != a.text_len) {
                abort();
            }
            cb_kb_answer_cleanup(&a);
        }
        cb_chat_request_cleanup(&r);
    } else if (rc != AG_EPROTO || e.code == NULL || e.message[0] == '\0') {
        if (rc != AG_ENOMEM) {
            abort();
        }
    }
    return 0;
}
