/*
 * test_sendq.c: unit tests for src/quic/sendq.c, a stream's send queue.
 *
 * For: appends across chunk boundaries, peek/advance over the unsent bytes,
 * chunks freed by in-order ACKs, the byte and counter bookkeeping, and above
 * all that pointers handed out by peek keep their address and bytes until
 * acknowledged (ngtcp2 holds them that long). Not for: when stream data is
 * sent or flow control (qconn.c, ngtcp2).
 */
#include "quic/sendq.h"

#include <stdlib.h>

#include "test.h"

/* The byte at stream offset `off`, so any run can be checked by offset. */
static uint8_t byte_at(uint64_t off) { return (uint8_t)(off * 131 + (off >> 9)); }

/* Appends `len` pattern bytes continuing the stream at q->end. */
static int append_pattern(wt_sendq *q, size_t len) {
  uint8_t *tmp = malloc(len ? len : 1);
  if (!tmp) return -1;
  for (size_t i = 0; i < len; i++)
    tmp[i] = byte_at(q->end + i);
  int rv = wt_sendq_append(q, tmp, len);
  free(tmp);
  return rv;
}

/* Nonzero if p[0..len) holds the pattern for stream offsets [off, off+len). */
static int matches(const uint8_t *p, uint64_t off, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != byte_at(off + i)) return 0;
  return 1;
}

static size_t count_chunks(const wt_sendq *q) {
  size_t n = 0;
  for (const wt_sendq_chunk *c = q->head; c; c = c->next)
    n++;
  return n;
}

#define MAXRUNS 64

/* Peeks everything and checks the runs are exactly [sent, end) in order. */
static int peek_is_unsent_pattern(const wt_sendq *q) {
  const uint8_t *base[MAXRUNS];
  size_t len[MAXRUNS];
  size_t n = wt_sendq_peek(q, base, len, MAXRUNS);
  uint64_t off = q->sent;
  for (size_t i = 0; i < n; i++) {
    if (len[i] == 0 || !matches(base[i], off, len[i])) return 0;
    off += len[i];
  }
  return off == q->end;
}

static void empty_queue_holds_nothing(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  const uint8_t *base[1];
  size_t len[1];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 1), 0);
  CHECK_EQ(wt_sendq_buffered(&q), 0);
  CHECK_EQ(wt_sendq_unsent(&q), 0);
  CHECK(q.head == NULL && q.tail == NULL);
  CHECK_EQ(wt_sendq_append(&q, (const uint8_t *)"", 0), 0);
  CHECK(q.head == NULL);
  wt_sendq_free(&q);
}

static void small_appends_share_one_chunk(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 10), 0);
  CHECK_EQ(append_pattern(&q, 20), 0);
  CHECK_EQ(append_pattern(&q, 1), 0);
  CHECK_EQ(count_chunks(&q), 1);
  const uint8_t *base[4];
  size_t len[4];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 1);
  CHECK_EQ(len[0], 31);
  CHECK(matches(base[0], 0, 31));
  CHECK_EQ(wt_sendq_buffered(&q), 31);
  CHECK_EQ(wt_sendq_unsent(&q), 31);
  wt_sendq_free(&q);
}

static void append_crosses_chunk_boundary(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 3000), 0);
  size_t cap = q.head->cap;
  CHECK_EQ(append_pattern(&q, cap), 0);
  CHECK_EQ(count_chunks(&q), 2);
  CHECK_EQ(q.head->len, cap);
  CHECK_EQ(q.tail->off, cap);
  const uint8_t *base[4];
  size_t len[4];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 2);
  CHECK_EQ(len[0] + len[1], 3000 + cap);
  CHECK(base[0] == q.head->data && base[1] == q.tail->data);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

static void large_write_is_split_into_bounded_chunks(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 200000), 0);
  CHECK(count_chunks(&q) >= 4);
  uint64_t off = 0;
  for (const wt_sendq_chunk *c = q.head; c; c = c->next) {
    CHECK_EQ(c->off, off);
    CHECK(c->len > 0 && c->len <= 65536);
    off += c->len;
  }
  CHECK_EQ(off, 200000);
  CHECK(peek_is_unsent_pattern(&q));
  CHECK_EQ(wt_sendq_unsent(&q), 200000);
  wt_sendq_free(&q);
}

