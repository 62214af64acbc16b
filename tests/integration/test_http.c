/*
 * test_http.c: plain HTTP/3 requests between our client and our server over
 * UDP on 127.0.0.1, both transports in this process (embeddable mode), as
 * test_loopback.c does for sessions. Covers: a 16 MiB GET and a 16 MiB POST
 * streamed both ways with backpressure and checked by SHA-256, HEAD, 404
 * and the library's 405, and a plain request running on the same
 * connection as a WebTransport session on a route that serves both.
 */
#include <gnutls/crypto.h>
#include <stdlib.h>

#include "test.h"
#include "testapp.h"
#include "webtransport.h"

#define BIG (16u << 20)

static wt_transport *srv, *cli;
static uint8_t srv_hash[32];
static char base[64];

/* The body both sides agree on: byte o of a deterministic pattern. */
static void pattern(uint64_t off, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t o = off + i;
    p[i] = (uint8_t)((o * 7) ^ (o >> 9) ^ (o >> 17));
  }
}

static void pattern_sha256(uint8_t out[32]) {
  gnutls_hash_hd_t h;
  gnutls_hash_init(&h, GNUTLS_DIG_SHA256);
  uint8_t buf[65536];
  for (uint64_t off = 0; off < BIG; off += sizeof(buf)) {
    pattern(off, buf, sizeof(buf));
    gnutls_hash(h, buf, sizeof(buf));
  }
  gnutls_hash_deinit(h, out);
}

static int run_until(int (*done)(void), double seconds) { return testapp_run_until(srv, cli, done, seconds); }

/* ---- server: /blob (GET/HEAD of the pattern), /upload (POST, answers the
 * SHA-256 of the body in hex), /both (GET "page" + WebTransport echo),
 * /wt (WebTransport only) ---- */

typedef struct srv_req {
  uint64_t sent;
  gnutls_hash_hd_t h;
  int hashing;
  int blocked; /* a write came back short */
} srv_req;

static int server_max_writes_blocked;

static void blob_pump(wt_http_request *r, srv_req *q) {
  uint8_t buf[32768];
  while (q->sent < BIG) {
    size_t n = BIG - q->sent < sizeof(buf) ? (size_t)(BIG - q->sent) : sizeof(buf);
    pattern(q->sent, buf, n);
    ssize_t w = wt_http_request_write(r, buf, n, q->sent + n == BIG);
    if (w == WT_ERR_AGAIN) {
      server_max_writes_blocked++;
      return;
    }
    if (w < 0) {
      wt_http_request_abort(r, 0x102);
      return;
    }
    q->sent += (uint64_t)w;
    if ((size_t)w < n) {
      server_max_writes_blocked++;
      return;
    }
  }
}

static void upload_read(wt_http_request *r, srv_req *q) {
  uint8_t buf[16384];
  int fin = 0;
  ssize_t n;
  while ((n = wt_http_request_read(r, buf, sizeof(buf), &fin)) > 0 || (n == 0 && fin)) {
    gnutls_hash(q->h, buf, (size_t)n);
    if (fin) break;
  }
  if (!fin) return;
  uint8_t d[32];
  char hex[65];
  gnutls_hash_deinit(q->h, d);
  q->hashing = 0;
  wt_hex_sha256(d, hex);
  wt_http_header hd[] = {{"content-type", "text/plain"}, {"content-length", "64"}};
  wt_http_request_respond(r, 200, hd, 2, 0);
  wt_http_request_write(r, hex, 64, 1);
}

