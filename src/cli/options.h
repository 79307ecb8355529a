/* options.h: the options of `runnel serve`, one table ({name, kind, default, help}), and where
 * their values come from: a YAML configuration file (--config FILE or RUNNEL_CONFIG, read with
 * libyaml), the environment (RUNNEL_<OPTION>) and the command line, applied in that order so that
 * flag > environment > file > default (docs/operations.md, "Configuration").
 *
 * This module knows the names, the shapes (boolean or text) and the sources; what a value means
 * (an fsync mode, a region, ...) is checked by the caller's apply function, which main.c wires to
 * its config_t. */
#ifndef RN_CLI_OPTIONS_H
#define RN_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    RN_OPT_BOOL,   /* --name alone is true; the file takes true or false */
    RN_OPT_INT,    /* text the apply function reads as an integer; printed plain */
    RN_OPT_STRING, /* text; printed double-quoted */
} rn_opt_kind_t;

typedef struct rn_opt {
    const char *name;    /* the flag without "--" and the file's key */
    const char *metavar; /* how --help names the value (NULL for a boolean) */
    rn_opt_kind_t kind;
    const char *def;     /* the default as text, or NULL: unset (the help says what applies) */
    const char *help;    /* --help's text, lines separated by '\n' */
} rn_opt_t;

extern const rn_opt_t rn_serve_options[];
extern const size_t rn_serve_option_count;

/* The option named name (NULL when there is none). */
const rn_opt_t *rn_option_find(const char *name, size_t n);

/* 1 for 1, true, yes, on (any case): RUNNEL_<OPTION> and --name=VALUE for a boolean. */
int rn_opt_parse_bool(const char *s);

typedef enum { RN_SRC_DEFAULT, RN_SRC_FILE, RN_SRC_ENV, RN_SRC_FLAG } rn_opt_source_t;

/* One value of an option in one source. value NULL: not set (the file's null, ~ or nothing). */
typedef struct rn_opt_value {
    const rn_opt_t *opt;
    const char *value;
    rn_opt_source_t source;
    int line; /* RN_SRC_FILE: 1-based line of the key */
} rn_opt_value_t;

/* Parses a configuration file's text (len bytes, not NUL-terminated): one YAML mapping of option
 * names to scalars. On success 0 and *out holds *n values in file order (free with
 * rn_opt_values_free; the strings are in the same allocation's keeping). On any problem (YAML
 * syntax, more than one document, not a mapping, an unknown or duplicate key, a sequence or
 * mapping where a scalar belongs, an alias, a boolean that is not true or false) -1 and err holds
 * "FILE:LINE: ..." naming the key (non-printable bytes escaped). */
int rn_options_parse_yaml(const char *text, size_t len, const char *file, rn_opt_value_t **out, size_t *n,
                          char *err, size_t errlen);
void rn_opt_values_free(rn_opt_value_t *v, size_t n);

/* Checks and stores one value (opt's text, never NULL); 0, or -1 with a message in err that names
 * the flag (e.g. "--fsync must be ..."). */
typedef int (*rn_opt_apply_fn)(void *ud, const rn_opt_t *opt, const char *value, char *err, size_t errlen);

typedef struct rn_options {
    rn_opt_value_t *effective; /* rn_serve_option_count, table order: the value in force */
    const char *config_file;   /* --config or RUNNEL_CONFIG; NULL: none */
    rn_opt_source_t config_source;
    int print_config;          /* --print-config */
    rn_opt_value_t *file;      /* the file's values (owned) */
    size_t nfile;
} rn_options_t;

enum { RN_OPTIONS_OK = 0, RN_OPTIONS_ERROR = -1, RN_OPTIONS_USAGE = -2 };

/* Loads `runnel serve`'s arguments: the defaults, then the configuration file, then RUNNEL_*, then
 * argv (argc strings after "serve"), calling apply for every value set in each, in that order.
 * RN_OPTIONS_OK, or RN_OPTIONS_ERROR / RN_OPTIONS_USAGE (the caller adds the usage) with the
 * message in err; an apply error names where the value came from when it was the file. */
int rn_options_load(rn_options_t *o, int argc, char **argv, rn_opt_apply_fn apply, void *ud, char *err,
                    size_t errlen);
void rn_options_free(rn_options_t *o);

/* The effective configuration as the YAML a --config file takes: every option, its value (null
 * when unset) and, in a comment, where it came from. Read back, it gives the same values, for
 * every value that is UTF-8 text (YAML holds nothing else; a value from argv or the environment
 * in another encoding is printed as its bytes, which libyaml then refuses). */
void rn_options_print(const rn_options_t *o, FILE *out);

/* --help's option lines, from the table. */
void rn_options_usage(FILE *out);

#endif
