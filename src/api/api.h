/* api.h: the Kinesis API on top of core: one table of operations drives
 * protocol checks, authentication checks, decoding, dispatch and the
 * rendering of answers and errors. */
#ifndef RN_API_H
#define RN_API_H

#include <stdint.h>

struct event_base;

#include "core/model.h"
#include "net/http.h"
#include "util/buf.h"

typedef struct rn_api rn_api_t;

#define RN_MAX_NAMESPACES_DEFAULT 64

typedef struct rn_api_config {
    const char *default_region; /* when the request names none */
    const char *account_id;     /* 12 digits */
    int enable_test_clock;      /* honour x-runnel-test-clock-offset-ms (tests only) */
    int enforce_limits;         /* --enforce-limits: throttle as AWS does (api/limits.h) */
    struct event_base *base;    /* for SubscribeToShard's timers and wake-ups */
    long consumer_delay_ms;     /* how long a new consumer stays CREATING (and DELETING) */
    long subscription_lifetime_ms; /* 0: 5 minutes */
    int max_namespaces;         /* --max-namespaces: (account, region) pairs holding state; 0: default */
    int kms_strict;             /* --kms-strict: a KeyId the local KMS does not hold is not found (kms.h) */
    struct rn_faults *faults;   /* --inject-errors (faults.h), or NULL; the api owns it once created */
    size_t metrics_max_streams; /* --metrics-max-streams: streams with /metrics series; 0: 2000 */
    struct rn_accesslog *accesslog; /* --access-log (accesslog.h), or NULL; owned once created */
} rn_api_config_t;

int rn_api_create(rn_api_t **out, rn_registry_t *reg, const rn_api_config_t *cfg);
void rn_api_destroy(rn_api_t *api);

/* The response headers a browser page may read (CORS), for
 * rn_http_config_t.cors_expose_headers: what the JS SDK reads of an answer. */
#define RN_API_CORS_EXPOSE_HEADERS \
    "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"

/* The rn_http_handler_fn for the HTTP server; ud is the rn_api_t. */
void rn_api_handle(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req);

/* Verified mode (docs/security.md): load the credentials file at path and
 * make it the one in force (at start, and again on SIGHUP). On failure the
 * previous one (or developer mode) stays in force and err names the line.
 * Returns 0 or an RN_E* code. */
int rn_api_load_credentials(rn_api_t *api, const char *path, char *err, size_t errlen);
/* 1 when a credentials file is in force. */
int rn_api_verified(const rn_api_t *api);

/* --init-streams: create the streams spec names, "NAME[:SHARDS[:PROVISIONED|ON_DEMAND]]" or
 * "NAME:ON_DEMAND", comma-separated, in the default account and region, ACTIVE at once
 * (a stream that exists already is kept as it is). NAME alone is ON_DEMAND (4 shards), as
 * CreateStream without ShardCount. On error returns -1 with err naming the entry. */
int rn_api_init_streams(rn_api_t *api, const char *spec, char *err, size_t errlen);

/* GET /metrics' body (Prometheus text format, api/metrics.h), appended to
 * out; loop thread only. Returns 0 or RN_ENOMEM. */
#define RN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
int rn_api_metrics_text(rn_api_t *api, rn_buf_t *out);
/* Series of the layers the api does not know (the HTTP server's, main wires
 * them): fn appends its own families to out, after the api's; 0 or RN_ENOMEM. */
void rn_api_set_metrics_extra(rn_api_t *api, int (*fn)(void *ud, rn_buf_t *out), void *ud);

/* Requests still waiting for the store (for a clean shutdown). */
int rn_api_pending(const rn_api_t *api);

/* Server shutdown: end every SubscribeToShard stream cleanly. */
void rn_api_shutdown(rn_api_t *api);

#endif
