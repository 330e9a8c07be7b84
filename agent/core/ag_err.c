/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The project-wide error codes and their messages. errno is converted here, at the system-call
 * boundary, so no function returns -1 and leaves the cause in errno.
 */
#include "ag_err.h"

#include <errno.h>

const char *ag_strerror(int err)
{
    switch (err) {
    case AG_OK:
        return "success";
    case AG_ENOMEM:
        return "out of memory";
    case AG_EINVAL:
        return "invalid argument";
    case AG_EPROTO:
        return "malformed input";
    case AG_ETOOBIG:
        return "input over the configured limit";
    case AG_EAGAIN:
        return "temporarily refused, retry later";
    case AG_EIO:
        return "input/output error";
    case AG_ETIMEDOUT:
        return "timed out";
    case AG_EUPSTREAM:
        return "upstream service error";
    case AG_ENOTFOUND:
        return "not found";
    case AG_EUNSUPP:
        return "not supported";
    default:
        return "unknown error";
    }
}

int ag_err_from_errno(int errnum)
{
    switch (errnum) {
    case 0:
        return AG_OK;
    case ENOMEM:
        return AG_ENOMEM;
    case EINVAL:
        return AG_EINVAL;
    case EAGAIN:
        return AG_EAGAIN;
    case ETIMEDOUT:
        return AG_ETIMEDOUT;
    case ENOENT:
        return AG_ENOTFOUND;
    case EFBIG:
    case E2BIG:
        return AG_ETOOBIG;
    default:
        return AG_EIO;
    }
}

char *ag_err_one_line(char *s)
{
    for (char *c = s; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = '?';
        }
    }
    return s;
}
