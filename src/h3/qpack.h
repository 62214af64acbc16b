/*
 * qpack.h: QPACK (RFC 9204) with the static table only.
 *
 * We advertise SETTINGS_QPACK_MAX_TABLE_CAPACITY = 0 and
 * SETTINGS_QPACK_BLOCKED_STREAMS = 0, so:
 *  - our encoder emits only static-table references and literals
 *    (Required Insert Count 0, Base 0), Huffman-coding a string whenever
 *    that is shorter;
 *  - our decoder treats any dynamic-table reference (Required Insert Count
 *    != 0, dynamic indexed/name-reference lines, post-base lines) as
 *    QPACK_DECOMPRESSION_FAILED;
 *  - on the peer's encoder stream only "Set Dynamic Table Capacity 0" is
 *    valid; anything else is QPACK_ENCODER_STREAM_ERROR;
 *  - on the peer's decoder stream only "Stream Cancellation" is valid (we
 *    never reference the dynamic table, so a Section Acknowledgment or an
 *    Insert Count Increment is QPACK_DECODER_STREAM_ERROR).
 *
 * For: encoding and decoding whole field sections (the payload of one
 * HEADERS frame) and parsing the two QPACK instruction streams incrementally.
 * Not for: HTTP semantics (pseudo-header rules, lowercase names): the
 * HTTP/3 layer checks those on the decoded fields.
 */
#ifndef WT_H3_QPACK_H
#define WT_H3_QPACK_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* One field line to encode. Names must be lowercase (not checked here). */
typedef struct wt_qpack_field {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} wt_qpack_field;

/* Appends the encoded field section (prefix + field lines) for `fields` to
 * `out`. Uses an exact static-table match (indexed field line) when one
 * exists, else a literal with a static name reference when the name is in
 * the table, else a literal with a literal name. Literal lines are emitted
 * with N=0. Returns 0 or WT_ERR_NOMEM. */
int wt_qpack_encode(wt_buf *out, const wt_qpack_field *fields, size_t n);

/* Receives one decoded field line. `name` and `value` are NUL-terminated
 * and valid only during the call. Returning nonzero stops decoding and
 * makes wt_qpack_decode return that value. */
typedef int (*wt_qpack_field_cb)(void *user_data, const char *name, size_t name_len, const char *value,
                                 size_t value_len);

/* Decodes one complete field section. Calls `cb` for each field line in
 * order. `max_section_size` bounds the decoded size computed as in RFC 9114
 * §4.2.2 (sum of name length + value length + 32 per field); 0 means no
 * bound. Returns 0, WT_ERR_PROTO (QPACK_DECOMPRESSION_FAILED: truncated or
 * malformed input, integer overflow, bad Huffman, any dynamic-table
 * reference, a static index beyond the table), WT_ERR_TOO_LARGE (section
 * exceeds max_section_size), WT_ERR_NOMEM, or the callback's nonzero
 * return. */
int wt_qpack_decode(const uint8_t *p, size_t len, size_t max_section_size, wt_qpack_field_cb cb, void *user_data);

/* Incremental reader for the peer's encoder or decoder instruction stream.
 * Input may be split at any byte. */
typedef struct wt_qpack_inst_reader {
  int is_decoder_stream; /* 0: peer's encoder stream, 1: peer's decoder stream */
  int state;             /* private */
  uint64_t value;        /* private */
  unsigned shift;        /* private */
} wt_qpack_inst_reader;

void wt_qpack_inst_reader_init(wt_qpack_inst_reader *r, int is_decoder_stream);

/* Feeds instruction bytes. Returns 0, or WT_ERR_PROTO for an instruction we
 * must reject (the caller closes the connection with
 * QPACK_ENCODER_STREAM_ERROR or QPACK_DECODER_STREAM_ERROR). */
int wt_qpack_inst_reader_feed(wt_qpack_inst_reader *r, const uint8_t *p, size_t len);

/* Size of the static table (RFC 9204 Appendix A): 99 entries. */
#define WT_QPACK_STATIC_TABLE_SIZE 99

/* Static table entry i (0..98). For tests and diagnostics. */
void wt_qpack_static_entry(size_t i, const char **name, const char **value);

#endif
