/*
 * qpack.c: QPACK with the static table only (see qpack.h).
 *
 * For: encoding field sections from static references and literals,
 * decoding field sections that use no dynamic table, and validating the
 * peer's encoder and decoder instruction streams. Not for: a dynamic table
 * (we advertise capacity 0) or HTTP field validation (the HTTP/3 layer).
 */
#include "h3/qpack.h"

#include <stdlib.h>
#include <string.h>

#include "h3/huffman.h"
#include "webtransport.h"

/* ---- static table ---- */

typedef struct static_entry {
  const char *name;
  const char *value;
  size_t name_len;
  size_t value_len;
} static_entry;

#define E(n, v)                                                                                                        \
  { n, v, sizeof(n) - 1, sizeof(v) - 1 }

/* RFC 9204 Appendix A. Generated from the RFC's markdown source and checked
 * against its text and HTML renderings (the text one wraps long values, which
 * makes it ambiguous about spaces, e.g. in entries 52 and 54). */
static const static_entry static_table[WT_QPACK_STATIC_TABLE_SIZE] = {
    E(":authority", ""),                                                                   /* 0 */
    E(":path", "/"),                                                                       /* 1 */
    E("age", "0"),                                                                         /* 2 */
    E("content-disposition", ""),                                                          /* 3 */
    E("content-length", "0"),                                                              /* 4 */
    E("cookie", ""),                                                                       /* 5 */
    E("date", ""),                                                                         /* 6 */
    E("etag", ""),                                                                         /* 7 */
    E("if-modified-since", ""),                                                            /* 8 */
    E("if-none-match", ""),                                                                /* 9 */
    E("last-modified", ""),                                                                /* 10 */
    E("link", ""),                                                                         /* 11 */
    E("location", ""),                                                                     /* 12 */
    E("referer", ""),                                                                      /* 13 */
    E("set-cookie", ""),                                                                   /* 14 */
    E(":method", "CONNECT"),                                                               /* 15 */
    E(":method", "DELETE"),                                                                /* 16 */
    E(":method", "GET"),                                                                   /* 17 */
    E(":method", "HEAD"),                                                                  /* 18 */
    E(":method", "OPTIONS"),                                                               /* 19 */
    E(":method", "POST"),                                                                  /* 20 */
    E(":method", "PUT"),                                                                   /* 21 */
    E(":scheme", "http"),                                                                  /* 22 */
    E(":scheme", "https"),                                                                 /* 23 */
    E(":status", "103"),                                                                   /* 24 */
    E(":status", "200"),                                                                   /* 25 */
    E(":status", "304"),                                                                   /* 26 */
    E(":status", "404"),                                                                   /* 27 */
    E(":status", "503"),                                                                   /* 28 */
    E("accept", "*/*"),                                                                    /* 29 */
    E("accept", "application/dns-message"),                                                /* 30 */
    E("accept-encoding", "gzip, deflate, br"),                                             /* 31 */
    E("accept-ranges", "bytes"),                                                           /* 32 */
    E("access-control-allow-headers", "cache-control"),                                    /* 33 */
    E("access-control-allow-headers", "content-type"),                                     /* 34 */
    E("access-control-allow-origin", "*"),                                                 /* 35 */
    E("cache-control", "max-age=0"),                                                       /* 36 */
    E("cache-control", "max-age=2592000"),                                                 /* 37 */
    E("cache-control", "max-age=604800"),                                                  /* 38 */
    E("cache-control", "no-cache"),                                                        /* 39 */
    E("cache-control", "no-store"),                                                        /* 40 */
    E("cache-control", "public, max-age=31536000"),                                        /* 41 */
    E("content-encoding", "br"),                                                           /* 42 */
    E("content-encoding", "gzip"),                                                         /* 43 */
    E("content-type", "application/dns-message"),                                          /* 44 */
    E("content-type", "application/javascript"),                                           /* 45 */
    E("content-type", "application/json"),                                                 /* 46 */
    E("content-type", "application/x-www-form-urlencoded"),                                /* 47 */
    E("content-type", "image/gif"),                                                        /* 48 */
    E("content-type", "image/jpeg"),                                                       /* 49 */
    E("content-type", "image/png"),                                                        /* 50 */
    E("content-type", "text/css"),                                                         /* 51 */
    E("content-type", "text/html; charset=utf-8"),                                         /* 52 */
    E("content-type", "text/plain"),                                                       /* 53 */
    E("content-type", "text/plain;charset=utf-8"),                                         /* 54 */
    E("range", "bytes=0-"),                                                                /* 55 */
    E("strict-transport-security", "max-age=31536000"),                                    /* 56 */
    E("strict-transport-security", "max-age=31536000; includesubdomains"),                 /* 57 */
    E("strict-transport-security", "max-age=31536000; includesubdomains; preload"),        /* 58 */
    E("vary", "accept-encoding"),                                                          /* 59 */
    E("vary", "origin"),                                                                   /* 60 */
    E("x-content-type-options", "nosniff"),                                                /* 61 */
    E("x-xss-protection", "1; mode=block"),                                                /* 62 */
    E(":status", "100"),                                                                   /* 63 */
    E(":status", "204"),                                                                   /* 64 */
    E(":status", "206"),                                                                   /* 65 */
    E(":status", "302"),                                                                   /* 66 */
    E(":status", "400"),                                                                   /* 67 */
    E(":status", "403"),                                                                   /* 68 */
    E(":status", "421"),                                                                   /* 69 */
    E(":status", "425"),                                                                   /* 70 */
    E(":status", "500"),                                                                   /* 71 */
    E("accept-language", ""),                                                              /* 72 */
    E("access-control-allow-credentials", "FALSE"),                                        /* 73 */
    E("access-control-allow-credentials", "TRUE"),                                         /* 74 */
    E("access-control-allow-headers", "*"),                                                /* 75 */
    E("access-control-allow-methods", "get"),                                              /* 76 */
    E("access-control-allow-methods", "get, post, options"),                               /* 77 */
    E("access-control-allow-methods", "options"),                                          /* 78 */
    E("access-control-expose-headers", "content-length"),                                  /* 79 */
    E("access-control-request-headers", "content-type"),                                   /* 80 */
    E("access-control-request-method", "get"),                                             /* 81 */
    E("access-control-request-method", "post"),                                            /* 82 */
    E("alt-svc", "clear"),                                                                 /* 83 */
    E("authorization", ""),                                                                /* 84 */
    E("content-security-policy", "script-src 'none'; object-src 'none'; base-uri 'none'"), /* 85 */
    E("early-data", "1"),                                                                  /* 86 */
    E("expect-ct", ""),                                                                    /* 87 */
    E("forwarded", ""),                                                                    /* 88 */
    E("if-range", ""),                                                                     /* 89 */
    E("origin", ""),                                                                       /* 90 */
    E("purpose", "prefetch"),                                                              /* 91 */
    E("server", ""),                                                                       /* 92 */
    E("timing-allow-origin", "*"),                                                         /* 93 */
    E("upgrade-insecure-requests", "1"),                                                   /* 94 */
    E("user-agent", ""),                                                                   /* 95 */
    E("x-forwarded-for", ""),                                                              /* 96 */
    E("x-frame-options", "deny"),                                                          /* 97 */
    E("x-frame-options", "sameorigin"),                                                    /* 98 */
};

