#ifndef AG_YAML_H
#define AG_YAML_H

#include <stddef.h>

#include "ag_buf.h"
#include "ag_err.h"

/*
 * A small YAML document tree on top of libyaml, for configuration files: scalars, mappings and
 * sequences, each node with its 1-based line and column so every later check can point at the
 * text it rejects.
 *
 * Supported beyond plain YAML: anchors and aliases (an alias is a deep copy of the anchored
 * node, counted against the node limit, so "billion laughs" input fails with AG_ETOOBIG), the
 * merge key "<<" (a mapping or a sequence of mappings; keys written in the mapping itself win),
 * and the core-schema tags !!str (the scalar then counts as quoted), !!int, !!float, !!bool,
 * !!null, !!map, !!seq. Any other tag is an error. ag_yaml_parse() takes one document per stream,
 * ag_yaml_parse_stream() every document of it.
 *
 * With AG_YAML_EXPAND_ENV, every scalar that is a value (never a mapping key) has the
 * collector's substitutions applied: "${env:VAR}" and the older "${VAR}", both with an optional
 * ":-default"; "$$" is a literal "$"; an unset variable expands to "" with a warning. Other
 * confmap providers ("${file:...}", "${s3:...}") are errors. The node keeps the position of the
 * scalar as written.
 *
 * Diagnostics go to |diag| one per line as "name:line:col: error: message" or
 * "name:line:col: warning: message".
 */

#define AG_YAML_MAX_INPUT     (4u * 1024u * 1024u) /* bytes of YAML text */
#define AG_YAML_MAX_DEPTH     64u                  /* nested mappings and sequences */
#define AG_YAML_MAX_NODES     100000u              /* after alias and merge expansion */
#define AG_YAML_MAX_EXPANDED  (64u * 1024u)        /* bytes of one scalar after ${} expansion */

/* Flags for ag_yaml_parse(). */
#define AG_YAML_EXPAND_ENV 0x1u

enum ag_yaml_type {
    AG_YAML_SCALAR = 0,
    AG_YAML_MAPPING = 1,
    AG_YAML_SEQUENCE = 2,
};

struct ag_yaml_node;

struct ag_yaml_pair {
    struct ag_yaml_node *key; /* always a scalar */
    struct ag_yaml_node *value;
};

struct ag_yaml_node {
    enum ag_yaml_type type;
    int line; /* 1-based */
    int col;  /* 1-based */

    /* AG_YAML_SCALAR */
    char *str;   /* NUL-terminated; never contains a NUL (such scalars are rejected) */
    size_t len;  /* strlen(str) */
    int quoted;  /* 1 for '...', "...", | and > scalars and !!str; 0 for plain */
    char *raw;   /* the text before ${} expansion when it changed anything, else NULL; show this
                    one in messages so an expanded secret never reaches a log line */

    /* AG_YAML_MAPPING: keys are unique (duplicates are a parse error) */
    struct ag_yaml_pair *pairs;
    size_t n_pairs;

    /* AG_YAML_SEQUENCE */
    struct ag_yaml_node **items;
    size_t n_items;
};

/*
 * Parses |len| bytes of |text| (borrowed) as one YAML document. |name| names the input in
 * diagnostics. |flags| is 0 or AG_YAML_EXPAND_ENV.
 * Returns 0 and the root node in |*out| (NULL for an empty document; free with ag_yaml_free()),
 * or one of these negative codes, after writing one error line to |diag| (which may be NULL):
 *   AG_EINVAL   invalid YAML, duplicate key, unsupported tag, unknown alias, bad ${...}
 *   AG_ETOOBIG  input, nesting depth, node count or an expanded scalar over the limits above
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int ag_yaml_parse(const char *name, const char *text, size_t len, unsigned flags,
                               struct ag_yaml_node **out, struct ag_buf *diag);

/*
 * Parses every document of a YAML stream ("---" separated), with the same rules and limits as
 * ag_yaml_parse() (the node limit counts over the whole stream; anchors defined in one document
 * stay visible in the next). Returns 0 and an array of |*n_docs| roots in |*docs| (an entry is NULL
 * for an empty document; the array is NULL when the stream is empty; free the whole with
 * ag_yaml_free_stream()), or the negative codes of ag_yaml_parse().
 */
AG_NODISCARD int ag_yaml_parse_stream(const char *name, const char *text, size_t len,
                                      unsigned flags, struct ag_yaml_node ***docs, size_t *n_docs,
                                      struct ag_buf *diag);

/*
 * Frees the |n_docs| roots of |docs| and the array itself (from ag_yaml_parse_stream()).
 */
void ag_yaml_free_stream(struct ag_yaml_node **docs, size_t n_docs);

/*
 * Frees |node| and everything below it. ag_yaml_free(NULL) is a no-op.
 */
void ag_yaml_free(struct ag_yaml_node *node);

/*
 * Returns the pair of mapping |map| whose key is |key|, or NULL (also when |map| is NULL or not a
 * mapping). The result borrows from |map|.
 */
const struct ag_yaml_pair *ag_yaml_map_pair(const struct ag_yaml_node *map, const char *key);

/*
 * Returns the value of |key| in mapping |map|, or NULL. Borrows from |map|.
 */
const struct ag_yaml_node *ag_yaml_map_get(const struct ag_yaml_node *map, const char *key);

/*
 * Returns 1 when |node| is NULL or a plain (unquoted) null scalar: empty, "~", "null", "Null",
 * "NULL".
 */
int ag_yaml_is_null(const struct ag_yaml_node *node);

/*
 * Returns "a scalar", "a mapping" or "a sequence" for messages.
 */
const char *ag_yaml_type_name(const struct ag_yaml_node *node);

/*
 * Copies |s| into |out| (|outlen| bytes, at least 8) for use inside a message: bytes below 0x20
 * and 0x7f become \xNN, quotes and backslashes are escaped, and text that does not fit is cut
 * with "...".
 */
void ag_yaml_quote(const char *s, char *out, size_t outlen);

/*
 * Applies the collector's ${} substitutions (see above) to |len| bytes of |in|, appending the
 * result to |out|. When a referenced variable is unset, and |unset| is not NULL, the first such
 * name is copied to |unset| (|unsetlen| bytes, truncated). On AG_EINVAL writes a reason to |err|
 * (|errlen| bytes). Returns 0, or AG_EINVAL (unterminated "${", empty or invalid variable name,
 * unsupported provider), AG_ETOOBIG / AG_ENOMEM from |out| (which is then freed).
 */
AG_NODISCARD int ag_yaml_expand_env(const char *in, size_t len, struct ag_buf *out, char *unset,
                                    size_t unsetlen, char *err, size_t errlen);

#endif /* AG_YAML_H */
