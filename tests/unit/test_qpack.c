/*
 * test_qpack.c: unit tests for src/h3/qpack.c.
 *
 * For: exact encodings, encode/decode round trips, hand-made field sections
 * (literal names, Huffman strings, N bits, Delta Base values), every
 * rejected section, max_section_size accounting, and the two instruction
 * stream readers fed one byte at a time. Not for: the Huffman code itself
 * (test_huffman.c) or HTTP field rules (the HTTP/3 layer's tests).
 */
#include <stdint.h>
#include <stdlib.h>

#include "h3/headers.h"
#include "h3/huffman.h"
#include "h3/qpack.h"
#include "test.h"
#include "webtransport.h"

/* ---- helpers ---- */

#define MAX_FIELDS 16

/* Collects decoded fields; returns `abort_rv` from the callback numbered
 * `abort_at` (1-based; 0 never). */
typedef struct collector {
  size_t n;
  char name[MAX_FIELDS][128];
  char value[MAX_FIELDS][2048];
  size_t name_len[MAX_FIELDS], value_len[MAX_FIELDS];
  int terminated; /* every name and value was NUL-terminated */
  size_t abort_at;
  int abort_rv;
} collector;

static int collect(void *user_data, const char *name, size_t name_len, const char *value, size_t value_len) {
  collector *c = user_data;
  if (c->n == MAX_FIELDS || name_len >= sizeof(c->name[0]) || value_len >= sizeof(c->value[0])) return -100;
  if (name[name_len] != '\0' || value[value_len] != '\0') c->terminated = 0;
  memcpy(c->name[c->n], name, name_len + 1);
  memcpy(c->value[c->n], value, value_len + 1);
  c->name_len[c->n] = name_len;
  c->value_len[c->n] = value_len;
  c->n++;
  return c->n == c->abort_at ? c->abort_rv : 0;
}

static collector *new_collector(void) {
  collector *c = calloc(1, sizeof(*c));
  if (c) c->terminated = 1;
  return c;
}

/* Decodes hex with no size limit into a fresh collector (NULL on failure);
 * the decode result goes to *rv. */
static collector *decode_hex(const char *hex, size_t max, int *rv) {
  uint8_t buf[512];
  size_t n = test_unhex(hex, buf);
  collector *c = new_collector();
  if (c) *rv = wt_qpack_decode(buf, n, max, collect, c);
  return c;
}

/* wt_qpack_decode's result for a hex section. */
static int decode_rv(const char *hex) {
  int rv = -1000;
  free(decode_hex(hex, 0, &rv));
  return rv;
}

static int field_is(const collector *c, size_t i, const char *name, const char *value) {
  return i < c->n && c->name_len[i] == strlen(name) && strcmp(c->name[i], name) == 0 &&
         c->value_len[i] == strlen(value) && strcmp(c->value[i], value) == 0;
}

/* Test-side prefixed integer writer (RFC 7541 §5.1), kept independent of
 * the implementation's. */
