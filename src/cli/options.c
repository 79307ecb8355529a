/* options.c: `runnel serve`'s option table and its sources (options.h). */
#include "cli/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define B RN_OPT_BOOL
#define I RN_OPT_INT
#define S RN_OPT_STRING

/* --help prints these in this order. */
const rn_opt_t rn_serve_options[] = {
    {"listen", "HOST:PORT", S, "127.0.0.1:4567", "address to serve on (default 127.0.0.1:4567)"},
    {"data-dir", "DIR", S, "./runnel-data", "where streams and records live (default ./runnel-data)"},
    {"in-memory", NULL, B, "false", "keep everything in memory; nothing survives a restart"},
    {"fsync", "always|interval:MS|never", S, "always",
     "when a write is acknowledged (default always: after fdatasync)"},
    {"region", "REGION", S, "us-east-1", "region when a request names none (default us-east-1)"},
    {"account-id", "ID", S, "000000000000", "12-digit account id (default 000000000000)"},
    {"create-stream-delay", "MS", I, "0", "time a new stream stays CREATING (default 0)"},
    {"delete-stream-delay", "MS", I, "0", "time a stream stays DELETING (default 0)"},
    {"update-stream-delay", "MS", I, "0", "time a changing stream stays UPDATING (default 0)"},
    {"shard-limit", "N", I, "500", "open shards per account and region (default 500)"},
    {"journal-bytes", "N", I, NULL, "size of a commit journal file (default 64 MiB, at least 1 MiB)"},
    {"checkpoint-bytes", "N", I, NULL,
     "journal bytes between checkpoints, which write the shards'\n"
     "data behind and recycle the journal (default half a file)"},
    {"checkpoint-interval", "MS", I, NULL, "and at least this often while writes come (default 2000)"},
    {"consumer-delay", "MS", I, "0", "time a new consumer stays CREATING (default 0)"},
    {"subscription-lifetime", "MS", I, NULL, "how long a SubscribeToShard stream lasts (default 300000)"},
    {"log-level", "debug|info|warn|error", S, "info", "what to log (default info)"},
    {"log-format", "text|json", S, "text", "stderr lines as text or as JSON objects (default text)"},
    {"access-log", "FILE", S, NULL, "one JSON line per request (- for stderr; never record data)"},
    {"master-key-file", "FILE", S, NULL, "wrap encrypted streams' data keys under SHA-256(FILE)"},
    {"kms-strict", NULL, B, "false", "a KMS KeyId runnel's KMS does not hold is KMSNotFoundException"},
    {"credentials", "FILE", S, NULL,
     "verify SigV4 and IAM policies against FILE (SIGHUP reloads);\n"
     "without it: developer mode (well-formed signatures accepted)"},
    {"enforce-limits", NULL, B, "false",
     "throttle as AWS does: per-shard rates, control-plane TPS,\n"
     "on-demand stream count (default off)"},
    {"enable-test-clock", NULL, B, "false", "tests only: honour x-runnel-test-clock-offset-ms"},
    {"test-counters-at-commit", NULL, B, "false",
     "tests only: the store reports counters at commit, as cluster\n"
     "mode's does (docs/cluster.md)"},
    {"admin-listen", "HOST:PORT", S, NULL,
     "also serve /health/live, /health/ready and /metrics here, from\n"
     "start-up (ready: 503 until the store is recovered and after\n"
     "SIGTERM); the API port serves them too (/metrics: developer mode)"},
    {"metrics-max-streams", "N", I, NULL,
     "streams with /metrics series (default 2000; more are counted\n"
     "in runnel_metrics_dropped_total)"},
    {"init-streams", "LIST", S, NULL,
     "streams to create (ACTIVE) before serving, if missing:\n"
     "NAME[:SHARDS[:PROVISIONED]] or NAME[:ON_DEMAND],..."},
    {"inject-errors", "RULES", S, NULL,
     "tests of client retries: OPERATION=FAULT[@PROBABILITY],...\n"
     "FAULT: an error type (ProvisionedThroughputExceededException,\n"
     "InternalFailure, ServiceUnavailable, KMSThrottlingException,\n"
     "...), records:TYPE (PutRecords entries) or latency:MS;\n"
     "OPERATION may be * (default: off)"},
    {"tls-cert", "FILE", S, NULL, "PEM certificate (chain): serve TLS too, on the same port"},
    {"tls-key", "FILE", S, NULL, "PEM private key for --tls-cert (default: the cert file)"},
    {"tls-self-signed", NULL, B, "false", "make a development certificate in memory at start-up"},
    {"tls-listen", "HOST:PORT", S, NULL, "also serve TLS only on this address"},
    {"idle-timeout", "MS", I, NULL,
     "close a connection with no request in progress, and reset an\n"
     "HTTP/2 answer the peer's window does not let out (default 300000)"},
    {"read-timeout", "MS", I, NULL,
     "a request head (the first one counted from the accept) or a\n"
     "stalled body or output gets this long (default 60000)"},
    {"max-connections", "N", I, NULL,
     "connections served at once; more wait in the backlog\n"
     "(default: the fd limit less a reserve for files: a quarter\n"
     "of the first 4096, at least 32, and half of the rest)"},
    {"max-open-files", "N", I, NULL,
     "shard segment files kept open; past it the least recently\n"
     "used shards' are closed and reopened on use (default: half\n"
     "that quarter plus half of the rest: 512 at a limit of 4096,\n"
     "8464 at 20000; given alone, connections default to the fd\n"
     "limit less N and the quarter's other half)"},
    {"max-buffered-bytes", "N", I, NULL,
     "request body bytes buffered at once, all connections; beyond\n"
     "it 503 ServiceUnavailable (default 268435456); over as many\n"
     "unsent HTTP/2 answer bytes, connections behind wait"},
    {"min-body-rate", "BYTES", I, NULL,
     "a body arriving for longer than the read timeout must average\n"
     "this many bytes per second (default 1024)"},
    /* identity, accounts and regions (docs/limits.md) */
    {"max-namespaces", "N", I, NULL, "(account, region) pairs that may hold streams or settings\n(default 64)"},
};
const size_t rn_serve_option_count = sizeof rn_serve_options / sizeof *rn_serve_options;

