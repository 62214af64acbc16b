/*
 * qlog.h: one qlog file per QUIC connection (wt_transport_config.qlog_dir).
 *
 * ngtcp2 writes its QUIC events into it as JSON-SEQ records (RFC 7464: an
 * RS byte, a JSON text, a newline); the HTTP/3 and WebTransport layers add
 * their own events as further records of the same form. Not for reading
 * qlog, and no other logging: that is util/log.
 */
#ifndef WT_QUIC_QLOG_H
#define WT_QUIC_QLOG_H

#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

typedef struct wt_qlog wt_qlog;

/* Creates DIR/<server|client>-<cid in hex>.sqlog. Returns NULL (after a
 * warning line) if the file cannot be created; the connection goes on
 * without qlog. */
wt_qlog *wt_qlog_open(const char *dir, int is_server, const uint8_t *cid, size_t cidlen, const wt_logger *log);
/* Appends bytes as ngtcp2 produced them. */
void wt_qlog_write(wt_qlog *q, const void *data, size_t len);
/* Appends one of our events: {"time": ms, "name": name, "data": data},
 * `data_json` being a complete JSON object. */
void wt_qlog_event(wt_qlog *q, double time_ms, const char *name, const char *data_json);
/* Flushes and closes; NULL is ignored. */
void wt_qlog_close(wt_qlog *q);

#endif
