/*
 * test_wire.c: what a peer sees on the wire. A raw QUIC client, built from
 * our QUIC layer alone (no HTTP/3 above it), connects to a real server
 * transport over 127.0.0.1 and sends hand-made HTTP/3 bytes; the test checks
 * the CONNECTION_CLOSE error code the server answers with, the stream reset
 * code, or the response HEADERS, end to end through ngtcp2. Violations that
 * need no session are sent all at once (server_answer); the rest are short
 * scripts (connect, send the CONNECT, pump until the 200, send more, pump
 * until the answer), and the server application's events are recorded to
 * check what it was told. The unit tests cover the same rules with a fake.
 */
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "h3/capsule.h"
#include "h3/codes.h"
#include "h3/frame.h"
#include "h3/qpack.h"
#include "quic/endpoint.h"
#include "quic/udp.h"
#include "test.h"

static wt_transport *srv;      /* default configuration: one session per connection */
static wt_transport *srv_pool; /* pooling on: WebTransport flow control */

/* Control streams: SETTINGS with H3_DATAGRAM only (no WebTransport: enough
 * for violations), with WT_ENABLED (draft -15/-16), and with the initial
 * flow-control limits too (WT_INITIAL_MAX_DATA 1000, WT_INITIAL_MAX_STREAMS
 * uni and bidi 10), which turns flow control on against srv_pool. */
#define CTL_PLAIN "00 04 02 33 01"
#define CTL_WT "00 04 07 33 01 ac7cf000 01"
#define CTL_WT_FLOW "00 04 11 33 01 ac7cf000 01 6b61 43e8 6b64 0a 6b65 0a"

#define NO_RESET UINT64_MAX

typedef struct raw {
  wt_udp udp;
  wt_endpoint *ep;
  wt_qconn *q;
  wt_logger log;
  /* what to send once the handshake allows it */
  const char *uni_hex;  /* our control stream (default CTL_PLAIN) */
  const char *bidi_hex; /* bytes on a new bidi stream */
  const char *dgram_hex;
  wt_buf bidi_raw; /* used instead of bidi_hex when not empty */
  int bidi_fin;    /* FIN after the bidi bytes */
  int no_control;  /* open no control stream at first (SETTINGS come later) */
  int ctl_end;     /* end our control stream: 1 with a FIN, 2 with a reset */
  const char *more_uni[4]; /* further uni streams, opened after the control stream */
  int more_uni_fin;        /* FIN on each of them */
  int64_t stop_uni;        /* nonzero: STOP_SENDING on this server uni stream once it speaks */
  int sent;
  /* what came back */
  int closed;
  char detail[512];
  struct {
    int64_t sid;
    uint64_t code;
  } resets[8];
  int nresets;
  wt_buf rx[8]; /* bytes on our bidi streams 0, 4, ... 28 */
  int rx_fin[8];
  uint8_t fin_acked[64]; /* by stream ID: our FIN was acknowledged */
} raw;

static raw R;
static int closed_by_server; /* R.closed as it was before our own teardown */

/* What the server application was told (both servers report here). */
typedef struct app_log {
  int ready, closed; /* WT_EV_SESSION_READY / _CLOSED events */
  uint32_t code;     /* of the last WT_EV_SESSION_CLOSED */
  int by_peer, error;
  size_t reason_len;
  char stream[64]; /* bytes read from peer streams, concatenated */
  size_t stream_len;
  int stream_fin;
  char dgram[64]; /* the last datagram */
  size_t dgram_len;
  int dgrams;
} app_log;

static app_log A;

/* The servers' log lines at INFO and above, to check that a refusal is
 * explained (what was expected, what came). The last WIRE_LOG lines are
 * kept (cases that do not reset the count still see their own lines). */
