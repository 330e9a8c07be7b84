#ifndef EMF_CHECK_H
#define EMF_CHECK_H

/*
 * An EMF event checker written from the CloudWatch Embedded Metric Format rules
 * (emf-cwlogs.md 1 and 8), independent of the translator: every event a test produces goes
 * through it. Returns 0 when |msg| is a valid event of |version| (1 or 0), or -1 with the broken
 * rule in |why|.
 */

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const emf_check_units[] = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
};

#define EMF_FAIL(...)                                                                       \
    do {                                                                                   \
        snprintf(why, whylen, __VA_ARGS__);                                                \
        return -1;                                                                         \
    } while (0)

/* UTF-8 characters in a string (CloudWatch counts characters). */
static size_t emf_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return n;
}

static int emf_check_value(json_t *v, const char *name, char *why, size_t whylen)
{
    if (json_is_number(v)) {
        return isfinite(json_number_value(v)) ? 0 : -1;
    }
    if (json_is_array(v)) {
        if (json_array_size(v) > 100) {
            EMF_FAIL("metric %s: %zu values (max 100)", name, json_array_size(v));
        }
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (!json_is_number(x)) {
                EMF_FAIL("metric %s: a value is not a number", name);
            }
        }
        return 0;
    }
    if (json_is_object(v)) {
        /* Statistic set, optionally with Values/Counts (the histogram form). */
        static const char *const stats[] = {"Max", "Min", "Count", "Sum"};
        for (size_t i = 0; i < 4; i++) {
            if (!json_is_number(json_object_get(v, stats[i]))) {
                EMF_FAIL("metric %s: statistic set without numeric %s", name, stats[i]);
            }
        }
        json_t *vals = json_object_get(v, "Values"), *cnts = json_object_get(v, "Counts");
        if ((vals == NULL) != (cnts == NULL)) {
            EMF_FAIL("metric %s: Values without Counts or the reverse", name);
        }
        if (vals != NULL) {
            if (!json_is_array(vals) || !json_is_array(cnts) ||
                json_array_size(vals) != json_array_size(cnts)) {
                EMF_FAIL("metric %s: Values and Counts must be arrays of one length", name);
            }
            if (json_array_size(vals) > 100) {
                EMF_FAIL("metric %s: %zu values (max 100)", name, json_array_size(vals));
            }
            double total = 0;
            for (size_t i = 0; i < json_array_size(vals); i++) {
                if (!json_is_number(json_array_get(vals, i)) ||
                    !json_is_number(json_array_get(cnts, i))) {
                    EMF_FAIL("metric %s: non-numeric value or count", name);
                }
                total += json_number_value(json_array_get(cnts, i));
            }
            if (json_array_size(vals) > 0 &&
                total != json_number_value(json_object_get(v, "Count"))) {
                EMF_FAIL("metric %s: Count is not the sum of Counts", name);
            }
        }
        return 0;
    }
    EMF_FAIL("metric %s: value is neither a number, an array nor a statistic set", name);
}

