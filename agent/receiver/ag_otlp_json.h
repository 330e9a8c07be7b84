#ifndef AG_OTLP_JSON_H
#define AG_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_otlp.h"

/*
 * OTLP/JSON (the proto3 JSON mapping with OTLP's rules: hex ids in either case, 64-bit integers
 * as strings or numbers, enums as integers or names, lowerCamelCase or snake_case keys, unknown
 * fields ignored) to and from the protobuf-c structs of the generated OTLP code.
 */

/*
 * The deepest nesting of JSON objects and arrays the decoder follows (the top-level object
 * counts as 1). It equals the writer's AG_JSON_MAX_DEPTH, so whatever decodes also encodes.
 */
#define AG_OTLP_JSON_MAX_DEPTH 256

/*
 * Decodes an OTLP/JSON Export request of |signal| into protobuf-c structs allocated in |arena|,
 * exactly as protobuf__unpack would have built them from the equivalent binary.
 * On failure writes a reason naming the JSON path and what was expected
 * ("resourceSpans[0].scopeSpans[1].spans[3].traceId: expected 32 hex digits") to |err|.
 * Returns 0 and the message in |*out|, or AG_EPROTO, AG_ETOOBIG (arena cap), AG_ENOMEM.
 */
AG_NODISCARD int ag_otlp_json_decode(enum ag_signal signal, const uint8_t *buf, size_t len,
                                     struct ag_arena *arena, ProtobufCMessage **out, char *err,
                                     size_t errlen);

/*
 * Like ag_otlp_json_decode() for any message type: decodes |len| bytes of OTLP/JSON in |buf| as
 * a message of |desc| (e.g. a single Span or an Export response) into |arena|. |buf| is borrowed.
 * Returns 0 and the message in |*out|, or AG_EPROTO (with the reason in |err|), AG_ETOOBIG (the
 * arena's cap), AG_ENOMEM.
 */
AG_NODISCARD int ag_otlp_json_decode_message(const ProtobufCMessageDescriptor *desc,
                                             const uint8_t *buf, size_t len, struct ag_arena *arena,
                                             ProtobufCMessage **out, char *err, size_t errlen);

/*
 * Appends the OTLP/JSON encoding of any OTLP message (an Export request, or a single
 * ResourceSpans, ...) to |out| as one line without a trailing newline, the way the collector's
 * file exporter writes it: lowerCamelCase keys, hex ids, 64-bit integers as strings, enums as
 * integers, default values omitted.
 * Returns 0, or AG_ETOOBIG (out's cap), AG_ENOMEM, or AG_EINVAL when |msg| nests deeper than
 * AG_JSON_MAX_DEPTH JSON levels (only possible for a message that did not come from the decoder).
 * On failure |out| has been freed, with what it held before (ag_buf's rule for a failed append).
 */
AG_NODISCARD int ag_otlp_json_encode(const ProtobufCMessage *msg, struct ag_buf *out);

#endif /* AG_OTLP_JSON_H */
