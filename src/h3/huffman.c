/*
 * huffman.c: the HPACK/QPACK Huffman code (see huffman.h).
 *
 * For: encoding and decoding string literals with the RFC 7541 Appendix B
 * code. Not for: the code tables themselves, which are generated into
 * huffman_table.h by tools/gen/gen_huffman.py.
 *
 * Decoding walks a 4-bit automaton (one table lookup per nibble) whose
 * states are the nodes of the code tree; the table marks the states where a
 * string may legally end, so padding is checked without tracking bits.
 */
#include "h3/huffman.h"

#include "h3/huffman_table.h"
#include "webtransport.h"

size_t wt_huffman_encoded_len(const uint8_t *src, size_t len) {
  /* Carry whole bytes out of the bit count as we go so the sum cannot
   * overflow however long the input. */
  size_t bytes = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < len; i++) {
    bits += huff_codes[src[i]].bits;
    bytes += bits >> 3;
    bits &= 7;
  }
  return bytes + (bits != 0);
}

size_t wt_huffman_encode(uint8_t *dst, const uint8_t *src, size_t len) {
  uint8_t *p = dst;
  uint64_t acc = 0; /* only the low `nbits` bits are pending */
  unsigned nbits = 0;
  for (size_t i = 0; i < len; i++) {
    const huff_code *c = &huff_codes[src[i]];
    acc = (acc << c->bits) | c->code;
    nbits += c->bits;
    while (nbits >= 8) {
      nbits -= 8;
      *p++ = (uint8_t)(acc >> nbits);
    }
  }
  if (nbits > 0) /* pad with the most significant bits of EOS: all ones */
    *p++ = (uint8_t)((acc << (8 - nbits)) | (0xffu >> nbits));
  return (size_t)(p - dst);
}

ssize_t wt_huffman_decode(uint8_t *dst, size_t dstcap, const uint8_t *src, size_t len) {
  size_t n = 0;
  uint8_t state = 0;
  uint8_t flags = HUFF_ACCEPT; /* the empty string is valid */
  for (size_t i = 0; i < len; i++) {
    for (int shift = 4; shift >= 0; shift -= 4) {
      const huff_dec_entry *e = &huff_decode[state][(src[i] >> shift) & 0x0f];
      flags = e->flags;
      if (flags & HUFF_FAIL) return WT_ERR_PROTO;
      if (flags & HUFF_EMIT) {
        if (n == dstcap) return WT_ERR_TOO_LARGE;
        dst[n++] = e->sym;
      }
      state = e->state;
    }
  }
  return (flags & HUFF_ACCEPT) ? (ssize_t)n : WT_ERR_PROTO;
}