#undef E

void wt_qpack_static_entry(size_t i, const char **name, const char **value) {
  const static_entry *e = i < WT_QPACK_STATIC_TABLE_SIZE ? &static_table[i] : NULL;
  *name = e ? e->name : NULL;
  *value = e ? e->value : NULL;
}

/* ---- prefixed integers (RFC 7541 §5.1, RFC 9204 §4.1.1) ---- */

/* RFC 9204 §4.1.1 requires decoding 62-bit integers; nothing in QPACK needs
 * more, so anything larger is malformed. */
#define QPACK_INT_MAX ((UINT64_C(1) << 62) - 1)

/* Longest encoding int_write produces: a prefix byte plus ceil(64 / 7). */
#define QPACK_INT_MAX_LEN 11

/* Starts an integer whose `prefix`-bit prefix is in the low bits of b.
 * Returns 1 if the prefix holds the whole value, 0 if continuation bytes
 * follow (the prefix is all ones). */
static int int_start(uint8_t b, unsigned prefix, uint64_t *v, unsigned *shift) {
  uint8_t max = (uint8_t)((1u << prefix) - 1);
  *v = b & max;
  *shift = 0;
  return *v < max;
}

/* Adds one continuation byte. Returns 1 when the integer is complete, 0 when
 * more bytes follow, WT_ERR_PROTO beyond QPACK_INT_MAX (which also bounds the
 * number of continuation bytes, zero-valued ones included). */
