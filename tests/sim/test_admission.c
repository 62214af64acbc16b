/*
 * test_admission.c: what a server does with new connections and requests it
 * should not serve at full speed, through the real transports in simulated
 * time: QUIC Retry (always, and automatically once too many handshakes are
 * in flight), refusal of forged or replayed Retry tokens, the per-address
 * connection rate, the connection cap and the per-address request rate
 * (429). Every refusal is checked on both ends: what the client is told and
 * what the server counted.
 */
#include <stdio.h>

#include "sim.h"
#include "test.h"
#include "testapp.h"

#define NCC 6

static sim *S;
static wt_transport *srv, *cli;
static echo_server ES;
static check_client CC[NCC];
static char srv_log[8192];

static void log_to_buffer(wt_log_level lvl, const char *line, void *ud) {
  (void)lvl;
  (void)ud;
  size_t have = strlen(srv_log);
  snprintf(srv_log + have, sizeof(srv_log) - have, "%s\n", line);
}

/* Server config with every admission limit off; each test turns on one. */
static void server_config(wt_transport_config *c) {
  wt_transport_config_init(c);
  c->on_request = echo_server_request;
  c->request_user_data = &ES;
  c->on_event = echo_server_event;
  c->event_user_data = &ES;
  c->log_level = WT_LOG_DEBUG;
  c->log_cb = log_to_buffer;
  c->max_connections = 0;
  c->max_connections_per_addr = 0;
  c->conn_rate_per_addr = 0;
  c->request_rate_per_addr = 0;
  c->retry = WT_RETRY_NEVER;
}

static void setup(wt_transport_config *sc) {
  memset(&ES, 0, sizeof(ES));
  memset(CC, 0, sizeof(CC));
  srv_log[0] = 0;
  sim_link l = {.delay_ns = 5 * SIM_MS};
  S = sim_new(7, &l, &l);
  srv = sim_server(S, sc);
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.log_level = WT_LOG_ERROR;
  cli = sim_client(S, &c);
}

static void teardown(void) {
  sim_free(S);
  S = NULL;
}

static int settled(void *ud) {
  check_client *c = ud;
  return c->ready || c->closed;
}

/* Session i on a new connection; runs until it is ready or closed. */
static void open_session(int i) {
  wt_connect_options o;
  sim_connect_options(S, &o, check_client_event, &CC[i]);
  if (wt_session_connect(cli, "https://localhost:4433/echo", &o, &CC[i].s)) {
    CC[i].closed = 1;
    return;
  }
  sim_run(S, settled, &CC[i], 30000 * SIM_MS);
}

static wt_stats server_stats(void) {
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  return st;
}

/* ---- a small reader of QUIC long headers (RFC 9000 §17.2) ---- */

typedef struct lh {
  int initial;
  const uint8_t *dcid, *scid;
  size_t dcidlen, scidlen, token_off, token_len;
} lh;

static int parse_long(const uint8_t *p, size_t len, lh *h) {
  memset(h, 0, sizeof(*h));
  if (len < 7 || !(p[0] & 0x80)) return -1;
  size_t i = 5;
  h->dcidlen = p[i++];
  h->dcid = p + i;
  i += h->dcidlen;
  if (i >= len) return -1;
  h->scidlen = p[i++];
  h->scid = p + i;
  i += h->scidlen;
  h->initial = ((p[0] & 0x30) == 0);
  if (!h->initial || i >= len) return 0;
  /* Token length: a QUIC varint. */
  size_t n = (size_t)1 << (p[i] >> 6);
  if (i + n > len) return -1;
  uint64_t v = p[i] & 0x3f;
  for (size_t k = 1; k < n; k++)
    v = (v << 8) | p[i + k];
  h->token_off = i + n;
  h->token_len = (size_t)v;
  return h->token_off + h->token_len <= len ? 0 : -1;
}

/* ---- Retry ---- */

static uint8_t tokened[1500]; /* the client's first Initial with a token */
static size_t tokened_len;

static int capture_token(void *ud, int dir, const uint8_t *d, size_t len) {
  lh h;
  if (dir == 0 && !tokened_len && parse_long(d, len, &h) == 0 && h.initial && h.token_len) {
    memcpy(tokened, d, len);
    tokened_len = len;
  }
  return 1;
}

static void retry_always_validates_then_connects(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.retry = WT_RETRY_ALWAYS;
  setup(&sc);
  tokened_len = 0;
  sim_set_tap(S, capture_token, NULL);
  open_session(0);
  CHECK(CC[0].ready);
  wt_stats st = server_stats();
  CHECK_EQ(st.retries_sent, 1);
  CHECK_EQ(st.connections_accepted, 1);
  CHECK_EQ(st.handshakes, 0);
  CHECK(tokened_len > 0); /* the client came back with the token */
  /* And the session works. */
  CHECK_EQ(check_client_add(&CC[0], 1, 64 * 1024), 0);
  sim_run(S, (int (*)(void *))check_client_done, &CC[0], 10000 * SIM_MS);
  CHECK(check_client_done(&CC[0]) && !check_client_failed(&CC[0]));
  teardown();
}

