/* SPDX-License-Identifier: Apache-2.0 */
/* The CloudWatch Logs pusher: interface stub, the implementation follows. */
#include "ex_cw_pusher.h"

int ex_cw_pusher_new(struct event_base *base, const struct ex_cw_pusher_options *opts,
                     const struct ex_cw_sender *sender, struct ex_cw_pusher **out)
{
    (void)base;
    (void)opts;
    (void)sender;
    *out = NULL;
    return AG_EUNSUPP;
}

bool ex_cw_pusher_has_room(const struct ex_cw_pusher *p)
{
    (void)p;
    return false;
}

int ex_cw_pusher_push(struct ex_cw_pusher *p, const struct ex_cw_event *evs, size_t n)
{
    (void)p;
    (void)evs;
    (void)n;
    return AG_EUNSUPP;
}

void ex_cw_pusher_flush(struct ex_cw_pusher *p)
{
    (void)p;
}

void ex_cw_pusher_drain(struct ex_cw_pusher *p)
{
    (void)p;
}

size_t ex_cw_pusher_queued(const struct ex_cw_pusher *p)
{
    (void)p;
    return 0;
}

size_t ex_cw_pusher_in_flight(const struct ex_cw_pusher *p)
{
    (void)p;
    return 0;
}

const struct ex_cw_pusher_stats *ex_cw_pusher_stats(const struct ex_cw_pusher *p)
{
    (void)p;
    return NULL;
}

void ex_cw_pusher_close(struct ex_cw_pusher *p)
{
    (void)p;
}

void ex_cw_pusher_free(struct ex_cw_pusher *p)
{
    (void)p;
}

bool ex_cw_retention_valid(long long days)
{
    (void)days;
    return false;
}

bool ex_cw_group_name_valid(const char *name)
{
    (void)name;
    return false;
}

bool ex_cw_stream_name_valid(const char *name)
{
    (void)name;
    return false;
}

size_t ex_cw_utf8_cut(const char *s, size_t len, size_t max)
{
    (void)s;
    return len < max ? len : max;
}

int ex_cw_parse_rejected(const uint8_t *body, size_t len, size_t n, struct ex_cw_rejected *out)
{
    (void)body;
    (void)len;
    (void)n;
    out->too_new = out->too_old = out->expired = 0;
    return 0;
}
