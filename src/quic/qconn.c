/*
 * qconn.c: one QUIC connection on ngtcp2 + GnuTLS (see qconn.h).
 */
#include "quic/qconn.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quic/endpoint.h"
#include "quic/qconn_priv.h"

#define NS_PER_MS 1000000ULL

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

wt_qconn_state wt_qconn_get_state(const wt_qconn *q) { return q->state; }
int wt_qconn_is_server(const wt_qconn *q) { return q->is_server; }
wt_timer *wt_qconn_timer(wt_qconn *q) { return &q->timer; }
const char *wt_qconn_tls_error(const wt_qconn *q) { return q->verify.error; }
int wt_qconn_handshake_done(const wt_qconn *q) { return q->conn && ngtcp2_conn_get_handshake_completed(q->conn); }

const struct sockaddr *wt_qconn_peer_addr(const wt_qconn *q) { return ngtcp2_conn_get_path(q->conn)->remote.addr; }

void wt_qconn_peer(const wt_qconn *q, char *out, size_t cap) {
  const ngtcp2_addr *a = &ngtcp2_conn_get_path(q->conn)->remote;
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (a->addr->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)a->addr;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
    port = ntohs(s4->sin_port);
    snprintf(out, cap, "%s:%u", host, port);
  } else {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a->addr;
    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
    port = ntohs(s6->sin6_port);
    snprintf(out, cap, "[%s]:%u", host, port);
  }
}
int wt_qconn_wants_write(const wt_qconn *q) { return q->wants_write; }

void wt_qconn_set_app(wt_qconn *q, const wt_qconn_handler *h, void *app) {
  q->h = h;
  q->app = app;
}

static void want_write(wt_qconn *q) {
  q->wants_write = 1;
  wt_endpoint_mark_write(q->ep, q);
}

static void notify_closed(wt_qconn *q, int err, const char *detail) {
  if (q->closed_notified) return;
  q->closed_notified = 1;
  if (q->h && q->h->on_closed) q->h->on_closed(q->app, err, detail);
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  wt_qconn *q = ref->user_data;
  return q->conn;
}

static qstream *stream_get(wt_qconn *q, int64_t sid, int create) {
  qstream *s = wt_idmap_get(&q->streams, (uint64_t)sid);
  if (s || !create) return s;
  s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->id = sid;
  wt_sendq_init(&s->sq);
  if (wt_idmap_put(&q->streams, (uint64_t)sid, s)) {
    free(s);
    return NULL;
  }
  return s;
}

static void ready_remove(wt_qconn *q, qstream *s) {
  if (!s->in_ready) return;
  if (s->rprev)
    s->rprev->rnext = s->rnext;
  else
    q->ready_head = s->rnext;
  if (s->rnext)
    s->rnext->rprev = s->rprev;
  else
    q->ready_tail = s->rprev;
  s->rnext = s->rprev = NULL;
  s->in_ready = 0;
}

static void ready_add(wt_qconn *q, qstream *s) {
  if (s->in_ready || s->blocked || s->shut) return;
  if (!wt_sendq_unsent(&s->sq) && !(s->fin && !s->fin_handed)) return;
  s->rprev = q->ready_tail;
  s->rnext = NULL;
  if (q->ready_tail)
    q->ready_tail->rnext = s;
  else
    q->ready_head = s;
  q->ready_tail = s;
  s->in_ready = 1;
}

static void stream_free(wt_qconn *q, qstream *s) {
  ready_remove(q, s);
  wt_sendq_free(&s->sq);
  free(s);
}

/* ------------------------------------------------------------------------ */
/* ngtcp2 callbacks                                                         */

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  (void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

static int get_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t len, void *ud) {
  wt_qconn *q = ud;
  return wt_endpoint_issue_cid(q->ep, q, cid, len, token) ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int remove_cid_cb(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *ud) {
  wt_qconn *q = ud;
  wt_endpoint_retire_cid(q->ep, cid);
  return 0;
}

static void notify_ready(wt_qconn *q) {
  if (q->ready_notified) return;
  q->ready_notified = 1;
  if (q->h) q->h->on_ready(q->app);
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *ud) {
  wt_qconn *q = ud;
  if (q->is_server) wt_endpoint_handshake_over(q->ep, q);
  notify_ready(q);
  return 0;
}

/* A server can send (0.5-RTT) as soon as it has 1-RTT keys: opening the
 * HTTP/3 control stream then saves browsers a round trip before CONNECT. */
static int recv_tx_key_cb(ngtcp2_conn *conn, ngtcp2_crypto_level level, void *ud) {
  wt_qconn *q = ud;
  if (level == NGTCP2_CRYPTO_LEVEL_APPLICATION && q->is_server) notify_ready(q);
  return 0;
}

/* ngtcp2 0.12 never closes a stream the peer opened for sending only: it
 * waits for an acknowledged FIN on a send side that does not exist. So we
 * treat such a stream as closed once its receive side is over (FIN or
 * reset), return the peer's stream credit ourselves and tell the layer
 * above. The stream user data marks where a stream is in that life: set on
 * open, swapped on close, so the close happens once. (The ngtcp2 stream
 * object itself stays until the connection ends.) */
static char PEER_UNI_OPEN, PEER_UNI_DONE;

static int stream_open_cb(ngtcp2_conn *conn, int64_t sid, void *ud) {
  if (!ngtcp2_is_bidi_stream(sid) && !ngtcp2_conn_is_local_stream(conn, sid))
    ngtcp2_conn_set_stream_user_data(conn, sid, &PEER_UNI_OPEN);
  return 0;
}

static void peer_uni_done(wt_qconn *q, int64_t sid, void *sud) {
  if (sud != &PEER_UNI_OPEN) return;
  ngtcp2_conn_set_stream_user_data(q->conn, sid, &PEER_UNI_DONE);
  qstream *s = wt_idmap_del(&q->streams, (uint64_t)sid);
  if (s) stream_free(q, s);
  ngtcp2_conn_extend_max_streams_uni(q->conn, 1);
  if (q->h) q->h->on_stream_closed(q->app, sid);
}

static int has_send_side(ngtcp2_conn *conn, int64_t sid) {
  return ngtcp2_is_bidi_stream(sid) || ngtcp2_conn_is_local_stream(conn, sid);
}

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t offset, const uint8_t *data,
                               size_t len, void *ud, void *sud) {
  wt_qconn *q = ud;
  int fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (fin) {
    /* Recorded even if we never wrote to the stream yet: a later write that
     * hits the peer's STOP_SENDING must know the stream is about to close
     * (and report the code then). ngtcp2 still has the stream here, so the
     * record is freed by stream_close_cb. */
    qstream *s = stream_get(q, sid, has_send_side(conn, sid));
    if (s) s->rd_done = 1;
  }
  if (q->h) q->h->on_stream_data(q->app, sid, data, len, fin);
  if (fin) peer_uni_done(q, sid, sud);
  return 0;
}

