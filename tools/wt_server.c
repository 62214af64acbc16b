/*
 * wt_server.c: the wt-server tool, a scriptable WebTransport echo server.
 *
 * Path /echo accepts sessions (anything else gets 404):
 *  - a bidi stream is echoed back on itself and FIN'ed after the peer's FIN;
 *  - a uni stream's bytes come back on a new server-opened uni stream;
 *  - every datagram is echoed as a datagram;
 *  - the close code and reason the client sends are logged on one line.
 * Query parameters of /echo script the server's side of the session for
 * test harnesses (all optional, in any order; a malformed query gets 400,
 * see wt_server_params.c):
 *  - protocols=a,b    select the first of these the client offered;
 *  - close_after_ms=N&code=C&reason=R   close the session N ms after
 *                     accepting it (code and reason default to 0 and "");
 *  - drain_after_ms=N drain the session N ms after accepting it;
 *  - open_uni=N, open_bidi=N   open N streams right away carrying
 *                     "srv-uni\n" + FIN, or "srv-bidi" followed by the echo
 *                     of what the client sends on it (FIN after its FIN);
 *  - reset_code=C     end the echo of each client stream with a reset
 *                     instead of a FIN; the echoed bytes are delivered
 *                     first (wt_stream_abort_send_at, WT_RELIABLE_ALL);
 *  - stop_code=C      send STOP_SENDING on each client stream when it is
 *                     accepted (its echo is then empty).
 * It prints, on stdout, the address, the certificate's SHA-256 and how to
 * open the session from a browser, so a harness can start it the same way
 * every time. It uses only the public API; its event loop is the
 * embeddable mode plus the timers above.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "toolutil.h"
#include "webtransport.h"
#include "wt_server_params.h"

#define ECHO_CHUNK 65536

typedef struct sess sess;

/* One echo: bytes read from `in` go to `out` (the same stream for bidi, a
 * new uni stream for uni). `pend` holds what `out` did not take yet; while
 * it is non-empty we stop reading, so flow control pushes back on the
 * peer. Shared by both streams; freed when both have closed. */
typedef struct echo {
  sess *ss;
  wt_stream *in, *out;
  uint8_t *pend;
  size_t pend_off, pend_len;
  int peer_fin;
  int fin_sent;    /* or the reset is decided */
  int from_client; /* the client opened `in`: reset_code applies */
  int refs;
  struct echo *next_waiting; /* uni echo waiting for stream credit */
} echo;

/* A session's script and progress; the session's user data from READY
 * until its CLOSED event. */
struct sess {
  wt_session *s;
  wts_params p;
  uint32_t uni_left, bidi_left; /* scripted streams not opened yet */
  echo *waiting_credit;
};

/* A session's pending action, kept in one list sorted by deadline. */
typedef enum { T_CLOSE, T_DRAIN } timer_action;
typedef struct app_timer {
  double due; /* tool_now() seconds */
  sess *ss;
  timer_action action;
  struct app_timer *next;
} app_timer;

typedef struct server {
  wt_transport *t[2]; /* without --addr: 127.0.0.1 and ::1 */
  int nt;
  volatile sig_atomic_t stop;
  app_timer *timers;
} server;

static server srv;
static int verbose, quiet;

/* ------------------------------------------------------------------------ */
/* Timers                                                                   */

static int timer_add(sess *ss, timer_action action, uint32_t ms) {
  app_timer *t = malloc(sizeof(*t));
  if (!t) return WT_ERR_NOMEM;
  *t = (app_timer){.due = tool_now() + ms / 1e3, .ss = ss, .action = action};
  app_timer **pp = &srv.timers;
  while (*pp && (*pp)->due <= t->due)
    pp = &(*pp)->next;
  t->next = *pp;
  *pp = t;
  return 0;
}

/* Drops the timers of a session. */
static void timers_forget(const sess *ss) {
  app_timer **pp = &srv.timers;
  while (*pp) {
    app_timer *t = *pp;
    if (t->ss == ss) {
      *pp = t->next;
      free(t);
    } else {
      pp = &t->next;
    }
  }
}

/* Milliseconds until the next timer (rounded up), or -1 if none. */
static int timers_wait_ms(void) {
  if (!srv.timers) return -1;
  double ms = (srv.timers->due - tool_now()) * 1e3;
  return ms <= 0 ? 0 : ms >= 60000 ? 60000 : (int)ms + 1;
}

static void timer_fire(const app_timer *t) {
  sess *ss = t->ss;
  switch (t->action) {
  case T_CLOSE: wt_session_close(ss->s, ss->p.close_code, ss->p.reason, ss->p.reason_len); break;
  case T_DRAIN: wt_session_drain(ss->s); break;
  }
}

