/*
 * fuzz_wtstream.c: how the HTTP/3 layer classifies peer streams by their
 * first bytes (src/h3/h3conn.c): unidirectional stream types, and the
 * WebTransport prefixes - uni 0x54 + session ID, bidi 0x41 + session ID -
 * split at any byte. A reference parser checks every claim h3conn makes:
 * a WebTransport stream is announced once, with the session ID and
 * direction its bytes spell, only for a client bidi stream ID, and the
 * payload handed up is exactly the stream's bytes after the prefix, in
 * order. Stream resets, closes and datagrams are interleaved.
 *
 * Input: [flags] then records [op][len][len bytes]; op & 3 picks the event
 * (data, data + FIN, reset, closed), op >> 2 & 7 the peer stream (even:
 * bidi, odd: uni), op >> 5 how the bytes are split. flags bit 0: we are a
 * client (the peer's streams are server-initiated); bit 1: the handler
 * refuses WebTransport streams.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "h3/codes.h"
#include "h3/h3conn.h"
#include "h3/varint.h"

#define NSTREAMS 8
#define KEEP 4096 /* bytes of each stream the model remembers */

typedef struct model {
  int64_t sid;
  uint8_t bytes[KEEP];
  size_t len;       /* bytes fed so far (clamped at KEEP; beyond, no checks) */
  int announced;    /* on_wt_stream came */
  size_t hdrlen;    /* its WebTransport prefix length */
  size_t delivered; /* payload bytes handed up */
  int fin;          /* FIN handed up */
  int fed_fin;
} model;

typedef struct world {
  model s[NSTREAMS];
  int is_server, refuse, closed;
} world;

static world W;

static model *by_sid(int64_t sid) {
  for (int k = 0; k < NSTREAMS; k++)
    if (W.s[k].sid == sid) return &W.s[k];
  abort(); /* h3conn named a stream nobody opened */
}

/* The reference: the WebTransport prefix of a peer stream, if complete. */
static int ref_prefix(const model *m, uint64_t *session_id, size_t *hdrlen) {
  uint64_t first;
  size_t n = wt_varint_read(m->bytes, m->bytes + m->len, &first);
  int bidi = (m->sid & 2) == 0;
  if (!n || first != (bidi ? H3_FRAME_WT_STREAM : H3_STREAM_WT_UNI)) return 0;
  size_t n2 = wt_varint_read(m->bytes + n, m->bytes + m->len, session_id);
  if (!n2) return 0;
  *hdrlen = n + n2;
  return 1;
}

static int io_open(void *ctx, int bidi, int64_t *sid) { return -1; } /* never called: no wt_h3conn_start */
static ssize_t io_write(void *ctx, int64_t sid, const uint8_t *d, size_t n, int fin, size_t limit) {
  return (ssize_t)n;
}
static int io_reset(void *ctx, int64_t sid, uint64_t code, uint64_t reliable) { return 0; }
static int io_stop(void *ctx, int64_t sid, uint64_t code) { return 0; }
static void io_consumed(void *ctx, int64_t sid, size_t n) {}
static int io_dgram(void *ctx, const uint8_t *h, size_t hl, const uint8_t *d, size_t n, uint64_t tag) { return 0; }
static void io_close(void *ctx, uint64_t code, const char *reason) { W.closed = 1; }

static void h_settings(void *ctx) {}
static void h_goaway(void *ctx, uint64_t id) {}
static void h_headers(void *ctx, int64_t sid, wt_h3_headers *h) {}
static size_t h_data(void *ctx, int64_t sid, const uint8_t *d, size_t n) { return 0; }
static void h_req_end(void *ctx, int64_t sid, int reset, uint64_t code) {}
static void h_req_stop(void *ctx, int64_t sid, uint64_t code) {}
static void h_req_writable(void *ctx, int64_t sid) {}

static void *h_wt_stream(void *ctx, int64_t sid, uint64_t session_id, int bidi) {
  model *m = by_sid(sid);
  uint64_t ref_sid;
  size_t hdrlen;
  if (m->announced || (session_id & 3) != 0 || bidi != ((sid & 2) == 0)) abort();
  if (m->len < KEEP && (!ref_prefix(m, &ref_sid, &hdrlen) || ref_sid != session_id)) abort();
  m->announced = 1;
  m->hdrlen = m->len < KEEP ? hdrlen : 0;
  return W.refuse ? NULL : m;
}

