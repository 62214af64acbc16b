/*
 * wt_internal.h: the WebTransport layer's objects (session, stream, the
 * per-connection state) and the functions its files share.
 *
 * For: src/wt/ only. The layer sits on one wt_h3conn per connection and
 * talks down through the same wt_h3_io the HTTP/3 layer uses, plus a few
 * connection facts HTTP/3 does not carry (wt_conn_io). It never touches a
 * socket, a clock or ngtcp2, so client and server can be run back to back
 * in memory.
 *
 * Ownership and lifetimes:
 *  - wt_conn owns its sessions (by session ID) and the early streams and
 *    datagrams not yet tied to a session.
 *  - a session owns its streams (intrusive list) and its datagram queue.
 *  - a stream is freed right after its WT_EV_STREAM_CLOSED callback
 *    returns; a session right after its WT_EV_SESSION_CLOSED callback.
 *    Events are only delivered from wt_conn_dispatch(), never from inside
 *    an input call, so no object disappears under a caller's feet.
 */
#ifndef WT_WT_INTERNAL_H
#define WT_WT_INTERNAL_H

#include <stdint.h>

#include "h3/capsule.h"
#include "h3/h3conn.h"
#include "util/buf.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/url.h"
#include "webtransport.h"
#include "wt/router.h"

typedef struct wt_conn wt_conn;

/* Connection facts below HTTP/3 that WebTransport needs. */
typedef struct wt_conn_io {
  void *ctx;
  /* TLS exporter (RFC 8446 §7.5). Returns 0 or WT_ERR_TLS. */
  int (*export_keying_material)(void *ctx, const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                                size_t out_len);
  /* The largest QUIC DATAGRAM payload that can be sent now; 0 if none. */
  size_t (*max_datagram_payload)(void *ctx);
  /* Nonzero if the peer's transport parameters include
   * max_datagram_frame_size (RFC 9221 §3), i.e. it accepts DATAGRAM frames. */
  int (*peer_accepts_datagrams)(void *ctx);
  /* Streams of a kind we may open right now. */
  uint64_t (*streams_left)(void *ctx, int bidi);
  /* Asks the owner to send soon (an API call queued output). */
  void (*wake)(void *ctx);
  /* Server: whether the peer may make another request now (its source
   * address is within the request rate). NULL: always. */
  int (*admit_request)(void *ctx);
  /* Adds an event to the connection's qlog, if any (may be NULL). */
  void (*qlog)(void *ctx, const char *name, const char *data_json);
} wt_conn_io;

typedef struct wt_conn_config {
  int is_server;
  wt_request_cb on_request;
  void *request_user_data;
  wt_event_cb on_event;
  void *event_user_data;
  wt_origin_cb check_origin;
  void *origin_user_data;
  const char *const *allowed_origins;
  size_t nallowed_origins;
  const char *const *protocols; /* server preference order */
  size_t nprotocols;
  uint32_t stream_send_buffer;
  uint32_t datagram_recv_queue;
  uint32_t datagram_recv_queue_bytes;
  uint32_t max_buffered_streams;
  uint32_t max_buffered_datagrams;
  unsigned server_drafts; /* server: generations offered; 0 = all */
  int pooling;            /* we announce flow control */
  uint32_t max_sessions;  /* server, when flow control is on */
  uint64_t session_max_data;
  uint32_t session_max_streams_bidi, session_max_streams_uni;
  uint64_t max_field_section_size;
  uint64_t grease_seed;
  const wt_logger *log;
  wt_stats *stats;          /* the transport's counters; may be NULL */
  const wt_router *router;  /* server: the transport's routes; may be NULL */
} wt_conn_config;

/* Adds to a counter of the transport, if it keeps any. */
#define WT_STAT(c, field, n)                                                                                           \
  do {                                                                                                                 \
    if ((c)->cfg.stats) (c)->cfg.stats->field += (n);                                                                  \
  } while (0)

/* Pending-event bits. */
enum {
  EV_READY = 1u << 0,
  EV_DRAINING = 1u << 1,
  EV_DATAGRAM = 1u << 2,
  EV_STREAM = 1u << 3,
  EV_CREDIT = 1u << 4,
  EV_CLOSED = 1u << 5,
  EV_READABLE = 1u << 6,
  EV_WRITABLE = 1u << 7,
  EV_SEND_ABORTED = 1u << 8,
  EV_RECV_ABORTED = 1u << 9,
  EV_COMMITTED = 1u << 10,
};

