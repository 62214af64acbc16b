/*
 * wtconn.h: the WebTransport layer of one connection, as the transport
 * sees it.
 *
 * For: the composition root (src/quic/transport.c) and in-memory tests: it
 * creates a wt_conn over a wt_h3_io + wt_conn_io, feeds it QUIC events with
 * wt_conn_on_*, and calls wt_conn_dispatch() after each batch of input to
 * deliver application events. Not for: applications (they use
 * webtransport.h).
 */
#ifndef WT_WT_WTCONN_H
#define WT_WT_WTCONN_H

#include "util/url.h"
#include "wt/wt_internal.h"

/* Draft generations a client offers (bit 1 << generation). */
typedef struct wt_conn_client_opts {
  unsigned draft_mask; /* WT_DRAFT_MASK_ALL or one generation */
} wt_conn_client_opts;

int wt_conn_new(const wt_conn_config *cfg, const wt_conn_client_opts *copts, const wt_h3_io *io, const wt_conn_io *xio,
                wt_conn **out);
/* Frees everything without delivering events (call wt_conn_on_closed and
 * wt_conn_dispatch first to let the application see the sessions end). */
void wt_conn_free(wt_conn *c);

/* The QUIC handshake can carry application data: open HTTP/3 streams. */
void wt_conn_on_ready(wt_conn *c);
void wt_conn_on_stream_data(wt_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin);
void wt_conn_on_stream_reset(wt_conn *c, int64_t sid, uint64_t code, uint64_t final_size);
void wt_conn_on_stop_sending(wt_conn *c, int64_t sid, uint64_t code);
void wt_conn_on_stream_writable(wt_conn *c, int64_t sid);
void wt_conn_on_stream_acked(wt_conn *c, int64_t sid);
void wt_conn_on_stream_closed(wt_conn *c, int64_t sid);
void wt_conn_on_datagram(wt_conn *c, const uint8_t *data, size_t len);
void wt_conn_on_stream_credit(wt_conn *c, int bidi);
/* A datagram the session `tag` queued was dropped before sending. */
void wt_conn_on_datagram_dropped(wt_conn *c, uint64_t tag);
/* The connection is gone: every live session ends with `err` (WT_ERR_*)
 * and `detail` unless it already ended. */
void wt_conn_on_closed(wt_conn *c, int err, const char *detail);

/* Delivers pending events to the application. */
void wt_conn_dispatch(wt_conn *c);

/* Nonzero when the connection has served its purpose: it carried a
 * session, none is left, and our FINs on CONNECT streams were acknowledged.
 * The owner then closes it with H3_NO_ERROR. */
int wt_conn_finished(const wt_conn *c);
/* The reason phrase for the connection's CONNECTION_CLOSE: on a client, why
 * its last session failed (so a server that never saw a request, e.g. one
 * whose SETTINGS lacked our draft, can log why we left); else "". */
const char *wt_conn_close_reason(const wt_conn *c);

/* Client: starts a session on this connection. The CONNECT goes out once
 * the server's SETTINGS have arrived. */
int wt_conn_connect(wt_conn *c, const wt_url *url, const wt_connect_options *opts, wt_session **out);

/* Client: nonzero if this connection can take another session (its server
 * enabled flow control, has not sent GOAWAY, and it is still open). */
int wt_conn_poolable(const wt_conn *c);

/* Drains every session and sends GOAWAY. */
int wt_conn_shutdown(wt_conn *c);

#endif