#undef B
#undef I
#undef S

#define CONFIG_MAX_BYTES (1 << 20)

const rn_opt_t *rn_option_find(const char *name, size_t n)
{
    for (size_t i = 0; i < rn_serve_option_count; i++)
        if (strlen(rn_serve_options[i].name) == n && memcmp(rn_serve_options[i].name, name, n) == 0)
            return &rn_serve_options[i];
    return NULL;
}

int rn_opt_parse_bool(const char *s)
{
    return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
           strcasecmp(s, "on") == 0;
}

/* RUNNEL_<NAME>, '-' as '_'. */
static void env_name(const rn_opt_t *opt, char *out, size_t cap)
{
    size_t k = snprintf(out, cap, "RUNNEL_");
    for (const char *p = opt->name; *p && k + 1 < cap; p++)
        out[k++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    out[k] = 0;
}

/* s[0..n) for a message: at most 64 bytes, non-printable bytes as \xNN. */
static void quote_for_message(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 64 && k + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", ch);
        else
            out[k++] = (char)ch;
    }
    if (n > 64 && k + 4 < cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the file -------------------------------------------------------------------- */

static const char *event_shape(yaml_event_type_t t)
{
    switch (t) {
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "not a scalar";
    }
}

/* A plain null (~, null, nothing) or an empty scalar: the option is not set. */
static int scalar_is_unset(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (n == 0)
        return 1;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return (n == 1 && v[0] == '~') ||
           (n == 4 && (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0));
}

static int scalar_bool(const yaml_event_t *ev, int *out)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return -1;
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (n == strlen(t[i]) && memcmp(v, t[i], n) == 0)
            return *out = 1, 0;
        if (n == strlen(f[i]) && memcmp(v, f[i], n) == 0)
            return *out = 0, 0;
    }
    return -1;
}

typedef struct file_parse {
    yaml_parser_t parser;
    const char *file;
    char *err;
    size_t errlen;
    char key[80]; /* the last key read, quoted for messages ("" before the first) */
    rn_opt_value_t *vals;
    size_t n;
} file_parse_t;

/* The next event; -1 with the message on a YAML error. */
static int next_event(file_parse_t *p, yaml_event_t *ev)
{
    if (yaml_parser_parse(&p->parser, ev))
        return 0;
    const yaml_parser_t *y = &p->parser;
    char after[120] = "";
    if (p->key[0])
        snprintf(after, sizeof after, " (after key '%s')", p->key);
    errf(p->err, p->errlen, "%s:%lu: YAML syntax error: %s%s%s%s", p->file,
         (unsigned long)y->problem_mark.line + 1, y->problem ? y->problem : "unreadable",
         y->context ? " " : "", y->context ? y->context : "", after);
    return -1;
}

