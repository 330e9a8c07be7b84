#ifndef EX_FILE_H
#define EX_FILE_H

#include "ag_component.h"

/*
 * The file exporter: one line of OTLP/JSON per exported batch (the collector's file exporter
 * format), buffered and written every flush_interval, with size-based rotation.
 */
extern const struct ag_exporter_ops ex_file_ops;

#endif /* EX_FILE_H */
