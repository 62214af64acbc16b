/*
 * test_sessions.c: WebTransport sessions in simulated time (sim.c): echo
 * over lossy, reordering, duplicating links, and the races that are hard
 * to provoke on real sockets - a close while streams are in flight, a
 * reset crossing a FIN, a drain right before a close, datagrams after a
 * close, both sides closing at once. Every case is deterministic (seeded)
 * and finishes in milliseconds of real time.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"
#include "test.h"
#include "testapp.h"

static sim *S;
static wt_transport *srv, *cli;
static echo_server ES;
static check_client CC;

static int ready_or_closed(void *ud) { return CC.ready || CC.closed; }
static int checks_done(void *ud) { return check_client_done(&CC); }
static int both_closed(void *ud) { return CC.closed && ES.closes > 0; }

/* A server and a client over `link` (both directions), connected. */
static int setup(uint64_t seed, const sim_link *link) {
  memset(&ES, 0, sizeof(ES));
  memset(&CC, 0, sizeof(CC));
  S = sim_new(seed, link, link);
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.on_request = echo_server_request;
  c.request_user_data = &ES;
  c.on_event = echo_server_event;
  c.event_user_data = &ES;
  c.log_level = WT_LOG_ERROR;
  srv = sim_server(S, &c);
  wt_transport_config_init(&c);
  c.log_level = WT_LOG_ERROR;
  cli = sim_client(S, &c);
  if (!srv || !cli) return -1;
  wt_connect_options o;
  sim_connect_options(S, &o, check_client_event, &CC);
  if (wt_session_connect(cli, "https://localhost:4433/echo", &o, &CC.s)) return -1;
  sim_run(S, ready_or_closed, NULL, 30000 * SIM_MS);
  return CC.ready ? 0 : -1;
}

static void teardown(void) {
  sim_free(S);
  S = NULL;
}

/* ------------------------------------------------------------------------ */

static void echo_in_simulated_time(void) {
  sim_link l = {.delay_ns = 20 * SIM_MS};
  CHECK_EQ(setup(1, &l), 0);
  uint64_t t0 = sim_now(S);
  CHECK_EQ(check_client_add(&CC, 1, 1 << 20), 0);
  CHECK(sim_run(S, checks_done, NULL, 60000 * SIM_MS));
  CHECK(!check_client_failed(&CC));
  /* A few round trips of 40 ms each: the clock is virtual. */
  CHECK(sim_now(S) - t0 >= 40 * SIM_MS);
  wt_session_close(CC.s, 3, "done", 4);
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK_EQ(ES.close_code, 3);
  teardown();
}

/* Streams come back intact and in order, and the close code arrives, at
 * every loss rate; reordering and duplication on top. */
static void echo_survives_loss_reordering_and_duplication(void) {
  const double losses[] = {0.0, 0.01, 0.05, 0.20};
  for (int i = 0; i < 4; i++) {
    sim_link l = {.loss = losses[i], .dup = 0.02, .reorder = 0.25, .delay_ns = 10 * SIM_MS, .jitter_ns = 10 * SIM_MS};
    CHECK_EQ(setup(100 + (uint64_t)i, &l), 0);
    uint64_t t0 = sim_now(S);
    for (int k = 0; k < 8; k++)
      CHECK_EQ(check_client_add(&CC, 1, 64 * 1024), 0);
    CHECK_EQ(check_client_add(&CC, 0, 32 * 1024), 0); /* uni: echoed on a server stream */
    CHECK(sim_run(S, checks_done, NULL, 600000 * SIM_MS));
    CHECK(!check_client_failed(&CC));
    wt_session_close(CC.s, 42, "lossy", 5);
    CHECK(sim_run(S, both_closed, NULL, 600000 * SIM_MS));
    CHECK_EQ(ES.close_code, 42);
    CHECK_EQ(ES.close_reason_len, 5);
    sim_stats a = sim_get_stats(S, 0), b = sim_get_stats(S, 1);
    printf("  loss %2.0f%%: 8 x 64 KiB echoed + close in %.2f s virtual; packets %llu sent, %llu dropped, %llu "
           "duplicated, %llu reordered\n",
           losses[i] * 100, (double)(sim_now(S) - t0) / 1e9, (unsigned long long)(a.sent + b.sent),
           (unsigned long long)(a.dropped + b.dropped), (unsigned long long)(a.duplicated + b.duplicated),
           (unsigned long long)(a.reordered + b.reordered));
    teardown();
  }
}

