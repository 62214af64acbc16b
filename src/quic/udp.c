/*
 * udp.c: non-blocking UDP socket with batching and local-address control
 * (see udp.h).
 */
#include "quic/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "webtransport.h"

/* Big buffers absorb bursts at the cost of memory only when used; the
 * kernel caps them at net.core.[rw]mem_max. */
#define SOCKBUF (4 * 1024 * 1024)

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

static int set_options(wt_udp *u, int reuse_port) {
  int one = 1, zero = 0, buf = SOCKBUF;
  if (reuse_port && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) return -1;
  /* Best effort: a smaller buffer still works, only burstier loss. */
  (void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  (void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  if (u->family == AF_INET6) {
    if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero))) return -1;
    return setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  }
  return setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

int wt_udp_open(wt_udp *u, const char *addr, uint16_t port, int reuse_port, const wt_logger *log) {
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
  for (int i = 0; i < WT_RX_BATCH; i++)
    u->rx[i].data = u->rxbuf[i];
  return 0;
}

void wt_udp_close(wt_udp *u) {
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
}

uint16_t wt_udp_port(const wt_udp *u) {
  return ntohs(u->family == AF_INET ? ((const struct sockaddr_in *)&u->bound)->sin_port
                                    : ((const struct sockaddr_in6 *)&u->bound)->sin6_port);
}

/* The packet's destination address, from IP_PKTINFO / IPV6_PKTINFO, with
 * our port. */
static void local_from_cmsg(const wt_udp *u, struct msghdr *mh, wt_rxpkt *p) {
  memcpy(&p->to, &u->bound, u->boundlen);
  p->tolen = u->boundlen;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && u->family == AF_INET) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      ((struct sockaddr_in *)&p->to)->sin_addr = pi.ipi_addr;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && u->family == AF_INET6) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      ((struct sockaddr_in6 *)&p->to)->sin6_addr = pi.ipi6_addr;
    }
  }
}

int wt_udp_recv(wt_udp *u) {
  struct mmsghdr mm[WT_RX_BATCH];
  struct iovec iov[WT_RX_BATCH];
  char ctl[WT_RX_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
  memset(mm, 0, sizeof(mm));
  for (int i = 0; i < WT_RX_BATCH; i++) {
    iov[i] = (struct iovec){u->rxbuf[i], WT_RX_BUFSIZE};
    mm[i].msg_hdr.msg_name = &u->rx[i].from;
    mm[i].msg_hdr.msg_namelen = sizeof(u->rx[i].from);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_control = ctl[i];
    mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
  }
  int n = recvmmsg(u->fd, mm, WT_RX_BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    WT_LOGE(u->log, "recvmmsg: %s", strerror(errno));
    return WT_ERR_IO;
  }
  int kept = 0;
  for (int i = 0; i < n; i++) {
    if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) continue; /* larger than any packet we allow */
    wt_rxpkt *p = &u->rx[kept];
    if (kept != i) {
      memcpy(p->data, u->rxbuf[i], mm[i].msg_len);
      p->from = u->rx[i].from;
    }
    p->fromlen = mm[i].msg_hdr.msg_namelen;
    p->len = mm[i].msg_len;
    local_from_cmsg(u, &mm[i].msg_hdr, p);
    kept++;
  }
  return kept;
}

/* Adds the source-address control message a wildcard socket needs so that
 * replies leave from the address the peer sent to. */
static size_t add_src_cmsg(const wt_udp *u, const wt_txpkt *p, char *ctl, size_t cap) {
  if (!u->wildcard || p->fromlen == 0) return 0;
  struct msghdr mh = {.msg_control = ctl, .msg_controllen = cap};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  memset(ctl, 0, cap);
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

void wt_udp_send(wt_udp *u, const uint8_t *buf, const wt_txpkt *pkts, size_t n) {
  struct mmsghdr mm[WT_TX_BATCH];
  struct iovec iov[WT_TX_BATCH];
  char ctl[WT_TX_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
  memset(mm, 0, n * sizeof(mm[0]));
  for (size_t i = 0; i < n; i++) {
    iov[i] = (struct iovec){(void *)(buf + pkts[i].off), pkts[i].len};
    mm[i].msg_hdr.msg_name = (void *)&pkts[i].to;
    mm[i].msg_hdr.msg_namelen = pkts[i].tolen;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    size_t cl = add_src_cmsg(u, &pkts[i], ctl[i], sizeof(ctl[i]));
    mm[i].msg_hdr.msg_control = cl ? ctl[i] : NULL;
    mm[i].msg_hdr.msg_controllen = cl;
  }
  size_t done = 0;
  while (done < n) {
    int k = sendmmsg(u->fd, mm + done, (unsigned)(n - done), 0);
    if (k > 0) {
      done += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    /* A full socket buffer or a transient error: QUIC treats the rest as
     * lost and retransmits. Skip the packet that failed and go on. */
    u->send_errors++;
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