#define WIRE_LOG 128
static char wire_log[WIRE_LOG][600];
static int nwire_log;
static void keep_log(wt_log_level level, const char *line, void *ud) {
  if (level <= WT_LOG_INFO) snprintf(wire_log[nwire_log++ % WIRE_LOG], sizeof(wire_log[0]), "%s", line);
}
static int logged(const char *a, const char *b) {
  int n = 0, first = nwire_log > WIRE_LOG ? nwire_log - WIRE_LOG : 0;
  for (int i = first; i < nwire_log; i++)
    if (strstr(wire_log[i % WIRE_LOG], a) && (!b || strstr(wire_log[i % WIRE_LOG], b))) n++;
  if (n != 1)
    for (int i = first; i < nwire_log; i++)
      fprintf(stderr, "  server log: %s\n", wire_log[i % WIRE_LOG]);
  return n;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* The server application                                                   */

static void app_read(wt_stream *st) {
  for (;;) {
    int fin = 0;
    ssize_t n = wt_stream_read(st, A.stream + A.stream_len, sizeof(A.stream) - A.stream_len, &fin);
    if (n > 0) A.stream_len += (size_t)n;
    if (fin) A.stream_fin = 1;
    if (n <= 0) return;
  }
}

static void app_event(const wt_event *ev, void *ud) {
  wt_stream *st;
  switch (ev->type) {
  case WT_EV_SESSION_READY: A.ready++; break;
  case WT_EV_SESSION_STREAM:
    while (wt_session_accept_stream(ev->session, &st) == 0) {
    }
    break;
  case WT_EV_STREAM_READABLE: app_read(ev->stream); break;
  case WT_EV_SESSION_DATAGRAM:
    for (ssize_t n; (n = wt_session_receive_datagram(ev->session, A.dgram, sizeof(A.dgram))) >= 0; A.dgrams++)
      A.dgram_len = (size_t)n;
    break;
  case WT_EV_SESSION_CLOSED:
    A.closed++;
    A.code = ev->code;
    A.by_peer = ev->by_peer;
    A.error = ev->error;
    A.reason_len = ev->reason_len;
    break;
  default: break;
  }
}

static int srv_request(wt_request *r, void *ud) { return 200; }

static uint64_t live_sessions(wt_transport *t) {
  wt_stats st;
  wt_transport_get_stats(t, &st);
  return st.sessions;
}

static uint64_t streams_refused(wt_transport *t) {
  wt_stats st;
  wt_transport_get_stats(t, &st);
  return st.streams_refused;
}

/* ------------------------------------------------------------------------ */
/* The raw client                                                           */

static int64_t open_stream(int bidi) {
  int64_t sid = -1;
  if (R.q && wt_qconn_open_stream(R.q, bidi, &sid)) sid = -1;
  return sid;
}

static void write_to(int64_t sid, const void *d, size_t n, int fin) {
  if (R.q && sid >= 0) wt_qconn_stream_write(R.q, sid, d, n, fin, SIZE_MAX);
}

static void write_hex(int64_t sid, const char *hex, int fin) {
  uint8_t buf[512];
  write_to(sid, buf, test_unhex(hex, buf), fin);
}

/* Opens a stream and sends `hex` on it; returns its ID. */
static int64_t send_hex(int bidi, const char *hex, int fin) {
  int64_t sid = open_stream(bidi);
  write_hex(sid, hex, fin);
  return sid;
}

static void send_dgram_hex(const char *hex) {
  uint8_t buf[64];
  if (R.q) wt_qconn_send_datagram(R.q, buf, test_unhex(hex, buf), NULL, 0, 0);
}

/* Our own control stream first, so only the bytes under test are wrong. */
static void on_ready(void *app) {
  if (!R.no_control) {
    int64_t ctl = send_hex(0, R.uni_hex ? R.uni_hex : CTL_PLAIN, R.ctl_end == 1);
    /* after its bytes arrived: a reset of a stream not yet seen is no error */
    if (R.ctl_end == 2) wt_qconn_stream_reset(R.q, ctl, H3_NO_ERROR, UINT64_MAX);
  }
  for (int i = 0; i < 4 && R.more_uni[i]; i++)
    send_hex(0, R.more_uni[i], R.more_uni_fin);
  if (R.bidi_hex) send_hex(1, R.bidi_hex, R.bidi_fin);
  if (R.bidi_raw.len) write_to(open_stream(1), R.bidi_raw.data, R.bidi_raw.len, R.bidi_fin);
  if (R.dgram_hex) send_dgram_hex(R.dgram_hex);
  R.sent = 1;
}
static void on_data(void *app, int64_t sid, const uint8_t *d, size_t n, int fin) {
  if (R.stop_uni && sid == R.stop_uni) {
    wt_qconn_stream_stop(R.q, sid, H3_NO_ERROR);
    R.stop_uni = 0;
  }
  if (sid % 4 == 0 && sid / 4 < 8) {
    wt_buf_append(&R.rx[sid / 4], d, n);
    R.rx_fin[sid / 4] |= fin;
  }
  wt_qconn_stream_consumed(R.q, sid, n);
}
static void on_reset(void *app, int64_t sid, uint64_t code, uint64_t final_size) {
  if (R.nresets < 8) {
    R.resets[R.nresets].sid = sid;
    R.resets[R.nresets].code = code;
    R.nresets++;
  }
}
static void on_acked(void *app, int64_t sid) {
  if (sid >= 0 && sid < 64) R.fin_acked[sid] = 1;
}
static void on_sid(void *app, int64_t sid, uint64_t code) {}
static void on_sid0(void *app, int64_t sid) {}
static void on_dgram(void *app, const uint8_t *d, size_t n) {}
static void on_credit(void *app, int bidi) {}
static void on_closed(void *app, int err, const char *detail) {
  R.closed = 1;
  snprintf(R.detail, sizeof(R.detail), "%s", detail);
}
static void on_freed(void *app) { R.q = NULL; }

static const wt_qconn_handler HANDLER = {.on_ready = on_ready,
                                         .on_stream_data = on_data,
                                         .on_stream_reset = on_reset,
                                         .on_stop_sending = on_sid,
                                         .on_stream_writable = on_sid0,
                                         .on_stream_acked = on_acked,
                                         .on_stream_closed = on_sid0,
                                         .on_datagram = on_dgram,
                                         .on_stream_credit = on_credit,
                                         .on_closed = on_closed,
                                         .on_freed = on_freed};

static void send_batch(void *ctx, const uint8_t *buf, const wt_txpkt *pkts, size_t n) {
  wt_udp_send(&R.udp, buf, pkts, n);
}
static int no_accept(void *ctx, wt_qconn *q) { return -1; }

/* One round: both servers, then the raw client. */
static void pump_once(void) {
  wt_transport_process(srv);
  wt_transport_process(srv_pool);
  if (R.ep) {
    int n = wt_udp_recv(&R.udp);
    for (int i = 0; i < n; i++) {
      wt_rxpkt *p = &R.udp.rx[i];
      wt_endpoint_on_packet(R.ep, (const struct sockaddr *)p->to, p->tolen, (const struct sockaddr *)p->from, p->fromlen,
                            p->data, p->len, now_ns());
    }
    wt_endpoint_on_timers(R.ep, now_ns());
    wt_endpoint_write(R.ep, now_ns());
  }
  usleep(1000);
}

/* Pumps until `cond` holds or two seconds passed. */
#define PUMP_UNTIL(cond)                                                                                               \
  do {                                                                                                                 \
    uint64_t end_ = now_ns() + 2000000000ULL;                                                                          \
    while (!(cond) && now_ns() < end_)                                                                                 \
      pump_once();                                                                                                     \
  } while (0)

/* For what must *not* happen: long enough for a loopback round trip. */
static void pump_ms(int ms) {
  uint64_t end = now_ns() + (uint64_t)ms * 1000000ULL;
  while (now_ns() < end)
    pump_once();
}

/* Closes our connection (CONNECTION_CLOSE) and waits until the servers
 * have ended its sessions, so no event of it lands in the next test. */
static void raw_free(void) {
  if (!R.ep) return;
  wt_endpoint_free(R.ep, now_ns());
  R.ep = NULL;
  PUMP_UNTIL(live_sessions(srv) == 0 && live_sessions(srv_pool) == 0);
  wt_udp_close(&R.udp);
  for (int i = 0; i < 8; i++)
    wt_buf_free(&R.rx[i]);
}

/* Connects a fresh raw client; `no_datagrams`: without the
 * max_datagram_frame_size transport parameter. */
static void raw_connect_with(wt_transport *to_srv, int no_datagrams) {
  raw_free(); /* what a failed CHECK left behind */
  wt_buf keep = R.bidi_raw;
  memset(&R, 0, sizeof(R));
  memset(&A, 0, sizeof(A));
  R.bidi_raw = keep;
  R.log.level = WT_LOG_ERROR;
  if (wt_udp_open(&R.udp, "127.0.0.1", 0, 0, 1, &R.log)) abort();
  wt_endpoint_config ec = {.cid_len = 16,
                           .idle_timeout_ms = 5000,
                           .stream_window = 65536,
                           .conn_window = 1 << 20,
                           .max_streams_bidi = 10,
                           .max_streams_uni = 10,
                           .datagram_send_queue = 8,
                           .datagram_send_queue_bytes = 65536,
                           .no_datagrams = no_datagrams,
                           .log = &R.log,
                           .send_batch = send_batch,
                           .on_accept = no_accept};
  if (wt_endpoint_new(&ec, &R.ep)) abort();
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(wt_transport_port(to_srv))};
  to.sin_addr.s_addr = htonl(0x7f000001);
  struct sockaddr_storage rem, loc;
  socklen_t rl, ll;
  wt_udp_route(&R.udp, (struct sockaddr *)&to, sizeof(to), &rem, &rl, &loc, &ll);
  wt_tls_verify v;
  memset(&v, 0, sizeof(v));
  v.mode = WT_VERIFY_NONE;
  strcpy(v.host, "localhost");
  if (wt_endpoint_connect(R.ep, (struct sockaddr *)&loc, ll, (struct sockaddr *)&rem, rl, &v, NULL, now_ns(), &R.q))
    abort();
  wt_qconn_set_app(R.q, &HANDLER, &R);
}

