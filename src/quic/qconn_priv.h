/*
 * qconn_priv.h: the layout of wt_qconn, shared by qconn.c and endpoint.c
 * (which keeps connections in its lists). Nothing outside src/quic/ may
 * include it.
 */
#ifndef WT_QUIC_QCONN_PRIV_H
#define WT_QUIC_QCONN_PRIV_H

#include "quic/qconn.h"
#include "quic/qlog.h"
#include "quic/sendq.h"
#include "util/idmap.h"

/* Stream state below HTTP/3: the bytes we still owe the peer. */
typedef struct qstream {
  int64_t id;
  wt_sendq sq;
  uint8_t fin;        /* the application closed the send side */
  uint8_t fin_handed; /* FIN given to ngtcp2 */
  uint8_t fin_alone;  /* ...in a frame without data: its ACK comes separately */
  uint8_t fin_acked;
  uint8_t fin_ack_seen;  /* the frame carrying FIN was acknowledged (data may lag) */
  uint8_t shut;          /* reset, or stopped by the peer: nothing more is sent */
  uint8_t reset_by_us;   /* we reset the send side (or will, see reset_pending) */
  uint8_t reset_pending; /* RESET_STREAM waits until reset_at bytes are acked */
  uint8_t rd_done;       /* receive side over: FIN read, reset, or stopped by us */
  uint8_t rd_aborted;    /* ...by a reset or by our STOP_SENDING */
  uint8_t stop_reported; /* on_stop_sending was called */
  uint8_t blocked;       /* flow control: wait for MAX_STREAM_DATA */
  uint8_t want_writable; /* a write was cut short by the buffer limit */
  uint8_t in_ready;
  size_t limit; /* that write's limit */
  uint64_t reset_at, reset_code;
  struct qstream *rnext, *rprev;
} qstream;

typedef struct qdgram {
  uint8_t *data;
  size_t len, cap;
  uint64_t queued_at; /* for the age limit */
  uint64_t tag;       /* who sent it, for drop reports */
} qdgram;

struct wt_qconn {
  wt_endpoint *ep;
  const wt_endpoint_config *cfg;
  ngtcp2_conn *conn;
  gnutls_session_t tls;
  gnutls_certificate_credentials_t own_creds;
  wt_tls_server *tls_server; /* server: the credentials of its handshake (a reference) */
  wt_qlog *qlog;             /* NULL without wt_transport_config.qlog_dir */
  uint64_t qlog_t0;          /* ngtcp2's reference time for qlog records */
  wt_tls_conn_ref cref;
  wt_tls_verify verify;
  int is_server;
  wt_qconn_state state;
  const wt_qconn_handler *h;
  void *app;
  wt_timer timer;
  uint64_t state_deadline; /* end of the closing or draining period */
  uint8_t *close_pkt;
  size_t close_len;
  int closed_notified;
  int ready_notified;
  int wants_write;
  int in_handshake;  /* server: counted in the endpoint's handshakes */
  uint64_t close_at; /* wt_qconn_close_later: when to close; 0: not asked */
  uint64_t close_code;
  char close_reason[128];
  uint8_t addr_key[16]; /* server: source address it is counted under */
  uint8_t addr_keylen;  /* 0: not counted */
  ngtcp2_cid odcid;     /* server: the client's first DCID, also routed to us */
  wt_idmap streams;
  qstream *ready_head, *ready_tail;
  qdgram *dq;
  size_t dq_head, dq_len, dq_bytes;
  int dgram_keepalive;  /* keep-alive armed by stall_guard (qconn.c) */
  wt_qconn *write_next; /* endpoint's write list */
  wt_qconn *proc_next;  /* endpoint's list of connections being processed */
  int in_write_list;
  wt_qconn *prev, *next; /* endpoint's connection list */
};

#endif
