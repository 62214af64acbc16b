/*
 * baton_session.c: the Devious Baton game on a wt_session (see
 * baton_session.h). Each stream that carries a baton message gets a small
 * context: the incremental reader for what arrives, how it arrived, and the
 * value expected on it. Messages are processed at the stream's FIN, so a
 * message split over many packets, or followed by stray bytes, is judged
 * whole (BRUH for a malformed one).
 */
#include "baton_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bstream {
  baton_reader rd;
  baton_arrival how;
  int expected;  /* value the message must carry, -1 any */
  int awaiting;  /* a message is to arrive here */
  int writing;   /* we wrote a message here, not yet acknowledged */
  int zero_sent; /* our own bidi carried a 0: only a bare FIN may come back */
  int fin_seen;  /* the message was judged; later reads are ignored */
} bstream;

struct baton_session {
  wt_session *s;
  baton_game g;
  uint32_t count;
  int initial;
  uint32_t unacked; /* streams with our message not yet acknowledged */
  uint32_t error;   /* session error we closed with, 0 none */
  int closing;
  /* from WT_EV_SESSION_CLOSED */
  int closed, closed_error, closed_status, closed_by_peer;
  uint32_t closed_code;
  char closed_detail[160];
  uint64_t sent, dgrams_sent, dgrams_received;
};

baton_session *baton_session_new(wt_session *s, int is_server, uint32_t count, int initial) {
  baton_session *b = calloc(1, sizeof(*b));
  if (!b) return NULL;
  b->s = s;
  b->count = count;
  b->initial = initial;
  baton_game_init(&b->g, is_server, count);
  return b;
}

void baton_session_free(baton_session *b) { free(b); }

static void fail_session(baton_session *b, uint32_t code) {
  if (b->closing) return;
  b->closing = 1;
  b->error = code;
  const char *name = baton_error_name(code);
  wt_session_close(b->s, code, name, strlen(name));
}

/* Every baton ended and everything we sent is acknowledged: close cleanly
 * (draft §4.5). Waiting for the acknowledgements keeps our last message
 * from being cut off by the resets a session close implies. */
static void maybe_close(baton_session *b) {
  if (b->closing || !baton_game_over(&b->g) || b->unacked) return;
  b->closing = 1;
  wt_session_close(b->s, 0, "", 0);
}

static bstream *bstream_attach(wt_stream *st, baton_arrival how, int expected) {
  bstream *bs = calloc(1, sizeof(*bs));
  if (!bs) return NULL;
  baton_reader_init(&bs->rd);
  bs->how = how;
  bs->expected = expected;
  wt_stream_set_context(st, bs);
  return bs;
}

/* Writes a whole message plus FIN; a fresh stream's send buffer always
 * takes the few bytes of an unpadded message. */
static int send_message(baton_session *b, wt_stream *st, bstream *bs, uint8_t value) {
  uint8_t msg[16];
  size_t n = baton_encode(value, 0, msg, sizeof(msg));
  if (wt_stream_write(st, msg, n, 1) != (ssize_t)n) return -1;
  bs->writing = 1;
  b->unacked++;
  b->sent++;
  return 0;
}

static void send_on_new_stream(baton_session *b, int bidi, uint8_t value) {
  wt_stream *st;
  if (wt_session_open_stream(b->s, bidi, &st)) {
    fail_session(b, BATON_DA_YAMN);
    return;
  }
  bstream *bs = bstream_attach(st, BATON_ON_OWN_BIDI, (uint8_t)(value + 1));
  /* A 0 already ended its baton in the game; anything else is lost now. */
  if (!bs) {
    wt_stream_abort_send(st, BATON_I_LIED);
    if (value) baton_game_on_lost(&b->g);
    return;
  }
  /* After a 0 only a bare FIN comes back: no baton is awaited. */
  bs->zero_sent = value == 0;
  bs->awaiting = bidi && !bs->zero_sent;
  if (send_message(b, st, bs, value)) {
    wt_stream_abort_send(st, BATON_I_LIED);
    if (value) baton_game_on_lost(&b->g);
  }
}

