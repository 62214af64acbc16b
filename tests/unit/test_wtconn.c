/*
 * test_wtconn.c: WebTransport sessions end to end without QUIC.
 *
 * A client and a server wt_conn (each with its real HTTP/3 layer) are wired
 * back to back through an in-memory pipe: stream bytes, resets,
 * STOP_SENDINGs and datagrams queue up in one FIFO and are delivered by
 * pump(), which also acknowledges delivered data to the sender. Tests can
 * hold back one stream to reorder arrivals. Every session rule of the
 * WebTransport layer is exercised here deterministically.
 */
#include <stdlib.h>

#include "h3/codes.h"
#include "h3/frame.h"
#include "h3/qpack.h"
#include "h3/varint.h"
#include "test.h"
#include "wt/wtconn.h"

enum { E_DATA, E_RESET, E_STOP, E_DGRAM };

typedef struct pev {
  int to;
  int kind;
  int64_t sid;
  uint8_t *data;
  size_t len;
  int fin;
  uint64_t code;
  struct pev *next;
} pev;

typedef struct side side;

/* What a side's application does with an event. */
typedef void (*app_fn)(side *sd, const wt_event *ev);

struct side {
  int idx;
  wt_conn *c;
  int64_t next_bidi, next_uni;
  size_t inflight[256]; /* unacknowledged bytes by stream ID (IDs stay small here) */
  int fin_pending[256];
  int want_writable[256];
  wt_buf wire[256]; /* everything written per stream */
  uint64_t reset_code[256], stop_code[256], reset_reliable[256];
  int was_reset[256], was_stopped[256];
  int closed;
  uint64_t close_code;
  /* application */
  app_fn app;
  int status; /* server: what on_request answers */
  const char *select;
  int nev[32];
  size_t consumed[256]; /* credit returned per stream */
  wt_session *s;
  uint32_t close_code_seen;
  char reason[2048];
  size_t reason_len;
  int by_peer, http_status, error;
  uint8_t got[65536];
  size_t got_len;
  int got_fin;
  wt_stream *last_stream;
  int stream_closed_count;
  uint32_t abort_code;
  int abort_has_code;
  uint8_t export_ctx[600];
  size_t export_len;
};

static side S[2]; /* 0 client, 1 server */
static pev *q_head, *q_tail;
static int64_t hold_sid = -1;
static size_t dgram_room = 1200;

static void push(int to, int kind, int64_t sid, const uint8_t *d, size_t n, int fin, uint64_t code) {
  pev *e = calloc(1, sizeof(*e));
  e->to = to;
  e->kind = kind;
  e->sid = sid;
  e->data = n ? malloc(n) : NULL;
  if (n) memcpy(e->data, d, n);
  e->len = n;
  e->fin = fin;
  e->code = code;
  if (q_tail)
    q_tail->next = e;
  else
    q_head = e;
  q_tail = e;
}

/* ---- the pipe as each side's wt_h3_io / wt_conn_io ---- */
static int io_open(void *ctx, int bidi, int64_t *sid) {
  side *sd = ctx;
  *sid = bidi ? sd->next_bidi : sd->next_uni;
  if (bidi)
    sd->next_bidi += 4;
  else
    sd->next_uni += 4;
  return 0;
}
static ssize_t io_write(void *ctx, int64_t sid, const uint8_t *d, size_t n, int fin, size_t limit) {
  side *sd = ctx;
  size_t room = sd->inflight[sid] >= limit ? 0 : limit - sd->inflight[sid];
  size_t take = n < room ? n : room;
  if (take < n) {
    sd->want_writable[sid] = 1;
    fin = 0;
  }
  sd->inflight[sid] += take;
  wt_buf_append(&sd->wire[sid], d, take);
  if (take || fin) push(!sd->idx, E_DATA, sid, d, take, fin, 0);
  return (ssize_t)take;
}
static int io_reset(void *ctx, int64_t sid, uint64_t code, uint64_t reliable) {
  side *sd = ctx;
  sd->was_reset[sid] = 1;
  sd->reset_reliable[sid] = reliable;
  sd->reset_code[sid] = code;
  push(!sd->idx, E_RESET, sid, NULL, 0, 0, code);
  return 0;
}
static int io_stop(void *ctx, int64_t sid, uint64_t code) {
  side *sd = ctx;
  sd->was_stopped[sid] = 1;
  sd->stop_code[sid] = code;
  push(!sd->idx, E_STOP, sid, NULL, 0, 0, code);
  return 0;
}
static void io_consumed(void *ctx, int64_t sid, size_t n) { ((side *)ctx)->consumed[sid] += n; }
static int io_dgram(void *ctx, const uint8_t *h, size_t hl, const uint8_t *d, size_t n, uint64_t tag) {
  side *sd = ctx;
  uint8_t buf[2048];
  if (hl + n > dgram_room) return WT_ERR_TOO_LARGE;
  memcpy(buf, h, hl);
  memcpy(buf + hl, d, n);
  push(!sd->idx, E_DGRAM, -1, buf, hl + n, 0, 0);
  return 0;
}
static size_t io_reserve(void *ctx, int64_t sid, size_t want, size_t limit) {
  side *sd = ctx;
  size_t room = sd->inflight[sid] >= limit ? 0 : limit - sd->inflight[sid];
  if (room >= want) return want;
  sd->want_writable[sid] = 1;
  return room;
}
static void io_close(void *ctx, uint64_t code, const char *reason) {
  side *sd = ctx;
  sd->closed = 1;
  sd->close_code = code;
}
/* The exporter echoes its context so tests can check its layout. */
static int x_export(void *ctx, const char *label, const uint8_t *c, size_t cl, uint8_t *out, size_t ol) {
  side *sd = ctx;
  if (strcmp(label, "EXPORTER-WebTransport") != 0) return WT_ERR_TLS;
  memcpy(sd->export_ctx, c, cl);
  sd->export_len = cl;
  memset(out, 0x5a, ol);
  return 0;
}
static size_t x_max_dgram(void *ctx) { return dgram_room; }
/* Whether each side's peer announced max_datagram_frame_size; setup() resets it. */
static int peer_dgrams[2];
static int x_peer_dgrams(void *ctx) { return peer_dgrams[((side *)ctx)->idx]; }
static uint64_t x_streams_left(void *ctx, int bidi) { return 100; }
static void x_wake(void *ctx) {}
/* Requests the server still admits (the transport's per-address rate). */
static int admit_left;
static int x_admit(void *ctx) { return admit_left > 0 ? (admit_left--, 1) : 0; }

static void on_event(const wt_event *ev, void *ud) {
  side *sd = ud;
  sd->nev[ev->type]++;
  if (ev->type == WT_EV_SESSION_READY) sd->s = ev->session;
  if (ev->type == WT_EV_SESSION_CLOSED) {
    sd->close_code_seen = ev->code;
    memcpy(sd->reason, ev->reason, ev->reason_len);
    sd->reason_len = ev->reason_len;
    sd->by_peer = ev->by_peer;
    sd->http_status = ev->http_status;
    sd->error = ev->error;
    sd->s = NULL;
  }
  if (ev->type == WT_EV_STREAM_CLOSED) sd->stream_closed_count++;
  if (ev->type == WT_EV_STREAM_RECV_ABORTED || ev->type == WT_EV_STREAM_SEND_ABORTED) {
    sd->abort_code = ev->code;
    sd->abort_has_code = ev->has_code;
  }
  if (sd->app) sd->app(sd, ev);
}

static int on_request(wt_request *r, void *ud) {
  side *sd = ud;
  if (sd->select) wt_request_select_protocol(r, sd->select);
  return sd->status;
}

/* Pooling (session flow control) for the next setup(): which sides
 * announce it, and the server's per-session limits. */
static int pool_client, pool_server;
/* Origin policy for the next setup(). */
static const char *const *allow_list;
static size_t nallow;
static wt_origin_cb origin_hook;
static uint64_t pool_max_data = 10000;
static unsigned server_mask; /* 0: the server offers every generation */
static uint32_t pool_max_streams = 2;
/* The server's routes for the next setup() (NULL: none). */
static const wt_router *routes;

