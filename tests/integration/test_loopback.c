/*
 * test_loopback.c: our client against our server over real UDP sockets on
 * 127.0.0.1, both transports in this process and driven in the embeddable
 * mode (fd + timeout + process). Covers the integration cases: a 4 MiB
 * bidi echo checked byte for byte, 100 concurrent bidi streams, uni stream
 * echo, 1000 datagrams (echo ratio reported, >= 90% required), close code
 * and reason delivered, every draft generation, certificate verification
 * modes, refusal statuses, sub-protocols, the keying-material exporter,
 * idle timeouts, and the endpoint's stateless reset and version
 * negotiation.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "certgen.h"
#include "test.h"
#include "testapp.h"
#include "webtransport.h"

static wt_transport *srv, *cli;
static uint8_t srv_hash[32];
static echo_server SV;
static check_client CL;
static char url[128];

static int run_until(int (*done)(void), double seconds) { return testapp_run_until(srv, cli, done, seconds); }

/* The server's last "peer SETTINGS" debug line; other lines are dropped. */
static char settings_line[1024];
static void keep_settings_line(wt_log_level level, const char *line, void *ud) {
  if (strstr(line, "peer SETTINGS"))
    snprintf(settings_line, sizeof(settings_line), "%s", line);
  else if (level == WT_LOG_ERROR)
    fprintf(stderr, "server: %s\n", line);
}

/* Optional changes to the next server's config (see with_server). */
static void (*server_tweak)(wt_transport_config *c);

static wt_transport *new_server(const char *cert, const char *key, uint32_t idle_ms) {
  wt_transport_config c;
  wt_transport *t;
  wt_transport_config_init(&c);
  c.log_cb = keep_settings_line;
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.cert_file = cert;
  c.key_file = key;
  c.on_request = echo_server_request;
  c.request_user_data = &SV;
  c.on_event = echo_server_event;
  c.event_user_data = &SV;
  if (idle_ms) c.idle_timeout_ms = idle_ms;
  c.log_level = WT_LOG_DEBUG;
  if (server_tweak) server_tweak(&c);
  return wt_transport_new(&c, &t) ? NULL : t;
}

/* A fresh client transport (and server, the first time or when asked). */
static void start(int fresh_server) {
  if (fresh_server && srv) {
    wt_transport_free(srv);
    srv = NULL;
  }
  if (!srv) {
    if (!(srv = new_server(NULL, NULL, 0))) abort();
    memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  }
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.log_level = WT_LOG_ERROR;
  if (cli && cli != srv) wt_transport_free(cli);
  if (wt_transport_new(&c, &cli)) abort();
  memset(&SV, 0, sizeof(SV));
}

static int is_ready(void) { return CL.ready || CL.closed; }
static int is_closed(void) { return CL.closed; }
static int is_draining(void) { return CL.drainings > 0; }
static int checks_done(void) { return check_client_done(&CL); }
static int server_saw_close(void) { return SV.closes > 0 && CL.closed; }
static int server_streams_in(void) { return SV.streams_accepted >= 4; }

static void default_options(wt_connect_options *o) {
  wt_connect_options_init(o);
  o->verify = WT_VERIFY_HASHES;
  o->cert_hashes = (const uint8_t(*)[32])srv_hash;
  o->ncert_hashes = 1;
}

/* Connects `from` (the client transport, or the server itself). */
static int connect_from(wt_transport *from, const char *host, const char *path, wt_connect_options *o) {
  wt_connect_options def;
  if (!o) {
    default_options(&def);
    o = &def;
  }
  memset(&CL, 0, sizeof(CL));
  o->on_event = check_client_event;
  o->user_data = &CL;
  snprintf(url, sizeof(url), "https://%s:%u%s", host, wt_transport_port(srv), path);
  if (wt_session_connect(from, url, o, &CL.s)) return -1;
  return run_until(is_ready, 5) && CL.ready ? 0 : -1;
}

static int connect_with(const char *path, wt_connect_options *o) { return connect_from(cli, "127.0.0.1", path, o); }

