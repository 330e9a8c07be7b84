/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the parsers of DynamoDB answers of the `dynamodb` history store (cb_ddb): any bytes
 * either parse into turns / keys that keep the promised invariants (roles known, texts of their
 * stated length, sort keys strictly increasing, next_sk above the newest) or fail with
 * AG_EPROTO and a reason (AG_ENOMEM, AG_ETOOBIG only as documented).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cb_ddb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cb_ddb_turns t;
    char why[256] = "";
    int rc = cb_ddb_parse_turns((const char *)data, size, &t, why, sizeof(why));
    if (rc == 0) {
        for (size_t i = 0; i < t.n; i++) {
            const struct cb_ddb_turn *x = &t.turns[i];
            if ((x->role != CB_ROLE_USER && x->role != CB_ROLE_ASSISTANT) || x->text == NULL ||
                memchr(x->text, '\0', x->len) != NULL || x->text[x->len] != '\0' ||
                (i > 0 && x->sk <= t.turns[i - 1].sk)) {
                abort();
            }
        }
        if (t.n > 0 && t.next_sk != t.turns[t.n - 1].sk + 1) {
            abort();
        }
    } else if (rc != AG_ENOMEM && (rc != AG_EPROTO || why[0] == '\0')) {
        abort();
    }
    cb_ddb_turns_free(&t);

    uint64_t sks[CB_DDB_BATCH_MAX], last = 0;
    size_t n = 0;
    int more = 0;
    why[0] = '\0';
    rc = cb_ddb_parse_keys((const char *)data, size, sks, CB_DDB_BATCH_MAX, &n, &more, &last, why,
                           sizeof(why));
    if (rc == 0 && n > CB_DDB_BATCH_MAX) {
        abort();
    }
    if (rc != 0 && rc != AG_ENOMEM && rc != AG_ETOOBIG && (rc != AG_EPROTO || why[0] == '\0')) {
        abort();
    }
    long left = cb_ddb_unprocessed((const char *)data, size);
    if (left < 0 && left != AG_EPROTO) {
        abort();
    }
    return 0;
}
