/*
 * test_sessions.c: WebTransport sessions in simulated time (sim.c): echo
 * over lossy, reordering, duplicating links, and the races that are hard
 * to provoke on real sockets - a close while streams are in flight, a
 * reset crossing a FIN (or right behind one), a drain right before a close, datagrams after a
 * close, both sides closing at once. Every case is deterministic (seeded)
 * and finishes in milliseconds of real time.
 *
 * Both applications log every event (testapp_log), so the tests check the
 * order events came in, not only their count.
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
static testapp_log SLOG, CLOG; /* every event of the server / the client */

/* Datagram probes: after the test closes the client's session, every client
 * event (and the server's WT_EV_SESSION_CLOSED) tries to send a datagram on
 * its session, which must fail. */
typedef struct probe {
  int on;
  int tries, refused; /* refused: failed with WT_ERR_CLOSED */
  int in_closed;      /* the try from the WT_EV_SESSION_CLOSED callback was refused */
} probe;
static probe CPROBE, SPROBE;

/* The server's datagram events, with their virtual times, and datagram
 * events (either side) that came when their session could no longer send,
 * i.e. after the library had seen the close. */
#define MAX_DG_EVENTS 4096
static uint64_t srv_dg_at[MAX_DG_EVENTS];
static int srv_dg_events, dg_events_when_closed;

/* reset_crossing_a_fin: server streams to reset with code 77 once the
 * round in which the server first saw them (and echoed them) is over. */
#define MAX_TRACKED 64
static struct tracked {
  wt_stream *st; /* NULL once closed */
  int fired;
} tracked[MAX_TRACKED];
static int ntracked, reset_after_echo;

static void probe_session(probe *p, const wt_event *ev) {
  int rv = wt_session_send_datagram(ev->session, "late", 4);
  p->tries++;
  if (rv == WT_ERR_CLOSED) p->refused++;
  if (ev->type == WT_EV_SESSION_CLOSED) p->in_closed = rv == WT_ERR_CLOSED;
}

static void track_stream(wt_stream *st) {
  for (int i = 0; i < ntracked; i++)
    if (tracked[i].st == st) return;
  if (ntracked == MAX_TRACKED) return;
  tracked[ntracked++] = (struct tracked){st, 0};
}

static void untrack_stream(wt_stream *st) {
  for (int i = 0; i < ntracked; i++)
    if (tracked[i].st == st) tracked[i].st = NULL;
}

static void note_datagram_event(const wt_event *ev) {
  if (ev->type == WT_EV_SESSION_DATAGRAM && wt_session_max_datagram_size(ev->session) == 0) dg_events_when_closed++;
}

static void srv_event(const wt_event *ev, void *ud) {
  note_datagram_event(ev);
  if (ev->type == WT_EV_SESSION_DATAGRAM && srv_dg_events < MAX_DG_EVENTS) srv_dg_at[srv_dg_events++] = sim_now(S);
  if (ev->type == WT_EV_SESSION_CLOSED && SPROBE.on) probe_session(&SPROBE, ev);
  echo_server_event(ev, ud);
  if (reset_after_echo && (ev->type == WT_EV_STREAM_READABLE || ev->type == WT_EV_STREAM_WRITABLE))
    track_stream(ev->stream);
  if (ev->type == WT_EV_STREAM_CLOSED) untrack_stream(ev->stream);
}

static void cli_event(const wt_event *ev, void *ud) {
  note_datagram_event(ev);
  if (CPROBE.on) probe_session(&CPROBE, ev);
  check_client_event(ev, ud);
}

/* Resets the tracked server streams not reset yet (between rounds). */
static void reset_tracked(void) {
  for (int i = 0; i < ntracked; i++) {
    if (!tracked[i].st || tracked[i].fired) continue;
    tracked[i].fired = 1;
    wt_stream_abort_send(tracked[i].st, 77);
  }
}

static int ready_or_closed(void *ud) { return CC.ready || CC.closed; }
static uint32_t client_conn_window; /* nonzero: the client's connection window */
static int checks_done(void *ud) { return check_client_done(&CC); }
static int both_closed(void *ud) { return CC.closed && ES.closes > 0; }

