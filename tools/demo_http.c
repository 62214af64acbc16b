/*
 * demo_http.c: the demo page's HTTP/1.1 responder (see demo_http.h).
 *
 * Every connection is non-blocking and lives in a fixed table; its request
 * head is read into a fixed buffer, answered from the route table, and the
 * connection is closed once the response is written. Anything but a
 * well-formed "GET /path HTTP/1.x" gets an error status; a head larger
 * than the buffer gets 431. Nothing from the request is echoed back.
 */
#include "demo_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
  int fd; /* -1: free slot */
  char head[DEMO_HTTP_MAX_HEAD];
  size_t head_len;
  char *resp; /* once the head is complete */
  size_t resp_len, resp_off;
  struct timespec since;
} conn;

struct demo_http {
  const demo_http_route *routes;
  size_t nroutes;
  int lfd, ep;
  uint16_t port;
  conn c[DEMO_HTTP_MAX_CONNS];
};

static const char *reason_of(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 431: return "Request Header Fields Too Large";
  case 505: return "HTTP Version Not Supported";
  default: return "Internal Server Error";
  }
}

static int build(int status, const char *ctype, const uint8_t *body, size_t len, char **out, size_t *out_len) {
  char hdr[512];
  int n = snprintf(hdr, sizeof(hdr),
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                   "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
                   status, reason_of(status), ctype, len, status == 405 ? "Allow: GET\r\n" : "");
  *out = malloc((size_t)n + len);
  if (!*out) return -1;
  memcpy(*out, hdr, (size_t)n);
  if (len) memcpy(*out + n, body, len);
  *out_len = (size_t)n + len;
  return status;
}

static int error_response(int status, char **out, size_t *out_len) {
  char body[64];
  int n = snprintf(body, sizeof(body), "%d %s\n", status, reason_of(status));
  return build(status, "text/plain; charset=utf-8", (const uint8_t *)body, (size_t)n, out, out_len);
}

/* "GET /path[?query] HTTP/1.x\r\n": fills path (without the query). */
static int parse_request_line(const char *head, size_t len, char *path, size_t path_max) {
  const char *eol = memchr(head, '\r', len);
  if (!eol || eol + 1 >= head + len || eol[1] != '\n') return 400;
  size_t n = (size_t)(eol - head);
  const char *sp1 = memchr(head, ' ', n);
  if (!sp1) return 400;
  const char *target = sp1 + 1;
  const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
  if (!sp2 || target == sp2 || *target != '/') return 400;
  size_t vlen = (size_t)(eol - sp2 - 1);
  if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) return vlen >= 5 && !memcmp(sp2 + 1, "HTTP/", 5) ? 505 : 400;
  if ((size_t)(sp1 - head) != 3 || memcmp(head, "GET", 3) != 0) return 405;
  const char *q = memchr(target, '?', (size_t)(sp2 - target));
  size_t plen = (size_t)((q ? q : sp2) - target);
  if (plen >= path_max) return 404; /* longer than any route */
  memcpy(path, target, plen);
  path[plen] = 0;
  return 200;
}

int demo_http_respond(const demo_http_route *routes, size_t n, const char *head, size_t head_len, char **out,
                      size_t *out_len) {
  char path[256];
  int status = parse_request_line(head, head_len, path, sizeof(path));
  if (status != 200) return error_response(status, out, out_len);
  for (size_t i = 0; i < n; i++)
    if (strcmp(routes[i].path, path) == 0)
      return build(200, routes[i].content_type, routes[i].body, routes[i].len, out, out_len);
  return error_response(404, out, out_len);
}

static void conn_close(demo_http *d, conn *c) {
  if (c->fd < 0) return;
  epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->resp);
  c->resp = NULL;
  c->fd = -1;
}

static int head_complete(const conn *c) {
  for (size_t i = 3; i < c->head_len; i++)
    if (!memcmp(c->head + i - 3, "\r\n\r\n", 4)) return 1;
  return 0;
}

/* Returns 0 while the connection stays open. */
static int conn_write(conn *c) {
  while (c->resp_off < c->resp_len) {
    ssize_t w = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off, MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->resp_off += (size_t)w;
  }
  return -1; /* all written: done */
}

static int conn_read(demo_http *d, conn *c) {
  for (;;) {
    if (c->head_len == sizeof(c->head)) {
      error_response(431, &c->resp, &c->resp_len);
      break;
    }
    ssize_t r = recv(c->fd, c->head + c->head_len, sizeof(c->head) - c->head_len, 0);
    if (r == 0) return -1;
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->head_len += (size_t)r;
    if (head_complete(c)) {
      demo_http_respond(d->routes, d->nroutes, c->head, c->head_len, &c->resp, &c->resp_len);
      break;
    }
  }
  if (!c->resp) return -1; /* out of memory */
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev);
  return conn_write(c);
}

static conn *slot_for_new(demo_http *d) {
  conn *oldest = &d->c[0];
  for (int i = 0; i < DEMO_HTTP_MAX_CONNS; i++) {
    conn *c = &d->c[i];
    if (c->fd < 0) return c;
    if (c->since.tv_sec < oldest->since.tv_sec ||
        (c->since.tv_sec == oldest->since.tv_sec && c->since.tv_nsec < oldest->since.tv_nsec))
      oldest = c;
  }
  conn_close(d, oldest);
  return oldest;
}

static void accept_all(demo_http *d) {
  for (;;) {
    int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    conn *c = slot_for_new(d);
    c->fd = fd;
    c->head_len = c->resp_len = c->resp_off = 0;
    clock_gettime(CLOCK_MONOTONIC, &c->since);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev)) conn_close(d, c);
  }
}

void demo_http_process(demo_http *d) {
  struct epoll_event evs[DEMO_HTTP_MAX_CONNS + 1];
  int n = epoll_wait(d->ep, evs, DEMO_HTTP_MAX_CONNS + 1, 0);
  for (int i = 0; i < n; i++) {
    conn *c = evs[i].data.ptr;
    if (!c) {
      accept_all(d);
      continue;
    }
    if (c->fd < 0) continue; /* dropped for a newcomer in this round */
    int done = c->resp ? conn_write(c) : conn_read(d, c);
    if (done || (evs[i].events & (EPOLLERR | EPOLLHUP))) conn_close(d, c);
  }
}

int demo_http_open(const demo_http_route *routes, size_t n, uint16_t port, demo_http **out) {
  demo_http *d = calloc(1, sizeof(*d));
  if (!d) return -1;
  d->routes = routes;
  d->nroutes = n;
  for (int i = 0; i < DEMO_HTTP_MAX_CONNS; i++)
    d->c[i].fd = -1;
  d->ep = epoll_create1(EPOLL_CLOEXEC);
  d->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof(sa);
  int one = 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (d->ep < 0 || d->lfd < 0 || setsockopt(d->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
      bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(d->lfd, 16) ||
      getsockname(d->lfd, (struct sockaddr *)&sa, &sl) || epoll_ctl(d->ep, EPOLL_CTL_ADD, d->lfd, &ev)) {
    int e = errno;
    demo_http_free(d);
    errno = e;
    return -1;
  }
  d->port = ntohs(sa.sin_port);
  *out = d;
  return 0;
}

uint16_t demo_http_port(const demo_http *d) { return d->port; }

int demo_http_fd(const demo_http *d) { return d->ep; }

void demo_http_free(demo_http *d) {
  if (!d) return;
  for (int i = 0; i < DEMO_HTTP_MAX_CONNS; i++)
    conn_close(d, &d->c[i]);
  if (d->lfd >= 0) close(d->lfd);
  if (d->ep >= 0) close(d->ep);
  free(d);
}
