#ifndef CB_SSE_H
#define CB_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "ag_buf.h"
#include "ag_err.h"

struct evhttp_request;

/*
 * Server-sent events (the WHATWG HTML "text/event-stream" format) over an evhttp chunked reply,
 * for POST /api/chat/stream. Two layers:
 *   - cb_sse_format(): pure, turns one event into its bytes;
 *   - struct cb_sse: one reply in progress. It watches the client's connection from the moment
 *     the request is taken (so a provider call can be cancelled when the client goes away, even
 *     before the first byte is sent), sends the headers with the first event, flushes every
 *     event as its own HTTP chunk, and ends the reply.
 */

#define CB_SSE_MAX_EVENT_NAME 64u /* bytes of an event name */

/*
 * Appends the event |event| carrying the |len| bytes of |data| to |out|:
 *   "event: <event>\n" then one "data: <line>\n" per line of |data|, then "\n".
 * Lines are split at "\r\n", "\r" and "\n" (the three line ends an SSE parser accepts), so no
 * CR or LF of |data| can end the event early or start a field of its own: a client joins the
 * data lines with "\n" and gets |data| back with its line ends as "\n". Empty data is one empty
 * data line. |event| must be 1..CB_SSE_MAX_EVENT_NAME bytes of [A-Za-z0-9_.-].
 * Returns 0; AG_EINVAL (a bad event name, or a NUL byte in |data|: nothing is appended); or
 * ag_buf_add()'s errors (AG_ETOOBIG, AG_ENOMEM: the buffer is freed, as ag_buf does).
 */
AG_NODISCARD int cb_sse_format(struct ag_buf *out, const char *event, const char *data,
                               size_t len);

/* Runs once when the client's connection closes before the reply was ended (the request is
 * being freed by libevent: the reply must not be touched again; cb_sse_free() it). */
typedef void cb_sse_gone_fn(void *arg);

struct cb_sse;

/*
 * Takes charge of |req| (borrowed; libevent owns it): watches its connection and calls |gone|
 * (with |arg|) if the client disconnects before the reply ends. Nothing is sent yet.
 * Returns 0 and a new object in |*out| (free with cb_sse_free()), or AG_ENOMEM, AG_EIO (no
 * connection).
 */
AG_NODISCARD int cb_sse_new(struct evhttp_request *req, cb_sse_gone_fn *gone, void *arg,
                            struct cb_sse **out);

/* The request while the reply can still be sent, else NULL (ended, or the client left). */
struct evhttp_request *cb_sse_request(const struct cb_sse *s);

/* Whether the event-stream headers went out (the status is then 200 for good). */
bool cb_sse_started(const struct cb_sse *s);

/*
 * Sends one event (cb_sse_format()) as one HTTP chunk, first sending the 200 headers with
 * Content-Type: text/event-stream (the caller adds its own headers to the request before).
 * Returns 0; AG_EIO when the reply can no longer be sent; cb_sse_format()'s AG_EINVAL; or
 * AG_ENOMEM.
 */
AG_NODISCARD int cb_sse_send(struct cb_sse *s, const char *event, const char *data, size_t len);

/*
 * Ends the reply: the last chunk when the stream started. Stops watching the connection. When
 * the stream never started, nothing is sent: the caller answers with a normal reply after
 * cb_sse_release(). Idempotent.
 */
void cb_sse_end(struct cb_sse *s);

/*
 * Stops watching the connection and gives |req| back to the caller for a normal (non-stream)
 * reply, which the caller must send at once. Returns the request, or NULL when the client left.
 */
struct evhttp_request *cb_sse_release(struct cb_sse *s);

/* Ends the reply if need be (cb_sse_end()) and frees |s|; NULL is a no-op. */
void cb_sse_free(struct cb_sse *s);

#endif /* CB_SSE_H */
