/*
 * huffman.h: the HPACK/QPACK Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * For: string literals in QPACK field sections, both directions. Not for:
 * deciding whether to Huffman-encode (the QPACK encoder does that by
 * comparing wt_huffman_encoded_len with the raw length).
 */
#ifndef WT_H3_HUFFMAN_H
#define WT_H3_HUFFMAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes needed to Huffman-encode src[0..len). */
size_t wt_huffman_encoded_len(const uint8_t *src, size_t len);

/* Encodes src into dst, which must hold wt_huffman_encoded_len(src, len)
 * bytes; the last byte is padded with the most significant bits of EOS
 * (all ones). Returns the number of bytes written. */
size_t wt_huffman_encode(uint8_t *dst, const uint8_t *src, size_t len);

/* Decodes src[0..len) into dst (capacity dstcap). Returns the decoded length,
 * or WT_ERR_PROTO for an invalid encoding: the EOS symbol in the string,
 * padding longer than 7 bits, or padding that is not the EOS prefix (all
 * ones) (RFC 7541 §5.2), or WT_ERR_TOO_LARGE if dstcap is too small.
 * len * 8 / 5 + 1 bytes of dst always suffice. */
ssize_t wt_huffman_decode(uint8_t *dst, size_t dstcap, const uint8_t *src, size_t len);

#endif
