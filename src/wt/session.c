/*
 * session.c: a WebTransport session: its capsules, its datagram queue, how
 * it ends, and the public wt_session_* operations.
 *
 * Not for: deciding whether a session exists (wtconn.c does, from requests
 * and responses) or stream state (stream.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h3/codes.h"
#include "h3/varint.h"
#include "util/utf8.h"
#include "wt/wt_internal.h"
#include "wt/wtconn.h"

#define DGRAM_CAPSULE_MAX 65535

wt_session *wt_session_new(wt_conn *c, int is_server) {
  wt_session *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  WT_STAT(c, sessions, 1);
  s->conn = c;
  s->is_server = is_server;
  s->state = is_server ? WS_WAIT_SETTINGS : WS_CONNECTING;
  wt_capsule_parser_init(&s->cp, DGRAM_CAPSULE_MAX);
  wt_buf_init(&s->early_data);
  s->next_all = c->all;
  c->all = s;
  return s;
}

void wt_session_free(wt_session *s) {
  WT_STAT(s->conn, sessions, (uint64_t)-1);
  while (s->streams) {
    wt_stream *st = s->streams;
    s->streams = st->next;
    wt_stream_free(st);
  }
  for (size_t i = 0; i < s->dq_cap; i++)
    free(s->dq[i].data);
  free(s->dq);
  for (size_t i = 0; i < s->noffered; i++)
    free(s->offered[i]);
  free(s->offered);
  if (s->request) {
    wt_h3_headers_free(s->request);
    free(s->request);
  }
  wt_capsule_parser_free(&s->cp);
  wt_buf_free(&s->early_data);
  free(s->path);
  free(s->authority);
  free(s->origin);
  free(s->protocol);
  free(s->close_reason);
  free(s);
}

/* ------------------------------------------------------------------------ */
/* Ending                                                                   */

static void end_connect_stream(wt_session *s, wt_session_state prev, int by_peer, int error, uint32_t code,
                               const char *reason, size_t reason_len) {
  wt_conn *c = s->conn;
  int64_t sid = (int64_t)s->id;
  if (c->closed || (prev != WS_OPEN && prev != WS_REQUESTED) || s->fin_sent) return;
  if (prev == WS_REQUESTED && !by_peer) {
    wt_conn_abort_request(c, sid, H3_REQUEST_CANCELLED);
    return;
  }
  if (error && !by_peer) return; /* the caller reset the stream with the error's code */
  wt_buf b;
  wt_buf_init(&b);
  if (!by_peer && prev == WS_OPEN) wt_capsule_write_close(&b, code, reason, reason_len);
  /* Draft §6: the closer FINs right after the capsule; the receiver answers
   * a close (or a FIN) with its own FIN. */
  if (wt_h3conn_send_data(c->h3, sid, b.data, b.len, 1) == 0) {
    s->fin_sent = 1;
    wt_conn_track_end(c, sid);
  }
  wt_buf_free(&b);
}

static void drop_incoming(wt_session *s) {
  for (wt_stream *st = s->in_head; st; st = st->in_next)
    st->queued = 0;
  s->in_head = s->in_tail = NULL;
}

/* The one line that says why a session failed or was refused, on either
 * end: every site that ends a session abnormally passes a concrete detail
 * (what was expected, what came, what to do) and only this logs it, so a
 * failure is never reported twice nor silently. Orderly closes are debug. */
static void log_end(const wt_session *s, int by_peer, uint32_t code, int error) {
  const wt_logger *lg = s->conn->cfg.log;
  int failed = error || s->close_http_status;
  if (!s->close_detail[0]) {
    WT_LOGD(lg, "session %llu closed by %s: code %u", (unsigned long long)s->id, by_peer ? "peer" : "us", code);
    return;
  }
  if (s->is_server)
    wt_log(lg, WT_LOG_INFO, "session %llu (%s): %s", (unsigned long long)s->id, s->path ? s->path : "?",
           s->close_detail);
  else
    wt_log(lg, failed ? WT_LOG_WARN : WT_LOG_INFO, "WebTransport session to https://%s%s %s: %s",
           s->authority ? s->authority : "?", s->path ? s->path : "", failed ? "failed" : "ended", s->close_detail);
}

