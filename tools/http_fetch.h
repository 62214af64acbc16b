/*
 * http_fetch.h: wt-client's plain HTTP/3 mode (--get URL [-o FILE],
 * --post FILE URL): one request, its body streamed from a file and the
 * response body streamed to a file or stdout, both with backpressure.
 * Uses only the public API.
 */
#ifndef WT_HTTP_FETCH_H
#define WT_HTTP_FETCH_H

#include "webtransport.h"

/* Runs `method` on `url` on transport `t` until the response is complete
 * or `timeout` seconds pass. `in_file` (or NULL) is the request body,
 * `out_file` (NULL: stdout) receives the response body. Prints the status
 * to stderr. Returns the exit status: 0 for a complete 2xx response. */
int http_fetch(wt_transport *t, const char *method, const char *url, const char *in_file, const char *out_file,
               const wt_connect_options *co, double timeout);

#endif
