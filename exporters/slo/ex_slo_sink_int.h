#ifndef EX_SLO_SINK_INT_H
#define EX_SLO_SINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "ex_slo_sink.h"

/*
 * The pure halves of the SLO sinks (ex_slo_sink.c), exposed for the unit tests: the texts and
 * documents each sink sends, and the webhook's retry decisions. No I/O.
 */

#define EX_SLO_SINK_QUEUE_MAX         256u   /* notifications queued per sink (webhook, SNS) */
#define EX_SLO_SINK_IN_FLIGHT_MAX     4u     /* notifications of different alerts sent at once */
#define EX_SLO_WEBHOOK_TIMEOUT_MS     5000u  /* per attempt when the config gives 0 */
#define EX_SLO_WEBHOOK_BASE_MS        250u   /* the first retry's backoff ceiling */
#define EX_SLO_WEBHOOK_MAX_BACKOFF_MS 30000u /* ceiling of any computed backoff */
/* A server's Retry-After is honoured up to this. */
#define EX_SLO_RETRY_AFTER_MAX_MS 300000u
#define EX_SLO_SNS_SUBJECT_MAX    100u          /* SNS: at most 100 printable ASCII characters */
#define EX_SLO_BODY_MAX           (256u * 1024) /* one notification document */

/* What to do after one webhook attempt. */
enum ex_slo_webhook_outcome {
    EX_SLO_WEBHOOK_DONE = 0,  /* 2xx: delivered */
    EX_SLO_WEBHOOK_RETRY = 1, /* connection error, timeout, 429 or 5xx: try again if allowed */
    EX_SLO_WEBHOOK_FAIL = 2,  /* anything else (other 4xx, 1xx/3xx, a response too large) */
};

/*
 * Classifies an attempt from the HTTP client's |rc| (ex_aws_http_response.rc) and |status|.
 * AG_EIO and AG_ETIMEDOUT are retried; AG_EAGAIN (shutting down) and other codes fail.
 */
enum ex_slo_webhook_outcome ex_slo_webhook_classify(int rc, int status);

/*
 * The wait before retry number |retry| (1 = the first retry) in ms: full jitter, |rand01|
 * (uniform in [0, 1)) × min(EX_SLO_WEBHOOK_BASE_MS × 2^(retry-1), EX_SLO_WEBHOOK_MAX_BACKOFF_MS).
 * A server's Retry-After (|retry_after_ms| > 0) wins when longer, capped at
 * EX_SLO_WEBHOOK_MAX_RETRY_AFTER_MS.
 */
uint64_t ex_slo_webhook_backoff_ms(unsigned retry, double rand01, uint64_t retry_after_ms);

/* Writes |at_ms| (Unix ms) as RFC 3339 UTC ("2025-01-31T10:00:00Z", with ".123" when the
 * milliseconds are not 0) into |buf| of |cap| (at least 32) bytes. */
void ex_slo_rfc3339(int64_t at_ms, char *buf, size_t cap);

/*
 * Appends the one-line summary of the alert change |ev| (borrowed) to |out|, e.g.
 *   FIRING: SLO checkout-availability, alert page (severity page): burn rate 15.2 over 1h,
 *   20 over 5m; 50% of the error budget left; status WARNING
 * (on one line). Returns 0, or ag_buf's errors (AG_ENOMEM, AG_ETOOBIG).
 */
AG_NODISCARD int ex_slo_summary(const struct slo_alert_event *ev, struct ag_buf *out);

/*
 * Appends the webhook document of |ev| to |out|: the JSON object of README "## Sinks", or with
 * |slack| Slack's {"text": "<summary>"}. Returns 0, or AG_ENOMEM, AG_ETOOBIG.
 */
AG_NODISCARD int ex_slo_webhook_body(const struct slo_alert_event *ev, bool slack,
                                     struct ag_buf *out);

/*
 * Appends the SNS Subject of |ev| ("FIRING: <slo> / <alert>", printable ASCII only, at most
 * EX_SLO_SNS_SUBJECT_MAX characters) to |out|. Returns 0, or AG_ENOMEM, AG_ETOOBIG.
 */
AG_NODISCARD int ex_slo_sns_subject(const struct slo_alert_event *ev, struct ag_buf *out);

/*
 * Appends the form-encoded SNS Publish body for |topic_arn| with |message| and |subject| to
 * |out|. Returns 0, or AG_ENOMEM, AG_ETOOBIG.
 */
AG_NODISCARD int ex_slo_sns_body(const char *topic_arn, const char *message, const char *subject,
                                 struct ag_buf *out);

/* Called once per EMF event built by ex_slo_emf_events(); |json| is |len| bytes (no newline). */
typedef int ex_slo_emf_fn(void *arg, int64_t ts_ms, const char *json, size_t len);

/*
 * Builds the EMF events of one emission: per SLO of |in| (|n| of them, borrowed), one event with
 * GoodCount and TotalCount (and AttainmentRate and ErrorBudgetRemaining when the evaluation has
 * data) under the dimension set [SLO, Service], then one event per burn-rate window with data
 * carrying BurnRate under [SLO, Service, BurnRateWindowMinutes]. |ns| is the namespace.
 * Calls |fn| for each (stopping at its first non-zero return, which is returned).
 * Returns 0, a non-zero return of |fn|, or AG_ENOMEM, AG_ETOOBIG.
 */
AG_NODISCARD int ex_slo_emf_events(const char *ns, int64_t now_ms,
                                   const struct ex_slo_metric_input *in, size_t n,
                                   ex_slo_emf_fn *fn, void *arg);

#endif /* EX_SLO_SINK_INT_H */
