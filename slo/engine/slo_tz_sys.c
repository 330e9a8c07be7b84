/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a zone's TZif file from the system's zone database: the only I/O of the SLO engine's
 * library, kept apart from the pure reader (slo_tz.c). Callers wire it into the definitions with
 * slo_defs_set_tz_loader(d, slo_tz_load_system, NULL).
 */
#include "slo_tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_FILE_MAX (1u << 20)

__attribute__((format(printf, 2, 3))) static void say(struct ag_buf *why, const char *fmt, ...)
{
    if (why == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = ag_buf_vprintf(why, fmt, ap);
    va_end(ap);
    (void)rc;
}

/* '/'-separated non-empty parts of [A-Za-z0-9_+-]: nothing that could leave the directory. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//") != NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '/' || ch == '_' || ch == '-' || ch == '+')) {
            return false;
        }
    }
    return true;
}

int slo_tz_load_dir(const char *dir, const char *name, struct ag_buf *out, struct ag_buf *why)
{
    char path[4096];
    if (!name_ok(name)) {
        say(why, "not a zone name: expected parts of letters, digits, '_', '-', '+' "
                 "separated by '/'");
        return AG_EINVAL;
    }
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        say(why, "zone path too long");
        return AG_EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR || e == EISDIR || e == ELOOP) {
            say(why, "no zone file %s", path);
            return AG_ENOTFOUND;
        }
        say(why, "%s: %s", path, strerror(e));
        return AG_EIO;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        say(why, "%s: %s", path, strerror(errno));
        rc = AG_EIO;
    } else if (!S_ISREG(st.st_mode)) {
        say(why, "%s is not a zone file", path);
        rc = AG_ENOTFOUND;
    } else if (st.st_size > (off_t)TZ_FILE_MAX) {
        say(why, "%s: over %u bytes", path, TZ_FILE_MAX);
        rc = AG_ETOOBIG;
    }
    uint8_t chunk[8192];
    size_t total = 0;
    while (rc == 0) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            say(why, "%s: %s", path, strerror(errno));
            rc = AG_EIO;
        } else if (got == 0) {
            break;
        } else if ((total += (size_t)got) > TZ_FILE_MAX) {
            say(why, "%s: over %u bytes", path, TZ_FILE_MAX);
            rc = AG_ETOOBIG;
        } else {
            rc = ag_buf_add(out, chunk, (size_t)got);
        }
    }
    close(fd);
    return rc;
}

int slo_tz_load_system(void *arg, const char *name, struct ag_buf *out, struct ag_buf *why)
{
    (void)arg;
    return slo_tz_load_dir("/usr/share/zoneinfo", name, out, why);
}
