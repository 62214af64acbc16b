/*
 * timerheap.h: a binary min-heap of timers embedded in their owners.
 *
 * For: finding the connection whose QUIC timer fires next among thousands,
 * in O(log n) per update. A wt_timer lives inside the object it times
 * (intrusive), so the heap never allocates per timer. Not for: timers with
 * callbacks; the owner looks at what expired and acts.
 */
#ifndef WT_UTIL_TIMERHEAP_H
#define WT_UTIL_TIMERHEAP_H

#include <stddef.h>
#include <stdint.h>

#define WT_TIMER_NONE UINT64_MAX

typedef struct wt_timer {
  uint64_t expiry;   /* nanoseconds, WT_TIMER_NONE when not armed */
  size_t heap_index; /* position in the heap; SIZE_MAX when not in it */
} wt_timer;

typedef struct wt_timerheap {
  wt_timer **items;
  size_t len, cap;
} wt_timerheap;

void wt_timer_init(wt_timer *t);
void wt_timerheap_init(wt_timerheap *h);
void wt_timerheap_free(wt_timerheap *h);

/* Arms, re-arms or (with WT_TIMER_NONE) disarms `t`. Returns 0 or
 * WT_ERR_NOMEM. */
int wt_timerheap_set(wt_timerheap *h, wt_timer *t, uint64_t expiry);
void wt_timerheap_remove(wt_timerheap *h, wt_timer *t);

/* The earliest timer, or NULL. */
static inline wt_timer *wt_timerheap_top(const wt_timerheap *h) { return h->len ? h->items[0] : NULL; }

#endif
