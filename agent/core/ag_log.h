#ifndef AG_LOG_H
#define AG_LOG_H

/*
 * Process logging to stderr, as text ("2026-11-26T08:00:00.123Z info receiver: message") or as
 * one JSON object per line. Secrets never reach a log line: callers log names, never values, of
 * credentials and headers.
 */

enum ag_log_level {
    AG_LOG_DEBUG = 0,
    AG_LOG_INFO = 1,
    AG_LOG_WARN = 2,
    AG_LOG_ERROR = 3,
};

enum ag_log_format {
    AG_LOG_TEXT = 0,
    AG_LOG_JSON = 1,
};

/*
 * Sets the minimum level and the format. Safe to call at any time.
 */
void ag_log_setup(enum ag_log_level level, enum ag_log_format format);

/*
 * Parses "debug", "info", "warn"/"warning", "error" (any case). Returns the level or -1.
 */
int ag_log_level_parse(const char *s);

/*
 * Returns 1 when messages of |level| are written.
 */
int ag_log_enabled(enum ag_log_level level);

/*
 * Writes one line for component |who| (e.g. "receiver/otlp") if |level| is enabled.
 */
void ag_log(enum ag_log_level level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ag_log_debug(who, ...) ag_log(AG_LOG_DEBUG, who, __VA_ARGS__)
#define ag_log_info(who, ...)  ag_log(AG_LOG_INFO, who, __VA_ARGS__)
#define ag_log_warn(who, ...)  ag_log(AG_LOG_WARN, who, __VA_ARGS__)
#define ag_log_error(who, ...) ag_log(AG_LOG_ERROR, who, __VA_ARGS__)

#endif /* AG_LOG_H */
