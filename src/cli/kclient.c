/* kclient.c: the CLI's Kinesis client (kclient.h): configuration, SigV4,
 * libcurl, retries. */
#include "cli/kclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/sigv4.h"
#include "util/buf.h"
#include "wire/b64.h"

#define BODY_MAX ((size_t)64 << 20)

/* ---- options ---------------------------------------------------------------- */

int rn_kc_take_opts(rn_kc_opts_t *o, int *argc, char **argv)
{
    static const struct {
        const char *name;
        size_t off;
    } valued[] = {
        {"--endpoint-url", offsetof(rn_kc_opts_t, endpoint_url)},
        {"--region", offsetof(rn_kc_opts_t, region)},
        {"--profile", offsetof(rn_kc_opts_t, profile)},
        {"--ca", offsetof(rn_kc_opts_t, ca)},
    };
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        int taken = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !taken; k++) {
            size_t nl = strlen(valued[k].name);
            const char **slot = (const char **)((char *)o + valued[k].off);
            if (strcmp(argv[i], valued[k].name) == 0) {
                if (i + 1 >= *argc) {
                    fprintf(stderr, "runnel: %s needs a value\n", valued[k].name);
                    return 2;
                }
                *slot = argv[++i];
                taken = 1;
            } else if (strncmp(argv[i], valued[k].name, nl) == 0 && argv[i][nl] == '=') {
                *slot = argv[i] + nl + 1;
                taken = 1;
            }
        }
        if (!taken && strcmp(argv[i], "--no-verify-ssl") == 0) {
            o->no_verify = 1;
            taken = 1;
        }
        if (!taken)
            argv[out++] = argv[i];
    }
    *argc = out;
    return 0;
}

/* ---- the shared config and credentials files ----------------------------------- */

typedef struct profile_read {
    const char *section; /* the section wanted */
    char region[64];
    char endpoint[1024];
    char ca[1024];
    char access_key[256];
    char secret[256];
    char token[4096];
    int found;
} profile_read_t;

static int profile_key(void *user, const char *section, const char *name, const char *value)
{
    profile_read_t *p = user;
    if (strcmp(section, p->section) != 0)
        return 1;
    p->found = 1;
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } keys[] = {
        {"region", p->region, sizeof p->region},
        {"endpoint_url", p->endpoint, sizeof p->endpoint},
        {"ca_bundle", p->ca, sizeof p->ca},
        {"aws_access_key_id", p->access_key, sizeof p->access_key},
        {"aws_secret_access_key", p->secret, sizeof p->secret},
        {"aws_session_token", p->token, sizeof p->token},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(name, keys[i].key) == 0 && !keys[i].dst[0])
            snprintf(keys[i].dst, keys[i].cap, "%s", value);
    return 1;
}

/* Read section of path into p (keys already set stay). 0, or 1 after
 * printing a parse error; a missing file is no error. */
static int read_ini(const char *path, const char *section, profile_read_t *p)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    p->section = section;
    int line = ini_parse_file(f, profile_key, p);
    fclose(f);
    if (line != 0) {
        fprintf(stderr, "runnel: %s:%d: cannot parse\n", path, line);
        return 1;
    }
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static void copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

/* ---- open / close ---------------------------------------------------------------- */

static int set_host(rn_kc_t *kc)
{
    const char *s = strstr(kc->endpoint, "://");
    if (!s || (strncmp(kc->endpoint, "http://", 7) != 0 && strncmp(kc->endpoint, "https://", 8) != 0)) {
        fprintf(stderr, "runnel: endpoint %s is not an http:// or https:// URL\n", kc->endpoint);
        return 1;
    }
    s += 3;
    size_t n = strcspn(s, "/?#");
    if (n == 0 || n >= sizeof kc->host) {
        fprintf(stderr, "runnel: endpoint %s has no host\n", kc->endpoint);
        return 1;
    }
    memcpy(kc->host, s, n);
    kc->host[n] = 0;
    /* the default port is not part of the signed host (curl leaves it out too) */
    size_t hl = strlen(kc->host);
    if (strncmp(kc->endpoint, "https", 5) == 0 && hl > 4 && strcmp(kc->host + hl - 4, ":443") == 0)
        kc->host[hl - 4] = 0;
    else if (strncmp(kc->endpoint, "http:", 5) == 0 && hl > 3 && strcmp(kc->host + hl - 3, ":80") == 0)
        kc->host[hl - 3] = 0;
    return 0;
}

