/*
 * udp.c: non-blocking UDP socket with batching and local-address control
 * (see udp.h).
 */
#include "quic/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webtransport.h"

/* Big buffers absorb bursts at the cost of memory only when used; the
 * kernel caps them at net.core.[rw]mem_max unless we may force them. */
#define SOCKBUF (4 * 1024 * 1024)

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
/* The kernel's limits for one GSO send: 64 segments, and the whole run in
 * one UDP datagram's worth of bytes. */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000

static int parse_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    *len = sizeof(*s4);
    return 0;
  }
  if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    *len = sizeof(*s6);
    return 0;
  }
  return -1;
}

static int is_wildcard(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Best effort: a smaller buffer still works, only burstier loss. The
 * FORCE variants (root or CAP_NET_ADMIN) pass net.core.*mem_max. */
static void set_buffers(wt_udp *u) {
  int buf = SOCKBUF;
  if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
    (void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  if (setsockopt(u->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
    (void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
}

/* GSO is a per-send control message; the socket option's existence tells
 * whether this kernel knows it. GRO is switched on for the socket. */
static void probe_offload(wt_udp *u) {
  int v = 0, one = 1;
  socklen_t len = sizeof(v);
  u->gso = getsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &v, &len) == 0;
  u->gro = setsockopt(u->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  WT_LOGD(u->log, "UDP offload: GSO %s, GRO %s", u->gso ? "on" : "off", u->gro ? "on" : "off");
}

static int alloc_rx(wt_udp *u) {
  u->rx_batch = u->gro ? WT_RX_GRO_BATCH : WT_RX_BATCH;
  u->rx_bufsize = u->gro ? WT_RX_GRO_BUFSIZE : WT_RX_BUFSIZE;
  u->rxbuf = malloc(u->rx_batch * u->rx_bufsize);
  u->rxaddr = calloc(u->rx_batch, sizeof(*u->rxaddr));
  u->rx = calloc(WT_RX_MAX_PKTS, sizeof(*u->rx));
  return u->rxbuf && u->rxaddr && u->rx ? 0 : -1;
}

static int set_options(wt_udp *u, int reuse_port) {
  int one = 1, zero = 0;
  if (reuse_port && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) return -1;
  set_buffers(u);
  if (u->family == AF_INET6) {
    if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero))) return -1;
    return setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  }
  return setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

int wt_udp_open(wt_udp *u, const char *addr, uint16_t port, int reuse_port, int offload, const wt_logger *log) {
  memset(u, 0, sizeof(*u));
  u->fd = -1;
  u->log = log;
  if (parse_addr(addr, port, &u->bound, &u->boundlen)) {
    WT_LOGE(log, "bind address %s is not a numeric IPv4 or IPv6 address", addr);
    return WT_ERR_INVALID_ARGUMENT;
  }
  u->family = u->bound.ss_family;
  u->wildcard = is_wildcard(&u->bound);
  u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (u->fd < 0 || set_options(u, reuse_port) || bind(u->fd, (struct sockaddr *)&u->bound, u->boundlen) ||
      getsockname(u->fd, (struct sockaddr *)&u->bound, &u->boundlen)) {
    WT_LOGE(log, "cannot open UDP socket on %s port %u: %s", addr, port, strerror(errno));
    wt_udp_close(u);
    return WT_ERR_IO;
  }
  if (offload) probe_offload(u);
  if (alloc_rx(u)) {
    wt_udp_close(u);
    return WT_ERR_NOMEM;
  }
  return 0;
}

void wt_udp_close(wt_udp *u) {
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  free(u->rxbuf);
  free(u->rxaddr);
  free(u->rx);
  u->rxbuf = NULL;
  u->rxaddr = NULL;
  u->rx = NULL;
}

uint16_t wt_udp_port(const wt_udp *u) {
  return ntohs(u->family == AF_INET ? ((const struct sockaddr_in *)&u->bound)->sin_port
                                    : ((const struct sockaddr_in6 *)&u->bound)->sin6_port);
}

/* The datagram's destination address, from IP_PKTINFO / IPV6_PKTINFO, with
 * our port; and the segment size of a coalesced (GRO) run, else 0. */
static size_t parse_cmsgs(const wt_udp *u, struct msghdr *mh, struct sockaddr_storage *to) {
  size_t seg = 0;
  memcpy(to, &u->bound, u->boundlen);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && u->family == AF_INET) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      ((struct sockaddr_in *)to)->sin_addr = pi.ipi_addr;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && u->family == AF_INET6) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      ((struct sockaddr_in6 *)to)->sin6_addr = pi.ipi6_addr;
    } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int gs;
      memcpy(&gs, CMSG_DATA(c), sizeof(gs));
      if (gs > 0) seg = (size_t)gs;
    }
  }
  return seg;
}

