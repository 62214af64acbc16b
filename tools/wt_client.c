/*
 * wt_client.c: the wt-client tool: connects to a WebTransport server and
 * checks an echo service with streams and datagrams, or makes one plain
 * HTTP/3 request (--get, --post; http_fetch.c).
 *
 * What it does is chosen on the command line (see usage()); every check
 * verifies the echoed bytes against what was sent and the tool exits
 * non-zero if any check fails. It drives the library in its embeddable
 * mode (its own epoll loop around wt_transport_fd), which is also how an
 * application with its own event loop would use it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "baton_session.h"
#include "http_fetch.h"
#include "toolutil.h"
#include "webtransport.h"

#define CHUNK 65536

/* A stream whose bytes must come back unchanged. Sent bytes come from
 * `data` when set, otherwise from a generator seeded with `seed`. */
typedef struct check {
  const char *name;
  wt_stream *out, *in; /* bidi: the same stream */
  uint64_t total, sent, received;
  const uint8_t *data;
  tool_rng tx, rx;
  int bidi, fin_sent, done, failed, started;
  double t0, t1;
  struct check *next;
} check;

typedef struct client {
  wt_transport *t;
  wt_session *s;
  check *checks;
  check *uni; /* the uni check waiting for the server's stream */
  int ready, closed, close_sent, failed, quiet;
  double t_start, t_ready;
  /* datagrams */
  uint64_t dg_total, dg_sent, dg_echoed, dg_size;
  uint8_t *dg_seen;
  double dg_last;
  int dg_done;
  /* session end */
  uint32_t close_code;
  const char *close_reason;
  const char *message;
  double min_dgram_ratio;
  /* --baton: the session plays Devious Baton instead of the checks */
  int baton;
  uint32_t baton_count;
  baton_session *bs;
} client;

static client cl;

static void fail(const char *what, const char *why) {
  printf("wt-client: FAILED: %s: %s\n", what, why);
  cl.failed = 1;
}

/* ------------------------------------------------------------------------ */
/* Stream checks                                                            */

static check *check_new(const char *name, int bidi, uint64_t total, const uint8_t *data, uint64_t seed) {
  check *c = calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->name = name;
  c->bidi = bidi;
  c->total = total;
  c->data = data;
  tool_rng_seed(&c->tx, seed);
  tool_rng_seed(&c->rx, seed);
  c->next = cl.checks;
  cl.checks = c;
  return c;
}

static void check_pump_send(check *c) {
  uint8_t buf[CHUNK];
  while (c->out && !c->fin_sent && !c->failed) {
    uint64_t left = c->total - c->sent;
    size_t n = left < CHUNK ? (size_t)left : CHUNK;
    const uint8_t *p = buf;
    if (c->data)
      p = c->data + c->sent;
    else {
      /* Generate only what the stream will take, so nothing is lost:
       * peek by generating into a copy of the generator state. */
      tool_rng save = c->tx;
      tool_rng_fill(&c->tx, buf, n);
      c->tx = save;
    }
    ssize_t w = wt_stream_write(c->out, p, n, n == left);
    if (w < 0) {
      c->failed = 1;
      fail(c->name, "write failed");
      return;
    }
    if (!c->data) tool_rng_fill(&c->tx, buf, (size_t)w);
    c->sent += (uint64_t)w;
    if ((size_t)w == n && n == left) c->fin_sent = 1;
    if ((size_t)w < n) return; /* wait for WT_EV_STREAM_WRITABLE */
  }
}

static int matches(check *c, const uint8_t *got, size_t n) {
  if (c->data) return memcmp(got, c->data + c->received, n) == 0;
  uint8_t want[CHUNK];
  tool_rng_fill(&c->rx, want, n);
  return memcmp(got, want, n) == 0;
}

