/*
 * test_h3conn.c: the HTTP/3 connection state machine (src/h3/h3conn.c),
 * sans-I/O: bytes are fed per stream and everything the connection does is
 * recorded by a fake wt_h3_io. Each protocol violation we detect has a
 * case here that sends the offending bytes and checks the exact error code
 * (connection close, or stream reset/STOP_SENDING).
 */
#include "h3/codes.h"
#include "h3/h3conn.h"
#include "h3/varint.h"
#include "test.h"

#define MAXS 64

typedef struct rec {
  int closed;
  uint64_t close_code;
  int64_t reset_sid[MAXS], stop_sid[MAXS];
  uint64_t reset_code[MAXS], stop_code[MAXS], reset_reliable[MAXS];
  int nresets, nstops;
  int64_t next_uni, next_bidi;
  wt_buf out[MAXS]; /* by stream ID / 4 ... kept simple: index sid % MAXS */
  /* handler */
  int settings_calls, headers_calls, request_end_calls, request_end_reset, wt_streams, datagrams, goaways;
  uint64_t goaway_id, wt_session_id, dgram_session, request_end_code;
  int wt_bidi;
  char path[64];
  int status;
  size_t data_len, wt_data_len;
  int refuse_wt;
} rec;

static rec R;
static wt_h3conn *C;

/* ---- fake I/O ---- */
static int io_open(void *ctx, int bidi, int64_t *sid) {
  *sid = bidi ? R.next_bidi : R.next_uni;
  if (bidi)
    R.next_bidi += 4;
  else
    R.next_uni += 4;
  return 0;
}
static ssize_t io_write(void *ctx, int64_t sid, const uint8_t *d, size_t n, int fin, size_t limit) {
  wt_buf_append(&R.out[sid % MAXS], d, n);
  return (ssize_t)n;
}
static int io_reset(void *ctx, int64_t sid, uint64_t code, uint64_t reliable) {
  R.reset_reliable[R.nresets] = reliable;
  R.reset_sid[R.nresets] = sid;
  R.reset_code[R.nresets++] = code;
  return 0;
}
static int io_stop(void *ctx, int64_t sid, uint64_t code) {
  R.stop_sid[R.nstops] = sid;
  R.stop_code[R.nstops++] = code;
  return 0;
}
static void io_consumed(void *ctx, int64_t sid, size_t n) {}
static int io_dgram(void *ctx, const uint8_t *h, size_t hl, const uint8_t *d, size_t n, uint64_t tag) { return 0; }
static void io_close(void *ctx, uint64_t code, const char *reason) {
  R.closed = 1;
  R.close_code = code;
}

/* ---- fake handler ---- */
static void h_settings(void *ctx) { R.settings_calls++; }
static void h_goaway(void *ctx, uint64_t id) {
  R.goaways++;
  R.goaway_id = id;
}
static void h_headers(void *ctx, int64_t sid, wt_h3_headers *h) {
  R.headers_calls++;
  if (h->path) snprintf(R.path, sizeof(R.path), "%s", h->path);
  R.status = h->status;
}
static size_t h_data(void *ctx, int64_t sid, const uint8_t *d, size_t n) {
  R.data_len += n;
  return 0;
}
static void h_req_end(void *ctx, int64_t sid, int reset, uint64_t code) {
  R.request_end_calls++;
  R.request_end_reset = reset;
  R.request_end_code = code;
}
static void h_req_stop(void *ctx, int64_t sid, uint64_t code) {}
static void *h_wt_stream(void *ctx, int64_t sid, uint64_t session_id, int bidi) {
  R.wt_streams++;
  R.wt_session_id = session_id;
  R.wt_bidi = bidi;
  return R.refuse_wt ? NULL : &R;
}
static void h_wt_data(void *ctx, void *up, const uint8_t *d, size_t n, int fin) { R.wt_data_len += n; }
static void h_wt_reset(void *ctx, void *up, uint64_t code, uint64_t final_payload) {}
static void h_wt_stop(void *ctx, void *up, uint64_t code) {}
static void h_wt_void(void *ctx, void *up) {}
static void h_dgram(void *ctx, uint64_t session_id, const uint8_t *d, size_t n) {
  R.datagrams++;
  R.dgram_session = session_id;
}
static void h_credit(void *ctx, int bidi) {}

