#ifndef AG_ARENA_H
#define AG_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_err.h"

/*
 * A bump allocator for everything one request decodes into: protobuf-c messages, OTLP/JSON
 * strings, resource attributes added by processors. It grows in blocks up to a hard cap and is
 * freed in one step. Individual frees are no-ops.
 */
struct ag_arena;

/*
 * Returns a new arena whose blocks add up to at most |cap| bytes (0 = no cap); the caller frees it
 * with ag_arena_free(). NULL when out of memory.
 */
struct ag_arena *ag_arena_new(size_t cap);

/*
 * Frees the arena and everything allocated from it. ag_arena_free(NULL) is a no-op.
 */
void ag_arena_free(struct ag_arena *arena);

/*
 * Returns |size| bytes aligned for any type, valid until the arena is freed, or NULL when the cap
 * or memory is exhausted (ag_arena_exhausted() then tells the two apart).
 */
void *ag_arena_alloc(struct ag_arena *arena, size_t size);

/*
 * Like ag_arena_alloc(), zero-filled.
 */
void *ag_arena_calloc(struct ag_arena *arena, size_t size);

/*
 * Returns a NUL-terminated copy of |len| bytes of |s| in the arena, or NULL.
 */
char *ag_arena_strndup(struct ag_arena *arena, const char *s, size_t len);

/*
 * Returns the bytes the arena holds from the system (its blocks), for memory accounting.
 */
size_t ag_arena_footprint(const struct ag_arena *arena);

/*
 * Returns 1 when the last failed allocation hit the cap (AG_ETOOBIG) rather than the system.
 */
int ag_arena_exhausted(const struct ag_arena *arena);

/*
 * Fills |out| with a protobuf-c allocator that allocates from |arena| (and never frees): pass it
 * to every *__unpack() and do not call *__free_unpacked() on the result.
 */
void ag_arena_pb_allocator(struct ag_arena *arena, ProtobufCAllocator *out);

#endif /* AG_ARENA_H */
