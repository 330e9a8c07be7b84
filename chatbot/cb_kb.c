/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retrieval for the chatbot's `local` provider: Markdown documents cut into passages, an
 * inverted index (term -> postings of passage and count) in an open-addressing hash table, and
 * BM25 ranking. Built once at start-up; searches only read it, and allocate one score array.
 */
#include "cb_kb.h"

#include <math.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"

struct posting {
    uint32_t passage;
    uint32_t tf;
};

struct term {
    char *s;
    size_t len;
    struct posting *post; /* in passage order; df = npost */
    size_t npost, cap;
};

struct cb_kb {
    struct cb_kb_passage *p;
    size_t np, pcap;
    char **names; /* document names, owned */
    size_t nnames;
    struct term *terms;
    size_t nterms, tcap;
    uint32_t *slots; /* term index + 1, 0 = empty; capacity a power of two */
    size_t nslots;
    double avgdl;
};

static const char *const stop_words[] = {
    "a",    "an",   "and",  "are",   "as",   "at",   "be",    "but",  "by",   "can",
    "do",   "does", "for",  "from",  "how",  "if",   "in",    "into", "is",   "it",
    "its",  "me",   "my",   "no",    "not",  "of",   "on",    "or",   "so",   "that",
    "the",  "then", "them", "there", "this", "to",   "was",   "we",   "what", "when",
    "where", "which", "who", "why",  "will", "with", "you",   "your", "i",    "am",
    "get",  "got",  "should", "would", "could",
};

static int is_tok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

static int is_stop(const char *t, size_t n)
{
    for (size_t i = 0; i < sizeof(stop_words) / sizeof(stop_words[0]); i++) {
        if (strlen(stop_words[i]) == n && memcmp(stop_words[i], t, n) == 0) {
            return 1;
        }
    }
    return 0;
}

typedef int token_fn(void *ud, const char *tok, size_t len);

/* Calls |fn| for each indexed token of |s|, lower-cased into a scratch buffer. */
static int tokenize(const char *s, size_t len, token_fn *fn, void *ud)
{
    char tok[CB_KB_MAX_TOKEN];
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_tok((unsigned char)s[i])) {
            i++;
        }
        size_t start = i;
        while (i < len && is_tok((unsigned char)s[i])) {
            i++;
        }
        size_t n = i - start;
        if (n < 2 || n > CB_KB_MAX_TOKEN) {
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)s[start + k];
            tok[k] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        }
        if (is_stop(tok, n)) {
            continue;
        }
        int rc = fn(ud, tok, n);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

size_t cb_kb_count_words(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_tok((unsigned char)s[i]) && (i == 0 || !is_tok((unsigned char)s[i - 1]))) {
            n++;
        }
    }
    return n;
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    }
    return h;
}

/* Returns the slot of term |s|: holding it, or empty where it would go. */
static size_t find_slot(const struct cb_kb *kb, const char *s, size_t n)
{
    size_t mask = kb->nslots - 1, i = (size_t)hash(s, n) & mask;
    while (kb->slots[i] != 0) {
        const struct term *t = &kb->terms[kb->slots[i] - 1];
        if (t->len == n && memcmp(t->s, s, n) == 0) {
            return i;
        }
        i = (i + 1) & mask;
    }
    return i;
}

static int grow_slots(struct cb_kb *kb)
{
    size_t ns = kb->nslots ? kb->nslots * 2 : 1024;
    uint32_t *old = kb->slots;
    size_t oldn = kb->nslots;
    kb->slots = ag_calloc(ns, sizeof(uint32_t));
    if (kb->slots == NULL) {
        kb->slots = old;
        return AG_ENOMEM;
    }
    kb->nslots = ns;
    for (size_t i = 0; i < oldn; i++) {
        if (old[i] != 0) {
            const struct term *t = &kb->terms[old[i] - 1];
            kb->slots[find_slot(kb, t->s, t->len)] = old[i];
        }
    }
    ag_free(old);
    return 0;
}

