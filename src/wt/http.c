/*
 * http.c: plain HTTP/3 requests (GET, HEAD, POST, ...) on the connection a
 * WebTransport server or client already has.
 *
 * For: the wt_http_request object on both sides: routing a server request
 * to its route's callback, client requests (sent once the server's SETTINGS
 * arrived), the bodies both ways with backpressure (received bytes are
 * credited to QUIC only as the application reads them; writes take what
 * fits in the stream's send buffer), aborts, and the WT_EV_HTTP_* events.
 * Not for: framing and content-length checks on received messages (h3conn.c)
 * or WebTransport sessions (wtconn.c).
 *
 * Lifetime: a request is freed right after its WT_EV_HTTP_CLOSED callback,
 * which comes once our body ended (FIN or abort) and the peer's body was
 * read to its end (or aborted). A server that ends its response before the
 * request body ended stops reading it (STOP_SENDING with H3_NO_ERROR).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h3/codes.h"
#include "wt/wt_internal.h"

enum { HEV_REQUEST = 1u << 0, HEV_RESPONSE = 1u << 1, HEV_READABLE = 1u << 2, HEV_WRITABLE = 1u << 3 };

/* ------------------------------------------------------------------------ */
/* Object                                                                   */

static wt_http_request *http_new(wt_conn *c, int is_server) {
  wt_http_request *r = calloc(1, sizeof(*r));
  if (!r) return NULL;
  r->conn = c;
  r->id = -1;
  r->is_server = (uint8_t)is_server;
  r->out_length = -1;
  wt_h3_headers_init(&r->fields);
  wt_h3_headers_init(&r->out);
  wt_buf_init(&r->rbuf);
  r->next = c->http_all;
  if (c->http_all) c->http_all->prev = r;
  c->http_all = r;
  return r;
}

static void http_free(wt_http_request *r) {
  wt_conn *c = r->conn;
  if (r->prev)
    r->prev->next = r->next;
  else
    c->http_all = r->next;
  if (r->next) r->next->prev = r->prev;
  if (r->id >= 0) wt_idmap_del(&c->http, (uint64_t)r->id);
  wt_h3_headers_free(&r->fields);
  wt_h3_headers_free(&r->out);
  wt_buf_free(&r->rbuf);
  free(r);
}

void wt_http_free_all(wt_conn *c) {
  while (c->http_all)
    http_free(c->http_all);
  wt_idmap_free(&c->http);
}

static void mark(wt_http_request *r, uint32_t ev) {
  r->pending |= ev;
  if (!r->dirty) {
    r->dirty = 1;
    r->dirty_next = r->conn->dirty_http;
    r->conn->dirty_http = r;
    wt_conn_wake(r->conn);
  }
}

static wt_http_request *by_id(wt_conn *c, int64_t sid) { return wt_idmap_get(&c->http, (uint64_t)sid); }

/* Ends the exchange early: our side is reset and the peer's stopped unless
 * they are over already. */
static void fail(wt_http_request *r, int err, uint64_t code, const char *why) {
  if (r->error) return;
  r->error = err;
  r->code = code;
  snprintf(r->detail, sizeof(r->detail), "%s", why);
  wt_conn *c = r->conn;
  if (r->id >= 0) {
    if (!r->send_done) wt_h3conn_reset(c->h3, r->id, code);
    if (!r->recv_done) wt_h3conn_stop_sending(c->h3, r->id, code);
    wt_conn_track_end(c, r->id);
  }
  r->send_done = r->recv_done = 1;
  mark(r, 0);
}

/* The body from the peer is no longer wanted: what is buffered is dropped
 * and credited, and the peer is asked to stop. */
static void stop_receiving(wt_http_request *r) {
  if (r->recv_done) return;
  r->recv_done = 1;
  size_t held = wt_buf_readable(&r->rbuf);
  wt_buf_clear(&r->rbuf);
  wt_h3conn_consumed(r->conn->h3, r->id, held);
  if (!r->fin_received) wt_h3conn_stop_sending(r->conn->h3, r->id, H3_NO_ERROR);
}

