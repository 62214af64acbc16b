/*
 * headers.h: a decoded HTTP/3 field section and the RFC 9114 §4.3 rules
 * for well-formed requests and responses.
 *
 * For: holding the fields QPACK decoded (names and values copied, NUL-
 * terminated) and checking them: lowercase names made of token characters,
 * no CR/LF/NUL in values, pseudo-headers first, known, unique and right for
 * the message kind, no connection-specific fields, :authority and host
 * present for http(s) and equal, content-length a number (equal if
 * repeated), and the extended CONNECT rules of RFC 9220. Not for: what a request *means* (routing, WebTransport
 * acceptance); a violation here is a malformed message (H3_MESSAGE_ERROR).
 */
#ifndef WT_H3_HEADERS_H
#define WT_H3_HEADERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_h3_field {
  char *name;
  char *value;
  size_t name_len;
  size_t value_len;
} wt_h3_field;

typedef struct wt_h3_headers {
  wt_h3_field *fields;
  size_t n, cap;
  /* Set by validation; point into `fields`. */
  const char *method, *scheme, *authority, *path, *protocol;
  int status;
  int has_content_length; /* a valid content-length was present: */
  uint64_t content_length;
} wt_h3_headers;

void wt_h3_headers_init(wt_h3_headers *h);
void wt_h3_headers_free(wt_h3_headers *h);

/* Copies one field. Returns 0 or WT_ERR_NOMEM. */
int wt_h3_headers_add(wt_h3_headers *h, const char *name, size_t name_len, const char *value, size_t value_len);

/* First field named `name` (lowercase), or NULL. */
const char *wt_h3_headers_get(const wt_h3_headers *h, const char *name);

/* Validates a request. Returns 0 or WT_ERR_PROTO and sets *why to a static
 * description. `allow_protocol` says whether we advertised
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (a :protocol is malformed otherwise). */
int wt_h3_headers_check_request(wt_h3_headers *h, int allow_protocol, const char **why);

/* Validates a response (sets h->status, 100..599). Same returns. Trailers
 * (is_trailer) must carry no pseudo-headers. */
int wt_h3_headers_check_response(wt_h3_headers *h, const char **why);
int wt_h3_headers_check_trailers(const wt_h3_headers *h, const char **why);

#endif
