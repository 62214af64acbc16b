/*
 * webtransport.h: the whole public API of libwebtransport.
 *
 * libwebtransport is a WebTransport-over-HTTP/3 library for servers and
 * clients. One *transport* is one UDP socket driven by one thread: it serves
 * incoming connections and dials outgoing ones. Sessions, streams and
 * datagrams live on top of it. The library owns every object it hands out;
 * each section below says how long a pointer stays valid.
 *
 * Seed API (shared/seeds/000) -> C function:
 *
 *   quic.Transport (serve + dial)   wt_transport_new / wt_transport_run /
 *                                   wt_transport_fd + wt_transport_timeout_ms +
 *                                   wt_transport_process
 *   createSession(url, origin)      wt_session_connect (origin in options)
 *   terminateSession(code, reason)  wt_session_close
 *   drainSession()                  wt_session_drain
 *   exportKeyingMaterial()          wt_session_export_keying_material
 *   event sessionTerminated         WT_EV_SESSION_CLOSED
 *   event sessionDrained/draining   WT_EV_SESSION_DRAINING
 *   sendDatagram([]byte)            wt_session_send_datagram
 *   receiveDatagram()               wt_session_receive_datagram
 *                                   (readiness: WT_EV_SESSION_DATAGRAM)
 *   getMaxDatagramSize / getMTUD    wt_session_max_datagram_size
 *   createStream(uni|bidi)          wt_session_open_stream
 *   receiveStream()                 wt_session_accept_stream
 *                                   (readiness: WT_EV_SESSION_STREAM)
 *   sendBytes([]byte)               wt_stream_write (fin flag closes)
 *   receiveBytes()                  wt_stream_read (readiness:
 *                                   WT_EV_STREAM_READABLE)
 *   close send side (FIN)           wt_stream_close
 *   abortSend(code)                 wt_stream_abort_send
 *   abortReceive(code)              wt_stream_abort_receive
 *   event sendSideAborted           WT_EV_STREAM_SEND_ABORTED
 *   event receiveSideAborted        WT_EV_STREAM_RECV_ABORTED
 *   event allDataCommitted          WT_EV_STREAM_COMMITTED
 *   stream context + closure notice wt_stream_set_context + WT_EV_STREAM_CLOSED
 *   origin validation / protocols   wt_request_* in the server's request hook
 *
 * Threading: a transport and everything on it must be used from one thread,
 * except wt_transport_stop(), which may be called from any thread or a
 * signal handler. Run several transports (one per thread, SO_REUSEPORT) to
 * use several cores.
 *
 * Errors: functions return 0 (or a non-negative count) on success and a
 * negative WT_ERR_* code on failure; wt_strerror() names it.
 */
#ifndef WEBTRANSPORT_H
#define WEBTRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(WT_BUILDING_LIBRARY)
#define WT_EXTERN __attribute__((visibility("default")))
#else
#define WT_EXTERN
#endif

/** Library version, "MAJOR.MINOR.PATCH". */
#define WT_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/** Negative return codes of every libwebtransport function. */
enum {
  /** An argument is NULL, out of range or malformed (a bad URL, say). */
  WT_ERR_INVALID_ARGUMENT = -1,
  /** Memory allocation failed. */
  WT_ERR_NOMEM = -2,
  /** Nothing can be done right now: no data to read, no room to write, no
   * stream credit. A readiness event tells when to try again. */
  WT_ERR_AGAIN = -3,
  /** The object is not in a state that allows the call (a stream whose send
   * side is already closed, a session that is not ready yet). */
  WT_ERR_STATE = -4,
  /** The peer violated the protocol. */
  WT_ERR_PROTO = -5,
  /** The data is larger than the protocol or a configured cap allows. */
  WT_ERR_TOO_LARGE = -6,
  /** A system call failed; the log line says which and why. */
  WT_ERR_IO = -7,
  /** TLS setup, handshake or certificate verification failed. */
  WT_ERR_TLS = -8,
  /** The session, stream or connection is closed. */
  WT_ERR_CLOSED = -9,
  /** A host name could not be resolved, or a file could not be found. */
  WT_ERR_NOT_FOUND = -10,
  /** A configured limit was reached (connections, queued streams, ...). */
  WT_ERR_LIMIT = -11,
  /** The QUIC stack reported an internal error; the log line has details. */
  WT_ERR_QUIC = -12,
  /** The connection went quiet for longer than the idle timeout. */
  WT_ERR_TIMEOUT = -13,
};

/** Returns a static English description of a WT_ERR_* code. */
WT_EXTERN const char *wt_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Objects                                                                  */
/* ------------------------------------------------------------------------ */

/** One UDP socket, its connections, and the event loop that drives them. */
typedef struct wt_transport wt_transport;
/** A WebTransport session: one extended CONNECT request and what it carries.
 * Valid from the moment it is handed out (wt_session_connect, or the READY
 * event on a server) until the callback for its WT_EV_SESSION_CLOSED event
 * returns. */
typedef struct wt_session wt_session;
/** A WebTransport stream (uni or bidi). Valid from the moment it is handed
 * out (wt_session_open_stream, wt_session_accept_stream) until the callback
 * for its WT_EV_STREAM_CLOSED event returns. */
typedef struct wt_stream wt_stream;
/** An incoming session request, seen by the server's request hook. Valid only
 * during that call. */
typedef struct wt_request wt_request;
/** One plain HTTP/3 request and its response (GET, HEAD, POST, ...: one
 * request stream), on either side. Server: valid from its
 * WT_EV_HTTP_REQUEST event; client: from wt_http_request_send. In both cases
 * until the callback for its WT_EV_HTTP_CLOSED event returns. */
typedef struct wt_http_request wt_http_request;

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/** What happened. Stream events carry the stream; every event carries its
 * session. */
