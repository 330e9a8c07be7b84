/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/HTTP on evhttp. evhttp owns HTTP/1.1 parsing (sized and chunked bodies, keep-alive,
 * Expect: 100-continue) and enforces the compressed body limit; this file routes, checks method
 * and media type, inflates with the decompressed limit enforced while inflating, hands the body
 * to the sink, and answers as the collector does.
 */
#include "ag_http.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_zip.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#define HTTP_MAX_HEADERS_SIZE (64 * 1024)

struct ag_http_receiver {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    SSL_CTX *tls;
    struct ag_http_receiver_options opts;
    struct ag_otlp_sink sink;
    struct ag_http_receiver_stats stats;
};

static struct bufferevent *make_tls_bev(struct event_base *base, void *arg)
{
    struct ag_http_receiver *r = arg;
    SSL *ssl = SSL_new(r->tls);
    if (ssl == NULL) {
        return NULL;
    }
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

/* Matches |origin| against one allowed pattern: exact, "*", or one "*" wildcard inside. */
static int origin_matches(const char *pattern, const char *origin)
{
    const char *star = strchr(pattern, '*');
    if (star == NULL) {
        return strcasecmp(pattern, origin) == 0;
    }
    size_t pre = (size_t)(star - pattern), post = strlen(star + 1), olen = strlen(origin);
    return olen >= pre + post && strncasecmp(origin, pattern, pre) == 0 &&
           strcasecmp(origin + olen - post, star + 1) == 0;
}

/* Adds the CORS response headers when the request's Origin is allowed. Returns 1 if allowed. */
static int add_cors(struct ag_http_receiver *r, struct evhttp_request *req)
{
    const struct ag_cors_config *cors = r->opts.cors;
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (cors == NULL || origin == NULL) {
        return 0;
    }
    for (size_t i = 0; i < cors->n_allowed_origins; i++) {
        if (origin_matches(cors->allowed_origins[i], origin)) {
            struct evkeyvalq *h = evhttp_request_get_output_headers(req);
            evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
            evhttp_add_header(h, "Vary", "Origin");
            return 1;
        }
    }
    return 0;
}

static void send_text(struct ag_http_receiver *r, struct evhttp_request *req, int code,
                      const char *reason, const char *text)
{
    struct evbuffer *out = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (out != NULL) {
        evbuffer_add_printf(out, "%s\n", text);
    }
    r->stats.requests++;
    if (code >= 400 && code != 413) {
        r->stats.bad_requests++;
    }
    evhttp_send_reply(req, code, reason, out);
    if (out != NULL) {
        evbuffer_free(out);
    }
}

static const char *reason_phrase(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 413:
        return "Request Entity Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

static const char *media_type(enum ag_otlp_encoding enc)
{
    return enc == AG_OTLP_JSON ? "application/json" : "application/x-protobuf";
}

/* Answers |code| with a google.rpc.Status body in the request's encoding. */
static void send_status(struct ag_http_receiver *r, struct evhttp_request *req,
                        enum ag_otlp_encoding enc, int http_code, int grpc_code,
                        const char *message, uint32_t retry_after_s)
{
    struct ag_buf body;
    ag_buf_init(&body, 64 * 1024);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (ag_otlp_status_encode(enc, grpc_code, message, retry_after_s, &body) != 0) {
        ag_buf_cleanup(&body);
    }
    evhttp_add_header(h, "Content-Type", media_type(enc));
    if (retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%u", retry_after_s);
        evhttp_add_header(h, "Retry-After", secs);
    }
    struct evbuffer *out = evbuffer_new();
    if (out != NULL && body.len > 0) {
        evbuffer_add(out, ag_buf_ptr(&body), body.len);
    }
    r->stats.requests++;
    if (http_code == 413) {
        r->stats.too_large++;
    } else if (http_code == 503 || http_code == 429) {
        r->stats.refused++;
    } else if (http_code >= 400) {
        r->stats.bad_requests++;
    }
    evhttp_send_reply(req, http_code, reason_phrase(http_code), out);
    if (out != NULL) {
        evbuffer_free(out);
    }
    ag_buf_cleanup(&body);
}

/* Returns the encoding for a Content-Type header, ignoring parameters; -1 when unsupported. */
static int parse_content_type(const char *ct)
{
    if (ct == NULL) {
        return -1;
    }
    while (*ct == ' ') {
        ct++;
    }
    size_t n = strcspn(ct, "; \t");
    if (n == strlen("application/x-protobuf") &&
        strncasecmp(ct, "application/x-protobuf", n) == 0) {
        return AG_OTLP_PROTOBUF;
    }
    if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0) {
        return AG_OTLP_JSON;
    }
    return -1;
}

static void handle_preflight(struct ag_http_receiver *r, struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (!add_cors(r, req)) {
        send_text(r, req, 405, "Method Not Allowed", "405 method not allowed, supported: [POST]");
        return;
    }
    const struct ag_cors_config *cors = r->opts.cors;
    evhttp_add_header(h, "Access-Control-Allow-Methods", "POST");
    const char *asked =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Access-Control-Request-Headers");
    if (asked != NULL && cors->n_allowed_headers > 0) {
        evhttp_add_header(h, "Access-Control-Allow-Headers", asked);
    } else if (asked != NULL) {
        evhttp_add_header(h, "Access-Control-Allow-Headers", "Content-Type, Content-Encoding");
    }
    if (cors->max_age > 0) {
        char age[24];
        snprintf(age, sizeof(age), "%lld", (long long)cors->max_age);
        evhttp_add_header(h, "Access-Control-Max-Age", age);
    }
    r->stats.requests++;
    evhttp_send_reply(req, 204, "No Content", NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ag_http_receiver *r = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    int signal = -1;
    for (int i = 0; i < AG_SIGNAL_COUNT && path != NULL; i++) {
        if (r->opts.paths[i] != NULL && strcmp(path, r->opts.paths[i]) == 0) {
            signal = i;
        }
    }
    if (signal < 0) {
        send_text(r, req, 404, "Not Found", "404 page not found");
        return;
    }
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (method == EVHTTP_REQ_OPTIONS && r->opts.cors != NULL) {
        handle_preflight(r, req);
        return;
    }
    if (method != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        send_text(r, req, 405, "Method Not Allowed", "405 method not allowed, supported: [POST]");
        return;
    }
    add_cors(r, req);
    struct evkeyvalq *in_h = evhttp_request_get_input_headers(req);
    int enc = parse_content_type(evhttp_find_header(in_h, "Content-Type"));
    if (enc < 0) {
        send_text(r, req, 415, "Unsupported Media Type",
                  "415 unsupported media type, supported: [application/json, "
                  "application/x-protobuf]");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const uint8_t *body = len ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
    const char *ce = evhttp_find_header(in_h, "Content-Encoding");
    struct ag_buf inflated;
    ag_buf_init(&inflated, r->opts.max_request_body_size);
    if (ce != NULL && *ce != '\0' && strcasecmp(ce, "identity") != 0) {
        /* The collector's set: snappy is a block, x-snappy-framed the framing format. Each
         * name has the one compression_algorithms lists it by (x-gzip: gzip). */
        static const struct {
            const char *name, *listed_as;
            enum ag_zip_format fmt;
        } encodings[] = {
            {"gzip", "gzip", AG_ZIP_GZIP},
            {"x-gzip", "gzip", AG_ZIP_GZIP},
            {"deflate", "deflate", AG_ZIP_DEFLATE},
            {"zlib", "zlib", AG_ZIP_DEFLATE},
            {"zstd", "zstd", AG_ZIP_ZSTD},
            {"snappy", "snappy", AG_ZIP_SNAPPY},
            {"x-snappy-framed", "x-snappy-framed", AG_ZIP_SNAPPY_FRAMED},
            {"lz4", "lz4", AG_ZIP_LZ4},
        };
        long e = -1;
        for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]) && e < 0; i++) {
            e = strcasecmp(ce, encodings[i].name) == 0 ? (long)i : e;
        }
        bool listed = e >= 0 && r->opts.encodings == NULL;
        for (size_t i = 0; e >= 0 && i < r->opts.n_encodings && !listed; i++) {
            listed = strcmp(r->opts.encodings[i], encodings[e].listed_as) == 0;
        }
        if (!listed) {
            char msg[192];
            if (e < 0) {
                snprintf(msg, sizeof(msg),
                         "unsupported Content-Encoding \"%.64s\"; supported: gzip, deflate, "
                         "zlib, zstd, snappy, x-snappy-framed, lz4, identity",
                         ce);
            } else {
                snprintf(msg, sizeof(msg),
                         "Content-Encoding \"%.64s\" is not in this receiver's "
                         "compression_algorithms",
                         ce);
            }
            send_status(r, req, enc, 400, AG_GRPC_INVALID_ARGUMENT, msg, 0);
            return;
        }
        int rc = ag_zip_inflate(encodings[e].fmt, body, len, &inflated);
        if (rc == AG_ETOOBIG) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "the decompressed body is larger than "
                     "max_request_body_size (%llu bytes)",
                     (unsigned long long)r->opts.max_request_body_size);
            send_status(r, req, enc, 413, AG_GRPC_RESOURCE_EXHAUSTED, msg, 0);
            return;
        }
        if (rc != 0) {
            ag_buf_cleanup(&inflated);
            send_status(r, req, enc, rc == AG_ENOMEM ? 500 : 400,
                        rc == AG_ENOMEM ? AG_GRPC_INTERNAL : AG_GRPC_INVALID_ARGUMENT,
                        rc == AG_ENOMEM ? "out of memory while inflating the body"
                                        : "the body is not valid for its Content-Encoding",
                        0);
            return;
        }
        body = inflated.data ? inflated.data : (const uint8_t *)"";
        len = inflated.len;
    }
    struct ag_otlp_result res;
    memset(&res, 0, sizeof(res));
    r->sink.ingest(r->sink.ctx, (enum ag_signal)signal, enc, body, len, &res);
    ag_buf_cleanup(&inflated);
    if (res.status != AG_OTLP_OK) {
        send_status(r, req, enc, ag_otlp_status_http(res.status), ag_otlp_status_grpc(res.status),
                    res.message, res.status == AG_OTLP_UNAVAILABLE ? res.retry_after_s : 0);
        return;
    }
    struct ag_buf out;
    ag_buf_init(&out, 4 * 1024 * 1024);
    if (ag_otlp_response_encode((enum ag_signal)signal, enc, &res, &out) != 0) {
        ag_buf_cleanup(&out);
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", media_type(enc));
    struct evbuffer *ob = evbuffer_new();
    if (ob != NULL && out.len > 0) {
        evbuffer_add(ob, ag_buf_ptr(&out), out.len);
    }
    r->stats.requests++;
    evhttp_send_reply(req, 200, "OK", ob);
    if (ob != NULL) {
        evbuffer_free(ob);
    }
    ag_buf_cleanup(&out);
}

