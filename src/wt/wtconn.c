/*
 * wtconn.c: WebTransport over one HTTP/3 connection.
 *
 * This file is the HTTP/3 handler: it turns requests and responses into
 * sessions (draft negotiation, acceptance, refusal), routes WebTransport
 * streams and datagrams to their session (buffering what arrives early),
 * and delivers the application's events in wt_conn_dispatch(). Session and
 * stream operations live in session.c and stream.c.
 */
#include "wt/wtconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h3/codes.h"
#include "h3/sfv.h"
#include "util/json.h"
#include "util/url.h"

/* Value stored in c->gone: how a finished session ended. */
#define GONE_ENDED ((void *)1)
#define GONE_PEER_CLOSED ((void *)2) /* peer sent WT_CLOSE_SESSION: more data is an error */

static const wt_h3_handler handler_table;

/* ------------------------------------------------------------------------ */
/* Settings we send                                                         */

/* What we announce for session flow control (draft §5.4) when pooling. */
static size_t flow_settings(wt_setting *s, const wt_conn_config *cfg) {
  if (!cfg->pooling) return 0;
  s[0] = (wt_setting){H3_SETTING_WT_INITIAL_MAX_DATA, cfg->session_max_data};
  s[1] = (wt_setting){H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI, cfg->session_max_streams_bidi};
  s[2] = (wt_setting){H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI, cfg->session_max_streams_uni};
  return 3;
}

/* The setting that announces each generation. */
static const struct {
  int draft;
  uint64_t id;
} GENERATIONS[] = {{15, H3_SETTING_WT_ENABLED},
                   {13, H3_SETTING_WT_MAX_SESSIONS},
                   {7, H3_SETTING_WT_MAX_SESSIONS_DRAFT07},
                   {2, H3_SETTING_WT_ENABLE_DRAFT02}};

/* By default every generation browsers speak (spec §6); all boolean-like
 * values are 1 because some clients reject anything else. */
static size_t server_settings(wt_setting *s, unsigned mask, uint64_t max_field_section) {
  size_t n = 0;
  s[n++] = (wt_setting){H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1};
  s[n++] = (wt_setting){H3_SETTING_H3_DATAGRAM, 1};
  for (size_t i = 0; i < sizeof(GENERATIONS) / sizeof(GENERATIONS[0]); i++)
    if (mask & (1u << GENERATIONS[i].draft)) s[n++] = (wt_setting){GENERATIONS[i].id, 1};
  s[n++] = (wt_setting){H3_SETTING_MAX_FIELD_SECTION_SIZE, max_field_section};
  return n;
}

static size_t client_settings(wt_setting *s, unsigned mask, uint64_t max_field_section) {
  size_t n = 0;
  s[n++] = (wt_setting){H3_SETTING_H3_DATAGRAM, 1};
  for (size_t i = 0; i < sizeof(GENERATIONS) / sizeof(GENERATIONS[0]); i++)
    if (mask & (1u << GENERATIONS[i].draft)) s[n++] = (wt_setting){GENERATIONS[i].id, 1};
  s[n++] = (wt_setting){H3_SETTING_MAX_FIELD_SECTION_SIZE, max_field_section};
  return n;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

int wt_conn_new(const wt_conn_config *cfg, const wt_conn_client_opts *copts, const wt_h3_io *io, const wt_conn_io *xio,
                wt_conn **out) {
  wt_conn *c = calloc(1, sizeof(*c));
  if (!c) return WT_ERR_NOMEM;
  c->cfg = *cfg;
  c->io = *io;
  c->xio = *xio;
  wt_idmap_init(&c->sessions);
  wt_idmap_init(&c->gone);
  wt_idmap_init(&c->ending);
  wt_idmap_init(&c->http);
  c->draft_mask = copts ? copts->draft_mask : WT_DRAFT_MASK_ALL;
  if (cfg->is_server && cfg->server_drafts) c->draft_mask = cfg->server_drafts;
  c->goaway_sent_id = UINT64_MAX;
  wt_setting settings[12];
  wt_h3conn_config hc = {.is_server = cfg->is_server,
                         .settings = settings,
                         .max_field_section_size = cfg->max_field_section_size,
                         .grease_seed = cfg->grease_seed};
  hc.nsettings = cfg->is_server ? server_settings(settings, c->draft_mask, cfg->max_field_section_size)
                                : client_settings(settings, c->draft_mask, cfg->max_field_section_size);
  hc.nsettings += flow_settings(settings + hc.nsettings, cfg);
  wt_h3_handler h = handler_table;
  h.ctx = c;
  int rv = wt_h3conn_new(&hc, io, &h, cfg->log, &c->h3);
  if (rv) {
    free(c);
    return rv;
  }
  *out = c;
  return 0;
}

static void free_early(wt_conn *c) {
  while (c->early) {
    wt_stream *st = c->early;
    c->early = st->next;
    wt_stream_free(st);
  }
  while (c->early_dgrams) {
    wt_early_dgram *d = c->early_dgrams;
    c->early_dgrams = d->next;
    free(d);
  }
}

void wt_conn_free(wt_conn *c) {
  if (!c) return;
  while (c->all) {
    wt_session *s = c->all;
    c->all = s->next_all;
    wt_session_free(s);
  }
  free_early(c);
  wt_http_free_all(c);
  wt_idmap_free(&c->sessions);
  wt_idmap_free(&c->gone);
  wt_idmap_free(&c->ending);
  wt_h3conn_free(c->h3);
  free(c);
}

void wt_conn_qlog(wt_conn *c, const char *name, const char *data_json) {
  if (c->xio.qlog) c->xio.qlog(c->xio.ctx, name, data_json);
}

/* A session's state as a qlog record: established, or closed with why. */
void wt_conn_qlog_session(wt_session *s, const char *name) {
  if (!s->conn->xio.qlog) return;
  char path[300], proto[140], detail[560], json[1200];
  wt_json_string(path, sizeof(path), s->path);
  if (s->protocol)
    wt_json_string(proto, sizeof(proto), s->protocol);
  else
    snprintf(proto, sizeof(proto), "null");
  wt_json_string(detail, sizeof(detail), s->close_detail);
  if (s->state == WS_CLOSED)
    snprintf(json, sizeof(json),
             "{\"session_id\":%llu,\"path\":%s,\"by_peer\":%s,\"code\":%u,\"error\":%d,\"http_status\":%d,"
             "\"detail\":%s}",
             (unsigned long long)s->id, path, s->close_by_peer ? "true" : "false", s->close_code, s->close_error,
             s->close_http_status, detail);
  else
    snprintf(json, sizeof(json), "{\"session_id\":%llu,\"path\":%s,\"draft\":%d,\"protocol\":%s}",
             (unsigned long long)s->id, path, s->draft, proto);
  wt_conn_qlog(s->conn, name, json);
}

void wt_conn_wake(wt_conn *c) {
  if (c->xio.wake) c->xio.wake(c->xio.ctx);
}

const char *wt_conn_close_reason(const wt_conn *c) { return c->close_reason; }

/* A pooled connection (flow control on) stays for the next session. */
int wt_conn_finished(const wt_conn *c) {
  return c->had_session && !c->all && !c->http_all && c->ending.count == 0 && !c->fc_enabled;
}

/* ------------------------------------------------------------------------ */
/* Event marking and dispatch                                               */

/* Marking an object dirty also asks the owner for a dispatch round. */
void wt_conn_mark_session(wt_session *s, uint32_t ev) {
  s->pending |= ev;
  if (!s->dirty) {
    s->dirty = 1;
    s->dirty_next = s->conn->dirty_sessions;
    s->conn->dirty_sessions = s;
    wt_conn_wake(s->conn);
  }
}

void wt_conn_mark_stream(wt_stream *st, uint32_t ev) {
  st->pending |= ev;
  if (!st->dirty) {
    st->dirty = 1;
    st->dirty_next = st->conn->dirty_streams;
    st->conn->dirty_streams = st;
    wt_conn_wake(st->conn);
  }
}

void wt_conn_emit(wt_conn *c, wt_event_cb cb, void *user_data, wt_event *ev) {
  if (!cb) {
    cb = c->cfg.on_event;
    user_data = c->cfg.event_user_data;
  }
  if (!ev->detail) ev->detail = "";
  if (cb) cb(ev, user_data);
}

static void emit(wt_session *s, wt_event *ev) {
  ev->session = s;
  wt_conn_emit(s->conn, s->cb, s->cb_user_data, ev);
}

static int take(uint32_t *pending, uint32_t bit) {
  if (!(*pending & bit)) return 0;
  *pending &= ~bit;
  return 1;
}

static void unlink_session(wt_session *s) {
  for (wt_session **pp = &s->conn->all; *pp; pp = &(*pp)->next_all) {
    if (*pp == s) {
      *pp = s->next_all;
      return;
    }
  }
}

static void deliver_session(wt_session *s) {
  wt_event ev;
  if (s->state == WS_OPEN || s->state == WS_CLOSED) {
    static const struct {
      uint32_t bit;
      wt_event_type type;
    } order[] = {{EV_READY, WT_EV_SESSION_READY},
                 {EV_DRAINING, WT_EV_SESSION_DRAINING},
                 {EV_STREAM, WT_EV_SESSION_STREAM},
                 {EV_DATAGRAM, WT_EV_SESSION_DATAGRAM},
                 {EV_CREDIT, WT_EV_SESSION_STREAM_CREDIT}};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
      if (!take(&s->pending, order[i].bit)) continue;
      /* What a closed session had already received still reaches the
       * application, in order: it was ready, and it was asked to drain. */
      if (s->state == WS_CLOSED && order[i].bit != EV_READY && order[i].bit != EV_DRAINING) continue;
      if (order[i].bit == EV_READY) s->announced = 1;
      memset(&ev, 0, sizeof(ev));
      ev.type = order[i].type;
      emit(s, &ev);
    }
  }
  /* The final event waits for every stream of the session to be gone. */
  if (s->state != WS_CLOSED || s->streams || !take(&s->pending, EV_CLOSED)) return;
  /* A server session the application never saw (refused, or lost before
   * the hook ran) ends without a word to it. */
  if (s->is_server && !s->announced) {
    unlink_session(s);
    wt_session_free(s);
    return;
  }
  memset(&ev, 0, sizeof(ev));
  ev.type = WT_EV_SESSION_CLOSED;
  ev.code = s->close_code;
  ev.reason = s->close_reason ? s->close_reason : "";
  ev.reason_len = s->close_reason_len;
  ev.by_peer = s->close_by_peer;
  ev.http_status = s->close_http_status;
  ev.error = s->close_error;
  ev.detail = s->close_detail;
  emit(s, &ev);
  unlink_session(s);
  wt_session_free(s);
}

