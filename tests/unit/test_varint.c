/*
 * test_varint.c: unit tests for src/h3/varint.c, QUIC variable-length
 * integers (RFC 9000 §16).
 *
 * For: minimal encoding at every length boundary, the exact bytes of the
 * RFC 9000 §A.1 examples, acceptance of non-minimal input, truncated input,
 * and the incremental reader fed at every possible split. Not for: the
 * frames and capsules built from varints (their own tests).
 */
#include "h3/varint.h"

#include "test.h"

/* Values on both sides of each length boundary, with their minimal sizes. */
static const struct {
  uint64_t v;
  size_t size;
} boundaries[] = {
    {0, 1}, {63, 1}, {64, 2}, {16383, 2}, {16384, 4}, {(1ULL << 30) - 1, 4}, {1ULL << 30, 8}, {WT_VARINT_MAX, 8},
};
#define NBOUNDARIES (sizeof(boundaries) / sizeof(boundaries[0]))

/* RFC 9000 §A.1 sample encodings. */
static const struct {
  const char *hex;
  uint64_t v;
} rfc_examples[] = {
    {"c2197c5eff14e88c", 151288809941952652ULL},
    {"9d7f3e7d", 494878333},
    {"7bbd", 15293},
    {"25", 37},
};
#define NRFC (sizeof(rfc_examples) / sizeof(rfc_examples[0]))

static void size_is_minimal_at_boundaries(void) {
  for (size_t i = 0; i < NBOUNDARIES; i++)
    CHECK_EQ(wt_varint_size(boundaries[i].v), boundaries[i].size);
}

static void write_then_read_round_trips_at_boundaries(void) {
  for (size_t i = 0; i < NBOUNDARIES; i++) {
    uint8_t buf[8];
    uint8_t *end = wt_varint_write(buf, boundaries[i].v);
    CHECK_EQ(end - buf, boundaries[i].size);
    CHECK_EQ(wt_varint_len_from_first(buf[0]), boundaries[i].size);
    uint64_t v = 0;
    CHECK_EQ(wt_varint_read(buf, end, &v), boundaries[i].size);
    CHECK_EQ(v, boundaries[i].v);
  }
}

static void write_produces_rfc_example_bytes(void) {
  for (size_t i = 0; i < NRFC; i++) {
    uint8_t want[8], got[8];
    size_t n = test_unhex(rfc_examples[i].hex, want);
    CHECK_EQ(wt_varint_write(got, rfc_examples[i].v) - got, n);
    CHECK_MEM(got, want, n);
  }
}

static void read_decodes_rfc_examples(void) {
  for (size_t i = 0; i < NRFC; i++) {
    uint8_t in[8];
    size_t n = test_unhex(rfc_examples[i].hex, in);
    uint64_t v = 0;
    CHECK_EQ(wt_varint_read(in, in + n, &v), n);
    CHECK(v == rfc_examples[i].v);
  }
}

static void read_accepts_non_minimal_encoding(void) {
  uint8_t two[] = {0x40, 0x25};
  uint8_t eight[] = {0xc0, 0, 0, 0, 0, 0, 0, 0x25};
  uint64_t v = 0;
  CHECK_EQ(wt_varint_read(two, two + 2, &v), 2);
  CHECK_EQ(v, 37);
  v = 0;
  CHECK_EQ(wt_varint_read(eight, eight + 8, &v), 8);
  CHECK_EQ(v, 37);
}

static void read_uses_only_its_own_bytes(void) {
  uint8_t in[] = {0x7b, 0xbd, 0xff, 0xff};
  uint64_t v = 0;
  CHECK_EQ(wt_varint_read(in, in + sizeof(in), &v), 2);
  CHECK_EQ(v, 15293);
}