static size_t io_reserve(void *ctx, int64_t sid, size_t want, size_t limit) { return want; }

static const wt_h3_io IO = {NULL, io_open, io_write, io_reset, io_stop, io_consumed, io_dgram, io_close, io_reserve, NULL};
static void h_req_writable(void *ctx, int64_t sid) {}

static const wt_h3_handler H = {.on_settings = h_settings,
                                .on_goaway = h_goaway,
                                .on_headers = h_headers,
                                .on_data = h_data,
                                .on_request_end = h_req_end,
                                .on_request_stop = h_req_stop,
                                .on_request_writable = h_req_writable,
                                .on_wt_stream = h_wt_stream,
                                .on_wt_data = h_wt_data,
                                .on_wt_reset = h_wt_reset,
                                .on_wt_stop = h_wt_stop,
                                .on_wt_writable = h_wt_void,
                                .on_wt_acked = h_wt_void,
                                .on_wt_closed = h_wt_void,
                                .on_datagram = h_dgram,
                                .on_stream_credit = h_credit};

static void setup(int is_server) {
  for (int i = 0; i < MAXS; i++)
    wt_buf_free(&R.out[i]);
  memset(&R, 0, sizeof(R));
  R.next_uni = is_server ? 3 : 2;
  R.next_bidi = is_server ? 1 : 0;
  wt_setting st[] = {{0x08, 1}, {0x33, 1}, {0x2c7cf000, 1}};
  wt_h3conn_config cfg = {is_server, st, 3, 1024, 42};
  if (C) wt_h3conn_free(C);
  C = NULL;
  wt_h3conn_new(&cfg, &IO, &H, NULL, &C);
}

static void feed_hex(int64_t sid, const char *hex, int fin) {
  uint8_t buf[2048];
  size_t n = test_unhex(hex, buf);
  wt_h3conn_on_stream_data(C, sid, buf, n, fin);
}

/* A client's control stream (ID 2) with valid SETTINGS, for a server. */
static void peer_control_ok(void) { feed_hex(2, "00 04 04 33 01 08 01", 0); }

/* HEADERS frame for the given fields appended to `out`. */
static void headers_frame(wt_buf *out, const char *const *kv) {
  wt_qpack_field f[16];
  size_t n = 0;
  for (; kv[0]; kv += 2, n++)
    f[n] = (wt_qpack_field){kv[0], strlen(kv[0]), kv[1], strlen(kv[1])};
  wt_buf block;
  wt_buf_init(&block);
  wt_qpack_encode(&block, f, n);
  uint8_t hdr[16], *p = wt_varint_write(hdr, 0x01);
  p = wt_varint_write(p, block.len);
  wt_buf_append(out, hdr, (size_t)(p - hdr));
  wt_buf_append(out, block.data, block.len);
  wt_buf_free(&block);
}

static const char *const WT_CONNECT[] = {":method",    "CONNECT",   ":protocol", "webtransport", ":scheme", "https",
                                         ":authority", "localhost", ":path",     "/echo",        NULL};

static void feed_buf(int64_t sid, const wt_buf *b, int fin) { wt_h3conn_on_stream_data(C, sid, b->data, b->len, fin); }

#define EXPECT_CLOSE(code)                                                                                             \
  do {                                                                                                                 \
    CHECK(R.closed);                                                                                                   \
    CHECK_EQ(R.close_code, (code));                                                                                    \
  } while (0)

/* ------------------------------------------------------------------------ */