void wt_session_terminate(wt_session *s, int by_peer, uint32_t code, const char *reason, size_t reason_len, int error,
                          const char *detail) {
  if (s->state == WS_CLOSED) return;
  wt_session_state prev = s->state;
  s->state = WS_CLOSED;
  s->close_by_peer = by_peer;
  s->close_code = code;
  s->close_error = error;
  if (reason_len && (s->close_reason = malloc(reason_len + 1)) != NULL) {
    memcpy(s->close_reason, reason, reason_len);
    s->close_reason[reason_len] = 0;
    s->close_reason_len = reason_len;
  }
  snprintf(s->close_detail, sizeof(s->close_detail), "%s", detail ? detail : "");
  drop_incoming(s);
  for (wt_stream *st = s->streams; st; st = st->next)
    wt_stream_session_gone(st);
  end_connect_stream(s, prev, by_peer, error, code, reason, reason_len);
  wt_conn_session_gone(s->conn, s, 0);
  if (prev == WS_WAIT_SETTINGS || prev == WS_CONNECTING) s->pending &= ~EV_READY;
  wt_conn_mark_session(s, EV_CLOSED);
  wt_conn_wake(s->conn);
  log_end(s, by_peer, code, error);
  if (!s->is_server && error) /* the CONNECTION_CLOSE will tell the server */
    snprintf(s->conn->close_reason, sizeof(s->conn->close_reason), "%.199s", s->close_detail);
  wt_conn_qlog_session(s, "webtransport:session_closed");
}

/* ------------------------------------------------------------------------ */
/* Capsules                                                                 */

static int on_close_capsule(wt_session *s, const uint8_t *v, size_t len) {
  uint32_t code = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
  if (!wt_utf8_valid(v + 4, len - 4)) return WT_ERR_PROTO;
  s->close_received = 1;
  wt_session_terminate(s, 1, code, (const char *)v + 4, len - 4, 0, NULL);
  return 1; /* stop: nothing may follow */
}

static int on_capsule(void *ud, uint64_t type, const uint8_t *v, size_t len) {
  wt_session *s = ud;
  switch (type) {
  case CAPSULE_WT_CLOSE_SESSION: return on_close_capsule(s, v, len);
  case CAPSULE_WT_DRAIN_SESSION:
    if (!s->draining_delivered) {
      s->draining_delivered = 1;
      wt_conn_mark_session(s, EV_DRAINING);
    }
    return 0;
  case CAPSULE_DATAGRAM: wt_session_on_datagram(s, v, len); return 0;
  default:
    /* A flow-control violation ended the session: stop reading capsules. */
    if (wt_capsule_is_flow_control(type)) return wt_flow_on_capsule(s, type, v, len) ? 2 : 0;
    return 0;
  }
}

int wt_session_feed_capsules(wt_session *s, const uint8_t *data, size_t len) {
  size_t used = 0;
  int rv = wt_capsule_parser_feed(&s->cp, data, len, on_capsule, s, &used);
  if (rv == 0) return 0;
  wt_conn *c = s->conn;
  if (rv == 2) return 0; /* flow-control violation, already handled */
  if (rv == 1) {
    wt_conn_session_gone(c, s, 1);
    if (used == len) return 0;
    rv = WT_ERR_PROTO; /* data after WT_CLOSE_SESSION */
  }
  wt_conn_abort_request(c, (int64_t)s->id, H3_MESSAGE_ERROR);
  if (s->state != WS_CLOSED)
    wt_session_terminate(s, 1, 0, NULL, 0, WT_ERR_PROTO,
                         "the peer sent a malformed capsule on the CONNECT stream (a protocol error on its side); "
                         "reset with H3_MESSAGE_ERROR");
  else
    WT_LOGI(c->cfg.log, "session %llu: the peer sent bytes after WT_CLOSE_SESSION; reset with H3_MESSAGE_ERROR",
            (unsigned long long)s->id);
  return rv;
}

/* ------------------------------------------------------------------------ */
/* Datagrams                                                                */

static void recv_drop(wt_session *s) {
  s->dgram_recv_drops++;
  WT_STAT(s->conn, datagram_recv_drops, 1);
}

void wt_session_on_datagram(wt_session *s, const uint8_t *data, size_t len) {
  uint32_t cap = s->conn->cfg.datagram_recv_queue;
  WT_STAT(s->conn, datagrams_received, 1);
  if (s->dq_len >= cap || s->dq_bytes + len > s->conn->cfg.datagram_recv_queue_bytes) {
    recv_drop(s);
    return;
  }
  if (!s->dq) {
    s->dq = calloc(cap, sizeof(*s->dq));
    if (!s->dq) return;
    s->dq_cap = cap;
  }
  wt_dgram_slot *slot = &s->dq[(s->dq_head + s->dq_len) % s->dq_cap];
  /* Slots keep their buffers, so a steady stream of datagrams stops
   * allocating once each slot has seen its largest size. */
  if (slot->cap < len) {
    uint8_t *n = realloc(slot->data, len ? len : 1);
    if (!n) {
      recv_drop(s);
      return;
    }
    slot->data = n;
    slot->cap = len;
  }
  if (len) memcpy(slot->data, data, len); /* an empty datagram is legal; its buffer may be NULL */
  slot->len = len;
  s->dq_len++;
  s->dq_bytes += len;
  wt_conn_mark_session(s, EV_DATAGRAM);
}

