/*
 * testapp.c: echo server and checking client for tests (see testapp.h).
 */
#include "testapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "testloop.h"

uint8_t testapp_byte(uint64_t seed, uint64_t i) { return (uint8_t)((i * 2654435761u + seed * 40503u) >> 7); }

/* ------------------------------------------------------------------------ */
/* Event log                                                                */

void testapp_log_event(testapp_log *l, const wt_event *ev) {
  if (!l) return;
  if (l->n == TESTAPP_LOG_MAX) {
    l->overflow++;
    return;
  }
  testapp_event *e = &l->ev[l->n++];
  e->type = ev->type;
  e->session_id = wt_session_id(ev->session);
  e->stream_id = ev->stream ? wt_stream_id(ev->stream) : TESTAPP_NO_STREAM;
  e->code = ev->code;
  e->has_code = ev->has_code;
  e->by_peer = ev->by_peer;
  e->error = ev->error;
}

static int log_match(const testapp_event *e, wt_event_type type, uint64_t stream_id) {
  return e->type == type && (stream_id == TESTAPP_ANY_STREAM || e->stream_id == stream_id);
}

int testapp_log_find(const testapp_log *l, int from, wt_event_type type, uint64_t stream_id) {
  for (int i = from < 0 ? 0 : from; i < l->n; i++)
    if (log_match(&l->ev[i], type, stream_id)) return i;
  return -1;
}

int testapp_log_count(const testapp_log *l, wt_event_type type, uint64_t stream_id) {
  int n = 0;
  for (int i = 0; i < l->n; i++)
    n += log_match(&l->ev[i], type, stream_id);
  return n;
}

/* ------------------------------------------------------------------------ */
/* Echo server                                                              */

/* One echo: bytes read from `in` go out on `out` (the same stream for
 * bidi, a server-opened uni stream for uni). Both streams point at it. */
typedef struct pend {
  wt_stream *in, *out;
  uint8_t buf[16384];
  size_t off, len;
  int fin, refs;
} pend;

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

static void srv_accept(echo_server *es, wt_session *s) {
  wt_stream *st;
  while (wt_session_accept_stream(s, &st) == 0) {
    es->streams_accepted++;
    if (es->reset_streams_code) {
      if (wt_stream_can_write(st)) wt_stream_abort_send(st, (uint32_t)es->reset_streams_code - 1);
      continue;
    }
    pend *p = calloc(1, sizeof(*p));
    p->in = p->out = st;
    p->refs = 1;
    wt_stream_set_context(st, p);
    if (!wt_stream_is_bidi(st) && wt_session_open_stream(s, 0, &p->out) == 0) {
      es->streams_opened++;
      wt_stream_set_context(p->out, p);
      p->refs++;
    }
    srv_pump(p);
  }
}

static void srv_stream_closed(echo_server *es, wt_stream *st) {
  es->stream_closes++;
  pend *p = wt_stream_context(st);
  if (!p) return;
  if (p->in == st) p->in = NULL;
  if (p->out == st) p->out = NULL;
  if (--p->refs == 0) free(p);
}

static void srv_closed(echo_server *es, const wt_event *ev) {
  es->closes++;
  es->close_code = ev->code;
  es->close_by_peer = ev->by_peer;
  es->close_error = ev->error;
  es->close_reason_len = ev->reason_len < sizeof(es->close_reason) ? ev->reason_len : sizeof(es->close_reason);
  memcpy(es->close_reason, ev->reason, es->close_reason_len);
  if (es->last == ev->session) es->last = NULL;
}

void echo_server_event(const wt_event *ev, void *ud) {
  echo_server *es = ud;
  wt_stream *st;
  uint8_t buf[65536];
  testapp_log_event(es->log, ev);
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    es->sessions++;
    es->last = ev->session;
    wt_session_export_keying_material(ev->session, "test", 4, NULL, 0, es->exported, 32);
    if (es->open_uni_on_ready && wt_session_open_stream(ev->session, 0, &st) == 0)
      wt_stream_write(st, "srv-uni\n", 8, 1);
    break;
  case WT_EV_SESSION_STREAM: srv_accept(es, ev->session); break;
  case WT_EV_SESSION_DRAINING: es->drainings++; break;
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
  case WT_EV_SESSION_CLOSED: srv_closed(es, ev); break;
  case WT_EV_STREAM_CLOSED: srv_stream_closed(es, ev->stream); break;
  default: break;
  }
}

