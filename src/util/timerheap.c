/*
 * timerheap.c: intrusive binary min-heap (see timerheap.h).
 */
#include "util/timerheap.h"

#include <stdlib.h>

#include "webtransport.h"

void wt_timer_init(wt_timer *t) {
  t->expiry = WT_TIMER_NONE;
  t->heap_index = SIZE_MAX;
}

void wt_timerheap_init(wt_timerheap *h) {
  h->items = NULL;
  h->len = h->cap = 0;
}

void wt_timerheap_free(wt_timerheap *h) {
  free(h->items);
  wt_timerheap_init(h);
}

static void place(wt_timerheap *h, size_t i, wt_timer *t) {
  h->items[i] = t;
  t->heap_index = i;
}

static void sift_up(wt_timerheap *h, size_t i) {
  wt_timer *t = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->items[parent]->expiry <= t->expiry) break;
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(wt_timerheap *h, size_t i) {
  wt_timer *t = h->items[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->len) break;
    if (c + 1 < h->len && h->items[c + 1]->expiry < h->items[c]->expiry) c++;
    if (t->expiry <= h->items[c]->expiry) break;
    place(h, i, h->items[c]);
    i = c;
  }
  place(h, i, t);
}

void wt_timerheap_remove(wt_timerheap *h, wt_timer *t) {
  size_t i = t->heap_index;
  if (i == SIZE_MAX) return;
  t->heap_index = SIZE_MAX;
  wt_timer *last = h->items[--h->len];
  if (last == t) return;
  place(h, i, last);
  sift_up(h, i);
  sift_down(h, last->heap_index);
}

int wt_timerheap_set(wt_timerheap *h, wt_timer *t, uint64_t expiry) {
  t->expiry = expiry;
  if (expiry == WT_TIMER_NONE) {
    wt_timerheap_remove(h, t);
    return 0;
  }
  if (t->heap_index != SIZE_MAX) {
    sift_up(h, t->heap_index);
    sift_down(h, t->heap_index);
    return 0;
  }
  if (h->len == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 16;
    wt_timer **n = realloc(h->items, ncap * sizeof(*n));
    if (!n) return WT_ERR_NOMEM;
    h->items = n;
    h->cap = ncap;
  }
  place(h, h->len++, t);
  sift_up(h, t->heap_index);
  return 0;
}
