/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ag_zip: gzip, zlib and raw-deflate bodies made independently with zlib itself
 * inflate back to the original; the output cap stops a gzip bomb early without allocating past
 * it; corrupt, truncated and trailing-garbage bodies are AG_EPROTO; ag_zip_gzip output is
 * readable by zlib. zstd, LZ4 frames and snappy blocks made with those libraries' own
 * compressors come back whole, concatenated frames included, and their bombs stop at the cap;
 * snappy's framing format is checked on hand-built streams (CRC-32C of "123456789" is the
 * standard check value 0xE3069283, masked 0xC78AB0E5).
 */
#include "ag_mem.h"
#include "ag_test.h"
#include "ag_zip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#define WB_GZIP (16 + MAX_WBITS)
#define WB_ZLIB MAX_WBITS
#define WB_RAW (-MAX_WBITS)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Compresses |len| bytes with zlib (|wbits| picks the container) into a new ag_buf; the caller
 * cleans it up. |repeat| > 1 feeds the same input that many times (a bomb without the memory). */
static int deflate_with(int wbits, int level, const uint8_t *in, size_t len, size_t repeat,
                        struct ag_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -1;
    }
    ag_buf_init(out, 64u * 1024 * 1024);
    uint8_t chunk[16384];
    int zr = Z_OK;
    for (size_t r = 0; r < repeat && zr == Z_OK; r++) {
        zs.next_in = (Bytef *)in;
        zs.avail_in = (uInt)len;
        int flush = r + 1 == repeat ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = chunk;
            zs.avail_out = sizeof(chunk);
            zr = deflate(&zs, flush);
            if (ag_buf_add(out, chunk, sizeof(chunk) - zs.avail_out) != 0) {
                zr = Z_MEM_ERROR;
                break;
            }
        } while (zs.avail_out == 0 || (flush == Z_FINISH && zr == Z_OK));
        if (zr == Z_BUF_ERROR) {
            zr = Z_OK;
        }
    }
    deflateEnd(&zs);
    return zr == Z_STREAM_END ? 0 : -1;
}

/* Deterministic, moderately compressible test data. */
static uint8_t *make_data(size_t len)
{
    uint8_t *d = ag_malloc(len ? len : 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (i % 7 == 0) ? (uint8_t)x : (uint8_t)("otter telemetry "[i % 16]);
    }
    return d;
}

static void check_roundtrip(int wbits, enum ag_zip_format fmt, size_t len)
{
    uint8_t *data = make_data(len);
    struct ag_buf z, out;
    ASSERT_OK(deflate_with(wbits, Z_DEFAULT_COMPRESSION, data, len, 1, &z));
    ag_buf_init(&out, len + 10);
    ASSERT_OK(ag_buf_adds(&out, "pre:")); /* inflate appends after what is there */
    int rc = ag_zip_inflate(fmt, ag_buf_ptr(&z), z.len, &out);
    if (rc != 0) {
        AG_TEST_FAIL_("wbits %d, %zu bytes: rc %d", wbits, len, rc);
    }
    ASSERT_UEQ(out.len, len + 4);
    ASSERT_MEMEQ(ag_buf_ptr(&out), "pre:", 4);
    ASSERT(len == 0 || memcmp(ag_buf_ptr(&out) + 4, data, len) == 0);
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&z);
    ag_free(data);
}

static void test_gzip_roundtrip(void)
{
    check_roundtrip(WB_GZIP, AG_ZIP_GZIP, 0);
    check_roundtrip(WB_GZIP, AG_ZIP_GZIP, 1);
    check_roundtrip(WB_GZIP, AG_ZIP_GZIP, 1000);
    check_roundtrip(WB_GZIP, AG_ZIP_GZIP, 300 * 1024); /* several 64 KiB output chunks */
}

static void test_zlib_roundtrip(void)
{
    check_roundtrip(WB_ZLIB, AG_ZIP_DEFLATE, 0);
    check_roundtrip(WB_ZLIB, AG_ZIP_DEFLATE, 1000);
    check_roundtrip(WB_ZLIB, AG_ZIP_DEFLATE, 300 * 1024);
}