static void server_http(const wt_event *ev) {
  wt_http_request *r = ev->http;
  srv_req *q = wt_http_request_context(r);
  const char *path = wt_http_request_path(r), *method = wt_http_request_method(r);
  switch (ev->type) {
  case WT_EV_HTTP_REQUEST:
    q = calloc(1, sizeof(*q));
    wt_http_request_set_context(r, q);
    if (strcmp(path, "/blob") == 0 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
      char len[32];
      snprintf(len, sizeof(len), "%u", BIG);
      wt_http_header hd[] = {{"content-type", "application/octet-stream"}, {"content-length", len}};
      int head = strcmp(method, "HEAD") == 0;
      wt_http_request_respond(r, 200, hd, 2, head);
      if (!head) blob_pump(r, q);
    } else if (strcmp(path, "/upload") == 0 && strcmp(method, "POST") == 0) {
      gnutls_hash_init(&q->h, GNUTLS_DIG_SHA256);
      q->hashing = 1;
      upload_read(r, q);
    } else if (strcmp(path, "/both") == 0) {
      wt_http_header hd[] = {{"content-type", "text/html"}};
      wt_http_request_respond(r, 200, hd, 1, 0);
      wt_http_request_write(r, "page", 4, 1);
    } else {
      wt_http_header hd[] = {{"allow", "GET, HEAD"}};
      wt_http_request_respond(r, 405, hd, 1, 1);
    }
    break;
  case WT_EV_HTTP_READABLE:
    if (q && q->hashing) upload_read(r, q);
    break;
  case WT_EV_HTTP_WRITABLE:
    if (q && strcmp(path, "/blob") == 0) blob_pump(r, q);
    break;
  case WT_EV_HTTP_CLOSED:
    if (q && q->hashing) gnutls_hash_deinit(q->h, NULL);
    free(q);
    break;
  default: break;
  }
}

/* Sessions on /both echo each bidi stream. */
static int server_sessions;
static void server_event(const wt_event *ev, void *ud) {
  if (ev->http) {
    server_http(ev);
    return;
  }
  wt_stream *st;
  uint8_t buf[4096];
  int fin;
  switch (ev->type) {
  case WT_EV_SESSION_READY: server_sessions++; break;
  case WT_EV_SESSION_STREAM:
    while (wt_session_accept_stream(ev->session, &st) == 0) {
    }
    break;
  case WT_EV_STREAM_READABLE: {
    ssize_t n = wt_stream_read(ev->stream, buf, sizeof(buf), &fin);
    if (n >= 0) wt_stream_write(ev->stream, buf, (size_t)n, fin);
    break;
  }
  default: break;
  }
}

/* ---- client ---- */

typedef struct fetch {
  wt_http_request *r;
  int status, closed, error, fin;
  uint64_t got, sent, to_send;
  char body[128];
  char ctype[64], clen[32];
  gnutls_hash_hd_t h;
} fetch;

static void upload_pump(fetch *f) {
  uint8_t buf[32768];
  while (f->sent < f->to_send) {
    size_t n = f->to_send - f->sent < sizeof(buf) ? (size_t)(f->to_send - f->sent) : sizeof(buf);
    pattern(f->sent, buf, n);
    ssize_t w = wt_http_request_write(f->r, buf, n, f->sent + n == f->to_send);
    if (w <= 0) return;
    f->sent += (uint64_t)w;
  }
}

static void client_event(const wt_event *ev, void *ud) {
  fetch *f = ud;
  uint8_t buf[16384];
  int fin;
  ssize_t n;
  switch (ev->type) {
  case WT_EV_HTTP_RESPONSE: {
    f->status = wt_http_request_status(ev->http);
    const char *ct = wt_http_response_header(ev->http, "content-type");
    const char *cl = wt_http_response_header(ev->http, "content-length");
    snprintf(f->ctype, sizeof(f->ctype), "%s", ct ? ct : "");
    snprintf(f->clen, sizeof(f->clen), "%s", cl ? cl : "");
    break;
  }
  case WT_EV_HTTP_READABLE:
    while ((n = wt_http_request_read(ev->http, buf, sizeof(buf), &fin)) >= 0) {
      gnutls_hash(f->h, buf, (size_t)n);
      size_t keep = f->got < sizeof(f->body) - 1 ? sizeof(f->body) - 1 - f->got : 0;
      memcpy(f->body + f->got, buf, (size_t)n < keep ? (size_t)n : keep);
      f->got += (uint64_t)n;
      if (fin) {
        f->fin = 1;
        break;
      }
    }
    break;
  case WT_EV_HTTP_WRITABLE: upload_pump(f); break;
  case WT_EV_HTTP_CLOSED:
    f->closed = 1;
    f->error = ev->error;
    break;
  default: break;
  }
}

static void options(wt_connect_options *o, fetch *f) {
  wt_connect_options_init(o);
  o->verify = WT_VERIFY_HASHES;
  o->cert_hashes = (const uint8_t(*)[32])srv_hash;
  o->ncert_hashes = 1;
  o->pooled = 1;
  o->on_event = client_event;
  o->user_data = f;
}

static fetch *F;
static int fetch_closed(void) { return F->closed; }

