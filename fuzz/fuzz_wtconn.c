/*
 * fuzz_wtconn.c: a whole server connection above QUIC - HTTP/3 framing,
 * QPACK, SETTINGS, capsules, WebTransport sessions, streams, datagrams and
 * flow control - driven by a script of QUIC events taken from the input,
 * with an application that accepts everything, reads everything and calls
 * the API back (close, drain, open streams, send datagrams). Plain HTTP
 * requests (any path) are routed to the same application, which answers,
 * reads and writes bodies and aborts.
 *
 * Input: an optional canned prologue (a valid client control stream and a
 * CONNECT on stream 0, when bit 0 of the first byte is set, so mutations
 * start inside a live session; bit 1 turns pooling on; bit 2 makes the
 * peer's transport parameters refuse DATAGRAM frames), then records of
 * [op][len][len bytes]:
 * op & 7 picks the event, op >> 3 the client stream it concerns.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "h3/qpack.h"
#include "h3/varint.h"
#include "util/buf.h"
#include "wt/wtconn.h"

typedef struct app {
  wt_session *live;      /* valid from READY until CLOSED */
  wt_stream *last;       /* the last accepted stream, until its CLOSED */
  wt_http_request *http; /* the last plain request, until its CLOSED */
  int64_t next_uni, next_bidi;
  int closed;
  int peer_dgrams; /* its transport parameters allow DATAGRAM frames */
} app;

/* ---- QUIC below, faked: everything is accepted ---- */
static int io_open(void *ctx, int bidi, int64_t *sid) {
  app *a = ctx;
  int64_t *n = bidi ? &a->next_bidi : &a->next_uni;
  *sid = *n;
  *n += 4;
  return 0;
}
static ssize_t io_write(void *ctx, int64_t sid, const uint8_t *d, size_t n, int fin, size_t limit) {
  (void)ctx, (void)sid, (void)d, (void)fin;
  return (ssize_t)(n < limit ? n : limit);
}
static int io_reset(void *ctx, int64_t sid, uint64_t code, uint64_t reliable) { return 0; }
static int io_stop(void *ctx, int64_t sid, uint64_t code) { return 0; }
static void io_consumed(void *ctx, int64_t sid, size_t n) {}
static int io_dgram(void *ctx, const uint8_t *h, size_t hl, const uint8_t *d, size_t n, uint64_t tag) { return 0; }
static void io_close(void *ctx, uint64_t code, const char *reason) { ((app *)ctx)->closed = 1; }
static size_t io_reserve(void *ctx, int64_t sid, size_t want, size_t limit) { return want; }
static int x_export(void *ctx, const char *label, const uint8_t *c, size_t cl, uint8_t *out, size_t ol) {
  memset(out, 0, ol);
  return 0;
}
static size_t x_max_dgram(void *ctx) { return 1200; }
static int x_peer_dgrams(void *ctx) { return ((app *)ctx)->peer_dgrams; }
static uint64_t x_streams_left(void *ctx, int bidi) { return 16; }
static void x_wake(void *ctx) {}

/* ---- the application ---- */
static int on_request(wt_request *r, void *ud) {
  if (wt_request_protocol_count(r)) wt_request_select_protocol(r, wt_request_protocol(r, 0));
  return strcmp(wt_request_path(r), "/no") == 0 ? 404 : 200;
}

