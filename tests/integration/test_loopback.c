/*
 * test_loopback.c: our client against our server over real UDP sockets on
 * 127.0.0.1, both transports in this process and driven in the embeddable
 * mode (fd + timeout + process). Covers the integration cases: a
 * 4 MiB bidi echo checked byte for byte, 100 concurrent bidi streams, uni
 * stream echo, 1000 datagrams (echo ratio reported, >= 90% required),
 * close code and reason delivered, every draft generation, certificate
 * verification modes, refusal statuses, sub-protocols, the keying-material
 * exporter, and the endpoint's stateless reset and version negotiation.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "certgen.h"
#include "test.h"
#include "webtransport.h"

static wt_transport *srv, *cli;
static uint8_t srv_hash[32];

/* ------------------------------------------------------------------------ */
/* Server: echo application, records what the client did                    */

/* One echo: bytes read from `in` go out on `out` (the same stream for
 * bidi, a server-opened uni stream for uni). Both streams point at it. */
typedef struct pend {
  wt_stream *in, *out;
  uint8_t buf[16384];
  size_t off, len;
  int fin, refs;
} pend;

static struct {
  int sessions, closes;
  uint32_t close_code;
  char close_reason[64];
  const char *prefer[4];
  int open_uni_on_ready;
  uint8_t exported[32];
} SV;

static void srv_pump(pend *p) {
  while (p->in && p->out) {
    while (p->len) {
      ssize_t n = wt_stream_write(p->out, p->buf + p->off, p->len, 0);
      if (n <= 0) return;
      p->off += (size_t)n;
      p->len -= (size_t)n;
    }
    if (p->fin) {
      wt_stream_close(p->out);
      return;
    }
    ssize_t n = wt_stream_read(p->in, p->buf, sizeof(p->buf), &p->fin);
    if (n < 0) return;
    p->off = 0;
    p->len = (size_t)n;
  }
}

static void srv_accept(wt_session *s) {
  wt_stream *st;
  while (wt_session_accept_stream(s, &st) == 0) {
    pend *p = calloc(1, sizeof(*p));
    p->in = p->out = st;
    p->refs = 1;
    wt_stream_set_context(st, p);
    if (!wt_stream_is_bidi(st) && wt_session_open_stream(s, 0, &p->out) == 0) {
      wt_stream_set_context(p->out, p);
      p->refs++;
    }
    srv_pump(p);
  }
}

static void srv_stream_closed(wt_stream *st) {
  pend *p = wt_stream_context(st);
  if (p->in == st) p->in = NULL;
  if (p->out == st) p->out = NULL;
  if (--p->refs == 0) free(p);
}

static void srv_event(const wt_event *ev, void *ud) {
  wt_stream *st;
  uint8_t buf[65536];
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    SV.sessions++;
    wt_session_export_keying_material(ev->session, "test", 4, NULL, 0, SV.exported, 32);
    if (SV.open_uni_on_ready && wt_session_open_stream(ev->session, 0, &st) == 0)
      wt_stream_write(st, "srv-uni\n", 8, 1);
    break;
  case WT_EV_SESSION_STREAM: srv_accept(ev->session); break;
  case WT_EV_STREAM_READABLE:
  case WT_EV_STREAM_WRITABLE:
    if (wt_stream_context(ev->stream)) srv_pump(wt_stream_context(ev->stream));
    break;
  case WT_EV_SESSION_DATAGRAM: {
    ssize_t n;
    while ((n = wt_session_receive_datagram(ev->session, buf, sizeof(buf))) >= 0)
      wt_session_send_datagram(ev->session, buf, (size_t)n);
    break;
  }
  case WT_EV_SESSION_CLOSED:
    SV.closes++;
    SV.close_code = ev->code;
    snprintf(SV.close_reason, sizeof(SV.close_reason), "%.*s", (int)ev->reason_len, ev->reason);
    break;
  case WT_EV_STREAM_CLOSED:
    if (wt_stream_context(ev->stream)) srv_stream_closed(ev->stream);
    break;
  default: break;
  }
}

static int srv_request(wt_request *r, void *ud) {
  if (strncmp(wt_request_path(r), "/echo", 5) != 0) return 404;
  for (int i = 0; i < 4 && SV.prefer[i]; i++)
    if (wt_request_select_protocol(r, SV.prefer[i]) == 0) break;
  return 200;
}