/* Sends method to path (uploading `upload` pattern bytes) and runs until the
 * exchange is over; the response body's SHA-256 goes to `digest`. */
static int fetch_run(fetch *f, const char *method, const char *path, uint64_t upload, uint8_t digest[32]) {
  char url[128];
  wt_connect_options o;
  memset(f, 0, sizeof(*f));
  options(&o, f);
  gnutls_hash_init(&f->h, GNUTLS_DIG_SHA256);
  snprintf(url, sizeof(url), "%s%s", base, path);
  f->to_send = upload;
  int rv = wt_http_request_send(cli, method, url, NULL, 0, &o, &f->r);
  if (rv == 0 && !upload) rv = wt_http_request_finish(f->r);
  F = f;
  if (rv == 0 && !run_until(fetch_closed, 120)) rv = WT_ERR_TIMEOUT;
  gnutls_hash_deinit(f->h, digest);
  return rv;
}

static void start(void) {
  wt_transport_config c;
  wt_transport_config_init(&c);
  c.server = 1;
  c.bind_addr = "127.0.0.1";
  c.log_level = WT_LOG_WARN;
  c.on_event = server_event;
  if (wt_transport_new(&c, &srv)) abort();
  memcpy(srv_hash, wt_transport_cert_sha256(srv), 32);
  if (wt_transport_route(srv, "/blob", WT_ROUTE_HTTP, server_event, NULL) ||
      wt_transport_route(srv, "/upload", WT_ROUTE_HTTP, server_event, NULL) ||
      wt_transport_route(srv, "/both", WT_ROUTE_HTTP | WT_ROUTE_WEBTRANSPORT, server_event, NULL) ||
      wt_transport_route(srv, "/wt", WT_ROUTE_WEBTRANSPORT, server_event, NULL))
    abort();
  wt_transport_config_init(&c);
  c.bind_addr = "127.0.0.1";
  c.log_level = WT_LOG_WARN;
  if (wt_transport_new(&c, &cli)) abort();
  snprintf(base, sizeof(base), "https://localhost:%u", wt_transport_port(srv));
}

/* ---- tests ---- */

static void get_16mib_streams_with_backpressure(void) {
  fetch f;
  uint8_t want[32], got[32];
  pattern_sha256(want);
  server_max_writes_blocked = 0;
  CHECK_EQ(fetch_run(&f, "GET", "/blob", 0, got), 0);
  CHECK_EQ(f.error, 0);
  CHECK_EQ(f.status, 200);
  CHECK(f.fin);
  CHECK_EQ(f.got, BIG);
  CHECK(strcmp(f.clen, "16777216") == 0);
  CHECK_MEM(got, want, 32);
  /* 16 MiB cannot fit a 256 KiB send buffer: the server was held back. */
  CHECK(server_max_writes_blocked > 0);
}

static void post_16mib_is_hashed_by_the_server(void) {
  fetch f;
  uint8_t want[32], got[32];
  char hex[65];
  pattern_sha256(want);
  wt_hex_sha256(want, hex);
  CHECK_EQ(fetch_run(&f, "POST", "/upload", BIG, got), 0);
  CHECK_EQ(f.error, 0);
  CHECK_EQ(f.status, 200);
  CHECK_EQ(f.sent, BIG);
  CHECK_EQ(f.got, 64);
  CHECK_MEM(f.body, hex, 64);
}

static void head_has_headers_and_no_body(void) {
  fetch f;
  uint8_t d[32];
  CHECK_EQ(fetch_run(&f, "HEAD", "/blob", 0, d), 0);
  CHECK_EQ(f.error, 0);
  CHECK_EQ(f.status, 200);
  CHECK(strcmp(f.clen, "16777216") == 0);
  CHECK_EQ(f.got, 0);
  CHECK(f.fin);
}

static void unknown_path_404_and_wrong_method_405(void) {
  fetch f;
  uint8_t d[32];
  CHECK_EQ(fetch_run(&f, "GET", "/nothing", 0, d), 0);
  CHECK_EQ(f.status, 404);
  /* A WebTransport-only route: the library answers 405. */
  CHECK_EQ(fetch_run(&f, "GET", "/wt?x=1", 0, d), 0);
  CHECK_EQ(f.status, 405);
  /* A method the route's handler does not serve. */
  CHECK_EQ(fetch_run(&f, "DELETE", "/blob", 0, d), 0);
  CHECK_EQ(f.status, 405);
  CHECK_EQ(f.error, 0);
}