void baton_session_start(baton_session *b) {
  for (uint32_t i = 0; i < b->count && !b->closing; i++) {
    wt_stream *st;
    if (wt_session_open_stream(b->s, 0, &st)) {
      fail_session(b, BATON_DA_YAMN);
      return;
    }
    bstream *bs = bstream_attach(st, BATON_ON_UNI, -1);
    if (!bs || send_message(b, st, bs, (uint8_t)b->initial)) {
      wt_stream_abort_send(st, BATON_I_LIED);
      baton_game_on_lost(&b->g);
    }
  }
}

static void send_datagram(baton_session *b, uint8_t value) {
  uint8_t msg[16];
  size_t n = baton_encode(value, 0, msg, sizeof(msg));
  if (n <= wt_session_max_datagram_size(b->s) && wt_session_send_datagram(b->s, msg, n) == 0) b->dgrams_sent++;
}

/* A whole message arrived on `st`. */
static void on_message(baton_session *b, wt_stream *st, bstream *bs, int value) {
  baton_step step = baton_game_on_message(&b->g, bs->how, value, bs->expected);
  if (step.error) {
    fail_session(b, step.error);
    return;
  }
  if (step.datagram) send_datagram(b, (uint8_t)value);
  switch (step.reply) {
  case BATON_REPLY_NONE:
    if (bs->how == BATON_ON_PEER_BIDI) wt_stream_close(st); /* our side of it ends too */
    break;
  case BATON_REPLY_SAME:
    if (send_message(b, st, bs, step.value)) fail_session(b, BATON_DA_YAMN);
    break;
  case BATON_REPLY_NEW_BIDI: send_on_new_stream(b, 1, step.value); break;
  case BATON_REPLY_NEW_UNI: send_on_new_stream(b, 0, step.value); break;
  }
}

static void on_fin(baton_session *b, wt_stream *st, bstream *bs) {
  bs->awaiting = 0;
  if (bs->zero_sent) {
    if (!baton_reader_empty(&bs->rd)) fail_session(b, BATON_SUS); /* nothing follows a 0 */
    return;
  }
  int value = baton_reader_finish(&bs->rd);
  if (value < 0)
    fail_session(b, BATON_BRUH);
  else
    on_message(b, st, bs, value);
}

static void on_readable(baton_session *b, wt_stream *st, bstream *bs) {
  uint8_t buf[4096];
  while (!bs->fin_seen) {
    int fin = 0;
    ssize_t n = wt_stream_read(st, buf, sizeof(buf), &fin);
    if (n < 0) return; /* AGAIN, or reset: the abort event follows */
    if (baton_reader_feed(&bs->rd, buf, (size_t)n)) {
      wt_stream_abort_receive(st, BATON_IDC);
      fail_session(b, BATON_BRUH);
      return;
    }
    if (fin) {
      bs->fin_seen = 1;
      on_fin(b, st, bs);
    }
  }
}

static void on_incoming(baton_session *b) {
  wt_stream *st;
  while (wt_session_accept_stream(b->s, &st) == 0) {
    int bidi = wt_stream_is_bidi(st);
    bstream *bs = bstream_attach(st, bidi ? BATON_ON_PEER_BIDI : BATON_ON_UNI, -1);
    if (!bs) {
      wt_stream_abort_receive(st, BATON_IDC);
      if (bidi) wt_stream_abort_send(st, BATON_I_LIED);
      continue;
    }
    bs->awaiting = 1;
    on_readable(b, st, bs);
  }
}

/* Draft §4.6: a STOP_SENDING, or a reset of a bidi stream, is answered with
 * a reset carrying WHATEVER unless our side is finished; the baton that was
 * on the stream is out of play. */