static int curl_init(rn_kc_t *kc)
{
    static int global;
    if (!global) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global = 1;
    }
    kc->curl = curl_easy_init();
    if (!kc->curl) {
        fprintf(stderr, "runnel: cannot start libcurl\n");
        return 1;
    }
    if (kc->attempts <= 0)
        kc->attempts = 6;
    return 0;
}

int rn_kc_open(rn_kc_t *kc, const rn_kc_opts_t *o)
{
    memset(kc, 0, sizeof *kc);
    const char *profile = o->profile ? o->profile : env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
    const char *home = env("HOME") ? env("HOME") : "/";
    char cfg[1024], cred[1024], section[300];
    snprintf(cfg, sizeof cfg, "%s", env("AWS_CONFIG_FILE") ? env("AWS_CONFIG_FILE") : "");
    if (!cfg[0])
        snprintf(cfg, sizeof cfg, "%s/.aws/config", home);
    snprintf(cred, sizeof cred, "%s", env("AWS_SHARED_CREDENTIALS_FILE") ? env("AWS_SHARED_CREDENTIALS_FILE") : "");
    if (!cred[0])
        snprintf(cred, sizeof cred, "%s/.aws/credentials", home);
    profile_read_t p;
    memset(&p, 0, sizeof p);
    if (read_ini(cred, profile, &p))
        return 1;
    int in_cred = p.found;
    p.found = 0;
    if (strcmp(profile, "default") == 0)
        snprintf(section, sizeof section, "default");
    else
        snprintf(section, sizeof section, "profile %s", profile);
    if (read_ini(cfg, section, &p))
        return 1;
    if (o->profile && !in_cred && !p.found) {
        fprintf(stderr, "runnel: the profile %s is in neither %s nor %s\n", profile, cfg, cred);
        return 1;
    }

    const char *ep = o->endpoint_url ? o->endpoint_url
                     : env("AWS_ENDPOINT_URL_KINESIS") ? env("AWS_ENDPOINT_URL_KINESIS")
                     : env("AWS_ENDPOINT_URL")         ? env("AWS_ENDPOINT_URL")
                     : p.endpoint[0]                   ? p.endpoint
                                                       : NULL;
    const char *region = o->region ? o->region
                         : env("AWS_REGION") ? env("AWS_REGION")
                         : env("AWS_DEFAULT_REGION") ? env("AWS_DEFAULT_REGION")
                         : p.region[0] ? p.region
                         : ep ? "us-east-1" : NULL;
    if (!region) {
        fprintf(stderr, "runnel: no region: set AWS_REGION, a profile's region or --region\n");
        return 1;
    }
    copy(kc->region, sizeof kc->region, region);
    if (ep)
        copy(kc->endpoint, sizeof kc->endpoint, ep);
    else
        snprintf(kc->endpoint, sizeof kc->endpoint, "https://kinesis.%s.amazonaws.com", region);
    if (set_host(kc))
        return 1;

    if (!o->profile && env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        copy(kc->access_key, sizeof kc->access_key, env("AWS_ACCESS_KEY_ID"));
        copy(kc->secret, sizeof kc->secret, env("AWS_SECRET_ACCESS_KEY"));
        copy(kc->token, sizeof kc->token, env("AWS_SESSION_TOKEN"));
    } else {
        copy(kc->access_key, sizeof kc->access_key, p.access_key);
        copy(kc->secret, sizeof kc->secret, p.secret);
        copy(kc->token, sizeof kc->token, p.token);
    }
    if (!kc->access_key[0] || !kc->secret[0]) {
        fprintf(stderr, "runnel: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a "
                        "profile's aws_access_key_id and aws_secret_access_key (profile %s)\n",
                profile);
        return 1;
    }
    copy(kc->ca, sizeof kc->ca, o->ca ? o->ca : env("AWS_CA_BUNDLE") ? env("AWS_CA_BUNDLE") : p.ca);
    kc->no_verify = o->no_verify;
    memset(p.secret, 0, sizeof p.secret);
    return curl_init(kc);
}

int rn_kc_open_args(rn_kc_t *kc, int *argc, char **argv)
{
    rn_kc_opts_t o = {0};
    int rc = rn_kc_take_opts(&o, argc, argv);
    return rc ? rc : rn_kc_open(kc, &o);
}

int rn_kc_clone(rn_kc_t *dst, const rn_kc_t *src)
{
    memcpy(dst, src, sizeof *dst);
    dst->curl = NULL;
    return curl_init(dst);
}

void rn_kc_close(rn_kc_t *kc)
{
    if (kc->curl)
        curl_easy_cleanup(kc->curl);
    kc->curl = NULL;
    memset(kc->secret, 0, sizeof kc->secret);
}

