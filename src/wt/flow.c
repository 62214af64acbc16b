/*
 * flow.c: WebTransport session flow control (draft-ietf-webtrans-http3 §5),
 * the part of the protocol that lets several sessions share a connection.
 *
 * Per session and direction there is a data limit (stream payload bytes,
 * stream headers excluded, a reset stream counted at its final size) and a
 * stream-count limit per stream kind. We grant credit as the application
 * consumes data and as peer streams are retired, without waiting for the
 * peer's *_BLOCKED capsules. A peer going past our limits is a session
 * error (WT_FLOW_CONTROL_ERROR). When flow control is not enabled on the
 * connection (it needs both endpoints to announce it in SETTINGS) every
 * function here is a no-op and flow-control capsules are ignored.
 *
 * Not for: QUIC's own connection and stream flow control, which ngtcp2
 * enforces underneath and which applies in addition.
 */
#include <stdio.h>
#include <string.h>

#include "h3/codes.h"
#include "h3/varint.h"
#include "wt/wt_internal.h"

static wt_flow *fl(wt_session *s) { return &s->flow; }

void wt_flow_init(wt_session *s) {
  wt_conn *c = s->conn;
  wt_flow *f = fl(s);
  memset(f, 0, sizeof(*f));
  f->enabled = c->fc_enabled;
  if (!f->enabled) return;
  const wt_h3_settings *ps = wt_h3conn_peer_settings(c->h3);
  f->tx_max_data = ps->wt_initial_max_data;
  f->tx_max_streams[0] = ps->wt_initial_max_streams_uni;
  f->tx_max_streams[1] = ps->wt_initial_max_streams_bidi;
  f->rx_window = c->cfg.session_max_data;
  f->rx_max_data = f->rx_window;
  f->rx_stream_window[0] = f->rx_max_streams[0] = c->cfg.session_max_streams_uni;
  f->rx_stream_window[1] = f->rx_max_streams[1] = c->cfg.session_max_streams_bidi;
}

/* Sends a capsule whose value is one varint on the CONNECT stream. */
static void send_capsule(wt_session *s, uint64_t type, uint64_t value) {
  if (s->state != WS_OPEN || s->fin_sent) return;
  uint8_t v[8];
  size_t n = (size_t)(wt_varint_write(v, value) - v);
  wt_buf b;
  wt_buf_init(&b);
  if (wt_capsule_write_header(&b, type, n) == 0 && wt_buf_append(&b, v, n) == 0)
    wt_h3conn_send_data(s->conn->h3, (int64_t)s->id, b.data, b.len, 0);
  wt_buf_free(&b);
  wt_conn_wake(s->conn);
}

void wt_flow_violation(wt_session *s, const char *why) {
  wt_conn *c = s->conn;
  char detail[320];
  snprintf(detail, sizeof(detail),
           "the peer exceeded our WebTransport flow-control limits (%s); reset with WT_FLOW_CONTROL_ERROR. "
           "The peer must respect the WT_MAX_DATA / WT_MAX_STREAMS credit we announce",
           why);
  wt_conn_abort_request(c, (int64_t)s->id, WT_FLOW_CONTROL_ERROR);
  wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_PROTO, detail);
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                  */

uint64_t wt_flow_send_credit(wt_session *s) {
  wt_flow *f = fl(s);
  if (!f->enabled) return UINT64_MAX;
  return f->tx_max_data > f->tx_data ? f->tx_max_data - f->tx_data : 0;
}

void wt_flow_on_sent(wt_session *s, uint64_t n, int blocked) {
  wt_flow *f = fl(s);
  if (!f->enabled) return;
  f->tx_data += n;
  /* Tell the peer once per limit that it holds us back. */
  if (blocked && f->blocked_data_at != f->tx_max_data + 1) {
    /* The first time at INFO, later limits at DEBUG: a long session that
     * keeps hitting a small window must not flood the log. */
    wt_log(s->conn->cfg.log, f->blocked_data_at ? WT_LOG_DEBUG : WT_LOG_INFO,
           "session %llu: flow-control limit hit: the peer allows %llu bytes on this session (WT_MAX_DATA) and we "
           "sent them all; writes wait until it reads and grants more (it can raise its session_max_data)",
           (unsigned long long)s->id, (unsigned long long)f->tx_max_data);
    f->blocked_data_at = f->tx_max_data + 1;
    send_capsule(s, CAPSULE_WT_DATA_BLOCKED, f->tx_max_data);
  }
}

