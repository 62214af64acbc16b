/*
 * wt_server.c: the wt-server tool, a scriptable WebTransport echo server.
 *
 * Path /echo accepts sessions (anything else gets 404):
 *  - a bidi stream is echoed back on itself and FIN'ed after the peer's FIN;
 *  - a uni stream's bytes come back on a new server-opened uni stream;
 *  - every datagram is echoed as a datagram;
 *  - the close code and reason the client sends are logged on one line, and
 *    so is each stream reset or STOP_SENDING from the client with its code.
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
 * With --root DIR it also serves the files under DIR over plain HTTP/3
 * (GET and HEAD, see static_files.c); /echo stays WebTransport.
 * Paths /webtransport/devious-baton and /baton run the Devious Baton
 * protocol (draft-frindell-webtrans-devious-baton-00, baton_session.c):
 * query version, baton and count; a bad value is answered 400.
 * With --demo-port it also serves a demo page over plain HTTP on
 * 127.0.0.1 (demo_http.c; tools/demo/) that opens a session to this server.
 * It prints, on stdout, the address, the certificate's SHA-256 and how to
 * open the session from a browser, so a harness can start it the same way
 * every time. It uses only the public API; its event loop is the
 * embeddable mode plus the timers above.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <sys/random.h>

#include "baton_session.h"
#include "demo_http.h"
#include "static_files.h"
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
  demo_http *demo; /* --demo-port, else NULL */
  demo_http_route demo_routes[4];
  char demo_config[160]; /* /config.json */
  volatile sig_atomic_t stop;
  app_timer *timers;
} server;

static server srv;
static int verbose, quiet, rotate_asked;

/* Certificate rotation: every `every` seconds (0: never) a generated
 * certificate is replaced by a new one, or --cert/--key are read again. */
static struct {
  double every, next;
  const char *cert_file, *key_file;
} rot = {12 * 86400.0, 0, NULL, NULL};

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

/* A peer's reset or STOP_SENDING, with its application code: harnesses
 * (the browser tests) check that the code arrived. */
static void log_abort(const wt_event *ev) {
  if (quiet) return;
  char code[32] = "no code";
  if (ev->has_code) snprintf(code, sizeof(code), "code %u", ev->code);
  printf("stream %llu: %s (%s)\n", (unsigned long long)wt_stream_id(ev->stream),
         ev->type == WT_EV_STREAM_RECV_ABORTED ? "peer reset it" : "peer stopped reading", code);
  fflush(stdout);
}