static void raw_connect(wt_transport *to_srv) { raw_connect_with(to_srv, 0); }

/* The code the server reset stream `sid` with, or NO_RESET. */
static uint64_t reset_code(int64_t sid) {
  for (int i = 0; i < R.nresets; i++)
    if (R.resets[i].sid == sid) return R.resets[i].code;
  return NO_RESET;
}

/* Runs the case set up in R after raw_connect and returns the HTTP/3 code
 * the server closed the connection with (or reset a stream with). */
static uint64_t answer(void) {
  PUMP_UNTIL(R.closed || R.nresets);
  uint64_t code = 0;
  const char *p = strstr(R.detail, "application error 0x");
  if (p)
    code = strtoull(p + 20, NULL, 16);
  else if (R.nresets)
    code = R.resets[0].code;
  closed_by_server = R.closed;
  raw_free();
  wt_buf_free(&R.bidi_raw);
  return code;
}

/* One case against srv: our control stream (NULL: CTL_PLAIN), bytes on a
 * bidi stream and a datagram (NULL: none). */
static uint64_t server_answer(const char *uni, const char *bidi, const char *dgram) {
  raw_connect(srv);
  R.uni_hex = uni;
  R.bidi_hex = bidi;
  R.dgram_hex = dgram;
  return answer();
}

/* ------------------------------------------------------------------------ */
/* HTTP/3 bytes                                                             */

/* Appends a HEADERS frame carrying `f` to `out`. */
static void append_headers(wt_buf *out, const wt_qpack_field *f, size_t n) {
  wt_buf block;
  wt_buf_init(&block);
  wt_qpack_encode(&block, f, n);
  wt_frame_write(out, H3_FRAME_HEADERS, block.data, block.len);
  wt_buf_free(&block);
}

static void send_headers(int64_t sid, const wt_qpack_field *f, size_t n, int fin) {
  wt_buf frame;
  wt_buf_init(&frame);
  append_headers(&frame, f, n);
  write_to(sid, frame.data, frame.len, fin);
  wt_buf_free(&frame);
}

static void send_connect(int64_t sid) {
  static const wt_qpack_field f[] = {{":method", 7, "CONNECT", 7},
                                     {":protocol", 9, "webtransport-h3", 15},
                                     {":scheme", 7, "https", 5},
                                     {":authority", 10, "localhost", 9},
                                     {":path", 5, "/echo", 5}};
  send_headers(sid, f, 5, 0);
}

/* Sends one DATA frame holding `capsules` (hex). */
static void send_capsules_hex(int64_t sid, const char *capsules) {
  uint8_t payload[256];
  wt_buf frame;
  wt_buf_init(&frame);
  wt_frame_write(&frame, H3_FRAME_DATA, payload, test_unhex(capsules, payload));
  write_to(sid, frame.data, frame.len, 0);
  wt_buf_free(&frame);
}

/* Sends WT_CLOSE_SESSION(code, reason) in a DATA frame, whatever the reason's
 * length or encoding, followed in the same frame by `then_hex`. */
static void send_close(int64_t sid, uint32_t code, const char *reason, size_t len, const char *then_hex) {
  uint8_t be[4] = {(uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8), (uint8_t)code}, more[64];
  wt_buf caps, frame;
  wt_buf_init(&caps);
  wt_buf_init(&frame);
  wt_capsule_write_header(&caps, CAPSULE_WT_CLOSE_SESSION, 4 + len);
  wt_buf_append(&caps, be, 4);
  wt_buf_append(&caps, reason, len);
  wt_buf_append(&caps, more, then_hex ? test_unhex(then_hex, more) : 0);
  wt_frame_write(&frame, H3_FRAME_DATA, caps.data, caps.len);
  write_to(sid, frame.data, frame.len, 0);
  wt_buf_free(&caps);
  wt_buf_free(&frame);
}

static char field_value[64];
static const char *field_name;
static int grab_field(void *ud, const char *n, size_t nl, const char *v, size_t vl) {
  if (strcmp(n, field_name) == 0) snprintf(field_value, sizeof(field_value), "%s", v);
  return 0;
}

/* Counts the complete frames of `type` the server sent on our bidi stream
 * `sid`; with `headers`, also copies out the field section of the last
 * complete HEADERS frame (at most 1024 bytes). */
static int frames_received(int64_t sid, uint64_t type, uint8_t *headers, size_t *headers_len) {
  const wt_buf *w = &R.rx[sid / 4];
  wt_frame_reader r;
  if (!w->len) return 0;
  wt_frame_reader_init(&r);
  size_t used = 0, blen = 0;
  int count = 0;
  wt_frame_event ev;
  const uint8_t *chunk;
  size_t clen;
  for (;;) {
    used += wt_frame_reader_step(&r, w->data + used, w->len - used, &ev, &chunk, &clen);
    if (ev == WT_FRAME_NEED_MORE) break;
    if (ev == WT_FRAME_HEADER && r.type == H3_FRAME_HEADERS) blen = 0;
    if (ev == WT_FRAME_PAYLOAD && r.type == H3_FRAME_HEADERS && headers && blen + clen <= 1024) {
      memcpy(headers + blen, chunk, clen);
      blen += clen;
    }
    if (ev == WT_FRAME_END && r.type == type) {
      count++;
      if (headers_len) *headers_len = blen;
    }
  }
  return count;
}

/* The :status of the server's response on `sid`; 0 before it is complete. */
static int response_status(int64_t sid) {
  uint8_t block[1024];
  size_t blen = 0;
  if (!frames_received(sid, H3_FRAME_HEADERS, block, &blen)) return 0;
  field_value[0] = 0;
  field_name = ":status";
  if (wt_qpack_decode(block, blen, 0, grab_field, NULL)) return 0;
  return atoi(field_value);
}

/* Connects to `to` with the control stream `ctl`, sends an extended CONNECT
 * on bidi stream 0 and waits for the answer. Returns its status (0: none). */
static int open_session(wt_transport *to, const char *ctl) {
  raw_connect(to);
  R.uni_hex = ctl;
  PUMP_UNTIL(R.sent || R.closed);
  int64_t sid = open_stream(1);
  if (sid != 0) return 0;
  send_connect(sid);
  PUMP_UNTIL(response_status(0) || R.nresets || R.closed);
  return response_status(0);
}

/* ------------------------------------------------------------------------ */
/* Connection errors and request stream errors                              */

static void control_stream_must_start_with_settings(void) {
  CHECK_EQ(server_answer("00 07 01 00", NULL, NULL), H3_MISSING_SETTINGS);
}

static void invalid_settings_value(void) { CHECK_EQ(server_answer("00 04 02 33 02", NULL, NULL), H3_SETTINGS_ERROR); }

static void second_settings_frame(void) {
  CHECK_EQ(server_answer("00 04 02 33 01 04 00", NULL, NULL), H3_FRAME_UNEXPECTED);
}