static void setup(unsigned client_mask, uint32_t send_buffer) {
  while (q_head) {
    pev *e = q_head;
    q_head = e->next;
    free(e->data);
    free(e);
  }
  q_tail = NULL;
  hold_sid = -1;
  dgram_room = 1200;
  admit_left = 1000;
  peer_dgrams[0] = peer_dgrams[1] = 1;
  for (int i = 0; i < 2; i++) {
    if (S[i].c) wt_conn_free(S[i].c);
    for (int k = 0; k < 256; k++)
      wt_buf_free(&S[i].wire[k]);
    memset(&S[i], 0, sizeof(S[i]));
    side *sd = &S[i];
    sd->idx = i;
    sd->next_bidi = i;
    sd->next_uni = 2 + i;
    sd->status = 200;
    wt_conn_config cfg = {.is_server = i,
                          .on_request = on_request,
                          .request_user_data = sd,
                          .on_event = on_event,
                          .event_user_data = sd,
                          .stream_send_buffer = send_buffer,
                          .datagram_recv_queue = 4,
                          .datagram_recv_queue_bytes = 1 << 20,
                          .max_buffered_streams = 2,
                          .max_buffered_datagrams = 2,
                          .max_field_section_size = 16384,
                          .pooling = i ? pool_server : pool_client,
                          .server_drafts = i ? server_mask : 0,
                          .allowed_origins = allow_list,
                          .nallowed_origins = nallow,
                          .check_origin = origin_hook,
                          .max_sessions = 4,
                          .session_max_data = pool_max_data,
                          .session_max_streams_bidi = pool_max_streams,
                          .session_max_streams_uni = pool_max_streams,
                          .router = i ? routes : NULL};
    wt_h3_io io = {sd, io_open, io_write, io_reset, io_stop, io_consumed, io_dgram, io_close, io_reserve, NULL};
    wt_conn_io x = {sd, x_export, x_max_dgram, x_peer_dgrams, x_streams_left, x_wake, x_admit, NULL};
    wt_conn_client_opts co = {client_mask};
    wt_conn_new(&cfg, i ? NULL : &co, &io, &x, &sd->c);
  }
  wt_conn_on_ready(S[0].c);
  wt_conn_on_ready(S[1].c);
}

static void dispatch(void) {
  wt_conn_dispatch(S[0].c);
  wt_conn_dispatch(S[1].c);
}

static void deliver(pev *e) {
  side *to = &S[e->to], *from = &S[!e->to];
  switch (e->kind) {
  case E_DATA:
    wt_conn_on_stream_data(to->c, e->sid, e->data, e->len, e->fin);
    from->inflight[e->sid] -= e->len;
    if (e->fin) wt_conn_on_stream_acked(from->c, e->sid);
    if (from->want_writable[e->sid]) {
      from->want_writable[e->sid] = 0;
      wt_conn_on_stream_writable(from->c, e->sid);
    }
    break;
  case E_RESET: wt_conn_on_stream_reset(to->c, e->sid, e->code, from->wire[e->sid].len); break;
  case E_STOP: wt_conn_on_stop_sending(to->c, e->sid, e->code); break;
  case E_DGRAM: wt_conn_on_datagram(to->c, e->data, e->len); break;
  }
}

/* Delivers everything queued (except the held stream) until quiet. */
static void pump(void) {
  dispatch();
  for (int rounds = 0; rounds < 100000; rounds++) {
    pev **pp = &q_head, *e = NULL;
    while (*pp && (*pp)->sid == hold_sid && hold_sid >= 0)
      pp = &(*pp)->next;
    e = *pp;
    if (!e) return;
    *pp = e->next;
    if (q_tail == e) {
      q_tail = NULL;
      for (pev *t = q_head; t; t = t->next)
        q_tail = t;
    }
    deliver(e);
    free(e->data);
    free(e);
    dispatch();
  }
}

static wt_session *connect_session(const wt_connect_options *o) {
  wt_url u;
  wt_url_parse("https://localhost:4433/echo", &u);
  wt_connect_options def;
  wt_connect_options_init(&def);
  wt_session *s = NULL;
  wt_conn_connect(S[0].c, &u, o ? o : &def, &s);
  wt_url_free(&u);
  return s;
}

/* ---- applications ---- */

/* Echo streams (bidi on itself, uni on a new uni stream) and datagrams. */
static void echo_app(side *sd, const wt_event *ev) {
  uint8_t buf[4096];
  wt_stream *st;
  if (ev->type == WT_EV_SESSION_STREAM) {
    while (wt_session_accept_stream(ev->session, &st) == 0) {
      if (!wt_stream_is_bidi(st)) {
        wt_stream *out;
        wt_session_open_stream(ev->session, 0, &out);
        wt_stream_set_context(st, out);
      }
      sd->last_stream = st;
    }
  }
  if (ev->type == WT_EV_STREAM_READABLE) {
    st = ev->stream;
    wt_stream *out = wt_stream_is_bidi(st) ? st : wt_stream_context(st);
    int fin = 0;
    ssize_t n;
    while ((n = wt_stream_read(st, buf, sizeof(buf), &fin)) >= 0) {
      wt_stream_write(out, buf, (size_t)n, fin);
      if (fin) break;
    }
  }
  if (ev->type == WT_EV_SESSION_DATAGRAM) {
    ssize_t n;
    while ((n = wt_session_receive_datagram(ev->session, buf, sizeof(buf))) >= 0)
      wt_session_send_datagram(ev->session, buf, (size_t)n);
  }
}

/* Collects what arrives on any stream. */
static void collect_app(side *sd, const wt_event *ev) {
  wt_stream *st;
  if (ev->type == WT_EV_SESSION_STREAM)
    while (wt_session_accept_stream(ev->session, &st) == 0)
      sd->last_stream = st;
  if (ev->type == WT_EV_STREAM_READABLE) {
    int fin = 0;
    ssize_t n;
    while ((n = wt_stream_read(ev->stream, sd->got + sd->got_len, sizeof(sd->got) - sd->got_len, &fin)) > 0)
      sd->got_len += (size_t)n;
    if (fin) sd->got_fin = 1;
  }
}

/* A fresh pair with an echo server and a collecting client; returns the
 * client session once both sides are ready, NULL otherwise. */
static wt_session *open_session(unsigned mask) {
  setup(mask, 1 << 20);
  S[1].app = echo_app;
  S[0].app = collect_app;
  wt_session *cs = connect_session(NULL);
  pump();
  return S[0].nev[WT_EV_SESSION_READY] == 1 && S[1].nev[WT_EV_SESSION_READY] == 1 ? cs : NULL;
}

#define OPEN_SESSION(mask)                                                                                             \
  wt_session *cs = open_session(mask);                                                                                 \
  CHECK(cs != NULL)

/* The value of field `name` in the first HEADERS frame side `from` wrote
 * on stream `sid` ("" when absent). */
static char field_value[256];
static const char *field_name;
static int grab_field(void *ud, const char *n, size_t nl, const char *v, size_t vl) {
  if (strcmp(n, field_name) == 0) snprintf(field_value, sizeof(field_value), "%s", v);
  return 0;
}
static const char *sent_field(int from, int64_t sid, const char *name) {
  const wt_buf *w = &S[from].wire[sid];
  wt_frame_reader r;
  wt_frame_reader_init(&r);
  size_t used = 0;
  wt_frame_event ev;
  const uint8_t *chunk;
  size_t clen;
  uint8_t block[1024];
  size_t blen = 0;
  field_value[0] = 0;
  field_name = name;
  while (used < w->len) {
    used += wt_frame_reader_step(&r, w->data + used, w->len - used, &ev, &chunk, &clen);
    if (ev == WT_FRAME_PAYLOAD && r.type == 0x01) {
      memcpy(block + blen, chunk, clen);
      blen += clen;
    }
    if (ev == WT_FRAME_END && r.type == 0x01) break;
  }
  wt_qpack_decode(block, blen, 0, grab_field, NULL);
  return field_value;
}
static int response_status(int64_t sid) { return atoi(sent_field(1, sid, ":status")); }

