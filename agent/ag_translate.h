#ifndef AG_TRANSLATE_H
#define AG_TRANSLATE_H

/*
 * `otterd translate --to xray|emf|cwlogs [--config FILE] [FILE|-]`: reads OTLP export requests
 * (OTLP/JSON, one request per line as the file exporter writes them or one JSON document; or one
 * protobuf request) and prints, one per line, what the exporter would send, through the
 * exporter's own translation and options (the config's first exporter of that type): X-Ray
 * segment documents (ex_xray_translate, awsxray), EMF messages (ag_translate_emf.h, awsemf), or
 * CloudWatch Logs events as {"logGroupName", "logStreamName", "timestamp", "message"} objects
 * (ex_cw_logs_batch, awscloudwatchlogs).
 */

/* The usage lines of the command, for otterd --help. */
extern const char ag_translate_usage[];

/*
 * Runs the command with the arguments after "translate" (|argc| of them in |argv|, borrowed).
 * Returns the process exit status: 0 (spans X-Ray refuses are reported on stderr, not an error),
 * 1 (unreadable or invalid input or config), 2 (bad arguments).
 */
int ag_translate_main(int argc, char **argv);

#endif /* AG_TRANSLATE_H */