static int int_continue(uint8_t b, uint64_t *v, unsigned *shift) {
  if (*shift > 56) return WT_ERR_PROTO; /* these 7 bits would start past bit 62 */
  *v += (uint64_t)(b & 0x7f) << *shift;
  if (*v > QPACK_INT_MAX) return WT_ERR_PROTO;
  *shift += 7;
  return !(b & 0x80);
}

/* Writes v with a `prefix`-bit prefix below the bits `pattern`. Returns the
 * length, at most QPACK_INT_MAX_LEN. */
static size_t int_write(uint8_t *p, uint8_t pattern, unsigned prefix, uint64_t v) {
  uint8_t max = (uint8_t)((1u << prefix) - 1);
  size_t n = 1;
  if (v < max) {
    p[0] = (uint8_t)(pattern | v);
    return n;
  }
  p[0] = pattern | max;
  for (v -= max; v >= 0x80; v >>= 7)
    p[n++] = (uint8_t)(v | 0x80);
  p[n++] = (uint8_t)v;
  return n;
}

/* ---- field section decoding ---- */

/* RFC 9114 §4.2.2: each field counts its name and value lengths plus 32. */
#define FIELD_OVERHEAD 32

typedef struct section_reader {
  const uint8_t *p, *end;
  size_t budget;    /* decoded bytes still allowed by max_section_size */
  uint8_t *scratch; /* the current line's literal strings, NUL-terminated */
  size_t scratch_cap;
} section_reader;

/* Reads a prefixed integer starting at the current byte; truncation and
 * overflow are both WT_ERR_PROTO. */
static int read_int(section_reader *r, unsigned prefix, uint64_t *v) {
  unsigned shift;
  if (r->p == r->end) return WT_ERR_PROTO;
  int rv = int_start(*r->p++, prefix, v, &shift);
  while (rv == 0) {
    if (r->p == r->end) return WT_ERR_PROTO;
    rv = int_continue(*r->p++, v, &shift);
  }
  return rv < 0 ? rv : 0;
}

/* Counts n decoded bytes against max_section_size. */
static int charge(section_reader *r, size_t n) {
  if (n > r->budget) return WT_ERR_TOO_LARGE;
  r->budget -= n;
  return 0;
}

static int reserve_scratch(section_reader *r, size_t need) {
  if (need <= r->scratch_cap) return 0;
  uint8_t *s = realloc(r->scratch, need);
  if (!s) return WT_ERR_NOMEM;
  r->scratch = s;
  r->scratch_cap = need;
  return 0;
}

/* len * 8 / 5 + 1 (huffman.h's bound: the shortest code is 5 bits) without
 * overflowing len * 8. */
static size_t huffman_bound(size_t len) { return len / 5 * 8 + len % 5 * 8 / 5 + 1; }

/* Decodes the len string bytes at r->p into scratch at `off`, never past the
 * remaining budget, so memory stays bounded by both the input and
 * max_section_size. */
static int copy_string(section_reader *r, int huffman, size_t len, size_t off, size_t *out_len) {
  size_t cap = huffman ? huffman_bound(len) : len;
  if (cap > r->budget) {
    if (!huffman) return WT_ERR_TOO_LARGE;
    cap = r->budget; /* decoding stops with WT_ERR_TOO_LARGE if it needs more */
  }
  int rv = reserve_scratch(r, off + cap + 1);
  if (rv) return rv;
  size_t n = len;
  if (huffman) {
    ssize_t d = wt_huffman_decode(r->scratch + off, cap, r->p, len);
    if (d < 0) return (int)d;
    n = (size_t)d;
  } else {
    memcpy(r->scratch + off, r->p, len);
  }
  r->p += len;
  r->scratch[off + n] = '\0';
  *out_len = n;
  return charge(r, n);
}

/* Reads an N-bit prefix string literal (RFC 9204 §4.1.2: H bit, then an
 * (N-1)-bit prefix length) into scratch at `off`. */
static int read_string(section_reader *r, unsigned n, size_t off, size_t *out_len) {
  uint64_t len;
  if (r->p == r->end) return WT_ERR_PROTO;
  int huffman = (*r->p >> (n - 1)) & 1;
  int rv = read_int(r, n - 1, &len);
  if (rv) return rv;
  if (len > (uint64_t)(r->end - r->p)) return WT_ERR_PROTO;
  return copy_string(r, huffman, (size_t)len, off, out_len);
}

