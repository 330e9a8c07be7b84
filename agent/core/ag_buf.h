#ifndef AG_BUF_H
#define AG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * A growable byte buffer with a hard cap given at init (curl's dynbuf model): an append that
 * would pass the cap returns AG_ETOOBIG, and a failed append frees the buffer, so callers only
 * check the result. The contents are always NUL-terminated for convenience.
 */
struct ag_buf {
    uint8_t *data; /* do not touch: read through ag_buf_ptr() */
    size_t len;    /* bytes used, excluding the terminating NUL */
    size_t alloc;  /* bytes allocated */
    size_t cap;    /* maximum len */
};

/*
 * Initialises |buf| empty, to grow to at most |cap| bytes.
 */
void ag_buf_init(struct ag_buf *buf, size_t cap);

/*
 * Frees the contents and leaves |buf| empty and reusable with the same cap.
 */
void ag_buf_cleanup(struct ag_buf *buf);

/*
 * Sets the length to 0 and keeps the allocation.
 */
void ag_buf_reset(struct ag_buf *buf);

/*
 * Appends |len| bytes of |data|. Returns 0, or AG_ETOOBIG / AG_ENOMEM (the buffer is then freed).
 */
AG_NODISCARD int ag_buf_add(struct ag_buf *buf, const void *data, size_t len);

/*
 * Appends the C string |s|. Same returns as ag_buf_add().
 */
AG_NODISCARD int ag_buf_adds(struct ag_buf *buf, const char *s);

/*
 * Appends one byte. Same returns as ag_buf_add().
 */
AG_NODISCARD int ag_buf_addc(struct ag_buf *buf, char c);

/*
 * Appends printf-formatted text. Same returns as ag_buf_add().
 */
AG_NODISCARD int ag_buf_printf(struct ag_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
AG_NODISCARD int ag_buf_vprintf(struct ag_buf *buf, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Makes room for |len| more bytes and returns where they go (the caller then calls
 * ag_buf_commit()), or NULL after freeing the buffer when over the cap or out of memory.
 */
uint8_t *ag_buf_reserve(struct ag_buf *buf, size_t len);

/*
 * Marks |len| reserved bytes as used.
 */
void ag_buf_commit(struct ag_buf *buf, size_t len);

/*
 * Removes the first |n| bytes (at most len), moving the rest to the front.
 */
void ag_buf_consume_front(struct ag_buf *buf, size_t n);

/*
 * Cuts the contents back to their first |len| bytes (no-op when |len| >= the length); keeps the
 * allocation.
 */
void ag_buf_truncate(struct ag_buf *buf, size_t len);
/*
 * Returns the contents (never NULL: an empty buffer gives "").
 */
const char *ag_buf_str(const struct ag_buf *buf);

/*
 * Returns the contents as bytes, or NULL when nothing was ever added.
 */
static inline const uint8_t *ag_buf_ptr(const struct ag_buf *buf)
{
    return buf->data;
}

/*
 * Takes the contents out of |buf| (the caller frees them with ag_free()) and leaves it empty.
 * Returns NULL if nothing was added.
 */
uint8_t *ag_buf_steal(struct ag_buf *buf, size_t *len_out);

#endif /* AG_BUF_H */
