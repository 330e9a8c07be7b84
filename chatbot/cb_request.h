#ifndef CB_REQUEST_H
#define CB_REQUEST_H

#include <stddef.h>

#include "ag_err.h"
#include "cb_session.h"

/*
 * The chat request parser: the body of POST /api/chat, {"session_id"?, "message"}, checked
 * strictly so that every refusal can name its field in a 400.
 */

struct cb_chat_request {
    char session_id[CB_SESSION_ID_LEN + 1]; /* "" when absent or null */
    char *message;                          /* NUL-terminated UTF-8; free with cleanup */
    size_t message_len;
};

struct cb_request_error {
    const char *code;  /* "invalid_json" or "invalid_request" (static) */
    char field[64];    /* the offending field, "" for the body as a whole */
    char message[256]; /* for the user, in English */
};

/*
 * Parses the |len| bytes of |body| (borrowed). The body must be a JSON object (duplicate keys
 * refused) with a string "message" that is not blank and at most |max_message| bytes, an
 * optional "session_id" that is null or a session id, and no other member.
 * Returns 0 (free |out| with cb_chat_request_cleanup()), AG_EPROTO with |err| filled in, or
 * AG_ENOMEM.
 */
AG_NODISCARD int cb_chat_request_parse(const char *body, size_t len, size_t max_message,
                                       struct cb_chat_request *out, struct cb_request_error *err);

void cb_chat_request_cleanup(struct cb_chat_request *req);

#endif /* CB_REQUEST_H */
