#ifndef CB_LOCAL_H
#define CB_LOCAL_H

#include <stddef.h>

#include "ag_err.h"
#include "cb_kb.h"
#include "cb_provider.h"

struct event_base;

#define CB_LOCAL_MODEL "local-bm25"

/*
 * The `local` provider: answers from the bundled knowledge base (cb_kb, BM25), with the
 * passages used as sources. Usage counts words (cb_kb_count_words()) of the message and of the
 * answer. When streaming, the answer goes out in word-sized pieces (cb_local_next_chunk()), one
 * per turn of the event loop, so that each reaches the client as its own event.
 */

/*
 * Builds the knowledge base and the provider on |base| (borrowed, must outlive it).
 * Returns 0 and a new provider in |*out| (free with cb_provider_free()), or AG_ENOMEM.
 */
AG_NODISCARD int cb_local_new(struct event_base *base, struct cb_provider **out);

/*
 * The same over the |n| documents |docs| (borrowed; copied as needed) instead of the bundled
 * knowledge base (`--kb-dir`). Returns 0, AG_EINVAL (no document, too many) or AG_ENOMEM.
 */
AG_NODISCARD int cb_local_new_docs(struct event_base *base, const struct cb_kb_doc *docs,
                                   size_t n, struct cb_provider **out);

/*
 * The length of the piece of |text| (|len| bytes) that starts at |off|: the whitespace there
 * (spaces, tabs, CR, LF) and the run of other bytes after it, so pieces never cut a UTF-8
 * sequence and the pieces joined give |text| back. Returns 0 only when |off| >= |len|.
 */
size_t cb_local_next_chunk(const char *text, size_t len, size_t off);

#endif /* CB_LOCAL_H */