static void check_pump_recv(check *c) {
  uint8_t buf[CHUNK];
  while (c->in && !c->done) {
    int fin = 0;
    ssize_t n = wt_stream_read(c->in, buf, sizeof(buf), &fin);
    if (n == WT_ERR_AGAIN) return;
    if (n < 0) {
      c->failed = c->done = 1;
      fail(c->name, "the echo stream was reset");
      return;
    }
    if (c->received + (uint64_t)n > c->total || !matches(c, buf, (size_t)n)) {
      c->failed = c->done = 1;
      fail(c->name, "echoed bytes differ from what was sent");
      return;
    }
    c->received += (uint64_t)n;
    if (fin) {
      c->done = 1;
      c->t1 = tool_now();
      if (c->received != c->total) {
        c->failed = 1;
        fail(c->name, "echo ended early");
      }
    }
  }
}

/* Opens the check's stream. Without stream credit it stays unstarted until
 * WT_EV_SESSION_STREAM_CREDIT. */
static void check_start(check *c) {
  wt_stream *st;
  int rv = wt_session_open_stream(cl.s, c->bidi, &st);
  if (rv == WT_ERR_AGAIN) return;
  c->started = 1;
  if (rv) {
    c->failed = c->done = 1;
    fail(c->name, "cannot open a stream");
    return;
  }
  c->t0 = tool_now();
  c->out = st;
  if (c->bidi)
    c->in = st;
  else
    cl.uni = c;
  wt_stream_set_context(st, c);
  check_pump_send(c);
}

/* ------------------------------------------------------------------------ */
/* Datagrams                                                                */

static void dgram_send_some(void) {
  uint8_t buf[2048];
  size_t size = cl.dg_size > sizeof(buf) ? sizeof(buf) : cl.dg_size;
  size_t max = wt_session_max_datagram_size(cl.s);
  if (size > max) size = max;
  if (size < 8) return;
  memset(buf, 0xab, size);
  while (cl.dg_sent < cl.dg_total) {
    memcpy(buf, &cl.dg_sent, 8);
    int rv = wt_session_send_datagram(cl.s, buf, size);
    if (rv == WT_ERR_AGAIN) break; /* queue full: the next round goes on */
    cl.dg_sent++;
    cl.dg_last = tool_now();
  }
}

static void dgram_receive(void) {
  uint8_t buf[65536];
  ssize_t n;
  while ((n = wt_session_receive_datagram(cl.s, buf, sizeof(buf))) >= 8) {
    uint64_t seq;
    memcpy(&seq, buf, 8);
    if (seq < cl.dg_total && !cl.dg_seen[seq]) {
      cl.dg_seen[seq] = 1;
      cl.dg_echoed++;
    }
    cl.dg_last = tool_now();
  }
}

/* Datagrams are unreliable: stop waiting once all came back, or a second
 * passed without any. */
static void dgram_check_done(void) {
  if (cl.dg_done || cl.dg_sent < cl.dg_total) return;
  if (cl.dg_echoed == cl.dg_total || tool_now() - cl.dg_last > 1.0) cl.dg_done = 1;
}

/* ------------------------------------------------------------------------ */
/* Session                                                                  */

static int all_done(void) {
  for (check *c = cl.checks; c; c = c->next)
    if (!c->done) return 0;
  return cl.dg_total == 0 || cl.dg_done;
}

static void report(void) {
  for (check *c = cl.checks; c; c = c->next) {
    if (c->failed) continue;
    double dt = c->t1 - c->t0;
    printf("wt-client: %s: sent %llu bytes, received %llu bytes, verified (%.1f ms, %.1f Mbit/s)\n", c->name,
           (unsigned long long)c->sent, (unsigned long long)c->received, dt * 1e3,
           dt > 0 ? (double)c->total * 8 / dt / 1e6 : 0.0);
  }
  if (cl.message) printf("wt-client: message \"%s\" came back unchanged\n", cl.message);
  if (cl.dg_total) {
    double pct = 100.0 * (double)cl.dg_echoed / (double)cl.dg_total;
    printf("wt-client: datagrams: sent %llu, echoed %llu (%.1f%%)\n", (unsigned long long)cl.dg_sent,
           (unsigned long long)cl.dg_echoed, pct);
    if (pct < cl.min_dgram_ratio * 100.0) fail("datagrams", "fewer echoes than --min-datagram-ratio requires");
  }
}