static void start_sends_settings_and_opens_qpack_streams(void) {
  setup(1);
  CHECK_EQ(wt_h3conn_start(C), 0);
  /* control stream 3: type 0x00 then SETTINGS; encoder 7: 0x02; decoder 11: 0x03 */
  CHECK_EQ(R.out[3].data[0], 0x00);
  CHECK_EQ(R.out[3].data[1], 0x04);
  CHECK_EQ(R.out[7].len, 1);
  CHECK_EQ(R.out[7].data[0], 0x02);
  CHECK_EQ(R.out[11].data[0], 0x03);
  CHECK(!R.closed);
}

static void accepts_settings_grease_and_unknown_frames(void) {
  setup(1);
  /* SETTINGS, then an unknown frame 0x21 with payload, then GOAWAY 0 */
  feed_hex(2, "00 04 06 33 01 08 01 21 00 40 21 03 aa bb cc 07 01 00", 0);
  CHECK(!R.closed);
  CHECK_EQ(R.settings_calls, 1);
  CHECK_EQ(R.goaways, 1);
  CHECK_EQ(wt_h3conn_peer_settings(C)->h3_datagram, 1);
}

static void control_stream_errors(void) {
  setup(1);
  feed_hex(2, "00 07 01 00", 0); /* GOAWAY first */
  EXPECT_CLOSE(H3_MISSING_SETTINGS);
  setup(1);
  feed_hex(2, "00 04 00 04 00", 0); /* second SETTINGS */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  peer_control_ok();
  feed_hex(2, "00 01 00", 0); /* DATA on control */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  peer_control_ok();
  feed_hex(2, "01 00", 0); /* HEADERS on control */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  peer_control_ok();
  feed_hex(2, "02 00", 0); /* reserved HTTP/2 PRIORITY */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  peer_control_ok();
  feed_hex(2, "", 1); /* FIN on control */
  EXPECT_CLOSE(H3_CLOSED_CRITICAL_STREAM);
  setup(1);
  peer_control_ok();
  wt_h3conn_on_stream_reset(C, 2, 0, 0);
  EXPECT_CLOSE(H3_CLOSED_CRITICAL_STREAM);
  setup(1);
  peer_control_ok();
  feed_hex(6, "00 04 00", 0); /* a second control stream */
  EXPECT_CLOSE(H3_STREAM_CREATION_ERROR);
  setup(1);
  feed_hex(2, "00 04 02 33 02", 0); /* invalid value */
  EXPECT_CLOSE(H3_SETTINGS_ERROR);
  setup(1);
  feed_hex(2, "00 04 02 02 00", 0); /* reserved setting */
  EXPECT_CLOSE(H3_SETTINGS_ERROR);
  setup(1);
  feed_hex(2, "00 04 01 33", 0); /* truncated setting */
  EXPECT_CLOSE(H3_FRAME_ERROR);
  setup(1);
  peer_control_ok();
  feed_hex(2, "07 02 00 00", 0); /* GOAWAY payload longer than its varint */
  EXPECT_CLOSE(H3_FRAME_ERROR);
  setup(1);
  peer_control_ok();
  feed_hex(2, "03 01 00", 0); /* CANCEL_PUSH for a push that never existed */
  EXPECT_CLOSE(H3_ID_ERROR);
  setup(1);
  peer_control_ok();
  feed_hex(2, "0d 01 05 0d 01 04", 0); /* MAX_PUSH_ID decreasing */
  EXPECT_CLOSE(H3_ID_ERROR);
  setup(1);
  peer_control_ok();
  feed_hex(2, "40 41 00", 0); /* WT_STREAM signal as a control frame */
  EXPECT_CLOSE(H3_FRAME_ERROR);
  setup(1);
  feed_hex(2, "00 04 50 01", 0); /* SETTINGS over our bound of 4096 bytes */
  EXPECT_CLOSE(H3_EXCESSIVE_LOAD);
  setup(1);
  feed_hex(2, "00 04 4400", 0); /* SETTINGS frame over our bound (1024 bytes) is fine, 4 KiB is not */
  CHECK(!R.closed);
}