/* Each timer is unlinked before it fires, so an action may add or drop
 * timers. */
static void timers_run(void) {
  double now = tool_now();
  while (srv.timers && srv.timers->due <= now) {
    app_timer *t = srv.timers;
    srv.timers = t->next;
    timer_fire(t);
    free(t);
  }
}

/* ------------------------------------------------------------------------ */
/* Echo                                                                     */

static echo *echo_new(sess *ss, int from_client) {
  echo *e = calloc(1, sizeof(*e));
  if (e) e->pend = malloc(ECHO_CHUNK);
  if (!e || !e->pend) {
    free(e);
    return NULL;
  }
  e->ss = ss;
  e->from_client = from_client;
  e->refs = 1;
  return e;
}

static void echo_release(echo *e) {
  if (--e->refs > 0) return;
  free(e->pend);
  free(e);
}

/* The input ended and everything was echoed: FIN, or for a client stream
 * under reset_code a reset that first delivers what we echoed. */
static void echo_finish_if_done(echo *e) {
  if (!e->out || !e->peer_fin || e->pend_len || e->fin_sent) return;
  e->fin_sent = 1;
  const wts_params *p = &e->ss->p;
  if (!e->from_client || !p->has_reset)
    wt_stream_close(e->out);
  else
    wt_stream_abort_send_at(e->out, p->reset_code, WT_RELIABLE_ALL);
}

/* Writes what is pending; returns 1 when everything went out. */
static int echo_flush(echo *e) {
  if (!e->out) return e->pend_len == 0;
  while (e->pend_len) {
    ssize_t n = wt_stream_write(e->out, e->pend + e->pend_off, e->pend_len, 0);
    if (n < 0) {
      /* The peer stopped our sending side: there is nowhere to echo to, so
       * stop reading too rather than hold its data forever. */
      e->pend_len = 0;
      if (e->in) wt_stream_abort_receive(e->in, 0);
      return 0;
    }
    if (n == 0) return 0;
    e->pend_off += (size_t)n;
    e->pend_len -= (size_t)n;
  }
  e->pend_off = 0;
  echo_finish_if_done(e);
  return 1;
}

static void echo_pump(echo *e) {
  while (echo_flush(e) && e->in && !e->peer_fin) {
    int fin = 0;
    ssize_t n = wt_stream_read(e->in, e->pend, ECHO_CHUNK, &fin);
    if (n < 0) return; /* WT_ERR_AGAIN: wait for READABLE; else aborted */
    e->pend_len = (size_t)n;
    e->pend_off = 0;
    if (fin) e->peer_fin = 1;
  }
}

static int open_uni_out(echo *e) {
  wt_stream *out;
  int rv = wt_session_open_stream(e->ss->s, 0, &out);
  if (rv) return rv;
  e->out = out;
  e->refs++;
  wt_stream_set_context(out, e);
  return 0;
}

static void refuse_stream(wt_stream *st) {
  wt_stream_abort_receive(st, 1);
  if (wt_stream_is_bidi(st)) wt_stream_abort_send(st, 1);
}

static void on_incoming(sess *ss) {
  wt_stream *st;
  while (wt_session_accept_stream(ss->s, &st) == 0) {
    if (ss->p.has_stop) wt_stream_abort_receive(st, ss->p.stop_code);
    if (ss->p.has_stop && !wt_stream_is_bidi(st)) continue; /* nothing will ever come to echo */
    echo *e = echo_new(ss, 1);
    if (!e) {
      refuse_stream(st);
      continue;
    }
    e->in = st;
    e->peer_fin = ss->p.has_stop;
    wt_stream_set_context(st, e);
    if (wt_stream_is_bidi(st)) {
      e->out = st;
    } else if (open_uni_out(e) == WT_ERR_AGAIN) {
      e->next_waiting = ss->waiting_credit;
      ss->waiting_credit = e;
      continue;
    }
    echo_pump(e);
  }
}

static void forget_waiting(echo *e) {
  for (echo **pp = &e->ss->waiting_credit; *pp; pp = &(*pp)->next_waiting) {
    if (*pp == e) {
      *pp = e->next_waiting;
      return;
    }
  }
}

static void on_stream_closed(wt_stream *st) {
  echo *e = wt_stream_context(st);
  if (!e) return;
  if (e->in == st) e->in = NULL;
  if (e->out == st) e->out = NULL;
  if (!e->in) forget_waiting(e);
  echo_release(e);
}