static void maybe_finish(void) {
  if (!cl.ready || cl.close_sent || !all_done()) return;
  report();
  cl.close_sent = 1;
  wt_session_close(cl.s, cl.close_code, cl.close_reason, strlen(cl.close_reason));
  printf("wt-client: closed the session with code %u reason \"%s\"\n", cl.close_code, cl.close_reason);
}

static void on_ready(wt_session *s) {
  cl.ready = 1;
  cl.t_ready = tool_now();
  const char *p = wt_session_protocol(s);
  printf("wt-client: session ready in %.1f ms (draft %d, protocol %s, max datagram %zu bytes)\n",
         (cl.t_ready - cl.t_start) * 1e3, wt_session_draft(s), p ? p : "-", wt_session_max_datagram_size(s));
  for (check *c = cl.checks; c; c = c->next)
    check_start(c);
  if (cl.dg_total) dgram_send_some();
  maybe_finish();
}

static void on_incoming(wt_session *s) {
  wt_stream *st;
  while (wt_session_accept_stream(s, &st) == 0) {
    if (wt_stream_is_bidi(st) || !cl.uni || cl.uni->in) {
      wt_stream_abort_receive(st, 0);
      if (wt_stream_is_bidi(st)) wt_stream_abort_send(st, 0);
      continue;
    }
    cl.uni->in = st;
    wt_stream_set_context(st, cl.uni);
    check_pump_recv(cl.uni);
  }
}

static void on_closed(const wt_event *ev) {
  cl.closed = 1;
  if (!cl.close_sent) {
    if (ev->http_status)
      printf("wt-client: FAILED: server refused the session with HTTP %d\n", ev->http_status);
    else
      printf("wt-client: FAILED: session ended before the checks finished: %s%s(code %u \"%.*s\")\n",
             *ev->detail ? ev->detail : "", *ev->detail ? " " : "", ev->code, (int)ev->reason_len, ev->reason);
    cl.failed = 1;
  }
  wt_transport_shutdown(cl.t);
}

/* --baton: the game decides when the session ends; the verdict comes with
 * WT_EV_SESSION_CLOSED. */
static void on_baton_event(const wt_event *ev) {
  if (ev->type == WT_EV_SESSION_READY) {
    cl.ready = 1;
    cl.t_ready = tool_now();
    const char *p = wt_session_protocol(ev->session);
    printf("wt-client: baton session ready in %.1f ms (draft %d, protocol %s), %u batons\n",
           (tool_now() - cl.t_start) * 1e3, wt_session_draft(ev->session), p ? p : "-", cl.baton_count);
    return;
  }
  baton_session_on_event(cl.bs, ev);
  if (ev->type != WT_EV_SESSION_CLOSED) return;
  char why[256];
  baton_stats st;
  baton_session_stats(cl.bs, &st);
  printf("wt-client: baton: %llu messages received, %llu sent, %llu datagrams sent, %llu received\n",
         (unsigned long long)st.received, (unsigned long long)st.sent, (unsigned long long)st.datagrams_sent,
         (unsigned long long)st.datagrams_received);
  if (baton_session_result(cl.bs, why, sizeof(why)))
    fail("baton", why);
  else
    printf("wt-client: baton: all %u batons finished and the session closed cleanly (%.1f ms after ready)\n", st.count,
           (tool_now() - cl.t_ready) * 1e3);
  cl.closed = cl.close_sent = 1;
  wt_transport_shutdown(cl.t);
}

