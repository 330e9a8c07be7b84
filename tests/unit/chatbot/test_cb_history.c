/* SPDX-License-Identifier: Apache-2.0 */
/* The memory history store behind the asynchronous interface: callbacks run before the call
 * returns, exactly once, with the codes the interface promises. */
#include <string.h>

#include "ag_test.h"
#include "cb_history.h"

struct seen {
    int calls, rc;
    size_t n;
    uint64_t next;
    char texts[4][32];
};

static void on_load(void *arg, int rc, const struct cb_turn *turns, size_t n, uint64_t next,
                    const char *why)
{
    struct seen *s = arg;
    s->calls++;
    s->rc = rc;
    s->n = n;
    s->next = next;
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(s->texts[i], sizeof(s->texts[i]), "%c:%.*s",
                 turns[i].role == CB_ROLE_USER ? 'u' : 'a', (int)turns[i].len, turns[i].text);
    }
    if (rc != 0 && why[0] == '\0') {
        s->calls += 100; /* a failure always says why */
    }
}

static void on_done(void *arg, int rc, const char *why)
{
    struct seen *s = arg;
    s->calls++;
    s->rc = rc;
    (void)why;
}

static void test_memory_roundtrip(void)
{
    struct cb_history *h = NULL;
    struct seen s = {0};
    char id[CB_SESSION_ID_LEN + 1];
    char question[] = "q1";
    ASSERT_OK(cb_history_memory_new(10, 60000, 40, 4096, &h));
    ASSERT_STREQ(h->ops->name, "memory");
    ASSERT_OK(cb_session_new_id(id));
    ASSERT(cb_session_id_valid(id, strlen(id)));

    cb_history_load(h, id, on_load, &s);
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.rc, AG_ENOTFOUND);

    struct cb_turn t[2] = {{CB_ROLE_USER, question, 2}, {CB_ROLE_ASSISTANT, (char *)"a1", 2}};
    memset(&s, 0, sizeof(s));
    cb_history_append(h, id, 1, 0, t, 2, on_done, &s);
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.rc, 0);
    question[1] = '9'; /* the store copied the text */

    memset(&s, 0, sizeof(s));
    cb_history_load(h, id, on_load, &s);
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.rc, 0);
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(s.next, 2);
    ASSERT_STREQ(s.texts[0], "u:q1");
    ASSERT_STREQ(s.texts[1], "a:a1");

    /* A second create of the same id is a conflict. */
    memset(&s, 0, sizeof(s));
    cb_history_append(h, id, 1, 0, t, 2, on_done, &s);
    ASSERT_EQ(s.rc, AG_EAGAIN);

    memset(&s, 0, sizeof(s));
    cb_history_remove(h, id, on_done, &s);
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.rc, 0);
    memset(&s, 0, sizeof(s));
    cb_history_remove(h, id, on_done, &s);
    ASSERT_EQ(s.rc, AG_ENOTFOUND);

    /* Appending to a session that ended meanwhile keeps nothing and is not an error. */
    memset(&s, 0, sizeof(s));
    cb_history_append(h, id, 0, 2, t, 2, on_done, &s);
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.rc, 0);
    memset(&s, 0, sizeof(s));
    cb_history_load(h, id, on_load, &s);
    ASSERT_EQ(s.rc, AG_ENOTFOUND);

    cb_history_cancel(h, &s); /* nothing pending: a no-op */
    cb_history_sweep(h);
    cb_history_free(h);
    cb_history_free(NULL);
    ASSERT_EQ(cb_history_memory_new(0, 1, 1, 1, &h), AG_EINVAL);
    ASSERT_NULL(h);
}

AG_TEST_MAIN(AG_TEST_CASE(test_memory_roundtrip))
