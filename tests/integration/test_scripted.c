/*
 * test_scripted.c: the real wt-server binary (argv[1]) driven through the
 * query parameters of its /echo path, checked from the client side.
 *
 * The server runs as a child process on loopback with `--port 0`; its
 * banner gives the port and certificate hash. One library client transport
 * in embeddable mode connects to https://localhost:PORT/echo?... and checks
 * each parameter's effect (sub-protocol choice, timed close and drain,
 * server-opened streams, resets, STOP_SENDING, combinations, 400 for every
 * kind of malformed query) and --allow-origin on a second server. Both
 * servers must exit with status 0 on SIGTERM/SIGINT, which under
 * AddressSanitizer also means they freed everything. Children die with
 * this process (PR_SET_PDEATHSIG) and are killed at exit.
 *
 * Not for the library's own stream and session semantics: test_loopback.c
 * covers those.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "test.h"
#include "webtransport.h"

/* ------------------------------------------------------------------------ */
/* The wt-server child processes                                            */

typedef test_child child;

static const char *server_bin;
static child plain, origins; /* origins: started with --allow-origin */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* How often `needle` occurs in the child's stdout so far. */
static int server_count(const child *c, const char *needle) {
  static char buf[1 << 20];
  test_child_output(c, buf, sizeof(buf));
  int n = 0;
  for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

/* Waits up to 2 s until `needle` occurs `times` times in the child's
 * stdout. */
static int server_said(const child *c, const char *needle, int times) {
  double end = now_s() + 2;
  while (server_count(c, needle) < times) {
    if (now_s() > end) return 0;
    sleep_ms(10);
  }
  return 1;
}

static int spawn_server(child *c, const char *const *args) { return test_child_spawn(c, server_bin, args); }
static int stop_server(child *c, int sig) { return test_child_stop(c, sig); }

static void kill_children(void) {
  child *all[] = {&plain, &origins};
  for (int i = 0; i < 2; i++) {
    if (all[i]->pid <= 0) continue;
    kill(all[i]->pid, SIGKILL);
    waitpid(all[i]->pid, NULL, 0);
    unlink(all[i]->out_path);
  }
}

/* ------------------------------------------------------------------------ */
/* The client: one transport, one session at a time                        */

#define MAX_STREAMS 128
#define STREAM_CAP 16384

/* What the client saw of one stream. */
typedef struct cstream {
  wt_stream *st; /* NULL once closed */
  int local, bidi;
  uint8_t got[STREAM_CAP];
  size_t len;
  int fin;
  int recv_aborted, recv_has_code;
  uint32_t recv_code;
  size_t len_at_recv_abort;
  int send_aborted, send_has_code;
  uint32_t send_code;
  int closed;
} cstream;

static wt_transport *cli;

static struct {
  wt_session *s;
  int ready, closed, draining;
  double t_requested, t_ready, t_closed, t_draining;
  uint32_t code;
  char reason[1100];
  size_t reason_len;
  int by_peer, http_status, error;
  char protocol[64];
  cstream streams[MAX_STREAMS];
  int nstreams;
} C;

static int fin_server_bidi; /* answer each server bidi stream with a FIN */

static cstream *new_cstream(wt_stream *st) {
  if (C.nstreams == MAX_STREAMS) return NULL;
  cstream *cs = &C.streams[C.nstreams++];
  memset(cs, 0, sizeof(*cs));
  cs->st = st;
  cs->local = wt_stream_is_local(st);
  cs->bidi = wt_stream_is_bidi(st);
  wt_stream_set_context(st, cs);
  return cs;
}

/* Reads what is there; bytes beyond STREAM_CAP are dropped. */
static void cs_read(cstream *cs) {
  uint8_t scratch[4096];
  if (!cs->st || !wt_stream_can_read(cs->st)) return;
  for (;;) {
    int fin = 0, room = cs->len < STREAM_CAP;
    ssize_t n = room ? wt_stream_read(cs->st, cs->got + cs->len, STREAM_CAP - cs->len, &fin)
                     : wt_stream_read(cs->st, scratch, sizeof(scratch), &fin);
    if (n < 0) return; /* nothing yet, or reset */
    if (room) cs->len += (size_t)n;
    if (fin) {
      cs->fin = 1;
      return;
    }
  }
}

static void on_accept(wt_session *s) {
  wt_stream *st;
  while (wt_session_accept_stream(s, &st) == 0) {
    cstream *cs = new_cstream(st);
    if (!cs) {
      wt_stream_abort_receive(st, 99);
      continue;
    }
    if (cs->bidi && fin_server_bidi) wt_stream_close(st);
    cs_read(cs);
  }
}

static void on_session_closed(const wt_event *ev) {
  C.closed = 1;
  C.t_closed = now_s();
  C.code = ev->code;
  C.reason_len = ev->reason_len < sizeof(C.reason) ? ev->reason_len : sizeof(C.reason) - 1;
  memcpy(C.reason, ev->reason, C.reason_len);
  C.reason[C.reason_len] = 0;
  C.by_peer = ev->by_peer;
  C.http_status = ev->http_status;
  C.error = ev->error;
  C.s = NULL;
}

static void on_stream_event(const wt_event *ev, cstream *cs) {
  switch (ev->type) {
  case WT_EV_STREAM_READABLE: cs_read(cs); break;
  case WT_EV_STREAM_RECV_ABORTED:
    cs->recv_aborted = 1;
    cs->recv_has_code = ev->has_code;
    cs->recv_code = ev->code;
    cs->len_at_recv_abort = cs->len;
    break;
  case WT_EV_STREAM_SEND_ABORTED:
    cs->send_aborted = 1;
    cs->send_has_code = ev->has_code;
    cs->send_code = ev->code;
    break;
  case WT_EV_STREAM_CLOSED:
    cs->closed = 1;
    cs->st = NULL;
    break;
  default: break;
  }
}

static void cl_event(const wt_event *ev, void *ud) {
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    C.ready = 1;
    C.t_ready = now_s();
    snprintf(C.protocol, sizeof(C.protocol), "%s",
             wt_session_protocol(ev->session) ? wt_session_protocol(ev->session) : "");
    break;
  case WT_EV_SESSION_DRAINING:
    C.draining = 1;
    C.t_draining = now_s();
    break;
  case WT_EV_SESSION_CLOSED: on_session_closed(ev); break;
  case WT_EV_SESSION_STREAM: on_accept(ev->session); break;
  default: {
    cstream *cs = ev->stream ? wt_stream_context(ev->stream) : NULL;
    if (cs) on_stream_event(ev, cs);
    break;
  }
  }
}

