/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the gRPC server's connection code without sockets: the input is what a client sends on
 * one connection (preface, frames, HPACK, gRPC messages), written in chunks into one end of a
 * bufferevent pair whose other end the server adopts, with the loop run between chunks. The first
 * byte picks the stub sink's answer (bit 0x20: max_connection_idle of 1 ns, so the connection is
 * closed whenever it is idle between chunks), the second the chunk size. The buffer budget
 * (96 KiB, under two 64 KiB messages) must never be overdrawn and must be back to zero once the
 * connection is gone. Sanitizers catch memory errors; the connection must be gone once the
 * server is freed. Seeds: corpus/grpc_session/ (written by make_grpc_seeds.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ag_grpc.h"

#define BUDGET (96u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stub_ingest(void *ctx, enum ag_signal signal, enum ag_otlp_encoding enc,
                        const uint8_t *body, size_t len, struct ag_otlp_result *res)
{
    const uint8_t *mode = ctx;
    (void)signal;
    (void)enc;
    if (len > 0 && body == NULL) {
        abort();
    }
    res->status = (enum ag_otlp_status)(*mode % 5);
    res->rejected = *mode & 0x80 ? 2 : 0;
    res->retry_after_s = 1;
    snprintf(res->message, sizeof(res->message), "%s", *mode & 0x40 ? "fuzz 100%\n" : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_base *base;
    struct ag_grpc_options o;
    struct ag_grpc_server *srv;
    struct bufferevent *pair[2];
    uint8_t mode;
    struct ag_otlp_sink sink = {stub_ingest, &mode};
    if (size < 2) {
        return 0;
    }
    if (base == NULL && (base = event_base_new()) == NULL) {
        abort();
    }
    mode = data[0];
    size_t chunk = data[1] ? data[1] : size;
    data += 2;
    size -= 2;
    ag_grpc_options_init(&o);
    o.max_recv_msg_size = 64 * 1024;
    o.max_header_list_size = 4096;
    o.max_concurrent_streams = 8;
    o.max_output_buffer = 16 * 1024;
    o.max_buffered_bytes = BUDGET;
    o.max_connection_idle = mode & 0x20 ? 1 : 0;
    srv = ag_grpc_server_new(base, &o, &sink);
    if (srv == NULL || bufferevent_pair_new(base, BEV_OPT_DEFER_CALLBACKS, pair) != 0) {
        abort();
    }
    bufferevent_enable(pair[1], EV_READ | EV_WRITE);
    if (ag_grpc_server_adopt(srv, pair[0]) != 0) {
        abort();
    }
    for (size_t at = 0; at < size && ag_grpc_server_active(srv) > 0; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        bufferevent_write(pair[1], data + at, n);
        event_base_loop(base, EVLOOP_NONBLOCK);
        struct evbuffer *in = bufferevent_get_input(pair[1]);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (ag_grpc_server_buffered(srv) > BUDGET) {
            abort();
        }
    }
    event_base_loop(base, EVLOOP_NONBLOCK);
    if (ag_grpc_server_active(srv) == 0 && ag_grpc_server_buffered(srv) != 0) {
        abort(); /* a reservation outlived its connection */
    }
    ag_grpc_server_free(srv);
    bufferevent_free(pair[1]);
    /* libevent finalizes freed bufferevents in the loop. */
    event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}
