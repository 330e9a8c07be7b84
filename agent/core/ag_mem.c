/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The single place that calls the C allocator. Everything else uses ag_malloc() and friends, so
 * allocation failures can be injected in tests (nghttp2's failmalloc idea).
 */
#include "config.h"
#include "ag_mem.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ullong alloc_count;
#if AG_FAILMALLOC
static atomic_long fail_countdown = -1;

static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    if (n < 0) {
        return 0;
    }
    if (n == 0) {
        return 1;
    }
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}
#else
static int should_fail(void)
{
    return 0;
}
#endif

void ag_mem_fail_after(long n)
{
#if AG_FAILMALLOC
    atomic_store(&fail_countdown, n);
#else
    (void)n;
#endif
}

uint64_t ag_mem_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void *ag_malloc(size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    atomic_fetch_add(&alloc_count, 1);
    return malloc(size ? size : 1);
}

void *ag_calloc(size_t nmemb, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    atomic_fetch_add(&alloc_count, 1);
    return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *ag_realloc(void *ptr, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    atomic_fetch_add(&alloc_count, 1);
    return realloc(ptr, size ? size : 1);
}

void ag_free(void *ptr)
{
    free(ptr);
}

char *ag_strndup(const char *s, size_t len)
{
    char *p = ag_malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *ag_strdup(const char *s)
{
    return ag_strndup(s, strlen(s));
}

int ag_mem_tune_malloc(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (t != NULL && strstr(t, "glibc.malloc.") != NULL) {
        return 0;
    }
    /* Setting either also turns off glibc's moving mmap threshold: both are set. */
    if (mallopt(M_TRIM_THRESHOLD, (int)AG_MEM_TRIM_THRESHOLD) != 1 ||
        mallopt(M_MMAP_THRESHOLD, (int)AG_MEM_MMAP_THRESHOLD) != 1) {
        return 0;
    }
    return 1;
}

void ag_mem_release_free(void)
{
    (void)malloc_trim(0);
}

uint64_t ag_mem_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