/* ---- one call ---------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    rn_buf_t *b = user;
    return rn_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static void set_error(rn_kc_t *kc, int status, const char *type, const char *msg)
{
    kc->status = status;
    copy(kc->err_type, sizeof kc->err_type, type);
    copy(kc->err_msg, sizeof kc->err_msg, msg);
}

/* The answer of a failed call: {"__type": "ns#Type", "message": "..."}. */
static void service_error(rn_kc_t *kc, long status, const rn_buf_t *body)
{
    json_t *j = body->len ? json_loadb((const char *)body->data, body->len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg)
        msg = json_string_value(json_object_get(j, "Message"));
    char tb[128];
    if (type) {
        const char *hash = strrchr(type, '#');
        type = hash ? hash + 1 : type;
        snprintf(tb, sizeof tb, "%.*s", (int)strcspn(type, ":"), type);
    } else {
        snprintf(tb, sizeof tb, "HTTP %ld", status);
    }
    char mb[1024];
    if (!msg) {
        snprintf(mb, sizeof mb, "%.*s", body->len > 300 ? 300 : (int)body->len, body->len ? (const char *)body->data : "");
        msg = mb;
    }
    set_error(kc, (int)status, tb, msg);
    json_decref(j);
}

static int retryable(const rn_kc_t *kc)
{
    static const char *const types[] = {"ProvisionedThroughputExceededException", "LimitExceededException",
                                        "ThrottlingException", "InternalFailure", "ServiceUnavailable",
                                        "KMSThrottlingException"};
    if (!kc->err_type[0])
        return kc->status == 0; /* a transport failure, unless status -1: one not worth a retry */
    if (kc->status >= 500)
        return 1;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(kc->err_type, types[i]) == 0)
            return 1;
    return 0;
}