static void test_raw_deflate_roundtrip(void)
{
    check_roundtrip(WB_RAW, AG_ZIP_DEFLATE, 1);
    check_roundtrip(WB_RAW, AG_ZIP_DEFLATE, 1000);
    check_roundtrip(WB_RAW, AG_ZIP_DEFLATE, 300 * 1024);
}

static void test_raw_deflate_output_after_last_input(void)
{
    /* A raw stream has no trailer: zlib can take its last input byte while output is still
     * pending, here when the final match of a run of zeros crosses a 64 KiB output chunk.
     * Such bodies are valid and were once refused as truncated. */
    const size_t lens[] = {65537, 65538, 65539, 65600, 65536 + 258, 2 * 65536 + 1, 1024 * 1024};
    uint8_t *zeros = ag_calloc(1, 1024 * 1024);
    ASSERT_NOT_NULL(zeros);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int level = 1; level <= 9; level += 8) {
            struct ag_buf z, out;
            ASSERT_OK(deflate_with(WB_RAW, level, zeros, lens[i], 1, &z));
            ag_buf_init(&out, lens[i]);
            int rc = ag_zip_inflate(AG_ZIP_DEFLATE, ag_buf_ptr(&z), z.len, &out);
            if (rc != 0 || out.len != lens[i]) {
                AG_TEST_FAIL_("%zu zeros, level %d: rc %d, %zu bytes", lens[i], level, rc,
                              out.len);
            }
            ag_buf_cleanup(&out);
            ag_buf_cleanup(&z);
        }
    }
    ag_free(zeros);
}

static void test_exact_cap(void)
{
    size_t len = 100000;
    uint8_t *data = make_data(len);
    struct ag_buf z, out;
    ASSERT_OK(deflate_with(WB_GZIP, 6, data, len, 1, &z));
    ag_buf_init(&out, len); /* output exactly fills the cap: accepted */
    ASSERT_OK(ag_zip_inflate(AG_ZIP_GZIP, ag_buf_ptr(&z), z.len, &out));
    ASSERT_UEQ(out.len, len);
    ASSERT_MEMEQ(ag_buf_ptr(&out), data, len);
    ag_buf_cleanup(&out);
    ag_buf_init(&out, len - 1); /* one byte short: refused, and the buffer freed */
    ASSERT_EQ(ag_zip_inflate(AG_ZIP_GZIP, ag_buf_ptr(&z), z.len, &out), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&out));
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&z);
    ag_free(data);
}

static long vm_data_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmData:", 7) == 0) {
            kib = strtol(line + 7, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

static void test_gzip_bomb(void)
{
    /* 100 MiB of zeros, compressed (about 100 KiB), against a 1 MiB output cap. */
    const size_t unit = 1024 * 1024, cap = 1024 * 1024;
    uint8_t *zeros = ag_calloc(1, unit);
    ASSERT_NOT_NULL(zeros);
    struct ag_buf bomb, out;
    ASSERT_OK(deflate_with(WB_GZIP, 9, zeros, unit, 100, &bomb));
    ag_free(zeros);
    ASSERT(bomb.len < 200 * 1024);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t allocs = ag_mem_alloc_count();
    ag_buf_init(&out, cap);
    int rc = ag_zip_inflate(AG_ZIP_GZIP, ag_buf_ptr(&bomb), bomb.len, &out);
    allocs = ag_mem_alloc_count() - allocs;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ASSERT_EQ(rc, AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&out));
    ASSERT_UEQ(out.len, 0);
    ASSERT(secs < 5.0); /* stops after ~1 MiB of output, not 100 MiB */
    /* The output buffer grew by doubling up to cap + 1 (every step bounded by it): a handful of
     * allocations, not one per chunk of the 100 MiB. */
    ASSERT(allocs <= 20);

    /* In a child whose data segment may grow by only 8 MiB past what it uses now, the same call
     * must still end in AG_ETOOBIG: inflating past the cap would fail with AG_ENOMEM there.
     * (AddressSanitizer's shadow memory does not live with such a limit: skipped under it.) */
    if (!UNDER_ASAN) {
        fflush(stdout);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            long kib = vm_data_kib();
            struct rlimit rl;
            rl.rlim_cur = rl.rlim_max = (rlim_t)(kib + 8 * 1024) * 1024;
            if (kib < 0 || setrlimit(RLIMIT_DATA, &rl) != 0) {
                _exit(3);
            }
            /* The limit must bite: a 16 MiB allocation is refused in this child. Where it does
             * not (valgrind's allocator ignores RLIMIT_DATA) the check cannot be made. */
            void *probe = ag_malloc(16u * 1024 * 1024);
            if (probe != NULL) {
                ag_free(probe);
                _exit(77);
            }
            struct ag_buf o;
            ag_buf_init(&o, cap);
            int r = ag_zip_inflate(AG_ZIP_GZIP, ag_buf_ptr(&bomb), bomb.len, &o);
            _exit(r == AG_ETOOBIG ? 0 : r == AG_ENOMEM ? 5 : 6);
        }
        int status = 0;
        ASSERT(waitpid(pid, &status, 0) == pid);
        ASSERT(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            printf("# RLIMIT_DATA does not limit this allocator: memory-limit half skipped\n");
        } else {
            ASSERT_EQ(WEXITSTATUS(status), 0);
        }
    } else {
        printf("# memory-limit half of the bomb test skipped under AddressSanitizer\n");
    }
    ag_buf_cleanup(&bomb);
}

