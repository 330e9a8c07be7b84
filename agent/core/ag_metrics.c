/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A registry of self-telemetry metrics in a linked list. Registration is rare (start-up), so a
 * linear search is fine; the hot path only dereferences the pointer it got back.
 */
#include "ag_metrics.h"
#include "ag_mem.h"

#include <stdio.h>
#include <string.h>

enum metric_kind {
    KIND_COUNTER,
    KIND_GAUGE,
    KIND_GAUGE_FN,
    KIND_COUNTER_FN,
};

struct ag_metric {
    struct ag_metric *next;
    char *name;
    char *help;
    char *labels;
    enum metric_kind kind;
    uint64_t count;
    double value;
    ag_metric_gauge_fn *fn;
    void *arg;
};

static struct ag_metric *head, *tail;

static struct ag_metric *find_or_add(const char *name, const char *help, const char *labels,
                                     enum metric_kind kind)
{
    for (struct ag_metric *m = head; m != NULL; m = m->next) {
        if (strcmp(m->name, name) == 0 && strcmp(m->labels, labels) == 0) {
            return m;
        }
    }
    struct ag_metric *m = ag_calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->name = ag_strdup(name);
    m->help = ag_strdup(help);
    m->labels = ag_strdup(labels);
    if (m->name == NULL || m->help == NULL || m->labels == NULL) {
        ag_free(m->name);
        ag_free(m->help);
        ag_free(m->labels);
        ag_free(m);
        return NULL;
    }
    m->kind = kind;
    /* Keep families together: insert after the last metric of the same name. */
    struct ag_metric *after = NULL;
    for (struct ag_metric *p = head; p != NULL; p = p->next) {
        if (strcmp(p->name, name) == 0) {
            after = p;
        }
    }
    if (after != NULL) {
        m->next = after->next;
        after->next = m;
        if (tail == after) {
            tail = m;
        }
    } else if (tail != NULL) {
        tail->next = m;
        tail = m;
    } else {
        head = tail = m;
    }
    return m;
}

struct ag_metric *ag_metrics_counter(const char *name, const char *help, const char *labels)
{
    return find_or_add(name, help, labels ? labels : "", KIND_COUNTER);
}

struct ag_metric *ag_metrics_exporter_counter(const char *name, const char *help, const char *id,
                                              const char *reason)
{
    char labels[320];
    if (reason != NULL) {
        snprintf(labels, sizeof(labels), "exporter=\"%s\",reason=\"%s\"", id, reason);
    } else {
        snprintf(labels, sizeof(labels), "exporter=\"%s\"", id);
    }
    return ag_metrics_counter(name, help, labels);
}

struct ag_metric *ag_metrics_exporter_dropped(const char *id, const char *reason)
{
    return ag_metrics_exporter_counter("otter_exporter_dropped_total",
                                       "Items an exporter dropped, by reason.", id, reason);
}

struct ag_metric *ag_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return find_or_add(name, help, labels ? labels : "", KIND_GAUGE);
}

static int add_fn(const char *name, const char *help, const char *labels, enum metric_kind kind,
                  ag_metric_gauge_fn *fn, void *arg)
{
    struct ag_metric *m = find_or_add(name, help, labels ? labels : "", kind);
    if (m == NULL) {
        return AG_ENOMEM;
    }
    m->fn = fn;
    m->arg = arg;
    return 0;
}

int ag_metrics_gauge_fn(const char *name, const char *help, const char *labels,
                        ag_metric_gauge_fn *fn, void *arg)
{
    return add_fn(name, help, labels, KIND_GAUGE_FN, fn, arg);
}

int ag_metrics_counter_fn(const char *name, const char *help, const char *labels,
                          ag_metric_gauge_fn *fn, void *arg)
{
    return add_fn(name, help, labels, KIND_COUNTER_FN, fn, arg);
}

void ag_metric_add(struct ag_metric *m, uint64_t n)
{
    if (m == NULL) {
        return;
    }
    if (m->kind == KIND_COUNTER) {
        m->count += n;
    } else {
        m->value += (double)n;
    }
}

void ag_metric_set(struct ag_metric *m, double v)
{
    if (m != NULL) {
        m->value = v;
    }
}

double ag_metric_value(const struct ag_metric *m)
{
    if (m == NULL) {
        return 0;
    }
    if (m->kind == KIND_COUNTER) {
        return (double)m->count;
    }
    return m->kind == KIND_GAUGE_FN || m->kind == KIND_COUNTER_FN ? m->fn(m->arg) : m->value;
}

int ag_metrics_render(struct ag_buf *out)
{
    const char *family = NULL;
    for (struct ag_metric *m = head; m != NULL; m = m->next) {
        int rc;
        if (family == NULL || strcmp(family, m->name) != 0) {
            family = m->name;
            rc = ag_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                               m->kind == KIND_COUNTER || m->kind == KIND_COUNTER_FN ? "counter"
                                                                                     : "gauge");
            if (rc != 0) {
                return rc;
            }
        }
        const char *open = m->labels[0] ? "{" : "", *close = m->labels[0] ? "}" : "";
        if (m->kind == KIND_COUNTER) {
            rc = ag_buf_printf(out, "%s%s%s%s %llu\n", m->name, open, m->labels, close,
                               (unsigned long long)m->count);
        } else {
            rc = ag_buf_printf(out, "%s%s%s%s %.17g\n", m->name, open, m->labels, close,
                               ag_metric_value(m));
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

void ag_metrics_reset(void)
{
    struct ag_metric *m = head;
    while (m != NULL) {
        struct ag_metric *next = m->next;
        ag_free(m->name);
        ag_free(m->help);
        ag_free(m->labels);
        ag_free(m);
        m = next;
    }
    head = tail = NULL;
}
