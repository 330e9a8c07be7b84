#ifndef AG_OTLP_PB_H
#define AG_OTLP_PB_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_arena.h"
#include "ag_err.h"
#include "ag_otlp.h"

/*
 * otterd's own decoder of OTLP/protobuf Export requests. It builds exactly the protobuf-c struct
 * tree protobuf_c_message_unpack() (protobuf-c 1.4.1) builds for the three
 * Export*ServiceRequest messages, several times faster, in the per-request arena. The design and
 * the protobuf-c rules it reproduces are in the header comment of ag_otlp_pb.c.
 */

/*
 * Decodes |len| bytes of |buf| as the Export request of |signal| into |arena| (|buf| is borrowed
 * for the call; nothing in the result points into it). Enforces AG_OTLP_MAX_DEPTH and refuses
 * field number 0, like ag_otlp_check_depth(); does not run ag_otlp_validate(). On failure writes
 * the English reason to |err| (|errlen| bytes), with the same words ag_otlp_check_depth() and the
 * protobuf-c path use.
 * Returns 0 and the message in |*out|, or one of these negative codes:
 *   AG_EPROTO   malformed (truncated, wrong wire type, too deep, field number 0); also when the
 *               system (not the arena's cap) runs out of memory, as the protobuf-c path did
 *   AG_ETOOBIG  the arena's cap was reached
 *   AG_EINVAL   |signal| is not a signal
 */
AG_NODISCARD int ag_otlp_pb_decode(enum ag_signal signal, const uint8_t *buf, size_t len,
                                   struct ag_arena *arena, ProtobufCMessage **out, char *err,
                                   size_t errlen);

/*
 * The reference path ag_otlp_pb_decode() replaces: ag_otlp_check_depth() then
 * protobuf_c_message_unpack() into |arena|, with the same contract and messages. Kept for the
 * differential fuzzer, the unit tests and the decode-floor benchmark, and as the fallback when
 * the decoder's tables cannot describe a type.
 */
AG_NODISCARD int ag_otlp_pb_decode_reference(enum ag_signal signal, const uint8_t *buf, size_t len,
                                             struct ag_arena *arena, ProtobufCMessage **out,
                                             char *err, size_t errlen);

#endif /* AG_OTLP_PB_H */