static void stream_event(wt_stream *st, wt_event_type type, uint32_t code, int has_code) {
  wt_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.stream = st;
  ev.code = code;
  ev.has_code = has_code;
  emit(st->session, &ev);
}

/* Removes a finished stream from its session and frees it; the session's
 * final event may now be due. */
static void retire_stream(wt_stream *st) {
  wt_session *s = st->session;
  if (!st->local) wt_flow_on_peer_stream_retired(s, st->bidi);
  if (st->prev)
    st->prev->next = st->next;
  else
    s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  if (!st->detached) wt_h3conn_detach(st->conn->h3, st->id);
  wt_stream_free(st);
  if (!s->streams && s->state == WS_CLOSED) wt_conn_mark_session(s, 0);
}

static void deliver_stream(wt_stream *st) {
  if (!st->session) return; /* early stream: nobody to tell yet */
  if (st->accepted) {
    if (take(&st->pending, EV_RECV_ABORTED))
      stream_event(st, WT_EV_STREAM_RECV_ABORTED, st->reset_code, st->reset_has_code);
    if (take(&st->pending, EV_READABLE)) stream_event(st, WT_EV_STREAM_READABLE, 0, 0);
    if (take(&st->pending, EV_SEND_ABORTED))
      stream_event(st, WT_EV_STREAM_SEND_ABORTED, st->stop_code, st->stop_has_code);
    if (take(&st->pending, EV_WRITABLE)) stream_event(st, WT_EV_STREAM_WRITABLE, 0, 0);
    if (take(&st->pending, EV_COMMITTED)) stream_event(st, WT_EV_STREAM_COMMITTED, 0, 0);
  }
  if (st->dirty || !wt_stream_is_done(st) || st->queued) return;
  if (st->accepted) stream_event(st, WT_EV_STREAM_CLOSED, 0, 0);
  retire_stream(st);
}

