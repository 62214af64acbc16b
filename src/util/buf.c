/*
 * buf.c: growable byte buffer (see buf.h).
 */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "webtransport.h"

void wt_buf_init(wt_buf *b) { memset(b, 0, sizeof(*b)); }

void wt_buf_free(wt_buf *b) {
  free(b->data);
  wt_buf_init(b);
}

void wt_buf_clear(wt_buf *b) { b->off = b->len = 0; }

int wt_buf_reserve(wt_buf *b, size_t extra) {
  size_t live = b->len - b->off;
  if (b->cap - b->len >= extra) return 0;
  /* Reclaim consumed space before growing: a queue that is drained as fast as
   * it is filled then stays at its high-water mark. */
  if (b->off > 0 && b->cap - live >= extra) {
    memmove(b->data, b->data + b->off, live);
    b->off = 0;
    b->len = live;
    return 0;
  }
  if (extra > SIZE_MAX / 2 - live) return WT_ERR_NOMEM;
  size_t need = live + extra;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < need)
    ncap *= 2;
  uint8_t *nd = malloc(ncap);
  if (!nd) return WT_ERR_NOMEM;
  if (live) memcpy(nd, b->data + b->off, live);
  free(b->data);
  b->data = nd;
  b->off = 0;
  b->len = live;
  b->cap = ncap;
  return 0;
}

int wt_buf_append(wt_buf *b, const void *src, size_t n) {
  if (n == 0) return 0;
  int rv = wt_buf_reserve(b, n);
  if (rv) return rv;
  memcpy(b->data + b->len, src, n);
  b->len += n;
  return 0;
}

void wt_buf_consume(wt_buf *b, size_t n) {
  b->off += n;
  if (b->off >= b->len) b->off = b->len = 0;
}

size_t wt_buf_read(wt_buf *b, void *dst, size_t n) {
  size_t avail = wt_buf_readable(b);
  if (n > avail) n = avail;
  if (n) memcpy(dst, wt_buf_rpos(b), n);
  wt_buf_consume(b, n);
  return n;
}
