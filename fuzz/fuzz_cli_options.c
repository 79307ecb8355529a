/* fuzz_cli_options.c: the --config file's parser (cli/options.h) on arbitrary bytes.
 *
 * Beyond "never crash": an accepted file names each option at most once, on a line of the file,
 * a boolean only as true or false; a refusal's message names the file and a line and is printable
 * ASCII (keys and values from the input are escaped). What is accepted, printed as
 * --print-config prints it and parsed again, gives the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_cli_options: %s\n", what);
    abort();
}

static void check_accepted(const char *data, size_t size, rn_opt_value_t *v, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n' || data[i] == '\r';
    rn_opt_value_t eff[128];
    if (rn_serve_option_count > sizeof eff / sizeof *eff)
        fail("the table outgrew the harness");
    for (size_t i = 0; i < rn_serve_option_count; i++)
        eff[i] = (rn_opt_value_t){.opt = &rn_serve_options[i], .source = RN_SRC_DEFAULT};
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(v[i].opt - rn_serve_options);
        if (k >= rn_serve_option_count)
            fail("a value for no option");
        if (eff[k].source == RN_SRC_FILE)
            fail("an option accepted twice");
        if (v[i].line < 1 || (size_t)v[i].line > lines)
            fail("a line outside the file");
        if (v[i].opt->kind == RN_OPT_BOOL && v[i].value && strcmp(v[i].value, "true") != 0 &&
            strcmp(v[i].value, "false") != 0)
            fail("a boolean that is not true or false");
        eff[k] = v[i];
    }
    /* --print-config's text of it parses back to the same values */
    rn_options_t o = {.effective = eff, .config_file = "f.yaml", .config_source = RN_SRC_FLAG};
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    if (!f)
        return;
    rn_options_print(&o, f);
    fclose(f);
    rn_opt_value_t *back;
    size_t nback;
    char err[512];
    if (rn_options_parse_yaml(out, outlen, "printed", &back, &nback, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n%s\n", err, out);
        fail("the printed configuration does not parse");
    }
    if (nback != rn_serve_option_count)
        fail("the printed configuration lacks options");
    for (size_t i = 0; i < nback; i++) {
        const rn_opt_value_t *e = &eff[back[i].opt - rn_serve_options];
        if (!e->value != !back[i].value || (e->value && strcmp(e->value, back[i].value) != 0)) {
            fprintf(stderr, "%s: '%s' printed, '%s' read back\n", back[i].opt->name, e->value ? e->value : "(null)",
                    back[i].value ? back[i].value : "(null)");
            fail("the printed configuration reads back different");
        }
    }
    rn_opt_values_free(back, nback);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rn_opt_value_t *v;
    size_t n;
    char err[512];
    err[0] = 0;
    if (rn_options_parse_yaml((const char *)data, size, "f.yaml", &v, &n, err, sizeof err) == 0) {
        check_accepted((const char *)data, size, v, n);
        rn_opt_values_free(v, n);
        return 0;
    }
    if (strncmp(err, "f.yaml:", 7) != 0 && strcmp(err, "f.yaml: out of memory") != 0)
        fail("a refusal that does not name the file and line");
    for (const char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            fail("a refusal echoes a non-printable byte");
    return 0;
}