void wt_conn_dispatch(wt_conn *c) {
  for (;;) {
    if (c->dirty_sessions) {
      wt_session *s = c->dirty_sessions;
      c->dirty_sessions = s->dirty_next;
      s->dirty = 0;
      deliver_session(s);
    } else if (c->dirty_streams) {
      wt_stream *st = c->dirty_streams;
      c->dirty_streams = st->dirty_next;
      st->dirty = 0;
      deliver_stream(st);
    } else if (c->dirty_http) {
      wt_http_dispatch(c);
    } else {
      return;
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Server: requests                                                         */

static int add_protocol(void *ud, const char *p, size_t len) {
  wt_request *r = ud;
  char **n = realloc(r->protocols, (r->nprotocols + 1) * sizeof(*n));
  if (!n) return WT_ERR_NOMEM;
  r->protocols = n;
  n[r->nprotocols] = strndup(p, len);
  if (!n[r->nprotocols]) return WT_ERR_NOMEM;
  r->nprotocols++;
  return 0;
}

static void free_protocols(wt_request *r) {
  for (size_t i = 0; i < r->nprotocols; i++)
    free(r->protocols[i]);
  free(r->protocols);
  r->protocols = NULL;
  r->nprotocols = 0;
}

/* A status with one optional field (wt-protocol on a 2xx, allow on a 405). */
static int send_status(wt_conn *c, int64_t sid, int status, const char *name, const char *value, int fin) {
  char st[4];
  snprintf(st, sizeof(st), "%03d", status);
  wt_qpack_field f[2] = {{":status", 7, st, 3}, {name, 0, value, 0}};
  size_t n = 1;
  if (value) {
    f[1].name_len = strlen(name);
    f[1].value_len = strlen(value);
    n = 2;
  }
  return wt_h3conn_send_headers(c->h3, sid, f, n, fin);
}

/* Answers a request with a status; the client's remaining request bytes
 * are not needed (RFC 9114 §4.1: STOP_SENDING with H3_NO_ERROR). */
static void answer_refusal(wt_conn *c, int64_t sid, int status, const char *allow) {
  /* The connection is not finished before the client has the answer. */
  if (send_status(c, sid, status, "allow", allow, 1) == 0) wt_conn_track_end(c, sid);
  wt_h3conn_stop_sending(c->h3, sid, H3_NO_ERROR);
  wt_conn_wake(c);
}

/* A request that never becomes a session: its one log line is here. */
void wt_conn_refuse(wt_conn *c, int64_t sid, int status, const char *allow, const char *why) {
  WT_LOGI(c->cfg.log, "stream %lld: request refused with %d: %s", (long long)sid, status, why);
  answer_refusal(c, sid, status, allow);
}

/* Draft §3.2 and the W3C API: a browser always sends its page's origin; a
 * server accepts it or answers 403. */
static int origin_allowed(const wt_conn *c, const wt_session *s) {
  if (!s->origin) return 1;
  if (c->cfg.check_origin) return c->cfg.check_origin(s->origin, s->authority, c->cfg.origin_user_data) != 0;
  for (size_t i = 0; i < c->cfg.nallowed_origins; i++)
    if (strcasecmp(c->cfg.allowed_origins[i], s->origin) == 0) return 1;
  return wt_origin_host_matches(s->origin, s->authority);
}

/* Why a request was refused, for the log line and the session's detail. */
static void refusal_detail(const wt_conn *c, const wt_session *s, int status, int by_origin, char *out, size_t cap) {
  if (by_origin && c->cfg.check_origin)
    snprintf(out, cap, "refused with 403: the check_origin hook rejected origin %s for %s", s->origin, s->authority);
  else if (by_origin)
    snprintf(out, cap,
             "refused with 403: origin %s is not allowed for %s (accepted: an origin whose host is the "
             ":authority's host, or one listed in wt_transport_config.allowed_origins, e.g. wt-server "
             "--allow-origin)",
             s->origin, s->authority);
  else if (!c->cfg.on_request)
    snprintf(out, cap,
             "refused with 404: no request hook is set (wt_transport_config.on_request), so no path is served");
  else
    snprintf(out, cap, "refused with %d: the application's request hook answered %d for path %s%s", status, status,
             s->path, status == 404 ? " (no WebTransport endpoint there)" : "");
}

/* The server's preference order decides (seed 000): the first of our
 * protocols the client offered. */
static void preselect_protocol(const wt_conn *c, wt_request *r) {
  for (size_t i = 0; i < c->cfg.nprotocols; i++)
    if (wt_request_select_protocol(r, c->cfg.protocols[i]) == 0) return;
}

static int known_protocol_token(const char *p) {
  return strcmp(p, "webtransport") == 0 || strcmp(p, "webtransport-h3") == 0;
}

static void reject_early_for(wt_conn *c, uint64_t session_id);
static void adopt_early(wt_conn *c, wt_session *s);

static int sessions_in(const wt_conn *c, wt_session_state st) {
  int n = 0;
  for (const wt_session *s = c->all; s; s = s->next_all)
    if (s->state == st) n++;
  return n;
}

/* Without flow control a connection carries one session at a time (draft
 * §5.2); with it, as many as we allow. */
static int session_limit(const wt_conn *c) { return c->fc_enabled ? (int)c->cfg.max_sessions : 1; }

static void reject_request(wt_conn *c, int64_t sid, const char *why) {
  WT_LOGI(c->cfg.log, "stream %lld: request rejected: %s", (long long)sid, why);
  WT_STAT(c, sessions_refused, 1);
  wt_conn_abort_request(c, sid, H3_REQUEST_REJECTED);
}

/* Draft §3.3: the session opens without a sub-protocol; the client decides
 * whether it can live without one. One line says what did not match. */
static void log_no_common_protocol(const wt_conn *c, const wt_session *s, const wt_request *r) {
  char offered_list[200] = "", ours[200] = "";
  for (size_t i = 0; i < r->nprotocols; i++) {
    size_t n = strlen(offered_list);
    snprintf(offered_list + n, sizeof(offered_list) - n, "%s\"%s\"", i ? ", " : "", r->protocols[i]);
  }
  for (size_t i = 0; i < c->cfg.nprotocols; i++) {
    size_t n = strlen(ours);
    snprintf(ours + n, sizeof(ours) - n, "%s\"%s\"", i ? ", " : "", c->cfg.protocols[i]);
  }
  WT_LOGI(c->cfg.log,
          "session %llu (%s): no common sub-protocol: the client offered %s, we support %s; the session opens "
          "without one (a client that requires one closes it with WT_ALPN_ERROR)",
          (unsigned long long)s->id, s->path, offered_list, ours[0] ? ours : "none (wt_transport_config.protocols)");
}

/* Runs the application's hook and answers. The session is WS_WAIT_SETTINGS
 * until here. */
static void decide_request(wt_conn *c, wt_session *s, wt_h3_headers *h) {
  const wt_h3_settings *ps = wt_h3conn_peer_settings(c->h3);
  char desc[160];
  s->draft = wt_settings_wt_draft(ps, c->draft_mask);
  if (!s->draft) {
    char detail[512];
    wt_settings_describe(ps, desc, sizeof(desc));
    snprintf(detail, sizeof(detail),
             "refused (reset with H3_MESSAGE_ERROR): the client did not enable WebTransport in its SETTINGS, or only "
             "a draft we do not offer (it sent: %s); it must announce SETTINGS_WT_ENABLED 0x2c7cf000 (draft 15), "
             "WT_MAX_SESSIONS 0xc671706a/0x14e9cd29 (drafts 7-14) or ENABLE_WEBTRANSPORT 0x2b603742 (draft 02) "
             "with H3_DATAGRAM 0x33",
             desc);
    wt_conn_abort_request(c, (int64_t)s->id, H3_MESSAGE_ERROR);
    WT_STAT(c, sessions_refused, 1);
    wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_PROTO, detail);
    return;
  }
  if (sessions_in(c, WS_OPEN) >= session_limit(c)) {
    char detail[256];
    if (c->fc_enabled)
      snprintf(detail, sizeof(detail),
               "rejected with H3_REQUEST_REJECTED: this connection already carries %d sessions (max_sessions)",
               sessions_in(c, WS_OPEN));
    else
      snprintf(detail, sizeof(detail),
               "rejected with H3_REQUEST_REJECTED: this connection already carries a session and WebTransport flow "
               "control is off, which allows one session per connection; use a new connection, or enable pooling "
               "on both ends");
    WT_STAT(c, sessions_refused, 1);
    wt_conn_abort_request(c, (int64_t)s->id, H3_REQUEST_REJECTED);
    wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_LIMIT, detail);
    return;
  }
  wt_request req;
  memset(&req, 0, sizeof(req));
  req.s = s;
  req.h = h;
  const char *avail = wt_h3_headers_get(h, "wt-available-protocols");
  if (avail && wt_sfv_parse_string_list(avail, strlen(avail), s->draft < 13, add_protocol, &req)) {
    WT_LOGI(c->cfg.log, "stream %llu: ignoring malformed wt-available-protocols", (unsigned long long)s->id);
    free_protocols(&req);
  }
  preselect_protocol(c, &req);
  /* A WebTransport route accepts without a hook and names the callback. */
  const wt_route *rt = wt_router_match(c->cfg.router, s->path);
  if (rt && !(rt->flags & WT_ROUTE_WEBTRANSPORT)) rt = NULL;
  if (rt && rt->cb) wt_request_set_callback(&req, rt->cb, rt->user_data);
  int by_origin = !origin_allowed(c, s);
  int status = by_origin                ? 403
               : c->cfg.on_request ? c->cfg.on_request(&req, c->cfg.request_user_data)
               : rt                ? 200
                                   : 404;
  if (status < 200 || status > 599) status = 500;
  if (status >= 300) {
    char detail[480];
    refusal_detail(c, s, status, by_origin, detail, sizeof(detail));
    WT_STAT(c, sessions_refused, 1);
    answer_refusal(c, (int64_t)s->id, status, NULL);
    s->close_http_status = status;
    free_protocols(&req);
    wt_session_terminate(s, 0, 0, NULL, 0, 0, detail);
    return;
  }
  if (req.nprotocols && !req.selected) log_no_common_protocol(c, s, &req);
  wt_buf proto;
  wt_buf_init(&proto);
  if (req.selected) {
    s->protocol = strdup(req.selected);
    wt_sfv_serialize_string(&proto, req.selected, strlen(req.selected));
    wt_buf_append(&proto, "", 1);
  }
  if (req.cb_set) {
    s->cb = req.cb;
    s->cb_user_data = req.cb_user_data;
  }
  free_protocols(&req);
  send_status(c, (int64_t)s->id, status, "wt-protocol", proto.len ? (const char *)proto.data : NULL, 0);
  wt_buf_free(&proto);
  s->state = WS_OPEN;
  wt_flow_init(s);
  WT_STAT(c, sessions_accepted, 1);
  wt_conn_qlog_session(s, "webtransport:session_established");
  wt_conn_mark_session(s, EV_READY);
  adopt_early(c, s);
  if (wt_buf_readable(&s->early_data)) {
    wt_buf early = s->early_data;
    wt_buf_init(&s->early_data);
    wt_session_feed_capsules(s, wt_buf_rpos(&early), wt_buf_readable(&early));
    wt_buf_free(&early);
  }
  wt_conn_wake(c);
}

static void server_on_request(wt_conn *c, int64_t sid, wt_h3_headers *h) {
  /* After our GOAWAY, later requests are not processed (RFC 9114 §5.2). */
  if ((uint64_t)sid >= c->goaway_sent_id) {
    wt_conn_abort_request(c, sid, H3_REQUEST_REJECTED);
    return;
  }
  /* Every request, plain or WebTransport, counts toward the rate of its
   * source address. */
  if (c->xio.admit_request && !c->xio.admit_request(c->xio.ctx)) {
    WT_STAT(c, requests_rate_limited, 1);
    wt_conn_refuse(c, sid, 429, NULL, "too many requests from this address");
    return;
  }
  /* Anything but a WebTransport request (a GET, a plain CONNECT, a
   * WebSocket extended CONNECT) is for the routes of plain HTTP. */
  if (strcmp(h->method, "CONNECT") != 0 || !h->protocol || !known_protocol_token(h->protocol)) {
    if ((uint64_t)sid + 4 > c->next_request_id) c->next_request_id = (uint64_t)sid + 4;
    wt_http_on_request(c, sid, h);
    return;
  }
  if (strcmp(h->scheme, "https") != 0) {
    wt_conn_refuse(c, sid, 400, NULL, ":scheme is not https");
    return;
  }
  /* Requests waiting for the client's SETTINGS are bounded too. */
  if (sessions_in(c, WS_WAIT_SETTINGS) >= (int)(c->cfg.max_sessions ? c->cfg.max_sessions : 1)) {
    reject_request(c, sid, "too many requests before the client's SETTINGS");
    return;
  }
  if ((uint64_t)sid + 4 > c->next_request_id) c->next_request_id = (uint64_t)sid + 4;
  wt_session *s = wt_session_new(c, 1);
  if (!s) {
    wt_conn_refuse(c, sid, 503, NULL, "out of memory");
    return;
  }
  s->id = (uint64_t)sid;
  s->path = strdup(h->path);
  s->authority = strdup(h->authority);
  const char *origin = wt_h3_headers_get(h, "origin");
  s->origin = origin ? strdup(origin) : NULL;
  s->request = malloc(sizeof(*h));
  if (!s->path || !s->authority || (origin && !s->origin) || !s->request || wt_idmap_put(&c->sessions, s->id, s)) {
    wt_conn_abort_request(c, sid, H3_INTERNAL_ERROR);
    wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_NOMEM, "out of memory");
    return;
  }
  /* Keep the fields: the hook may run later, once SETTINGS arrive. */
  *s->request = *h;
  wt_h3_headers_init(h);
  s->state = WS_WAIT_SETTINGS;
  c->had_session = 1;
  /* The draft forbids acting on a WebTransport request before the client's
   * SETTINGS say which version it speaks. */
  if (c->settings_seen) decide_request(c, s, s->request);
}

