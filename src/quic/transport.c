/*
 * transport.c: the public wt_transport: one UDP socket, one endpoint, one
 * event loop, and the wiring between each QUIC connection and its
 * WebTransport layer.
 *
 * For: the composition root. Each connection is a `tconn` joining a
 * wt_qconn (QUIC) and a wt_conn (HTTP/3 + WebTransport); the trampolines
 * below pass QUIC events up and stream operations down. A processing round
 * (wt_transport_process) reads every waiting packet, runs due timers,
 * delivers WebTransport events to the application, and writes. Not for:
 * protocol logic of any layer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "h3/codes.h"
#include "quic/endpoint.h"
#include "quic/transport_internal.h"
#include "quic/udp.h"
#include "util/ratelimit.h"
#include "util/url.h"
#include "wt/router.h"
#include "wt/wtconn.h"

/* How long a connection whose sessions have all ended stays open. */
#define CLOSE_LINGER_NS (100 * 1000000ULL)

typedef struct tconn {
  wt_transport *t;
  wt_qconn *q;
  wt_conn *wc;
  int pending;
  struct tconn *pending_next;
  struct tconn *prev, *next; /* every connection of the transport */
  char *pool_key;            /* client: what a pooled session must match to share it */
} tconn;

struct wt_transport {
  wt_transport_config cfg;
  char *qlog_dir; /* owned copy of cfg.qlog_dir */
  wt_logger log;
  wt_udp udp;
  int epfd, evfd;
  wt_endpoint *ep;
  tconn *conns;
  tconn *pending;
  wt_stats stats;
  wt_router router;          /* server routes, read by every connection */
  wt_ratelimit request_rate; /* server: requests per source address */
  volatile int stop;
  int shutting_down;
  int in_process;
  int no_pwait2; /* the kernel lacks epoll_pwait2: millisecond timeouts */
  /* A custom transport (tests) has no socket: */
  int custom;
  wt_transport_io io;
  struct sockaddr_storage local;
  socklen_t local_len;
};

static uint64_t clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(const wt_transport *t) { return t->custom ? t->io.now(t->io.ctx) : clock_ns(); }

static void mark_pending(tconn *c) {
  if (c->pending) return;
  c->pending = 1;
  c->pending_next = c->t->pending;
  c->t->pending = c;
}

/* ------------------------------------------------------------------------ */
/* HTTP/3 -> QUIC                                                           */

static int io_open(void *ctx, int bidi, int64_t *sid) { return wt_qconn_open_stream(((tconn *)ctx)->q, bidi, sid); }
static ssize_t io_write(void *ctx, int64_t sid, const uint8_t *d, size_t n, int fin, size_t limit) {
  return wt_qconn_stream_write(((tconn *)ctx)->q, sid, d, n, fin, limit);
}
static int io_reset(void *ctx, int64_t sid, uint64_t code, uint64_t reliable) {
  return wt_qconn_stream_reset(((tconn *)ctx)->q, sid, code, reliable);
}
static int io_stop(void *ctx, int64_t sid, uint64_t code) { return wt_qconn_stream_stop(((tconn *)ctx)->q, sid, code); }
static void io_consumed(void *ctx, int64_t sid, size_t n) { wt_qconn_stream_consumed(((tconn *)ctx)->q, sid, n); }
static int io_datagram(void *ctx, const uint8_t *h, size_t hl, const uint8_t *d, size_t n, uint64_t tag) {
  return wt_qconn_send_datagram(((tconn *)ctx)->q, h, hl, d, n, tag);
}
static void io_close(void *ctx, uint64_t code, const char *reason) {
  tconn *c = ctx;
  wt_qconn_close(c->q, code, reason, now_ns(c->t));
  mark_pending(c);
}

static size_t io_reserve(void *ctx, int64_t sid, size_t want, size_t limit) {
  return wt_qconn_stream_reserve(((tconn *)ctx)->q, sid, want, limit);
}

static ssize_t io_write_ref(void *ctx, int64_t sid, const uint8_t *d, size_t n, int fin, size_t limit,
                            wt_release_cb release, void *ud) {
  return wt_qconn_stream_write_ref(((tconn *)ctx)->q, sid, d, n, fin, limit, release, ud);
}

static const wt_h3_io h3_io = {NULL,        io_open,     io_write, io_reset,   io_stop,
                               io_consumed, io_datagram, io_close, io_reserve, io_write_ref};