/* ------------------------------------------------------------------------ */

static void sessions_open_in_every_draft_generation(void) {
  int drafts[] = {2, 7, 13, 15};
  for (int i = 0; i < 4; i++) {
    OPEN_SESSION(1u << drafts[i]);
    CHECK_EQ(wt_session_draft(cs), drafts[i]);
    CHECK_EQ(wt_session_draft(S[1].s), drafts[i]);
    CHECK(strcmp(wt_session_path(S[1].s), "/echo") == 0);
    /* The newest token only for a -15/-16 server; the draft-02 header only
     * for draft-02. */
    CHECK(strcmp(sent_field(0, 0, ":protocol"), drafts[i] == 15 ? "webtransport-h3" : "webtransport") == 0);
    CHECK(strcmp(sent_field(0, 0, "sec-webtransport-http3-draft02"), drafts[i] == 2 ? "1" : "") == 0);
    CHECK(strcmp(sent_field(1, 0, ":status"), "200") == 0);
  }
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_draft(cs), 15);
}

/* A server that offers fewer generations: our client falls back to the
 * newest it offers, and a client restricted to one it does not offer
 * fails cleanly (no session on the server). */
static void client_falls_back_to_the_servers_newest_generation(void) {
  static const struct {
    unsigned server, client;
    int want;
  } cases[] = {{(1u << 7) | (1u << 2), WT_DRAFT_MASK_ALL, 7},
               {1u << 2, WT_DRAFT_MASK_ALL, 2},
               {(1u << 13) | (1u << 15), 1u << 13, 13},
               {1u << 15, 1u << 2, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    server_mask = cases[i].server;
    setup(cases[i].client, 1 << 20);
    wt_session *cs = connect_session(NULL);
    pump();
    server_mask = 0;
    CHECK(cs != NULL);
    if (!cases[i].want) {
      CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 0);
      CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
      CHECK_EQ(S[0].error, WT_ERR_PROTO);
      CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 0);
      continue;
    }
    CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 1);
    CHECK_EQ(wt_session_draft(cs), cases[i].want);
    CHECK_EQ(wt_session_draft(S[1].s), cases[i].want);
  }
}

static void refused_session_reports_the_status(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].status = 404;
  wt_session *cs = connect_session(NULL);
  pump();
  CHECK(cs != NULL);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 0);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK_EQ(S[0].http_status, 404);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 0);
  CHECK_EQ(response_status(0), 404);
}

/* Over the request rate a request gets 429 and the client hears the
 * status; the next one, once admitted again, works. */
static void requests_over_the_rate_get_429(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  admit_left = 0;
  wt_session *cs = connect_session(NULL);
  pump();
  CHECK(cs != NULL);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK_EQ(S[0].http_status, 429);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 0);
  CHECK_EQ(response_status(0), 429);
  admit_left = 1;
  cs = connect_session(NULL);
  pump();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 1);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 1);
}

/* RFC 9297 §2.1.1: each side sends H3_DATAGRAM=1; a peer whose transport
 * parameters lack max_datagram_frame_size makes that H3_SETTINGS_ERROR. */
static void h3_datagram_needs_quic_datagrams(void) {
  for (int i = 0; i < 2; i++) {
    setup(0, 1 << 20);
    peer_dgrams[i] = 0;
    connect_session(NULL);
    pump();
    CHECK(S[i].closed);
    CHECK_EQ(S[i].close_code, H3_SETTINGS_ERROR);
  }
}

static void plain_requests_get_405(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  pump();
  static const wt_qpack_field get[] = {
      {":method", 7, "GET", 3}, {":scheme", 7, "https", 5}, {":authority", 10, "a", 1}, {":path", 5, "/echo", 5}};
  int64_t sid;
  CHECK_EQ(wt_h3conn_send_request(S[0].c->h3, get, 4, 0, &sid), 0);
  pump();
  CHECK_EQ(response_status(sid), 405);
  static const wt_qpack_field ws[] = {{":method", 7, "CONNECT", 7},
                                      {":protocol", 9, "websocket", 9},
                                      {":scheme", 7, "https", 5},
                                      {":authority", 10, "a", 1},
                                      {":path", 5, "/echo", 5}};
  CHECK_EQ(wt_h3conn_send_request(S[0].c->h3, ws, 5, 0, &sid), 0);
  pump();
  CHECK_EQ(response_status(sid), 405); /* not WebTransport */
  static const wt_qpack_field http[] = {{":method", 7, "CONNECT", 7},
                                        {":protocol", 9, "webtransport", 12},
                                        {":scheme", 7, "http", 4},
                                        {":authority", 10, "a", 1},
                                        {":path", 5, "/echo", 5}};
  CHECK_EQ(wt_h3conn_send_request(S[0].c->h3, http, 5, 0, &sid), 0);
  pump();
  CHECK_EQ(response_status(sid), 400);
  CHECK(!S[0].closed && !S[1].closed);
}

static void subprotocol_is_negotiated_by_server_preference(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].select = "b";
  const char *offer[] = {"a", "b", "c"};
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.protocols = offer;
  o.nprotocols = 3;
  wt_session *cs = connect_session(&o);
  pump();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 1);
  CHECK(wt_session_protocol(cs) && strcmp(wt_session_protocol(cs), "b") == 0);
  CHECK(strcmp(wt_session_protocol(S[1].s), "b") == 0);
  /* Selecting something the client did not offer is refused. */
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].select = "z";
  cs = connect_session(&o);
  pump();
  CHECK(wt_session_protocol(cs) == NULL);
}

static void bidi_and_uni_streams_echo(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(cs, 1, &st), 0);
  CHECK_EQ(wt_stream_write(st, "hello", 5, 1), 5);
  pump();
  CHECK_EQ(S[0].got_len, 5);
  CHECK_MEM(S[0].got, "hello", 5);
  CHECK(S[0].got_fin);
  /* Both ends of that stream are done: each side saw it close once. */
  CHECK_EQ(S[0].stream_closed_count, 1);
  CHECK_EQ(S[1].stream_closed_count, 1);
  S[0].got_len = S[0].got_fin = 0;
  CHECK_EQ(wt_session_open_stream(cs, 0, &st), 0);
  CHECK_EQ(wt_stream_write(st, "uni!", 4, 1), 4);
  CHECK_EQ(wt_stream_read(st, S[0].got, 4, NULL), WT_ERR_STATE); /* our uni stream has no receive side */
  pump();
  CHECK_EQ(S[0].got_len, 4);
  CHECK_MEM(S[0].got, "uni!", 4);
  CHECK_EQ(S[0].stream_closed_count, 3);
  CHECK_EQ(S[1].stream_closed_count, 3);
}

static void datagrams_echo_and_overflow_is_counted(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_max_datagram_size(cs), 1200 - 1);
  CHECK_EQ(wt_session_send_datagram(cs, "ping", 4), 0);
  char big[1200];
  CHECK_EQ(wt_session_send_datagram(cs, big, sizeof(big)), WT_ERR_TOO_LARGE);
  pump();
  uint8_t buf[64];
  CHECK_EQ(wt_session_receive_datagram(cs, buf, sizeof(buf)), 4);
  CHECK_MEM(buf, "ping", 4);
  CHECK_EQ(wt_session_receive_datagram(cs, buf, sizeof(buf)), WT_ERR_AGAIN);
  /* The client's queue holds 4; the 5th and 6th are dropped and counted. */
  S[1].app = NULL;
  for (int i = 0; i < 6; i++)
    wt_session_send_datagram(S[1].s, "x", 1);
  pump();
  uint64_t sd, rd;
  wt_session_datagram_drops(cs, &sd, &rd);
  CHECK_EQ(rd, 2);
  CHECK_EQ(wt_session_receive_datagram(cs, buf, 0), WT_ERR_TOO_LARGE);
}