/* ------------------------------------------------------------------------ */
/* Driving both transports                                                  */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs both transports until done() or the deadline. Returns done(). */
static int run_until(int (*done)(void), double seconds) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(srv), &ev);
  epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(cli), &ev);
  double end = now_s() + seconds;
  int ok = 0;
  while (!(ok = done()) && now_s() < end) {
    int a = wt_transport_timeout_ms(srv), b = wt_transport_timeout_ms(cli);
    int t = a < 0 ? b : b < 0 ? a : a < b ? a : b;
    if (t < 0 || t > 20) t = 20;
    struct epoll_event out[2];
    epoll_wait(ep, out, 2, t);
    wt_transport_process(srv);
    wt_transport_process(cli);
  }
  close(ep);
  return ok;
}

static void start(int with_server) {
  wt_transport_config c;
  if (with_server && !srv) {
    wt_transport_config_init(&c);
    c.server = 1;
    c.bind_addr = "127.0.0.1";
    c.port = 0;
    c.on_request = srv_request;
    c.on_event = srv_event;
    c.log_level = WT_LOG_WARN;
    if (wt_transport_new(&c, &srv)) abort();
    memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  }
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.log_level = WT_LOG_ERROR;
  if (cli) wt_transport_free(cli);
  if (wt_transport_new(&c, &cli)) abort();
  memset(SV.prefer, 0, sizeof(SV.prefer));
  SV.open_uni_on_ready = 0;
}

static char url[128];

/* ------------------------------------------------------------------------ */
/* Client side of the checks                                                */

typedef struct ccheck {
  wt_stream *st;
  uint64_t seed, total, sent, got;
  int fin, bad;
} ccheck;

static struct {
  wt_session *s;
  int ready, closed, http_status, error;
  char detail[512];
  ccheck checks[128];
  int nchecks;
  uint64_t dg_sent, dg_got;
  uint8_t uni_got[512];
  size_t uni_len;
  int uni_fin;
  wt_stream *uni_in;
  int uni_in_local; /* noted at accept time: the pointer dies with the stream */
  char protocol[32];
} CL;

static uint8_t byte_at(uint64_t seed, uint64_t i) { return (uint8_t)((i * 2654435761u + seed * 40503u) >> 7); }

static void cl_send(ccheck *c) {
  uint8_t buf[16384];
  while (c->sent < c->total) {
    size_t n = c->total - c->sent < sizeof(buf) ? (size_t)(c->total - c->sent) : sizeof(buf);
    for (size_t i = 0; i < n; i++)
      buf[i] = byte_at(c->seed, c->sent + i);
    ssize_t w = wt_stream_write(c->st, buf, n, c->sent + n == c->total);
    if (w <= 0) return;
    c->sent += (uint64_t)w;
  }
}

static void cl_recv(ccheck *c) {
  uint8_t buf[16384];
  for (;;) {
    int fin = 0;
    ssize_t n = wt_stream_read(c->st, buf, sizeof(buf), &fin);
    if (n < 0) {
      if (n != WT_ERR_AGAIN) c->bad = 1;
      return;
    }
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != byte_at(c->seed, c->got + (uint64_t)i)) c->bad = 1;
    c->got += (uint64_t)n;
    if (fin) {
      c->fin = 1;
      return;
    }
  }
}