static void on_event(const wt_event *ev, void *ud) {
  app *a = ud;
  uint8_t buf[2048];
  wt_stream *st;
  int fin;
  switch (ev->type) {
  case WT_EV_HTTP_REQUEST:
    a->http = ev->http;
    wt_http_request_respond(ev->http, 200 + (int)(strlen(wt_http_request_path(ev->http)) % 300), NULL, 0, 0);
    break;
  case WT_EV_HTTP_READABLE:
    while (wt_http_request_read(ev->http, buf, sizeof(buf), &fin) > 0) {
    }
    break;
  case WT_EV_HTTP_WRITABLE: wt_http_request_write(ev->http, "more", 4, 0); break;
  case WT_EV_HTTP_CLOSED:
    if (a->http == ev->http) a->http = NULL;
    break;
  case WT_EV_SESSION_READY: a->live = ev->session; break;
  case WT_EV_SESSION_CLOSED:
    if (a->live == ev->session) a->live = NULL;
    break;
  case WT_EV_SESSION_STREAM:
    while (wt_session_accept_stream(ev->session, &st) == 0)
      a->last = st;
    break;
  case WT_EV_SESSION_DATAGRAM:
    while (wt_session_receive_datagram(ev->session, buf, sizeof(buf)) >= 0) {
    }
    break;
  case WT_EV_STREAM_READABLE:
    while (wt_stream_read(ev->stream, buf, sizeof(buf), NULL) > 0) {
    }
    break;
  case WT_EV_STREAM_CLOSED:
    if (a->last == ev->stream) a->last = NULL;
    break;
  default: break;
  }
}

/* Application calls, chosen by `arg`. */
static void app_action(app *a, uint8_t arg) {
  wt_stream *st;
  if (a->http && (arg & 0xc0) == 0xc0) {
    if (arg & 1)
      wt_http_request_abort(a->http, arg);
    else
      wt_http_request_write(a->http, "body", 4, arg & 2);
    return;
  }
  if (!a->live) return;
  switch (arg % 8) {
  case 0: wt_session_close(a->live, arg, "fuzz", 4); break;
  case 1: wt_session_drain(a->live); break;
  case 2: wt_session_send_datagram(a->live, "dg", 2); break;
  case 3:
    if (wt_session_open_stream(a->live, arg & 8, &st) == 0) wt_stream_write(st, "srv", 3, arg & 16);
    break;
  case 4:
    if (a->last && wt_stream_can_write(a->last)) wt_stream_write(a->last, "echo", 4, arg & 8);
    break;
  case 5:
    if (a->last && wt_stream_can_write(a->last)) wt_stream_abort_send_at(a->last, arg, arg & 8 ? WT_RELIABLE_ALL : 1);
    break;
  case 6:
    if (a->last && wt_stream_can_read(a->last)) wt_stream_abort_receive(a->last, arg);
    break;
  default: wt_session_goaway(a->live); break;
  }
}

/* A valid client control stream (SETTINGS: datagrams, every generation)
 * and an extended CONNECT for /echo on stream 0. */
static void prologue(wt_conn *c) {
  static const uint8_t control[] = {0x00, 0x04, 0x0e, 0x33, 0x01, 0xab, 0x60, 0x37, 0x42,
                                    0x01, 0xac, 0x2c, 0x7c, 0xf0, 0x00, 0x01, 0x08, 0x01};
  wt_conn_on_stream_data(c, 2, control, sizeof(control), 0);
  static const wt_qpack_field req[] = {{":method", 7, "CONNECT", 7},
                                       {":protocol", 9, "webtransport", 12},
                                       {":scheme", 7, "https", 5},
                                       {":authority", 10, "localhost", 9},
                                       {":path", 5, "/echo", 5},
                                       {"origin", 6, "https://localhost", 17},
                                       {"wt-available-protocols", 22, "\"a\", \"b\"", 8}};
  wt_buf block, frame;
  wt_buf_init(&block);
  wt_buf_init(&frame);
  wt_qpack_encode(&block, req, sizeof(req) / sizeof(req[0]));
  uint8_t hdr[16], *p = wt_varint_write(hdr, 0x01);
  p = wt_varint_write(p, block.len);
  wt_buf_append(&frame, hdr, (size_t)(p - hdr));
  wt_buf_append(&frame, block.data, block.len);
  wt_conn_on_stream_data(c, 0, frame.data, frame.len, 0);
  wt_buf_free(&block);
  wt_buf_free(&frame);
  wt_conn_dispatch(c);
}

/* Client stream k: even k bidi (0, 4, 8, ...), odd k uni (2, 6, 10, ...). */
static int64_t client_sid(unsigned k) { return (k & 1) ? 2 + 4 * (int64_t)(k >> 1) : 4 * (int64_t)(k >> 1); }