static void close_while_streams_are_in_flight(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(2, &l), 0);
  for (int k = 0; k < 10; k++)
    CHECK_EQ(check_client_add(&CC, 1, 200 * 1024), 0);
  wt_session_close(CC.s, 9, "abort", 5); /* same instant: nothing has left yet */
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK_EQ(ES.close_code, 9);
  /* Every stream closed exactly once on our side; none left dangling. */
  CHECK_EQ(CC.stream_closes, 10);
  for (int k = 0; k < 10; k++)
    CHECK(CC.checks[k].closed);
  CHECK_EQ(wt_session_send_datagram(CC.s, "x", 1), WT_ERR_INVALID_ARGUMENT); /* CC.s is gone: NULL */
  teardown();
}

static int stream_checks_settled(void *ud) {
  for (int k = 0; k < CC.nchecks; k++)
    if (!CC.checks[k].closed) return 0;
  return 1;
}

static void reset_crossing_a_fin(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(3, &l), 0);
  ES.reset_streams_code = 1 + 77; /* the server resets every stream with 77 at once */
  for (int k = 0; k < 5; k++)
    CHECK_EQ(check_client_add(&CC, 1, 1000), 0); /* data + FIN in flight */
  CHECK(sim_run(S, stream_checks_settled, NULL, 10000 * SIM_MS));
  for (int k = 0; k < 5; k++) {
    CHECK(CC.checks[k].aborted);
    CHECK(CC.checks[k].closed);
  }
  CHECK_EQ(CC.stream_closes, 5);
  /* The session is fine: a normal echo still works. */
  ES.reset_streams_code = 0;
  CHECK_EQ(check_client_add(&CC, 1, 5000), 0);
  CHECK(sim_run(S, checks_done, NULL, 10000 * SIM_MS));
  CHECK(CC.checks[5].fin && !CC.checks[5].bad);
  CHECK(!CC.closed);
  teardown();
}

static void drain_then_close(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(4, &l), 0);
  CHECK(ES.last != NULL);
  CHECK_EQ(wt_session_drain(ES.last), 0);
  CHECK_EQ(wt_session_close(ES.last, 5, "bye", 3), 0); /* both capsules in one packet */
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK_EQ(CC.drainings, 1); /* announced before the end, not lost with it */
  CHECK_EQ(CC.close_code, 5);
  CHECK(CC.by_peer);
  teardown();
}

static void datagrams_after_close(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(5, &l), 0);
  wt_session *s = CC.s;
  for (int k = 0; k < 5; k++)
    CHECK_EQ(wt_session_send_datagram(s, "ping", 4), 0);
  CHECK_EQ(wt_session_close(s, 0, "", 0), 0);
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK(CC.dg_got <= 5);
  teardown();
}

static void both_sides_close_at_once(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(6, &l), 0);
  CHECK_EQ(wt_session_close(CC.s, 1, "client", 6), 0);
  CHECK_EQ(wt_session_close(ES.last, 2, "server", 6), 0);
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK_EQ(ES.closes, 1);
  CHECK_EQ(CC.close_code, 1); /* each side reports its own close */
  CHECK(!CC.by_peer);
  CHECK_EQ(ES.close_code, 2);
  CHECK(!ES.close_by_peer);
  teardown();
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  RUN(echo_in_simulated_time);
  RUN(echo_survives_loss_reordering_and_duplication);
  RUN(close_while_streams_are_in_flight);
  RUN(reset_crossing_a_fin);
  RUN(drain_then_close);
  RUN(datagrams_after_close);
  RUN(both_sides_close_at_once);
  return TEST_REPORT();
}