static void add_check(int bidi, uint64_t total) { check_client_add(&CL, bidi, total); }

static void close_and_wait(uint32_t code, const char *reason) {
  SV.closes = 0;
  wt_session_close(CL.s, code, reason, strlen(reason));
  run_until(server_saw_close, 5);
}

/* ------------------------------------------------------------------------ */

static void bidi_echo_of_4_mib_is_byte_exact(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  double t0 = testapp_now();
  add_check(1, 4 << 20);
  CHECK(run_until(checks_done, 30));
  double dt = testapp_now() - t0;
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

/* More streams than the server's QUIC limit (128 bidi, one taken by the
 * CONNECT stream): the rest start as WT_EV_SESSION_STREAM_CREDIT arrives. */
static void streams_beyond_the_stream_limit_wait_for_credit(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  check_client_add_many(&CL, 300, 2000);
  CHECK(CL.nchecks <= 127);
  CHECK(run_until(checks_done, 30));
  CHECK_EQ(CL.nchecks, 300);
  CHECK(!check_client_failed(&CL));
  CHECK(CL.credit_events >= 1);
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
  uint64_t sent = 1;
  while (sent < 1000) {
    memcpy(buf, &sent, 8);
    if (wt_session_send_datagram(CL.s, buf, 100) == 0)
      sent++;
    else
      run_until(datagrams_back, 0.01);
  }
  dg_target = 1000;
  run_until(datagrams_back, 3);
  printf("  datagrams: sent %llu, echoed %llu (%.1f%%)\n", (unsigned long long)sent, (unsigned long long)CL.dg_got,
         100.0 * (double)CL.dg_got / (double)sent);
  CHECK(CL.dg_got >= 900);
  close_and_wait(0, "");
}

/* Closing a session with streams still open ends every one of them on
 * both sides (reset with WT_SESSION_GONE, which carries no application
 * code), before the session's own CLOSED; the code and reason arrive. */
static int server_streams_closed(void) { return SV.stream_closes >= SV.streams_accepted + SV.streams_opened; }
static void close_code_and_reason_reach_the_server(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  for (int i = 0; i < 4; i++)
    add_check(i % 2, 1 << 20); /* still in flight at the close */
  CHECK(run_until(server_streams_in, 5));
  close_and_wait(7, "bye");
  CHECK_EQ(SV.closes, 1);
  CHECK_EQ(SV.close_code, 7);
  CHECK(strcmp(SV.close_reason, "bye") == 0);
  CHECK(CL.stream_closes >= 4); /* ours, and the server's echo streams it had opened */
  for (int i = 0; i < 4; i++) {
    CHECK(CL.checks[i].closed);
    if (i % 2) CHECK(!CL.checks[i].fin && !CL.checks[i].bad); /* a bidi echo was cut short, not finished */
  }
  CHECK(run_until(server_streams_closed, 5));
  CHECK_EQ(SV.streams_accepted, 4);
  CHECK_EQ(SV.stream_closes, 4 + SV.streams_opened);
}

static int one_datagram_back(void) { return CL.dg_got >= 1; }
static int uni_echo_back(void) { return CL.uni_fin; }

/* Forcing each generation on the client: streams, datagrams and close work,
 * and the server saw the same generation in the client's SETTINGS. */
/* A client forced to one generation: the server sees that generation's
 * SETTINGS and :protocol token (and the draft-02 header only from
 * draft-02), and streams, datagrams and close work. */
static void every_draft_generation_works(void) {
  static const struct {
    int draft;
    const char *setting, *token, *d02;
  } g[] = {{2, "wt_enable_02=1", "webtransport", "1"},
           {7, "wt_max_sessions_07=1", "webtransport", ""},
           {13, "wt_max_sessions_13=1", "webtransport", ""},
           {15, "wt_enabled=1", "webtransport-h3", ""}};
  static const char *const all[] = {"wt_enable_02=1", "wt_max_sessions_07=1", "wt_max_sessions_13=1", "wt_enabled=1"};
  for (int i = 0; i < 4; i++) {
    start(1);
    settings_line[0] = 0;
    wt_connect_options o;
    default_options(&o);
    o.draft = g[i].draft;
    CHECK_EQ(connect_with("/echo", &o), 0);
    CHECK_EQ(wt_session_draft(CL.s), g[i].draft);
    CHECK(SV.last != NULL);
    CHECK_EQ(wt_session_draft(SV.last), g[i].draft);
    CHECK(strcmp(SV.token, g[i].token) == 0);
    CHECK(strcmp(SV.draft02_header, g[i].d02) == 0);
    CHECK(strstr(settings_line, "h3_datagram=1") != NULL);
    for (int k = 0; k < 4; k++) /* this generation's setting, and no other's */
      CHECK((strstr(settings_line, all[k]) != NULL) == (k == i));
    add_check(1, 1000);
    add_check(0, 300); /* echoed on a server uni stream */
    CHECK(run_until(checks_done, 5));
    CHECK(!check_client_failed(&CL));
    CHECK(run_until(uni_echo_back, 5));
    CHECK_EQ(CL.uni_len, 300);
    CHECK_EQ(CL.uni_got[299], testapp_byte(2, 299));
    CHECK_EQ(wt_session_send_datagram(CL.s, "dg", 2), 0);
    CHECK(run_until(one_datagram_back, 5));
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
  srv = new_server(leaf_path, key_path, 0);
  CHECK(srv != NULL);
  start(0);
  wt_connect_options o;
  wt_connect_options_init(&o);
  o.ca_file = ca_path;
  CHECK_EQ(connect_from(cli, "localhost", "/echo", &o), 0);
  close_and_wait(0, "");
  /* The same chain for a host name it was not issued for. */
  wt_connect_options_init(&o);
  o.ca_file = ca_path;
  CHECK(connect_from(cli, "127.0.0.1", "/echo", &o) != 0);
  CHECK(run_until(is_closed, 5));
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
  CHECK_EQ(connect_from(srv, "127.0.0.1", "/echo", NULL), 0);
  CHECK_EQ(SV.sessions, 1);
  add_check(1, 100000);
  CHECK(run_until(checks_done, 10));
  CHECK(!check_client_failed(&CL));
  close_and_wait(5, "self");
  CHECK_EQ(SV.close_code, 5);
}

static int server_session_gone(void) { return SV.closes > 0; }

/* Heap bytes in use, or 0 where malloc is not glibc's (ASan, valgrind). */
static size_t heap_in_use(void) {
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#else
  return mallinfo2().uordblks;
#endif
}

static int server_has_no_connections(void);
static int server_idle(void) { return server_has_no_connections(); }

/* A client that vanishes without CONNECTION_CLOSE (as Chromium does) is
 * cleaned up by the server's idle timeout: its session and streams end, the
 * connection goes, and the heap returns to what it was before the client
 * came (the client's own transport is replaced by a fresh one, so both
 * measurements hold one idle client transport). */
static void vanished_peer_is_reaped_by_idle_timeout(void) {
  wt_transport *own = srv;
  srv = new_server(NULL, NULL, 300);
  CHECK(srv != NULL);
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  /* Warm-up: one whole session first, so one-time allocations (TLS
   * credentials' caches, tables that grow once) are in the baseline. */
  start(0);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  close_and_wait(0, "");
  CHECK(run_until(server_idle, 5));
  start(0);
  size_t base = heap_in_use();
  CHECK_EQ(connect_with("/echo", NULL), 0);
  for (int i = 0; i < 4; i++)
    add_check(i % 2, 256 << 10); /* streams with data in flight when the client goes */
  CHECK(run_until(server_streams_in, 5));
  size_t busy = heap_in_use();
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.connections, 1);
  CHECK_EQ(st.sessions, 1);
  SV.closes = 0;
  /* From here on only the server runs: the client is silent. */
  wt_transport *client_side = cli;
  cli = srv;
  double t0 = testapp_now();
  CHECK(run_until(server_session_gone, 5));
  double dt = testapp_now() - t0;
  CHECK(run_until(server_idle, 5));
  cli = client_side;
  printf("  server noticed the silent client after %.0f ms (idle timeout 300 ms)\n", dt * 1e3);
  CHECK(dt < 2.0);
  CHECK(SV.close_error != 0); /* not an orderly close */
  CHECK_EQ(SV.stream_closes, SV.streams_accepted + SV.streams_opened);
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.connections, 0);
  CHECK_EQ(st.sessions, 0);
  start(0); /* the vanished client's transport goes; a fresh idle one, as at `base` */
  size_t after = heap_in_use();
  if (base) {
    printf("  heap in use: %zu before the client, %zu with it, %zu after the reap (%+ld)\n", base, busy, after,
           (long)after - (long)base);
    CHECK(busy > base + 100000);      /* the measure sees a connection */
    CHECK(after <= base + 16 * 1024); /* and sees it go */
  } else {
    printf("  heap not measurable here (not glibc malloc): counts checked only\n");
  }
  wt_transport_free(srv);
  srv = own;
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
}

