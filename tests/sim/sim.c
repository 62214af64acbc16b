/*
 * sim.c: the simulated link and virtual clock (see sim.h).
 *
 * Packets in flight sit in a min-heap ordered by delivery time (ties by
 * sending order, so equal delays keep FIFO order). sim_run alternates:
 * let both transports process at the current virtual time, then jump to
 * the earliest of the next delivery and the transports' next timers.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "quic/transport_internal.h"

typedef struct pkt {
  uint64_t at, seq;
  int to; /* 0 client, 1 server */
  size_t len;
  uint8_t data[];
} pkt;

struct sim {
  uint64_t now;
  uint64_t rng;
  uint64_t seq;
  sim_link link[2]; /* index = receiving side's opposite: 0 c2s, 1 s2c */
  uint64_t link_free_at[2];
  sim_stats stats[2];
  pkt **heap;
  size_t n, cap;
  wt_transport *t[2]; /* 0 client, 1 server */
  struct sockaddr_in addr[2];
  sim_tap tap;
  void *tap_ud;
  size_t nstray;
  size_t stray_len;
  uint8_t stray[1500];
};

void sim_set_tap(sim *s, sim_tap tap, void *ud) {
  s->tap = tap;
  s->tap_ud = ud;
}
size_t sim_stray_count(const sim *s) { return s->nstray; }
const uint8_t *sim_stray_last(const sim *s, size_t *len) {
  *len = s->stray_len;
  return s->stray;
}

double sim_random(sim *s) {
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

static int earlier(const pkt *a, const pkt *b) { return a->at < b->at || (a->at == b->at && a->seq < b->seq); }

static void heap_push(sim *s, pkt *p) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 256;
    s->heap = realloc(s->heap, s->cap * sizeof(*s->heap));
  }
  size_t i = s->n++;
  while (i && earlier(p, s->heap[(i - 1) / 2])) {
    s->heap[i] = s->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  s->heap[i] = p;
}

static pkt *heap_pop(sim *s) {
  pkt *top = s->heap[0], *last = s->heap[--s->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= s->n) break;
    if (c + 1 < s->n && earlier(s->heap[c + 1], s->heap[c])) c++;
    if (!earlier(s->heap[c], last)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (s->n) s->heap[i] = last;
  return top;
}

static void enqueue(sim *s, int to, const uint8_t *data, size_t len, uint64_t at) {
  pkt *p = malloc(sizeof(*p) + len);
  p->at = at;
  p->seq = s->seq++;
  p->to = to;
  p->len = len;
  memcpy(p->data, data, len);
  heap_push(s, p);
}

/* A packet leaving side `from`: the link decides its fate. */
static void transmit(sim *s, int from, const uint8_t *data, size_t len) {
  int dir = from; /* 0: client sends (c2s), 1: server sends (s2c) */
  const sim_link *l = &s->link[dir];
  sim_stats *st = &s->stats[dir];
  st->sent++;
  uint64_t depart = s->now;
  if (l->bandwidth_bps) {
    if (s->link_free_at[dir] > depart) depart = s->link_free_at[dir];
    depart += (uint64_t)len * 8 * 1000000000ULL / l->bandwidth_bps;
    s->link_free_at[dir] = depart;
  }
  if (sim_random(s) < l->loss) {
    st->dropped++;
    return;
  }
  uint64_t at = depart + l->delay_ns;
  if (l->reorder > 0 && sim_random(s) < l->reorder) {
    at += (uint64_t)(sim_random(s) * (double)l->jitter_ns);
    st->reordered++;
  }
  enqueue(s, !from, data, len, at);
  if (l->dup > 0 && sim_random(s) < l->dup) {
    st->duplicated++;
    enqueue(s, !from, data, len, at + 1 + (uint64_t)(sim_random(s) * (double)(l->jitter_ns + 1)));
  }
}

static uint64_t io_now(void *ctx) { return ((sim *)((uintptr_t)ctx & ~(uintptr_t)1))->now; }

static void io_send(void *ctx, const uint8_t *buf, const wt_txpkt *pkts, size_t n) {
  sim *s = (sim *)((uintptr_t)ctx & ~(uintptr_t)1);
  int from = (int)((uintptr_t)ctx & 1);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *d = buf + pkts[i].off;
    const struct sockaddr_in *to = (const struct sockaddr_in *)&pkts[i].to;
    if (from && (to->sin_addr.s_addr != s->addr[0].sin_addr.s_addr || to->sin_port != s->addr[0].sin_port)) {
      s->nstray++;
      s->stray_len = pkts[i].len < sizeof(s->stray) ? pkts[i].len : sizeof(s->stray);
      memcpy(s->stray, d, s->stray_len);
      continue;
    }
    if (s->tap && !s->tap(s->tap_ud, from, d, pkts[i].len)) continue;
    transmit(s, from, d, pkts[i].len);
  }
}

