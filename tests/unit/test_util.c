/*
 * test_util.c: unit tests for the small data structures and parsers in
 * src/util/: wt_buf, the CID and stream-ID maps, the timer heap, https URL
 * parsing, UTF-8 checks, and the SHA-256 hex helpers of webtransport.h.
 *
 * For: every behaviour the headers promise, their edge cases and error
 * returns; the maps and the heap are also run against brute-force reference
 * models. Not for: logging or error strings (log.c, errors.c).
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "test.h"
#include "util/buf.h"
#include "util/cidmap.h"
#include "util/idmap.h"
#include "util/ratelimit.h"
#include "util/timerheap.h"
#include "util/url.h"
#include "util/utf8.h"
#include "webtransport.h"

/* Deterministic PRNG (xorshift64*) for the randomised model tests. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

/* ---- wt_buf ------------------------------------------------------------ */

static void buf_append_then_read_in_order(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "hello ", 6), 0);
  CHECK_EQ(wt_buf_append(&b, "world", 5), 0);
  CHECK_EQ(wt_buf_readable(&b), 11);
  CHECK_MEM(wt_buf_rpos(&b), "hello world", 11);
  char out[16];
  CHECK_EQ(wt_buf_read(&b, out, 6), 6);
  CHECK_MEM(out, "hello ", 6);
  CHECK_EQ(wt_buf_readable(&b), 5);
  CHECK_MEM(wt_buf_rpos(&b), "world", 5);
  wt_buf_free(&b);
}

static void buf_rpos_is_never_null(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK(wt_buf_rpos(&b) != NULL);
  CHECK_EQ(wt_buf_readable(&b), 0);
  CHECK_EQ(wt_buf_append(&b, "x", 0), 0);
  CHECK(wt_buf_rpos(&b) != NULL);
  CHECK_EQ(wt_buf_append(&b, "xy", 2), 0);
  wt_buf_consume(&b, 2);
  CHECK(wt_buf_rpos(&b) != NULL);
  wt_buf_free(&b);
  CHECK(wt_buf_rpos(&b) != NULL);
}

static void buf_read_more_than_available_returns_what_is_there(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "abcde", 5), 0);
  char out[16] = {0};
  CHECK_EQ(wt_buf_read(&b, out, sizeof(out)), 5);
  CHECK_MEM(out, "abcde", 5);
  CHECK_EQ(wt_buf_readable(&b), 0);
  CHECK_EQ(wt_buf_read(&b, out, sizeof(out)), 0);
  wt_buf_free(&b);
}

static void buf_consume_advances_and_resets_when_drained(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "0123456789", 10), 0);
  wt_buf_consume(&b, 3);
  CHECK_EQ(wt_buf_readable(&b), 7);
  CHECK_MEM(wt_buf_rpos(&b), "3456789", 7);
  wt_buf_consume(&b, 7);
  CHECK_EQ(b.off, 0);
  CHECK_EQ(b.len, 0);
  wt_buf_free(&b);
}

static void buf_reuses_consumed_space_before_growing(void) {
  uint8_t chunk[64];
  for (size_t i = 0; i < sizeof(chunk); i++)
    chunk[i] = (uint8_t)i;
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, chunk, 64), 0);
  size_t cap = b.cap;
  uint8_t *data = b.data;
  CHECK_EQ(b.len, cap);
  wt_buf_consume(&b, 60);
  CHECK_EQ(wt_buf_append(&b, chunk, 50), 0);
  CHECK_EQ(b.cap, cap);
  CHECK(b.data == data);
  CHECK_EQ(wt_buf_readable(&b), 54);
  CHECK_MEM(wt_buf_rpos(&b), chunk + 60, 4);
  CHECK_MEM(wt_buf_rpos(&b) + 4, chunk, 50);
  wt_buf_free(&b);
}

static void buf_grows_keeping_unread_bytes(void) {
  uint8_t chunk[64];
  for (size_t i = 0; i < sizeof(chunk); i++)
    chunk[i] = (uint8_t)(i * 3);
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, chunk, 64), 0);
  size_t cap = b.cap;
  wt_buf_consume(&b, 10);
  CHECK_EQ(wt_buf_append(&b, chunk, 64), 0);
  CHECK(b.cap > cap);
  CHECK_EQ(wt_buf_readable(&b), 118);
  CHECK_MEM(wt_buf_rpos(&b), chunk + 10, 54);
  CHECK_MEM(wt_buf_rpos(&b) + 54, chunk, 64);
  wt_buf_free(&b);
}

static void buf_steady_producer_consumer_never_grows(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "seed", 4), 0);
  size_t cap = b.cap;
  for (int i = 0; i < 1000; i++) {
    char out[40];
    CHECK_EQ(wt_buf_append(&b, "0123456789012345678901234567890123456789", 40), 0);
    CHECK_EQ(wt_buf_read(&b, out, 40), 40);
  }
  CHECK_EQ(b.cap, cap);
  CHECK_EQ(wt_buf_readable(&b), 4);
  wt_buf_free(&b);
}

static void buf_reserve_guarantees_room(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_reserve(&b, 0), 0);
  CHECK_EQ(wt_buf_reserve(&b, 1000), 0);
  CHECK(b.cap - b.len >= 1000);
  CHECK_EQ(wt_buf_append(&b, "ab", 2), 0);
  uint8_t *data = b.data;
  CHECK_EQ(wt_buf_reserve(&b, 100), 0);
  CHECK(b.data == data);
  CHECK_MEM(wt_buf_rpos(&b), "ab", 2);
  wt_buf_free(&b);
}

static void buf_reserve_impossible_size_fails_untouched(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "keep", 4), 0);
  CHECK_EQ(wt_buf_reserve(&b, SIZE_MAX), WT_ERR_NOMEM);
  CHECK_EQ(wt_buf_reserve(&b, SIZE_MAX / 2), WT_ERR_NOMEM);
  CHECK_EQ(wt_buf_readable(&b), 4);
  CHECK_MEM(wt_buf_rpos(&b), "keep", 4);
  wt_buf_free(&b);
}