/* A server and a client over the given links, connected. */
static int setup_links(uint64_t seed, const sim_link *c2s, const sim_link *s2c) {
  memset(&ES, 0, sizeof(ES));
  memset(&CC, 0, sizeof(CC));
  SLOG.n = SLOG.overflow = CLOG.n = CLOG.overflow = 0;
  ES.log = &SLOG;
  CC.log = &CLOG;
  memset(&CPROBE, 0, sizeof(CPROBE));
  memset(&SPROBE, 0, sizeof(SPROBE));
  srv_dg_events = dg_events_when_closed = ntracked = reset_after_echo = 0;
  S = sim_new(seed, c2s, s2c);
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.on_request = echo_server_request;
  c.request_user_data = &ES;
  c.on_event = srv_event;
  c.event_user_data = &ES;
  c.log_level = WT_LOG_ERROR;
  srv = sim_server(S, &c);
  wt_transport_config_init(&c);
  c.log_level = WT_LOG_ERROR;
  if (client_conn_window) {
    c.stream_window = client_conn_window / 2;
    c.conn_window = client_conn_window;
  }
  cli = sim_client(S, &c);
  if (!srv || !cli) return -1;
  wt_connect_options o;
  sim_connect_options(S, &o, cli_event, &CC);
  if (wt_session_connect(cli, "https://localhost:4433/echo", &o, &CC.s)) return -1;
  sim_run(S, ready_or_closed, NULL, 30000 * SIM_MS);
  return CC.ready ? 0 : -1;
}

static int setup(uint64_t seed, const sim_link *link) { return setup_links(seed, link, link); }

static void teardown(void) {
  sim_free(S);
  S = NULL;
}

/* Whether event `i` is the first one of its stream in the log. */
static int first_of_stream(const testapp_log *l, int i) {
  for (int j = 0; j < i; j++)
    if (l->ev[j].stream_id == l->ev[i].stream_id) return 0;
  return 1;
}

/* Checks the end of the one session an application's log holds, where no
 * application aborted a stream with a code: every stream got
 * WT_EV_STREAM_CLOSED exactly once, no abort carried an application code
 * (WT_SESSION_GONE is none), and the session's WT_EV_SESSION_CLOSED came
 * once, after all of them, as the very last event. Returns the number of
 * streams, or -1 (with the reason printed). */
