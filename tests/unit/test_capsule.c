/*
 * test_capsule.c: the incremental capsule parser and capsule writers
 * (src/h3/capsule.c), fed whole, in every split, and one byte at a time.
 */
#include "h3/capsule.h"
#include "h3/codes.h"
#include "test.h"

typedef struct got {
  uint64_t types[8];
  uint8_t values[8][1100];
  size_t lens[8];
  int n;
  int stop_after_close;
} got;

static int collect(void *ud, uint64_t type, const uint8_t *v, size_t len) {
  got *g = ud;
  g->types[g->n] = type;
  memcpy(g->values[g->n], v, len);
  g->lens[g->n] = len;
  g->n++;
  return g->stop_after_close && type == CAPSULE_WT_CLOSE_SESSION ? 1 : 0;
}

/* Feeds `in` in pieces of `step` bytes through one parser. */
static int feed_steps(const uint8_t *in, size_t len, size_t step, got *g) {
  wt_capsule_parser cp;
  wt_capsule_parser_init(&cp, 1500);
  memset(g, 0, sizeof(*g));
  int rv = 0;
  for (size_t off = 0; off < len && rv == 0; off += step) {
    size_t n = len - off < step ? len - off : step;
    rv = wt_capsule_parser_feed(&cp, in + off, n, collect, g, NULL);
  }
  if (rv == 0 && !wt_capsule_parser_at_boundary(&cp)) rv = -100;
  wt_capsule_parser_free(&cp);
  return rv;
}

static void grease_then_close_one_byte_at_a_time(void) {
  /* A GREASE capsule (type 0x29*1+0x17 = 0x40, a 2-byte varint) with 5
   * bytes, then WT_CLOSE_SESSION(7, "bye") - the sequence that crashed
   * another stack's parser. */
  const uint8_t in[] = {0x40, 0x40, 0x05, 1, 2, 3, 4, 5, 0x68, 0x43, 0x07, 0, 0, 0, 7, 'b', 'y', 'e'};
  for (size_t step = 1; step <= sizeof(in); step++) {
    got g;
    CHECK_EQ(feed_steps(in, sizeof(in), step, &g), 0);
    CHECK_EQ(g.n, 1);
    CHECK_EQ(g.types[0], CAPSULE_WT_CLOSE_SESSION);
    CHECK_EQ(g.lens[0], 7);
    CHECK_MEM(g.values[0], "\0\0\0\007bye", 7);
  }
}

static void unknown_capsules_are_skipped_without_buffering(void) {
  /* A 1 MiB unknown capsule must not be held in memory: it is skipped. */
  static uint8_t in[(1 << 20) + 16];
  size_t n = 0;
  in[n++] = 0x17; /* GREASE type 0x17 */
  in[n++] = 0x80;
  in[n++] = 0x10;
  in[n++] = 0x00;
  in[n++] = 0x00; /* length 1 MiB as a 4-byte varint */
  n += 1 << 20;
  in[n++] = 0x80; /* WT_DRAIN_SESSION 0x78ae, 4-byte varint */
  in[n++] = 0x00;
  in[n++] = 0x78;
  in[n++] = 0xae;
  in[n++] = 0x00;
  wt_capsule_parser cp;
  wt_capsule_parser_init(&cp, 1500);
  got g;
  memset(&g, 0, sizeof(g));
  CHECK_EQ(wt_capsule_parser_feed(&cp, in, n, collect, &g, NULL), 0);
  CHECK(cp.value.cap < 4096);
  CHECK_EQ(g.n, 1);
  CHECK_EQ(g.types[0], CAPSULE_WT_DRAIN_SESSION);
  wt_capsule_parser_free(&cp);
}

static void datagram_capsule_is_delivered(void) {
  const uint8_t in[] = {0x00, 0x03, 'a', 'b', 'c'};
  got g;
  CHECK_EQ(feed_steps(in, sizeof(in), 1, &g), 0);
  CHECK_EQ(g.n, 1);
  CHECK_EQ(g.types[0], CAPSULE_DATAGRAM);
  CHECK_MEM(g.values[0], "abc", 3);
}

