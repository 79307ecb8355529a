/* test_cli_options.c: runnel serve's options (cli/options.h): the YAML file's parser and its
 * errors, the precedence flag > environment > file > default, --print-config's output read back
 * as a file, and --help's lines from the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "tap.h"

static int parse(const char *text, rn_opt_value_t **v, size_t *n, char *err, size_t errlen)
{
    return rn_options_parse_yaml(text, strlen(text), "t.yaml", v, n, err, errlen);
}

static const rn_opt_value_t *find(const rn_opt_value_t *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].opt->name, name) == 0)
            return &v[i];
    return NULL;
}

static void test_parse_ok(void)
{
    rn_opt_value_t *v;
    size_t n;
    char err[512] = "";
    const char *text = "# a comment\n"
                       "data-dir: /var/lib/runnel\n"
                       "fsync: 'interval:5'\n"
                       "init-streams: a:2,b\n"
                       "in-memory: true\n"
                       "kms-strict: False\n"
                       "shard-limit: 7\n"
                       "tls-cert: ~\n"
                       "tls-key:\n"
                       "region: \"eu-west-1\"\n";
    CHECK_EQ_INT(parse(text, &v, &n, err, sizeof err), 0);
    CHECK_EQ_INT(n, 9);
    const rn_opt_value_t *d = find(v, n, "data-dir");
    CHECK(d && strcmp(d->value, "/var/lib/runnel") == 0 && d->line == 2 && d->source == RN_SRC_FILE);
    CHECK_EQ_STR(find(v, n, "fsync")->value, "interval:5");
    CHECK_EQ_STR(find(v, n, "init-streams")->value, "a:2,b");
    CHECK_EQ_STR(find(v, n, "in-memory")->value, "true");
    CHECK_EQ_STR(find(v, n, "kms-strict")->value, "false");
    CHECK_EQ_STR(find(v, n, "shard-limit")->value, "7");
    CHECK(find(v, n, "tls-cert")->value == NULL); /* null: not set */
    CHECK(find(v, n, "tls-key")->value == NULL);
    CHECK_EQ_INT(find(v, n, "region")->line, 10);
    rn_opt_values_free(v, n);

    /* nothing, only comments, an explicit empty document, an empty flow mapping */
    const char *empties[] = {"", "# nothing\n", "---\n...\n", "{}\n", "~\n"};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        CHECK_EQ_INT(parse(empties[i], &v, &n, err, sizeof err), 0);
        CHECK_EQ_INT(n, 0);
        rn_opt_values_free(v, n);
    }
}

static void parse_bad(const char *text, const char *want)
{
    rn_opt_value_t *v = (rn_opt_value_t *)1;
    size_t n = 99;
    char err[512] = "";
    CHECK_EQ_INT(parse(text, &v, &n, err, sizeof err), -1);
    CHECK(v == NULL && n == 0);
    if (!strstr(err, want))
        fprintf(stderr, "  error: %s\n  wanted: %s\n", err, want);
    CHECK(strstr(err, want) != NULL);
}

static void test_parse_errors(void)
{
    parse_bad("region: a\nfoo: 1\n", "t.yaml:2: unknown key 'foo'");
    parse_bad("region: a\nlisten: [a, b]\n", "t.yaml:2: key 'listen' takes a single value (text), not a sequence");
    parse_bad("region: a\n\nshard-limit:\n  x: 1\n", "t.yaml:4: key 'shard-limit' takes a single value (a number), not a mapping");
    parse_bad("region: a\nshard-limit: 3\nregion: b\n", "t.yaml:3: duplicate key 'region' (first on line 1)");
    parse_bad("region: a\n  bad: : x\n", "t.yaml:2: YAML syntax error: mapping values are not allowed");
    parse_bad("region: a\nlisten: \"open\n", "YAML syntax error: found unexpected end of stream");
    parse_bad("in-memory: maybe\n", "t.yaml:1: key 'in-memory' takes true or false, not 'maybe'");
    parse_bad("in-memory: 'true'\n", "t.yaml:1: key 'in-memory' takes true or false");
    parse_bad("- a\n- b\n", "t.yaml:1: the file must be a mapping of option: value, not a sequence");
    parse_bad("just text\n", "the file must be a mapping of option: value, not a scalar");
    parse_bad("region: &x a\nlisten: *x\n", "t.yaml:2: key 'listen' takes a single value (text), not an alias");
    parse_bad("[a]: 1\n", "t.yaml:1: a key must be an option name, not a sequence");
    parse_bad("region: a\n---\nregion: b\n", "t.yaml:2: one YAML document only");
    parse_bad("config: other.yaml\n", "t.yaml:1: key 'config': a configuration file cannot name another");
    parse_bad("\"re\\tgion\": a\n", "unknown key 're\\x09gion'"); /* echoed escaped */
    /* a key repeated after every option is set is still a duplicate */
    char big[8192];
    size_t k = 0;
    for (size_t i = 0; i < rn_serve_option_count; i++)
        k += (size_t)snprintf(big + k, sizeof big - k, "%s: %s\n", rn_serve_options[i].name,
                              rn_serve_options[i].kind == RN_OPT_BOOL ? "true" : "1");
    snprintf(big + k, sizeof big - k, "listen: x\n");
    char want[64];
    snprintf(want, sizeof want, "t.yaml:%zu: duplicate key 'listen' (first on line 1)", rn_serve_option_count + 1);
    parse_bad(big, want);
}

