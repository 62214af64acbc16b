/*
 * capsule.c: incremental capsule parser and capsule writers (see capsule.h).
 */
#include "h3/capsule.h"

#include "h3/codes.h"
#include "webtransport.h"

enum { ST_TYPE, ST_LEN, ST_VALUE };

void wt_capsule_parser_init(wt_capsule_parser *cp, size_t max_datagram) {
  wt_buf_init(&cp->value);
  cp->max_datagram = max_datagram;
  wt_capsule_parser_reset(cp);
}

void wt_capsule_parser_reset(wt_capsule_parser *cp) {
  cp->state = ST_TYPE;
  wt_varint_reader_reset(&cp->vr);
  cp->type = cp->len = cp->remaining = 0;
  cp->handled = 0;
  wt_buf_clear(&cp->value);
}

void wt_capsule_parser_free(wt_capsule_parser *cp) { wt_buf_free(&cp->value); }

int wt_capsule_parser_at_boundary(const wt_capsule_parser *cp) { return cp->state == ST_TYPE && cp->vr.need == 0; }

/* The largest value we accept for a capsule type we act on, or -1 for a type
 * we skip. */
int wt_capsule_is_flow_control(uint64_t type) {
  switch (type) {
  case CAPSULE_WT_MAX_DATA:
  case CAPSULE_WT_MAX_STREAM_DATA:
  case CAPSULE_WT_MAX_STREAMS_BIDI:
  case CAPSULE_WT_MAX_STREAMS_UNI:
  case CAPSULE_WT_DATA_BLOCKED:
  case CAPSULE_WT_STREAM_DATA_BLOCKED:
  case CAPSULE_WT_STREAMS_BLOCKED_BIDI:
  case CAPSULE_WT_STREAMS_BLOCKED_UNI: return 1;
  default: return 0;
  }
}

static int64_t handled_max_len(const wt_capsule_parser *cp, uint64_t type) {
  switch (type) {
  case CAPSULE_DATAGRAM: return (int64_t)cp->max_datagram;
  case CAPSULE_WT_CLOSE_SESSION: return 4 + WT_CLOSE_REASON_MAX;
  case CAPSULE_WT_DRAIN_SESSION: return 0;
  default: return wt_capsule_is_flow_control(type) ? 8 : -1; /* one varint */
  }
}

static int begin_value(wt_capsule_parser *cp) {
  int64_t max = handled_max_len(cp, cp->type);
  cp->handled = max >= 0;
  cp->remaining = cp->len;
  if (!cp->handled) return 0;
  if (cp->len > (uint64_t)max) return WT_ERR_PROTO;
  if (cp->type == CAPSULE_WT_CLOSE_SESSION && cp->len < 4) return WT_ERR_PROTO;
  wt_buf_clear(&cp->value);
  return wt_buf_reserve(&cp->value, (size_t)cp->len);
}

static int finish_capsule(wt_capsule_parser *cp, wt_capsule_cb cb, void *ud) {
  int rv = 0;
  if (cp->handled) rv = cb(ud, cp->type, wt_buf_rpos(&cp->value), wt_buf_readable(&cp->value));
  cp->state = ST_TYPE;
  cp->handled = 0;
  wt_buf_clear(&cp->value);
  return rv;
}

static int feed(wt_capsule_parser *cp, const uint8_t **pp, const uint8_t *end, wt_capsule_cb cb, void *user_data) {
  int done, rv;
  while (*pp < end || (cp->state == ST_VALUE && cp->remaining == 0)) {
    switch (cp->state) {
    case ST_TYPE:
    case ST_LEN:
      *pp += wt_varint_reader_feed(&cp->vr, *pp, end, &done);
      if (!done) return 0;
      if (cp->state == ST_TYPE) {
        cp->type = cp->vr.value;
        cp->state = ST_LEN;
      } else {
        cp->len = cp->vr.value;
        cp->state = ST_VALUE;
        if ((rv = begin_value(cp)) != 0) return rv;
      }
      wt_varint_reader_reset(&cp->vr);
      break;
    case ST_VALUE: {
      size_t n = (size_t)((uint64_t)(end - *pp) < cp->remaining ? (uint64_t)(end - *pp) : cp->remaining);
      if (cp->handled && (rv = wt_buf_append(&cp->value, *pp, n)) != 0) return rv;
      *pp += n;
      cp->remaining -= n;
      if (cp->remaining == 0 && (rv = finish_capsule(cp, cb, user_data)) != 0) return rv;
      break;
    }
    }
  }
  return 0;
}

int wt_capsule_parser_feed(wt_capsule_parser *cp, const uint8_t *p, size_t len, wt_capsule_cb cb, void *user_data,
                           size_t *used) {
  const uint8_t *start = p, *end = p + len;
  int rv = feed(cp, &p, end, cb, user_data);
  if (used) *used = (size_t)(p - start);
  return rv;
}

int wt_capsule_write_header(wt_buf *out, uint64_t type, uint64_t len) { return wt_varint_append2(out, type, len); }

int wt_capsule_write_close(wt_buf *out, uint32_t code, const char *reason, size_t reason_len) {
  if (reason_len > WT_CLOSE_REASON_MAX) return WT_ERR_INVALID_ARGUMENT;
  uint8_t c[4] = {(uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8), (uint8_t)code};
  int rv = wt_capsule_write_header(out, CAPSULE_WT_CLOSE_SESSION, 4 + reason_len);
  if (!rv) rv = wt_buf_append(out, c, 4);
  if (!rv) rv = wt_buf_append(out, reason, reason_len);
  return rv;
}

int wt_capsule_write_drain(wt_buf *out) { return wt_capsule_write_header(out, CAPSULE_WT_DRAIN_SESSION, 0); }