/* Appends the packets of one received datagram (a GRO run is several
 * packets of `seg` bytes, the last possibly shorter). */
static size_t add_packets(wt_udp *u, size_t n, struct mmsghdr *m, size_t i) {
  const wt_rxaddr *a = &u->rxaddr[i];
  size_t seg = parse_cmsgs(u, &m->msg_hdr, &u->rxaddr[i].to);
  size_t len = m->msg_len;
  uint8_t *data = u->rxbuf + i * u->rx_bufsize;
  if (seg == 0 || seg > len) seg = len;
  for (size_t off = 0; off < len && n < WT_RX_MAX_PKTS; off += seg) {
    wt_rxpkt *p = &u->rx[n++];
    p->from = &a->from;
    p->fromlen = m->msg_hdr.msg_namelen;
    p->to = &a->to;
    p->tolen = u->boundlen;
    p->data = data + off;
    p->len = len - off < seg ? len - off : seg;
  }
  return n;
}

#define RX_CTL_SIZE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)))

int wt_udp_recv(wt_udp *u) {
  struct mmsghdr mm[WT_RX_BATCH];
  struct iovec iov[WT_RX_BATCH];
  char ctl[WT_RX_BATCH][RX_CTL_SIZE];
  size_t batch = u->rx_batch;
  memset(mm, 0, batch * sizeof(mm[0]));
  for (size_t i = 0; i < batch; i++) {
    iov[i] = (struct iovec){u->rxbuf + i * u->rx_bufsize, u->rx_bufsize};
    mm[i].msg_hdr.msg_name = &u->rxaddr[i].from;
    mm[i].msg_hdr.msg_namelen = sizeof(u->rxaddr[i].from);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_control = ctl[i];
    mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
  }
  int n = recvmmsg(u->fd, mm, (unsigned)batch, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    WT_LOGE(u->log, "recvmmsg: %s", strerror(errno));
    return WT_ERR_IO;
  }
  size_t kept = 0;
  u->rx_full = (size_t)n == batch;
  for (int i = 0; i < n; i++) {
    if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) continue; /* larger than any packet we allow */
    kept = add_packets(u, kept, &mm[i], (size_t)i);
  }
  return (int)kept;
}

/* Adds the source-address control message a wildcard socket needs so that
 * replies leave from the address the peer sent to. Returns its size. */
static size_t add_src_cmsg(const wt_udp *u, const wt_txpkt *p, struct cmsghdr *c) {
  if (!u->wildcard || p->fromlen == 0) return 0;
  if (u->family == AF_INET) {
    struct in_pktinfo pi = {0};
    pi.ipi_spec_dst = ((const struct sockaddr_in *)&p->from)->sin_addr;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    return CMSG_SPACE(sizeof(pi));
  }
  struct in6_pktinfo pi = {0};
  pi.ipi6_addr = ((const struct sockaddr_in6 *)&p->from)->sin6_addr;
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(pi));
  memcpy(CMSG_DATA(c), &pi, sizeof(pi));
  return CMSG_SPACE(sizeof(pi));
}

static size_t add_gso_cmsg(struct cmsghdr *c, size_t seg) {
  uint16_t v = (uint16_t)seg;
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(v));
  memcpy(CMSG_DATA(c), &v, sizeof(v));
  return CMSG_SPACE(sizeof(v));
}

static int same_path(const wt_txpkt *a, const wt_txpkt *b) {
  return a->tolen == b->tolen && a->fromlen == b->fromlen && memcmp(&a->to, &b->to, a->tolen) == 0 &&
         memcmp(&a->from, &b->from, a->fromlen) == 0;
}

/* How many packets from pkts[i] on go out in one GSO send: same path,
 * adjacent in the buffer, all as long as the first but the last. */
static size_t gso_run(const wt_udp *u, const wt_txpkt *pkts, size_t i, size_t n) {
  size_t seg = pkts[i].len, bytes = seg, j = i + 1;
  if (!u->gso) return 1;
  while (j < n && j - i < GSO_MAX_SEGS && pkts[j - 1].len == seg && pkts[j].len <= seg &&
         pkts[j].off == pkts[j - 1].off + pkts[j - 1].len && bytes + pkts[j].len <= GSO_MAX_BYTES &&
         same_path(&pkts[i], &pkts[j])) {
    bytes += pkts[j].len;
    j++;
  }
  return j - i;
}

#define TX_CTL_SIZE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t)))

typedef union txctl {
  char buf[TX_CTL_SIZE];
  struct cmsghdr align;
} txctl;

