/*
 * static_files.h: wt-server --root DIR, plain HTTP/3 GET and HEAD of the
 * files under one directory.
 *
 * For: mapping a request path to a file without ever leaving the root
 * (percent-decoding once, refusing "..", "\", NUL and anything whose real
 * path is outside the root), content types by extension, and streaming a
 * file with backpressure (read in chunks as the stream has room, never
 * whole into memory). Not for: directory listings, ranges or caching.
 * Uses only the public API.
 */
#ifndef WT_STATIC_FILES_H
#define WT_STATIC_FILES_H

#include <stddef.h>

#include "webtransport.h"

typedef struct static_files {
  char root[4096]; /* realpath of the root directory */
} static_files;

/* Returns 0, or -1 if `dir` is not a directory. */
int static_files_init(static_files *sf, const char *dir);

/* Maps a request :path (query ignored) to a file name under the root in
 * `out` ("/" and ".../" map to index.html). Returns 0, or -1 for a path
 * that is malformed or would leave the root. Does not touch the file
 * system. */
int static_files_map(const static_files *sf, const char *path, char *out, size_t cap);

/* Content type for a file name, by extension. */
const char *static_files_type(const char *name);

/* Route callback (wt_transport_route with WT_ROUTE_HTTP | WT_ROUTE_PREFIX,
 * user data the static_files). */
void static_files_event(const wt_event *ev, void *user_data);

#endif