static void client_side_control_errors(void) {
  setup(0);
  feed_hex(3, "00 04 00 0d 01 00", 0); /* MAX_PUSH_ID sent by a server */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(0);
  feed_hex(3, "00 04 00 07 01 02", 0); /* GOAWAY naming a non-request stream */
  EXPECT_CLOSE(H3_ID_ERROR);
  setup(0);
  feed_hex(3, "00 04 00 07 01 08 07 01 0c", 0); /* GOAWAY ID increasing */
  EXPECT_CLOSE(H3_ID_ERROR);
  setup(0);
  feed_hex(3, "00 04 02 ac7cf000 02", 0); /* frame too short for its setting */
  EXPECT_CLOSE(H3_FRAME_ERROR);
  setup(0);
  feed_hex(3, "00 04 05 ac7cf000 02", 0); /* WT_ENABLED=2 from a server (draft-16) */
  EXPECT_CLOSE(H3_SETTINGS_ERROR);
  setup(0);
  feed_hex(3, "01", 0); /* push stream type without MAX_PUSH_ID */
  EXPECT_CLOSE(H3_ID_ERROR);
  setup(0);
  feed_hex(1, "00 00", 0); /* server-initiated bidi that is not WebTransport */
  EXPECT_CLOSE(H3_STREAM_CREATION_ERROR);
}

static void uni_stream_types(void) {
  setup(1);
  feed_hex(2, "01 00", 0); /* push stream from a client */
  EXPECT_CLOSE(H3_STREAM_CREATION_ERROR);
  setup(1);
  feed_hex(2, "40 21 aa bb", 0); /* reserved type: ignored, reading stopped */
  CHECK(!R.closed);
  CHECK_EQ(R.nstops, 1);
  CHECK_EQ(R.stop_code[0], H3_STREAM_CREATION_ERROR);
  setup(1);
  feed_hex(2, "02 20", 0); /* encoder stream: Set Dynamic Table Capacity 0 is fine */
  feed_hex(6, "03 41", 0); /* decoder stream: Stream Cancellation is fine */
  CHECK(!R.closed);
  feed_hex(2, "c0", 0); /* Insert With Name Reference */
  EXPECT_CLOSE(QPACK_ENCODER_STREAM_ERROR);
  setup(1);
  feed_hex(6, "03 80", 0); /* Section Acknowledgment for nothing we sent */
  EXPECT_CLOSE(QPACK_DECODER_STREAM_ERROR);
  setup(1);
  feed_hex(6, "02", 0);
  feed_hex(10, "02", 0); /* second encoder stream */
  EXPECT_CLOSE(H3_STREAM_CREATION_ERROR);
  setup(1);
  feed_hex(2, "02", 1); /* encoder stream closed */
  EXPECT_CLOSE(H3_CLOSED_CRITICAL_STREAM);
}

