/*
 * ratelimit.h: token buckets per key (a source address, say) in a fixed
 * amount of memory.
 *
 * For: limiting how fast one peer may open connections or send requests.
 * Each key has a bucket of `burst` tokens refilled at `per_second`; a take
 * succeeds while the bucket holds a token. The bucket is kept as the time
 * at which it would be full again (the GCRA form: one 64-bit value, no
 * refill loop). The table is set-associative and never grows: a key whose
 * set is full replaces an idle bucket there (one that has refilled
 * completely, so forgetting it changes nothing) or else the one closest to
 * full. An attacker holding very many addresses can thus churn the table,
 * but each address still gets at most its own rate. Keys are hashed with a
 * random seed so a peer cannot aim its addresses at one set.
 * Not for: anything that must be exact across restarts or transports.
 */
#ifndef WT_UTIL_RATELIMIT_H
#define WT_UTIL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WT_RATELIMIT_KEY_MAX 16
#define WT_RATELIMIT_WAYS 4
/* Source addresses a limiter of the transport remembers (256 KiB). */
#define WT_RATELIMIT_ADDRS 8192

typedef struct wt_ratelimit_entry {
  uint64_t full_at; /* when the bucket is full again; 0: slot unused */
  uint8_t keylen;
  uint8_t key[WT_RATELIMIT_KEY_MAX];
} wt_ratelimit_entry;

typedef struct wt_ratelimit {
  wt_ratelimit_entry *e; /* nsets * WT_RATELIMIT_WAYS */
  size_t nsets;          /* power of two */
  uint64_t interval_ns;  /* one token per interval; 0: no limit */
  uint64_t depth_ns;     /* burst * interval: how far full_at may run ahead */
  uint64_t seed;
} wt_ratelimit;

/* `per_second` tokens per second (0: no limit, nothing is allocated), at
 * most `burst` (>= 1) at once, for about `max_keys` keys. Returns 0 or
 * WT_ERR_NOMEM / WT_ERR_INVALID_ARGUMENT. */
int wt_ratelimit_init(wt_ratelimit *rl, uint32_t per_second, uint32_t burst, size_t max_keys, uint64_t seed);
void wt_ratelimit_free(wt_ratelimit *rl);

/* Takes a token for `key` at time `now_ns`. Returns 1 if there was one, 0
 * if the key is over its rate (nothing is taken then). */
int wt_ratelimit_take(wt_ratelimit *rl, const uint8_t *key, size_t keylen, uint64_t now_ns);

/* The key that stands for a peer address: the IPv4 address (also when it
 * arrives IPv4-mapped on an IPv6 socket), or the /64 prefix of an IPv6
 * address, since one host usually owns a whole /64. Returns its length, or
 * 0 for another address family. */
size_t wt_ratelimit_addr_key(const struct sockaddr *sa, uint8_t key[WT_RATELIMIT_KEY_MAX]);

#endif