static void peek_fills_at_most_max_runs(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 200000), 0);
  const uint8_t *base[2];
  size_t len[2];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 1), 1);
  CHECK(base[0] == q.head->data);
  CHECK_EQ(len[0], q.head->len);
  CHECK_EQ(wt_sendq_peek(&q, base, len, 0), 0);
  wt_sendq_free(&q);
}

static void advance_moves_peek_within_and_across_chunks(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 100000), 0);
  const uint8_t *first = q.head->data;
  size_t first_len = q.head->len;
  wt_sendq_advance(&q, 100);
  const uint8_t *base[MAXRUNS];
  size_t len[MAXRUNS];
  CHECK(wt_sendq_peek(&q, base, len, MAXRUNS) >= 2);
  CHECK(base[0] == first + 100);
  CHECK_EQ(len[0], first_len - 100);
  CHECK_EQ(wt_sendq_unsent(&q), 100000 - 100);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_advance(&q, first_len - 100);
  CHECK_EQ(wt_sendq_peek(&q, base, len, MAXRUNS), 1);
  CHECK(base[0] == q.head->next->data);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_advance(&q, 100000 - first_len);
  CHECK_EQ(wt_sendq_peek(&q, base, len, MAXRUNS), 0);
  CHECK_EQ(wt_sendq_unsent(&q), 0);
  CHECK_EQ(wt_sendq_buffered(&q), 100000);
  wt_sendq_free(&q);
}

static void append_after_all_sent_is_peeked_from_partial_chunk(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 10), 0);
  wt_sendq_advance(&q, 10);
  const uint8_t *base[4];
  size_t len[4];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 0);
  CHECK_EQ(append_pattern(&q, 5), 0);
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 1);
  CHECK(base[0] == q.head->data + 10);
  CHECK_EQ(len[0], 5);
  CHECK(matches(base[0], 10, 5));
  wt_sendq_free(&q);
}

static void append_after_all_sent_is_peeked_from_new_chunk(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 4096), 0);
  CHECK_EQ(q.head->len, q.head->cap);
  wt_sendq_advance(&q, 4096);
  const uint8_t *base[4];
  size_t len[4];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 0);
  CHECK_EQ(append_pattern(&q, 7), 0);
  CHECK_EQ(count_chunks(&q), 2);
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 1);
  CHECK(base[0] == q.tail->data);
  CHECK_EQ(len[0], 7);
  CHECK(matches(base[0], 4096, 7));
  wt_sendq_free(&q);
}

static void ack_in_order_frees_finished_chunks(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 200000), 0);
  CHECK(count_chunks(&q) >= 3);
  wt_sendq_chunk *second = q.head->next, *third = second->next;
  wt_sendq_advance(&q, (size_t)third->off + 10);
  wt_sendq_ack(&q, 0, 1000);
  CHECK(q.head != second);
  wt_sendq_ack(&q, 1000, second->off - 1000);
  CHECK(q.head == second);
  CHECK_EQ(wt_sendq_buffered(&q), 200000 - second->off);
  wt_sendq_ack(&q, second->off, second->len - 1);
  CHECK(q.head == second);
  wt_sendq_ack(&q, third->off - 1, 11);
  CHECK(q.head == third);
  CHECK_EQ(wt_sendq_buffered(&q), 200000 - third->off - 10);
  CHECK_EQ(wt_sendq_unsent(&q), 200000 - third->off - 10);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

