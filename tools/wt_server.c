/*
 * wt_server.c: the wt-server tool, a WebTransport echo server.
 *
 * Path /echo accepts sessions (anything else gets 404):
 *  - a bidi stream is echoed back on itself and FIN'ed after the peer's FIN;
 *  - a uni stream's bytes come back on a new server-opened uni stream;
 *  - every datagram is echoed as a datagram;
 *  - the close code and reason the client sends are logged on one line.
 * It prints, on stdout, the address, the certificate's SHA-256 and how to
 * open the session from a browser, so a harness can start it the same way
 * every time. It uses only the public API.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "toolutil.h"
#include "webtransport.h"

#define ECHO_CHUNK 65536

/* One echo: bytes read from `in` go to `out` (the same stream for bidi, a
 * new uni stream for uni). `pend` holds what `out` did not take yet; while
 * it is non-empty we stop reading, so flow control pushes back on the
 * peer. Shared by both streams; freed when both have closed. */
typedef struct echo {
  wt_stream *in, *out;
  uint8_t *pend;
  size_t pend_off, pend_len;
  int peer_fin;
  int fin_sent;
  int refs;
  struct echo *next_waiting; /* uni echo waiting for stream credit */
} echo;

typedef struct server {
  wt_transport *t[2]; /* without --addr: 127.0.0.1 and ::1 */
  int nt;
  volatile int stop;
  echo *waiting_credit;
  uint64_t sessions;
} server;

static server srv;
static int verbose;

static void echo_release(echo *e) {
  if (--e->refs > 0) return;
  free(e->pend);
  free(e);
}

