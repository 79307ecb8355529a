/* eventstream.c: AWS event-stream framing (see eventstream.h). */
#include "net/eventstream.h"

#include <string.h>

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t rn_es_crc32(uint32_t crc, const void *p, size_t n)
{
    if (!crc_ready)
        crc_init(); /* idempotent: a race writes the same values */
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void be32(uint8_t *w, uint32_t v)
{
    w[0] = (uint8_t)(v >> 24);
    w[1] = (uint8_t)(v >> 16);
    w[2] = (uint8_t)(v >> 8);
    w[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rn_es_encode(rn_buf_t *out, const rn_es_header_t *h, size_t nh, const uint8_t *payload,
                 size_t payload_len)
{
    size_t hlen = 0;
    for (size_t i = 0; i < nh; i++) {
        if (h[i].name_len == 0 || h[i].name_len > 255 || h[i].value_len > 65535)
            return -1;
        hlen += 1 + h[i].name_len + 1 + 2 + h[i].value_len;
    }
    if (hlen > RN_ES_MAX_HEADERS || payload_len > RN_ES_MAX_PAYLOAD)
        return -1;
    size_t total = RN_ES_OVERHEAD + hlen + payload_len;
    if (rn_buf_reserve(out, total) != 0)
        return -1;
    uint8_t *m = out->data + out->len, *w = m;
    be32(w, (uint32_t)total);
    be32(w + 4, (uint32_t)hlen);
    be32(w + 8, rn_es_crc32(0, w, 8));
    w += 12;
    for (size_t i = 0; i < nh; i++) {
        *w++ = (uint8_t)h[i].name_len;
        memcpy(w, h[i].name, h[i].name_len);
        w += h[i].name_len;
        *w++ = 7;
        *w++ = (uint8_t)(h[i].value_len >> 8);
        *w++ = (uint8_t)h[i].value_len;
        if (h[i].value_len)
            memcpy(w, h[i].value, h[i].value_len);
        w += h[i].value_len;
    }
    if (payload_len)
        memcpy(w, payload, payload_len);
    w += payload_len;
    be32(w, rn_es_crc32(0, m, (size_t)(w - m)));
    out->len += total;
    return 0;
}

long rn_es_decode(const uint8_t *p, size_t n, rn_es_header_t *h, size_t *nh,
                  const uint8_t **payload, size_t *payload_len)
{
    *nh = 0;
    if (n < 12)
        return 0;
    uint32_t total = rd32(p), hlen = rd32(p + 4);
    if (rd32(p + 8) != rn_es_crc32(0, p, 8))
        return -1;
    if (total < RN_ES_OVERHEAD || hlen > RN_ES_MAX_HEADERS || hlen > total - RN_ES_OVERHEAD ||
        total - RN_ES_OVERHEAD - hlen > RN_ES_MAX_PAYLOAD)
        return -1;
    if (n < total)
        return 0;
    if (rd32(p + total - 4) != rn_es_crc32(0, p, total - 4))
        return -1;
    const uint8_t *q = p + 12, *end = q + hlen;
    while (q < end) {
        size_t nl = *q++;
        if (nl == 0 || (size_t)(end - q) < nl + 1)
            return -1;
        const char *name = (const char *)q;
        q += nl;
        uint8_t type = *q++;
        size_t vl;
        const uint8_t *v = q;
        switch (type) {
        case 0: case 1: vl = 0; break;
        case 2: vl = 1; break;
        case 3: vl = 2; break;
        case 4: vl = 4; break;
        case 5: case 8: vl = 8; break;
        case 9: vl = 16; break;
        case 6: case 7:
            if (end - q < 2)
                return -1;
            vl = (size_t)q[0] << 8 | q[1];
            v = q + 2;
            q += 2;
            break;
        default: return -1;
        }
        if ((size_t)(end - q) < vl)
            return -1;
        q += vl;
        if (*nh < RN_ES_MAX_DECODED_HEADERS)
            h[(*nh)++] = (rn_es_header_t){name, nl, (const char *)v, vl, type};
    }
    *payload = end;
    *payload_len = total - RN_ES_OVERHEAD - hlen;
    return (long)total;
}