static void expect_proto(enum ag_zip_format fmt, const uint8_t *in, size_t len, const char *what)
{
    struct ag_buf out;
    ag_buf_init(&out, 1 << 20);
    ASSERT_OK(ag_buf_adds(&out, "keep"));
    int rc = ag_zip_inflate(fmt, in, len, &out);
    if (rc != AG_EPROTO) {
        AG_TEST_FAIL_("%s: rc %d, expected AG_EPROTO", what, rc);
    }
    /* What was in the buffer before is left as it was. */
    ASSERT_STREQ(ag_buf_str(&out), "keep");
    ag_buf_cleanup(&out);
}

/* Two gzip members back to back inflate to both contents (RFC 1952 2.2); a second member cut
 * short, or garbage after the first, is still an error. */
static void test_gzip_members(void)
{
    const uint8_t a[] = "first member, ", b[] = "second member";
    struct ag_buf ga, gb, out;
    ASSERT_OK(deflate_with(WB_GZIP, 6, a, sizeof(a) - 1, 1, &ga));
    ASSERT_OK(deflate_with(WB_GZIP, 6, b, sizeof(b) - 1, 1, &gb));
    uint8_t *both = ag_malloc(ga.len + gb.len);
    memcpy(both, ag_buf_ptr(&ga), ga.len);
    memcpy(both + ga.len, ag_buf_ptr(&gb), gb.len);
    ag_buf_init(&out, 1024);
    ASSERT_OK(ag_zip_inflate(AG_ZIP_GZIP, both, ga.len + gb.len, &out));
    ASSERT_STREQ(ag_buf_str(&out), "first member, second member");
    ag_buf_cleanup(&out);
    ag_buf_init(&out, 1024);
    ASSERT_EQ(ag_zip_inflate(AG_ZIP_GZIP, both, ga.len + gb.len - 3, &out), AG_EPROTO);
    ag_buf_cleanup(&out);
    ag_free(both);
    ag_buf_cleanup(&ga);
    ag_buf_cleanup(&gb);
}