typedef enum wt_session_state {
  WS_CONNECTING,    /* client: waiting for the server's SETTINGS */
  WS_REQUESTED,     /* client: CONNECT sent, waiting for the response */
  WS_WAIT_SETTINGS, /* server: request parked until the client's SETTINGS */
  WS_OPEN,
  WS_CLOSED, /* terminated; CLOSED event pending or delivered */
} wt_session_state;

struct wt_stream {
  wt_conn *conn;
  wt_session *session; /* NULL while buffered before its session exists */
  uint64_t pending_session_id;
  int64_t id;
  uint8_t bidi, local;
  uint8_t accepted; /* the application has it (local streams always) */
  /* receive side */
  uint8_t fin_received, fin_read, recv_reset, recv_stopped;
  /* send side */
  uint8_t fin_sent, send_reset, send_stopped, committed, want_writable;
  uint8_t detached; /* no longer routed from HTTP/3 */
  uint8_t close_delivered;
  uint32_t reset_code, stop_code;
  uint8_t reset_has_code, stop_has_code;
  uint32_t pending; /* EV_* bits */
  wt_buf rbuf;
  uint64_t rx_total; /* payload bytes received (for session flow control) */
  void *context;
  wt_stream *prev, *next; /* session's stream list, or conn's early list */
  wt_stream *in_next;     /* session's incoming queue */
  wt_stream *dirty_next;
  uint8_t dirty;
  uint8_t queued; /* in the incoming queue */
};

/* Session flow control state (flow.c). Arrays are indexed by bidi (0/1). */
typedef struct wt_flow {
  int enabled;
  /* limits the peer set for us */
  uint64_t tx_max_data, tx_data;
  uint64_t tx_max_streams[2], tx_streams[2];
  uint64_t blocked_data_at, blocked_streams_at[2]; /* last *_BLOCKED value sent, plus 1 */
  uint64_t peer_blocked_at[3]; /* last *_BLOCKED value logged (data, uni, bidi), plus 1: one line per limit */
  /* limits we set for the peer */
  uint64_t rx_window, rx_max_data, rx_data, rx_consumed;
  uint64_t rx_stream_window[2], rx_max_streams[2], rx_streams[2], rx_retired[2];
} wt_flow;

typedef struct wt_dgram_slot {
  uint8_t *data;
  size_t len, cap;
} wt_dgram_slot;

struct wt_session {
  wt_conn *conn;
  uint64_t id; /* CONNECT stream ID; valid from WS_REQUESTED */
  wt_session_state state;
  int is_server;
  int draft;
  char *path, *authority, *origin, *protocol;
  wt_h3_headers *request; /* server: the request, until answered */
  uint8_t wants_credit;   /* an open_stream failed for lack of credit */
  /* client: what we offer */
  char **offered;
  size_t noffered;
  /* capsules on the CONNECT stream */
  wt_capsule_parser cp;
  wt_buf early_data; /* server: DATA before we accepted */
  uint8_t close_sent, close_received, fin_sent, fin_received, drain_sent, draining_delivered;
  uint8_t announced;        /* the application has seen WT_EV_SESSION_READY */
  uint8_t require_protocol; /* client: no common sub-protocol is fatal */
  /* the close that ended it */
  uint32_t close_code;
  char *close_reason;
  size_t close_reason_len;
  int close_by_peer, close_http_status, close_error;
  char close_detail[512];
  /* streams */
  wt_stream *streams; /* all streams of the session */
  wt_stream *in_head, *in_tail;
  wt_flow flow;
  /* datagrams received, a ring of reusable slots */
  wt_dgram_slot *dq;
  size_t dq_cap, dq_head, dq_len, dq_bytes;
  uint64_t dgram_send_drops, dgram_recv_drops;
  /* events */
  wt_event_cb cb;
  void *cb_user_data;
  void *user_data;
  uint32_t pending;
  wt_session *dirty_next;
  uint8_t dirty;
  wt_session *next_all; /* conn's list of live sessions */
};

