/*
 * test_datagrams.c: datagram queues in simulated time, over a narrow link
 * so that the send queue really fills: the count and byte bounds, both drop
 * policies, the age limit, the receive bounds, exact maximum sizes, and the
 * counters that report every drop.
 */
#include <stdio.h>

#include "sim.h"
#include "test.h"
#include "testapp.h"

static sim *S;
static wt_transport *srv, *cli;
static echo_server ES;
static check_client CC; /* the client */
static check_client SC; /* the server, when it only collects */

static int ready_or_closed(void *ud) { return CC.ready || CC.closed; }
static int never(void *ud) { return 0; }

/* A session over `link` (both directions) from a client whose config
 * `tweak` adjusts; the server only collects (no echo) unless `echo`. */
static int setup_on(const sim_link *link, uint64_t seed, void (*tweak)(wt_transport_config *), int echo) {
  memset(&ES, 0, sizeof(ES));
  memset(&CC, 0, sizeof(CC));
  memset(&SC, 0, sizeof(SC));
  S = sim_new(seed, link, link);
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.on_request = echo_server_request;
  c.request_user_data = &ES;
  c.on_event = echo ? echo_server_event : check_client_event;
  c.event_user_data = echo ? (void *)&ES : (void *)&SC;
  c.log_level = WT_LOG_ERROR;
  srv = sim_server(S, &c);
  wt_transport_config_init(&c);
  c.log_level = WT_LOG_ERROR;
  if (tweak) tweak(&c);
  cli = sim_client(S, &c);
  wt_connect_options o;
  sim_connect_options(S, &o, check_client_event, &CC);
  if (wt_session_connect(cli, "https://localhost:4433/echo", &o, &CC.s)) return -1;
  sim_run(S, ready_or_closed, NULL, 10000 * SIM_MS);
  return CC.ready ? 0 : -1;
}

/* A 1 Mbit/s link with 10 ms delay, so that the send queue really fills. */
static int setup(void (*tweak)(wt_transport_config *), int echo) {
  sim_link l = {.delay_ns = 10 * SIM_MS, .bandwidth_bps = 1000000};
  return setup_on(&l, 7, tweak, echo);
}

/* ngtcp2 0.12.1 does not arm its probe timer for packets that carry only
 * DATAGRAM frames (fixed upstream in 0.14). If such packets fill the
 * congestion window and the ACK for them is lost, nothing else may be
 * sent and the connection would stall until the idle timeout. Bursts of
 * datagrams (and nothing else) over a lossy link, for a minute of virtual
 * time: datagrams must keep arriving throughout, for several seeds. */
static void datagram_bursts_over_loss_never_stall(void) {
  for (uint64_t seed = 1; seed <= 10; seed++) {
    sim_link l = {.loss = 0.1, .delay_ns = 10 * SIM_MS, .bandwidth_bps = 20000000};
    CHECK_EQ(setup_on(&l, seed, NULL, 0), 0);
    uint8_t d[1000] = {0};
    uint64_t last_got = 0, last_change = sim_now(S), longest = 0;
    for (int round = 0; round < 1200 && !CC.closed; round++) { /* 60 s in 50 ms steps */
      for (int i = 0; i < 40; i++)
        wt_session_send_datagram(CC.s, d, sizeof(d));
      sim_advance(S, 50 * SIM_MS);
      if (SC.dg_got != last_got) {
        last_got = SC.dg_got;
        last_change = sim_now(S);
      } else if (sim_now(S) - last_change > longest) {
        longest = sim_now(S) - last_change;
      }
    }
    printf("  seed %llu: %llu datagrams arrived, longest pause %.1f s\n", (unsigned long long)seed,
           (unsigned long long)SC.dg_got, (double)longest / 1e9);
    CHECK(!CC.closed);
    CHECK(longest < 5000 * SIM_MS);
    wt_session_close(CC.s, 0, "", 0);
    sim_run(S, never, NULL, 100 * SIM_MS);
    sim_free(S);
  }
}

static void small_queue(wt_transport_config *c) {
  c->datagram_send_queue = 10;
  c->datagram_send_queue_bytes = 1 << 20;
}

