/* test_core_seqnum.c: 56-digit sequence numbers (KINESIS_CONTRACT §3.4).
 * Expected decimal values were computed independently (Python big ints)
 * from the hex layout in seqnum.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/seqnum.h"
#include "tap.h"

#define M36 ((1ULL << 36) - 1)

static rn_seqnum_t S(uint64_t created, uint32_t index, uint64_t counter, uint64_t arrival)
{
    rn_seqnum_t s = {created, index, counter, arrival};
    return s;
}

static int same_fields(const rn_seqnum_t *a, const rn_seqnum_t *b)
{
    return a->shard_created_s == b->shard_created_s && a->shard_index == b->shard_index &&
           a->counter == b->counter && a->arrival_s == b->arrival_s;
}

static void check_format(rn_seqnum_t s, const char *want)
{
    char buf[RN_SEQNUM_LEN + 1];
    memset(buf, 'x', sizeof buf);
    rn_seqnum_format(&s, buf);
    CHECK_EQ_STR(buf, want);
    CHECK_EQ_INT(strlen(buf), RN_SEQNUM_LEN);
    rn_seqnum_t back;
    memset(&back, 0xa5, sizeof back);
    CHECK_EQ_INT(rn_seqnum_parse(buf, strlen(buf), &back), 0);
    CHECK_EQ_INT(back.shard_created_s, s.shard_created_s);
    CHECK_EQ_INT(back.shard_index, s.shard_index);
    CHECK(back.counter == s.counter);
    CHECK_EQ_INT(back.arrival_s, s.arrival_s);
}

static void test_contract_example(void)
{
    const char *ex = "49546986683135544286507457936321625675700192471156785154";
    rn_seqnum_t s;
    CHECK_EQ_INT(rn_seqnum_parse(ex, strlen(ex), &s), 0);
    CHECK_EQ_INT(s.shard_created_s, 1421279230);
    CHECK_EQ_INT(s.shard_index, 0);
    CHECK_EQ_INT(s.counter, 469);
    CHECK_EQ_INT(s.arrival_s, 1421279386);
    char buf[RN_SEQNUM_LEN + 1];
    rn_seqnum_format(&s, buf);
    CHECK_EQ_STR(buf, ex);
}

static void test_vectors(void)
{
    /* Smallest: every field 0 is 2^185 + 2, still 56 digits. */
    check_format(S(0, 0, 0, 0), "49039857307708443467467104868809893875799651909875269634");
    /* Largest: every field at its maximum, still below 3*2^184. */
    check_format(S(M36, UINT32_MAX, RN_SEQNUM_COUNTER_MAX, M36),
                 "73559785961551514828601391991642868751110021924530421746");
    check_format(S(1710489510, 5, 0, 1710489510),
                 "49650180359456259166217519446848458061101514668357189714");
    check_format(S(1710489510, 5, RN_SEQNUM_COUNTER_MAX, 1710489999),
                 "49650180359467409538816784758418016994418257823759597650");
    check_format(S(1, 0x12345678, 1, 2), "49039857308243661352231839824207960040162827357519177602");
    check_format(S(0, 0, RN_SEQNUM_COUNTER_MAX, 0),
                 "49039857307719593840066370180379452809116361461453553666");
    check_format(S(1421279230, 0x21, 469, 1421279386),
                 "49546986683157845031705988559463161393972840832662766098");
}

