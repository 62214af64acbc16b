/*
 * testloop.c: one epoll over transports and helper fds (see testloop.h).
 */
#include "testloop.h"

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int testloop_init(testloop *l) {
  l->nt = 0;
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  return l->ep < 0 ? -1 : 0;
}

int testloop_add_fd(testloop *l, int fd) {
  struct epoll_event ev = {.events = EPOLLIN};
  return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) ? -1 : 0;
}

int testloop_add_transport(testloop *l, wt_transport *t) {
  if (l->nt == TESTLOOP_MAX || testloop_add_fd(l, wt_transport_fd(t))) return -1;
  l->t[l->nt++] = t;
  return 0;
}

int testloop_pair(testloop *l, wt_request_cb on_request, void *request_ud, wt_event_cb on_event, void *event_ud,
                  wt_transport **srv, wt_transport **cli) {
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.on_request = on_request;
  c.request_user_data = request_ud;
  c.on_event = on_event;
  c.event_user_data = event_ud;
  c.log_level = WT_LOG_WARN;
  /* One client address opening sessions as fast as the test can: the
   * per-address admission limits (tested in sim.admission and
   * integration.flood) would refuse a soak's churn. */
  c.max_connections_per_addr = 0;
  c.conn_rate_per_addr = 0;
  c.request_rate_per_addr = 0;
  if (wt_transport_new(&c, srv)) return -1;
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.log_level = WT_LOG_WARN;
  if (wt_transport_new(&c, cli)) return -1;
  return testloop_add_transport(l, *srv) || testloop_add_transport(l, *cli) ? -1 : 0;
}

void testloop_pin(wt_connect_options *o, const wt_transport *srv) {
  wt_connect_options_init(o);
  o->verify = WT_VERIFY_HASHES;
  o->cert_hashes = (const uint8_t(*)[32])wt_transport_cert_sha256(srv);
  o->ncert_hashes = 1;
}

static int earliest(int a, int b) { return a < 0 ? b : b < 0 ? a : a < b ? a : b; }

int testloop_step(testloop *l, int extra_ms, int cap_ms) {
  int t = extra_ms;
  for (int i = 0; i < l->nt; i++)
    t = earliest(t, wt_transport_timeout_ms(l->t[i]));
  if (t < 0 || t > cap_ms) t = cap_ms;
  struct epoll_event evs[TESTLOOP_MAX + 4];
  epoll_wait(l->ep, evs, TESTLOOP_MAX + 4, t);
  for (int i = 0; i < l->nt; i++) {
    int rv = wt_transport_process(l->t[i]);
    if (rv) return rv;
  }
  return 0;
}

void testloop_close(testloop *l) {
  if (l->ep >= 0) close(l->ep);
  l->ep = -1;
}