static int call_once(rn_kc_t *kc, const char *op, const char *body, size_t len, json_t **out)
{
    char amz[17], target[160], h_host[600], h_date[40], h_target[200], h_token[4200];
    rn_sigv4_format_amz_date((int64_t)time(NULL), amz);
    snprintf(target, sizeof target, "Kinesis_20131202.%s", op);
    rn_sigv4_header_t hs[5] = {
        {"host", 4, kc->host, strlen(kc->host)},
        {"content-type", 12, "application/x-amz-json-1.1", 26},
        {"x-amz-date", 10, amz, 16},
        {"x-amz-target", 12, target, strlen(target)},
        {"x-amz-security-token", 20, kc->token, strlen(kc->token)},
    };
    const char *path = strstr(kc->endpoint, "://") + 3 + strcspn(strstr(kc->endpoint, "://") + 3, "/?#");
    if (*path != '/')
        path = "/";
    rn_sigv4_request_t req = {
        .method = "POST", .path = path, .path_len = strcspn(path, "?#"), .headers = hs,
        .n_headers = kc->token[0] ? 5 : 4, .payload = (const uint8_t *)body, .payload_len = len,
    };
    rn_buf_t authz, resp;
    rn_buf_init(&authz, 0);
    rn_buf_init(&resp, BODY_MAX);
    if (rn_sigv4_sign(&req, kc->access_key, kc->secret, kc->region, "kinesis", (int64_t)time(NULL), &authz) != 0) {
        rn_buf_dispose(&authz);
        set_error(kc, 0, "", "cannot sign the request");
        return 1;
    }
    snprintf(h_host, sizeof h_host, "Host: %s", kc->host);
    snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", amz);
    snprintf(h_target, sizeof h_target, "X-Amz-Target: %s", target);
    snprintf(h_token, sizeof h_token, "X-Amz-Security-Token: %s", kc->token);
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, h_host);
    hl = curl_slist_append(hl, "Content-Type: application/x-amz-json-1.1");
    hl = curl_slist_append(hl, h_date);
    hl = curl_slist_append(hl, h_target);
    if (kc->token[0])
        hl = curl_slist_append(hl, h_token);
    char *ah = malloc(authz.len + 20);
    if (ah) {
        sprintf(ah, "Authorization: %s", (const char *)authz.data);
        hl = curl_slist_append(hl, ah);
        free(ah);
    }
    hl = curl_slist_append(hl, "Expect:");
    hl = curl_slist_append(hl, "User-Agent: runnel-cli/" RUNNEL_VERSION);
    rn_buf_dispose(&authz);

    CURL *c = kc->curl;
    curl_easy_setopt(c, CURLOPT_URL, kc->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (kc->ca[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, kc->ca);
    if (kc->no_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    int rc = 1;
    long status = 0;
    if (cc != CURLE_OK) {
        char m[1024];
        snprintf(m, sizeof m, "cannot reach %.900s: %s", kc->endpoint, curl_easy_strerror(cc));
        set_error(kc, 0, "", m);
        /* a certificate or a URL does not get better by trying again */
        kc->status = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
                             cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_URL_MALFORMAT ||
                             cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_COULDNT_RESOLVE_HOST
                         ? -1
                         : 0;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {
            json_error_t je;
            *out = resp.len ? json_loadb((const char *)resp.data, resp.len, 0, &je) : json_object();
            if (*out)
                rc = 0;
            else
                set_error(kc, (int)status, "", "the answer is not JSON");
        } else {
            service_error(kc, status, &resp);
        }
    }
    rn_buf_dispose(&resp);
    return rc;
}

int rn_kc_call(rn_kc_t *kc, const char *op, json_t *req, json_t **out)
{
    char *body = json_dumps(req, JSON_COMPACT);
    if (!body) {
        set_error(kc, 0, "", "out of memory");
        return 1;
    }
    int rc = 1;
    for (int n = 0; n < kc->attempts; n++) {
        *out = NULL;
        rc = call_once(kc, op, body, strlen(body), out);
        if (rc == 0 || !retryable(kc) || n + 1 == kc->attempts)
            break;
        rn_kc_sleep_ms(rn_kc_backoff_ms(n, 100, 5000));
    }
    free(body);
    return rc;
}

int rn_kc_report(const rn_kc_t *kc)
{
    if (kc->err_type[0])
        fprintf(stderr, "runnel: %s: %s\n", kc->err_type, kc->err_msg);
    else
        fprintf(stderr, "runnel: %s\n", kc->err_msg);
    return 1;
}

int rn_kc_failed_with(const rn_kc_t *kc, const char *t)
{
    return strcmp(kc->err_type, t) == 0;
}

int rn_kc_list_all(rn_kc_t *kc, const char *op, json_t *req, const char *items, const char *keep, json_t **all)
{
    *all = json_array();
    json_t *r = json_incref(req);
    int rc = 0;
    while (r && !rc) {
        json_t *res = NULL;
        rc = rn_kc_call(kc, op, r, &res);
        json_decref(r);
        r = NULL;
        if (rc)
            break;
        json_array_extend(*all, json_object_get(res, items));
        const char *next = json_string_value(json_object_get(res, "NextToken"));
        if (next) { /* "NextToken and StreamName cannot be provided together" */
            r = json_pack("{s:s}", "NextToken", next);
            if (keep)
                json_object_set(r, keep, json_object_get(req, keep));
        }
        json_decref(res);
    }
    if (rc) {
        json_decref(*all);
        *all = NULL;
    }
    return rc;
}

int rn_kc_list_shards(rn_kc_t *kc, const char *stream, json_t **shards)
{
    json_t *req = json_pack("{s:s}", "StreamName", stream);
    int rc = rn_kc_list_all(kc, "ListShards", req, "Shards", NULL, shards);
    json_decref(req);
    return rc;
}

/* ---- small helpers ----------------------------------------------------------------- */

void rn_kc_iso_time(const json_t *t, char *out, size_t cap)
{
    double secs = json_number_value(t);
    time_t s = (time_t)secs;
    int ms = (int)((secs - (double)s) * 1000.0 + 0.5);
    if (ms >= 1000)
        s++, ms -= 1000;
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", ms);
}

void rn_kc_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

long rn_kc_backoff_ms(int n, long base, long cap)
{
    long top = base;
    for (int i = 0; i < n && top < cap; i++)
        top *= 2;
    if (top > cap)
        top = cap;
    return top / 2 + (long)(random() % (top / 2 + 1));
}

int64_t rn_kc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *rn_kc_blob(const uint8_t *p, size_t n)
{
    char *s = malloc(rn_b64_encoded_len(n) + 1);
    if (!s)
        return NULL;
    size_t w = rn_b64_encode(p, n, s);
    json_t *j = json_stringn_nocheck(s, w);
    free(s);
    return j;
}

int rn_kc_unblob(const json_t *s, uint8_t **out, size_t *len)
{
    const char *t = json_string_value(s);
    size_t n = json_string_length(s);
    *out = NULL;
    *len = 0;
    if (!t)
        return -1;
    uint8_t *b = malloc(n / 4 * 3 + 1);
    if (!b)
        return -1;
    if (rn_b64_decode(t, n, b, len) != 0) {
        free(b);
        return -1;
    }
    *out = b;
    return 0;
}
