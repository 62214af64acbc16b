/*
 * wt_bench.c: the wt-bench tool: the benchmark server and clients behind
 * bench/run.sh.
 *
 *   wt-bench server [--port N] [--addr A] [--cc ALGO] [--no-gso] [--idle-timeout MS] [--pid-file F]
 *   wt-bench bulk URL --bytes N [--streams K] [--bidi] [--zero-copy] [--verify]
 *   wt-bench dgram URL [--seconds S] [--size B] [--rate R] [--rtt-samples N]
 *   wt-bench setup URL [--sessions N] [--concurrency C]
 *   wt-bench churn URL [--streams N] [--concurrency C]
 *   wt-bench idle URL --sessions N [--server-pid-file FILE]
 *   wt-bench rusage FILE -- COMMAND...   (CPU time, peak RSS, wall time)
 *   wt-bench certgen CERT KEY            (PEM files for other servers)
 *
 * The server serves /bulk?bytes=N&streams=K&bidi=0|1&zc=0|1 (it opens K
 * streams and sends N bytes in all, byte i of a stream being i % 251, with
 * wt_stream_write or, zc=1, wt_stream_write_ref) and echoes
 * everything else (bidi streams on themselves, datagrams). Each client
 * prints one "RESULT key=value ..." line and exits non-zero when a
 * transfer was incomplete or wrong: the bench measures, the exit status
 * says the figures are of a correct run. Clients take --cc ALGO and
 * --no-gso too. Timing belongs here, not in tests.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolutil.h"
#include "webtransport.h"

#define CHUNK 65536
#define PERIOD 251 /* pattern period: a prime, so chunk sizes never line up */

static uint8_t pattern[CHUNK + PERIOD];

static void pattern_init(void) {
  for (size_t i = 0; i < sizeof(pattern); i++)
    pattern[i] = (uint8_t)(i % PERIOD);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p) {
  if (n == 0) return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i];
}

/* ------------------------------------------------------------------------ */
/* Server                                                                   */

typedef struct sstream {
  uint64_t off, total; /* bulk sender */
  int zero_copy;       /* bulk: wt_stream_write_ref of the static pattern */
  uint8_t buf[16384];  /* echo: bytes read but not yet written back */
  size_t len, pos;
  int fin, fin_sent;
} sstream;

static void bulk_fill(wt_stream *st, sstream *c) {
  while (c->off < c->total || !c->fin_sent) {
    uint64_t left = c->total - c->off;
    size_t n = left > CHUNK ? CHUNK : (size_t)left;
    ssize_t w;
    if (c->zero_copy && n > 0) {
      /* The pattern is static: nothing to release. */
      int rv = wt_stream_write_ref(st, pattern + c->off % PERIOD, n, n == left, NULL, NULL);
      w = rv == 0 ? (ssize_t)n : rv == WT_ERR_AGAIN ? 0 : rv;
    } else {
      w = wt_stream_write(st, pattern + c->off % PERIOD, n, n == left);
    }
    if (w < 0) return;
    c->off += (uint64_t)w;
    if ((size_t)w == n && n == left) c->fin_sent = 1;
    if ((size_t)w < n || w == 0) return;
  }
}

/* Echo: writes back what is held, then reads more, until either side
 * must wait. */
static void echo_pump(wt_stream *st, sstream *c) {
  for (;;) {
    if (c->pos < c->len || (c->fin && !c->fin_sent)) {
      ssize_t w = wt_stream_write(st, c->buf + c->pos, c->len - c->pos, c->fin);
      if (w < 0) return;
      c->pos += (size_t)w;
      if (c->pos < c->len) return;
      if (c->fin) c->fin_sent = 1;
    }
    if (c->fin) return;
    ssize_t n = wt_stream_read(st, c->buf, sizeof(c->buf), &c->fin);
    if (n < 0) return;
    c->len = (size_t)n;
    c->pos = 0;
  }
}

static void drain_reads(wt_stream *st) {
  uint8_t buf[CHUNK];
  int fin = 0;
  while (wt_stream_read(st, buf, sizeof(buf), &fin) > 0) {
  }
}

static uint64_t query_u64(const char *path, const char *key, uint64_t dflt) {
  const char *q = strchr(path, '?');
  size_t kl = strlen(key);
  for (const char *p = q; p; p = strchr(p + 1, '&')) {
    if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '=') return strtoull(p + 2 + kl, NULL, 10);
  }
  return dflt;
}

