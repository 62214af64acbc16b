/*
 * url.h: parses the https URLs that wt_session_connect takes.
 *
 * For: "https://host[:port][/path][?query]" with host a name, an IPv4
 * literal or a bracketed IPv6 literal. Rejects other schemes, userinfo,
 * fragments (the W3C API refuses them too) and bytes that cannot appear in
 * an HTTP/3 field value. Not for: percent-decoding (the path is sent as
 * given) or relative references.
 */
#ifndef WT_UTIL_URL_H
#define WT_UTIL_URL_H

#include <stdint.h>

typedef struct wt_url {
  char host[256];      /* without brackets */
  char authority[270]; /* :authority as written in the URL (brackets, port) */
  uint16_t port;       /* 443 when absent */
  char *path;          /* malloc'd; path and query, "/" when empty */
} wt_url;

/* Returns 0, WT_ERR_INVALID_ARGUMENT or WT_ERR_NOMEM. On success free with
 * wt_url_free. */
int wt_url_parse(const char *url, wt_url *out);
void wt_url_free(wt_url *u);

/* Nonzero if the host of a serialized origin ("https://h:1") equals the
 * host of an :authority ("h:2", "[::1]:3"), ignoring case and ports. */
int wt_origin_host_matches(const char *origin, const char *authority);

#endif
