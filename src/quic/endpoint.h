/*
 * endpoint.h: the set of QUIC connections behind one UDP socket, without
 * the socket.
 *
 * For: routing each incoming UDP datagram to its connection by destination
 * connection ID (every CID a connection has issued is in the table, retired
 * ones are removed), accepting new server connections, answering unknown
 * short-header packets with a stateless reset and unknown versions with
 * Version Negotiation, driving every connection's timer from one heap, and
 * batching outgoing packets. Packets leave through the send_batch callback,
 * so tests can wire two endpoints together in memory. Not for: sockets
 * (udp.c) or anything above QUIC.
 */
#ifndef WT_QUIC_ENDPOINT_H
#define WT_QUIC_ENDPOINT_H

#include <ngtcp2/ngtcp2.h>
#include <stdint.h>
#include <sys/socket.h>

#include "quic/qconn.h"
#include "quic/tls.h"
#include "util/cidmap.h"
#include "util/log.h"
#include "util/timerheap.h"

/* Largest UDP payload we build (ngtcp2's PMTUD ceiling). */
#define WT_MAX_PKT 1452
/* Packets batched before a flush. */
#define WT_TX_BATCH 64

typedef struct wt_txpkt {
  struct sockaddr_storage to, from;
  socklen_t tolen, fromlen;
  size_t off, len;
} wt_txpkt;

typedef struct wt_endpoint_config {
  int is_server;
  wt_tls_server *tls_server; /* server only; owned by the endpoint */
  const char *qlog_dir;      /* a qlog file per connection there, or NULL */
  size_t cid_len;
  wt_cid_generate_cb cid_generate;
  void *cid_user_data;
  uint32_t idle_timeout_ms;
  uint32_t stream_window, conn_window;
  uint32_t max_streams_bidi, max_streams_uni;
  uint32_t datagram_send_queue; /* datagrams */
  uint32_t datagram_send_queue_bytes;
  uint32_t datagram_max_age_ms; /* 0: no limit */
  int datagram_drop_oldest;
  wt_cc_algo cc;
  int no_datagrams; /* omit max_datagram_frame_size (tests of peers without DATAGRAM) */
  const wt_logger *log;
  wt_stats *stats; /* counters to update; may be NULL */
  /* The clock, in nanoseconds (what the caller passes as timestamps). */
  uint64_t (*now)(void *ctx);
  void *now_ctx;
  /* Sends `n` packets; their bytes are at buf + pkts[i].off. */
  void (*send_batch)(void *ctx, const uint8_t *buf, const wt_txpkt *pkts, size_t n);
  void *send_ctx;
  /* Server admission. New connections beyond `max_connections` (0: no
   * cap) or `max_conns_per_addr` from one source address, or faster than `conn_rate` per second (burst `conn_burst`)
   * from one source address (0: no limit) get CONNECTION_REFUSED. Retry (address validation) is sent always, never, or
   * while more than `retry_threshold` handshakes are in flight (WT_RETRY_*). */
  uint32_t max_connections;
  uint32_t max_conns_per_addr; /* 0: no cap */
  uint32_t conn_rate, conn_burst;
  int retry_mode;
  uint32_t retry_threshold;
  /* Server: attach the layer above to a new connection. Nonzero refuses
   * it (CONNECTION_REFUSED). */
  int (*on_accept)(void *ctx, wt_qconn *q);
  void *accept_ctx;
} wt_endpoint_config;

int wt_endpoint_new(const wt_endpoint_config *cfg, wt_endpoint **out);
/* Sends CONNECTION_CLOSE on every live connection and frees everything. */
void wt_endpoint_free(wt_endpoint *ep, uint64_t ts);
/* Server: whether new connections are accepted (the default) or refused
 * with CONNECTION_REFUSED in an Initial packet, e.g. while shutting down. */
void wt_endpoint_set_accepting(wt_endpoint *ep, int accepting);
/* Server connections whose handshake has not completed yet. */
size_t wt_endpoint_handshakes(const wt_endpoint *ep);
/* A server connection finished its handshake (or gave up on it). */
void wt_endpoint_handshake_over(wt_endpoint *ep, wt_qconn *q);

/* One received UDP datagram. */
void wt_endpoint_on_packet(wt_endpoint *ep, const struct sockaddr *local, socklen_t local_len,
                           const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data, size_t len,
                           uint64_t ts);
/* Runs every connection timer due at `ts`. */
void wt_endpoint_on_timers(wt_endpoint *ep, uint64_t ts);
/* Writes what every connection has to send, flushes the batch, updates
 * timers and frees connections that are over. */
void wt_endpoint_write(wt_endpoint *ep, uint64_t ts);
/* Earliest timer, or WT_TIMER_NONE. */
uint64_t wt_endpoint_next_expiry(const wt_endpoint *ep);
/* Nonzero if some connection has data to send now. */
int wt_endpoint_wants_write(const wt_endpoint *ep);

/* Client: opens a connection. */
int wt_endpoint_connect(wt_endpoint *ep, const struct sockaddr *local, socklen_t local_len,
                        const struct sockaddr *remote, socklen_t remote_len, const wt_tls_verify *verify,
                        const char *ca_file, uint64_t ts, wt_qconn **out);

/* Drops a connection without a word to the peer (it has not sent
 * anything worth closing yet); it is freed at the next write. */
void wt_endpoint_abandon(wt_endpoint *ep, wt_qconn *q);

/* Number of connections (any state). */
size_t wt_endpoint_conn_count(const wt_endpoint *ep);

/* For qconn.c. */
const wt_endpoint_config *wt_endpoint_get_config(const wt_endpoint *ep);
/* Server: connections accepted from now on use `s` (the endpoint takes
 * the reference); live connections keep theirs. */
void wt_endpoint_set_tls_server(wt_endpoint *ep, wt_tls_server *s);
wt_tls_client_creds *wt_endpoint_client_creds(wt_endpoint *ep);
/* Makes a new CID for q, registers it, and derives its reset token. */
int wt_endpoint_issue_cid(wt_endpoint *ep, wt_qconn *q, ngtcp2_cid *cid, size_t len, uint8_t *token);
int wt_endpoint_register_cid(wt_endpoint *ep, const ngtcp2_cid *cid, wt_qconn *q);
void wt_endpoint_retire_cid(wt_endpoint *ep, const ngtcp2_cid *cid);
void wt_endpoint_reset_token(const wt_endpoint *ep, const ngtcp2_cid *cid, uint8_t *token);
/* Next transmit slot (WT_MAX_PKT bytes) and its commit. */
uint8_t *wt_endpoint_tx_slot(wt_endpoint *ep);
void wt_endpoint_tx_commit(wt_endpoint *ep, const ngtcp2_path *path, size_t len);
void wt_endpoint_tx_flush(wt_endpoint *ep);
/* q has something to write at the next wt_endpoint_write. */
void wt_endpoint_mark_write(wt_endpoint *ep, wt_qconn *q);

#endif
