/*
 * endpoint.c: connection table, packet routing, stateless reset, version
 * negotiation, timers and the transmit batch (see endpoint.h).
 */
#include "quic/endpoint.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <stdlib.h>
#include <string.h>

#include "quic/qconn_priv.h"
#include "util/ratelimit.h"

/* Stateless resets answer strangers; cap them so they cannot be used to
 * make us send at line rate (RFC 9000 §10.3). */
#define RESETS_PER_SECOND 200
/* A Retry token is good for this long (a client answers within an RTT). */
#define RETRY_TOKEN_TIMEOUT (10 * NGTCP2_SECONDS)

struct wt_endpoint {
  wt_endpoint_config cfg;
  wt_cidmap cids;
  wt_qconn *conns;
  size_t nconns;
  wt_timerheap timers;
  wt_tls_client_creds client_creds;
  uint8_t secret[32];       /* stateless reset tokens are derived from it */
  uint8_t retry_secret[32]; /* Retry tokens are sealed with it */
  wt_ratelimit conn_rate;   /* new connections per source address */
  wt_cidmap per_addr;       /* live connections per source address (count as the value) */
  size_t handshakes;        /* server connections still in their handshake */
  wt_qconn *write_list;
  uint64_t reset_window_start;
  unsigned resets_in_window;
  int refusing;      /* new connections get CONNECTION_REFUSED */
  size_t ntx, txoff; /* packets in the batch; bytes used in txbuf */
  wt_txpkt tx[WT_TX_BATCH];
  uint8_t txbuf[WT_TX_BATCH * WT_MAX_PKT];
};

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

int wt_endpoint_new(const wt_endpoint_config *cfg, wt_endpoint **out) {
  if (cfg->cid_len < 8 || cfg->cid_len > NGTCP2_MAX_CIDLEN) return WT_ERR_INVALID_ARGUMENT;
  wt_endpoint *ep = calloc(1, sizeof(*ep));
  if (!ep) return WT_ERR_NOMEM;
  ep->cfg = *cfg;
  uint64_t seed[2];
  if (gnutls_rnd(GNUTLS_RND_KEY, ep->secret, sizeof(ep->secret)) ||
      gnutls_rnd(GNUTLS_RND_KEY, ep->retry_secret, sizeof(ep->retry_secret)) ||
      gnutls_rnd(GNUTLS_RND_NONCE, seed, sizeof(seed)) || wt_cidmap_init(&ep->cids, seed[0])) {
    free(ep);
    return WT_ERR_NOMEM;
  }
  if (wt_cidmap_init(&ep->per_addr, seed[1] ^ 0x5bd1e995) ||
      (cfg->is_server &&
       wt_ratelimit_init(&ep->conn_rate, cfg->conn_rate, cfg->conn_burst, WT_RATELIMIT_ADDRS, seed[1]))) {
    wt_cidmap_free(&ep->per_addr);
    wt_cidmap_free(&ep->cids);
    free(ep);
    return WT_ERR_NOMEM;
  }
  wt_timerheap_init(&ep->timers);
  *out = ep;
  return 0;
}

static void unlink_conn(wt_endpoint *ep, wt_qconn *q) {
  if (q->prev)
    q->prev->next = q->next;
  else
    ep->conns = q->next;
  if (q->next) q->next->prev = q->prev;
  ep->nconns--;
  wt_timerheap_remove(&ep->timers, &q->timer);
  for (wt_qconn **pp = &ep->write_list; *pp; pp = &(*pp)->write_next) {
    if (*pp == q) {
      *pp = q->write_next;
      break;
    }
  }
}

/* Connections per source address: the count lives in the map's value. */
static uintptr_t addr_count(const wt_endpoint *ep, const uint8_t *key, size_t klen) {
  return (uintptr_t)wt_cidmap_get(&ep->per_addr, key, klen);
}

static void addr_uncount(wt_endpoint *ep, wt_qconn *q) {
  if (!q->addr_keylen) return;
  uintptr_t n = addr_count(ep, q->addr_key, q->addr_keylen);
  if (n > 1)
    wt_cidmap_put(&ep->per_addr, q->addr_key, q->addr_keylen, (void *)(n - 1)); /* replaces: cannot fail */
  else
    wt_cidmap_del(&ep->per_addr, q->addr_key, q->addr_keylen);
  q->addr_keylen = 0;
}