int echo_server_request(wt_request *r, void *ud) {
  echo_server *es = ud;
  if (es) {
    const char *tok = wt_request_header(r, ":protocol"), *d02 = wt_request_header(r, "sec-webtransport-http3-draft02");
    snprintf(es->token, sizeof(es->token), "%s", tok ? tok : "");
    snprintf(es->draft02_header, sizeof(es->draft02_header), "%s", d02 ? d02 : "");
  }
  if (strncmp(wt_request_path(r), "/echo", 5) != 0) return 404;
  for (int i = 0; i < 4 && es && es->prefer[i]; i++)
    if (wt_request_select_protocol(r, es->prefer[i]) == 0) break;
  return 200;
}

/* ------------------------------------------------------------------------ */
/* Checking client                                                          */

static void cl_send(stream_check *k) {
  uint8_t buf[16384];
  while (k->sent < k->total && !k->aborted) {
    size_t n = k->total - k->sent < sizeof(buf) ? (size_t)(k->total - k->sent) : sizeof(buf);
    for (size_t i = 0; i < n; i++)
      buf[i] = testapp_byte(k->seed, k->sent + i);
    ssize_t w = wt_stream_write(k->st, buf, n, k->sent + n == k->total);
    if (w <= 0) return;
    k->sent += (uint64_t)w;
  }
}

static void cl_recv(stream_check *k) {
  uint8_t buf[16384];
  for (;;) {
    int fin = 0;
    ssize_t n = wt_stream_read(k->st, buf, sizeof(buf), &fin);
    if (n < 0) {
      /* READABLE may also announce a reset, after RECV_ABORTED: then the
       * read fails with WT_ERR_CLOSED, which is no data error. */
      if (n != WT_ERR_AGAIN && !(n == WT_ERR_CLOSED && k->recv_aborted)) k->bad = 1;
      return;
    }
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != testapp_byte(k->seed, k->got + (uint64_t)i)) k->bad = 1;
    k->got += (uint64_t)n;
    if (fin) {
      k->fin = 1;
      if (k->got != k->total) k->bad = 1;
      return;
    }
  }
}

/* The peer's uni stream, checked against testapp_byte(c->uni_seed, ...). */
static void cl_uni_check(check_client *c) {
  uint8_t buf[16384];
  int fin = 0;
  ssize_t n;
  while (c->uni_in && (n = wt_stream_read(c->uni_in, buf, sizeof(buf), &fin)) >= 0) {
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != testapp_byte(c->uni_seed, c->uni_total + (uint64_t)i)) c->uni_bad = 1;
    c->uni_total += (uint64_t)n;
    if (fin) {
      c->uni_fin = 1;
      return;
    }
    if (n == 0) return;
  }
}

static void cl_uni(check_client *c) {
  int fin = 0;
  ssize_t n;
  if (c->uni_seed) {
    cl_uni_check(c);
    return;
  }
  while (c->uni_in &&
         (n = wt_stream_read(c->uni_in, c->uni_got + c->uni_len, sizeof(c->uni_got) - c->uni_len, &fin)) > 0)
    c->uni_len += (size_t)n;
  if (fin) c->uni_fin = 1;
}

static void cl_closed(check_client *c, const wt_event *ev) {
  c->closed = 1;
  c->by_peer = ev->by_peer;
  c->http_status = ev->http_status;
  c->error = ev->error;
  c->close_code = ev->code;
  c->reason_len = ev->reason_len < sizeof(c->reason) ? ev->reason_len : sizeof(c->reason);
  memcpy(c->reason, ev->reason, c->reason_len);
  snprintf(c->detail, sizeof(c->detail), "%s", ev->detail);
  c->s = NULL;
}