struct ag_http_receiver *ag_http_receiver_new(struct event_base *base,
                                              const struct ag_http_receiver_options *opts,
                                              const struct ag_otlp_sink *sink)
{
    struct ag_http_receiver *r = ag_calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->base = base;
    r->opts = *opts;
    r->sink = *sink;
    r->http = evhttp_new(base);
    if (r->http == NULL) {
        ag_free(r);
        return NULL;
    }
    /* Every method reaches on_request so that the answer is the collector's 405, not evhttp's. */
    evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(r->http, (ev_ssize_t)opts->max_request_body_size);
    evhttp_set_max_headers_size(r->http, HTTP_MAX_HEADERS_SIZE);
    if (opts->read_header_timeout > 0) {
        struct timeval tv = {.tv_sec = (time_t)(opts->read_header_timeout / 1000000000ull),
                             .tv_usec =
                                 (suseconds_t)(opts->read_header_timeout % 1000000000ull / 1000)};
        evhttp_set_timeout_tv(r->http, &tv);
    }
    evhttp_set_gencb(r->http, on_request, r);
    return r;
}

int ag_http_receiver_listen(struct ag_http_receiver *r, const char *host, int port, SSL_CTX *tls,
                            int *bound_port)
{
    if (tls != NULL) {
        r->tls = tls;
        evhttp_set_bevcb(r->http, make_tls_bev, r);
    }
    r->bound = evhttp_bind_socket_with_handle(r->http, host, (ev_uint16_t)port);
    if (r->bound == NULL) {
        return AG_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(r->bound);
    *bound_port = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    return 0;
}

void ag_http_receiver_stop_accepting(struct ag_http_receiver *r)
{
    if (r->bound != NULL) {
        evhttp_del_accept_socket(r->http, r->bound);
        r->bound = NULL;
    }
}

void ag_http_receiver_stats(const struct ag_http_receiver *r, struct ag_http_receiver_stats *out)
{
    *out = r->stats;
}

void ag_http_receiver_free(struct ag_http_receiver *r)
{
    if (r == NULL) {
        return;
    }
    evhttp_free(r->http);
    ag_free(r);
}