static void on_abort(baton_session *b, const wt_event *ev, bstream *bs) {
  if (!ev->has_code) return; /* the session is ending: its streams go with it */
  int recv_side = ev->type == WT_EV_STREAM_RECV_ABORTED;
  if ((!recv_side || wt_stream_is_bidi(ev->stream)) && wt_stream_can_write(ev->stream))
    wt_stream_abort_send(ev->stream, BATON_WHATEVER);
  if ((recv_side && bs->awaiting) || (!recv_side && bs->writing)) {
    bs->awaiting = 0;
    if (bs->writing) {
      bs->writing = 0;
      b->unacked--;
    }
    baton_game_on_lost(&b->g);
  }
}

static void on_stream_event(baton_session *b, const wt_event *ev) {
  bstream *bs = wt_stream_context(ev->stream);
  if (!bs) return;
  switch (ev->type) {
  case WT_EV_STREAM_READABLE: on_readable(b, ev->stream, bs); break;
  case WT_EV_STREAM_COMMITTED:
    if (bs->writing) {
      bs->writing = 0;
      b->unacked--;
    }
    break;
  case WT_EV_STREAM_RECV_ABORTED:
  case WT_EV_STREAM_SEND_ABORTED: on_abort(b, ev, bs); break;
  case WT_EV_STREAM_CLOSED:
    if (bs->writing) b->unacked--;
    free(bs);
    wt_stream_set_context(ev->stream, NULL);
    break;
  default: break;
  }
}

static void on_datagrams(baton_session *b) {
  uint8_t buf[2048];
  ssize_t n;
  while ((n = wt_session_receive_datagram(b->s, buf, sizeof(buf))) != WT_ERR_AGAIN) {
    if (n < 0 || baton_decode(buf, (size_t)n) < 0) {
      fail_session(b, BATON_BRUH);
      return;
    }
    b->dgrams_received++;
  }
}

static void on_closed(baton_session *b, const wt_event *ev) {
  b->closed = 1;
  b->closed_error = ev->error;
  b->closed_status = ev->http_status;
  b->closed_by_peer = ev->by_peer;
  b->closed_code = ev->code;
  snprintf(b->closed_detail, sizeof(b->closed_detail), "%s", ev->detail ? ev->detail : "");
}

void baton_session_on_event(baton_session *b, const wt_event *ev) {
  if (ev->stream) {
    on_stream_event(b, ev);
  } else {
    switch (ev->type) {
    case WT_EV_SESSION_STREAM: on_incoming(b); break;
    case WT_EV_SESSION_DATAGRAM: on_datagrams(b); break;
    case WT_EV_SESSION_CLOSED: on_closed(b, ev); return;
    default: break;
    }
  }
  maybe_close(b);
}

int baton_session_result(const baton_session *b, char *why, size_t cap) {
  if (!b->closed)
    snprintf(why, cap, "the session is still open");
  else if (b->closed_status)
    snprintf(why, cap, "the server refused the session with HTTP %d%s%s", b->closed_status,
             *b->closed_detail ? ": " : "", b->closed_detail);
  else if (b->error)
    snprintf(why, cap, "we closed the session with %s", baton_error_name(b->error));
  else if (b->closed_by_peer && b->closed_code)
    snprintf(why, cap, "the peer closed the session with %s", baton_error_name(b->closed_code));
  else if (b->closed_error)
    snprintf(why, cap, "the session failed: %s", *b->closed_detail ? b->closed_detail : wt_strerror(b->closed_error));
  else if (!baton_game_over(&b->g))
    snprintf(why, cap, "the session closed with %u of %u batons still in play", b->g.active, b->count);
  else if (b->g.lost)
    snprintf(why, cap, "%llu batons ended with a reset", (unsigned long long)b->g.lost);
  else
    return 0;
  return -1;
}

void baton_session_stats(const baton_session *b, baton_stats *out) {
  out->count = b->count;
  out->active = b->g.active;
  out->received = b->g.received;
  out->sent = b->sent;
  out->datagrams_sent = b->dgrams_sent;
  out->datagrams_received = b->dgrams_received;
  out->lost = b->g.lost;
}
