/*
 * test_udp.c: unit tests for src/quic/udp.c on loopback sockets.
 *
 * For: a batch sent with wt_udp_send arrives as the same packets, in order,
 * with the same bytes and lengths, whether runs of equal-sized packets went
 * out as one GSO send and came back as one GRO buffer or one by one; runs
 * end at a size change, at a different peer and at a gap in the buffer.
 * Not for: QUIC (endpoint.c, qconn.c).
 */
#include "quic/udp.h"

#include <poll.h>
#include <stdlib.h>

#include "test.h"

static const wt_logger LOG = {NULL, NULL, WT_LOG_WARN};

static uint8_t byte_at(size_t pkt, size_t i) { return (uint8_t)(pkt * 37 + i * 11 + 1); }

static void addr_of(const wt_udp *u, wt_txpkt *p) {
  memcpy(&p->to, &u->bound, u->boundlen);
  p->tolen = u->boundlen;
  p->fromlen = 0;
}

/* Receives until `want` packets arrived or a second passed. Checks each
 * against its length and pattern. Returns the count seen in order. */
static size_t receive_all(wt_udp *rx, const size_t *lens, size_t want, int *bad) {
  size_t got = 0;
  for (int tries = 0; got < want && tries < 100; tries++) {
    struct pollfd pfd = {.fd = rx->fd, .events = POLLIN};
    poll(&pfd, 1, 10);
    int n = wt_udp_recv(rx);
    for (int i = 0; i < n && got < want; i++, got++) {
      const wt_rxpkt *p = &rx->rx[i];
      if (p->len != lens[got]) *bad = 1;
      for (size_t k = 0; k < p->len && !*bad; k++)
        if (p->data[k] != byte_at(got, k)) *bad = 1;
    }
  }
  return got;
}

/* Lays `n` packets of lens[] back to back (with a gap before `gap_at`, if
 * any) to `dst`, sends them and checks what `dst` receives. */
static int round_trip(int offload, const size_t *lens, size_t n, size_t gap_at, uint64_t *gso_sends) {
  wt_udp tx, rx;
  if (wt_udp_open(&tx, "127.0.0.1", 0, 0, offload, &LOG) || wt_udp_open(&rx, "127.0.0.1", 0, 0, offload, &LOG))
    return -1;
  static uint8_t buf[WT_TX_BATCH * WT_MAX_PKT + 16];
  wt_txpkt pkts[WT_TX_BATCH];
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == gap_at) off += 7;
    memset(&pkts[i], 0, sizeof(pkts[i]));
    addr_of(&rx, &pkts[i]);
    pkts[i].off = off;
    pkts[i].len = lens[i];
    for (size_t k = 0; k < lens[i]; k++)
      buf[off + k] = byte_at(i, k);
    off += lens[i];
  }
  wt_udp_send(&tx, buf, pkts, n);
  int bad = 0;
  size_t got = receive_all(&rx, lens, n, &bad);
  *gso_sends = tx.gso_sends;
  wt_udp_close(&tx);
  wt_udp_close(&rx);
  return got == n && !bad ? 0 : -1;
}

static void equal_run_with_short_tail(void) {
  size_t lens[40];
  for (size_t i = 0; i < 40; i++)
    lens[i] = i == 39 ? 300 : 1200;
  uint64_t gso;
  CHECK_EQ(round_trip(1, lens, 40, SIZE_MAX, &gso), 0);
  CHECK_EQ(round_trip(0, lens, 40, SIZE_MAX, &gso), 0);
  CHECK_EQ(gso, 0);
}

static void runs_break_at_size_changes_and_gaps(void) {
  /* 1200 x3, 1000 (ends the run: the run's last may be shorter), 1000 x2
   * after a gap, 1452 x4, 20 (a tiny one, e.g. an ACK). */
  size_t lens[] = {1200, 1200, 1200, 1000, 1000, 1000, 1452, 1452, 1452, 1452, 20};
  size_t n = sizeof(lens) / sizeof(lens[0]);
  uint64_t gso;
  CHECK_EQ(round_trip(1, lens, n, 5, &gso), 0);
  CHECK_EQ(round_trip(0, lens, n, 5, &gso), 0);
}

static void a_full_batch_of_largest_packets(void) {
  size_t lens[WT_TX_BATCH];
  for (size_t i = 0; i < WT_TX_BATCH; i++)
    lens[i] = WT_MAX_PKT;
  uint64_t gso;
  CHECK_EQ(round_trip(1, lens, WT_TX_BATCH, SIZE_MAX, &gso), 0);
  wt_udp probe;
  CHECK_EQ(wt_udp_open(&probe, "127.0.0.1", 0, 0, 1, &LOG), 0);
  int have_gso = probe.gso;
  wt_udp_close(&probe);
  /* 64 packets of 1452 bytes exceed one GSO send's 65000 bytes: two sends
   * at least, and they did carry several packets each. */
  if (have_gso) CHECK(gso >= 2);
}

int main(void) {
  RUN(equal_run_with_short_tail);
  RUN(runs_break_at_size_changes_and_gaps);
  RUN(a_full_batch_of_largest_packets);
  return TEST_REPORT();
}