static void buf_clear_empties_but_keeps_capacity(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "abcdef", 6), 0);
  wt_buf_consume(&b, 2);
  size_t cap = b.cap;
  wt_buf_clear(&b);
  CHECK_EQ(wt_buf_readable(&b), 0);
  CHECK_EQ(b.cap, cap);
  CHECK_EQ(wt_buf_append(&b, "z", 1), 0);
  CHECK_MEM(wt_buf_rpos(&b), "z", 1);
  wt_buf_free(&b);
}

static void buf_free_releases_and_allows_reuse(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "abc", 3), 0);
  wt_buf_free(&b);
  CHECK(b.data == NULL);
  CHECK_EQ(b.cap, 0);
  CHECK_EQ(wt_buf_readable(&b), 0);
  wt_buf_free(&b);
  CHECK_EQ(wt_buf_append(&b, "de", 2), 0);
  CHECK_MEM(wt_buf_rpos(&b), "de", 2);
  wt_buf_free(&b);
}

/* ---- wt_cidmap --------------------------------------------------------- */

static void cidmap_put_get_del(void) {
  wt_cidmap m;
  CHECK_EQ(wt_cidmap_init(&m, 42), 0);
  int a, b;
  const uint8_t k1[] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t k2[] = {8, 7, 6, 5, 4, 3, 2, 1};
  CHECK(wt_cidmap_get(&m, k1, 8) == NULL);
  CHECK_EQ(wt_cidmap_put(&m, k1, 8, &a), 0);
  CHECK_EQ(wt_cidmap_put(&m, k2, 8, &b), 0);
  CHECK_EQ(m.count, 2);
  CHECK(wt_cidmap_get(&m, k1, 8) == &a);
  CHECK(wt_cidmap_get(&m, k2, 8) == &b);
  CHECK(wt_cidmap_del(&m, k1, 8) == &a);
  CHECK(wt_cidmap_get(&m, k1, 8) == NULL);
  CHECK(wt_cidmap_del(&m, k1, 8) == NULL);
  CHECK(wt_cidmap_get(&m, k2, 8) == &b);
  CHECK_EQ(m.count, 1);
  wt_cidmap_free(&m);
}

static void cidmap_put_replaces_value(void) {
  wt_cidmap m;
  CHECK_EQ(wt_cidmap_init(&m, 1), 0);
  int a, b;
  const uint8_t k[] = {0xde, 0xad};
  CHECK_EQ(wt_cidmap_put(&m, k, 2, &a), 0);
  CHECK_EQ(wt_cidmap_put(&m, k, 2, &b), 0);
  CHECK_EQ(m.count, 1);
  CHECK(wt_cidmap_get(&m, k, 2) == &b);
  CHECK(wt_cidmap_del(&m, k, 2) == &b);
  CHECK_EQ(m.count, 0);
  wt_cidmap_free(&m);
}