typedef struct wt_early_dgram {
  uint64_t session_id;
  uint8_t *data;
  size_t len;
  struct wt_early_dgram *next;
} wt_early_dgram;

struct wt_conn {
  wt_conn_config cfg;
  wt_h3_io io;
  wt_conn_io xio;
  wt_h3conn *h3;
  wt_idmap sessions; /* by session ID (those past WS_CONNECTING) */
  wt_idmap gone;     /* IDs of sessions that ended (value unused) */
  wt_session *all;   /* every live session, including WS_CONNECTING */
  wt_stream *early;  /* streams waiting for their session */
  size_t nearly;
  wt_early_dgram *early_dgrams;
  size_t nearly_dgrams;
  uint64_t early_dgram_drops;
  wt_session *dirty_sessions;
  wt_stream *dirty_streams;
  int settings_seen;
  int closed; /* connection is gone */
  int had_session;
  char close_reason[200];   /* client: why its last session failed, for CONNECTION_CLOSE */
  unsigned draft_mask;      /* generations we offer (and accept, on a server) */
  int winding_down;         /* wt_conn_shutdown ran: no new sessions here */
  uint64_t next_request_id; /* server: first request stream ID not yet seen */
  uint64_t goaway_sent_id;  /* server: requests at or above this are refused */
  wt_idmap ending;          /* CONNECT streams whose end (FIN or reset) the peer may not have yet */
  int fc_enabled;           /* both sides announced WebTransport flow control */
  /* plain HTTP requests (http.c) */
  wt_idmap http;                /* by request stream ID, once on the wire */
  wt_http_request *http_all;    /* every live one, including unsent client requests */
  wt_http_request *dirty_http;
};

/* One plain HTTP exchange on a request stream (http.c). */
struct wt_http_request {
  wt_conn *conn;
  int64_t id; /* -1 on a client until sent */
  uint8_t is_server;
  uint8_t sent;        /* client: HEADERS on the wire; server: response started */
  uint8_t fin_pending; /* client: finished before the request went out */
  uint8_t no_body_out; /* our message may carry no body (response to HEAD, 204, 304) */
  uint8_t send_done;   /* our FIN went out, or our side was aborted */
  uint8_t fin_received, recv_done;
  uint8_t announced; /* the application has seen it */
  int error;         /* WT_ERR_* once aborted */
  uint64_t code;     /* HTTP/3 error code of the abort, if any */
  char detail[128];
  int64_t out_length; /* content-length we announced, or -1 */
  uint64_t out_sent;
  wt_h3_headers fields; /* server: the request; client: the response */
  wt_h3_headers out;    /* client: the request we send */
  wt_buf rbuf;                    /* body from the peer, not yet read (not yet credited) */
  uint32_t pending;
  uint8_t dirty;
  wt_http_request *dirty_next;
  wt_event_cb cb;
  void *cb_user_data;
  void *context;
  wt_http_request *prev, *next; /* conn's http_all */
};

/* A server-side session request, as the request hook sees it. */
struct wt_request {
  wt_session *s;
  wt_h3_headers *h;
  char **protocols;
  size_t nprotocols;
  const char *selected;
  wt_event_cb cb;
  void *cb_user_data;
  int cb_set;
};

/* wtconn.c */
void wt_conn_mark_session(wt_session *s, uint32_t ev);
void wt_conn_mark_stream(wt_stream *st, uint32_t ev);
void wt_conn_wake(wt_conn *c);
/* qlog records of this layer (no-ops without a qlog file). */
void wt_conn_qlog(wt_conn *c, const char *name, const char *data_json);
void wt_conn_qlog_session(wt_session *s, const char *name);
/* Ends a session: resets its streams with WT_SESSION_GONE, sends what the
 * protocol asks for, queues WT_EV_SESSION_CLOSED. */
void wt_session_terminate(wt_session *s, int by_peer, uint32_t code, const char *reason, size_t reason_len, int error,
                          const char *detail);
void wt_session_free(wt_session *s);
/* Records that a session ended: its ID is retired, early streams and
 * datagrams for it are refused. */
void wt_conn_session_gone(wt_conn *c, wt_session *s, int peer_closed);
/* Notes that we sent FIN on a CONNECT stream (the connection is not
 * finished before the peer acknowledges it). */