static void on_stream_event(const wt_event *ev) {
  echo *e = wt_stream_context(ev->stream);
  switch (ev->type) {
  case WT_EV_STREAM_READABLE:
  case WT_EV_STREAM_WRITABLE:
    if (e) echo_pump(e);
    break;
  case WT_EV_STREAM_RECV_ABORTED:
  case WT_EV_STREAM_SEND_ABORTED: log_abort(ev); break;
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
/* Devious Baton (/webtransport/devious-baton and /baton)                   */

static void baton_on_event(const wt_event *ev, void *ud) {
  baton_session *b = wt_session_user_data(ev->session);
  if (ev->type == WT_EV_SESSION_READY) {
    baton_params p;
    const char *why;
    const char *q = strchr(wt_session_path(ev->session), '?');
    baton_params_parse(q ? q + 1 : NULL, &p, &why); /* validated by on_request */
    uint8_t r = 0;
    while (p.baton < 0) { /* the draft: a random value 1..255 when none is given */
      if (getrandom(&r, 1, 0) == 1 && r) p.baton = r;
    }
    printf("session %llu open: devious baton, %u batons starting at %d, protocol %s\n",
           (unsigned long long)wt_session_id(ev->session), p.count, p.baton,
           wt_session_protocol(ev->session) ? wt_session_protocol(ev->session) : "-");
    fflush(stdout);
    b = baton_session_new(ev->session, 1, p.count, p.baton);
    if (!b) {
      wt_session_close(ev->session, 0, "wt-server: out of memory", 24);
      return;
    }
    wt_session_set_user_data(ev->session, b);
    baton_session_start(b);
    return;
  }
  if (!b) return;
  baton_session_on_event(b, ev);
  if (ev->type != WT_EV_SESSION_CLOSED) return;
  char why[256];
  baton_stats st;
  baton_session_stats(b, &st);
  int ok = baton_session_result(b, why, sizeof(why)) == 0;
  printf("session %llu baton %s: %llu messages received, %llu sent, %llu datagrams sent, %llu received%s%s\n",
         (unsigned long long)wt_session_id(ev->session), ok ? "done" : "FAILED", (unsigned long long)st.received,
         (unsigned long long)st.sent, (unsigned long long)st.datagrams_sent, (unsigned long long)st.datagrams_received,
         ok ? "" : ": ", ok ? "" : why);
  fflush(stdout);
  baton_session_free(b);
}

/* Validates the baton query (the draft's 4xx answers) and routes the
 * session to the baton game. */
static int baton_request(wt_request *r, const char *path) {
  baton_params p;
  const char *why;
  int status = baton_params_parse(strchr(path, '?') ? strchr(path, '?') + 1 : NULL, &p, &why);
  if (status) {
    char line[512];
    snprintf(line, sizeof(line), "refusing %.400s with %d: %s", path, status, why);
    if (!quiet) tool_log(WT_LOG_INFO, line, "wt-server");
    return status;
  }
  for (size_t i = 0; i < wt_request_protocol_count(r); i++)
    if (!strcmp(wt_request_protocol(r, i), BATON_PROTOCOL)) wt_request_select_protocol(r, BATON_PROTOCOL);
  wt_request_set_callback(r, baton_on_event, NULL);
  return 200;
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
  if (path_is(path, "/webtransport/devious-baton") || path_is(path, "/baton")) return baton_request(r, path);
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

/* The demo page's files, compiled in from tools/demo/ (demo_assets.c is
 * generated by cmake/embed.cmake). */
extern const unsigned char demo_index_html[], demo_js[];
extern const size_t demo_index_html_len, demo_js_len;

/* Serves the demo page on 127.0.0.1:port; /config.json tells it where the
 * session is and which certificate hash to pin. */
static int demo_start(uint16_t port) {
  char b64[64];
  tool_base64(wt_transport_cert_sha256(srv.t[0]), 32, b64);
  int n = snprintf(srv.demo_config, sizeof(srv.demo_config), "{\"port\": %u, \"hash\": \"%s\", \"path\": \"/echo\"}\n",
                   wt_transport_port(srv.t[0]), b64);
  const char *html = "text/html; charset=utf-8";
  demo_http_route *r = srv.demo_routes;
  r[0] = (demo_http_route){"/", html, demo_index_html, demo_index_html_len};
  r[1] = (demo_http_route){"/index.html", html, demo_index_html, demo_index_html_len};
  r[2] = (demo_http_route){"/demo.js", "text/javascript; charset=utf-8", demo_js, demo_js_len};
  r[3] = (demo_http_route){"/config.json", "application/json", (const uint8_t *)srv.demo_config, (size_t)n};
  if (demo_http_open(r, 4, port, &srv.demo)) {
    perror("wt-server: demo page");
    return -1;
  }
  printf("demo page: http://localhost:%u/\n", demo_http_port(srv.demo));
  fflush(stdout);
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: wt-server [--addr ADDR] [--port N] [--cert FILE --key FILE] [--idle-timeout MS]\n"
          "                 [--max-streams N] [--rotate-after SECONDS] [--qlog-dir DIR] [--allow-origin ORIGIN]...\n"
          "                 [--root DIR] [--max-connections N] [--max-connections-per-addr N]\n"
          "                 [--conn-rate N[:BURST]] [--request-rate N[:BURST]] [--retry auto|always|never]\n"
          "                 [--retry-threshold N] [--demo-port N] [--cc cubic|reno|bbr|bbr2] [-v] [-q]\n"
          "  Serves WebTransport echo sessions on https://ADDR:PORT/echo. Without --addr it listens\n"
          "  on localhost: 127.0.0.1 and ::1 (browsers try ::1 first for \"localhost\").\n"
          "  Without --cert/--key a certificate for localhost valid 13 days is generated and its\n"
          "  SHA-256 printed (for serverCertificateHashes in browsers and --cert-hash in wt-client).\n"
          "  It is replaced by a new one every --rotate-after seconds (default 12 days; 0 never),\n"
          "  and the new hash printed. With --cert/--key, --rotate-after re-reads the files instead\n"
          "  (default: never).\n"
          "  --allow-origin accepts that origin besides those whose host is the requested host.\n"
          "  --root serves the files under DIR over HTTP/3 (GET, HEAD; index.html for directories).\n"
          "  Admission limits (defaults in webtransport.h): connections in all and per source address;\n"
          "  new connections and requests per second per address (0 turns a limit off); QUIC Retry.\n"
          "  --demo-port N serves a demo page on http://localhost:N/ (0: any free port) that opens a\n"
          "  session to this server: echo, datagram round trips, throughput.\n"
          "  /echo takes query parameters that script the server's side of a session:\n"
          "    protocols=a,b  close_after_ms=N&code=C&reason=R  drain_after_ms=N  open_uni=N\n"
          "    open_bidi=N  reset_code=C  stop_code=C   (see the top of tools/wt_server.c)\n"
          "  /webtransport/devious-baton and /baton run the Devious Baton protocol (sub-protocol\n"
          "  devious-baton-00; query version=0&baton=1..255&count=N, else 400).\n"
          "  --max-streams N lets a client have N streams of each kind open (default 128).\n"
          "  --qlog-dir DIR writes a qlog file (JSON-SEQ) per connection into DIR.\n");
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

/* Replaces the certificate of every transport for new connections and
 * prints the new hash, so browsers' serverCertificateHashes can be updated
 * before the old certificate's 14 days run out. */
static void rotate_certificate(void) {
  char *cert = NULL, *key = NULL;
  uint8_t h[32];
  int rv;
  rot.next = tool_now() + rot.every;
  if (rot.cert_file) {
    cert = tool_read_text(rot.cert_file);
    key = tool_read_text(rot.key_file);
    rv = cert && key ? 0 : WT_ERR_NOT_FOUND;
    /* Unchanged files: nothing to announce. */
    if (!rv && wt_certificate_inspect(cert, h, NULL, NULL, 0) == 0 &&
        !memcmp(h, wt_transport_cert_sha256(srv.t[0]), 32)) {
      free(cert);
      free(key);
      return;
    }
  } else {
    rv = wt_certificate_generate(&cert, &key, h);
  }
  for (int i = 0; i < srv.nt && !rv; i++)
    rv = wt_transport_set_certificate(srv.t[i], cert, key);
  free(cert);
  free(key);
  if (rv) {
    char line[256];
    snprintf(line, sizeof(line), "certificate rotation failed (%s); still serving the previous certificate",
             wt_strerror(rv));
    tool_log(WT_LOG_ERROR, line, "wt-server");
    return;
  }
  char hex[65], b64[64];
  wt_hex_sha256(wt_transport_cert_sha256(srv.t[0]), hex);
  tool_base64(wt_transport_cert_sha256(srv.t[0]), 32, b64);
  printf("certificate rotated: sha256 %s base64 %s (new connections; next rotation in %.0f s)\n", hex, b64, rot.every);
  fflush(stdout);
}

/* How long epoll may sleep: until the first transport or session timer. */
static int wait_ms(void) {
  int ms = timers_wait_ms();
  if (rot.every > 0) {
    double r = (rot.next - tool_now()) * 1e3;
    int rms = r <= 0 ? 0 : r >= 60000 ? 60000 : (int)r + 1;
    if (ms < 0 || rms < ms) ms = rms;
  }
  for (int i = 0; i < srv.nt; i++) {
    int t = wt_transport_timeout_ms(srv.t[i]);
    if (t >= 0 && (ms < 0 || t < ms)) ms = t;
  }
  return ms;
}

/* The embeddable mode over every transport, plus the session timers. */
/* After a burst of connections (a flood, say) has ended, hand the memory
 * they used back to the system. The library frees every connection, but
 * glibc keeps freed heap pages unless asked, so without this the server's
 * RSS would stay at its peak. Checked once a second; cheap. */
static void trim_after_bursts(void) {
  static double next_check;
  static uint64_t peak;
  double now = tool_now();
  if (now < next_check) return;
  next_check = now + 1;
  uint64_t conns = 0;
  for (int i = 0; i < srv.nt; i++) {
    wt_stats st;
    wt_transport_get_stats(srv.t[i], &st);
    conns += st.connections;
  }
  if (conns > peak) peak = conns;
  if (peak >= 64 && conns <= peak / 4) {
    malloc_trim(0);
    peak = conns;
  }
}

static int run(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("wt-server: epoll_create1");
    return 1;
  }
  struct epoll_event ev = {.events = EPOLLIN};
  for (int i = 0; i < srv.nt; i++)
    epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(srv.t[i]), &ev);
  if (srv.demo) epoll_ctl(ep, EPOLL_CTL_ADD, demo_http_fd(srv.demo), &ev);
  while (!srv.stop) {
    epoll_wait(ep, &ev, 1, wait_ms());
    for (int i = 0; i < srv.nt; i++)
      wt_transport_process(srv.t[i]);
    if (srv.demo) demo_http_process(srv.demo);
    timers_run();
    trim_after_bursts();
    if (rot.every > 0 && tool_now() >= rot.next) rotate_certificate();
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

/* "N" or "N:BURST" (default burst 2N; N = 0 turns the limit off). */
static int parse_rate(const char *v, uint32_t *rate, uint32_t *burst) {
  char *end;
  unsigned long r = strtoul(v, &end, 10), b = 2 * r;
  if (end == v || r > 1000000) return -1;
  if (*end == ':') {
    const char *bs = end + 1;
    b = strtoul(bs, &end, 10);
    if (end == bs || b == 0 || b > 1000000) return -1;
  }
  if (*end) return -1;
  *rate = (uint32_t)r;
  *burst = r ? (uint32_t)b : 1;
  return 0;
}

static int parse_limit_option(const char *a, const char *v, wt_transport_config *cfg) {
  char *end;
  if (!strcmp(a, "--conn-rate")) return parse_rate(v, &cfg->conn_rate_per_addr, &cfg->conn_burst_per_addr);
  if (!strcmp(a, "--request-rate")) return parse_rate(v, &cfg->request_rate_per_addr, &cfg->request_burst_per_addr);
  uint32_t *count = !strcmp(a, "--max-connections")          ? &cfg->max_connections
                    : !strcmp(a, "--max-connections-per-addr") ? &cfg->max_connections_per_addr
                    : !strcmp(a, "--retry-threshold")          ? &cfg->retry_threshold
                                                               : NULL;
  if (count) {
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end || n > UINT32_MAX) return -1;
    *count = (uint32_t)n;
    return 0;
  }
  if (!strcmp(a, "--retry")) {
    if (!strcmp(v, "auto")) cfg->retry = WT_RETRY_AUTO;
    else if (!strcmp(v, "always")) cfg->retry = WT_RETRY_ALWAYS;
    else if (!strcmp(v, "never")) cfg->retry = WT_RETRY_NEVER;
    else return -1;
    return 0;
  }
  return 1; /* not a limit option */
}

/* A port number 0..65535, or -1. */
static int port_arg(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  return *s && !*end && v >= 0 && v <= 65535 ? (int)v : -1;
}

/* Fills cfg from the command line (origins has room for argc entries).
 * Returns -1 to run, else the exit status. */
static int parse_args(int argc, char **argv, wt_transport_config *cfg, const char **origins, const char **addr,
                      const char **root, int *demo_port) {
  int rv;
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
    else if (!strcmp(a, "--rotate-after") && v)
      rot.every = atof(argv[++i]), rotate_asked = 1;
    else if (!strcmp(a, "--qlog-dir") && v)
      cfg->qlog_dir = argv[++i];
    else if (!strcmp(a, "--max-streams") && v)
      cfg->max_streams_bidi = cfg->max_streams_uni = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(a, "--idle-timeout") && v)
      cfg->idle_timeout_ms = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(a, "--root") && v)
      *root = argv[++i];
    else if (!strcmp(a, "--demo-port") && v) {
      if ((*demo_port = port_arg(argv[++i])) < 0) {
        usage();
        return 2;
      }
    } else if (!strcmp(a, "--cc") && v && tool_parse_cc(v, &cfg->cc) == 0)
      i++;
    else if (!strcmp(a, "--allow-origin") && v)
      origins[cfg->nallowed_origins++] = argv[++i];
    else if (v && (rv = parse_limit_option(a, v, cfg)) <= 0) {
      if (rv < 0) {
        fprintf(stderr, "wt-server: bad value for %s: %s\n", a, v);
        return 2;
      }
      i++;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
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
  const char *addr = NULL, *root = NULL;
  int demo_port = -1;
  const char **origins = calloc((size_t)argc, sizeof(*origins));
  int rv = origins ? parse_args(argc, argv, &cfg, origins, &addr, &root, &demo_port) : 1;
  static static_files files;
  if (rv < 0 && root && static_files_init(&files, root)) {
    fprintf(stderr, "wt-server: --root %s is not a directory\n", root);
    rv = 2;
  }
  if (rv >= 0) {
    free(origins);
    return rv;
  }
  cfg.allowed_origins = origins;
  if (cfg.cert_file) {
    /* Files are rotated by whoever writes them; re-read only when asked. */
    rot.cert_file = cfg.cert_file;
    rot.key_file = cfg.key_file;
    if (!rotate_asked) rot.every = 0;
  }
  rot.next = tool_now() + rot.every;
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
  for (int i = 0; root && i < srv.nt; i++)
    wt_transport_route(srv.t[i], "/", WT_ROUTE_PREFIX | WT_ROUTE_HTTP, static_files_event, &files);
  print_banner(addr ? addr : srv.nt == 2 ? "localhost (127.0.0.1 and ::1)" : "127.0.0.1");
  if (root) printf("serving files from %s over HTTP/3\n", files.root);
  if (demo_port >= 0 && demo_start((uint16_t)demo_port)) rv = 1;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (!rv) rv = run();
  demo_http_free(srv.demo);
  for (int i = 0; i < srv.nt; i++)
    wt_transport_free(srv.t[i]);
  free(cert);
  free(key);
  free(origins);
  return rv;
}