static void cidmap_accepts_20_bytes_rejects_21(void) {
  wt_cidmap m;
  CHECK_EQ(wt_cidmap_init(&m, 7), 0);
  uint8_t k[21];
  for (int i = 0; i < 21; i++)
    k[i] = (uint8_t)(0xa0 + i);
  int v;
  CHECK_EQ(wt_cidmap_put(&m, k, 20, &v), 0);
  CHECK(wt_cidmap_get(&m, k, 20) == &v);
  CHECK_EQ(wt_cidmap_put(&m, k, 21, &v), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(m.count, 1);
  CHECK(wt_cidmap_get(&m, k, 21) == NULL);
  CHECK(wt_cidmap_del(&m, k, 21) == NULL);
  CHECK(wt_cidmap_get(&m, k, 20) == &v);
  wt_cidmap_free(&m);
}

static void cidmap_lengths_of_one_prefix_are_distinct_keys(void) {
  wt_cidmap m;
  CHECK_EQ(wt_cidmap_init(&m, 3), 0);
  uint8_t k[WT_CID_MAX] = {0};
  int vals[WT_CID_MAX + 1];
  for (size_t len = 0; len <= WT_CID_MAX; len++)
    CHECK_EQ(wt_cidmap_put(&m, k, len, &vals[len]), 0);
  CHECK_EQ(m.count, WT_CID_MAX + 1);
  for (size_t len = 0; len <= WT_CID_MAX; len++)
    CHECK(wt_cidmap_get(&m, k, len) == &vals[len]);
  CHECK(wt_cidmap_del(&m, k, 8) == &vals[8]);
  CHECK(wt_cidmap_get(&m, k, 8) == NULL);
  CHECK(wt_cidmap_get(&m, k, 7) == &vals[7]);
  CHECK(wt_cidmap_get(&m, k, 9) == &vals[9]);
  wt_cidmap_free(&m);
}

#define NCIDS 4000

typedef struct cid_model {
  wt_cid key[NCIDS];
  int present[NCIDS];
  int value[NCIDS];
} cid_model;

/* Random CIDs of every length, all distinct. Many are zeros followed by
 * one random byte, so equal prefixes of different lengths are common. */
static void random_cids(wt_cid *keys, size_t n) {
  for (size_t i = 0; i < n; i++) {
    wt_cid *c = &keys[i];
    int dup;
    do {
      memset(c, 0, sizeof(*c));
      c->len = (uint8_t)(1 + rng() % WT_CID_MAX);
      if (rng() % 4 == 0) {
        c->data[c->len - 1] = (uint8_t)rng();
      } else {
        for (size_t k = 0; k < c->len; k++)
          c->data[k] = (uint8_t)rng();
      }
      dup = 0;
      for (size_t j = 0; j < i && !dup; j++)
        dup = memcmp(&keys[j], c, sizeof(*c)) == 0;
    } while (dup);
  }
}

/* Nonzero if the map agrees with the model on every key. */
static int cidmap_matches_model(const wt_cidmap *m, const cid_model *ref) {
  size_t count = 0;
  for (size_t i = 0; i < NCIDS; i++) {
    void *want = ref->present[i] ? (void *)&ref->value[i] : NULL;
    if (wt_cidmap_get(m, ref->key[i].data, ref->key[i].len) != want) return 0;
    count += (size_t)ref->present[i];
  }
  return m->count == count;
}

static void cidmap_agrees_with_model_under_random_churn(void) {
  static cid_model ref;
  memset(&ref, 0, sizeof(ref));
  random_cids(ref.key, NCIDS);
  wt_cidmap m;
  CHECK_EQ(wt_cidmap_init(&m, rng()), 0);
  for (int step = 0; step < 40000; step++) {
    size_t i = (size_t)(rng() % NCIDS);
    if (rng() % 3 != 0) {
      CHECK_EQ(wt_cidmap_put(&m, ref.key[i].data, ref.key[i].len, &ref.value[i]), 0);
      ref.present[i] = 1;
    } else {
      void *want = ref.present[i] ? (void *)&ref.value[i] : NULL;
      CHECK(wt_cidmap_del(&m, ref.key[i].data, ref.key[i].len) == want);
      ref.present[i] = 0;
    }
    if (step % 997 == 0) CHECK(cidmap_matches_model(&m, &ref));
  }
  CHECK(cidmap_matches_model(&m, &ref));
  for (size_t i = 0; i < NCIDS; i++)
    if (ref.present[i]) CHECK(wt_cidmap_del(&m, ref.key[i].data, ref.key[i].len) == &ref.value[i]);
  CHECK_EQ(m.count, 0);
  wt_cidmap_free(&m);
}

/* Eleven live keys keep the initial 16-slot table from growing, at a load
 * where probe runs often wrap around its end: the case backward-shift
 * deletion gets wrong most easily. */
#define NSMALL 11

static void cidmap_full_small_table_survives_churn(void) {
  for (int round = 0; round < 200; round++) {
    wt_cid keys[NSMALL];
    int present[NSMALL] = {0}, value[NSMALL];
    random_cids(keys, NSMALL);
    wt_cidmap m;
    CHECK_EQ(wt_cidmap_init(&m, rng()), 0);
    size_t cap = m.cap;
    for (int step = 0; step < 500; step++) {
      size_t i = (size_t)(rng() % NSMALL);
      if (rng() % 2) {
        CHECK_EQ(wt_cidmap_put(&m, keys[i].data, keys[i].len, &value[i]), 0);
        present[i] = 1;
      } else {
        CHECK(wt_cidmap_del(&m, keys[i].data, keys[i].len) == (present[i] ? &value[i] : NULL));
        present[i] = 0;
      }
      for (size_t k = 0; k < NSMALL; k++)
        CHECK(wt_cidmap_get(&m, keys[k].data, keys[k].len) == (present[k] ? &value[k] : NULL));
    }
    CHECK_EQ(m.cap, cap);
    wt_cidmap_free(&m);
  }
}

/* ---- wt_idmap ---------------------------------------------------------- */

static void idmap_empty_map_finds_nothing(void) {
  wt_idmap m;
  wt_idmap_init(&m);
  CHECK(wt_idmap_get(&m, 0) == NULL);
  CHECK(wt_idmap_del(&m, 0) == NULL);
  CHECK_EQ(m.count, 0);
  wt_idmap_free(&m);
}

static void idmap_put_get_del_small_and_large_keys(void) {
  static const uint64_t keys[] = {0, 1, 4, 1ULL << 62, (1ULL << 62) - 1, UINT64_MAX - 1};
  int vals[6];
  wt_idmap m;
  wt_idmap_init(&m);
  for (size_t i = 0; i < 6; i++)
    CHECK_EQ(wt_idmap_put(&m, keys[i], &vals[i]), 0);
  CHECK_EQ(m.count, 6);
  for (size_t i = 0; i < 6; i++)
    CHECK(wt_idmap_get(&m, keys[i]) == &vals[i]);
  CHECK(wt_idmap_get(&m, 2) == NULL);
  CHECK(wt_idmap_del(&m, 0) == &vals[0]);
  CHECK(wt_idmap_get(&m, 0) == NULL);
  CHECK(wt_idmap_del(&m, 0) == NULL);
  for (size_t i = 1; i < 6; i++)
    CHECK(wt_idmap_get(&m, keys[i]) == &vals[i]);
  CHECK_EQ(m.count, 5);
  wt_idmap_free(&m);
}

static void idmap_put_replaces_value(void) {
  int a, b;
  wt_idmap m;
  wt_idmap_init(&m);
  CHECK_EQ(wt_idmap_put(&m, 12, &a), 0);
  CHECK_EQ(wt_idmap_put(&m, 12, &b), 0);
  CHECK_EQ(m.count, 1);
  CHECK(wt_idmap_get(&m, 12) == &b);
  wt_idmap_free(&m);
}

static void idmap_rejects_uint64_max(void) {
  int a;
  wt_idmap m;
  wt_idmap_init(&m);
  CHECK_EQ(wt_idmap_put(&m, UINT64_MAX, &a), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_idmap_put(&m, 5, &a), 0);
  CHECK_EQ(wt_idmap_put(&m, UINT64_MAX, &a), WT_ERR_INVALID_ARGUMENT);
  CHECK(wt_idmap_get(&m, UINT64_MAX) == NULL);
  CHECK(wt_idmap_del(&m, UINT64_MAX) == NULL);
  CHECK_EQ(m.count, 1);
  wt_idmap_free(&m);
}

#define NIDS 3000

/* Half the keys are stream-ID-like (4 * i), half random 64-bit values. */
static uint64_t model_id(size_t i) {
  return i % 2 ? 4 * (uint64_t)i : (uint64_t)i * 0x9e3779b97f4a7c15ULL % (UINT64_MAX - 1);
}

static int idmap_matches_model(const wt_idmap *m, const int *present, const int *value) {
  size_t count = 0;
  for (size_t i = 0; i < NIDS; i++) {
    const void *want = present[i] ? &value[i] : NULL;
    if (wt_idmap_get(m, model_id(i)) != want) return 0;
    count += (size_t)present[i];
  }
  return m->count == count;
}

static void idmap_agrees_with_model_under_random_churn(void) {
  static int present[NIDS], value[NIDS];
  memset(present, 0, sizeof(present));
  wt_idmap m;
  wt_idmap_init(&m);
  for (int step = 0; step < 30000; step++) {
    size_t i = (size_t)(rng() % NIDS);
    if (rng() % 3 != 0) {
      CHECK_EQ(wt_idmap_put(&m, model_id(i), &value[i]), 0);
      present[i] = 1;
    } else {
      void *want = present[i] ? &value[i] : NULL;
      CHECK(wt_idmap_del(&m, model_id(i)) == want);
      present[i] = 0;
    }
    if (step % 997 == 0) CHECK(idmap_matches_model(&m, present, value));
  }
  CHECK(idmap_matches_model(&m, present, value));
  wt_idmap_free(&m);
}

/* Five live keys keep the first 8-slot table from growing (see NSMALL). */
#define NSMALL_IDS 5

static void idmap_full_small_table_survives_churn(void) {
  for (int round = 0; round < 300; round++) {
    uint64_t keys[NSMALL_IDS];
    int present[NSMALL_IDS] = {0}, value[NSMALL_IDS];
    for (size_t i = 0; i < NSMALL_IDS; i++)
      keys[i] = (rng() % 1000) * NSMALL_IDS + i;
    wt_idmap m;
    wt_idmap_init(&m);
    for (int step = 0; step < 300; step++) {
      size_t i = (size_t)(rng() % NSMALL_IDS);
      if (rng() % 2) {
        CHECK_EQ(wt_idmap_put(&m, keys[i], &value[i]), 0);
        present[i] = 1;
      } else {
        CHECK(wt_idmap_del(&m, keys[i]) == (present[i] ? &value[i] : NULL));
        present[i] = 0;
      }
      for (size_t k = 0; k < NSMALL_IDS; k++)
        CHECK(wt_idmap_get(&m, keys[k]) == (present[k] ? &value[k] : NULL));
    }
    CHECK_EQ(m.cap, 8);
    wt_idmap_free(&m);
  }
}

static void idmap_iteration_visits_every_key_once(void) {
  static int seen[NIDS], value[NIDS];
  memset(seen, 0, sizeof(seen));
  wt_idmap m;
  wt_idmap_init(&m);
  for (size_t i = 0; i < NIDS; i++)
    CHECK_EQ(wt_idmap_put(&m, 4 * (uint64_t)i + 1, &value[i]), 0);
  for (size_t i = 0; i < NIDS; i += 3)
    CHECK(wt_idmap_del(&m, 4 * (uint64_t)i + 1) == &value[i]);
  size_t visited = 0;
  for (size_t s = 0; s < m.cap; s++) {
    if (!wt_idmap_used(&m, s)) continue;
    uint64_t k = m.slots[s].key;
    CHECK(k % 4 == 1 && k / 4 < NIDS);
    size_t i = (size_t)(k / 4);
    CHECK(m.slots[s].value == &value[i]);
    seen[i]++;
    visited++;
  }
  CHECK_EQ(visited, m.count);
  for (size_t i = 0; i < NIDS; i++)
    CHECK_EQ(seen[i], i % 3 ? 1 : 0);
  wt_idmap_free(&m);
}

/* ---- wt_timerheap ------------------------------------------------------ */

static void timer_init_is_disarmed(void) {
  wt_timer t;
  wt_timer_init(&t);
  CHECK(t.expiry == WT_TIMER_NONE);
  CHECK(t.heap_index == SIZE_MAX);
  wt_timerheap h;
  wt_timerheap_init(&h);
  CHECK(wt_timerheap_top(&h) == NULL);
  wt_timerheap_free(&h);
}

static void timerheap_top_is_earliest(void) {
  wt_timerheap h;
  wt_timerheap_init(&h);
  wt_timer a, b, c;
  wt_timer_init(&a);
  wt_timer_init(&b);
  wt_timer_init(&c);
  CHECK_EQ(wt_timerheap_set(&h, &a, 300), 0);
  CHECK(wt_timerheap_top(&h) == &a);
  CHECK_EQ(wt_timerheap_set(&h, &b, 100), 0);
  CHECK_EQ(wt_timerheap_set(&h, &c, 200), 0);
  CHECK(wt_timerheap_top(&h) == &b);
  CHECK_EQ(wt_timerheap_set(&h, &a, 50), 0);
  CHECK(wt_timerheap_top(&h) == &a);
  CHECK_EQ(wt_timerheap_set(&h, &a, 1000), 0);
  CHECK(wt_timerheap_top(&h) == &b);
  CHECK_EQ(h.len, 3);
  wt_timerheap_free(&h);
}

static void timerheap_none_disarms(void) {
  wt_timerheap h;
  wt_timerheap_init(&h);
  wt_timer a, b;
  wt_timer_init(&a);
  wt_timer_init(&b);
  CHECK_EQ(wt_timerheap_set(&h, &a, 10), 0);
  CHECK_EQ(wt_timerheap_set(&h, &b, 20), 0);
  CHECK_EQ(wt_timerheap_set(&h, &a, WT_TIMER_NONE), 0);
  CHECK(a.heap_index == SIZE_MAX);
  CHECK(a.expiry == WT_TIMER_NONE);
  CHECK(wt_timerheap_top(&h) == &b);
  CHECK_EQ(h.len, 1);
  CHECK_EQ(wt_timerheap_set(&h, &a, WT_TIMER_NONE), 0);
  CHECK_EQ(h.len, 1);
  CHECK_EQ(wt_timerheap_set(&h, &b, WT_TIMER_NONE), 0);
  CHECK(wt_timerheap_top(&h) == NULL);
  wt_timerheap_free(&h);
}

static void timerheap_remove_of_unarmed_timer_is_harmless(void) {
  wt_timerheap h;
  wt_timerheap_init(&h);
  wt_timer a, b;
  wt_timer_init(&a);
  wt_timer_init(&b);
  CHECK_EQ(wt_timerheap_set(&h, &a, 10), 0);
  wt_timerheap_remove(&h, &b);
  CHECK_EQ(h.len, 1);
  wt_timerheap_remove(&h, &a);
  CHECK(a.heap_index == SIZE_MAX);
  CHECK(wt_timerheap_top(&h) == NULL);
  wt_timerheap_remove(&h, &a);
  CHECK_EQ(h.len, 0);
  wt_timerheap_free(&h);
}

#define NTIMERS 300

/* Nonzero if the heap holds exactly the armed timers, each knows its index,
 * the heap property holds, and top is the brute-force minimum. */
static int timerheap_consistent(const wt_timerheap *h, const wt_timer *t, const int *armed) {
  size_t narmed = 0;
  const wt_timer *min = NULL;
  for (size_t i = 0; i < NTIMERS; i++) {
    if (!armed[i]) {
      if (t[i].heap_index != SIZE_MAX) return 0;
      continue;
    }
    narmed++;
    if (t[i].heap_index >= h->len || h->items[t[i].heap_index] != &t[i]) return 0;
    if (!min || t[i].expiry < min->expiry) min = &t[i];
  }
  for (size_t i = 1; i < h->len; i++)
    if (h->items[(i - 1) / 2]->expiry > h->items[i]->expiry) return 0;
  if (h->len != narmed) return 0;
  const wt_timer *top = wt_timerheap_top(h);
  return min ? top && top->expiry == min->expiry : top == NULL;
}

static void timerheap_agrees_with_brute_force_minimum(void) {
  static wt_timer t[NTIMERS];
  static int armed[NTIMERS];
  wt_timerheap h;
  wt_timerheap_init(&h);
  for (size_t i = 0; i < NTIMERS; i++) {
    wt_timer_init(&t[i]);
    armed[i] = 0;
  }
  for (int step = 0; step < 30000; step++) {
    size_t i = (size_t)(rng() % NTIMERS);
    uint64_t r = rng() % 10;
    if (r < 6) {
      /* A small range makes equal expiries common. */
      CHECK_EQ(wt_timerheap_set(&h, &t[i], rng() % 1000), 0);
      armed[i] = 1;
    } else if (r < 8) {
      CHECK_EQ(wt_timerheap_set(&h, &t[i], WT_TIMER_NONE), 0);
      armed[i] = 0;
    } else {
      wt_timerheap_remove(&h, &t[i]);
      armed[i] = 0;
    }
    CHECK(timerheap_consistent(&h, t, armed));
  }
  wt_timerheap_free(&h);
}

static void timerheap_drains_in_expiry_order(void) {
  static wt_timer t[NTIMERS];
  wt_timerheap h;
  wt_timerheap_init(&h);
  for (size_t i = 0; i < NTIMERS; i++) {
    wt_timer_init(&t[i]);
    CHECK_EQ(wt_timerheap_set(&h, &t[i], rng() % 5000), 0);
  }
  uint64_t last = 0;
  size_t popped = 0;
  wt_timer *top;
  while ((top = wt_timerheap_top(&h)) != NULL) {
    CHECK(top->expiry >= last);
    last = top->expiry;
    wt_timerheap_remove(&h, top);
    CHECK(top->heap_index == SIZE_MAX);
    popped++;
  }
  CHECK_EQ(popped, NTIMERS);
  wt_timerheap_free(&h);
}

/* ---- wt_url ------------------------------------------------------------ */

/* Parses `in` and checks every field; nonzero on a match. */
static int url_is(const char *in, const char *host, const char *authority, uint16_t port, const char *path) {
  wt_url u;
  int rv = wt_url_parse(in, &u);
  int ok = rv == 0 && strcmp(u.host, host) == 0 && strcmp(u.authority, authority) == 0 && u.port == port && u.path &&
           strcmp(u.path, path) == 0;
  wt_url_free(&u);
  return ok;
}

static int url_rejected(const char *in) {
  wt_url u;
  int rv = wt_url_parse(in, &u);
  int ok = rv == WT_ERR_INVALID_ARGUMENT && u.path == NULL;
  wt_url_free(&u);
  return ok;
}

static void url_accepts_host_with_default_port(void) {
  CHECK(url_is("https://example.com", "example.com", "example.com", 443, "/"));
  CHECK(url_is("https://example.com/", "example.com", "example.com", 443, "/"));
  CHECK(url_is("HTTPS://example.com/x", "example.com", "example.com", 443, "/x"));
  CHECK(url_is("https://127.0.0.1/wt", "127.0.0.1", "127.0.0.1", 443, "/wt"));
}

static void url_accepts_explicit_port(void) {
  CHECK(url_is("https://example.com:4433/wt", "example.com", "example.com:4433", 4433, "/wt"));
  CHECK(url_is("https://h:1", "h", "h:1", 1, "/"));
  CHECK(url_is("https://h:65535/", "h", "h:65535", 65535, "/"));
  CHECK(url_is("https://h:443", "h", "h:443", 443, "/"));
}

static void url_accepts_ipv6_literal(void) {
  CHECK(url_is("https://[::1]/x", "::1", "[::1]", 443, "/x"));
  CHECK(url_is("https://[::1]", "::1", "[::1]", 443, "/"));
  CHECK(url_is("https://[2001:DB8::1]:8443/a", "2001:DB8::1", "[2001:DB8::1]:8443", 8443, "/a"));
  CHECK(url_is("https://[::ffff:192.0.2.1]", "::ffff:192.0.2.1", "[::ffff:192.0.2.1]", 443, "/"));
}

static void url_keeps_path_and_query(void) {
  CHECK(url_is("https://h?q", "h", "h", 443, "/?q"));
  CHECK(url_is("https://h:9?q=1", "h", "h:9", 9, "/?q=1"));
  CHECK(url_is("https://h/p/a?x=1&y=%20", "h", "h", 443, "/p/a?x=1&y=%20"));
  CHECK(url_is("https://h/a:b@c", "h", "h", 443, "/a:b@c"));
}

static void url_rejects_other_schemes_and_missing_host(void) {
  CHECK(url_rejected(NULL));
  CHECK(url_rejected(""));
  CHECK(url_rejected("http://example.com/"));
  CHECK(url_rejected("example.com/"));
  CHECK(url_rejected("https:/example.com/"));
  CHECK(url_rejected("https://"));
  CHECK(url_rejected("https:///path"));
  CHECK(url_rejected("https://?q"));
  CHECK(url_rejected("https://:443/"));
  CHECK(url_rejected("https://[]/"));
}

static void url_rejects_userinfo_and_fragment(void) {
  CHECK(url_rejected("https://user@host/"));
  CHECK(url_rejected("https://user:pw@host/"));
  CHECK(url_rejected("https://host/p#frag"));
  CHECK(url_rejected("https://host#frag"));
  CHECK(url_rejected("https://host/?q#frag"));
}

static void url_rejects_bad_ports(void) {
  CHECK(url_rejected("https://h:0/"));
  CHECK(url_rejected("https://h:65536/"));
  CHECK(url_rejected("https://h:99999/"));
  CHECK(url_rejected("https://h:1000000/"));
  CHECK(url_rejected("https://h:/"));
  CHECK(url_rejected("https://h:abc/"));
  CHECK(url_rejected("https://h:44a/"));
  CHECK(url_rejected("https://h:-1/"));
  CHECK(url_rejected("https://[::1]:0/"));
  CHECK(url_rejected("https://[::1]:x/"));
}

static void url_rejects_bad_brackets(void) {
  CHECK(url_rejected("https://[::1/"));
  CHECK(url_rejected("https://[::1"));
  CHECK(url_rejected("https://::1]/"));
  CHECK(url_rejected("https://[::1]x/"));
  CHECK(url_rejected("https://[::1]443/"));
  CHECK(url_rejected("https://[::1]]:443/"));
  CHECK(url_rejected("https://[[::1]/"));
  CHECK(url_rejected("https://h[1]/"));
}

static void url_rejects_space_and_control_bytes(void) {
  CHECK(url_rejected("https://h/a b"));
  CHECK(url_rejected("https://h/a\tb"));
  CHECK(url_rejected("https://h/a\x01"));
  CHECK(url_rejected("https://h/\x7f"));
  CHECK(url_rejected("https://h?a b"));
  CHECK(url_rejected("https://h st/"));
  CHECK(url_rejected("https://h\r\n/"));
  CHECK(url_rejected("https://[::1 ]/"));
  CHECK(url_rejected("https://[::1\r\nx]/"));
  CHECK(url_rejected("https://[::1\x01]/"));
}

static void url_limits_host_length(void) {
  char in[300] = "https://";
  memset(in + 8, 'a', 255);
  in[8 + 255] = 0;
  wt_url u;
  CHECK_EQ(wt_url_parse(in, &u), 0);
  CHECK_EQ(strlen(u.host), 255);
  wt_url_free(&u);
  in[8 + 255] = 'a';
  in[8 + 256] = 0;
  CHECK(url_rejected(in));
}

static void url_free_clears_path(void) {
  wt_url u;
  CHECK_EQ(wt_url_parse("https://h/p", &u), 0);
  CHECK(u.path != NULL);
  wt_url_free(&u);
  CHECK(u.path == NULL);
  wt_url_free(&u);
}

/* ---- UTF-8 ------------------------------------------------------------- */

/* Validates an exact-size heap copy so that ASan catches any over-read. */
static int utf8_ok(const char *hex) {
  uint8_t tmp[64];
  size_t n = test_unhex(hex, tmp);
  uint8_t *p = malloc(n ? n : 1);
  if (!p) abort();
  memcpy(p, tmp, n);
  int rv = wt_utf8_valid(p, n);
  free(p);
  return rv;
}

static void utf8_accepts_well_formed_text(void) {
  CHECK(utf8_ok(""));
  CHECK(utf8_ok("61 62 63 00 7f"));
  CHECK(utf8_ok("c2 80  df bf  c3 a9"));                   /* U+0080, U+07FF, é */
  CHECK(utf8_ok("e0 a0 80  e2 82 ac  ef bf bf"));          /* U+0800, €, U+FFFF */
  CHECK(utf8_ok("ed 9f bf  ee 80 80"));                    /* U+D7FF, U+E000 */
  CHECK(utf8_ok("f0 90 80 80  f0 9d 84 9e  f4 8f bf bf")); /* U+10000, 𝄞, U+10FFFF */
}

static void utf8_rejects_overlong_forms(void) {
  CHECK(!utf8_ok("c0 80"));
  CHECK(!utf8_ok("c1 bf"));
  CHECK(!utf8_ok("e0 80 80"));
  CHECK(!utf8_ok("e0 9f bf"));
  CHECK(!utf8_ok("f0 80 80 80"));
  CHECK(!utf8_ok("f0 8f bf bf"));
}

static void utf8_rejects_surrogates_and_beyond_10ffff(void) {
  CHECK(!utf8_ok("ed a0 80"));
  CHECK(!utf8_ok("ed bf bf"));
  CHECK(!utf8_ok("f4 90 80 80"));
  CHECK(!utf8_ok("f5 80 80 80"));
  CHECK(!utf8_ok("f8 88 80 80 80"));
  CHECK(!utf8_ok("fe"));
  CHECK(!utf8_ok("ff"));
}

static void utf8_rejects_truncated_sequences(void) {
  CHECK(!utf8_ok("c3"));
  CHECK(!utf8_ok("61 c3"));
  CHECK(!utf8_ok("e2 82"));
  CHECK(!utf8_ok("f0 9d 84"));
  CHECK(!utf8_ok("c3 41"));
  CHECK(!utf8_ok("e2 41 ac"));
  CHECK(!utf8_ok("e2 82 41"));
  CHECK(!utf8_ok("f0 9d 41 9e"));
  CHECK(!utf8_ok("f0 9d 84 41"));
}

static void utf8_rejects_stray_continuation(void) {
  CHECK(!utf8_ok("80"));
  CHECK(!utf8_ok("61 80 62"));
  CHECK(!utf8_ok("c3 a9 a9"));
  CHECK(!utf8_ok("bf"));
}

static void utf8_truncate_returns_len_when_it_fits(void) {
  const uint8_t s[] = {'a', 0xc3, 0xa9};
  CHECK_EQ(wt_utf8_truncate(s, 3, 3), 3);
  CHECK_EQ(wt_utf8_truncate(s, 3, 1024), 3);
  CHECK_EQ(wt_utf8_truncate(s, 0, 0), 0);
}

static void utf8_truncate_never_splits_a_character(void) {
  const uint8_t s[] = {'a', 0xc3, 0xa9, 'b'};
  CHECK_EQ(wt_utf8_truncate(s, 4, 2), 1);
  CHECK_EQ(wt_utf8_truncate(s, 4, 1), 1);
  CHECK_EQ(wt_utf8_truncate(s, 4, 3), 3);
  CHECK_EQ(wt_utf8_truncate(s, 4, 0), 0);
  const uint8_t euro[] = {0xe2, 0x82, 0xac, 0xe2, 0x82, 0xac};
  CHECK_EQ(wt_utf8_truncate(euro, 6, 1), 0);
  CHECK_EQ(wt_utf8_truncate(euro, 6, 2), 0);
  CHECK_EQ(wt_utf8_truncate(euro, 6, 3), 3);
  CHECK_EQ(wt_utf8_truncate(euro, 6, 5), 3);
}

/* For every cut of a mixed string, the result is the largest boundary. */
static void utf8_truncate_finds_largest_boundary(void) {
  uint8_t s[32];
  size_t n = test_unhex("61 c3 a9 e2 82 ac f0 9d 84 9e 62 df bf f4 8f bf bf 63", s);
  for (size_t max = 0; max <= n; max++) {
    size_t r = wt_utf8_truncate(s, n, max);
    CHECK(r <= max);
    CHECK(wt_utf8_valid(s, r));
    for (size_t k = r + 1; k <= max; k++)
      CHECK(!wt_utf8_valid(s, k));
  }
}

/* ---- SHA-256 hex ------------------------------------------------------- */

static void hex_sha256_writes_lowercase_digits(void) {
  uint8_t h[32];
  for (int i = 0; i < 32; i++)
    h[i] = (uint8_t)(i * 0x11 + 0x0f);
  char out[65];
  memset(out, 'x', sizeof(out));
  wt_hex_sha256(h, out);
  char want[65];
  for (int i = 0; i < 32; i++)
    snprintf(want + 2 * i, 3, "%02x", h[i]);
  CHECK(strcmp(out, want) == 0);
  CHECK_EQ(strlen(out), 64);
}

static void hex_round_trips(void) {
  uint8_t h[32], back[32];
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 32; i++)
      h[i] = (uint8_t)rng();
    char text[65];
    wt_hex_sha256(h, text);
    memset(back, 0, sizeof(back));
    CHECK_EQ(wt_parse_sha256(text, back), 0);
    CHECK_MEM(back, h, 32);
  }
}