static int x_export(void *ctx, const char *label, const uint8_t *c, size_t cl, uint8_t *out, size_t ol) {
  return wt_qconn_export(((tconn *)ctx)->q, label, c, cl, out, ol);
}
static size_t x_max_dgram(void *ctx) { return wt_qconn_max_datagram_payload(((tconn *)ctx)->q); }
static int x_peer_dgrams(void *ctx) { return wt_qconn_peer_accepts_datagrams(((tconn *)ctx)->q); }
static uint64_t x_streams_left(void *ctx, int bidi) { return wt_qconn_streams_left(((tconn *)ctx)->q, bidi); }
static void x_wake(void *ctx) { mark_pending(ctx); }
static void x_qlog(void *ctx, const char *name, const char *data_json) {
  tconn *c = ctx;
  wt_qconn_qlog_event(c->q, now_ns(c->t), name, data_json);
}

static int x_admit_request(void *ctx) {
  tconn *c = ctx;
  uint8_t key[WT_RATELIMIT_KEY_MAX];
  size_t klen = wt_ratelimit_addr_key(wt_qconn_peer_addr(c->q), key);
  return !klen || wt_ratelimit_take(&c->t->request_rate, key, klen, now_ns(c->t));
}

static const wt_conn_io conn_io = {NULL,           x_export, x_max_dgram,     x_peer_dgrams,
                                   x_streams_left, x_wake,   x_admit_request, x_qlog};

/* ------------------------------------------------------------------------ */
/* QUIC -> HTTP/3                                                           */

static void q_ready(void *app) { wt_conn_on_ready(((tconn *)app)->wc); }
static void q_data(void *app, int64_t sid, const uint8_t *d, size_t n, int fin) {
  wt_conn_on_stream_data(((tconn *)app)->wc, sid, d, n, fin);
}
static void q_reset(void *app, int64_t sid, uint64_t code, uint64_t final_size) {
  wt_conn_on_stream_reset(((tconn *)app)->wc, sid, code, final_size);
}
static void q_stop(void *app, int64_t sid, uint64_t code) { wt_conn_on_stop_sending(((tconn *)app)->wc, sid, code); }
static void q_writable(void *app, int64_t sid) { wt_conn_on_stream_writable(((tconn *)app)->wc, sid); }
static void q_acked(void *app, int64_t sid) { wt_conn_on_stream_acked(((tconn *)app)->wc, sid); }
static void q_closed_stream(void *app, int64_t sid) { wt_conn_on_stream_closed(((tconn *)app)->wc, sid); }
static void q_datagram(void *app, const uint8_t *d, size_t n) { wt_conn_on_datagram(((tconn *)app)->wc, d, n); }
static void q_credit(void *app, int bidi) { wt_conn_on_stream_credit(((tconn *)app)->wc, bidi); }
static void q_dgram_dropped(void *app, uint64_t tag) { wt_conn_on_datagram_dropped(((tconn *)app)->wc, tag); }

static void q_closed(void *app, int err, const char *detail) {
  tconn *c = app;
  /* Without a session nobody else would hear why (a browser refusing our
   * certificate, say): say it here. */
  if (!c->wc->had_session && detail && *detail) {
    char peer[64];
    wt_qconn_peer(c->q, peer, sizeof(peer));
    int in_handshake = !wt_qconn_handshake_done(c->q);
    /* A handshake the peer ended (a certificate it refused) is worth a
     * warning; one that merely went silent is what scanners and floods
     * leave by the thousand, so it must not fill the log at WARN. */
    wt_log_level lvl = in_handshake && err != WT_ERR_TIMEOUT ? WT_LOG_WARN : WT_LOG_INFO;
    wt_log(&c->t->log, lvl, "connection with %s ended %s: %s", peer,
           in_handshake ? "during the handshake" : "before any session", detail);
  }
  wt_conn_on_closed(c->wc, err, detail);
  mark_pending(c);
}

static void unlink_pending(tconn *c) {
  for (tconn **pp = &c->t->pending; *pp; pp = &(*pp)->pending_next) {
    if (*pp == c) {
      *pp = c->pending_next;
      break;
    }
  }
}

