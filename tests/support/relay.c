/*
 * relay.c: the impairing UDP relay for tests (see relay.h).
 *
 * Each direction has a FIFO of held datagrams: its delay is constant, so
 * arrival order is deadline order and the head is always the next one due.
 * A reordered datagram bypasses the FIFO and goes out at once.
 */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKBUF (4 * 1024 * 1024)
#define MAX_DGRAM 65536

typedef struct held {
  struct held *next;
  uint64_t due_ns;
  size_t flow, len;
  uint8_t data[];
} held;

/* One direction: its settings, random state, counters and held queue. */
typedef struct direction {
  relay_impair cfg;
  uint64_t rng;
  relay_dir_stats st;
  held *head, *tail;
} direction;

/* A client address and the socket that speaks for it to the server. */
typedef struct flow {
  struct sockaddr_storage client;
  socklen_t clen;
  int fd;
} flow;

struct relay {
  int ep, front;
  uint16_t port;
  struct sockaddr_storage up;
  socklen_t uplen;
  flow *flows;
  size_t nflows, max_flows, nheld, max_held;
  direction to_server, to_client;
  uint8_t buf[MAX_DGRAM];
};

enum { FRONT_TAG = 0 }; /* epoll tag of the listening socket; flow i is i+1 */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, seedable with any value, good enough for coin flips. */
static uint64_t next_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static double coin(uint64_t *s) { return (double)(next_rand(s) >> 11) * 0x1.0p-53; }

/* A numeric address and port (no name lookups: tests stay on loopback). */
static int parse_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
  struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *res;
  char service[8];
  snprintf(service, sizeof(service), "%u", port);
  if (!addr || getaddrinfo(addr, service, &hints, &res)) return -1;
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

/* A non-blocking UDP socket with big buffers (so the relay itself does not
 * add loss on a burst), watched by the relay's epoll under `tag`. */
static int open_socket(relay *r, int family, uint64_t tag) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int buf = SOCKBUF;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
  if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev)) {
    close(fd);
    return -1;
  }
  return fd;
}

int relay_new(const relay_config *cfg, relay **out) {
  struct sockaddr_storage ls;
  socklen_t llen;
  relay *r = calloc(1, sizeof(*r));
  if (!r) return -1;
  r->ep = r->front = -1;
  r->max_flows = cfg->max_flows ? cfg->max_flows : 64;
  r->max_held = cfg->max_held ? cfg->max_held : 65536;
  r->to_server.cfg = cfg->to_server;
  r->to_client.cfg = cfg->to_client;
  r->to_server.rng = cfg->seed;
  r->to_client.rng = cfg->seed ^ 0x5deece66du; /* independent streams of coin flips */
  r->flows = calloc(r->max_flows, sizeof(*r->flows));
  const char *laddr = cfg->listen_addr ? cfg->listen_addr : "127.0.0.1";
  if (!r->flows || parse_addr(laddr, cfg->listen_port, &ls, &llen) ||
      parse_addr(cfg->upstream_addr, cfg->upstream_port, &r->up, &r->uplen)) {
    fprintf(stderr, "relay: bad address %s or %s\n", laddr, cfg->upstream_addr);
    relay_free(r);
    return -1;
  }
  r->ep = epoll_create1(EPOLL_CLOEXEC);
  if (r->ep < 0 || (r->front = open_socket(r, ls.ss_family, FRONT_TAG)) < 0 ||
      bind(r->front, (struct sockaddr *)&ls, llen) || getsockname(r->front, (struct sockaddr *)&ls, &llen)) {
    fprintf(stderr, "relay: cannot listen on %s port %u: %s\n", laddr, cfg->listen_port, strerror(errno));
    relay_free(r);
    return -1;
  }
  r->port = ntohs(ls.ss_family == AF_INET ? ((struct sockaddr_in *)&ls)->sin_port
                                          : ((struct sockaddr_in6 *)&ls)->sin6_port);
  *out = r;
  return 0;
}

static void free_queue(direction *d) {
  while (d->head) {
    held *h = d->head;
    d->head = h->next;
    free(h);
  }
  d->tail = NULL;
}

void relay_free(relay *r) {
  if (!r) return;
  free_queue(&r->to_server);
  free_queue(&r->to_client);
  for (size_t i = 0; i < r->nflows; i++)
    close(r->flows[i].fd);
  if (r->front >= 0) close(r->front);
  if (r->ep >= 0) close(r->ep);
  free(r->flows);
  free(r);
}

uint16_t relay_port(const relay *r) { return r->port; }
int relay_fd(const relay *r) { return r->ep; }

void relay_get_stats(const relay *r, relay_stats *out) {
  out->to_server = r->to_server.st;
  out->to_client = r->to_client.st;
  out->flows = r->nflows;
  out->held = r->nheld;
}

int relay_timeout_ms(const relay *r) {
  uint64_t due = UINT64_MAX;
  if (r->to_server.head) due = r->to_server.head->due_ns;
  if (r->to_client.head && r->to_client.head->due_ns < due) due = r->to_client.head->due_ns;
  if (due == UINT64_MAX) return -1;
  uint64_t now = now_ns();
  return due <= now ? 0 : (int)((due - now + 999999) / 1000000);
}