static void hex_parse_accepts_uppercase_and_colons(void) {
  static const char *sha_empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  uint8_t want[32], got[32];
  CHECK_EQ(test_unhex(sha_empty, want), 32);
  CHECK_EQ(wt_parse_sha256("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", got), 0);
  CHECK_MEM(got, want, 32);
  memset(got, 0, sizeof(got));
  CHECK_EQ(wt_parse_sha256("E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:"
                           "27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55",
                           got),
           0);
  CHECK_MEM(got, want, 32);
}

static void hex_parse_rejects_malformed_input(void) {
  static const char *good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  uint8_t h[32];
  char text[80];
  CHECK_EQ(wt_parse_sha256(NULL, h), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_parse_sha256(good, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_parse_sha256("", h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "%.63s", good);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "%.62s", good);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "%s0", good);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "%s00", good);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "g%s", good + 1);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "%.10s %s", good, good + 11);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), ":%s", good);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
  snprintf(text, sizeof(text), "e:3%s", good + 2);
  CHECK_EQ(wt_parse_sha256(text, h), WT_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* ratelimit                                                                */

#define SEC 1000000000ULL

static void ratelimit_allows_burst_then_refuses(void) {
  wt_ratelimit rl;
  CHECK_EQ(wt_ratelimit_init(&rl, 10, 5, 64, 1), 0);
  const uint8_t k[4] = {10, 0, 0, 1};
  uint64_t t = 5 * SEC;
  for (int i = 0; i < 5; i++)
    CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t), 1);
  CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t), 0);
  /* A refusal takes nothing: still refused just before the next token. */
  CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t + SEC / 10 - 1), 0);
  CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t + SEC / 10), 1);
  CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t + SEC / 10), 0);
  /* After a long pause the bucket holds `burst` again, not more. */
  t += 100 * SEC;
  for (int i = 0; i < 5; i++)
    CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t), 1);
  CHECK_EQ(wt_ratelimit_take(&rl, k, 4, t), 0);
  wt_ratelimit_free(&rl);
}

