/* fuzz_wire_json.c: differential libFuzzer target for wire/json_parse.c.
 * The whole input is a JSON body; rn_wire_json_parse must agree with what
 * runnel's call site used to do with jansson (json_loadb with JSON_ALLOW_NUL,
 * retried with JSON_DECODE_INT_AS_REAL on json_error_numeric_overflow):
 * same success or failure, json_equal trees (so the same integer/real
 * kinds) and the same compact dump (key order, -0.0). Any difference aborts.
 * Corpus: fuzz/corpus/fuzz_wire_json/ (seeded from fuzz_wire_decode's). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/json_parse.h"

static json_t *reference(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);
    if (!v && json_error_code(&jerr) == json_error_numeric_overflow)
        v = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *want = reference(data, size);
    json_t *got = rn_wire_json_parse(data, size);
    if (!want != !got)
        abort();
    if (want) {
        if (!json_equal(want, got))
            abort();
        char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
    }
    json_decref(want);
    json_decref(got);
    return 0;
}