static void ack_of_everything_frees_all_chunks(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 70000), 0);
  CHECK_EQ(append_pattern(&q, 100), 0);
  wt_sendq_advance(&q, 70100);
  wt_sendq_ack(&q, 0, 70100);
  CHECK(q.head == NULL && q.tail == NULL && q.cursor == NULL);
  CHECK_EQ(wt_sendq_buffered(&q), 0);
  CHECK_EQ(wt_sendq_unsent(&q), 0);
  CHECK_EQ(append_pattern(&q, 50), 0);
  CHECK_EQ(q.head->off, 70100);
  CHECK_EQ(wt_sendq_unsent(&q), 50);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

static void ack_of_all_sent_keeps_unsent_bytes(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 10), 0);
  wt_sendq_advance(&q, 5);
  wt_sendq_ack(&q, 0, 5);
  CHECK(q.head != NULL);
  CHECK_EQ(wt_sendq_buffered(&q), 5);
  CHECK_EQ(wt_sendq_unsent(&q), 5);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

static void free_releases_everything(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 150000), 0);
  wt_sendq_advance(&q, 1000);
  wt_sendq_free(&q);
  CHECK(q.head == NULL && q.tail == NULL && q.cursor == NULL);
  CHECK_EQ(q.end, 0);
}

static void peeked_pointers_survive_appends(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 1000), 0);
  const uint8_t *base[MAXRUNS];
  size_t len[MAXRUNS];
  CHECK_EQ(wt_sendq_peek(&q, base, len, MAXRUNS), 1);
  const uint8_t *p = base[0];
  wt_sendq_advance(&q, 1000);
  for (int i = 0; i < 20; i++)
    CHECK_EQ(append_pattern(&q, 9000), 0);
  CHECK(matches(p, 0, 1000));
  CHECK(wt_sendq_peek(&q, base, len, MAXRUNS) >= 1);
  CHECK(base[0] == p + 1000);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

static void truncate_keeps_sent_bytes_and_drops_the_rest(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 150000), 0);
  wt_sendq_advance(&q, 5000);
  wt_sendq_truncate(&q, 100); /* below `sent`: everything sent stays */
  CHECK_EQ(q.end, 5000);
  CHECK_EQ(wt_sendq_unsent(&q), 0);
  CHECK_EQ(count_chunks(&q), 1);
  CHECK(q.tail == q.head && q.tail->len == 5000);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_ack(&q, 0, 5000);
  CHECK(q.head == NULL && q.tail == NULL && q.cursor == NULL);
  wt_sendq_free(&q);
}

static void truncate_above_sent_leaves_bytes_to_send(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 150000), 0);
  wt_sendq_advance(&q, 10);
  wt_sendq_truncate(&q, 70000);
  CHECK_EQ(q.end, 70000);
  CHECK_EQ(wt_sendq_unsent(&q), 69990);
  CHECK(peek_is_unsent_pattern(&q));
  CHECK_EQ(q.tail->off + q.tail->len, 70000);
  CHECK(q.tail->next == NULL);
  wt_sendq_truncate(&q, 200000); /* beyond the end: nothing to do */
  CHECK_EQ(q.end, 70000);
  wt_sendq_free(&q);
}

static void truncate_at_a_chunk_boundary_keeps_the_cursor_usable(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 65536), 0); /* exactly one full chunk */
  CHECK_EQ(append_pattern(&q, 5000), 0);
  CHECK_EQ(count_chunks(&q), 2);
  wt_sendq_advance(&q, 65536);
  wt_sendq_truncate(&q, 0);
  CHECK_EQ(count_chunks(&q), 1);
  CHECK_EQ(q.end, 65536);
  CHECK(q.cursor == q.head);
  CHECK(peek_is_unsent_pattern(&q));
  /* The queue stays consistent for appends (qconn never appends after a
   * truncation, but the structure should not depend on that). */
  CHECK_EQ(append_pattern(&q, 300), 0);
  CHECK_EQ(wt_sendq_unsent(&q), 300);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

static void truncate_to_nothing_empties_the_queue(void) {
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 9000), 0);
  wt_sendq_truncate(&q, 0);
  CHECK_EQ(q.end, 0);
  CHECK(q.head == NULL && q.tail == NULL && q.cursor == NULL);
  CHECK_EQ(append_pattern(&q, 10), 0);
  CHECK(peek_is_unsent_pattern(&q));
  wt_sendq_free(&q);
}