static void free_conn(wt_endpoint *ep, wt_qconn *q) {
  wt_endpoint_handshake_over(ep, q);
  addr_uncount(ep, q);
  unlink_conn(ep, q);
  /* The layer above says goodbye before its pointer goes away. */
  if (q->h && q->h->on_closed && !q->closed_notified) {
    q->closed_notified = 1;
    q->h->on_closed(q->app, WT_ERR_CLOSED, "connection closed");
  }
  if (q->h && q->h->on_freed) q->h->on_freed(q->app);
  wt_qconn_free(q);
}

void wt_endpoint_free(wt_endpoint *ep, uint64_t ts) {
  if (!ep) return;
  for (wt_qconn *q = ep->conns; q; q = q->next)
    if (q->state == QC_ACTIVE) wt_qconn_close(q, 0x100 /* H3_NO_ERROR */, "shutting down", ts);
  wt_endpoint_tx_flush(ep);
  while (ep->conns)
    free_conn(ep, ep->conns);
  wt_cidmap_free(&ep->cids);
  wt_cidmap_free(&ep->per_addr);
  wt_ratelimit_free(&ep->conn_rate);
  wt_timerheap_free(&ep->timers);
  wt_tls_client_creds_free(&ep->client_creds);
  wt_tls_server_free(ep->cfg.tls_server);
  free(ep);
}

const wt_endpoint_config *wt_endpoint_get_config(const wt_endpoint *ep) { return &ep->cfg; }

void wt_endpoint_set_tls_server(wt_endpoint *ep, wt_tls_server *s) {
  wt_tls_server_free(ep->cfg.tls_server);
  ep->cfg.tls_server = s;
}
wt_tls_client_creds *wt_endpoint_client_creds(wt_endpoint *ep) { return &ep->client_creds; }
size_t wt_endpoint_conn_count(const wt_endpoint *ep) { return ep->nconns; }
int wt_endpoint_wants_write(const wt_endpoint *ep) { return ep->write_list != NULL; }
size_t wt_endpoint_handshakes(const wt_endpoint *ep) { return ep->handshakes; }

void wt_endpoint_handshake_over(wt_endpoint *ep, wt_qconn *q) {
  if (!q->in_handshake) return;
  q->in_handshake = 0;
  ep->handshakes--;
}

static void add_conn(wt_endpoint *ep, wt_qconn *q) {
  q->prev = NULL;
  q->next = ep->conns;
  if (ep->conns) ep->conns->prev = q;
  ep->conns = q;
  ep->nconns++;
}

/* ------------------------------------------------------------------------ */
/* Connection IDs                                                           */

void wt_endpoint_reset_token(const wt_endpoint *ep, const ngtcp2_cid *cid, uint8_t *token) {
  ngtcp2_crypto_generate_stateless_reset_token(token, ep->secret, sizeof(ep->secret), cid);
}

int wt_endpoint_register_cid(wt_endpoint *ep, const ngtcp2_cid *cid, wt_qconn *q) {
  return wt_cidmap_put(&ep->cids, cid->data, cid->datalen, q);
}

int wt_endpoint_issue_cid(wt_endpoint *ep, wt_qconn *q, ngtcp2_cid *cid, size_t len, uint8_t *token) {
  /* Retry a generator (or a random source) that hits a CID in use. */
  for (int attempt = 0; attempt < 8; attempt++) {
    int rv = ep->cfg.cid_generate ? ep->cfg.cid_generate(cid->data, len, ep->cfg.cid_user_data)
                                  : gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, len);
    if (rv) return WT_ERR_INVALID_ARGUMENT;
    cid->datalen = len;
    if (wt_cidmap_get(&ep->cids, cid->data, len)) continue;
    wt_endpoint_reset_token(ep, cid, token);
    return wt_endpoint_register_cid(ep, cid, q);
  }
  WT_LOGE(ep->cfg.log, "connection ID generator keeps returning IDs in use");
  return WT_ERR_INVALID_ARGUMENT;
}

void wt_endpoint_retire_cid(wt_endpoint *ep, const ngtcp2_cid *cid) {
  wt_cidmap_del(&ep->cids, cid->data, cid->datalen);
}

/* ------------------------------------------------------------------------ */
/* Transmit batch                                                           */

/* Packets lie back to back in txbuf, so that a run of them to one peer is
 * one contiguous buffer for a GSO send. */
uint8_t *wt_endpoint_tx_slot(wt_endpoint *ep) {
  if (ep->ntx == WT_TX_BATCH || ep->txoff + WT_MAX_PKT > sizeof(ep->txbuf)) wt_endpoint_tx_flush(ep);
  return ep->txbuf + ep->txoff;
}

