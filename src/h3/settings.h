/*
 * settings.h: the HTTP/3 SETTINGS frame payload (RFC 9114 §7.2.4) and the
 * WebTransport settings of every draft generation.
 *
 * For: encoding what we advertise and parsing and validating what the peer
 * advertises. Not for: deciding what a peer's settings mean for a session
 * (wtconn.c does that with wt_settings_wt_draft).
 */
#ifndef WT_H3_SETTINGS_H
#define WT_H3_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Largest SETTINGS payload we accept; real peers send well under 100 bytes. */
#define WT_SETTINGS_MAX_PAYLOAD 4096

typedef struct wt_h3_settings {
  uint64_t qpack_max_table_capacity;
  uint64_t max_field_section_size; /* UINT64_MAX when absent (unlimited) */
  uint64_t qpack_blocked_streams;
  uint64_t enable_connect_protocol;
  uint64_t h3_datagram;
  uint64_t h3_datagram_draft04;
  uint64_t wt_enable_draft02;       /* 0x2b603742 */
  uint64_t wt_max_sessions_draft07; /* 0xc671706a */
  uint64_t wt_max_sessions_draft13; /* 0x14e9cd29 */
  uint64_t wt_enabled;              /* 0x2c7cf000 */
  uint64_t wt_initial_max_data;
  uint64_t wt_initial_max_streams_uni;
  uint64_t wt_initial_max_streams_bidi;
  size_t count; /* settings in the frame, known or not */
} wt_h3_settings;

/* Defaults for a peer that has not sent SETTINGS (all zero, unlimited field
 * section size). */
void wt_settings_init(wt_h3_settings *s);

/* Parses a SETTINGS payload. `from_server` selects the value rules that
 * apply to what a server sends (-16: WT_ENABLED must be exactly 1).
 * Returns 0, or WT_ERR_PROTO with *h3_error set (H3_SETTINGS_ERROR for
 * duplicates, reserved HTTP/2 identifiers and out-of-range values;
 * H3_FRAME_ERROR for a truncated payload). */
int wt_settings_parse(const uint8_t *p, size_t len, int from_server, wt_h3_settings *s, uint64_t *h3_error);

/* The WebTransport generation a peer's settings announce: 15 (WT_ENABLED),
 * 13 (WT_MAX_SESSIONS), 7 (draft-07 max sessions), 2 (ENABLE_WEBTRANSPORT),
 * or 0 when it announces none. `mask` limits the generations considered
 * (bit 1<<15, 1<<13, 1<<7, 1<<2). */
int wt_settings_wt_draft(const wt_h3_settings *s, unsigned mask);

#define WT_DRAFT_MASK_ALL ((1u << 15) | (1u << 13) | (1u << 7) | (1u << 2))

/* One setting to send. */
typedef struct wt_setting {
  uint64_t id;
  uint64_t value;
} wt_setting;

/* Appends a complete SETTINGS frame carrying `n` settings plus one GREASE
 * setting (RFC 9114 §7.2.4.1) whose identifier and value come from
 * `grease_seed`. Returns 0 or WT_ERR_NOMEM. */
int wt_settings_write_frame(wt_buf *out, const wt_setting *settings, size_t n, uint64_t grease_seed);

/* Formats the settings for a log line ("0x33=1 0x2b603742=1 ..."). */
void wt_settings_describe(const wt_h3_settings *s, char *out, size_t cap);

#endif