/* The apply function of these tests: records every value applied, refuses fsync 'bad'. */
typedef struct applied {
    char log[8192];
} applied_t;

static int apply(void *ud, const rn_opt_t *opt, const char *value, char *err, size_t errlen)
{
    applied_t *a = ud;
    if (strcmp(opt->name, "fsync") == 0 && strcmp(value, "bad") == 0) {
        snprintf(err, errlen, "--fsync must be always, interval:<ms> or never, not '%s'", value);
        return -1;
    }
    size_t k = strlen(a->log);
    snprintf(a->log + k, sizeof a->log - k, "%s=%s;", opt->name, value);
    return 0;
}

static const rn_opt_value_t *eff(const rn_options_t *o, const char *name)
{
    return &o->effective[rn_option_find(name, strlen(name)) - rn_serve_options];
}

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_cli_options_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    return path;
}

static void test_precedence(void)
{
    char *path = strdup(write_temp("region: file-region\nlisten: 127.0.0.1:1111\nshard-limit: 9\n"
                                   "account-id: '111111111111'\nin-memory: true\n"));
    setenv("RUNNEL_REGION", "env-region", 1);
    setenv("RUNNEL_LISTEN", "127.0.0.1:2222", 1);
    setenv("RUNNEL_KMS_STRICT", "yes", 1);
    char *argv[] = {"--listen", "127.0.0.1:3333", "--config", path, "--enforce-limits", NULL};
    rn_options_t o;
    applied_t a = {{0}};
    char err[512] = "";
    CHECK_EQ_INT(rn_options_load(&o, 5, argv, apply, &a, err, sizeof err), RN_OPTIONS_OK);
    /* flag > env > file > default */
    CHECK_EQ_STR(eff(&o, "listen")->value, "127.0.0.1:3333");
    CHECK_EQ_INT(eff(&o, "listen")->source, RN_SRC_FLAG);
    CHECK_EQ_STR(eff(&o, "region")->value, "env-region");
    CHECK_EQ_INT(eff(&o, "region")->source, RN_SRC_ENV);
    CHECK_EQ_STR(eff(&o, "shard-limit")->value, "9");
    CHECK_EQ_INT(eff(&o, "shard-limit")->source, RN_SRC_FILE);
    CHECK_EQ_INT(eff(&o, "shard-limit")->line, 3);
    CHECK_EQ_STR(eff(&o, "fsync")->value, "always");
    CHECK_EQ_INT(eff(&o, "fsync")->source, RN_SRC_DEFAULT);
    CHECK(eff(&o, "tls-cert")->value == NULL);
    CHECK_EQ_STR(eff(&o, "enforce-limits")->value, "true");
    CHECK_EQ_STR(eff(&o, "kms-strict")->value, "yes");
    CHECK_EQ_STR(o.config_file, path);
    CHECK_EQ_INT(o.config_source, RN_SRC_FLAG);
    /* every source is applied in order: the default, the file, the environment, the flag */
    CHECK(strstr(a.log, "listen=127.0.0.1:4567;") < strstr(a.log, "listen=127.0.0.1:1111;"));
    CHECK(strstr(a.log, "listen=127.0.0.1:1111;") < strstr(a.log, "listen=127.0.0.1:2222;"));
    CHECK(strstr(a.log, "listen=127.0.0.1:2222;") < strstr(a.log, "listen=127.0.0.1:3333;"));

    /* --print-config, read back as a file, gives the same values */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    rn_options_print(&o, f);
    fclose(f);
    CHECK(strstr(out, "listen: \"127.0.0.1:3333\"  # flag --listen\n") != NULL);
    CHECK(strstr(out, "region: \"env-region\"  # env RUNNEL_REGION\n") != NULL);
    CHECK(strstr(out, "shard-limit: 9  # file, line 3\n") != NULL);
    CHECK(strstr(out, "fsync: \"always\"  # default\n") != NULL);
    CHECK(strstr(out, "tls-cert: null  # default\n") != NULL);
    CHECK(strstr(out, "kms-strict: true  # env RUNNEL_KMS_STRICT\n") != NULL);
    rn_opt_value_t *back;
    size_t nback;
    CHECK_EQ_INT(rn_options_parse_yaml(out, outlen, "printed", &back, &nback, err, sizeof err), 0);
    CHECK_EQ_INT(nback, rn_serve_option_count);
    for (size_t i = 0; i < nback; i++) {
        const rn_opt_value_t *e = &o.effective[back[i].opt - rn_serve_options];
        if (!e->value || !back[i].value) {
            CHECK(!e->value && !back[i].value);
        } else if (back[i].opt->kind == RN_OPT_BOOL) {
            CHECK_EQ_INT(rn_opt_parse_bool(back[i].value), rn_opt_parse_bool(e->value));
        } else {
            CHECK_EQ_STR(back[i].value, e->value);
        }
    }
    rn_opt_values_free(back, nback);
    free(out);
    rn_options_free(&o);
    unsetenv("RUNNEL_REGION");
    unsetenv("RUNNEL_LISTEN");
    unsetenv("RUNNEL_KMS_STRICT");

    /* RUNNEL_CONFIG names the file when --config does not */
    setenv("RUNNEL_CONFIG", path, 1);
    char *none[] = {NULL};
    CHECK_EQ_INT(rn_options_load(&o, 0, none, apply, &a, err, sizeof err), RN_OPTIONS_OK);
    CHECK_EQ_STR(eff(&o, "region")->value, "file-region");
    CHECK_EQ_INT(o.config_source, RN_SRC_ENV);
    rn_options_free(&o);
    unsetenv("RUNNEL_CONFIG");
    unlink(path);
    free(path);
}

