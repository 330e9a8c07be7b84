/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes each batch as one OTLP/JSON line, as the collector's file exporter does, so what
 * arrived can be read back with any JSON tool. Lines are buffered in memory and written at
 * every flush_interval, when the buffer passes 1 MiB, and on shutdown. With rotation, when a
 * line would take the file past max_megabytes the file is renamed to name-<UTC time>.ext and a
 * new one started; the oldest backups beyond max_backups, and those older than max_days, are
 * removed. Like the collector's, it truncates the file at start unless `append: true`.
 */
#include "ex_file.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_otlp_json.h"
#include "ag_xray_udp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_BUFFER_FLUSH (1024 * 1024)
#define FILE_BUFFER_CAP   (256u * 1024 * 1024)
#define MIB               ((uint64_t)1024 * 1024)

struct ex_file {
    char *id;
    char *path;
    int fd;
    uint64_t size;      /* bytes in the current file */
    uint64_t max_bytes; /* 0 = no rotation */
    uint32_t max_backups;
    uint32_t max_days; /* backups older than this are removed; 0 = keep */
    int localtime;     /* backup names in local time instead of UTC */
    struct ag_buf buf;
    struct event *timer;
};

/* Creates every missing directory above |path|. */
static int make_parents(const char *path)
{
    char *copy = ag_strdup(path);
    if (copy == NULL) {
        return AG_ENOMEM;
    }
    for (char *p = copy + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                int rc = ag_err_from_errno(errno);
                ag_free(copy);
                return rc;
            }
            *p = '/';
        }
    }
    ag_free(copy);
    return 0;
}

/* Opens the file for writing at its end; with |truncate| it starts empty (the collector's
 * default, `append: false`). */
static int open_file(struct ex_file *f, int truncate)
{
    f->fd =
        open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
    if (f->fd < 0) {
        return ag_err_from_errno(errno);
    }
    struct stat st;
    f->size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

/* Splits path into directory, base name without extension, and extension. */
static void split_name(const char *path, char *dir, size_t dlen, char *stem, size_t slen, char *ext,
                       size_t elen)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(dir, dlen, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    const char *dot = strrchr(base, '.');
    if (dot == NULL || dot == base) {
        dot = base + strlen(base);
    }
    snprintf(stem, slen, "%.*s", (int)(dot - base), base);
    snprintf(ext, elen, "%s", dot);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest backups beyond max_backups (their names sort by time) and those older than
 * max_days (by modification time). */
static void prune_backups(struct ex_file *f, const char *dir, const char *stem, const char *ext)
{
    time_t now = time(NULL);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    size_t sl = strlen(stem), el = strlen(ext);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl > sl + el + 1 && strncmp(e->d_name, stem, sl) == 0 && e->d_name[sl] == '-' &&
            strcmp(e->d_name + nl - el, ext) == 0) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                char **nn = ag_realloc(names, ncap * sizeof(*nn));
                if (nn == NULL) {
                    break;
                }
                names = nn;
                cap = ncap;
            }
            names[n] = ag_strdup(e->d_name);
            if (names[n] != NULL) {
                n++;
            }
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char full[8192];
        struct stat st;
        snprintf(full, sizeof(full), "%s/%s", dir, names[i]);
        int too_many = f->max_backups > 0 && n - i > f->max_backups;
        int too_old = f->max_days > 0 && stat(full, &st) == 0 &&
                      now - st.st_mtime > (time_t)f->max_days * 86400;
        if (too_many || too_old) {
            unlink(full);
        }
        ag_free(names[i]);
    }
    ag_free(names);
}

static void rotate(struct ex_file *f)
{
    char dir[4096], stem[1024], ext[256], backup[8192], when[64];
    split_name(f->path, dir, sizeof(dir), stem, sizeof(stem), ext, sizeof(ext));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    if (f->localtime) {
        localtime_r(&ts.tv_sec, &tm);
    } else {
        gmtime_r(&ts.tv_sec, &tm);
    }
    strftime(when, sizeof(when), "%Y-%m-%dT%H-%M-%S", &tm);
    snprintf(backup, sizeof(backup), "%s/%s-%s.%03ld%s", dir, stem, when, ts.tv_nsec / 1000000,
             ext);
    close(f->fd);
    f->fd = -1;
    if (rename(f->path, backup) != 0) {
        ag_log_error(f->id, "cannot rotate %s: %s", f->path, strerror(errno));
    }
    if (open_file(f, 1) != 0) {
        ag_log_error(f->id, "cannot reopen %s: %s", f->path, strerror(errno));
    }
    if (f->max_backups > 0 || f->max_days > 0) {
        prune_backups(f, dir, stem, ext);
    }
}