int wt_session_send_datagram(wt_session *s, const void *data, size_t len) {
  if (!s || (!data && len)) return WT_ERR_INVALID_ARGUMENT;
  if (s->state == WS_CLOSED) return WT_ERR_CLOSED;
  if (s->state != WS_OPEN) return WT_ERR_STATE;
  if (len > wt_session_max_datagram_size(s)) return WT_ERR_TOO_LARGE;
  int rv = wt_h3conn_send_datagram(s->conn->h3, s->id, data, len);
  if (rv == WT_ERR_AGAIN) s->dgram_send_drops++;
  if (rv == 0) wt_conn_wake(s->conn);
  return rv;
}

ssize_t wt_session_receive_datagram(wt_session *s, void *buf, size_t cap) {
  if (!s || (!buf && cap)) return WT_ERR_INVALID_ARGUMENT;
  if (s->dq_len == 0) return s->state == WS_CLOSED ? WT_ERR_CLOSED : WT_ERR_AGAIN;
  wt_dgram_slot *slot = &s->dq[s->dq_head];
  if (slot->len > cap) return WT_ERR_TOO_LARGE;
  if (slot->len) memcpy(buf, slot->data, slot->len);
  s->dq_head = (s->dq_head + 1) % s->dq_cap;
  s->dq_len--;
  s->dq_bytes -= slot->len;
  return (ssize_t)slot->len;
}

size_t wt_session_max_datagram_size(const wt_session *s) {
  if (!s || s->state != WS_OPEN) return 0;
  wt_conn *c = s->conn;
  const wt_h3_settings *ps = wt_h3conn_peer_settings(c->h3);
  if (!ps || !(ps->h3_datagram || ps->h3_datagram_draft04)) return 0;
  size_t quic = c->xio.max_datagram_payload(c->xio.ctx);
  size_t hdr = wt_varint_size(s->id / 4);
  return quic > hdr ? quic - hdr : 0;
}

void wt_session_datagram_drops(const wt_session *s, uint64_t *send_drops, uint64_t *recv_drops) {
  if (send_drops) *send_drops = s ? s->dgram_send_drops : 0;
  if (recv_drops) *recv_drops = s ? s->dgram_recv_drops : 0;
}

/* ------------------------------------------------------------------------ */
/* Public session operations                                                */

int wt_session_close(wt_session *s, uint32_t code, const char *reason, size_t reason_len) {
  if (!s || (!reason && reason_len)) return WT_ERR_INVALID_ARGUMENT;
  if (s->state == WS_CLOSED) return WT_ERR_STATE;
  reason_len = wt_utf8_truncate((const uint8_t *)reason, reason_len, WT_CLOSE_REASON_MAX);
  /* The peer must treat a reason that is not UTF-8 as H3_MESSAGE_ERROR:
   * refuse it here rather than send it. */
  if (!wt_utf8_valid((const uint8_t *)reason, reason_len)) {
    WT_LOGW(s->conn->cfg.log, "session %llu: close reason is not UTF-8; not closing", (unsigned long long)s->id);
    return WT_ERR_INVALID_ARGUMENT;
  }
  wt_session_terminate(s, 0, code, reason, reason_len, 0, NULL);
  return 0;
}

int wt_session_goaway(wt_session *s) {
  if (!s) return WT_ERR_INVALID_ARGUMENT;
  if (s->conn->closed) return WT_ERR_CLOSED;
  int rv = wt_conn_shutdown(s->conn);
  wt_conn_wake(s->conn);
  return rv;
}

int wt_session_drain(wt_session *s) {
  if (!s) return WT_ERR_INVALID_ARGUMENT;
  if (s->state != WS_OPEN) return WT_ERR_STATE;
  if (s->drain_sent) return 0;
  wt_buf b;
  wt_buf_init(&b);
  int rv = wt_capsule_write_drain(&b);
  if (!rv) rv = wt_h3conn_send_data(s->conn->h3, (int64_t)s->id, b.data, b.len, 0);
  wt_buf_free(&b);
  if (!rv) {
    s->drain_sent = 1;
    wt_conn_wake(s->conn);
  }
  return rv;
}