/* A datagram with an empty payload (only the quarter stream ID) is a
 * datagram like any other, also as the first one a slot ever holds. */
static void empty_datagrams_are_delivered(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_send_datagram(cs, "", 0), 0);
  pump();
  uint8_t buf[8];
  CHECK_EQ(wt_session_receive_datagram(cs, buf, sizeof(buf)), 0); /* echoed by the test server */
  wt_conn_on_datagram(S[0].c, (const uint8_t *)"\x00", 1);
  CHECK_EQ(wt_session_receive_datagram(cs, NULL, 0), 0);
  CHECK_EQ(wt_session_receive_datagram(cs, buf, sizeof(buf)), WT_ERR_AGAIN);
}

static void close_with_code_and_reason_reaches_the_peer(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(cs, 1, &st), 0);
  wt_stream_write(st, "x", 1, 0);
  pump();
  CHECK_EQ(wt_session_close(cs, 7, "bye", 3), 0);
  CHECK_EQ(wt_session_close(cs, 7, "bye", 3), WT_ERR_STATE);
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK_EQ(S[1].close_code_seen, 7);
  CHECK_EQ(S[1].reason_len, 3);
  CHECK_MEM(S[1].reason, "bye", 3);
  CHECK(S[1].by_peer);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK(!S[0].by_peer);
  CHECK_EQ(S[0].close_code_seen, 7);
  /* The open stream was reset and stopped with WT_SESSION_GONE. */
  CHECK(S[0].was_reset[4]);
  CHECK_EQ(S[0].reset_code[4], WT_SESSION_GONE);
  CHECK_EQ(S[0].stream_closed_count, 1);
  CHECK_EQ(S[1].stream_closed_count, 1);
  /* Both sides FIN'ed the CONNECT stream and nothing failed. */
  CHECK(!S[0].was_reset[0] && !S[1].was_reset[0]);
  CHECK(!S[0].closed && !S[1].closed);
  CHECK(wt_conn_finished(S[0].c));
  CHECK(wt_conn_finished(S[1].c));
}

static void server_close_reaches_the_client(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_close(S[1].s, 0xffffffffu, "gone", 4), 0);
  pump();
  CHECK_EQ(S[0].close_code_seen, 0xffffffffu);
  CHECK_MEM(S[0].reason, "gone", 4);
  CHECK(S[0].by_peer);
}

static void long_reasons_are_cut_at_a_character_boundary(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  char reason[1100];
  memset(reason, 'a', 1023);
  memcpy(reason + 1023, "\xc3\xa9\xc3\xa9", 4); /* "éé" straddles byte 1024 */
  CHECK_EQ(wt_session_close(cs, 1, reason, 1027), 0);
  pump();
  CHECK_EQ(S[1].reason_len, 1023);
  CHECK_MEM(S[1].reason, reason, 1023);
}

/* The peer would have to reject it (H3_MESSAGE_ERROR), so it is never sent:
 * the call fails and the session stays open. What lies past the cut does
 * not matter. */
static void invalid_utf8_close_reasons_are_refused(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_close(cs, 1, "bad \xc0\x80", 6), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_session_close(cs, 1, "\xed\xa0\x80", 3), WT_ERR_INVALID_ARGUMENT); /* a surrogate */
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_CLOSED], 0);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 0);
  static char reason[1100];
  memset(reason, 'a', 1024);
  reason[1030] = (char)0xff; /* beyond the 1024 bytes sent */
  CHECK_EQ(wt_session_close(cs, 2, reason, 1031), 0);
  pump();
  CHECK_EQ(S[1].close_code_seen, 2);
  CHECK_EQ(S[1].reason_len, 1024);
}

static void fin_without_capsule_means_code_zero(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  wt_h3conn_send_data(S[0].c->h3, 0, NULL, 0, 1);
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK_EQ(S[1].close_code_seen, 0);
  CHECK_EQ(S[1].reason_len, 0);
  CHECK_EQ(S[1].error, 0);
  CHECK(S[1].by_peer);
}

static void grease_capsule_before_close(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  const uint8_t caps[] = {0x40, 0x40, 0x02, 0xaa, 0xbb, 0x68, 0x43, 0x06, 0, 0, 0, 9, 'o', 'k'};
  wt_h3conn_send_data(S[0].c->h3, 0, caps, sizeof(caps), 1);
  pump();
  CHECK_EQ(S[1].close_code_seen, 9);
  CHECK_MEM(S[1].reason, "ok", 2);
  CHECK(!S[1].was_reset[0]);
}

static void invalid_utf8_reason_is_a_message_error(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  const uint8_t caps[] = {0x68, 0x43, 0x06, 0, 0, 0, 1, 0xc0, 0x80};
  wt_h3conn_send_data(S[0].c->h3, 0, caps, sizeof(caps), 1);
  pump();
  CHECK(S[1].was_reset[0]);
  CHECK_EQ(S[1].reset_code[0], H3_MESSAGE_ERROR);
  CHECK_EQ(S[1].error, WT_ERR_PROTO);
}

static void data_after_close_is_a_message_error(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  const uint8_t caps[] = {0x68, 0x43, 0x04, 0, 0, 0, 1, 0x00, 0x01, 'x'};
  wt_h3conn_send_data(S[0].c->h3, 0, caps, sizeof(caps), 0);
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK(S[1].was_reset[0]);
  CHECK_EQ(S[1].reset_code[0], H3_MESSAGE_ERROR);
  /* ...also when it comes in a later DATA frame */
  cs = open_session(WT_DRAFT_MASK_ALL);
  CHECK(cs != NULL);
  const uint8_t close_only[] = {0x68, 0x43, 0x04, 0, 0, 0, 1};
  wt_h3conn_send_data(S[0].c->h3, 0, close_only, sizeof(close_only), 0);
  wt_h3conn_send_data(S[0].c->h3, 0, (const uint8_t *)"\x00\x00", 2, 0);
  pump();
  CHECK(S[1].was_reset[0]);
  CHECK_EQ(S[1].reset_code[0], H3_MESSAGE_ERROR);
}

/* GOAWAY on its own (no WT_DRAIN_SESSION) is enough for "draining", on
 * either side. */
static void goaway_alone_announces_draining(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_h3conn_send_goaway(S[1].c->h3, 4), 0);
  pump();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_DRAINING], 1);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_DRAINING], 0);
  CHECK_EQ(wt_h3conn_send_goaway(S[0].c->h3, 0), 0); /* a client's GOAWAY carries a push ID */
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_DRAINING], 1);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED] + S[1].nev[WT_EV_SESSION_CLOSED], 0);
}

static void drain_and_goaway_announce_draining(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_drain(cs), 0);
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_DRAINING], 1);
  CHECK_EQ(wt_conn_shutdown(S[1].c), 0); /* drains the server session too, and sends GOAWAY */
  pump();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_DRAINING], 1); /* once, though both signals arrived */
  CHECK(wt_h3conn_goaway_received(S[0].c->h3));
  /* Draining is advisory: the session still works. */
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(cs, 1, &st), 0);
  wt_stream_write(st, "z", 1, 1);
  pump();
  CHECK_EQ(S[0].got_len, 1);
}

static void streams_before_the_session_are_buffered(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].app = collect_app;
  /* The client's WT stream reaches the server before its CONNECT. */
  pump();
  /* Stream 14: the client's first uni stream after its control/QPACK ones. */
  S[0].next_uni += 4;
  wt_conn_on_stream_data(S[1].c, 14,
                         (const uint8_t *)"\x40\x54\x00"
                                          "early",
                         8, 1);
  dispatch();
  CHECK_EQ(S[1].got_len, 0);
  wt_session *cs = connect_session(NULL);
  pump();
  CHECK(cs != NULL);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 1);
  CHECK_EQ(S[1].got_len, 5);
  CHECK_MEM(S[1].got, "early", 5);
}

