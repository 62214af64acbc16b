/*
 * transport_internal.h: a transport whose clock, packet output and name
 * resolution are supplied by the caller instead of a socket and the system
 * clock.
 *
 * For: the simulated-time test harness (tests/sim/), which runs real QUIC,
 * HTTP/3 and WebTransport between transports joined by an in-memory link
 * that delays, drops, duplicates and reorders packets, with a virtual
 * clock. Not part of the public API.
 */
#ifndef WT_QUIC_TRANSPORT_INTERNAL_H
#define WT_QUIC_TRANSPORT_INTERNAL_H

#include <sys/socket.h>

#include "quic/endpoint.h"
#include "webtransport.h"

typedef struct wt_transport_io {
  void *ctx;
  /* Current time in nanoseconds. */
  uint64_t (*now)(void *ctx);
  /* Packets to send (from the endpoint's batch). */
  void (*send)(void *ctx, const uint8_t *buf, const wt_txpkt *pkts, size_t n);
  /* Resolves a URL's host for wt_session_connect. Returns 0 or a WT_ERR_*. */
  int (*resolve)(void *ctx, const char *host, uint16_t port, struct sockaddr_storage *out, socklen_t *len);
} wt_transport_io;

/* Creates a transport with no socket: `local` is its address (what peers
 * send to, and the source of what it sends). */
int wt_transport_new_custom(const wt_transport_config *cfg, const wt_transport_io *io, const struct sockaddr *local,
                            socklen_t local_len, wt_transport **out);

/* Hands a transport one packet that arrived from `from`. */
void wt_transport_deliver(wt_transport *t, const struct sockaddr *from, socklen_t from_len, const uint8_t *data,
                          size_t len);

/* When the transport needs wt_transport_process next, in the io's clock:
 * its clock's "now" when work is pending, UINT64_MAX when nothing is. */
uint64_t wt_transport_next_ns(wt_transport *t);

#endif