static void test_round_trips(void)
{
    /* Each field walks its bits (so every limb boundary is crossed) while
     * the others take extreme values; every result is 56 digits. */
    uint64_t others[][4] = {{0, 0, 0, 0}, {M36, UINT32_MAX, RN_SEQNUM_COUNTER_MAX, M36}};
    int bad = 0;
    for (int o = 0; o < 2; o++) {
        for (int f = 0; f < 4; f++) {
            int bits = f == 1 ? 32 : f == 2 ? 63 : 36;
            for (int b = -1; b < bits; b++) {
                uint64_t v[4] = {others[o][0], others[o][1], others[o][2], others[o][3]};
                uint64_t x = b < 0 ? 0 : 1ULL << b;
                v[f] = o ? (v[f] ^ x) : x;
                rn_seqnum_t s = S(v[0], (uint32_t)v[1], v[2], v[3]), back;
                char buf[RN_SEQNUM_LEN + 1], again[RN_SEQNUM_LEN + 1];
                rn_seqnum_format(&s, buf);
                if (strlen(buf) != RN_SEQNUM_LEN || rn_seqnum_parse(buf, RN_SEQNUM_LEN, &back) != 0 ||
                    back.shard_created_s != s.shard_created_s || back.shard_index != s.shard_index ||
                    back.counter != s.counter || back.arrival_s != s.arrival_s)
                    bad++;
                rn_seqnum_format(&back, again);
                if (strcmp(buf, again) != 0)
                    bad++;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);

    /* Pseudo-random fields. */
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    bad = 0;
    for (int i = 0; i < 20000; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        uint64_t a = st;
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        rn_seqnum_t s = S(a & M36, (uint32_t)(a >> 32), st >> 1, (st ^ a) & M36), back;
        char buf[RN_SEQNUM_LEN + 1];
        rn_seqnum_format(&s, buf);
        if (strlen(buf) != RN_SEQNUM_LEN || rn_seqnum_parse(buf, RN_SEQNUM_LEN, &back) != 0 ||
            !same_fields(&back, &s))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_ordering(void)
{
    char a[RN_SEQNUM_LEN + 1], b[RN_SEQNUM_LEN + 1];
    /* Same shard: a larger counter wins even with an earlier arrival. */
    rn_seqnum_t lo = S(1710489510, 7, 41, M36), hi = S(1710489510, 7, 42, 0);
    rn_seqnum_format(&lo, a);
    rn_seqnum_format(&hi, b);
    CHECK(rn_seqnum_cmp_text(a, RN_SEQNUM_LEN, b, RN_SEQNUM_LEN) < 0);
    CHECK(rn_seqnum_cmp_text(b, RN_SEQNUM_LEN, a, RN_SEQNUM_LEN) > 0);
    CHECK(rn_seqnum_cmp_text(a, RN_SEQNUM_LEN, a, RN_SEQNUM_LEN) == 0);

    /* Start (counter 0) < any record < end (counter max), any arrival. */
    int bad = 0;
    rn_seqnum_t start = S(1710489510, UINT32_MAX, 0, M36);
    rn_seqnum_t end = S(1710489510, UINT32_MAX, RN_SEQNUM_COUNTER_MAX, 0);
    char ss[RN_SEQNUM_LEN + 1], es[RN_SEQNUM_LEN + 1], prev[RN_SEQNUM_LEN + 1];
    rn_seqnum_format(&start, ss);
    rn_seqnum_format(&end, es);
    memcpy(prev, ss, sizeof prev);
    uint64_t counters[] = {1, 2, 9, 10, 255, 256, 65535, 1ULL << 32, 1ULL << 40, 1ULL << 62,
                           RN_SEQNUM_COUNTER_MAX - 1};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        rn_seqnum_t r = S(1710489510, UINT32_MAX, counters[i], i % 2 ? 0 : M36);
        rn_seqnum_format(&r, a);
        if (rn_seqnum_cmp_text(prev, RN_SEQNUM_LEN, a, RN_SEQNUM_LEN) >= 0)
            bad++;
        if (rn_seqnum_cmp_text(a, RN_SEQNUM_LEN, es, RN_SEQNUM_LEN) >= 0)
            bad++;
        if (strcmp(prev, a) >= 0) /* equal-length digits: lexical == numeric */
            bad++;
        memcpy(prev, a, sizeof prev);
    }
    CHECK_EQ_INT(bad, 0);

    /* A child created later sorts after every number of its parent. */
    rn_seqnum_t child = S(1710489511, 8, 0, 0);
    rn_seqnum_format(&child, b);
    CHECK(rn_seqnum_cmp_text(es, RN_SEQNUM_LEN, b, RN_SEQNUM_LEN) < 0);
}

static int cmp(const char *a, const char *b)
{
    int r = rn_seqnum_cmp_text(a, strlen(a), b, strlen(b));
    return r < 0 ? -1 : r > 0;
}

static void test_cmp_text(void)
{
    CHECK_EQ_INT(cmp("0", "0"), 0);
    CHECK_EQ_INT(cmp("9", "10"), -1); /* lexically "9" > "10" */
    CHECK_EQ_INT(cmp("10", "9"), 1);
    CHECK_EQ_INT(cmp("123", "124"), -1);
    CHECK_EQ_INT(cmp("124", "123"), 1);
    CHECK_EQ_INT(cmp("0", "1"), -1);
    CHECK_EQ_INT(cmp("007", "7"), 0);
    CHECK_EQ_INT(cmp("0010", "9"), 1);
    CHECK_EQ_INT(cmp("000", "0"), 0);
    CHECK_EQ_INT(cmp("49546986683135544286507457936321625675700192471156785154",
                     "4954698668313554428650745793632162567570019247115678515"), 1);
    CHECK_EQ_INT(cmp("49546986683135544286507457936321625675700192471156785154",
                     "49546986683135544286507457936321625675700192471156785155"), -1);
    /* Longer than 56 digits is fine too (the pattern allows 129). */
    CHECK_EQ_INT(cmp("100000000000000000000000000000000000000000000000000000000000",
                     "99999999999999999999999999999999999999999999999999999999999"), 1);
    CHECK_EQ_INT(rn_seqnum_cmp_text("", 0, "", 0), 0);
    CHECK(rn_seqnum_cmp_text("", 0, "1", 1) < 0);
}

static void check_reject(const char *s, const char *why)
{
    rn_seqnum_t out = S(11, 22, 33, 44);
    int rc = rn_seqnum_parse(s, strlen(s), &out);
    if (rc != RN_EINVAL)
        fprintf(stderr, "not rejected (%s): %s\n", why, s);
    CHECK_EQ_INT(rc, RN_EINVAL);
    CHECK(out.shard_created_s == 11 && out.shard_index == 22 && out.counter == 33 && out.arrival_s == 44);
}

static void test_reject(void)
{
    /* Sanity: the base of the mutations below parses. */
    rn_seqnum_t s;
    const char *base = "49546986683157845031705988559463161393972840832662766098";
    CHECK_EQ_INT(rn_seqnum_parse(base, strlen(base), &s), 0);
    CHECK_EQ_INT(s.shard_index, 0x21);

    check_reject("", "empty");
    check_reject("0", "zero");
    check_reject("4954698668313554428650745793632162567570019247115678515", "55 digits");
    check_reject("495469866831355442865074579363216256757001924711567851540", "57 digits");
    check_reject("4954698668313554428650745793632162567570019247115678515a", "non-digit");
    check_reject("-4954698668313554428650745793632162567570019247115678515", "sign");
    check_reject(" 4954698668313554428650745793632162567570019247115678515", "space");
    check_reject("04954698668313554428650745793632162567570019247115678515", "leading zero");
    check_reject("25027058029303623297972436125058214456073014877725131282", "leading nibble 1");
    check_reject("74066915337012066765439540993868108331872666787600400914", "leading nibble 3");
    check_reject("99999999999999999999999999999999999999999999999999999999", "all nines");
    check_reject("49546986683157845031705988559463161393972840832662766096", "version 0");
    check_reject("49546986683157845031705988559463161393972840832662766097", "version 1");
    check_reject("49546986683157845031705988559463161393972840832662766099", "version 3");
    check_reject("49546986683157845031705988559463166116339323702307979794", "reserved 01");
    check_reject("49546986683157845031705988559463765856882648147250119186", "reserved 80");
    check_reject("49546986683180145776904519182604697112245489194168746514", "index nibble 2 vs 0x21");
    check_reject("49546986683135544286507457936321625675700192471156785682", "index nibble 0 vs 0x21");
    check_reject("49546986683168995404305253870466943043709903930478559762", "counter top bit");

    /* Length is checked against len, not the NUL. */
    char buf[80];
    snprintf(buf, sizeof buf, "%s7", base);
    CHECK_EQ_INT(rn_seqnum_parse(buf, RN_SEQNUM_LEN, &s), 0);
    CHECK_EQ_INT(rn_seqnum_parse(buf, RN_SEQNUM_LEN + 1, &s), RN_EINVAL);
    CHECK_EQ_INT(rn_seqnum_parse(NULL, 0, &s), RN_EINVAL);

    /* Changing any single digit of a valid number either fails to parse or
     * decodes to different fields: never silently to the same value. */
    int same = 0;
    rn_seqnum_t orig;
    CHECK_EQ_INT(rn_seqnum_parse(base, RN_SEQNUM_LEN, &orig), 0);
    for (int i = 0; i < RN_SEQNUM_LEN; i++) {
        for (char d = '0'; d <= '9'; d++) {
            if (d == base[i])
                continue;
            memcpy(buf, base, RN_SEQNUM_LEN);
            buf[i] = d;
            if (rn_seqnum_parse(buf, RN_SEQNUM_LEN, &s) == 0 && same_fields(&s, &orig))
                same++;
        }
    }
    CHECK_EQ_INT(same, 0);
}

int main(void)
{
    test_contract_example();
    test_vectors();
    test_round_trips();
    test_ordering();
    test_cmp_text();
    test_reject();
    return rn_test_done("test_core_seqnum");
}
