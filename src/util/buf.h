/*
 * buf.h: a growable byte buffer with a read cursor.
 *
 * For: staging bytes that arrive or leave in pieces (frame payloads, stream
 * receive queues, encoded header blocks). Not for: zero-copy send data (that
 * is the QUIC layer's chunk queue) or anything shared between threads.
 *
 * Ownership: the wt_buf owns `data`; wt_buf_free releases it. Pointers into
 * `data` are invalidated by any call that may grow the buffer.
 */
#ifndef WT_UTIL_BUF_H
#define WT_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_buf {
  uint8_t *data;
  size_t off; /* first unread byte */
  size_t len; /* end of valid bytes; readable = len - off */
  size_t cap;
} wt_buf;

void wt_buf_init(wt_buf *b);
void wt_buf_free(wt_buf *b);

/* Ensures room for `extra` more bytes after `len`. Compacts consumed bytes
 * first. Returns 0 or WT_ERR_NOMEM. */
int wt_buf_reserve(wt_buf *b, size_t extra);

/* Appends `n` bytes. Returns 0 or WT_ERR_NOMEM. */
int wt_buf_append(wt_buf *b, const void *src, size_t n);

/* Readable bytes and their start. */
static inline size_t wt_buf_readable(const wt_buf *b) { return b->len - b->off; }
/* Never NULL, even for an empty buffer, so callers may pass it with a zero
 * length to functions that forbid NULL (and NULL + 0 is undefined). */
static inline const uint8_t *wt_buf_rpos(const wt_buf *b) { return b->data ? b->data + b->off : (const uint8_t *)b; }

/* Marks `n` readable bytes as consumed (n <= readable). Resets to empty when
 * everything has been read, so a steady producer/consumer never grows. */
void wt_buf_consume(wt_buf *b, size_t n);

/* Copies up to `n` readable bytes to `dst` and consumes them. */
size_t wt_buf_read(wt_buf *b, void *dst, size_t n);

void wt_buf_clear(wt_buf *b);

#endif