static void copy_addr(struct sockaddr_storage *dst, socklen_t *dlen, const ngtcp2_addr *a) {
  memcpy(dst, a->addr, a->addrlen);
  *dlen = a->addrlen;
}

void wt_endpoint_tx_commit(wt_endpoint *ep, const ngtcp2_path *path, size_t len) {
  wt_txpkt *p = &ep->tx[ep->ntx];
  copy_addr(&p->to, &p->tolen, &path->remote);
  copy_addr(&p->from, &p->fromlen, &path->local);
  p->off = ep->txoff;
  p->len = len;
  ep->txoff += len;
  ep->ntx++;
}

void wt_endpoint_tx_flush(wt_endpoint *ep) {
  if (ep->ntx) ep->cfg.send_batch(ep->cfg.send_ctx, ep->txbuf, ep->tx, ep->ntx);
  ep->ntx = 0;
  ep->txoff = 0;
}

static void send_raw(wt_endpoint *ep, const ngtcp2_path *path, const uint8_t *data, size_t len) {
  uint8_t *slot = wt_endpoint_tx_slot(ep);
  memcpy(slot, data, len);
  wt_endpoint_tx_commit(ep, path, len);
}

/* ------------------------------------------------------------------------ */
/* Packets for no connection                                                */

static int reset_allowed(wt_endpoint *ep, uint64_t ts) {
  if (ts - ep->reset_window_start >= NGTCP2_SECONDS) {
    ep->reset_window_start = ts;
    ep->resets_in_window = 0;
  }
  return ep->resets_in_window++ < RESETS_PER_SECOND;
}

/* RFC 9000 §10.3: a stateless reset must be shorter than the packet that
 * triggered it (so two endpoints cannot loop) and at least 21 bytes. */
static void send_stateless_reset(wt_endpoint *ep, const ngtcp2_path *path, const ngtcp2_version_cid *vc, size_t len,
                                 uint64_t ts) {
  if (len < 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN + 1 || !reset_allowed(ep, ts))
    return;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, vc->dcid, vc->dcidlen);
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[64], pkt[128];
  size_t randlen = len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN - 1;
  if (randlen > sizeof(rnd)) randlen = sizeof(rnd);
  wt_endpoint_reset_token(ep, &cid, token);
  if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, randlen)) return;
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(pkt, sizeof(pkt), token, rnd, randlen);
  if (n > 0) send_raw(ep, path, pkt, (size_t)n);
}

/* RFC 9000 §6.1: only in answer to a packet big enough to be an Initial,
 * so Version Negotiation cannot amplify. */
static void send_version_negotiation(wt_endpoint *ep, const ngtcp2_path *path, const ngtcp2_version_cid *vc,
                                     size_t len) {
  if (len < 1200) return;
  uint8_t pkt[256], unused;
  uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  if (gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1)) return;
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(pkt, sizeof(pkt), unused, vc->scid, vc->scidlen, vc->dcid,
                                                        vc->dcidlen, versions, 1);
  if (n > 0) send_raw(ep, path, pkt, (size_t)n);
}

void wt_endpoint_set_accepting(wt_endpoint *ep, int accepting) { ep->refusing = !accepting; }

/* Answers a client's Initial with CONNECTION_CLOSE(`code`) (e.g.
 * CONNECTION_REFUSED), so that it fails at once instead of timing out,
 * without keeping any state. The answer is smaller than the >= 1200-byte
 * Initial: no amplification. */
static void refuse_initial(wt_endpoint *ep, const ngtcp2_path *path, const ngtcp2_pkt_hd *hd, uint64_t code,
                           const char *reason, uint64_t ts) {
  uint8_t pkt[256];
  if (ep->cfg.stats) ep->cfg.stats->connections_refused++;
  WT_LOGD(ep->cfg.log, "refusing a new connection: %s", reason);
  if (!reset_allowed(ep, ts)) return; /* shares the stateless-reset rate limit */
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(pkt, sizeof(pkt), hd->version, &hd->scid, &hd->dcid, code,
                                                        (const uint8_t *)reason, strlen(reason));
  if (n > 0) send_raw(ep, path, pkt, (size_t)n);
}

/* RFC 9000 §8.1.2: a Retry makes the client prove it receives packets at
 * its address before we keep any state for it. The token seals the
 * client's original DCID, our new CID and its address. */