static const struct term *lookup(const struct cb_kb *kb, const char *s, size_t n)
{
    size_t i = find_slot(kb, s, n);
    return kb->slots[i] ? &kb->terms[kb->slots[i] - 1] : NULL;
}

/* Adds one occurrence of token |s| in the passage being indexed (the last one). */
static int index_token(void *ud, const char *s, size_t n)
{
    struct cb_kb *kb = ud;
    uint32_t pi = (uint32_t)(kb->np - 1);
    if ((kb->nterms + 1) * 2 > kb->nslots && grow_slots(kb) != 0) {
        return AG_ENOMEM;
    }
    size_t slot = find_slot(kb, s, n);
    struct term *t;
    if (kb->slots[slot] == 0) {
        if (kb->nterms == kb->tcap) {
            size_t nc = kb->tcap ? kb->tcap * 2 : 256;
            struct term *nt = ag_realloc(kb->terms, nc * sizeof(*nt));
            if (nt == NULL) {
                return AG_ENOMEM;
            }
            kb->terms = nt;
            kb->tcap = nc;
        }
        t = &kb->terms[kb->nterms];
        memset(t, 0, sizeof(*t));
        t->s = ag_strndup(s, n);
        if (t->s == NULL) {
            return AG_ENOMEM;
        }
        t->len = n;
        kb->nterms++;
        kb->slots[slot] = (uint32_t)kb->nterms;
    } else {
        t = &kb->terms[kb->slots[slot] - 1];
    }
    if (t->npost > 0 && t->post[t->npost - 1].passage == pi) {
        t->post[t->npost - 1].tf++;
    } else {
        if (t->npost == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 4;
            struct posting *np = ag_realloc(t->post, nc * sizeof(*np));
            if (np == NULL) {
                return AG_ENOMEM;
            }
            t->post = np;
            t->cap = nc;
        }
        t->post[t->npost].passage = pi;
        t->post[t->npost].tf = 1;
        t->npost++;
    }
    kb->p[kb->np - 1].n_tokens++;
    return 0;
}

static size_t trim_blank(const char *s, size_t *len)
{
    size_t start = 0, n = *len;
    while (start < n && (s[start] == '\n' || s[start] == ' ' || s[start] == '\r')) {
        start++;
    }
    while (n > start && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) {
        n--;
    }
    *len = n - start;
    return start;
}

static int add_passage(struct cb_kb *kb, const char *doc, const char *title, size_t title_len,
                       int index_title, const char *body, size_t body_len)
{
    size_t off = trim_blank(body, &body_len);
    body += off;
    if (body_len == 0) {
        return 0;
    }
    if (kb->np == kb->pcap) {
        size_t nc = kb->pcap ? kb->pcap * 2 : 64;
        struct cb_kb_passage *np = ag_realloc(kb->p, nc * sizeof(*np));
        if (np == NULL) {
            return AG_ENOMEM;
        }
        kb->p = np;
        kb->pcap = nc;
    }
    struct cb_kb_passage *p = &kb->p[kb->np];
    memset(p, 0, sizeof(*p));
    p->document = doc;
    p->title = ag_strndup(title, title_len);
    p->text = ag_strndup(body, body_len);
    kb->np++;
    if (p->title == NULL || p->text == NULL) {
        return AG_ENOMEM;
    }
    p->text_len = body_len;
    int rc = index_title ? tokenize(title, title_len, index_token, kb) : 0;
    return rc != 0 ? rc : tokenize(body, body_len, index_token, kb);
}

/* Adds a section's body as one passage, or several cut between paragraphs when long. */
static int add_section(struct cb_kb *kb, const char *doc, const char *title, size_t title_len,
                       int index_title, const char *body, size_t len)
{
    size_t start = 0, cut = 0, i = 0;
    int fence = 0;
    while (i < len) {
        size_t eol = i;
        while (eol < len && body[eol] != '\n') {
            eol++;
        }
        if (eol - i >= 3 && memcmp(body + i, "```", 3) == 0) {
            fence = !fence;
        }
        int blank = eol == i;
        if (blank && !fence) {
            /* A paragraph ends here: cut before it if it made the passage too long. */
            if (i - start > CB_KB_MAX_PASSAGE && cut > start) {
                int rc = add_passage(kb, doc, title, title_len, index_title, body + start, cut - start);
                if (rc != 0) {
                    return rc;
                }
                start = cut;
            }
            cut = i;
        }
        i = eol + 1;
    }
    if (len - start > CB_KB_MAX_PASSAGE && cut > start) {
        int rc = add_passage(kb, doc, title, title_len, index_title, body + start, cut - start);
        if (rc != 0) {
            return rc;
        }
        start = cut;
    }
    return add_passage(kb, doc, title, title_len, index_title, body + start, len - start);
}

