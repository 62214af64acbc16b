/*
 * sendq.h: one stream's outgoing bytes, from the first unacknowledged byte
 * to the last written one.
 *
 * For: holding stream data between wt_stream_write and the peer's ACK.
 * ngtcp2 does not copy stream data: it keeps pointers into it until the
 * data is acknowledged, so bytes here never move. They live in a list of
 * chunks; a chunk is freed once every byte in it is acknowledged. A chunk
 * may also reference the caller's bytes instead of holding a copy
 * (zero-copy writes): its release callback runs exactly once, when the
 * chunk is freed (acknowledged, truncated away, or the queue freed). Not for:
 * deciding when to send (qconn.c) or flow control (ngtcp2).
 */
#ifndef WT_QUIC_SENDQ_H
#define WT_QUIC_SENDQ_H

#include <stddef.h>
#include <stdint.h>

#include "webtransport.h"

/* Gives referenced bytes back to their owner (the public wt_release_cb). */
typedef wt_release_cb wt_sendq_release_cb;

typedef struct wt_sendq_chunk {
  struct wt_sendq_chunk *next;
  uint64_t off; /* stream offset of the chunk's first byte */
  size_t len, cap;
  const uint8_t *ref; /* referenced bytes (then data[] is empty), or NULL */
  size_t reflen;      /* as given, for the release callback */
  wt_sendq_release_cb release;
  void *release_ud;
  uint8_t data[];
} wt_sendq_chunk;

typedef struct wt_sendq {
  wt_sendq_chunk *head, *tail;
  wt_sendq_chunk *cursor; /* chunk holding offset `sent` (NULL: at the end) */
  uint64_t acked;         /* everything before this is acknowledged */
  uint64_t sent;          /* everything before this was handed to QUIC */
  uint64_t end;           /* total bytes written */
} wt_sendq;

void wt_sendq_init(wt_sendq *q);
void wt_sendq_free(wt_sendq *q);

/* Copies `len` bytes to the end. Returns 0 or WT_ERR_NOMEM. */
int wt_sendq_append(wt_sendq *q, const uint8_t *data, size_t len);

/* Appends `len` (> 0) bytes by reference: they must stay valid and
 * unchanged until `release` (may be NULL) is called with them. Returns 0,
 * or WT_ERR_NOMEM (then nothing is referenced and `release` is not called). */
int wt_sendq_append_ref(wt_sendq *q, const uint8_t *data, size_t len, wt_sendq_release_cb release, void *ud);

/* Bytes written but not yet acknowledged. */
static inline uint64_t wt_sendq_buffered(const wt_sendq *q) { return q->end - q->acked; }
static inline uint64_t wt_sendq_unsent(const wt_sendq *q) { return q->end - q->sent; }

/* Describes up to `max` runs of unsent bytes starting at `sent`. Returns
 * the number of runs filled in (base[i], len[i]). */
size_t wt_sendq_peek(const wt_sendq *q, const uint8_t **base, size_t *len, size_t max);

/* Marks `n` more bytes (n <= unsent) as handed to QUIC. */
void wt_sendq_advance(wt_sendq *q, size_t n);

/* Forgets written bytes from offset max(keep, sent) on: they will never be
 * sent (a reset stream keeps only what it must deliver reliably). */
void wt_sendq_truncate(wt_sendq *q, uint64_t keep);

/* The peer acknowledged [off, off + len); calls come in increasing order
 * without overlap (ngtcp2 guarantees it). Frees chunks that are done. */
void wt_sendq_ack(wt_sendq *q, uint64_t off, uint64_t len);

#endif
