/*
 * test_wire.c: protocol violations on the wire. A raw QUIC client, built
 * from our QUIC layer alone (no HTTP/3 above it), connects to a real
 * server transport over 127.0.0.1 and sends hand-made HTTP/3 bytes; the test
 * checks the CONNECTION_CLOSE error code the server answers with, or the
 * stream reset code. This is what a peer actually sees, end to end through
 * ngtcp2, for the violations the unit tests cover with a fake.
 */
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "h3/codes.h"
#include "h3/frame.h"
#include "h3/qpack.h"
#include "quic/endpoint.h"
#include "quic/udp.h"
#include "test.h"

static wt_transport *srv;

typedef struct raw {
  wt_udp udp;
  wt_endpoint *ep;
  wt_qconn *q;
  wt_logger log;
  /* what to send once the handshake allows it */
  const char *uni_hex;  /* bytes on a new uni stream */
  const char *bidi_hex; /* bytes on a new bidi stream */
  const char *dgram_hex;
  wt_buf bidi_raw; /* used instead of bidi_hex when not empty */
  int sent;
  /* what came back */
  int closed;
  char detail[512];
  int64_t reset_sid;
  uint64_t reset_code;
  int got_reset;
} raw;

static raw R;
static int closed_by_server; /* R.closed as it was before our own teardown */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void send_hex(int bidi, const char *hex) {
  uint8_t buf[512];
  size_t n = test_unhex(hex, buf);
  int64_t sid;
  if (wt_qconn_open_stream(R.q, bidi, &sid) == 0) wt_qconn_stream_write(R.q, sid, buf, n, 0, SIZE_MAX);
}

/* Our own control stream first, so only the bytes under test are wrong. */
static void on_ready(void *app) {
  if (R.uni_hex)
    send_hex(0, R.uni_hex);
  else
    send_hex(0, "00 04 02 33 01");
  if (R.bidi_hex) send_hex(1, R.bidi_hex);
  int64_t sid;
  if (R.bidi_raw.len && wt_qconn_open_stream(R.q, 1, &sid) == 0)
    wt_qconn_stream_write(R.q, sid, R.bidi_raw.data, R.bidi_raw.len, 0, SIZE_MAX);
  if (R.dgram_hex) {
    uint8_t buf[64];
    size_t n = test_unhex(R.dgram_hex, buf);
    wt_qconn_send_datagram(R.q, buf, n, NULL, 0, 0);
  }
  R.sent = 1;
}
static void on_data(void *app, int64_t sid, const uint8_t *d, size_t n, int fin) {
  wt_qconn_stream_consumed(R.q, sid, n);
}
static void on_reset(void *app, int64_t sid, uint64_t code, uint64_t final_size) {
  R.got_reset = 1;
  R.reset_sid = sid;
  R.reset_code = code;
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
                                         .on_stream_acked = on_sid0,
                                         .on_stream_closed = on_sid0,
                                         .on_datagram = on_dgram,
                                         .on_stream_credit = on_credit,
                                         .on_closed = on_closed,
                                         .on_freed = on_freed};

static void send_batch(void *ctx, const uint8_t *buf, const wt_txpkt *pkts, size_t n) {
  wt_udp_send(&R.udp, buf, pkts, n);
}
static int no_accept(void *ctx, wt_qconn *q) { return -1; }

static int srv_request(wt_request *r, void *ud) { return 200; }

static void raw_connect(void) {
  wt_buf keep = R.bidi_raw;
  memset(&R, 0, sizeof(R));
  R.bidi_raw = keep;
  R.log.level = WT_LOG_ERROR;
  if (wt_udp_open(&R.udp, "127.0.0.1", 0, 0, &R.log)) abort();
  wt_endpoint_config ec = {.cid_len = 16,
                           .idle_timeout_ms = 5000,
                           .stream_window = 65536,
                           .conn_window = 1 << 20,
                           .max_streams_bidi = 10,
                           .max_streams_uni = 10,
                           .datagram_send_queue = 8, .datagram_send_queue_bytes = 65536,
                           .log = &R.log,
                           .send_batch = send_batch,
                           .on_accept = no_accept};
  if (wt_endpoint_new(&ec, &R.ep)) abort();
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(wt_transport_port(srv))};
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

static void raw_free(void) {
  wt_endpoint_free(R.ep, now_ns());
  wt_udp_close(&R.udp);
  wt_buf_free(&R.bidi_raw);
}

/* Drives server and raw client until the server closed the connection or
 * reset a stream, or two seconds passed. */
static void run(void) {
  uint64_t end = now_ns() + 2000000000ULL;
  while (now_ns() < end && !R.closed && !R.got_reset) {
    wt_transport_process(srv);
    int n = wt_udp_recv(&R.udp);
    for (int i = 0; i < n; i++) {
      wt_rxpkt *p = &R.udp.rx[i];
      wt_endpoint_on_packet(R.ep, (struct sockaddr *)&p->to, p->tolen, (struct sockaddr *)&p->from, p->fromlen, p->data,
                            p->len, now_ns());
    }
    wt_endpoint_on_timers(R.ep, now_ns());
    wt_endpoint_write(R.ep, now_ns());
    usleep(1000);
  }
}

/* Runs one case and returns the HTTP/3 code the server closed with (or
 * reset the stream with, when `reset` is set). */
static uint64_t server_answer(const char *uni, const char *bidi, const char *dgram) {
  raw_connect();
  R.uni_hex = uni;
  R.bidi_hex = bidi;
  R.dgram_hex = dgram;
  run();
  uint64_t code = 0;
  const char *p = strstr(R.detail, "application error 0x");
  if (p)
    code = strtoull(p + 20, NULL, 16);
  else if (R.got_reset)
    code = R.reset_code;
  closed_by_server = R.closed;
  raw_free();
  return code;
}

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
  wt_buf block;
  wt_buf_init(&block);
  wt_buf_init(&R.bidi_raw);
  wt_qpack_encode(&block, f, 5);
  wt_frame_write(&R.bidi_raw, 0x01, block.data, block.len);
  wt_buf_append(&R.bidi_raw, "\x40\x41\x00", 3);
  wt_buf_free(&block);
  CHECK_EQ(server_answer(NULL, NULL, NULL), H3_FRAME_ERROR);
}

static void malformed_request_is_a_stream_error(void) {
  /* :method GET only: missing :scheme and :path -> reset H3_MESSAGE_ERROR,
   * the connection stays up. */
  CHECK_EQ(server_answer(NULL, "01 03 00 00 d1", NULL), H3_MESSAGE_ERROR);
  CHECK(!closed_by_server);
}

static void datagram_without_a_quarter_stream_id(void) { CHECK_EQ(server_answer(NULL, NULL, "40"), H3_DATAGRAM_ERROR); }

int main(void) {
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.port = 0;
  c.on_request = srv_request;
  c.log_level = WT_LOG_ERROR;
  if (wt_transport_new(&c, &srv)) return 1;
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
  wt_transport_free(srv);
  return TEST_REPORT();
}
