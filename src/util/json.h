/*
 * json.h: writes a C string as a JSON string literal, for the qlog records
 * the library adds to ngtcp2's (src/quic/qlog.c). Not a JSON parser or a
 * general serializer.
 */
#ifndef WT_UTIL_JSON_H
#define WT_UTIL_JSON_H

#include <stddef.h>

/* Writes `s` quoted and escaped (RFC 8259 §7: quote, backslash and control
 * characters; other bytes as they are) to `out`, always NUL-terminated. A
 * value that does not fit is cut at a character boundary and still closed
 * with a quote. Returns the length written. `cap` must be at least 3. */
size_t wt_json_string(char *out, size_t cap, const char *s);

#endif
