/*
 * codes.h: every HTTP/3, QPACK, HTTP Datagram and WebTransport codepoint we
 * use, in one place, with the WebTransport application-error mapping.
 *
 * Sources: RFC 9114 §7.2 and §8.1, RFC 9204 §6, RFC 9220, RFC 9297,
 * draft-ietf-webtrans-http3 -02 .. -16 (see shared/spec §1, §2.12, §6).
 */
#ifndef WT_H3_CODES_H
#define WT_H3_CODES_H

#include <stdint.h>

/* HTTP/3 error codes (RFC 9114 §8.1). */
#define H3_NO_ERROR 0x100
#define H3_GENERAL_PROTOCOL_ERROR 0x101
#define H3_INTERNAL_ERROR 0x102
#define H3_STREAM_CREATION_ERROR 0x103
#define H3_CLOSED_CRITICAL_STREAM 0x104
#define H3_FRAME_UNEXPECTED 0x105
#define H3_FRAME_ERROR 0x106
#define H3_EXCESSIVE_LOAD 0x107
#define H3_ID_ERROR 0x108
#define H3_SETTINGS_ERROR 0x109
#define H3_MISSING_SETTINGS 0x10a
#define H3_REQUEST_REJECTED 0x10b
#define H3_REQUEST_CANCELLED 0x10c
#define H3_REQUEST_INCOMPLETE 0x10d
#define H3_MESSAGE_ERROR 0x10e
#define H3_CONNECT_ERROR 0x10f
#define H3_VERSION_FALLBACK 0x110
/* QPACK (RFC 9204 §6). */
#define QPACK_DECOMPRESSION_FAILED 0x200
#define QPACK_ENCODER_STREAM_ERROR 0x201
#define QPACK_DECODER_STREAM_ERROR 0x202
/* HTTP Datagrams (RFC 9297 §5.2). */
#define H3_DATAGRAM_ERROR 0x33
/* WebTransport (draft-ietf-webtrans-http3 §9). */
#define WT_BUFFERED_STREAM_REJECTED 0x3994bd84ULL
#define WT_SESSION_GONE 0x170d7b68ULL
#define WT_FLOW_CONTROL_ERROR 0x045d4487ULL
#define WT_ALPN_ERROR 0x0817b3ddULL
#define WT_REQUIREMENTS_NOT_MET 0x212c0d48ULL
#define WT_APP_ERROR_FIRST 0x52e4a40fa8dbULL
#define WT_APP_ERROR_LAST 0x52e5ac983162ULL

/* Frame types (RFC 9114 §7.2, draft-ietf-webtrans-http3 §4.3). */
#define H3_FRAME_DATA 0x00
#define H3_FRAME_HEADERS 0x01
#define H3_FRAME_CANCEL_PUSH 0x03
#define H3_FRAME_SETTINGS 0x04
#define H3_FRAME_PUSH_PROMISE 0x05
#define H3_FRAME_GOAWAY 0x07
#define H3_FRAME_MAX_PUSH_ID 0x0d
#define H3_FRAME_WT_STREAM 0x41 /* signal at the start of a WT bidi stream */

/* Unidirectional stream types. */
#define H3_STREAM_CONTROL 0x00
#define H3_STREAM_PUSH 0x01
#define H3_STREAM_QPACK_ENCODER 0x02
#define H3_STREAM_QPACK_DECODER 0x03
#define H3_STREAM_WT_UNI 0x54

/* Settings. */
#define H3_SETTING_QPACK_MAX_TABLE_CAPACITY 0x01
#define H3_SETTING_MAX_FIELD_SECTION_SIZE 0x06
#define H3_SETTING_QPACK_BLOCKED_STREAMS 0x07
#define H3_SETTING_ENABLE_CONNECT_PROTOCOL 0x08
#define H3_SETTING_H3_DATAGRAM 0x33
#define H3_SETTING_H3_DATAGRAM_DRAFT04 0xffd277
#define H3_SETTING_WT_ENABLE_DRAFT02 0x2b603742       /* -02 .. -06 */
#define H3_SETTING_WT_MAX_SESSIONS_DRAFT07 0xc671706a /* -07 .. -12 */
#define H3_SETTING_WT_MAX_SESSIONS 0x14e9cd29         /* -13, -14 */
#define H3_SETTING_WT_ENABLED 0x2c7cf000              /* -15, -16 */
#define H3_SETTING_WT_INITIAL_MAX_DATA 0x2b61
#define H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI 0x2b64
#define H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI 0x2b65

/* Capsule types (RFC 9297 §3.5, draft-ietf-webtrans-http3 §9.6). */
#define CAPSULE_DATAGRAM 0x00
#define CAPSULE_WT_CLOSE_SESSION 0x2843
#define CAPSULE_WT_DRAIN_SESSION 0x78ae
/* Flow control capsules (draft §5.5). */
#define CAPSULE_WT_MAX_DATA 0x190B4D3DULL
#define CAPSULE_WT_MAX_STREAM_DATA 0x190B4D3EULL /* HTTP/2 only: forbidden here */
#define CAPSULE_WT_MAX_STREAMS_BIDI 0x190B4D3FULL
#define CAPSULE_WT_MAX_STREAMS_UNI 0x190B4D40ULL
#define CAPSULE_WT_DATA_BLOCKED 0x190B4D41ULL
#define CAPSULE_WT_STREAM_DATA_BLOCKED 0x190B4D42ULL /* HTTP/2 only: forbidden here */
#define CAPSULE_WT_STREAMS_BLOCKED_BIDI 0x190B4D43ULL
#define CAPSULE_WT_STREAMS_BLOCKED_UNI 0x190B4D44ULL
/* The largest stream count a capsule may carry: stream IDs end at 2^62. */
#define WT_MAX_STREAM_COUNT (1ULL << 60)

/* Largest WT_CLOSE_SESSION message (draft §6). */
#define WT_CLOSE_REASON_MAX 1024

/* Reserved ("GREASE") codepoints are 0x1f * N + 0x21 (RFC 9114 §7.2.8,
 * §6.2.3, §7.2.4.1, §8.1). */
static inline int h3_is_reserved(uint64_t v) { return v >= 0x21 && (v - 0x21) % 0x1f == 0; }

/* WebTransport application error code <-> HTTP/3 error code. The 32-bit code
 * space maps onto [WT_APP_ERROR_FIRST, WT_APP_ERROR_LAST] skipping the
 * reserved codepoints (draft §4.4). */
static inline uint64_t wt_app_error_to_h3(uint32_t n) { return WT_APP_ERROR_FIRST + n + n / 0x1e; }

/* Returns 0 and sets *n if h is a WebTransport application code, -1 if it is
 * outside the range or a reserved codepoint. */
static inline int wt_h3_to_app_error(uint64_t h, uint32_t *n) {
  if (h < WT_APP_ERROR_FIRST || h > WT_APP_ERROR_LAST || h3_is_reserved(h)) return -1;
  uint64_t s = h - WT_APP_ERROR_FIRST;
  *n = (uint32_t)(s - s / 0x1f);
  return 0;
}

#endif