static void cl_stream_event(check_client *c, const wt_event *ev) {
  stream_check *k = wt_stream_context(ev->stream);
  switch (ev->type) {
  case WT_EV_STREAM_READABLE:
    if (k)
      cl_recv(k);
    else
      cl_uni(c);
    break;
  case WT_EV_STREAM_WRITABLE:
    if (k) cl_send(k);
    break;
  case WT_EV_STREAM_RECV_ABORTED:
    if (k) {
      k->aborted = k->recv_aborted = 1;
      k->recv_has_code = ev->has_code;
      k->recv_code = ev->code;
    }
    break;
  case WT_EV_STREAM_SEND_ABORTED:
    if (k) {
      k->aborted = k->send_aborted = 1;
      k->send_has_code = ev->has_code;
      k->send_code = ev->code;
    }
    break;
  case WT_EV_STREAM_COMMITTED:
    if (k) k->committed = 1;
    break;
  case WT_EV_STREAM_CLOSED:
    c->stream_closes++;
    if (k) {
      k->closes++;
      k->closed = 1;
      k->st = NULL;
    }
    if (ev->stream == c->uni_in) c->uni_in = NULL;
    break;
  default: break;
  }
}

static void start_pending(check_client *c);

void check_client_event(const wt_event *ev, void *ud) {
  check_client *c = ud;
  wt_stream *st;
  uint8_t buf[2048];
  testapp_log_event(c->log, ev);
  switch (ev->type) {
  case WT_EV_SESSION_READY:
    c->ready = 1;
    if (wt_session_protocol(ev->session))
      snprintf(c->protocol, sizeof(c->protocol), "%s", wt_session_protocol(ev->session));
    break;
  case WT_EV_SESSION_CLOSED: cl_closed(c, ev); break;
  case WT_EV_SESSION_DRAINING: c->drainings++; break;
  case WT_EV_SESSION_STREAM:
    while (wt_session_accept_stream(ev->session, &st) == 0) {
      c->uni_in = st;
      c->uni_in_local = wt_stream_is_local(st);
    }
    cl_uni(c); /* an accepted stream may already hold data */
    break;
  case WT_EV_SESSION_DATAGRAM:
    while (wt_session_receive_datagram(ev->session, buf, sizeof(buf)) >= 0)
      c->dg_got++;
    break;
  case WT_EV_SESSION_STREAM_CREDIT:
    c->credit_events++;
    start_pending(c);
    break;
  default:
    if (ev->stream) cl_stream_event(c, ev);
    break;
  }
}

int check_client_add(check_client *c, int bidi, uint64_t total) {
  if (c->nchecks == CHECKS_MAX) return -1;
  stream_check *k = &c->checks[c->nchecks];
  memset(k, 0, sizeof(*k));
  k->seed = (uint64_t)c->nchecks + 1;
  k->total = total;
  if (wt_session_open_stream(c->s, bidi, &k->st)) return -1;
  c->nchecks++;
  wt_stream_set_context(k->st, k);
  if (!bidi) k->fin = 1; /* nothing comes back on a uni stream */
  cl_send(k);
  return 0;
}

static void start_pending(check_client *c) {
  while (c->pending_checks > 0 && wt_session_can_open_stream(c->s, 1)) {
    if (check_client_add(c, 1, c->pending_size)) return;
    c->pending_checks--;
  }
}

void check_client_add_many(check_client *c, int n, uint64_t size) {
  c->pending_checks += n;
  c->pending_size = size;
  start_pending(c);
}

int check_client_done(const check_client *c) {
  if (c->pending_checks) return 0;
  for (int i = 0; i < c->nchecks; i++)
    if (!c->checks[i].fin && !c->checks[i].bad && !c->checks[i].aborted) return 0;
  return 1;
}

int check_client_failed(const check_client *c) {
  for (int i = 0; i < c->nchecks; i++)
    if (c->checks[i].bad || !c->checks[i].fin) return 1;
  return 0;
}

/* ---- driving two real transports in one thread ---- */

double testapp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int testapp_run_until(wt_transport *a, wt_transport *b, int (*done)(void), double seconds) {
  testloop l;
  if (testloop_init(&l) || testloop_add_transport(&l, a) || (b != a && testloop_add_transport(&l, b))) {
    testloop_close(&l);
    return done();
  }
  double end = testapp_now() + seconds;
  int ok = 0;
  while (!(ok = done()) && testapp_now() < end)
    testloop_step(&l, -1, 20);
  testloop_close(&l);
  return ok;
}