static int add_document(struct cb_kb *kb, const char *doc, const char *text, size_t len)
{
    const char *title = doc;
    size_t title_len = strlen(doc);
    if (title_len > 3 && memcmp(doc + title_len - 3, ".md", 3) == 0) {
        title_len -= 3;
    }
    size_t body = 0, i = 0;
    int fence = 0, heading = 0;
    while (i < len) {
        size_t eol = i;
        while (eol < len && text[eol] != '\n') {
            eol++;
        }
        if (eol - i >= 3 && memcmp(text + i, "```", 3) == 0) {
            fence = !fence;
        } else if (!fence && text[i] == '#') {
            int rc = add_section(kb, doc, title, title_len, heading, text + body, i - body);
            if (rc != 0) {
                return rc;
            }
            size_t h = i;
            while (h < eol && (text[h] == '#' || text[h] == ' ')) {
                h++;
            }
            title = text + h;
            title_len = eol - h;
            heading = 1;
            body = eol < len ? eol + 1 : eol;
        }
        i = eol + 1;
    }
    return add_section(kb, doc, title, title_len, heading, text + body, len > body ? len - body : 0);
}

int cb_kb_new(const struct cb_kb_doc *docs, size_t n, struct cb_kb **out)
{
    struct cb_kb *kb = NULL;
    int rc = 0;

    *out = NULL;
    if (docs == NULL || n == 0 || n > CB_KB_MAX_DOCS) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (docs[i].name == NULL || docs[i].text == NULL) {
            return AG_EINVAL;
        }
    }
    kb = ag_calloc(1, sizeof(*kb));
    if (kb == NULL) {
        return AG_ENOMEM;
    }
    kb->names = ag_calloc(n, sizeof(char *));
    rc = kb->names ? grow_slots(kb) : AG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kb->names[i] = ag_strdup(docs[i].name);
        if (kb->names[i] == NULL) {
            rc = AG_ENOMEM;
            break;
        }
        kb->nnames++;
        rc = add_document(kb, kb->names[i], docs[i].text, docs[i].len);
    }
    if (rc != 0) {
        cb_kb_free(kb);
        return rc;
    }
    size_t total = 0;
    for (size_t i = 0; i < kb->np; i++) {
        total += kb->p[i].n_tokens;
    }
    kb->avgdl = kb->np ? (double)total / (double)kb->np : 0.0;
    *out = kb;
    return 0;
}

void cb_kb_free(struct cb_kb *kb)
{
    if (kb == NULL) {
        return;
    }
    for (size_t i = 0; i < kb->np; i++) {
        ag_free((char *)kb->p[i].title);
        ag_free((char *)kb->p[i].text);
    }
    ag_free(kb->p);
    for (size_t i = 0; i < kb->nnames; i++) {
        ag_free(kb->names[i]);
    }
    ag_free(kb->names);
    for (size_t i = 0; i < kb->nterms; i++) {
        ag_free(kb->terms[i].s);
        ag_free(kb->terms[i].post);
    }
    ag_free(kb->terms);
    ag_free(kb->slots);
    ag_free(kb);
}

size_t cb_kb_passage_count(const struct cb_kb *kb)
{
    return kb->np;
}

const struct cb_kb_passage *cb_kb_passage(const struct cb_kb *kb, size_t i)
{
    return &kb->p[i];
}

struct query_ctx {
    const struct cb_kb *kb;
    double *scores;
    const struct term *seen[64]; /* distinct query terms scored so far */
    size_t nseen;
};