/* ------------------------------------------------------------------------ */
/* Client: connect and response                                             */

static void client_send_connect(wt_conn *c, wt_session *s);

int wt_conn_connect(wt_conn *c, const wt_url *u, const wt_connect_options *o, wt_session **out) {
  wt_session *s = wt_session_new(c, 0);
  if (!s) return WT_ERR_NOMEM;
  s->path = strdup(u->path);
  s->authority = strdup(u->authority);
  s->origin = o->origin ? strdup(o->origin) : NULL;
  s->offered = o->nprotocols ? calloc(o->nprotocols, sizeof(char *)) : NULL;
  int bad = !s->path || !s->authority || (o->origin && !s->origin) || (o->nprotocols && !s->offered);
  for (size_t i = 0; !bad && i < o->nprotocols; i++) {
    s->offered[i] = strdup(o->protocols[i]);
    bad = !s->offered[i];
    s->noffered = i + 1;
  }
  if (bad) {
    unlink_session(s);
    wt_session_free(s);
    return WT_ERR_NOMEM;
  }
  s->cb = o->on_event;
  s->cb_user_data = o->user_data;
  s->require_protocol = o->require_protocol && o->nprotocols;
  c->had_session = 1;
  *out = s;
  if (c->settings_seen) client_send_connect(c, s);
  return 0;
}

