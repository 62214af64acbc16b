/*
 * test_frame.c: HTTP/3 frame reader and writers (src/h3/frame.c).
 */
#include "h3/codes.h"
#include "h3/frame.h"
#include "test.h"

typedef struct seen {
  uint64_t types[16], lens[16];
  size_t nframes;
  uint8_t payload[256];
  size_t plen;
  int ended;
} seen;

/* Drives the reader over `in`, fed `step` bytes at a time. */
static void feed(const uint8_t *in, size_t len, size_t step, seen *s) {
  wt_frame_reader r;
  wt_frame_reader_init(&r);
  memset(s, 0, sizeof(*s));
  size_t off = 0;
  for (;;) {
    size_t n = off < len ? (len - off < step ? len - off : step) : 0;
    size_t used = 0;
    for (;;) {
      wt_frame_event ev;
      const uint8_t *chunk;
      size_t clen;
      used += wt_frame_reader_step(&r, in + off + used, n - used, &ev, &chunk, &clen);
      if (ev == WT_FRAME_NEED_MORE) break;
      if (ev == WT_FRAME_HEADER) {
        s->types[s->nframes] = r.type;
        s->lens[s->nframes] = r.len;
        s->nframes++;
      } else if (ev == WT_FRAME_PAYLOAD) {
        memcpy(s->payload + s->plen, chunk, clen);
        s->plen += clen;
      } else {
        s->ended++;
      }
    }
    off += n;
    if (off >= len) break;
  }
}

static void reads_frames_at_every_split(void) {
  /* DATA "abc", empty unknown frame 0x21, HEADERS with a 2-byte-type-like
   * length: type 0x01 len 2 "xy". */
  const uint8_t in[] = {0x00, 0x03, 'a', 'b', 'c', 0x40, 0x21, 0x00, 0x01, 0x02, 'x', 'y'};
  for (size_t step = 1; step <= sizeof(in); step++) {
    seen s;
    feed(in, sizeof(in), step, &s);
    CHECK_EQ(s.nframes, 3);
    CHECK_EQ(s.ended, 3);
    CHECK_EQ(s.types[0], 0x00);
    CHECK_EQ(s.types[1], 0x21);
    CHECK_EQ(s.lens[1], 0);
    CHECK_EQ(s.types[2], 0x01);
    CHECK_EQ(s.plen, 5);
    CHECK_MEM(s.payload, "abcxy", 5);
  }
}

static void boundary_tracks_partial_frames(void) {
  wt_frame_reader r;
  wt_frame_event ev;
  const uint8_t *chunk;
  size_t clen;
  wt_frame_reader_init(&r);
  CHECK(wt_frame_reader_at_boundary(&r));
  const uint8_t type_only[] = {0x40}; /* first byte of a 2-byte type */
  wt_frame_reader_step(&r, type_only, 1, &ev, &chunk, &clen);
  CHECK_EQ(ev, WT_FRAME_NEED_MORE);
  CHECK(!wt_frame_reader_at_boundary(&r));
  wt_frame_reader_init(&r);
  const uint8_t hdr[] = {0x00, 0x05, 'a'};
  size_t used = wt_frame_reader_step(&r, hdr, 3, &ev, &chunk, &clen);
  CHECK_EQ(ev, WT_FRAME_HEADER);
  used += wt_frame_reader_step(&r, hdr + used, 3 - used, &ev, &chunk, &clen);
  CHECK_EQ(ev, WT_FRAME_PAYLOAD);
  CHECK_EQ(used, 3);
  CHECK(!wt_frame_reader_at_boundary(&r)); /* 4 payload bytes missing */
}

static void start_with_type_continues_after_the_first_varint(void) {
  wt_frame_reader r;
  wt_frame_event ev;
  const uint8_t *chunk;
  size_t clen;
  wt_frame_reader_init(&r);
  wt_frame_reader_start_with_type(&r, H3_FRAME_HEADERS);
  const uint8_t rest[] = {0x01, 'z'};
  size_t used = wt_frame_reader_step(&r, rest, 2, &ev, &chunk, &clen);
  CHECK_EQ(ev, WT_FRAME_HEADER);
  CHECK_EQ(r.type, H3_FRAME_HEADERS);
  CHECK_EQ(r.len, 1);
  CHECK_EQ(r.frames, 1);
  wt_frame_reader_step(&r, rest + used, 2 - used, &ev, &chunk, &clen);
  CHECK_EQ(ev, WT_FRAME_PAYLOAD);
  CHECK_EQ(chunk[0], 'z');
}

static void writes_frames(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_frame_write(&b, H3_FRAME_SETTINGS, (const uint8_t *)"\x06\x44\x00", 3), 0);
  CHECK_EQ(wt_frame_write_header(&b, 0x2843 /* 2-byte varint type */, 300), 0);
  uint8_t want[] = {0x04, 0x03, 0x06, 0x44, 0x00, 0x68, 0x43, 0x41, 0x2c};
  CHECK_EQ(b.len, sizeof(want));
  CHECK_MEM(b.data, want, sizeof(want));
  wt_buf_free(&b);
}

static void knows_reserved_http2_types(void) {
  CHECK(wt_frame_is_h2_reserved(0x02));
  CHECK(wt_frame_is_h2_reserved(0x06));
  CHECK(wt_frame_is_h2_reserved(0x08));
  CHECK(wt_frame_is_h2_reserved(0x09));
  CHECK(!wt_frame_is_h2_reserved(0x00));
  CHECK(!wt_frame_is_h2_reserved(0x07));
  CHECK(h3_is_reserved(0x21));
  CHECK(h3_is_reserved(0x21 + 0x1f * 1000));
  CHECK(!h3_is_reserved(0x22));
}

static void maps_application_error_codes(void) {
  CHECK_EQ(wt_app_error_to_h3(0), WT_APP_ERROR_FIRST);
  CHECK_EQ(wt_app_error_to_h3(0xffffffffu), WT_APP_ERROR_LAST);
  uint32_t codes[] = {0, 1, 7, 0x1c, 0x1d, 0x1e, 0x1f, 255, 256, 1000, 0x7fffffff, 0xfffffffe, 0xffffffff};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    uint64_t h = wt_app_error_to_h3(codes[i]);
    uint32_t back;
    CHECK(!h3_is_reserved(h));
    CHECK_EQ(wt_h3_to_app_error(h, &back), 0);
    CHECK_EQ(back, codes[i]);
  }
  uint32_t out;
  CHECK_EQ(wt_h3_to_app_error(WT_SESSION_GONE, &out), -1);
  CHECK_EQ(wt_h3_to_app_error(H3_CONNECT_ERROR, &out), -1);
  CHECK_EQ(wt_h3_to_app_error(WT_APP_ERROR_LAST + 1, &out), -1);
  /* A reserved codepoint inside the range carries no application code. */
  uint64_t first_reserved = WT_APP_ERROR_FIRST + (0x1f - (WT_APP_ERROR_FIRST - 0x21) % 0x1f) % 0x1f;
  CHECK(h3_is_reserved(first_reserved));
  CHECK_EQ(wt_h3_to_app_error(first_reserved, &out), -1);
}

int main(void) {
  RUN(reads_frames_at_every_split);
  RUN(boundary_tracks_partial_frames);
  RUN(start_with_type_continues_after_the_first_varint);
  RUN(writes_frames);
  RUN(knows_reserved_http2_types);
  RUN(maps_application_error_codes);
  return TEST_REPORT();
}
