/*
 * udp.h: the transport's UDP socket.
 *
 * For: opening a non-blocking UDP socket (IPv4, IPv6 or dual-stack), large
 * socket buffers, receiving batches with recvmmsg together with each
 * packet's local address (IP_PKTINFO), and sending batches with sendmmsg
 * from a given local address. Not for: anything QUIC.
 */
#ifndef WT_QUIC_UDP_H
#define WT_QUIC_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "quic/endpoint.h"
#include "util/log.h"

#define WT_RX_BATCH 32
#define WT_RX_BUFSIZE 2048

typedef struct wt_rxpkt {
  struct sockaddr_storage from, to;
  socklen_t fromlen, tolen;
  size_t len;
  uint8_t *data;
} wt_rxpkt;

typedef struct wt_udp {
  int fd;
  int family;
  struct sockaddr_storage bound;
  socklen_t boundlen;
  int wildcard; /* bound to the any address: pick source addresses per packet */
  const wt_logger *log;
  uint64_t send_errors;
  wt_rxpkt rx[WT_RX_BATCH];
  uint8_t rxbuf[WT_RX_BATCH][WT_RX_BUFSIZE];
} wt_udp;

/* Opens and binds. `addr` is a numeric IPv4 or IPv6 address. */
int wt_udp_open(wt_udp *u, const char *addr, uint16_t port, int reuse_port, const wt_logger *log);
void wt_udp_close(wt_udp *u);
uint16_t wt_udp_port(const wt_udp *u);

/* Receives up to WT_RX_BATCH packets into u->rx. Returns the count, 0 when
 * nothing is waiting, or WT_ERR_IO. */
int wt_udp_recv(wt_udp *u);

/* Sends a batch (the endpoint's send_batch). */
void wt_udp_send(wt_udp *u, const uint8_t *buf, const wt_txpkt *pkts, size_t n);

/* Turns `remote` into this socket's family (IPv4-mapped for a dual-stack
 * socket) and finds the local address packets to it will come from.
 * Returns 0 or WT_ERR_INVALID_ARGUMENT (unreachable family). */
int wt_udp_route(const wt_udp *u, const struct sockaddr *remote, socklen_t remote_len,
                 struct sockaddr_storage *out_remote, socklen_t *out_remote_len, struct sockaddr_storage *local,
                 socklen_t *local_len);

#endif