static void h_wt_data(void *ctx, void *up, const uint8_t *d, size_t n, int fin) {
  model *m = up;
  if (!m || !m->announced || m->fin) abort();
  if (m->len < KEEP) {
    if (m->hdrlen + m->delivered + n > m->len) abort(); /* more than the peer sent */
    if (n && memcmp(d, m->bytes + m->hdrlen + m->delivered, n) != 0) abort();
  }
  m->delivered += n;
  m->fin = fin;
}
static void h_wt_reset(void *ctx, void *up, uint64_t code, uint64_t final_payload) {
  if (!up || !((model *)up)->announced) abort();
}
static void h_wt_stop(void *ctx, void *up, uint64_t code) {}
static void h_wt_void(void *ctx, void *up) {}
static void h_wt_closed(void *ctx, void *up) {
  if (!up || !((model *)up)->announced) abort();
}
static void h_dgram(void *ctx, uint64_t session_id, const uint8_t *d, size_t n) {
  if ((session_id & 3) != 0) abort();
}
static void h_credit(void *ctx, int bidi) {}

static const wt_h3_io IO = {.open_stream = io_open,
                            .write = io_write,
                            .reset = io_reset,
                            .stop_sending = io_stop,
                            .consumed = io_consumed,
                            .send_datagram = io_dgram,
                            .close = io_close};
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
                                .on_wt_closed = h_wt_closed,
                                .on_datagram = h_dgram,
                                .on_stream_credit = h_credit};

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x00"
              "\x04\x05\x40\x54\x00hi" /* uni 0x54, session 0 */
              "\x01\x05\x40\x41\x04"
              "ab" /* bidi 0x41, session 4, FIN */
              "\x03\x00"),
    FUZZ_SEED("\x00"
              "\x20\x02\x41\x01" /* session ID 1: H3_ID_ERROR */),
    FUZZ_SEED("\x01"
              "\xe4\x0c\x54\x80\x00\x00\x08payload" /* split, 4-byte session ID */
              "\x06\x00"),
    FUZZ_SEED("\x02"
              "\x0c\x03\x00\x04\x00"     /* control stream */
              "\x04\x04\x02\x00\x03\x80" /* QPACK encoder */
              "\x14\x02\x21\x00" /* unknown type */),
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

static void feed(wt_h3conn *c, model *m, const uint8_t *d, size_t len, int fin, unsigned split) {
  if (m->fed_fin) return; /* QUIC delivers nothing after a FIN */
  size_t keep = len <= KEEP - m->len ? len : 0;
  if (keep) memcpy(m->bytes + m->len, d, len);
  m->len = keep || !len ? m->len + len : KEEP; /* past KEEP: stop checking bytes */
  m->fed_fin = fin;
  size_t off = 0;
  do {
    size_t n = split ? split : len - off;
    if (n > len - off) n = len - off;
    int last = off + n == len;
    wt_h3conn_on_stream_data(c, m->sid, d + off, n, fin && last);
    off += n;
  } while (off < len && !W.closed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  memset(&W, 0, sizeof(W));
  W.is_server = !(data[0] & 1);
  W.refuse = data[0] & 2;
  /* peer streams: k even bidi, odd uni, initiated by the other side */
  for (int k = 0; k < NSTREAMS; k++)
    W.s[k].sid = (int64_t)(k >> 1) * 4 + ((k & 1) ? 2 : 0) + (W.is_server ? 0 : 1);
  wt_setting st[] = {{0x33, 1}, {0x2c7cf000, 1}};
  wt_h3conn_config cfg = {W.is_server, st, 2, 4096, 7};
  wt_h3conn *c;
  if (wt_h3conn_new(&cfg, &IO, &H, NULL, &c)) return 0;
  size_t i = 1;
  while (i + 2 <= size && !W.closed) {
    uint8_t op = data[i], len = data[i + 1];
    i += 2;
    if (len > size - i) len = (uint8_t)(size - i);
    const uint8_t *d = data + i;
    i += len;
    model *m = &W.s[(op >> 2) & 7];
    switch (op & 3) {
    case 0:
    case 1: feed(c, m, d, len, op & 1, op >> 5); break;
    case 2:
      if (len) {
        wt_h3conn_on_datagram(c, d, len);
      } else {
        wt_h3conn_on_stream_reset(c, m->sid, 0x10c, m->len);
        m->fed_fin = 1;
      }
      break;
    default:
      wt_h3conn_on_stream_closed(c, m->sid);
      /* a new stream can never reuse the ID; model it as a fresh one */
      int64_t sid = m->sid;
      memset(m, 0, sizeof(*m));
      m->sid = sid + 4 * NSTREAMS;
      break;
    }
  }
  wt_h3conn_free(c);
  return 0;
}
