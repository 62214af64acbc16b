/*
 * qlog.c: qlog files of connections (see qlog.h).
 */
#include "quic/qlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wt_qlog {
  FILE *f;
};

wt_qlog *wt_qlog_open(const char *dir, int is_server, const uint8_t *cid, size_t cidlen, const wt_logger *log) {
  char path[4096], hex[41];
  size_t n = cidlen > 20 ? 20 : cidlen;
  for (size_t i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", cid[i]);
  hex[2 * n] = 0;
  snprintf(path, sizeof(path), "%s/%s-%s.sqlog", dir, is_server ? "server" : "client", hex);
  wt_qlog *q = calloc(1, sizeof(*q));
  if (q) q->f = fopen(path, "we");
  if (!q || !q->f) {
    WT_LOGW(log, "qlog: cannot create %s: %s; this connection is not logged", path, strerror(q ? errno : ENOMEM));
    free(q);
    return NULL;
  }
  return q;
}

void wt_qlog_write(wt_qlog *q, const void *data, size_t len) {
  if (q && len) fwrite(data, 1, len, q->f);
}

void wt_qlog_event(wt_qlog *q, double time_ms, const char *name, const char *data_json) {
  if (q) fprintf(q->f, "\x1e{\"time\":%.3f,\"name\":\"%s\",\"data\":%s}\n", time_ms, name, data_json);
}

void wt_qlog_close(wt_qlog *q) {
  if (!q) return;
  fclose(q->f);
  free(q);
}