/* Drives the client transport until done() or the deadline; returns done(). */
static int run_until(int (*done)(void), double seconds) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(cli), &ev);
  double end = now_s() + seconds;
  int ok;
  while (!(ok = done()) && now_s() < end) {
    int t = wt_transport_timeout_ms(cli);
    if (t < 0 || t > 10) t = 10;
    epoll_wait(ep, &ev, 1, t);
    wt_transport_process(cli);
  }
  close(ep);
  return ok;
}

static int never(void) { return 0; }
static int is_settled(void) { return C.ready || C.closed; }
static int is_closed(void) { return C.closed; }
static int is_draining(void) { return C.draining || C.closed; }

static void end_session(void) {
  if (C.s && !C.closed) wt_session_close(C.s, 0, "", 0);
  if (C.s) run_until(is_closed, 5);
}

/* Opens a session to `server` at `path`; returns once it is ready or
 * refused (C.ready / C.http_status tell which). */
static int connect_to(const child *server, const char *path, const char *origin, const char *const *protocols,
                      size_t nprotocols) {
  end_session();
  memset(&C, 0, sizeof(C));
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_HASHES;
  o.cert_hashes = (const uint8_t(*)[32])server->hash;
  o.ncert_hashes = 1;
  o.origin = origin;
  o.protocols = protocols;
  o.nprotocols = nprotocols;
  o.on_event = cl_event;
  char url[4096];
  snprintf(url, sizeof(url), "https://localhost:%u%s", server->port, path);
  C.t_requested = now_s();
  if (wt_session_connect(cli, url, &o, &C.s)) return -1;
  return run_until(is_settled, 5) ? 0 : -1;
}

static int open_echo(const char *query) {
  char path[4096];
  snprintf(path, sizeof(path), "/echo%s", query);
  return connect_to(&plain, path, NULL, NULL, 0) == 0 && C.ready ? 0 : -1;
}

/* Opens a client stream and writes `len` bytes of `data` (a pattern when
 * NULL), with a FIN if asked. */