/* ---- servers configured differently ---- */

/* Replaces the server by one whose config `tweak` adjusts (and a fresh
 * client); restore_server puts a default one back. */
static int with_server(void (*tweak)(wt_transport_config *c)) {
  if (srv) wt_transport_free(srv);
  server_tweak = tweak;
  srv = new_server(NULL, NULL, 0);
  server_tweak = NULL;
  if (!srv) return -1;
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  start(0);
  return 0;
}
static void restore_server(void) {
  if (with_server(NULL)) abort();
}

/* "/status/N" answers N; "/ok" 200. */
static int status_hook(wt_request *r, void *ud) {
  const char *p = wt_request_path(r);
  return strncmp(p, "/status/", 8) == 0 ? atoi(p + 8) : strcmp(p, "/ok") == 0 ? 200 : 404;
}
static void gate(wt_transport_config *c) {
  static const char *const prefs[] = {"b", "a"};
  c->on_request = status_hook;
  c->protocols = prefs;
  c->nprotocols = 2;
}

/* Each refusal status the server gives reaches the client as that status,
 * with no session on either side; a foreign origin is refused with 403 by
 * the default origin check, before the hook runs. */
static void refusal_statuses_reach_the_client(void) {
  CHECK_EQ(with_server(gate), 0);
  static const char *const paths[] = {"/status/429", "/status/403", "/status/404", "/status/503"};
  static const int want[] = {429, 403, 404, 503};
  for (int i = 0; i < 4; i++) {
    CHECK(connect_with(paths[i], NULL) != 0);
    CHECK(CL.closed && !CL.ready);
    CHECK_EQ(CL.http_status, want[i]);
  }
  wt_connect_options o;
  default_options(&o);
  o.origin = "https://evil.example";
  CHECK(connect_with("/ok", &o) != 0);
  CHECK_EQ(CL.http_status, 403);
  default_options(&o);
  o.origin = "https://127.0.0.1:1"; /* same host as the authority: allowed */
  CHECK_EQ(connect_with("/ok", &o), 0);
  close_and_wait(0, "");
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.sessions_refused, 5);
  CHECK_EQ(st.sessions_accepted, 1);
  restore_server();
}

