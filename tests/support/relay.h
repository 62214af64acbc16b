/*
 * relay.h: a small UDP relay for tests, standing in for netem (which this
 * kernel lacks). It listens on one address; every client address that
 * sends to it gets its own socket towards the upstream server (a flow), so
 * the server sees one peer per client. Each direction independently drops,
 * delays, duplicates and reorders datagrams as configured, with its own
 * seeded random generator, so a run is repeatable for a given seed and
 * packet sequence.
 *
 * Not for: bandwidth shaping, jitter, or anything beyond loopback tests.
 * It is driven like a wt_transport in embeddable mode (relay_fd +
 * relay_timeout_ms + relay_process) so a test can run it in the same loop
 * as the transports, or alone (relay_run, used by the wt-relay tool).
 */
#ifndef WT_TEST_RELAY_H
#define WT_TEST_RELAY_H

#include <stddef.h>
#include <stdint.h>

/* How one direction is impaired. Probabilities are 0..1. */
typedef struct relay_impair {
  double loss;       /* a datagram is dropped */
  double duplicate;  /* a datagram is forwarded twice */
  /* A datagram skips the delay and so overtakes those held before it
   * (netem's meaning of "reorder"); without a delay it has no effect. */
  double reorder;
  uint32_t delay_ms; /* every other datagram is held this long */
} relay_impair;

typedef struct relay_config {
  const char *listen_addr; /* numeric; NULL: "127.0.0.1" */
  uint16_t listen_port;    /* 0: ephemeral, see relay_port */
  const char *upstream_addr;
  uint16_t upstream_port;
  uint64_t seed;
  relay_impair to_server, to_client;
  /* Bounds: client addresses served, and datagrams held for delay (more
   * are dropped and counted as overflow). 0: 64 and 65536. */
  size_t max_flows, max_held;
} relay_config;

/* What one direction saw. received = forwarded + dropped - duplicated
 * + overflow + send_errors once nothing is held. */
typedef struct relay_dir_stats {
  uint64_t received, forwarded, dropped, duplicated, reordered, overflow, send_errors;
} relay_dir_stats;

typedef struct relay_stats {
  relay_dir_stats to_server, to_client;
  size_t flows, held;
} relay_stats;

typedef struct relay relay;

/* Opens the sockets. Returns 0 and *out, or -1 (with a line on stderr). */
int relay_new(const relay_config *cfg, relay **out);
void relay_free(relay *r);
uint16_t relay_port(const relay *r);
/* An epoll fd that becomes readable when a socket has datagrams. */
int relay_fd(const relay *r);
/* Milliseconds until the next held datagram is due, -1 if none. */
int relay_timeout_ms(const relay *r);
/* Reads every waiting datagram and forwards what is due. Never blocks.
 * Returns 0, or -1 on a fatal socket error. */
int relay_process(relay *r);
/* Blocks in a loop of relay_process until *stop becomes nonzero. */
int relay_run(relay *r, volatile int *stop);
void relay_get_stats(const relay *r, relay_stats *out);

#endif