/* The connection stays until the peer has the end of this CONNECT stream:
 * our FIN acknowledged, or the stream closed (our reset acknowledged). */
void wt_conn_track_end(wt_conn *c, int64_t sid);
/* Resets and stops a request (CONNECT) stream with an HTTP/3 or
 * WebTransport error code, and keeps the connection until that arrives. */
void wt_conn_abort_request(wt_conn *c, int64_t sid, uint64_t code);
/* Answers a request with a bodiless status (and an `allow` field when not
 * NULL), and stops reading it (RFC 9114 §4.1: H3_NO_ERROR). */
void wt_conn_refuse(wt_conn *c, int64_t sid, int status, const char *allow, const char *why);
/* Delivers an event to `cb` (or the connection's default callback). */
void wt_conn_emit(wt_conn *c, wt_event_cb cb, void *user_data, wt_event *ev);

/* http.c: plain requests. The on_* return nonzero when `sid` was theirs. */
void wt_http_on_request(wt_conn *c, int64_t sid, wt_h3_headers *h);
int wt_http_on_response(wt_conn *c, int64_t sid, wt_h3_headers *h);
/* Returns the bytes kept for the application (credited when read). */
size_t wt_http_on_data(wt_conn *c, int64_t sid, const uint8_t *data, size_t len);
int wt_http_on_end(wt_conn *c, int64_t sid, int reset, uint64_t code);
int wt_http_on_stop(wt_conn *c, int64_t sid, uint64_t code);
void wt_http_on_writable(wt_conn *c, int64_t sid);
/* Client: sends requests that waited for the server's SETTINGS. */
void wt_http_on_settings(wt_conn *c);
void wt_http_on_closed(wt_conn *c, int err, const char *detail);
/* Delivers pending events; frees finished requests. */
void wt_http_dispatch(wt_conn *c);
/* Frees every request without events. */
void wt_http_free_all(wt_conn *c);
/* Client: a request on this connection (see wt_http_request_send). */
int wt_http_start(wt_conn *c, const char *method, const wt_url *u, const wt_http_header *hdrs, size_t n,
                  const wt_connect_options *opts, wt_http_request **out);
/* Client: nonzero if plain requests may still go on this connection. */
int wt_conn_http_reusable(const wt_conn *c);

/* stream.c */
wt_stream *wt_stream_new(wt_conn *c, wt_session *s, int64_t sid, int bidi, int local);
void wt_stream_free(wt_stream *st);
void wt_stream_attach(wt_session *s, wt_stream *st);
void wt_stream_on_data(wt_stream *st, const uint8_t *data, size_t len, int fin);
void wt_stream_on_reset(wt_stream *st, uint64_t code, uint64_t final_payload);
void wt_stream_on_stop(wt_stream *st, uint64_t code);
void wt_stream_on_writable(wt_stream *st);
void wt_stream_on_acked(wt_stream *st);
/* Session is ending: reset/stop with WT_SESSION_GONE and finish it. */
void wt_stream_session_gone(wt_stream *st);
/* Nonzero once both directions are finished for the application. */
int wt_stream_is_done(const wt_stream *st);

/* flow.c */
void wt_flow_init(wt_session *s);
uint64_t wt_flow_send_credit(wt_session *s);
void wt_flow_on_sent(wt_session *s, uint64_t n, int blocked);
/* Nonzero if a stream may be opened; when not and `announce`, sends
 * WT_STREAMS_BLOCKED. */
int wt_flow_can_open(wt_session *s, int bidi, int announce);
void wt_flow_on_opened(wt_session *s, int bidi);
/* These return -1 after ending the session for a violation. */
int wt_flow_on_peer_stream(wt_session *s, int bidi);
int wt_flow_on_received(wt_session *s, uint64_t n);
int wt_flow_on_capsule(wt_session *s, uint64_t type, const uint8_t *v, size_t len);
void wt_flow_on_consumed(wt_session *s, uint64_t n);
void wt_flow_on_peer_stream_retired(wt_session *s, int bidi);
void wt_flow_violation(wt_session *s, const char *why);

/* session.c */
wt_session *wt_session_new(wt_conn *c, int is_server);
void wt_session_on_datagram(wt_session *s, const uint8_t *data, size_t len);
int wt_session_feed_capsules(wt_session *s, const uint8_t *data, size_t len);

#endif