/* A token is bound to the connection ID it was issued for and sealed:
 * one replayed under another DCID, or altered, is refused with
 * INVALID_TOKEN and no connection is created. */
static void forged_retry_tokens_are_refused(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.retry = WT_RETRY_ALWAYS;
  setup(&sc);
  tokened_len = 0;
  sim_set_tap(S, capture_token, NULL);
  open_session(0);
  CHECK(CC[0].ready && tokened_len > 0);
  lh h;
  CHECK_EQ(parse_long(tokened, tokened_len, &h), 0);
  size_t dcid_off = (size_t)(h.dcid - tokened), tok_off = h.token_off;

  uint8_t pkt[1500];
  /* 1. The same token under another DCID (a copy from an attacker). */
  memcpy(pkt, tokened, tokened_len);
  pkt[dcid_off] ^= 0x55;
  sim_inject(S, 40001, pkt, tokened_len);
  wt_stats st = server_stats();
  CHECK_EQ(st.connections_refused, 1);
  CHECK_EQ(sim_stray_count(S), 1);
  size_t rlen;
  const uint8_t *reply = sim_stray_last(S, &rlen);
  lh r;
  CHECK_EQ(parse_long(reply, rlen, &r), 0);
  CHECK(r.initial);                     /* CONNECTION_CLOSE in an Initial */
  CHECK(rlen < tokened_len);            /* never more than was received */
  CHECK(strstr(srv_log, "invalid Retry token") != NULL);

  /* 2. An altered token (and a fresh DCID so it is not routed). */
  memcpy(pkt, tokened, tokened_len);
  pkt[dcid_off] ^= 0x33;
  pkt[tok_off + h.token_len / 2] ^= 0x01;
  sim_inject(S, 40002, pkt, tokened_len);
  st = server_stats();
  CHECK_EQ(st.connections_refused, 2);
  CHECK_EQ(sim_stray_count(S), 2);

  /* Neither created a connection: only the real client's exists. */
  CHECK_EQ(st.connections_accepted, 1);
  CHECK_EQ(st.connections, 1);
  CHECK_EQ(st.handshakes, 0);
  teardown();
}

/* Server-to-client packets of the first connection are dropped, so its
 * handshake stays in flight; later connections pass. */
static uint8_t stuck_scid[20];
static size_t stuck_scidlen;

static int hold_first_handshake(void *ud, int dir, const uint8_t *d, size_t len) {
  lh h;
  if (dir == 0) {
    if (!stuck_scidlen && parse_long(d, len, &h) == 0 && h.initial) {
      memcpy(stuck_scid, h.scid, h.scidlen);
      stuck_scidlen = h.scidlen;
    }
    return 1;
  }
  if (!stuck_scidlen) return 1;
  if (d[0] & 0x80) {
    if (parse_long(d, len, &h) == 0 && h.dcidlen == stuck_scidlen && memcmp(h.dcid, stuck_scid, stuck_scidlen) == 0)
      return 0;
  } else if (len > stuck_scidlen && memcmp(d + 1, stuck_scid, stuck_scidlen) == 0) {
    return 0;
  }
  return 1;
}

static void retry_turns_on_when_handshakes_pile_up(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.retry = WT_RETRY_AUTO;
  sc.retry_threshold = 1;
  setup(&sc);
  stuck_scidlen = 0;
  sim_set_tap(S, hold_first_handshake, NULL);
  wt_connect_options o;
  sim_connect_options(S, &o, check_client_event, &CC[0]);
  CHECK_EQ(wt_session_connect(cli, "https://localhost:4433/echo", &o, &CC[0].s), 0);
  sim_run(S, NULL, NULL, 100 * SIM_MS);
  wt_stats st = server_stats();
  CHECK_EQ(st.handshakes, 1);
  CHECK_EQ(st.retries_sent, 0); /* below the threshold: no Retry */
  /* The next client is asked to validate its address, and gets through. */
  open_session(1);
  CHECK(CC[1].ready);
  st = server_stats();
  CHECK_EQ(st.retries_sent, 1);
  CHECK_EQ(st.handshakes, 1);
  /* The stuck handshake times out on both sides; the count returns. */
  sim_run(S, settled, &CC[0], 60000 * SIM_MS);
  CHECK(CC[0].closed && !CC[0].ready);
  sim_run(S, NULL, NULL, 15000 * SIM_MS);
  st = server_stats();
  CHECK_EQ(st.handshakes, 0);
  teardown();
}

/* ---- connection rate, connection cap, request rate ---- */

/* Opens three sessions, each on its own connection: the first two work, the
 * third is refused with `why` and counted. */
static void third_connection_refused(const char *why) {
  for (int i = 0; i < 3; i++)
    open_session(i);
  CHECK(CC[0].ready && CC[1].ready);
  CHECK(CC[2].closed && !CC[2].ready && CC[2].error != 0);
  CHECK(strstr(CC[2].detail, why) != NULL);
  wt_stats st = server_stats();
  CHECK_EQ(st.connections_refused, 1);
  CHECK_EQ(st.connections_accepted, 2);
}

