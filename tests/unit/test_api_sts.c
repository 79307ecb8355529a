/* test_api_sts.c: STS GetCallerIdentity's form parsing and answers (api/sts.h). */
#include <stdlib.h>
#include <string.h>

#include "api/sts.h"
#include "tap.h"

#define FORM(s) (const uint8_t *)(s), strlen(s)

static void test_is_form(void)
{
    const char *good[] = {"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
                          "Application/X-WWW-Form-Urlencoded", " application/x-www-form-urlencoded"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(rn_sts_is_form(good[i], strlen(good[i])));
    const char *bad[] = {"", "application/x-www-form-urlencodedx", "application/x-amz-json-1.1", "application/x-www-form"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!rn_sts_is_form(bad[i], strlen(bad[i])));
}

static void test_form_value(void)
{
    char v[32];
    CHECK_EQ_INT(rn_sts_form_value(FORM("Action=GetCallerIdentity&Version=2011-06-15"), "Action", v, sizeof v), 17);
    CHECK(strcmp(v, "GetCallerIdentity") == 0);
    CHECK_EQ_INT(rn_sts_form_value(FORM("Version=2011-06-15&Action=Get%43allerIdentity"), "Action", v, sizeof v), 17);
    CHECK(strcmp(v, "GetCallerIdentity") == 0);
    CHECK_EQ_INT(rn_sts_form_value(FORM("A=a+b"), "A", v, sizeof v), 3);
    CHECK(strcmp(v, "a b") == 0);
    CHECK_EQ_INT(rn_sts_form_value(FORM("XAction=x&Actio=y"), "Action", v, sizeof v), -1);
    CHECK_EQ_INT(rn_sts_form_value(FORM("Action=%4"), "Action", v, sizeof v), -1);            /* bad escape */
    CHECK_EQ_INT(rn_sts_form_value(FORM("Action=0123456789012345678901234567890123"), "Action", v, sizeof v), -1);
    CHECK_EQ_INT(rn_sts_form_value(FORM("Action"), "Action", v, sizeof v), 0);
    CHECK_EQ_INT(rn_sts_form_value(FORM(""), "Action", v, sizeof v), -1);
}

static void test_answer(void)
{
    char *xml = NULL;
    CHECK_EQ_INT(rn_sts_answer(FORM("Action=GetCallerIdentity&Version=2011-06-15"), "123456789012", NULL, NULL, "rid-1", &xml), 200);
    CHECK(xml && strstr(xml, "<Account>123456789012</Account>"));
    CHECK(xml && strstr(xml, "<Arn>arn:aws:iam::123456789012:root</Arn>"));
    CHECK(xml && strstr(xml, "<RequestId>rid-1</RequestId>"));
    free(xml);
    CHECK_EQ_INT(rn_sts_answer(FORM("Action=<b>&Version=2011-06-15"), "1", NULL, NULL, "r", &xml), 400);
    CHECK(xml && strstr(xml, "<Code>InvalidAction</Code>"));
    CHECK(xml && strstr(xml, "Could not find operation &lt;b&gt; for version 2011-06-15")); /* escaped */
    free(xml);
    CHECK_EQ_INT(rn_sts_answer(FORM("Version=2011-06-15"), "1", NULL, NULL, "r", &xml), 400);
    CHECK(xml && strstr(xml, "<Code>MissingAction</Code>"));
    free(xml);
}

int main(void)
{
    test_is_form();
    test_form_value();
    test_answer();
    return rn_test_done("test_api_sts");
}