static void reserved_http2_frame_on_control(void) {
  CHECK_EQ(server_answer("00 04 00 06 00", NULL, NULL), H3_FRAME_UNEXPECTED);
}

static void data_before_headers_on_a_request(void) {
  CHECK_EQ(server_answer(NULL, "00 01 61", NULL), H3_FRAME_UNEXPECTED);
}

static void dynamic_table_reference(void) {
  CHECK_EQ(server_answer(NULL, "01 03 00 00 81", NULL), QPACK_DECOMPRESSION_FAILED);
}

static void session_id_that_is_not_a_client_bidi_stream(void) {
  CHECK_EQ(server_answer(NULL, "40 41 01 00", NULL), H3_ID_ERROR);
}

static void wt_signal_inside_a_request(void) {
  /* A valid extended CONNECT, then the 0x41 signal later on the stream. */
  static const wt_qpack_field f[] = {{":method", 7, "CONNECT", 7},
                                     {":protocol", 9, "webtransport", 12},
                                     {":scheme", 7, "https", 5},
                                     {":authority", 10, "localhost", 9},
                                     {":path", 5, "/x", 2}};
  append_headers(&R.bidi_raw, f, 5);
  wt_buf_append(&R.bidi_raw, "\x40\x41\x00", 3);
  CHECK_EQ(server_answer(NULL, NULL, NULL), H3_FRAME_ERROR);
}

static void malformed_request_is_a_stream_error(void) {
  /* :method GET only: missing :scheme and :path -> reset H3_MESSAGE_ERROR,
   * the connection stays up. */
  CHECK_EQ(server_answer(NULL, "01 03 00 00 d1", NULL), H3_MESSAGE_ERROR);
  CHECK(!closed_by_server);
}

static void datagram_without_a_quarter_stream_id(void) { CHECK_EQ(server_answer(NULL, NULL, "40"), H3_DATAGRAM_ERROR); }

static void plain_get_is_answered_405(void) {
  /* A well-formed request that is not WebTransport: the server only serves
   * extended CONNECT, so it answers "method not allowed" and stays up. */
  static const wt_qpack_field get[] = {{":method", 7, "GET", 3},
                                       {":scheme", 7, "https", 5},
                                       {":authority", 10, "localhost", 9},
                                       {":path", 5, "/echo", 5}};
  raw_connect(srv);
  PUMP_UNTIL(R.sent || R.closed);
  send_headers(open_stream(1), get, 4, 1);
  PUMP_UNTIL(response_status(0) || R.closed);
  CHECK_EQ(response_status(0), 405);
  CHECK(!R.closed);
  CHECK_EQ(A.ready, 0);
}

/* A CONNECT from a client whose SETTINGS enable no WebTransport draft:
 * reset with H3_MESSAGE_ERROR and one line naming what it sent and what a
 * client must announce. */
static void connect_without_webtransport_settings_is_explained(void) {
  nwire_log = 0;
  CHECK_EQ(open_session(srv, CTL_PLAIN), 0);
  CHECK_EQ(reset_code(0), H3_MESSAGE_ERROR);
  CHECK_EQ(logged("the client did not enable WebTransport in its SETTINGS", "it sent: 0x33=1"), 1);
  CHECK_EQ(logged("SETTINGS_WT_ENABLED 0x2c7cf000 (draft 15)", NULL), 1);
  CHECK_EQ(A.ready, 0);
}

/* An extended CONNECT for another protocol gets 405 and a line that says
 * which :protocol came and which were expected. */
static void wrong_protocol_is_explained(void) {
  static const wt_qpack_field ws[] = {{":method", 7, "CONNECT", 7},
                                      {":protocol", 9, "websocket", 9},
                                      {":scheme", 7, "https", 5},
                                      {":authority", 10, "localhost", 9},
                                      {":path", 5, "/echo", 5}};
  nwire_log = 0;
  raw_connect(srv);
  R.uni_hex = CTL_WT;
  PUMP_UNTIL(R.sent || R.closed);
  send_headers(open_stream(1), ws, 5, 0);
  PUMP_UNTIL(response_status(0) || R.closed);
  CHECK_EQ(response_status(0), 405);
  CHECK_EQ(logged("refused with 405: :protocol is \"websocket\"", "expected \"webtransport\""), 1);
}

/* ------------------------------------------------------------------------ */
/* RFC 9114 / 9204 / 9297 conformance (docs/conformance.md lists each rule) */

/* Frames that belong on request streams, or to HTTP/2, on the control
 * stream (RFC 9114 §7.2.1, §7.2.2, §7.2.5, §7.2.8). */
static void wrong_frames_on_the_control_stream(void) {
  static const char *const frames[] = {"00 01 61", "01 01 00", "05 02 00 00", "02 00", "06 00", "08 00", "09 00"};
  for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
    char ctl[64];
    snprintf(ctl, sizeof(ctl), "%s %s", CTL_PLAIN, frames[i]);
    CHECK_EQ(server_answer(ctl, NULL, NULL), H3_FRAME_UNEXPECTED);
  }
}

/* Control-stream frames, PUSH_PROMISE from a client and HTTP/2 frames on a
 * request stream (RFC 9114 §7.2.3-§7.2.8). */
static void wrong_frames_on_a_request_stream(void) {
  static const char *const frames[] = {"04 00",       "07 01 00", "0d 01 00", "03 01 00", "05 02 00 00",
                                       "02 00",       "06 00",    "08 00",    "09 00"};
  for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
    CHECK_EQ(server_answer(NULL, frames[i], NULL), H3_FRAME_UNEXPECTED);
}

static void control_stream_frame_errors(void) {
  /* GOAWAY longer than its one varint (RFC 9114 §7.1); CANCEL_PUSH for a
   * push never promised (§7.2.3). */
  CHECK_EQ(server_answer(CTL_PLAIN " 07 02 00 00", NULL, NULL), H3_FRAME_ERROR);
  CHECK_EQ(server_answer(CTL_PLAIN " 03 01 00", NULL, NULL), H3_ID_ERROR);
  /* SETTINGS cut inside a setting, an HTTP/2 setting, a duplicate
   * (RFC 9114 §7.2.4, §7.2.4.1). */
  CHECK_EQ(server_answer("00 04 01 33", NULL, NULL), H3_FRAME_ERROR);
  CHECK_EQ(server_answer("00 04 02 02 00", NULL, NULL), H3_SETTINGS_ERROR);
  CHECK_EQ(server_answer("00 04 04 33 01 33 01", NULL, NULL), H3_SETTINGS_ERROR);
  /* SETTINGS announcing more than we buffer (4096 bytes) */
  CHECK_EQ(server_answer("00 04 50 01", NULL, NULL), H3_EXCESSIVE_LOAD);
}

/* RFC 9114 §6.2.1, RFC 9204 §4.2: closing a critical stream, by FIN or by
 * reset, is a connection error. */