static int build_connect_fields(wt_session *s, const char *token, wt_buf *protos, wt_qpack_field *f) {
  size_t n = 0;
#define ADD(nm, val) f[n++] = (wt_qpack_field){nm, strlen(nm), val, strlen(val)}
  ADD(":method", "CONNECT");
  ADD(":protocol", token);
  ADD(":scheme", "https");
  ADD(":authority", s->authority);
  ADD(":path", s->path);
  if (s->origin) ADD("origin", s->origin);
  if (s->draft == 2) ADD("sec-webtransport-http3-draft02", "1");
  if (s->noffered) {
    wt_sfv_serialize_string_list(protos, (const char *const *)s->offered, s->noffered);
    wt_buf_append(protos, "", 1);
    ADD("wt-available-protocols", (const char *)protos->data);
  }
#undef ADD
  return (int)n;
}

/* What the server must have announced for the generation we picked
 * (spec §4, §6 "Client"). Returns NULL when satisfied. */
static const char *server_requirements_unmet(const wt_h3_settings *ps, int draft) {
  if (!draft)
    return "the server did not enable WebTransport in its SETTINGS, or only a draft we do not speak (we need "
           "SETTINGS_WT_ENABLED 0x2c7cf000, WT_MAX_SESSIONS 0xc671706a/0x14e9cd29 or ENABLE_WEBTRANSPORT "
           "0x2b603742); enable WebTransport on the server";
  if (!ps->h3_datagram && !(draft == 2 && ps->h3_datagram_draft04))
    return "the server does not support HTTP datagrams (SETTINGS_H3_DATAGRAM 0x33=1 is required)";
  if (draft >= 7 && !ps->enable_connect_protocol)
    return "the server does not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL 0x08=1 is required)";
  return NULL;
}

static void client_send_connect(wt_conn *c, wt_session *s) {
  const wt_h3_settings *ps = wt_h3conn_peer_settings(c->h3);
  s->draft = wt_settings_wt_draft(ps, c->draft_mask);
  const char *unmet = server_requirements_unmet(ps, s->draft);
  if (unmet) {
    char desc[200], detail[480];
    wt_settings_describe(ps, desc, sizeof(desc));
    snprintf(detail, sizeof(detail), "%s; it sent: %s", unmet, desc);
    wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_PROTO, detail);
    return;
  }
  wt_buf protos;
  wt_buf_init(&protos);
  wt_qpack_field f[8];
  int n = build_connect_fields(s, s->draft == 15 ? "webtransport-h3" : "webtransport", &protos, f);
  int64_t sid;
  int rv = wt_h3conn_send_request(c->h3, f, (size_t)n, 0, &sid);
  wt_buf_free(&protos);
  if (rv) {
    wt_session_terminate(s, 0, 0, NULL, 0, rv, "cannot open the CONNECT stream");
    return;
  }
  s->id = (uint64_t)sid;
  s->state = WS_REQUESTED;
  if (wt_idmap_put(&c->sessions, s->id, s)) wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_NOMEM, "out of memory");
  wt_conn_wake(c);
}

static int offered(const wt_session *s, const char *p) {
  for (size_t i = 0; i < s->noffered; i++)
    if (strcmp(s->offered[i], p) == 0) return 1;
  return 0;
}

/* What a refusal status most likely means, and what to do about it. */
static void refused_by_server(const wt_session *s, int status, char *out, size_t cap) {
  const char *hint;
  switch (status) {
  case 400: hint = "it found the request malformed (for example its query parameters)"; break;
  case 403:
    hint = s->origin ? "it does not accept our origin; the server must allow it" : "it does not allow this session";
    break;
  case 404: hint = "there is no WebTransport endpoint at this path; check the URL"; break;
  case 405: hint = "it does not serve WebTransport (extended CONNECT) at this URL"; break;
  case 429:
  case 503: hint = "it is overloaded or limits sessions; retry later"; break;
  default: hint = "see the server's log for why"; break;
  }
  snprintf(out, cap, "the server refused the session with HTTP %d (path %s%s%s): %s", status, s->path,
           s->origin ? ", origin " : "", s->origin ? s->origin : "", hint);
}

static void client_on_response(wt_conn *c, wt_session *s, wt_h3_headers *h) {
  if (h->status < 200 || h->status > 299) {
    char detail[400];
    refused_by_server(s, h->status, detail, sizeof(detail));
    s->close_http_status = h->status;
    wt_session_terminate(s, 1, 0, NULL, 0, 0, detail);
    return;
  }
  const char *wp = wt_h3_headers_get(h, "wt-protocol");
  if (wp) {
    wt_buf v;
    wt_buf_init(&v);
    /* A malformed or unoffered value is ignored, as browsers do. */
    if (wt_sfv_parse_string_item(wp, strlen(wp), s->draft < 13, &v) == 0 && offered(s, (const char *)v.data))
      s->protocol = strdup((const char *)v.data);
    else
      WT_LOGI(c->cfg.log, "session %llu: ignoring wt-protocol %s", (unsigned long long)s->id, wp);
    wt_buf_free(&v);
  }
  if (s->require_protocol && !s->protocol) {
    /* Draft §3.3: without a sub-protocol of ours the session is useless. */
    char detail[400], list[200] = "";
    for (size_t i = 0; i < s->noffered; i++) {
      size_t n = strlen(list);
      snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", s->offered[i]);
    }
    snprintf(detail, sizeof(detail),
             "no common sub-protocol: we offered %s and the server %s%s%s; closing with WT_ALPN_ERROR because "
             "require_protocol is set",
             list, wp ? "answered wt-protocol " : "selected none of them", wp ? wp : "",
             wp ? ", which we did not offer" : "");
    wt_conn_abort_request(c, (int64_t)s->id, WT_ALPN_ERROR);
    wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_PROTO, detail);
    return;
  }
  s->state = WS_OPEN;
  wt_flow_init(s);
  /* Server streams that beat the response count from here. */
  for (wt_stream *st = s->streams; st; st = st->next)
    if (!st->local && (wt_flow_on_peer_stream(s, st->bidi) || wt_flow_on_received(s, st->rx_total))) return;
  wt_conn_qlog_session(s, "webtransport:session_established");
  wt_conn_mark_session(s, EV_READY);
  if (s->in_head) wt_conn_mark_session(s, EV_STREAM);
  if (s->dq_len) wt_conn_mark_session(s, EV_DATAGRAM);
}

/* ------------------------------------------------------------------------ */
/* HTTP/3 handler                                                           */

static wt_session *session_by_id(wt_conn *c, uint64_t id) { return wt_idmap_get(&c->sessions, id); }

/* Draft §5: flow control (and with it several sessions per connection) is
 * on only if both endpoints announce at least one initial limit. */
static int peer_announces_flow_control(const wt_h3_settings *ps) {
  return ps->wt_initial_max_data || ps->wt_initial_max_streams_uni || ps->wt_initial_max_streams_bidi;
}

