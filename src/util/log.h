/*
 * log.h: per-transport logging.
 *
 * For: the one-line diagnostics every layer emits when it refuses input or
 * fails. There is no global logger: each transport owns a wt_logger and
 * passes it down. Parsers never log; the layer that acts on their error
 * does.
 */
#ifndef WT_UTIL_LOG_H
#define WT_UTIL_LOG_H

#include "webtransport.h"

typedef struct wt_logger {
  wt_log_cb cb; /* NULL: stderr */
  void *user_data;
  wt_log_level level;
} wt_logger;

static inline int wt_log_enabled(const wt_logger *lg, wt_log_level level) { return lg && level <= lg->level; }

void wt_log(const wt_logger *lg, wt_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define WT_LOGE(lg, ...) wt_log((lg), WT_LOG_ERROR, __VA_ARGS__)
#define WT_LOGW(lg, ...) wt_log((lg), WT_LOG_WARN, __VA_ARGS__)
#define WT_LOGI(lg, ...) wt_log((lg), WT_LOG_INFO, __VA_ARGS__)
#define WT_LOGD(lg, ...)                                                                                               \
  do {                                                                                                                 \
    if (wt_log_enabled((lg), WT_LOG_DEBUG)) wt_log((lg), WT_LOG_DEBUG, __VA_ARGS__);                                   \
  } while (0)

#endif