static void ratelimit_sustained_rate_matches_configuration(void) {
  wt_ratelimit rl;
  CHECK_EQ(wt_ratelimit_init(&rl, 100, 10, 64, 7), 0);
  const uint8_t k[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};
  /* Ask every millisecond for 10 s: 10 (burst) + 100/s * 10 s granted. */
  int granted = 0;
  for (uint64_t ms = 0; ms < 10000; ms++)
    granted += wt_ratelimit_take(&rl, k, 8, SEC + ms * 1000000ULL);
  CHECK(granted >= 1005 && granted <= 1011);
  wt_ratelimit_free(&rl);
}

static void ratelimit_keys_are_independent(void) {
  wt_ratelimit rl;
  CHECK_EQ(wt_ratelimit_init(&rl, 1, 2, 1024, 3), 0);
  uint8_t a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2};
  CHECK_EQ(wt_ratelimit_take(&rl, a, 4, SEC), 1);
  CHECK_EQ(wt_ratelimit_take(&rl, a, 4, SEC), 1);
  CHECK_EQ(wt_ratelimit_take(&rl, a, 4, SEC), 0);
  CHECK_EQ(wt_ratelimit_take(&rl, b, 4, SEC), 1);
  /* A shorter key with the same prefix is another key. */
  CHECK_EQ(wt_ratelimit_take(&rl, a, 3, SEC), 1);
  wt_ratelimit_free(&rl);
}