static void q_freed(void *app) {
  tconn *c = app;
  /* Last chance for the application to hear how its sessions ended. */
  wt_conn_dispatch(c->wc);
  unlink_pending(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    c->t->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  wt_conn_free(c->wc);
  free(c->pool_key);
  free(c);
}

static const wt_qconn_handler q_handler = {
    .on_ready = q_ready,
    .on_stream_data = q_data,
    .on_stream_reset = q_reset,
    .on_stop_sending = q_stop,
    .on_stream_writable = q_writable,
    .on_stream_acked = q_acked,
    .on_stream_closed = q_closed_stream,
    .on_datagram = q_datagram,
    .on_stream_credit = q_credit,
    .on_datagram_dropped = q_dgram_dropped,
    .on_closed = q_closed,
    .on_freed = q_freed,
};

static int attach(wt_transport *t, wt_qconn *q, const wt_conn_client_opts *copts, tconn **out) {
  tconn *c = calloc(1, sizeof(*c));
  if (!c) return WT_ERR_NOMEM;
  c->t = t;
  c->q = q;
  wt_h3_io io = h3_io;
  io.ctx = c;
  wt_conn_io x = conn_io;
  x.ctx = c;
  wt_conn_config cc = {
      .is_server = wt_qconn_is_server(q),
      .on_request = t->cfg.on_request,
      .request_user_data = t->cfg.request_user_data,
      .on_event = t->cfg.on_event,
      .event_user_data = t->cfg.event_user_data,
      .check_origin = t->cfg.check_origin,
      .origin_user_data = t->cfg.origin_user_data,
      .allowed_origins = t->cfg.allowed_origins,
      .nallowed_origins = t->cfg.nallowed_origins,
      .protocols = t->cfg.protocols,
      .nprotocols = t->cfg.nprotocols,
      .stream_send_buffer = t->cfg.stream_send_buffer,
      .datagram_recv_queue = t->cfg.datagram_recv_queue,
      .datagram_recv_queue_bytes = t->cfg.datagram_recv_queue_bytes,
      .stats = &t->stats,
      .router = &t->router,
      .max_buffered_streams = t->cfg.max_buffered_streams,
      .server_drafts = t->cfg.drafts ? t->cfg.drafts : WT_DRAFT_MASK_ALL,
      .pooling = t->cfg.pooling,
      .max_sessions = t->cfg.max_sessions,
      .session_max_data = t->cfg.session_max_data,
      .session_max_streams_bidi = t->cfg.session_max_streams_bidi,
      .session_max_streams_uni = t->cfg.session_max_streams_uni,
      .max_buffered_datagrams = t->cfg.max_buffered_datagrams,
      .max_field_section_size = t->cfg.max_field_section_size,
      .log = &t->log,
  };
  gnutls_rnd(GNUTLS_RND_NONCE, &cc.grease_seed, sizeof(cc.grease_seed));
  int rv = wt_conn_new(&cc, copts, &io, &x, &c->wc);
  if (rv) {
    free(c);
    return rv;
  }
  wt_qconn_set_app(q, &q_handler, c);
  c->next = t->conns;
  if (t->conns) t->conns->prev = c;
  t->conns = c;
  if (out) *out = c;
  return 0;
}

static int on_accept(void *ctx, wt_qconn *q) {
  wt_transport *t = ctx;
  t->stats.connections_accepted++;
  return attach(t, q, NULL, NULL);
}

static void send_batch(void *ctx, const uint8_t *buf, const wt_txpkt *pkts, size_t n) {
  wt_transport *t = ctx;
  t->stats.packets_sent += n;
  if (t->custom)
    t->io.send(t->io.ctx, buf, pkts, n);
  else
    wt_udp_send(&t->udp, buf, pkts, n);
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */

void wt_transport_config_init(wt_transport_config *c) {
  memset(c, 0, sizeof(*c));
  c->bind_addr = "::";
  c->log_level = WT_LOG_INFO;
  c->idle_timeout_ms = 30000;
  c->stream_window = 256 * 1024;
  c->conn_window = 16 * 1024 * 1024;
  c->stream_send_buffer = 256 * 1024;
  /* Browsers and the W3C API expect at least 100 of each; the CONNECT
   * stream takes one bidi credit. */
  c->max_streams_bidi = 128;
  c->max_streams_uni = 128;
  c->datagram_send_queue = 1024;
  c->datagram_recv_queue = 1024;
  c->datagram_send_queue_bytes = 1 << 20;
  c->datagram_recv_queue_bytes = 1 << 20;
  c->max_buffered_streams = 16;
  c->max_sessions = 16;
  c->session_max_data = 4 << 20;
  c->session_max_streams_bidi = 100;
  c->session_max_streams_uni = 100;
  c->max_buffered_datagrams = 64;
  c->cid_len = 16;
  c->max_connections = 10000;
  c->max_connections_per_addr = 128;
  c->conn_rate_per_addr = 50;
  c->conn_burst_per_addr = 100;
  c->request_rate_per_addr = 100;
  c->request_burst_per_addr = 200;
  c->retry = WT_RETRY_AUTO;
  c->retry_threshold = 128;
  c->max_field_section_size = 16384;
}

static int validate_config(const wt_transport_config *c) {
  if (c->cid_len < 8 || c->cid_len > 20 || c->stream_window < 1024 || c->conn_window < c->stream_window ||
      c->stream_send_buffer < 1024 || c->datagram_send_queue == 0 || c->datagram_recv_queue == 0 ||
      c->datagram_send_queue_bytes < 1500 || c->datagram_recv_queue_bytes < 1500 ||
      (c->pooling && (c->max_sessions == 0 || c->session_max_data == 0)) || c->idle_timeout_ms == 0 || !c->bind_addr ||
      (c->drafts & ~WT_DRAFT_MASK_ALL) || (c->conn_rate_per_addr && !c->conn_burst_per_addr) ||
      (c->request_rate_per_addr && !c->request_burst_per_addr) || c->retry > WT_RETRY_NEVER ||
      c->max_field_section_size < 1024 || (unsigned)c->cc > WT_CC_BBR2)
    return WT_ERR_INVALID_ARGUMENT;
  return 0;
}

static int setup_loop(wt_transport *t) {
  t->epfd = epoll_create1(EPOLL_CLOEXEC);
  t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->epfd < 0 || t->evfd < 0) return WT_ERR_IO;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = t->udp.fd};
  if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->udp.fd, &ev)) return WT_ERR_IO;
  ev.data.fd = t->evfd;
  return epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &ev) ? WT_ERR_IO : 0;
}