static cstream *client_stream(int bidi, const void *data, size_t len, int fin) {
  static uint8_t pattern[STREAM_CAP];
  wt_stream *st;
  if (!C.s || wt_session_open_stream(C.s, bidi, &st)) return NULL;
  cstream *cs = new_cstream(st);
  if (!data) {
    for (size_t i = 0; i < len; i++)
      pattern[i] = (uint8_t)(i * 131 + 7);
    data = pattern;
  }
  if (!cs || wt_stream_write(st, data, len, fin) != (ssize_t)len) return NULL;
  return cs;
}

static int pattern_ok(const cstream *cs, size_t len) {
  if (cs->len != len) return 0;
  for (size_t i = 0; i < len; i++)
    if (cs->got[i] != (uint8_t)(i * 131 + 7)) return 0;
  return 1;
}

static int count_streams(int local, int bidi) {
  int n = 0;
  for (int i = 0; i < C.nstreams; i++)
    if (C.streams[i].local == local && C.streams[i].bidi == bidi) n++;
  return n;
}

static int want_uni, want_bidi; /* server streams awaited by server_streams_in() */
static int server_streams_in(void) {
  int uni = 0, bidi = 0;
  for (int i = 0; i < C.nstreams; i++) {
    const cstream *cs = &C.streams[i];
    if (cs->local) continue;
    if (!cs->bidi && cs->fin) uni++;
    if (cs->bidi && cs->len >= 8) bidi++;
  }
  return uni >= want_uni && bidi >= want_bidi;
}

/* The k-th stream the server opened of a kind, or NULL. */
static cstream *server_stream(int bidi, int k) {
  for (int i = 0; i < C.nstreams; i++)
    if (!C.streams[i].local && C.streams[i].bidi == bidi && k-- == 0) return &C.streams[i];
  return NULL;
}

static cstream *watch; /* the stream the predicates below look at */
static int watch_fin(void) { return watch->fin || watch->recv_aborted || C.closed; }
static int watch_recv_aborted(void) { return watch->recv_aborted || C.closed; }
static int watch_send_aborted(void) { return watch->send_aborted || C.closed; }
static int watch_closed(void) { return watch->closed || C.closed; }
static size_t want_len;
static int watch_has_len(void) { return watch->len >= want_len || C.closed; }
static int uni_echo_in(void) { return server_stream(0, 0) != NULL || C.closed; }

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */

static void plain_echo_still_works(void) {
  CHECK_EQ(open_echo(""), 0);
  CHECK(server_said(&plain, "session 0 open: path /echo draft 15 protocol -\n", 1));
  watch = client_stream(1, "hello", 5, 1);
  CHECK(watch);
  CHECK(run_until(watch_fin, 5));
  CHECK_EQ(watch->len, 5);
  CHECK_MEM(watch->got, "hello", 5);
  CHECK(client_stream(0, "one-way", 7, 1));
  CHECK(run_until(uni_echo_in, 5));
  watch = server_stream(0, 0);
  CHECK(run_until(watch_fin, 5));
  CHECK_EQ(watch->len, 7);
  CHECK_MEM(watch->got, "one-way", 7);
  end_session();
  CHECK(server_said(&plain, "session 0 closed by client: code 0 reason \"\"", 1));
}

static int connect_offering(const char *query, const char *a, const char *b) {
  const char *offer[] = {a, b};
  char path[256];
  snprintf(path, sizeof(path), "/echo%s", query);
  return connect_to(&plain, path, NULL, offer, b ? 2 : 1) == 0 && C.ready ? 0 : -1;
}

static void protocols_pick_the_servers_first_offered_choice(void) {
  /* c is not offered; of the rest the server prefers b. */
  CHECK_EQ(connect_offering("?protocols=c,b,a", "a", "b"), 0);
  CHECK(strcmp(C.protocol, "b") == 0);
  CHECK(server_said(&plain, "path /echo?protocols=c,b,a draft 15 protocol b\n", 1));
  CHECK_EQ(connect_offering("?protocols=a,b", "b", "a"), 0);
  CHECK(strcmp(C.protocol, "a") == 0);
  CHECK(server_said(&plain, "path /echo?protocols=a,b draft 15 protocol a\n", 1));
  /* Percent-decoded names; a comma can be encoded inside one. */
  CHECK_EQ(connect_offering("?protocols=x%2Cy,chat%2Fv2", "chat/v2", NULL), 0);
  CHECK(strcmp(C.protocol, "chat/v2") == 0);
  CHECK_EQ(connect_offering("?protocols=x%2Cy,chat%2Fv2", "x,y", "chat/v2"), 0);
  CHECK(strcmp(C.protocol, "x,y") == 0);
  /* No overlap: accepted without a protocol. */
  CHECK_EQ(connect_offering("?protocols=z", "a", "b"), 0);
  CHECK(strcmp(C.protocol, "") == 0);
  CHECK(server_said(&plain, "path /echo?protocols=z draft 15 protocol -\n", 1));
  end_session();
}