static void too_many_early_streams_are_refused(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  pump();
  for (int i = 0; i < 3; i++)
    wt_conn_on_stream_data(S[1].c, 14 + 4 * i, (const uint8_t *)"\x40\x54\x00", 3, 0);
  CHECK(!S[1].was_stopped[14] && !S[1].was_stopped[18]);
  CHECK(S[1].was_stopped[22]); /* the bound is 2 */
  CHECK_EQ(S[1].stop_code[22], WT_BUFFERED_STREAM_REJECTED);
}

static void streams_of_an_ended_session_are_refused(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  CHECK_EQ(wt_session_close(cs, 0, "", 0), 0);
  pump();
  wt_conn_on_stream_data(S[1].c, 18, (const uint8_t *)"\x40\x54\x00", 3, 0);
  CHECK(S[1].was_stopped[18]);
  CHECK_EQ(S[1].stop_code[18], WT_SESSION_GONE);
}

static void second_concurrent_session_is_rejected(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  wt_session *second = connect_session(NULL);
  pump();
  CHECK(second != NULL);
  CHECK(S[1].was_reset[4]);
  CHECK_EQ(S[1].reset_code[4], H3_REQUEST_REJECTED);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK_EQ(S[0].error, WT_ERR_CLOSED);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 1);
}

static void stream_aborts_carry_application_codes(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  S[1].app = collect_app;
  /* Stream A: the client resets its send side with 42. */
  wt_stream *a, *b;
  CHECK_EQ(wt_session_open_stream(cs, 1, &a), 0);
  wt_stream_write(a, "a", 1, 0);
  pump();
  CHECK_EQ(wt_stream_abort_send(a, 42), 0);
  pump();
  CHECK_EQ(S[0].reset_code[4], wt_app_error_to_h3(42));
  CHECK_EQ(S[0].reset_reliable[4], 3); /* the header 0x40 0x41 0x00 goes first */
  CHECK_EQ(S[1].nev[WT_EV_STREAM_RECV_ABORTED], 1);
  CHECK(S[1].abort_has_code);
  CHECK_EQ(S[1].abort_code, 42);
  CHECK_EQ(wt_stream_read(S[1].last_stream, S[1].got, 10, NULL), WT_ERR_CLOSED);
  /* Stream B: the server stops reading with 0xffffffff. */
  CHECK_EQ(wt_session_open_stream(cs, 1, &b), 0);
  wt_stream_write(b, "b", 1, 0);
  pump();
  CHECK_EQ(wt_stream_abort_receive(S[1].last_stream, 0xffffffffu), 0);
  pump();
  CHECK_EQ(S[1].stop_code[8], wt_app_error_to_h3(0xffffffffu));
  CHECK_EQ(S[0].nev[WT_EV_STREAM_SEND_ABORTED], 1);
  CHECK(S[0].abort_has_code);
  CHECK_EQ(S[0].abort_code, 0xffffffffu);
  CHECK_EQ(wt_stream_write(b, "b", 1, 0), WT_ERR_CLOSED);
  /* A reset with a code outside the WebTransport range has no app code. */
  wt_stream *c;
  CHECK_EQ(wt_session_open_stream(cs, 1, &c), 0);
  wt_stream_write(c, "c", 1, 0);
  pump();
  wt_conn_on_stream_reset(S[1].c, 12, H3_CONNECT_ERROR, S[0].wire[12].len);
  dispatch();
  CHECK_EQ(S[1].nev[WT_EV_STREAM_RECV_ABORTED], 2);
  CHECK(!S[1].abort_has_code);
  /* abort_send_at passes its reliable size on, after the header. */
  wt_stream *d;
  CHECK_EQ(wt_session_open_stream(cs, 0, &d), 0);
  CHECK_EQ(wt_stream_write(d, "0123456789", 10, 0), 10);
  CHECK_EQ(wt_stream_abort_send_at(d, 1, 6), 0);
  CHECK_EQ(S[0].reset_reliable[wt_stream_id(d)], 3 + 6);
  CHECK_EQ(wt_stream_write(d, "x", 1, 0), WT_ERR_CLOSED);
  CHECK_EQ(wt_stream_abort_send_at(NULL, 1, 0), WT_ERR_INVALID_ARGUMENT);
}

static void writes_push_back_and_resume(void) {
  setup(WT_DRAFT_MASK_ALL, 4096);
  S[1].app = collect_app;
  wt_session *cs = connect_session(NULL);
  pump();
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(cs, 0, &st), 0);
  static uint8_t data[10000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (uint8_t)i;
  ssize_t n = wt_stream_write(st, data, sizeof(data), 1);
  CHECK(n > 0 && n < (ssize_t)sizeof(data)); /* 4 KiB buffer minus the header */
  size_t sent = (size_t)n;
  for (int i = 0; i < 20 && sent < sizeof(data); i++) {
    int before = S[0].nev[WT_EV_STREAM_WRITABLE];
    pump();
    CHECK_EQ(S[0].nev[WT_EV_STREAM_WRITABLE], before + 1);
    n = wt_stream_write(st, data + sent, sizeof(data) - sent, 1);
    CHECK(n > 0);
    sent += (size_t)n;
  }
  pump();
  CHECK_EQ(S[1].got_len, sizeof(data));
  CHECK_MEM(S[1].got, data, sizeof(data));
  CHECK(S[1].got_fin);
  CHECK_EQ(S[0].nev[WT_EV_STREAM_COMMITTED], 1);
}

static void export_context_follows_the_draft(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  uint8_t out[32];
  CHECK_EQ(wt_session_export_keying_material(cs, "app", 3, "ctx!", 4, out, sizeof(out)), 0);
  const uint8_t want[] = {0, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'p', 'p', 4, 'c', 't', 'x', '!'};
  CHECK_EQ(S[0].export_len, sizeof(want));
  CHECK_MEM(S[0].export_ctx, want, sizeof(want));
  CHECK_EQ(out[31], 0x5a);
  CHECK_EQ(wt_session_export_keying_material(cs, "", 0, NULL, 0, out, 8), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_session_export_keying_material(cs, "a", 1, NULL, 0, out, 0), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_session_export_keying_material(cs, "a", 1, NULL, 0, out, 8), 0);
  CHECK_EQ(S[0].export_len, 8 + 1 + 1 + 1);
}

static void connection_loss_ends_sessions_once(void) {
  OPEN_SESSION(WT_DRAFT_MASK_ALL);
  wt_stream *st;
  wt_session_open_stream(cs, 1, &st);
  wt_conn_on_closed(S[0].c, WT_ERR_TIMEOUT, "idle timeout");
  dispatch();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
  CHECK_EQ(S[0].error, WT_ERR_TIMEOUT);
  CHECK_EQ(S[0].stream_closed_count, 1);
  wt_conn_on_closed(S[0].c, WT_ERR_TIMEOUT, "again");
  dispatch();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_CLOSED], 1);
}

/* ------------------------------------------------------------------------ */
/* Pooling: several sessions with WebTransport flow control                 */

static wt_session *pooled_pair(void) {
  pool_client = pool_server = 1;
  wt_session *cs = open_session(WT_DRAFT_MASK_ALL);
  pool_client = pool_server = 0;
  return cs;
}

static void pooled_sessions_share_a_connection(void) {
  wt_session *a = pooled_pair();
  CHECK(a != NULL);
  CHECK(S[0].c->fc_enabled && S[1].c->fc_enabled);
  wt_session *b = connect_session(NULL);
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 2);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 2);
  CHECK(wt_session_id(a) != wt_session_id(b));
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(b, 1, &st), 0);
  wt_stream_write(st, "two", 3, 1);
  pump();
  CHECK_EQ(S[0].got_len, 3);
  CHECK_MEM(S[0].got, "two", 3);
  /* Closing one leaves the other working; the connection stays. */
  CHECK_EQ(wt_session_close(a, 0, "", 0), 0);
  pump();
  CHECK_EQ(wt_session_open_stream(b, 1, &st), 0);
  wt_stream_write(st, "!", 1, 1);
  pump();
  CHECK_EQ(S[0].got_len, 4);
  CHECK(!wt_conn_finished(S[0].c) && !wt_conn_finished(S[1].c));
}