typedef enum wt_event_type {
  /** The session is established: on a client, the server answered 2xx; on a
   * server, the request hook accepted it. */
  WT_EV_SESSION_READY = 1,
  /** The peer asked to wind the session down (WT_DRAIN_SESSION capsule or an
   * HTTP/3 GOAWAY). The session keeps working. */
  WT_EV_SESSION_DRAINING,
  /** The session ended. Always the last event of a session, delivered exactly
   * once, after the WT_EV_STREAM_CLOSED events of all its streams.
   * `code`/`reason` carry the WebTransport close code and reason (0 and ""
   * when none was given); `by_peer` says who closed it; `http_status` is the
   * server's non-2xx answer if the session was refused; `error` is 0 for an
   * orderly close and a WT_ERR_* otherwise (connection lost, TLS failure,
   * protocol error). */
  WT_EV_SESSION_CLOSED,
  /** One or more datagrams wait in the receive queue. */
  WT_EV_SESSION_DATAGRAM,
  /** One or more peer-opened streams wait for wt_session_accept_stream. */
  WT_EV_SESSION_STREAM,
  /** New stream credit: wt_session_open_stream may succeed again. */
  WT_EV_SESSION_STREAM_CREDIT,
  /** Bytes, the end of the stream, or a reset can be read. */
  WT_EV_STREAM_READABLE,
  /** Send-buffer room is back after a partial wt_stream_write. */
  WT_EV_STREAM_WRITABLE,
  /** The peer sent STOP_SENDING: our send side is aborted. `code` holds its
   * application code when `has_code` is set. */
  WT_EV_STREAM_SEND_ABORTED,
  /** The peer reset its send side: our receive side is aborted. `code` holds
   * its application code when `has_code` is set. */
  WT_EV_STREAM_RECV_ABORTED,
  /** Everything written, including the FIN, was acknowledged by the peer. */
  WT_EV_STREAM_COMMITTED,
  /** The stream is finished in both directions. Release its context here;
   * the wt_stream pointer is invalid after the callback returns. */
  WT_EV_STREAM_CLOSED,
  /** Server: a plain HTTP request for a route arrived (`http`); its method,
   * path and headers can be read. Answer now or later with
   * wt_http_request_respond. */
  WT_EV_HTTP_REQUEST,
  /** Client: the final response's status and headers arrived. */
  WT_EV_HTTP_RESPONSE,
  /** Body bytes from the peer, or its end, can be read (wt_http_request_read). */
  WT_EV_HTTP_READABLE,
  /** Room is back after a short wt_http_request_write (client: also once
   * the request has gone out). */
  WT_EV_HTTP_WRITABLE,
  /** The exchange is over: both bodies ended, or it was aborted or its
   * connection lost (`error` set; `code` holds the HTTP/3 error code, its
   * low 32 bits, when `has_code` is set). Always the last event of a
   * request; the pointer is invalid after the callback returns. */
  WT_EV_HTTP_CLOSED,
} wt_event_type;

/** An event, valid during the callback only. */
typedef struct wt_event {
  wt_event_type type;
  wt_session *session;
  /** The stream, for WT_EV_STREAM_* events; NULL otherwise. */
  wt_stream *stream;
  /** Application error code (aborts and session close). */
  uint32_t code;
  /** Nonzero when `code` is meaningful for an abort event (a reset may carry
   * no WebTransport application code, e.g. when its session ended). */
  int has_code;
  /** WT_EV_SESSION_CLOSED: close reason, UTF-8, not NUL-terminated. */
  const char *reason;
  size_t reason_len;
  /** WT_EV_SESSION_CLOSED: nonzero if the peer closed the session. */
  int by_peer;
  /** WT_EV_SESSION_CLOSED: the HTTP status of a refused request, else 0. */
  int http_status;
  /** WT_EV_SESSION_CLOSED: 0 for an orderly close, else a WT_ERR_* code. */
  int error;
  /** WT_EV_SESSION_CLOSED: a one-line human-readable cause when `error` or
   * `http_status` is set (NUL-terminated), else "". */
  const char *detail;
  /** The request, for WT_EV_HTTP_* events (`session` and `stream` are NULL
   * then); NULL otherwise. */
  wt_http_request *http;
} wt_event;

/** Event callback. `user_data` is the value registered with the callback. */
typedef void (*wt_event_cb)(const wt_event *ev, void *user_data);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

/** Log levels, most severe first. */
typedef enum wt_log_level {
  WT_LOG_ERROR = 0,
  WT_LOG_WARN = 1,
  WT_LOG_INFO = 2,
  WT_LOG_DEBUG = 3,
} wt_log_level;

/** Receives one log line (no trailing newline). */
typedef void (*wt_log_cb)(wt_log_level level, const char *line, void *user_data);

/* ------------------------------------------------------------------------ */
/* Transport                                                                */
/* ------------------------------------------------------------------------ */

/** Server hook for an incoming session request. Return the HTTP status to
 * answer: 200 (or any 2xx) accepts the session, anything else refuses it.
 * Call wt_request_select_protocol / wt_request_set_callback before returning
 * 2xx to pick a sub-protocol and route the session's events. */
typedef int (*wt_request_cb)(wt_request *req, void *user_data);

/** Server hook deciding whether a request's `origin` header is acceptable.
 * Return nonzero to accept. Called only for requests that carry an origin. */
typedef int (*wt_origin_cb)(const char *origin, const char *authority, void *user_data);

/** Pluggable connection-ID generator (for load balancers that route by CID,
 * e.g. the QUIC-LB layout). Fill `cid` with `cidlen` bytes; return 0, or -1
 * on failure. Must never repeat a CID that is still in use. */
typedef int (*wt_cid_generate_cb)(uint8_t *cid, size_t cidlen, void *user_data);

/** When a server sends QUIC Retry, which makes a client prove it receives
 * packets at its source address before the server keeps any state for it
 * (RFC 9000 §8.1). It costs the client one round trip. */