static size_t put_prefixed(uint8_t *p, uint8_t pattern, unsigned prefix, uint64_t v) {
  uint64_t max = (1u << prefix) - 1;
  size_t n = 0;
  if (v < max) {
    p[n++] = (uint8_t)(pattern | v);
    return n;
  }
  p[n++] = (uint8_t)(pattern | max);
  v -= max;
  while (v >= 128) {
    p[n++] = (uint8_t)(0x80 | (v % 128));
    v /= 128;
  }
  p[n++] = (uint8_t)v;
  return n;
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
#define F(n, v)                                                                                                        \
  { n, sizeof(n) - 1, v, sizeof(v) - 1 }

/* Encodes fields into a fresh buffer; returns 1 if the bytes are `hex`
 * (printing them otherwise). */
static int encodes_to(const wt_qpack_field *f, size_t n, const char *hex) {
  uint8_t want[256];
  size_t wlen = test_unhex(hex, want);
  wt_buf out;
  wt_buf_init(&out);
  int ok =
      wt_qpack_encode(&out, f, n) == 0 && wt_buf_readable(&out) == wlen && memcmp(wt_buf_rpos(&out), want, wlen) == 0;
  if (!ok) {
    fprintf(stderr, "  encoded:");
    for (size_t i = 0; i < wt_buf_readable(&out); i++)
      fprintf(stderr, " %02x", wt_buf_rpos(&out)[i]);
    fprintf(stderr, "\n");
  }
  wt_buf_free(&out);
  return ok;
}

/* Encodes then decodes; returns 1 if the same fields come back in order. */
static int round_trips(const wt_qpack_field *f, size_t n) {
  wt_buf out;
  wt_buf_init(&out);
  collector *c = new_collector();
  int ok = c && wt_qpack_encode(&out, f, n) == 0 &&
           wt_qpack_decode(wt_buf_rpos(&out), wt_buf_readable(&out), 0, collect, c) == 0 && c->n == n && c->terminated;
  for (size_t i = 0; ok && i < n; i++)
    ok = c->name_len[i] == f[i].name_len && memcmp(c->name[i], f[i].name, f[i].name_len) == 0 &&
         c->value_len[i] == f[i].value_len && memcmp(c->value[i], f[i].value, f[i].value_len) == 0;
  free(c);
  wt_buf_free(&out);
  return ok;
}

/* Feeds hex to a fresh reader one byte at a time. Returns the first nonzero
 * result, or 0; *at gets the index of the byte that failed. */
static int feed_bytewise(int is_decoder_stream, const char *hex, size_t *at) {
  uint8_t buf[64];
  size_t n = test_unhex(hex, buf);
  wt_qpack_inst_reader r;
  wt_qpack_inst_reader_init(&r, is_decoder_stream);
  for (size_t i = 0; i < n; i++) {
    int rv = wt_qpack_inst_reader_feed(&r, &buf[i], 1);
    if (rv) {
      *at = i;
      /* Once failed, the reader stays failed. */
      return wt_qpack_inst_reader_feed(&r, (const uint8_t *)"\x20\x40", 2) == rv ? rv : -999;
    }
  }
  /* The same input in one piece must agree. */
  wt_qpack_inst_reader_init(&r, is_decoder_stream);
  return wt_qpack_inst_reader_feed(&r, buf, n) == 0 ? 0 : -998;
}

/* ---- a browser's request ---- */

/* Appends a string literal with the H bit at `hbit`, `prefix` bits for
 * its length, Huffman-coded when `huff`. */
static size_t put_string(uint8_t *p, uint8_t pattern, uint8_t hbit, unsigned prefix, const char *s, int huff) {
  size_t len = strlen(s), n;
  if (!huff) {
    n = put_prefixed(p, pattern, prefix, len);
    memcpy(p + n, s, len);
    return n + len;
  }
  size_t hl = wt_huffman_encoded_len((const uint8_t *)s, len);
  n = put_prefixed(p, pattern | hbit, prefix, hl);
  return n + wt_huffman_encode(p + n, (const uint8_t *)s, len);
}

/* What Firefox sends for a page (15 fields), encoded the ways browsers'
 * QPACK encoders mix without a dynamic table: static references, literals
 * with a static name reference (Huffman and raw values), and literal names
 * (Huffman and raw); decoded field by field and accepted as a request. */
static void test_decode_browser_request(void) {
  static const char *const want[][2] = {
      {":method", "GET"},
      {":scheme", "https"},
      {":authority", "localhost:4433"},
      {":path", "/"},
      {"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
      {"accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
      {"accept-language", "en-US,en;q=0.5"},
      {"accept-encoding", "gzip, deflate, br"},
      {"upgrade-insecure-requests", "1"},
      {"sec-fetch-dest", "document"},
      {"sec-fetch-mode", "navigate"},
      {"sec-fetch-site", "none"},
      {"sec-fetch-user", "?1"},
      {"priority", "u=0, i"},
      {"te", "trailers"},
  };
  uint8_t buf[2048], *p = buf;
  *p++ = 0; /* Required Insert Count 0 */
  *p++ = 0; /* Delta Base 0 */
  static const unsigned indexed[] = {17, 23};
  for (size_t i = 0; i < 2; i++)
    p += put_prefixed(p, 0xc0, 6, indexed[i]); /* indexed, static (T=1) */
  p += put_prefixed(p, 0x50, 4, 0);            /* :authority by name reference, raw value */
  p += put_string(p, 0x00, 0x80, 7, want[2][1], 0);
  p += put_prefixed(p, 0xc0, 6, 1); /* :path / */
  static const unsigned name_refs[] = {95, 29, 72};
  for (size_t i = 0; i < 3; i++) {
    p += put_prefixed(p, 0x50, 4, name_refs[i]); /* name reference, Huffman value */
    p += put_string(p, 0x00, 0x80, 7, want[4 + i][1], 1);
  }
  p += put_prefixed(p, 0xc0, 6, 31); /* accept-encoding: gzip, deflate, br */
  p += put_prefixed(p, 0xc0, 6, 94); /* upgrade-insecure-requests: 1 */
  for (size_t i = 9; i < 15; i++) {
    int huff = i % 2; /* literal names, alternately Huffman and raw */
    p += put_string(p, 0x20, 0x08, 3, want[i][0], huff);
    p += put_string(p, 0x00, 0x80, 7, want[i][1], !huff);
  }
  collector *c = new_collector();
  CHECK(c);
  int rv = wt_qpack_decode(buf, (size_t)(p - buf), 16384, collect, c);
  int ok = rv == 0 && c->n == 15 && c->terminated;
  for (size_t i = 0; ok && i < 15; i++)
    ok = field_is(c, i, want[i][0], want[i][1]);
  wt_h3_headers h;
  wt_h3_headers_init(&h);
  for (size_t i = 0; ok && i < 15; i++)
    ok = wt_h3_headers_add(&h, want[i][0], strlen(want[i][0]), want[i][1], strlen(want[i][1])) == 0;
  const char *why = NULL;
  if (ok) ok = wt_h3_headers_check_request(&h, 1, &why) == 0 && strcmp(h.method, "GET") == 0;
  wt_h3_headers_free(&h);
  free(c);
  CHECK(ok);
}

/* ---- static table ---- */

static void test_static_table_spot_checks(void) {
  static const struct {
    size_t i;
    const char *name, *value;
  } cases[] = {
      {0, ":authority", ""},
      {1, ":path", "/"},
      {15, ":method", "CONNECT"},
      {17, ":method", "GET"},
      {25, ":status", "200"},
      {27, ":status", "404"},
      {31, "accept-encoding", "gzip, deflate, br"},
      {52, "content-type", "text/html; charset=utf-8"},
      {54, "content-type", "text/plain;charset=utf-8"},
      {58, "strict-transport-security", "max-age=31536000; includesubdomains; preload"},
      {85, "content-security-policy", "script-src 'none'; object-src 'none'; base-uri 'none'"},
      {90, "origin", ""},
      {98, "x-frame-options", "sameorigin"},
  };
  for (size_t k = 0; k < NFIELDS(cases); k++) {
    const char *name, *value;
    wt_qpack_static_entry(cases[k].i, &name, &value);
    CHECK(strcmp(name, cases[k].name) == 0);
    CHECK(strcmp(value, cases[k].value) == 0);
  }
}

static void test_decode_every_static_entry(void) {
  for (size_t i = 0; i < WT_QPACK_STATIC_TABLE_SIZE; i++) {
    uint8_t buf[8] = {0x00, 0x00};
    size_t n = 2 + put_prefixed(buf + 2, 0xc0, 6, i);
    collector *c = new_collector();
    CHECK(c);
    int rv = wt_qpack_decode(buf, n, 0, collect, c);
    const char *name, *value;
    wt_qpack_static_entry(i, &name, &value);
    int ok = rv == 0 && field_is(c, 0, name, value) && c->n == 1 && c->terminated;
    free(c);
    CHECK(ok);
  }
}

/* ---- encoding ---- */

static void test_encode_indexed_exact(void) {
  static const wt_qpack_field get[] = {F(":method", "GET")};
  static const wt_qpack_field ok[] = {F(":status", "200")};
  static const wt_qpack_field not_found[] = {F(":status", "404")};
  static const wt_qpack_field connect[] = {F(":method", "CONNECT")};
  static const wt_qpack_field s100[] = {F(":status", "100")};
  static const wt_qpack_field s302[] = {F(":status", "302")};
  CHECK(encodes_to(get, 1, "0000 d1"));       /* index 17 */
  CHECK(encodes_to(ok, 1, "0000 d9"));        /* index 25 */
  CHECK(encodes_to(not_found, 1, "0000 db")); /* index 27 */
  CHECK(encodes_to(connect, 1, "0000 cf"));   /* index 15 */
  CHECK(encodes_to(s100, 1, "0000 ff00"));    /* index 63: 6-bit prefix full */
  CHECK(encodes_to(s302, 1, "0000 ff03"));    /* index 66 */
  CHECK(encodes_to(NULL, 0, "0000"));
}

static void test_encode_name_reference(void) {
  /* :path is index 1; "/echo" Huffman-codes to 4 bytes:
   * 011000 00101 00100 100111 00111 + 11111. */
  static const wt_qpack_field path[] = {F(":path", "/echo")};
  /* :status (index 24, first with that name), "299" raw: Huffman is as long. */
  static const wt_qpack_field status[] = {F(":status", "299")};
  CHECK(encodes_to(path, 1, "0000 51 84 60a49cff"));
  CHECK(encodes_to(status, 1, "0000 5f09 03 323939"));
}

static void test_encode_literal_name(void) {
  /* 'x' and 'y' take 7 bits each: Huffman is not shorter. */
  static const wt_qpack_field xy[] = {F("x", "y")};
  /* Ten '~' (13 bits each): raw, and the 3-bit name length overflows. */
  static const wt_qpack_field tilde[] = {F("~~~~~~~~~~", "")};
  /* "abc" Huffman-codes to 2 bytes (00011 100011 00100 + 1). */
  static const wt_qpack_field abc[] = {F("abc", "abc")};
  CHECK(encodes_to(xy, 1, "0000 21 78 01 79"));
  CHECK(encodes_to(tilde, 1, "0000 2703 7e7e7e7e7e7e7e7e7e7e 00"));
  CHECK(encodes_to(abc, 1, "0000 2a 1c64 82 1c64"));
}

static void test_encode_appends_and_keeps_earlier_bytes(void) {
  static const wt_qpack_field get[] = {F(":method", "GET")};
  wt_buf out;
  wt_buf_init(&out);
  CHECK_EQ(wt_buf_append(&out, "xyz", 3), 0);
  wt_buf_consume(&out, 1);
  CHECK_EQ(wt_qpack_encode(&out, get, 1), 0);
  int ok = wt_buf_readable(&out) == 5 && memcmp(wt_buf_rpos(&out), "yz\x00\x00\xd1", 5) == 0;
  wt_buf_free(&out);
  CHECK(ok);
}

/* ---- round trips ---- */

static void test_roundtrip_webtransport_request(void) {
  static const wt_qpack_field req[] = {
      F(":method", "CONNECT"),
      F(":protocol", "webtransport"),
      F(":scheme", "https"),
      F(":authority", "localhost:4433"),
      F(":path", "/echo"),
      F("origin", "https://localhost:4433"),
      F("sec-webtransport-http3-draft02", "1"),
  };
  CHECK(round_trips(req, NFIELDS(req)));
}

static void test_roundtrip_responses(void) {
  static const wt_qpack_field ok[] = {F(":status", "200"), F("sec-webtransport-http3-draft", "draft02")};
  static const wt_qpack_field not_found[] = {F(":status", "404")};
  static const wt_qpack_field empty_value[] = {F("x-empty", ""), F(":authority", "")};
  CHECK(round_trips(ok, NFIELDS(ok)));
  CHECK(round_trips(not_found, NFIELDS(not_found)));
  CHECK(round_trips(empty_value, NFIELDS(empty_value)));
}

static void test_roundtrip_long_and_binary_values(void) {
  char value[1500];
  for (size_t i = 0; i < sizeof(value); i++)
    value[i] = (char)(i * 7);
  wt_qpack_field f[2] = {F("x-long", ""), F("cookie", "")};
  f[0].value = value;
  f[0].value_len = sizeof(value);
  f[1].value = "a=b; c=d";
  f[1].value_len = 8;
  CHECK(round_trips(f, 2));
}

/* ---- decoding hand-made sections ---- */

static void test_decode_literal_names_and_huffman(void) {
  int rv;
  /* Literal name, both Huffman: custom-key: custom-value (RFC 7541 C.4.3
   * strings); name length 8 overflows the 3-bit prefix (0x2f 0x01). Then
   * :authority (index 0) with a Huffman value, then a raw literal name. */
  collector *c = decode_hex("0000"
                            "2f01 25a849e95ba97d7f 89 25a849e95bb8e8b4bf"
                            "50 8c f1e3c2e5f23a6ba0ab90f4ff"
                            "23 616263 03 646566",
                            0, &rv);
  CHECK(c);
  int ok = rv == 0 && c->n == 3 && c->terminated && field_is(c, 0, "custom-key", "custom-value") &&
           field_is(c, 1, ":authority", "www.example.com") && field_is(c, 2, "abc", "def");
  free(c);
  CHECK(ok);
}

static void test_decode_n_bit_and_delta_base(void) {
  int rv;
  /* S=0 with a nonzero Delta Base (even a multi-byte one) is valid without
   * dynamic references; N=1 on both literal forms is accepted. */
  collector *c = decode_hex("00 7f10 70 01 61 31 61 01 62", 0, &rv);
  CHECK(c);
  int ok = rv == 0 && field_is(c, 0, ":authority", "a") && field_is(c, 1, "a", "b");
  free(c);
  CHECK(ok);
  CHECK_EQ(decode_rv("00 05 d1"), 0);
}

static void test_decode_empty_section(void) {
  int rv;
  collector *c = decode_hex("0000", 0, &rv);
  CHECK(c);
  size_t n = c->n;
  free(c);
  CHECK_EQ(rv, 0);
  CHECK_EQ(n, 0);
}

static void test_decode_integer_limits(void) {
  /* Delta Base = 2^62 - 1 is the largest accepted integer; 2^62 is not. */
  uint8_t buf[32] = {0x00};
  size_t n = 1 + put_prefixed(buf + 1, 0x00, 7, (UINT64_C(1) << 62) - 1);
  CHECK_EQ(wt_qpack_decode(buf, n, 0, collect, NULL), 0);
  n = 1 + put_prefixed(buf + 1, 0x00, 7, UINT64_C(1) << 62);
  CHECK_EQ(wt_qpack_decode(buf, n, 0, collect, NULL), WT_ERR_PROTO);
  /* Zero-valued continuation bytes are redundant but legal, up to the limit. */
  CHECK_EQ(decode_rv("00 7f 80 80 00 d1"), 0);
  CHECK_EQ(decode_rv("00 7f 80 80 80 80 80 80 80 80 80 80 80 00 d1"), WT_ERR_PROTO);
  CHECK_EQ(decode_rv("0000 ff ffffffffffffffffffffffff 01"), WT_ERR_PROTO);
}

/* ---- rejected sections ---- */

static void test_reject_required_insert_count(void) {
  CHECK_EQ(decode_rv("01 00 d1"), WT_ERR_PROTO);
  CHECK_EQ(decode_rv("ff 01 00 d1"), WT_ERR_PROTO);
}

static void test_reject_negative_base(void) {
  /* S=1 with Required Insert Count 0 (RFC 9204 §4.5.1.2). */
  CHECK_EQ(decode_rv("00 80 d1"), WT_ERR_PROTO);
  CHECK_EQ(decode_rv("00 81 d1"), WT_ERR_PROTO);
}

static void test_reject_dynamic_references(void) {
  CHECK_EQ(decode_rv("0000 80"), WT_ERR_PROTO);       /* indexed, T=0 */
  CHECK_EQ(decode_rv("0000 bf 05"), WT_ERR_PROTO);    /* indexed, T=0, long index */
  CHECK_EQ(decode_rv("0000 10"), WT_ERR_PROTO);       /* indexed post-base */
  CHECK_EQ(decode_rv("0000 40 01 61"), WT_ERR_PROTO); /* name ref, T=0 */
  CHECK_EQ(decode_rv("0000 60 01 61"), WT_ERR_PROTO); /* name ref, N=1 T=0 */
  CHECK_EQ(decode_rv("0000 00 01 61"), WT_ERR_PROTO); /* post-base name ref */
  CHECK_EQ(decode_rv("0000 08 01 61"), WT_ERR_PROTO); /* post-base name ref, N=1 */
  CHECK_EQ(decode_rv("0000 d1 80"), WT_ERR_PROTO);    /* after a valid line */
}

static void test_reject_static_index_out_of_range(void) {
  CHECK_EQ(decode_rv("0000 ff23"), 0);                /* index 98 */
  CHECK_EQ(decode_rv("0000 ff24"), WT_ERR_PROTO);     /* index 99 */
  CHECK_EQ(decode_rv("0000 ff ff 7f"), WT_ERR_PROTO); /* far beyond */
  CHECK_EQ(decode_rv("0000 5f53 01 61"), 0);          /* name index 98 */
  CHECK_EQ(decode_rv("0000 5f54 01 61"), WT_ERR_PROTO);
}

static void test_reject_truncation(void) {
  CHECK_EQ(wt_qpack_decode(NULL, 0, 0, collect, NULL), WT_ERR_PROTO);
  CHECK_EQ(decode_rv("00"), WT_ERR_PROTO);                /* no Delta Base */
  CHECK_EQ(decode_rv("ff"), WT_ERR_PROTO);                /* RIC continuation missing */
  CHECK_EQ(decode_rv("00 7f"), WT_ERR_PROTO);             /* Delta Base continuation */
  CHECK_EQ(decode_rv("0000 ff"), WT_ERR_PROTO);           /* index continuation */
  CHECK_EQ(decode_rv("0000 ff 80"), WT_ERR_PROTO);        /* ... still continuing */
  CHECK_EQ(decode_rv("0000 51"), WT_ERR_PROTO);           /* value missing */
  CHECK_EQ(decode_rv("0000 51 7f"), WT_ERR_PROTO);        /* value length continuation */
  CHECK_EQ(decode_rv("0000 51 05 2f65"), WT_ERR_PROTO);   /* value shorter than its length */
  CHECK_EQ(decode_rv("0000 23 6162"), WT_ERR_PROTO);      /* name shorter than its length */
  CHECK_EQ(decode_rv("0000 21 61"), WT_ERR_PROTO);        /* value missing after name */
  CHECK_EQ(decode_rv("0000 27"), WT_ERR_PROTO);           /* name length continuation */
  CHECK_EQ(decode_rv("0000 51 84 60a49c"), WT_ERR_PROTO); /* Huffman value cut short */
}

static void test_reject_bad_huffman(void) {
  CHECK_EQ(decode_rv("0000 51 84 60a49cff"), 0);            /* "/echo" as control */
  CHECK_EQ(decode_rv("0000 51 81 ff"), WT_ERR_PROTO);       /* 8 bits of padding */
  CHECK_EQ(decode_rv("0000 51 84 ffffffff"), WT_ERR_PROTO); /* EOS */
  CHECK_EQ(decode_rv("0000 51 81 1e"), WT_ERR_PROTO);       /* padding with a zero */
  CHECK_EQ(decode_rv("0000 29 ff 01 61"), WT_ERR_PROTO);    /* in a literal name */
}

/* ---- max_section_size ---- */

static void test_section_size_limit(void) {
  int rv;
  /* :method GET counts 7 + 3 + 32 = 42. */
  free(decode_hex("0000 d1", 42, &rv));
  CHECK_EQ(rv, 0);
  free(decode_hex("0000 d1", 41, &rv));
  CHECK_EQ(rv, WT_ERR_TOO_LARGE);
  /* Two fields: 42 + (1 + 1 + 32) = 76. */
  free(decode_hex("0000 d1 21 61 01 62", 76, &rv));
  CHECK_EQ(rv, 0);
  free(decode_hex("0000 d1 21 61 01 62", 75, &rv));
  CHECK_EQ(rv, WT_ERR_TOO_LARGE);
  /* Name reference with a Huffman value: :path (5) + "/echo" (5) + 32 = 42. */
  free(decode_hex("0000 51 84 60a49cff", 42, &rv));
  CHECK_EQ(rv, 0);
  free(decode_hex("0000 51 84 60a49cff", 41, &rv));
  CHECK_EQ(rv, WT_ERR_TOO_LARGE);
}

static void test_section_size_limit_fails_before_reading_value(void) {
  /* A raw 1000-byte value with max 100 is refused before it is copied (the
   * callback would fail the test with NULL user data); if its bytes are
   * missing, the section is malformed first. */
  uint8_t buf[1100] = {0x00, 0x00, 0x21, 'a'};
  size_t n = 4 + put_prefixed(buf + 4, 0x00, 7, 1000);
  CHECK_EQ(wt_qpack_decode(buf, n + 1000, 100, collect, NULL), WT_ERR_TOO_LARGE);
  CHECK_EQ(wt_qpack_decode(buf, n, 100, collect, NULL), WT_ERR_PROTO);
  /* A Huffman value of 1600 '0's (1000 zero bytes) stops at the budget;
   * without a limit it decodes. */
  n = 4 + put_prefixed(buf + 4, 0x80, 7, 1000);
  memset(buf + n, 0x00, 1000);
  CHECK_EQ(wt_qpack_decode(buf, n + 1000, 200, collect, NULL), WT_ERR_TOO_LARGE);
  collector *c = new_collector();
  CHECK(c);
  int rv = wt_qpack_decode(buf, n + 1000, 0, collect, c);
  size_t vlen = c->value_len[0];
  free(c);
  CHECK_EQ(rv, 0);
  CHECK_EQ(vlen, 1600);
}

/* ---- callback ---- */

static void test_callback_abort(void) {
  uint8_t buf[16];
  size_t n = test_unhex("0000 d1 d9 db", buf);
  collector *c = new_collector();
  CHECK(c);
  c->abort_at = 2;
  c->abort_rv = 7;
  int rv = wt_qpack_decode(buf, n, 0, collect, c);
  size_t calls = c->n;
  c->abort_rv = WT_ERR_STATE;
  c->n = 0;
  int rv2 = wt_qpack_decode(buf, n, 0, collect, c);
  free(c);
  CHECK_EQ(rv, 7);
  CHECK_EQ(calls, 2);
  CHECK_EQ(rv2, WT_ERR_STATE);
}

/* ---- instruction streams ---- */

static void test_encoder_stream_accepts_capacity_zero(void) {
  size_t at = 0;
  CHECK_EQ(feed_bytewise(0, "", &at), 0);
  CHECK_EQ(feed_bytewise(0, "20", &at), 0);
  CHECK_EQ(feed_bytewise(0, "20 20 20", &at), 0);
}

static void test_encoder_stream_rejects(void) {
  static const struct {
    const char *hex;
    size_t at;
  } cases[] = {
      {"21", 0},          /* capacity 1 */
      {"20 3e", 1},       /* capacity 30 after a valid 0 */
      {"3f 00", 0},       /* capacity 31: rejected at the prefix */
      {"3f e1 1f", 0},    /* capacity 4096 */
      {"c0 01 61", 0},    /* insert with static name reference */
      {"80 01 61", 0},    /* insert with dynamic name reference */
      {"41 61 01 62", 0}, /* insert with literal name */
      {"61 01 62", 0},    /* insert with Huffman literal name */
      {"00", 0},          /* duplicate */
      {"1f 05", 0},       /* duplicate, long index */
  };
  for (size_t i = 0; i < NFIELDS(cases); i++) {
    size_t at = 99;
    CHECK_EQ(feed_bytewise(0, cases[i].hex, &at), WT_ERR_PROTO);
    CHECK_EQ(at, cases[i].at);
  }
}

static void test_decoder_stream_accepts_cancellation(void) {
  size_t at = 0;
  CHECK_EQ(feed_bytewise(1, "40", &at), 0);
  CHECK_EQ(feed_bytewise(1, "44 7e", &at), 0);
  /* Stream IDs needing continuation bytes, split mid-integer. */
  CHECK_EQ(feed_bytewise(1, "7f 80 01 40", &at), 0);
  CHECK_EQ(feed_bytewise(1, "7f 00 7f ff ff ff ff ff ff ff 3f", &at), 0);
}

static void test_decoder_stream_rejects(void) {
  static const struct {
    const char *hex;
    size_t at;
  } cases[] = {
      {"80", 0},       /* section acknowledgment, stream 0 */
      {"84", 0},       /* section acknowledgment, stream 4 */
      {"41 ff 05", 1}, /* ... after a valid cancellation */
      {"01", 0},       /* insert count increment 1 */
      {"00", 0},       /* insert count increment 0 */
      {"3f 10", 0},    /* insert count increment, long */
      /* Stream Cancellation whose ID passes 2^62. */
      {"7f ff ff ff ff ff ff ff ff 7f", 9},
      {"7f 80 80 80 80 80 80 80 80 80 00", 10},
  };
  for (size_t i = 0; i < NFIELDS(cases); i++) {
    size_t at = 99;
    CHECK_EQ(feed_bytewise(1, cases[i].hex, &at), WT_ERR_PROTO);
    CHECK_EQ(at, cases[i].at);
  }
}

static void test_instruction_reader_partial_then_rest(void) {
  /* A cancellation split across two feeds of several bytes. */
  static const uint8_t part1[] = {0x40, 0x7f, 0x80};
  static const uint8_t part2[] = {0x80, 0x01, 0x41};
  wt_qpack_inst_reader r;
  wt_qpack_inst_reader_init(&r, 1);
  CHECK_EQ(wt_qpack_inst_reader_feed(&r, part1, sizeof(part1)), 0);
  CHECK_EQ(wt_qpack_inst_reader_feed(&r, NULL, 0), 0);
  CHECK_EQ(wt_qpack_inst_reader_feed(&r, part2, sizeof(part2)), 0);
  /* Now at an instruction boundary: an acknowledgment is rejected. */
  CHECK_EQ(wt_qpack_inst_reader_feed(&r, (const uint8_t *)"\x80", 1), WT_ERR_PROTO);
}

int main(void) {
  RUN(test_static_table_spot_checks);
  RUN(test_decode_every_static_entry);
  RUN(test_encode_indexed_exact);
  RUN(test_encode_name_reference);
  RUN(test_encode_literal_name);
  RUN(test_encode_appends_and_keeps_earlier_bytes);
  RUN(test_roundtrip_webtransport_request);
  RUN(test_roundtrip_responses);
  RUN(test_roundtrip_long_and_binary_values);
  RUN(test_decode_literal_names_and_huffman);
  RUN(test_decode_browser_request);
  RUN(test_decode_n_bit_and_delta_base);
  RUN(test_decode_empty_section);
  RUN(test_decode_integer_limits);
  RUN(test_reject_required_insert_count);
  RUN(test_reject_negative_base);
  RUN(test_reject_dynamic_references);
  RUN(test_reject_static_index_out_of_range);
  RUN(test_reject_truncation);
  RUN(test_reject_bad_huffman);
  RUN(test_section_size_limit);
  RUN(test_section_size_limit_fails_before_reading_value);
  RUN(test_callback_abort);
  RUN(test_encoder_stream_accepts_capacity_zero);
  RUN(test_encoder_stream_rejects);
  RUN(test_decoder_stream_accepts_cancellation);
  RUN(test_decoder_stream_rejects);
  RUN(test_instruction_reader_partial_then_rest);
  return TEST_REPORT();
}