static void pooling_needs_both_sides(void) {
  pool_server = 1; /* the client does not announce flow control */
  wt_session *cs = open_session(WT_DRAFT_MASK_ALL);
  pool_server = 0;
  CHECK(cs != NULL);
  CHECK(!S[1].c->fc_enabled);
  wt_session *second = connect_session(NULL);
  pump();
  CHECK(second != NULL);
  CHECK_EQ(S[1].reset_code[4], H3_REQUEST_REJECTED);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 1);
}

static void session_data_limit_blocks_and_credit_returns(void) {
  wt_session *cs = pooled_pair();
  CHECK(cs != NULL);
  S[1].app = collect_app; /* reads everything, which returns credit */
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(cs, 0, &st), 0);
  static uint8_t data[30000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (uint8_t)(i * 7);
  ssize_t n = wt_stream_write(st, data, sizeof(data), 1);
  CHECK_EQ(n, (ssize_t)pool_max_data);  /* the session's limit, not the stream buffer */
  CHECK(cs->flow.blocked_data_at != 0); /* WT_DATA_BLOCKED was sent */
  size_t sent = (size_t)n;
  for (int i = 0; i < 50 && sent < sizeof(data); i++) {
    pump();
    n = wt_stream_write(st, data + sent, sizeof(data) - sent, 1);
    if (n > 0) sent += (size_t)n;
  }
  pump();
  CHECK_EQ(sent, sizeof(data));
  CHECK_EQ(S[1].got_len, sizeof(data));
  CHECK_MEM(S[1].got, data, sizeof(data));
  CHECK(S[0].nev[WT_EV_STREAM_WRITABLE] >= 2);
}

static void session_stream_limit_blocks_and_credit_returns(void) {
  wt_session *cs = pooled_pair();
  CHECK(cs != NULL);
  wt_stream *st[3];
  CHECK_EQ(wt_session_open_stream(cs, 1, &st[0]), 0);
  CHECK_EQ(wt_session_open_stream(cs, 1, &st[1]), 0);
  CHECK(!wt_session_can_open_stream(cs, 1));
  CHECK_EQ(wt_session_open_stream(cs, 1, &st[2]), WT_ERR_AGAIN);
  CHECK(cs->flow.blocked_streams_at[1] != 0); /* WT_STREAMS_BLOCKED was sent */
  CHECK(wt_session_can_open_stream(cs, 0));   /* uni streams have their own limit */
  /* The echo server finishes both streams; retiring them returns credit. */
  wt_stream_write(st[0], "a", 1, 1);
  wt_stream_write(st[1], "b", 1, 1);
  pump();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_STREAM_CREDIT], 1);
  CHECK_EQ(wt_session_open_stream(cs, 1, &st[2]), 0);
}

static void exceeding_session_limits_is_a_flow_control_error(void) {
  /* Streams: a third bidi stream opened behind the library's back. */
  wt_session *cs = pooled_pair();
  CHECK(cs != NULL);
  int64_t sid;
  for (int i = 0; i < 3; i++)
    CHECK_EQ(wt_h3conn_open_wt_stream(S[0].c->h3, cs->id, 1, NULL, &sid), 0);
  pump();
  CHECK(S[1].was_reset[0]);
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
  CHECK_EQ(S[1].error, WT_ERR_PROTO);
  /* Data: more bytes than the session allows, written raw. */
  cs = pooled_pair();
  CHECK(cs != NULL);
  CHECK_EQ(wt_h3conn_open_wt_stream(S[0].c->h3, cs->id, 0, NULL, &sid), 0);
  static uint8_t big[10001];
  CHECK_EQ(wt_h3conn_write(S[0].c->h3, sid, big, sizeof(big), 0, SIZE_MAX), (ssize_t)sizeof(big));
  pump();
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
}

static void send_capsule_raw(uint64_t type, uint64_t value) {
  uint8_t buf[32], *p = buf;
  p = wt_varint_write(p, type);
  p = wt_varint_write(p, wt_varint_size(value));
  p = wt_varint_write(p, value);
  wt_h3conn_send_data(S[0].c->h3, 0, buf, (size_t)(p - buf), 0);
  pump();
}

static void flow_control_capsules_are_checked(void) {
  /* Without flow control they are ignored. */
  wt_session *cs = open_session(WT_DRAFT_MASK_ALL);
  CHECK(cs != NULL);
  send_capsule_raw(CAPSULE_WT_MAX_DATA, 5);
  send_capsule_raw(CAPSULE_WT_MAX_STREAM_DATA, 5);
  CHECK(!S[1].was_reset[0]);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_CLOSED], 0);
  /* With it, a shrinking limit and an HTTP/2-only capsule are errors. */
  cs = pooled_pair();
  CHECK(cs != NULL);
  send_capsule_raw(CAPSULE_WT_MAX_DATA, 20000);
  CHECK(!S[1].was_reset[0]);
  send_capsule_raw(CAPSULE_WT_MAX_DATA, 100);
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
  cs = pooled_pair();
  send_capsule_raw(CAPSULE_WT_STREAM_DATA_BLOCKED, 1);
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
  cs = pooled_pair();
  send_capsule_raw(CAPSULE_WT_MAX_STREAMS_UNI, (1ULL << 60) + 1);
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
  cs = pooled_pair();
  send_capsule_raw(CAPSULE_WT_DATA_BLOCKED, 1); /* informational */
  CHECK(!S[1].was_reset[0]);
  /* Spec §2.7: a MAX value must increase; stream counts stop at 2^60. */
  cs = pooled_pair();
  send_capsule_raw(CAPSULE_WT_MAX_DATA, pool_max_data); /* equal to the SETTINGS value */
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
  cs = pooled_pair();
  send_capsule_raw(CAPSULE_WT_MAX_STREAMS_BIDI, 1000);
  CHECK(!S[1].was_reset[0]);
  send_capsule_raw(CAPSULE_WT_MAX_STREAMS_BIDI, 1000);
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
  cs = pooled_pair();
  send_capsule_raw(CAPSULE_WT_STREAMS_BLOCKED_UNI, 1ULL << 60);
  CHECK(!S[1].was_reset[0]);
  send_capsule_raw(CAPSULE_WT_STREAMS_BLOCKED_UNI, (1ULL << 60) + 1);
  CHECK_EQ(S[1].reset_code[0], WT_FLOW_CONTROL_ERROR);
}

/* A request that waits for the client's SETTINGS (its control stream is
 * late) is not decided yet: a stream for it is held, not refused, and
 * reaches the session once it is accepted. */
static void streams_while_waiting_for_client_settings(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].app = collect_app;
  hold_sid = 2; /* the client's control stream */
  wt_session *cs = connect_session(NULL);
  pump();
  CHECK(cs != NULL);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 0);
  S[0].next_uni += 4;
  wt_conn_on_stream_data(S[1].c, 14,
                         (const uint8_t *)"\x40\x54\x00"
                                          "early",
                         8, 1);
  dispatch();
  CHECK(!S[1].was_stopped[14]);
  hold_sid = -1;
  pump();
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 1);
  CHECK(!S[1].was_stopped[14]);
  CHECK_EQ(S[1].got_len, 5);
  CHECK_MEM(S[1].got, "early", 5);
}

/* ------------------------------------------------------------------------ */
/* Refusals                                                                 */

static int try_origin(const char *origin) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.origin = origin;
  connect_session(&o);
  pump();
  return S[0].nev[WT_EV_SESSION_READY] ? 200 : S[0].http_status;
}

static int only_example(const char *origin, const char *authority, void *ud) {
  return strcmp(origin, "https://example.org") == 0;
}

