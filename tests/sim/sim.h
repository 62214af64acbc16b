/*
 * sim.h: simulated-time harness. A server and a client transport (real
 * QUIC, HTTP/3 and WebTransport code) are joined by an in-memory link that
 * delays, drops, duplicates and reorders packets as configured, under a
 * virtual clock and a seeded random source, so races and losses are
 * reproducible and tests finish in milliseconds of real time.
 */
#ifndef WT_SIM_H
#define WT_SIM_H

#include <stdint.h>

#include "webtransport.h"

#define SIM_MS 1000000ULL

/* One direction of the link. */
typedef struct sim_link {
  double loss;       /* probability a packet is dropped */
  double dup;        /* probability a packet is delivered twice */
  double reorder;    /* probability a packet gets an extra delay in [0, jitter] */
  uint64_t delay_ns; /* one-way delay */
  uint64_t jitter_ns;
  uint64_t bandwidth_bps; /* 0: unlimited */
} sim_link;

typedef struct sim_stats {
  uint64_t sent, dropped, duplicated, reordered, delivered;
} sim_stats;

typedef struct sim sim;

/* Links: c2s carries client-to-server packets, s2c the other way. */
sim *sim_new(uint64_t seed, const sim_link *c2s, const sim_link *s2c);
void sim_free(sim *s);

/* The transports; configs are completed by the harness (addresses,
 * certificate pinning is the caller's business via wt_transport_cert_sha256
 * of the server). Each may be created once. */
wt_transport *sim_server(sim *s, wt_transport_config *cfg);
wt_transport *sim_client(sim *s, wt_transport_config *cfg);

/* Connect options that pin the server's certificate (create the server
 * first), with the given event callback. */
void sim_connect_options(const sim *s, wt_connect_options *o, wt_event_cb on_event, void *user_data);

/* Virtual time now. */
uint64_t sim_now(const sim *s);

/* Runs until done(ud) is nonzero, nothing can happen any more, or
 * `max_ns` of virtual time passed. Returns done(ud). With done NULL it
 * just runs for up to `max_ns` and returns 1. */
int sim_run(sim *s, int (*done)(void *ud), void *ud, uint64_t max_ns);

/* Runs for exactly `ns` of virtual time: the clock ends `ns` later even if
 * nothing was due (sim_run stops at the last event). */
void sim_advance(sim *s, uint64_t ns);

/* Per-direction counters: 0 client-to-server, 1 server-to-client. */
sim_stats sim_get_stats(const sim *s, int dir);

/* A tap sees every packet as it leaves a side (dir 0: client to server, 1:
 * server to client), before the link. Return 0 to drop it. */
typedef int (*sim_tap)(void *ud, int dir, const uint8_t *data, size_t len);
void sim_set_tap(sim *s, sim_tap tap, void *ud);

/* Delivers a packet to the server at once as if from 127.0.0.3:`port` (a
 * host other than the client). What the server sends there is not
 * delivered but counted, and the last such packet kept. */
void sim_inject(sim *s, uint16_t port, const uint8_t *data, size_t len);
size_t sim_stray_count(const sim *s);
const uint8_t *sim_stray_last(const sim *s, size_t *len);

/* Seeded random number in [0, 1), shared with tests that want it. */
double sim_random(sim *s);

#endif
