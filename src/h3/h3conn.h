/*
 * h3conn.h: one HTTP/3 connection, sans-I/O.
 *
 * For: everything RFC 9114 says about streams and frames on one connection:
 * classifying every stream by its first bytes (control, QPACK, push, request,
 * WebTransport uni 0x54 / bidi 0x41, unknown), the control stream and its
 * SETTINGS/GOAWAY/MAX_PUSH_ID/CANCEL_PUSH, HEADERS and DATA framing on
 * request streams with QPACK, HTTP datagrams (quarter stream ID), and the
 * error code for every violation. Not for: sockets, clocks or QUIC (bytes
 * come in through wt_h3conn_on_* and go out through a wt_h3_io the caller
 * supplies), nor WebTransport semantics (sessions, capsules, origin, ...),
 * which belong to the wt_h3_handler above it.
 *
 * Ownership: the caller owns the wt_h3conn and frees it with
 * wt_h3conn_free(); the handler's `upper` pointers are the handler's.
 */
#ifndef WT_H3_H3CONN_H
#define WT_H3_H3CONN_H

#include <stddef.h>
#include <stdint.h>

#include "webtransport.h"
#include <sys/types.h>

#include "h3/headers.h"
#include "h3/qpack.h"
#include "h3/settings.h"
#include "util/idmap.h"
#include "util/log.h"

/* Downward interface: what HTTP/3 needs from QUIC. */
typedef struct wt_h3_io {
  void *ctx;
  /* Opens a local stream. Returns 0, or WT_ERR_AGAIN without stream credit. */
  int (*open_stream)(void *ctx, int bidi, int64_t *sid);
  /* Queues bytes (and optionally FIN) for sending. Takes at most what keeps
   * the stream's buffered bytes within `limit` (SIZE_MAX: take everything).
   * Returns the number of bytes taken (FIN applies only if all were) or a
   * WT_ERR_*. */
  ssize_t (*write)(void *ctx, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit);
  /* RESET_STREAM / STOP_SENDING with an HTTP/3 error code. A reset first
   * delivers the stream's first `reliable` bytes (UINT64_MAX: all written,
   * 0: none), for WebTransport stream headers. */
  int (*reset)(void *ctx, int64_t sid, uint64_t code, uint64_t reliable);
  int (*stop_sending)(void *ctx, int64_t sid, uint64_t code);
  /* Returns flow-control credit for `n` bytes the layer above processed. */
  void (*consumed)(void *ctx, int64_t sid, size_t n);
  /* Queues one QUIC DATAGRAM made of hdr followed by data; `tag` names its
   * session in drop reports. Returns 0, WT_ERR_AGAIN (queue full: dropped)
   * or WT_ERR_TOO_LARGE. */
  int (*send_datagram)(void *ctx, const uint8_t *hdr, size_t hdrlen, const uint8_t *data, size_t len, uint64_t tag);
  /* Closes the connection with an HTTP/3 error code. */
  void (*close)(void *ctx, uint64_t h3_code, const char *reason);
  /* How many of `want` bytes a write would take now under `limit` (as
   * `write` counts). When fewer than `want`, the stream reports writable
   * once room comes back. A closed stream reports `want`, so that the write
   * that follows fails. Lets HTTP/3 size a DATA frame before writing it. */
  size_t (*reserve)(void *ctx, int64_t sid, size_t want, size_t limit);
  /* Zero-copy write: queues all `len` bytes by reference while the stream's
   * buffered bytes are below `limit` (returns len), else none (returns 0);
   * `release` runs once when QUIC is done with them. NULL: unsupported. */
  ssize_t (*write_ref)(void *ctx, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit,
                       wt_release_cb release, void *ud);
} wt_h3_io;

/* Upward interface: what HTTP/3 reports to the WebTransport layer. */
typedef struct wt_h3_handler {
  void *ctx;
  /* The peer's SETTINGS arrived (wt_h3conn_peer_settings). */
  void (*on_settings)(void *ctx);
  /* GOAWAY received with this stream/push ID. */
  void (*on_goaway)(void *ctx, uint64_t id);
  /* A request (server) or final response (client) header section. The
   * handler may take the fields by moving *h out and re-initialising it. */
  void (*on_headers)(void *ctx, int64_t sid, wt_h3_headers *h);
  /* DATA frame payload bytes on a request stream. Returns how many of them
   * the handler keeps and will credit later with wt_h3conn_consumed() (a
   * request body read by the application); the rest is credited at once. */
  size_t (*on_data)(void *ctx, int64_t sid, const uint8_t *data, size_t len);
  /* The peer finished its side of a request stream: cleanly (reset = 0) or
   * with RESET_STREAM(code). */
  void (*on_request_end)(void *ctx, int64_t sid, int reset, uint64_t code);
  /* The peer sent STOP_SENDING on a request stream. */
  void (*on_request_stop)(void *ctx, int64_t sid, uint64_t code);
  /* Send-buffer room came back on a request stream (after a short
   * wt_h3conn_write_data). */
  void (*on_request_writable)(void *ctx, int64_t sid);
  /* A peer-opened WebTransport stream announced `session_id`. Return an
   * object to receive its events, or NULL after refusing it (the handler
   * resets/stops it; remaining input is discarded). */
  void *(*on_wt_stream)(void *ctx, int64_t sid, uint64_t session_id, int bidi);
  void (*on_wt_data)(void *ctx, void *up, const uint8_t *data, size_t len, int fin);
  /* The peer reset it; `final_payload` is the stream's final size minus its
   * WebTransport header (what session flow control counts). */
  void (*on_wt_reset)(void *ctx, void *up, uint64_t code, uint64_t final_payload);
  void (*on_wt_stop)(void *ctx, void *up, uint64_t code);
  /* Send-buffer room came back / everything incl. FIN was acknowledged. */
  void (*on_wt_writable)(void *ctx, void *up);
  void (*on_wt_acked)(void *ctx, void *up);
  /* The QUIC stream is gone; `up` receives no more calls. */
  void (*on_wt_closed)(void *ctx, void *up);
  /* A datagram for session_id. */
  void (*on_datagram)(void *ctx, uint64_t session_id, const uint8_t *data, size_t len);
  /* Stream credit of the given kind became available. */
  void (*on_stream_credit)(void *ctx, int bidi);
} wt_h3_handler;

