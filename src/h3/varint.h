/*
 * varint.h: QUIC variable-length integers (RFC 9000 §16).
 *
 * For: every HTTP/3, capsule and WebTransport field that is a varint, both
 * from a complete buffer and incrementally from input split at any byte.
 * Non-minimal encodings are accepted on input (RFC 9000 §16 allows them);
 * output is always minimal.
 */
#ifndef WT_H3_VARINT_H
#define WT_H3_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define WT_VARINT_MAX 0x3fffffffffffffffULL

/* Length in bytes of a varint whose first byte is `b0`. */
static inline size_t wt_varint_len_from_first(uint8_t b0) { return (size_t)1 << (b0 >> 6); }

/* Bytes needed to encode v minimally (v <= WT_VARINT_MAX). */
size_t wt_varint_size(uint64_t v);

/* Encodes v (must be <= WT_VARINT_MAX) at p, returns the byte after it. */
uint8_t *wt_varint_write(uint8_t *p, uint64_t v);

/* Appends a and b as two varints (a type and a length, in frames and
 * capsules). Returns 0 or WT_ERR_NOMEM. */
int wt_varint_append2(wt_buf *out, uint64_t a, uint64_t b);

/* Decodes a varint from [p, end). Returns the number of bytes used, or 0 if
 * the input is too short to hold the whole varint. */
size_t wt_varint_read(const uint8_t *p, const uint8_t *end, uint64_t *v);

/* Incremental reader: feed bytes until it reports completion. */
typedef struct wt_varint_reader {
  uint64_t value;
  uint8_t need; /* total length once known, 0 before the first byte */
  uint8_t have;
} wt_varint_reader;

static inline void wt_varint_reader_reset(wt_varint_reader *r) {
  r->value = 0;
  r->need = r->have = 0;
}

/* Consumes bytes from [p, end) toward the current varint. Returns bytes
 * consumed; sets *done to 1 when the value is complete (then r->value holds
 * it and the reader must be reset before the next varint). */
size_t wt_varint_reader_feed(wt_varint_reader *r, const uint8_t *p, const uint8_t *end, int *done);

#endif