static void read_of_truncated_input_returns_zero(void) {
  uint8_t in[8];
  size_t n = test_unhex("c2197c5eff14e88c", in);
  for (size_t cut = 0; cut < n; cut++) {
    uint64_t v = 12345;
    CHECK_EQ(wt_varint_read(in, in + cut, &v), 0);
    CHECK_EQ(v, 12345);
  }
  uint8_t two[] = {0x7b};
  uint64_t v = 0;
  CHECK_EQ(wt_varint_read(two, two + 1, &v), 0);
}

static void reader_fed_one_byte_at_a_time(void) {
  for (size_t i = 0; i < NBOUNDARIES; i++) {
    uint8_t buf[8];
    size_t n = (size_t)(wt_varint_write(buf, boundaries[i].v) - buf);
    wt_varint_reader r;
    wt_varint_reader_reset(&r);
    for (size_t k = 0; k < n; k++) {
      int done = -1;
      CHECK_EQ(wt_varint_reader_feed(&r, buf + k, buf + k + 1, &done), 1);
      CHECK_EQ(done, k + 1 == n);
    }
    CHECK(r.value == boundaries[i].v);
  }
}

static void reader_with_no_input_consumes_nothing(void) {
  uint8_t b = 0x25;
  wt_varint_reader r;
  wt_varint_reader_reset(&r);
  int done = -1;
  CHECK_EQ(wt_varint_reader_feed(&r, &b, &b, &done), 0);
  CHECK_EQ(done, 0);
  CHECK_EQ(r.need, 0);
}

/* Decodes every varint in [p, end) with the reader, cutting the input at
 * `split` (the two halves are fed separately). Returns the count decoded
 * into out[]. */
static size_t read_all_split(const uint8_t *p, const uint8_t *end, size_t split, uint64_t *out) {
  const uint8_t *parts[3] = {p, p + split, end};
  wt_varint_reader r;
  wt_varint_reader_reset(&r);
  size_t count = 0;
  for (int part = 0; part < 2; part++) {
    const uint8_t *q = parts[part];
    while (q < parts[part + 1]) {
      int done = 0;
      q += wt_varint_reader_feed(&r, q, parts[part + 1], &done);
      if (done) {
        out[count++] = r.value;
        wt_varint_reader_reset(&r);
      }
    }
  }
  return count;
}

static void reader_handles_every_split_of_several_varints(void) {
  uint8_t buf[64];
  uint8_t *p = buf;
  for (size_t i = 0; i < NBOUNDARIES; i++)
    p = wt_varint_write(p, boundaries[i].v);
  size_t total = (size_t)(p - buf);
  for (size_t split = 0; split <= total; split++) {
    uint64_t got[NBOUNDARIES + 1];
    CHECK_EQ(read_all_split(buf, p, split, got), NBOUNDARIES);
    for (size_t i = 0; i < NBOUNDARIES; i++)
      CHECK(got[i] == boundaries[i].v);
  }
}

static void reader_stops_at_end_of_current_varint(void) {
  uint8_t in[] = {0x7b, 0xbd, 0x25};
  wt_varint_reader r;
  wt_varint_reader_reset(&r);
  int done = 0;
  CHECK_EQ(wt_varint_reader_feed(&r, in, in + sizeof(in), &done), 2);
  CHECK_EQ(done, 1);
  CHECK_EQ(r.value, 15293);
}

int main(void) {
  RUN(size_is_minimal_at_boundaries);
  RUN(write_then_read_round_trips_at_boundaries);
  RUN(write_produces_rfc_example_bytes);
  RUN(read_decodes_rfc_examples);
  RUN(read_accepts_non_minimal_encoding);
  RUN(read_uses_only_its_own_bytes);
  RUN(read_of_truncated_input_returns_zero);
  RUN(reader_fed_one_byte_at_a_time);
  RUN(reader_with_no_input_consumes_nothing);
  RUN(reader_handles_every_split_of_several_varints);
  RUN(reader_stops_at_end_of_current_varint);
  return TEST_REPORT();
}