static void close_after_ms_closes_with_code_and_reason(void) {
  CHECK_EQ(open_echo("?close_after_ms=200&code=0xfeedBEEF&reason=bye+now%2C%20%E2%9C%93"), 0);
  CHECK(run_until(is_closed, 5));
  printf("  close_after_ms=200: closed %.0f ms after READY\n", (C.t_closed - C.t_ready) * 1e3);
  /* The server's timer starts after our request left, so that is a strict
   * lower bound on any machine; the upper bound is loose for loaded ones. */
  CHECK(C.t_closed - C.t_requested >= 0.2);
  CHECK(C.t_closed - C.t_ready < 3.0);
  CHECK(C.by_peer);
  CHECK_EQ(C.error, 0);
  CHECK_EQ(C.http_status, 0);
  CHECK_EQ(C.code, 0xfeedbeef);
  CHECK(strcmp(C.reason, "bye now, \xe2\x9c\x93") == 0);
  CHECK(server_said(&plain, "closed by server: code 4276993775 reason \"bye now, \xe2\x9c\x93\"", 1));
  /* Defaults: code 0, empty reason. */
  CHECK_EQ(open_echo("?close_after_ms=0"), 0);
  CHECK(run_until(is_closed, 5));
  CHECK(C.t_closed - C.t_ready < 3.0);
  CHECK(C.by_peer);
  CHECK_EQ(C.code, 0);
  CHECK_EQ(C.reason_len, 0);
  /* Decimal code, a reason of exactly the maximum 1024 bytes. */
  char q[1200] = "?code=4294967295&close_after_ms=10&reason=";
  size_t n = strlen(q);
  memset(q + n, 'r', 1024);
  q[n + 1024] = 0;
  CHECK_EQ(open_echo(q), 0);
  CHECK(run_until(is_closed, 5));
  CHECK_EQ(C.code, 4294967295u);
  CHECK_EQ(C.reason_len, 1024);
  CHECK(C.reason[0] == 'r' && C.reason[1023] == 'r');
}

static void drain_after_ms_drains_and_the_session_keeps_working(void) {
  CHECK_EQ(open_echo("?drain_after_ms=150"), 0);
  CHECK(run_until(is_draining, 5));
  CHECK(!C.closed);
  printf("  drain_after_ms=150: draining %.0f ms after READY\n", (C.t_draining - C.t_ready) * 1e3);
  CHECK(C.t_draining - C.t_requested >= 0.15); /* strict, see close_after_ms */
  CHECK(C.t_draining - C.t_ready < 3.0);
  watch = client_stream(1, "after drain", 11, 1);
  CHECK(watch);
  CHECK(run_until(watch_fin, 5));
  CHECK_EQ(watch->len, 11);
  CHECK_MEM(watch->got, "after drain", 11);
  CHECK(!C.closed);
  end_session();
}

static void open_uni_and_open_bidi_send_exact_bytes(void) {
  CHECK_EQ(open_echo("?open_uni=3&open_bidi=2"), 0);
  want_uni = 3;
  want_bidi = 2;
  CHECK(run_until(server_streams_in, 5));
  run_until(never, 0.1); /* nothing more comes */
  CHECK_EQ(count_streams(0, 0), 3);
  CHECK_EQ(count_streams(0, 1), 2);
  for (int k = 0; k < 3; k++) {
    cstream *cs = server_stream(0, k);
    CHECK(cs->fin);
    CHECK_EQ(cs->len, 8);
    CHECK_MEM(cs->got, "srv-uni\n", 8);
  }
  /* A server bidi stream carries "srv-bidi", then echoes until our FIN. */
  for (int k = 0; k < 2; k++) {
    watch = server_stream(1, k);
    CHECK(!watch->fin);
    CHECK_EQ(watch->len, 8);
    CHECK_MEM(watch->got, "srv-bidi", 8);
    char ping[8];
    snprintf(ping, sizeof(ping), "ping-%d", k);
    CHECK_EQ(wt_stream_write(watch->st, ping, 6, 0), 6);
    CHECK_EQ(wt_stream_write(watch->st, "!", 1, 1), 1);
    CHECK(run_until(watch_fin, 5));
    CHECK_EQ(watch->len, 15);
    CHECK_MEM(watch->got + 8, ping, 6);
    CHECK_EQ(watch->got[14], '!');
    CHECK(run_until(watch_closed, 5));
  }
  end_session();
}

