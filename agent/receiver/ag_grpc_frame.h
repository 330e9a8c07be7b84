#ifndef AG_GRPC_FRAME_H
#define AG_GRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ag_buf.h"
#include "ag_err.h"

/*
 * The I/O-free half of gRPC over HTTP/2: an incremental decoder for length-prefixed messages
 * (1 flag byte, 4-byte big-endian length, message) fed with DATA payloads cut anywhere, and the
 * small text codecs a gRPC server needs for its headers: grpc-timeout, the percent-encoding of
 * grpc-message and the base64 of "-bin" headers. Nothing here does I/O, so all of it is unit
 * tested and fuzzed directly.
 */

#define AG_GRPC_FRAME_PREFIX 5 /* bytes of the flag + length prefix */

/* Message flag values (the first prefix byte); any other value is a protocol error. */
#define AG_GRPC_FRAME_PLAIN      0 /* the message bytes are not compressed */
#define AG_GRPC_FRAME_COMPRESSED 1 /* compressed with the stream's grpc-encoding */

/* A decoder: opaque, one per stream. */
struct ag_grpc_frame;

/*
 * Returns a new decoder that refuses messages longer than |max_len| bytes (checked from the
 * length prefix, before any of the message is buffered), or NULL when out of memory. The caller
 * frees it with ag_grpc_frame_free().
 */
struct ag_grpc_frame *ag_grpc_frame_new(size_t max_len);

/*
 * Frees |dec| and the message it holds. ag_grpc_frame_free(NULL) is a no-op.
 */
void ag_grpc_frame_free(struct ag_grpc_frame *dec);

/*
 * Feeds |len| bytes of |in| (borrowed). Consumes bytes until one message is complete or the
 * input is exhausted, and returns how many it consumed: when that is less than |len|, a message
 * is complete and the caller takes it with ag_grpc_frame_next() before feeding the rest. While a
 * completed message has not been taken, it consumes nothing and returns 0. Feeding more after a
 * message was taken discards that message and starts the next one.
 *
 * Returns the count of bytes consumed (>= 0), or one of these negative codes, which are sticky
 * (every later call returns the same code):
 *   AG_EPROTO   a flag byte other than 0 or 1;
 *   AG_ETOOBIG  a length prefix over |max_len|;
 *   AG_ENOMEM   out of memory.
 */
AG_NODISCARD ssize_t ag_grpc_frame_feed(struct ag_grpc_frame *dec, const uint8_t *in, size_t len);

/*
 * Takes the completed message: |*msg_out| points to its |*len_out| bytes (owned by |dec|, valid
 * until the next ag_grpc_frame_feed() or ag_grpc_frame_free()) and |*flag_out| is its flag byte
 * (AG_GRPC_FRAME_PLAIN or AG_GRPC_FRAME_COMPRESSED). A zero-length message gives a non-NULL
 * pointer. Returns 0, AG_EAGAIN when no complete message is waiting (outputs untouched), or the
 * decoder's sticky error.
 */
AG_NODISCARD int ag_grpc_frame_next(struct ag_grpc_frame *dec, const uint8_t **msg_out,
                                    size_t *len_out, int *flag_out);

/*
 * Returns the number of complete messages seen so far (taken or not).
 */
size_t ag_grpc_frame_count(const struct ag_grpc_frame *dec);

/*
 * Returns the length announced by the prefix of the message being received, or 0 when no
 * complete prefix has been read since the last message (for error messages).
 */
size_t ag_grpc_frame_announced(const struct ag_grpc_frame *dec);

/*
 * Returns how many more bytes |dec| needs before it knows the length of the next message: 1 to 5
 * while a prefix is incomplete (5 before the first byte, and after a message was taken), 0 while
 * it reads or holds a message body, or after an error. Feeding exactly that many bytes stops the
 * decoder right after the prefix, so a caller can account for the announced length (see
 * ag_grpc_frame_announced()) before any byte of the body is buffered.
 */
size_t ag_grpc_frame_prefix_left(const struct ag_grpc_frame *dec);

/*
 * Says whether the stream may end here: at the end of the request, a decoder that stopped in
 * the middle of a prefix or a message means the message was truncated. Returns 0 at a message
 * boundary (or before any byte), AG_EPROTO when truncated, or the decoder's sticky error.
 */
AG_NODISCARD int ag_grpc_frame_end(const struct ag_grpc_frame *dec);

/*
 * Writes the 5-byte prefix of a message of |len| bytes with flag |flag| to |out|.
 */
void ag_grpc_frame_prefix(uint8_t out[AG_GRPC_FRAME_PREFIX], int flag, uint32_t len);

/*
 * Parses a grpc-timeout header value (1 to 8 ASCII digits and a unit: H hours, M minutes,
 * S seconds, m milliseconds, u microseconds, n nanoseconds) of |len| bytes at |s| into
 * nanoseconds in |*ns_out|. Returns 0, or AG_EINVAL for anything else (|*ns_out| is then 0).
 */
AG_NODISCARD int ag_grpc_frame_timeout_parse(const char *s, size_t len, uint64_t *ns_out);

/*
 * Appends the C string |msg| percent-encoded as the gRPC spec wants for grpc-message: every
 * byte outside 0x20..0x7E, and '%' itself, becomes "%XX" (upper-case hex). Returns 0, or
 * AG_ETOOBIG / AG_ENOMEM from |out| (which is then freed).
 */
AG_NODISCARD int ag_grpc_frame_percent_encode(const char *msg, struct ag_buf *out);

/*
 * Appends |len| bytes of |in| as standard base64 without padding, the form grpc-go writes in
 * "-bin" headers (receivers accept it padded or not). Returns 0, or AG_ETOOBIG / AG_ENOMEM from
 * |out| (which is then freed).
 */
AG_NODISCARD int ag_grpc_frame_base64(const uint8_t *in, size_t len, struct ag_buf *out);

#endif /* AG_GRPC_FRAME_H */