static void check_writable(wt_qconn *q, qstream *s) {
  if (s->want_writable && !s->shut && wt_sendq_buffered(&s->sq) < s->limit) {
    s->want_writable = 0;
    if (q->h) q->h->on_stream_writable(q->app, s->id);
  }
}

/* A reset that waited for its reliable part to be acknowledged goes out. */
static void reset_if_due(wt_qconn *q, qstream *s) {
  if (!s->reset_pending || s->sq.acked < s->reset_at) return;
  s->reset_pending = 0;
  s->shut = 1;
  ready_remove(q, s);
  (void)ngtcp2_conn_shutdown_stream_write(q->conn, s->id, s->reset_code);
  want_write(q);
}

static int acked_cb(ngtcp2_conn *conn, int64_t sid, uint64_t offset, uint64_t len, void *ud, void *sud) {
  wt_qconn *q = ud;
  qstream *s = stream_get(q, sid, 0);
  if (!s) return 0;
  wt_sendq_ack(&s->sq, offset, len);
  /* ngtcp2 reports contiguous progress; a call with len 0 means the frame
   * carrying FIN was acknowledged without advancing it. A FIN sent with the
   * last data is acknowledged with it; a FIN sent alone needs its own ACK,
   * which may come before or after the data's. */
  if (len == 0) s->fin_ack_seen = 1;
  if (s->fin_handed && !s->fin_acked && !s->reset_by_us && s->sq.acked == s->sq.end &&
      (!s->fin_alone || s->fin_ack_seen)) {
    s->fin_acked = 1;
    if (q->h) q->h->on_stream_acked(q->app, sid);
  }
  reset_if_due(q, s);
  check_writable(q, s);
  return 0;
}

/* ngtcp2 0.12 answers a STOP_SENDING with RESET_STREAM but has no callback
 * for it (its stream_stop_sending fires when *we* stop reading). We learn
 * of it in two ways: a write to the stream fails with STREAM_SHUT_WR, or
 * the stream closes with its send side ended neither by an acknowledged
 * FIN nor by our reset. The close carries the first error code ngtcp2
 * recorded for the stream, which is the peer's STOP_SENDING code unless a
 * reset from the peer or our own STOP_SENDING came first. */
static void report_peer_stop(wt_qconn *q, qstream *s, int64_t sid, uint64_t code) {
  if (s) {
    if (s->stop_reported) return;
    s->stop_reported = 1;
  }
  if (q->h) q->h->on_stop_sending(q->app, sid, code);
}

/* The record of a stream with a send side, created if ngtcp2 still has the
 * stream (a record for a closed stream would never be freed). Such streams
 * carry no ngtcp2 user data, so setting it to NULL is a harmless probe.
 * Returns 0, WT_ERR_CLOSED (no such stream) or WT_ERR_NOMEM. */
static int send_stream_get(wt_qconn *q, int64_t sid, qstream **out) {
  *out = stream_get(q, sid, 0);
  if (*out) return 0;
  if (!has_send_side(q->conn, sid) || ngtcp2_conn_set_stream_user_data(q->conn, sid, NULL) != 0) return WT_ERR_CLOSED;
  *out = stream_get(q, sid, 1);
  return *out ? 0 : WT_ERR_NOMEM;
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t code, void *ud, void *sud) {
  wt_qconn *q = ud;
  if (sud == &PEER_UNI_DONE) return 0; /* closed by peer_uni_done already */
  qstream *s = wt_idmap_get(&q->streams, (uint64_t)sid);
  if (has_send_side(conn, sid) && (!s || (!s->fin_acked && !s->reset_by_us))) {
    int code_known = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) && !(s && s->rd_aborted);
    report_peer_stop(q, s, sid, code_known ? code : WT_QCONN_CODE_UNKNOWN);
  }
  s = wt_idmap_del(&q->streams, (uint64_t)sid);
  if (s) stream_free(q, s);
  /* Give the peer its stream credit back (ngtcp2 leaves this to us). */
  if (!ngtcp2_conn_is_local_stream(conn, sid)) {
    if (ngtcp2_is_bidi_stream(sid))
      ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    else
      ngtcp2_conn_extend_max_streams_uni(conn, 1);
  }
  if (q->h) q->h->on_stream_closed(q->app, sid);
  return 0;
}

static int stream_reset_cb(ngtcp2_conn *conn, int64_t sid, uint64_t final_size, uint64_t code, void *ud, void *sud) {
  wt_qconn *q = ud;
  qstream *s = stream_get(q, sid, has_send_side(conn, sid)); /* as for a FIN */
  if (s) s->rd_done = s->rd_aborted = 1;
  if (q->h) q->h->on_stream_reset(q->app, sid, code, final_size);
  peer_uni_done(q, sid, sud);
  return 0;
}

static int extend_stream_data_cb(ngtcp2_conn *conn, int64_t sid, uint64_t max, void *ud, void *sud) {
  wt_qconn *q = ud;
  qstream *s = stream_get(q, sid, 0);
  if (s && s->blocked) {
    s->blocked = 0;
    ready_add(q, s);
  }
  return 0;
}

static int extend_bidi_cb(ngtcp2_conn *conn, uint64_t max, void *ud) {
  wt_qconn *q = ud;
  if (q->h) q->h->on_stream_credit(q->app, 1);
  return 0;
}

static int extend_uni_cb(ngtcp2_conn *conn, uint64_t max, void *ud) {
  wt_qconn *q = ud;
  if (q->h) q->h->on_stream_credit(q->app, 0);
  return 0;
}