static void ratelimit_zero_rate_is_unlimited(void) {
  wt_ratelimit rl;
  CHECK_EQ(wt_ratelimit_init(&rl, 0, 0, 0, 0), 0);
  CHECK(rl.e == NULL);
  for (int i = 0; i < 1000; i++)
    CHECK_EQ(wt_ratelimit_take(&rl, (const uint8_t *)"x", 1, SEC), 1);
  wt_ratelimit_free(&rl);
  CHECK_EQ(wt_ratelimit_init(&rl, 5, 0, 16, 0), WT_ERR_INVALID_ARGUMENT);
}

/* Many more keys than slots: memory stays fixed, and a key that keeps
 * hammering stays limited because idle buckets are replaced first. */
static void ratelimit_table_is_bounded_and_keeps_heavy_users(void) {
  wt_ratelimit rl;
  CHECK_EQ(wt_ratelimit_init(&rl, 1, 5, 16, 11), 0);
  size_t slots = rl.nsets * WT_RATELIMIT_WAYS;
  CHECK(slots >= 16 && slots <= 64);
  const uint8_t heavy[4] = {198, 51, 100, 7};
  uint64_t t = SEC;
  for (int i = 0; i < 5; i++)
    CHECK_EQ(wt_ratelimit_take(&rl, heavy, 4, t), 1);
  int heavy_granted = 0;
  for (uint32_t i = 0; i < 100000; i++) {
    uint8_t k[4];
    memcpy(k, &i, 4);
    t += 1000; /* 1 us apart: 0.1 s in all, less than one token */
    (void)wt_ratelimit_take(&rl, k, 4, t);
    if (i % 100 == 0) heavy_granted += wt_ratelimit_take(&rl, heavy, 4, t);
  }
  CHECK_EQ(heavy_granted, 0);
  CHECK_EQ(rl.nsets * WT_RATELIMIT_WAYS, slots);
  wt_ratelimit_free(&rl);
}

