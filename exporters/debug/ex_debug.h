#ifndef EX_DEBUG_H
#define EX_DEBUG_H

#include "ag_component.h"

/*
 * The debug exporter: writes what it gets to stderr, as the collector's does. basic: one
 * summary line per batch; normal: one line per span, data point or log record; detailed: the
 * whole batch as OTLP/JSON. X-Ray documents (consume_xray): basic counts them (a count line at
 * most once a second), normal prints one line each, detailed prints each document.
 */
extern const struct ag_exporter_ops ex_debug_ops;

#endif /* EX_DEBUG_H */