static void cl_event(const wt_event *ev, void *ud) {
  ccheck *c = ev->stream ? wt_stream_context(ev->stream) : NULL;
  wt_stream *st;
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    CL.ready = 1;
    if (wt_session_protocol(ev->session))
      snprintf(CL.protocol, sizeof(CL.protocol), "%s", wt_session_protocol(ev->session));
    break;
  case WT_EV_SESSION_CLOSED:
    CL.closed = 1;
    CL.http_status = ev->http_status;
    CL.error = ev->error;
    snprintf(CL.detail, sizeof(CL.detail), "%s", ev->detail);
    break;
  case WT_EV_SESSION_STREAM:
  case WT_EV_STREAM_READABLE:
    /* An accepted stream may already hold data, so read right away. */
    while (ev->type == WT_EV_SESSION_STREAM && wt_session_accept_stream(ev->session, &st) == 0) {
      CL.uni_in = st;
      CL.uni_in_local = wt_stream_is_local(st);
    }
    if (c)
      cl_recv(c);
    else if (CL.uni_in) {
      int fin = 0;
      ssize_t n;
      while ((n = wt_stream_read(CL.uni_in, CL.uni_got + CL.uni_len, sizeof(CL.uni_got) - CL.uni_len, &fin)) > 0)
        CL.uni_len += (size_t)n;
      if (fin) CL.uni_fin = 1;
    }
    break;
  case WT_EV_STREAM_WRITABLE:
    if (c) cl_send(c);
    break;
  case WT_EV_STREAM_CLOSED:
    if (ev->stream == CL.uni_in) CL.uni_in = NULL;
    break;
  case WT_EV_SESSION_DATAGRAM: {
    uint8_t buf[2048];
    while (wt_session_receive_datagram(ev->session, buf, sizeof(buf)) >= 0)
      CL.dg_got++;
    break;
  }
  default: break;
  }
}

static int is_ready(void) { return CL.ready || CL.closed; }
static int is_closed(void) { return CL.closed; }
static int checks_done(void) {
  for (int i = 0; i < CL.nchecks; i++)
    if (!CL.checks[i].fin && !CL.checks[i].bad) return 0;
  return 1;
}
static int server_saw_close(void) { return SV.closes > 0 && CL.closed; }

static int connect_with(const char *path, wt_connect_options *o) {
  memset(&CL, 0, sizeof(CL));
  wt_connect_options def;
  if (!o) {
    wt_connect_options_init(&def);
    def.verify = WT_VERIFY_HASHES;
    def.cert_hashes = (const uint8_t(*)[32])srv_hash;
    def.ncert_hashes = 1;
    o = &def;
  }
  o->on_event = cl_event;
  snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", wt_transport_port(srv), path);
  if (wt_session_connect(cli, url, o, &CL.s)) return -1;
  return run_until(is_ready, 5) && CL.ready ? 0 : -1;
}

static void add_check(int bidi, uint64_t total) {
  ccheck *c = &CL.checks[CL.nchecks];
  memset(c, 0, sizeof(*c));
  c->seed = (uint64_t)CL.nchecks + 1;
  c->total = total;
  if (wt_session_open_stream(CL.s, bidi, &c->st)) {
    c->bad = 1;
    return;
  }
  CL.nchecks++;
  wt_stream_set_context(c->st, c);
  cl_send(c);
}

static void close_and_wait(uint32_t code, const char *reason) {
  SV.closes = 0;
  wt_session_close(CL.s, code, reason, strlen(reason));
  run_until(server_saw_close, 5);
}

/* ------------------------------------------------------------------------ */

static void bidi_echo_of_4_mib_is_byte_exact(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  double t0 = now_s();
  add_check(1, 4 << 20);
  CHECK(run_until(checks_done, 30));
  double dt = now_s() - t0;
  CHECK(!CL.checks[0].bad);
  CHECK_EQ(CL.checks[0].got, 4 << 20);
  printf("  4 MiB bidi echo verified in %.1f ms (%.0f Mbit/s each way)\n", dt * 1e3, 4 * 8.0 * 1.048576 / dt);
  close_and_wait(0, "");
}

static void hundred_concurrent_bidi_streams(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  for (int i = 0; i < 100; i++)
    add_check(1, 16384);
  CHECK_EQ(CL.nchecks, 100);
  CHECK(run_until(checks_done, 30));
  for (int i = 0; i < 100; i++) {
    CHECK(!CL.checks[i].bad);
    CHECK_EQ(CL.checks[i].got, 16384);
  }
  close_and_wait(0, "");
}

static int uni_done(void) { return CL.uni_fin; }

static void uni_stream_comes_back_on_a_server_stream(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(CL.s, 0, &st), 0);
  CHECK_EQ(wt_stream_write(st, "one-way trip", 12, 1), 12);
  CHECK(run_until(uni_done, 10));
  CHECK_EQ(CL.uni_len, 12);
  CHECK_MEM(CL.uni_got, "one-way trip", 12);
  CHECK(!CL.uni_in_local);
  close_and_wait(0, "");
}