static void send_retry(wt_endpoint *ep, const ngtcp2_path *path, const ngtcp2_pkt_hd *hd, uint64_t ts) {
  ngtcp2_cid scid;
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN], pkt[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  scid.datalen = ep->cfg.cid_len;
  if (gnutls_rnd(GNUTLS_RND_NONCE, scid.data, scid.datalen)) return;
  ngtcp2_ssize tlen = ngtcp2_crypto_generate_retry_token(token, ep->retry_secret, sizeof(ep->retry_secret), hd->version,
                                                         path->remote.addr, path->remote.addrlen, &scid, &hd->dcid, ts);
  if (tlen < 0) return;
  ngtcp2_ssize n =
      ngtcp2_crypto_write_retry(pkt, sizeof(pkt), hd->version, &hd->scid, &scid, &hd->dcid, token, (size_t)tlen);
  if (n <= 0) return;
  if (ep->cfg.stats) ep->cfg.stats->retries_sent++;
  send_raw(ep, path, pkt, (size_t)n);
}

static int retry_wanted(const wt_endpoint *ep) {
  switch (ep->cfg.retry_mode) {
  case WT_RETRY_ALWAYS: return 1;
  case WT_RETRY_NEVER: return 0;
  default: return ep->handshakes >= ep->cfg.retry_threshold;
  }
}

static void accept_conn(wt_endpoint *ep, const ngtcp2_path *path, const uint8_t *data, size_t len, uint64_t ts) {
  ngtcp2_pkt_hd hd;
  /* Anything but a well-formed client Initial (a stray 0-RTT or Handshake
   * packet, say) is dropped. */
  if (ngtcp2_accept(&hd, data, len) != 0) return;
  if (ep->refusing) {
    refuse_initial(ep, path, &hd, NGTCP2_CONNECTION_REFUSED, "not accepting connections", ts);
    return;
  }
  if (ep->cfg.max_connections && ep->nconns >= ep->cfg.max_connections) {
    WT_LOGD(ep->cfg.log, "refusing a connection: %zu connections is the configured maximum", ep->nconns);
    refuse_initial(ep, path, &hd, NGTCP2_CONNECTION_REFUSED, "server is full", ts);
    return;
  }
  /* A token we did not issue in a Retry (a NEW_TOKEN one, say: we send
   * none) is ignored, as RFC 9000 §8.1.3 allows. */
  ngtcp2_cid odcid;
  int validated = 0;
  if (hd.token.len && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base, hd.token.len, ep->retry_secret,
                                         sizeof(ep->retry_secret), hd.version, path->remote.addr, path->remote.addrlen,
                                         &hd.dcid, RETRY_TOKEN_TIMEOUT, ts)) {
      /* Forged, expired or from another address: RFC 9000 §8.1.3. */
      refuse_initial(ep, path, &hd, NGTCP2_INVALID_TOKEN, "invalid Retry token", ts);
      return;
    }
    validated = 1;
  }
  if (!validated && retry_wanted(ep)) {
    send_retry(ep, path, &hd, ts);
    return;
  }
  /* After a Retry the source address is proven, so the limit charges the
   * real sender, not an address someone else forged. */
  uint8_t key[WT_RATELIMIT_KEY_MAX];
  size_t klen = wt_ratelimit_addr_key(path->remote.addr, key);
  uintptr_t held = klen ? addr_count(ep, key, klen) : 0;
  if (klen && ep->cfg.max_conns_per_addr && held >= ep->cfg.max_conns_per_addr) {
    WT_LOGD(ep->cfg.log, "refusing a connection: its source address has %zu open", (size_t)held);
    refuse_initial(ep, path, &hd, NGTCP2_CONNECTION_REFUSED, "too many connections from this address", ts);
    return;
  }
  if (klen && !wt_ratelimit_take(&ep->conn_rate, key, klen, ts)) {
    WT_LOGD(ep->cfg.log, "refusing a connection: its source address is over the connection rate");
    refuse_initial(ep, path, &hd, NGTCP2_CONNECTION_REFUSED, "too many new connections from this address", ts);
    return;
  }
  wt_qconn *q;
  if (wt_qconn_new_server(ep, &hd, validated ? &odcid : NULL, path, ts, &q)) {
    WT_LOGW(ep->cfg.log, "cannot create a connection for a new client");
    return;
  }
  add_conn(ep, q);
  q->in_handshake = 1;
  ep->handshakes++;
  if (klen && wt_cidmap_put(&ep->per_addr, key, klen, (void *)(held + 1)) == 0) {
    memcpy(q->addr_key, key, klen);
    q->addr_keylen = (uint8_t)klen;
  }
  if (ep->cfg.on_accept(ep->cfg.accept_ctx, q)) {
    q->state = QC_DEAD;
    wt_endpoint_mark_write(ep, q);
    refuse_initial(ep, path, &hd, NGTCP2_CONNECTION_REFUSED, "not accepting connections", ts);
    return;
  }
  wt_qconn_read(q, path, data, len, ts);
  wt_endpoint_mark_write(ep, q);
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

