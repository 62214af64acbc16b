/*
 * log.c: formats a log line and hands it to the transport's sink.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void wt_log(const wt_logger *lg, wt_log_level level, const char *fmt, ...) {
  if (!wt_log_enabled(lg, level)) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (lg->cb) {
    lg->cb(level, line, lg->user_data);
  } else {
    fprintf(stderr, "[wt %s] %s\n", level_names[level], line);
  }
}
