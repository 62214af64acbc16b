/*
 * qconn.h: one QUIC connection (ngtcp2 + GnuTLS), without sockets.
 *
 * For: feeding packets and timer expiries into ngtcp2, turning its
 * callbacks into stream/datagram events for the layer above
 * (wt_qconn_handler), holding stream send data until acknowledged, queuing
 * datagrams, and writing packets into the endpoint's transmit batch. Also
 * the connection's close, closing and draining periods. Not for: finding
 * the connection for a packet or owning sockets (endpoint.c, udp.c).
 */
#ifndef WT_QUIC_QCONN_H
#define WT_QUIC_QCONN_H

#include <ngtcp2/ngtcp2.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "quic/sendq.h"
#include "quic/tls.h"
#include "util/timerheap.h"

typedef struct wt_endpoint wt_endpoint;

/* Not a valid QUIC error code (those are < 2^62). */
#define WT_QCONN_CODE_UNKNOWN UINT64_MAX
typedef struct wt_qconn wt_qconn;

/* What the layer above hears. `app` is wt_qconn_set_app's pointer. */
typedef struct wt_qconn_handler {
  void (*on_ready)(void *app);
  void (*on_stream_data)(void *app, int64_t sid, const uint8_t *data, size_t len, int fin);
  /* The peer reset its send side; `final_size` is the stream's total length. */
  void (*on_stream_reset)(void *app, int64_t sid, uint64_t code, uint64_t final_size);
  /* The peer sent STOP_SENDING; `code` is WT_QCONN_CODE_UNKNOWN when it
   * cannot be told apart from an earlier error code on the stream. */
  void (*on_stop_sending)(void *app, int64_t sid, uint64_t code);
  void (*on_stream_writable)(void *app, int64_t sid);
  void (*on_stream_acked)(void *app, int64_t sid);
  void (*on_stream_closed)(void *app, int64_t sid);
  void (*on_datagram)(void *app, const uint8_t *data, size_t len);
  void (*on_stream_credit)(void *app, int bidi);
  /* A queued datagram tagged `tag` was dropped (queue full or too old). */
  void (*on_datagram_dropped)(void *app, uint64_t tag);
  /* The connection is over (closed by either side, idle, failed). Called
   * once; `err` is 0 for an orderly close. */
  void (*on_closed)(void *app, int err, const char *detail);
  /* The connection object is about to be freed: drop every reference. */
  void (*on_freed)(void *app);
} wt_qconn_handler;

typedef enum wt_qconn_state {
  QC_ACTIVE,
  QC_CLOSING,  /* we sent CONNECTION_CLOSE; answer packets with it */
  QC_DRAINING, /* the peer closed; stay silent */
  QC_DEAD,     /* ready to be freed */
} wt_qconn_state;

/* Creates the server side of a connection from the client's first Initial
 * packet header. `retry_odcid` is NULL, or the client's original DCID
 * recovered from a valid Retry token in `hd` (the address is validated). */
int wt_qconn_new_server(wt_endpoint *ep, const ngtcp2_pkt_hd *hd, const ngtcp2_cid *retry_odcid,
                        const ngtcp2_path *path, uint64_t ts, wt_qconn **out);

/* Creates a client connection to `remote` from local address `local`. */
int wt_qconn_new_client(wt_endpoint *ep, const struct sockaddr *local, socklen_t local_len,
                        const struct sockaddr *remote, socklen_t remote_len, const wt_tls_verify *verify,
                        const char *ca_file, uint64_t ts, wt_qconn **out);

void wt_qconn_free(wt_qconn *q);

void wt_qconn_set_app(wt_qconn *q, const wt_qconn_handler *h, void *app);

/* Packet in. Returns 0; on a fatal error the connection moves to closing,
 * draining or dead by itself. */
int wt_qconn_read(wt_qconn *q, const ngtcp2_path *path, const uint8_t *pkt, size_t len, uint64_t ts);
/* Timer. */
void wt_qconn_on_timer(wt_qconn *q, uint64_t ts);
/* Writes what is due into the endpoint's transmit batch. */
void wt_qconn_write(wt_qconn *q, uint64_t ts);
/* When wt_qconn_on_timer must run next (WT_TIMER_NONE if never). */
uint64_t wt_qconn_expiry(const wt_qconn *q);