/* A run handed to "QUIC" by peek + advance and not yet acknowledged. */
typedef struct held_run {
  const uint8_t *p;
  uint64_t off;
  size_t len;
} held_run;

#define MAXHELD 4096

typedef struct sim {
  wt_sendq q;
  held_run held[MAXHELD];
  size_t nheld;
} sim;

/* Sends up to `n` bytes, remembering every pointer handed out. */
static void sim_send(sim *s, size_t n) {
  const uint8_t *base[MAXRUNS];
  size_t len[MAXRUNS];
  size_t runs = wt_sendq_peek(&s->q, base, len, MAXRUNS);
  for (size_t i = 0; i < runs && n > 0; i++) {
    size_t take = len[i] < n ? len[i] : n;
    s->held[s->nheld++] = (held_run){base[i], s->q.sent, take};
    wt_sendq_advance(&s->q, take);
    n -= take;
  }
}

/* Acknowledges `n` more bytes in order and forgets the runs they cover. */
static void sim_ack(sim *s, uint64_t n) {
  uint64_t acked = s->q.acked;
  if (n > s->q.sent - acked) n = s->q.sent - acked;
  wt_sendq_ack(&s->q, acked, n);
  size_t keep = 0;
  for (size_t i = 0; i < s->nheld; i++) {
    held_run r = s->held[i];
    uint64_t r_end = r.off + r.len;
    if (r_end <= acked + n) continue;
    if (r.off < acked + n) {
      size_t skip = (size_t)(acked + n - r.off);
      r.p += skip;
      r.off += skip;
      r.len -= skip;
    }
    s->held[keep++] = r;
  }
  s->nheld = keep;
}

static int sim_held_intact(const sim *s) {
  for (size_t i = 0; i < s->nheld; i++)
    if (!matches(s->held[i].p, s->held[i].off, s->held[i].len)) return 0;
  return 1;
}

static void peeked_pointers_stay_valid_until_acked(void) {
  static sim s;
  memset(&s, 0, sizeof(s));
  wt_sendq_init(&s.q);
  srand(12345);
  static const size_t sizes[] = {1, 17, 1500, 4095, 4096, 4097, 65535, 65536, 65537, 100000};
  for (int step = 0; step < 3000; step++) {
    int op = rand() % 3;
    if (op == 0 && wt_sendq_buffered(&s.q) < 1000000) {
      CHECK_EQ(append_pattern(&s.q, sizes[rand() % 10]), 0);
    } else if (op == 1) {
      CHECK(s.nheld + MAXRUNS <= MAXHELD);
      sim_send(&s, (size_t)(rand() % 70000));
    } else {
      sim_ack(&s, (uint64_t)(rand() % 70000));
    }
    CHECK(sim_held_intact(&s));
    CHECK(peek_is_unsent_pattern(&s.q));
    CHECK(s.q.acked <= s.q.sent && s.q.sent <= s.q.end);
    /* Nothing unacked was freed, and nothing fully acked lingers at the
     * head (apart from the chunk the send cursor still points into). */
    if (s.q.head) CHECK(s.q.head->off <= s.q.acked);
    if (s.q.head) CHECK(s.q.head == s.q.cursor || s.q.head->off + s.q.head->len > s.q.acked);
  }
  wt_sendq_free(&s.q);
}

/* ------------------------------------------------------------------------ */
/* Referenced (zero-copy) chunks                                            */

typedef struct rel {
  int calls;
  const void *data;
  size_t len;
} rel;

static void on_release(void *ud, const void *data, size_t len) {
  rel *r = ud;
  r->calls++;
  r->data = data;
  r->len = len;
}

