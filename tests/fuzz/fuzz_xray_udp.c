/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the X-Ray daemon datagram parser (the awsxray receiver's input): any bytes must give
 * either a validated document that lies inside the datagram, or an error with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ag_xray_udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ag_xray_doc doc;
    char err[256];
    int rc = ag_xray_udp_parse(data, size, &doc, err, sizeof(err));
    if (rc == 0) {
        if (doc.doc < data || doc.doc + doc.doc_len > data + size || doc.doc_len == 0 ||
            strlen(doc.trace_id) != 35 || strlen(doc.id) != 16) {
            abort();
        }
    } else if (rc != AG_EPROTO && rc != AG_ETOOBIG && rc != AG_ENOMEM) {
        abort();
    } else if (err[0] == '\0' && rc != AG_ENOMEM) {
        abort();
    }
    return 0;
}