static void echo_finish_if_done(echo *e) {
  if (e->out && e->peer_fin && e->pend_len == 0 && !e->fin_sent) {
    wt_stream_close(e->out);
    e->fin_sent = 1;
  }
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

static int open_uni_out(echo *e, wt_session *s) {
  wt_stream *out;
  int rv = wt_session_open_stream(s, 0, &out);
  if (rv) return rv;
  e->out = out;
  e->refs++;
  wt_stream_set_context(out, e);
  return 0;
}

static void on_incoming(wt_session *s) {
  wt_stream *st;
  while (wt_session_accept_stream(s, &st) == 0) {
    echo *e = calloc(1, sizeof(*e));
    if (e) e->pend = malloc(ECHO_CHUNK);
    if (!e || !e->pend) {
      free(e);
      wt_stream_abort_receive(st, 1);
      if (wt_stream_is_bidi(st)) wt_stream_abort_send(st, 1);
      continue;
    }
    e->in = st;
    e->refs = 1;
    wt_stream_set_context(st, e);
    if (wt_stream_is_bidi(st)) {
      e->out = st;
    } else if (open_uni_out(e, s) == WT_ERR_AGAIN) {
      e->next_waiting = srv.waiting_credit;
      srv.waiting_credit = e;
      continue;
    }
    echo_pump(e);
  }
}

static void on_credit(wt_session *s) {
  echo *e = srv.waiting_credit, *still = NULL;
  srv.waiting_credit = NULL;
  while (e) {
    echo *next = e->next_waiting;
    e->next_waiting = NULL;
    if (wt_stream_session(e->in) == s && open_uni_out(e, s) == WT_ERR_AGAIN) {
      e->next_waiting = still;
      still = e;
    } else {
      echo_pump(e);
    }
    e = next;
  }
  srv.waiting_credit = still;
}

static void on_datagrams(wt_session *s) {
  uint8_t buf[65536];
  ssize_t n;
  while ((n = wt_session_receive_datagram(s, buf, sizeof(buf))) >= 0)
    wt_session_send_datagram(s, buf, (size_t)n);
}

static void forget_waiting(echo *e) {
  for (echo **pp = &srv.waiting_credit; *pp; pp = &(*pp)->next_waiting) {
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

static void on_session_closed(const wt_event *ev) {
  printf("session %llu closed by %s: code %u reason \"%.*s\"%s%s\n", (unsigned long long)wt_session_id(ev->session),
         ev->by_peer ? "client" : "server", ev->code, (int)ev->reason_len, ev->reason, *ev->detail ? " - " : "",
         ev->detail);
  fflush(stdout);
}

static void on_event(const wt_event *ev, void *ud) {
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    srv.sessions++;
    printf("session %llu open: path %s draft %d protocol %s\n", (unsigned long long)wt_session_id(ev->session),
           wt_session_path(ev->session), wt_session_draft(ev->session),
           wt_session_protocol(ev->session) ? wt_session_protocol(ev->session) : "-");
    fflush(stdout);
    break;
  case WT_EV_SESSION_STREAM: on_incoming(ev->session); break;
  case WT_EV_SESSION_STREAM_CREDIT: on_credit(ev->session); break;
  case WT_EV_SESSION_DATAGRAM: on_datagrams(ev->session); break;
  case WT_EV_SESSION_CLOSED: on_session_closed(ev); break;
  case WT_EV_STREAM_READABLE:
  case WT_EV_STREAM_WRITABLE: {
    echo *e = wt_stream_context(ev->stream);
    if (e) echo_pump(e);
    break;
  }
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

static int path_is(const char *path, const char *want) {
  size_t n = strlen(want);
  return strncmp(path, want, n) == 0 && (path[n] == 0 || path[n] == '?');
}

static int on_request(wt_request *r, void *ud) {
  const char *origin = wt_request_origin(r);
  if (verbose)
    printf("request: path %s authority %s origin %s draft %d\n", wt_request_path(r), wt_request_authority(r),
           origin ? origin : "-", wt_request_draft(r));
  if (!path_is(wt_request_path(r), "/echo")) return 404;
  return 200;
}

static void on_signal(int sig) {
  (void)sig;
  srv.stop = 1;
  for (int i = 0; i < srv.nt; i++)
    wt_transport_stop(srv.t[i]);
}

static void usage(void) {
  fprintf(stderr, "usage: wt-server [--addr ADDR] [--port N] [--cert FILE --key FILE] [--idle-timeout MS] [-v] [-q]\n"
                  "  Serves WebTransport echo sessions on https://ADDR:PORT/echo. Without --addr it listens\n"
                  "  on localhost: 127.0.0.1 and ::1 (browsers try ::1 first for \"localhost\").\n"
                  "  Without --cert/--key a certificate for localhost valid 13 days is generated and its\n"
                  "  SHA-256 printed (for serverCertificateHashes in browsers and --cert-hash in wt-client).\n");
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

/* The built-in loop for one transport; for two, our own epoll loop over
 * both (the embeddable mode). */
static int run(void) {
  if (srv.nt == 1) return wt_transport_run(srv.t[0]) ? 1 : 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  for (int i = 0; i < srv.nt; i++)
    epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(srv.t[i]), &ev);
  while (!srv.stop) {
    int ms = -1;
    for (int i = 0; i < srv.nt; i++) {
      int t = wt_transport_timeout_ms(srv.t[i]);
      if (t >= 0 && (ms < 0 || t < ms)) ms = t;
    }
    epoll_wait(ep, &ev, 1, ms);
    for (int i = 0; i < srv.nt; i++)
      wt_transport_process(srv.t[i]);
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
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--addr") && v)
      addr = argv[++i];
    else if (!strcmp(a, "--port") && v)
      cfg.port = (uint16_t)atoi(argv[++i]);
    else if (!strcmp(a, "--cert") && v)
      cfg.cert_file = argv[++i];
    else if (!strcmp(a, "--key") && v)
      cfg.key_file = argv[++i];
    else if (!strcmp(a, "--idle-timeout") && v)
      cfg.idle_timeout_ms = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      verbose = 1;
      cfg.log_level = WT_LOG_DEBUG;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
      cfg.log_level = WT_LOG_WARN;
    else {
      usage();
      return !strcmp(a, "--help") || !strcmp(a, "-h") ? 0 : 2;
    }
  }
  char *cert = NULL, *key = NULL;
  int rv;
  if (addr) {
    cfg.bind_addr = addr;
    rv = wt_transport_new(&cfg, &srv.t[0]);
    srv.nt = rv ? 0 : 1;
  } else {
    rv = open_localhost(&cfg, &cert, &key);
  }
  if (rv) {
    fprintf(stderr, "wt-server: cannot start: %s\n", wt_strerror(rv));
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
  return rv;
}