static void reference_is_peeked_in_place_and_released_on_ack(void) {
  static uint8_t block[10000];
  wt_sendq q;
  rel r = {0};
  wt_sendq_init(&q);
  CHECK_EQ(append_pattern(&q, 100), 0); /* a copied chunk first, partly filled */
  CHECK_EQ(wt_sendq_append_ref(&q, block, sizeof(block), on_release, &r), 0);
  CHECK_EQ(append_pattern(&q, 10), 0); /* never appended into the reference */
  CHECK_EQ(q.end, 10110);
  const uint8_t *base[4];
  size_t len[4];
  CHECK_EQ(wt_sendq_peek(&q, base, len, 4), 3);
  CHECK(base[1] == block && len[1] == sizeof(block));
  wt_sendq_advance(&q, 10110);
  wt_sendq_ack(&q, 0, 5000);
  CHECK_EQ(r.calls, 0);
  /* The partly filled copy before it is not the tail: freed once acked,
   * so the reference behind it is not held up. */
  wt_sendq_ack(&q, 5000, 5100);
  CHECK_EQ(r.calls, 1);
  CHECK(r.data == block && r.len == sizeof(block));
  wt_sendq_ack(&q, 10100, 10);
  CHECK(q.head == NULL);
  CHECK_EQ(r.calls, 1);
  wt_sendq_free(&q);
}

static void truncated_reference_is_released_once(void) {
  static uint8_t a[3000], b[3000];
  wt_sendq q;
  rel ra = {0}, rb = {0};
  wt_sendq_init(&q);
  CHECK_EQ(wt_sendq_append_ref(&q, a, sizeof(a), on_release, &ra), 0);
  CHECK_EQ(wt_sendq_append_ref(&q, b, sizeof(b), on_release, &rb), 0);
  wt_sendq_advance(&q, 1000);
  wt_sendq_truncate(&q, 0); /* keeps what was sent: 1000 bytes of `a` */
  CHECK_EQ(rb.calls, 1);
  CHECK(rb.data == b && rb.len == sizeof(b));
  CHECK_EQ(ra.calls, 0);
  CHECK_EQ(q.end, 1000);
  CHECK_EQ(append_pattern(&q, 10), 0); /* goes to a new chunk, not into `a` */
  CHECK(q.tail->ref == NULL);
  wt_sendq_free(&q);
  CHECK_EQ(ra.calls, 1);
  CHECK(ra.data == a && ra.len == sizeof(a)); /* the original length */
  CHECK_EQ(rb.calls, 1);
}

static void reference_without_callback_is_allowed(void) {
  static uint8_t a[100];
  wt_sendq q;
  wt_sendq_init(&q);
  CHECK_EQ(wt_sendq_append_ref(&q, a, sizeof(a), NULL, NULL), 0);
  wt_sendq_advance(&q, 100);
  wt_sendq_ack(&q, 0, 100);
  CHECK(q.head == NULL);
  wt_sendq_free(&q);
}

int main(void) {
  RUN(empty_queue_holds_nothing);
  RUN(small_appends_share_one_chunk);
  RUN(append_crosses_chunk_boundary);
  RUN(large_write_is_split_into_bounded_chunks);
  RUN(peek_fills_at_most_max_runs);
  RUN(advance_moves_peek_within_and_across_chunks);
  RUN(append_after_all_sent_is_peeked_from_partial_chunk);
  RUN(append_after_all_sent_is_peeked_from_new_chunk);
  RUN(ack_in_order_frees_finished_chunks);
  RUN(ack_of_everything_frees_all_chunks);
  RUN(ack_of_all_sent_keeps_unsent_bytes);
  RUN(free_releases_everything);
  RUN(peeked_pointers_survive_appends);
  RUN(peeked_pointers_stay_valid_until_acked);
  RUN(truncate_keeps_sent_bytes_and_drops_the_rest);
  RUN(truncate_above_sent_leaves_bytes_to_send);
  RUN(truncate_at_a_chunk_boundary_keeps_the_cursor_usable);
  RUN(truncate_to_nothing_empties_the_queue);
  RUN(reference_is_peeked_in_place_and_released_on_ack);
  RUN(truncated_reference_is_released_once);
  RUN(reference_without_callback_is_allowed);
  return TEST_REPORT();
}
