#ifndef AG_TRANSLATE_INT_H
#define AG_TRANSLATE_INT_H

#include <protobuf-c/protobuf-c.h>

#include "ag_config.h"
#include "ag_otlp.h"

/*
 * What the `otterd translate` modes share (ag_translate.c): reading the input and decoding its
 * requests, and finding the exporter whose options apply. Internal to agent/ag_translate*.c.
 */

/*
 * Translates and prints one decoded request (|msg|, borrowed, valid only during the call).
 * Returns 0, or an AG_E* code (the request is then reported as failed).
 */
typedef int ag_translate_fn(void *arg, const ProtobufCMessage *msg);

/*
 * Reads |input| (NULL or "-" = stdin; borrowed) and calls |fn| for each |sig| request in it:
 * OTLP/JSON (one document, or one request per line), or one OTLP protobuf request. Bad requests
 * are reported on stderr (`NAME:LINE: error: not an OTLP/JSON <signal> request: ...`, at most 20
 * lines) and the others still translated. Returns 0, or 1 when the input could not be read or a
 * request failed (reported).
 */
int ag_translate_input(const char *input, enum ag_signal sig, ag_translate_fn *fn, void *arg);

/*
 * Loads the config |path| and finds its first exporter of |type| (named |type_name| in the
 * message when there is none). Returns the component (borrowed from |*cfg|, which the caller
 * frees with ag_config_free() in all cases), or NULL after reporting the problem on stderr.
 */
const struct ag_component_config *ag_translate_exporter(const char *path,
                                                        enum ag_component_type type,
                                                        const char *type_name,
                                                        struct ag_config **cfg);

/*
 * `otterd translate --to cwlogs`: runs the mode for the parsed |config| (NULL = none) and |input|.
 * Returns the exit status (0, or 1).
 */
int ag_translate_cwlogs(const char *config, const char *input);

#endif /* AG_TRANSLATE_INT_H */
