#ifndef CB_BEDROCK_H
#define CB_BEDROCK_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "cb_eventstream.h"
#include "cb_provider.h"

struct event_base;
struct cb_otel;

/*
 * The `bedrock` provider: Amazon Bedrock Runtime Converse (POST /model/{modelId}/converse) and
 * ConverseStream (/converse-stream, an application/vnd.amazon.eventstream answer decoded by
 * cb_eventstream) through the AWS layer (exporters/aws: SigV4 with signing name "bedrock",
 * endpoint prefix "bedrock-runtime", the credentials chain, the standard retry mode for
 * throttling and 5xx, connect and total timeouts).
 *
 * The request: the system prompt, the session's history as alternating Converse messages
 * trimmed to a token budget (oldest first), the new user message, and inferenceConfig. Tokens
 * are estimated as ceil(bytes / 4) (about four bytes of English text per token for the models
 * Bedrock serves; no tokenizer is bundled): the newest turns that fit the budget are kept, in
 * user/assistant pairs, so the messages always start with a user turn and alternate.
 *
 * Failures become clean messages for the user (cb_reply's code and message); the service's own
 * message and request id go only to the log. Once text has been streamed nothing is retried:
 * an error then ends the stream.
 */

#define CB_BEDROCK_DEFAULT_MODEL     "amazon.nova-lite-v1:0"
#define CB_BEDROCK_DEFAULT_MAX_TOKEN 1000u
#define CB_BEDROCK_HISTORY_TOKENS    3000u /* default budget for earlier turns */
#define CB_BEDROCK_MAX_ANSWER        (256u * 1024u) /* bytes of answer text kept */
#define CB_BEDROCK_MAX_MODEL_ID      2048u

struct cb_bedrock_config {
    const char *model_id;      /* model id, inference-profile id or ARN */
    const char *region;        /* NULL = AWS_REGION, AWS_DEFAULT_REGION, profile, IMDS */
    const char *endpoint;      /* NULL = AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL, or
                                  https://bedrock-runtime.<region>.amazonaws.com */
    const char *system_prompt; /* NULL or "" = none */
    unsigned max_tokens;       /* inferenceConfig.maxTokens; 0 = not sent */
    double temperature;        /* < 0 = not sent */
    double top_p;              /* < 0 = not sent */
    size_t history_tokens;     /* budget for earlier turns (estimated tokens) */
    unsigned max_attempts;     /* 0 = the standard mode's 3 */
    uint64_t connect_timeout_ms; /* 0 = 2000 */
    uint64_t timeout_ms;         /* total per attempt, streaming included; 0 = 60000 */
    /* Telemetry (borrowed, must outlive the provider; NULL = none): one CLIENT span per call
     * (retries inside it) under cb_ask.trace with the gen_ai.* and aws.* attributes, token usage
     * and provider errors by error.type (cb_otel_bedrock_span_end()). */
    struct cb_otel *tel;
};

/* Fills |cfg| with the defaults above (temperature and top_p not sent). */
void cb_bedrock_config_defaults(struct cb_bedrock_config *cfg);

/*
 * Creates the provider and its AWS objects on |base| (borrowed, must outlive it); |cfg| is
 * copied. On failure writes the reason to |err|. Returns 0 and a new provider in |*out| (free
 * with cb_provider_free()), or AG_EINVAL (a bad model id, region or endpoint), AG_ENOMEM.
 */
AG_NODISCARD int cb_bedrock_new(struct event_base *base, const struct cb_bedrock_config *cfg,
                                struct cb_provider **out, char *err, size_t errlen);

/*
 * Appends the wire path of |op| ("converse" or "converse-stream") for |model_id| to |out|:
 * "/model/" + the id percent-encoded (everything but A-Z a-z 0-9 - . _ ~, so ':' is %3A and '/'
 * is %2F) + "/" + |op|. Returns 0, AG_EINVAL (empty or over CB_BEDROCK_MAX_MODEL_ID), or
 * ag_buf's errors.
 */
AG_NODISCARD int cb_bedrock_path(struct ag_buf *out, const char *model_id, const char *op);

/*
 * Appends the Converse request body for |ask| under |cfg| to |out| (the trimming described
 * above). Returns 0, or ag_json's errors.
 */
AG_NODISCARD int cb_bedrock_request_body(struct ag_buf *out, const struct cb_bedrock_config *cfg,
                                         const struct cb_ask *ask);

/* The token estimate used for the history budget: ceil(|len| / 4). */
size_t cb_bedrock_estimate_tokens(size_t len);

/*
 * What the service answered, read from a Converse body or from ConverseStream events (pure
 * logic, fuzzed by tests/fuzz/fuzz_bedrock_answer.c). Unknown members and event types are
 * ignored: Bedrock adds them over time and pads events with a random "p" member.
 */
struct cb_bedrock_answer {
    struct ag_buf text;       /* the answer's text blocks, capped at CB_BEDROCK_MAX_ANSWER */
    char stop_reason[64];     /* messageStop / stopReason; "" until seen */
    uint64_t input_tokens, output_tokens;
    char exception[128];      /* an in-stream exception or error's type; "" when none */
};

void cb_bedrock_answer_init(struct cb_bedrock_answer *a);
void cb_bedrock_answer_cleanup(struct cb_bedrock_answer *a);

/*
 * Reads a Converse answer body (|len| bytes): the text blocks of output.message.content,
 * stopReason and usage. Returns 0; AG_EPROTO (not JSON, or no output.message.content array);
 * AG_ETOOBIG (text over the cap); AG_ENOMEM.
 */
AG_NODISCARD int cb_bedrock_read_converse(struct cb_bedrock_answer *a, const uint8_t *body,
                                          size_t len);

/*
 * Reads one ConverseStream message: contentBlockDelta text is appended (|*added| receives how
 * many bytes, at the end of |a->text|), messageStop gives the stop reason, metadata the usage.
 * An exception or error message records its type in |a->exception| (its message goes to the
 * log only) and returns AG_EUPSTREAM. Returns 0; AG_EUPSTREAM; AG_EPROTO (no :message-type or
 * :event-type string header, or a payload that is not a JSON object); AG_ETOOBIG; AG_ENOMEM.
 */
AG_NODISCARD int cb_bedrock_read_event(struct cb_bedrock_answer *a, const struct cb_es_message *m,
                                       size_t *added);

#endif /* CB_BEDROCK_H */