static void start_bulk(wt_session *s) {
  const char *path = wt_session_path(s);
  uint64_t bytes = query_u64(path, "bytes", 0), k = query_u64(path, "streams", 1);
  int bidi = (int)query_u64(path, "bidi", 0), zc = (int)query_u64(path, "zc", 0);
  if (k == 0 || k > 1000) k = 1;
  for (uint64_t i = 0; i < k; i++) {
    wt_stream *st;
    sstream *c = calloc(1, sizeof(*c));
    if (!c || wt_session_open_stream(s, bidi, &st)) {
      free(c);
      fprintf(stderr, "wt-bench: cannot open stream %llu\n", (unsigned long long)i);
      return;
    }
    c->total = bytes / k + (i == 0 ? bytes % k : 0);
    c->zero_copy = zc;
    wt_stream_set_context(st, c);
    bulk_fill(st, c);
  }
}

static int is_bulk(const wt_session *s) { return strncmp(wt_session_path(s), "/bulk", 5) == 0; }

static void server_event(const wt_event *ev, void *ud) {
  wt_stream *st = ev->stream;
  sstream *c = st ? wt_stream_context(st) : NULL;
  uint8_t dg[65536];
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    if (is_bulk(ev->session)) start_bulk(ev->session);
    break;
  case WT_EV_SESSION_STREAM:
    while (wt_session_accept_stream(ev->session, &st) == 0) {
      c = calloc(1, sizeof(*c));
      if (!c) {
        wt_stream_abort_receive(st, 1);
        continue;
      }
      wt_stream_set_context(st, c);
      if (wt_stream_is_bidi(st))
        echo_pump(st, c);
      else
        drain_reads(st);
    }
    break;
  case WT_EV_SESSION_DATAGRAM: {
    ssize_t n;
    while ((n = wt_session_receive_datagram(ev->session, dg, sizeof(dg))) >= 0)
      (void)wt_session_send_datagram(ev->session, dg, (size_t)n);
    break;
  }
  case WT_EV_STREAM_READABLE:
    if (!c) break;
    if (wt_stream_is_local(st) || !wt_stream_can_write(st))
      drain_reads(st);
    else
      echo_pump(st, c);
    break;
  case WT_EV_STREAM_WRITABLE:
    if (!c) break;
    if (wt_stream_is_local(st))
      bulk_fill(st, c);
    else
      echo_pump(st, c);
    break;
  case WT_EV_STREAM_CLOSED:
    free(c);
    wt_stream_set_context(st, NULL);
    break;
  default: break;
  }
}

static int on_request(wt_request *r, void *ud) { return 200; }

static wt_transport *g_server;
static void on_signal(int sig) { wt_transport_stop(g_server); }

static int write_file(const char *path, const char *text);

