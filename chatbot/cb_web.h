#ifndef CB_WEB_H
#define CB_WEB_H

#include <stddef.h>

/*
 * The chat page (chatbot/web/), compiled in at build time by embed_files.py: the service serves
 * these files as they are, so the page and the API share one origin locally. The same files are
 * what deploy/ uploads to the frontend bucket.
 */

struct cb_web_file {
    const char *path;         /* URL path: "/", "/index.html", "/app.js", "/app.css" */
    const char *content_type; /* e.g. "text/javascript; charset=utf-8" */
    const char *data;         /* the file's bytes, |len| of them */
    size_t len;
};

/* The page's Content-Security-Policy: its own scripts, styles and API only; no inline code, no
 * other origin, no framing. */
#define CB_WEB_CSP                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "       \
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/*
 * Returns the file served at URL path |path| (exact match, no query), or NULL when there is none.
 */
const struct cb_web_file *cb_web_find(const char *path);

extern const struct cb_web_file cb_web_files[];
extern const size_t cb_web_file_count;

#endif /* CB_WEB_H */
