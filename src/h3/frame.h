/*
 * frame.h: HTTP/3 frame framing (RFC 9114 §7.1): Type(i) Length(i) Payload.
 *
 * For: splitting a stream's bytes into frames incrementally (input may be
 * split at any byte) and writing frame headers. The reader does not buffer
 * payloads: it hands out payload chunks as they arrive, and the stream's
 * owner decides whether to buffer (HEADERS, SETTINGS), stream (DATA) or
 * skip (unknown types). Not for: deciding which frames are allowed where
 * (that is h3conn.c).
 */
#ifndef WT_H3_FRAME_H
#define WT_H3_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "h3/varint.h"
#include "util/buf.h"

typedef enum wt_frame_event {
  WT_FRAME_NEED_MORE = 0, /* all input consumed, frame not finished */
  WT_FRAME_HEADER,        /* type and length known (r->type, r->len) */
  WT_FRAME_PAYLOAD,       /* a chunk of payload is in chunk, chunk_len */
  WT_FRAME_END,           /* the current frame is complete */
} wt_frame_event;

typedef struct wt_frame_reader {
  int state; /* private */
  wt_varint_reader vr;
  uint64_t type;
  uint64_t len;
  uint64_t remaining; /* payload bytes not yet handed out */
  uint64_t frames;    /* frames started so far on this stream */
} wt_frame_reader;

void wt_frame_reader_init(wt_frame_reader *r);

/* Consumes bytes from [p, p+len) and reports the next event. Returns the
 * number of bytes consumed (0 is possible, e.g. for WT_FRAME_END of an empty
 * frame). The caller loops until it gets WT_FRAME_NEED_MORE with all input
 * consumed. */
size_t wt_frame_reader_step(wt_frame_reader *r, const uint8_t *p, size_t len, wt_frame_event *ev, const uint8_t **chunk,
                            size_t *chunk_len);

/* Continues a frame whose type varint the caller already read (the first
 * varint of a bidi stream is either the WebTransport signal or a type). */
void wt_frame_reader_start_with_type(wt_frame_reader *r, uint64_t type);

/* Nonzero if the reader sits between frames (a FIN here is clean). */
int wt_frame_reader_at_boundary(const wt_frame_reader *r);

/* Appends a frame header. Returns 0 or WT_ERR_NOMEM. */
int wt_frame_write_header(wt_buf *out, uint64_t type, uint64_t len);

/* Appends a complete frame. */
int wt_frame_write(wt_buf *out, uint64_t type, const uint8_t *payload, size_t len);

/* HTTP/2 frame types reserved in HTTP/3 (RFC 9114 §7.2.8): receiving one is
 * H3_FRAME_UNEXPECTED. */
static inline int wt_frame_is_h2_reserved(uint64_t type) {
  return type == 0x02 || type == 0x06 || type == 0x08 || type == 0x09;
}

#endif
