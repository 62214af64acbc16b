/*
 * stream.c: a WebTransport stream: receive buffer, send-side state, the
 * events it raises, and the public wt_stream_* operations.
 *
 * A stream is finished for the application when both directions are:
 * receiving ends when the application read the FIN, the peer reset, or we
 * aborted reading; sending ends when everything up to our FIN was
 * acknowledged, we reset, or the peer sent STOP_SENDING. Then the stream
 * gets WT_EV_STREAM_CLOSED and is freed (wtconn.c, deliver_stream).
 */
#include <stdlib.h>
#include <string.h>

#include "h3/codes.h"
#include "wt/wt_internal.h"

wt_stream *wt_stream_new(wt_conn *c, wt_session *s, int64_t sid, int bidi, int local) {
  wt_stream *st = calloc(1, sizeof(*st));
  if (!st) return NULL;
  st->conn = c;
  st->id = sid;
  st->bidi = (uint8_t)bidi;
  st->local = (uint8_t)local;
  st->accepted = (uint8_t)local;
  wt_buf_init(&st->rbuf);
  if (s) wt_stream_attach(s, st);
  return st;
}

void wt_stream_free(wt_stream *st) {
  if (!st) return;
  wt_buf_free(&st->rbuf);
  free(st);
}

int wt_stream_can_write(const wt_stream *st) { return st && (st->bidi || st->local); }
int wt_stream_can_read(const wt_stream *st) { return st && (st->bidi || !st->local); }

int wt_stream_is_done(const wt_stream *st) {
  int recv_done = !wt_stream_can_read(st) || st->fin_read || st->recv_reset || st->recv_stopped;
  int send_done = !wt_stream_can_write(st) || st->committed || st->send_reset || st->send_stopped;
  return recv_done && send_done;
}

/* Queues the stream for dispatch when it just became finished, so that
 * it is retired even without any other pending event. */
static void check_done(wt_stream *st) {
  if (wt_stream_is_done(st)) wt_conn_mark_stream(st, 0);
}

void wt_stream_attach(wt_session *s, wt_stream *st) {
  st->session = s;
  st->prev = NULL;
  st->next = s->streams;
  if (s->streams) s->streams->prev = st;
  s->streams = st;
  if (st->local) return;
  /* A stream that waited for its session counts now, with what it holds. */
  if (wt_flow_on_peer_stream(s, st->bidi) || wt_flow_on_received(s, st->rx_total)) return;
  st->queued = 1;
  st->in_next = NULL;
  if (s->in_tail)
    s->in_tail->in_next = st;
  else
    s->in_head = st;
  s->in_tail = st;
  wt_conn_mark_session(s, EV_STREAM);
}

/* Bytes we will never hand to the application still have to be credited,
 * or they would hold the connection's flow-control window forever. */
static void discard_received(wt_stream *st) {
  size_t n = wt_buf_readable(&st->rbuf);
  wt_buf_free(&st->rbuf);
  if (n) wt_h3conn_consumed(st->conn->h3, st->id, n);
  if (n && st->session) wt_flow_on_consumed(st->session, n);
}

void wt_stream_on_data(wt_stream *st, const uint8_t *data, size_t len, int fin) {
  st->rx_total += len;
  if (st->session && wt_flow_on_received(st->session, len)) return;
  if (st->recv_stopped || st->recv_reset) {
    if (len) wt_h3conn_consumed(st->conn->h3, st->id, len);
    if (st->session) wt_flow_on_consumed(st->session, len);
    return;
  }
  if (len && wt_buf_append(&st->rbuf, data, len)) {
    WT_LOGE(st->conn->cfg.log, "stream %lld: out of memory, aborting it", (long long)st->id);
    wt_h3conn_consumed(st->conn->h3, st->id, len);
    wt_h3conn_stop_sending(st->conn->h3, st->id, H3_INTERNAL_ERROR);
    st->recv_stopped = 1;
    discard_received(st);
    check_done(st);
    return;
  }
  if (fin) st->fin_received = 1;
  if (st->accepted && (len || fin)) wt_conn_mark_stream(st, EV_READABLE);
}

static void map_code(uint64_t h3, uint32_t *code, uint8_t *has) {
  *has = wt_h3_to_app_error(h3, code) == 0;
  if (!*has) *code = 0;
}