static void load_bad(const char *file_text, int argc, char **argv, int want_rc, const char *want)
{
    char *path = file_text ? strdup(write_temp(file_text)) : NULL;
    char *args[8];
    int k = 0;
    if (path) {
        args[k++] = "--config";
        args[k++] = path;
    }
    for (int i = 0; i < argc; i++)
        args[k++] = argv[i];
    args[k] = NULL;
    rn_options_t o;
    applied_t a = {{0}};
    char err[512] = "";
    CHECK_EQ_INT(rn_options_load(&o, k, args, apply, &a, err, sizeof err), want_rc);
    if (!strstr(err, want))
        fprintf(stderr, "  error: %s\n  wanted: %s\n", err, want);
    CHECK(strstr(err, want) != NULL);
    rn_options_free(&o);
    if (path) {
        unlink(path);
        free(path);
    }
}

static void test_load_errors(void)
{
    load_bad("region: a\nfsync: bad\n", 0, NULL, RN_OPTIONS_ERROR, ":2: key 'fsync': --fsync must be always");
    char *a1[] = {"--fsync", "bad"};
    load_bad(NULL, 2, a1, RN_OPTIONS_ERROR, "--fsync must be always");
    char *a2[] = {"--nope"};
    load_bad(NULL, 1, a2, RN_OPTIONS_USAGE, "unknown option --nope");
    char *a3[] = {"stray"};
    load_bad(NULL, 1, a3, RN_OPTIONS_USAGE, "unexpected argument 'stray'");
    char *a4[] = {"--region"};
    load_bad(NULL, 1, a4, RN_OPTIONS_ERROR, "--region needs a value");
    char *a5[] = {"--config", "/nonexistent/runnel.yaml"};
    load_bad(NULL, 2, a5, RN_OPTIONS_ERROR,
             "cannot read the configuration file /nonexistent/runnel.yaml: No such file or directory");
    load_bad("bogus: 1\n", 0, NULL, RN_OPTIONS_ERROR, ":1: unknown key 'bogus'");
    /* the environment is applied (and checked) even when a flag overrides it */
    setenv("RUNNEL_FSYNC", "bad", 1);
    char *a6[] = {"--fsync", "never"};
    load_bad(NULL, 2, a6, RN_OPTIONS_ERROR, "--fsync must be always");
    unsetenv("RUNNEL_FSYNC");
}

static void test_usage(void)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    rn_options_usage(f);
    fclose(f);
    for (size_t i = 0; i < rn_serve_option_count; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "  --%s%s", rn_serve_options[i].name,
                 rn_serve_options[i].metavar ? " " : "");
        CHECK(strstr(out, flag) != NULL);
    }
    CHECK(strstr(out, "  --listen HOST:PORT           address to serve on (default 127.0.0.1:4567)\n") != NULL);
    CHECK(strstr(out, "  --fsync always|interval:MS|never\n                               when a write") != NULL);
    CHECK(strstr(out, "  --config FILE") != NULL && strstr(out, "  --print-config") != NULL);
    free(out);
}

int main(void)
{
    unsetenv("RUNNEL_CONFIG");
    test_parse_ok();
    test_parse_errors();
    test_precedence();
    test_load_errors();
    test_usage();
    return rn_test_done("test_cli_options");
}