static void full_queue_refuses_new_datagrams_by_default(void) {
  CHECK_EQ(setup(small_queue, 0), 0);
  uint8_t d[500] = {0};
  int queued = 0, refused = 0;
  for (int i = 0; i < 30; i++) {
    int rv = wt_session_send_datagram(CC.s, d, sizeof(d));
    if (rv == 0)
      queued++;
    else if (rv == WT_ERR_AGAIN)
      refused++;
  }
  CHECK_EQ(queued, 10);
  CHECK_EQ(refused, 20);
  uint64_t sd, rd;
  wt_session_datagram_drops(CC.s, &sd, &rd);
  CHECK_EQ(sd, 20);
  sim_run(S, never, NULL, 2000 * SIM_MS);
  wt_stats st;
  wt_transport_get_stats(cli, &st);
  CHECK_EQ(st.datagrams_sent, 10);
  CHECK_EQ(st.datagram_send_drops, 20);
  sim_free(S);
}

static void byte_bound(wt_transport_config *c) {
  c->datagram_send_queue = 1000;
  c->datagram_send_queue_bytes = 2000;
}

static void byte_bound_applies_too(void) {
  CHECK_EQ(setup(byte_bound, 0), 0);
  uint8_t d[600] = {0};
  int queued = 0;
  for (int i = 0; i < 10; i++)
    if (wt_session_send_datagram(CC.s, d, sizeof(d)) == 0) queued++;
  CHECK_EQ(queued, 3); /* 3 x (600 + 1-byte quarter stream ID) fit in 2000 bytes */
  sim_free(S);
}

static void drop_oldest(wt_transport_config *c) {
  c->datagram_send_queue = 10;
  c->datagram_drop_oldest = 1;
}

/* The newest data wins: every send is accepted, the oldest give way. The
 * server sees the last ten. */
static void drop_oldest_keeps_the_newest(void) {
  CHECK_EQ(setup(drop_oldest, 0), 0);
  uint8_t d[500] = {0};
  for (int i = 0; i < 30; i++) {
    d[0] = (uint8_t)i;
    CHECK_EQ(wt_session_send_datagram(CC.s, d, sizeof(d)), 0);
  }
  uint64_t sd, rd;
  wt_session_datagram_drops(CC.s, &sd, &rd);
  CHECK_EQ(sd, 20);
  sim_run(S, never, NULL, 2000 * SIM_MS);
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.datagrams_received, 10);
  sim_free(S);
}

static void max_age(wt_transport_config *c) {
  c->datagram_send_queue = 1000;
  c->datagram_max_age_ms = 50;
}

/* At 1 Mbit/s a 1 KB datagram takes 8 ms on the wire: of 100 queued at
 * once, those still waiting after 50 ms are dropped as stale. */
static void stale_datagrams_are_dropped(void) {
  CHECK_EQ(setup(max_age, 0), 0);
  uint8_t d[1000] = {0};
  for (int i = 0; i < 100; i++)
    CHECK_EQ(wt_session_send_datagram(CC.s, d, sizeof(d)), 0);
  sim_run(S, never, NULL, 3000 * SIM_MS);
  wt_stats st;
  wt_transport_get_stats(cli, &st);
  printf("  age limit 50 ms: %llu sent, %llu dropped as stale\n", (unsigned long long)st.datagrams_sent,
         (unsigned long long)st.datagram_send_drops);
  CHECK_EQ(st.datagrams_sent + st.datagram_send_drops, 100);
  CHECK(st.datagram_send_drops >= 30);
  CHECK(st.datagrams_sent >= 3);
  uint64_t sd, rd;
  wt_session_datagram_drops(CC.s, &sd, &rd);
  CHECK_EQ(sd, st.datagram_send_drops);
  sim_free(S);
}

static void maximum_size_datagrams_are_delivered(void) {
  CHECK_EQ(setup(NULL, 1), 0);
  size_t max = wt_session_max_datagram_size(CC.s);
  CHECK(max > 1000);
  uint8_t d[1500] = {0};
  CHECK_EQ(wt_session_send_datagram(CC.s, d, max + 1), WT_ERR_TOO_LARGE);
  CHECK_EQ(wt_session_send_datagram(CC.s, d, max), 0);
  sim_run(S, never, NULL, 1000 * SIM_MS);
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.datagrams_received, 1);
  CHECK_EQ(CC.dg_got, 1); /* and its echo came back */
  sim_free(S);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  RUN(full_queue_refuses_new_datagrams_by_default);
  RUN(datagram_bursts_over_loss_never_stall);
  RUN(byte_bound_applies_too);
  RUN(drop_oldest_keeps_the_newest);
  RUN(stale_datagrams_are_dropped);
  RUN(maximum_size_datagrams_are_delivered);
  return TEST_REPORT();
}