/* The server's configured preference order picks among what the client
 * offers, without any hook code; a client that requires a sub-protocol and
 * gets none of its own closes the session with WT_ALPN_ERROR. */
static void subprotocol_config_and_required_protocols(void) {
  CHECK_EQ(with_server(gate), 0);
  const char *offer[] = {"a", "b", "c"};
  wt_connect_options o;
  default_options(&o);
  o.protocols = offer;
  o.nprotocols = 3;
  CHECK_EQ(connect_with("/ok", &o), 0);
  CHECK(strcmp(CL.protocol, "b") == 0);
  close_and_wait(0, "");
  const char *mine[] = {"c"};
  default_options(&o);
  o.protocols = mine;
  o.nprotocols = 1;
  CHECK_EQ(connect_with("/ok", &o), 0); /* not required: the session opens without one */
  CHECK_EQ(CL.protocol[0], 0);
  close_and_wait(0, "");
  default_options(&o);
  o.protocols = mine;
  o.nprotocols = 1;
  o.require_protocol = 1;
  CHECK(connect_with("/ok", &o) != 0);
  CHECK(CL.closed && !CL.ready);
  CHECK_EQ(CL.error, WT_ERR_PROTO);
  CHECK(strstr(CL.detail, "sub-protocol") != NULL);
  restore_server();
}