static void closed_critical_streams(void) {
  raw_connect(srv);
  R.ctl_end = 1;
  CHECK_EQ(answer(), H3_CLOSED_CRITICAL_STREAM);
  raw_connect(srv);
  R.ctl_end = 2;
  CHECK_EQ(answer(), H3_CLOSED_CRITICAL_STREAM);
  for (int dec = 0; dec < 2; dec++) {
    raw_connect(srv);
    R.more_uni[0] = dec ? "03" : "02";
    R.more_uni_fin = 1;
    CHECK_EQ(answer(), H3_CLOSED_CRITICAL_STREAM);
  }
  /* STOP_SENDING on the server's control, QPACK encoder and decoder streams
   * (3, 7, 11: opened in that order). QUIC answers it with a reset at once;
   * HTTP/3 then closes the connection. */
  for (int64_t sid = 3; sid <= 11; sid += 4) {
    raw_connect(srv);
    R.stop_uni = sid;
    PUMP_UNTIL(R.closed);
    CHECK(strstr(R.detail, "application error 0x104") != NULL);
  }
}

/* RFC 9114 §6.2.1, §6.2.2; RFC 9204 §4.2: a second control or QPACK stream,
 * and a push stream from a client. */
static void stream_creation_errors(void) {
  static const char *const second[][2] = {{"00 04 00", NULL}, {"02", "02"}, {"03", "03"}, {"01 00", NULL}};
  for (size_t i = 0; i < sizeof(second) / sizeof(second[0]); i++) {
    raw_connect(srv);
    R.more_uni[0] = second[i][0];
    R.more_uni[1] = second[i][1];
    CHECK_EQ(answer(), H3_STREAM_CREATION_ERROR);
  }
}

/* RFC 9204 §4.3, §4.4, §2.2.3: we allow no dynamic table, so every
 * encoder instruction but Set Dynamic Table Capacity 0, and every Section
 * Acknowledgment or Insert Count Increment, is an error. */
static void qpack_instruction_stream_errors(void) {
  static const char *const enc[] = {"02 21", "02 c0 00", "02 40 01 61", "02 00"};
  static const char *const dec[] = {"03 80", "03 01", "03 00"};
  for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
    raw_connect(srv);
    R.more_uni[0] = enc[i];
    CHECK_EQ(answer(), QPACK_ENCODER_STREAM_ERROR);
  }
  for (size_t i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
    raw_connect(srv);
    R.more_uni[0] = dec[i];
    CHECK_EQ(answer(), QPACK_DECODER_STREAM_ERROR);
  }
}

/* RFC 9204 §4.5: field sections the decoder cannot interpret. */
static void qpack_decompression_failures(void) {
  CHECK_EQ(server_answer(NULL, "01 04 00 00 ff 24", NULL), QPACK_DECOMPRESSION_FAILED); /* static index 99 */
  CHECK_EQ(server_answer(NULL, "01 05 00 00 29 ff 00", NULL), QPACK_DECOMPRESSION_FAILED); /* Huffman: 8 bits padding */
  CHECK_EQ(server_answer(NULL, "01 04 00 00 51 85", NULL), QPACK_DECOMPRESSION_FAILED);    /* value runs past the end */
  CHECK_EQ(server_answer(NULL, "01 03 00 00 10", NULL), QPACK_DECOMPRESSION_FAILED);       /* post-Base index */
}

/* A request whose fields break RFC 9114 §4.2/§4.3 is malformed: the stream
 * is reset with H3_MESSAGE_ERROR and the connection stays. */
static uint64_t request_answer(const wt_qpack_field *f, size_t n) {
  append_headers(&R.bidi_raw, f, n);
  uint64_t code = server_answer(NULL, NULL, NULL);
  return closed_by_server ? 0 : code;
}

/* A well-formed GET with one more field, `name: value`. */
static uint64_t get_with_answer(const char *name, const char *value) {
  wt_qpack_field f[] = {{":method", 7, "GET", 3},
                        {":scheme", 7, "https", 5},
                        {":authority", 10, "localhost", 9},
                        {":path", 5, "/", 1},
                        {name, strlen(name), value, strlen(value)}};
  return request_answer(f, 5);
}

static void malformed_requests(void) {
  static const char *const extra[][2] = {
      {"X-Up", "1"},                  /* uppercase name */
      {"a", "x\r\ny"},                /* CR LF in a value */
      {"connection", "close"},        /* connection-specific */
      {"te", "gzip"},                 /* te other than trailers */
      {":path", "/"},                 /* duplicate pseudo-header */
      {":foo", "1"},                  /* unknown pseudo-header */
      {":protocol", "webtransport"},  /* :protocol without CONNECT */
      {"host", "example.com"},        /* host disagreeing with :authority */
  };
  for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
    CHECK_EQ(get_with_answer(extra[i][0], extra[i][1]), H3_MESSAGE_ERROR);
  static const wt_qpack_field late_pseudo[] = {{":method", 7, "GET", 3},
                                               {":scheme", 7, "https", 5},
                                               {":authority", 10, "localhost", 9},
                                               {"a", 1, "1", 1},
                                               {":path", 5, "/", 1}};
  static const wt_qpack_field no_authority[] = {{":method", 7, "GET", 3}, {":scheme", 7, "https", 5}, {":path", 5, "/", 1}};
  static const wt_qpack_field connect_no_path[] = {{":method", 7, "CONNECT", 7},
                                                   {":protocol", 9, "webtransport-h3", 15},
                                                   {":scheme", 7, "https", 5},
                                                   {":authority", 10, "localhost", 9}};
  CHECK_EQ(request_answer(late_pseudo, 5), H3_MESSAGE_ERROR);
  CHECK_EQ(request_answer(no_authority, 3), H3_MESSAGE_ERROR);
  CHECK_EQ(request_answer(connect_no_path, 4), H3_MESSAGE_ERROR);
  /* (the same GET without a wrong field: plain_get_is_answered_405) */
}

/* RFC 9114 §4.1: after the trailer section nothing may follow (DATA or
 * HEADERS: H3_FRAME_UNEXPECTED); a trailer with a pseudo-header is
 * malformed (§4.3). */
static uint64_t trailers_answer(const char *trailer_name, const char *then_hex) {
  static const wt_qpack_field get[] = {
      {":method", 7, "GET", 3}, {":scheme", 7, "https", 5}, {":path", 5, "/", 1}, {":authority", 10, "localhost", 9}};
  wt_qpack_field trailer = {trailer_name, strlen(trailer_name), "1", 1};
  uint8_t more[16];
  append_headers(&R.bidi_raw, get, 4);
  append_headers(&R.bidi_raw, &trailer, 1);
  wt_buf_append(&R.bidi_raw, more, then_hex ? test_unhex(then_hex, more) : 0);
  return server_answer(NULL, NULL, NULL);
}

static void frames_after_trailers(void) {
  CHECK_EQ(trailers_answer("a", "00 01 61"), H3_FRAME_UNEXPECTED);
  CHECK_EQ(trailers_answer("a", "01 00"), H3_FRAME_UNEXPECTED);
  CHECK_EQ(trailers_answer(":path", NULL), H3_MESSAGE_ERROR);
  CHECK(!closed_by_server);
}

