/* log.c: leveled logging to stderr, one line per call. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static rn_log_level_t min_level = RN_LOG_INFO;
static int json;
static const char *names[] = {"debug", "info", "warn", "error"};

void rn_log_set_level(rn_log_level_t lvl)
{
    min_level = lvl;
}

void rn_log_set_json(int on)
{
    json = on;
}

int rn_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void rn_log(rn_log_level_t lvl, const char *fmt, ...)
{
    if (lvl < min_level)
        return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[96];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!json) {
        fprintf(stderr, "%s %s %s\n", stamp, names[lvl], line);
        return;
    }
    /* {"time":..,"level":..,"msg":..}: the message escaped as a JSON string */
    char out[sizeof line * 6 + 96];
    int n = snprintf(out, sizeof out, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", stamp, names[lvl]);
    size_t k = n > 0 ? (size_t)n : 0;
    for (const unsigned char *p = (const unsigned char *)line; *p && k + 8 < sizeof out; p++) {
        if (*p == '"' || *p == '\\') {
            out[k++] = '\\';
            out[k++] = (char)*p;
        } else if (*p < 0x20) {
            k += (size_t)snprintf(out + k, sizeof out - k, "\\u%04x", *p);
        } else {
            out[k++] = (char)*p; /* UTF-8 passes through */
        }
    }
    out[k] = 0;
    fprintf(stderr, "%s\"}\n", out);
}