static int session_end_in_order(const testapp_log *l, const char *who) {
  int closed = testapp_log_find(l, 0, WT_EV_SESSION_CLOSED, TESTAPP_NO_STREAM), streams = 0;
  if (l->overflow || closed != l->n - 1 || testapp_log_count(l, WT_EV_SESSION_CLOSED, TESTAPP_NO_STREAM) != 1) {
    fprintf(stderr, "  %s: session CLOSED at %d of %d events, %d times\n", who, closed, l->n,
            testapp_log_count(l, WT_EV_SESSION_CLOSED, TESTAPP_NO_STREAM));
    return -1;
  }
  for (int i = 0; i < l->n; i++) {
    const testapp_event *e = &l->ev[i];
    if (e->stream_id == TESTAPP_NO_STREAM) continue;
    if ((e->type == WT_EV_STREAM_RECV_ABORTED || e->type == WT_EV_STREAM_SEND_ABORTED) && e->has_code) {
      fprintf(stderr, "  %s: stream %llu aborted with code %u\n", who, (unsigned long long)e->stream_id, e->code);
      return -1;
    }
    if (!first_of_stream(l, i)) continue;
    streams++;
    int n = testapp_log_count(l, WT_EV_STREAM_CLOSED, e->stream_id);
    int at = testapp_log_find(l, 0, WT_EV_STREAM_CLOSED, e->stream_id);
    if (n != 1) {
      fprintf(stderr, "  %s: stream %llu closed %d times (at %d, session at %d)\n", who,
              (unsigned long long)e->stream_id, n, at, closed);
      return -1;
    }
  }
  return streams;
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

static int echoes_done(void *ud) { return check_client_done(&CC) && CC.uni_fin; }

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
    /* uni: echoed on a server stream, checked byte for byte as it comes */
    CC.uni_seed = (uint64_t)CC.nchecks + 1;
    CHECK_EQ(check_client_add(&CC, 0, 32 * 1024), 0);
    CHECK(sim_run(S, echoes_done, NULL, 600000 * SIM_MS));
    /* Every bidi echo: all bytes, each equal to what was sent, then FIN. */
    CHECK(!check_client_failed(&CC));
    for (int k = 0; k < 8; k++)
      CHECK(CC.checks[k].got == 64 * 1024 && CC.checks[k].fin && !CC.checks[k].aborted);
    CHECK_EQ(CC.uni_total, 32 * 1024);
    CHECK(!CC.uni_bad && !CC.uni_in_local);
    wt_session_close(CC.s, 42, "lossy", 5);
    CHECK(sim_run(S, both_closed, NULL, 600000 * SIM_MS));
    CHECK_EQ(ES.close_code, 42);
    CHECK_EQ(ES.close_reason_len, 5);
    CHECK_MEM(ES.close_reason, "lossy", 5);
    CHECK(ES.close_by_peer && ES.close_error == 0);
    sim_stats a = sim_get_stats(S, 0), b = sim_get_stats(S, 1);
    printf("  loss %2.0f%%: 8 x 64 KiB + 32 KiB uni echoed + close in %.2f s virtual; packets %llu sent, %llu "
           "dropped, %llu duplicated, %llu reordered\n",
           losses[i] * 100, (double)(sim_now(S) - t0) / 1e9, (unsigned long long)(a.sent + b.sent),
           (unsigned long long)(a.dropped + b.dropped), (unsigned long long)(a.duplicated + b.duplicated),
           (unsigned long long)(a.reordered + b.reordered));
    teardown();
  }
}

static int echoes_flowing(void *ud) {
  for (int k = 0; k < CC.nchecks; k++)
    if (CC.checks[k].got == 0) return 0;
  return 1;
}

/* The client closes its session while 10 streams of 200 KB are being
 * echoed: at once (nothing has left yet), and once every stream is
 * flowing in both directions. Draft §6: the streams of a terminated
 * session are reset and stopped with WT_SESSION_GONE, which is no
 * application code. Each stream ends exactly once on each side, before the
 * session does. */
static void close_while_streams_are_in_flight(void) {
  for (int flowing = 0; flowing < 2; flowing++) {
    sim_link l = {.delay_ns = 5 * SIM_MS};
    CHECK_EQ(setup(2, &l), 0);
    for (int k = 0; k < 10; k++)
      CHECK_EQ(check_client_add(&CC, 1, 200 * 1024), 0);
    if (flowing) {
      CHECK(sim_run(S, echoes_flowing, NULL, 10000 * SIM_MS));
      for (int k = 0; k < 10; k++)
        CHECK(!CC.checks[k].fin && CC.checks[k].got < 200 * 1024); /* still in flight */
    }
    CHECK_EQ(wt_session_close(CC.s, 9, "abort", 5), 0);
    CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
    CHECK_EQ(ES.close_code, 9);
    CHECK(ES.close_by_peer);
    CHECK(CC.close_code == 9 && !CC.by_peer && CC.error == 0);
    /* Client: each stream closed exactly once, cut short, before the session. */
    CHECK_EQ(CC.stream_closes, 10);
    for (int k = 0; k < 10; k++) {
      stream_check *c = &CC.checks[k];
      CHECK(c->closes == 1 && !c->fin && !c->bad && !c->committed);
    }
    CHECK_EQ(session_end_in_order(&CLOG, "client"), 10);
    /* Server: every stream the application saw ends the same way; the
     * client's RESET_STREAM(WT_SESSION_GONE) arriving before the close
     * capsule shows as RECV_ABORTED without a code. */
    int n = session_end_in_order(&SLOG, "server");
    CHECK(n >= 0);
    CHECK_EQ(ES.stream_closes, n);
    int resets = testapp_log_count(&SLOG, WT_EV_STREAM_RECV_ABORTED, TESTAPP_ANY_STREAM);
    printf("  close %s: server saw %d of 10 streams, %d of them reset (without a code) before the close\n",
           flowing ? "while flowing" : "at once", n, resets);
    if (flowing) {
      CHECK_EQ(n, 10);
      CHECK(resets > 0); /* the has_code check above had something to check */
    }
    teardown();
  }
}

