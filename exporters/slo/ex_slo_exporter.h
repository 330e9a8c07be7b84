#ifndef EX_SLO_EXPORTER_H
#define EX_SLO_EXPORTER_H

#include "ag_component.h"

/*
 * The slo exporter (exporters/slo/README.md, specs/slo.md): computes SLOs inside otterd from the
 * spans and metrics of the pipelines that name it. Each span or data point that an SLO's SLI
 * selects (slo_sli.h) becomes integer counts in the SLO engine (slo_eval.h); every
 * evaluation_interval the engine is evaluated and alert changes go to the sinks
 * (ex_slo_sink.h); every metrics.interval the EMF SLO metrics are emitted; the state is
 * checkpointed atomically to state_file every checkpoint_interval and at shutdown, and restored
 * at start. The admin listener's GET /v1/slo reads the current report through .slo_report.
 *
 * create() fails (with the reason) when the definitions cannot be loaded, the engine refuses
 * them or a sink cannot be set up; a corrupt, foreign or newer checkpoint is not a failure: it is
 * logged with the reason, renamed to STATE_FILE.bad-<unix time> and the exporter starts empty.
 */
extern const struct ag_exporter_ops ex_slo_exporter_ops;

#endif /* EX_SLO_EXPORTER_H */