/* RFC 9114 §4.1.2: DATA that does not add up to content-length (1 byte
 * of 5, then FIN) makes the request malformed. */
static void content_length_mismatch(void) {
  static const wt_qpack_field post[] = {{":method", 7, "POST", 4},
                                        {":scheme", 7, "https", 5},
                                        {":path", 5, "/", 1},
                                        {":authority", 10, "localhost", 9},
                                        {"content-length", 14, "5", 1}};
  append_headers(&R.bidi_raw, post, 5);
  wt_frame_write(&R.bidi_raw, H3_FRAME_DATA, (const uint8_t *)"a", 1);
  raw_connect(srv);
  R.bidi_fin = 1;
  CHECK_EQ(answer(), H3_MESSAGE_ERROR);
  CHECK(!closed_by_server);
}

/* RFC 9114 §7.1: a stream that ends inside a frame is H3_FRAME_ERROR;
 * §4.1: one that ends before any HEADERS is H3_REQUEST_INCOMPLETE. */
static void incomplete_requests(void) {
  raw_connect(srv);
  R.bidi_hex = "01 05 00 00";
  R.bidi_fin = 1;
  CHECK_EQ(answer(), H3_FRAME_ERROR);
  raw_connect(srv);
  R.bidi_hex = "01";
  R.bidi_fin = 1;
  CHECK_EQ(answer(), H3_FRAME_ERROR);
  raw_connect(srv);
  R.bidi_hex = "21 00";
  R.bidi_fin = 1;
  CHECK_EQ(answer(), H3_REQUEST_INCOMPLETE);
  CHECK(!closed_by_server);
}

/* RFC 9114 §4.2.2: a field section over our SETTINGS_MAX_FIELD_SECTION_SIZE
 * (16384) is refused with H3_EXCESSIVE_LOAD as soon as its HEADERS frame
 * header says so, and the connection stays. */
static void oversized_field_section(void) {
  CHECK_EQ(server_answer(NULL, "01 80 01 00 00 00 00", NULL), H3_EXCESSIVE_LOAD);
  CHECK(!closed_by_server);
}

static void quarter_stream_id_beyond_2_60(void) {
  /* RFC 9297 §2.1: a quarter stream ID beyond 2^60-1 cannot name a stream
   * (a truncated one: datagram_without_a_quarter_stream_id). */
  CHECK_EQ(server_answer(NULL, NULL, "d0 00 00 00 00 00 00 00"), H3_DATAGRAM_ERROR);
}

/* RFC 9297 §2.1.1: H3_DATAGRAM=1 from a peer whose transport parameters
 * refuse DATAGRAM frames. Without the setting, the same client is fine. */
static void h3_datagram_without_quic_datagrams(void) {
  raw_connect_with(srv, 1);
  CHECK_EQ(answer(), H3_SETTINGS_ERROR);
  raw_connect_with(srv, 1);
  R.uni_hex = "00 00";
  PUMP_UNTIL(R.sent || R.closed);
  pump_ms(50);
  CHECK(!R.closed);
}

/* Draft §4.2: a uni stream naming a session that is not a client bidi
 * stream (the bidi case is session_id_that_is_not_a_client_bidi_stream). */
static void uni_stream_session_id_that_is_not_a_client_bidi_stream(void) {
  raw_connect(srv);
  R.more_uni[0] = "40 54 02";
  CHECK_EQ(answer(), H3_ID_ERROR);
}

/* Draft §4.3: WT_STREAM (0x41) anywhere but the start of a bidi stream. */
static void wt_signal_anywhere_else(void) {
  CHECK_EQ(server_answer(CTL_PLAIN " 40 41 00", NULL, NULL), H3_FRAME_ERROR); /* on the control stream */
  CHECK_EQ(server_answer(NULL, "21 00 40 41 00", NULL), H3_FRAME_ERROR);      /* after a first frame */
}

/* RFC 9114 §6.2.3, §7.2.8, §7.2.4.1, §9; RFC 9204 §4.3.1: unknown stream
 * types, frame types and settings (GREASE included), and a dynamic table
 * capacity of 0, are ignored: the session opens normally afterwards. */