const fuzz_seed fuzz_seeds[] = {
    /* prologue, a uni WT stream for session 0, a datagram, then close */
    FUZZ_SEED("\x01"
              "\x09\x05\x40\x54\x00hi"
              "\x02\x03\x00ok"
              "\x07\x00"),
    /* prologue, a close capsule in a DATA frame on stream 0, more data */
    FUZZ_SEED("\x01"
              "\x00\x09\x00\x07\x68\x43\x04\x00\x00\x00\x07"
              "\x00\x03\x00\x01x"),
    /* prologue, a bidi WT stream with data, the server echoes and resets */
    FUZZ_SEED("\x01"
              "\x08\x05\x40\x41\x00ab"
              "\x07\x04"
              "\x07\x05"
              "\x1b\x00"),
    /* prologue, POST / on stream 4 with a 3-byte body and FIN; the server
     * writes a body with FIN, then tries to abort */
    FUZZ_SEED("\x01"
              "\x10\x0a\x01\x08\x00\x00\xd4\xd7\xc1\x50\x01"
              "a"
              "\x11\x05\x00\x03"
              "abc"
              "\x07\x01\xc2"
              "\x07\x01\xc1"),
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  app a = {.next_uni = 3, .next_bidi = 1, .peer_dgrams = !(data[0] & 4)};
  static wt_router routes;
  if (!routes.n) wt_router_add(&routes, "/", WT_ROUTE_PREFIX | WT_ROUTE_HTTP, on_event, &a);
  routes.routes[0].user_data = &a;
  wt_conn_config cfg = {.is_server = 1,
                        .on_request = on_request,
                        .on_event = on_event,
                        .event_user_data = &a,
                        .stream_send_buffer = 4096,
                        .datagram_recv_queue = 4,
                        .datagram_recv_queue_bytes = 1 << 16,
                        .max_buffered_streams = 4,
                        .max_buffered_datagrams = 4,
                        .max_field_section_size = 4096,
                        .pooling = data[0] & 2,
                        .max_sessions = 4,
                        .session_max_data = 4096,
                        .session_max_streams_bidi = 4,
                        .session_max_streams_uni = 4,
                        .router = &routes};
  wt_h3_io io = {&a, io_open, io_write, io_reset, io_stop, io_consumed, io_dgram, io_close, io_reserve, NULL};
  wt_conn_io x = {&a, x_export, x_max_dgram, x_peer_dgrams, x_streams_left, x_wake, NULL, NULL};
  wt_conn *c;
  if (wt_conn_new(&cfg, NULL, &io, &x, &c)) return 0;
  wt_conn_on_ready(c);
  if (data[0] & 1) prologue(c);
  size_t i = 1;
  while (i + 2 <= size) {
    uint8_t op = data[i], len = data[i + 1];
    i += 2;
    if (len > size - i) len = (uint8_t)(size - i);
    const uint8_t *d = data + i;
    i += len;
    int64_t sid = client_sid(op >> 3);
    uint8_t arg = len ? d[0] : 0;
    switch (op & 7) {
    case 0: wt_conn_on_stream_data(c, sid, d, len, 0); break;
    case 1: wt_conn_on_stream_data(c, sid, d, len, 1); break;
    case 2: wt_conn_on_datagram(c, d, len); break;
    case 3: wt_conn_on_stream_reset(c, sid, arg * 0x1234567u, arg); break;
    case 4: wt_conn_on_stop_sending(c, sid, arg * 0x1234567u); break;
    case 5: wt_conn_on_stream_acked(c, (op & 8) ? sid : 1 + 4 * (int64_t)(op >> 4)); break;
    case 6: wt_conn_on_stream_closed(c, sid); break;
    default: app_action(&a, arg); break;
    }
    wt_conn_dispatch(c);
  }
  wt_conn_on_closed(c, WT_ERR_CLOSED, "end of input");
  wt_conn_dispatch(c);
  wt_conn_free(c);
  return 0;
}
