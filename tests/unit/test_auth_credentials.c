/* test_auth_credentials.c: the credentials store (src/auth/credentials.c):
 * a good file, each bad field with the line it names, a syntax error's
 * line, duplicate access keys, lookup, policies, load from a file, reload
 * semantics (a failed load leaves the old store alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "auth/credentials.h"
#include "tap.h"
#include "util/status.h"

static const char good[] =
    "{\n"                                                                  /* 1 */
    "  \"identities\": [\n"                                                /* 2 */
    "    {\n"                                                              /* 3 */
    "      \"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\",\n"                 /* 4 */
    "      \"secret_access_key\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n"
    "      \"account_id\": \"123456789012\",\n"                            /* 6 */
    "      \"arn\": \"arn:aws:iam::123456789012:user/alice\",\n"           /* 7 */
    "      \"policies\": [\n"                                              /* 8 */
    "        {\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", "
    "\"Action\": \"kinesis:*\", \"Resource\": \"*\"}]}\n"
    "      ]\n"
    "    },\n"                                                             /* 11 */
    "    {\n"                                                              /* 12 */
    "      \"access_key_id\": \"ASIAEXAMPLETEMP00001\",\n"
    "      \"secret_access_key\": \"temp/secret+key\",\n"
    "      \"session_token\": \"FwoGZXIvYXdzEXAMPLE==\",\n"
    "      \"account_id\": \"210987654321\",\n"
    "      \"arn\": \"arn:aws:sts::210987654321:assumed-role/reader/session-1\"\n"
    "    },\n"
    "    {\n"
    "      \"access_key_id\": \"AKIDROOT\",\n"
    "      \"secret_access_key\": \"s\",\n"
    "      \"account_id\": \"000000000000\",\n"
    "      \"arn\": \"arn:aws:iam::000000000000:root\"\n"
    "    },\n"
    "    {\n"
    "      \"access_key_id\": \"AKIDROLE\",\n"
    "      \"secret_access_key\": \"s2\",\n"
    "      \"account_id\": \"000000000000\",\n"
    "      \"arn\": \"arn:aws-cn:iam::000000000000:role/service-role/writer\",\n"
    "      \"policies\": []\n"
    "    }\n"
    "  ]\n"
    "}\n";

static void test_good(void)
{
    rn_creds_store_t *s = NULL;
    rn_creds_error_t e;
    CHECK_EQ_INT(rn_creds_store_load_buffer(good, strlen(good), "good.json", &s, &e), 0);
    CHECK_EQ_STR(e.text, "");
    CHECK_EQ_INT(rn_creds_store_count(s), 4);
    const rn_creds_identity_t *id = rn_creds_store_find(s, "AKIAIOSFODNN7EXAMPLE", 20);
    CHECK(id != NULL);
    if (id) {
        CHECK_EQ_STR(id->secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        CHECK_EQ_INT(id->secret_len, 40);
        CHECK(id->session_token == NULL);
        CHECK_EQ_STR(id->account_id, "123456789012");
        CHECK_EQ_STR(id->arn, "arn:aws:iam::123456789012:user/alice");
        CHECK_EQ_INT(id->line, 3);
        json_t *p = rn_creds_identity_policies(id);
        CHECK(json_is_array(p) && json_array_size(p) == 1);
        CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(p, 0), "Version")), "2012-10-17");
    }
    id = rn_creds_store_find(s, "ASIAEXAMPLETEMP00001", 20);
    CHECK(id && id->session_token && strcmp(id->session_token, "FwoGZXIvYXdzEXAMPLE==") == 0);
    CHECK(id && json_array_size(rn_creds_identity_policies(id)) == 0);
    CHECK_EQ_INT(id ? id->line : 0, 12);
    CHECK(id && rn_creds_identity_token_matches(id, "FwoGZXIvYXdzEXAMPLE==", 21));
    CHECK(id && !rn_creds_identity_token_matches(id, "FwoGZXIvYXdzEXAMPLE=", 20));
    CHECK(id && !rn_creds_identity_token_matches(id, "FwoGZXIvYXdzEXAMPLE=X", 21));
    CHECK(id && !rn_creds_identity_token_matches(id, "", 0));
    CHECK(rn_creds_store_find(s, "AKIDROOT", 8) != NULL);
    CHECK(rn_creds_identity_token_matches(rn_creds_store_find(s, "AKIDROOT", 8), "", 0));
    CHECK(!rn_creds_identity_token_matches(rn_creds_store_find(s, "AKIDROOT", 8), "tok", 3));
    CHECK(rn_creds_store_find(s, "AKIDROLE", 8) != NULL);
    CHECK(rn_creds_store_find(s, "AKIDROO", 7) == NULL);      /* a prefix is not a match */
    CHECK(rn_creds_store_find(s, "AKIDROOTX", 9) == NULL);
    CHECK(rn_creds_store_find(s, "akidroot", 8) == NULL);     /* case matters */
    CHECK(rn_creds_store_find(s, "", 0) == NULL);
    CHECK(rn_creds_store_at(s, 2) == rn_creds_store_find(s, "AKIDROOT", 8));
    CHECK(rn_creds_store_at(s, 4) == NULL);
    rn_creds_store_destroy(s);
    rn_creds_store_destroy(NULL);

    /* an empty list is a valid store with nobody in it */
    CHECK_EQ_INT(rn_creds_store_load_buffer("{\"identities\": []}", 18, NULL, &s, &e), 0);
    CHECK_EQ_INT(rn_creds_store_count(s), 0);
    CHECK(rn_creds_store_find(s, "A", 1) == NULL);
    rn_creds_store_destroy(s);
}

