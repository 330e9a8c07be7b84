#ifndef CB_KB_H
#define CB_KB_H

#include <stddef.h>

#include "ag_err.h"

/*
 * The `local` provider's retrieval: a knowledge base of Markdown documents split into passages
 * and ranked with Okapi BM25 (k1 = 1.2, b = 0.75). Pure logic: documents come in as strings.
 *
 * Passages: each heading (a line starting with '#', outside ``` fences) starts a section whose
 * title is the heading text; text before the first heading is a section titled by the document
 * name (only real headings are indexed). A section body longer than CB_KB_MAX_PASSAGE bytes is
 * cut between paragraphs (blank lines outside fences). Empty sections are dropped.
 *
 * Tokenisation (documents and queries alike): a token is a maximal run of ASCII letters, digits,
 * '_' and bytes >= 0x80 (so UTF-8 letters stay inside words and are compared byte for byte);
 * ASCII letters are lower-cased; everything else separates tokens. Tokens of one byte, tokens
 * over CB_KB_MAX_TOKEN bytes and a short list of English stop words are dropped. No stemming.
 *
 * Ranking: score(D, Q) = sum over the distinct terms q of Q of
 *   idf(q) * f(q,D) * (k1 + 1) / (f(q,D) + k1 * (1 - b + b * |D| / avgdl))
 * with idf(q) = ln(1 + (N - n(q) + 0.5) / (n(q) + 0.5)) (the non-negative form Lucene uses),
 * f(q,D) the count of q in passage D, |D| the passage's token count, avgdl the mean over the N
 * passages and n(q) the passages containing q. Ties go to the earlier passage.
 */

#define CB_KB_K1          1.2
#define CB_KB_B           0.75
#define CB_KB_MAX_PASSAGE 900u  /* bytes of body before a section is cut between paragraphs */
#define CB_KB_MAX_TOKEN   64u   /* longer tokens are not indexed */
#define CB_KB_MAX_DOCS    1024u /* documents per knowledge base */
#define CB_KB_MAX_HITS    3u    /* passages in an answer */

struct cb_kb_doc {
    const char *name; /* e.g. "troubleshooting.md", the source shown to users */
    const char *text; /* Markdown, |len| bytes */
    size_t len;
};

struct cb_kb_passage {
    const char *document; /* the document's name */
    const char *title;    /* the heading's text */
    const char *text;     /* the body, NUL-terminated */
    size_t text_len;
    size_t n_tokens; /* |D|: indexed tokens of title and body */
};

struct cb_kb_hit {
    size_t passage; /* index for cb_kb_passage() */
    double score;
};

struct cb_kb;

/*
 * Builds a knowledge base from |n| documents (borrowed; everything needed is copied).
 * Returns 0 and a new object in |*out| (the caller frees it with cb_kb_free()), or
 * AG_EINVAL (no documents, more than CB_KB_MAX_DOCS, a NULL name or text) or AG_ENOMEM.
 */
AG_NODISCARD int cb_kb_new(const struct cb_kb_doc *docs, size_t n, struct cb_kb **out);

/*
 * Frees |kb|; NULL is a no-op.
 */
void cb_kb_free(struct cb_kb *kb);

size_t cb_kb_passage_count(const struct cb_kb *kb);

/*
 * Returns passage |i| (< cb_kb_passage_count()), owned by |kb|.
 */
const struct cb_kb_passage *cb_kb_passage(const struct cb_kb *kb, size_t i);

/*
 * Ranks the passages for the |len| bytes of |query| and writes the best (score > 0, highest
 * first) into |hits|, at most |max|; |*n_out| receives how many.
 * Returns 0 or AG_ENOMEM.
 */
AG_NODISCARD int cb_kb_search(const struct cb_kb *kb, const char *query, size_t len,
                              struct cb_kb_hit *hits, size_t max, size_t *n_out);

/*
 * Returns the number of words in |s| (runs of token characters, before any filtering): the
 * local provider's token count for usage.
 */
size_t cb_kb_count_words(const char *s, size_t len);

struct cb_kb_answer {
    char *text;                            /* Markdown, NUL-terminated; free with cleanup */
    size_t text_len;
    struct cb_kb_hit hits[CB_KB_MAX_HITS]; /* the passages used, best first */
    size_t n_hits;                         /* 0: nothing relevant was found */
};

/*
 * Answers |query| with the best passages: at most CB_KB_MAX_HITS with a score of at least half
 * the best one, each as "## title" and its body, or a fixed message when none scores.
 * Returns 0 (free |out| with cb_kb_answer_cleanup()) or AG_ENOMEM.
 */
AG_NODISCARD int cb_kb_answer(const struct cb_kb *kb, const char *query, size_t len,
                              struct cb_kb_answer *out);

void cb_kb_answer_cleanup(struct cb_kb_answer *a);

/* The bundled knowledge base (the Markdown files of chatbot/kb), compiled in by embed_kb.py. */
extern const struct cb_kb_doc cb_kb_bundled[];
extern const size_t cb_kb_bundled_count;

#endif /* CB_KB_H */