static void on_event(const wt_event *ev, void *ud) {
  if (cl.baton) {
    on_baton_event(ev);
    return;
  }
  check *c = ev->stream ? wt_stream_context(ev->stream) : NULL;
  switch (ev->type) {
  case WT_EV_SESSION_READY: on_ready(ev->session); break;
  case WT_EV_SESSION_STREAM: on_incoming(ev->session); break;
  case WT_EV_SESSION_DATAGRAM: dgram_receive(); break;
  case WT_EV_SESSION_STREAM_CREDIT:
    for (check *k = cl.checks; k; k = k->next)
      if (!k->started) check_start(k);
    break;
  case WT_EV_SESSION_CLOSED: on_closed(ev); break;
  case WT_EV_STREAM_READABLE:
    if (c) check_pump_recv(c);
    break;
  case WT_EV_STREAM_WRITABLE:
    if (c) check_pump_send(c);
    break;
  case WT_EV_STREAM_RECV_ABORTED:
  case WT_EV_STREAM_SEND_ABORTED:
    if (c && !c->done) {
      c->failed = c->done = 1;
      fail(c->name, "the server aborted the stream");
    }
    break;
  default: break;
  }
  maybe_finish();
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */

static void usage(void) {
  fprintf(stderr, "usage: wt-client URL [options]\n"
                  "       wt-client --get URL [-o FILE] [verification]   plain HTTP/3 GET, body to FILE or stdout\n"
                  "       wt-client --post FILE URL [-o FILE] [verification]   POST the contents of FILE\n"
                  "verification (default: system CA store and host name):\n"
                  "  --cert-hash HEX      accept only a certificate with this SHA-256 (repeatable)\n"
                  "  --ca FILE            also trust the CA certificates in FILE\n"
                  "  --insecure           do not verify the certificate (development only)\n"
                  "session:\n"
                  "  --origin ORIGIN      send this origin header\n"
                  "  --protocol P         offer sub-protocol P (repeatable, in preference order)\n"
                  "  --draft N            speak only draft generation N (2, 7, 13 or 15)\n"
                  "checks (default: --message hello --echo-bytes 1M --uni-bytes 64k --datagrams 100):\n"
                  "  --message TEXT       send TEXT on a bidi stream and expect it back\n"
                  "  --echo-bytes N       echo N pseudo-random bytes over a bidi stream (k/M/G suffixes)\n"
                  "  --echo-file FILE     echo the contents of FILE over a bidi stream\n"
                  "  --streams N          N concurrent bidi streams of --stream-bytes each (default 16k)\n"
                  "  --uni-bytes N        send N bytes on a uni stream, expect them on a server uni stream\n"
                  "  --datagrams N        send N datagrams of --datagram-size bytes (default 64), count echoes\n"
                  "  --min-datagram-ratio R  fail if fewer than R (0..1) of the datagrams come back\n"
                  "  --baton              play Devious Baton (draft-frindell-webtrans-devious-baton-00) instead;\n"
                  "                       URL e.g. https://localhost:4433/webtransport/devious-baton?count=16\n"
                  "end:\n"
                  "  --close-code C --close-reason R   close the session with this code and reason\n"
                  "  --timeout SECONDS    give up after this long (default 30)\n"
                  "  --qlog-dir DIR       write a qlog file (JSON-SEQ) of the connection into DIR\n"
                  "  --cc ALGO            congestion control: cubic (default), reno, bbr, bbr2\n"
                  "  -v / -q              more / less logging\n");
}

static uint8_t *read_file(const char *path, uint64_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = n > 0 ? (uint64_t)n : 0;
  return buf;
}

typedef struct opts {
  const char *url;
  wt_connect_options co;
  uint8_t hashes[8][32];
  const char *protocols[8];
  uint64_t echo_bytes, streams, stream_bytes, uni_bytes;
  const char *echo_file;
  const char *method, *post_file, *out_file; /* plain HTTP mode */
  double timeout;
  const char *qlog_dir;
  int any_check;
  wt_log_level log_level;
  wt_cc_algo cc;
} opts;

/* --baton: the count comes from the URL's query, as the server reads it. A
 * query the server should refuse is still sent, to see its answer. */
static int baton_setup(opts *o) {
  const char *q = strchr(o->url, '?'), *why;
  baton_params p;
  if (baton_params_parse(q ? q + 1 : NULL, &p, &why)) {
    printf("wt-client: note: the server should refuse this query: %s\n", why);
    p.count = 1;
  }
  cl.baton_count = p.count;
  if (!o->co.nprotocols) o->protocols[o->co.nprotocols++] = BATON_PROTOCOL;
  return 0;
}

static int parse_args(int argc, char **argv, opts *o) {
  wt_connect_options_init(&o->co);
  o->stream_bytes = 16384;
  o->timeout = 30;
  o->log_level = WT_LOG_INFO;
  cl.dg_size = 64;
  cl.close_reason = "";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;
    if (a[0] != '-' && !o->url)
      o->url = a;
    else if (!strcmp(a, "--get") && v)
      o->method = "GET", o->url = argv[++i];
    else if (!strcmp(a, "--post") && v)
      o->method = "POST", o->post_file = argv[++i];
    else if (!strcmp(a, "--insecure"))
      o->co.verify = WT_VERIFY_NONE;
    else if (!strcmp(a, "-v"))
      o->log_level = WT_LOG_DEBUG;
    else if (!strcmp(a, "-q"))
      o->log_level = WT_LOG_WARN;
    else if (!strcmp(a, "--baton"))
      cl.baton = 1;
    else if (!v)
      bad = 1;
    else if (!strcmp(a, "--cert-hash") && o->co.ncert_hashes < 8) {
      bad = wt_parse_sha256(argv[++i], o->hashes[o->co.ncert_hashes++]) != 0;
      o->co.verify = WT_VERIFY_HASHES;
    } else if (!strcmp(a, "-o"))
      o->out_file = argv[++i];
    else if (!strcmp(a, "--ca"))
      o->co.ca_file = argv[++i];
    else if (!strcmp(a, "--origin"))
      o->co.origin = argv[++i];
    else if (!strcmp(a, "--protocol") && o->co.nprotocols < 8)
      o->protocols[o->co.nprotocols++] = argv[++i];
    else if (!strcmp(a, "--draft"))
      o->co.draft = atoi(argv[++i]);
    else if (!strcmp(a, "--message"))
      cl.message = argv[++i], o->any_check = 1;
    else if (!strcmp(a, "--echo-bytes"))
      bad = tool_parse_size(argv[++i], &o->echo_bytes), o->any_check = 1;
    else if (!strcmp(a, "--echo-file"))
      o->echo_file = argv[++i], o->any_check = 1;
    else if (!strcmp(a, "--streams"))
      bad = tool_parse_size(argv[++i], &o->streams), o->any_check = 1;
    else if (!strcmp(a, "--stream-bytes"))
      bad = tool_parse_size(argv[++i], &o->stream_bytes);
    else if (!strcmp(a, "--uni-bytes"))
      bad = tool_parse_size(argv[++i], &o->uni_bytes), o->any_check = 1;
    else if (!strcmp(a, "--datagrams"))
      bad = tool_parse_size(argv[++i], &cl.dg_total), o->any_check = 1;
    else if (!strcmp(a, "--datagram-size"))
      bad = tool_parse_size(argv[++i], &cl.dg_size);
    else if (!strcmp(a, "--min-datagram-ratio"))
      cl.min_dgram_ratio = atof(argv[++i]);
    else if (!strcmp(a, "--close-code"))
      cl.close_code = (uint32_t)strtoul(argv[++i], NULL, 0);
    else if (!strcmp(a, "--close-reason"))
      cl.close_reason = argv[++i];
    else if (!strcmp(a, "--timeout"))
      o->timeout = atof(argv[++i]);
    else if (!strcmp(a, "--qlog-dir"))
      o->qlog_dir = argv[++i];
    else if (!strcmp(a, "--cc") && v && tool_parse_cc(v, &o->cc) == 0)
      i++;
    else
      bad = 1;
    if (bad) {
      fprintf(stderr, "wt-client: bad argument %s\n", a);
      return -1;
    }
  }
  if (!o->url) return -1;
  o->co.cert_hashes = (const uint8_t(*)[32])o->hashes;
  o->co.protocols = o->protocols;
  if (cl.baton) return baton_setup(o);
  if (!o->any_check) {
    cl.message = "hello from wt-client";
    o->echo_bytes = 1 << 20;
    o->uni_bytes = 64 << 10;
    cl.dg_total = 100;
  }
  return 0;
}