static void on_send_end(wt_http_request *r) {
  r->send_done = 1;
  wt_conn_track_end(r->conn, r->id);
  /* RFC 9114 §4.1: a complete response may leave the request unread. */
  if (r->is_server) stop_receiving(r);
  mark(r, 0);
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */

/* content-length of a message we send, or -1 (-2 when malformed). */
static int64_t parse_length(const char *v) {
  if (!*v) return -2;
  uint64_t n = 0;
  for (; *v; v++) {
    if (*v < '0' || *v > '9' || n > (UINT64_C(1) << 62) / 10) return -2;
    n = n * 10 + (uint64_t)(*v - '0');
  }
  return (int64_t)n;
}

/* Copies the application's fields after the pseudo-headers already in `h`
 * and notes their content-length. */
static int add_fields(wt_http_request *r, wt_h3_headers *h, const wt_http_header *hdrs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!hdrs[i].name || !hdrs[i].value) return WT_ERR_INVALID_ARGUMENT;
    if (wt_h3_headers_add(h, hdrs[i].name, strlen(hdrs[i].name), hdrs[i].value, strlen(hdrs[i].value)))
      return WT_ERR_NOMEM;
    if (strcmp(hdrs[i].name, "content-length") == 0) {
      int64_t len = parse_length(hdrs[i].value);
      if (len < 0 || (r->out_length >= 0 && r->out_length != len)) return WT_ERR_INVALID_ARGUMENT;
      r->out_length = len;
    }
  }
  return 0;
}

/* Sends a field section as one HEADERS frame. */
static int send_fields(wt_conn *c, const wt_h3_headers *h, int request, int fin, int64_t *sid) {
  wt_qpack_field *f = calloc(h->n ? h->n : 1, sizeof(*f));
  if (!f) return WT_ERR_NOMEM;
  for (size_t i = 0; i < h->n; i++)
    f[i] = (wt_qpack_field){h->fields[i].name, h->fields[i].name_len, h->fields[i].value, h->fields[i].value_len};
  int rv = request ? wt_h3conn_send_request(c->h3, f, h->n, fin, sid) : wt_h3conn_send_headers(c->h3, *sid, f, h->n, fin);
  free(f);
  return rv;
}

/* ------------------------------------------------------------------------ */
/* Server                                                                   */

void wt_http_on_request(wt_conn *c, int64_t sid, wt_h3_headers *h) {
  const wt_route *rt = wt_router_match(c->cfg.router, h->path);
  if (strcmp(h->method, "CONNECT") == 0) {
    /* A plain or non-WebTransport extended CONNECT (a WebSocket, say):
     * say what came and what was expected. */
    char why[300];
    snprintf(why, sizeof(why),
             ":protocol is %s%.40s%s, expected \"webtransport\" (drafts 02-14) or \"webtransport-h3\" (draft 15); "
             "the client is not speaking WebTransport",
             h->protocol ? "\"" : "", h->protocol ? h->protocol : "missing (a plain CONNECT)", h->protocol ? "\"" : "");
    wt_conn_refuse(c, sid, 405, NULL, why);
    return;
  }
  if (!rt || !(rt->flags & WT_ROUTE_HTTP)) {
    /* A server with no plain routes is a WebTransport endpoint: the method
     * is what it does not allow. */
    int has_http = c->cfg.router && (c->cfg.router->flags_any & WT_ROUTE_HTTP);
    if (rt || !has_http)
      wt_conn_refuse(c, sid, 405, "CONNECT", "no plain HTTP on this path");
    else
      wt_conn_refuse(c, sid, 404, NULL, "no route for the path");
    return;
  }
  wt_http_request *r = http_new(c, 1);
  if (!r || wt_idmap_put(&c->http, (uint64_t)sid, r)) {
    if (r) http_free(r);
    wt_conn_refuse(c, sid, 503, NULL, "out of memory");
    return;
  }
  r->id = sid;
  r->fields = *h;
  wt_h3_headers_init(h);
  r->cb = rt->cb;
  r->cb_user_data = rt->user_data;
  mark(r, HEV_REQUEST);
}