static void test_bad_input(void)
{
    size_t len = 20000;
    uint8_t *data = make_data(len);
    struct ag_buf gz, zl, raw;
    ASSERT_OK(deflate_with(WB_GZIP, 6, data, len, 1, &gz));
    ASSERT_OK(deflate_with(WB_ZLIB, 6, data, len, 1, &zl));
    ASSERT_OK(deflate_with(WB_RAW, 6, data, len, 1, &raw));
    uint8_t *tmp = ag_malloc(gz.len + zl.len + raw.len + 16);
    ASSERT_NOT_NULL(tmp);

    expect_proto(AG_ZIP_GZIP, (const uint8_t *)"", 0, "empty gzip");
    expect_proto(AG_ZIP_DEFLATE, (const uint8_t *)"", 0, "empty deflate");
    expect_proto(AG_ZIP_GZIP, (const uint8_t *)"hello world", 11, "plain text as gzip");

    /* Truncated: every container, cut in the middle and just before the end. */
    expect_proto(AG_ZIP_GZIP, ag_buf_ptr(&gz), gz.len / 2, "gzip cut in half");
    expect_proto(AG_ZIP_GZIP, ag_buf_ptr(&gz), gz.len - 1, "gzip without its last byte");
    expect_proto(AG_ZIP_GZIP, ag_buf_ptr(&gz), 5, "gzip header only");
    expect_proto(AG_ZIP_DEFLATE, ag_buf_ptr(&zl), zl.len / 2, "zlib cut in half");
    expect_proto(AG_ZIP_DEFLATE, ag_buf_ptr(&zl), zl.len - 2, "zlib without its checksum");
    expect_proto(AG_ZIP_DEFLATE, ag_buf_ptr(&raw), raw.len / 2, "raw deflate cut in half");

    /* Corrupt: a flipped payload byte (caught by the CRC-32 / Adler-32 if not by inflate), a
     * damaged magic number, a wrong length in the gzip trailer. */
    memcpy(tmp, ag_buf_ptr(&gz), gz.len);
    tmp[gz.len / 2] ^= 0x55;
    expect_proto(AG_ZIP_GZIP, tmp, gz.len, "gzip with a flipped byte");
    memcpy(tmp, ag_buf_ptr(&gz), gz.len);
    tmp[1] ^= 0xFF;
    expect_proto(AG_ZIP_GZIP, tmp, gz.len, "gzip with a bad magic number");
    memcpy(tmp, ag_buf_ptr(&gz), gz.len);
    tmp[gz.len - 1] ^= 0x01;
    expect_proto(AG_ZIP_GZIP, tmp, gz.len, "gzip with a wrong ISIZE");
    memcpy(tmp, ag_buf_ptr(&zl), zl.len);
    tmp[zl.len / 2] ^= 0x55;
    expect_proto(AG_ZIP_DEFLATE, tmp, zl.len, "zlib with a flipped byte");
    memcpy(tmp, ag_buf_ptr(&zl), zl.len);
    tmp[zl.len - 1] ^= 0x01;
    expect_proto(AG_ZIP_DEFLATE, tmp, zl.len, "zlib with a wrong Adler-32");
    /* A gzip body sent as "deflate", and a zlib body sent as gzip. */
    expect_proto(AG_ZIP_DEFLATE, ag_buf_ptr(&gz), gz.len, "gzip labelled deflate");
    expect_proto(AG_ZIP_GZIP, ag_buf_ptr(&zl), zl.len, "zlib labelled gzip");

    /* Trailing garbage after a complete stream. */
    memcpy(tmp, ag_buf_ptr(&gz), gz.len);
    memcpy(tmp + gz.len, "xyz", 3);
    expect_proto(AG_ZIP_GZIP, tmp, gz.len + 3, "gzip with trailing bytes");
    memcpy(tmp, ag_buf_ptr(&zl), zl.len);
    tmp[zl.len] = 0;
    expect_proto(AG_ZIP_DEFLATE, tmp, zl.len + 1, "zlib with a trailing byte");
    memcpy(tmp, ag_buf_ptr(&raw), raw.len);
    memcpy(tmp + raw.len, "garbage", 7);
    expect_proto(AG_ZIP_DEFLATE, tmp, raw.len + 7, "raw deflate with trailing bytes");

    ag_free(tmp);
    ag_buf_cleanup(&gz);
    ag_buf_cleanup(&zl);
    ag_buf_cleanup(&raw);
    ag_free(data);
}