static void rejects_malformed_capsules_we_act_on(void) {
  got g;
  /* close reason of 1025 bytes: length 4 + 1025 = 1029 = 0x405 */
  const uint8_t long_close[] = {0x68, 0x43, 0x44, 0x05};
  CHECK_EQ(feed_steps(long_close, sizeof(long_close), 1, &g), WT_ERR_PROTO);
  /* close shorter than its 4-byte code */
  const uint8_t short_close[] = {0x68, 0x43, 0x03, 0, 0, 0};
  CHECK_EQ(feed_steps(short_close, sizeof(short_close), 1, &g), WT_ERR_PROTO);
  /* drain with a value */
  const uint8_t drain_value[] = {0x80, 0x00, 0x78, 0xae, 0x01, 0x00};
  CHECK_EQ(feed_steps(drain_value, sizeof(drain_value), 1, &g), WT_ERR_PROTO);
  /* datagram larger than the bound given at init (1500) */
  const uint8_t big_dgram[] = {0x00, 0x45, 0xdd};
  CHECK_EQ(feed_steps(big_dgram, sizeof(big_dgram), 1, &g), WT_ERR_PROTO);
}

static void a_close_of_exactly_1024_bytes_is_accepted(void) {
  uint8_t in[4 + 4 + 1024];
  in[0] = 0x68;
  in[1] = 0x43;
  in[2] = 0x44; /* 1028 */
  in[3] = 0x04;
  memset(in + 4, 0, 4);
  memset(in + 8, 'r', 1024);
  got g;
  CHECK_EQ(feed_steps(in, sizeof(in), 7, &g), 0);
  CHECK_EQ(g.n, 1);
  CHECK_EQ(g.lens[0], 1028);
}

static void truncated_capsule_is_not_at_a_boundary(void) {
  const uint8_t in[] = {0x68, 0x43, 0x07, 0, 0};
  got g;
  CHECK_EQ(feed_steps(in, sizeof(in), 2, &g), -100);
  CHECK_EQ(g.n, 0);
}

static void callback_stop_reports_consumed_bytes(void) {
  const uint8_t in[] = {0x68, 0x43, 0x04, 0, 0, 0, 1, 0x00, 0x01, 'x'};
  wt_capsule_parser cp;
  wt_capsule_parser_init(&cp, 1500);
  got g;
  memset(&g, 0, sizeof(g));
  g.stop_after_close = 1;
  size_t used = 0;
  CHECK_EQ(wt_capsule_parser_feed(&cp, in, sizeof(in), collect, &g, &used), 1);
  CHECK_EQ(used, 7); /* stopped right after the close capsule */
  CHECK_EQ(g.n, 1);
  wt_capsule_parser_free(&cp);
}

static void reset_restarts_mid_capsule(void) {
  wt_capsule_parser cp;
  wt_capsule_parser_init(&cp, 1500);
  got g;
  memset(&g, 0, sizeof(g));
  const uint8_t half[] = {0x68, 0x43, 0x07, 0};
  CHECK_EQ(wt_capsule_parser_feed(&cp, half, sizeof(half), collect, &g, NULL), 0);
  CHECK(!wt_capsule_parser_at_boundary(&cp));
  wt_capsule_parser_reset(&cp);
  CHECK(wt_capsule_parser_at_boundary(&cp));
  const uint8_t dg[] = {0x00, 0x01, 'q'};
  CHECK_EQ(wt_capsule_parser_feed(&cp, dg, sizeof(dg), collect, &g, NULL), 0);
  CHECK_EQ(g.n, 1);
  CHECK_EQ(g.types[0], CAPSULE_DATAGRAM);
  wt_capsule_parser_free(&cp);
}

static void writers_produce_wire_bytes(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_capsule_write_close(&b, 0x01020304, "ok", 2), 0);
  CHECK_EQ(wt_capsule_write_drain(&b), 0);
  const uint8_t want[] = {0x68, 0x43, 0x06, 1, 2, 3, 4, 'o', 'k', 0x80, 0x00, 0x78, 0xae, 0x00};
  CHECK_EQ(b.len, sizeof(want));
  CHECK_MEM(b.data, want, sizeof(want));
  char reason[1025];
  memset(reason, 'a', sizeof(reason));
  CHECK_EQ(wt_capsule_write_close(&b, 0, reason, 1025), WT_ERR_INVALID_ARGUMENT);
  wt_buf_free(&b);
}

int main(void) {
  RUN(grease_then_close_one_byte_at_a_time);
  RUN(unknown_capsules_are_skipped_without_buffering);
  RUN(datagram_capsule_is_delivered);
  RUN(rejects_malformed_capsules_we_act_on);
  RUN(a_close_of_exactly_1024_bytes_is_accepted);
  RUN(truncated_capsule_is_not_at_a_boundary);
  RUN(callback_stop_reports_consumed_bytes);
  RUN(reset_restarts_mid_capsule);
  RUN(writers_produce_wire_bytes);
  return TEST_REPORT();
}