static uint64_t dg_target;
static int datagrams_back(void) { return CL.dg_got >= dg_target; }

static void thousand_datagrams_mostly_echoed(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  size_t max = wt_session_max_datagram_size(CL.s);
  CHECK(max >= 1100);
  uint8_t buf[1500] = {0};
  CHECK_EQ(wt_session_send_datagram(CL.s, buf, max + 1), WT_ERR_TOO_LARGE);
  CHECK_EQ(wt_session_send_datagram(CL.s, buf, max), 0); /* exactly the maximum */
  CL.dg_sent = 1;
  while (CL.dg_sent < 1000) {
    memcpy(buf, &CL.dg_sent, 8);
    if (wt_session_send_datagram(CL.s, buf, 100) == 0)
      CL.dg_sent++;
    else
      run_until(datagrams_back, 0.01);
  }
  dg_target = 1000;
  run_until(datagrams_back, 3);
  printf("  datagrams: sent %llu, echoed %llu (%.1f%%)\n", (unsigned long long)CL.dg_sent,
         (unsigned long long)CL.dg_got, 100.0 * (double)CL.dg_got / (double)CL.dg_sent);
  CHECK(CL.dg_got >= 900);
  close_and_wait(0, "");
}

static void close_code_and_reason_reach_the_server(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  close_and_wait(7, "bye");
  CHECK_EQ(SV.closes, 1);
  CHECK_EQ(SV.close_code, 7);
  CHECK(strcmp(SV.close_reason, "bye") == 0);
}

static void every_draft_generation_works(void) {
  int drafts[] = {2, 7, 13, 15};
  for (int i = 0; i < 4; i++) {
    start(1);
    wt_connect_options o;
    wt_connect_options_init(&o);
    o.verify = WT_VERIFY_HASHES;
    o.cert_hashes = (const uint8_t(*)[32])srv_hash;
    o.ncert_hashes = 1;
    o.draft = drafts[i];
    CHECK_EQ(connect_with("/echo", &o), 0);
    CHECK_EQ(wt_session_draft(CL.s), drafts[i]);
    add_check(1, 1000);
    CHECK(run_until(checks_done, 5));
    CHECK(!CL.checks[0].bad);
    close_and_wait(3, "d");
    CHECK_EQ(SV.close_code, 3);
  }
}

static void certificate_verification_modes(void) {
  wt_connect_options o;
  uint8_t wrong[32] = {1};
  start(1);
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_HASHES;
  o.cert_hashes = (const uint8_t(*)[32])wrong;
  o.ncert_hashes = 1;
  CHECK(connect_with("/echo", &o) != 0);
  CHECK(run_until(is_closed, 5));
  CHECK_EQ(CL.error, WT_ERR_TLS);
  CHECK(strstr(CL.detail, "hash mismatch") != NULL);
  start(0);
  wt_connect_options_init(&o);
  CHECK(connect_with("/echo", &o) != 0); /* system CAs do not know our self-signed cert */
  CHECK(run_until(is_closed, 5));
  CHECK_EQ(CL.error, WT_ERR_TLS);
  CHECK(strstr(CL.detail, "not trusted") != NULL);
  start(0);
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_NONE;
  CHECK_EQ(connect_with("/echo", &o), 0);
  close_and_wait(0, "");
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_HASHES;
  CHECK_EQ(wt_session_connect(cli, url, &o, &CL.s), WT_ERR_INVALID_ARGUMENT); /* no hashes given */
}

static void unknown_path_is_refused_with_404(void) {
  start(1);
  CHECK(connect_with("/nope", NULL) != 0);
  CHECK(CL.closed);
  CHECK_EQ(CL.http_status, 404);
}

static void subprotocol_follows_server_preference(void) {
  start(1);
  SV.prefer[0] = "y";
  SV.prefer[1] = "x";
  const char *offer[] = {"x", "y"};
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_HASHES;
  o.cert_hashes = (const uint8_t(*)[32])srv_hash;
  o.ncert_hashes = 1;
  o.protocols = offer;
  o.nprotocols = 2;
  CHECK_EQ(connect_with("/echo", &o), 0);
  CHECK(strcmp(CL.protocol, "y") == 0);
  close_and_wait(0, "");
}

