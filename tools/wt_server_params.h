/*
 * wt_server_params.h: the query parameters of wt-server's /echo, which let
 * a test harness script what the server does in a session (see
 * wt_server.c's top comment for their meaning).
 *
 * This module only parses and validates a query string; it knows nothing
 * about sessions or the library. Not a general URL parser.
 */
#ifndef WT_SERVER_PARAMS_H
#define WT_SERVER_PARAMS_H

#include <stddef.h>
#include <stdint.h>

/* Bounds beyond which a request is malformed (answered 400). */
#define WTS_REASON_MAX 1024        /* close reason bytes, after decoding */
#define WTS_MAX_STREAMS 1000       /* open_uni, open_bidi */
#define WTS_MAX_DELAY_MS 86400000u /* close_after_ms, drain_after_ms: one day */
#define WTS_MAX_PROTOCOLS 32       /* names in protocols= */

typedef struct wts_params {
  int has_close;
  uint32_t close_after_ms, close_code;
  const char *reason; /* UTF-8, reason_len bytes, points into `store` */
  size_t reason_len;
  int has_drain;
  uint32_t drain_after_ms;
  uint32_t open_uni, open_bidi;
  int has_reset, has_stop;
  uint32_t reset_code, stop_code;
  /* The server's sub-protocols in preference order (NUL-terminated,
   * printable ASCII), pointing into `store`. */
  const char *protocols[WTS_MAX_PROTOCOLS];
  size_t nprotocols;
  char *store; /* decoded strings; owned, released by wts_params_free */
} wts_params;

/* Parses `query` (what follows '?' in the path, without a fragment; NULL or
 * "" for none) into `p`. Returns 0, or -1 with *why set to a static
 * one-line reason when the query is malformed. Either way `p` must be
 * released with wts_params_free. */
int wts_params_parse(const char *query, wts_params *p, const char **why);

/* Releases what wts_params_parse allocated; `p` may be zeroed or parsed. */
void wts_params_free(wts_params *p);

#endif
