#ifndef CB_BEDROCK_H
#define CB_BEDROCK_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "cb_provider.h"

struct event_base;

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

#endif /* CB_BEDROCK_H */
