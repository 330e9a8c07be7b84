#ifndef AG_JSON_H
#define AG_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ag_buf.h"

/*
 * A streaming JSON writer into an ag_buf: no tree, no per-value allocation. Commas are placed
 * automatically. Errors are sticky: after the first failure (buffer cap, out of memory, nesting
 * deeper than AG_JSON_MAX_DEPTH) every call is a no-op and ag_json_finish() returns the error.
 * Calls that would not produce JSON (a value in an object without a key, a key in an array, a
 * close with the other bracket, a second top-level value) fail with AG_EINVAL.
 *
 * Two output forms share every call: plain JSON (ag_json_init), and the same JSON already escaped
 * as the content of a JSON string (ag_json_init_escaped), byte for byte what ag_json_escape()
 * of the plain text gives, so a document can go into a string of an envelope (PutTraceSegments'
 * TraceSegmentDocuments) without a second pass. A limit on the plain length applies to both.
 */

#define AG_JSON_MAX_DEPTH 256

struct ag_json {
    struct ag_buf *buf; /* borrowed */
    int err;
    unsigned depth;
    uint8_t has_items[AG_JSON_MAX_DEPTH + 1]; /* per level: something was written already */
    uint8_t after_key;
    uint8_t escaped;    /* the output is escaped again, as the content of a JSON string */
    uint8_t over_limit; /* err is AG_ETOOBIG because the plain text passed |limit| */
    size_t limit;       /* most bytes of plain JSON text; 0 = only the buffer's cap */
    size_t written;     /* bytes of plain JSON text written so far (escaped output not counted) */
};

void ag_json_init(struct ag_json *w, struct ag_buf *buf);
/*
 * Like ag_json_init(), but every byte of the JSON text is escaped as ag_json_escape() would
 * (quotes and backslashes doubled up, the writer's own escapes escaped again), without quotes
 * around it: the output is the content of a JSON string whose value is the plain JSON.
 */
void ag_json_init_escaped(struct ag_json *w, struct ag_buf *buf);
/*
 * Caps the plain JSON text at |limit| bytes (whatever the output form): past it the writer fails
 * with AG_ETOOBIG and sets |over_limit|; the buffer is not freed then, and keeps what was written
 * (the caller cuts it back). 0 removes the limit.
 */
void ag_json_set_limit(struct ag_json *w, size_t limit);
void ag_json_obj_open(struct ag_json *w);
void ag_json_obj_close(struct ag_json *w);
void ag_json_arr_open(struct ag_json *w);
void ag_json_arr_close(struct ag_json *w);
/* Writes an object key; the next value call writes its value. */
void ag_json_keyn(struct ag_json *w, const char *key, size_t len);
/* Inline so that the length of a literal key is known at compile time. */
static inline void ag_json_key(struct ag_json *w, const char *key)
{
    ag_json_keyn(w, key, strlen(key));
}
/*
 * ag_json_keyn() for a key that needs no escaping in either form: only ASCII letters, digits,
 * '_', '.' and '-' (the caller's promise; the bytes are copied without a look). For the literal
 * keys of a fixed schema, which make up most of what a document writer writes.
 */
void ag_json_keyn_plain(struct ag_json *w, const char *key, size_t len);
/* ag_json_keyn_plain() of a string literal (its length known at compile time). */
#define ag_json_key_lit(w, lit) ag_json_keyn_plain((w), "" lit "", sizeof(lit) - 1)
/* Writes a JSON string, escaping as RFC 8259 requires; invalid UTF-8 becomes U+FFFD. */
void ag_json_strn(struct ag_json *w, const char *s, size_t len);
/* NULL writes "". */
static inline void ag_json_str(struct ag_json *w, const char *s)
{
    ag_json_strn(w, s, s ? strlen(s) : 0);
}
void ag_json_int(struct ag_json *w, int64_t v);
void ag_json_uint(struct ag_json *w, uint64_t v);
/* Finite doubles in shortest round-trip form; NaN and infinities as the strings proto3 uses. */
void ag_json_double(struct ag_json *w, double v);
void ag_json_bool(struct ag_json *w, int v);
void ag_json_null(struct ag_json *w);
/* Writes |len| bytes as lowercase hex in a JSON string. */
void ag_json_hex(struct ag_json *w, const uint8_t *bytes, size_t len);
/* Writes |len| bytes as standard base64 in a JSON string. */
void ag_json_base64(struct ag_json *w, const uint8_t *bytes, size_t len);
/* Writes already-encoded JSON text as one value. */
void ag_json_raw(struct ag_json *w, const char *json, size_t len);
/*
 * Writes one value given in this writer's output form: |text| (|len| bytes) is what a writer of
 * the same form (plain or escaped) wrote for one JSON value, |plain_len| bytes of plain JSON text
 * (that writer's count), copied as it is and counted as |plain_len| against the limit. For a
 * value rendered apart (a side buffer) that would otherwise be escaped a second time.
 */
void ag_json_raw_out(struct ag_json *w, const char *text, size_t len, size_t plain_len);
/*
 * Writes members of the open object given in this writer's output form: |text| (|len| bytes) is
 * what a writer of the same form (plain or escaped) wrote between the braces of an object, with
 * |plain_len| bytes of plain JSON text (that writer's count less the two braces), copied as it
 * is. A comma goes first when the object has members already. For members that repeat from
 * document to document (rendered once, written many times). |len| 0 writes nothing; outside an
 * object or after a key: AG_EINVAL.
 */
void ag_json_members_out(struct ag_json *w, const char *text, size_t len, size_t plain_len);

/*
 * Returns 0 when everything was written and every container closed; otherwise the first error
 * (AG_ETOOBIG, AG_ENOMEM, or AG_EINVAL for unbalanced nesting).
 */
AG_NODISCARD int ag_json_finish(struct ag_json *w);

/*
 * Appends |len| bytes of |s| JSON-escaped (without quotes) to |buf|. Same returns as ag_buf_add().
 */
AG_NODISCARD int ag_json_escape(struct ag_buf *buf, const char *s, size_t len);

/*
 * Length (1..4) of the valid UTF-8 sequence at |s| (|avail| >= 1 bytes readable), or 0 when it
 * is not valid: truncated, overlong, a surrogate or past U+10FFFF. The writer's own rule.
 */
size_t ag_json_utf8_len(const unsigned char *s, size_t avail);

#endif /* AG_JSON_H */
