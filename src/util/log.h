/* log.h: leveled logging to stderr. */
#ifndef RN_LOG_H
#define RN_LOG_H

typedef enum { RN_LOG_DEBUG = 0, RN_LOG_INFO = 1, RN_LOG_WARN = 2, RN_LOG_ERROR = 3 } rn_log_level_t;

void rn_log_set_level(rn_log_level_t lvl);
/* 1: every line a JSON object {"time","level","msg"} (--log-format json); 0: text. */
void rn_log_set_json(int on);
/* "debug", "info", "warn", "error" -> level; -1 when unknown. */
int rn_log_level_parse(const char *s);
void rn_log(rn_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rn_debug(...) rn_log(RN_LOG_DEBUG, __VA_ARGS__)
#define rn_info(...) rn_log(RN_LOG_INFO, __VA_ARGS__)
#define rn_warn(...) rn_log(RN_LOG_WARN, __VA_ARGS__)
#define rn_error(...) rn_log(RN_LOG_ERROR, __VA_ARGS__)

#endif
