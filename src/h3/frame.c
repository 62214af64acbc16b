/*
 * frame.c: incremental HTTP/3 frame reader and frame writers.
 */
#include "h3/frame.h"

#include "webtransport.h"

enum { ST_TYPE, ST_LEN, ST_PAYLOAD, ST_END };

void wt_frame_reader_init(wt_frame_reader *r) {
  r->state = ST_TYPE;
  wt_varint_reader_reset(&r->vr);
  r->type = r->len = r->remaining = 0;
  r->frames = 0;
}

void wt_frame_reader_start_with_type(wt_frame_reader *r, uint64_t type) {
  wt_frame_reader_init(r);
  r->type = type;
  r->state = ST_LEN;
  r->frames = 1;
}

int wt_frame_reader_at_boundary(const wt_frame_reader *r) { return r->state == ST_TYPE && r->vr.need == 0; }

static size_t read_varint(wt_frame_reader *r, const uint8_t *p, size_t len, uint64_t *out, int *done) {
  size_t n = wt_varint_reader_feed(&r->vr, p, p + len, done);
  if (*done) {
    *out = r->vr.value;
    wt_varint_reader_reset(&r->vr);
  }
  return n;
}

size_t wt_frame_reader_step(wt_frame_reader *r, const uint8_t *p, size_t len, wt_frame_event *ev, const uint8_t **chunk,
                            size_t *chunk_len) {
  size_t used = 0;
  int done;
  *ev = WT_FRAME_NEED_MORE;
  switch (r->state) {
  case ST_TYPE:
    used = read_varint(r, p, len, &r->type, &done);
    if (!done) return used;
    r->state = ST_LEN;
    r->frames++;
    p += used;
    len -= used;
    /* fall through */
  case ST_LEN: {
    size_t n = read_varint(r, p, len, &r->len, &done);
    used += n;
    if (!done) return used;
    r->remaining = r->len;
    r->state = r->len ? ST_PAYLOAD : ST_END;
    *ev = WT_FRAME_HEADER;
    return used;
  }
  case ST_PAYLOAD: {
    if (len == 0) return 0;
    size_t n = len < r->remaining ? len : (size_t)r->remaining;
    *chunk = p;
    *chunk_len = n;
    r->remaining -= n;
    if (r->remaining == 0) r->state = ST_END;
    *ev = WT_FRAME_PAYLOAD;
    return n;
  }
  case ST_END:
  default:
    r->state = ST_TYPE;
    *ev = WT_FRAME_END;
    return 0;
  }
}

int wt_frame_write_header(wt_buf *out, uint64_t type, uint64_t len) { return wt_varint_append2(out, type, len); }

int wt_frame_write(wt_buf *out, uint64_t type, const uint8_t *payload, size_t len) {
  int rv = wt_frame_write_header(out, type, len);
  return rv ? rv : wt_buf_append(out, payload, len);
}
