/*
 * settings.c: SETTINGS payload encoding, parsing and validation.
 */
#include "h3/settings.h"

#include <stdio.h>
#include <stdlib.h>

#include "h3/codes.h"
#include "h3/frame.h"
#include "h3/varint.h"
#include "webtransport.h"

void wt_settings_init(wt_h3_settings *s) {
  *s = (wt_h3_settings){0};
  s->max_field_section_size = UINT64_MAX;
}

/* Identifiers HTTP/2 defined with no HTTP/3 equivalent (RFC 9114 §7.2.4.1,
 * §11.2.2): their receipt is H3_SETTINGS_ERROR. */
static int is_h2_reserved(uint64_t id) { return id <= 0x05 && id != 0x01; }

/* Settings that are booleans on the wire: any value but 0 or 1 is an error
 * (RFC 9220 §3, RFC 9297 §2.1.1, draft-02 §3.1). */
static int is_boolean(uint64_t id) {
  return id == H3_SETTING_ENABLE_CONNECT_PROTOCOL || id == H3_SETTING_H3_DATAGRAM ||
         id == H3_SETTING_H3_DATAGRAM_DRAFT04 || id == H3_SETTING_WT_ENABLE_DRAFT02;
}

static uint64_t *field_for(wt_h3_settings *s, uint64_t id) {
  switch (id) {
  case H3_SETTING_QPACK_MAX_TABLE_CAPACITY: return &s->qpack_max_table_capacity;
  case H3_SETTING_MAX_FIELD_SECTION_SIZE: return &s->max_field_section_size;
  case H3_SETTING_QPACK_BLOCKED_STREAMS: return &s->qpack_blocked_streams;
  case H3_SETTING_ENABLE_CONNECT_PROTOCOL: return &s->enable_connect_protocol;
  case H3_SETTING_H3_DATAGRAM: return &s->h3_datagram;
  case H3_SETTING_H3_DATAGRAM_DRAFT04: return &s->h3_datagram_draft04;
  case H3_SETTING_WT_ENABLE_DRAFT02: return &s->wt_enable_draft02;
  case H3_SETTING_WT_MAX_SESSIONS_DRAFT07: return &s->wt_max_sessions_draft07;
  case H3_SETTING_WT_MAX_SESSIONS: return &s->wt_max_sessions_draft13;
  case H3_SETTING_WT_ENABLED: return &s->wt_enabled;
  case H3_SETTING_WT_INITIAL_MAX_DATA: return &s->wt_initial_max_data;
  case H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI: return &s->wt_initial_max_streams_uni;
  case H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI: return &s->wt_initial_max_streams_bidi;
  default: return NULL;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Duplicate identifiers are a connection error we choose to enforce
 * (RFC 9114 §7.2.4 makes it a MAY); sorting keeps this O(n log n). */
static int has_duplicates(uint64_t *ids, size_t n) {
  qsort(ids, n, sizeof(*ids), cmp_u64);
  for (size_t i = 1; i < n; i++)
    if (ids[i] == ids[i - 1]) return 1;
  return 0;
}

static int check_value(uint64_t id, uint64_t v, int from_server) {
  if (is_boolean(id) && v > 1) return -1;
  /* draft-16 §3.1: a client treats a WT_ENABLED value other than 1 from the
   * server as H3_SETTINGS_ERROR. */
  if (from_server && id == H3_SETTING_WT_ENABLED && v > 1) return -1;
  return 0;
}

int wt_settings_parse(const uint8_t *p, size_t len, int from_server, wt_h3_settings *s, uint64_t *h3_error) {
  uint64_t ids[WT_SETTINGS_MAX_PAYLOAD / 2];
  size_t n = 0;
  const uint8_t *end = p + len;
  wt_settings_init(s);
  *h3_error = H3_SETTINGS_ERROR;
  if (len > WT_SETTINGS_MAX_PAYLOAD) return WT_ERR_PROTO;
  while (p < end) {
    uint64_t id, v;
    size_t a = wt_varint_read(p, end, &id);
    size_t b = a ? wt_varint_read(p + a, end, &v) : 0;
    if (!a || !b) {
      *h3_error = H3_FRAME_ERROR;
      return WT_ERR_PROTO;
    }
    p += a + b;
    if (is_h2_reserved(id) || check_value(id, v, from_server)) return WT_ERR_PROTO;
    ids[n++] = id;
    uint64_t *f = field_for(s, id);
    if (f) *f = v;
  }
  s->count = n;
  if (has_duplicates(ids, n)) return WT_ERR_PROTO;
  *h3_error = 0;
  return 0;
}

int wt_settings_wt_draft(const wt_h3_settings *s, unsigned mask) {
  if ((mask & (1u << 15)) && s->wt_enabled) return 15;
  if ((mask & (1u << 13)) && s->wt_max_sessions_draft13) return 13;
  if ((mask & (1u << 7)) && s->wt_max_sessions_draft07) return 7;
  if ((mask & (1u << 2)) && s->wt_enable_draft02) return 2;
  return 0;
}

int wt_settings_write_frame(wt_buf *out, const wt_setting *settings, size_t n, uint64_t grease_seed) {
  uint8_t payload[256];
  uint8_t *p = payload;
  if (n > 12) return WT_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < n; i++) {
    p = wt_varint_write(p, settings[i].id);
    p = wt_varint_write(p, settings[i].value);
  }
  /* A reserved identifier 0x1f*N+0x21 keeps peers honest about ignoring
   * unknown settings. */
  uint64_t grease_id = 0x1f * (grease_seed % 0x10000) + 0x21;
  p = wt_varint_write(p, grease_id);
  p = wt_varint_write(p, (grease_seed >> 16) & 0x3fff);
  return wt_frame_write(out, H3_FRAME_SETTINGS, payload, (size_t)(p - payload));
}

void wt_settings_describe(const wt_h3_settings *s, char *out, size_t cap) {
  static const uint64_t ids[] = {H3_SETTING_ENABLE_CONNECT_PROTOCOL,
                                 H3_SETTING_H3_DATAGRAM,
                                 H3_SETTING_H3_DATAGRAM_DRAFT04,
                                 H3_SETTING_WT_ENABLE_DRAFT02,
                                 H3_SETTING_WT_MAX_SESSIONS_DRAFT07,
                                 H3_SETTING_WT_MAX_SESSIONS,
                                 H3_SETTING_WT_ENABLED,
                                 H3_SETTING_WT_INITIAL_MAX_DATA,
                                 H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI,
                                 H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI};
  wt_h3_settings copy = *s;
  size_t used = 0;
  out[0] = 0;
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]) && used < cap; i++) {
    uint64_t v = *field_for(&copy, ids[i]);
    if (!v) continue;
    int k = snprintf(out + used, cap - used, "%s0x%llx=%llu", used ? " " : "", (unsigned long long)ids[i],
                     (unsigned long long)v);
    if (k < 0) break;
    used += (size_t)k;
  }
  if (used == 0) snprintf(out, cap, "no WebTransport-related settings (%zu in total)", s->count);
}
