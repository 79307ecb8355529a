/* pattern.c: whole-value matching of the model's `pattern` traits.
 *
 * The generator sorts the model's Java regexes into three kinds: a character
 * class repeated ([a-zA-Z0-9_.-]+), a decimal without leading zeros
 * (0|([1-9]\d{0,38})) and everything else. The first two are on the data
 * path (stream names, shard IDs, hash keys, sequence numbers) and are
 * matched by hand; the rest (ARNs, StreamId) were translated to anchored
 * POSIX EREs by the generator and are compiled here once, at first use.
 * regexec() runs on the byte length (REG_STARTEND), so a NUL inside a value
 * is matched like any other byte, as Java would. Thread-safe: compilation
 * is under pthread_once and glibc's regexec serialises per regex_t. */
#include "wire/shapes_int.h"

#include <pthread.h>
#include <regex.h>

#define MAX_REGEXES 16

static regex_t regexes[MAX_REGEXES];
static int compiled[MAX_REGEXES]; /* 1 when regexes[i] is usable */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void compile_all(void)
{
    for (int i = 0; i < rn_wire_pattern_count; i++) {
        const rn_wire_pattern_t *p = &rn_wire_patterns[i];
        if (p->kind != RN_PAT_REGEX || p->regex_slot < 0 || p->regex_slot >= MAX_REGEXES)
            continue;
        compiled[p->regex_slot] = regcomp(&regexes[p->regex_slot], p->ere, REG_EXTENDED | REG_NOSUB) == 0;
    }
}

int rn_wire_pattern_match(const rn_wire_pattern_t *p, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    switch (p->kind) {
    case RN_PAT_CHARSET: {
        if (len == 0)
            return 0;
        uint64_t miss = 0;
        for (size_t i = 0; i < len; i++)
            miss |= ~p->charset[u[i] >> 6] & (1ULL << (u[i] & 63));
        return miss == 0;
    }
    case RN_PAT_DECIMAL: {
        if (len == 0 || len > (size_t)p->max_digits)
            return 0;
        if (u[0] == '0')
            return len == 1;
        unsigned bad = 0;
        for (size_t i = 0; i < len; i++)
            bad |= (unsigned)(u[i] - '0') > 9u;
        return !bad;
    }
    case RN_PAT_REGEX: {
        pthread_once(&once, compile_all);
        int slot = p->regex_slot;
        if (slot < 0 || slot >= MAX_REGEXES || !compiled[slot])
            return 1; /* cannot happen with a generated table; do not reject */
        regmatch_t m[1];
        m[0].rm_so = 0;
        m[0].rm_eo = (regoff_t)len;
        return regexec(&regexes[slot], s, 1, m, REG_STARTEND) == 0;
    }
    }
    return 1;
}