static void both_ends_export_the_same_keying_material(void) {
  uint8_t first[32], mine[32];
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  CHECK_EQ(wt_session_export_keying_material(CL.s, "test", 4, NULL, 0, mine, 32), 0);
  CHECK_MEM(mine, SV.exported, 32);
  memcpy(first, mine, 32);
  close_and_wait(0, "");
  start(0);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  CHECK_EQ(wt_session_export_keying_material(CL.s, "test", 4, NULL, 0, mine, 32), 0);
  CHECK_MEM(mine, SV.exported, 32);
  CHECK(memcmp(mine, first, 32) != 0);
  uint8_t other[32];
  CHECK_EQ(wt_session_export_keying_material(CL.s, "test", 4, "x", 1, other, 32), 0);
  CHECK(memcmp(mine, other, 32) != 0);
  close_and_wait(0, "");
}

static void server_opened_streams_reach_the_client(void) {
  start(1);
  SV.open_uni_on_ready = 1;
  CHECK_EQ(connect_with("/echo", NULL), 0);
  CHECK(run_until(uni_done, 5));
  CHECK_EQ(CL.uni_len, 8);
  CHECK_MEM(CL.uni_got, "srv-uni\n", 8);
  close_and_wait(0, "");
}

/* Raw UDP probes of the endpoint: a short-header packet for an unknown
 * connection gets a (shorter) stateless reset; an Initial-sized packet of
 * an unknown version gets Version Negotiation. */
static ssize_t probe(const uint8_t *pkt, size_t len, uint8_t *reply, size_t cap) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(wt_transport_port(srv))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  struct timeval tv = {0, 20000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sendto(fd, pkt, len, 0, (struct sockaddr *)&a, sizeof(a));
  ssize_t n = -1;
  for (int i = 0; i < 50 && n < 0; i++) {
    wt_transport_process(srv);
    n = recv(fd, reply, cap, 0);
  }
  close(fd);
  return n;
}

static void endpoint_answers_strangers(void) {
  start(1);
  uint8_t pkt[1200], reply[1500];
  memset(pkt, 0x33, sizeof(pkt));
  pkt[0] = 0x40 | 0x01; /* short header */
  ssize_t n = probe(pkt, 100, reply, sizeof(reply));
  CHECK(n >= 21 && n < 100);
  CHECK_EQ(reply[0] & 0xc0, 0x40);
  memset(pkt, 0, sizeof(pkt));
  pkt[0] = 0xc0;
  memcpy(pkt + 1, "\x1a\x2a\x3a\x4a", 4); /* unknown version */
  pkt[5] = 8;
  memset(pkt + 6, 0xaa, 8);
  pkt[14] = 8;
  memset(pkt + 15, 0xbb, 8);
  n = probe(pkt, sizeof(pkt), reply, sizeof(reply));
  CHECK(n > 7);
  CHECK_MEM(reply + 1, "\0\0\0\0", 4); /* version 0: Version Negotiation */
  CHECK_EQ(reply[5], 8);
  CHECK_MEM(reply + 6, pkt + 15, 8);         /* echoes the client's SCID as DCID */
  n = probe(pkt, 600, reply, sizeof(reply)); /* too small to be an Initial: no answer */
  CHECK(n < 0);
}

/* A server whose certificate chains to a test CA: the client trusts it
 * through `ca_file` for the right host name only. */