int wt_flow_can_open(wt_session *s, int bidi, int announce) {
  wt_flow *f = fl(s);
  if (!f->enabled || f->tx_streams[bidi] < f->tx_max_streams[bidi]) return 1;
  if (announce && f->blocked_streams_at[bidi] != f->tx_max_streams[bidi] + 1) {
    wt_log(s->conn->cfg.log, f->blocked_streams_at[bidi] ? WT_LOG_DEBUG : WT_LOG_INFO,
           "session %llu: flow-control limit hit: the peer allows %llu %s streams on this session (WT_MAX_STREAMS) "
           "and all are used; new ones wait for WT_EV_SESSION_STREAM_CREDIT (it can raise its "
           "session_max_streams_%s)",
           (unsigned long long)s->id, (unsigned long long)f->tx_max_streams[bidi], bidi ? "bidi" : "uni",
           bidi ? "bidi" : "uni");
    f->blocked_streams_at[bidi] = f->tx_max_streams[bidi] + 1;
    send_capsule(s, bidi ? CAPSULE_WT_STREAMS_BLOCKED_BIDI : CAPSULE_WT_STREAMS_BLOCKED_UNI, f->tx_max_streams[bidi]);
  }
  return 0;
}

void wt_flow_on_opened(wt_session *s, int bidi) {
  if (fl(s)->enabled) fl(s)->tx_streams[bidi]++;
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                */

int wt_flow_on_peer_stream(wt_session *s, int bidi) {
  wt_flow *f = fl(s);
  if (!f->enabled) return 0;
  if (++f->rx_streams[bidi] > f->rx_max_streams[bidi]) {
    char why[128];
    snprintf(why, sizeof(why), "it opened %s stream number %llu, we allow %llu", bidi ? "bidi" : "uni",
             (unsigned long long)f->rx_streams[bidi], (unsigned long long)f->rx_max_streams[bidi]);
    wt_flow_violation(s, why);
    return -1;
  }
  return 0;
}

int wt_flow_on_received(wt_session *s, uint64_t n) {
  wt_flow *f = fl(s);
  if (!f->enabled || n == 0) return 0;
  f->rx_data += n;
  if (f->rx_data > f->rx_max_data) {
    char why[128];
    snprintf(why, sizeof(why), "it sent %llu bytes, we allow %llu (WT_MAX_DATA)", (unsigned long long)f->rx_data,
             (unsigned long long)f->rx_max_data);
    wt_flow_violation(s, why);
    return -1;
  }
  return 0;
}

/* Credit returns once half the window has been used, so a steady reader
 * causes a capsule every window/2 bytes, not one per read. */
void wt_flow_on_consumed(wt_session *s, uint64_t n) {
  wt_flow *f = fl(s);
  if (!f->enabled || n == 0 || s->state != WS_OPEN) return;
  f->rx_consumed += n;
  if (f->rx_max_data - f->rx_consumed < f->rx_window / 2) {
    f->rx_max_data = f->rx_consumed + f->rx_window;
    send_capsule(s, CAPSULE_WT_MAX_DATA, f->rx_max_data);
  }
}

void wt_flow_on_peer_stream_retired(wt_session *s, int bidi) {
  wt_flow *f = fl(s);
  if (!f->enabled || s->state != WS_OPEN) return;
  f->rx_retired[bidi]++;
  uint64_t want = f->rx_retired[bidi] + f->rx_stream_window[bidi];
  if (want - f->rx_max_streams[bidi] >= (f->rx_stream_window[bidi] + 1) / 2) {
    f->rx_max_streams[bidi] = want;
    send_capsule(s, bidi ? CAPSULE_WT_MAX_STREAMS_BIDI : CAPSULE_WT_MAX_STREAMS_UNI, want);
  }
}

/* ------------------------------------------------------------------------ */
/* Capsules                                                                 */

/* New send credit: streams that stopped writing may go on. */
static void wake_writers(wt_session *s) {
  for (wt_stream *st = s->streams; st; st = st->next)
    wt_stream_on_writable(st);
}

/* Spec §2.7: every MAX capsule must raise its limit; an equal or smaller
 * value is the peer getting flow control wrong. Returns 1 or -1. */
static int raise_limit(wt_session *s, uint64_t *limit, uint64_t v, const char *what) {
  if (v <= *limit) {
    wt_flow_violation(s, what);
    return -1;
  }
  *limit = v;
  return 1;
}

static int bidi_blocked(uint64_t type) { return type == CAPSULE_WT_STREAMS_BLOCKED_BIDI; }

int wt_flow_on_capsule(wt_session *s, uint64_t type, const uint8_t *v, size_t len) {
  wt_flow *f = fl(s);
  uint64_t x = 0;
  if (!f->enabled) return 0; /* draft §5: ignored without flow control */
  if (wt_varint_read(v, v + len, &x) != len) {
    wt_flow_violation(s, "malformed flow-control capsule");
    return -1;
  }
  int bidi = type == CAPSULE_WT_MAX_STREAMS_BIDI;
  switch (type) {
  case CAPSULE_WT_MAX_DATA: {
    if (raise_limit(s, &f->tx_max_data, x, "WT_MAX_DATA did not increase") < 0) return -1;
    wake_writers(s);
    return 0;
  }
  case CAPSULE_WT_MAX_STREAMS_BIDI:
  case CAPSULE_WT_MAX_STREAMS_UNI: {
    if (x > WT_MAX_STREAM_COUNT) {
      wt_flow_violation(s, "WT_MAX_STREAMS above 2^60");
      return -1;
    }
    if (raise_limit(s, &f->tx_max_streams[bidi], x, "WT_MAX_STREAMS did not increase") < 0) return -1;
    if (s->wants_credit) {
      s->wants_credit = 0;
      wt_conn_mark_session(s, EV_CREDIT);
    }
    return 0;
  }
  case CAPSULE_WT_MAX_STREAM_DATA:
  case CAPSULE_WT_STREAM_DATA_BLOCKED:
    /* Only meaningful over HTTP/2; QUIC has per-stream limits. */
    wt_flow_violation(s, "HTTP/2-only flow-control capsule");
    return -1;
  case CAPSULE_WT_STREAMS_BLOCKED_BIDI:
  case CAPSULE_WT_STREAMS_BLOCKED_UNI:
    if (x > WT_MAX_STREAM_COUNT) {
      wt_flow_violation(s, "WT_STREAMS_BLOCKED above 2^60");
      return -1;
    }
    /* fall through */
  default: {
    /* *_BLOCKED: we grant credit without waiting for them; the line says
     * so once per limit value, however often the peer repeats it. */
    uint64_t *seen = &f->peer_blocked_at[type == CAPSULE_WT_DATA_BLOCKED ? 0 : 1 + bidi_blocked(type)];
    if (*seen == x + 1) return 0;
    wt_log(s->conn->cfg.log, *seen ? WT_LOG_DEBUG : WT_LOG_INFO,
           "session %llu: the peer hit our flow-control limit (%s at %llu): it waits until the application reads "
           "and finishes streams; raise session_max_%s if this is unexpected",
           (unsigned long long)s->id,
           type == CAPSULE_WT_DATA_BLOCKED           ? "WT_DATA_BLOCKED"
           : type == CAPSULE_WT_STREAMS_BLOCKED_BIDI ? "WT_STREAMS_BLOCKED_BIDI"
                                                     : "WT_STREAMS_BLOCKED_UNI",
           (unsigned long long)x,
           type == CAPSULE_WT_DATA_BLOCKED           ? "data"
           : type == CAPSULE_WT_STREAMS_BLOCKED_BIDI ? "streams_bidi"
                                                     : "streams_uni");
    *seen = x + 1;
    return 0;
  }
  }
}