typedef enum wt_retry_mode {
  /** While more than `retry_threshold` handshakes are in flight: normal
   * clients pay nothing, a flood of forged addresses is stopped. */
  WT_RETRY_AUTO = 0,
  WT_RETRY_ALWAYS = 1,
  WT_RETRY_NEVER = 2,
} wt_retry_mode;
/** Congestion controllers (wt_transport_config.cc), as ngtcp2 offers them. */
typedef enum wt_cc_algo {
  WT_CC_CUBIC = 0, /**< default */
  WT_CC_RENO = 1,
  WT_CC_BBR = 2,
  WT_CC_BBR2 = 3,
} wt_cc_algo;

/** A draft generation (2, 7, 13 or 15) in wt_transport_config.drafts. */
#define WT_DRAFT_BIT(n) (1u << (n))

/** Transport configuration. Always initialise with wt_transport_config_init()
 * and then change what you need; fields added later get safe defaults. */
typedef struct wt_transport_config {
  /** Local address to bind, numeric ("127.0.0.1", "::"). Default "::"
   * (all addresses, IPv4 and IPv6). */
  const char *bind_addr;
  /** Local UDP port; 0 picks an ephemeral one (see wt_transport_port). */
  uint16_t port;
  /** Nonzero to accept incoming connections (serve). */
  int server;
  /** Set SO_REUSEPORT so several transports can share one port. */
  int reuse_port;
  /** Server certificate chain and private key (PEM files). When both are
   * NULL a server generates an ECDSA P-256 certificate valid for 13 days
   * for "localhost", 127.0.0.1 and ::1, which browsers accept through
   * serverCertificateHashes; see wt_transport_cert_sha256(). */
  const char *cert_file;
  const char *key_file;
  /** The same as PEM text in memory (used when the file names are NULL),
   * e.g. from wt_certificate_generate() to give several transports one
   * certificate. */
  const char *cert_pem;
  const char *key_pem;
  /** Server: called for each session request. NULL refuses every request
   * with 404. */
  wt_request_cb on_request;
  void *request_user_data;
  /** Server: origin validation, before on_request; a refused origin gets
   * 403. With no hook, an origin is accepted when its host equals the
   * :authority's host or when it is in `allowed_origins` (exact,
   * case-insensitive, e.g. "https://app.example.com"). Requests without an
   * origin header (non-browser clients) are not checked. */
  wt_origin_cb check_origin;
  void *origin_user_data;
  const char *const *allowed_origins;
  size_t nallowed_origins;
  /** Server: sub-protocols in preference order. The first one the client
   * offered is selected before on_request runs (which may change it with
   * wt_request_select_protocol). */
  const char *const *protocols;
  size_t nprotocols;
  /** Default event callback for sessions that set none of their own. */
  wt_event_cb on_event;
  void *event_user_data;
  /** Log sink; NULL logs to stderr. Lines below `log_level` are dropped. */
  wt_log_cb log_cb;
  void *log_user_data;
  wt_log_level log_level;
  /** Close a connection after this long without any packet. Default 30000. */
  uint32_t idle_timeout_ms;
  /** Per-stream receive window (bytes the peer may send ahead of what the
   * application has read). Default 256 KiB. */
  uint32_t stream_window;
  /** Per-connection receive window. Default 16 MiB. */
  uint32_t conn_window;
  /** Bytes a stream buffers for sending (unsent plus unacknowledged) before
   * wt_stream_write accepts less than it was given. Default 256 KiB. */
  uint32_t stream_send_buffer;
  /** Incoming streams of each kind the peer may have open at once (for
   * bidi streams this includes CONNECT streams). Default 128. */
  uint32_t max_streams_bidi;
  uint32_t max_streams_uni;
  /** Datagram queues. The send queue belongs to the connection (sessions
   * pooled on one connection share it), the receive queue to each session.
   * Each is bounded in datagrams and in bytes. Defaults 1024 datagrams and
   * 1 MiB. */
  uint32_t datagram_send_queue;
  uint32_t datagram_recv_queue;
  uint32_t datagram_send_queue_bytes;
  uint32_t datagram_recv_queue_bytes;
  /** Queued datagrams older than this are dropped instead of sent (they
   * would arrive too late to matter). 0 (default): no age limit. */
  uint32_t datagram_max_age_ms;
  /** What a full send queue does: 0 (default) refuses the new datagram
   * (wt_session_send_datagram returns WT_ERR_AGAIN); 1 drops the oldest
   * queued ones to make room. Either way drops are counted. */
  int datagram_drop_oldest;
  /** Several sessions per connection, with WebTransport flow control
   * (draft §5). Off by default: browsers open one connection per session.
   * When on, the per-session limits below are announced in SETTINGS; if the
   * peer announces flow control too, a server connection carries up to
   * `max_sessions` sessions and a client reuses connections for
   * wt_session_connect calls with `pooled` set. */
  int pooling;
  uint32_t max_sessions;             /**< server, with pooling; default 16 */
  uint64_t session_max_data;         /**< bytes a peer may send per session ahead of our reads; default 4 MiB */
  uint32_t session_max_streams_bidi; /**< streams a peer may open per session; default 100 each */
  uint32_t session_max_streams_uni;
  /** Server: the WebTransport draft generations offered in SETTINGS, as a
   * set of WT_DRAFT_BIT(n), n = 2, 7, 13, 15. 0 (default) offers all of
   * them, which is what browsers need (Chromium negotiates draft 2 today).
   * Fewer is for pinning a deployment or testing clients' fallback. */
  unsigned drafts;
  /** Streams and datagrams that arrive before their session is known are
   * held up to these bounds; beyond them streams are refused with
   * WT_BUFFERED_STREAM_REJECTED and datagrams dropped. Defaults 16 and 64. */
  uint32_t max_buffered_streams;
  uint32_t max_buffered_datagrams;
  /** Server admission limits. Over them a new connection is refused with
   * QUIC CONNECTION_REFUSED and a request with HTTP 429, at once and
   * without keeping state. Rates are per source address (an IPv4 address
   * or an IPv6 /64), as token buckets: `*_rate_per_addr` per second with
   * bursts of `*_burst_per_addr`; a rate of 0 turns that limit off.
   * Defaults: 10000 connections in all and 128 per address, 50/s (burst
   * 100) new connections and 100/s (burst 200) requests per address. A
   * connection costs the server about 100 KiB (mostly ngtcp2 and GnuTLS
   * state), so the caps bound memory: 128 connections, ~13 MiB, per
   * address. Raise them for many clients behind one NAT address or for
   * benchmarks from one host. */
  uint32_t max_connections;          /**< 0: no cap */
  uint32_t max_connections_per_addr; /**< 0: no cap */
  uint32_t conn_rate_per_addr;
  uint32_t conn_burst_per_addr;
  uint32_t request_rate_per_addr;
  uint32_t request_burst_per_addr;
  /** Address validation with Retry (default WT_RETRY_AUTO, threshold 128
   * handshakes in flight). */
  wt_retry_mode retry;
  uint32_t retry_threshold;
  /** Largest request or response header section accepted (announced as
   * SETTINGS_MAX_FIELD_SECTION_SIZE); larger ones get H3_EXCESSIVE_LOAD.
   * Default 16384, minimum 1024. */
  uint32_t max_field_section_size;
  /** Connection ID length (8..20) and optional generator. Default: 16
   * random bytes. */
  size_t cid_len;
  wt_cid_generate_cb cid_generate;
  void *cid_user_data;
  /** An existing directory: every connection writes a qlog file there,
   * `server-<cid>.sqlog` or `client-<cid>.sqlog` (JSON-SEQ, RFC 7464):
   * ngtcp2's QUIC events, plus the HTTP/3 SETTINGS the peer sent and
   * WebTransport session events (`webtransport:session_established`,
   * `webtransport:session_closed` with the one-line cause). NULL (default):
   * no qlog. The string is copied. */
  const char *qlog_dir;
  /** Congestion controller of every connection. Default WT_CC_CUBIC. */
  wt_cc_algo cc;
  /** Nonzero: do not use UDP segmentation offload (GSO, several packets
   * per send) or receive coalescing (GRO), even where the kernel has them.
   * They are detected when the socket opens; this is for measuring and for
   * devices that misbehave with them. */
  int no_udp_offload;
} wt_transport_config;

