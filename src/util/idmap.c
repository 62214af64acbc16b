/*
 * idmap.c: open-addressing uint64 -> pointer map (see idmap.h).
 */
#include "util/idmap.h"

#include <stdlib.h>

#include "webtransport.h"

#define EMPTY UINT64_MAX

static size_t home_of(const wt_idmap *m, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ULL;
  return (size_t)(h >> 32) & (m->cap - 1);
}

void wt_idmap_init(wt_idmap *m) {
  m->slots = NULL;
  m->cap = m->count = 0;
}

void wt_idmap_free(wt_idmap *m) {
  free(m->slots);
  wt_idmap_init(m);
}

static size_t find(const wt_idmap *m, uint64_t key) {
  size_t i = home_of(m, key);
  while (m->slots[i].key != EMPTY && m->slots[i].key != key)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static int resize(wt_idmap *m, size_t ncap) {
  wt_idmap_slot *old = m->slots;
  size_t oldcap = m->cap;
  wt_idmap_slot *n = malloc(ncap * sizeof(*n));
  if (!n) return WT_ERR_NOMEM;
  for (size_t i = 0; i < ncap; i++)
    n[i].key = EMPTY;
  m->slots = n;
  m->cap = ncap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key != EMPTY) m->slots[find(m, old[i].key)] = old[i];
  free(old);
  return 0;
}

int wt_idmap_put(wt_idmap *m, uint64_t key, void *value) {
  if (key == EMPTY) return WT_ERR_INVALID_ARGUMENT;
  if ((m->count + 1) * 4 > m->cap * 3 && resize(m, m->cap ? m->cap * 2 : 8)) return WT_ERR_NOMEM;
  size_t i = find(m, key);
  if (m->slots[i].key == EMPTY) {
    m->slots[i].key = key;
    m->count++;
  }
  m->slots[i].value = value;
  return 0;
}

void *wt_idmap_get(const wt_idmap *m, uint64_t key) {
  if (!m->cap || key == EMPTY) return NULL;
  size_t i = find(m, key);
  return m->slots[i].key == EMPTY ? NULL : m->slots[i].value;
}

void *wt_idmap_del(wt_idmap *m, uint64_t key) {
  if (!m->cap || key == EMPTY) return NULL;
  size_t mask = m->cap - 1, i = find(m, key);
  if (m->slots[i].key == EMPTY) return NULL;
  void *value = m->slots[i].value;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; m->slots[j].key != EMPTY; j = (j + 1) & mask) {
    size_t h = home_of(m, m->slots[j].key);
    int movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
    if (movable) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole].key = EMPTY;
  m->count--;
  return value;
}
