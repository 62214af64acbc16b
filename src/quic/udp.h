/*
 * udp.h: the transport's UDP socket.
 *
 * For: opening a non-blocking UDP socket (IPv4, IPv6 or dual-stack), large
 * socket buffers, receiving batches with recvmmsg together with each
 * packet's local address (IP_PKTINFO), and sending batches with sendmmsg
 * from a given local address. Where the kernel has them (probed when the
 * socket opens, with a fallback if a send fails) runs of equal-sized
 * packets to one peer leave as one GSO buffer (UDP_SEGMENT) and the kernel
 * hands us coalesced runs (UDP_GRO), which are split here again. Not for:
 * anything QUIC.
 */
#ifndef WT_QUIC_UDP_H
#define WT_QUIC_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "quic/endpoint.h"
#include "util/log.h"

/* Datagrams per recvmmsg, and the size of each receive buffer: one packet,
 * or with GRO a coalesced run of up to 64 KiB. */
#define WT_RX_BATCH 32
#define WT_RX_BUFSIZE 2048
#define WT_RX_GRO_BATCH 16
#define WT_RX_GRO_BUFSIZE 65535
/* Most packets one wt_udp_recv returns (a GRO run holds at most 64). */
#define WT_RX_MAX_PKTS (WT_RX_GRO_BATCH * 64)

/* One received packet; the addresses belong to its datagram (shared by the
 * packets of a coalesced run) and stay valid until the next wt_udp_recv. */
typedef struct wt_rxpkt {
  const struct sockaddr_storage *from, *to;
  socklen_t fromlen, tolen;
  size_t len;
  uint8_t *data;
} wt_rxpkt;

typedef struct wt_rxaddr {
  struct sockaddr_storage from, to;
} wt_rxaddr;

typedef struct wt_udp {
  int fd;
  int family;
  struct sockaddr_storage bound;
  socklen_t boundlen;
  int wildcard; /* bound to the any address: pick source addresses per packet */
  int gso;      /* UDP_SEGMENT works: send runs of packets as one buffer */
  int gro;      /* UDP_GRO is on: a received buffer may hold several packets */
  int rx_full;  /* the last wt_udp_recv filled every buffer: more may wait */
  const wt_logger *log;
  uint64_t send_errors;
  uint64_t gso_sends; /* sends that carried more than one packet */
  size_t rx_batch, rx_bufsize;
  uint8_t *rxbuf;    /* rx_batch buffers of rx_bufsize */
  wt_rxaddr *rxaddr; /* rx_batch address pairs */
  wt_rxpkt *rx;      /* WT_RX_MAX_PKTS packets of the last wt_udp_recv */
} wt_udp;

/* Opens and binds. `addr` is a numeric IPv4 or IPv6 address. `offload`
 * nonzero uses GSO and GRO where the kernel has them. */
int wt_udp_open(wt_udp *u, const char *addr, uint16_t port, int reuse_port, int offload, const wt_logger *log);
void wt_udp_close(wt_udp *u);
uint16_t wt_udp_port(const wt_udp *u);

/* Receives a batch into u->rx (coalesced runs split into their packets).
 * Returns the packet count, 0 when nothing is waiting, or WT_ERR_IO. */
int wt_udp_recv(wt_udp *u);

/* Sends a batch (the endpoint's send_batch). Consecutive packets to the
 * same peer that are adjacent in `buf`, all of one size but the last, go
 * out as one GSO send. */
void wt_udp_send(wt_udp *u, const uint8_t *buf, const wt_txpkt *pkts, size_t n);

/* Turns `remote` into this socket's family (IPv4-mapped for a dual-stack
 * socket) and finds the local address packets to it will come from.
 * Returns 0 or WT_ERR_INVALID_ARGUMENT (unreachable family). */
int wt_udp_route(const wt_udp *u, const struct sockaddr *remote, socklen_t remote_len,
                 struct sockaddr_storage *out_remote, socklen_t *out_remote_len, struct sockaddr_storage *local,
                 socklen_t *local_len);

#endif