static int run_server(int argc, char **argv) {
  const char *pid_file = NULL;
  wt_transport_config cfg;
  wt_transport_config_init(&cfg);
  cfg.server = 1;
  cfg.port = 4433;
  cfg.bind_addr = "127.0.0.1";
  cfg.on_request = on_request;
  cfg.on_event = server_event;
  cfg.log_cb = tool_log;
  cfg.log_user_data = "wt-bench";
  cfg.log_level = WT_LOG_WARN;
  cfg.pooling = 1;
  cfg.max_sessions = 1000;
  cfg.stream_window = 4 << 20; /* a window per stream large enough for one stream to fill the pipe */
  cfg.conn_window = 16 << 20;
  /* Enough to keep one stream's pipe full on loopback; 16 streams then
   * buffer 8 MiB at most. */
  cfg.stream_send_buffer = 512 << 10;
  /* Every benchmark client comes from one address, as fast as it can: the
   * admission limits meant for the open Internet (per-address connection
   * and request rates, connections per address, Retry when handshakes pile
   * up) would measure themselves instead of the stack. */
  cfg.max_connections = 0;
  cfg.max_connections_per_addr = 0;
  cfg.conn_rate_per_addr = 0;
  cfg.request_rate_per_addr = 0;
  cfg.retry = WT_RETRY_NEVER;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      cfg.port = (uint16_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--addr") && i + 1 < argc)
      cfg.bind_addr = argv[++i];
    else if (!strcmp(argv[i], "--no-gso"))
      cfg.no_udp_offload = 1;
    else if (!strcmp(argv[i], "--pid-file") && i + 1 < argc)
      pid_file = argv[++i];
    else if (!strcmp(argv[i], "--idle-timeout") && i + 1 < argc)
      cfg.idle_timeout_ms = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cc") && i + 1 < argc) {
      if (tool_parse_cc(argv[++i], &cfg.cc)) return 2;
    } else {
      fprintf(stderr, "wt-bench server: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (wt_transport_new(&cfg, &g_server)) return 1;
  if (pid_file) {
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (write_file(pid_file, pid)) return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("wt-bench: serving on %s port %u\n", cfg.bind_addr, wt_transport_port(g_server));
  fflush(stdout);
  int rv = wt_transport_run(g_server);
  wt_transport_free(g_server);
  return rv ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Client plumbing                                                          */

typedef struct opts {
  const char *url;
  uint64_t bytes, streams, sessions, concurrency, size, rate, samples;
  double seconds;
  int bidi, verify, no_gso, zero_copy;
  long server_pid;
  wt_cc_algo cc;
} opts;

typedef struct client {
  wt_transport *t;
  opts o;
  wt_event_cb cb;
  int done, failed;
  double t0;
} client;

static int client_new(client *c, wt_event_cb cb) {
  wt_transport_config cfg;
  wt_transport_config_init(&cfg);
  cfg.bind_addr = "0.0.0.0";
  cfg.on_event = cb;
  cfg.event_user_data = c;
  c->cb = cb;
  cfg.log_cb = tool_log;
  cfg.log_user_data = "wt-bench";
  cfg.log_level = WT_LOG_ERROR;
  cfg.pooling = getenv("BENCH_NOPOOL") ? 0 : 1;
  cfg.idle_timeout_ms = 600000;
  cfg.stream_window = 4 << 20;
  cfg.conn_window = 16 << 20;
  cfg.session_max_data = 64 << 20;
  cfg.cc = c->o.cc;
  cfg.no_udp_offload = c->o.no_gso;
  return wt_transport_new(&cfg, &c->t);
}

static int connect_session(client *c, int pooled, void *ud, wt_session **s) {
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_NONE;
  o.pooled = pooled;
  o.on_event = c->cb;
  o.user_data = ud;
  return wt_session_connect(c->t, c->o.url, &o, s);
}

/* Runs the transport until *done, the deadline, or a failure; `tick` runs
 * every `period` seconds (or after every round when period is 0). */
static int loop(client *c, double deadline, void (*tick)(client *), double period) {
  struct pollfd pfd = {.fd = wt_transport_fd(c->t), .events = POLLIN};
  double next = tool_now();
  while (!c->done && !c->failed) {
    double now = tool_now();
    if (now > deadline) return -1;
    int to = wt_transport_timeout_ms(c->t);
    int left = (int)((deadline - now) * 1000) + 1;
    if (to < 0 || to > left) to = left;
    if (tick) {
      int tt = period > 0 ? (int)((next - now) * 1000) : 0;
      if (tt < 0) tt = 0;
      if (tt < to) to = tt;
    }
    if (poll(&pfd, 1, to) < 0 && errno != EINTR) return -1;
    wt_transport_process(c->t);
    if (tick && tool_now() >= next) {
      tick(c);
      next = period > 0 && next + period > tool_now() ? next + period : tool_now() + period;
    }
  }
  return c->failed ? -1 : 0;
}

static long rss_kb(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), pid ? "/proc/%ld/status" : "/proc/self/status", pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* ------------------------------------------------------------------------ */
/* bulk: download N bytes over K server streams                             */

typedef struct bulk {
  client c;
  uint64_t received, streams_done;
  double t_ready, t_end;
  uint8_t buf[CHUNK];
} bulk;

static void bulk_read(bulk *b, wt_stream *st) {
  uint64_t *off = wt_stream_context(st);
  int fin = 0;
  for (;;) {
    ssize_t n = wt_stream_read(st, b->buf, sizeof(b->buf), &fin);
    if (n < 0) break;
    if (b->c.o.verify)
      for (ssize_t i = 0; i < n; i++)
        if (b->buf[i] != (uint8_t)((*off + (uint64_t)i) % PERIOD)) {
          fprintf(stderr, "wt-bench: wrong byte at offset %llu\n", (unsigned long long)(*off + (uint64_t)i));
          b->c.failed = 1;
          return;
        }
    *off += (uint64_t)n;
    b->received += (uint64_t)n;
    if (fin) {
      if (++b->streams_done == b->c.o.streams) {
        b->t_end = tool_now();
        b->c.done = 1;
      }
      break;
    }
    if (n == 0) break;
  }
}

static void bulk_event(const wt_event *ev, void *ud) {
  bulk *b = ud;
  wt_stream *st;
  switch (ev->type) {
  case WT_EV_SESSION_READY: b->t_ready = tool_now(); break;
  case WT_EV_SESSION_STREAM:
    while (wt_session_accept_stream(ev->session, &st) == 0) {
      wt_stream_set_context(st, calloc(1, sizeof(uint64_t)));
      if (wt_stream_is_bidi(st)) wt_stream_close(st); /* nothing to send back */
      bulk_read(b, st);
    }
    break;
  case WT_EV_STREAM_READABLE: bulk_read(b, ev->stream); break;
  case WT_EV_STREAM_CLOSED: free(wt_stream_context(ev->stream)); break;
  case WT_EV_SESSION_CLOSED:
    if (!b->c.done) {
      fprintf(stderr, "wt-bench: session closed early: %s\n", ev->detail);
      b->c.failed = 1;
    }
    break;
  default: break;
  }
}

static int run_bulk(bulk *b) {
  char url[512];
  snprintf(url, sizeof(url), "%s/bulk?bytes=%llu&streams=%llu&bidi=%d&zc=%d", b->c.o.url,
           (unsigned long long)b->c.o.bytes, (unsigned long long)b->c.o.streams, b->c.o.bidi, b->c.o.zero_copy);
  b->c.o.url = url;
  wt_session *s;
  b->c.t0 = tool_now();
  if (client_new(&b->c, bulk_event) || connect_session(&b->c, 0, b, &s)) return 1;
  int rv = loop(&b->c, b->c.t0 + 600, NULL, 0);
  if (rv == 0 && b->received != b->c.o.bytes) rv = -1;
  double secs = b->t_end - b->t_ready;
  wt_stats st;
  wt_transport_get_stats(b->c.t, &st);
  printf("RESULT bytes=%llu streams=%llu seconds=%.4f gbps=%.3f setup_ms=%.2f gso=%d gro=%d pkts_rx=%llu ok=%d\n",
         (unsigned long long)b->received, (unsigned long long)b->streams_done, secs,
         secs > 0 ? (double)b->received * 8 / secs / 1e9 : 0, (b->t_ready - b->c.t0) * 1e3, st.udp_gso, st.udp_gro,
         (unsigned long long)st.packets_received, rv == 0);
  if (rv == 0) wt_session_close(s, 0, "", 0);
  wt_transport_process(b->c.t);
  wt_transport_free(b->c.t);
  return rv ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* dgram: echo at saturation, then round trips at a fixed rate              */

typedef struct dgram {
  client c;
  wt_session *s;
  int ready, phase; /* 0 saturate, 1 RTT */
  uint64_t sent, echoed, seq;
  double *rtt;
  size_t nrtt;
  double phase_end;
} dgram;

static void dgram_event(const wt_event *ev, void *ud) {
  dgram *d = ud;
  uint8_t buf[65536];
  ssize_t n;
  switch (ev->type) {
  case WT_EV_SESSION_READY: d->ready = 1; break;
  case WT_EV_SESSION_DATAGRAM:
    while ((n = wt_session_receive_datagram(ev->session, buf, sizeof(buf))) >= 16) {
      double sent_at;
      memcpy(&sent_at, buf + 8, sizeof(sent_at));
      if (buf[0] == 0)
        d->echoed++;
      else if (d->nrtt < d->c.o.samples)
        d->rtt[d->nrtt++] = tool_now() - sent_at;
    }
    break;
  case WT_EV_SESSION_CLOSED:
    if (ev->by_peer || ev->error) {
      fprintf(stderr, "wt-bench: session closed: %s\n", ev->detail);
      d->c.failed = 1;
    }
    break;
  default: break;
  }
}

static void dgram_send(dgram *d, int kind) {
  uint8_t buf[2048] = {0};
  double now = tool_now();
  buf[0] = (uint8_t)kind;
  memcpy(buf + 8, &now, sizeof(now));
  if (wt_session_send_datagram(d->s, buf, d->c.o.size) == 0) d->sent += kind == 0;
}

static void dgram_saturate(client *c) {
  dgram *d = (dgram *)c;
  if (!d->ready) return;
  if (tool_now() >= d->phase_end) {
    c->done = 1;
    return;
  }
  /* Keep the send queue topped up: what the connection cannot take stays
   * queued, so this measures what gets through, not what we offered. */
  for (int i = 0; i < 64; i++)
    dgram_send(d, 0);
}

static void dgram_rtt_tick(client *c) {
  dgram *d = (dgram *)c;
  if (d->seq++ < d->c.o.samples)
    dgram_send(d, 1);
  else if (tool_now() > d->phase_end)
    c->done = 1;
}

static int run_dgram(dgram *d) {
  d->rtt = calloc(d->c.o.samples ? d->c.o.samples : 1, sizeof(double));
  d->c.t0 = tool_now();
  if (!d->rtt || client_new(&d->c, dgram_event) || connect_session(&d->c, 0, d, &d->s)) return 1;
  d->phase_end = 1e18;
  d->c.done = 0;
  while (!d->ready && !d->c.failed && tool_now() < d->c.t0 + 10) {
    struct pollfd pfd = {.fd = wt_transport_fd(d->c.t), .events = POLLIN};
    poll(&pfd, 1, wt_transport_timeout_ms(d->c.t));
    wt_transport_process(d->c.t);
  }
  if (!d->ready) return 1;
  if (d->c.o.size > wt_session_max_datagram_size(d->s)) d->c.o.size = wt_session_max_datagram_size(d->s);
  double t1 = tool_now();
  d->phase_end = t1 + d->c.o.seconds;
  int rv = loop(&d->c, t1 + d->c.o.seconds + 30, dgram_saturate, 0);
  double t2 = tool_now();
  uint64_t echoed_at_end = d->echoed;
  /* Stragglers still in flight count for the ratio, not for the rate. */
  d->c.done = 0;
  d->seq = d->c.o.samples; /* no sends, only receiving */
  d->phase_end = tool_now() + 0.3;
  loop(&d->c, d->phase_end + 1, dgram_rtt_tick, 0.01);
  d->c.done = 0;
  d->seq = 0;
  d->phase_end = tool_now() + (double)d->c.o.samples / (double)d->c.o.rate + 0.5;
  if (rv == 0) rv = loop(&d->c, d->phase_end + 30, dgram_rtt_tick, 1.0 / (double)d->c.o.rate);
  double p50 = percentile(d->rtt, d->nrtt, 0.5) * 1e6, p99 = percentile(d->rtt, d->nrtt, 0.99) * 1e6;
  printf("RESULT size=%llu sent=%llu echoed=%llu dgram_per_s=%.0f delivery=%.4f rtt_samples=%zu rtt_p50_us=%.1f "
         "rtt_p99_us=%.1f ok=%d\n",
         (unsigned long long)d->c.o.size, (unsigned long long)d->sent, (unsigned long long)d->echoed,
         (double)echoed_at_end / (t2 - t1), d->sent ? (double)d->echoed / (double)d->sent : 0, d->nrtt, p50, p99,
         rv == 0 && d->echoed > 0 && d->nrtt > 0);
  wt_session_close(d->s, 0, "", 0);
  wt_transport_process(d->c.t);
  wt_transport_free(d->c.t);
  free(d->rtt);
  return rv == 0 && d->echoed > 0 && d->nrtt > 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* setup: new connection + CONNECT + 200, then one echo, per session        */

typedef struct setup setup;
typedef struct slot {
  setup *b;
  wt_session *s;
  double t0;
  int got;
} slot;

struct setup {
  client c;
  uint64_t started, finished;
  double *first_echo;
  slot *slots;
};

static void setup_start(setup *b, slot *sl);

static void setup_event(const wt_event *ev, void *ud) {
  slot *sl = ud;
  setup *b = sl->b;
  wt_stream *st;
  uint8_t buf[64];
  int fin = 0;
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    if (wt_session_open_stream(ev->session, 1, &st) || wt_stream_write(st, "x", 1, 1) != 1) b->c.failed = 1;
    break;
  case WT_EV_STREAM_READABLE:
    while (wt_stream_read(ev->stream, buf, sizeof(buf), &fin) > 0 && !sl->got) {
      sl->got = 1;
      b->first_echo[b->finished] = tool_now() - sl->t0;
      wt_session_close(ev->session, 0, "", 0);
    }
    break;
  case WT_EV_SESSION_CLOSED:
    if (!sl->got) {
      fprintf(stderr, "wt-bench: session closed before its echo: %s\n", ev->detail);
      b->c.failed = 1;
      break;
    }
    if (++b->finished == b->c.o.sessions) b->c.done = 1;
    if (b->started < b->c.o.sessions) setup_start(b, sl);
    break;
  default: break;
  }
}

static void setup_start(setup *b, slot *sl) {
  sl->b = b;
  sl->got = 0;
  sl->t0 = tool_now();
  b->started++;
  if (connect_session(&b->c, 0, sl, &sl->s)) b->c.failed = 1;
}

static int run_setup(setup *b) {
  uint64_t n = b->c.o.sessions, k = b->c.o.concurrency;
  b->first_echo = calloc(n + 1, sizeof(double));
  b->slots = calloc(k, sizeof(slot));
  if (!b->first_echo || !b->slots || client_new(&b->c, setup_event)) return 1;
  b->c.t0 = tool_now();
  for (uint64_t i = 0; i < k && b->started < n; i++)
    setup_start(b, &b->slots[i]);
  int rv = loop(&b->c, b->c.t0 + 600, NULL, 0);
  double secs = tool_now() - b->c.t0;
  size_t got = (size_t)b->finished;
  double p50 = percentile(b->first_echo, got, 0.5) * 1e3, p99 = percentile(b->first_echo, got, 0.99) * 1e3;
  printf("RESULT sessions=%llu concurrency=%llu seconds=%.3f sessions_per_s=%.1f first_echo_p50_ms=%.3f "
         "first_echo_p99_ms=%.3f ok=%d\n",
         (unsigned long long)b->finished, (unsigned long long)k, secs, (double)b->finished / secs, p50, p99, rv == 0);
  wt_transport_free(b->c.t);
  free(b->first_echo);
  free(b->slots);
  return rv ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* churn: open, write 1 KiB + FIN, read the echo, on one session            */

typedef struct churn {
  client c;
  wt_session *s;
  uint64_t opened, finished, inflight;
  int ready, closed;
} churn;

typedef struct cstream {
  size_t got;
} cstream;

static const uint8_t *churn_payload(void) { return pattern; }

static void churn_open(churn *b) {
  while (b->ready && b->inflight < b->c.o.concurrency && b->opened < b->c.o.streams &&
         wt_session_can_open_stream(b->s, 1)) {
    wt_stream *st;
    cstream *cs = calloc(1, sizeof(*cs));
    if (!cs || wt_session_open_stream(b->s, 1, &st)) {
      free(cs);
      return;
    }
    wt_stream_set_context(st, cs);
    if (wt_stream_write(st, churn_payload(), 1024, 1) != 1024) {
      fprintf(stderr, "wt-bench: 1 KiB did not fit a fresh stream\n");
      b->c.failed = 1;
      return;
    }
    b->opened++;
    b->inflight++;
  }
}

static void churn_event(const wt_event *ev, void *ud) {
  churn *b = ud;
  uint8_t buf[2048];
  int fin = 0;
  cstream *cs = ev->stream ? wt_stream_context(ev->stream) : NULL;
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    b->ready = 1;
    churn_open(b);
    break;
  case WT_EV_SESSION_STREAM_CREDIT: churn_open(b); break;
  case WT_EV_STREAM_READABLE: {
    ssize_t n;
    while (cs && (n = wt_stream_read(ev->stream, buf, sizeof(buf), &fin)) >= 0) {
      if (n > 0 && memcmp(buf, churn_payload() + cs->got, (size_t)n) != 0) b->c.failed = 1;
      cs->got += (size_t)n;
      if (fin || n == 0) break;
    }
    if (fin && cs->got != 1024) {
      fprintf(stderr, "wt-bench: echo of %zu bytes instead of 1024\n", cs->got);
      b->c.failed = 1;
    }
    break;
  }
  case WT_EV_STREAM_CLOSED:
    if ((!cs || cs->got != 1024) && !b->c.failed) {
      fprintf(stderr, "wt-bench: stream closed before its echo\n");
      b->c.failed = 1;
    }
    free(cs);
    b->inflight--;
    if (++b->finished == b->c.o.streams) b->c.done = 1;
    churn_open(b);
    break;
  case WT_EV_SESSION_CLOSED:
    b->closed = 1;
    if (!b->c.done) {
      fprintf(stderr, "wt-bench: session closed after %llu streams: %s (code %u)\n", (unsigned long long)b->finished,
              ev->detail, ev->code);
      b->c.failed = 1;
    }
    break;
  default: break;
  }
}

static int run_churn(churn *b) {
  b->c.t0 = tool_now();
  if (client_new(&b->c, churn_event) || connect_session(&b->c, 0, b, &b->s)) return 1;
  double t1 = 0;
  while (!b->ready && !b->c.failed && tool_now() < b->c.t0 + 10) {
    struct pollfd pfd = {.fd = wt_transport_fd(b->c.t), .events = POLLIN};
    poll(&pfd, 1, wt_transport_timeout_ms(b->c.t));
    wt_transport_process(b->c.t);
  }
  t1 = tool_now();
  int rv = b->ready ? loop(&b->c, t1 + 600, NULL, 0) : -1;
  if (rv)
    fprintf(stderr, "churn: opened %llu finished %llu inflight %llu can_open %d\n", (unsigned long long)b->opened,
            (unsigned long long)b->finished, (unsigned long long)b->inflight, b->closed ? -1 : wt_session_can_open_stream(b->s, 1));
  double secs = tool_now() - t1;
  printf("RESULT streams=%llu concurrency=%llu seconds=%.3f streams_per_s=%.0f ok=%d\n",
         (unsigned long long)b->finished, (unsigned long long)b->c.o.concurrency, secs, (double)b->finished / secs,
         rv == 0);
  if (b->ready && !b->closed) wt_session_close(b->s, 0, "", 0);
  wt_transport_process(b->c.t);
  wt_transport_free(b->c.t);
  return rv ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* idle: hold N sessions open and measure what they cost                    */

typedef struct idle {
  client c;
  uint64_t started, ready;
} idle;

static void idle_event(const wt_event *ev, void *ud) {
  idle *b = ud;
  if (ev->type == WT_EV_SESSION_READY && ++b->ready == b->c.o.sessions) b->c.done = 1;
  if (ev->type == WT_EV_SESSION_CLOSED && !b->c.done && (ev->by_peer || ev->error)) {
    fprintf(stderr, "wt-bench: idle session closed: %s\n", ev->detail);
    b->c.failed = 1;
  }
}

static void idle_tick(client *c) {
  idle *b = (idle *)c;
  /* A bounded number of handshakes in flight. */
  while (b->started < c->o.sessions && b->started - b->ready < c->o.concurrency) {
    wt_session *s;
    if (connect_session(c, 0, b, &s)) {
      c->failed = 1;
      return;
    }
    b->started++;
  }
}

static int run_idle(idle *b) {
  if (client_new(&b->c, idle_event)) return 1;
  long srv0 = b->c.o.server_pid ? rss_kb(b->c.o.server_pid) : -1, own0 = rss_kb(0);
  b->c.t0 = tool_now();
  int rv = loop(&b->c, b->c.t0 + 600, idle_tick, 0);
  double secs = tool_now() - b->c.t0;
  /* Let acknowledgements and the last handshake packets settle. */
  b->c.done = 0;
  loop(&b->c, tool_now() + 1.0, NULL, 0);
  b->c.done = 1; /* what follows is our own teardown */
  long srv1 = b->c.o.server_pid ? rss_kb(b->c.o.server_pid) : -1, own1 = rss_kb(0);
  double n = (double)b->c.o.sessions;
  printf("RESULT sessions=%llu seconds=%.2f server_rss_kb=%ld server_kib_per_session=%.2f client_rss_kb=%ld "
         "client_kib_per_session=%.2f ok=%d\n",
         (unsigned long long)b->ready, secs, srv1, srv0 >= 0 ? (double)(srv1 - srv0) / n : -1, own1,
         (double)(own1 - own0) / n, rv == 0);
  wt_transport_free(b->c.t);
  return rv ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* rusage and certgen                                                       */

static pid_t g_child;
static void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

static int run_rusage(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--")) return 2;
  double t0 = tool_now();
  signal(SIGTERM, forward_signal);
  signal(SIGINT, forward_signal);
  g_child = fork();
  if (g_child < 0) return 1;
  if (g_child == 0) {
    execvp(argv[4], argv + 4);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (wait4(g_child, &status, 0, &ru) < 0)
    if (errno != EINTR) return 1;
  double wall = tool_now() - t0;
  double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  FILE *f = fopen(argv[2], "w");
  if (!f) return 1;
  fprintf(f, "cpu=%.3f user=%.3f sys=%.3f maxrss_kb=%ld wall=%.3f status=%d\n", user + sys, user, sys, ru.ru_maxrss,
          wall, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int rv = fputs(text, f) < 0 ? -1 : 0;
  return fclose(f) || rv ? -1 : 0;
}

static int run_certgen(int argc, char **argv) {
  char *cert, *key;
  uint8_t hash[32];
  if (argc != 4 || wt_certificate_generate(&cert, &key, hash)) return 2;
  int rv = write_file(argv[2], cert) || write_file(argv[3], key);
  free(cert);
  free(key);
  return rv ? 1 : 0;
}

/* ------------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr, "usage: wt-bench server|bulk|dgram|setup|churn|idle|rusage|certgen ... (see tools/wt_bench.c)\n");
}

static int parse_client(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof(*o));
  o->streams = 1;
  o->seconds = 2;
  o->size = 1000;
  o->rate = 1000;
  o->samples = 2000;
  o->sessions = 100;
  o->concurrency = 8;
  if (argc < 3) return -1;
  o->url = argv[2];
  for (int i = 3; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t *num = !strcmp(a, "--bytes")         ? &o->bytes
                    : !strcmp(a, "--streams")     ? &o->streams
                    : !strcmp(a, "--sessions")    ? &o->sessions
                    : !strcmp(a, "--concurrency") ? &o->concurrency
                    : !strcmp(a, "--size")        ? &o->size
                    : !strcmp(a, "--rate")        ? &o->rate
                    : !strcmp(a, "--rtt-samples") ? &o->samples
                                                  : NULL;
    if (num && v) {
      if (tool_parse_size(v, num)) return -1;
      i++;
    } else if (!strcmp(a, "--seconds") && v) {
      o->seconds = atof(argv[++i]);
    } else if (!strcmp(a, "--server-pid-file") && v) {
      FILE *f = fopen(argv[++i], "r");
      if (f && fscanf(f, "%ld", &o->server_pid) != 1) o->server_pid = 0;
      if (f) fclose(f);
    } else if (!strcmp(a, "--cc") && v) {
      if (tool_parse_cc(argv[++i], &o->cc)) return -1;
    } else if (!strcmp(a, "--zero-copy")) {
      o->zero_copy = 1;
    } else if (!strcmp(a, "--no-gso")) {
      o->no_gso = 1;
    } else if (!strcmp(a, "--bidi")) {
      o->bidi = 1;
    } else if (!strcmp(a, "--verify")) {
      o->verify = 1;
    } else {
      fprintf(stderr, "wt-bench: unknown option %s\n", a);
      return -1;
    }
  }
  if (o->streams == 0 || o->concurrency == 0 || o->rate == 0 || o->sessions == 0) return -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  pattern_init();
  signal(SIGPIPE, SIG_IGN);
  const char *mode = argv[1];
  if (!strcmp(mode, "server")) return run_server(argc, argv);
  if (!strcmp(mode, "rusage")) return run_rusage(argc, argv);
  if (!strcmp(mode, "certgen")) return run_certgen(argc, argv);
  static union {
    bulk b;
    dgram d;
    setup s;
    churn c;
    idle i;
  } u;
  opts o;
  if (parse_client(argc, argv, &o)) {
    usage();
    return 2;
  }
  u.b.c.o = o; /* every mode starts with its client */
  if (!strcmp(mode, "bulk")) return run_bulk(&u.b);
  if (!strcmp(mode, "dgram")) return run_dgram(&u.d);
  if (!strcmp(mode, "setup")) return run_setup(&u.s);
  if (!strcmp(mode, "churn")) return run_churn(&u.c);
  if (!strcmp(mode, "idle")) return run_idle(&u.i);
  usage();
  return 2;
}