static int stream_checks_settled(void *ud) {
  reset_tracked();
  for (int k = 0; k < CC.nchecks; k++)
    if (!CC.checks[k].closed) return 0;
  return 1;
}

/* After streams ended by resets, the session still echoes a new stream. */
static int echo_still_works(void) {
  int k = CC.nchecks;
  if (check_client_add(&CC, 1, 5000) || !sim_run(S, checks_done, NULL, 10000 * SIM_MS)) return 0;
  return CC.checks[k].fin && !CC.checks[k].bad && CC.checks[k].got == 5000 && !CC.closed;
}

/* The server resets its side of every stream with 77 as it accepts it,
 * while the client's data and FIN are on their way. The server sent no
 * data and no FIN, so the only outcome is the reset, with its code; the
 * client's own direction is untouched and its FIN is acknowledged. */
static void reset_crossing_a_fin(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(3, &l), 0);
  ES.reset_streams_code = 1 + 77;
  for (int k = 0; k < 5; k++)
    CHECK_EQ(check_client_add(&CC, 1, 1000), 0); /* data + FIN in flight */
  CHECK(sim_run(S, stream_checks_settled, NULL, 10000 * SIM_MS));
  for (int k = 0; k < 5; k++) {
    stream_check *c = &CC.checks[k];
    CHECK(c->recv_aborted && c->recv_has_code);
    CHECK_EQ(c->recv_code, 77);
    CHECK(!c->fin && c->got == 0 && !c->bad);
    CHECK(!c->send_aborted && c->committed && c->sent == 1000);
    CHECK_EQ(c->closes, 1);
  }
  CHECK_EQ(CC.stream_closes, 5);
  ES.reset_streams_code = 0;
  CHECK(echo_still_works());
  teardown();
}

/* The server echoes each stream (data + FIN) and resets it with 77 right
 * behind, over a link that loses and reorders what the server sends.
 * RFC 9000 §3.2: a receiver that has all data and the FIN may deliver
 * them and ignore the reset; otherwise it reports the reset and what came
 * before it is a correct prefix. Each stream ends in exactly one way. */
static void reset_right_behind_a_fin(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  sim_link lossy = {.delay_ns = 5 * SIM_MS, .loss = 0.2, .reorder = 0.5, .jitter_ns = 8 * SIM_MS};
  CHECK_EQ(setup_links(3, &l, &lossy), 0);
  reset_after_echo = 1;
  for (int k = 0; k < 20; k++)
    CHECK_EQ(check_client_add(&CC, 1, 1000), 0);
  CHECK(sim_run(S, stream_checks_settled, NULL, 10000 * SIM_MS));
  int fins = 0, resets = 0;
  for (int k = 0; k < 20; k++) {
    stream_check *c = &CC.checks[k];
    int fin_won = c->fin && !c->bad && c->got == 1000 && !c->recv_aborted;
    int reset_won = c->recv_aborted && c->recv_has_code && c->recv_code == 77 && !c->fin && !c->bad && c->got <= 1000;
    if (fin_won == reset_won)
      fprintf(stderr, "  stream %d: fin %d, got %llu, bad %d, recv_aborted %d (code %u, has %d)\n", k, c->fin,
              (unsigned long long)c->got, c->bad, c->recv_aborted, c->recv_code, c->recv_has_code);
    CHECK(fin_won != reset_won);
    CHECK(!c->send_aborted && c->committed);
    CHECK_EQ(c->closes, 1);
    fins += fin_won;
    resets += reset_won;
  }
  printf("  reset right behind the echo: %d streams ended with the FIN, %d with the reset\n", fins, resets);
  CHECK(fins > 0 && resets > 0); /* the race went both ways (seeded) */
  reset_after_echo = 0;
  CHECK(echo_still_works());
  teardown();
}

