/*
 * http_fetch.c: wt-client --get / --post (see http_fetch.h).
 */
#include "http_fetch.h"

#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "toolutil.h"

#define CHUNK 65536

typedef struct fetch {
  wt_http_request *r;
  FILE *in, *out;
  uint8_t buf[CHUNK]; /* request body read from `in`, not yet taken */
  size_t off, len;
  int in_eof;
  int status, done, error;
  uint64_t received, sent;
} fetch;

/* Sends file bytes while the stream takes them. */
static void send_body(fetch *f) {
  for (;;) {
    if (f->off == f->len && !f->in_eof) {
      f->len = fread(f->buf, 1, sizeof(f->buf), f->in);
      f->off = 0;
      f->in_eof = f->len < sizeof(f->buf);
    }
    ssize_t n = wt_http_request_write(f->r, f->buf + f->off, f->len - f->off, f->in_eof);
    if (n < 0) {
      if (n != WT_ERR_AGAIN) fprintf(stderr, "wt-client: request body: %s\n", wt_strerror((int)n));
      return;
    }
    f->off += (size_t)n;
    f->sent += (uint64_t)n;
    if (f->off < f->len || f->in_eof) return;
  }
}

static void receive_body(fetch *f) {
  uint8_t buf[CHUNK];
  int fin = 0;
  ssize_t n;
  while ((n = wt_http_request_read(f->r, buf, sizeof(buf), &fin)) >= 0) {
    if (n && fwrite(buf, 1, (size_t)n, f->out) != (size_t)n) {
      wt_http_request_abort(f->r, 0x10c); /* H3_REQUEST_CANCELLED */
      return;
    }
    f->received += (uint64_t)n;
    if (fin) return;
  }
}

static void on_event(const wt_event *ev, void *ud) {
  fetch *f = ud;
  switch (ev->type) {
  case WT_EV_HTTP_RESPONSE: f->status = wt_http_request_status(ev->http); break;
  case WT_EV_HTTP_READABLE: receive_body(f); break;
  case WT_EV_HTTP_WRITABLE:
    if (f->in) send_body(f);
    break;
  case WT_EV_HTTP_CLOSED:
    f->done = 1;
    f->error = ev->error;
    if (ev->error) fprintf(stderr, "wt-client: request failed: %s (%s)\n", wt_strerror(ev->error), ev->detail);
    break;
  default: break;
  }
}

static void run(wt_transport *t, fetch *f, double deadline) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, wt_transport_fd(t), &ev);
  while (!f->done && tool_now() < deadline) {
    wt_transport_process(t);
    if (f->done) break;
    int ms = wt_transport_timeout_ms(t);
    if (ms < 0 || ms > 100) ms = 100;
    epoll_wait(ep, &ev, 1, ms);
  }
  close(ep);
}

int http_fetch(wt_transport *t, const char *method, const char *url, const char *in_file, const char *out_file,
               const wt_connect_options *co, double timeout) {
  static fetch f;
  memset(&f, 0, sizeof(f));
  f.in = in_file ? fopen(in_file, "rb") : NULL;
  f.out = out_file ? fopen(out_file, "wb") : stdout;
  if ((in_file && !f.in) || !f.out) {
    fprintf(stderr, "wt-client: cannot open %s\n", in_file && !f.in ? in_file : out_file);
    if (f.in) fclose(f.in);
    return 1;
  }
  wt_connect_options o = *co;
  o.on_event = on_event;
  o.user_data = &f;
  double t0 = tool_now();
  int rv = wt_http_request_send(t, method, url, NULL, 0, &o, &f.r);
  if (!rv && !f.in) rv = wt_http_request_finish(f.r);
  if (rv) {
    fprintf(stderr, "wt-client: cannot send %s %s: %s\n", method, url, wt_strerror(rv));
  } else {
    run(t, &f, t0 + timeout);
    if (!f.done) fprintf(stderr, "wt-client: %s %s timed out\n", method, url);
  }
  fprintf(stderr, "wt-client: %s %s -> %d (sent %llu bytes, received %llu bytes, %.1f ms)\n", method, url, f.status,
          (unsigned long long)f.sent, (unsigned long long)f.received, (tool_now() - t0) * 1e3);
  if (f.in) fclose(f.in);
  if (out_file && fclose(f.out)) rv = WT_ERR_IO;
  if (!out_file) fflush(stdout);
  return !rv && f.done && !f.error && f.status >= 200 && f.status < 300 ? 0 : 1;
}