static int setup_checks(opts *o) {
  static char names[1024][24];
  if (cl.message) check_new("message", 1, strlen(cl.message), (const uint8_t *)cl.message, 0);
  if (o->echo_bytes) check_new("bidi echo", 1, o->echo_bytes, NULL, 1);
  if (o->echo_file) {
    uint64_t len;
    uint8_t *data = read_file(o->echo_file, &len);
    if (!data) return -1;
    check_new("file echo", 1, len, data, 0);
  }
  for (uint64_t i = 0; i < o->streams && i < 1024; i++) {
    snprintf(names[i], sizeof(names[i]), "stream %llu", (unsigned long long)i);
    check_new(names[i], 1, o->stream_bytes, NULL, 100 + i);
  }
  if (o->uni_bytes) check_new("uni echo", 0, o->uni_bytes, NULL, 2);
  if (cl.dg_total) cl.dg_seen = calloc(cl.dg_total, 1);
  return cl.dg_total && !cl.dg_seen ? -1 : 0;
}

/* The embeddable mode: our own epoll loop around the transport's fd. */
static void run_loop(double deadline) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(cl.t), &ev);
  for (;;) {
    wt_transport_process(cl.t);
    if (cl.ready && cl.dg_sent < cl.dg_total) dgram_send_some();
    dgram_check_done();
    if (!cl.baton) maybe_finish();
    if (cl.closed && wt_transport_timeout_ms(cl.t) == -1) break;
    double left = deadline - tool_now();
    if (left <= 0) {
      if (!cl.closed) {
        fail("session", "timed out");
        wt_session_close(cl.s, cl.baton ? BATON_BORED : 1, "timeout", 7);
        cl.close_sent = 1;
        deadline += 2; /* let the close go out */
        continue;
      }
      break;
    }
    int ms = wt_transport_timeout_ms(cl.t);
    int cap = cl.dg_total && !cl.dg_done ? 50 : 1000; /* datagram pacing and quiet detection */
    if (ms < 0 || ms > cap) ms = cap;
    epoll_wait(ep, &ev, 1, ms);
  }
}

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof(o));
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    usage();
    return 0;
  }
  if (parse_args(argc, argv, &o) || setup_checks(&o)) {
    usage();
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  wt_transport_config cfg;
  wt_transport_config_init(&cfg);
  cfg.bind_addr = "::";
  cfg.on_event = on_event;
  cfg.log_cb = tool_log;
  cfg.log_user_data = "wt-client";
  cfg.log_level = o.log_level;
  cfg.qlog_dir = o.qlog_dir;
  if (cl.baton) {
    /* The server opens one uni stream per baton at once and we answer each
     * on a bidi stream: allow that many open streams (draft §4.1). */
    uint32_t need = cl.baton_count + 16;
    if (need > cfg.max_streams_uni) cfg.max_streams_uni = need;
    if (need > cfg.max_streams_bidi) cfg.max_streams_bidi = need;
  }
  cfg.cc = o.cc;
  int rv = wt_transport_new(&cfg, &cl.t);
  if (rv) {
    fprintf(stderr, "wt-client: cannot create a transport: %s\n", wt_strerror(rv));
    return 1;
  }
  if (o.method) {
    rv = http_fetch(cl.t, o.method, o.url, o.post_file, o.out_file, &o.co, o.timeout);
    wt_transport_free(cl.t);
    return rv;
  }
  cl.t_start = tool_now();
  rv = wt_session_connect(cl.t, o.url, &o.co, &cl.s);
  if (!rv && cl.baton && !(cl.bs = baton_session_new(cl.s, 0, cl.baton_count, -1))) rv = WT_ERR_NOMEM;
  if (rv) {
    fprintf(stderr, "wt-client: cannot connect to %s: %s\n", o.url, wt_strerror(rv));
    wt_transport_free(cl.t);
    return 1;
  }
  run_loop(tool_now() + o.timeout);
  wt_transport_free(cl.t);
  baton_session_free(cl.bs);
  printf("wt-client: %s\n", cl.failed ? "FAILED" : "all checks passed");
  return cl.failed ? 1 : 0;
}