/* The client grants 8 bidi and 8 uni streams at a time (see main; 3 of
 * the uni ones are HTTP/3's own), so opening 20 and 40 needs the server to
 * wait for credit again and again. */
static void opening_many_streams_waits_for_credit(void) {
  fin_server_bidi = 1;
  int rv = open_echo("?open_bidi=20&open_uni=40");
  want_uni = 40;
  want_bidi = 20;
  int all_in = rv == 0 && run_until(server_streams_in, 10);
  fin_server_bidi = 0;
  CHECK(all_in);
  CHECK_EQ(count_streams(0, 0), 40);
  CHECK_EQ(count_streams(0, 1), 20);
  for (int i = 0; i < C.nstreams; i++) {
    const cstream *cs = &C.streams[i];
    CHECK_EQ(cs->len, 8);
    CHECK_MEM(cs->got, cs->bidi ? "srv-bidi" : "srv-uni\n", 8);
  }
  end_session();
}

static void reset_code_resets_after_the_whole_echo(void) {
  CHECK_EQ(open_echo("?reset_code=0xdead"), 0);
  watch = client_stream(1, NULL, 10000, 1);
  CHECK(watch);
  CHECK(run_until(watch_recv_aborted, 5));
  CHECK(watch->recv_has_code);
  CHECK_EQ(watch->recv_code, 0xdead);
  CHECK_EQ(watch->len_at_recv_abort, 10000);
  CHECK(pattern_ok(watch, 10000));
  CHECK(!watch->fin);
  CHECK(!watch->send_aborted);
  /* A uni stream's echo comes on a server uni stream, reset the same way. */
  CHECK(client_stream(0, NULL, 5000, 1));
  CHECK(run_until(uni_echo_in, 5));
  watch = server_stream(0, 0);
  CHECK(run_until(watch_recv_aborted, 5));
  CHECK(watch->recv_has_code);
  CHECK_EQ(watch->recv_code, 0xdead);
  CHECK_EQ(watch->len_at_recv_abort, 5000);
  CHECK(pattern_ok(watch, 5000));
  CHECK(!watch->fin);
  CHECK(!C.closed);
  end_session();
}

static void stop_code_stops_every_client_stream(void) {
  CHECK_EQ(open_echo("?stop_code=77"), 0);
  watch = client_stream(1, "abc", 3, 0);
  CHECK(watch);
  CHECK(run_until(watch_send_aborted, 5));
  CHECK(watch->send_has_code);
  CHECK_EQ(watch->send_code, 77);
  /* Nothing is echoed; the server's side just ends. */
  CHECK(run_until(watch_fin, 5));
  CHECK(watch->fin);
  CHECK_EQ(watch->len, 0);
  watch = client_stream(0, "abc", 3, 0);
  CHECK(watch);
  CHECK(run_until(watch_send_aborted, 5));
  CHECK(watch->send_has_code);
  CHECK_EQ(watch->send_code, 77);
  run_until(never, 0.1);
  CHECK_EQ(count_streams(0, 0), 0); /* no echo stream for it */
  CHECK(!C.closed);
  end_session();
}