static int io_resolve(void *ctx, const char *host, uint16_t port, struct sockaddr_storage *out, socklen_t *len) {
  sim *s = (sim *)((uintptr_t)ctx & ~(uintptr_t)1);
  memcpy(out, &s->addr[1], sizeof(s->addr[1]));
  ((struct sockaddr_in *)out)->sin_port = htons(port);
  *len = sizeof(s->addr[1]);
  return 0;
}

sim *sim_new(uint64_t seed, const sim_link *c2s, const sim_link *s2c) {
  sim *s = calloc(1, sizeof(*s));
  s->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
  s->now = 1000 * SIM_MS; /* not zero: some code treats 0 as "unset" */
  if (c2s) s->link[0] = *c2s;
  if (s2c) s->link[1] = *s2c;
  for (int i = 0; i < 2; i++) {
    s->addr[i].sin_family = AF_INET;
    s->addr[i].sin_port = htons(i ? 4433 : 50000);
    /* Virtual addresses: nothing ever reaches a network. */
    s->addr[i].sin_addr.s_addr = htonl(i ? 0x7f000001 : 0x7f000002);
  }
  return s;
}

void sim_free(sim *s) {
  for (int i = 0; i < 2; i++)
    wt_transport_free(s->t[i]);
  while (s->n)
    free(heap_pop(s));
  free(s->heap);
  free(s);
}

static wt_transport *make(sim *s, int side, wt_transport_config *cfg) {
  wt_transport_io io = {(void *)((uintptr_t)s | (uintptr_t)side), io_now, io_send, io_resolve};
  cfg->server = side;
  if (wt_transport_new_custom(cfg, &io, (struct sockaddr *)&s->addr[side], sizeof(s->addr[side]), &s->t[side]))
    return NULL;
  return s->t[side];
}

wt_transport *sim_server(sim *s, wt_transport_config *cfg) { return make(s, 1, cfg); }
wt_transport *sim_client(sim *s, wt_transport_config *cfg) { return make(s, 0, cfg); }
uint64_t sim_now(const sim *s) { return s->now; }

void sim_connect_options(const sim *s, wt_connect_options *o, wt_event_cb on_event, void *user_data) {
  wt_connect_options_init(o);
  o->verify = WT_VERIFY_HASHES;
  o->cert_hashes = (const uint8_t(*)[32])wt_transport_cert_sha256(s->t[1]);
  o->ncert_hashes = 1;
  o->on_event = on_event;
  o->user_data = user_data;
}
sim_stats sim_get_stats(const sim *s, int dir) { return s->stats[dir]; }

void sim_inject(sim *s, uint16_t port, const uint8_t *data, size_t len) {
  struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(port)};
  from.sin_addr.s_addr = htonl(0x7f000003);
  wt_transport_deliver(s->t[1], (struct sockaddr *)&from, sizeof(from), data, len);
  wt_transport_process(s->t[1]);
}

static void process_all(sim *s) {
  for (int i = 0; i < 2; i++)
    if (s->t[i]) wt_transport_process(s->t[i]);
}

static uint64_t next_event(sim *s) {
  uint64_t next = s->n ? s->heap[0]->at : UINT64_MAX;
  for (int i = 0; i < 2; i++) {
    if (!s->t[i]) continue;
    uint64_t t = wt_transport_next_ns(s->t[i]);
    if (t < next) next = t;
  }
  return next;
}

int sim_run(sim *s, int (*done)(void *ud), void *ud, uint64_t max_ns) {
  uint64_t end = s->now + max_ns;
  int spins = 0;
  process_all(s);
  while (!done || !done(ud)) {
    uint64_t next = next_event(s);
    if (next == UINT64_MAX || next > end) break; /* quiet, or out of time */
    if (next > s->now) {
      s->now = next;
      spins = 0;
    } else if (++spins > 100000) {
      break; /* work pending at the same instant forever: a livelock */
    }
    while (s->n && s->heap[0]->at <= s->now) {
      pkt *p = heap_pop(s);
      if (s->t[p->to]) {
        wt_transport_deliver(s->t[p->to], (struct sockaddr *)&s->addr[!p->to], sizeof(s->addr[0]), p->data, p->len);
        s->stats[!p->to].delivered++;
      }
      free(p);
    }
    process_all(s);
  }
  return done ? done(ud) : 1;
}

void sim_advance(sim *s, uint64_t ns) {
  uint64_t end = s->now + ns;
  sim_run(s, NULL, NULL, ns);
  if (s->now < end) s->now = end;
  process_all(s);
}