static void webtransport_streams_and_datagrams(void) {
  setup(1);
  feed_hex(2, "40 54 00 68 69", 0); /* uni WT stream for session 0, "hi" */
  CHECK(!R.closed);
  CHECK_EQ(R.wt_streams, 1);
  CHECK_EQ(R.wt_session_id, 0);
  CHECK_EQ(R.wt_bidi, 0);
  CHECK_EQ(R.wt_data_len, 2);
  feed_hex(4, "40 41 00 6f 6b", 0); /* bidi WT stream */
  CHECK_EQ(R.wt_streams, 2);
  CHECK_EQ(R.wt_bidi, 1);
  CHECK_EQ(R.wt_data_len, 4);
  setup(1);
  feed_hex(6, "40 54 05", 0); /* session ID 5 is not a client bidi stream */
  EXPECT_CLOSE(H3_ID_ERROR);
  setup(1);
  R.refuse_wt = 1;
  feed_hex(2, "40 54 00 aa", 0);
  feed_hex(2, "bb cc", 1); /* later data of a refused stream is dropped quietly */
  CHECK(!R.closed);
  CHECK_EQ(R.wt_data_len, 0);
  setup(1);
  const uint8_t dg[] = {0x01, 'x'};
  wt_h3conn_on_datagram(C, dg, 2);
  CHECK_EQ(R.datagrams, 1);
  CHECK_EQ(R.dgram_session, 4);
  wt_h3conn_on_datagram(C, dg, 0); /* no quarter stream ID */
  EXPECT_CLOSE(H3_DATAGRAM_ERROR);
  setup(1);
  const uint8_t big_qsid[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  wt_h3conn_on_datagram(C, big_qsid, 8); /* quarter ID beyond 2^60-1 */
  EXPECT_CLOSE(H3_DATAGRAM_ERROR);
  setup(1);
  const uint8_t trunc[] = {0x40};
  wt_h3conn_on_datagram(C, trunc, 1);
  EXPECT_CLOSE(H3_DATAGRAM_ERROR);
}

static void request_streams(void) {
  wt_buf b;
  wt_buf_init(&b);
  setup(1);
  headers_frame(&b, WT_CONNECT);
  feed_buf(0, &b, 0);
  CHECK_EQ(R.headers_calls, 1);
  CHECK(strcmp(R.path, "/echo") == 0);
  feed_hex(0, "00 03 61 62 63 21 01 ff", 0); /* DATA, then an unknown frame */
  CHECK_EQ(R.data_len, 3);
  feed_hex(0, "", 1);
  CHECK_EQ(R.request_end_calls, 1);
  CHECK_EQ(R.request_end_reset, 0);
  CHECK(!R.closed);

  setup(1); /* split at every byte */
  for (size_t i = 0; i < b.len; i++)
    wt_h3conn_on_stream_data(C, 0, b.data + i, 1, 0);
  CHECK_EQ(R.headers_calls, 1);

  setup(1);
  feed_hex(0, "00 01 61", 0); /* DATA before HEADERS */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  feed_buf(0, &b, 0);
  feed_hex(0, "04 00", 0); /* SETTINGS on a request stream */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  feed_buf(0, &b, 0);
  feed_hex(0, "07 01 00", 0); /* GOAWAY on a request stream */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  feed_buf(0, &b, 0);
  feed_hex(0, "40 41 00", 0); /* WT_STREAM signal in the middle */
  EXPECT_CLOSE(H3_FRAME_ERROR);
  setup(1);
  feed_buf(0, &b, 0);
  feed_hex(0, "00 05 61", 1); /* FIN inside a DATA frame */
  EXPECT_CLOSE(H3_FRAME_ERROR);
  setup(1);
  feed_hex(0, "05 00", 0); /* PUSH_PROMISE from a client */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  feed_hex(0, "09 00", 0); /* reserved HTTP/2 CONTINUATION */
  EXPECT_CLOSE(H3_FRAME_UNEXPECTED);
  setup(1);
  feed_hex(0, "01 03 00 00 81", 0); /* dynamic-table reference */
  EXPECT_CLOSE(QPACK_DECOMPRESSION_FAILED);
  setup(1);
  feed_hex(0, "01 02 01 00", 0); /* Required Insert Count 1 */
  EXPECT_CLOSE(QPACK_DECOMPRESSION_FAILED);
  setup(1);
  feed_hex(0, "", 1); /* empty request stream */
  CHECK(!R.closed);
  CHECK_EQ(R.nresets, 1);
  CHECK_EQ(R.reset_code[0], H3_REQUEST_INCOMPLETE);
  wt_buf_free(&b);
}

/* RFC 9114 §4.1.2: DATA that does not add up to content-length (more, or
 * fewer by the FIN) is a malformed request: H3_MESSAGE_ERROR on the
 * stream, the request reported ended by reset. A matching body is fine. */
static void content_length_mismatch_is_message_error(void) {
  static const char *const req[] = {":method", "POST", ":scheme", "https", ":authority", "a", ":path", "/",
                                    "content-length", "3", NULL};
  /* short by the FIN, one byte more, exact, one more across two frames */
  static const char *const data[] = {"00 02 6162", "00 04 61626364", "00 03 616263", "00 02 6162 00 02 6364"};
  static const int fin[] = {1, 0, 1, 0};
  static const int ok[] = {0, 0, 1, 0};
  for (size_t i = 0; i < 4; i++) {
    wt_buf b;
    wt_buf_init(&b);
    headers_frame(&b, req);
    setup(1);
    feed_buf(0, &b, 0);
    wt_buf_free(&b);
    feed_hex(0, data[i], fin[i]);
    CHECK(!R.closed);
    CHECK_EQ(R.headers_calls, 1);
    if (ok[i]) {
      CHECK_EQ(R.nresets, 0);
      CHECK_EQ(R.data_len, 3);
      CHECK_EQ(R.request_end_reset, 0);
    } else {
      CHECK_EQ(R.nresets, 1);
      CHECK_EQ(R.reset_code[0], H3_MESSAGE_ERROR);
      CHECK_EQ(R.request_end_reset, 1);
    }
  }
}

static void malformed_requests_are_stream_errors(void) {
  static const char *const cases[][12] = {
      {":method", "CONNECT", ":protocol", "webtransport", ":scheme", "https", ":path", "/", NULL},
      {":method", "CONNECT", ":protocol", "webtransport", ":scheme", "https", ":authority", "a", ":path", "/", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", "Upper", "x", NULL},
  };
  int expect_ok[] = {0, 1, 0};
  for (size_t i = 0; i < 3; i++) {
    wt_buf b;
    wt_buf_init(&b);
    headers_frame(&b, cases[i]);
    setup(1);
    feed_buf(0, &b, 0);
    wt_buf_free(&b);
    CHECK(!R.closed);
    if (expect_ok[i]) {
      CHECK_EQ(R.headers_calls, 1);
      continue;
    }
    CHECK_EQ(R.headers_calls, 0);
    CHECK_EQ(R.nresets, 1);
    CHECK_EQ(R.reset_code[0], H3_MESSAGE_ERROR);
    CHECK_EQ(R.stop_code[0], H3_MESSAGE_ERROR);
  }
}

static void oversized_headers_are_refused_with_excessive_load(void) {
  setup(1);
  feed_hex(0, "01 48 00", 0); /* HEADERS of 2048 bytes; our limit is 1024 */
  CHECK(!R.closed);
  CHECK_EQ(R.nresets, 1);
  CHECK_EQ(R.reset_code[0], H3_EXCESSIVE_LOAD);
  /* A section that is small on the wire but large once decoded. */
  setup(1);
  wt_buf b;
  wt_buf_init(&b);
  char big[700];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  const char *const kv[] = {":method", "GET", ":scheme", "https", ":path", "/", "x", big, "y", big, NULL};
  headers_frame(&b, kv);
  CHECK(b.len < 1024); /* Huffman makes it fit on the wire */
  feed_buf(0, &b, 0);
  wt_buf_free(&b);
  CHECK_EQ(R.nresets, 1);
  CHECK_EQ(R.reset_code[0], H3_EXCESSIVE_LOAD);
}

static void client_reads_responses(void) {
  setup(0);
  static const wt_qpack_field req[] = {{":method", 7, "CONNECT", 7}};
  int64_t sid;
  CHECK_EQ(wt_h3conn_send_request(C, req, 1, 0, &sid), 0);
  CHECK_EQ(sid, 0);
  wt_buf b;
  wt_buf_init(&b);
  const char *const interim[] = {":status", "103", NULL};
  const char *const final[] = {":status", "200", NULL};
  headers_frame(&b, interim);
  headers_frame(&b, final);
  feed_buf(0, &b, 0);
  CHECK_EQ(R.headers_calls, 1); /* the 1xx is skipped */
  CHECK_EQ(R.status, 200);
  wt_buf_free(&b);
  setup(0);
  CHECK_EQ(wt_h3conn_send_request(C, req, 1, 0, &sid), 0);
  wt_buf_init(&b);
  const char *const bad[] = {":status", "2000", NULL};
  headers_frame(&b, bad);
  feed_buf(0, &b, 0);
  CHECK_EQ(R.headers_calls, 0);
  CHECK_EQ(R.reset_code[0], H3_MESSAGE_ERROR);
  wt_buf_free(&b);
}

static void writes_wt_stream_headers_and_datagrams(void) {
  setup(0);
  int64_t sid;
  CHECK_EQ(wt_h3conn_open_wt_stream(C, 0, 0, &R, &sid), 0);
  CHECK_MEM(R.out[sid % MAXS].data, "\x40\x54\x00", 3);
  CHECK_EQ(wt_h3conn_open_wt_stream(C, 8, 1, &R, &sid), 0);
  CHECK_MEM(R.out[sid % MAXS].data, "\x40\x41\x08", 3);
  CHECK_EQ(wt_h3conn_send_data(C, sid, (const uint8_t *)"xy", 2, 0), 0);
  CHECK_MEM(R.out[sid % MAXS].data + 3, "\x00\x02xy", 4);
}

/* A reset of a WebTransport stream we opened first delivers its header
 * (the peer needs it to find the session); on a peer's stream there is no
 * header of ours to deliver. HTTP/3's own stream errors deliver nothing. */
static void wt_resets_keep_the_header_reliable(void) {
  setup(0);
  int64_t uni, bidi;
  CHECK_EQ(wt_h3conn_open_wt_stream(C, 0, 0, &R, &uni), 0);
  CHECK_EQ(wt_h3conn_open_wt_stream(C, 300, 1, &R, &bidi), 0); /* 2-byte session ID */
  CHECK_EQ(wt_h3conn_reset_wt(C, uni, 7, 0), 0);
  CHECK_EQ(R.reset_reliable[0], 3);
  CHECK_EQ(wt_h3conn_reset_wt(C, bidi, 7, 10), 0);
  CHECK_EQ(R.reset_reliable[1], 4 + 10);
  CHECK_EQ(wt_h3conn_reset_wt(C, bidi, 7, UINT64_MAX), 0);
  CHECK_EQ(R.reset_reliable[2], UINT64_MAX);
  setup(1);
  peer_control_ok();
  feed_hex(4, "40 41 00 6f 6b", 0); /* the client's bidi WT stream */
  CHECK_EQ(wt_h3conn_reset_wt(C, 4, 9, 0), 0);
  CHECK_EQ(R.reset_reliable[0], 0);
  static const char *const bad[] = {":method", "GET", ":scheme", "https", ":path", "/", "Upper", "x", NULL};
  wt_buf b;
  wt_buf_init(&b);
  headers_frame(&b, bad);
  feed_buf(8, &b, 0); /* an uppercase field name: a stream error */
  wt_buf_free(&b);
  CHECK_EQ(R.nresets, 2);
  CHECK_EQ(R.reset_reliable[1], 0);
}

static void closed_connection_ignores_input(void) {
  setup(1);
  wt_h3conn_fail(C, H3_INTERNAL_ERROR, "test");
  CHECK(wt_h3conn_is_closed(C));
  R.closed = 0;
  feed_hex(2, "00 04 00", 0);
  CHECK_EQ(R.settings_calls, 0);
  CHECK(!R.closed);
  CHECK_EQ(wt_h3conn_send_data(C, 0, (const uint8_t *)"x", 1, 0), WT_ERR_CLOSED);
}

int main(void) {
  RUN(start_sends_settings_and_opens_qpack_streams);
  RUN(accepts_settings_grease_and_unknown_frames);
  RUN(control_stream_errors);
  RUN(client_side_control_errors);
  RUN(uni_stream_types);
  RUN(webtransport_streams_and_datagrams);
  RUN(request_streams);
  RUN(malformed_requests_are_stream_errors);
  RUN(content_length_mismatch_is_message_error);
  RUN(oversized_headers_are_refused_with_excessive_load);
  RUN(client_reads_responses);
  RUN(writes_wt_stream_headers_and_datagrams);
  RUN(wt_resets_keep_the_header_reliable);
  RUN(closed_connection_ignores_input);
  wt_h3conn_free(C);
  for (int i = 0; i < MAXS; i++)
    wt_buf_free(&R.out[i]);
  return TEST_REPORT();
}
