#ifndef SLO_CODEC_H
#define SLO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ag_buf.h"

/*
 * Little-endian fixed-width fields for the engine's checkpoints (slo_engine_save): writers append
 * to an ag_buf and remember the first failure; readers never pass |end| and remember a short
 * read. Internal to slo/engine.
 */

struct slo_wr {
    struct ag_buf *out;
    int err;
};

struct slo_rd {
    const uint8_t *p;
    const uint8_t *end;
    bool bad; /* truncated or malformed */
};

static inline void slo_put_bytes(struct slo_wr *w, const void *b, size_t n)
{
    if (w->err == 0 && n > 0) {
        w->err = ag_buf_add(w->out, b, n);
    }
}

static inline void slo_put_u64(struct slo_wr *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    slo_put_bytes(w, b, 8);
}

static inline void slo_put_i64(struct slo_wr *w, int64_t v)
{
    slo_put_u64(w, (uint64_t)v);
}

static inline uint64_t slo_get_u64(struct slo_rd *r)
{
    if (r->bad || r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)r->p[i] << (8 * i);
    }
    r->p += 8;
    return v;
}

static inline int64_t slo_get_i64(struct slo_rd *r)
{
    return (int64_t)slo_get_u64(r);
}

static inline bool slo_get_bytes(struct slo_rd *r, void *out, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    return true;
}

#endif /* SLO_CODEC_H */