/* An identity built from fields; line 3 holds the field under test. */
static void expect_bad(const char *fields, int line, const char *want_substr)
{
    char doc[2048];
    rn_creds_store_t *s;
    rn_creds_error_t e;
    int rc;
    snprintf(doc, sizeof doc,
             "{\"identities\": [\n"
             "{\"access_key_id\": \"AKIDGOOD\", \"secret_access_key\": \"x\", \"account_id\": "
             "\"111111111111\", \"arn\": \"arn:aws:iam::111111111111:root\"},\n"
             "{\n%s\n}]}",
             fields);
    s = (rn_creds_store_t *)1;
    rc = rn_creds_store_load_buffer(doc, strlen(doc), "t.json", &s, &e);
    CHECK_EQ_INT(rc, RN_EINVAL);
    CHECK(s == NULL);
    CHECK_EQ_INT(e.identity, 1);
    CHECK_EQ_INT(e.line, line);
    if (!strstr(e.text, want_substr)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", e.text, want_substr);
        CHECK(0);
    }
}

#define OK_SECRET "\"secret_access_key\": \"x\",\n"
#define OK_ACCT "\"account_id\": \"222222222222\",\n"
#define OK_ARN "\"arn\": \"arn:aws:iam::222222222222:user/bob\""

static void test_bad_fields(void)
{
    /* missing fields: the identity's line */
    expect_bad(OK_SECRET OK_ACCT OK_ARN, 3, "t.json:3: identity 1: access_key_id is missing");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_ACCT OK_ARN, 3, "secret_access_key is missing");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ARN, 3, "account_id is missing");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET "\"account_id\": \"222222222222\"", 3,
               "arn is missing");
    /* bad values: the field's line */
    expect_bad("\"access_key_id\": 12,\n" OK_SECRET OK_ACCT OK_ARN, 4, "access_key_id must be a string");
    expect_bad("\"access_key_id\": \"\",\n" OK_SECRET OK_ACCT OK_ARN, 4, "access_key_id is empty");
    expect_bad("\"access_key_id\": \"AK/ID\",\n" OK_SECRET OK_ACCT OK_ARN, 4, "holds a character");
    expect_bad("\"access_key_id\": \"AKIDB\",\n\"secret_access_key\": \"a b\",\n" OK_ACCT OK_ARN, 5,
               "secret_access_key must be printable");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET "\"account_id\": \"12345\",\n" OK_ARN, 6,
               "account_id must be 12 digits, got '12345'");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET "\"account_id\": \"12345678901x\",\n" OK_ARN, 6,
               "account_id must be 12 digits");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET "\"account_id\": 222222222222,\n" OK_ARN, 6,
               "account_id must be a string");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT
               "\"arn\": \"arn:aws:iam::333333333333:user/bob\"",
               7, "arn account '333333333333' does not match account_id '222222222222'");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT "\"arn\": \"bob\"", 7,
               "is not arn:<partition>:iam::<account>:<resource>");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT
               "\"arn\": \"arn:aws:iam::222222222222:group/admins\"",
               7, "names no user, role or root");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT
               "\"arn\": \"arn:aws:s3::222222222222:root\"",
               7, "names no user, role or root");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT
               "\"arn\": \"arn:aws:iam::22222222222:root\"",
               7, "bad account id");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT
               "\"arn\": \"arn:aws:iam::222222222222:user/\"",
               7, "names no user");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET "\"session_token\": \"\",\n" OK_ACCT OK_ARN, 6,
               "session_token is empty");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT OK_ARN ",\n\"policies\": {}", 8,
               "policies must be an array");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT OK_ARN ",\n\"policies\": [\"Allow\"]", 8,
               "policies[0] must be a policy document");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT OK_ARN ",\n\"polices\": []", 3,
               "unknown field 'polices'");
}