static void origins_are_validated(void) {
  /* Default: same host as :authority ("localhost:4433"), any port/scheme. */
  CHECK_EQ(try_origin("http://localhost:8080"), 200);
  CHECK_EQ(try_origin("https://LOCALHOST"), 200);
  CHECK_EQ(try_origin("https://evil.example"), 403);
  CHECK_EQ(try_origin("null"), 403);
  CHECK_EQ(try_origin(NULL), 200); /* non-browser clients send none */
  /* Allow-list. */
  static const char *const list[] = {"https://app.example.com"};
  allow_list = list;
  nallow = 1;
  CHECK_EQ(try_origin("https://app.example.com"), 200);
  CHECK_EQ(try_origin("https://other.example.com"), 403);
  allow_list = NULL;
  nallow = 0;
  /* A hook replaces the default rule entirely. */
  origin_hook = only_example;
  CHECK_EQ(try_origin("https://example.org"), 200);
  CHECK_EQ(try_origin("http://localhost"), 403);
  origin_hook = NULL;
  CHECK_EQ(response_status(0), 403);
}

static void rate_limited_request_reports_429(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].status = 429;
  wt_session *cs = connect_session(NULL);
  pump();
  CHECK(cs != NULL);
  CHECK_EQ(S[0].http_status, 429);
  CHECK_EQ(S[0].error, 0);
}

static void requests_after_goaway_are_rejected(void) {
  wt_session *a = pooled_pair();
  CHECK(a != NULL);
  CHECK_EQ(wt_conn_shutdown(S[1].c), 0);
  pump();
  CHECK(!wt_conn_poolable(S[0].c)); /* a client would open a new connection */
  wt_session *b = connect_session(NULL);
  pump();
  CHECK(b != NULL);
  CHECK_EQ(S[1].reset_code[4], H3_REQUEST_REJECTED);
  CHECK_EQ(S[1].nev[WT_EV_SESSION_READY], 1);
  /* The existing session still works. */
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(a, 1, &st), 0);
  wt_stream_write(st, "ok", 2, 1);
  pump();
  CHECK_EQ(S[0].got_len, 2);
}

static void client_bounds_what_arrives_before_the_response(void) {
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  S[1].app = NULL;
  hold_sid = 0; /* hold the response back */
  wt_session *cs = connect_session(NULL);
  pump();
  CHECK(cs != NULL);
  /* The server opens streams for session 0 before its 2xx arrives. */
  for (int i = 0; i < 3; i++) {
    int64_t sid;
    CHECK_EQ(wt_h3conn_open_wt_stream(S[1].c->h3, 0, 0, NULL, &sid), 0);
  }
  for (int i = 0; i < 5; i++)
    wt_h3conn_send_datagram(S[1].c->h3, 0, (const uint8_t *)"d", 1);
  pump();
  /* Bounds are 2 streams and 2 datagrams. */
  /* (3, 7 and 11 are the server's HTTP/3 streams; its WT streams follow.) */
  CHECK(S[0].was_stopped[23]);
  CHECK_EQ(S[0].stop_code[23], WT_BUFFERED_STREAM_REJECTED);
  CHECK(!S[0].was_stopped[15] && !S[0].was_stopped[19]);
  uint64_t sd, rd;
  wt_session_datagram_drops(cs, &sd, &rd);
  CHECK_EQ(rd, 3);
  hold_sid = -1;
  pump();
  CHECK_EQ(S[0].nev[WT_EV_SESSION_READY], 1);
  CHECK_EQ(S[0].nev[WT_EV_SESSION_DATAGRAM], 1);
}

/* ---- plain HTTP requests ---- */

/* The server's HTTP application: answers /body with `http_body_len` bytes
 * (written as room allows), reads request bodies only when asked. */
static size_t http_body_len, http_written;
static int http_read_body, http_closed_error, http_closed;
static wt_http_request *http_last;
static uint8_t http_big[1 << 16];

static void http_server_app(const wt_event *ev, void *ud) {
  wt_http_request *r = ev->http;
  if (ev->type == WT_EV_HTTP_REQUEST) {
    http_last = r;
    if (strcmp(wt_http_request_path(r), "/body") == 0) {
      http_written = 0;
      CHECK_EQ(wt_http_request_respond(r, 200, NULL, 0, 0), 0);
    }
  }
  if ((ev->type == WT_EV_HTTP_REQUEST || ev->type == WT_EV_HTTP_WRITABLE) &&
      strcmp(wt_http_request_path(r), "/body") == 0) {
    ssize_t n;
    while (http_written < http_body_len &&
           (n = wt_http_request_write(r, http_big, http_body_len - http_written, 1)) > 0)
      http_written += (size_t)n;
  }
  if (ev->type == WT_EV_HTTP_READABLE && http_read_body) {
    uint8_t buf[4096];
    int fin = 0;
    while (wt_http_request_read(r, buf, sizeof(buf), &fin) > 0) {
    }
  }
  if (ev->type == WT_EV_HTTP_CLOSED) {
    http_closed++;
    http_closed_error = ev->error;
    http_last = NULL;
  }
}

/* The client side collects the response. */
static size_t cl_got;
static int cl_status, cl_closed, cl_error, cl_fin;
static void http_client_app(const wt_event *ev, void *ud) {
  uint8_t buf[4096];
  int fin = 0;
  ssize_t n;
  if (ev->type == WT_EV_HTTP_RESPONSE) cl_status = wt_http_request_status(ev->http);
  if (ev->type == WT_EV_HTTP_READABLE)
    while ((n = wt_http_request_read(ev->http, buf, sizeof(buf), &fin)) >= 0) {
      cl_got += (size_t)n;
      if (fin) {
        cl_fin = 1;
        break;
      }
    }
  if (ev->type == WT_EV_HTTP_CLOSED) {
    cl_closed = 1;
    cl_error = ev->error;
  }
}

static wt_router test_routes;

static wt_http_request *http_setup_and_send(const char *method, const char *path, uint32_t send_buffer) {
  wt_router_free(&test_routes);
  wt_router_add(&test_routes, "/", WT_ROUTE_PREFIX | WT_ROUTE_HTTP, http_server_app, NULL);
  wt_router_add(&test_routes, "/wt", WT_ROUTE_WEBTRANSPORT, NULL, NULL);
  routes = &test_routes;
  setup(WT_DRAFT_MASK_ALL, send_buffer);
  routes = NULL;
  http_closed = http_closed_error = 0;
  cl_got = 0;
  cl_status = cl_closed = cl_error = cl_fin = 0;
  char url[64];
  snprintf(url, sizeof(url), "https://a%s", path);
  wt_url u;
  wt_url_parse(url, &u);
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.on_event = http_client_app;
  wt_http_request *r = NULL;
  wt_http_start(S[0].c, method, &u, NULL, 0, &o, &r);
  wt_url_free(&u);
  return r;
}

/* A response larger than the send buffer goes out in pieces as room comes
 * back, each write sized to the room (one DATA frame each). */
static void http_response_streams_with_backpressure(void) {
  http_body_len = 50000;
  wt_http_request *r = http_setup_and_send("GET", "/body", 4096);
  CHECK(r);
  CHECK_EQ(wt_http_request_finish(r), 0); /* before SETTINGS: the HEADERS carry the FIN */
  pump();
  CHECK_EQ(cl_status, 200);
  CHECK_EQ(cl_got, 50000);
  CHECK(cl_fin && cl_closed && !cl_error);
  CHECK_EQ(http_closed, 1);
  CHECK_EQ(http_closed_error, 0);
  /* Never more than the limit plus one frame header in flight. */
  CHECK(S[1].wire[0].len > 50000);
}

/* A request body the server does not read is not credited: the client is
 * held by flow control. Reading returns the credit. */
