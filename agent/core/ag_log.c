/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stderr logging in text or JSON lines. Each line is formatted into one buffer and written with a
 * single write(2), so lines from different threads never interleave.
 */
#include "ag_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum ag_log_level min_level = AG_LOG_INFO;
static enum ag_log_format log_format = AG_LOG_TEXT;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void ag_log_setup(enum ag_log_level level, enum ag_log_format format)
{
    min_level = level;
    log_format = format;
}

int ag_log_level_parse(const char *s)
{
    if (strcasecmp(s, "debug") == 0) {
        return AG_LOG_DEBUG;
    }
    if (strcasecmp(s, "info") == 0) {
        return AG_LOG_INFO;
    }
    if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0) {
        return AG_LOG_WARN;
    }
    if (strcasecmp(s, "error") == 0) {
        return AG_LOG_ERROR;
    }
    return -1;
}

int ag_log_enabled(enum ag_log_level level)
{
    return level >= min_level;
}

/* Appends |s| JSON-escaped to line[*pos..cap). Truncates quietly: a log line is best effort. */
static void json_escape(char *line, size_t *pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s != '\0' && *pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            line[(*pos)++] = '\\';
            line[(*pos)++] = (char)c;
        } else if (c == '\n') {
            line[(*pos)++] = '\\';
            line[(*pos)++] = 'n';
        } else if (c < 0x20) {
            memcpy(line + *pos, "\\u00", 4);
            *pos += 4;
            line[(*pos)++] = hex[c >> 4];
            line[(*pos)++] = hex[c & 15];
        } else {
            line[(*pos)++] = (char)c;
        }
    }
}

void ag_log(enum ag_log_level level, const char *who, const char *fmt, ...)
{
    if (level < min_level) {
        return;
    }
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    char line[4096];
    size_t pos = 0;
    if (log_format == AG_LOG_JSON) {
        int n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"",
                         when, level_names[level]);
        pos = (size_t)n;
        json_escape(line, &pos, sizeof(line) - 16, who);
        memcpy(line + pos, "\",\"msg\":\"", 9);
        pos += 9;
        json_escape(line, &pos, sizeof(line) - 4, msg);
        memcpy(line + pos, "\"}\n", 3);
        pos += 3;
    } else {
        int n =
            snprintf(line, sizeof(line), "%s %-5s %s: %s\n", when, level_names[level], who, msg);
        pos = n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1;
        line[pos - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}