typedef struct wt_h3conn_config {
  int is_server;
  const wt_setting *settings; /* what we advertise */
  size_t nsettings;
  uint64_t max_field_section_size; /* what we accept (and advertise) */
  uint64_t grease_seed;
} wt_h3conn_config;

typedef struct wt_h3conn wt_h3conn;

int wt_h3conn_new(const wt_h3conn_config *cfg, const wt_h3_io *io, const wt_h3_handler *h, const wt_logger *log,
                  wt_h3conn **out);
void wt_h3conn_free(wt_h3conn *c);

/* Opens our control and QPACK streams and sends SETTINGS. Call once the
 * QUIC layer can open uni streams. Returns 0 or a WT_ERR_*. */
int wt_h3conn_start(wt_h3conn *c);

/* Input from QUIC. */
void wt_h3conn_on_stream_data(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin);
void wt_h3conn_on_stream_reset(wt_h3conn *c, int64_t sid, uint64_t code, uint64_t final_size);
void wt_h3conn_on_stop_sending(wt_h3conn *c, int64_t sid, uint64_t code);
void wt_h3conn_on_stream_writable(wt_h3conn *c, int64_t sid);
void wt_h3conn_on_stream_acked(wt_h3conn *c, int64_t sid);
void wt_h3conn_on_stream_closed(wt_h3conn *c, int64_t sid);
void wt_h3conn_on_datagram(wt_h3conn *c, const uint8_t *data, size_t len);
void wt_h3conn_on_stream_credit(wt_h3conn *c, int bidi);

/* Peer settings, once received (NULL before). */
const wt_h3_settings *wt_h3conn_peer_settings(const wt_h3conn *c);
/* Nonzero once the connection failed or was closed by this layer. */
int wt_h3conn_is_closed(const wt_h3conn *c);
/* Nonzero once the peer sent GOAWAY. */
int wt_h3conn_goaway_received(const wt_h3conn *c);

/* Output. Field lists are encoded with QPACK into one HEADERS frame. */
/* Opens a request stream and sends its HEADERS (with FIN when `fin`: a
 * request without a body). */
int wt_h3conn_send_request(wt_h3conn *c, const wt_qpack_field *f, size_t n, int fin, int64_t *sid);
int wt_h3conn_send_headers(wt_h3conn *c, int64_t sid, const wt_qpack_field *f, size_t n, int fin);
/* DATA frame; all of it is queued (capsules are small and bounded). */
int wt_h3conn_send_data(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin);
/* Message body with backpressure: one DATA frame of as many bytes as keep
 * the stream's buffered bytes within `limit` (the frame header may exceed
 * it by a few bytes). Returns the payload bytes taken (FIN only if all
 * were; `len` 0 with `fin` just ends the stream) or a WT_ERR_*. Taking
 * fewer than `len` arms on_request_writable. */
ssize_t wt_h3conn_write_data(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit);
/* Opens a WebTransport stream for session_id and writes its header; later
 * events for it go to `up`. Returns 0 or WT_ERR_AGAIN (no stream credit). */
int wt_h3conn_open_wt_stream(wt_h3conn *c, uint64_t session_id, int bidi, void *up, int64_t *sid);
/* Raw stream operations for WebTransport payload and request streams. */
ssize_t wt_h3conn_write(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit);
/* Zero-copy form (see wt_h3_io.write_ref); WT_ERR_INVALID_ARGUMENT when the
 * QUIC layer has none. */
ssize_t wt_h3conn_write_ref(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit,
                            wt_release_cb release, void *ud);
int wt_h3conn_reset(wt_h3conn *c, int64_t sid, uint64_t code);
/* Resets a WebTransport stream after delivering what the peer needs to tie
 * the reset to its session: the stream header if we opened the stream, and
 * then the first `payload` bytes of payload (UINT64_MAX: all written). */
int wt_h3conn_reset_wt(wt_h3conn *c, int64_t sid, uint64_t code, uint64_t payload);
int wt_h3conn_stop_sending(wt_h3conn *c, int64_t sid, uint64_t code);
void wt_h3conn_consumed(wt_h3conn *c, int64_t sid, size_t n);
/* Stops routing events for sid to its upper object (remaining input is
 * consumed and dropped). */
void wt_h3conn_detach(wt_h3conn *c, int64_t sid);
int wt_h3conn_send_datagram(wt_h3conn *c, uint64_t session_id, const uint8_t *data, size_t len);
/* Sends GOAWAY (server: the first request stream ID we will not process). */
int wt_h3conn_send_goaway(wt_h3conn *c, uint64_t id);
/* Closes the connection with an HTTP/3 error (logged with `why`). */
void wt_h3conn_fail(wt_h3conn *c, uint64_t code, const char *why);

#endif