static void on_datagrams(wt_session *s) {
  uint8_t buf[65536];
  ssize_t n;
  while ((n = wt_session_receive_datagram(s, buf, sizeof(buf))) >= 0)
    wt_session_send_datagram(s, buf, (size_t)n);
}

/* ------------------------------------------------------------------------ */
/* Scripted sessions                                                        */

/* A new stream's send buffer (256 KiB by default) always takes 8 bytes. */
static int open_server_uni(sess *ss) {
  wt_stream *st;
  int rv = wt_session_open_stream(ss->s, 0, &st);
  if (rv == 0) wt_stream_write(st, "srv-uni\n", 8, 1);
  return rv;
}

static int open_server_bidi(sess *ss) {
  wt_stream *st;
  int rv = wt_session_open_stream(ss->s, 1, &st);
  if (rv) return rv;
  echo *e = echo_new(ss, 0);
  if (!e) {
    refuse_stream(st);
    return WT_ERR_NOMEM;
  }
  e->in = e->out = st;
  wt_stream_set_context(st, e);
  wt_stream_write(st, "srv-bidi", 8, 0);
  return 0;
}

/* Opens what open_uni= and open_bidi= still ask for; without stream credit
 * the rest waits for WT_EV_SESSION_STREAM_CREDIT. */
static void open_scripted_streams(sess *ss) {
  int rv = 0;
  while (ss->uni_left && (rv = open_server_uni(ss)) == 0)
    ss->uni_left--;
  if (rv && rv != WT_ERR_AGAIN) ss->uni_left = 0;
  rv = 0;
  while (ss->bidi_left && (rv = open_server_bidi(ss)) == 0)
    ss->bidi_left--;
  if (rv && rv != WT_ERR_AGAIN) ss->bidi_left = 0;
}

static void on_credit(sess *ss) {
  echo *e = ss->waiting_credit, *still = NULL;
  ss->waiting_credit = NULL;
  while (e) {
    echo *next = e->next_waiting;
    e->next_waiting = NULL;
    if (open_uni_out(e) == WT_ERR_AGAIN) {
      e->next_waiting = still;
      still = e;
    } else {
      echo_pump(e);
    }
    e = next;
  }
  ss->waiting_credit = still;
  open_scripted_streams(ss);
}

static const char *query_of(const char *path) {
  const char *q = strchr(path, '?');
  return q ? q + 1 : NULL;
}

/* Reads the session's script (validated by on_request) and starts it. */
static int sess_start(wt_session *s) {
  const char *why;
  sess *ss = calloc(1, sizeof(*ss));
  if (!ss) return WT_ERR_NOMEM;
  if (wts_params_parse(query_of(wt_session_path(s)), &ss->p, &why)) {
    wts_params_free(&ss->p);
    free(ss);
    return WT_ERR_NOMEM;
  }
  ss->s = s;
  ss->uni_left = ss->p.open_uni;
  ss->bidi_left = ss->p.open_bidi;
  wt_session_set_user_data(s, ss);
  int rv = 0;
  if (ss->p.has_close) rv = timer_add(ss, T_CLOSE, ss->p.close_after_ms);
  if (ss->p.has_drain && !rv) rv = timer_add(ss, T_DRAIN, ss->p.drain_after_ms);
  if (!rv) open_scripted_streams(ss);
  return rv;
}

static void sess_free(sess *ss) {
  timers_forget(ss);
  wts_params_free(&ss->p);
  free(ss);
}

static void on_ready(wt_session *s) {
  printf("session %llu open: path %s draft %d protocol %s\n", (unsigned long long)wt_session_id(s), wt_session_path(s),
         wt_session_draft(s), wt_session_protocol(s) ? wt_session_protocol(s) : "-");
  fflush(stdout);
  if (sess_start(s)) wt_session_close(s, 0, "wt-server: out of memory", 24);
}

static void on_session_closed(const wt_event *ev, sess *ss) {
  printf("session %llu closed by %s: code %u reason \"%.*s\"%s%s\n", (unsigned long long)wt_session_id(ev->session),
         ev->by_peer ? "client" : "server", ev->code, (int)ev->reason_len, ev->reason, *ev->detail ? " - " : "",
         ev->detail);
  fflush(stdout);
  if (ss) sess_free(ss);
}