/* Reads a static table index with a `prefix`-bit prefix. */
static int read_static_ref(section_reader *r, unsigned prefix, const static_entry **e) {
  uint64_t idx;
  int rv = read_int(r, prefix, &idx);
  if (rv) return rv;
  if (idx >= WT_QPACK_STATIC_TABLE_SIZE) return WT_ERR_PROTO;
  *e = &static_table[idx];
  return 0;
}

/* Indexed Field Line (§4.5.2): 1 T Index(6+). */
static int decode_indexed(section_reader *r, wt_qpack_field_cb cb, void *user_data) {
  const static_entry *e;
  if (!(*r->p & 0x40)) return WT_ERR_PROTO; /* T=0: dynamic table */
  int rv = read_static_ref(r, 6, &e);
  if (!rv) rv = charge(r, FIELD_OVERHEAD + e->name_len + e->value_len);
  return rv ? rv : cb(user_data, e->name, e->name_len, e->value, e->value_len);
}

/* Literal Field Line with Name Reference (§4.5.4): 01 N T Index(4+), then
 * the value as an 8-bit prefix string. */
static int decode_name_ref(section_reader *r, wt_qpack_field_cb cb, void *user_data) {
  const static_entry *e;
  size_t vlen = 0;
  if (!(*r->p & 0x10)) return WT_ERR_PROTO; /* T=0: dynamic table */
  int rv = read_static_ref(r, 4, &e);
  if (!rv) rv = charge(r, FIELD_OVERHEAD + e->name_len);
  if (!rv) rv = read_string(r, 8, 0, &vlen);
  return rv ? rv : cb(user_data, e->name, e->name_len, (const char *)r->scratch, vlen);
}

/* Literal Field Line with Literal Name (§4.5.6): 001 N H NameLen(3+), the
 * name, then the value as an 8-bit prefix string. */
static int decode_literal(section_reader *r, wt_qpack_field_cb cb, void *user_data) {
  size_t nlen = 0, vlen = 0;
  int rv = charge(r, FIELD_OVERHEAD);
  if (!rv) rv = read_string(r, 4, 0, &nlen);
  if (!rv) rv = read_string(r, 8, nlen + 1, &vlen);
  if (rv) return rv;
  const char *s = (const char *)r->scratch;
  return cb(user_data, s, nlen, s + nlen + 1, vlen);
}

static int decode_line(section_reader *r, wt_qpack_field_cb cb, void *user_data) {
  uint8_t b = *r->p;
  if (b & 0x80) return decode_indexed(r, cb, user_data);
  if (b & 0x40) return decode_name_ref(r, cb, user_data);
  if (b & 0x20) return decode_literal(r, cb, user_data);
  return WT_ERR_PROTO; /* 0001 and 0000: post-Base references, dynamic only */
}

/* Encoded Field Section Prefix (§4.5.1). */
static int read_prefix(section_reader *r) {
  uint64_t ric, delta_base;
  int rv = read_int(r, 8, &ric);
  if (rv) return rv;
  if (ric != 0) return WT_ERR_PROTO; /* our table never holds an entry */
  if (r->p == r->end) return WT_ERR_PROTO;
  /* S=1 means Base = RIC - Delta Base - 1, negative when RIC is 0, and
   * §4.5.1.2 requires rejecting it. With S=0 any Delta Base is valid: Base
   * only matters to dynamic references, which we reject anyway. */
  if (*r->p & 0x80) return WT_ERR_PROTO;
  return read_int(r, 7, &delta_base);
}

int wt_qpack_decode(const uint8_t *p, size_t len, size_t max_section_size, wt_qpack_field_cb cb, void *user_data) {
  if (len == 0) return WT_ERR_PROTO; /* not even a prefix (and p may be NULL) */
  section_reader r = {p, p + len, max_section_size ? max_section_size : SIZE_MAX, NULL, 0};
  int rv = read_prefix(&r);
  while (rv == 0 && r.p < r.end)
    rv = decode_line(&r, cb, user_data);
  free(r.scratch);
  return rv;
}

/* ---- field section encoding ---- */

static int bytes_equal(const char *a, size_t alen, const char *b, size_t blen) {
  return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Index of the first static entry with f's name (and value, if
 * `match_value`), or -1. */
static int find_static(const wt_qpack_field *f, int match_value) {
  for (int i = 0; i < WT_QPACK_STATIC_TABLE_SIZE; i++) {
    const static_entry *e = &static_table[i];
    if (bytes_equal(e->name, e->name_len, f->name, f->name_len) &&
        (!match_value || bytes_equal(e->value, e->value_len, f->value, f->value_len)))
      return i;
  }
  return -1;
}

