#ifndef AG_MEM_H
#define AG_MEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every allocation in Otter goes through these wrappers. With -Dfailmalloc=true a test can make
 * the Nth allocation fail (ag_mem_fail_after) to prove that every failure path cleans up.
 */

void *ag_malloc(size_t size);
void *ag_calloc(size_t nmemb, size_t size);
void *ag_realloc(void *ptr, size_t size);
void ag_free(void *ptr);

/*
 * Returns a new NUL-terminated copy of |len| bytes of |s|; the caller frees it with ag_free().
 * Returns NULL when out of memory.
 */
char *ag_strndup(const char *s, size_t len);

/*
 * Returns a new copy of the C string |s|; the caller frees it with ag_free(). NULL on OOM.
 */
char *ag_strdup(const char *s);

/*
 * Failmalloc control (only effective when built with -Dfailmalloc=true): the allocation after
 * |n| more successful ones fails, and every later one too until reset. n < 0 disables it.
 */
void ag_mem_fail_after(long n);

/*
 * Returns the process's resident memory in bytes (from /proc/self/statm), or 0 if unknown.
 */
uint64_t ag_mem_rss_bytes(void);

/*
 * Returns the number of allocations made through these wrappers since the process started.
 */
uint64_t ag_mem_alloc_count(void);

#endif /* AG_MEM_H */
