/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory session store: a chained hash table by id for lookups and a doubly linked list
 * in order of last use, so expiry and eviction take the oldest sessions from its tail in O(1)
 * each. Each session's turns are a ring, trimmed from the oldest end.
 */
#include "cb_session.h"

#include <string.h>
#include <sys/random.h>

#include "ag_mem.h"

struct cb_session {
    char id[CB_SESSION_ID_LEN + 1];
    uint64_t last_used_ms;
    struct cb_session *hnext;            /* hash chain */
    struct cb_session *prev, *next;      /* use order: prev is more recent */
    struct cb_turn *turns;               /* ring of max_turns */
    size_t cap, first, nturns;           /* ring capacity (max_turns), start and length */
    size_t bytes;                        /* text bytes held */
};

struct cb_session_store {
    struct cb_session **buckets;
    size_t nbuckets; /* power of two */
    struct cb_session *head, *tail; /* most and least recently used */
    size_t count, max_sessions, max_turns, max_bytes;
    uint64_t ttl_ms;
};

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < CB_SESSION_ID_LEN && id[i]; i++) {
        h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
    }
    return h;
}

int cb_session_id_valid(const char *id, size_t len)
{
    if (id == NULL || len != CB_SESSION_ID_LEN) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

struct cb_session_store *cb_session_store_new(size_t max_sessions, uint64_t ttl_ms,
                                              size_t max_turns, size_t max_bytes)
{
    if (max_sessions == 0 || ttl_ms == 0 || max_turns == 0 || max_bytes == 0) {
        return NULL;
    }
    struct cb_session_store *st = ag_calloc(1, sizeof(*st));
    if (st == NULL) {
        return NULL;
    }
    st->nbuckets = 16;
    while (st->nbuckets < max_sessions && st->nbuckets < (1u << 20)) {
        st->nbuckets *= 2;
    }
    st->buckets = ag_calloc(st->nbuckets, sizeof(*st->buckets));
    if (st->buckets == NULL) {
        ag_free(st);
        return NULL;
    }
    st->max_sessions = max_sessions;
    st->ttl_ms = ttl_ms;
    st->max_turns = max_turns;
    st->max_bytes = max_bytes;
    return st;
}

static void drop_oldest_turn(struct cb_session_store *st, struct cb_session *s)
{
    struct cb_turn *t = &s->turns[s->first];
    s->bytes -= t->len;
    ag_free(t->text);
    t->text = NULL;
    s->first = (s->first + 1) % st->max_turns;
    s->nturns--;
}

static void session_free(struct cb_session_store *st, struct cb_session *s)
{
    while (s->nturns > 0) {
        drop_oldest_turn(st, s);
    }
    ag_free(s->turns);
    ag_free(s);
}

static void unlink_use(struct cb_session_store *st, struct cb_session *s)
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        st->head = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    } else {
        st->tail = s->prev;
    }
    s->prev = s->next = NULL;
}

static void push_front(struct cb_session_store *st, struct cb_session *s)
{
    s->prev = NULL;
    s->next = st->head;
    if (st->head) {
        st->head->prev = s;
    }
    st->head = s;
    if (st->tail == NULL) {
        st->tail = s;
    }
}

static void remove_session(struct cb_session_store *st, struct cb_session *s)
{
    struct cb_session **pp = &st->buckets[hash_id(s->id) & (st->nbuckets - 1)];
    while (*pp != s) {
        pp = &(*pp)->hnext;
    }
    *pp = s->hnext;
    unlink_use(st, s);
    st->count--;
    session_free(st, s);
}

void cb_session_store_free(struct cb_session_store *st)
{
    if (st == NULL) {
        return;
    }
    while (st->tail) {
        remove_session(st, st->tail);
    }
    ag_free(st->buckets);
    ag_free(st);
}

static int expired(const struct cb_session_store *st, const struct cb_session *s, uint64_t now)
{
    return now > s->last_used_ms && now - s->last_used_ms > st->ttl_ms;
}

size_t cb_session_expire(struct cb_session_store *st, uint64_t now_ms)
{
    size_t n = 0;
    while (st->tail && expired(st, st->tail, now_ms)) {
        remove_session(st, st->tail);
        n++;
    }
    return n;
}