/** Fills `cfg` with defaults. */
WT_EXTERN void wt_transport_config_init(wt_transport_config *cfg);

/** Creates a transport: binds the UDP socket and, for a server, loads or
 * generates the certificate. On success *out owns everything; free it with
 * wt_transport_free(). */
WT_EXTERN int wt_transport_new(const wt_transport_config *cfg, wt_transport **out);

/** Closes every connection at once (CONNECTION_CLOSE is sent), delivers the
 * final events, closes the socket and frees the transport. Do not call it
 * from inside a callback. */
WT_EXTERN void wt_transport_free(wt_transport *t);

/** Built-in event loop: processes packets and timers until
 * wt_transport_stop() is called. Returns 0, or a WT_ERR_* on a fatal error. */
WT_EXTERN int wt_transport_run(wt_transport *t);

/** Makes wt_transport_run() return soon. Safe from any thread and from a
 * signal handler. */
WT_EXTERN void wt_transport_stop(wt_transport *t);

/** Embeddable mode: a file descriptor that becomes readable when the
 * transport has work. Watch it for readability in your own loop. */
WT_EXTERN int wt_transport_fd(const wt_transport *t);

/** Embeddable mode: milliseconds until wt_transport_process() must be called
 * even if the fd is not readable; -1 if no timer is pending. */
WT_EXTERN int wt_transport_timeout_ms(wt_transport *t);

/** Embeddable mode: reads every pending packet, runs expired timers, sends
 * what is due and delivers events. Never blocks. Returns 0 or a WT_ERR_*. */
WT_EXTERN int wt_transport_process(wt_transport *t);

/** The bound UDP port. */
WT_EXTERN uint16_t wt_transport_port(const wt_transport *t);

/** The SHA-256 of the server certificate (DER), 32 bytes; NULL for a
 * transport without a certificate. This is what browsers take in
 * `serverCertificateHashes`. Valid until the certificate is replaced
 * (wt_transport_set_certificate) or the transport freed. */
WT_EXTERN const uint8_t *wt_transport_cert_sha256(const wt_transport *t);

/** Server: replaces the certificate and key (PEM text) for connections
 * accepted from now on; connections already established keep theirs. Both
 * NULL generates a fresh certificate as wt_transport_new does, which is how
 * a server rotates a serverCertificateHashes certificate before its 14
 * days run out (publish the new hash first). The same warning as at start
 * is logged for a certificate browsers would refuse, and an info line
 * gives the new SHA-256. Returns 0, WT_ERR_INVALID_ARGUMENT (not a server,
 * or only one of the two), WT_ERR_TLS or WT_ERR_NOMEM; on error the
 * current certificate stays. */
WT_EXTERN int wt_transport_set_certificate(wt_transport *t, const char *cert_pem, const char *key_pem);

