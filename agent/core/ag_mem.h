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
 * Tunes glibc's malloc for a long-running server whose requests allocate and free the same few
 * hundred kilobytes over and over (per-request arenas, request bodies): the top of the heap is
 * returned to the system only once AG_MEM_TRIM_THRESHOLD bytes are free there, and blocks below
 * AG_MEM_MMAP_THRESHOLD come from the heap rather than from a fresh mmap. glibc's defaults (128
 * KiB for both, the mmap one adjusting upwards) gave the memory back after every request and
 * took it again page by page: at 400,000 realistic spans/s, 0.2 page faults per span and half of
 * otterd's CPU time. Peak RSS is unchanged (the same pages, kept); at most the trim threshold
 * stays resident after a burst, and ag_mem_release_free() gives it back on demand. Leaves malloc
 * alone when GLIBC_TUNABLES sets glibc.malloc.* (the operator's choice wins). Returns 1 when it
 * tuned, 0 when it left malloc alone. Call once, early, before threads start.
 */
#define AG_MEM_TRIM_THRESHOLD (16u * 1024 * 1024)
#define AG_MEM_MMAP_THRESHOLD (4u * 1024 * 1024)
int ag_mem_tune_malloc(void);

/*
 * Returns free heap memory to the system (malloc_trim(0)): for the memory_limiter, before it
 * decides that resident memory is over its limit.
 */
void ag_mem_release_free(void);

/*
 * Returns the number of allocations made through these wrappers since the process started.
 */
uint64_t ag_mem_alloc_count(void);

#endif /* AG_MEM_H */
