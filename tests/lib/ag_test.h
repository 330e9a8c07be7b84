#ifndef AG_TEST_H
#define AG_TEST_H

/*
 * A small TAP producer for unit tests (the idea of libuv's ASSERT_* macros): each TEST function
 * is one TAP test point; an ASSERT that fails prints a diagnostic and ends that test point as
 * "not ok". main() is written with AG_TEST_MAIN(list of tests).
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct ag_test_state {
    int failed;
};

extern struct ag_test_state ag_test_current;

#define AG_TEST_FAIL_(...)                                                                  \
    do {                                                                                   \
        printf("# %s:%d: ", __FILE__, __LINE__);                                           \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        ag_test_current.failed = 1;                                                        \
        return;                                                                            \
    } while (0)

#define ASSERT(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            AG_TEST_FAIL_("assertion failed: %s", #cond);                                  \
        }                                                                                  \
    } while (0)

#define ASSERT_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                                \
        if (a_ != b_) {                                                                    \
            AG_TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                        \
        }                                                                                  \
    } while (0)

#define ASSERT_UEQ(a, b)                                                                    \
    do {                                                                                   \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
        if (a_ != b_) {                                                                    \
            AG_TEST_FAIL_("%s == %s: %llu != %llu", #a, #b, a_, b_);                        \
        }                                                                                  \
    } while (0)

#define ASSERT_OK(expr)                                                                     \
    do {                                                                                   \
        long long r_ = (long long)(expr);                                                  \
        if (r_ != 0) {                                                                     \
            AG_TEST_FAIL_("%s returned %lld, expected 0", #expr, r_);                      \
        }                                                                                  \
    } while (0)

#define ASSERT_NOT_NULL(p)                                                                  \
    do {                                                                                   \
        if ((p) == NULL) {                                                                 \
            AG_TEST_FAIL_("%s is NULL", #p);                                               \
        }                                                                                  \
    } while (0)

#define ASSERT_NULL(p)                                                                      \
    do {                                                                                   \
        if ((p) != NULL) {                                                                 \
            AG_TEST_FAIL_("%s is not NULL", #p);                                           \
        }                                                                                  \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                  \
    do {                                                                                   \
        const char *a_ = (a), *b_ = (b);                                                   \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                             \
            AG_TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",         \
                          b_ ? b_ : "(null)");                                             \
        }                                                                                  \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                               \
    do {                                                                                   \
        if (memcmp((a), (b), (n)) != 0) {                                                  \
            AG_TEST_FAIL_("%s and %s differ in their first %zu bytes", #a, #b, (size_t)(n)); \
        }                                                                                  \
    } while (0)

#define ASSERT_STRCONTAINS(hay, needle)                                                     \
    do {                                                                                   \
        const char *h_ = (hay), *n_ = (needle);                                            \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                                        \
            AG_TEST_FAIL_("%s does not contain \"%s\": \"%s\"", #hay, n_, h_ ? h_ : "(null)"); \
        }                                                                                  \
    } while (0)

typedef void ag_test_fn(void);

struct ag_test_case {
    const char *name;
    ag_test_fn *fn;
};

#define AG_TEST_CASE(fn) {#fn, fn}

#define AG_TEST_MAIN(...)                                                                   \
    struct ag_test_state ag_test_current;                                                  \
    int main(void)                                                                         \
    {                                                                                      \
        static const struct ag_test_case cases[] = {__VA_ARGS__};                          \
        size_t n = sizeof(cases) / sizeof(cases[0]);                                       \
        int failures = 0;                                                                  \
        printf("1..%zu\n", n);                                                             \
        for (size_t i = 0; i < n; i++) {                                                   \
            ag_test_current.failed = 0;                                                    \
            cases[i].fn();                                                                 \
            printf("%s %zu - %s\n", ag_test_current.failed ? "not ok" : "ok", i + 1,        \
                   cases[i].name);                                                         \
            failures += ag_test_current.failed;                                            \
        }                                                                                  \
        return failures ? 1 : 0;                                                           \
    }

#endif /* AG_TEST_H */