/* "expiration": when a session token stops being valid (ExpiredTokenException). */
static void test_expiration(void)
{
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET OK_ACCT OK_ARN ",\n\"expiration\": \"2026-12-02T15:00:00Z\"", 8,
               "expiration needs a session_token");
    expect_bad("\"access_key_id\": \"AKIDB\",\n" OK_SECRET "\"session_token\": \"tok\",\n" OK_ACCT OK_ARN
               ",\n\"expiration\": \"tomorrow\"", 9,
               "expiration must be an ISO 8601 date-time such as 2026-12-02T15:00:00Z, got 'tomorrow'");
    static const char doc[] =
        "{\"identities\": [{\"access_key_id\": \"ASIAX\", \"secret_access_key\": \"s\", \"session_token\": \"t\",\n"
        " \"expiration\": \"2026-12-02T15:00:00Z\", \"account_id\": \"123456789012\",\n"
        " \"arn\": \"arn:aws:sts::123456789012:assumed-role/r/s\"},\n"
        " {\"access_key_id\": \"ASIAY\", \"secret_access_key\": \"s\", \"session_token\": \"t\",\n"
        " \"account_id\": \"123456789012\", \"arn\": \"arn:aws:iam::123456789012:user/u\"}]}";
    rn_creds_store_t *st = NULL;
    rn_creds_error_t err;
    CHECK_EQ_INT(rn_creds_store_load_buffer(doc, strlen(doc), "e.json", &st, &err), 0);
    if (!st)
        return;
    const rn_creds_identity_t *x = rn_creds_store_find(st, "ASIAX", 5), *y = rn_creds_store_find(st, "ASIAY", 5);
    CHECK(x && x->has_expiration && x->expiration_ms == INT64_C(1796223600000));
    CHECK(x && !rn_creds_identity_expired(x, INT64_C(1796223599999)));
    CHECK(x && rn_creds_identity_expired(x, INT64_C(1796223600000)));
    CHECK(y && !y->has_expiration && !rn_creds_identity_expired(y, INT64_C(1) << 50));
    rn_creds_store_destroy(st);
}

static void test_syntax_and_shape(void)
{
    rn_creds_store_t *s;
    rn_creds_error_t e;
    const char *doc = "{\n  \"identities\": [\n    {\"access_key_id\": \"A\",}\n  ]\n}\n";
    CHECK_EQ_INT(rn_creds_store_load_buffer(doc, strlen(doc), "syn.json", &s, &e), RN_EINVAL);
    CHECK_EQ_INT(e.line, 3);
    CHECK(strncmp(e.text, "syn.json:3:", 11) == 0);
    /* duplicate keys inside one object are a syntax error too (jansson names the line) */
    doc = "{\"identities\": [\n{\"access_key_id\": \"A\",\n \"access_key_id\": \"B\"}]}";
    CHECK_EQ_INT(rn_creds_store_load_buffer(doc, strlen(doc), "dupkey.json", &s, &e), RN_EINVAL);
    CHECK_EQ_INT(e.line, 3);
    CHECK(strstr(e.text, "duplicate") != NULL);
    /* shapes */
    CHECK_EQ_INT(rn_creds_store_load_buffer("[]", 2, "x", &s, &e), RN_EINVAL);
    CHECK(strstr(e.text, "top level must be an object") != NULL);
    CHECK_EQ_INT(rn_creds_store_load_buffer("{}", 2, "x", &s, &e), RN_EINVAL);
    CHECK(strstr(e.text, "\"identities\" must be an array") != NULL);
    CHECK_EQ_INT(rn_creds_store_load_buffer("{\"identities\": [], \"x\": 1}", 26, "x", &s, &e), RN_EINVAL);
    CHECK(strstr(e.text, "unknown top-level field 'x'") != NULL);
    CHECK_EQ_INT(rn_creds_store_load_buffer("{\"identities\": [1]}", 19, "x", &s, &e), RN_EINVAL);
    CHECK_EQ_INT(e.identity, 0);
    CHECK_EQ_INT(rn_creds_store_load_buffer("", 0, "x", &s, &e), RN_EINVAL);
    /* a string with an embedded NUL */
    const char nul[] = "{\"identities\": [{\"access_key_id\": \"A\\u0000B\", \"secret_access_key\": \"x\", "
                       "\"account_id\": \"111111111111\", \"arn\": \"arn:aws:iam::111111111111:root\"}]}";
    CHECK_EQ_INT(rn_creds_store_load_buffer(nul, strlen(nul), "x", &s, &e), RN_EINVAL);
    CHECK(strstr(e.text, "NUL") != NULL);
}

