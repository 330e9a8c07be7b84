#ifndef CB_EVENTSTREAM_H
#define CB_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * The AWS event-stream decoder (application/vnd.amazon.eventstream, ../shared/specs/aws.md §6),
 * which Bedrock ConverseStream answers with. Bytes are fed as they arrive; frames may straddle
 * any number of reads. The prelude CRC is checked before total_length is trusted, then the
 * message CRC, then the headers. Pure logic: no I/O.
 */

#define CB_ES_PRELUDE_LEN      12u
#define CB_ES_MIN_FRAME        16u               /* prelude + message CRC, nothing else */
#define CB_ES_MAX_HEADERS_LEN  (128u * 1024u)    /* botocore's cap on the headers section */
#define CB_ES_MAX_PAYLOAD_LEN  (24u * 1024u * 1024u) /* botocore's cap on one payload */
#define CB_ES_MAX_VALUE_LEN    32767u            /* smithy's cap on a bytes or string value */
#define CB_ES_MAX_HEADERS      64u               /* headers per message that we keep */

enum cb_es_type {
    CB_ES_TRUE = 0,
    CB_ES_FALSE = 1,
    CB_ES_BYTE = 2,
    CB_ES_SHORT = 3,
    CB_ES_INT = 4,
    CB_ES_LONG = 5,
    CB_ES_BYTES = 6,
    CB_ES_STRING = 7,
    CB_ES_TIMESTAMP = 8, /* int64 milliseconds since the epoch */
    CB_ES_UUID = 9,
};

struct cb_es_header {
    const char *name; /* points into the frame; not NUL-terminated */
    size_t name_len;  /* 1..255 */
    enum cb_es_type type;
    int64_t num;          /* bool (1/0), int8..int64 and timestamp values */
    const uint8_t *bytes; /* bytes and string values (string: UTF-8, not NUL-terminated), uuid */
    size_t bytes_len;     /* 16 for a uuid */
};

/* One decoded message. Every pointer borrows the decoder's buffer: valid during the callback. */
struct cb_es_message {
    size_t n_headers;
    struct cb_es_header headers[CB_ES_MAX_HEADERS];
    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Called once per complete, CRC-checked message. Returns 0 to go on; any other value stops
 * decoding and is returned by cb_es_decoder_feed() (a negative AG_E* code is expected).
 */
typedef int cb_es_message_fn(void *ud, const struct cb_es_message *msg);

struct cb_es_decoder;

/*
 * Returns a new decoder that rejects payloads over |max_payload| bytes (0 or anything larger
 * than CB_ES_MAX_PAYLOAD_LEN means CB_ES_MAX_PAYLOAD_LEN), or NULL when out of memory. The caller
 * frees it with cb_es_decoder_free().
 */
struct cb_es_decoder *cb_es_decoder_new(size_t max_payload);

/*
 * Frees |d|; NULL is a no-op.
 */
void cb_es_decoder_free(struct cb_es_decoder *d);

/*
 * Appends |len| bytes of |data| (borrowed) and calls |fn| for every message they complete.
 * Errors are sticky: after one, every call returns it again.
 * Returns the number of messages delivered (>= 0), or one of these negative codes:
 *   AG_EPROTO  a CRC mismatch, a length that cannot be, a bad header type or a truncated header;
 *   AG_ETOOBIG a frame, headers section, header value or header count over the caps;
 *   AG_ENOMEM  out of memory;
 *   whatever |fn| returned when it returned non-zero.
 * cb_es_decoder_error() then says what was wrong.
 */
AG_NODISCARD int cb_es_decoder_feed(struct cb_es_decoder *d, const uint8_t *data, size_t len,
                                    cb_es_message_fn *fn, void *ud);

/*
 * Declares the end of the stream. Returns 0 when no partial frame is left, AG_EPROTO when the
 * stream stopped inside a frame, or the sticky error of an earlier feed.
 */
AG_NODISCARD int cb_es_decoder_finish(struct cb_es_decoder *d);

/*
 * Returns a static English description of the last error, or "" when there was none.
 */
const char *cb_es_decoder_error(const struct cb_es_decoder *d);

/*
 * Decodes one complete frame of exactly |len| bytes of |frame| (borrowed) into |out|, whose
 * pointers then borrow |frame|. |why| (may be NULL) receives a static description on failure.
 * Returns 0, AG_EPROTO or AG_ETOOBIG as cb_es_decoder_feed() does.
 */
AG_NODISCARD int cb_es_message_decode(const uint8_t *frame, size_t len, size_t max_payload,
                                      struct cb_es_message *out, const char **why);

/*
 * Returns the first header of |msg| named |name| (a C string), or NULL.
 */
const struct cb_es_header *cb_es_message_header(const struct cb_es_message *msg,
                                                const char *name);

/*
 * Returns 1 when |msg| has a string header |name| equal to |value|, else 0.
 */
int cb_es_message_header_is(const struct cb_es_message *msg, const char *name,
                            const char *value);

#endif /* CB_EVENTSTREAM_H */
