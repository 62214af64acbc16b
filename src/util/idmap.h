/*
 * idmap.h: hash map from a 62-bit stream or session ID to a pointer.
 *
 * For: finding per-stream state by QUIC stream ID in the HTTP/3 and
 * WebTransport layers. Open addressing, linear probing, backward-shift
 * deletion (no tombstones).
 */
#ifndef WT_UTIL_IDMAP_H
#define WT_UTIL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_idmap_slot {
  uint64_t key; /* UINT64_MAX marks an empty slot */
  void *value;
} wt_idmap_slot;

typedef struct wt_idmap {
  wt_idmap_slot *slots;
  size_t cap; /* 0 or a power of two */
  size_t count;
} wt_idmap;

void wt_idmap_init(wt_idmap *m);
void wt_idmap_free(wt_idmap *m);
/* Returns 0 or WT_ERR_NOMEM. key must not be UINT64_MAX. */
int wt_idmap_put(wt_idmap *m, uint64_t key, void *value);
void *wt_idmap_get(const wt_idmap *m, uint64_t key);
void *wt_idmap_del(wt_idmap *m, uint64_t key);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (wt_idmap_used(m, i)) ... */
static inline int wt_idmap_used(const wt_idmap *m, size_t i) { return m->slots[i].key != UINT64_MAX; }

#endif
