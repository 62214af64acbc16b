/*
 * cidmap.h: hash map from a QUIC connection ID (up to 20 bytes) to a pointer.
 *
 * For: the transport's connection table, which must find a connection by
 * any CID it has issued. Open addressing with linear probing and backward-
 * shift deletion, so lookups never walk tombstones. Keys are hashed with a
 * per-map random seed (SipHash-like mixing is overkill here; the seed plus
 * a strong 64-bit mix keeps a peer from choosing colliding CIDs, because
 * only CIDs *we* generate are inserted, apart from the client's initial
 * DCID).
 */
#ifndef WT_UTIL_CIDMAP_H
#define WT_UTIL_CIDMAP_H

#include <stddef.h>
#include <stdint.h>

#define WT_CID_MAX 20

typedef struct wt_cid {
  uint8_t len;
  uint8_t data[WT_CID_MAX];
} wt_cid;

typedef struct wt_cidmap_slot {
  wt_cid key; /* key.len == 0xff marks an empty slot */
  void *value;
} wt_cidmap_slot;

typedef struct wt_cidmap {
  wt_cidmap_slot *slots;
  size_t cap; /* power of two */
  size_t count;
  uint64_t seed;
} wt_cidmap;

int wt_cidmap_init(wt_cidmap *m, uint64_t seed);
void wt_cidmap_free(wt_cidmap *m);

/* Inserts or replaces. Returns 0 or WT_ERR_NOMEM / WT_ERR_INVALID_ARGUMENT
 * (a CID longer than 20 bytes). */
int wt_cidmap_put(wt_cidmap *m, const uint8_t *cid, size_t len, void *value);
void *wt_cidmap_get(const wt_cidmap *m, const uint8_t *cid, size_t len);
/* Removes the key if present; returns its value or NULL. */
void *wt_cidmap_del(wt_cidmap *m, const uint8_t *cid, size_t len);

#endif