static void test_gzip_encode(void)
{
    size_t len = 200000;
    uint8_t *data = make_data(len);
    struct ag_buf gz;
    ag_buf_init(&gz, 1 << 20);
    ASSERT_OK(ag_zip_gzip(data, len, &gz));
    ASSERT(gz.len > 18 && gz.len < len);
    ASSERT_EQ(ag_buf_ptr(&gz)[0], 0x1f); /* gzip magic */
    ASSERT_EQ(ag_buf_ptr(&gz)[1], 0x8b);

    /* zlib's own inflate reads it back. */
    uint8_t *back = ag_malloc(len);
    ASSERT_NOT_NULL(back);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ASSERT_EQ(inflateInit2(&zs, WB_GZIP), Z_OK);
    zs.next_in = (Bytef *)ag_buf_ptr(&gz);
    zs.avail_in = (uInt)gz.len;
    zs.next_out = back;
    zs.avail_out = (uInt)len;
    int zr = inflate(&zs, Z_FINISH);
    size_t got = len - zs.avail_out;
    inflateEnd(&zs);
    ASSERT_EQ(zr, Z_STREAM_END);
    ASSERT_UEQ(got, len);
    ASSERT_MEMEQ(back, data, len);

    /* And so does ag_zip_inflate. */
    struct ag_buf out;
    ag_buf_init(&out, len);
    ASSERT_OK(ag_zip_inflate(AG_ZIP_GZIP, ag_buf_ptr(&gz), gz.len, &out));
    ASSERT_UEQ(out.len, len);
    ASSERT_MEMEQ(ag_buf_ptr(&out), data, len);
    ag_buf_cleanup(&out);

    /* An empty input is a valid (20-byte) gzip stream. */
    struct ag_buf empty;
    ag_buf_init(&empty, 1024);
    ASSERT_OK(ag_zip_gzip((const uint8_t *)"", 0, &empty));
    ag_buf_init(&out, 16);
    ASSERT_OK(ag_zip_inflate(AG_ZIP_GZIP, ag_buf_ptr(&empty), empty.len, &out));
    ASSERT_UEQ(out.len, 0);
    ag_buf_cleanup(&out);
    ag_buf_cleanup(&empty);

    /* An output cap too small for the result: AG_ETOOBIG. */
    struct ag_buf small;
    ag_buf_init(&small, 10);
    ASSERT_EQ(ag_zip_gzip(data, len, &small), AG_ETOOBIG);
    ag_buf_cleanup(&small);
    /* Also when it is what the buffer already holds that leaves too little room. */
    ag_buf_init(&small, 1024);
    ASSERT_OK(ag_buf_add(&small, data, 1000));
    ASSERT_EQ(ag_zip_gzip(data, 100, &small), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&small));
    ag_buf_cleanup(&small);

    ag_free(back);
    ag_buf_cleanup(&gz);
    ag_free(data);
}

/* ---- zstd, LZ4, snappy ------------------------------------------------------------------- */

/* |n| bytes of text that compresses, but not to nothing. */
static uint8_t *sample(size_t n)
{
    static const char *const words[] = {"otter ",    "span ",       "metric ", "log ",
                                        "trace_id ", "http.route ", "200 ",    "checkout "};
    uint8_t *d = ag_malloc(n);
    uint32_t x = 12345;
    size_t i = 0;
    while (i < n) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % 8];
        for (size_t k = 0; w[k] != '\0' && i < n; k++) {
            d[i++] = (uint8_t)w[k];
        }
    }
    return d;
}

/* Compresses |in| with the library of |fmt| (never with ag_zip) into |out| (fresh). */
static size_t compress_with(enum ag_zip_format fmt, const uint8_t *in, size_t len, uint8_t **out)
{
    size_t cap, n = 0;
    if (fmt == AG_ZIP_ZSTD) {
        cap = ZSTD_compressBound(len);
        *out = ag_malloc(cap);
        n = ZSTD_compress(*out, cap, in, len, 3);
        return ZSTD_isError(n) ? 0 : n;
    }
    if (fmt == AG_ZIP_LZ4) {
        cap = LZ4F_compressFrameBound(len, NULL);
        *out = ag_malloc(cap);
        n = LZ4F_compressFrame(*out, cap, in, len, NULL);
        return LZ4F_isError(n) ? 0 : n;
    }
    cap = snappy_max_compressed_length(len);
    *out = ag_malloc(cap);
    n = cap;
    return snappy_compress((const char *)in, len, (char *)*out, &n) == SNAPPY_OK ? n : 0;
}

