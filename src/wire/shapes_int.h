/* shapes_int.h: the generated model tables (wire/shapes_gen.c) and the
 * pattern matchers over them. Private to src/wire/.
 *
 * Shapes are referenced by index into rn_wire_shapes[]; every operation's
 * input shape is rn_wire_shapes[rn_wire_op_input[op]] (a structure; an
 * operation without input has a structure with no members), its output
 * shape rn_wire_shapes[rn_wire_op_output[op]]. All tables are
 * const and built by tools/gen_shapes.py from the AWS models. */
#ifndef RN_WIRE_SHAPES_INT_H
#define RN_WIRE_SHAPES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops.h"

typedef enum rn_wire_shape_kind {
    RN_SK_STRUCTURE,
    RN_SK_LIST,
    RN_SK_MAP,
    RN_SK_STRING,
    RN_SK_INTEGER,
    RN_SK_LONG,
    RN_SK_BOOLEAN,
    RN_SK_BLOB,
    RN_SK_TIMESTAMP,
    RN_SK_DOUBLE,
} rn_wire_shape_kind_t;

typedef enum rn_wire_pattern_kind {
    RN_PAT_CHARSET, /* [class]+ : one or more bytes from a 256-bit set */
    RN_PAT_DECIMAL, /* 0|([1-9]\d{0,N}) : a decimal without leading zeros */
    RN_PAT_REGEX,   /* anything else: an anchored POSIX ERE (regcomp) */
} rn_wire_pattern_kind_t;

typedef struct rn_wire_pattern {
    const char *model;     /* the model's text, quoted in error messages */
    int kind;              /* rn_wire_pattern_kind_t */
    uint64_t charset[4];   /* RN_PAT_CHARSET: bit c set when byte c may appear */
    int max_digits;        /* RN_PAT_DECIMAL: most digits allowed */
    const char *ere;       /* RN_PAT_REGEX: "^(...)$", Java syntax translated */
    int regex_slot;        /* RN_PAT_REGEX: index of the compiled regex */
} rn_wire_pattern_t;

typedef struct rn_wire_member {
    const char *name;  /* JSON member name, "StreamName" */
    const char *path;  /* the name in validation paths, "streamName" */
    uint16_t name_len;
    uint16_t shape;    /* index into rn_wire_shapes */
    uint8_t required;
    uint16_t path_len;
} rn_wire_member_t;

typedef struct rn_wire_shape {
    const char *name;               /* model shape name (synthetic ones start "__") */
    int kind;                       /* rn_wire_shape_kind_t */
    int has_min, has_max;
    long long min, max;             /* length (string, blob, list, map) or value */
    const rn_wire_pattern_t *pattern;
    const char *const *enums;       /* allowed values, model order */
    int n_enums;
    const char *enum_text;          /* "[A, B, C]" */
    const rn_wire_member_t *members; /* structure members, model order */
    int n_members;
    uint16_t member;                /* list: element shape */
    uint16_t key, value;            /* map: key and value shapes */
    const char *rules_text;         /* all rules, for "... must satisfy constraint: [...]" */
} rn_wire_shape_t;

extern const rn_wire_pattern_t rn_wire_patterns[];
extern const int rn_wire_pattern_count;
extern const int rn_wire_regex_count;
extern const rn_wire_shape_t rn_wire_shapes[];
extern const int rn_wire_shape_count;
extern const uint16_t rn_wire_op_input[RN_OP_COUNT];
/* Every operation's output structure (an empty one when it has no output);
 * these come after all input shapes in rn_wire_shapes[]. */
extern const uint16_t rn_wire_op_output[RN_OP_COUNT];

/* 1 when the whole of s[0..len) matches p, else 0. Thread-safe; regexes are
 * compiled once, at first use. */
int rn_wire_pattern_match(const rn_wire_pattern_t *p, const char *s, size_t len);

/* How AWS's Java front end names a shape kind in a SerializationException
 * ("an Integer", "an String", "milliseconds since epoch", ...), shared by the
 * JSON and CBOR decoders so both word coercion errors alike. */
const char *rn_wire_java_name(int kind);

#endif