/* One debug line with what the peer announced: the first thing to look at
 * when a browser and a server do not agree on a generation. */
static void log_peer_settings(const wt_conn *c, const wt_h3_settings *ps) {
  if (!wt_log_enabled(c->cfg.log, WT_LOG_DEBUG)) return;
  WT_LOGD(c->cfg.log,
          "peer SETTINGS: connect_protocol=%llu h3_datagram=%llu h3_datagram_04=%llu wt_enable_02=%llu "
          "wt_max_sessions_07=%llu wt_max_sessions_13=%llu wt_enabled=%llu wt_initial_max_data=%llu "
          "wt_initial_max_streams_bidi=%llu wt_initial_max_streams_uni=%llu (%zu settings)",
          (unsigned long long)ps->enable_connect_protocol, (unsigned long long)ps->h3_datagram,
          (unsigned long long)ps->h3_datagram_draft04, (unsigned long long)ps->wt_enable_draft02,
          (unsigned long long)ps->wt_max_sessions_draft07, (unsigned long long)ps->wt_max_sessions_draft13,
          (unsigned long long)ps->wt_enabled, (unsigned long long)ps->wt_initial_max_data,
          (unsigned long long)ps->wt_initial_max_streams_bidi, (unsigned long long)ps->wt_initial_max_streams_uni,
          ps->count);
}

static void qlog_peer_settings(wt_conn *c, const wt_h3_settings *ps) {
  if (!c->xio.qlog) return;
  char desc[256], str[300], json[400];
  wt_settings_describe(ps, desc, sizeof(desc));
  wt_json_string(str, sizeof(str), desc);
  snprintf(json, sizeof(json), "{\"owner\":\"remote\",\"webtransport_settings\":%s,\"count\":%zu}", str, ps->count);
  wt_conn_qlog(c, "http3:parameters_set", json);
}

static void h_on_settings(void *ctx) {
  wt_conn *c = ctx;
  const wt_h3_settings *ps = wt_h3conn_peer_settings(c->h3);
  log_peer_settings(c, ps);
  /* RFC 9297 §2.1.1: H3_DATAGRAM=1 over a connection whose peer did not
   * send max_datagram_frame_size is H3_SETTINGS_ERROR. */
  if (ps->h3_datagram && !c->xio.peer_accepts_datagrams(c->xio.ctx)) {
    wt_h3conn_fail(c->h3, H3_SETTINGS_ERROR, "H3_DATAGRAM without the max_datagram_frame_size transport parameter");
    return;
  }
  c->settings_seen = 1;
  qlog_peer_settings(c, ps);
  c->fc_enabled = c->cfg.pooling && peer_announces_flow_control(wt_h3conn_peer_settings(c->h3));
  if (!c->cfg.is_server) wt_http_on_settings(c);
  for (wt_session *s = c->all, *next; s; s = next) {
    next = s->next_all;
    if (s->state == WS_WAIT_SETTINGS)
      decide_request(c, s, s->request);
    else if (s->state == WS_CONNECTING)
      client_send_connect(c, s);
  }
}

static void h_on_goaway(void *ctx, uint64_t id) {
  wt_conn *c = ctx;
  for (wt_session *s = c->all; s; s = s->next_all) {
    if (s->state == WS_OPEN && !s->draining_delivered) {
      s->draining_delivered = 1;
      wt_conn_mark_session(s, EV_DRAINING);
    }
  }
}

static void h_on_headers(void *ctx, int64_t sid, wt_h3_headers *h) {
  wt_conn *c = ctx;
  if (c->cfg.is_server) {
    server_on_request(c, sid, h);
    return;
  }
  wt_session *s = session_by_id(c, (uint64_t)sid);
  if (s && s->state == WS_REQUESTED)
    client_on_response(c, s, h);
  else if (!s)
    wt_http_on_response(c, sid, h);
}

static size_t h_on_data(void *ctx, int64_t sid, const uint8_t *data, size_t len) {
  wt_conn *c = ctx;
  wt_session *s = session_by_id(c, (uint64_t)sid);
  if (!s) {
    size_t kept = wt_http_on_data(c, sid, data, len);
    if (kept) return kept;
  }
  if (s && s->state == WS_OPEN) {
    wt_session_feed_capsules(s, data, len);
  } else if (s && s->state == WS_WAIT_SETTINGS) {
    /* Optimistic capsules: held until we have answered (draft §3.2), within
     * the same bound as a close capsule plus a datagram. */
    if (wt_buf_readable(&s->early_data) + len > 65536 + 1100) {
      wt_conn_abort_request(c, sid, H3_EXCESSIVE_LOAD);
      wt_session_terminate(s, 0, 0, NULL, 0, WT_ERR_LIMIT, "too much data before the session was accepted");
    } else {
      wt_buf_append(&s->early_data, data, len);
    }
  } else if (!s && wt_idmap_get(&c->gone, (uint64_t)sid) == GONE_PEER_CLOSED) {
    /* Draft §6: nothing may follow WT_CLOSE_SESSION. */
    wt_conn_abort_request(c, sid, H3_MESSAGE_ERROR);
    wt_idmap_put(&c->gone, (uint64_t)sid, GONE_ENDED);
  }
  return 0;
}

/* The peer reset (or stopped) a CONNECT stream: say what its code means. */
static void explain_connect_reset(const wt_conn *c, uint64_t code, const char *what, char *out, size_t cap) {
  const char *why;
  switch (code) {
  case WT_ALPN_ERROR:
    why = c->cfg.is_server ? "WT_ALPN_ERROR: the client requires a sub-protocol and we selected none it offered"
                           : "WT_ALPN_ERROR: the server rejects the sub-protocols we offered";
    break;
  case WT_FLOW_CONTROL_ERROR:
    why = "WT_FLOW_CONTROL_ERROR: the peer says we exceeded its WebTransport flow-control limits";
    break;
  case H3_REQUEST_REJECTED:
    why = "H3_REQUEST_REJECTED: the request was not processed (one session per connection without flow control, "
          "a session limit, or a GOAWAY); retry on a new connection";
    break;
  case H3_MESSAGE_ERROR:
    why = "H3_MESSAGE_ERROR: the peer found the request or its capsules malformed, or our SETTINGS lacked "
          "WebTransport";
    break;
  case H3_REQUEST_CANCELLED: why = "H3_REQUEST_CANCELLED: the peer cancelled the session"; break;
  default: why = "no WT_CLOSE_SESSION was sent"; break;
  }
  snprintf(out, cap, "the peer %s the CONNECT stream with 0x%llx: %s", what, (unsigned long long)code, why);
}