/* ---- a session and a plain request on one connection ---- */

static int cl_ready, cl_echoed;
static char cl_echo[16];
static void session_event(const wt_event *ev, void *ud) {
  uint8_t buf[64];
  int fin;
  if (ev->type == WT_EV_SESSION_READY) cl_ready = 1;
  if (ev->type == WT_EV_STREAM_READABLE) {
    ssize_t n = wt_stream_read(ev->stream, buf, sizeof(buf), &fin);
    if (n > 0) memcpy(cl_echo, buf, (size_t)n < sizeof(cl_echo) - 1 ? (size_t)n : sizeof(cl_echo) - 1);
    if (fin) cl_echoed = 1;
  }
}
static int session_ready(void) { return cl_ready; }
static fetch *G;
static int both_done(void) { return G->closed && cl_echoed; }

static void session_and_request_share_a_connection(void) {
  wt_stats before, after;
  wt_transport_get_stats(srv, &before);
  wt_connect_options o;
  fetch f;
  memset(&f, 0, sizeof(f));
  options(&o, &f);
  o.on_event = session_event;
  o.user_data = NULL;
  char url[128];
  snprintf(url, sizeof(url), "%s/both", base);
  wt_session *s;
  cl_ready = cl_echoed = 0;
  CHECK_EQ(wt_session_connect(cli, url, &o, &s), 0);
  CHECK(run_until(session_ready, 30));
  /* The GET goes on the session's connection, and while its 16 MiB flow,
   * the session echoes a stream. */
  options(&o, &f);
  gnutls_hash_init(&f.h, GNUTLS_DIG_SHA256);
  snprintf(url, sizeof(url), "%s/blob", base);
  CHECK_EQ(wt_http_request_send(cli, "GET", url, NULL, 0, &o, &f.r), 0);
  CHECK_EQ(wt_http_request_finish(f.r), 0);
  wt_stream *st;
  CHECK_EQ(wt_session_open_stream(s, 1, &st), 0);
  CHECK_EQ(wt_stream_write(st, "hello", 5, 1), 5);
  G = &f;
  CHECK(run_until(both_done, 120));
  uint8_t want[32], got[32];
  gnutls_hash_deinit(f.h, got);
  pattern_sha256(want);
  CHECK_EQ(f.status, 200);
  CHECK_EQ(f.got, BIG);
  CHECK_MEM(got, want, 32);
  CHECK(strcmp(cl_echo, "hello") == 0);
  wt_transport_get_stats(srv, &after);
  CHECK_EQ(after.connections_accepted - before.connections_accepted, 1);
  CHECK_EQ(server_sessions, 1);
  /* The page on the same route, still on that connection. */
  uint8_t d[32];
  CHECK_EQ(fetch_run(&f, "GET", "/both", 0, d), 0);
  CHECK_EQ(f.status, 200);
  CHECK(strcmp(f.body, "page") == 0);
  wt_transport_get_stats(srv, &after);
  CHECK_EQ(after.connections_accepted - before.connections_accepted, 1);
  wt_session_close(s, 0, "", 0);
}

static void api_refuses_bad_arguments(void) {
  wt_http_request *r;
  wt_http_header bad[] = {{"Upper", "x"}};
  char url[128];
  snprintf(url, sizeof(url), "%s/blob", base);
  CHECK_EQ(wt_http_request_send(cli, "CONNECT", url, NULL, 0, NULL, &r), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_http_request_send(cli, "GET", url, bad, 1, NULL, &r), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_transport_route(srv, "nope", WT_ROUTE_HTTP, NULL, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_transport_route(srv, "/x?y", WT_ROUTE_HTTP, NULL, NULL), WT_ERR_INVALID_ARGUMENT);
}

int main(void) {
  start();
  RUN(get_16mib_streams_with_backpressure);
  RUN(post_16mib_is_hashed_by_the_server);
  RUN(head_has_headers_and_no_body);
  RUN(unknown_path_404_and_wrong_method_405);
  RUN(session_and_request_share_a_connection);
  RUN(api_refuses_bad_arguments);
  wt_transport_free(cli);
  wt_transport_free(srv);
  return TEST_REPORT();
}
