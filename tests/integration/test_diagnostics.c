/*
 * test_diagnostics.c: when a session fails, both ends say why in one
 * actionable log line (what was expected, what came, what to do). Each case
 * provokes one failure between our client and our server over 127.0.0.1 and
 * reads both transports' lines through wt_transport_config.log_cb: path not
 * found, origin rejected, certificate hash mismatch, no common
 * sub-protocol, a server that does not enable the client's WebTransport
 * draft, and a flow-control limit. Also here: replacing a running server's
 * certificate (wt_transport_set_certificate) and the qlog files of
 * wt_transport_config.qlog_dir. The server-side lines for requests our
 * client never sends (no WebTransport SETTINGS, wrong :protocol) are
 * checked in test_wire.c.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "testapp.h"
#include "webtransport.h"

/* Every line a transport logged at INFO or above. */
#define LINES_MAX 256
typedef struct log_lines {
  char line[LINES_MAX][640];
  wt_log_level level[LINES_MAX];
  int n;
} log_lines;

static log_lines SL, CLL; /* server's and client's */

static void keep_line(wt_log_level level, const char *line, void *ud) {
  log_lines *l = ud;
  if (level > WT_LOG_INFO || l->n == LINES_MAX) return;
  snprintf(l->line[l->n], sizeof(l->line[0]), "%s", line);
  l->level[l->n++] = level;
}

/* How many lines contain all of the (up to three) fragments; the last one
 * found is copied to `found` for the failure message. */
static int count_lines(const log_lines *l, const char *a, const char *b, const char *c) {
  int n = 0;
  for (int i = 0; i < l->n; i++)
    if (strstr(l->line[i], a) && (!b || strstr(l->line[i], b)) && (!c || strstr(l->line[i], c))) n++;
  return n;
}

static void dump(const char *who, const log_lines *l) {
  for (int i = 0; i < l->n; i++)
    fprintf(stderr, "  %s log: %s\n", who, l->line[i]);
}

/* One line with a, b and c on `l`, else the test fails with the log. */
#define CHECK_LINE(l, who, a, b, c)                                                                                    \
  do {                                                                                                                 \
    if (count_lines(&(l), a, b, c) != 1) {                                                                             \
      dump(who, &(l));                                                                                                 \
      CHECK_EQ(count_lines(&(l), a, b, c), 1);                                                                         \
    }                                                                                                                  \
  } while (0)

static wt_transport *srv, *cli;
static uint8_t srv_hash[32];
static echo_server SV;
static check_client CL;
static char url[160];

static int run_until(int (*done)(void), double seconds) { return testapp_run_until(srv, cli, done, seconds); }

static void (*server_tweak)(wt_transport_config *c);
static void (*client_tweak)(wt_transport_config *c);

/* A fresh server and client, each logging into its own lines. */
static void start(void) {
  if (cli) wt_transport_free(cli);
  if (srv) wt_transport_free(srv);
  memset(&SL, 0, sizeof(SL));
  memset(&CLL, 0, sizeof(CLL));
  memset(&SV, 0, sizeof(SV));
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.on_request = echo_server_request;
  c.request_user_data = &SV;
  c.on_event = echo_server_event;
  c.event_user_data = &SV;
  c.log_cb = keep_line;
  c.log_user_data = &SL;
  c.log_level = WT_LOG_INFO;
  if (server_tweak) server_tweak(&c);
  if (wt_transport_new(&c, &srv)) abort();
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.log_cb = keep_line;
  c.log_user_data = &CLL;
  c.log_level = WT_LOG_INFO;
  if (client_tweak) client_tweak(&c);
  if (wt_transport_new(&c, &cli)) abort();
  server_tweak = client_tweak = NULL;
}

static int is_ended(void) { return CL.ready || CL.closed; }

static void options(wt_connect_options *o) {
  wt_connect_options_init(o);
  o->verify = WT_VERIFY_HASHES;
  o->cert_hashes = (const uint8_t(*)[32])srv_hash;
  o->ncert_hashes = 1;
}

/* Connects to `path`; returns 1 if the session became ready. */
static int connect_to(const char *path, wt_connect_options *o) {
  wt_connect_options def;
  if (!o) {
    options(&def);
    o = &def;
  }
  memset(&CL, 0, sizeof(CL));
  o->on_event = check_client_event;
  o->user_data = &CL;
  snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", wt_transport_port(srv), path);
  if (wt_session_connect(cli, url, o, &CL.s)) return 0;
  run_until(is_ended, 5);
  return CL.ready;
}