static void old_drafts_only(wt_transport_config *c) { c->drafts = WT_DRAFT_BIT(7) | WT_DRAFT_BIT(2); }

/* Against a server that offers only drafts -07 and -02, our client falls
 * back to -07 (the newest offered) and everything works. */
static void client_falls_back_to_an_older_server(void) {
  CHECK_EQ(with_server(old_drafts_only), 0);
  settings_line[0] = 0;
  CHECK_EQ(connect_with("/echo", NULL), 0);
  CHECK_EQ(wt_session_draft(CL.s), 7);
  CHECK(strcmp(SV.token, "webtransport") == 0);
  add_check(1, 20000);
  CHECK(run_until(checks_done, 5));
  CHECK(!check_client_failed(&CL));
  close_and_wait(4, "old");
  CHECK_EQ(SV.close_code, 4);
  restore_server();
}

static void pooling_server(wt_transport_config *c) {
  c->pooling = 1;
  c->session_max_data = 64 * 1024;
  c->session_max_streams_bidi = 2;
}

#define NPOOL 3
static check_client PC[NPOOL];
static int pool_next; /* the session being opened */
static int pool_ready(void) { return PC[pool_next].ready || PC[pool_next].closed; }
static int pool_done(void) {
  for (int i = 0; i < NPOOL; i++)
    if (!check_client_done(&PC[i])) return 0;
  return 1;
}

/* Pooling over real sockets: three sessions share one connection, each
 * held to its own 64 KiB data window and 2 concurrent bidi streams, which
 * the echo of 5 x 100 KB per session has to wait for again and again. */
static void pooled_sessions_share_one_connection(void) {
  CHECK_EQ(with_server(pooling_server), 0);
  wt_transport_free(cli);
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.pooling = 1;
  c.log_level = WT_LOG_ERROR;
  CHECK_EQ(wt_transport_new(&c, &cli), 0);
  memset(PC, 0, sizeof(PC));
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/echo", wt_transport_port(srv));
  for (int i = 0; i < NPOOL; i++) {
    wt_connect_options o;
    default_options(&o);
    o.pooled = 1;
    o.on_event = check_client_event;
    o.user_data = &PC[i];
    CHECK_EQ(wt_session_connect(cli, url, &o, &PC[i].s), 0);
    pool_next = i;
    CHECK(run_until(pool_ready, 5));
    CHECK(PC[i].ready);
  }
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.connections, 1);
  CHECK_EQ(st.sessions, NPOOL);
  /* Sessions on one connection derive different keying material. */
  uint8_t k0[32], k1[32];
  CHECK_EQ(wt_session_export_keying_material(PC[0].s, "t", 1, NULL, 0, k0, 32), 0);
  CHECK_EQ(wt_session_export_keying_material(PC[1].s, "t", 1, NULL, 0, k1, 32), 0);
  CHECK(memcmp(k0, k1, 32) != 0);
  for (int i = 0; i < NPOOL; i++)
    check_client_add_many(&PC[i], 5, 100000);
  CHECK(!wt_session_can_open_stream(PC[0].s, 1)); /* two open: the session limit */
  CHECK(run_until(pool_done, 20));
  for (int i = 0; i < NPOOL; i++) {
    CHECK(!check_client_failed(&PC[i]));
    CHECK_EQ(PC[i].nchecks, 5);
    CHECK(PC[i].credit_events >= 1);
  }
  for (int i = 0; i < NPOOL; i++)
    wt_session_close(PC[i].s, 0, "", 0);
  restore_server();
}

/* "All data committed" over real sockets: once for a stream whose bytes
 * and FIN were all acknowledged, before its CLOSED. */
