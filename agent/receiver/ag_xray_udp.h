#ifndef AG_XRAY_UDP_H
#define AG_XRAY_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * The X-Ray daemon's UDP format, which ADOT's `awsxray` receiver accepts on :2000: one datagram
 * per document, the header `{"format": "json", "version": 1}`, a newline, then one segment (or
 * independent subsegment) document. Pure parsing: the listener hands each datagram here and
 * forwards the document it points at.
 */

/* Largest document X-Ray accepts (specs/xray.md §1). */
#define AG_XRAY_MAX_DOC 65536

struct ag_xray_doc {
    const uint8_t *doc; /* the document inside the datagram (borrowed, not copied) */
    size_t doc_len;
    char trace_id[36];  /* "1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx" */
    char id[17];        /* 16 lowercase hex digits */
    int is_subsegment;  /* "type": "subsegment" */
    int in_progress;    /* no end_time yet */
};

/*
 * Parses and validates one datagram of |len| bytes: the header, and the document's required
 * fields (name of 1 to 200 characters, id, trace_id, start_time, and end_time or in_progress;
 * for an independent subsegment also parent_id). On success fills |out| (its doc pointer
 * borrows |buf|). On failure writes what was wrong and where to |err|.
 * Returns 0, or AG_EPROTO (malformed), AG_ETOOBIG (document over AG_XRAY_MAX_DOC), AG_ENOMEM.
 */
AG_NODISCARD int ag_xray_udp_parse(const uint8_t *buf, size_t len, struct ag_xray_doc *out,
                                   char *err, size_t errlen);

/*
 * Copies the |len| bytes of document |doc| to |dst| (room for |len| bytes) with every CR and LF
 * turned into a space, so a pretty-printed document fits one line of a JSON-lines file or a log.
 * In valid JSON a raw CR or LF can only be white space between tokens (strings must escape
 * them), so the copy is the same document.
 */
void ag_xray_udp_flatten(uint8_t *dst, const uint8_t *doc, size_t len);

#endif /* AG_XRAY_UDP_H */
