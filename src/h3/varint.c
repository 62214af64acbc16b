/*
 * varint.c: QUIC variable-length integers (see varint.h).
 */
#include "h3/varint.h"

#include "webtransport.h"

size_t wt_varint_size(uint64_t v) {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

uint8_t *wt_varint_write(uint8_t *p, uint64_t v) {
  size_t n = wt_varint_size(v);
  static const uint8_t prefix[9] = {0, 0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
  for (size_t i = n; i-- > 0;) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
  p[0] |= prefix[n];
  return p + n;
}

size_t wt_varint_read(const uint8_t *p, const uint8_t *end, uint64_t *v) {
  if (p >= end) return 0;
  size_t n = wt_varint_len_from_first(p[0]);
  if ((size_t)(end - p) < n) return 0;
  uint64_t x = p[0] & 0x3f;
  for (size_t i = 1; i < n; i++)
    x = (x << 8) | p[i];
  *v = x;
  return n;
}

size_t wt_varint_reader_feed(wt_varint_reader *r, const uint8_t *p, const uint8_t *end, int *done) {
  const uint8_t *start = p;
  *done = 0;
  if (p >= end) return 0;
  if (r->need == 0) {
    r->need = (uint8_t)wt_varint_len_from_first(p[0]);
    r->value = p[0] & 0x3f;
    r->have = 1;
    p++;
  }
  while (r->have < r->need && p < end) {
    r->value = (r->value << 8) | *p++;
    r->have++;
  }
  if (r->have == r->need) *done = 1;
  return (size_t)(p - start);
}

int wt_varint_append2(wt_buf *out, uint64_t a, uint64_t b) {
  int rv = wt_buf_reserve(out, 16);
  if (rv) return rv;
  uint8_t *p = wt_varint_write(out->data + out->len, a);
  p = wt_varint_write(p, b);
  out->len = (size_t)(p - out->data);
  return 0;
}