static wt_stream *commit_watch;
static int commits, commit_closes, commit_order_ok = 1;
static void commit_events(const wt_event *ev, void *ud) {
  if (ev->stream && ev->stream == commit_watch) {
    if (ev->type == WT_EV_STREAM_COMMITTED) commits++;
    if (ev->type == WT_EV_STREAM_CLOSED) {
      if (!commits) commit_order_ok = 0;
      commit_closes++;
      commit_watch = NULL;
    }
  }
  check_client_event(ev, ud);
}
static int committed_and_closed(void) { return commit_closes > 0; }

static void committed_reported_once_everything_is_acknowledged(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  wt_session_set_callback(CL.s, commit_events, &CL);
  commits = commit_closes = 0;
  commit_order_ok = 1;
  CHECK_EQ(check_client_add(&CL, 0, 200000), 0); /* uni: data + FIN, nothing back on it */
  commit_watch = CL.checks[0].st;
  CHECK(run_until(committed_and_closed, 5));
  CHECK_EQ(commits, 1);
  CHECK(commit_order_ok);
  close_and_wait(0, "");
}

static int dgram_sizes_max;
static uint64_t dgrams_at_server;
static uint32_t dgram_seen; /* bit i: the 8-byte datagram numbered i arrived */
static int never_done(void) { return 0; }
static void record_datagrams(const wt_event *ev, void *ud) {
  if (ev->type != WT_EV_SESSION_DATAGRAM) {
    echo_server_event(ev, ud);
    return;
  }
  uint8_t buf[2048];
  ssize_t n;
  while ((n = wt_session_receive_datagram(ev->session, buf, sizeof(buf))) >= 0) {
    dgrams_at_server++;
    if (n > dgram_sizes_max) dgram_sizes_max = (int)n;
    if (n == 8 && buf[0] < 32) dgram_seen |= 1u << buf[0];
    wt_session_send_datagram(ev->session, buf, (size_t)n);
  }
}
static void recording_server(wt_transport_config *c) { c->on_event = record_datagrams; }
static int server_got_dgrams(void) { return dgrams_at_server >= (uint64_t)dg_target; }

/* The client's send queue, bounded to 4 datagrams: by default a full queue
 * refuses the newest (WT_ERR_AGAIN, counted); with drop_oldest every send
 * succeeds and the oldest are dropped, so the newest 4 arrive. A datagram
 * of exactly wt_session_max_datagram_size arrives whole. */
static void datagram_send_queue_policies(void) {
  CHECK_EQ(with_server(recording_server), 0);
  for (int policy = 0; policy < 2; policy++) {
    wt_transport_free(cli);
    wt_transport_config c;
    wt_transport_config_init(&c);
    c.bind_addr = "127.0.0.1";
    c.datagram_send_queue = 4;
    c.datagram_drop_oldest = policy;
    c.log_level = WT_LOG_ERROR;
    CHECK_EQ(wt_transport_new(&c, &cli), 0);
    CHECK_EQ(connect_with("/echo", NULL), 0);
    dgrams_at_server = 0;
    dgram_sizes_max = 0;
    dgram_seen = 0;
    int accepted = 0;
    for (int i = 0; i < 20; i++) { /* no processing in between: the queue fills */
      uint8_t b[8] = {0};
      memcpy(b, &i, sizeof(i));
      if (wt_session_send_datagram(CL.s, b, 8) == 0) accepted++;
    }
    uint64_t drops = 0;
    wt_session_datagram_drops(CL.s, &drops, NULL);
    CHECK_EQ(accepted, policy ? 20 : 4);
    CHECK_EQ(drops, 16);
    wt_stats st;
    wt_transport_get_stats(cli, &st);
    CHECK_EQ(st.datagram_send_drops, 16);
    dg_target = 4;
    CHECK(run_until(server_got_dgrams, 3));
    run_until(never_done, 0.05);
    CHECK_EQ(dgrams_at_server, 4);                  /* nothing else was queued */
    CHECK_EQ(dgram_seen, policy ? 0xf0000u : 0xfu); /* the newest 4, or the first 4 */
    /* The largest datagram goes through whole. */
    size_t max = wt_session_max_datagram_size(CL.s);
    uint8_t big[1500];
    memset(big, 0x5a, sizeof(big));
    CHECK_EQ(wt_session_send_datagram(CL.s, big, max), 0);
    dg_target = 5;
    CHECK(run_until(server_got_dgrams, 3));
    CHECK_EQ(dgram_sizes_max, (int)max);
    close_and_wait(0, "");
  }
  restore_server();
}

