/*
 * sendq.c: stream send queue with stable chunks (see sendq.h).
 */
#include "quic/sendq.h"

#include <stdlib.h>
#include <string.h>

#include "webtransport.h"

/* Chunks are at least this big so that small writes share one allocation,
 * and at most this big so a large write does not pin memory for long. */
#define CHUNK_MIN 4096
#define CHUNK_MAX 65536

void wt_sendq_init(wt_sendq *q) { memset(q, 0, sizeof(*q)); }

static void chunk_free(wt_sendq_chunk *c) {
  if (c->ref && c->release) c->release(c->release_ud, c->ref, c->reflen);
  free(c);
}

static const uint8_t *chunk_bytes(const wt_sendq_chunk *c) { return c->ref ? c->ref : c->data; }

void wt_sendq_free(wt_sendq *q) {
  while (q->head) {
    wt_sendq_chunk *c = q->head;
    q->head = c->next;
    chunk_free(c);
  }
  wt_sendq_init(q);
}

/* A new last chunk with room for `cap` copied bytes (0 for a reference). */
static wt_sendq_chunk *new_chunk(wt_sendq *q, size_t cap) {
  wt_sendq_chunk *c = malloc(sizeof(*c) + cap);
  if (!c) return NULL;
  memset(c, 0, sizeof(*c));
  c->off = q->end;
  c->cap = cap;
  if (q->tail)
    q->tail->next = c;
  else
    q->head = c;
  q->tail = c;
  if (!q->cursor) q->cursor = c;
  return c;
}

int wt_sendq_append(wt_sendq *q, const uint8_t *data, size_t len) {
  while (len) {
    wt_sendq_chunk *c = q->tail;
    if (!c || c->len == c->cap || c->ref) {
      c = new_chunk(q, len < CHUNK_MIN ? CHUNK_MIN : len > CHUNK_MAX ? CHUNK_MAX : len);
      if (!c) return WT_ERR_NOMEM;
    }
    size_t n = c->cap - c->len < len ? c->cap - c->len : len;
    memcpy(c->data + c->len, data, n);
    c->len += n;
    q->end += n;
    data += n;
    len -= n;
    /* The cursor may sit at the end of a full chunk; move it on. */
    if (q->cursor && q->sent == q->cursor->off + q->cursor->len && q->cursor->next) q->cursor = q->cursor->next;
  }
  return 0;
}

int wt_sendq_append_ref(wt_sendq *q, const uint8_t *data, size_t len, wt_sendq_release_cb release, void *ud) {
  wt_sendq_chunk *c = new_chunk(q, 0);
  if (!c) return WT_ERR_NOMEM;
  c->ref = data;
  c->len = c->cap = c->reflen = len;
  c->release = release;
  c->release_ud = ud;
  q->end += len;
  if (q->cursor && q->sent == q->cursor->off + q->cursor->len && q->cursor->next) q->cursor = q->cursor->next;
  return 0;
}

size_t wt_sendq_peek(const wt_sendq *q, const uint8_t **base, size_t *len, size_t max) {
  size_t n = 0;
  for (const wt_sendq_chunk *c = q->cursor; c && n < max; c = c->next) {
    uint64_t start = c == q->cursor ? q->sent - c->off : 0;
    if (start >= c->len) continue;
    base[n] = chunk_bytes(c) + start;
    len[n] = c->len - (size_t)start;
    n++;
  }
  return n;
}

void wt_sendq_advance(wt_sendq *q, size_t n) {
  q->sent += n;
  while (q->cursor && q->sent >= q->cursor->off + q->cursor->len && q->cursor->next)
    q->cursor = q->cursor->next;
}

void wt_sendq_truncate(wt_sendq *q, uint64_t keep) {
  uint64_t cut = keep > q->sent ? keep : q->sent;
  if (cut >= q->end) return;
  wt_sendq_chunk **pp = &q->head, *last = NULL;
  while (*pp && (*pp)->off < cut) {
    last = *pp;
    pp = &last->next;
  }
  /* `last` holds offset cut - 1; everything after it goes. */
  for (wt_sendq_chunk *c = *pp, *next; c; c = next) {
    next = c->next;
    /* The cursor may sit on a dropped chunk only when `sent` == cut, the
     * end of `last`: point it there, as after an advance to the end. */
    if (c == q->cursor) q->cursor = last;
    chunk_free(c);
  }
  *pp = NULL;
  if (last) last->len = (size_t)(cut - last->off);
  if (last && last->ref) last->cap = last->len; /* nothing may be appended to a reference */
  q->tail = last;
  q->end = cut;
}

void wt_sendq_ack(wt_sendq *q, uint64_t off, uint64_t len) {
  if (off + len > q->acked) q->acked = off + len;
  while (q->head && q->head->off + q->head->len <= q->acked && q->head != q->cursor &&
         (q->head->len == q->head->cap || q->head != q->tail)) {
    wt_sendq_chunk *c = q->head;
    q->head = c->next;
    chunk_free(c);
  }
  /* Everything written is acknowledged: drop the last chunks too, so an
   * idle stream holds no memory. */
  if (q->acked == q->end && q->sent == q->end) {
    while (q->head) {
      wt_sendq_chunk *c = q->head;
      q->head = c->next;
      chunk_free(c);
    }
    q->tail = q->cursor = NULL;
  }
}