/* Closes session i, which ends its connection. */
static void close_connection_of(int i) {
  CHECK_EQ(wt_session_close(CC[i].s, 0, NULL, 0), 0);
  sim_run(S, NULL, NULL, 3000 * SIM_MS);
  CHECK_EQ(server_stats().connections, 1);
}

static void connection_rate_is_limited_per_address(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.conn_rate_per_addr = 1;
  sc.conn_burst_per_addr = 2;
  setup(&sc);
  third_connection_refused("too many new connections from this address");
  printf("  refused client was told: %s\n", CC[2].detail);
  CHECK(strstr(srv_log, "over the connection rate") != NULL);
  /* A second later the address has a token again. */
  sim_advance(S, 1000 * SIM_MS);
  open_session(3);
  CHECK(CC[3].ready);
  teardown();
}

static void connection_cap_refuses_the_extra_connection(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.max_connections = 2;
  setup(&sc);
  third_connection_refused("server is full");
  /* Closing one session ends its connection and makes room. */
  close_connection_of(0);
  open_session(3);
  CHECK(CC[3].ready);
  teardown();
}

static void connections_per_address_are_capped(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.max_connections_per_addr = 2;
  setup(&sc);
  third_connection_refused("too many connections from this address");
  /* The count follows the connections: one gone, one more allowed. */
  close_connection_of(1);
  open_session(3);
  CHECK(CC[3].ready);
  open_session(4);
  CHECK(CC[4].closed && !CC[4].ready);
  teardown();
}

static void request_rate_is_limited_per_address_with_429(void) {
  wt_transport_config sc;
  server_config(&sc);
  sc.request_rate_per_addr = 1;
  sc.request_burst_per_addr = 1;
  setup(&sc);
  open_session(0);
  open_session(1);
  CHECK(CC[0].ready);
  CHECK(CC[1].closed && !CC[1].ready);
  CHECK_EQ(CC[1].http_status, 429);
  wt_stats st = server_stats();
  CHECK_EQ(st.requests_rate_limited, 1);
  CHECK_EQ(st.sessions_accepted, 1);
  CHECK(strstr(srv_log, "429") != NULL);
  sim_advance(S, 1000 * SIM_MS);
  open_session(2);
  CHECK(CC[2].ready);
  teardown();
}

/* Defaults are on and safe: a burst of ordinary sessions passes. */
static void defaults_let_ordinary_clients_through(void) {
  wt_transport_config sc;
  server_config(&sc);
  wt_transport_config d;
  wt_transport_config_init(&d);
  CHECK(d.max_connections > 0 && d.max_connections_per_addr > 0 && d.conn_rate_per_addr > 0 && d.request_rate_per_addr > 0);
  CHECK_EQ(d.retry, WT_RETRY_AUTO);
  sc.max_connections = d.max_connections;
  sc.max_connections_per_addr = d.max_connections_per_addr;
  sc.conn_rate_per_addr = d.conn_rate_per_addr;
  sc.conn_burst_per_addr = d.conn_burst_per_addr;
  sc.request_rate_per_addr = d.request_rate_per_addr;
  sc.request_burst_per_addr = d.request_burst_per_addr;
  sc.retry = d.retry;
  sc.retry_threshold = d.retry_threshold;
  setup(&sc);
  for (int i = 0; i < NCC; i++) {
    open_session(i);
    CHECK(CC[i].ready);
  }
  wt_stats st = server_stats();
  CHECK_EQ(st.connections_refused, 0);
  CHECK_EQ(st.retries_sent, 0);
  CHECK_EQ(st.requests_rate_limited, 0);
  teardown();
}

static void invalid_limit_configurations_are_refused(void) {
  wt_transport_config c;
  wt_transport *t = NULL;
  wt_transport_config_init(&c);
  c.conn_burst_per_addr = 0;
  CHECK_EQ(wt_transport_new(&c, &t), WT_ERR_INVALID_ARGUMENT);
  wt_transport_config_init(&c);
  c.request_burst_per_addr = 0;
  CHECK_EQ(wt_transport_new(&c, &t), WT_ERR_INVALID_ARGUMENT);
  wt_transport_config_init(&c);
  c.retry = (wt_retry_mode)7;
  CHECK_EQ(wt_transport_new(&c, &t), WT_ERR_INVALID_ARGUMENT);
  wt_transport_config_init(&c);
  c.max_field_section_size = 100;
  CHECK_EQ(wt_transport_new(&c, &t), WT_ERR_INVALID_ARGUMENT);
  CHECK(t == NULL);
}

int main(void) {
  RUN(retry_always_validates_then_connects);
  RUN(forged_retry_tokens_are_refused);
  RUN(retry_turns_on_when_handshakes_pile_up);
  RUN(connection_rate_is_limited_per_address);
  RUN(connection_cap_refuses_the_extra_connection);
  RUN(connections_per_address_are_capped);
  RUN(request_rate_is_limited_per_address_with_429);
  RUN(defaults_let_ordinary_clients_through);
  RUN(invalid_limit_configurations_are_refused);
  return TEST_REPORT();
}