void wt_endpoint_mark_write(wt_endpoint *ep, wt_qconn *q) {
  if (q->in_write_list) return;
  q->in_write_list = 1;
  q->write_next = ep->write_list;
  ep->write_list = q;
}

void wt_endpoint_on_packet(wt_endpoint *ep, const struct sockaddr *local, socklen_t local_len,
                           const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data, size_t len,
                           uint64_t ts) {
  ngtcp2_version_cid vc;
  ngtcp2_path path = {{(ngtcp2_sockaddr *)local, local_len}, {(ngtcp2_sockaddr *)remote, remote_len}, NULL};
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, ep->cfg.cid_len);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (ep->cfg.is_server) send_version_negotiation(ep, &path, &vc, len);
    return;
  }
  if (rv) return;
  wt_qconn *q = wt_cidmap_get(&ep->cids, vc.dcid, vc.dcidlen);
  if (!q) {
    if (vc.version == 0)
      send_stateless_reset(ep, &path, &vc, len, ts);
    else if (ep->cfg.is_server)
      accept_conn(ep, &path, data, len, ts);
    return;
  }
  if (q->state == QC_CLOSING)
    wt_qconn_resend_close(q);
  else if (q->state == QC_ACTIVE)
    wt_qconn_read(q, &path, data, len, ts);
  wt_endpoint_mark_write(ep, q);
}

void wt_endpoint_on_timers(wt_endpoint *ep, uint64_t ts) {
  /* Collect first: handling a timer re-arms it, possibly for `ts` again. */
  wt_qconn *due = NULL;
  wt_timer *t;
  while ((t = wt_timerheap_top(&ep->timers)) != NULL && t->expiry <= ts) {
    wt_qconn *q = (wt_qconn *)((char *)t - offsetof(wt_qconn, timer));
    wt_timerheap_remove(&ep->timers, t);
    q->proc_next = due;
    due = q;
  }
  while (due) {
    wt_qconn *q = due;
    due = q->proc_next;
    q->proc_next = NULL;
    wt_qconn_on_timer(q, ts);
    wt_endpoint_mark_write(ep, q);
  }
}

uint64_t wt_endpoint_next_expiry(const wt_endpoint *ep) {
  wt_timer *t = wt_timerheap_top(&ep->timers);
  return t ? t->expiry : WT_TIMER_NONE;
}

int wt_endpoint_connect(wt_endpoint *ep, const struct sockaddr *local, socklen_t local_len,
                        const struct sockaddr *remote, socklen_t remote_len, const wt_tls_verify *verify,
                        const char *ca_file, uint64_t ts, wt_qconn **out) {
  int rv = wt_qconn_new_client(ep, local, local_len, remote, remote_len, verify, ca_file, ts, out);
  if (rv) return rv;
  add_conn(ep, *out);
  wt_endpoint_mark_write(ep, *out);
  return 0;
}

void wt_endpoint_abandon(wt_endpoint *ep, wt_qconn *q) {
  q->state = QC_DEAD;
  wt_endpoint_mark_write(ep, q);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

void wt_endpoint_write(wt_endpoint *ep, uint64_t ts) {
  /* Take the list: writing may mark connections again (for the next round),
   * so this round walks its own links. */
  wt_qconn *list = NULL;
  while (ep->write_list) {
    wt_qconn *q = ep->write_list;
    ep->write_list = q->write_next;
    q->write_next = NULL;
    q->in_write_list = 0;
    q->proc_next = list;
    list = q;
  }
  for (wt_qconn *q = list; q; q = q->proc_next)
    if (q->state == QC_ACTIVE) wt_qconn_write(q, ts);
  wt_endpoint_tx_flush(ep);
  while (list) {
    wt_qconn *q = list;
    list = q->proc_next;
    q->proc_next = NULL;
    if (q->state == QC_DEAD) {
      free_conn(ep, q);
      continue;
    }
    if (wt_timerheap_set(&ep->timers, &q->timer, wt_qconn_expiry(q)))
      WT_LOGE(ep->cfg.log, "out of memory arming a connection timer");
  }
}