static void h_on_request_end(void *ctx, int64_t sid, int reset, uint64_t code) {
  wt_conn *c = ctx;
  if (wt_http_on_end(c, sid, reset, code)) return;
  wt_session *s = session_by_id(c, (uint64_t)sid);
  if (!s || s->state == WS_CLOSED) return;
  s->fin_received = !reset;
  if (reset) {
    char detail[400];
    explain_connect_reset(c, code, "reset", detail, sizeof(detail));
    wt_session_terminate(s, 1, 0, NULL, 0, s->state == WS_OPEN ? 0 : WT_ERR_CLOSED, detail);
  } else if (!wt_capsule_parser_at_boundary(&s->cp)) {
    wt_conn_abort_request(c, sid, H3_MESSAGE_ERROR);
    wt_session_terminate(s, 1, 0, NULL, 0, WT_ERR_PROTO, "CONNECT stream ended inside a capsule");
  } else {
    /* A FIN without WT_CLOSE_SESSION means code 0, empty reason. */
    wt_session_terminate(s, 1, 0, NULL, 0, s->state == WS_OPEN ? 0 : WT_ERR_CLOSED,
                         s->state == WS_OPEN ? NULL : "server ended the request without answering");
  }
}

static void h_on_request_writable(void *ctx, int64_t sid) { wt_http_on_writable(ctx, sid); }

static void h_on_request_stop(void *ctx, int64_t sid, uint64_t code) {
  wt_conn *c = ctx;
  if (wt_http_on_stop(c, sid, code)) return;
  wt_session *s = session_by_id(c, (uint64_t)sid);
  if (!s || s->state == WS_CLOSED) return;
  /* RFC 9114 §4.1.1: a server that needs no more of the request says so
   * with H3_NO_ERROR; its response still follows (and may arrive after
   * this signal) and must be read. */
  if (code == H3_NO_ERROR && s->state == WS_REQUESTED) return;
  char detail[400];
  explain_connect_reset(c, code, "stopped reading (STOP_SENDING)", detail, sizeof(detail));
  wt_session_terminate(s, 1, 0, NULL, 0, s->state == WS_OPEN ? 0 : WT_ERR_CLOSED, detail);
}

/* Streams whose session is not known yet wait in c->early, within a bound
 * (draft §4.6). */
static void refuse_buffered(wt_conn *c, wt_stream *st, size_t held) {
  WT_LOGI(c->cfg.log, "stream %lld: refused, %zu streams already wait for their session", (long long)st->id, held);
  WT_STAT(c, streams_refused, 1);
  wt_h3conn_stop_sending(c->h3, st->id, WT_BUFFERED_STREAM_REJECTED);
  if (st->bidi) wt_h3conn_reset(c->h3, st->id, WT_BUFFERED_STREAM_REJECTED);
  wt_stream_free(st);
}

/* Client: what a server sent before its 2xx is held within the same bound
 * as early streams on a server (draft §4.6). */
static size_t peer_streams_held(const wt_session *s) {
  size_t n = 0;
  for (const wt_stream *st = s->streams; st; st = st->next)
    n += !st->local;
  return n;
}

static void *buffer_early(wt_conn *c, wt_stream *st, uint64_t session_id) {
  if (c->nearly >= c->cfg.max_buffered_streams) {
    refuse_buffered(c, st, c->nearly);
    return NULL;
  }
  st->pending_session_id = session_id;
  st->next = c->early;
  if (c->early) c->early->prev = st;
  c->early = st;
  c->nearly++;
  return st;
}

static void *h_on_wt_stream(void *ctx, int64_t sid, uint64_t session_id, int bidi) {
  wt_conn *c = ctx;
  wt_session *s = session_by_id(c, session_id);
  wt_stream *st = wt_stream_new(c, NULL, sid, bidi, 0);
  if (!st) {
    wt_h3conn_stop_sending(c->h3, sid, H3_INTERNAL_ERROR);
    return NULL;
  }
  if (s && s->state == WS_REQUESTED && peer_streams_held(s) >= c->cfg.max_buffered_streams) {
    refuse_buffered(c, st, peer_streams_held(s));
    return NULL;
  }
  if (s && s->state != WS_CLOSED && s->state != WS_WAIT_SETTINGS) {
    wt_stream_attach(s, st);
    return st;
  }
  /* A request waiting for the client's SETTINGS is not decided yet: its
   * streams wait with the early ones (adopted or refused with it). */
  if ((s && s->state == WS_CLOSED) || (!s && wt_idmap_get(&c->gone, session_id))) {
    WT_STAT(c, streams_refused, 1);
    wt_h3conn_stop_sending(c->h3, sid, WT_SESSION_GONE);
    if (bidi) wt_h3conn_reset(c->h3, sid, WT_SESSION_GONE);
    wt_stream_free(st);
    return NULL;
  }
  return buffer_early(c, st, session_id);
}

static void h_on_wt_data(void *ctx, void *up, const uint8_t *d, size_t n, int fin) { wt_stream_on_data(up, d, n, fin); }
static void h_on_wt_reset(void *ctx, void *up, uint64_t code, uint64_t final_payload) {
  wt_stream_on_reset(up, code, final_payload);
}
static void h_on_wt_stop(void *ctx, void *up, uint64_t code) { wt_stream_on_stop(up, code); }
static void h_on_wt_writable(void *ctx, void *up) { wt_stream_on_writable(up); }
static void h_on_wt_acked(void *ctx, void *up) { wt_stream_on_acked(up); }

static void h_on_wt_closed(void *ctx, void *up) {
  wt_stream *st = up;
  st->detached = 1;
}

static void h_on_datagram(void *ctx, uint64_t session_id, const uint8_t *d, size_t n) {
  wt_conn *c = ctx;
  wt_session *s = session_by_id(c, session_id);
  if (s && s->state == WS_REQUESTED && s->dq_len >= c->cfg.max_buffered_datagrams) {
    s->dgram_recv_drops++;
    WT_STAT(c, datagram_recv_drops, 1);
    return;
  }
  if (s && s->state != WS_CLOSED && s->state != WS_WAIT_SETTINGS) {
    wt_session_on_datagram(s, d, n);
    return;
  }
  if (s == NULL && wt_idmap_get(&c->gone, session_id)) return;
  if (c->nearly_dgrams >= c->cfg.max_buffered_datagrams) {
    c->early_dgram_drops++;
    WT_STAT(c, datagram_recv_drops, 1);
    return;
  }
  wt_early_dgram *e = malloc(sizeof(*e) + n);
  if (!e) return;
  e->session_id = session_id;
  e->data = (uint8_t *)(e + 1);
  e->len = n;
  memcpy(e->data, d, n);
  e->next = c->early_dgrams;
  c->early_dgrams = e;
  c->nearly_dgrams++;
}

static void h_on_stream_credit(void *ctx, int bidi) {
  wt_conn *c = ctx;
  for (wt_session *s = c->all; s; s = s->next_all)
    if (s->state == WS_OPEN && s->wants_credit) {
      s->wants_credit = 0;
      wt_conn_mark_session(s, EV_CREDIT);
    }
}