static void ca_verification_checks_chain_and_host_name(void) {
  char dir[] = "/tmp/wt_ca_XXXXXX", ca_path[64], leaf_path[64], key_path[64];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
  snprintf(leaf_path, sizeof(leaf_path), "%s/leaf.pem", dir);
  snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
  test_cert ca, leaf;
  CHECK_EQ(test_cert_make(&ca, NULL, 30, 0, 1, NULL), 0);
  CHECK_EQ(test_cert_make(&leaf, "localhost", 30, 0, 0, &ca), 0);
  CHECK_EQ(test_cert_write(&ca, NULL, ca_path, NULL), 0);
  CHECK_EQ(test_cert_write(&leaf, &ca, leaf_path, key_path), 0);
  test_cert_free(&ca);
  test_cert_free(&leaf);
  wt_transport *own = srv;
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.cert_file = leaf_path;
  c.key_file = key_path;
  c.on_request = srv_request;
  c.on_event = srv_event;
  c.log_level = WT_LOG_ERROR;
  CHECK_EQ(wt_transport_new(&c, &srv), 0);
  start(0);
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.ca_file = ca_path;
  o.on_event = cl_event;
  memset(&CL, 0, sizeof(CL));
  snprintf(url, sizeof(url), "https://localhost:%u/echo", wt_transport_port(srv));
  CHECK_EQ(wt_session_connect(cli, url, &o, &CL.s), 0);
  run_until(is_ready, 5);
  CHECK(CL.ready);
  close_and_wait(0, "");
  /* The same chain for a host name it was not issued for. */
  memset(&CL, 0, sizeof(CL));
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/echo", wt_transport_port(srv));
  CHECK_EQ(wt_session_connect(cli, url, &o, &CL.s), 0);
  run_until(is_closed, 5);
  CHECK_EQ(CL.error, WT_ERR_TLS);
  CHECK(strstr(CL.detail, "not trusted") != NULL);
  wt_transport_free(srv);
  srv = own;
  unlink(ca_path);
  unlink(leaf_path);
  unlink(key_path);
  rmdir(dir);
}

/* One transport serves and dials over its single socket: it connects to
 * itself. */
static void a_server_transport_dials_itself(void) {
  start(1);
  wt_transport *client_side = cli;
  cli = srv; /* run_until drives srv twice; harmless */
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.verify = WT_VERIFY_HASHES;
  o.cert_hashes = (const uint8_t(*)[32])srv_hash;
  o.ncert_hashes = 1;
  o.on_event = cl_event;
  memset(&CL, 0, sizeof(CL));
  SV.sessions = 0;
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/echo", wt_transport_port(srv));
  /* Both roles share the one event callback setup: the server's on_event
   * handles its side, the session's own callback the client side. */
  CHECK_EQ(wt_session_connect(srv, url, &o, &CL.s), 0);
  run_until(is_ready, 5);
  CHECK(CL.ready);
  CHECK_EQ(SV.sessions, 1);
  add_check(1, 100000);
  CHECK(run_until(checks_done, 10));
  CHECK(!CL.checks[0].bad);
  close_and_wait(5, "self");
  CHECK_EQ(SV.close_code, 5);
  cli = client_side;
}

static int server_session_gone(void) { return SV.closes > 0; }

/* A client that vanishes without CONNECTION_CLOSE (as Chromium does) is
 * cleaned up by the server's idle timeout. */
static void vanished_peer_is_reaped_by_idle_timeout(void) {
  wt_transport *own = srv;
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.on_request = srv_request;
  c.on_event = srv_event;
  c.idle_timeout_ms = 300;
  c.log_level = WT_LOG_ERROR;
  CHECK_EQ(wt_transport_new(&c, &srv), 0);
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  start(0);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  SV.closes = 0;
  /* From here on only the server runs: the client is silent. */
  wt_transport *client_side = cli;
  cli = srv;
  double t0 = now_s();
  CHECK(run_until(server_session_gone, 5));
  double dt = now_s() - t0;
  printf("  server noticed the silent client after %.0f ms (idle timeout 300 ms)\n", dt * 1e3);
  CHECK(dt < 2.0);
  cli = client_side;
  wt_transport_free(srv);
  srv = own;
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  RUN(bidi_echo_of_4_mib_is_byte_exact);
  RUN(hundred_concurrent_bidi_streams);
  RUN(uni_stream_comes_back_on_a_server_stream);
  RUN(thousand_datagrams_mostly_echoed);
  RUN(close_code_and_reason_reach_the_server);
  RUN(every_draft_generation_works);
  RUN(certificate_verification_modes);
  RUN(unknown_path_is_refused_with_404);
  RUN(subprotocol_follows_server_preference);
  RUN(both_ends_export_the_same_keying_material);
  RUN(server_opened_streams_reach_the_client);
  RUN(endpoint_answers_strangers);
  RUN(ca_verification_checks_chain_and_host_name);
  RUN(a_server_transport_dials_itself);
  RUN(vanished_peer_is_reaped_by_idle_timeout);
  wt_transport_free(cli);
  wt_transport_free(srv);
  return TEST_REPORT();
}