/** Counters of a transport since it was created (and a few gauges). */
typedef struct wt_stats {
  uint64_t connections;          /**< live now */
  uint64_t connections_accepted; /**< server: accepted since start */
  uint64_t sessions;             /**< live now */
  uint64_t sessions_accepted;    /**< server: sessions answered 2xx */
  uint64_t sessions_refused;     /**< server: requests answered otherwise */
  uint64_t datagrams_sent;
  uint64_t datagrams_received;
  uint64_t datagram_send_drops; /**< queue full or too old */
  uint64_t datagram_recv_drops; /**< receive queue full, or held too long for a session */
  uint64_t streams_refused;     /**< over the early-stream bound, or for an ended session */
  uint64_t packets_sent;
  uint64_t packets_received;
  uint64_t send_errors;           /**< packets the socket refused (lost; QUIC retransmits) */
  uint64_t connections_refused;   /**< server: full, rate-limited, shutting down or bad token */
  uint64_t retries_sent;          /**< server: Retry packets sent */
  uint64_t requests_rate_limited; /**< server: requests answered 429 */
  uint64_t handshakes;            /**< server: connections in their handshake now */
  uint64_t gso_sends;             /**< sends that carried several packets (UDP GSO) */
  int udp_gso;                    /**< nonzero while UDP GSO is in use */
  int udp_gro;                    /**< nonzero if UDP GRO is on */
} wt_stats;

/** Route flags for wt_transport_route. */
enum {
  /** Match every path that starts with the route's path (else only the
   * path itself). The query is never part of the match. The longest
   * matching route wins; an exact route beats a prefix of the same length. */
  WT_ROUTE_PREFIX = 1,
  /** Plain HTTP requests (any method but CONNECT) on this route go to its
   * callback as WT_EV_HTTP_* events. */
  WT_ROUTE_HTTP = 2,
  /** WebTransport sessions are accepted on this route: the transport's
   * on_request hook still decides when set (without one they are accepted
   * with 200), and the session's events go to the route's callback unless
   * the hook routes them elsewhere. */
  WT_ROUTE_WEBTRANSPORT = 4,
};

/** Server: adds (or replaces, for the same path and WT_ROUTE_PREFIX bit) a
 * route. `path` starts with '/' and is copied. One table serves plain
 * requests and WebTransport: a route with both flags serves GET on a path
 * and opens sessions on it. Plain requests that match no HTTP route get 404
 * (405 with `allow: CONNECT` on a WebTransport-only route, and on a server
 * with no HTTP route at all). WebTransport requests that match no
 * WebTransport route go to the on_request hook as before. Returns 0,
 * WT_ERR_INVALID_ARGUMENT or WT_ERR_NOMEM. */
WT_EXTERN int wt_transport_route(wt_transport *t, const char *path, unsigned flags, wt_event_cb cb, void *user_data);

/** Reads the transport's counters. */
WT_EXTERN void wt_transport_get_stats(const wt_transport *t, wt_stats *out);

/** Graceful shutdown: asks every session to drain (WT_DRAIN_SESSION), sends
 * GOAWAY on every connection and refuses new connections (QUIC
 * CONNECTION_REFUSED). Sessions keep working until their peers close them;
 * once every connection has ended, wt_transport_run returns. Call
 * wt_transport_free to cut the rest off. Returns 0 or a WT_ERR_*. */
WT_EXTERN int wt_transport_shutdown(wt_transport *t);

/* ------------------------------------------------------------------------ */
/* Server side: session requests                                            */
/* ------------------------------------------------------------------------ */

/** The request's :path (with query), NUL-terminated. */
WT_EXTERN const char *wt_request_path(const wt_request *r);
/** The request's :authority. */
WT_EXTERN const char *wt_request_authority(const wt_request *r);
/** The `origin` header, or NULL when the client sent none. */
WT_EXTERN const char *wt_request_origin(const wt_request *r);
/** Any request header by lowercase name, or NULL. */
WT_EXTERN const char *wt_request_header(const wt_request *r, const char *name);
/** Sub-protocols the client offered (WT-Available-Protocols), in its order. */
WT_EXTERN size_t wt_request_protocol_count(const wt_request *r);
WT_EXTERN const char *wt_request_protocol(const wt_request *r, size_t i);
/** Picks the sub-protocol to announce in WT-Protocol. It must be one the
 * client offered. Returns 0 or WT_ERR_INVALID_ARGUMENT. */
WT_EXTERN int wt_request_select_protocol(wt_request *r, const char *protocol);
/** The sub-protocol selected so far (by the server's preference list or
 * wt_request_select_protocol), or NULL. */
WT_EXTERN const char *wt_request_selected_protocol(const wt_request *r);
/** Routes the accepted session's events to `cb` with `user_data` (default:
 * the transport's on_event). */
WT_EXTERN void wt_request_set_callback(wt_request *r, wt_event_cb cb, void *user_data);
/** The WebTransport draft generation the client speaks: 2, 7, 13 or 15
 * (meaning -02..-06, -07..-12, -13/-14, -15/-16). */
WT_EXTERN int wt_request_draft(const wt_request *r);

/* ------------------------------------------------------------------------ */
/* Plain HTTP/3 requests (server and client)                                */
/* ------------------------------------------------------------------------ */

/** One header field. `name` lowercase, `value` without CR, LF or NUL. */
typedef struct wt_http_header {
  const char *name;
  const char *value;
} wt_http_header;

/** The request's :method, :path (with query) and :authority. Strings stay
 * valid as long as the request. */
WT_EXTERN const char *wt_http_request_method(const wt_http_request *r);
WT_EXTERN const char *wt_http_request_path(const wt_http_request *r);
WT_EXTERN const char *wt_http_request_authority(const wt_http_request *r);
/** Server: a request header by lowercase name (the first one), or NULL. */
WT_EXTERN const char *wt_http_request_header(const wt_http_request *r, const char *name);
/** Server: every request field, pseudo-headers included, in wire order.
 * Returns 0, or WT_ERR_INVALID_ARGUMENT past the end. */
WT_EXTERN size_t wt_http_request_header_count(const wt_http_request *r);
WT_EXTERN int wt_http_request_header_at(const wt_http_request *r, size_t i, const char **name, const char **value);

