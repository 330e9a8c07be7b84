/* SPDX-License-Identifier: Apache-2.0 */
/* ag_drain: runs the loop until the work is done, or until the deadline. */
#include "ag_drain.h"
#include "ag_test.h"

#include <sys/time.h>
#include <time.h>

struct work {
    int pending;  /* completions still to come */
    int total;    /* completions wanted in all */
    int kicks;
    int started;  /* completions scheduled so far */
    struct event_base *base;
    struct event *ev[4];
};

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct work *w = arg;
    w->pending--;
}

static bool busy(void *arg)
{
    return ((struct work *)arg)->pending > 0;
}

/* Each kick starts the next completion, 10 ms away, when none is in flight, as an exporter
 * starts its next call; at most 4 ever start. */
static void kick(void *arg)
{
    struct work *w = arg;
    w->kicks++;
    int done = w->total - w->pending;
    if (w->started < w->total && w->started < 4 && w->started == done) {
        struct timeval tv = {0, 10000};
        w->ev[w->started] = evtimer_new(w->base, on_done, w);
        evtimer_add(w->ev[w->started], &tv);
        w->started++;
    }
}

static void free_events(struct work *w)
{
    for (int i = 0; i < w->started; i++) {
        event_free(w->ev[i]);
    }
}

static void test_drains_until_idle(void)
{
    struct work w = {.pending = 3, .total = 3};
    w.base = event_base_new();
    ASSERT_NOT_NULL(w.base);
    ASSERT_OK(ag_drain(w.base, 5000, busy, kick, &w));
    ASSERT_EQ(w.pending, 0);
    ASSERT(w.kicks >= 3);
    free_events(&w);
    event_base_free(w.base);
}

static void test_nothing_to_do(void)
{
    struct work w = {.pending = 0, .total = 0};
    w.base = event_base_new();
    ASSERT_NOT_NULL(w.base);
    ASSERT_OK(ag_drain(w.base, 5000, busy, kick, &w));
    ASSERT_EQ(w.kicks, 1); /* kicked once, then found idle without running the loop */
    event_base_free(w.base);
}

static void test_deadline(void)
{
    /* 10 completions wanted, only 4 ever start: the 50 ms deadline ends the drain. */
    struct work w = {.pending = 10, .total = 10};
    w.base = event_base_new();
    ASSERT_NOT_NULL(w.base);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EQ(ag_drain(w.base, 50, busy, kick, &w), AG_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ASSERT_EQ(w.pending, 6);
    /* It returned because of the deadline, not because the loop ran dry much later. */
    ASSERT((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 5000);
    free_events(&w);
    event_base_free(w.base);
}

AG_TEST_MAIN(AG_TEST_CASE(test_drains_until_idle), AG_TEST_CASE(test_nothing_to_do),
             AG_TEST_CASE(test_deadline))