static int emf_check_directive(json_t *root, json_t *d, char *why, size_t whylen)
{
    json_t *ns = json_object_get(d, "Namespace");
    if (!json_is_string(ns) || json_string_length(ns) == 0 ||
        emf_chars(json_string_value(ns)) > 1024) {
        EMF_FAIL("Namespace must be a string of 1..1024 characters");
    }
    json_t *dims = json_object_get(d, "Dimensions");
    if (!json_is_array(dims)) {
        EMF_FAIL("Dimensions must be an array");
    }
    size_t i, j;
    json_t *set, *k;
    json_array_foreach(dims, i, set) {
        if (!json_is_array(set) || json_array_size(set) > 30) {
            EMF_FAIL("a dimension set must be an array of at most 30 keys");
        }
        json_array_foreach(set, j, k) {
            if (!json_is_string(k) || json_string_length(k) == 0 ||
                emf_chars(json_string_value(k)) > 250) {
                EMF_FAIL("a dimension key must be a string of 1..250 characters");
            }
            json_t *v = json_object_get(root, json_string_value(k));
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                emf_chars(json_string_value(v)) > 1024) {
                EMF_FAIL("dimension %s must name a root string of 1..1024 characters",
                         json_string_value(k));
            }
        }
    }
    json_t *ms = json_object_get(d, "Metrics");
    if (!json_is_array(ms) || json_array_size(ms) == 0 || json_array_size(ms) > 100) {
        EMF_FAIL("Metrics must be an array of 1..100 definitions");
    }
    json_t *m;
    json_array_foreach(ms, i, m) {
        json_t *name = json_object_get(m, "Name");
        if (!json_is_string(name) || json_string_length(name) == 0 ||
            emf_chars(json_string_value(name)) > 1024) {
            EMF_FAIL("a metric Name must be a string of 1..1024 characters");
        }
        json_t *v = json_object_get(root, json_string_value(name));
        if (v == NULL) {
            EMF_FAIL("metric %s names no root member", json_string_value(name));
        }
        if (emf_check_value(v, json_string_value(name), why, whylen) != 0) {
            return -1;
        }
        json_t *unit = json_object_get(m, "Unit");
        if (unit != NULL && !json_is_string(unit)) {
            EMF_FAIL("Unit must be a string");
        }
        json_t *sr = json_object_get(m, "StorageResolution");
        if (sr != NULL && !(json_is_integer(sr) && (json_integer_value(sr) == 1 ||
                                                    json_integer_value(sr) == 60))) {
            EMF_FAIL("StorageResolution must be 1 or 60");
        }
    }
    return 0;
}

/* Whether |unit| is a CloudWatch unit (for tests of omit_invalid_units). */
__attribute__((unused)) static bool emf_unit_in_enum(const char *unit)
{
    for (size_t i = 0; i < sizeof(emf_check_units) / sizeof(emf_check_units[0]); i++) {
        if (strcmp(unit, emf_check_units[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int emf_check(const char *msg, size_t len, int version, size_t max_bytes, char *why,
                     size_t whylen)
{
    if (len > max_bytes) {
        EMF_FAIL("event of %zu bytes over %zu", len, max_bytes);
    }
    if (memchr(msg, '\n', len) != NULL) {
        EMF_FAIL("newline in the event");
    }
    json_error_t err;
    json_t *root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        EMF_FAIL("not JSON (or a duplicate key): %s", err.text);
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(why, whylen, "not an object");
        goto out;
    }
    json_t *dirs;
    if (version == 1) {
        json_t *aws = json_object_get(root, "_aws");
        json_t *ver = json_object_get(root, "Version");
        if (aws == NULL) {
            if (ver != NULL) {
                snprintf(why, whylen, "version 1 without directives writes no Version");
                goto out;
            }
            rc = 0;
            goto out;
        }
        if (!json_is_string(ver) || strcmp(json_string_value(ver), "1") != 0) {
            snprintf(why, whylen, "version 1 needs \"Version\": \"1\"");
            goto out;
        }
        json_t *ts = json_object_get(aws, "Timestamp");
        if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
            snprintf(why, whylen, "_aws.Timestamp must be integer ms");
            goto out;
        }
        dirs = json_object_get(aws, "CloudWatchMetrics");
    } else {
        json_t *ver = json_object_get(root, "Version");
        json_t *ts = json_object_get(root, "Timestamp");
        if (!json_is_string(ver) || strcmp(json_string_value(ver), "0") != 0) {
            snprintf(why, whylen, "version 0 needs \"Version\": \"0\"");
            goto out;
        }
        const char *s = json_is_string(ts) ? json_string_value(ts) : NULL;
        if (s == NULL || s[0] == '\0' || strspn(s, "0123456789") != strlen(s)) {
            snprintf(why, whylen, "version 0 needs Timestamp as a string of digits");
            goto out;
        }
        if (json_object_get(root, "_aws") != NULL) {
            snprintf(why, whylen, "version 0 has no _aws");
            goto out;
        }
        dirs = json_object_get(root, "CloudWatchMetrics");
        if (dirs == NULL) {
            rc = 0;
            goto out;
        }
    }
    if (!json_is_array(dirs) || json_array_size(dirs) == 0) {
        snprintf(why, whylen, "CloudWatchMetrics must be a non-empty array");
        goto out;
    }
    size_t i;
    json_t *d;
    json_array_foreach(dirs, i, d) {
        if (emf_check_directive(root, d, why, whylen) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

#endif /* EMF_CHECK_H */
