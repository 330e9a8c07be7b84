/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-request bump arena. protobuf-c's unpack allocates once per field; with malloc that costs
 * 2-3x the decode itself (specs/performance.md), so every request decodes into one of these and
 * is released in one step once all exporters are done with it.
 */
#include "ag_arena.h"
#include "ag_mem.h"

#include <stdint.h>
#include <string.h>

#define ARENA_MIN_BLOCK (16 * 1024)
/*
 * Blocks double up to this size, then stay there. Doubling on to 1 MiB left the last block half
 * empty on average: a realistic 100-span request (45 kB on the wire, 284 kB decoded) held 508 kB,
 * and the batch processor keeps hundreds of requests alive, so that waste was most of otterd's
 * memory at saturation. With 64 KiB the waste is at most one block per request.
 */
#define ARENA_MAX_BLOCK (64 * 1024)
#define ARENA_ALIGN     16

struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* data follows, aligned */
};

struct ag_arena {
    struct arena_block *head;
    size_t footprint; /* bytes of all blocks, headers included */
    size_t cap;       /* 0 = unlimited */
    size_t next_block;
    int exhausted;
};

#define BLOCK_HDR ((sizeof(struct arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

struct ag_arena *ag_arena_new(size_t cap)
{
    struct ag_arena *a = ag_calloc(1, sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    a->cap = cap;
    a->next_block = ARENA_MIN_BLOCK;
    return a;
}

void ag_arena_free(struct ag_arena *arena)
{
    if (arena == NULL) {
        return;
    }
    struct arena_block *b = arena->head;
    while (b != NULL) {
        struct arena_block *next = b->next;
        ag_free(b);
        b = next;
    }
    ag_free(arena);
}

static struct arena_block *arena_grow(struct ag_arena *a, size_t need)
{
    size_t size = a->next_block;
    while (size < need) {
        size *= 2;
    }
    if (a->cap != 0 && a->footprint + BLOCK_HDR + size > a->cap) {
        /* Fall back to the exact size before giving up: the cap is on bytes, not on blocks. */
        size = need;
        if (a->footprint + BLOCK_HDR + size > a->cap) {
            a->exhausted = 1;
            return NULL;
        }
    }
    struct arena_block *b = ag_malloc(BLOCK_HDR + size);
    if (b == NULL) {
        a->exhausted = 0;
        return NULL;
    }
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    a->footprint += BLOCK_HDR + size;
    if (a->next_block < ARENA_MAX_BLOCK) {
        a->next_block *= 2;
    }
    return b;
}

void *ag_arena_alloc(struct ag_arena *arena, size_t size)
{
    /* No real request comes near this; refusing it keeps the rounding, the block doubling and
     * the header sums in arena_grow() from wrapping around. */
    if (size > SIZE_MAX / 4) {
        arena->exhausted = arena->cap != 0;
        return NULL;
    }
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_block *b = arena->head;
    if (b == NULL || b->size - b->used < need) {
        b = arena_grow(arena, need);
        if (b == NULL) {
            return NULL;
        }
    }
    void *p = (uint8_t *)b + BLOCK_HDR + b->used;
    b->used += need;
    return p;
}

void *ag_arena_calloc(struct ag_arena *arena, size_t size)
{
    void *p = ag_arena_alloc(arena, size);
    if (p != NULL) {
        memset(p, 0, size);
    }
    return p;
}

char *ag_arena_strndup(struct ag_arena *arena, const char *s, size_t len)
{
    char *p = ag_arena_alloc(arena, len + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t ag_arena_footprint(const struct ag_arena *arena)
{
    return arena->footprint;
}

int ag_arena_exhausted(const struct ag_arena *arena)
{
    return arena->exhausted;
}

static void *pb_alloc(void *data, size_t size)
{
    return ag_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

void ag_arena_pb_allocator(struct ag_arena *arena, ProtobufCAllocator *out)
{
    out->alloc = pb_alloc;
    out->free = pb_free;
    out->allocator_data = arena;
}