/* Runs until the other end has logged a line with `frag` (it learns of a
 * reset or a TLS alert a round trip later), at most 5 s. */
static const log_lines *wait_in;
static const char *wait_for;
static int line_there(void) { return count_lines(wait_in, wait_for, NULL, NULL) > 0; }
static void settle_on(const log_lines *l, const char *frag) {
  wait_in = l;
  wait_for = frag;
  run_until(line_there, 5);
}

/* ------------------------------------------------------------------------ */

static void path_not_found(void) {
  start();
  CHECK(!connect_to("/nope", NULL));
  CHECK_LINE(SL, "server", "refused with 404", "request hook answered 404 for path /nope", NULL);
  CHECK_LINE(CLL, "client", "failed", "HTTP 404 (path /nope)", "no WebTransport endpoint at this path");
}

static void origin_rejected(void) {
  start();
  wt_connect_options o;
  options(&o);
  o.origin = "https://evil.example";
  CHECK(!connect_to("/echo", &o));
  char want[96];
  snprintf(want, sizeof(want), "origin https://evil.example is not allowed for 127.0.0.1:%u", wt_transport_port(srv));
  CHECK_LINE(SL, "server", "refused with 403", want, "allowed_origins");
  CHECK_LINE(CLL, "client", "HTTP 403", "origin https://evil.example", "does not accept our origin");
}

static void certificate_hash_mismatch(void) {
  start();
  wt_connect_options o;
  uint8_t wrong[32] = {0xab};
  options(&o);
  o.cert_hashes = (const uint8_t(*)[32])wrong;
  CHECK(!connect_to("/echo", &o));
  settle_on(&SL, "TLS alert");
  char have[65], pinned[65];
  wt_hex_sha256(srv_hash, have);
  wt_hex_sha256(wrong, pinned);
  CHECK_LINE(CLL, "client", "certificate hash mismatch", have, pinned);
  CHECK_LINE(SL, "server", "ended during the handshake", "TLS alert", NULL);
  CHECK_LINE(SL, "server", "the client refused our certificate", have, NULL);
  CHECK_EQ(SL.n, 1); /* one line, nothing else */
}

static void one_protocol(wt_transport_config *c) {
  static const char *const ours[] = {"moq-00"};
  c->protocols = ours;
  c->nprotocols = 1;
}

static void no_common_subprotocol(void) {
  server_tweak = one_protocol;
  start();
  const char *offer[] = {"chat-v2"};
  wt_connect_options o;
  options(&o);
  o.protocols = offer;
  o.nprotocols = 1;
  o.require_protocol = 1;
  CHECK(!connect_to("/echo", &o));
  settle_on(&SL, "the client requires a sub-protocol");
  CHECK_LINE(CLL, "client", "no common sub-protocol: we offered \"chat-v2\"", "selected none", "WT_ALPN_ERROR");
  CHECK_LINE(SL, "server", "no common sub-protocol: the client offered \"chat-v2\", we support \"moq-00\"", NULL, NULL);
  CHECK_LINE(SL, "server", "WT_ALPN_ERROR: the client requires a sub-protocol", NULL, NULL);
}

static void draft15_only(wt_transport_config *c) { c->drafts = WT_DRAFT_BIT(15); }

/* The client insists on draft 02, the server enables only draft 15: the
 * client names what the server sent and what it needed. */
static void server_without_the_clients_draft(void) {
  server_tweak = draft15_only;
  start();
  wt_connect_options o;
  options(&o);
  o.draft = 2;
  CHECK(!connect_to("/echo", &o));
  CHECK_EQ(CL.error, WT_ERR_PROTO);
  CHECK_LINE(CLL, "client", "did not enable WebTransport", "it sent: ", "0x2c7cf000=1");
  /* The server never saw a request. The client closes its finished
   * connection after a short linger; once the handshake is confirmed QUIC
   * carries the reason phrase and the server logs it. If the close still
   * comes before that (a slow machine), QUIC drops the phrase and the server
   * says what such a close most likely means. Either way one line says why. */
  settle_on(&SL, "connection with");
  int told = count_lines(&SL, "ended before any session", "the server did not enable WebTransport", NULL);
  int guessed = count_lines(&SL, "ended during the handshake", "our SETTINGS lack the WebTransport draft", NULL);
  if (told + guessed != 1) dump("server", &SL);
  CHECK_EQ(told + guessed, 1);
}