/** Server: sends the response's status (200..599) and `n` headers.
 * With `fin` the response has no body (HEAD, 204, 304, or an empty one);
 * otherwise write it with wt_http_request_write. A `content-length` header
 * is enforced on our body. Returns 0, WT_ERR_STATE if already answered,
 * WT_ERR_INVALID_ARGUMENT for a bad status or field, WT_ERR_CLOSED. */
WT_EXTERN int wt_http_request_respond(wt_http_request *r, int status, const wt_http_header *headers, size_t n, int fin);

/** Body to the peer (server: the response body after respond; client: the
 * request body). Copies up to `len` bytes into the stream's send buffer (as
 * one DATA frame) and returns how many were taken; fewer than `len`, or
 * WT_ERR_AGAIN when none fit (also for a client request still waiting to go
 * out), means wait for WT_EV_HTTP_WRITABLE. With `fin` the body ends once
 * all `len` bytes are taken (`len` 0: just the end). Returns WT_ERR_TOO_LARGE beyond a content-length we
 * sent, WT_ERR_STATE before the response started, after the end, or for a
 * body the message may not have (HEAD), WT_ERR_CLOSED once aborted. */
WT_EXTERN ssize_t wt_http_request_write(wt_http_request *r, const void *data, size_t len, int fin);
/** Ends our body (FIN). A client request without a body: call it right
 * after wt_http_request_send. */
WT_EXTERN int wt_http_request_finish(wt_http_request *r);

/** Body from the peer (server: the request body; client: the response
 * body). Returns the count; 0 with *fin set at its end; WT_ERR_AGAIN when
 * nothing is buffered (WT_EV_HTTP_READABLE follows); WT_ERR_CLOSED after a
 * reset. What is read is credited back to the peer: an application that
 * stops reading stops the sender (at most the stream window is held). */
WT_EXTERN ssize_t wt_http_request_read(wt_http_request *r, void *buf, size_t cap, int *fin);

/** Aborts the exchange: resets our side and stops the peer's with an
 * HTTP/3 error `code` (e.g. 0x10c H3_REQUEST_CANCELLED). WT_EV_HTTP_CLOSED
 * follows. */
WT_EXTERN int wt_http_request_abort(wt_http_request *r, uint64_t code);

/** Client: the response status (0 before WT_EV_HTTP_RESPONSE) and headers. */
WT_EXTERN int wt_http_request_status(const wt_http_request *r);
WT_EXTERN const char *wt_http_response_header(const wt_http_request *r, const char *name);

/** An application pointer; WT_EV_HTTP_CLOSED says when to release it. */
WT_EXTERN void wt_http_request_set_context(wt_http_request *r, void *ctx);
WT_EXTERN void *wt_http_request_context(const wt_http_request *r);
/** The QUIC stream ID (-1 on a client until the request is sent). */
WT_EXTERN int64_t wt_http_request_stream_id(const wt_http_request *r);

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */
/* ------------------------------------------------------------------------ */

/** How a client verifies the server certificate. */
typedef enum wt_verify_mode {
  /** System CA store (plus `ca_file`), with the host name checked. */
  WT_VERIFY_CA = 0,
  /** Only certificates whose SHA-256 (of the DER leaf) is in `cert_hashes`,
   * with the browser's rules: validity at most 14 days, currently valid,
   * not RSA. No host-name check. */
  WT_VERIFY_HASHES = 1,
  /** No verification at all. For development only; logged as a warning. */
  WT_VERIFY_NONE = 2,
} wt_verify_mode;

/** Options for wt_session_connect. Initialise with
 * wt_connect_options_init(). */
typedef struct wt_connect_options {
  /** Value of the `origin` header, or NULL to send none. */
  const char *origin;
  /** Sub-protocols to offer, in preference order. */
  const char *const *protocols;
  size_t nprotocols;
  wt_verify_mode verify;
  /** For WT_VERIFY_HASHES: `ncert_hashes` SHA-256 values. */
  const uint8_t (*cert_hashes)[32];
  size_t ncert_hashes;
  /** Extra trusted CA certificates (PEM) for WT_VERIFY_CA, or NULL. */
  const char *ca_file;
  /** Restrict the client to one draft generation (2, 7, 13 or 15) to test
   * a server; 0 (default) offers all and uses the newest the server has. */
  int draft;
  /** Nonzero: the session is only useful with one of `protocols`. If the
   * server selects none of them, the client resets the CONNECT stream with
   * WT_ALPN_ERROR and the session ends with WT_ERR_PROTO. */
  int require_protocol;
  /** Nonzero: reuse a connection of this transport to the same authority,
   * verified the same way, whose server enabled WebTransport flow control
   * (see wt_transport_config.pooling); otherwise a new connection is made. */
  int pooled;
  /** Events of this session go here (default: the transport's on_event). */
  wt_event_cb on_event;
  void *user_data;
} wt_connect_options;

/** Fills `o` with defaults. */
WT_EXTERN void wt_connect_options_init(wt_connect_options *o);

/** Client: sends `method` (e.g. "GET", "POST") to `url` with `n` extra
 * headers. The connection is chosen like wt_session_connect's: with
 * `opts->pooled`, any open connection of this transport to the same
 * authority, verified the same way, is reused (also one carrying a
 * session); else a new one is dialled. Events go to `opts->on_event` (else
 * the transport's on_event): WT_EV_HTTP_RESPONSE, _READABLE, _WRITABLE,
 * _CLOSED. The request goes out once the server's SETTINGS arrived; write
 * the body with wt_http_request_write and end it with
 * wt_http_request_finish (at once for GET and HEAD). */
WT_EXTERN int wt_http_request_send(wt_transport *t, const char *method, const char *url, const wt_http_header *headers,
                                   size_t n, const wt_connect_options *opts, wt_http_request **out);

