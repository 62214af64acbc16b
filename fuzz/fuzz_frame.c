/*
 * fuzz_frame.c: QUIC varints (one-shot and incremental) and the HTTP/3
 * frame reader on arbitrary bytes. Checks, not just runs: the incremental
 * varint reader fed one byte at a time agrees with the one-shot decoder and
 * re-encoding is minimal and decodes back; the frame reader yields the same
 * frames (type, length, payload bytes, boundary) whether the stream arrives
 * whole or split at the points the input chooses; what it reports can be
 * written back with wt_frame_write and reads back identically.
 *
 * Input: [split seed byte] then the stream bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "h3/frame.h"
#include "h3/varint.h"

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x03"
              "\x00\x04\x02\x33\x01"), /* SETTINGS */
    FUZZ_SEED("\x11"
              "\x01\x03\x00\x00\xd1\x00\x02hi"), /* HEADERS, DATA */
    FUZZ_SEED("\x07"
              "\x40\x41\x80\x00\x00\x04\xc0\x00\x00\x00\x00\x00\x00\x00"), /* every varint length */
    FUZZ_SEED("\xff"
              "\x21\x00\x4a\x0a\x01x"), /* reserved types */
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

static void check_varints(const uint8_t *p, size_t len) {
  for (size_t off = 0; off < len;) {
    uint64_t v;
    size_t n = wt_varint_read(p + off, p + len, &v);
    wt_varint_reader r;
    wt_varint_reader_reset(&r);
    int done = 0;
    size_t fed = 0;
    while (!done && off + fed < len)
      fed += wt_varint_reader_feed(&r, p + off + fed, p + off + fed + 1, &done);
    if (!n) {
      if (done) abort(); /* the incremental reader finished a truncated varint */
      return;
    }
    if (!done || fed != n || r.value != v || v > WT_VARINT_MAX) abort();
    uint8_t enc[8];
    uint8_t *e = wt_varint_write(enc, v);
    uint64_t back;
    if ((size_t)(e - enc) != wt_varint_size(v) || (size_t)(e - enc) > n) abort();
    if (wt_varint_read(enc, e, &back) != (size_t)(e - enc) || back != v) abort();
    off += n;
  }
}

/* What a reader saw, re-serialised as frames (so two runs compare by bytes). */
typedef struct seen {
  wt_buf out;
  uint64_t type, len, got;
  int in_frame;
} seen;

static void run_reader(const uint8_t *p, size_t len, uint8_t seed, seen *s) {
  wt_frame_reader r;
  wt_frame_reader_init(&r);
  wt_buf payload;
  wt_buf_init(&payload);
  wt_buf_init(&s->out);
  s->in_frame = 0;
  size_t off = 0;
  uint32_t rng = seed * 2654435761u + 1;
  while (off < len) {
    /* the next chunk: 1..16 bytes, or everything, by the seed */
    rng = rng * 1103515245u + 12345u;
    size_t chunk = seed ? 1 + (rng >> 16) % 16 : len - off;
    if (chunk > len - off) chunk = len - off;
    size_t used = 0;
    for (;;) {
      wt_frame_event ev;
      const uint8_t *c;
      size_t cl;
      used += wt_frame_reader_step(&r, p + off + used, chunk - used, &ev, &c, &cl);
      if (used > chunk) abort();
      if (ev == WT_FRAME_NEED_MORE) break;
      if (ev == WT_FRAME_HEADER) {
        if (s->in_frame) abort();
        s->in_frame = 1;
        s->type = r.type;
        s->len = r.len;
        s->got = 0;
        wt_buf_clear(&payload);
      } else if (ev == WT_FRAME_PAYLOAD) {
        if (!s->in_frame || cl == 0 || c < p + off || c + cl > p + off + chunk) abort();
        s->got += cl;
        if (s->got > s->len) abort();
        wt_buf_append(&payload, c, cl);
      } else {
        if (!s->in_frame || s->got != s->len || !wt_frame_reader_at_boundary(&r)) abort();
        s->in_frame = 0;
        wt_frame_write(&s->out, s->type, wt_buf_rpos(&payload), wt_buf_readable(&payload));
      }
    }
    if (used != chunk) abort();
    off += chunk;
  }
  /* the partial frame too, so split and whole runs also agree on it */
  if (s->in_frame) wt_varint_append2(&s->out, s->type, s->got);
  if (!s->in_frame && !wt_frame_reader_at_boundary(&r)) wt_buf_append(&s->out, "+", 1);
  wt_buf_free(&payload);
}

static int same(const wt_buf *a, const wt_buf *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const uint8_t *p = data + 1;
  size_t len = size - 1;
  check_varints(p, len);
  seen whole, split;
  run_reader(p, len, 0, &whole);
  run_reader(p, len, data[0] | 1, &split);
  if (!same(&whole.out, &split.out)) abort();
  if (whole.in_frame != split.in_frame) abort();
  /* Complete frames written back read back the same (minimal varints). */
  if (!whole.in_frame && whole.out.len) {
    seen again;
    run_reader(whole.out.data, whole.out.len, 0, &again);
    if (!same(&again.out, &whole.out)) abort();
    wt_buf_free(&again.out);
  }
  wt_buf_free(&whole.out);
  wt_buf_free(&split.out);
  return 0;
}