static void test_zstd_lz4_snappy_roundtrip(void)
{
    const enum ag_zip_format fmts[] = {AG_ZIP_ZSTD, AG_ZIP_LZ4, AG_ZIP_SNAPPY};
    const size_t len = 300000;
    uint8_t *data = sample(len);
    for (size_t f = 0; f < 3; f++) {
        uint8_t *z = NULL;
        size_t zn = compress_with(fmts[f], data, len, &z);
        ASSERT(zn > 0 && zn < len / 2);
        struct ag_buf out;
        ag_buf_init(&out, len);
        ASSERT_OK(ag_zip_inflate(fmts[f], z, zn, &out));
        ASSERT_UEQ(out.len, len);
        ASSERT_MEMEQ(ag_buf_ptr(&out), data, len);
        ag_buf_cleanup(&out);
        if (fmts[f] != AG_ZIP_SNAPPY) {
            /* Two frames one after the other: both, in order. */
            uint8_t *two = ag_malloc(2 * zn);
            memcpy(two, z, zn);
            memcpy(two + zn, z, zn);
            ag_buf_init(&out, 2 * len);
            ASSERT_OK(ag_zip_inflate(fmts[f], two, 2 * zn, &out));
            ASSERT_UEQ(out.len, 2 * len);
            ASSERT_MEMEQ(ag_buf_ptr(&out) + len, data, len);
            ag_buf_cleanup(&out);
            /* Truncated, and with garbage after the frame: AG_EPROTO. */
            ag_buf_init(&out, 2 * len);
            ASSERT_EQ(ag_zip_inflate(fmts[f], z, zn - 3, &out), AG_EPROTO);
            ag_buf_cleanup(&out);
            memcpy(two + zn, "garbage!", 8);
            ag_buf_init(&out, 2 * len);
            ASSERT_EQ(ag_zip_inflate(fmts[f], two, zn + 8, &out), AG_EPROTO);
            ag_buf_cleanup(&out);
            ag_free(two);
        } else {
            ag_buf_init(&out, len);
            ASSERT_EQ(ag_zip_inflate(fmts[f], z, zn - 3, &out), AG_EPROTO);
            ag_buf_cleanup(&out);
        }
        /* One byte under the size: AG_ETOOBIG, the buffer freed. */
        ag_buf_init(&out, len - 1);
        ASSERT_EQ(ag_zip_inflate(fmts[f], z, zn, &out), AG_ETOOBIG);
        ASSERT_NULL(ag_buf_ptr(&out));
        ag_buf_cleanup(&out);
        ag_free(z);
    }
    ag_free(data);
}

/* 64 MiB of zeros against a 1 MiB cap: stopped at the cap, for each format. */
static void test_bombs(void)
{
    const size_t big = 64u << 20;
    uint8_t *zeros = ag_calloc(1, big);
    const enum ag_zip_format fmts[] = {AG_ZIP_ZSTD, AG_ZIP_LZ4, AG_ZIP_SNAPPY};
    for (size_t f = 0; f < 3; f++) {
        uint8_t *z = NULL;
        size_t zn = compress_with(fmts[f], zeros, big, &z);
        ASSERT(zn > 0 && zn < big / 20);
        struct ag_buf out;
        ag_buf_init(&out, 1u << 20);
        ASSERT_EQ(ag_zip_inflate(fmts[f], z, zn, &out), AG_ETOOBIG);
        ag_buf_cleanup(&out);
        ag_free(z);
    }
    ag_free(zeros);
}