static int put_int(wt_buf *out, uint8_t pattern, unsigned prefix, uint64_t v) {
  uint8_t tmp[QPACK_INT_MAX_LEN];
  return wt_buf_append(out, tmp, int_write(tmp, pattern, prefix, v));
}

/* Appends s as an N-bit prefix string literal below the bits `pattern`,
 * Huffman-coded when that is strictly shorter. */
static int put_string(wt_buf *out, uint8_t pattern, unsigned n, const char *s, size_t len) {
  const uint8_t *src = (const uint8_t *)s;
  size_t hlen = wt_huffman_encoded_len(src, len);
  if (hlen >= len) {
    int rv = put_int(out, pattern, n - 1, len);
    return rv ? rv : wt_buf_append(out, src, len);
  }
  int rv = put_int(out, (uint8_t)(pattern | (1u << (n - 1))), n - 1, hlen);
  if (!rv) rv = wt_buf_reserve(out, hlen);
  if (rv) return rv;
  out->len += wt_huffman_encode(out->data + out->len, src, len);
  return 0;
}

static int put_field(wt_buf *out, const wt_qpack_field *f) {
  int idx = find_static(f, 1);
  if (idx >= 0) return put_int(out, 0xc0, 6, (uint64_t)idx); /* indexed, T=1 */
  idx = find_static(f, 0);
  int rv = idx >= 0 ? put_int(out, 0x50, 4, (uint64_t)idx)            /* 01 N=0 T=1 */
                    : put_string(out, 0x20, 4, f->name, f->name_len); /* 001 N=0 */
  return rv ? rv : put_string(out, 0x00, 8, f->value, f->value_len);
}

int wt_qpack_encode(wt_buf *out, const wt_qpack_field *fields, size_t n) {
  /* Required Insert Count 0; S=0, Delta Base 0. */
  static const uint8_t prefix[2] = {0x00, 0x00};
  /* Growing may compact the buffer and move `len`; the readable length is
   * what stays put, so a failure truncates back to it. */
  size_t before = wt_buf_readable(out);
  int rv = wt_buf_append(out, prefix, sizeof(prefix));
  for (size_t i = 0; rv == 0 && i < n; i++)
    rv = put_field(out, &fields[i]);
  if (rv) out->len = out->off + before;
  return rv;
}

/* ---- instruction streams (§4.3, §4.4) ---- */

enum { INST_START, INST_STREAM_ID, INST_FAILED };

void wt_qpack_inst_reader_init(wt_qpack_inst_reader *r, int is_decoder_stream) {
  memset(r, 0, sizeof(*r));
  r->is_decoder_stream = is_decoder_stream;
  r->state = INST_START;
}

/* The peer's encoder stream may only say "Set Dynamic Table Capacity 0"
 * (§4.3.1: 001 + 5-bit prefix, and 0 never needs a continuation byte): any
 * other capacity exceeds our limit of 0, and Insert with Name Reference (1),
 * Insert with Literal Name (01) and Duplicate (000) need a table. */
static int encoder_stream_byte(uint8_t b) { return b == 0x20 ? 0 : WT_ERR_PROTO; }

/* The peer's decoder stream may only carry Stream Cancellation (01 + 6-bit
 * stream ID). We never reference the dynamic table, so a Section
 * Acknowledgment (1) or an Insert Count Increment (00) acknowledges
 * something we never sent (§4.4.1, §4.4.3). */
static int decoder_stream_byte(wt_qpack_inst_reader *r, uint8_t b) {
  if (r->state == INST_STREAM_ID) {
    int rv = int_continue(b, &r->value, &r->shift);
    if (rv == 1) r->state = INST_START;
    return rv < 0 ? rv : 0;
  }
  if ((b & 0xc0) != 0x40) return WT_ERR_PROTO;
  if (!int_start(b, 6, &r->value, &r->shift)) r->state = INST_STREAM_ID;
  return 0;
}

int wt_qpack_inst_reader_feed(wt_qpack_inst_reader *r, const uint8_t *p, size_t len) {
  if (r->state == INST_FAILED) return WT_ERR_PROTO; /* the connection is closing */
  for (size_t i = 0; i < len; i++) {
    int rv = r->is_decoder_stream ? decoder_stream_byte(r, p[i]) : encoder_stream_byte(p[i]);
    if (rv) {
      r->state = INST_FAILED;
      return rv;
    }
  }
  return 0;
}