static const wt_h3_handler handler_table = {
    .on_settings = h_on_settings,
    .on_goaway = h_on_goaway,
    .on_headers = h_on_headers,
    .on_data = h_on_data,
    .on_request_end = h_on_request_end,
    .on_request_stop = h_on_request_stop,
    .on_request_writable = h_on_request_writable,
    .on_wt_stream = h_on_wt_stream,
    .on_wt_data = h_on_wt_data,
    .on_wt_reset = h_on_wt_reset,
    .on_wt_stop = h_on_wt_stop,
    .on_wt_writable = h_on_wt_writable,
    .on_wt_acked = h_on_wt_acked,
    .on_wt_closed = h_on_wt_closed,
    .on_datagram = h_on_datagram,
    .on_stream_credit = h_on_stream_credit,
};

/* ------------------------------------------------------------------------ */
/* Early streams and datagrams                                              */

/* Moves what arrived before the session existed into it, oldest first. */
static void adopt_early(wt_conn *c, wt_session *s) {
  wt_stream *adopt = NULL;
  for (wt_stream *st = c->early, *next; st; st = next) {
    next = st->next;
    if (st->pending_session_id != s->id) continue;
    if (st->prev)
      st->prev->next = st->next;
    else
      c->early = st->next;
    if (st->next) st->next->prev = st->prev;
    c->nearly--;
    st->prev = NULL;
    st->next = adopt; /* the early list is newest first: this reverses it */
    adopt = st;
  }
  while (adopt) {
    wt_stream *st = adopt;
    adopt = st->next;
    st->next = NULL;
    wt_stream_attach(s, st);
  }
  wt_early_dgram *keep = NULL, *mine = NULL;
  while (c->early_dgrams) {
    wt_early_dgram *d = c->early_dgrams;
    c->early_dgrams = d->next;
    wt_early_dgram **list = d->session_id == s->id ? &mine : &keep;
    d->next = *list;
    *list = d;
  }
  c->early_dgrams = keep;
  while (mine) {
    wt_early_dgram *d = mine;
    mine = d->next;
    wt_session_on_datagram(s, d->data, d->len);
    c->nearly_dgrams--;
    free(d);
  }
}

static void reject_early_for(wt_conn *c, uint64_t session_id) {
  for (wt_stream *st = c->early, *next; st; st = next) {
    next = st->next;
    if (st->pending_session_id != session_id) continue;
    if (st->prev)
      st->prev->next = st->next;
    else
      c->early = st->next;
    if (st->next) st->next->prev = st->prev;
    c->nearly--;
    wt_h3conn_stop_sending(c->h3, st->id, WT_SESSION_GONE);
    if (st->bidi) wt_h3conn_reset(c->h3, st->id, WT_SESSION_GONE);
    wt_h3conn_detach(c->h3, st->id);
    wt_stream_free(st);
  }
  for (wt_early_dgram **pp = &c->early_dgrams; *pp;) {
    wt_early_dgram *d = *pp;
    if (d->session_id != session_id) {
      pp = &d->next;
      continue;
    }
    *pp = d->next;
    c->nearly_dgrams--;
    free(d);
  }
}

void wt_conn_session_gone(wt_conn *c, wt_session *s, int peer_closed) {
  if (s->state != WS_CONNECTING) {
    wt_idmap_del(&c->sessions, s->id);
    wt_idmap_put(&c->gone, s->id, peer_closed ? GONE_PEER_CLOSED : GONE_ENDED);
    reject_early_for(c, s->id);
  }
}

/* ------------------------------------------------------------------------ */
/* Input from QUIC                                                          */

void wt_conn_on_ready(wt_conn *c) {
  if (wt_h3conn_start(c->h3)) wt_h3conn_fail(c->h3, H3_INTERNAL_ERROR, "cannot open control streams");
}

void wt_conn_on_stream_data(wt_conn *c, int64_t sid, const uint8_t *d, size_t n, int fin) {
  wt_h3conn_on_stream_data(c->h3, sid, d, n, fin);
}
void wt_conn_on_stream_reset(wt_conn *c, int64_t sid, uint64_t code, uint64_t final_size) {
  wt_h3conn_on_stream_reset(c->h3, sid, code, final_size);
}
void wt_conn_on_stop_sending(wt_conn *c, int64_t sid, uint64_t code) { wt_h3conn_on_stop_sending(c->h3, sid, code); }
void wt_conn_on_stream_writable(wt_conn *c, int64_t sid) { wt_h3conn_on_stream_writable(c->h3, sid); }

void wt_conn_track_end(wt_conn *c, int64_t sid) { wt_idmap_put(&c->ending, (uint64_t)sid, c); }

void wt_conn_abort_request(wt_conn *c, int64_t sid, uint64_t code) {
  wt_h3conn_reset(c->h3, sid, code);
  wt_h3conn_stop_sending(c->h3, sid, code);
  if (!c->closed) wt_conn_track_end(c, sid);
}

void wt_conn_on_stream_acked(wt_conn *c, int64_t sid) {
  /* The owner checks wt_conn_finished() when woken. */
  if (wt_idmap_del(&c->ending, (uint64_t)sid)) wt_conn_wake(c);
  wt_h3conn_on_stream_acked(c->h3, sid);
}

void wt_conn_on_stream_closed(wt_conn *c, int64_t sid) {
  if (wt_idmap_del(&c->ending, (uint64_t)sid)) wt_conn_wake(c);
  wt_h3conn_on_stream_closed(c->h3, sid);
}
void wt_conn_on_datagram(wt_conn *c, const uint8_t *d, size_t n) { wt_h3conn_on_datagram(c->h3, d, n); }
void wt_conn_on_stream_credit(wt_conn *c, int bidi) { wt_h3conn_on_stream_credit(c->h3, bidi); }

void wt_conn_on_datagram_dropped(wt_conn *c, uint64_t tag) {
  wt_session *s = session_by_id(c, tag);
  if (s) s->dgram_send_drops++;
}

void wt_conn_on_closed(wt_conn *c, int err, const char *detail) {
  c->closed = 1;
  wt_http_on_closed(c, err, detail);
  /* A clean close came from the peer; errors (timeouts, TLS, protocol) are
   * reported as local ends with their cause. */
  for (wt_session *s = c->all; s; s = s->next_all) {
    if (s->state == WS_CLOSED) continue;
    /* Losing the connection before a session was ready is a failure even
     * if the peer closed it cleanly. */
    int e = err == 0 && s->state != WS_OPEN ? WT_ERR_CLOSED : err;
    wt_session_terminate(s, err == 0, 0, NULL, 0, e, detail);
  }
}

int wt_conn_poolable(const wt_conn *c) {
  return !c->cfg.is_server && c->settings_seen && c->fc_enabled && !c->closed && !c->winding_down &&
         !wt_h3conn_goaway_received(c->h3) && !wt_h3conn_is_closed(c->h3);
}

int wt_conn_shutdown(wt_conn *c) {
  c->winding_down = 1;
  for (wt_session *s = c->all; s; s = s->next_all)
    if (s->state == WS_OPEN) wt_session_drain(s);
  if (c->cfg.is_server && c->goaway_sent_id == UINT64_MAX) {
    /* No new requests will be processed: the next client bidi stream ID. */
    c->goaway_sent_id = c->next_request_id;
    return wt_h3conn_send_goaway(c->h3, c->next_request_id);
  }
  return 0;
}