/* Closes with an HTTP/3 (application) error code. */
void wt_qconn_close(wt_qconn *q, uint64_t app_code, const char *reason, uint64_t ts);
/* Closes like wt_qconn_close, but only at `at` (the connection keeps
 * working until then); a later call does not move an earlier deadline. */
void wt_qconn_close_later(wt_qconn *q, uint64_t app_code, const char *reason, uint64_t at);
/* In the closing period a packet from the peer is answered with our
 * CONNECTION_CLOSE again (RFC 9000 §10.2.1). */
void wt_qconn_resend_close(wt_qconn *q);

wt_qconn_state wt_qconn_get_state(const wt_qconn *q);
int wt_qconn_is_server(const wt_qconn *q);
wt_timer *wt_qconn_timer(wt_qconn *q);

/* Stream and datagram operations (the HTTP/3 layer's wt_h3_io). */
int wt_qconn_open_stream(wt_qconn *q, int bidi, int64_t *sid);
ssize_t wt_qconn_stream_write(wt_qconn *q, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit);
/* Zero-copy write: queues all `len` (> 0) bytes by reference if the
 * stream's buffered bytes are below `limit`, else nothing (returns 0 and
 * the writable event follows). `release` (may be NULL) runs exactly once,
 * when the bytes are acknowledged, dropped by a reset, or the connection is
 * freed; it must not call into the library. Returns len, 0, or a WT_ERR_*
 * (then `release` is never called). */
ssize_t wt_qconn_stream_write_ref(wt_qconn *q, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit,
                                  wt_sendq_release_cb release, void *ud);
/* Resets the send side with `code` once the first `reliable` bytes are
 * acknowledged (UINT64_MAX: all written; 0: at once). Bytes beyond them
 * that were not yet sent are dropped. Later writes fail. */
int wt_qconn_stream_reset(wt_qconn *q, int64_t sid, uint64_t code, uint64_t reliable);
int wt_qconn_stream_stop(wt_qconn *q, int64_t sid, uint64_t code);
void wt_qconn_stream_consumed(wt_qconn *q, int64_t sid, size_t n);
/* How many of `want` bytes wt_qconn_stream_write would take now under
 * `limit`; when fewer, the stream reports writable once room returns. A
 * stream that cannot be written reports `want` (its write then fails). */
size_t wt_qconn_stream_reserve(wt_qconn *q, int64_t sid, size_t want, size_t limit);
/* Queues a datagram made of hdr + data, tagged for drop reports. Returns 0,
 * WT_ERR_AGAIN (queue full, refused), WT_ERR_TOO_LARGE or WT_ERR_CLOSED. */
int wt_qconn_send_datagram(wt_qconn *q, const uint8_t *hdr, size_t hdrlen, const uint8_t *data, size_t len,
                           uint64_t tag);
size_t wt_qconn_max_datagram_payload(const wt_qconn *q);
/* Nonzero if the peer's transport parameters (known once its first
 * handshake message is in) announce max_datagram_frame_size > 0. */
int wt_qconn_peer_accepts_datagrams(const wt_qconn *q);
uint64_t wt_qconn_streams_left(const wt_qconn *q, int bidi);
int wt_qconn_export(wt_qconn *q, const char *label, const uint8_t *ctx, size_t ctxlen, uint8_t *out, size_t outlen);

/* Nonzero if packets are waiting to be written (data queued by the
 * application outside the processing of input). */
int wt_qconn_wants_write(const wt_qconn *q);

/* The peer's address as text ("127.0.0.1:4433", "[::1]:4433"). */
void wt_qconn_peer(const wt_qconn *q, char *out, size_t cap);

/* The peer's address. */
const struct sockaddr *wt_qconn_peer_addr(const wt_qconn *q);

/* Nonzero once the TLS handshake completed. */
int wt_qconn_handshake_done(const wt_qconn *q);

/* Client: why the TLS handshake failed, or "". */
const char *wt_qconn_tls_error(const wt_qconn *q);
/* Adds one HTTP/3 or WebTransport event to the connection's qlog file, if
 * it has one; `ts` is the caller's clock, `data_json` a JSON object. */
void wt_qconn_qlog_event(wt_qconn *q, uint64_t ts, const char *name, const char *data_json);

#endif
