#ifndef CB_KB_DIR_H
#define CB_KB_DIR_H

#include <stddef.h>

#include "ag_err.h"
#include "cb_kb.h"

/*
 * A knowledge base read from a directory at start (`chatbot --kb-dir DIR`) instead of the bundled
 * one: every regular file of DIR whose name ends in ".md" (not hidden, not in subdirectories),
 * in byte order of their names, each at most CB_KB_DIR_MAX_FILE bytes, at most CB_KB_MAX_DOCS of
 * them. Symbolic links to regular files are followed.
 */

#define CB_KB_DIR_MAX_FILE (4u * 1024 * 1024)

struct cb_kb_dir {
    struct cb_kb_doc *docs; /* names and texts owned by this object */
    size_t n;
};

/*
 * Reads |dir| into |out| (free with cb_kb_dir_cleanup(), also after a failure). On failure
 * writes a reason naming the file to |err|. Returns 0, or AG_ENOTFOUND (|dir| missing or
 * holding no .md file), AG_EIO (unreadable), AG_ETOOBIG (a file over the cap, too many files),
 * AG_EPROTO (a file containing a NUL byte), AG_ENOMEM.
 */
AG_NODISCARD int cb_kb_dir_load(const char *dir, struct cb_kb_dir *out, char *err,
                                size_t errlen);

void cb_kb_dir_cleanup(struct cb_kb_dir *d);

#endif /* CB_KB_DIR_H */