/* One key and its value, the key's scalar event in ev. */
static int parse_entry(file_parse_t *p, yaml_event_t *ev)
{
    unsigned long line = (unsigned long)ev->start_mark.line + 1;
    const char *k = (const char *)ev->data.scalar.value;
    size_t kn = ev->data.scalar.length;
    quote_for_message(k, kn, p->key, sizeof p->key);
    if (kn == 6 && memcmp(k, "config", 6) == 0) {
        errf(p->err, p->errlen, "%s:%lu: key 'config': a configuration file cannot name another", p->file, line);
        return -1;
    }
    const rn_opt_t *opt = rn_option_find(k, kn);
    if (!opt) {
        errf(p->err, p->errlen, "%s:%lu: unknown key '%s' (the keys are runnel serve's options without "
             "the --, e.g. data-dir)", p->file, line, p->key);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->vals[i].opt == opt) {
            errf(p->err, p->errlen, "%s:%lu: duplicate key '%s' (first on line %d)", p->file, line, opt->name,
                 p->vals[i].line);
            return -1;
        }
    }
    yaml_event_t val;
    if (next_event(p, &val) != 0)
        return -1;
    int rc = -1;
    unsigned long vline = (unsigned long)val.start_mark.line + 1;
    if (val.type != YAML_SCALAR_EVENT) {
        errf(p->err, p->errlen, "%s:%lu: key '%s' takes a single value (%s), not %s", p->file, vline, opt->name,
             opt->kind == RN_OPT_BOOL ? "true or false" : opt->kind == RN_OPT_INT ? "a number" : "text",
             event_shape(val.type));
        goto out;
    }
    rn_opt_value_t *slot = &p->vals[p->n]; /* n < the option count: a repeated key stopped above */
    slot->opt = opt;
    slot->source = RN_SRC_FILE;
    slot->line = (int)line;
    slot->value = NULL;
    if (!scalar_is_unset(&val)) {
        if (opt->kind == RN_OPT_BOOL) {
            int b;
            if (scalar_bool(&val, &b) != 0) {
                char q[80];
                quote_for_message((const char *)val.data.scalar.value, val.data.scalar.length, q, sizeof q);
                errf(p->err, p->errlen, "%s:%lu: key '%s' takes true or false, not '%s'", p->file, vline,
                     opt->name, q);
                goto out;
            }
            slot->value = b ? "true" : "false";
        } else {
            const char *v = (const char *)val.data.scalar.value;
            if (memchr(v, 0, val.data.scalar.length)) {
                errf(p->err, p->errlen, "%s:%lu: key '%s': the value holds a NUL byte", p->file, vline, opt->name);
                goto out;
            }
            char *copy = strdup(v);
            if (!copy) {
                errf(p->err, p->errlen, "%s: out of memory", p->file);
                goto out;
            }
            slot->value = copy;
        }
    }
    p->n++;
    rc = 0;
out:
    yaml_event_delete(&val);
    return rc;
}

/* The top-level mapping, its MAPPING_START read. */
static int parse_mapping(file_parse_t *p)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(p, &ev) != 0)
            return -1;
        int rc = 0;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            errf(p->err, p->errlen, "%s:%lu: a key must be an option name, not %s", p->file,
                 (unsigned long)ev.start_mark.line + 1, event_shape(ev.type));
            rc = -1;
        } else {
            rc = parse_entry(p, &ev);
        }
        yaml_event_delete(&ev);
        if (rc != 0)
            return -1;
    }
}

void rn_opt_values_free(rn_opt_value_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (v[i].opt->kind != RN_OPT_BOOL)
            free((char *)v[i].value);
    free(v);
}

int rn_options_parse_yaml(const char *text, size_t len, const char *file, rn_opt_value_t **out, size_t *n,
                          char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    file_parse_t p = {.file = file, .err = err, .errlen = errlen};
    p.vals = calloc(rn_serve_option_count, sizeof *p.vals);
    if (!p.vals || !yaml_parser_initialize(&p.parser)) {
        free(p.vals);
        errf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
    int rc = -1, docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(&p, &ev) != 0)
            break;
        yaml_event_type_t t = ev.type;
        unsigned long line = (unsigned long)ev.start_mark.line + 1;
        int bad = 0;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            rc = 0;
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            errf(err, errlen, "%s:%lu: one YAML document only (a second starts here)", file, line);
            bad = 1;
        } else if (t == YAML_MAPPING_START_EVENT) {
            bad = parse_mapping(&p) != 0;
        } else if (t == YAML_SCALAR_EVENT && scalar_is_unset(&ev)) {
            /* an empty document */
        } else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT &&
                   t != YAML_DOCUMENT_END_EVENT) {
            errf(err, errlen, "%s:%lu: the file must be a mapping of option: value, not %s", file, line,
                 t == YAML_SCALAR_EVENT ? "a scalar" : event_shape(t));
            bad = 1;
        }
        yaml_event_delete(&ev);
        if (bad)
            break;
    }
    yaml_parser_delete(&p.parser);
    if (rc != 0) {
        rn_opt_values_free(p.vals, p.n);
        return -1;
    }
    *out = p.vals;
    *n = p.n;
    return 0;
}