static uint64_t now_cb(void *ctx) { return now_ns(ctx); }

/* qlog files go into an existing directory; a wrong path is an error at
 * start, not a warning per connection. */
static int setup_qlog_dir(wt_transport *t, const char *dir) {
  if (!dir) return 0;
  struct stat st;
  if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
    WT_LOGE(&t->log, "qlog_dir %s is not an existing directory", dir);
    return WT_ERR_NOT_FOUND;
  }
  t->qlog_dir = strdup(dir);
  t->cfg.qlog_dir = t->qlog_dir; /* the caller's string may go away */
  return t->qlog_dir ? 0 : WT_ERR_NOMEM;
}

/* Everything but the socket and the loop. */
static int transport_init(wt_transport *t, const wt_transport_config *cfg) {
  t->cfg = *cfg;
  t->epfd = t->evfd = -1;
  t->udp.fd = -1;
  t->log = (wt_logger){cfg->log_cb, cfg->log_user_data, cfg->log_level};
  wt_endpoint_config ec = {
      .is_server = cfg->server,
      .cid_len = cfg->cid_len,
      .cid_generate = cfg->cid_generate,
      .cid_user_data = cfg->cid_user_data,
      .idle_timeout_ms = cfg->idle_timeout_ms,
      .stream_window = cfg->stream_window,
      .conn_window = cfg->conn_window,
      .max_streams_bidi = cfg->max_streams_bidi,
      .max_streams_uni = cfg->max_streams_uni,
      .datagram_send_queue = cfg->datagram_send_queue,
      .datagram_send_queue_bytes = cfg->datagram_send_queue_bytes,
      .datagram_max_age_ms = cfg->datagram_max_age_ms,
      .datagram_drop_oldest = cfg->datagram_drop_oldest,
      .cc = cfg->cc,
      .log = &t->log,
      .stats = &t->stats,
      .now = now_cb,
      .now_ctx = t,
      .send_batch = send_batch,
      .send_ctx = t,
      .on_accept = on_accept,
      .accept_ctx = t,
      .max_connections = cfg->max_connections,
      .max_conns_per_addr = cfg->max_connections_per_addr,
      .conn_rate = cfg->conn_rate_per_addr,
      .conn_burst = cfg->conn_burst_per_addr,
      .retry_mode = cfg->retry,
      .retry_threshold = cfg->retry_threshold,
  };
  int rv = setup_qlog_dir(t, cfg->qlog_dir);
  if (rv) return rv;
  ec.qlog_dir = t->qlog_dir;
  wt_tls_server_source src = {cfg->cert_file, cfg->key_file, cfg->cert_pem, cfg->key_pem};
  uint64_t seed;
  if (gnutls_rnd(GNUTLS_RND_NONCE, &seed, sizeof(seed))) return WT_ERR_TLS;
  rv = cfg->server ? wt_ratelimit_init(&t->request_rate, cfg->request_rate_per_addr, cfg->request_burst_per_addr,
                                       WT_RATELIMIT_ADDRS, seed)
                   : 0;
  if (!rv && cfg->server) rv = wt_tls_server_new(&src, &t->log, &ec.tls_server);
  if (!rv) rv = wt_endpoint_new(&ec, &t->ep);
  if (rv) wt_tls_server_free(ec.tls_server);
  return rv;
}