static void on_stream_event(const wt_event *ev) {
  echo *e = wt_stream_context(ev->stream);
  switch (ev->type) {
  case WT_EV_STREAM_READABLE:
  case WT_EV_STREAM_WRITABLE:
    if (e) echo_pump(e);
    break;
  case WT_EV_STREAM_RECV_ABORTED:
    if (verbose)
      printf("stream %llu: peer reset it (code %u)\n", (unsigned long long)wt_stream_id(ev->stream), ev->code);
    break;
  case WT_EV_STREAM_SEND_ABORTED:
    if (verbose)
      printf("stream %llu: peer stopped reading (code %u)\n", (unsigned long long)wt_stream_id(ev->stream), ev->code);
    break;
  case WT_EV_STREAM_CLOSED: on_stream_closed(ev->stream); break;
  default: break;
  }
}

static void on_event(const wt_event *ev, void *ud) {
  sess *ss = wt_session_user_data(ev->session);
  switch (ev->type) {
  case WT_EV_SESSION_READY: on_ready(ev->session); break;
  case WT_EV_SESSION_STREAM:
    if (ss) on_incoming(ss);
    break;
  case WT_EV_SESSION_STREAM_CREDIT:
    if (ss) on_credit(ss);
    break;
  case WT_EV_SESSION_DATAGRAM: on_datagrams(ev->session); break;
  case WT_EV_SESSION_CLOSED: on_session_closed(ev, ss); break;
  default:
    if (ev->stream) on_stream_event(ev);
    break;
  }
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

static int path_is(const char *path, const char *want) {
  size_t n = strlen(want);
  return strncmp(path, want, n) == 0 && (path[n] == 0 || path[n] == '?');
}

/* The first of the server's protocols that the client offered, if any. */
static void select_protocol(wt_request *r, const wts_params *p) {
  size_t n = wt_request_protocol_count(r);
  for (size_t i = 0; i < p->nprotocols; i++) {
    for (size_t j = 0; j < n; j++) {
      if (strcmp(p->protocols[i], wt_request_protocol(r, j)) == 0) {
        wt_request_select_protocol(r, p->protocols[i]);
        return;
      }
    }
  }
}

static int on_request(wt_request *r, void *ud) {
  const char *path = wt_request_path(r), *origin = wt_request_origin(r), *why;
  if (verbose)
    printf("request: path %s authority %s origin %s draft %d\n", path, wt_request_authority(r), origin ? origin : "-",
           wt_request_draft(r));
  if (!path_is(path, "/echo")) return 404;
  wts_params p;
  int status = 200;
  if (wts_params_parse(query_of(path), &p, &why)) {
    char line[512];
    snprintf(line, sizeof(line), "refusing %.400s with 400: %s", path, why);
    if (!quiet) tool_log(WT_LOG_INFO, line, "wt-server");
    status = 400;
  } else {
    select_protocol(r, &p);
  }
  wts_params_free(&p);
  return status;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */

static void on_signal(int sig) {
  (void)sig;
  srv.stop = 1;
  for (int i = 0; i < srv.nt; i++)
    wt_transport_stop(srv.t[i]);
}

static void usage(void) {
  fprintf(stderr, "usage: wt-server [--addr ADDR] [--port N] [--cert FILE --key FILE] [--idle-timeout MS]\n"
                  "                 [--cc cubic|reno|bbr|bbr2] [--allow-origin ORIGIN]... [-v] [-q]\n"
                  "  Serves WebTransport echo sessions on https://ADDR:PORT/echo. Without --addr it listens\n"
                  "  on localhost: 127.0.0.1 and ::1 (browsers try ::1 first for \"localhost\").\n"
                  "  Without --cert/--key a certificate for localhost valid 13 days is generated and its\n"
                  "  SHA-256 printed (for serverCertificateHashes in browsers and --cert-hash in wt-client).\n"
                  "  --allow-origin accepts that origin besides those whose host is the requested host.\n"
                  "  /echo takes query parameters that script the server's side of a session:\n"
                  "    protocols=a,b  close_after_ms=N&code=C&reason=R  drain_after_ms=N  open_uni=N\n"
                  "    open_bidi=N  reset_code=C  stop_code=C   (see the top of tools/wt_server.c)\n");
}

static void print_banner(const char *addr) {
  const uint8_t *h = wt_transport_cert_sha256(srv.t[0]);
  char hex[65], b64[64];
  wt_hex_sha256(h, hex);
  tool_base64(h, 32, b64);
  uint16_t port = wt_transport_port(srv.t[0]);
  printf("wt-server listening on %s port %u\n", addr, port);
  printf("certificate sha256: %s\n", hex);
  printf("certificate sha256 base64: %s\n", b64);
  printf("browser: new WebTransport('https://localhost:%u/echo', {serverCertificateHashes: [{algorithm: "
         "'sha-256', value: Uint8Array.from(atob('%s'), c => c.charCodeAt(0))}]})\n",
         port, b64);
  printf("client:  wt-client https://localhost:%u/echo --cert-hash %s\n", port, hex);
  fflush(stdout);
}

/* How long epoll may sleep: until the first transport or session timer. */
static int wait_ms(void) {
  int ms = timers_wait_ms();
  for (int i = 0; i < srv.nt; i++) {
    int t = wt_transport_timeout_ms(srv.t[i]);
    if (t >= 0 && (ms < 0 || t < ms)) ms = t;
  }
  return ms;
}

/* The embeddable mode over every transport, plus the session timers. */
static int run(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("wt-server: epoll_create1");
    return 1;
  }
  struct epoll_event ev = {.events = EPOLLIN};
  for (int i = 0; i < srv.nt; i++)
    epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(srv.t[i]), &ev);
  while (!srv.stop) {
    epoll_wait(ep, &ev, 1, wait_ms());
    for (int i = 0; i < srv.nt; i++)
      wt_transport_process(srv.t[i]);
    timers_run();
  }
  close(ep);
  return 0;
}

