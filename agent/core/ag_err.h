#ifndef AG_ERR_H
#define AG_ERR_H

/* One project-wide error space: 0 is success, every failure a negative AG_E* code. */

#define AG_NODISCARD __attribute__((warn_unused_result))

enum ag_err {
    AG_OK = 0,
    AG_ENOMEM = -1,    /* an allocation failed */
    AG_EINVAL = -2,    /* a caller or a config gave a bad value */
    AG_EPROTO = -3,    /* malformed input on the wire */
    AG_ETOOBIG = -4,   /* input over a configured limit */
    AG_EAGAIN = -5,    /* refused for now: retry later (queue or memory full) */
    AG_EIO = -6,       /* an I/O system call failed */
    AG_ETIMEDOUT = -7, /* a deadline passed */
    AG_EUPSTREAM = -8, /* a remote service answered with an error */
    AG_ENOTFOUND = -9, /* no such file, key or route */
    AG_EUNSUPP = -10,  /* valid but not supported (an encoding, a component) */
};

/*
 * Returns a static English description of |err| (an AG_E* code or 0); never NULL.
 */
const char *ag_strerror(int err);

/*
 * Converts a positive errno value to the closest AG_E* code.
 */
int ag_err_from_errno(int errnum);

/*
 * Makes |s| fit on one diagnostic line, in place: every control character (newline, tab,
 * escape) becomes '?'. For messages that quote input, such as jansson's "near '...'" text.
 * Returns |s|.
 */
char *ag_err_one_line(char *s);

#endif /* AG_ERR_H */
