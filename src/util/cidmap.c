/*
 * cidmap.c: open-addressing CID -> pointer map (see cidmap.h).
 */
#include "util/cidmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "webtransport.h"

#define EMPTY 0xff

static int key_eq(const wt_cid *k, const uint8_t *cid, size_t len) {
  return k->len == len && memcmp(k->data, cid, len) == 0;
}

static int alloc_slots(wt_cidmap *m, size_t cap) {
  m->slots = malloc(cap * sizeof(*m->slots));
  if (!m->slots) return WT_ERR_NOMEM;
  for (size_t i = 0; i < cap; i++)
    m->slots[i].key.len = EMPTY;
  m->cap = cap;
  return 0;
}

int wt_cidmap_init(wt_cidmap *m, uint64_t seed) {
  memset(m, 0, sizeof(*m));
  m->seed = seed;
  return alloc_slots(m, 16);
}

void wt_cidmap_free(wt_cidmap *m) {
  free(m->slots);
  memset(m, 0, sizeof(*m));
}

static size_t find_slot(const wt_cidmap *m, const uint8_t *cid, size_t len) {
  size_t mask = m->cap - 1;
  size_t i = (size_t)wt_hash_bytes(m->seed, cid, len) & mask;
  while (m->slots[i].key.len != EMPTY && !key_eq(&m->slots[i].key, cid, len))
    i = (i + 1) & mask;
  return i;
}

static int grow(wt_cidmap *m) {
  wt_cidmap_slot *old = m->slots;
  size_t oldcap = m->cap;
  if (alloc_slots(m, oldcap * 2)) {
    m->slots = old;
    m->cap = oldcap;
    return WT_ERR_NOMEM;
  }
  for (size_t i = 0; i < oldcap; i++) {
    if (old[i].key.len == EMPTY) continue;
    size_t j = find_slot(m, old[i].key.data, old[i].key.len);
    m->slots[j] = old[i];
  }
  free(old);
  return 0;
}

int wt_cidmap_put(wt_cidmap *m, const uint8_t *cid, size_t len, void *value) {
  if (len > WT_CID_MAX) return WT_ERR_INVALID_ARGUMENT;
  if ((m->count + 1) * 4 > m->cap * 3 && grow(m)) return WT_ERR_NOMEM;
  size_t i = find_slot(m, cid, len);
  if (m->slots[i].key.len == EMPTY) {
    m->slots[i].key.len = (uint8_t)len;
    memcpy(m->slots[i].key.data, cid, len);
    m->count++;
  }
  m->slots[i].value = value;
  return 0;
}

void *wt_cidmap_get(const wt_cidmap *m, const uint8_t *cid, size_t len) {
  if (len > WT_CID_MAX) return NULL;
  size_t i = find_slot(m, cid, len);
  return m->slots[i].key.len == EMPTY ? NULL : m->slots[i].value;
}

void *wt_cidmap_del(wt_cidmap *m, const uint8_t *cid, size_t len) {
  if (len > WT_CID_MAX) return NULL;
  size_t mask = m->cap - 1;
  size_t i = find_slot(m, cid, len);
  if (m->slots[i].key.len == EMPTY) return NULL;
  void *value = m->slots[i].value;
  /* Backward-shift deletion: pull later members of the probe run into the
   * hole so that lookups can stop at the first empty slot. */
  size_t hole = i;
  for (size_t j = (i + 1) & mask; m->slots[j].key.len != EMPTY; j = (j + 1) & mask) {
    size_t home = (size_t)wt_hash_bytes(m->seed, m->slots[j].key.data, m->slots[j].key.len) & mask;
    int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole].key.len = EMPTY;
  m->count--;
  return value;
}