void wt_stream_on_reset(wt_stream *st, uint64_t code, uint64_t final_payload) {
  /* Session flow control counts a reset stream at its final size; what
   * never arrived is returned as credit at once. */
  if (final_payload > st->rx_total && st->session) {
    uint64_t missing = final_payload - st->rx_total;
    st->rx_total = final_payload;
    if (wt_flow_on_received(st->session, missing)) return;
    wt_flow_on_consumed(st->session, missing);
  }
  if (st->recv_reset || st->recv_stopped || st->fin_read) return;
  st->recv_reset = 1;
  map_code(code, &st->reset_code, &st->reset_has_code);
  discard_received(st);
  if (st->accepted) wt_conn_mark_stream(st, EV_RECV_ABORTED);
  check_done(st);
}

void wt_stream_on_stop(wt_stream *st, uint64_t code) {
  if (st->send_stopped || st->send_reset || st->committed) return;
  /* QUIC answers STOP_SENDING with a RESET_STREAM by itself; from here on
   * nothing we write is sent. */
  st->send_stopped = 1;
  map_code(code, &st->stop_code, &st->stop_has_code);
  if (st->accepted) wt_conn_mark_stream(st, EV_SEND_ABORTED);
  check_done(st);
}

void wt_stream_on_writable(wt_stream *st) {
  if (!st->want_writable || st->send_reset || st->send_stopped) return;
  st->want_writable = 0;
  wt_conn_mark_stream(st, EV_WRITABLE);
}

void wt_stream_on_acked(wt_stream *st) {
  if (st->committed || !st->fin_sent) return;
  st->committed = 1;
  if (!st->send_reset && !st->send_stopped) wt_conn_mark_stream(st, EV_COMMITTED);
  check_done(st);
}

void wt_stream_session_gone(wt_stream *st) {
  wt_h3conn *h3 = st->conn->h3;
  int live = !st->detached && !st->conn->closed;
  /* Draft §6: every stream of a terminated session is reset and stopped
   * with WT_SESSION_GONE. */
  if (wt_stream_can_write(st) && !st->committed && !st->send_reset && !st->send_stopped) {
    if (live) wt_h3conn_reset_wt(h3, st->id, WT_SESSION_GONE, 0);
    st->send_reset = 1;
  }
  if (wt_stream_can_read(st) && !st->fin_read && !st->recv_reset && !st->recv_stopped) {
    if (live && !st->fin_received) wt_h3conn_stop_sending(h3, st->id, WT_SESSION_GONE);
    st->recv_stopped = 1;
    discard_received(st);
  }
  st->want_writable = 0;
  st->pending &= ~(EV_READABLE | EV_WRITABLE | EV_COMMITTED);
  wt_conn_mark_stream(st, 0);
}

/* ------------------------------------------------------------------------ */
/* Public stream operations                                                 */

static int writable_state(const wt_stream *st) {
  if (!wt_stream_can_write(st)) return WT_ERR_STATE;
  if (st->send_stopped || st->send_reset) return WT_ERR_CLOSED;
  if (st->fin_sent) return WT_ERR_STATE;
  if (!st->session || st->session->state != WS_OPEN || st->conn->closed) return WT_ERR_CLOSED;
  return 0;
}

ssize_t wt_stream_write(wt_stream *st, const void *data, size_t len, int fin) {
  if (!st || (!data && len)) return WT_ERR_INVALID_ARGUMENT;
  int rv = writable_state(st);
  if (rv) return rv;
  /* The session's data limit (with pooling) caps what may be taken. */
  uint64_t credit = wt_flow_send_credit(st->session);
  size_t want = len < credit ? len : (size_t)credit;
  ssize_t n = wt_h3conn_write(st->conn->h3, st->id, data, want, fin && want == len, st->conn->cfg.stream_send_buffer);
  if (n < 0) return n;
  wt_flow_on_sent(st->session, (uint64_t)n, want < len);
  if ((size_t)n < len)
    st->want_writable = 1;
  else if (fin)
    st->fin_sent = 1;
  if (n > 0 || st->fin_sent) wt_conn_wake(st->conn);
  return n;
}

