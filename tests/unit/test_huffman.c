/*
 * test_huffman.c: unit tests for src/h3/huffman.c.
 *
 * For: the RFC 7541 Appendix C vectors, round trips, and every invalid
 * encoding the decoder must reject. Not for: string literals inside QPACK
 * field sections (test_qpack.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "h3/huffman.h"
#include "test.h"
#include "webtransport.h"

typedef struct vector {
  const char *text;
  const char *hex;
} vector;

/* RFC 7541 Appendix C.4 (requests) and C.6 (responses). */
static const vector rfc_vectors[] = {
    {"www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"},
    {"no-cache", "a8eb 1064 9cbf"},
    {"custom-key", "25a8 49e9 5ba9 7d7f"},
    {"custom-value", "25a8 49e9 5bb8 e8b4 bf"},
    {"302", "6402"},
    {"307", "640e ff"},
    {"private", "aec3 771a 4b"},
    {"Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"},
    {"Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"},
    {"https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"},
    {"gzip", "9bd9 ab"},
    {"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
     "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 "
     "3160 65c0 03ed 4ee5 b106 3d50 07"},
};

/* Packs a string of '0'/'1' (other characters ignored) MSB first; the caller
 * supplies whole bytes. Returns the byte count. */
static size_t bits_to_bytes(const char *bits, uint8_t *out) {
  size_t n = 0;
  for (; *bits; bits++) {
    if (*bits != '0' && *bits != '1') continue;
    if (n % 8 == 0) out[n / 8] = 0;
    out[n / 8] = (uint8_t)(out[n / 8] << 1 | (*bits == '1'));
    n++;
  }
  return n / 8;
}

/* Encodes src, checks the length prediction, decodes with the documented
 * bound and compares. Returns 1 on success. */
static int round_trips(const uint8_t *src, size_t len) {
  size_t elen = wt_huffman_encoded_len(src, len);
  uint8_t *enc = malloc(elen + 1);
  uint8_t *dec = malloc(elen * 8 / 5 + 1);
  int ok = enc && dec && wt_huffman_encode(enc, src, len) == elen;
  ok = ok && wt_huffman_decode(dec, elen * 8 / 5 + 1, enc, elen) == (ssize_t)len;
  ok = ok && (len == 0 || memcmp(dec, src, len) == 0);
  free(enc);
  free(dec);
  return ok;
}

static void test_rfc_vectors_encode(void) {
  for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
    const vector *v = &rfc_vectors[i];
    uint8_t want[64], got[64];
    size_t wlen = test_unhex(v->hex, want), len = strlen(v->text);
    CHECK_EQ(wt_huffman_encoded_len((const uint8_t *)v->text, len), wlen);
    CHECK_EQ(wt_huffman_encode(got, (const uint8_t *)v->text, len), wlen);
    CHECK_MEM(got, want, wlen);
  }
}

static void test_rfc_vectors_decode(void) {
  for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
    const vector *v = &rfc_vectors[i];
    uint8_t enc[64], dec[128];
    size_t elen = test_unhex(v->hex, enc), len = strlen(v->text);
    CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, elen), len);
    CHECK_MEM(dec, v->text, len);
  }
}

/* A few codes read off Appendix B, padded to a byte with ones. */
static void test_single_symbols(void) {
  static const struct {
    uint8_t sym;
    const char *hex;
  } cases[] = {
      {'0', "07"},       /* 00000 */
      {'a', "1f"},       /* 00011 */
      {'/', "63"},       /* 011000 */
      {'&', "f8"},       /* 11111000: no padding */
      {0, "ffc7"},       /* 11111111|11000 */
      {255, "fffffbbf"}, /* 11111111|11111111|11111011|10 */
      {10, "fffffff3"},  /* 11111111|11111111|11111111|111100 */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t want[8], got[8], dec[8];
    size_t wlen = test_unhex(cases[i].hex, want);
    CHECK_EQ(wt_huffman_encode(got, &cases[i].sym, 1), wlen);
    CHECK_MEM(got, want, wlen);
    CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), want, wlen), 1);
    CHECK_EQ(dec[0], cases[i].sym);
  }
}

static void test_empty(void) {
  uint8_t dst[1];
  CHECK_EQ(wt_huffman_encoded_len((const uint8_t *)"", 0), 0);
  CHECK_EQ(wt_huffman_decode(dst, 0, (const uint8_t *)"", 0), 0);
}

static void test_all_byte_values(void) {
  uint8_t all[256];
  for (int i = 0; i < 256; i++) {
    all[i] = (uint8_t)i;
    CHECK(round_trips(&all[i], 1));
  }
  CHECK(round_trips(all, sizeof(all)));
}

