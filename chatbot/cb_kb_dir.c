/* SPDX-License-Identifier: Apache-2.0 */
/* A knowledge base read from a directory of Markdown files (--kb-dir). */
#include "cb_kb_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ag_mem.h"

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_md(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".md") == 0;
}

/* Reads |path| whole into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return AG_EIO;
    }
    for (;;) {
        if (cap - n < 4096) {
            if (cap >= CB_KB_DIR_MAX_FILE + 4096) {
                snprintf(err, errlen, "%s is larger than %u bytes", path, CB_KB_DIR_MAX_FILE);
                rc = AG_ETOOBIG;
                break;
            }
            size_t ncap = cap == 0 ? 16384 : cap * 2;
            char *nb = ag_realloc(buf, ncap + 1);
            if (nb == NULL) {
                rc = AG_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > CB_KB_DIR_MAX_FILE) {
            snprintf(err, errlen, "%s is larger than %u bytes", path, CB_KB_DIR_MAX_FILE);
            rc = AG_ETOOBIG;
            break;
        }
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "cannot read %s", path);
                rc = AG_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0 && buf == NULL) {
        buf = ag_malloc(1);
        rc = buf == NULL ? AG_ENOMEM : 0;
    }
    if (rc == 0 && memchr(buf, '\0', n) != NULL) {
        snprintf(err, errlen, "%s contains a NUL byte: not a Markdown text file", path);
        rc = AG_EPROTO;
    }
    if (rc != 0) {
        ag_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int cb_kb_dir_load(const char *dir, struct cb_kb_dir *out, char *err, size_t errlen)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot open the directory %s: %s", dir, strerror(errno));
        return errno == ENOENT || errno == ENOTDIR ? AG_ENOTFOUND : AG_EIO;
    }
    while ((e = readdir(d)) != NULL) {
        if (!is_md(e->d_name)) {
            continue;
        }
        char path[4096];
        struct stat st;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (n == CB_KB_MAX_DOCS) {
            snprintf(err, errlen, "%s holds more than %u .md files", dir, CB_KB_MAX_DOCS);
            rc = AG_ETOOBIG;
            break;
        }
        if (n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            char **nn = ag_realloc(names, ncap * sizeof(*names));
            if (nn == NULL) {
                rc = AG_ENOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        names[n] = ag_strdup(e->d_name);
        if (names[n] == NULL) {
            rc = AG_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0) {
        snprintf(err, errlen, "%s holds no .md file", dir);
        rc = AG_ENOTFOUND;
    }
    if (rc == 0) {
        qsort(names, n, sizeof(*names), name_cmp);
        out->docs = ag_calloc(n, sizeof(*out->docs));
        rc = out->docs == NULL ? AG_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[4096];
        char *text = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        rc = read_file(path, &text, &len, err, errlen);
        if (rc == 0) {
            out->docs[i].name = names[i];
            out->docs[i].text = text;
            out->docs[i].len = len;
            names[i] = NULL; /* owned by out now */
            out->n++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        ag_free(names[i]);
    }
    ag_free(names);
    if (rc == AG_ENOMEM && err != NULL && errlen > 0 && err[0] == '\0') {
        snprintf(err, errlen, "out of memory reading %s", dir);
    }
    return rc;
}

void cb_kb_dir_cleanup(struct cb_kb_dir *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        ag_free((char *)d->docs[i].name);
        ag_free((char *)d->docs[i].text);
    }
    ag_free(d->docs);
    d->docs = NULL;
    d->n = 0;
}