static void test_duplicates(void)
{
    const char *doc =
        "{\"identities\": [\n"
        "{\"access_key_id\": \"AKIDSAME\", \"secret_access_key\": \"a\", \"account_id\": \"111111111111\", "
        "\"arn\": \"arn:aws:iam::111111111111:root\"},\n"
        "{\"access_key_id\": \"AKIDOTHER\", \"secret_access_key\": \"b\", \"account_id\": \"111111111111\", "
        "\"arn\": \"arn:aws:iam::111111111111:user/x\"},\n"
        "{\"access_key_id\": \"AKIDSAME\", \"secret_access_key\": \"c\", \"account_id\": \"222222222222\", "
        "\"arn\": \"arn:aws:iam::222222222222:root\"}\n"
        "]}";
    rn_creds_store_t *s;
    rn_creds_error_t e;
    CHECK_EQ_INT(rn_creds_store_load_buffer(doc, strlen(doc), "dup.json", &s, &e), RN_EINVAL);
    CHECK_EQ_INT(e.identity, 2);
    CHECK_EQ_INT(e.line, 4);
    CHECK_EQ_STR(e.text, "dup.json:4: identity 2: duplicate access_key_id 'AKIDSAME' (also identity 0, line 2)");
}

static void test_many_and_file(void)
{
    /* 500 identities, looked up one by one */
    size_t cap = 500 * 200 + 64, n = 0;
    char *doc = malloc(cap);
    n += (size_t)snprintf(doc + n, cap - n, "{\"identities\": [");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(doc + n, cap - n,
                              "%s{\"access_key_id\": \"AKID%05d\", \"secret_access_key\": \"s%d\", "
                              "\"account_id\": \"%012d\", \"arn\": \"arn:aws:iam::%012d:user/u%d\"}\n",
                              i ? "," : "", (i * 7919) % 500, i, i, i, i);
    n += (size_t)snprintf(doc + n, cap - n, "]}");
    char path[] = "/tmp/rn_creds_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, doc, n), (long long)n);
    close(fd);
    rn_creds_store_t *s = NULL;
    rn_creds_error_t e;
    CHECK_EQ_INT(rn_creds_store_load_file(path, &s, &e), 0);
    CHECK_EQ_INT(rn_creds_store_count(s), 500);
    int found = 0;
    for (int i = 0; i < 500; i++) {
        char k[16];
        snprintf(k, sizeof k, "AKID%05d", i);
        const rn_creds_identity_t *id = rn_creds_store_find(s, k, strlen(k));
        found += id != NULL && strcmp(id->access_key_id, k) == 0;
    }
    CHECK_EQ_INT(found, 500);
    const rn_creds_identity_t *id = rn_creds_store_at(s, 499);
    CHECK_EQ_INT(id->line, 500);

    /* reload: a broken file fails and the old store is untouched */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, "{\"identities\": [}", 17), 17);
    close(fd);
    rn_creds_store_t *s2 = (rn_creds_store_t *)1;
    CHECK_EQ_INT(rn_creds_store_load_file(path, &s2, &e), RN_EINVAL);
    CHECK(s2 == NULL);
    CHECK_EQ_INT(e.line, 1);
    CHECK(strncmp(e.text, path, strlen(path)) == 0);
    CHECK(rn_creds_store_find(s, "AKID00042", 9) != NULL);
    rn_creds_store_destroy(s);
    unlink(path);
    CHECK_EQ_INT(rn_creds_store_load_file(path, &s2, &e), RN_EIO);
    CHECK(strstr(e.text, "No such file") != NULL);
    free(doc);
}

int main(void)
{
    test_good();
    test_bad_fields();
    test_expiration();
    test_syntax_and_shape();
    test_duplicates();
    test_many_and_file();
    return rn_test_done("test_auth_credentials");
}
