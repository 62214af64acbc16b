/*
 * test_settings.c: SETTINGS encoding, parsing, validation and draft
 * detection (src/h3/settings.c).
 */
#include "h3/codes.h"
#include "h3/settings.h"
#include "h3/varint.h"
#include "test.h"

static int parse_hex(const char *hex, int from_server, wt_h3_settings *s, uint64_t *err) {
  uint8_t buf[256];
  size_t n = test_unhex(hex, buf);
  return wt_settings_parse(buf, n, from_server, s, err);
}

static void parses_a_chromium_settings_frame(void) {
  /* 0x6=16384, 0x7=100, 0x33=1, 0xffd277=1, 0x2b603742=1 (shared/spec §4) */
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(parse_hex("06 80004000 07 4064 33 01 80ffd277 01 ab603742 01", 0, &s, &err), 0);
  CHECK_EQ(s.max_field_section_size, 16384);
  CHECK_EQ(s.qpack_blocked_streams, 100);
  CHECK_EQ(s.h3_datagram, 1);
  CHECK_EQ(s.h3_datagram_draft04, 1);
  CHECK_EQ(s.wt_enable_draft02, 1);
  CHECK_EQ(s.count, 5);
  CHECK_EQ(wt_settings_wt_draft(&s, WT_DRAFT_MASK_ALL), 2);
}

static void picks_the_newest_generation_within_the_mask(void) {
  wt_h3_settings s;
  uint64_t err;
  /* 0x2c7cf000, 0x14e9cd29, 0xc671706a (8-byte varint), 0x2b603742 */
  CHECK_EQ(parse_hex("ac7cf000 01 94e9cd29 01 c0000000c671706a 01 ab603742 01", 1, &s, &err), 0);
  CHECK_EQ(wt_settings_wt_draft(&s, WT_DRAFT_MASK_ALL), 15);
  CHECK_EQ(wt_settings_wt_draft(&s, 1u << 13), 13);
  CHECK_EQ(wt_settings_wt_draft(&s, 1u << 7), 7);
  CHECK_EQ(wt_settings_wt_draft(&s, (1u << 2) | (1u << 7)), 7);
  wt_settings_init(&s);
  CHECK_EQ(wt_settings_wt_draft(&s, WT_DRAFT_MASK_ALL), 0);
}

static void skips_unknown_and_grease_settings(void) {
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(parse_hex("21 05 4a4a 00 33 01", 0, &s, &err), 0);
  CHECK_EQ(s.h3_datagram, 1);
  CHECK_EQ(s.count, 3);
}

static void accepts_non_minimal_varints(void) {
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(parse_hex("4033 4001", 0, &s, &err), 0);
  CHECK_EQ(s.h3_datagram, 1);
}

static void rejects_what_rfc9114_forbids(void) {
  wt_h3_settings s;
  uint64_t err;
  static const char *const bad[] = {
      "02 00",                /* reserved HTTP/2 ENABLE_PUSH */
      "00 00",                /* reserved 0x00 */
      "03 3f",                /* MAX_CONCURRENT_STREAMS */
      "04 00",       "05 00", /* INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE */
      "33 01 33 01",          /* duplicate */
      "21 00 21 01",          /* duplicate unknown */
      "33 02",                /* H3_DATAGRAM must be 0 or 1 */
      "08 02",                /* ENABLE_CONNECT_PROTOCOL must be 0 or 1 */
      "ab603742 02",          /* draft-02 enable must be 0 or 1 */
      "80ffd277 05",          /* draft-04 datagram must be 0 or 1 */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err = 0;
    CHECK_EQ(parse_hex(bad[i], 0, &s, &err), WT_ERR_PROTO);
    CHECK_EQ(err, H3_SETTINGS_ERROR);
  }
}

static void wt_enabled_above_one_is_an_error_only_from_a_server(void) {
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(parse_hex("ac7cf000 02", 0, &s, &err), 0);
  CHECK_EQ(parse_hex("ac7cf000 02", 1, &s, &err), WT_ERR_PROTO);
  CHECK_EQ(err, H3_SETTINGS_ERROR);
}

static void truncated_payload_is_a_frame_error(void) {
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(parse_hex("33", 0, &s, &err), WT_ERR_PROTO);
  CHECK_EQ(err, H3_FRAME_ERROR);
  CHECK_EQ(parse_hex("33 40", 0, &s, &err), WT_ERR_PROTO);
  CHECK_EQ(err, H3_FRAME_ERROR);
}

static void oversized_payload_is_refused(void) {
  static uint8_t big[WT_SETTINGS_MAX_PAYLOAD + 2];
  wt_h3_settings s;
  uint64_t err;
  /* Many distinct unknown settings, two bytes each. */
  for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
    big[i] = (uint8_t)(0x40 | ((i / 2) >> 8 & 0x3f));
    big[i + 1] = (uint8_t)(i / 2);
  }
  CHECK_EQ(wt_settings_parse(big, sizeof(big), 0, &s, &err), WT_ERR_PROTO);
}

static void written_frame_round_trips_with_grease(void) {
  wt_setting in[] = {{H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1},
                     {H3_SETTING_H3_DATAGRAM, 1},
                     {H3_SETTING_WT_ENABLED, 1},
                     {H3_SETTING_WT_ENABLE_DRAFT02, 1},
                     {H3_SETTING_WT_MAX_SESSIONS, 1},
                     {H3_SETTING_WT_MAX_SESSIONS_DRAFT07, 1},
                     {H3_SETTING_MAX_FIELD_SECTION_SIZE, 16384}};
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_settings_write_frame(&b, in, 7, 0x123456789), 0);
  uint64_t type, len;
  size_t a = wt_varint_read(b.data, b.data + b.len, &type);
  size_t c = wt_varint_read(b.data + a, b.data + b.len, &len);
  CHECK_EQ(type, H3_FRAME_SETTINGS);
  CHECK_EQ(a + c + len, b.len);
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(wt_settings_parse(b.data + a + c, (size_t)len, 1, &s, &err), 0);
  CHECK_EQ(s.count, 8); /* seven plus one GREASE setting */
  CHECK_EQ(s.enable_connect_protocol, 1);
  CHECK_EQ(s.wt_enabled, 1);
  CHECK_EQ(s.wt_max_sessions_draft07, 1);
  CHECK_EQ(s.max_field_section_size, 16384);
  char desc[256];
  wt_settings_describe(&s, desc, sizeof(desc));
  CHECK(strstr(desc, "0x2c7cf000=1") != NULL);
  CHECK(strstr(desc, "0x2b603742=1") != NULL);
  wt_buf_free(&b);
}

static void describes_a_peer_without_webtransport(void) {
  wt_h3_settings s;
  uint64_t err;
  CHECK_EQ(parse_hex("06 4400 21 00", 0, &s, &err), 0);
  char desc[128];
  wt_settings_describe(&s, desc, sizeof(desc));
  CHECK(strstr(desc, "no WebTransport") != NULL);
}

int main(void) {
  RUN(parses_a_chromium_settings_frame);
  RUN(picks_the_newest_generation_within_the_mask);
  RUN(skips_unknown_and_grease_settings);
  RUN(accepts_non_minimal_varints);
  RUN(rejects_what_rfc9114_forbids);
  RUN(wt_enabled_above_one_is_an_error_only_from_a_server);
  RUN(truncated_payload_is_a_frame_error);
  RUN(oversized_payload_is_refused);
  RUN(written_frame_round_trips_with_grease);
  RUN(describes_a_peer_without_webtransport);
  return TEST_REPORT();
}