/* Without --addr: one generated certificate, served on both loopback
 * addresses with the same port. */
static int open_localhost(wt_transport_config *cfg, char **cert, char **key) {
  uint8_t hash[32];
  if (!cfg->cert_file) {
    int rv = wt_certificate_generate(cert, key, hash);
    if (rv) return rv;
    cfg->cert_pem = *cert;
    cfg->key_pem = *key;
  }
  cfg->bind_addr = "127.0.0.1";
  int rv = wt_transport_new(cfg, &srv.t[0]);
  if (rv) return rv;
  srv.nt = 1;
  cfg->bind_addr = "::1";
  cfg->port = wt_transport_port(srv.t[0]);
  if (wt_transport_new(cfg, &srv.t[1]) == 0)
    srv.nt = 2;
  else
    fprintf(stderr, "wt-server: warning: cannot listen on ::1 as well; browsers may fail to reach localhost\n");
  return 0;
}

/* Fills cfg from the command line (origins has room for argc entries).
 * Returns -1 to run, else the exit status. */
static int parse_args(int argc, char **argv, wt_transport_config *cfg, const char **origins, const char **addr) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--addr") && v)
      *addr = argv[++i];
    else if (!strcmp(a, "--port") && v)
      cfg->port = (uint16_t)atoi(argv[++i]);
    else if (!strcmp(a, "--cert") && v)
      cfg->cert_file = argv[++i];
    else if (!strcmp(a, "--key") && v)
      cfg->key_file = argv[++i];
    else if (!strcmp(a, "--idle-timeout") && v)
      cfg->idle_timeout_ms = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(a, "--cc") && v && tool_parse_cc(v, &cfg->cc) == 0)
      i++;
    else if (!strcmp(a, "--allow-origin") && v)
      origins[cfg->nallowed_origins++] = argv[++i];
    else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      verbose = 1;
      cfg->log_level = WT_LOG_DEBUG;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
      cfg->log_level = WT_LOG_WARN;
    } else {
      usage();
      return !strcmp(a, "--help") || !strcmp(a, "-h") ? 0 : 2;
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  wt_transport_config cfg;
  wt_transport_config_init(&cfg);
  cfg.server = 1;
  cfg.port = 4433;
  cfg.on_request = on_request;
  cfg.on_event = on_event;
  cfg.log_cb = tool_log;
  cfg.log_user_data = "wt-server";
  const char *addr = NULL;
  const char **origins = calloc((size_t)argc, sizeof(*origins));
  int rv = origins ? parse_args(argc, argv, &cfg, origins, &addr) : 1;
  if (rv >= 0) {
    free(origins);
    return rv;
  }
  cfg.allowed_origins = origins;
  char *cert = NULL, *key = NULL;
  if (addr) {
    cfg.bind_addr = addr;
    rv = wt_transport_new(&cfg, &srv.t[0]);
    srv.nt = rv ? 0 : 1;
  } else {
    rv = open_localhost(&cfg, &cert, &key);
  }
  if (rv) {
    fprintf(stderr, "wt-server: cannot start: %s\n", wt_strerror(rv));
    free(cert);
    free(key);
    free(origins);
    return 1;
  }
  print_banner(addr ? addr : srv.nt == 2 ? "localhost (127.0.0.1 and ::1)" : "127.0.0.1");
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  rv = run();
  for (int i = 0; i < srv.nt; i++)
    wt_transport_free(srv.t[i]);
  free(cert);
  free(key);
  free(origins);
  return rv;
}