int wt_transport_new(const wt_transport_config *cfg, wt_transport **out) {
  if (!cfg || !out || validate_config(cfg)) return WT_ERR_INVALID_ARGUMENT;
  wt_transport *t = calloc(1, sizeof(*t));
  if (!t) return WT_ERR_NOMEM;
  int rv = transport_init(t, cfg);
  if (!rv) rv = wt_udp_open(&t->udp, cfg->bind_addr, cfg->port, cfg->reuse_port, !cfg->no_udp_offload, &t->log);
  if (!rv) rv = setup_loop(t);
  if (rv) {
    wt_transport_free(t);
    return rv;
  }
  *out = t;
  return 0;
}

int wt_transport_new_custom(const wt_transport_config *cfg, const wt_transport_io *io, const struct sockaddr *local,
                            socklen_t local_len, wt_transport **out) {
  if (!cfg || !io || !out || validate_config(cfg) || local_len > sizeof(struct sockaddr_storage))
    return WT_ERR_INVALID_ARGUMENT;
  wt_transport *t = calloc(1, sizeof(*t));
  if (!t) return WT_ERR_NOMEM;
  t->custom = 1;
  t->io = *io;
  memcpy(&t->local, local, local_len);
  t->local_len = local_len;
  int rv = transport_init(t, cfg);
  if (rv) {
    wt_transport_free(t);
    return rv;
  }
  *out = t;
  return 0;
}

void wt_transport_free(wt_transport *t) {
  if (!t) return;
  if (t->ep) wt_endpoint_free(t->ep, now_ns(t));
  wt_udp_close(&t->udp);
  if (t->epfd >= 0) close(t->epfd);
  if (t->evfd >= 0) close(t->evfd);
  wt_router_free(&t->router);
  wt_ratelimit_free(&t->request_rate);
  free(t->qlog_dir);
  free(t);
}