static void http_request_body_is_credited_as_read(void) {
  http_read_body = 0;
  wt_http_request *r = http_setup_and_send("POST", "/upload", 1 << 20);
  pump();
  CHECK_EQ(wt_http_request_write(r, http_big, 20000, 0), 20000);
  pump();
  CHECK(http_last);
  CHECK(S[1].consumed[0] < 200); /* frame headers only */
  uint8_t buf[30000];
  int fin = 0;
  CHECK_EQ(wt_http_request_read(http_last, buf, sizeof(buf), &fin), 20000);
  CHECK(!fin);
  CHECK(S[1].consumed[0] >= 20000);
  CHECK_EQ(wt_http_request_read(http_last, buf, sizeof(buf), &fin), WT_ERR_AGAIN);
  /* Answering before the body ended stops the rest (H3_NO_ERROR). */
  CHECK_EQ(wt_http_request_respond(http_last, 200, NULL, 0, 1), 0);
  CHECK(S[1].was_stopped[0]);
  CHECK_EQ(S[1].stop_code[0], H3_NO_ERROR);
  pump();
  CHECK_EQ(cl_status, 200);
  CHECK_EQ(http_closed, 1);
  /* The client heard the stop: its body is over without a FIN of its own,
   * so the exchange is complete (and `r` gone) once the response is read. */
  CHECK(cl_closed && !cl_error);
}

static void http_reset_and_connection_loss_end_requests(void) {
  wt_http_request *r = http_setup_and_send("POST", "/upload", 1 << 20);
  pump();
  CHECK(http_last);
  CHECK_EQ(wt_http_request_abort(r, H3_REQUEST_CANCELLED), 0);
  pump();
  CHECK(cl_closed && cl_error == WT_ERR_CLOSED);
  CHECK_EQ(http_closed, 1);
  CHECK_EQ(http_closed_error, WT_ERR_CLOSED);
  /* The connection going away ends what is left, with an error. */
  r = http_setup_and_send("POST", "/upload", 1 << 20);
  pump();
  CHECK(http_last);
  wt_conn_on_closed(S[1].c, WT_ERR_TIMEOUT, "idle");
  wt_conn_on_closed(S[0].c, WT_ERR_TIMEOUT, "idle");
  dispatch();
  CHECK_EQ(http_closed_error, WT_ERR_TIMEOUT);
  CHECK_EQ(cl_error, WT_ERR_TIMEOUT);
}

/* Content-length we announce is enforced on our own writes. */
static void http_declared_length_is_enforced(void) {
  http_setup_and_send("GET", "/other", 1 << 20);
  pump();
  CHECK(http_last);
  wt_http_header h[] = {{"content-length", "5"}};
  CHECK_EQ(wt_http_request_write(http_last, "x", 1, 0), WT_ERR_STATE); /* before the response */
  CHECK_EQ(wt_http_request_respond(http_last, 200, h, 1, 0), 0);
  CHECK_EQ(wt_http_request_respond(http_last, 200, h, 1, 0), WT_ERR_STATE);
  CHECK_EQ(wt_http_request_write(http_last, "abcdef", 6, 0), WT_ERR_TOO_LARGE);
  CHECK_EQ(wt_http_request_write(http_last, "abc", 3, 1), WT_ERR_STATE);
  CHECK_EQ(wt_http_request_write(http_last, "abcde", 5, 1), 5);
  pump();
  CHECK_EQ(cl_got, 5);
  CHECK(cl_closed && !cl_error);
  /* Bad response fields are refused before anything is sent. */
  http_setup_and_send("GET", "/other", 1 << 20);
  pump();
  wt_http_header bad[] = {{"Bad Name", "x"}};
  CHECK_EQ(wt_http_request_respond(http_last, 200, bad, 1, 1), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_http_request_respond(http_last, 99, NULL, 0, 1), WT_ERR_INVALID_ARGUMENT);
}

/* HEAD: the response carries no body whatever content-length says. */
static void http_head_has_no_body(void) {
  wt_http_request *r = http_setup_and_send("HEAD", "/other", 1 << 20);
  wt_http_request_finish(r);
  pump();
  CHECK(http_last);
  wt_http_header h[] = {{"content-length", "1000"}};
  CHECK_EQ(wt_http_request_respond(http_last, 200, h, 1, 0), 0);
  CHECK_EQ(wt_http_request_write(http_last, "x", 1, 0), WT_ERR_STATE);
  CHECK_EQ(wt_http_request_finish(http_last), 0);
  pump();
  CHECK_EQ(cl_status, 200);
  CHECK_EQ(cl_got, 0);
  CHECK(cl_fin && cl_closed && !cl_error);
}

/* Paths that match no HTTP route: 404; a WebTransport-only route: 405
 * with allow: CONNECT. */
static void http_unrouted_paths(void) {
  wt_router_free(&test_routes);
  wt_router_add(&test_routes, "/page", WT_ROUTE_HTTP, http_server_app, NULL);
  wt_router_add(&test_routes, "/wt", WT_ROUTE_WEBTRANSPORT, NULL, NULL);
  routes = &test_routes;
  setup(WT_DRAFT_MASK_ALL, 1 << 20);
  routes = NULL;
  pump();
  static const wt_qpack_field nope[] = {
      {":method", 7, "GET", 3}, {":scheme", 7, "https", 5}, {":authority", 10, "a", 1}, {":path", 5, "/nope", 5}};
  static const wt_qpack_field wt[] = {
      {":method", 7, "GET", 3}, {":scheme", 7, "https", 5}, {":authority", 10, "a", 1}, {":path", 5, "/wt?q", 5}};
  int64_t sid;
  CHECK_EQ(wt_h3conn_send_request(S[0].c->h3, nope, 4, 1, &sid), 0);
  pump();
  CHECK_EQ(response_status(sid), 404);
  CHECK_EQ(wt_h3conn_send_request(S[0].c->h3, wt, 4, 1, &sid), 0);
  pump();
  CHECK_EQ(response_status(sid), 405);
  CHECK(strcmp(sent_field(1, sid, "allow"), "CONNECT") == 0);
  wt_router_free(&test_routes);
}

int main(void) {
  RUN(sessions_open_in_every_draft_generation);
  RUN(client_falls_back_to_the_servers_newest_generation);
  RUN(refused_session_reports_the_status);
  RUN(requests_over_the_rate_get_429);
  RUN(h3_datagram_needs_quic_datagrams);
  RUN(plain_requests_get_405);
  RUN(subprotocol_is_negotiated_by_server_preference);
  RUN(bidi_and_uni_streams_echo);
  RUN(datagrams_echo_and_overflow_is_counted);
  RUN(empty_datagrams_are_delivered);
  RUN(close_with_code_and_reason_reaches_the_peer);
  RUN(server_close_reaches_the_client);
  RUN(long_reasons_are_cut_at_a_character_boundary);
  RUN(invalid_utf8_close_reasons_are_refused);
  RUN(fin_without_capsule_means_code_zero);
  RUN(grease_capsule_before_close);
  RUN(invalid_utf8_reason_is_a_message_error);
  RUN(data_after_close_is_a_message_error);
  RUN(goaway_alone_announces_draining);
  RUN(drain_and_goaway_announce_draining);
  RUN(streams_before_the_session_are_buffered);
  RUN(too_many_early_streams_are_refused);
  RUN(streams_of_an_ended_session_are_refused);
  RUN(second_concurrent_session_is_rejected);
  RUN(stream_aborts_carry_application_codes);
  RUN(writes_push_back_and_resume);
  RUN(export_context_follows_the_draft);
  RUN(connection_loss_ends_sessions_once);
  RUN(pooled_sessions_share_a_connection);
  RUN(pooling_needs_both_sides);
  RUN(session_data_limit_blocks_and_credit_returns);
  RUN(session_stream_limit_blocks_and_credit_returns);
  RUN(exceeding_session_limits_is_a_flow_control_error);
  RUN(flow_control_capsules_are_checked);
  RUN(streams_while_waiting_for_client_settings);
  RUN(origins_are_validated);
  RUN(rate_limited_request_reports_429);
  RUN(requests_after_goaway_are_rejected);
  RUN(client_bounds_what_arrives_before_the_response);
  RUN(http_response_streams_with_backpressure);
  RUN(http_request_body_is_credited_as_read);
  RUN(http_reset_and_connection_loss_end_requests);
  RUN(http_declared_length_is_enforced);
  RUN(http_head_has_no_body);
  RUN(http_unrouted_paths);
  setup(0, 1024);
  wt_conn_free(S[0].c);
  wt_conn_free(S[1].c);
  return TEST_REPORT();
}