static void combined_parameters(void) {
  const char *offer[] = {"p1", "p2"};
  CHECK_EQ(connect_to(&plain,
                      "/echo?close_after_ms=400&reason=done&stop_code=5&protocols=p2,p1&open_uni=1&reset_code=6&code=9",
                      NULL, offer, 2),
           0);
  CHECK(C.ready);
  CHECK(strcmp(C.protocol, "p2") == 0);
  /* A bidi stream is stopped and its (empty) echo reset; a uni stream is
   * stopped. */
  cstream *uni = client_stream(0, "u", 1, 0);
  watch = client_stream(1, "x", 1, 0);
  CHECK(uni && watch);
  CHECK(run_until(watch_closed, 5));
  CHECK(watch->send_aborted);
  CHECK(watch->recv_aborted && watch->recv_has_code);
  CHECK_EQ(watch->recv_code, 6);
  CHECK_EQ(watch->len, 0);
  watch = uni;
  CHECK(run_until(watch_send_aborted, 5));
  CHECK(watch->send_has_code);
  CHECK_EQ(watch->send_code, 5);
  want_uni = 1;
  want_bidi = 0;
  CHECK(run_until(server_streams_in, 5));
  CHECK_EQ(server_stream(0, 0)->len, 8);
  CHECK_MEM(server_stream(0, 0)->got, "srv-uni\n", 8);
  CHECK(run_until(is_closed, 5));
  CHECK(C.t_closed - C.t_requested >= 0.4);
  CHECK(C.by_peer);
  CHECK_EQ(C.code, 9);
  CHECK(strcmp(C.reason, "done") == 0);
  /* Drain, then close. */
  CHECK_EQ(open_echo("?close_after_ms=250&drain_after_ms=50"), 0);
  CHECK(run_until(is_closed, 5));
  CHECK(C.draining);
  /* Order only: a loaded machine may run both timers in one go. */
  CHECK(C.t_draining <= C.t_closed);
  CHECK(C.t_draining - C.t_requested >= 0.05);
  CHECK(C.t_closed - C.t_requested >= 0.25);
  CHECK(C.by_peer);
}

/* A session that ends before its timers must not be touched by them: the
 * server has to survive this (and exit cleanly at the end). */
static void timers_die_with_their_session(void) {
  CHECK_EQ(open_echo("?close_after_ms=150&drain_after_ms=100&reset_code=3"), 0);
  CHECK(client_stream(1, "pending reset", 13, 1));
  run_until(never, 0.02); /* the echo is written, its reset waits for the ACK */
  int closes = server_count(&plain, "closed by client");
  end_session();
  CHECK(server_said(&plain, "closed by client", closes + 1));
  sleep_ms(300);
  /* A reset that waits for its echo's ACK while we stop reading it. */
  CHECK_EQ(open_echo("?reset_code=3"), 0);
  watch = client_stream(1, "stop me", 7, 1);
  want_len = 7;
  CHECK(run_until(watch_has_len, 5));
  CHECK_EQ(wt_stream_abort_receive(watch->st, 4), 0);
  run_until(never, 0.3);
  watch = client_stream(1, "alive", 5, 1);
  CHECK(run_until(watch_fin, 5));
  CHECK_EQ(watch->len, 5);
  end_session();
}

/* The HTTP status a session request to `path` gets: 200 when accepted. */
static int status_of(const child *server, const char *path, const char *origin) {
  if (connect_to(server, path, origin, NULL, 0)) return -1;
  return C.ready ? 200 : C.http_status;
}

