/* seqnum.c: 56-digit sequence numbers (layout in seqnum.h, KINESIS_CONTRACT §3.4).
 *
 * The number is 47 hex digits = 188 bits, held as three little-endian
 * 64-bit limbs (l[0] least significant). Hex digit k (0 = most significant)
 * occupies bits 4*(46-k) .. 4*(46-k)+3, so the fields sit at:
 *   bits 184..187 constant 2          bits 72..79  reserved, 0
 *   bits 148..183 shard creation (s)  bits 36..71  arrival (s)
 *   bits 144..147 shard index & 0xf   bits 4..35   shard index
 *   bits 80..143  counter (bit 143 0) bits 0..3    version 2
 * Decimal conversion works in base-10^19 chunks (10^19 < 2^64): three
 * chunks of 18+19+19 digits, each step a 128-by-64-bit multiply or divide,
 * so the conversion is exact with no general bignum code.
 *
 * Range: the smallest value (all fields 0) is 2^185 ~ 4.90e55 and the
 * largest is below 3*2^184 ~ 7.36e55, so every value has 56 digits. */
#include "core/seqnum.h"

#include <assert.h>
#include <string.h>

#include "core/errors.h"

typedef struct {
    uint64_t l[3];
} u192;

#define P19 10000000000000000000ULL /* 10^19 */
#define P18 1000000000000000000ULL  /* 10^18 */
#define MASK36 ((1ULL << 36) - 1)

/* ---- bit fields ----------------------------------------------------------- */

/* Read width (<= 64) bits starting at bit lo. */
static uint64_t get_bits(const u192 *v, unsigned lo, unsigned width)
{
    unsigned limb = lo / 64, off = lo % 64;
    unsigned __int128 w = v->l[limb];
    if (limb + 1 < 3)
        w |= (unsigned __int128)v->l[limb + 1] << 64;
    w >>= off;
    uint64_t mask = width == 64 ? ~0ULL : (1ULL << width) - 1;
    return (uint64_t)w & mask;
}

/* OR x (already masked to width bits, width <= 64) in at bit lo. */
static void put_bits(u192 *v, unsigned lo, uint64_t x)
{
    unsigned limb = lo / 64, off = lo % 64;
    unsigned __int128 w = (unsigned __int128)x << off;
    v->l[limb] |= (uint64_t)w;
    if (off && limb + 1 < 3)
        v->l[limb + 1] |= (uint64_t)(w >> 64);
}

/* ---- format ------------------------------------------------------------- */

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

void rn_seqnum_format(const rn_seqnum_t *s, char *buf)
{
    assert(s->shard_created_s <= MASK36 && s->arrival_s <= MASK36 &&
           s->counter <= RN_SEQNUM_COUNTER_MAX);
    /* Out-of-range fields are masked so the output keeps the layout. */
    u192 v = {{0, 0, 0}};
    put_bits(&v, 184, 2);
    put_bits(&v, 148, s->shard_created_s & MASK36);
    put_bits(&v, 144, s->shard_index & 0xf);
    put_bits(&v, 80, s->counter & RN_SEQNUM_COUNTER_MAX);
    put_bits(&v, 36, s->arrival_s & MASK36);
    put_bits(&v, 4, s->shard_index);
    put_bits(&v, 0, 2);

    /* Three divisions of v by 10^19 give the chunks, least significant first. */
    uint64_t chunk[3];
    for (int c = 0; c < 3; c++) {
        unsigned __int128 r = 0;
        for (int k = 2; k >= 0; k--) {
            unsigned __int128 cur = (r << 64) | v.l[k];
            v.l[k] = (uint64_t)(cur / P19);
            r = cur % P19;
        }
        chunk[c] = (uint64_t)r;
    }
    assert(v.l[0] == 0 && v.l[1] == 0 && v.l[2] == 0);
    assert(chunk[2] >= P18 / 10 && chunk[2] < P18); /* exactly 18 digits: see the range note */

    /* Digits two at a time from a table of "00".."99" (half the divisions
     * of one at a time; this runs for every record answered). */
    int pos = RN_SEQNUM_LEN;
    buf[pos] = '\0';
    for (int c = 0; c < 3; c++) {
        uint64_t x = chunk[c];
        int digits = c == 2 ? 18 : 19;
        for (int d = 0; d + 2 <= digits; d += 2) {
            uint64_t r = x % 100;
            x /= 100;
            pos -= 2;
            memcpy(buf + pos, digit_pairs + 2 * r, 2);
        }
        if (digits & 1)
            buf[--pos] = (char)('0' + x % 10);
    }
    assert(pos == 0);
}

/* ---- parse ---------------------------------------------------------------- */

static uint64_t digits_to_u64(const char *s, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = x * 10 + (uint64_t)(s[i] - '0');
    return x;
}

/* v = v * m + a, for v < 2^192 / m (checked by the caller's length limit). */
static void mul_add(u192 *v, uint64_t m, uint64_t a)
{
    unsigned __int128 carry = a;
    for (int k = 0; k < 3; k++) {
        unsigned __int128 cur = (unsigned __int128)v->l[k] * m + carry;
        v->l[k] = (uint64_t)cur;
        carry = cur >> 64;
    }
    assert(carry == 0);
}

int rn_seqnum_parse(const char *s, size_t len, rn_seqnum_t *out)
{
    if (!s || len != RN_SEQNUM_LEN)
        return RN_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return RN_EINVAL;

    /* 10^56 < 2^187, so 56 digits always fit in 192 bits. */
    u192 v = {{0, 0, 0}};
    mul_add(&v, 1, digits_to_u64(s, 18));
    mul_add(&v, P19, digits_to_u64(s + 18, 19));
    mul_add(&v, P19, digits_to_u64(s + 37, 19));

    if (get_bits(&v, 184, 4) != 2) /* leading hex digit (bits above 187 are 0: 10^56 < 2^187) */
        return RN_EINVAL;
    if (get_bits(&v, 0, 4) != 2) /* version */
        return RN_EINVAL;
    if (get_bits(&v, 72, 8) != 0) /* reserved byte */
        return RN_EINVAL;
    if (get_bits(&v, 143, 1) != 0) /* counter's top bit */
        return RN_EINVAL;
    uint32_t index = (uint32_t)get_bits(&v, 4, 32);
    if (get_bits(&v, 144, 4) != (index & 0xf))
        return RN_EINVAL;

    out->shard_created_s = get_bits(&v, 148, 36);
    out->shard_index = index;
    out->counter = get_bits(&v, 80, 64);
    out->arrival_s = get_bits(&v, 36, 36);
    return 0;
}

/* ---- compare -------------------------------------------------------------- */

int rn_seqnum_cmp_text(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Leading zeros are skipped, so "007" == "7" even though callers
     * validate the pattern 0|[1-9]\d* first; a lone "0" stays one digit. */
    while (alen > 1 && a[0] == '0') {
        a++;
        alen--;
    }
    while (blen > 1 && b[0] == '0') {
        b++;
        blen--;
    }
    if (alen != blen)
        return alen < blen ? -1 : 1;
    for (size_t i = 0; i < alen; i++)
        if (a[i] != b[i])
            return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
    return 0;
}
