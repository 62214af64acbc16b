/*
 * test_testloop.c: the tests' loop helper (tests/support/testloop.h): a
 * server and client pair made by testloop_pair, pinned by testloop_pin,
 * reach a session through testloop_step alone; the transport table is
 * bounded; the clock moves forward.
 */
#include <string.h>

#include "test.h"
#include "testapp.h"
#include "testloop.h"

static int ready, refused;
static int accept_all(wt_request *r, void *ud) { return 200; }
static void on_client(const wt_event *ev, void *ud) {
  if (ev->type == WT_EV_SESSION_READY) ready = 1;
  if (ev->type == WT_EV_SESSION_CLOSED && !ready) refused = 1;
}

static void a_pair_reaches_a_session_through_the_loop(void) {
  testloop l;
  wt_transport *srv, *cli;
  CHECK_EQ(testloop_init(&l), 0);
  CHECK_EQ(testloop_pair(&l, accept_all, NULL, NULL, NULL, &srv, &cli), 0);
  CHECK_EQ(l.nt, 2);
  wt_connect_options o;
  testloop_pin(&o, srv);
  o.on_event = on_client;
  char url[64];
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", wt_transport_port(srv));
  wt_session *s;
  CHECK_EQ(wt_session_connect(cli, url, &o, &s), 0);
  double t0 = testapp_now();
  while (!ready && !refused && testapp_now() - t0 < 10)
    CHECK_EQ(testloop_step(&l, -1, 10), 0);
  CHECK(ready);
  CHECK(testapp_now() > t0);
  CHECK_EQ(testloop_add_transport(&l, srv), -1); /* already watched: epoll refuses it */
  wt_transport_free(cli);
  wt_transport_free(srv);
  testloop_close(&l);
}

static void the_transport_table_is_bounded(void) {
  testloop l;
  wt_transport *t[TESTLOOP_MAX + 1];
  CHECK_EQ(testloop_init(&l), 0);
  for (int i = 0; i <= TESTLOOP_MAX; i++) {
    wt_transport_config c;
    wt_transport_config_init(&c);
    c.bind_addr = "127.0.0.1";
    c.log_level = WT_LOG_ERROR;
    CHECK_EQ(wt_transport_new(&c, &t[i]), 0);
    CHECK_EQ(testloop_add_transport(&l, t[i]), i < TESTLOOP_MAX ? 0 : -1);
  }
  CHECK_EQ(l.nt, TESTLOOP_MAX);
  for (int i = 0; i <= TESTLOOP_MAX; i++)
    wt_transport_free(t[i]);
  testloop_close(&l);
}

int main(void) {
  RUN(a_pair_reaches_a_session_through_the_loop);
  RUN(the_transport_table_is_bounded);
  return TEST_REPORT();
}
