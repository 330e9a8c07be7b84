#ifndef AG_TRANSLATE_EMF_H
#define AG_TRANSLATE_EMF_H

/*
 * `otterd translate --to emf [--config FILE] [FILE|-]`: reads OTLP metrics export requests
 * (OTLP/JSON, one request per line as the file exporter writes them or one JSON document; or one
 * protobuf request) and prints, one per line, the EMF events the awsemf exporter would send,
 * through its own translation (ex_cw_emf) and options (the config's first awsemf exporter, or
 * the defaults). The requests go through one translator in order, so cumulative sums give deltas
 * from the second request of a series on (the first sets the baseline, unless
 * retain_initial_value_of_delta_metric).
 */

/*
 * Runs the command for the already parsed |config| (NULL = defaults) and |input| (NULL or "-" =
 * stdin); both borrowed. Returns the exit status: 0 (dropped points are reported on stderr),
 * 1 (unreadable or invalid input or config).
 */
int ag_translate_emf(const char *config, const char *input);

#endif /* AG_TRANSLATE_EMF_H */
