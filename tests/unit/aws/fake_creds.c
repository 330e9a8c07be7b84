/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fake credentials chain for the client's tests (see fake_creds.h). It implements the
 * functions of ex_aws_creds.h the client uses; linked into a test executable, it takes the place
 * of the real chain in the ex_aws library.
 */
#include "fake_creds.h"

#include "ag_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void deliver(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg)
{
    c->gets++;
    if (c->fail_next != 0) {
        int rc = c->fail_next;
        if (c->fail_more > 0) {
            c->fail_more--;
        } else {
            c->fail_next = 0;
        }
        fn(arg, rc, NULL, "no credentials: the fake was told to fail");
        return;
    }
    struct ex_aws_creds_value v = {
        .creds = {.access_key_id = FAKE_AKID,
                  .secret_access_key = FAKE_SECRET,
                  .session_token = c->token},
        .provider = "environment",
    };
    fn(arg, 0, &v, NULL);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct ex_aws_creds *c = arg;
    /* Callbacks may add or cancel gets: take one at a time from the front. */
    while (c->n_pending > 0) {
        struct fake_get g = c->pending[0];
        memmove(&c->pending[0], &c->pending[1], (c->n_pending - 1) * sizeof(c->pending[0]));
        c->n_pending--;
        deliver(c, g.fn, g.arg);
    }
}

static void on_region_ev(evutil_socket_t fd, short what, void *arg)
{
    struct ex_aws_creds *c = arg;
    ex_aws_region_fn *fn = c->region_fn;
    c->region_fn = NULL;
    if (fn != NULL) {
        fn(c->region_arg, c->imds_region != NULL ? 0 : AG_EIO, c->imds_region);
    }
}

struct ex_aws_creds *fake_creds_new(struct event_base *base)
{
    struct ex_aws_creds *c = ag_calloc(1, sizeof(*c));
    c->base = base;
    c->flush = evtimer_new(base, on_flush, c);
    c->region_ev = evtimer_new(base, on_region_ev, c);
    snprintf(c->token, sizeof(c->token), "token-%d", c->generation);
    return c;
}

void fake_creds_free(struct ex_aws_creds *c)
{
    if (c->region_fn != NULL) {
        ex_aws_region_fn *fn = c->region_fn;
        c->region_fn = NULL;
        fn(c->region_arg, AG_EAGAIN, NULL);
    }
    event_free(c->flush);
    event_free(c->region_ev);
    ag_free(c);
}

void ex_aws_creds_get(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg)
{
    if (!c->async) {
        deliver(c, fn, arg);
        return;
    }
    if (c->n_pending < FAKE_MAX_PENDING) {
        c->pending[c->n_pending++] = (struct fake_get){fn, arg};
    }
    struct timeval tv = {0, 1000};
    evtimer_add(c->flush, &tv);
}

void ex_aws_creds_cancel(struct ex_aws_creds *c, ex_aws_creds_fn *fn, void *arg)
{
    for (size_t i = 0; i < c->n_pending;) {
        if (c->pending[i].fn == fn && c->pending[i].arg == arg) {
            memmove(&c->pending[i], &c->pending[i + 1],
                    (c->n_pending - i - 1) * sizeof(c->pending[0]));
            c->n_pending--;
            c->cancels++;
        } else {
            i++;
        }
    }
}

void ex_aws_creds_invalidate(struct ex_aws_creds *c)
{
    c->invalidations++;
    c->generation++;
    snprintf(c->token, sizeof(c->token), "token-%d", c->generation);
}

const char *ex_aws_creds_region(const struct ex_aws_creds *c)
{
    return c->region;
}

void ex_aws_creds_imds_region(struct ex_aws_creds *c, ex_aws_region_fn *fn, void *arg)
{
    c->imds_asks++;
    c->region_fn = fn;
    c->region_arg = arg;
    struct timeval tv = {0, 1000};
    evtimer_add(c->region_ev, &tv);
}