int wt_stream_write_ref(wt_stream *st, const void *data, size_t len, int fin, wt_release_cb release, void *user_data) {
  if (!st || !data || len == 0) return WT_ERR_INVALID_ARGUMENT;
  int rv = writable_state(st);
  if (rv) return rv;
  /* All or nothing: the session's data limit (with pooling) must cover it. */
  int short_credit = wt_flow_send_credit(st->session) < len;
  ssize_t n = short_credit ? 0
                           : wt_h3conn_write_ref(st->conn->h3, st->id, data, len, fin, st->conn->cfg.stream_send_buffer,
                                                 release, user_data);
  if (n < 0) return (int)n;
  wt_flow_on_sent(st->session, (uint64_t)n, short_credit);
  if (n == 0) {
    st->want_writable = 1;
    return WT_ERR_AGAIN;
  }
  if (fin) st->fin_sent = 1;
  wt_conn_wake(st->conn);
  return 0;
}

int wt_stream_close(wt_stream *st) {
  ssize_t n = wt_stream_write(st, NULL, 0, 1);
  if (n < 0) return (int)n;
  /* The buffer was full: FIN could not be queued behind the data yet. */
  return st->fin_sent ? 0 : WT_ERR_AGAIN;
}

ssize_t wt_stream_read(wt_stream *st, void *buf, size_t cap, int *fin) {
  if (!st || (!buf && cap)) return WT_ERR_INVALID_ARGUMENT;
  if (fin) *fin = 0;
  if (!wt_stream_can_read(st)) return WT_ERR_STATE;
  if (st->recv_reset || st->recv_stopped) return WT_ERR_CLOSED;
  size_t n = wt_buf_read(&st->rbuf, buf, cap);
  /* Credited even when QUIC has closed the stream already (its FIN came in
   * and ours was acknowledged before the application read): the bytes
   * still count against the connection's window, which would otherwise
   * shrink with every such stream until the connection stalls. */
  if (n) {
    wt_h3conn_consumed(st->conn->h3, st->id, n);
    wt_conn_wake(st->conn);
  }
  if (n) wt_flow_on_consumed(st->session, n);
  if (wt_buf_readable(&st->rbuf) == 0 && st->fin_received) {
    if (fin) *fin = 1;
    st->fin_read = 1;
    check_done(st);
    return (ssize_t)n;
  }
  return n ? (ssize_t)n : WT_ERR_AGAIN;
}

int wt_stream_abort_send(wt_stream *st, uint32_t code) { return wt_stream_abort_send_at(st, code, 0); }

int wt_stream_abort_send_at(wt_stream *st, uint32_t code, uint64_t reliable) {
  if (!st) return WT_ERR_INVALID_ARGUMENT;
  if (!wt_stream_can_write(st)) return WT_ERR_STATE;
  if (st->send_reset || st->send_stopped || st->committed) return 0;
  if (!st->detached && !st->conn->closed) wt_h3conn_reset_wt(st->conn->h3, st->id, wt_app_error_to_h3(code), reliable);
  st->send_reset = 1;
  st->want_writable = 0;
  wt_conn_wake(st->conn);
  check_done(st);
  return 0;
}

int wt_stream_abort_receive(wt_stream *st, uint32_t code) {
  if (!st) return WT_ERR_INVALID_ARGUMENT;
  if (!wt_stream_can_read(st)) return WT_ERR_STATE;
  if (st->recv_reset || st->recv_stopped || st->fin_read) return 0;
  if (!st->detached && !st->conn->closed && !st->fin_received)
    wt_h3conn_stop_sending(st->conn->h3, st->id, wt_app_error_to_h3(code));
  st->recv_stopped = 1;
  discard_received(st);
  wt_conn_wake(st->conn);
  check_done(st);
  return 0;
}

void wt_stream_set_context(wt_stream *st, void *ctx) {
  if (st) st->context = ctx;
}
void *wt_stream_context(const wt_stream *st) { return st ? st->context : NULL; }
uint64_t wt_stream_id(const wt_stream *st) { return st ? (uint64_t)st->id : 0; }
int wt_stream_is_bidi(const wt_stream *st) { return st ? st->bidi : 0; }
int wt_stream_is_local(const wt_stream *st) { return st ? st->local : 0; }
wt_session *wt_stream_session(const wt_stream *st) { return st ? st->session : NULL; }