/* The whole file into memory (at most CONFIG_MAX_BYTES). */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errf(err, errlen, "cannot read the configuration file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > CONFIG_MAX_BYTES) {
        errf(err, errlen, "cannot read the configuration file %s: %s", path,
             bad ? "read error" : "larger than 1 MiB");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* ---- loading ----------------------------------------------------------------------- */

/* A value from a source: apply it and note it as the one in force. */
static int take(rn_options_t *o, const rn_opt_value_t *v, rn_opt_apply_fn apply, void *ud, char *err,
                size_t errlen)
{
    if (!v->value)
        return 0;
    char msg[512];
    msg[0] = 0;
    if (apply(ud, v->opt, v->value, msg, sizeof msg) != 0) {
        if (v->source == RN_SRC_FILE)
            errf(err, errlen, "%s:%d: key '%s': %s", o->config_file, v->line, v->opt->name, msg);
        else
            errf(err, errlen, "%s", msg);
        return -1;
    }
    o->effective[v->opt - rn_serve_options] = *v;
    return 0;
}

int rn_options_load(rn_options_t *o, int argc, char **argv, rn_opt_apply_fn apply, void *ud, char *err,
                    size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->effective = calloc(rn_serve_option_count, sizeof *o->effective);
    rn_opt_value_t *flags = calloc((size_t)argc + 1, sizeof *flags);
    int rc = RN_OPTIONS_ERROR;
    size_t nflags = 0;
    if (!o->effective || !flags) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    /* The command line first, to find --config; its values are applied last. */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            errf(err, errlen, "unexpected argument '%s'", a);
            rc = RN_OPTIONS_USAGE;
            goto out;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *val = eq ? eq + 1 : NULL;
        if (nl == 12 && memcmp(a, "print-config", 12) == 0 && !val) {
            o->print_config = 1;
            continue;
        }
        const rn_opt_t *opt = rn_option_find(a, nl);
        int is_config = nl == 6 && memcmp(a, "config", 6) == 0;
        if (!opt && !is_config) {
            errf(err, errlen, "unknown option --%.*s", (int)nl, a);
            rc = RN_OPTIONS_USAGE;
            goto out;
        }
        if (!val && opt && opt->kind == RN_OPT_BOOL) {
            val = "true";
        } else if (!val) {
            if (i + 1 >= argc) {
                errf(err, errlen, "--%.*s needs a value", (int)nl, a);
                goto out;
            }
            val = argv[++i];
        }
        if (is_config) {
            o->config_file = val;
            o->config_source = RN_SRC_FLAG;
        } else {
            flags[nflags++] = (rn_opt_value_t){.opt = opt, .value = val, .source = RN_SRC_FLAG};
        }
    }
    for (size_t i = 0; i < rn_serve_option_count; i++) {
        rn_opt_value_t d = {.opt = &rn_serve_options[i], .value = rn_serve_options[i].def, .source = RN_SRC_DEFAULT};
        o->effective[i] = d;
        if (take(o, &d, apply, ud, err, errlen) != 0)
            goto out;
    }
    const char *envfile = getenv("RUNNEL_CONFIG");
    if (!o->config_file && envfile && *envfile) {
        o->config_file = envfile;
        o->config_source = RN_SRC_ENV;
    }
    if (o->config_file) {
        size_t len;
        char *text = read_file(o->config_file, &len, err, errlen);
        if (!text)
            goto out;
        int prc = rn_options_parse_yaml(text, len, o->config_file, &o->file, &o->nfile, err, errlen);
        free(text);
        if (prc != 0)
            goto out;
        for (size_t i = 0; i < o->nfile; i++)
            if (take(o, &o->file[i], apply, ud, err, errlen) != 0)
                goto out;
    }
    for (size_t i = 0; i < rn_serve_option_count; i++) {
        char env[64];
        env_name(&rn_serve_options[i], env, sizeof env);
        const char *v = getenv(env);
        rn_opt_value_t e = {.opt = &rn_serve_options[i], .value = v, .source = RN_SRC_ENV};
        if (v && *v && take(o, &e, apply, ud, err, errlen) != 0)
            goto out;
    }
    for (size_t i = 0; i < nflags; i++)
        if (take(o, &flags[i], apply, ud, err, errlen) != 0)
            goto out;
    rc = RN_OPTIONS_OK;
out:
    free(flags);
    return rc;
}

