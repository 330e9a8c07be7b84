#ifndef EX_FILE_H
#define EX_FILE_H

#include "ag_component.h"

/*
 * The file exporter: one line of OTLP/JSON per exported batch (the collector's file exporter
 * format), buffered and written every flush_interval, with size-based rotation. X-Ray documents
 * from the awsxray receiver (consume_xray) are written as they came, one document per line.
 */
extern const struct ag_exporter_ops ex_file_ops;

#endif /* EX_FILE_H */