int wt_http_request_respond(wt_http_request *r, int status, const wt_http_header *headers, size_t n, int fin) {
  if (!r || !r->is_server || status < 200 || status > 599 || (n && !headers)) return WT_ERR_INVALID_ARGUMENT;
  if (r->error) return WT_ERR_CLOSED;
  if (r->sent) return WT_ERR_STATE;
  wt_h3_headers h;
  wt_h3_headers_init(&h);
  char st[4];
  snprintf(st, sizeof(st), "%03d", status);
  const char *why;
  int rv = wt_h3_headers_add(&h, ":status", 7, st, 3);
  if (!rv) rv = add_fields(r, &h, headers, n);
  if (!rv && wt_h3_headers_check_response(&h, &why)) rv = WT_ERR_INVALID_ARGUMENT;
  r->no_body_out = strcmp(r->fields.method, "HEAD") == 0 || status == 204 || status == 304;
  if (r->no_body_out) r->out_length = -1;
  if (!rv && fin && r->out_length > 0) rv = WT_ERR_STATE;
  if (!rv) rv = send_fields(r->conn, &h, 0, fin, &r->id);
  wt_h3_headers_free(&h);
  if (rv) return rv;
  r->sent = 1;
  if (fin) on_send_end(r);
  wt_conn_wake(r->conn);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Client                                                                   */

int wt_conn_http_reusable(const wt_conn *c) {
  return !c->cfg.is_server && !c->closed && !c->winding_down && !wt_h3conn_goaway_received(c->h3) &&
         !wt_h3conn_is_closed(c->h3);
}

static void client_send(wt_conn *c, wt_http_request *r) {
  int rv = send_fields(c, &r->out, 1, r->fin_pending, &r->id);
  if (!rv && wt_idmap_put(&c->http, (uint64_t)r->id, r)) rv = WT_ERR_NOMEM;
  if (rv) {
    fail(r, rv, H3_INTERNAL_ERROR, "cannot send the request");
    return;
  }
  r->sent = 1;
  if (r->fin_pending) on_send_end(r);
  mark(r, HEV_WRITABLE);
}

void wt_http_on_settings(wt_conn *c) {
  for (wt_http_request *r = c->http_all, *next; r; r = next) {
    next = r->next;
    if (!r->is_server && !r->sent && !r->error) client_send(c, r);
  }
}

int wt_http_start(wt_conn *c, const char *method, const wt_url *u, const wt_http_header *hdrs, size_t n,
                  const wt_connect_options *opts, wt_http_request **out) {
  if (!method || !*method || strcmp(method, "CONNECT") == 0 || (n && !hdrs)) return WT_ERR_INVALID_ARGUMENT;
  wt_http_request *r = http_new(c, 0);
  if (!r) return WT_ERR_NOMEM;
  /* The complete request is built and checked now, as the server will see
   * it, and kept: method, path and authority point into it. */
  const char *pseudo[][2] = {{":method", method}, {":scheme", "https"}, {":authority", u->authority}, {":path", u->path}};
  int rv = 0;
  const char *why;
  for (size_t i = 0; i < 4 && !rv; i++)
    rv = wt_h3_headers_add(&r->out, pseudo[i][0], strlen(pseudo[i][0]), pseudo[i][1], strlen(pseudo[i][1]));
  if (!rv) rv = add_fields(r, &r->out, hdrs, n);
  if (!rv && wt_h3_headers_check_request(&r->out, 0, &why)) rv = WT_ERR_INVALID_ARGUMENT;
  if (rv) {
    http_free(r);
    return rv;
  }
  r->cb = opts ? opts->on_event : NULL;
  r->cb_user_data = opts ? opts->user_data : NULL;
  *out = r;
  if (c->settings_seen) client_send(c, r);
  return 0;
}

int wt_http_on_response(wt_conn *c, int64_t sid, wt_h3_headers *h) {
  wt_http_request *r = by_id(c, sid);
  if (!r || r->is_server) return r != NULL;
  if (r->fields.n == 0) {
    r->fields = *h;
    wt_h3_headers_init(h);
    mark(r, HEV_RESPONSE);
  }
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

size_t wt_http_on_data(wt_conn *c, int64_t sid, const uint8_t *data, size_t len) {
  wt_http_request *r = by_id(c, sid);
  if (!r || r->recv_done) return 0;
  if (wt_buf_append(&r->rbuf, data, len)) {
    fail(r, WT_ERR_NOMEM, H3_INTERNAL_ERROR, "out of memory buffering a body");
    return 0;
  }
  mark(r, HEV_READABLE);
  return len;
}

int wt_http_on_end(wt_conn *c, int64_t sid, int reset, uint64_t code) {
  wt_http_request *r = by_id(c, sid);
  if (!r) return 0;
  if (reset) {
    char why[96];
    snprintf(why, sizeof(why), "peer reset the request stream with 0x%llx", (unsigned long long)code);
    /* The peer's reset ends its side; ours follows with the same code. */
    r->recv_done = 1;
    fail(r, WT_ERR_CLOSED, code, why);
    return 1;
  }
  r->fin_received = 1;
  if (!r->recv_done) mark(r, HEV_READABLE);
  return 1;
}

int wt_http_on_stop(wt_conn *c, int64_t sid, uint64_t code) {
  wt_http_request *r = by_id(c, sid);
  if (!r) return 0;
  /* RFC 9114 §4.1: a server that answered early needs no more of the
   * request; the response still has to be read. */
  if (!r->is_server && code == H3_NO_ERROR) {
    if (!r->send_done) {
      r->send_done = 1;
      mark(r, 0);
    }
    return 1;
  }
  if (!r->send_done) {
    char why[96];
    snprintf(why, sizeof(why), "peer stopped reading with 0x%llx", (unsigned long long)code);
    fail(r, WT_ERR_CLOSED, code, why);
  }
  return 1;
}

void wt_http_on_writable(wt_conn *c, int64_t sid) {
  wt_http_request *r = by_id(c, sid);
  if (r && !r->send_done) mark(r, HEV_WRITABLE);
}

void wt_http_on_closed(wt_conn *c, int err, const char *detail) {
  for (wt_http_request *r = c->http_all; r; r = r->next) {
    if (r->send_done && r->recv_done) continue;
    r->error = err ? err : WT_ERR_CLOSED;
    snprintf(r->detail, sizeof(r->detail), "connection closed%s%s", detail ? ": " : "", detail ? detail : "");
    r->send_done = r->recv_done = 1;
    mark(r, 0);
  }
}

/* ------------------------------------------------------------------------ */
/* Application calls                                                        */

ssize_t wt_http_request_write(wt_http_request *r, const void *data, size_t len, int fin) {
  if (!r || (len && !data)) return WT_ERR_INVALID_ARGUMENT;
  if (r->error) return WT_ERR_CLOSED;
  if (r->send_done || (r->is_server && !r->sent) || (r->no_body_out && len)) return WT_ERR_STATE;
  if (r->out_length >= 0) {
    uint64_t after = r->out_sent + len;
    if (after > (uint64_t)r->out_length) return WT_ERR_TOO_LARGE;
    if (fin && after != (uint64_t)r->out_length) return WT_ERR_STATE;
  }
  if (!r->sent) { /* client: the request waits for SETTINGS */
    if (!len && fin) {
      r->fin_pending = 1;
      return 0;
    }
    return WT_ERR_AGAIN;
  }
  wt_conn *c = r->conn;
  ssize_t n = wt_h3conn_write_data(c->h3, r->id, data, len, fin, c->cfg.stream_send_buffer);
  if (n < 0) return n;
  r->out_sent += (uint64_t)n;
  if (fin && (size_t)n == len) on_send_end(r);
  wt_conn_wake(c);
  return n == 0 && len ? WT_ERR_AGAIN : n;
}

int wt_http_request_finish(wt_http_request *r) {
  ssize_t n = wt_http_request_write(r, NULL, 0, 1);
  return n < 0 ? (int)n : 0;
}

ssize_t wt_http_request_read(wt_http_request *r, void *buf, size_t cap, int *fin) {
  if (!r || !fin || (cap && !buf)) return WT_ERR_INVALID_ARGUMENT;
  *fin = 0;
  if (r->error) return WT_ERR_CLOSED;
  if (r->recv_done) return *fin = 1, 0;
  size_t n = wt_buf_read(&r->rbuf, buf, cap);
  if (n) wt_h3conn_consumed(r->conn->h3, r->id, n);
  if (!wt_buf_readable(&r->rbuf) && r->fin_received) {
    *fin = 1;
    r->recv_done = 1;
    mark(r, 0);
  } else if (n == 0) {
    return WT_ERR_AGAIN;
  }
  return (ssize_t)n;
}

int wt_http_request_abort(wt_http_request *r, uint64_t code) {
  if (!r) return WT_ERR_INVALID_ARGUMENT;
  if (r->error || (r->send_done && r->recv_done)) return WT_ERR_STATE;
  fail(r, WT_ERR_CLOSED, code, "aborted by the application");
  wt_conn_wake(r->conn);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

static void http_event(wt_http_request *r, wt_event_type type) {
  wt_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.http = r;
  if (type == WT_EV_HTTP_CLOSED) {
    ev.error = r->error;
    ev.code = (uint32_t)r->code;
    ev.has_code = r->error && r->code;
    ev.detail = r->detail;
  }
  wt_conn_emit(r->conn, r->cb, r->cb_user_data, &ev);
}

static int take(uint32_t *pending, uint32_t bit) {
  if (!(*pending & bit)) return 0;
  *pending &= ~bit;
  return 1;
}

static void deliver(wt_http_request *r) {
  if (!r->error) {
    if (take(&r->pending, HEV_REQUEST)) {
      r->announced = 1;
      http_event(r, WT_EV_HTTP_REQUEST);
    }
    if (take(&r->pending, HEV_RESPONSE)) http_event(r, WT_EV_HTTP_RESPONSE);
    if (take(&r->pending, HEV_READABLE) && !r->recv_done) http_event(r, WT_EV_HTTP_READABLE);
    if (take(&r->pending, HEV_WRITABLE) && !r->send_done) http_event(r, WT_EV_HTTP_WRITABLE);
  }
  if (r->dirty || !(r->error || (r->send_done && r->recv_done))) return;
  /* A server request the application never saw ends silently. */
  if (!r->is_server || r->announced) http_event(r, WT_EV_HTTP_CLOSED);
  http_free(r);
}

void wt_http_dispatch(wt_conn *c) {
  while (c->dirty_http) {
    wt_http_request *r = c->dirty_http;
    c->dirty_http = r->dirty_next;
    r->dirty = 0;
    deliver(r);
  }
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                */

const char *wt_http_request_method(const wt_http_request *r) {
  return !r ? NULL : r->is_server ? r->fields.method : r->out.method;
}
const char *wt_http_request_path(const wt_http_request *r) {
  return !r ? NULL : r->is_server ? r->fields.path : r->out.path;
}
const char *wt_http_request_authority(const wt_http_request *r) {
  return !r ? NULL : r->is_server ? r->fields.authority : r->out.authority;
}
const char *wt_http_request_header(const wt_http_request *r, const char *name) {
  return r && name && r->is_server ? wt_h3_headers_get(&r->fields, name) : NULL;
}
size_t wt_http_request_header_count(const wt_http_request *r) { return r && r->is_server ? r->fields.n : 0; }
int wt_http_request_header_at(const wt_http_request *r, size_t i, const char **name, const char **value) {
  if (!r || !r->is_server || i >= r->fields.n || !name || !value) return WT_ERR_INVALID_ARGUMENT;
  *name = r->fields.fields[i].name;
  *value = r->fields.fields[i].value;
  return 0;
}
int wt_http_request_status(const wt_http_request *r) { return r && !r->is_server ? r->fields.status : 0; }
const char *wt_http_response_header(const wt_http_request *r, const char *name) {
  return r && name && !r->is_server ? wt_h3_headers_get(&r->fields, name) : NULL;
}
void wt_http_request_set_context(wt_http_request *r, void *ctx) {
  if (r) r->context = ctx;
}
void *wt_http_request_context(const wt_http_request *r) { return r ? r->context : NULL; }
int64_t wt_http_request_stream_id(const wt_http_request *r) { return r ? r->id : -1; }
