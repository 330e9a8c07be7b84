/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capped, self-freeing growable buffers: every encoder and network reader in Otter builds its
 * output in one of these, so no output can grow without a limit.
 */
#include "ag_buf.h"
#include "ag_mem.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void ag_buf_init(struct ag_buf *buf, size_t cap)
{
    buf->data = NULL;
    buf->len = 0;
    buf->alloc = 0;
    /* No buffer can hold more than half the address space; clamping a "no limit" SIZE_MAX cap
     * keeps len + 1 and the doubling in ag_buf_reserve() from wrapping around. */
    buf->cap = cap > SIZE_MAX / 2 ? SIZE_MAX / 2 : cap;
}

void ag_buf_cleanup(struct ag_buf *buf)
{
    ag_free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->alloc = 0;
}

void ag_buf_reset(struct ag_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL) {
        buf->data[0] = 0;
    }
}

uint8_t *ag_buf_reserve(struct ag_buf *buf, size_t len)
{
    if (len > buf->cap || buf->len > buf->cap - len) {
        ag_buf_cleanup(buf);
        return NULL;
    }
    size_t need = buf->len + len + 1;
    if (need > buf->alloc) {
        size_t n = buf->alloc ? buf->alloc : 64;
        while (n < need) {
            n *= 2;
        }
        if (n > buf->cap + 1) {
            n = buf->cap + 1;
        }
        uint8_t *p = ag_realloc(buf->data, n);
        if (p == NULL) {
            ag_buf_cleanup(buf);
            return NULL;
        }
        buf->data = p;
        buf->alloc = n;
    }
    return buf->data + buf->len;
}

void ag_buf_commit(struct ag_buf *buf, size_t len)
{
    buf->len += len;
    buf->data[buf->len] = 0;
}

int ag_buf_add(struct ag_buf *buf, const void *data, size_t len)
{
    int toobig = len > buf->cap || buf->len > buf->cap - len;
    uint8_t *p = ag_buf_reserve(buf, len);
    if (p == NULL) {
        return toobig ? AG_ETOOBIG : AG_ENOMEM;
    }
    if (len) {
        memcpy(p, data, len);
    }
    ag_buf_commit(buf, len);
    return 0;
}

int ag_buf_adds(struct ag_buf *buf, const char *s)
{
    return ag_buf_add(buf, s, strlen(s));
}

int ag_buf_addc(struct ag_buf *buf, char c)
{
    if (buf->len + 1 < buf->alloc && buf->len < buf->cap) {
        buf->data[buf->len++] = (uint8_t)c;
        buf->data[buf->len] = 0;
        return 0;
    }
    return ag_buf_add(buf, &c, 1);
}

int ag_buf_vprintf(struct ag_buf *buf, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        ag_buf_cleanup(buf);
        return AG_EINVAL;
    }
    int toobig = (size_t)n > buf->cap || buf->len > buf->cap - (size_t)n;
    uint8_t *p = ag_buf_reserve(buf, (size_t)n);
    if (p == NULL) {
        return toobig ? AG_ETOOBIG : AG_ENOMEM;
    }
    vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
    ag_buf_commit(buf, (size_t)n);
    return 0;
}

int ag_buf_printf(struct ag_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ag_buf_vprintf(buf, fmt, ap);
    va_end(ap);
    return rc;
}

void ag_buf_consume_front(struct ag_buf *buf, size_t n)
{
    if (n >= buf->len) {
        ag_buf_reset(buf);
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
    buf->data[buf->len] = 0;
}

void ag_buf_truncate(struct ag_buf *buf, size_t len)
{
    if (len >= buf->len) {
        return;
    }
    buf->len = len;
    buf->data[len] = 0;
}

const char *ag_buf_str(const struct ag_buf *buf)
{
    return buf->data ? (const char *)buf->data : "";
}

uint8_t *ag_buf_steal(struct ag_buf *buf, size_t *len_out)
{
    uint8_t *p = buf->data;
    if (len_out != NULL) {
        *len_out = buf->len;
    }
    buf->data = NULL;
    buf->len = 0;
    buf->alloc = 0;
    return p;
}