static void ratelimit_address_keys(void) {
  uint8_t k1[16], k2[16];
  struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(1)};
  inet_pton(AF_INET, "203.0.113.9", &v4.sin_addr);
  struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = htons(2)};
  inet_pton(AF_INET6, "::ffff:203.0.113.9", &mapped.sin6_addr);
  CHECK_EQ(wt_ratelimit_addr_key((struct sockaddr *)&v4, k1), 4);
  CHECK_EQ(wt_ratelimit_addr_key((struct sockaddr *)&mapped, k2), 4);
  CHECK_MEM(k1, k2, 4); /* the port does not matter, nor the mapping */
  struct sockaddr_in6 a = {.sin6_family = AF_INET6}, b = a, c = a;
  inet_pton(AF_INET6, "2001:db8:1:2::1", &a.sin6_addr);
  inet_pton(AF_INET6, "2001:db8:1:2:ffff::99", &b.sin6_addr);
  inet_pton(AF_INET6, "2001:db8:1:3::1", &c.sin6_addr);
  CHECK_EQ(wt_ratelimit_addr_key((struct sockaddr *)&a, k1), 8);
  CHECK_EQ(wt_ratelimit_addr_key((struct sockaddr *)&b, k2), 8);
  CHECK_MEM(k1, k2, 8); /* one /64 */
  CHECK_EQ(wt_ratelimit_addr_key((struct sockaddr *)&c, k2), 8);
  CHECK(memcmp(k1, k2, 8) != 0);
  struct sockaddr un = {.sa_family = AF_UNIX};
  CHECK_EQ(wt_ratelimit_addr_key(&un, k1), 0);
}

