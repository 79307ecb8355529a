/* kclient.h: the Kinesis client behind runnel's CLI subcommands (docs/cli.md).
 *
 * AWS JSON 1.1 over HTTP(S) with libcurl, every request signed with SigV4
 * (auth/sigv4.h, service "kinesis"), configured as the AWS SDKs and CLI are:
 *   endpoint  --endpoint-url > AWS_ENDPOINT_URL_KINESIS > AWS_ENDPOINT_URL >
 *             the profile's endpoint_url > https://kinesis.REGION.amazonaws.com
 *   region    --region > AWS_REGION > AWS_DEFAULT_REGION > the profile's region
 *             (us-east-1 when an endpoint is given and nothing names one)
 *   profile   --profile > AWS_PROFILE > "default", read from AWS_CONFIG_FILE
 *             (~/.aws/config, sections [default] / [profile NAME]) and
 *             AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials, [NAME])
 *   keys      AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *             unless --profile is given, else the profile's (credentials file
 *             first, then the config file)
 *   TLS       the system CA store; --ca FILE (or AWS_CA_BUNDLE, the profile's
 *             ca_bundle) for another one, --no-verify-ssl for none.
 * Throttling and 5xx answers are retried with exponential backoff (equal
 * jitter, half to all of the step) up to kc->attempts tries. */
#ifndef RN_CLI_KCLIENT_H
#define RN_CLI_KCLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The global options every subcommand takes (anywhere among its arguments). */
typedef struct rn_kc_opts {
    const char *endpoint_url;
    const char *region;
    const char *profile;
    const char *ca;
    int no_verify;
} rn_kc_opts_t;

/* Removes the global options from argv (compacting it, *argc updated) into o.
 * Returns 0, or 2 after printing what is wrong (an option without its value). */
int rn_kc_take_opts(rn_kc_opts_t *o, int *argc, char **argv);

/* The global options' lines of a usage text. */
#define RN_KC_OPTS_USAGE                                                                    \
    "global options: --endpoint-url URL  --region R  --profile P  --ca FILE  --no-verify-ssl\n" \
    "  (else AWS_ENDPOINT_URL[_KINESIS], AWS_REGION, AWS_PROFILE, ~/.aws/config and credentials)\n"

typedef struct rn_kc {
    char endpoint[1024]; /* scheme://authority[/path] */
    char host[512];      /* the authority, signed as "host" */
    char region[64];
    char access_key[256];
    char secret[256];
    char token[4096];
    char ca[1024];
    int no_verify;
    int attempts;        /* tries per call for retryable answers (default 6; 1: none) */
    void *curl;          /* CURL *, one connection kept alive */
    /* the last failure: err_type "" for a transport failure */
    int status;          /* HTTP status; 0 when nothing answered, -1 when no retry can help
                          * (certificate, URL, host name) */
    char err_type[128];
    char err_msg[1024];
} rn_kc_t;

/* rn_kc_take_opts then rn_kc_open: 0, or the exit status (2 or 1). */
int rn_kc_open_args(rn_kc_t *kc, int *argc, char **argv);
/* Resolve the configuration; 0, or 1 after printing "runnel: ..." (no keys,
 * an unreadable profile, no region). */
int rn_kc_open(rn_kc_t *kc, const rn_kc_opts_t *o);
/* Another client with the same configuration and its own connection (for
 * the threads of bench). 0 or 1. */
int rn_kc_clone(rn_kc_t *dst, const rn_kc_t *src);
void rn_kc_close(rn_kc_t *kc);

/* Call operation op ("ListShards") with request body req (borrowed). 0 with
 * *out (the answer, owned by the caller), or 1 with kc->err_* set. */
int rn_kc_call(rn_kc_t *kc, const char *op, json_t *req, json_t **out);
/* Print the last failure as "runnel: <ErrorType>: <message>" and return 1. */
int rn_kc_report(const rn_kc_t *kc);
/* Is the last failure of error type t? */
int rn_kc_failed_with(const rn_kc_t *kc, const char *t);

/* Every item of a paginated listing: op with req (borrowed), then again with
 * {"NextToken": ..} (plus req's member keep, when not NULL) while the answer
 * has a NextToken; the members named items of the answers concatenated into
 * *all (a new array). 0 or 1 (kc->err_* set). */
int rn_kc_list_all(rn_kc_t *kc, const char *op, json_t *req, const char *items, const char *keep, json_t **all);
/* Every shard of stream (ListShards). */
int rn_kc_list_shards(rn_kc_t *kc, const char *stream, json_t **shards);

/* An AWS timestamp (seconds since the epoch, a JSON number) as
 * yyyy-mm-ddThh:mm:ss.mmmZ. */
void rn_kc_iso_time(const json_t *t, char *out, size_t cap);

/* Sleep ms milliseconds (returns early on a signal). */
void rn_kc_sleep_ms(long ms);
/* A backoff delay for try n (0-based): random between half and all of min(cap, base * 2^n). */
long rn_kc_backoff_ms(int n, long base, long cap);
/* Milliseconds on the monotonic clock. */
int64_t rn_kc_now_ms(void);

/* Base64 of n bytes as a new jansson string, and the bytes of a base64
 * string (malloc'd into *out, NULL for none) : 0 or -1. */
json_t *rn_kc_blob(const uint8_t *p, size_t n);
int rn_kc_unblob(const json_t *s, uint8_t **out, size_t *len);

#endif
