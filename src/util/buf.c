/* buf.c: growable byte buffer with a ceiling. */
#include "util/buf.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rn_buf_init(rn_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX - 1;
}

void rn_buf_dispose(rn_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int rn_buf_reserve(rn_buf_t *b, size_t n)
{
    if (n > b->max - b->len)
        return RN_ETOOBIG;
    size_t need = b->len + n;
    if (need <= b->cap && b->data)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap + 1);
    if (!p)
        return RN_ENOMEM;
    b->data = p;
    b->cap = cap;
    b->data[b->len] = 0;
    return 0;
}

int rn_buf_append(rn_buf_t *b, const void *p, size_t n)
{
    int rc = rn_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int rn_buf_append_str(rn_buf_t *b, const char *s)
{
    return rn_buf_append(b, s, strlen(s));
}

int rn_buf_vprintf(rn_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return RN_EINVAL;
    if ((size_t)n < sizeof small)
        return rn_buf_append(b, small, (size_t)n);
    int rc = rn_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int rn_buf_printf(rn_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = rn_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void rn_buf_reset(rn_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

uint8_t *rn_buf_steal(rn_buf_t *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
