/* SPDX-License-Identifier: Apache-2.0 */
/* The local provider: word-sized pieces, one per loop turn, the reply, and cancellation. */
#include <event2/event.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_test.h"
#include "cb_kb.h"
#include "cb_local.h"

static void test_chunks(void)
{
    static const char t[] = "## Limits\n\nMessages have  a\xc3\xa9 end \n";
    size_t len = sizeof(t) - 1, off = 0, n;
    static const char *const want[] = {"##", " Limits", "\n\nMessages", " have", "  a\xc3\xa9",
                                       " end", " \n"};
    size_t k = 0;
    while ((n = cb_local_next_chunk(t, len, off)) > 0) {
        ASSERT(k < sizeof(want) / sizeof(want[0]));
        ASSERT_EQ(n, strlen(want[k]));
        ASSERT_MEMEQ(t + off, want[k], n);
        off += n;
        k++;
    }
    ASSERT_EQ(k, sizeof(want) / sizeof(want[0]));
    ASSERT_EQ(off, len);
    ASSERT_EQ(cb_local_next_chunk("", 0, 0), 0);
    ASSERT_EQ(cb_local_next_chunk("abc", 3, 5), 0);
}

struct seen {
    struct ag_buf text;
    int deltas, dones, turns_at_last_delta, turns;
    int rc;
    char model[32];
    size_t n_sources;
    char answer[8192];
};

static void on_delta(void *arg, const char *text, size_t len)
{
    struct seen *s = arg;
    /* One piece per loop turn: never two in the same one. */
    ASSERT(s->deltas == 0 || s->turns > s->turns_at_last_delta);
    s->turns_at_last_delta = s->turns;
    s->deltas++;
    ASSERT_OK(ag_buf_add(&s->text, text, len));
}

static void on_done(void *arg, const struct cb_reply *r)
{
    struct seen *s = arg;
    s->dones++;
    s->rc = r->rc;
    snprintf(s->model, sizeof(s->model), "%s", r->model);
    s->n_sources = r->n_sources;
    snprintf(s->answer, sizeof(s->answer), "%.*s", (int)r->text_len, r->text);
    ASSERT(r->n_sources > 0);
    ASSERT(strstr(r->sources[0].document, ".md") != NULL);
}

static void on_turn(evutil_socket_t fd, short what, void *arg)
{
    struct seen *s = arg;
    s->turns++;
}

static void run(struct event_base *base, struct seen *s)
{
    /* A persistent active event counts loop turns beside the provider's. */
    struct event *tick = event_new(base, -1, EV_PERSIST, on_turn, s);
    for (int i = 0; i < 10000 && s->dones == 0; i++) {
        event_active(tick, EV_TIMEOUT, 0);
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    event_free(tick);
}

static void test_stream(void)
{
    struct event_base *base = event_base_new();
    struct cb_provider *p = NULL;
    ASSERT_OK(cb_local_new(base, &p));
    static const char q[] = "otterd answers 503 to every export";
    struct seen s = {0};
    ag_buf_init(&s.text, 1 << 20);
    struct cb_ask ask = {.message = q, .message_len = sizeof(q) - 1, .stream = true};
    ASSERT_OK(cb_provider_ask(p, &ask, on_delta, on_done, &s));
    ASSERT_EQ(s.deltas + s.dones, 0); /* never from inside ask() */
    run(base, &s);
    ASSERT_EQ(s.dones, 1);
    ASSERT_OK(s.rc);
    ASSERT_STREQ(s.model, CB_LOCAL_MODEL);
    /* The pieces joined are the answer, and there is one per word. */
    ASSERT_EQ(s.text.len, strlen(s.answer));
    ASSERT_MEMEQ(ag_buf_ptr(&s.text), s.answer, s.text.len);
    size_t words = 0, off = 0, n;
    while ((n = cb_local_next_chunk(s.answer, strlen(s.answer), off)) > 0) {
        off += n;
        words++;
    }
    ASSERT_EQ((size_t)s.deltas, words);
    ASSERT(s.deltas > 10);
    ag_buf_cleanup(&s.text);

    /* Not streaming: no delta, the same answer. */
    struct seen s2 = {0};
    ag_buf_init(&s2.text, 1 << 20);
    ask.stream = false;
    ASSERT_OK(cb_provider_ask(p, &ask, NULL, on_done, &s2));
    run(base, &s2);
    ASSERT_EQ(s2.deltas, 0);
    ASSERT_EQ(s2.dones, 1);
    ASSERT_STREQ(s2.answer, s.answer);
    ag_buf_cleanup(&s2.text);

    /* Cancelled: nothing more is called. */
    struct seen s3 = {0};
    ag_buf_init(&s3.text, 1 << 20);
    ask.stream = true;
    ASSERT_OK(cb_provider_ask(p, &ask, on_delta, on_done, &s3));
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    cb_provider_cancel(p, &s3);
    int before = s3.deltas;
    for (int i = 0; i < 100; i++) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    ASSERT_EQ(s3.deltas, before);
    ASSERT_EQ(s3.dones, 0);
    ag_buf_cleanup(&s3.text);

    /* Freed with a question open: no callback, no leak. */
    struct seen s4 = {0};
    ASSERT_OK(cb_provider_ask(p, &ask, on_delta, on_done, &s4));
    cb_provider_free(p);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    ASSERT_EQ(s4.dones + s4.deltas, 0);
    event_base_free(base);
}

AG_TEST_MAIN(AG_TEST_CASE(test_chunks), AG_TEST_CASE(test_stream))
