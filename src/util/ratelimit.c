/*
 * ratelimit.c: fixed-size table of per-key token buckets (see ratelimit.h).
 */
#include "util/ratelimit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "webtransport.h"

int wt_ratelimit_init(wt_ratelimit *rl, uint32_t per_second, uint32_t burst, size_t max_keys, uint64_t seed) {
  memset(rl, 0, sizeof(*rl));
  if (per_second == 0) return 0;
  if (burst == 0 || max_keys == 0) return WT_ERR_INVALID_ARGUMENT;
  size_t nsets = 1;
  while (nsets * WT_RATELIMIT_WAYS < max_keys && nsets < ((size_t)1 << 24))
    nsets <<= 1;
  rl->e = calloc(nsets * WT_RATELIMIT_WAYS, sizeof(*rl->e));
  if (!rl->e) return WT_ERR_NOMEM;
  rl->nsets = nsets;
  rl->interval_ns = 1000000000ULL / per_second;
  if (rl->interval_ns == 0) rl->interval_ns = 1;
  rl->depth_ns = rl->interval_ns * burst;
  rl->seed = seed;
  return 0;
}

void wt_ratelimit_free(wt_ratelimit *rl) {
  free(rl->e);
  memset(rl, 0, sizeof(*rl));
}

static int key_eq(const wt_ratelimit_entry *e, const uint8_t *key, size_t keylen) {
  return e->full_at && e->keylen == keylen && memcmp(e->key, key, keylen) == 0;
}

/* The slot for `key` in its set: its own, else a free or idle one, else
 * the bucket closest to full (the least recent heavy user). */
static wt_ratelimit_entry *find_slot(wt_ratelimit *rl, const uint8_t *key, size_t keylen, uint64_t now, int *found) {
  size_t set = (size_t)wt_hash_bytes(rl->seed, key, keylen) & (rl->nsets - 1);
  wt_ratelimit_entry *base = rl->e + set * WT_RATELIMIT_WAYS, *victim = base;
  for (int i = 0; i < WT_RATELIMIT_WAYS; i++) {
    if (key_eq(&base[i], key, keylen)) {
      *found = 1;
      return &base[i];
    }
    if (base[i].full_at <= now) victim = &base[i]; /* unused or refilled */
    else if (victim->full_at > now && base[i].full_at < victim->full_at) victim = &base[i];
  }
  *found = 0;
  return victim;
}

int wt_ratelimit_take(wt_ratelimit *rl, const uint8_t *key, size_t keylen, uint64_t now_ns) {
  if (!rl->interval_ns) return 1;
  if (keylen > WT_RATELIMIT_KEY_MAX) keylen = WT_RATELIMIT_KEY_MAX;
  /* 0 marks an unused slot, so time starts at 1. */
  uint64_t now = now_ns ? now_ns : 1;
  int found;
  wt_ratelimit_entry *e = find_slot(rl, key, keylen, now, &found);
  uint64_t start = found && e->full_at > now ? e->full_at : now;
  if (start + rl->interval_ns - now > rl->depth_ns) return 0;
  if (!found) {
    e->keylen = (uint8_t)keylen;
    memcpy(e->key, key, keylen);
  }
  e->full_at = start + rl->interval_ns;
  return 1;
}

size_t wt_ratelimit_addr_key(const struct sockaddr *sa, uint8_t key[WT_RATELIMIT_KEY_MAX]) {
  if (sa->sa_family == AF_INET) {
    memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 4;
  }
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      memcpy(key, a->s6_addr + 12, 4);
      return 4;
    }
    memcpy(key, a->s6_addr, 8);
    return 8;
  }
  return 0;
}