/* The server asks to drain and closes in the same instant (both capsules
 * in one packet): the client hears both, in that order, and the code and
 * reason are the server's. */
static void drain_then_close(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(4, &l), 0);
  CHECK(ES.last != NULL);
  CHECK_EQ(wt_session_drain(ES.last), 0);
  CHECK_EQ(wt_session_close(ES.last, 5, "bye", 3), 0);
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK_EQ(CC.drainings, 1); /* announced before the end, not lost with it */
  int drained = testapp_log_find(&CLOG, 0, WT_EV_SESSION_DRAINING, TESTAPP_NO_STREAM);
  CHECK(drained >= 0 && drained < testapp_log_find(&CLOG, 0, WT_EV_SESSION_CLOSED, TESTAPP_NO_STREAM));
  CHECK_EQ(session_end_in_order(&CLOG, "client"), 0);
  CHECK_EQ(CC.close_code, 5);
  CHECK(CC.reason_len == 3 && memcmp(CC.reason, "bye", 3) == 0);
  CHECK(CC.by_peer && CC.error == 0);
  /* The server closed it itself and was not asked to drain. */
  CHECK(ES.close_code == 5 && !ES.close_by_peer && ES.close_error == 0);
  CHECK_EQ(ES.drainings, 0);
  teardown();
}

static uint64_t dg_next, dg_until;
static int dg_sent;

/* The client sends a datagram every virtual millisecond (catching up when
 * time jumps) until `dg_until`; the last ones leave at that instant. */
static int datagrams_until(void *ud) {
  for (; CC.s && dg_next <= sim_now(S); dg_next += SIM_MS) {
    char b[16];
    int n = snprintf(b, sizeof(b), "c%d", dg_sent);
    if (wt_session_send_datagram(CC.s, b, (size_t)n) == 0) dg_sent++;
  }
  return sim_now(S) >= dg_until;
}

/* Datagrams fly both ways (the server echoes) when the client closes.
 * From the close on the client cannot send, and nothing that arrives any
 * more reaches it, though echoes are still on their way. The client's
 * datagrams still in flight (the link reorders them behind the close
 * capsule) reach the server before its WT_EV_SESSION_CLOSED or not at
 * all; once it has seen the close the server cannot send either. */
static void datagrams_after_close(void) {
  sim_link c2s = {.delay_ns = 5 * SIM_MS, .reorder = 0.5, .jitter_ns = 15 * SIM_MS};
  sim_link s2c = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup_links(5, &c2s, &s2c), 0);
  dg_sent = 0;
  dg_next = sim_now(S);
  dg_until = dg_next + 50 * SIM_MS;
  CHECK(sim_run(S, datagrams_until, NULL, 1000 * SIM_MS));
  CHECK(dg_sent >= 40 && CC.dg_got > 0); /* both ways */
  uint64_t t_close = sim_now(S), got_at_close = CC.dg_got;
  int mark = CLOG.n;
  wt_session *s = CC.s;
  CPROBE.on = SPROBE.on = 1;
  CHECK_EQ(wt_session_close(s, 0, "", 0), 0);
  CHECK_EQ(wt_session_send_datagram(s, "late", 4), WT_ERR_CLOSED);
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));

  /* Client: no datagram after the close, though the server echoed some
   * that could only arrive after it (the s2c delay is fixed). */
  int late_echoes = 0;
  for (int i = 0; i < srv_dg_events; i++)
    late_echoes += srv_dg_at[i] + s2c.delay_ns > t_close;
  CHECK(late_echoes > 0);
  CHECK_EQ(testapp_log_find(&CLOG, mark, WT_EV_SESSION_DATAGRAM, TESTAPP_ANY_STREAM), -1);
  CHECK_EQ(CC.dg_got, got_at_close);
  /* ...and every send from a callback after the close, the last in the
   * WT_EV_SESSION_CLOSED callback, was refused. */
  CHECK(CPROBE.tries > 0 && CPROBE.refused == CPROBE.tries && CPROBE.in_closed);
  CHECK_EQ(session_end_in_order(&CLOG, "client"), 0);

  /* Server: datagram events only before its WT_EV_SESSION_CLOSED, which it
   * got; some of the client's datagrams arrived after the close and were
   * dropped (the link loses nothing). */
  CHECK_EQ(session_end_in_order(&SLOG, "server"), 0);
  CHECK(SPROBE.tries == 1 && SPROBE.refused == 1 && SPROBE.in_closed);
  CHECK_EQ(dg_events_when_closed, 0); /* on either side */
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  printf("  client sent %d datagrams, the server took %llu before the close; %d server datagram events could only "
         "reach the client after its close\n",
         dg_sent, (unsigned long long)st.datagrams_received, late_echoes);
  CHECK(st.datagrams_received < (uint64_t)dg_sent);
  teardown();
}