int wt_session_export_keying_material(wt_session *s, const void *label, size_t label_len, const void *context,
                                      size_t context_len, uint8_t *out, size_t out_len) {
  if (!s || !out || !label || label_len < 1 || label_len > 255 || context_len > 255 || (!context && context_len) ||
      out_len < 1 || out_len > 4096)
    return WT_ERR_INVALID_ARGUMENT;
  if (s->state != WS_OPEN) return WT_ERR_STATE;
  /* Draft §4.8: SessionID (64 bits) || label length (8) || label ||
   * context length (8) || context. */
  uint8_t ctx[8 + 1 + 255 + 1 + 255], *p = ctx;
  for (int i = 7; i >= 0; i--)
    *p++ = (uint8_t)(s->id >> (8 * i));
  *p++ = (uint8_t)label_len;
  memcpy(p, label, label_len);
  p += label_len;
  *p++ = (uint8_t)context_len;
  if (context_len) memcpy(p, context, context_len);
  p += context_len;
  wt_conn *c = s->conn;
  return c->xio.export_keying_material(c->xio.ctx, "EXPORTER-WebTransport", ctx, (size_t)(p - ctx), out, out_len);
}

int wt_session_can_open_stream(wt_session *s, int bidi) {
  if (!s || s->state != WS_OPEN) return 0;
  bidi = bidi != 0;
  wt_conn *c = s->conn;
  if (c->xio.streams_left(c->xio.ctx, bidi) > 0 && wt_flow_can_open(s, bidi, 0)) return 1;
  s->wants_credit = 1;
  return 0;
}

int wt_session_open_stream(wt_session *s, int bidi, wt_stream **out) {
  if (!s || !out) return WT_ERR_INVALID_ARGUMENT;
  if (s->state == WS_CLOSED) return WT_ERR_CLOSED;
  if (s->state != WS_OPEN) return WT_ERR_STATE;
  wt_conn *c = s->conn;
  bidi = bidi != 0;
  /* Both the connection's (QUIC) and the session's stream limits apply. */
  if (c->xio.streams_left(c->xio.ctx, bidi) == 0 || !wt_flow_can_open(s, bidi, 1)) {
    s->wants_credit = 1;
    return WT_ERR_AGAIN;
  }
  wt_stream *st = wt_stream_new(c, NULL, -1, bidi, 1);
  if (!st) return WT_ERR_NOMEM;
  int64_t sid;
  int rv = wt_h3conn_open_wt_stream(c->h3, s->id, bidi, st, &sid);
  if (rv) {
    wt_stream_free(st);
    if (rv == WT_ERR_AGAIN) s->wants_credit = 1;
    return rv;
  }
  st->id = sid;
  wt_stream_attach(s, st);
  wt_flow_on_opened(s, bidi);
  wt_conn_wake(c);
  *out = st;
  return 0;
}

int wt_session_accept_stream(wt_session *s, wt_stream **out) {
  if (!s || !out) return WT_ERR_INVALID_ARGUMENT;
  wt_stream *st = s->in_head;
  if (!st || s->state != WS_OPEN) return s->state == WS_CLOSED ? WT_ERR_CLOSED : WT_ERR_AGAIN;
  s->in_head = st->in_next;
  if (!s->in_head) s->in_tail = NULL;
  st->in_next = NULL;
  st->queued = 0;
  st->accepted = 1;
  /* What arrived before the application took the stream is announced now. */
  if (wt_buf_readable(&st->rbuf) || st->fin_received) wt_conn_mark_stream(st, EV_READABLE);
  if (st->recv_reset) wt_conn_mark_stream(st, EV_RECV_ABORTED);
  if (st->send_stopped) wt_conn_mark_stream(st, EV_SEND_ABORTED);
  *out = st;
  return 0;
}

uint64_t wt_session_id(const wt_session *s) { return s ? s->id : 0; }
const char *wt_session_protocol(const wt_session *s) { return s ? s->protocol : NULL; }
const char *wt_session_path(const wt_session *s) { return s ? s->path : NULL; }
int wt_session_draft(const wt_session *s) { return s ? s->draft : 0; }
int wt_session_is_server(const wt_session *s) { return s ? s->is_server : 0; }
void wt_session_set_user_data(wt_session *s, void *ud) {
  if (s) s->user_data = ud;
}
void *wt_session_user_data(const wt_session *s) { return s ? s->user_data : NULL; }
void wt_session_set_callback(wt_session *s, wt_event_cb cb, void *ud) {
  if (!s) return;
  s->cb = cb;
  s->cb_user_data = ud;
}