/* A framing-format chunk: type, 24-bit little-endian length, body. */
static size_t put_chunk(uint8_t *at, uint8_t type, const void *body, size_t n)
{
    at[0] = type;
    at[1] = (uint8_t)n;
    at[2] = (uint8_t)(n >> 8);
    at[3] = (uint8_t)(n >> 16);
    memcpy(at + 4, body, n);
    return 4 + n;
}

static const uint8_t stream_id[] = {'s', 'N', 'a', 'P', 'p', 'Y'};
static const uint8_t check_crc[] = {0xE5, 0xB0, 0x8A, 0xC7}; /* masked CRC-32C of "123456789" */

static int framed(const uint8_t *in, size_t len, size_t cap, struct ag_buf *out)
{
    ag_buf_init(out, cap);
    return ag_zip_inflate(AG_ZIP_SNAPPY_FRAMED, in, len, out);
}

static void test_snappy_framed(void)
{
    uint8_t s[512], body[128];
    size_t n = 0;
    n += put_chunk(s + n, 0xFF, stream_id, sizeof(stream_id));
    memcpy(body, check_crc, 4);
    memcpy(body + 4, "123456789", 9);
    n += put_chunk(s + n, 0x01, body, 13);     /* uncompressed */
    n += put_chunk(s + n, 0xFE, "\0\0\0", 3);  /* padding */
    n += put_chunk(s + n, 0x80, "skip me", 7); /* reserved, skippable */
    size_t zn = sizeof(body) - 4;
    ASSERT(snappy_compress("123456789", 9, (char *)body + 4, &zn) == SNAPPY_OK);
    n += put_chunk(s + n, 0x00, body, 4 + zn); /* compressed, same CRC */
    struct ag_buf out;
    ASSERT_OK(framed(s, n, 1024, &out));
    ASSERT_UEQ(out.len, 18);
    ASSERT_MEMEQ(ag_buf_ptr(&out), "123456789123456789", 18);
    ag_buf_cleanup(&out);
    /* Exactly the cap; one under. */
    ASSERT_OK(framed(s, n, 18, &out));
    ag_buf_cleanup(&out);
    ASSERT_EQ(framed(s, n, 17, &out), AG_ETOOBIG);
    ag_buf_cleanup(&out);
    /* A wrong CRC; a truncated chunk; no stream identifier; an unskippable reserved chunk. */
    uint8_t bad[512];
    memcpy(bad, s, n);
    bad[10 + 4] ^= 1; /* the first data chunk's CRC */
    ASSERT_EQ(framed(bad, n, 1024, &out), AG_EPROTO);
    ag_buf_cleanup(&out);
    ASSERT_EQ(framed(s, n - 2, 1024, &out), AG_EPROTO);
    ag_buf_cleanup(&out);
    ASSERT_EQ(framed(s + 10, n - 10, 1024, &out), AG_EPROTO);
    ag_buf_cleanup(&out);
    memcpy(bad, s, n);
    size_t m = n + put_chunk(bad + n, 0x02, "x", 1);
    ASSERT_EQ(framed(bad, m, 1024, &out), AG_EPROTO);
    ag_buf_cleanup(&out);
    /* A stream identifier alone is an empty stream; nothing at all is not a stream. */
    ASSERT_OK(framed(s, 10, 16, &out));
    ASSERT_UEQ(out.len, 0);
    ag_buf_cleanup(&out);
    ASSERT_EQ(framed(s, 0, 16, &out), AG_EPROTO);
    ag_buf_cleanup(&out);
}

AG_TEST_MAIN(AG_TEST_CASE(test_gzip_members), AG_TEST_CASE(test_gzip_roundtrip),
             AG_TEST_CASE(test_zlib_roundtrip), AG_TEST_CASE(test_raw_deflate_roundtrip),
             AG_TEST_CASE(test_raw_deflate_output_after_last_input), AG_TEST_CASE(test_exact_cap),
             AG_TEST_CASE(test_gzip_bomb), AG_TEST_CASE(test_bad_input),
             AG_TEST_CASE(test_gzip_encode), AG_TEST_CASE(test_zstd_lz4_snappy_roundtrip),
             AG_TEST_CASE(test_bombs), AG_TEST_CASE(test_snappy_framed))