int main(void) {
  RUN(buf_append_then_read_in_order);
  RUN(buf_rpos_is_never_null);
  RUN(buf_read_more_than_available_returns_what_is_there);
  RUN(buf_consume_advances_and_resets_when_drained);
  RUN(buf_reuses_consumed_space_before_growing);
  RUN(buf_grows_keeping_unread_bytes);
  RUN(buf_steady_producer_consumer_never_grows);
  RUN(buf_reserve_guarantees_room);
  RUN(buf_reserve_impossible_size_fails_untouched);
  RUN(buf_clear_empties_but_keeps_capacity);
  RUN(buf_free_releases_and_allows_reuse);

  RUN(cidmap_put_get_del);
  RUN(cidmap_put_replaces_value);
  RUN(cidmap_accepts_20_bytes_rejects_21);
  RUN(cidmap_lengths_of_one_prefix_are_distinct_keys);
  RUN(cidmap_agrees_with_model_under_random_churn);
  RUN(cidmap_full_small_table_survives_churn);

  RUN(idmap_empty_map_finds_nothing);
  RUN(idmap_put_get_del_small_and_large_keys);
  RUN(idmap_put_replaces_value);
  RUN(idmap_rejects_uint64_max);
  RUN(idmap_agrees_with_model_under_random_churn);
  RUN(idmap_full_small_table_survives_churn);
  RUN(idmap_iteration_visits_every_key_once);

  RUN(timer_init_is_disarmed);
  RUN(timerheap_top_is_earliest);
  RUN(timerheap_none_disarms);
  RUN(timerheap_remove_of_unarmed_timer_is_harmless);
  RUN(timerheap_agrees_with_brute_force_minimum);
  RUN(timerheap_drains_in_expiry_order);

  RUN(url_accepts_host_with_default_port);
  RUN(url_accepts_explicit_port);
  RUN(url_accepts_ipv6_literal);
  RUN(url_keeps_path_and_query);
  RUN(url_rejects_other_schemes_and_missing_host);
  RUN(url_rejects_userinfo_and_fragment);
  RUN(url_rejects_bad_ports);
  RUN(url_rejects_bad_brackets);
  RUN(url_rejects_space_and_control_bytes);
  RUN(url_limits_host_length);
  RUN(url_free_clears_path);

  RUN(utf8_accepts_well_formed_text);
  RUN(utf8_rejects_overlong_forms);
  RUN(utf8_rejects_surrogates_and_beyond_10ffff);
  RUN(utf8_rejects_truncated_sequences);
  RUN(utf8_rejects_stray_continuation);
  RUN(utf8_truncate_returns_len_when_it_fits);
  RUN(utf8_truncate_never_splits_a_character);
  RUN(utf8_truncate_finds_largest_boundary);

  RUN(hex_sha256_writes_lowercase_digits);
  RUN(hex_round_trips);
  RUN(hex_parse_accepts_uppercase_and_colons);
  RUN(hex_parse_rejects_malformed_input);

  RUN(ratelimit_allows_burst_then_refuses);
  RUN(ratelimit_sustained_rate_matches_configuration);
  RUN(ratelimit_keys_are_independent);
  RUN(ratelimit_zero_rate_is_unlimited);
  RUN(ratelimit_table_is_bounded_and_keeps_heavy_users);
  RUN(ratelimit_address_keys);
  return TEST_REPORT();
}