static void malformed_queries_get_400(void) {
  static const char *const bad[] = {
      "?bogus=1",                           /* unknown name */
      "?Open_uni=1",                        /* names are case-sensitive */
      "?open_uni",                          /* no value */
      "?open_uni=",                         /* empty number */
      "?open_uni=abc",                      /* not a number */
      "?open_uni=-1",                       /* negative */
      "?open_uni=+1",                       /* signed */
      "?open_bidi=1e3",                     /* not an integer */
      "?open_uni=1001",                     /* absurd count */
      "?open_bidi=99999999999999999999999", /* overflows */
      "?close_after_ms=86400001",           /* more than a day */
      "?drain_after_ms=0x5265C01",          /* more than a day, in hex */
      "?close_after_ms=1&code=4294967296",  /* above 2^32-1 */
      "?reset_code=0x100000000",            /* above 2^32-1 */
      "?stop_code=0x",                      /* no hex digits */
      "?stop_code=1%2",                     /* cut percent-escape */
      "?close_after_ms=1&reason=%zz",       /* bad percent-escape */
      "?close_after_ms=1&reason=%",         /* bad percent-escape */
      "?close_after_ms=1&reason=%FF",       /* not UTF-8 */
      "?close_after_ms=1&reason=%ED%A0%80", /* a surrogate is not UTF-8 */
      "?code=1",                            /* code without close_after_ms */
      "?open_uni=1&open_uni=1",             /* repeated */
      "?open_uni=1&open_bidi=1&open_uni=2", /* repeated, not adjacent */
      "?protocols=",                        /* empty name */
      "?protocols=a,,b",                    /* empty name */
      "?protocols=a,",                      /* empty name */
      "?protocols=a%01",                    /* control character */
      "?protocols=%C3%A9",                  /* not ASCII */
      "?protocols=a%2",                     /* bad percent-escape */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char path[256];
    snprintf(path, sizeof(path), "/echo%s", bad[i]);
    int status = status_of(&plain, path, NULL);
    if (status != 400) fprintf(stderr, "  %s answered %d\n", path, status);
    CHECK_EQ(status, 400);
  }
  /* A reason over 1024 bytes once decoded: 513 x "%C3%A9" is 1026 bytes. */
  char q[4096] = "/echo?close_after_ms=1&reason=";
  for (int i = 0; i < 513; i++)
    strcat(q, "%C3%A9");
  CHECK_EQ(status_of(&plain, q, NULL), 400);
  size_t n = strlen("/echo?close_after_ms=1&reason=");
  memset(q + n, 'r', 1025);
  q[n + 1025] = 0;
  CHECK_EQ(status_of(&plain, q, NULL), 400);
  /* The limits themselves are fine, and so are empty segments. */
  CHECK_EQ(status_of(&plain, "/echo?", NULL), 200);
  CHECK_EQ(status_of(&plain, "/echo?&open_uni=0&&stop_code=0xFFFFFFFF&", NULL), 200);
  CHECK_EQ(status_of(&plain, "/echo?drain_after_ms=86400000&close_after_ms=0x5265C00", NULL), 200);
  CHECK_EQ(status_of(&plain, "/echo?open_bidi=1000&protocols=%20~", NULL), 200);
  end_session();
  /* Other paths stay 404, query or not. */
  CHECK_EQ(status_of(&plain, "/nope", NULL), 404);
  CHECK_EQ(status_of(&plain, "/nope?open_uni=1", NULL), 404);
  CHECK_EQ(status_of(&plain, "/echoes?open_uni=1", NULL), 404);
  CHECK_EQ(status_of(&plain, "/echo/x", NULL), 404);
}

static void allow_origin_feeds_the_origin_check(void) {
  const char *const args[] = {"--allow-origin", "https://allowed.example", "--allow-origin", "https://second.example",
                              NULL};
  CHECK_EQ(spawn_server(&origins, args), 0);
  CHECK_EQ(status_of(&origins, "/echo", "https://allowed.example"), 200);
  CHECK(server_said(&origins, "session 0 open: path /echo draft 15", 1));
  end_session();
  CHECK_EQ(status_of(&origins, "/echo", "https://second.example"), 200);
  end_session();
  CHECK_EQ(status_of(&origins, "/echo", "https://evil.example"), 403);
  CHECK_EQ(status_of(&origins, "/echo", "http://localhost:1234"), 200); /* host of the :authority */
  end_session();
  CHECK_EQ(status_of(&origins, "/echo", NULL), 200); /* non-browser clients send none */
  end_session();
  /* Without --allow-origin the same origin is refused. */
  CHECK_EQ(status_of(&plain, "/echo", "https://allowed.example"), 403);
  CHECK_EQ(status_of(&plain, "/echo", "http://localhost:1234"), 200);
  end_session();
}

static void servers_exit_cleanly_on_signals(void) {
  int status = stop_server(&plain, SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  status = stop_server(&origins, SIGINT);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: test_scripted PATH-TO-WT-SERVER\n");
    return 2;
  }
  server_bin = argv[1];
  atexit(kill_children);
  const char *const none[] = {NULL};
  if (spawn_server(&plain, none)) {
    fprintf(stderr, "wt-server did not start\n");
    return 1;
  }
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.max_streams_bidi = 8;
  c.max_streams_uni = 8;
  c.log_level = WT_LOG_ERROR;
  if (wt_transport_new(&c, &cli)) return 1;
  RUN(plain_echo_still_works);
  RUN(protocols_pick_the_servers_first_offered_choice);
  RUN(close_after_ms_closes_with_code_and_reason);
  RUN(drain_after_ms_drains_and_the_session_keeps_working);
  RUN(open_uni_and_open_bidi_send_exact_bytes);
  RUN(opening_many_streams_waits_for_credit);
  RUN(reset_code_resets_after_the_whole_echo);
  RUN(stop_code_stops_every_client_stream);
  RUN(combined_parameters);
  RUN(timers_die_with_their_session);
  RUN(malformed_queries_get_400);
  RUN(allow_origin_feeds_the_origin_check);
  end_session();
  RUN(servers_exit_cleanly_on_signals);
  wt_transport_free(cli);
  return TEST_REPORT();
}