static int connections_gone(void *ud) {
  wt_stats a, b;
  wt_transport_get_stats(srv, &a);
  wt_transport_get_stats(cli, &b);
  return a.connections == 0 && b.connections == 0;
}

/* Both close in the same instant: the capsules cross. Each side reports its
 * own close (code, reason, by_peer 0), exactly once, and the crossing
 * capsule is not taken for a second close or a protocol error; the
 * connection then ends cleanly. */
static void both_sides_close_at_once(void) {
  sim_link l = {.delay_ns = 5 * SIM_MS};
  CHECK_EQ(setup(6, &l), 0);
  CHECK_EQ(wt_session_close(CC.s, 1, "client", 6), 0);
  CHECK_EQ(wt_session_close(ES.last, 2, "server", 6), 0);
  CHECK(sim_run(S, both_closed, NULL, 10000 * SIM_MS));
  CHECK(sim_run(S, connections_gone, NULL, 10000 * SIM_MS));
  CHECK_EQ(ES.closes, 1);
  CHECK_EQ(CC.close_code, 1); /* each side reports its own close */
  CHECK(CC.reason_len == 6 && memcmp(CC.reason, "client", 6) == 0);
  CHECK(!CC.by_peer && CC.error == 0);
  CHECK_EQ(ES.close_code, 2);
  CHECK(ES.close_reason_len == 6 && memcmp(ES.close_reason, "server", 6) == 0);
  CHECK(!ES.close_by_peer && ES.close_error == 0);
  CHECK_EQ(session_end_in_order(&CLOG, "client"), 0);
  CHECK_EQ(session_end_in_order(&SLOG, "server"), 0);
  teardown();
}

/* Echoes whose FIN arrives (and whose stream QUIC closes) before the
 * application reads them must still give back connection-level credit:
 * 300 KB through a 32 KiB client window only get through if every stream's
 * bytes are credited, also those read after the stream closed. */
static void connection_credit_comes_back_for_streams_read_after_closing(void) {
  sim_link l = {.delay_ns = 2 * SIM_MS};
  client_conn_window = 32 * 1024;
  int rv = setup(31, &l);
  client_conn_window = 0;
  CHECK_EQ(rv, 0);
  check_client_add_many(&CC, 300, 1000);
  CHECK(sim_run(S, checks_done, NULL, 120000 * SIM_MS));
  CHECK(!check_client_failed(&CC));
  teardown();
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  RUN(echo_in_simulated_time);
  RUN(echo_survives_loss_reordering_and_duplication);
  RUN(close_while_streams_are_in_flight);
  RUN(reset_crossing_a_fin);
  RUN(reset_right_behind_a_fin);
  RUN(drain_then_close);
  RUN(datagrams_after_close);
  RUN(both_sides_close_at_once);
  RUN(connection_credit_comes_back_for_streams_read_after_closing);
  return TEST_REPORT();
}