/** createSession: dials `url` ("https://host:port/path?query") from this
 * transport and sends the extended CONNECT once the server's SETTINGS have
 * arrived. Resolves the host name synchronously. *out is valid until its
 * WT_EV_SESSION_CLOSED event; WT_EV_SESSION_READY says it is usable. */
WT_EXTERN int wt_session_connect(wt_transport *t, const char *url, const wt_connect_options *opts, wt_session **out);

/** terminateSession: sends WT_CLOSE_SESSION with `code` and `reason` (UTF-8;
 * longer than 1024 bytes is cut at a character boundary), FINs the CONNECT
 * stream and resets the session's streams. A WT_EV_SESSION_CLOSED event
 * follows (with by_peer = 0). Returns 0, WT_ERR_STATE if already closing,
 * or WT_ERR_INVALID_ARGUMENT (nothing sent) if the reason, once cut, is not
 * valid UTF-8. */
WT_EXTERN int wt_session_close(wt_session *s, uint32_t code, const char *reason, size_t reason_len);

/** Winds down the whole connection that carries `s`: a server sends
 * HTTP/3 GOAWAY (no new session is accepted on it) and every session on
 * it is asked to drain (WT_DRAIN_SESSION); a client drains its sessions
 * there and opens no new ones on it. The sessions keep working until
 * closed; the connection ends after the last one. See
 * wt_transport_shutdown for every connection at once. */
WT_EXTERN int wt_session_goaway(wt_session *s);

/** drainSession: asks the peer to wind down (WT_DRAIN_SESSION). */
WT_EXTERN int wt_session_drain(wt_session *s);

/** exportKeyingMaterial: TLS exporter with label "EXPORTER-WebTransport" and
 * the session-bound context of the WebTransport draft. `label` and
 * `context` are each at most 255 bytes (`label` at least 1); writes
 * `out_len` (1..4096) bytes to `out`. */
WT_EXTERN int wt_session_export_keying_material(wt_session *s, const void *label, size_t label_len, const void *context,
                                                size_t context_len, uint8_t *out, size_t out_len);

/** sendDatagram: queues one datagram. Returns 0 when queued, WT_ERR_AGAIN
 * when the send queue is full (the datagram is dropped and counted),
 * WT_ERR_TOO_LARGE when it exceeds wt_session_max_datagram_size(),
 * WT_ERR_STATE before the session is ready, WT_ERR_CLOSED once it is
 * closing or closed. */
WT_EXTERN int wt_session_send_datagram(wt_session *s, const void *data, size_t len);

/** receiveDatagram: dequeues one datagram into `buf`. Returns its length,
 * WT_ERR_AGAIN when the queue is empty, or WT_ERR_TOO_LARGE when `cap` is
 * too small (the datagram stays queued; a 65535-byte buffer always
 * suffices). */
WT_EXTERN ssize_t wt_session_receive_datagram(wt_session *s, void *buf, size_t cap);

/** getMaxDatagramSize: the largest payload wt_session_send_datagram accepts
 * now on this path; 0 when the peer does not accept datagrams. It accounts
 * for the peer's max_datagram_frame_size, the path MTU found so far, the
 * packet header with the peer's connection ID, the AEAD tag and the
 * session's quarter-stream-ID prefix. The packet-number length is taken as
 * 4 bytes (QUIC picks 1-4 per packet), so the value can be up to 3 bytes
 * below what one particular packet could carry but always fits; it grows
 * when path MTU discovery finds a larger MTU. */
WT_EXTERN size_t wt_session_max_datagram_size(const wt_session *s);

/** createStream: opens a bidirectional (`bidi` != 0) or unidirectional
 * stream. Returns 0, WT_ERR_AGAIN without stream credit (a
 * WT_EV_SESSION_STREAM_CREDIT event follows when credit returns), or
 * WT_ERR_STATE before the session is ready, or WT_ERR_CLOSED once it is
 * closing or closed. */
WT_EXTERN int wt_session_open_stream(wt_session *s, int bidi, wt_stream **out);

/** Nonzero if wt_session_open_stream(s, bidi, ...) would succeed now (the
 * session is open and there is stream credit). When it would not, a
 * WT_EV_SESSION_STREAM_CREDIT event follows once credit returns. */
WT_EXTERN int wt_session_can_open_stream(wt_session *s, int bidi);

/** receiveStream: takes the oldest peer-opened stream from the incoming
 * queue. Returns 0 or WT_ERR_AGAIN. */
WT_EXTERN int wt_session_accept_stream(wt_session *s, wt_stream **out);

/** The session ID (the stream ID of its CONNECT stream). */
WT_EXTERN uint64_t wt_session_id(const wt_session *s);
/** The negotiated sub-protocol, or NULL. */
WT_EXTERN const char *wt_session_protocol(const wt_session *s);
/** The request path (with query). */
WT_EXTERN const char *wt_session_path(const wt_session *s);
/** Draft generation in use: 2, 7, 13 or 15 (see wt_request_draft). */
WT_EXTERN int wt_session_draft(const wt_session *s);
/** Nonzero on the server side of a session. */
WT_EXTERN int wt_session_is_server(const wt_session *s);
/** Application pointer attached to the session. */
WT_EXTERN void wt_session_set_user_data(wt_session *s, void *user_data);
WT_EXTERN void *wt_session_user_data(const wt_session *s);
/** Routes this session's events to `cb`. */
WT_EXTERN void wt_session_set_callback(wt_session *s, wt_event_cb cb, void *user_data);
/** Datagrams dropped so far: because the send queue was full, and because
 * the receive queue was full. */
WT_EXTERN void wt_session_datagram_drops(const wt_session *s, uint64_t *send_drops, uint64_t *recv_drops);

/* ------------------------------------------------------------------------ */
/* Streams                                                                  */
/* ------------------------------------------------------------------------ */