void wt_udp_send(wt_udp *u, const uint8_t *buf, const wt_txpkt *pkts, size_t n) {
  struct mmsghdr mm[WT_TX_BATCH];
  struct iovec iov[WT_TX_BATCH];
  txctl ctl[WT_TX_BATCH];
  size_t first[WT_TX_BATCH + 1], nmsg = 0;
  for (size_t i = 0; i < n; nmsg++) {
    size_t run = gso_run(u, pkts, i, n), bytes = 0;
    for (size_t k = i; k < i + run; k++)
      bytes += pkts[k].len;
    memset(&mm[nmsg], 0, sizeof(mm[nmsg]));
    memset(&ctl[nmsg], 0, sizeof(ctl[nmsg]));
    iov[nmsg] = (struct iovec){(void *)(buf + pkts[i].off), bytes};
    struct msghdr *mh = &mm[nmsg].msg_hdr;
    mh->msg_name = (void *)&pkts[i].to;
    mh->msg_namelen = pkts[i].tolen;
    mh->msg_iov = &iov[nmsg];
    mh->msg_iovlen = 1;
    mh->msg_control = ctl[nmsg].buf;
    mh->msg_controllen = sizeof(ctl[nmsg].buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(mh);
    size_t cl = add_src_cmsg(u, &pkts[i], c);
    if (cl) c = CMSG_NXTHDR(mh, c);
    if (run > 1) cl += add_gso_cmsg(c, pkts[i].len);
    mh->msg_controllen = cl;
    if (!cl) mh->msg_control = NULL;
    first[nmsg] = i;
    i += run;
  }
  first[nmsg] = n;
  size_t done = 0;
  while (done < nmsg) {
    int k = sendmmsg(u->fd, mm + done, (unsigned)(nmsg - done), 0);
    if (k > 0) {
      for (size_t m = done; m < done + (size_t)k; m++)
        u->gso_sends += first[m + 1] - first[m] > 1;
      done += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    size_t npk = first[done + 1] - first[done];
    if (npk > 1 && (errno == EIO || errno == EINVAL)) {
      /* The device cannot segment (no checksum offload): GSO off for good,
       * and this run again as single packets. */
      WT_LOGW(u->log, "UDP GSO send failed (%s): sending packets one by one from now on", strerror(errno));
      u->gso = 0;
      wt_udp_send(u, buf, pkts + first[done], n - first[done]);
      return;
    }
    /* A full socket buffer or a transient error: QUIC treats the rest as
     * lost and retransmits. Skip the send that failed and go on. */
    u->send_errors += npk;
    if (errno != EAGAIN && errno != EWOULDBLOCK) WT_LOGD(u->log, "sendmmsg: %s", strerror(errno));
    done++;
  }
}

int wt_udp_route(const wt_udp *u, const struct sockaddr *remote, socklen_t remote_len,
                 struct sockaddr_storage *out_remote, socklen_t *out_remote_len, struct sockaddr_storage *local,
                 socklen_t *local_len) {
  memset(out_remote, 0, sizeof(*out_remote));
  if (remote->sa_family == u->family) {
    memcpy(out_remote, remote, remote_len);
    *out_remote_len = remote_len;
  } else if (remote->sa_family == AF_INET && u->family == AF_INET6) {
    const struct sockaddr_in *r4 = (const struct sockaddr_in *)remote;
    struct sockaddr_in6 *r6 = (struct sockaddr_in6 *)out_remote;
    r6->sin6_family = AF_INET6;
    r6->sin6_port = r4->sin_port;
    r6->sin6_addr.s6_addr[10] = r6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&r6->sin6_addr.s6_addr[12], &r4->sin_addr, 4);
    *out_remote_len = sizeof(*r6);
  } else {
    return WT_ERR_INVALID_ARGUMENT;
  }
  memcpy(local, &u->bound, u->boundlen);
  *local_len = u->boundlen;
  if (!u->wildcard) return 0;
  /* Ask the kernel which source address it would use: connect a throwaway
   * socket (no packet is sent) and read its name. */
  int fd = socket(u->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_storage probe;
  socklen_t plen = sizeof(probe);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)out_remote, *out_remote_len) == 0 &&
           getsockname(fd, (struct sockaddr *)&probe, &plen) == 0;
  if (fd >= 0) close(fd);
  if (!ok) return WT_ERR_INVALID_ARGUMENT;
  if (u->family == AF_INET)
    ((struct sockaddr_in *)local)->sin_addr = ((struct sockaddr_in *)&probe)->sin_addr;
  else
    ((struct sockaddr_in6 *)local)->sin6_addr = ((struct sockaddr_in6 *)&probe)->sin6_addr;
  return 0;
}