static void test_random_strings(void) {
  uint32_t seed = 12345;
  uint8_t buf[300];
  for (int iter = 0; iter < 2000; iter++) {
    seed = seed * 1103515245u + 12345u;
    size_t len = (seed >> 8) % sizeof(buf);
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      /* Mostly printable, like header values, with some arbitrary octets. */
      buf[i] = (uint8_t)((seed >> 24) < 200 ? 32 + (seed >> 8) % 95 : seed >> 16);
    }
    CHECK(round_trips(buf, len));
  }
}

/* Five-bit codes reach the documented bound len * 8 / 5. */
static void test_decode_bound_is_enough(void) {
  uint8_t src[40], enc[40], dec[40 * 8 / 5 + 1];
  memset(src, '0', sizeof(src));
  size_t elen = wt_huffman_encode(enc, src, sizeof(src));
  CHECK_EQ(elen, 25);
  CHECK_EQ(wt_huffman_decode(dec, elen * 8 / 5 + 1, enc, elen), 40);
}

static void test_accepts_seven_bits_of_padding(void) {
  uint8_t enc[8], dec[8];
  /* '0' '0' ':' = 5 + 5 + 7 bits, then 7 ones. */
  size_t n = bits_to_bytes("00000 00000 1011100 1111111", enc);
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, n), 3);
  CHECK_MEM(dec, "00:", 3);
}

static void test_rejects_eos(void) {
  uint8_t enc[16], dec[16];
  /* EOS alone (30 ones + 2 ones of padding). */
  size_t n = bits_to_bytes("11111111 11111111 11111111 11111111", enc);
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, n), WT_ERR_PROTO);
  /* 'a', EOS, 'a' (40 bits, no padding): EOS in the middle of a string. */
  n = bits_to_bytes("00011 111111111111111111111111111111 00011", enc);
  CHECK_EQ(n, 5);
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, n), WT_ERR_PROTO);
  /* 'a', '0', EOS ending on a nibble boundary, 'a', padding: a decoder that
   * skipped EOS would return "a0a". */
  n = bits_to_bytes("00011 00000 111111111111111111111111111111 00011 111", enc);
  CHECK_EQ(n, 6);
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, n), WT_ERR_PROTO);
}

static void test_rejects_long_padding(void) {
  uint8_t enc[8], dec[8];
  uint8_t ff = 0xff;
  /* A whole byte of ones with no symbol: 8 bits of padding. */
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), &ff, 1), WT_ERR_PROTO);
  /* 'a' then 11 ones. */
  size_t n = bits_to_bytes("00011 111 11111111", enc);
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, n), WT_ERR_PROTO);
  /* '&' (8 bits) then a byte of ones. */
  n = bits_to_bytes("11111000 11111111", enc);
  CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, n), WT_ERR_PROTO);
}

static void test_rejects_padding_with_zero(void) {
  static const char *cases[] = {
      "00011 110", /* 'a' then 110 */
      "00011 011", /* 'a' then 011 */
      "00011 000", /* 'a' then 000, a prefix of the code for '0' */
      "00000 000", /* '0' then 000 */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t enc[1], dec[8];
    CHECK_EQ(bits_to_bytes(cases[i], enc), 1);
    CHECK_EQ(wt_huffman_decode(dec, sizeof(dec), enc, 1), WT_ERR_PROTO);
  }
}

static void test_dst_too_small(void) {
  uint8_t enc[16], dec[16];
  size_t n = test_unhex("f1e3 c2e5 f23a 6ba0 ab90 f4ff", enc); /* www.example.com */
  CHECK_EQ(wt_huffman_decode(dec, 14, enc, n), WT_ERR_TOO_LARGE);
  CHECK_EQ(wt_huffman_decode(dec, 0, enc, n), WT_ERR_TOO_LARGE);
  CHECK_EQ(wt_huffman_decode(dec, 15, enc, n), 15);
}

int main(void) {
  RUN(test_rfc_vectors_encode);
  RUN(test_rfc_vectors_decode);
  RUN(test_single_symbols);
  RUN(test_empty);
  RUN(test_all_byte_values);
  RUN(test_random_strings);
  RUN(test_decode_bound_is_enough);
  RUN(test_accepts_seven_bits_of_padding);
  RUN(test_rejects_eos);
  RUN(test_rejects_long_padding);
  RUN(test_rejects_padding_with_zero);
  RUN(test_dst_too_small);
  return TEST_REPORT();
}