/* Writes the first |n| buffered bytes to the file and drops them from the buffer. */
static void write_front(struct ex_file *f, size_t n)
{
    const uint8_t *p = ag_buf_ptr(&f->buf);
    size_t left = n;
    while (left > 0 && f->fd >= 0) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            ag_log_error(f->id, "writing %s failed: %s; %zu bytes lost", f->path, strerror(errno),
                         left);
            break;
        }
        p += w;
        left -= (size_t)w;
        f->size += (uint64_t)w;
    }
    ag_buf_consume_front(&f->buf, n);
}

static void write_out(struct ex_file *f)
{
    write_front(f, f->buf.len);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ex_file *f = arg;
    if (f->buf.len > 0) {
        write_out(f);
    }
}

/* Finishes a line appended from |start| (|rc|: how appending it went): rotates and writes. */
static int line_done(struct ex_file *f, size_t start, int rc)
{
    if (rc != 0) {
        /* A failed append frees the buffer, and the lines buffered before it with it. */
        if (start > 0) {
            ag_log_error(f->id, "buffer failure: %zu buffered bytes lost", start);
        }
        ag_buf_init(&f->buf, FILE_BUFFER_CAP);
        return rc;
    }
    /* As lumberjack (the collector's rotation) does: a line that would take the file past
     * max_megabytes goes to a new file, so files stay under the limit unless one line alone is
     * larger, and a line is never split between two files. */
    if (f->max_bytes > 0 && f->size + f->buf.len > f->max_bytes && f->size + start > 0) {
        write_front(f, start);
        rotate(f);
    }
    if (f->buf.len >= FILE_BUFFER_FLUSH) {
        write_out(f);
    }
    return 0;
}

static int file_consume(void *self, struct ag_payload *p)
{
    struct ex_file *f = self;
    size_t start = f->buf.len;
    int rc = ag_otlp_json_encode(p->msg, &f->buf);
    if (rc == 0) {
        rc = ag_buf_addc(&f->buf, '\n');
    }
    return line_done(f, start, rc);
}

/*
 * X-Ray documents are written as they came, one per line: a pretty-printed document has its
 * line breaks turned into spaces (the same JSON), rather than being parsed and written again.
 */
static int file_consume_xray(void *self, const uint8_t *doc, size_t len)
{
    struct ex_file *f = self;
    size_t start = f->buf.len;
    uint8_t *p = ag_buf_reserve(&f->buf, len + 1);
    if (p != NULL) {
        ag_xray_udp_flatten(p, doc, len);
        p[len] = '\n';
        ag_buf_commit(&f->buf, len + 1);
    }
    return line_done(f, start, p != NULL ? 0 : AG_ENOMEM);
}

static void file_flush(void *self)
{
    struct ex_file *f = self;
    if (f->buf.len > 0) {
        write_out(f);
    }
}

static void file_destroy(void *self)
{
    struct ex_file *f = self;
    if (f == NULL) {
        return;
    }
    file_flush(f);
    if (f->timer != NULL) {
        event_free(f->timer);
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    ag_buf_cleanup(&f->buf);
    ag_free(f->path);
    ag_free(f->id);
    ag_free(f);
}

static int file_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                       void **out, char *err, size_t errlen)
{
    const struct ag_file_config *fc = &cfg->u.file;
    struct ex_file *f = ag_calloc(1, sizeof(*f));
    if (f == NULL) {
        return AG_ENOMEM;
    }
    f->fd = -1;
    ag_buf_init(&f->buf, FILE_BUFFER_CAP);
    f->path = ag_strdup(fc->path);
    f->id = ag_strdup(cfg->id);
    if (f->path == NULL || f->id == NULL) {
        file_destroy(f);
        return AG_ENOMEM;
    }
    f->max_bytes = fc->rotation_max_megabytes * MIB;
    f->max_backups = fc->rotation_max_backups;
    f->max_days = fc->rotation_max_days;
    f->localtime = fc->rotation_localtime;
    int rc = make_parents(f->path);
    if (rc == 0) {
        rc = open_file(f, !fc->append);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot open %s for appending: %s", fc->path, strerror(errno));
        file_destroy(f);
        return rc;
    }
    uint64_t iv = fc->flush_interval ? fc->flush_interval : 1000000000ull;
    f->timer = event_new(env->base, -1, EV_PERSIST, on_timer, f);
    if (f->timer == NULL) {
        file_destroy(f);
        return AG_ENOMEM;
    }
    struct timeval tv = {.tv_sec = (time_t)(iv / 1000000000ull),
                         .tv_usec = (suseconds_t)(iv % 1000000000ull / 1000)};
    event_add(f->timer, &tv);
    *out = f;
    return 0;
}

const struct ag_exporter_ops ex_file_ops = {
    .type = "file",
    .create = file_create,
    .consume = file_consume,
    .flush = file_flush,
    .destroy = file_destroy,
    .consume_xray = file_consume_xray,
};