/* ---- forwarding ---- */

static void send_now(relay *r, direction *d, size_t fi, const uint8_t *data, size_t len) {
  flow *f = &r->flows[fi];
  ssize_t n = d == &r->to_server ? send(f->fd, data, len, 0)
                                 : sendto(r->front, data, len, 0, (struct sockaddr *)&f->client, f->clen);
  if (n == (ssize_t)len)
    d->st.forwarded++;
  else
    d->st.send_errors++;
}

static void hold(relay *r, direction *d, size_t fi, const uint8_t *data, size_t len, uint64_t due) {
  held *h = r->nheld < r->max_held ? malloc(sizeof(*h) + len) : NULL;
  if (!h) {
    d->st.overflow++;
    return;
  }
  h->next = NULL;
  h->due_ns = due;
  h->flow = fi;
  h->len = len;
  memcpy(h->data, data, len);
  if (d->tail)
    d->tail->next = h;
  else
    d->head = h;
  d->tail = h;
  r->nheld++;
}

/* One datagram in: the coin flips are drawn every time, in a fixed order,
 * so each decision depends only on the seed and the datagram's position. */
static void impair(relay *r, direction *d, size_t fi, const uint8_t *data, size_t len) {
  double lose = coin(&d->rng), dup = coin(&d->rng), reo = coin(&d->rng);
  d->st.received++;
  if (lose < d->cfg.loss) {
    d->st.dropped++;
    return;
  }
  int copies = dup < d->cfg.duplicate ? 2 : 1;
  if (copies == 2) d->st.duplicated++;
  int skip = d->cfg.delay_ms == 0 || reo < d->cfg.reorder;
  if (d->cfg.delay_ms && skip) d->st.reordered++;
  uint64_t due = now_ns() + (uint64_t)d->cfg.delay_ms * 1000000u;
  for (int i = 0; i < copies; i++) {
    if (skip)
      send_now(r, d, fi, data, len);
    else
      hold(r, d, fi, data, len, due);
  }
}

static void release_due(relay *r, direction *d, uint64_t now) {
  while (d->head && d->head->due_ns <= now) {
    held *h = d->head;
    d->head = h->next;
    if (!d->head) d->tail = NULL;
    r->nheld--;
    send_now(r, d, h->flow, h->data, h->len);
    free(h);
  }
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* The flow of a client address, created on its first datagram. Returns its
 * index, or -1 when the flow table is full or no socket could be opened. */
static long flow_for(relay *r, const struct sockaddr_storage *from, socklen_t fromlen) {
  for (size_t i = 0; i < r->nflows; i++)
    if (same_addr(&r->flows[i].client, from)) return (long)i;
  if (r->nflows == r->max_flows) return -1;
  int fd = open_socket(r, r->up.ss_family, r->nflows + 1);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&r->up, r->uplen)) {
    close(fd);
    return -1;
  }
  flow *f = &r->flows[r->nflows];
  f->client = *from;
  f->clen = fromlen;
  f->fd = fd;
  return (long)r->nflows++;
}

static int read_front(relay *r) {
  for (;;) {
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    ssize_t n = recvfrom(r->front, r->buf, sizeof(r->buf), 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    long fi = flow_for(r, &from, fromlen);
    if (fi < 0) {
      r->to_server.st.received++;
      r->to_server.st.overflow++;
      continue;
    }
    impair(r, &r->to_server, (size_t)fi, r->buf, (size_t)n);
  }
}

/* Datagrams from the server for flow fi. ECONNREFUSED (an ICMP error from
 * a server that is gone) is not fatal: the test decides what it means. */
static int read_flow(relay *r, size_t fi) {
  for (;;) {
    ssize_t n = recv(r->flows[fi].fd, r->buf, sizeof(r->buf), 0);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED ? 0 : -1;
    impair(r, &r->to_client, fi, r->buf, (size_t)n);
  }
}

int relay_process(relay *r) {
  struct epoll_event evs[64];
  int n = epoll_wait(r->ep, evs, 64, 0);
  for (int i = 0; i < n; i++) {
    uint64_t tag = evs[i].data.u64;
    int rv = tag == FRONT_TAG ? read_front(r) : read_flow(r, (size_t)(tag - 1));
    if (rv) {
      fprintf(stderr, "relay: receive failed: %s\n", strerror(errno));
      return -1;
    }
  }
  uint64_t now = now_ns();
  release_due(r, &r->to_server, now);
  release_due(r, &r->to_client, now);
  return 0;
}

int relay_run(relay *r, volatile int *stop) {
  while (!*stop) {
    struct epoll_event ev;
    int t = relay_timeout_ms(r);
    if (t < 0 || t > 100) t = 100; /* to notice *stop */
    if (epoll_wait(r->ep, &ev, 1, t) < 0 && errno != EINTR) return -1;
    if (relay_process(r)) return -1;
  }
  return 0;
}