static void pooling_small(wt_transport_config *c) {
  c->pooling = 1;
  c->session_max_streams_bidi = 2;
}
static void pooling_on(wt_transport_config *c) { c->pooling = 1; }
static int checks_done(void) { return check_client_done(&CL); }

/* A third bidi stream against a limit of two: the client says it waits for
 * the peer's credit, the server that the peer hit its limit; more streams
 * open once credit comes back. */
static void flow_control_limit_hit(void) {
  server_tweak = pooling_small;
  client_tweak = pooling_on;
  start();
  CHECK(connect_to("/echo", NULL));
  CHECK_EQ(check_client_add(&CL, 1, 1000), 0);
  CHECK_EQ(check_client_add(&CL, 1, 1000), 0);
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(CL.s, 1, &st), WT_ERR_AGAIN);
  CHECK(run_until(checks_done, 10));
  check_client_add_many(&CL, 2, 1000); /* credit came back with the finished streams */
  CHECK(run_until(checks_done, 10));
  CHECK(!check_client_failed(&CL));
  settle_on(&SL, "the peer hit our flow-control limit");
  CHECK_LINE(CLL, "client", "flow-control limit hit: the peer allows 2 bidi streams", "session_max_streams_bidi", NULL);
  CHECK_LINE(SL, "server", "the peer hit our flow-control limit (WT_STREAMS_BLOCKED_BIDI at 2)",
             "session_max_streams_bidi", NULL);
}

/* No failure, no line: an orderly session logs nothing at INFO. */
static int nothing(void) { return 0; }
static int server_closed(void) { return SV.closes > 0; }
static void orderly_session_is_quiet(void) {
  start();
  CHECK(connect_to("/echo", NULL));
  wt_session_close(CL.s, 0, "", 0);
  CHECK(run_until(server_closed, 5));
  run_until(nothing, 0.5); /* room for a stray line to show up */
  if (SL.n || CLL.n) {
    dump("server", &SL);
    dump("client", &CLL);
  }
  CHECK_EQ(SL.n, 0);
  CHECK_EQ(CLL.n, 0);
}

/* ------------------------------------------------------------------------ */
/* Certificate rotation                                                     */

static check_client CL2;
static int second_ended(void) { return CL2.ready || CL2.closed; }
static int connect_second(const uint8_t hash[32]) {
  wt_connect_options o;
  options(&o);
  o.cert_hashes = (const uint8_t(*)[32])hash;
  o.on_event = check_client_event;
  o.user_data = &CL2;
  memset(&CL2, 0, sizeof(CL2));
  if (wt_session_connect(cli, url, &o, &CL2.s)) return 0;
  run_until(second_ended, 5);
  return CL2.ready;
}

/* The running server takes a new certificate: the session already up keeps
 * working, a new connection must pin the new hash, the old one fails. */
static void rotating_the_certificate(void) {
  start();
  CHECK(connect_to("/echo", NULL));
  uint8_t old[32], fresh[32];
  memcpy(old, srv_hash, 32);
  CHECK_EQ(wt_transport_set_certificate(srv, NULL, NULL), 0);
  memcpy(fresh, wt_transport_cert_sha256(srv), 32);
  CHECK(memcmp(old, fresh, 32) != 0);
  char hex[65];
  wt_hex_sha256(fresh, hex);
  CHECK_LINE(SL, "server", "certificate replaced", hex, NULL);
  check_client_add(&CL, 1, 200000); /* the old connection still works */
  CHECK(run_until(checks_done, 5));
  CHECK(!check_client_failed(&CL));
  CHECK(!connect_second(old));
  CHECK_EQ(CL2.error, WT_ERR_TLS);
  CHECK(connect_second(fresh));
  /* Bad arguments leave the certificate as it was. */
  CHECK_EQ(wt_transport_set_certificate(srv, "x", NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_transport_set_certificate(srv, "-----BEGIN CERTIFICATE-----\n", "junk"), WT_ERR_TLS);
  CHECK_MEM(wt_transport_cert_sha256(srv), fresh, 32);
  CHECK_EQ(wt_transport_set_certificate(cli, NULL, NULL), WT_ERR_INVALID_ARGUMENT); /* not a server */
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  RUN(path_not_found);
  RUN(origin_rejected);
  RUN(certificate_hash_mismatch);
  RUN(no_common_subprotocol);
  RUN(server_without_the_clients_draft);
  RUN(flow_control_limit_hit);
  RUN(orderly_session_is_quiet);
  RUN(rotating_the_certificate);
  wt_transport_free(cli);
  wt_transport_free(srv);
  return TEST_REPORT();
}