static int recv_datagram_cb(ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t len, void *ud) {
  wt_qconn *q = ud;
  if (q->h) q->h->on_datagram(q->app, data, len);
  return 0;
}

static void fill_callbacks(ngtcp2_callbacks *cb, int server) {
  memset(cb, 0, sizeof(*cb));
  if (server)
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->handshake_completed = handshake_completed_cb;
  cb->recv_tx_key = recv_tx_key_cb;
  cb->recv_stream_data = recv_stream_data_cb;
  cb->acked_stream_data_offset = acked_cb;
  cb->stream_close = stream_close_cb;
  cb->stream_reset = stream_reset_cb;
  cb->stream_open = stream_open_cb;
  cb->extend_max_stream_data = extend_stream_data_cb;
  cb->extend_max_local_streams_bidi = extend_bidi_cb;
  cb->extend_max_local_streams_uni = extend_uni_cb;
  cb->recv_datagram = recv_datagram_cb;
  cb->rand = rand_cb;
  cb->get_new_connection_id = get_new_cid_cb;
  cb->remove_connection_id = remove_cid_cb;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */

static void ngtcp2_log(void *ud, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ngtcp2_log(void *ud, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static ngtcp2_cc_algo cc_algo(wt_cc_algo cc) {
  switch (cc) {
  case WT_CC_RENO: return NGTCP2_CC_ALGO_RENO;
  case WT_CC_BBR: return NGTCP2_CC_ALGO_BBR;
  case WT_CC_BBR2: return NGTCP2_CC_ALGO_BBR2;
  default: return NGTCP2_CC_ALGO_CUBIC;
  }
}

static void fill_settings(const wt_endpoint_config *cfg, ngtcp2_settings *s, ngtcp2_transport_params *p, uint64_t ts) {
  ngtcp2_settings_default(s);
  if (getenv("WT_DEBUG_NGTCP2")) s->log_printf = ngtcp2_log;
  s->initial_ts = ts;
  s->max_window = cfg->conn_window * 4ULL;
  s->max_stream_window = cfg->stream_window * 4ULL;
  s->handshake_timeout = 10 * NGTCP2_SECONDS;
  s->cc_algo = cc_algo(cfg->cc);
  ngtcp2_transport_params_default(p);
  p->initial_max_stream_data_bidi_local = cfg->stream_window;
  p->initial_max_stream_data_bidi_remote = cfg->stream_window;
  p->initial_max_stream_data_uni = cfg->stream_window;
  p->initial_max_data = cfg->conn_window;
  p->initial_max_streams_bidi = cfg->max_streams_bidi;
  /* Three more for the peer's HTTP/3 control and QPACK streams. */
  p->initial_max_streams_uni = cfg->max_streams_uni + 3;
  p->max_idle_timeout = cfg->idle_timeout_ms * NS_PER_MS;
  p->max_datagram_frame_size = cfg->no_datagrams ? 0 : 65535;
  p->active_connection_id_limit = 8;
}

static void qlog_cb(void *user_data, uint32_t flags, const void *data, size_t len) {
  wt_qconn *q = user_data;
  wt_qlog_write(q->qlog, data, len);
}

/* With a qlog directory: the connection's file, named by `cid`, and
 * ngtcp2 told to write into it. */
static void start_qlog(wt_qconn *q, ngtcp2_settings *settings, const ngtcp2_cid *cid, uint64_t ts) {
  if (!q->cfg->qlog_dir) return;
  q->qlog = wt_qlog_open(q->cfg->qlog_dir, q->is_server, cid->data, cid->datalen, q->cfg->log);
  if (!q->qlog) return;
  q->qlog_t0 = ts;
  settings->qlog.write = qlog_cb;
  settings->qlog.odcid = *cid;
}

void wt_qconn_qlog_event(wt_qconn *q, uint64_t ts, const char *name, const char *data_json) {
  if (q->qlog) wt_qlog_event(q->qlog, ts > q->qlog_t0 ? (double)(ts - q->qlog_t0) / 1e6 : 0.0, name, data_json);
}

static wt_qconn *alloc_conn(wt_endpoint *ep, int server) {
  wt_qconn *q = calloc(1, sizeof(*q));
  if (!q) return NULL;
  q->ep = ep;
  q->cfg = wt_endpoint_get_config(ep);
  q->is_server = server;
  q->cref.ref.get_conn = get_conn;
  q->cref.ref.user_data = q;
  q->verify.log = q->cfg->log;
  wt_timer_init(&q->timer);
  wt_idmap_init(&q->streams);
  return q;
}

static int make_cid(wt_endpoint *ep, wt_qconn *q, ngtcp2_cid *cid) {
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  return wt_endpoint_issue_cid(ep, q, cid, wt_endpoint_get_config(ep)->cid_len, token);
}

int wt_qconn_new_server(wt_endpoint *ep, const ngtcp2_pkt_hd *hd, const ngtcp2_cid *retry_odcid,
                        const ngtcp2_path *path, uint64_t ts, wt_qconn **out) {
  wt_qconn *q = alloc_conn(ep, 1);
  if (!q) return WT_ERR_NOMEM;
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid;
  fill_callbacks(&cb, 1);
  fill_settings(q->cfg, &settings, &params, ts);
  params.original_dcid = hd->dcid;
  if (retry_odcid) {
    /* RFC 9000 §7.3: after a Retry the client authenticates both IDs. */
    params.original_dcid = *retry_odcid;
    params.retry_scid = hd->dcid;
    params.retry_scid_present = 1;
    settings.token = hd->token;
  }
  params.stateless_reset_token_present = 1;
  start_qlog(q, &settings, &hd->dcid, ts);
  int rv = make_cid(ep, q, &scid);
  if (!rv) {
    wt_endpoint_reset_token(ep, &scid, params.stateless_reset_token);
    q->odcid = hd->dcid;
    rv = wt_endpoint_register_cid(ep, &hd->dcid, q);
  }
  if (!rv && ngtcp2_conn_server_new(&q->conn, &hd->scid, &scid, path, hd->version, &cb, &settings, &params, NULL, q))
    rv = WT_ERR_QUIC;
  if (!rv) rv = wt_tls_server_session(q->cfg->tls_server, &q->cref, &q->tls);
  /* The certificate may be replaced (wt_transport_set_certificate) while
   * this session still uses the old credentials: hold a reference. */
  if (!rv) q->tls_server = wt_tls_server_ref(q->cfg->tls_server);
  if (rv) {
    wt_qconn_free(q);
    return rv;
  }
  ngtcp2_conn_set_tls_native_handle(q->conn, q->tls);
  *out = q;
  return 0;
}

int wt_qconn_new_client(wt_endpoint *ep, const struct sockaddr *local, socklen_t local_len,
                        const struct sockaddr *remote, socklen_t remote_len, const wt_tls_verify *verify,
                        const char *ca_file, uint64_t ts, wt_qconn **out) {
  wt_qconn *q = alloc_conn(ep, 0);
  if (!q) return WT_ERR_NOMEM;
  q->verify = *verify;
  q->verify.error[0] = 0;
  q->verify.log = q->cfg->log;
  size_t hbytes = verify->nhashes * sizeof(*verify->hashes);
  q->verify.hashes = hbytes ? malloc(hbytes) : NULL;
  if (hbytes && q->verify.hashes) memcpy(q->verify.hashes, verify->hashes, hbytes);
  q->cref.verify = &q->verify;
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid, dcid;
  fill_callbacks(&cb, 0);
  fill_settings(q->cfg, &settings, &params, ts);
  dcid.datalen = 18;
  int rv = (hbytes && !q->verify.hashes) ? WT_ERR_NOMEM : 0;
  if (!rv && gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen)) rv = WT_ERR_TLS;
  if (!rv) rv = make_cid(ep, q, &scid);
  if (!rv) start_qlog(q, &settings, &dcid, ts);
  ngtcp2_path path = {{(ngtcp2_sockaddr *)local, local_len}, {(ngtcp2_sockaddr *)remote, remote_len}, NULL};
  if (!rv &&
      ngtcp2_conn_client_new(&q->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings, &params, NULL, q))
    rv = WT_ERR_QUIC;
  if (!rv) rv = wt_tls_client_session(wt_endpoint_client_creds(ep), &q->cref, ca_file, &q->tls, &q->own_creds);
  if (rv) {
    wt_qconn_free(q);
    return rv;
  }
  ngtcp2_conn_set_tls_native_handle(q->conn, q->tls);
  want_write(q);
  *out = q;
  return 0;
}

void wt_qconn_free(wt_qconn *q) {
  if (!q) return;
  if (q->conn) {
    size_t n = ngtcp2_conn_get_num_scid(q->conn);
    ngtcp2_cid *scids = calloc(n ? n : 1, sizeof(*scids));
    if (scids) {
      ngtcp2_conn_get_scid(q->conn, scids);
      for (size_t i = 0; i < n; i++)
        wt_endpoint_retire_cid(q->ep, &scids[i]);
      free(scids);
    }
    ngtcp2_conn_del(q->conn);
  }
  wt_qlog_close(q->qlog);
  if (q->odcid.datalen) wt_endpoint_retire_cid(q->ep, &q->odcid);
  if (q->tls) gnutls_deinit(q->tls);
  if (q->own_creds) gnutls_certificate_free_credentials(q->own_creds);
  wt_tls_server_free(q->tls_server);
  for (size_t i = 0; i < q->streams.cap; i++)
    if (wt_idmap_used(&q->streams, i)) stream_free(q, q->streams.slots[i].value);
  wt_idmap_free(&q->streams);
  for (size_t i = 0; q->dq && i < q->cfg->datagram_send_queue; i++)
    free(q->dq[i].data);
  free(q->dq);
  free(q->verify.hashes);
  free(q->close_pkt);
  free(q);
}

/* ------------------------------------------------------------------------ */
/* Closing                                                                  */

static void enter_period(wt_qconn *q, wt_qconn_state st, uint64_t ts) {
  q->state = st;
  /* RFC 9000 §10.2: three times the PTO. */
  q->state_deadline = ts + 3 * ngtcp2_conn_get_pto(q->conn);
}

static void describe_peer_close(wt_qconn *q, char *out, size_t cap) {
  ngtcp2_connection_close_error ce;
  ngtcp2_conn_get_connection_close_error(q->conn, &ce);
  int app = ce.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
  char alert[160] = "";
  /* Transport errors 0x100..0x1ff carry a TLS alert (RFC 9001 §4.8). */
  if (!app && ce.error_code >= 0x100 && ce.error_code <= 0x1ff) {
    const char *name = gnutls_alert_get_name((gnutls_alert_description_t)(ce.error_code - 0x100));
    snprintf(alert, sizeof(alert), ", TLS alert %u: %s", (unsigned)(ce.error_code - 0x100), name ? name : "?");
  }
  /* RFC 9000 §10.2.3: an application close sent before the handshake is
   * confirmed becomes APPLICATION_ERROR without its reason. */
  if (!app && ce.error_code == NGTCP2_APPLICATION_ERROR)
    snprintf(alert, sizeof(alert),
             ", APPLICATION_ERROR: its application gave up at once, e.g. our SETTINGS lack the WebTransport "
             "draft it needs");
  snprintf(out, cap, "peer closed the connection (%s error 0x%llx%s%s%.*s)", app ? "application" : "transport",
           (unsigned long long)ce.error_code, alert, ce.reasonlen ? ": " : "",
           (int)(ce.reasonlen > 200 ? 200 : ce.reasonlen), ce.reason ? (const char *)ce.reason : "");
}

/* Server: a client that closes with a TLS alert before the handshake
 * completes has most likely refused our certificate; the detail (logged
 * once, by the transport) says which one it should pin. */
static void explain_certificate_rejected(wt_qconn *q, char *detail, size_t cap) {
  if (!q->is_server || ngtcp2_conn_get_handshake_completed(q->conn) || !q->tls_server) return;
  ngtcp2_connection_close_error ce;
  ngtcp2_conn_get_connection_close_error(q->conn, &ce);
  if (ce.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION || ce.error_code < 0x100 || ce.error_code > 0x1ff)
    return;
  char hex[65];
  wt_hex_sha256(wt_tls_server_cert_sha256(q->tls_server), hex);
  size_t n = strlen(detail);
  snprintf(detail + n, cap - n,
           "; the client refused our certificate: a client pinning serverCertificateHashes must use sha256 %s, "
           "and browsers also refuse RSA keys and certificates valid longer than 14 days",
           hex);
}

/* Builds and sends CONNECTION_CLOSE for `err` and enters the closing
 * period, keeping the packet to repeat it. */
static void send_close(wt_qconn *q, const ngtcp2_connection_close_error *err, uint64_t ts) {
  if (q->state != QC_ACTIVE) return;
  if (ngtcp2_conn_is_in_closing_period(q->conn) || ngtcp2_conn_is_in_draining_period(q->conn)) {
    enter_period(q, QC_DRAINING, ts);
    return;
  }
  uint8_t *slot = wt_endpoint_tx_slot(q->ep);
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(q->conn, &ps.path, &pi, slot, WT_MAX_PKT, err, ts);
  enter_period(q, QC_CLOSING, ts);
  if (n <= 0) return;
  wt_endpoint_tx_commit(q->ep, &ps.path, (size_t)n);
  q->close_pkt = malloc((size_t)n);
  if (q->close_pkt) {
    memcpy(q->close_pkt, slot, (size_t)n);
    q->close_len = (size_t)n;
  }
}

void wt_qconn_close(wt_qconn *q, uint64_t app_code, const char *reason, uint64_t ts) {
  ngtcp2_connection_close_error err;
  size_t rlen = reason ? strlen(reason) : 0;
  ngtcp2_connection_close_error_set_application_error(&err, app_code, (const uint8_t *)reason, rlen > 200 ? 200 : rlen);
  send_close(q, &err, ts);
  notify_closed(q, app_code == 0x100 ? 0 : WT_ERR_PROTO, app_code == 0x100 ? "connection closed" : reason);
}

void wt_qconn_resend_close(wt_qconn *q) {
  if (q->state != QC_CLOSING || !q->close_pkt) return;
  uint8_t *slot = wt_endpoint_tx_slot(q->ep);
  memcpy(slot, q->close_pkt, q->close_len);
  wt_endpoint_tx_commit(q->ep, ngtcp2_conn_get_path(q->conn), q->close_len);
}

/* Handles an error from ngtcp2: close, drain or drop as it requires. */
static void on_fatal(wt_qconn *q, int rv, uint64_t ts) {
  char detail[512];
  ngtcp2_connection_close_error err;
  switch (rv) {
  case NGTCP2_ERR_DRAINING:
    describe_peer_close(q, detail, sizeof(detail));
    explain_certificate_rejected(q, detail, sizeof(detail));
    enter_period(q, QC_DRAINING, ts);
    notify_closed(q, 0, detail);
    return;
  case NGTCP2_ERR_IDLE_CLOSE:
  case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
  case NGTCP2_ERR_DROP_CONN:
    q->state = QC_DEAD;
    notify_closed(q, WT_ERR_TIMEOUT,
                  rv == NGTCP2_ERR_DROP_CONN    ? "connection dropped"
                  : rv == NGTCP2_ERR_IDLE_CLOSE ? "idle timeout"
                                                : "handshake timeout");
    return;
  case NGTCP2_ERR_CRYPTO:
    ngtcp2_connection_close_error_set_transport_error_tls_alert(&err, ngtcp2_conn_get_tls_alert(q->conn), NULL, 0);
    send_close(q, &err, ts);
    snprintf(detail, sizeof(detail), "TLS handshake failed%s%s (alert %u)", q->verify.error[0] ? ": " : "",
             q->verify.error, ngtcp2_conn_get_tls_alert(q->conn));
    /* Reported once above: by a client's sessions, by the transport for a
     * server connection without one. */
    notify_closed(q, WT_ERR_TLS, detail);
    return;
  default:
    ngtcp2_connection_close_error_set_transport_error_liberr(&err, rv, NULL, 0);
    send_close(q, &err, ts);
    snprintf(detail, sizeof(detail), "QUIC error: %s", ngtcp2_strerror(rv));
    WT_LOGW(q->cfg->log, "%s", detail);
    notify_closed(q, WT_ERR_QUIC, detail);
    return;
  }
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

int wt_qconn_read(wt_qconn *q, const ngtcp2_path *path, const uint8_t *pkt, size_t len, uint64_t ts) {
  if (q->state != QC_ACTIVE) return 0;
  ngtcp2_pkt_info pi = {0};
  int rv = ngtcp2_conn_read_pkt(q->conn, path, &pi, pkt, len, ts);
  if (rv == NGTCP2_ERR_DISCARD_PKT) return 0;
  if (rv) {
    on_fatal(q, rv, ts);
    return rv;
  }
  want_write(q);
  return 0;
}

void wt_qconn_close_later(wt_qconn *q, uint64_t app_code, const char *reason, uint64_t at) {
  if (q->state != QC_ACTIVE || (q->close_at && q->close_at <= at)) return;
  q->close_at = at ? at : 1;
  q->close_code = app_code;
  snprintf(q->close_reason, sizeof(q->close_reason), "%s", reason ? reason : "");
}

void wt_qconn_on_timer(wt_qconn *q, uint64_t ts) {
  if (q->state == QC_CLOSING || q->state == QC_DRAINING) {
    if (ts >= q->state_deadline) q->state = QC_DEAD;
    return;
  }
  if (q->state != QC_ACTIVE) return;
  if (q->close_at && ts >= q->close_at) {
    wt_qconn_close(q, q->close_code, q->close_reason, ts);
    return;
  }
  int rv = ngtcp2_conn_handle_expiry(q->conn, ts);
  if (rv) {
    on_fatal(q, rv, ts);
    return;
  }
  want_write(q);
}

uint64_t wt_qconn_expiry(const wt_qconn *q) {
  switch (q->state) {
  case QC_ACTIVE: {
    uint64_t e = ngtcp2_conn_get_expiry(q->conn);
    return q->close_at && q->close_at < e ? q->close_at : e;
  }
  case QC_CLOSING:
  case QC_DRAINING: return q->state_deadline;
  default: return 0; /* dead: reap at once */
  }
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

typedef struct wctx {
  wt_qconn *q;
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  uint8_t *slot;
  uint64_t ts;
  size_t pkts, max_pkts;
} wctx;

/* Removes the oldest queued datagram; `dropped` reports it as lost. */
static void dq_pop(wt_qconn *q, int dropped) {
  qdgram *d = &q->dq[q->dq_head];
  q->dq_bytes -= d->len;
  q->dq_head = (q->dq_head + 1) % q->cfg->datagram_send_queue;
  q->dq_len--;
  if (!dropped) {
    if (q->cfg->stats) q->cfg->stats->datagrams_sent++;
    return;
  }
  if (q->cfg->stats) q->cfg->stats->datagram_send_drops++;
  if (q->h && q->h->on_datagram_dropped) q->h->on_datagram_dropped(q->app, d->tag);
}

/* Datagrams past the age limit would arrive too late to matter. */
static void dq_expire(wt_qconn *q, uint64_t ts) {
  uint64_t max_age = (uint64_t)q->cfg->datagram_max_age_ms * NS_PER_MS;
  while (max_age && q->dq_len && ts - q->dq[q->dq_head].queued_at > max_age)
    dq_pop(q, 1);
}

static ngtcp2_ssize write_datagram(wctx *w, int *accepted) {
  wt_qconn *q = w->q;
  qdgram *d = &q->dq[q->dq_head];
  ngtcp2_vec v = {d->data, d->len};
  ngtcp2_ssize n = ngtcp2_conn_writev_datagram(q->conn, &w->ps.path, &w->pi, w->slot, WT_MAX_PKT, accepted,
                                               NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &v, 1, w->ts);
  /* Taken, or refused for good (the peer's limit shrank below it). */
  if (*accepted || n == NGTCP2_ERR_INVALID_ARGUMENT) {
    dq_pop(q, !*accepted);
    if (n == NGTCP2_ERR_INVALID_ARGUMENT) n = NGTCP2_ERR_WRITE_MORE;
  }
  return n;
}

static ngtcp2_ssize write_stream(wctx *w, qstream *s) {
  wt_qconn *q = w->q;
  ngtcp2_vec vec[8];
  const uint8_t *base[8];
  size_t lens[8];
  size_t nvec = 0;
  int64_t sid = -1;
  uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
  if (s) {
    nvec = wt_sendq_peek(&s->sq, base, lens, 8);
    for (size_t i = 0; i < nvec; i++)
      vec[i] = (ngtcp2_vec){(uint8_t *)base[i], lens[i]};
    sid = s->id;
    if (s->fin && !s->fin_handed) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
  }
  ngtcp2_ssize ndatalen = -1;
  ngtcp2_ssize n = ngtcp2_conn_writev_stream(q->conn, &w->ps.path, &w->pi, w->slot, WT_MAX_PKT, &ndatalen, flags, sid,
                                             vec, nvec, w->ts);
  if (s && ndatalen >= 0) {
    wt_sendq_advance(&s->sq, (size_t)ndatalen);
    if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && wt_sendq_unsent(&s->sq) == 0) {
      s->fin_handed = 1;
      s->fin_alone = ndatalen == 0;
    }
    /* Round robin: a stream that still has data goes behind the others. */
    ready_remove(q, s);
    ready_add(q, s);
  }
  if (s &&
      (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND)) {
    ready_remove(q, s);
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
      s->blocked = 1;
    } else {
      s->shut = 1;
      s->want_writable = 0;
      /* Not our reset, so the peer sent STOP_SENDING. If the stream will
       * not close soon (its receive side is still open) say so now, without
       * the code; otherwise the close reports it with the code. */
      if (n == NGTCP2_ERR_STREAM_SHUT_WR && !s->reset_by_us && !s->rd_done && ngtcp2_is_bidi_stream(s->id))
        report_peer_stop(q, s, s->id, WT_QCONN_CODE_UNKNOWN);
    }
    n = NGTCP2_ERR_WRITE_MORE;
  }
  return n;
}

/* ngtcp2 0.12.1 counts a packet that carries only DATAGRAM frames as in
 * flight but arms no probe timeout for it (fixed upstream in 0.14, "Make
 * DATAGRAM PTO-eliciting"). If such packets fill the congestion window and
 * the ACKs for them are lost, nothing may be sent any more and no timer
 * asks for a probe: the connection is silent until the idle timeout. Two
 * guards, which cost nothing unless the window is the limit:
 *  - datagrams use at most half the congestion window (one packet at a
 *    time when nothing is in flight), so room for one more packet is left
 *    even after a loss halves the window;
 *  - while bytes are in flight and no loss-detection timer is armed, a
 *    keep-alive PING is due one PTO after the last packet; it fits in that
 *    room, and the peer's ACK of it carries every range we have not yet
 *    seen acknowledged, which settles what was in flight. */
static int datagram_may_go(wt_qconn *q) {
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(q->conn, &st);
  uint64_t pkt = ngtcp2_conn_get_max_tx_udp_payload_size(q->conn);
  return st.bytes_in_flight == 0 || st.bytes_in_flight + 2 * pkt <= st.cwnd;
}

static void stall_guard(wt_qconn *q) {
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(q->conn, &st);
  int exposed = st.bytes_in_flight > 0 && st.loss_detection_timer == UINT64_MAX;
  if (exposed != q->dgram_keepalive) {
    ngtcp2_conn_set_keep_alive_timeout(q->conn, exposed ? ngtcp2_conn_get_pto(q->conn) : 0);
    q->dgram_keepalive = exposed;
  }
}

/* One step of the packet loop: returns >0 for a finished packet, 0 when
 * nothing more can be sent, WRITE_MORE to keep filling, or an error. */
static ngtcp2_ssize write_step(wctx *w, int *dgram_turn) {
  wt_qconn *q = w->q;
  dq_expire(q, w->ts);
  if (q->dq_len && *dgram_turn && !datagram_may_go(q)) *dgram_turn = 0;
  if (q->dq_len && *dgram_turn) {
    int accepted = 0;
    ngtcp2_ssize n = write_datagram(w, &accepted);
    /* If it did not fit, let stream data fill the packet. */
    if (!accepted) *dgram_turn = 0;
    return n;
  }
  return write_stream(w, q->ready_head);
}

void wt_qconn_write(wt_qconn *q, uint64_t ts) {
  q->wants_write = 0;
  if (q->state != QC_ACTIVE) return;
  wctx w = {.q = q, .ts = ts};
  ngtcp2_path_storage_zero(&w.ps);
  size_t payload = ngtcp2_conn_get_max_tx_udp_payload_size(q->conn);
  w.max_pkts = ngtcp2_conn_get_send_quantum(q->conn) / (payload ? payload : 1200);
  if (w.max_pkts < 1) w.max_pkts = 1;
  int dgram_turn = 1;
  w.slot = wt_endpoint_tx_slot(q->ep);
  for (;;) {
    ngtcp2_ssize n = write_step(&w, &dgram_turn);
    if (n == NGTCP2_ERR_WRITE_MORE) continue;
    if (n < 0) {
      on_fatal(q, (int)n, ts);
      return;
    }
    if (n == 0) break;
    wt_endpoint_tx_commit(q->ep, &w.ps.path, (size_t)n);
    dgram_turn = 1;
    if (++w.pkts >= w.max_pkts) {
      /* Pacing: the rest goes when ngtcp2's timer says so. */
      break;
    }
    w.slot = wt_endpoint_tx_slot(q->ep);
  }
  /* ngtcp2 0.12 paces from the 333 ms initial RTT until it has a sample,
   * which holds a handshake's second flight back by ~20 ms. Handshake
   * flights are small and amplification-limited, so pace only after. */
  if (ngtcp2_conn_get_handshake_completed(q->conn)) ngtcp2_conn_update_pkt_tx_time(q->conn, ts);
  stall_guard(q);
}

/* ------------------------------------------------------------------------ */
/* Stream and datagram operations                                           */

int wt_qconn_open_stream(wt_qconn *q, int bidi, int64_t *sid) {
  if (q->state != QC_ACTIVE) return WT_ERR_CLOSED;
  int rv = bidi ? ngtcp2_conn_open_bidi_stream(q->conn, sid, NULL) : ngtcp2_conn_open_uni_stream(q->conn, sid, NULL);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return WT_ERR_AGAIN;
  return rv ? WT_ERR_QUIC : 0;
}

/* The stream a write may go to, or why not. */
static int writable_stream(wt_qconn *q, int64_t sid, qstream **out) {
  if (q->state != QC_ACTIVE) return WT_ERR_CLOSED;
  int rv = send_stream_get(q, sid, out);
  if (rv) return rv;
  if ((*out)->shut || (*out)->reset_by_us) return WT_ERR_CLOSED;
  return (*out)->fin ? WT_ERR_STATE : 0;
}

/* After `take` of `len` bytes were queued: FIN, writable interest, and the
 * ready list. */
static void after_write(wt_qconn *q, qstream *s, size_t take, size_t len, int fin, size_t limit) {
  if (take < len) {
    s->want_writable = 1;
    s->limit = limit;
  } else if (fin) {
    s->fin = 1;
  }
  if (take || s->fin) {
    ready_add(q, s);
    want_write(q);
  }
}

ssize_t wt_qconn_stream_write(wt_qconn *q, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit) {
  qstream *s;
  int rv = writable_stream(q, sid, &s);
  if (rv) return rv;
  uint64_t buffered = wt_sendq_buffered(&s->sq);
  size_t room = buffered >= limit ? 0 : (size_t)(limit - buffered);
  size_t take = len < room ? len : room;
  if (take && wt_sendq_append(&s->sq, data, take)) return WT_ERR_NOMEM;
  after_write(q, s, take, len, fin, limit);
  return (ssize_t)take;
}

ssize_t wt_qconn_stream_write_ref(wt_qconn *q, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit,
                                  wt_sendq_release_cb release, void *ud) {
  qstream *s;
  if (len == 0) return WT_ERR_INVALID_ARGUMENT;
  int rv = writable_stream(q, sid, &s);
  if (rv) return rv;
  /* All or nothing: the memory is the caller's, so a block may overshoot
   * the limit; the limit still paces the writer. */
  size_t take = wt_sendq_buffered(&s->sq) < limit ? len : 0;
  if (take && wt_sendq_append_ref(&s->sq, data, take, release, ud)) return WT_ERR_NOMEM;
  after_write(q, s, take, len, fin, limit);
  return (ssize_t)take;
}

size_t wt_qconn_stream_reserve(wt_qconn *q, int64_t sid, size_t want, size_t limit) {
  qstream *s;
  if (q->state != QC_ACTIVE || send_stream_get(q, sid, &s) || s->shut || s->reset_by_us || s->fin) return want;
  uint64_t buffered = wt_sendq_buffered(&s->sq);
  size_t room = buffered >= limit ? 0 : (size_t)(limit - buffered);
  if (room >= want) return want;
  s->want_writable = 1;
  s->limit = limit;
  return room;
}

int wt_qconn_stream_reset(wt_qconn *q, int64_t sid, uint64_t code, uint64_t reliable) {
  if (q->state != QC_ACTIVE) return WT_ERR_CLOSED;
  if (!has_send_side(q->conn, sid)) return WT_ERR_INVALID_ARGUMENT;
  qstream *s;
  int rv = send_stream_get(q, sid, &s);
  if (rv == WT_ERR_CLOSED) return 0; /* over already */
  if (rv) {
    /* No memory for a record: reset at once, without the reliable part. */
    rv = ngtcp2_conn_shutdown_stream_write(q->conn, sid, code);
    want_write(q);
    return rv ? WT_ERR_QUIC : 0;
  }
  if (s->reset_by_us || s->shut || s->fin_acked) return 0;
  s->reset_by_us = 1; /* later writes fail */
  s->want_writable = 0;
  if (!s->fin_handed) s->fin = 0; /* a FIN not yet handed over never goes */
  if (reliable > s->sq.end) reliable = s->sq.end;
  /* Bytes past the reliable part that QUIC has not taken are never sent.
   * Without RESET_STREAM_AT (ngtcp2 0.12 lacks it) the reliable part is
   * delivered by waiting for its ACK before resetting. */
  wt_sendq_truncate(&s->sq, reliable);
  if (s->sq.acked < reliable) {
    s->reset_pending = 1;
    s->reset_at = reliable;
    s->reset_code = code;
    want_write(q);
    return 0;
  }
  s->shut = 1;
  ready_remove(q, s);
  rv = ngtcp2_conn_shutdown_stream_write(q->conn, sid, code);
  want_write(q);
  return rv && rv != NGTCP2_ERR_STREAM_NOT_FOUND ? WT_ERR_QUIC : 0;
}

int wt_qconn_stream_stop(wt_qconn *q, int64_t sid, uint64_t code) {
  if (q->state != QC_ACTIVE) return WT_ERR_CLOSED;
  qstream *s;
  if (send_stream_get(q, sid, &s) == 0) s->rd_done = s->rd_aborted = 1;
  int rv = ngtcp2_conn_shutdown_stream_read(q->conn, sid, code);
  want_write(q);
  return rv && rv != NGTCP2_ERR_STREAM_NOT_FOUND ? WT_ERR_QUIC : 0;
}

void wt_qconn_stream_consumed(wt_qconn *q, int64_t sid, size_t n) {
  if (q->state != QC_ACTIVE || n == 0) return;
  ngtcp2_conn_extend_max_stream_offset(q->conn, sid, n);
  ngtcp2_conn_extend_max_offset(q->conn, n);
  want_write(q);
}

/* The largest payload whose DATAGRAM frame (type, varint length, payload)
 * fits in `budget` bytes: the smallest length-field size that works gives
 * the largest payload. */
static size_t max_datagram_in_frame(size_t budget) {
  static const size_t vsizes[] = {1, 2, 4, 8};
  for (size_t i = 0; i < 4; i++) {
    size_t v = vsizes[i];
    if (budget < 1 + v) return 0;
    size_t len = budget - 1 - v;
    size_t need = len < 0x40 ? 1 : len < 0x4000 ? 2 : len < 0x40000000 ? 4 : 8;
    if (need <= v) return len;
  }
  return 0;
}

size_t wt_qconn_max_datagram_payload(const wt_qconn *q) {
  if (q->state != QC_ACTIVE) return 0;
  const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(q->conn);
  if (!rp || rp->max_datagram_frame_size == 0) return 0;
  /* A 1-RTT packet: flags byte, the peer's CID, up to 4 bytes of packet
   * number (ngtcp2 may use fewer: then we are short by at most 3 bytes) and
   * a 16-byte AEAD tag; in it the DATAGRAM frame, which the peer bounds. */
  size_t udp = ngtcp2_conn_get_path_max_tx_udp_payload_size(q->conn);
  size_t overhead = 1 + ngtcp2_conn_get_dcid(q->conn)->datalen + 4 + 16;
  size_t room = udp > overhead ? udp - overhead : 0;
  size_t frame_max = (size_t)rp->max_datagram_frame_size;
  return max_datagram_in_frame(room < frame_max ? room : frame_max);
}

int wt_qconn_peer_accepts_datagrams(const wt_qconn *q) {
  const ngtcp2_transport_params *rp = q->conn ? ngtcp2_conn_get_remote_transport_params(q->conn) : NULL;
  return rp && rp->max_datagram_frame_size > 0;
}

/* Makes room for `need` bytes under the queue's bounds, dropping the
 * oldest datagrams if the policy says so. Returns 0 or WT_ERR_AGAIN. */
static int dq_make_room(wt_qconn *q, size_t need) {
  const wt_endpoint_config *cfg = q->cfg;
  while (q->dq_len && (q->dq_len >= cfg->datagram_send_queue || q->dq_bytes + need > cfg->datagram_send_queue_bytes)) {
    if (!cfg->datagram_drop_oldest) break;
    dq_pop(q, 1);
  }
  if (q->dq_len >= cfg->datagram_send_queue || q->dq_bytes + need > cfg->datagram_send_queue_bytes) {
    if (cfg->stats) cfg->stats->datagram_send_drops++;
    return WT_ERR_AGAIN;
  }
  return 0;
}

int wt_qconn_send_datagram(wt_qconn *q, const uint8_t *hdr, size_t hdrlen, const uint8_t *data, size_t len,
                           uint64_t tag) {
  if (q->state != QC_ACTIVE) return WT_ERR_CLOSED;
  if (hdrlen + len > wt_qconn_max_datagram_payload(q)) return WT_ERR_TOO_LARGE;
  size_t cap = q->cfg->datagram_send_queue;
  /* Allocated with the first datagram: most connections (and every
   * half-open one a flood leaves behind) never send one. */
  if (!q->dq && (q->dq = calloc(cap, sizeof(*q->dq))) == NULL) return WT_ERR_NOMEM;
  int rv = dq_make_room(q, hdrlen + len);
  if (rv) return rv;
  qdgram *d = &q->dq[(q->dq_head + q->dq_len) % cap];
  if (d->cap < hdrlen + len) {
    uint8_t *n = realloc(d->data, hdrlen + len);
    if (!n) return WT_ERR_NOMEM;
    d->data = n;
    d->cap = hdrlen + len;
  }
  memcpy(d->data, hdr, hdrlen);
  if (len) memcpy(d->data + hdrlen, data, len);
  d->len = hdrlen + len;
  d->tag = tag;
  d->queued_at = q->cfg->now ? q->cfg->now(q->cfg->now_ctx) : 0;
  q->dq_len++;
  q->dq_bytes += d->len;
  want_write(q);
  return 0;
}

uint64_t wt_qconn_streams_left(const wt_qconn *q, int bidi) {
  if (q->state != QC_ACTIVE) return 0;
  return bidi ? ngtcp2_conn_get_streams_bidi_left(q->conn) : ngtcp2_conn_get_streams_uni_left(q->conn);
}

int wt_qconn_export(wt_qconn *q, const char *label, const uint8_t *ctx, size_t ctxlen, uint8_t *out, size_t outlen) {
  if (q->state != QC_ACTIVE || !ngtcp2_conn_get_handshake_completed(q->conn)) return WT_ERR_STATE;
  return wt_tls_export(q->tls, label, ctx, ctxlen, out, outlen);
}