int wt_transport_route(wt_transport *t, const char *path, unsigned flags, wt_event_cb cb, void *user_data) {
  if (!t) return WT_ERR_INVALID_ARGUMENT;
  return wt_router_add(&t->router, path, flags, cb, user_data);
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss) {
  return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                        : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

uint16_t wt_transport_port(const wt_transport *t) {
  if (!t) return 0;
  return t->custom ? sockaddr_port(&t->local) : wt_udp_port(&t->udp);
}
int wt_transport_fd(const wt_transport *t) { return t ? t->epfd : -1; }

void wt_transport_get_stats(const wt_transport *t, wt_stats *out) {
  if (!t || !out) return;
  *out = t->stats;
  out->connections = wt_endpoint_conn_count(t->ep);
  out->handshakes = wt_endpoint_handshakes(t->ep);
  out->send_errors = t->udp.send_errors;
  out->gso_sends = t->udp.gso_sends;
  out->udp_gso = t->udp.gso;
  out->udp_gro = t->udp.gro;
}

const uint8_t *wt_transport_cert_sha256(const wt_transport *t) {
  const wt_endpoint_config *ec = t ? wt_endpoint_get_config(t->ep) : NULL;
  return ec && ec->tls_server ? wt_tls_server_cert_sha256(ec->tls_server) : NULL;
}

int wt_transport_set_certificate(wt_transport *t, const char *cert_pem, const char *key_pem) {
  if (!t || !cert_pem != !key_pem) return WT_ERR_INVALID_ARGUMENT;
  const wt_endpoint_config *ec = wt_endpoint_get_config(t->ep);
  if (!ec->tls_server) return WT_ERR_INVALID_ARGUMENT; /* not a server */
  wt_tls_server_source src = {NULL, NULL, cert_pem, key_pem};
  wt_tls_server *s;
  int rv = wt_tls_server_new(&src, &t->log, &s);
  if (rv) return rv;
  wt_endpoint_set_tls_server(t->ep, s);
  char hex[65];
  wt_hex_sha256(wt_tls_server_cert_sha256(s), hex);
  WT_LOGI(&t->log, "certificate replaced: new connections get the certificate with sha256 %s", hex);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Processing                                                               */

static void dispatch_all(wt_transport *t) {
  uint64_t ts = 0;
  while (t->pending) {
    tconn *c = t->pending;
    t->pending = c->pending_next;
    c->pending = 0;
    wt_conn_dispatch(c->wc);
    /* A connection whose sessions are all over is closed, so that clients
     * which vanish silently (as Chromium does) do not linger; but not at
     * once: a CONNECTION_CLOSE right behind a WT_CLOSE_SESSION makes
     * Chromium report "Connection lost" instead of the close code when it
     * reads the two out of order. CLOSE_LINGER gives it time to act on the
     * capsule first. */
    if (wt_conn_finished(c->wc) && wt_qconn_get_state(c->q) == QC_ACTIVE) {
      if (!ts) ts = now_ns(t);
      wt_qconn_close_later(c->q, H3_NO_ERROR, wt_conn_close_reason(c->wc), ts + CLOSE_LINGER_NS);
      wt_endpoint_mark_write(t->ep, c->q);
    }
  }
}

static void read_packets(wt_transport *t) {
  /* Bounded so timers and writes are not starved by a flood. */
  for (int round = 0; round < 16; round++) {
    int n = wt_udp_recv(&t->udp);
    if (n <= 0) return;
    uint64_t ts = now_ns(t);
    t->stats.packets_received += (uint64_t)n;
    for (int i = 0; i < n; i++) {
      wt_rxpkt *p = &t->udp.rx[i];
      wt_endpoint_on_packet(t->ep, (const struct sockaddr *)p->to, p->tolen, (const struct sockaddr *)p->from,
                            p->fromlen, p->data, p->len, ts);
    }
    if (!t->udp.rx_full) return;
  }
}

int wt_transport_process(wt_transport *t) {
  if (!t) return WT_ERR_INVALID_ARGUMENT;
  uint64_t v;
  t->in_process = 1;
  if (!t->custom) {
    while (read(t->evfd, &v, sizeof(v)) > 0) {
    }
    read_packets(t);
  }
  wt_endpoint_on_timers(t->ep, now_ns(t));
  dispatch_all(t);
  wt_endpoint_write(t->ep, now_ns(t));
  /* Freeing dead connections may have delivered events that queued more. */
  dispatch_all(t);
  if (wt_endpoint_wants_write(t->ep)) wt_endpoint_write(t->ep, now_ns(t));
  t->in_process = 0;
  return 0;
}

/* Nanoseconds until wt_transport_process must run: 0 while work is
 * pending, UINT64_MAX with no timer. */
static uint64_t wait_ns(wt_transport *t) {
  if (t->pending || wt_endpoint_wants_write(t->ep)) return 0;
  uint64_t exp = wt_endpoint_next_expiry(t->ep);
  if (exp == WT_TIMER_NONE) return UINT64_MAX;
  uint64_t now = now_ns(t);
  return exp <= now ? 0 : exp - now;
}

int wt_transport_timeout_ms(wt_transport *t) {
  if (!t) return -1;
  uint64_t ns = wait_ns(t);
  if (ns == UINT64_MAX) return -1;
  uint64_t ms = (ns + 999999) / 1000000;
  return ms > 60000 ? 60000 : (int)ms;
}

/* Waits for the socket, the stop event or the next timer. The timer is
 * kept to the nanosecond where the kernel allows (epoll_pwait2): pacing
 * timers are often well under a millisecond, and rounding them up to one
 * would hold a fast sender back. */
static int wait_events(wt_transport *t) {
  struct epoll_event evs[4];
  uint64_t ns = wait_ns(t);
  if (ns > 60000000000ULL) ns = 60000000000ULL;
#ifdef __NR_epoll_pwait2
  if (!t->no_pwait2) {
    struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
    int n = epoll_pwait2(t->epfd, evs, 4, &ts, NULL);
    if (n >= 0 || errno != ENOSYS) return n;
    t->no_pwait2 = 1;
  }
#endif
  return epoll_wait(t->epfd, evs, 4, (int)((ns + 999999) / 1000000));
}

int wt_transport_run(wt_transport *t) {
  if (!t) return WT_ERR_INVALID_ARGUMENT;
  t->stop = 0;
  while (!t->stop) {
    int n = wait_events(t);
    if (n < 0 && errno != EINTR) {
      WT_LOGE(&t->log, "epoll_wait: %s", strerror(errno));
      return WT_ERR_IO;
    }
    wt_transport_process(t);
    if (t->shutting_down && wt_endpoint_conn_count(t->ep) == 0) break;
  }
  return 0;
}

void wt_transport_stop(wt_transport *t) {
  if (!t) return;
  t->stop = 1;
  uint64_t one = 1;
  ssize_t r = write(t->evfd, &one, sizeof(one));
  (void)r;
}

int wt_transport_shutdown(wt_transport *t) {
  if (!t) return WT_ERR_INVALID_ARGUMENT;
  t->shutting_down = 1;
  wt_endpoint_set_accepting(t->ep, 0);
  for (tconn *c = t->conns; c; c = c->next) {
    wt_conn_shutdown(c->wc);
    mark_pending(c);
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Client                                                                   */

static int resolve(wt_transport *t, const wt_url *u, struct sockaddr_storage *remote, socklen_t *rlen) {
  if (t->custom) return t->io.resolve(t->io.ctx, u->host, u->port, remote, rlen);
  struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = t->udp.family == AF_INET ? AF_INET : AF_UNSPEC};
  struct addrinfo *res = NULL;
  char port[8];
  snprintf(port, sizeof(port), "%u", u->port);
  int rv = getaddrinfo(u->host, port, &hints, &res);
  if (rv || !res) {
    WT_LOGW(&t->log, "cannot resolve %s: %s", u->host, gai_strerror(rv));
    return WT_ERR_NOT_FOUND;
  }
  memcpy(remote, res->ai_addr, res->ai_addrlen);
  *rlen = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

static int draft_mask(int draft, unsigned *mask) {
  switch (draft) {
  case 0: *mask = WT_DRAFT_MASK_ALL; return 0;
  case 2:
  case 7:
  case 13:
  case 15: *mask = 1u << draft; return 0;
  default: return WT_ERR_INVALID_ARGUMENT;
  }
}

static int fill_verify(const wt_connect_options *o, const wt_url *u, wt_tls_verify *v) {
  memset(v, 0, sizeof(*v));
  v->mode = o->verify;
  if (o->verify == WT_VERIFY_HASHES && (!o->cert_hashes || o->ncert_hashes == 0)) return WT_ERR_INVALID_ARGUMENT;
  v->hashes = (uint8_t(*)[32])o->cert_hashes;
  v->nhashes = o->verify == WT_VERIFY_HASHES ? o->ncert_hashes : 0;
  snprintf(v->host, sizeof(v->host), "%s", u->host);
  return 0;
}

/* Sessions may share a connection only if they would have made the same
 * one: same authority, same verification, same draft generations. */
static char *pool_key(const wt_url *u, const wt_connect_options *o) {
  size_t n = strlen(u->authority) + (o->ca_file ? strlen(o->ca_file) : 0) + 65 * o->ncert_hashes + 64;
  char *k = malloc(n);
  if (!k) return NULL;
  int off = snprintf(k, n, "%s|%d|%d|%s", u->authority, (int)o->verify, o->draft, o->ca_file ? o->ca_file : "");
  for (size_t i = 0; o->verify == WT_VERIFY_HASHES && i < o->ncert_hashes; i++) {
    k[off++] = '|';
    wt_hex_sha256(o->cert_hashes[i], k + off);
    off += 64;
  }
  return k;
}

/* A plain request may share any live connection made the same way; a
 * session only one whose server enabled WebTransport flow control. */
static tconn *find_pooled(wt_transport *t, const char *key, int http) {
  for (tconn *c = t->conns; c; c = c->next)
    if (c->pool_key && strcmp(c->pool_key, key) == 0 && wt_qconn_get_state(c->q) == QC_ACTIVE &&
        (http ? wt_conn_http_reusable(c->wc) : wt_conn_poolable(c->wc)))
      return c;
  return NULL;
}

/* The connection a client session or request goes on: a pooled one when
 * asked for and available, else a new one (*q, NULL when pooled, which the
 * caller abandons if it fails afterwards). */
static int client_conn(wt_transport *t, const wt_url *u, const wt_connect_options *opts, int http, tconn **out,
                       wt_qconn **q) {
  wt_conn_client_opts copts;
  wt_tls_verify verify;
  *q = NULL;
  int rv = draft_mask(opts->draft, &copts.draft_mask);
  if (!rv) rv = fill_verify(opts, u, &verify);
  char *key = rv ? NULL : pool_key(u, opts);
  if (!rv && !key) rv = WT_ERR_NOMEM;
  *out = rv || !opts->pooled ? NULL : find_pooled(t, key, http);
  if (*out) {
    free(key);
    return 0;
  }
  struct sockaddr_storage remote, mapped, local;
  socklen_t rlen = 0, mlen = 0, llen = 0;
  if (!rv) rv = resolve(t, u, &remote, &rlen);
  if (!rv && t->custom) {
    mapped = remote;
    mlen = rlen;
    local = t->local;
    llen = t->local_len;
  } else if (!rv) {
    rv = wt_udp_route(&t->udp, (struct sockaddr *)&remote, rlen, &mapped, &mlen, &local, &llen);
  }
  if (!rv)
    rv = wt_endpoint_connect(t->ep, (struct sockaddr *)&local, llen, (struct sockaddr *)&mapped, mlen, &verify,
                             opts->ca_file, now_ns(t), q);
  if (!rv) rv = attach(t, *q, &copts, out);
  if (!rv) {
    (*out)->pool_key = key;
    key = NULL;
  }
  free(key);
  if (rv && *q) {
    wt_endpoint_abandon(t->ep, *q);
    *q = NULL;
  }
  return rv;
}

/* A client session (`method` NULL, into *session) or plain request (into
 * *request) on a pooled or new connection. */
static int dial(wt_transport *t, const char *url, const wt_connect_options *opts, const char *method,
                const wt_http_header *headers, size_t n, wt_session **session, wt_http_request **request) {
  wt_connect_options defaults;
  if (!opts) {
    wt_connect_options_init(&defaults);
    opts = &defaults;
  }
  wt_url u;
  tconn *c;
  wt_qconn *q = NULL;
  int rv = wt_url_parse(url, &u);
  if (rv) return rv;
  rv = client_conn(t, &u, opts, method != NULL, &c, &q);
  if (!rv)
    rv = method ? wt_http_start(c->wc, method, &u, headers, n, opts, request)
                : wt_conn_connect(c->wc, &u, opts, session);
  /* A connection without a session or request is of no use: let the
   * endpoint reap it. */
  if (rv && q) wt_endpoint_abandon(t->ep, q);
  wt_url_free(&u);
  return rv;
}

int wt_session_connect(wt_transport *t, const char *url, const wt_connect_options *opts, wt_session **out) {
  if (!t || !url || !out) return WT_ERR_INVALID_ARGUMENT;
  return dial(t, url, opts, NULL, NULL, 0, out, NULL);
}

int wt_http_request_send(wt_transport *t, const char *method, const char *url, const wt_http_header *headers, size_t n,
                         const wt_connect_options *opts, wt_http_request **out) {
  if (!t || !method || !url || !out) return WT_ERR_INVALID_ARGUMENT;
  return dial(t, url, opts, method, headers, n, NULL, out);
}

/* ------------------------------------------------------------------------ */
/* Custom transports (tests)                                                */

void wt_transport_deliver(wt_transport *t, const struct sockaddr *from, socklen_t from_len, const uint8_t *data,
                          size_t len) {
  t->stats.packets_received++;
  wt_endpoint_on_packet(t->ep, (const struct sockaddr *)&t->local, t->local_len, from, from_len, data, len, now_ns(t));
}

uint64_t wt_transport_next_ns(wt_transport *t) {
  if (t->pending || wt_endpoint_wants_write(t->ep)) return now_ns(t);
  uint64_t exp = wt_endpoint_next_expiry(t->ep);
  return exp == WT_TIMER_NONE ? UINT64_MAX : exp;
}
