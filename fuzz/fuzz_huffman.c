/*
 * fuzz_huffman.c: the QPACK/HPACK Huffman code on its own (fuzz_qpack
 * reaches it only through string literals). Both directions, checked:
 * - arbitrary bytes decoded: either rejected, or re-encoding the result
 *   gives exactly the input back (the code and its all-ones padding are
 *   canonical, so an accepted string has one encoding), and a buffer one
 *   byte short is refused with WT_ERR_TOO_LARGE, never overrun;
 * - the same bytes as plain text: encoded (length as predicted by
 *   wt_huffman_encoded_len) and decoded back to themselves.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "h3/huffman.h"
#include "webtransport.h"

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\xf1\xe3\xc2\xe5\xf2\x3a\x6b\xa0\xab\x90\xf4\xff"), /* www.example.com */
    FUZZ_SEED("\x25\xb6\x50\xc3\xab\xb8\x15\xc1"),
    FUZZ_SEED("\xff\xff\xff\xfc"), /* EOS */
    FUZZ_SEED("\x1f"),
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

static void decode_then_encode(const uint8_t *p, size_t len) {
  size_t cap = len * 8 / 5 + 1;
  uint8_t *dec = malloc(cap), *enc = malloc(len + 1);
  if (!dec || !enc) abort();
  ssize_t n = wt_huffman_decode(dec, cap, p, len);
  if (n == WT_ERR_TOO_LARGE) abort(); /* the documented bound must suffice */
  if (n >= 0) {
    if (wt_huffman_encoded_len(dec, (size_t)n) != len) abort();
    if (wt_huffman_encode(enc, dec, (size_t)n) != len || memcmp(enc, p, len) != 0) abort();
    if (n > 0 && wt_huffman_decode(dec, (size_t)n - 1, p, len) != WT_ERR_TOO_LARGE) abort();
  } else if (n != WT_ERR_PROTO) {
    abort();
  }
  free(dec);
  free(enc);
}

static void encode_then_decode(const uint8_t *p, size_t len) {
  size_t elen = wt_huffman_encoded_len(p, len);
  if (elen > len * 30 / 8 + 1) abort(); /* codes are at most 30 bits */
  uint8_t *enc = malloc(elen + 1), *dec = malloc(len + 1);
  if (!enc || !dec) abort();
  if (wt_huffman_encode(enc, p, len) != elen) abort();
  if (wt_huffman_decode(dec, len, enc, elen) != (ssize_t)len || memcmp(dec, p, len) != 0) abort();
  free(enc);
  free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  decode_then_encode(data, size);
  encode_then_decode(data, size);
  return 0;
}