/** sendBytes: copies up to `len` bytes into the stream's send buffer and
 * returns how many were taken (possibly 0: wait for WT_EV_STREAM_WRITABLE).
 * With `fin` set, the send side is closed once all `len` bytes are taken.
 * Returns WT_ERR_STATE after the send side was closed (FIN) or on a stream
 * we cannot write (the peer's uni stream); WT_ERR_CLOSED once it was
 * aborted by either side or its session is over. */
WT_EXTERN ssize_t wt_stream_write(wt_stream *st, const void *data, size_t len, int fin);

/** Gives the bytes of a wt_stream_write_ref back to the application:
 * `data`/`len` are what it passed. Runs exactly once per accepted write,
 * from inside the library (during wt_transport_process or _free); it must
 * not call any wt_* function. */
typedef void (*wt_release_cb)(void *user_data, const void *data, size_t len);

/** Zero-copy sendBytes: queues all `len` (> 0) bytes by reference instead
 * of copying them. They must stay valid and unchanged until `release` (may
 * be NULL) is called, which happens once they are acknowledged by the peer,
 * or dropped because the stream was reset, its session ended or the
 * transport was freed. Returns 0 when queued (with `fin`, the send side is
 * then closed); WT_ERR_AGAIN when the stream's send buffer is already at
 * its limit (wait for WT_EV_STREAM_WRITABLE; a queued block may overshoot
 * the limit, it is the application's memory) or, with pooling, when the
 * session's flow-control credit is below `len`; the other errors of
 * wt_stream_write. On any error nothing is referenced and `release` is not
 * called. */
WT_EXTERN int wt_stream_write_ref(wt_stream *st, const void *data, size_t len, int fin, wt_release_cb release,
                                  void *user_data);

/** Closes the send side (FIN) after what was written. */
WT_EXTERN int wt_stream_close(wt_stream *st);

/** receiveBytes: reads up to `cap` bytes. Returns the count; 0 with *fin set
 * at the end of the stream; WT_ERR_AGAIN when nothing is buffered yet;
 * WT_ERR_CLOSED after the peer reset the stream or we aborted reading. */
WT_EXTERN ssize_t wt_stream_read(wt_stream *st, void *buf, size_t cap, int *fin);

/** abortSend: resets the send side with an application `code`. Bytes not
 * yet sent are dropped. The stream's header still reaches the peer first,
 * so it can tell which session the reset belongs to. */
WT_EXTERN int wt_stream_abort_send(wt_stream *st, uint32_t code);

/** Everything written so far (for wt_stream_abort_send_at). */
#define WT_RELIABLE_ALL UINT64_MAX

/** abortSend after delivering the first `reliable` payload bytes written
 * (WT_RELIABLE_ALL: all of them), as RESET_STREAM_AT would: the reset goes
 * out once the peer has acknowledged them. Later writes fail. */
WT_EXTERN int wt_stream_abort_send_at(wt_stream *st, uint32_t code, uint64_t reliable);

/** abortReceive: asks the peer to stop sending (STOP_SENDING) with `code`
 * and discards what is buffered. */
WT_EXTERN int wt_stream_abort_receive(wt_stream *st, uint32_t code);

/** Attaches an application context; WT_EV_STREAM_CLOSED says when it can be
 * released. */
WT_EXTERN void wt_stream_set_context(wt_stream *st, void *ctx);
WT_EXTERN void *wt_stream_context(const wt_stream *st);

/** The QUIC stream ID. */
WT_EXTERN uint64_t wt_stream_id(const wt_stream *st);
/** Nonzero for a bidirectional stream. */
WT_EXTERN int wt_stream_is_bidi(const wt_stream *st);
/** Nonzero if this side opened the stream. */
WT_EXTERN int wt_stream_is_local(const wt_stream *st);
/** Nonzero if this stream can be written (local uni, or any bidi). */
WT_EXTERN int wt_stream_can_write(const wt_stream *st);
/** Nonzero if this stream can be read (peer uni, or any bidi). */
WT_EXTERN int wt_stream_can_read(const wt_stream *st);
/** The session the stream belongs to. */
WT_EXTERN wt_session *wt_stream_session(const wt_stream *st);

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/** Generates an ECDSA P-256 certificate for "localhost", 127.0.0.1 and ::1,
 * valid from an hour ago for 13 days (what browsers accept through
 * serverCertificateHashes), as PEM text. *cert_pem and *key_pem are
 * allocated with malloc (release them with free); `sha256` receives the
 * SHA-256 of the DER certificate. Returns 0, WT_ERR_NOMEM or WT_ERR_TLS. */
WT_EXTERN int wt_certificate_generate(char **cert_pem, char **key_pem, uint8_t sha256[32]);

/** Reads the first certificate in `cert_pem` (PEM text): `sha256`
 * receives the SHA-256 of its DER form (what serverCertificateHashes and
 * wt_connect_options.cert_hashes take), `not_after` (may be NULL) its
 * expiry in seconds since the epoch, and `why` (may be NULL; `why_cap`
 * bytes) "" or a sentence saying why browsers would refuse it with
 * serverCertificateHashes (RSA key, valid longer than 14 days, expired).
 * Returns 0, WT_ERR_INVALID_ARGUMENT (no certificate in the text) or
 * WT_ERR_TLS. */
WT_EXTERN int wt_certificate_inspect(const char *cert_pem, uint8_t sha256[32], int64_t *not_after, char *why,
                                     size_t why_cap);

/** Writes the 64 lowercase hex digits of a 32-byte hash and a NUL to
 * `out` (65 bytes). */
WT_EXTERN void wt_hex_sha256(const uint8_t hash[32], char out[65]);

/** Parses 64 hex digits (colons allowed between bytes) into `hash`. Returns
 * 0 or WT_ERR_INVALID_ARGUMENT. */
WT_EXTERN int wt_parse_sha256(const char *hex, uint8_t hash[32]);

#ifdef __cplusplus
}
#endif

#endif /* WEBTRANSPORT_H */
