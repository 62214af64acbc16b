/*
 * demo_http.h: the tiny HTTP/1.1 responder behind `wt-server --demo-port`.
 *
 * It serves a fixed set of in-memory files (the demo page) on a TCP
 * loopback socket, because http://localhost is a secure context in which a
 * browser may use WebTransport with serverCertificateHashes. It is not a
 * web server: GET only, fixed routes, a bounded request head (4 KiB), at
 * most DEMO_HTTP_MAX_CONNS connections (the oldest is dropped), one
 * response per connection, then close. Not part of the library.
 */
#ifndef DEMO_HTTP_H
#define DEMO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define DEMO_HTTP_MAX_CONNS 16
#define DEMO_HTTP_MAX_HEAD 4096

/* One route: an exact path (the query is ignored) and the body served. */
typedef struct demo_http_route {
  const char *path;
  const char *content_type;
  const uint8_t *body; /* borrowed: must outlive the responder */
  size_t len;
} demo_http_route;

typedef struct demo_http demo_http;

/* Listens on 127.0.0.1:port (0: an ephemeral port). `routes` (n entries)
 * is borrowed. Returns 0 or -1 with errno set. */
int demo_http_open(const demo_http_route *routes, size_t n, uint16_t port, demo_http **out);

/* The port listened on. */
uint16_t demo_http_port(const demo_http *d);

/* One fd (an epoll set of the listener and the connections) that becomes
 * readable when demo_http_process has work. */
int demo_http_fd(const demo_http *d);

/* Accepts, reads and answers without blocking. */
void demo_http_process(demo_http *d);

void demo_http_free(demo_http *d);

/* The response to one complete request head (exposed for the unit test):
 * writes the status line, headers and body for `head` (head_len bytes, up
 * to and including the blank line) into a malloc'd buffer. Returns the
 * HTTP status; *out / *out_len receive the response (caller frees). */
int demo_http_respond(const demo_http_route *routes, size_t n, const char *head, size_t head_len, char **out,
                      size_t *out_len);

#endif