static int score_token(void *ud, const char *s, size_t n)
{
    struct query_ctx *q = ud;
    const struct cb_kb *kb = q->kb;
    const struct term *t = lookup(kb, s, n);
    if (t == NULL) {
        return 0;
    }
    for (size_t i = 0; i < q->nseen; i++) {
        if (q->seen[i] == t) {
            return 0;
        }
    }
    if (q->nseen == sizeof(q->seen) / sizeof(q->seen[0])) {
        return 0; /* a query this long gains nothing from more terms */
    }
    q->seen[q->nseen++] = t;
    double N = (double)kb->np, df = (double)t->npost;
    double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
    for (size_t i = 0; i < t->npost; i++) {
        double tf = t->post[i].tf;
        double dl = (double)kb->p[t->post[i].passage].n_tokens;
        double norm = CB_KB_K1 * (1.0 - CB_KB_B + CB_KB_B * dl / kb->avgdl);
        q->scores[t->post[i].passage] += idf * tf * (CB_KB_K1 + 1.0) / (tf + norm);
    }
    return 0;
}

int cb_kb_search(const struct cb_kb *kb, const char *query, size_t len, struct cb_kb_hit *hits,
                 size_t max, size_t *n_out)
{
    struct query_ctx q = {.kb = kb};
    size_t n = 0;

    *n_out = 0;
    if (kb->np == 0 || max == 0) {
        return 0;
    }
    q.scores = ag_calloc(kb->np, sizeof(double));
    if (q.scores == NULL) {
        return AG_ENOMEM;
    }
    (void)tokenize(query, len, score_token, &q);
    for (size_t i = 0; i < kb->np; i++) {
        double s = q.scores[i];
        if (s <= 0.0 || (n == max && s <= hits[n - 1].score)) {
            continue;
        }
        /* Insertion into the sorted top list; a later passage never passes an equal score. */
        size_t j = n < max ? n++ : max - 1;
        while (j > 0 && hits[j - 1].score < s) {
            hits[j] = hits[j - 1];
            j--;
        }
        hits[j].passage = i;
        hits[j].score = s;
    }
    ag_free(q.scores);
    *n_out = n;
    return 0;
}

static const char no_answer[] =
    "I found nothing about that in the Otter knowledge base. Try asking about the agent "
    "(otterd), its configuration, the AWS exporters, SLOs, deploying or troubleshooting.";

int cb_kb_answer(const struct cb_kb *kb, const char *query, size_t len, struct cb_kb_answer *out)
{
    struct cb_kb_hit hits[CB_KB_MAX_HITS];
    struct ag_buf b;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = cb_kb_search(kb, query, len, hits, CB_KB_MAX_HITS, &n);
    if (rc != 0) {
        return rc;
    }
    ag_buf_init(&b, 64 * 1024);
    if (n == 0) {
        rc = ag_buf_add(&b, no_answer, sizeof(no_answer) - 1);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* Passages far below the best one are noise: stop at half its score. */
        if (hits[i].score < hits[0].score * 0.5) {
            break;
        }
        const struct cb_kb_passage *p = &kb->p[hits[i].passage];
        /* "\n\n## TITLE\n\nTEXT" by plain copies: printf's %s copies byte by byte, and this
         * was the largest cost of an answer (tests/bench/README.md, the chatbot's profile). */
        rc = ag_buf_adds(&b, i ? "\n\n## " : "## ");
        if (rc == 0) {
            rc = ag_buf_adds(&b, p->title);
        }
        if (rc == 0) {
            rc = ag_buf_add(&b, "\n\n", 2);
        }
        if (rc == 0) {
            rc = ag_buf_adds(&b, p->text);
        }
        out->hits[out->n_hits++] = hits[i];
    }
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->text = (char *)ag_buf_steal(&b, &out->text_len);
    return out->text ? 0 : AG_ENOMEM;
}

void cb_kb_answer_cleanup(struct cb_kb_answer *a)
{
    ag_free(a->text);
    memset(a, 0, sizeof(*a));
}