static struct cb_session *find(const struct cb_session_store *st, const char *id)
{
    struct cb_session *s = st->buckets[hash_id(id) & (st->nbuckets - 1)];
    while (s && strcmp(s->id, id) != 0) {
        s = s->hnext;
    }
    return s;
}

int cb_session_new_id(char id[CB_SESSION_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[CB_SESSION_ID_LEN / 2];
    /* 128 random bits: ids are bearer tokens for a conversation, so they must not be guessable. */
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        return AG_EIO;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        id[2 * i] = hex[raw[i] >> 4];
        id[2 * i + 1] = hex[raw[i] & 15];
    }
    id[CB_SESSION_ID_LEN] = '\0';
    return 0;
}

/* Creates a session with |id| (or a new random one when |id| is NULL). */
static int create(struct cb_session_store *st, const char *id, uint64_t now_ms,
                  struct cb_session **out)
{
    struct cb_session *s = NULL;

    *out = NULL;
    if (id != NULL && !cb_session_id_valid(id, strlen(id))) {
        return AG_EINVAL;
    }
    (void)cb_session_expire(st, now_ms);
    if (id != NULL && find(st, id) != NULL) {
        return AG_EAGAIN;
    }
    s = ag_calloc(1, sizeof(*s));
    if (s == NULL) {
        return AG_ENOMEM;
    }
    s->turns = ag_calloc(st->max_turns, sizeof(*s->turns));
    if (s->turns == NULL) {
        ag_free(s);
        return AG_ENOMEM;
    }
    s->cap = st->max_turns;
    if (id != NULL) {
        memcpy(s->id, id, CB_SESSION_ID_LEN + 1);
    } else {
        do {
            if (cb_session_new_id(s->id) != 0) {
                session_free(st, s);
                return AG_EIO;
            }
        } while (find(st, s->id) != NULL);
    }
    while (st->count >= st->max_sessions) {
        remove_session(st, st->tail);
    }
    s->last_used_ms = now_ms;
    size_t b = hash_id(s->id) & (st->nbuckets - 1);
    s->hnext = st->buckets[b];
    st->buckets[b] = s;
    push_front(st, s);
    st->count++;
    *out = s;
    return 0;
}

int cb_session_create(struct cb_session_store *st, uint64_t now_ms, struct cb_session **out)
{
    return create(st, NULL, now_ms, out);
}

int cb_session_create_id(struct cb_session_store *st, const char *id, uint64_t now_ms,
                         struct cb_session **out)
{
    return create(st, id, now_ms, out);
}

struct cb_session *cb_session_get(struct cb_session_store *st, const char *id, uint64_t now_ms)
{
    if (!cb_session_id_valid(id, strlen(id))) {
        return NULL;
    }
    struct cb_session *s = find(st, id);
    if (s == NULL) {
        return NULL;
    }
    if (expired(st, s, now_ms)) {
        remove_session(st, s);
        return NULL;
    }
    s->last_used_ms = now_ms > s->last_used_ms ? now_ms : s->last_used_ms;
    unlink_use(st, s);
    push_front(st, s);
    return s;
}

int cb_session_delete(struct cb_session_store *st, const char *id, uint64_t now_ms)
{
    struct cb_session *s = cb_session_get(st, id, now_ms);
    if (s == NULL) {
        return AG_ENOTFOUND;
    }
    remove_session(st, s);
    return 0;
}

int cb_session_append(struct cb_session_store *st, struct cb_session *s, enum cb_role role,
                      const char *text, size_t len)
{
    if (len > st->max_bytes) {
        return AG_ETOOBIG;
    }
    char *copy = ag_strndup(text, len);
    if (copy == NULL) {
        return AG_ENOMEM;
    }
    while (s->nturns > 0 && (s->nturns == st->max_turns || s->bytes + len > st->max_bytes)) {
        drop_oldest_turn(st, s);
    }
    struct cb_turn *t = &s->turns[(s->first + s->nturns) % st->max_turns];
    t->role = role;
    t->text = copy;
    t->len = len;
    s->nturns++;
    s->bytes += len;
    return 0;
}

size_t cb_session_count(const struct cb_session_store *st)
{
    return st->count;
}

const char *cb_session_id(const struct cb_session *s)
{
    return s->id;
}

size_t cb_session_turn_count(const struct cb_session *s)
{
    return s->nturns;
}

const struct cb_turn *cb_session_turn(const struct cb_session *s, size_t i)
{
    return &s->turns[(s->first + i) % s->cap];
}