void rn_options_free(rn_options_t *o)
{
    free(o->effective);
    rn_opt_values_free(o->file, o->nfile);
    memset(o, 0, sizeof *o);
}

/* ---- printing ---------------------------------------------------------------------- */

/* A YAML double-quoted scalar that libyaml reads back as s: the characters YAML does not allow
 * in a stream (C0 and C1 controls, DEL, U+FFFE, U+FFFF), its line breaks beyond \n (NEL, LS, PS,
 * which a quoted scalar would fold) and the BOM are escaped. Text that is not UTF-8 cannot be
 * written in YAML at all (options.h). */
static void print_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            if (p[1] == 0x85)
                fputs("\\N", out);
            else
                fprintf(out, "\\x%02x", p[1]);
            p++;
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            fputs(p[2] == 0xa8 ? "\\L" : "\\P", out);
            p += 2;
        } else if ((p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) ||
                   (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))) {
            fprintf(out, "\\u%s", p[1] == 0xbb ? "FEFF" : p[2] == 0xbe ? "FFFE" : "FFFF");
            p += 2;
        } else if (*p == '"' || *p == '\\') {
            fprintf(out, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\x%02x", *p);
        } else {
            fputc(*p, out);
        }
    }
    fputc('"', out);
}

void rn_options_print(const rn_options_t *o, FILE *out)
{
    fprintf(out, "# runnel %s: the effective configuration of `runnel serve` (--print-config).\n"
                 "# Precedence: flag > environment (RUNNEL_*) > file > default; null: not set.\n",
            RUNNEL_VERSION);
    if (o->config_file) {
        fputs("# configuration file: ", out);
        print_quoted(out, o->config_file);
        fputs(o->config_source == RN_SRC_FLAG ? " (--config)\n" : " (RUNNEL_CONFIG)\n", out);
    }
    for (size_t i = 0; i < rn_serve_option_count; i++) {
        const rn_opt_value_t *v = &o->effective[i];
        const rn_opt_t *opt = &rn_serve_options[i];
        fprintf(out, "%s: ", opt->name);
        if (!v->value)
            fputs("null", out);
        else if (opt->kind == RN_OPT_BOOL)
            fputs(rn_opt_parse_bool(v->value) ? "true" : "false", out);
        else if (opt->kind == RN_OPT_INT && v->value[0] && strspn(v->value, "0123456789") == strlen(v->value))
            fputs(v->value, out);
        else
            print_quoted(out, v->value);
        char env[64];
        switch (v->source) {
        case RN_SRC_DEFAULT:
            fputs("  # default\n", out);
            break;
        case RN_SRC_FILE:
            fprintf(out, "  # file, line %d\n", v->line);
            break;
        case RN_SRC_ENV:
            env_name(opt, env, sizeof env);
            fprintf(out, "  # env %s\n", env);
            break;
        case RN_SRC_FLAG:
            fprintf(out, "  # flag --%s\n", opt->name);
            break;
        }
    }
}

/* ---- --help ------------------------------------------------------------------------ */

#define HELP_COLUMN 31

static void usage_line(FILE *out, const char *flag, const char *help)
{
    int w = fprintf(out, "  %s", flag);
    if (w >= HELP_COLUMN) {
        fputc('\n', out);
        w = 0;
    }
    fprintf(out, "%*s", HELP_COLUMN - w, "");
    for (const char *p = help; *p; p++) {
        fputc(*p, out);
        if (*p == '\n')
            fprintf(out, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', out);
}

void rn_options_usage(FILE *out)
{
    usage_line(out, "--config FILE", "read options from a YAML file (also RUNNEL_CONFIG), one\n"
                                     "`option: value` per line (docs/operations.md)");
    usage_line(out, "--print-config", "print the effective configuration as such a file, with where\n"
                                      "each value came from, and exit");
    for (size_t i = 0; i < rn_serve_option_count; i++) {
        const rn_opt_t *opt = &rn_serve_options[i];
        char flag[96];
        snprintf(flag, sizeof flag, "--%s%s%s", opt->name, opt->metavar ? " " : "",
                 opt->metavar ? opt->metavar : "");
        usage_line(out, flag, opt->help);
    }
}
