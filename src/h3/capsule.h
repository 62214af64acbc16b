/*
 * capsule.h: the Capsule Protocol (RFC 9297 §3.2) as carried in the DATA
 * frames of a WebTransport CONNECT stream: Type(i) Length(i) Value.
 *
 * For: turning the concatenated DATA payloads of a CONNECT stream into
 * capsules, incrementally (input split at any byte), and writing capsules.
 * Capsules we act on are buffered whole (each within its own bound) and
 * handed to a callback; every other type, GREASE included, is skipped
 * without buffering (RFC 9297 §3.2: unknown types MUST be ignored). The
 * parser's whole state is this struct; wt_capsule_parser_reset() restarts
 * it, and it is the only place that does.
 */
#ifndef WT_H3_CAPSULE_H
#define WT_H3_CAPSULE_H

#include <stddef.h>
#include <stdint.h>

#include "h3/varint.h"
#include "util/buf.h"

/* Receives one complete capsule we act on. Return 0 to continue; any other
 * value stops parsing and is returned by wt_capsule_parser_feed. */
typedef int (*wt_capsule_cb)(void *user_data, uint64_t type, const uint8_t *value, size_t len);

typedef struct wt_capsule_parser {
  int state;           /* private */
  wt_varint_reader vr; /* private */
  uint64_t type;
  uint64_t len;
  uint64_t remaining;  /* value bytes still to come */
  int handled;         /* current capsule is buffered and delivered */
  wt_buf value;        /* value of a handled capsule */
  size_t max_datagram; /* bound for DATAGRAM capsules */
} wt_capsule_parser;

/* Nonzero for the flow-control capsules (WT_MAX_*, WT_*_BLOCKED, and the
 * HTTP/2-only WT_MAX_STREAM_DATA / WT_STREAM_DATA_BLOCKED): one varint each. */
int wt_capsule_is_flow_control(uint64_t type);

void wt_capsule_parser_init(wt_capsule_parser *cp, size_t max_datagram);
void wt_capsule_parser_reset(wt_capsule_parser *cp);
void wt_capsule_parser_free(wt_capsule_parser *cp);

/* Feeds bytes. Returns 0; WT_ERR_PROTO if a handled capsule is larger than
 * its type allows (a close reason over 1024 bytes, a drain with a value);
 * WT_ERR_NOMEM; or the callback's nonzero return, which stops parsing right
 * after that capsule. *used (if not NULL) receives the bytes consumed. */
int wt_capsule_parser_feed(wt_capsule_parser *cp, const uint8_t *p, size_t len, wt_capsule_cb cb, void *user_data,
                           size_t *used);

/* Nonzero if the parser is between capsules (a FIN here is clean; a FIN
 * anywhere else means a truncated capsule, a malformed message). */
int wt_capsule_parser_at_boundary(const wt_capsule_parser *cp);

/* Appends a capsule header. */
int wt_capsule_write_header(wt_buf *out, uint64_t type, uint64_t len);

/* Appends WT_CLOSE_SESSION(code, reason); the reason must already be at most
 * 1024 bytes. */
int wt_capsule_write_close(wt_buf *out, uint32_t code, const char *reason, size_t reason_len);

/* Appends WT_DRAIN_SESSION. */
int wt_capsule_write_drain(wt_buf *out);

#endif
