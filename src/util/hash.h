/*
 * hash.h: a seeded 64-bit hash of a short byte string.
 *
 * For: hash tables keyed by what a peer can choose (connection IDs, source
 * addresses). The per-table random seed keeps a peer from predicting which
 * keys collide; the strong 64-bit finaliser spreads every input bit.
 */
#ifndef WT_UTIL_HASH_H
#define WT_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t wt_hash_mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static inline uint64_t wt_hash_bytes(uint64_t seed, const uint8_t *p, size_t len) {
  uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = 0;
    size_t n = len - i < 8 ? len - i : 8;
    memcpy(&w, p + i, n);
    h = wt_hash_mix(h ^ w);
  }
  return wt_hash_mix(h);
}

#endif