static void unknown_types_are_ignored(void) {
  raw_connect(srv);
  R.uni_hex = "00 04 0d 33 01 ac7cf000 01 40 21 01 5f 3a 00 " /* SETTINGS with a GREASE setting */
              "21 00 40 40 02 aa bb";                          /* two unknown frames */
  R.more_uni[0] = "40 21 aa bb cc";                             /* GREASE uni stream type */
  R.more_uni[1] = "80 ff ff ff 00";                             /* an unknown 4-byte stream type */
  R.more_uni[2] = "02 20";                                      /* encoder: capacity 0 */
  R.more_uni[3] = "03";                                         /* decoder stream */
  PUMP_UNTIL(R.sent || R.closed);
  int64_t sid = open_stream(1);
  CHECK_EQ(sid, 0);
  write_hex(sid, "21 03 61 62 63", 0); /* an unknown frame before HEADERS */
  send_connect(sid);
  PUMP_UNTIL(response_status(0) || R.nresets || R.closed);
  CHECK_EQ(response_status(0), 200);
  CHECK(!R.closed);
  CHECK_EQ(A.ready, 1);
  CHECK_EQ(R.nresets, 0);
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */

static void second_session_without_pooling_is_rejected(void) {
  /* Without flow control a connection carries one session at a time (draft
   * §5.2): the second CONNECT is reset, the first goes on. */
  CHECK_EQ(open_session(srv, CTL_WT), 200);
  int64_t second = open_stream(1);
  send_connect(second);
  PUMP_UNTIL(reset_code(second) != NO_RESET || R.closed);
  CHECK_EQ(reset_code(second), H3_REQUEST_REJECTED);
  send_hex(0, "40 54 00 70 69 6e 67", 1); /* a uni stream of session 0: "ping" */
  PUMP_UNTIL(A.stream_fin || R.closed);
  CHECK(A.stream_len == 4 && memcmp(A.stream, "ping", 4) == 0);
  CHECK_EQ(A.ready, 1);
  CHECK_EQ(A.closed, 0);
  CHECK_EQ(reset_code(0), NO_RESET);
  CHECK(!R.closed);
}

/* Opens a session, sends WT_CLOSE_SESSION(7, reason) followed by `then_hex`
 * in the same DATA frame and by `next_frame_hex` in a DATA frame of its own,
 * and returns the code the server reset the CONNECT stream with (NO_RESET:
 * none). Returns after the connection is gone, so A shows every
 * WT_EV_SESSION_CLOSED the server application got. */
static uint64_t close_answer(const char *reason, size_t len, const char *then_hex, const char *next_frame_hex) {
  if (open_session(srv, CTL_WT) != 200) return 0;
  send_close(0, 7, reason, len, then_hex);
  if (next_frame_hex) send_capsules_hex(0, next_frame_hex);
  PUMP_UNTIL(reset_code(0) != NO_RESET || R.closed);
  uint64_t code = reset_code(0);
  PUMP_UNTIL(A.closed);
  raw_free();
  return code;
}

/* Draft §6: a close reason over 1024 bytes, or one that is not UTF-8, is
 * a malformed message (H3_MESSAGE_ERROR). Both fail for now: the session
 * was the connection's last, and the server closes the connection
 * (H3_NO_ERROR) in the same round, before the RESET_STREAM is written. */
static void close_reason_over_1024_bytes(void) {
  static char reason[1025];
  memset(reason, 'a', sizeof(reason));
  uint64_t code = close_answer(reason, sizeof(reason), NULL, NULL);
  CHECK_EQ(A.closed, 1);
  CHECK(A.by_peer);
  CHECK_EQ(A.error, WT_ERR_PROTO);
  CHECK_EQ(code, H3_MESSAGE_ERROR);
}

static void close_reason_that_is_not_utf8(void) {
  uint64_t code = close_answer("ok \xc0\x80", 5, NULL, NULL); /* overlong NUL */
  CHECK_EQ(A.closed, 1);
  CHECK(A.by_peer);
  CHECK_EQ(A.error, WT_ERR_PROTO);
  CHECK_EQ(code, H3_MESSAGE_ERROR);
}

/* Draft §6: nothing may follow the close capsule. The close itself was
 * valid, so the application sees its code and reason. */
static void capsule_after_close_in_the_same_data_frame(void) {
  uint64_t code = close_answer("bye", 3, "80 00 78 ae 00", NULL); /* WT_DRAIN_SESSION */
  CHECK_EQ(A.closed, 1);
  CHECK(A.by_peer);
  CHECK_EQ(A.code, 7);
  CHECK_EQ(A.reason_len, 3);
  CHECK_EQ(code, H3_MESSAGE_ERROR);
}

static void data_frame_after_close(void) {
  /* The close ends the session; the next DATA frame (an empty capsule of
   * the reserved type 0x21) finds it gone. */
  uint64_t code = close_answer("bye", 3, NULL, "21 00");
  CHECK_EQ(A.closed, 1);
  CHECK(A.by_peer);
  CHECK_EQ(A.code, 7);
  CHECK_EQ(code, H3_MESSAGE_ERROR);
}

static void connection_ends_after_a_session_ended_by_a_reset(void) {
  /* The server resets the CONNECT stream after the close capsule (and
   * drops the FIN it had queued); with its only session over, the
   * connection is still closed with H3_NO_ERROR (architecture.md). Fails
   * for now: the dropped FIN stays in unacked_fins, so the connection
   * waits for its idle timeout. */
  CHECK_EQ(open_session(srv, CTL_WT), 200);
  send_close(0, 7, "bye", 3, "80 00 78 ae 00");
  PUMP_UNTIL(reset_code(0) != NO_RESET || R.closed);
  CHECK_EQ(reset_code(0), H3_MESSAGE_ERROR);
  PUMP_UNTIL(R.closed);
  CHECK(strstr(R.detail, "application error 0x100") != NULL);
}

/* RFC 9297 §3.3: a data stream that ends inside a capsule is malformed. */
static void connect_stream_ending_inside_a_capsule(void) {
  CHECK_EQ(open_session(srv, CTL_WT), 200);
  send_capsules_hex(0, "68 43 09 00 00"); /* WT_CLOSE_SESSION announcing 9 bytes, 2 sent */
  write_to(0, NULL, 0, 1);
  PUMP_UNTIL(reset_code(0) != NO_RESET || R.closed);
  CHECK_EQ(reset_code(0), H3_MESSAGE_ERROR);
  PUMP_UNTIL(A.closed);
  CHECK_EQ(A.closed, 1);
  CHECK_EQ(A.error, WT_ERR_PROTO);
}

/* After our FIN on the CONNECT stream: the server application saw a clean
 * close with `code` and a reason of `reason_len` bytes, and the server
 * FINned back without resetting. */
static void expect_orderly_close(uint32_t code, size_t reason_len) {
  PUMP_UNTIL((A.closed && R.rx_fin[0]) || R.nresets || R.closed);
  CHECK_EQ(reset_code(0), NO_RESET);
  CHECK(R.rx_fin[0]);
  CHECK_EQ(A.closed, 1);
  CHECK_EQ(A.code, code);
  CHECK_EQ(A.reason_len, reason_len);
  CHECK_EQ(A.error, 0);
}

/* RFC 9297 §3.2: unknown capsule types (here GREASE 0x17 and 0x29*3+0x17)
 * are skipped, also right before and in the same DATA frame as the close
 * capsule (the parser bug the issue cites from another stack). */
static void grease_capsules_before_the_close(void) {
  CHECK_EQ(open_session(srv, CTL_WT), 200);
  send_capsules_hex(0, "17 02 aa bb");
  send_capsules_hex(0, "40 92 00 68 43 07 00 00 00 09 62 79 65"); /* GREASE, then close(9, "bye") */
  write_to(0, NULL, 0, 1);
  expect_orderly_close(9, 3);
}

/* Draft §3.1: a WebTransport CONNECT from a client whose SETTINGS enabled
 * no generation we offer is malformed. */
static void connect_without_webtransport_settings(void) {
  CHECK_EQ(open_session(srv, CTL_PLAIN), 0);
  PUMP_UNTIL(reset_code(0) != NO_RESET || R.closed);
  CHECK_EQ(reset_code(0), H3_MESSAGE_ERROR);
  CHECK(!R.closed);
  CHECK_EQ(A.ready, 0);
}

static void close_reason_of_1024_bytes_is_accepted(void) {
  /* The bound itself is fine: an orderly close, answered with a FIN. */
  static char reason[1024];
  memset(reason, 'a', sizeof(reason));
  CHECK_EQ(open_session(srv, CTL_WT), 200);
  send_close(0, 7, reason, sizeof(reason), NULL);
  write_to(0, NULL, 0, 1);
  expect_orderly_close(7, 1024);
}

static void fin_without_capsule_closes_with_code_0(void) {
  /* Draft §6: a clean FIN means close(0, ""); the server FINs back. */
  CHECK_EQ(open_session(srv, CTL_WT), 200);
  write_to(0, NULL, 0, 1);
  expect_orderly_close(0, 0);
  CHECK(A.by_peer);
}

static void decreasing_wt_max_data_is_a_flow_control_error(void) {
  /* Our SETTINGS let the server send 1000 bytes; WT_MAX_DATA 2000 raises
   * that, 1500 then lowers it. flow.c resets the CONNECT stream with
   * WT_FLOW_CONTROL_ERROR; no close capsule goes out. */
  CHECK_EQ(open_session(srv_pool, CTL_WT_FLOW), 200);
  send_capsules_hex(0, "990b4d3d 02 47d0");
  pump_ms(20);
  CHECK_EQ(R.nresets, 0);
  send_capsules_hex(0, "990b4d3d 02 45dc");
  PUMP_UNTIL(reset_code(0) != NO_RESET || R.closed);
  CHECK_EQ(reset_code(0), WT_FLOW_CONTROL_ERROR);
  CHECK_EQ(logged("exceeded our WebTransport flow-control limits (WT_MAX_DATA did not increase)",
                  "reset with WT_FLOW_CONTROL_ERROR"),
           1);
  CHECK_EQ(frames_received(0, H3_FRAME_DATA, NULL, NULL), 0);
  PUMP_UNTIL(A.closed);
  CHECK(!R.closed); /* the connection stays for other sessions */
  raw_free();
  CHECK_EQ(A.closed, 1);
  CHECK(!A.by_peer);
  CHECK_EQ(A.error, WT_ERR_PROTO);
}

/* ------------------------------------------------------------------------ */
/* Early arrivals (draft §4.6)                                              */

static void stream_and_datagram_before_connect_are_delivered(void) {
  raw_connect(srv);
  R.uni_hex = CTL_WT;
  PUMP_UNTIL(R.sent || R.closed);
  int64_t connect_sid = open_stream(1); /* stream 0, written later */
  send_dgram_hex("00 64 67");           /* session 0: "dg" */
  int64_t uni = send_hex(0, "40 54 00 65 61 72 6c 79", 1);
  /* The datagram leaves before (or with) the stream data: once the FIN is
   * acknowledged, the server holds both. */
  PUMP_UNTIL(R.fin_acked[uni] || R.closed);
  CHECK(R.fin_acked[uni]);
  CHECK_EQ(A.ready, 0); /* held, not delivered, until the CONNECT */
  CHECK_EQ(A.dgrams, 0);
  CHECK_EQ(A.stream_len, 0);
  send_connect(connect_sid);
  PUMP_UNTIL((A.stream_fin && A.dgrams) || R.closed);
  CHECK_EQ(A.ready, 1);
  CHECK(A.stream_len == 5 && memcmp(A.stream, "early", 5) == 0);
  CHECK_EQ(A.dgrams, 1);
  CHECK(A.dgram_len == 2 && memcmp(A.dgram, "dg", 2) == 0);
}

static void early_bidi_stream_beyond_the_bound_is_rejected(void) {
  /* srv holds at most 2 early streams; the third is refused. */
  raw_connect(srv);
  R.uni_hex = CTL_WT;
  PUMP_UNTIL(R.sent || R.closed);
  open_stream(1); /* stream 0 stays the (absent) CONNECT stream */
  uint64_t refused = streams_refused(srv);
  int64_t u1 = send_hex(0, "40 54 00 61", 1), u2 = send_hex(0, "40 54 00 62", 1);
  PUMP_UNTIL((R.fin_acked[u1] && R.fin_acked[u2]) || R.closed);
  CHECK(R.fin_acked[u1] && R.fin_acked[u2]);
  CHECK_EQ(R.nresets, 0);
  int64_t bidi = send_hex(1, "40 41 00 63", 0);
  PUMP_UNTIL(R.nresets || R.closed);
  CHECK_EQ(reset_code(bidi), WT_BUFFERED_STREAM_REJECTED);
  CHECK_EQ(R.nresets, 1);
  CHECK_EQ(streams_refused(srv) - refused, 1);
  CHECK(!R.closed);
}

static void stream_while_connect_waits_for_settings_is_buffered(void) {
  /* A CONNECT may arrive before the client's SETTINGS; the server holds it
   * (draft §3.1). A stream for that session arriving meanwhile is early,
   * not for a gone session: it must wait and be delivered. */
  raw_connect(srv);
  R.no_control = 1;
  PUMP_UNTIL(R.sent || R.closed);
  send_connect(open_stream(1));
  pump_ms(20);                                           /* a loopback round trip is one pump: the request now waits */
  int64_t bidi = send_hex(1, "40 41 00 77 61 69 74", 1); /* "wait" */
  pump_ms(20);
  send_hex(0, CTL_WT, 0);
  PUMP_UNTIL(A.stream_fin || R.nresets || R.closed);
  CHECK_EQ(reset_code(bidi), NO_RESET);
  CHECK_EQ(A.ready, 1);
  CHECK(A.stream_len == 4 && memcmp(A.stream, "wait", 4) == 0);
}

int main(void) {
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.port = 0;
  c.on_request = srv_request;
  c.on_event = app_event;
  c.log_level = WT_LOG_INFO;
  c.log_cb = keep_log;
  c.max_buffered_streams = 2; /* small, so the bound is cheap to reach */
  if (wt_transport_new(&c, &srv)) return 1;
  c.pooling = 1;
  if (wt_transport_new(&c, &srv_pool)) return 1;
  RUN(control_stream_must_start_with_settings);
  RUN(invalid_settings_value);
  RUN(second_settings_frame);
  RUN(reserved_http2_frame_on_control);
  RUN(data_before_headers_on_a_request);
  RUN(dynamic_table_reference);
  RUN(session_id_that_is_not_a_client_bidi_stream);
  RUN(wt_signal_inside_a_request);
  RUN(malformed_request_is_a_stream_error);
  RUN(datagram_without_a_quarter_stream_id);
  RUN(plain_get_is_answered_405);
  RUN(connect_without_webtransport_settings_is_explained);
  RUN(wrong_protocol_is_explained);
  RUN(wrong_frames_on_the_control_stream);
  RUN(wrong_frames_on_a_request_stream);
  RUN(control_stream_frame_errors);
  RUN(closed_critical_streams);
  RUN(stream_creation_errors);
  RUN(qpack_instruction_stream_errors);
  RUN(qpack_decompression_failures);
  RUN(malformed_requests);
  RUN(content_length_mismatch);
  RUN(frames_after_trailers);
  RUN(incomplete_requests);
  RUN(oversized_field_section);
  RUN(quarter_stream_id_beyond_2_60);
  RUN(h3_datagram_without_quic_datagrams);
  RUN(uni_stream_session_id_that_is_not_a_client_bidi_stream);
  RUN(wt_signal_anywhere_else);
  RUN(unknown_types_are_ignored);
  RUN(second_session_without_pooling_is_rejected);
  RUN(close_reason_over_1024_bytes);
  RUN(close_reason_that_is_not_utf8);
  RUN(capsule_after_close_in_the_same_data_frame);
  RUN(data_frame_after_close);
  RUN(connection_ends_after_a_session_ended_by_a_reset);
  RUN(connect_stream_ending_inside_a_capsule);
  RUN(connect_without_webtransport_settings);
  RUN(grease_capsules_before_the_close);
  RUN(close_reason_of_1024_bytes_is_accepted);
  RUN(fin_without_capsule_closes_with_code_0);
  RUN(decreasing_wt_max_data_is_a_flow_control_error);
  RUN(stream_and_datagram_before_connect_are_delivered);
  RUN(early_bidi_stream_beyond_the_bound_is_rejected);
  RUN(stream_while_connect_waits_for_settings_is_buffered);
  raw_free();
  wt_transport_free(srv);
  wt_transport_free(srv_pool);
  return TEST_REPORT();
}
