/*
 * test_pooling.c: several WebTransport sessions between one client and one
 * server over a single connection (pooling, draft §5), through the real
 * transports in simulated time: sessions opened with `pooled` share the
 * connection when the server enables flow control, each session's streams
 * echo independently under its own limits, and without pooling on the
 * server every session gets its own connection.
 */
#include <stdio.h>

#include "sim.h"
#include "test.h"
#include "testapp.h"

#define NSESS 4

static sim *S;
static wt_transport *srv, *cli;
static echo_server ES;
static check_client CC[NSESS];

static int all_ready(void *ud) {
  int n = *(int *)ud;
  for (int i = 0; i < n; i++)
    if (!CC[i].ready && !CC[i].closed) return 0;
  return 1;
}

static int all_checks_done(void *ud) {
  for (int i = 0; i < NSESS; i++)
    if (!check_client_done(&CC[i])) return 0;
  return 1;
}

static void setup(int server_pooling) {
  memset(&ES, 0, sizeof(ES));
  memset(CC, 0, sizeof(CC));
  sim_link l = {.delay_ns = 5 * SIM_MS};
  S = sim_new(11, &l, &l);
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.on_request = echo_server_request;
  c.request_user_data = &ES;
  c.on_event = echo_server_event;
  c.event_user_data = &ES;
  c.pooling = server_pooling;
  c.session_max_data = 64 * 1024; /* small, so each session's limit is exercised */
  c.log_level = WT_LOG_ERROR;
  srv = sim_server(S, &c);
  wt_transport_config_init(&c);
  c.pooling = 1;
  c.log_level = WT_LOG_ERROR;
  cli = sim_client(S, &c);
}

/* Opens session i (after the first is ready, so the pool is known). */
static int open_session(int i) {
  wt_connect_options o;
  sim_connect_options(S, &o, check_client_event, &CC[i]);
  o.pooled = 1;
  int n = i + 1;
  if (wt_session_connect(cli, "https://localhost:4433/echo", &o, &CC[i].s)) return -1;
  sim_run(S, all_ready, &n, 10000 * SIM_MS);
  return CC[i].ready ? 0 : -1;
}

static void pooled_sessions_use_one_connection(void) {
  setup(1);
  for (int i = 0; i < NSESS; i++)
    CHECK_EQ(open_session(i), 0);
  wt_stats cs, ss;
  wt_transport_get_stats(cli, &cs);
  wt_transport_get_stats(srv, &ss);
  CHECK_EQ(cs.connections, 1);
  CHECK_EQ(ss.connections_accepted, 1);
  CHECK_EQ(ss.sessions_accepted, NSESS);
  /* Each session moves 256 KiB through a 64 KiB session window. */
  for (int i = 0; i < NSESS; i++) {
    CHECK_EQ(check_client_add(&CC[i], 1, 128 * 1024), 0);
    CHECK_EQ(check_client_add(&CC[i], 1, 128 * 1024), 0);
  }
  CHECK(sim_run(S, all_checks_done, NULL, 60000 * SIM_MS));
  for (int i = 0; i < NSESS; i++)
    CHECK(!check_client_failed(&CC[i]));
  /* Ending one session leaves the others and the connection. */
  wt_session_close(CC[0].s, 0, "", 0);
  sim_run(S, all_checks_done, NULL, 100 * SIM_MS);
  CHECK(CC[0].closed && !CC[1].closed);
  CHECK_EQ(check_client_add(&CC[1], 1, 1000), 0);
  CHECK(sim_run(S, all_checks_done, NULL, 10000 * SIM_MS));
  CHECK(!check_client_failed(&CC[1]));
  wt_transport_get_stats(cli, &cs);
  CHECK_EQ(cs.connections, 1);
  sim_free(S);
}

static void without_server_pooling_each_session_gets_a_connection(void) {
  setup(0);
  for (int i = 0; i < 3; i++)
    CHECK_EQ(open_session(i), 0);
  wt_stats cs, ss;
  wt_transport_get_stats(cli, &cs);
  wt_transport_get_stats(srv, &ss);
  CHECK_EQ(cs.connections, 3);
  CHECK_EQ(ss.sessions_accepted, 3);
  sim_free(S);
}

int main(void) {
  RUN(pooled_sessions_use_one_connection);
  RUN(without_server_pooling_each_session_gets_a_connection);
  return TEST_REPORT();
}
