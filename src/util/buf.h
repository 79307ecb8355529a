/* buf.h: a growable byte buffer with a ceiling.
 *
 * Every buffer that grows from input has a maximum set when it is created,
 * so no peer can make runnel allocate without bound (curl's dynbuf habit).
 * Functions return 0 or a negative RN_E* code (see core/errors.h: RN_ENOMEM,
 * RN_ETOOBIG). The bytes are always followed by a NUL that is not counted in
 * len, so text can be handed to C string functions. */
#ifndef RN_BUF_H
#define RN_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

typedef struct rn_buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated (excluding the trailing NUL) */
    size_t max;    /* ceiling for len; 0 means SIZE_MAX */
} rn_buf_t;

void rn_buf_init(rn_buf_t *b, size_t max);
void rn_buf_dispose(rn_buf_t *b);
/* Make room for n more bytes; returns 0, RN_ENOMEM or RN_ETOOBIG. */
int rn_buf_reserve(rn_buf_t *b, size_t n) __attribute__((warn_unused_result));
int rn_buf_append(rn_buf_t *b, const void *p, size_t n) __attribute__((warn_unused_result));
int rn_buf_append_str(rn_buf_t *b, const char *s) __attribute__((warn_unused_result));
int rn_buf_printf(rn_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
int rn_buf_vprintf(rn_buf_t *b, const char *fmt, va_list ap) __attribute__((warn_unused_result));
/* Drop the contents, keep the allocation. */
void rn_buf_reset(rn_buf_t *b);
/* Hand the allocation to the caller (who frees it with free()); the buffer is left empty. */
uint8_t *rn_buf_steal(rn_buf_t *b, size_t *len);

#endif
