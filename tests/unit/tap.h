/* tap.h: a minimal assertion kit for runnel's C unit tests.
 * Assertions print both operands and the location, count failures, and the
 * test's main returns rn_test_done() (non-zero when anything failed). */
#ifndef RN_TAP_H
#define RN_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rn_test_failures;
static int rn_test_checks;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        rn_test_checks++;                                                           \
        if (!(cond)) {                                                              \
            rn_test_failures++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                       \
    do {                                                                                         \
        long long _a = (long long)(a), _b = (long long)(b);                                      \
        rn_test_checks++;                                                                        \
        if (_a != _b) {                                                                          \
            rn_test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
                    _a, _b);                                                                     \
        }                                                                                        \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                           \
    do {                                                                                             \
        const char *_a = (a), *_b = (b);                                                             \
        rn_test_checks++;                                                                            \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                     \
            rn_test_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, \
                    #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                                 \
        }                                                                                            \
    } while (0)

/* A whole file, NUL-terminated (the NUL not counted in *len); NULL when it
 * cannot be read. The caller frees it. */
static inline char *rn_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p)
        p[n] = 0;
    if (p && len)
        *len = (size_t)n;
    return p;
}

static inline int rn_test_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, rn_test_checks, rn_test_failures);
    return rn_test_failures ? 1 : 0;
}

#endif