static check_client CL2;
static int second_ended(void) { return CL2.ready || CL2.closed; }

/* A second session (CL2) to the same URL on a new connection, run until it
 * is ready or refused. Returns 0 when it ended either way in time. */
static int connect_second(void) {
  wt_connect_options o;
  default_options(&o);
  o.on_event = check_client_event;
  o.user_data = &CL2;
  memset(&CL2, 0, sizeof(CL2));
  if (wt_session_connect(cli, url, &o, &CL2.s)) return -1;
  return run_until(second_ended, 5) ? 0 : -1;
}
static int server_has_no_connections(void) {
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  return st.connections == 0;
}

/* wt_session_goaway on the server: GOAWAY and drain for that connection
 * only. The session keeps working, the server still accepts other
 * connections, and the connection ends with its last session. */
static void session_goaway_winds_down_one_connection(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  CHECK(SV.last != NULL);
  CHECK_EQ(wt_session_goaway(SV.last), 0);
  CHECK(run_until(is_draining, 5));
  add_check(1, 50000);
  CHECK(run_until(checks_done, 5));
  CHECK(!check_client_failed(&CL));
  /* A newcomer on its own connection is welcome and not draining. */
  CHECK_EQ(connect_second(), 0);
  CHECK(CL2.ready);
  CHECK_EQ(CL2.drainings, 0);
  wt_stats st;
  wt_transport_get_stats(srv, &st);
  CHECK_EQ(st.connections, 2);
  wt_session_close(CL2.s, 0, "", 0);
  close_and_wait(0, "");
  CHECK(run_until(server_has_no_connections, 5));
  CHECK_EQ(wt_session_goaway(NULL), WT_ERR_INVALID_ARGUMENT);
}

/* wt_transport_shutdown: the live session hears "draining" (GOAWAY and
 * WT_DRAIN_SESSION) and keeps working; a new connection is refused at
 * once; when the client closes, the server has no connection left. */
static void server_shutdown_drains_and_refuses_newcomers(void) {
  start(1);
  CHECK_EQ(connect_with("/echo", NULL), 0);
  CHECK_EQ(wt_transport_shutdown(srv), 0);
  CHECK(run_until(is_draining, 5));
  add_check(1, 100000);
  CHECK(run_until(checks_done, 5));
  CHECK(!check_client_failed(&CL));
  /* A newcomer on its own connection. */
  double t0 = testapp_now();
  CHECK_EQ(connect_second(), 0);
  double dt = testapp_now() - t0;
  CHECK(CL2.closed && !CL2.ready);
  CHECK(CL2.error != 0);
  printf("  newcomer refused after %.1f ms: %s\n", dt * 1e3, CL2.detail);
  CHECK(dt < 1.0); /* refused, not timed out */
  CHECK(!CL.closed);
  close_and_wait(0, "");
  CHECK(run_until(server_has_no_connections, 5));
  start(1); /* the next test gets a server that accepts */
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  RUN(bidi_echo_of_4_mib_is_byte_exact);
  RUN(hundred_concurrent_bidi_streams);
  RUN(streams_beyond_the_stream_limit_wait_for_credit);
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
  RUN(session_goaway_winds_down_one_connection);
  RUN(server_shutdown_drains_and_refuses_newcomers);
  RUN(refusal_statuses_reach_the_client);
  RUN(subprotocol_config_and_required_protocols);
  RUN(client_falls_back_to_an_older_server);
  RUN(pooled_sessions_share_one_connection);
  RUN(committed_reported_once_everything_is_acknowledged);
  RUN(datagram_send_queue_policies);
  wt_transport_free(cli);
  wt_transport_free(srv);
  return TEST_REPORT();
}
