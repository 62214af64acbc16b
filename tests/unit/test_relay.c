/*
 * test_relay.c: the impairing UDP relay of tests/support (relay.h), driven
 * with plain UDP sockets on loopback: a "client" socket sends numbered
 * datagrams to the relay, a "server" socket receives them and answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "test.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int udp_socket(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  bind(fd, (struct sockaddr *)&a, sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  if (port) *port = ntohs(a.sin_port);
  return fd;
}

static void send_to_port(int fd, uint16_t port, uint32_t seq) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  sendto(fd, &seq, sizeof(seq), 0, (struct sockaddr *)&a, sizeof(a));
}

/* Runs the relay for `seconds` (or until nothing is held, if `until_empty`). */
static void pump(relay *r, double seconds, int until_empty) {
  double end = now_s() + seconds;
  while (now_s() < end) {
    relay_process(r);
    relay_stats st;
    relay_get_stats(r, &st);
    if (until_empty && st.held == 0) return;
    usleep(200);
  }
}

/* Drains `fd`: the sequence numbers in arrival order, and who sent them. */
static int drain(int fd, uint32_t *seqs, int cap, struct sockaddr_in *from) {
  int n = 0;
  for (;;) {
    uint32_t v;
    socklen_t len = sizeof(*from);
    ssize_t k = recvfrom(fd, &v, sizeof(v), 0, (struct sockaddr *)from, &len);
    if (k < 0) return n;
    if (n < cap) seqs[n] = v;
    n++;
  }
}

typedef struct rig {
  relay *r;
  int cli, srv;
  uint16_t srv_port;
} rig;

static int rig_open(rig *g, uint64_t seed, relay_impair to_server, relay_impair to_client, size_t max_held) {
  g->cli = udp_socket(NULL);
  g->srv = udp_socket(&g->srv_port);
  relay_config c = {.upstream_addr = "127.0.0.1",
                    .upstream_port = g->srv_port,
                    .seed = seed,
                    .to_server = to_server,
                    .to_client = to_client,
                    .max_held = max_held};
  return relay_new(&c, &g->r);
}

static void rig_close(rig *g) {
  relay_free(g->r);
  close(g->cli);
  close(g->srv);
}

/* Sends seq 0..n-1 through the relay, in batches small enough for the
 * socket buffers, and returns what the server got. */
static int send_through(rig *g, int n, uint32_t *got, int cap, struct sockaddr_in *from) {
  int total = 0;
  for (int i = 0; i < n; i++) {
    send_to_port(g->cli, relay_port(g->r), (uint32_t)i);
    if (i % 64 == 63) {
      relay_process(g->r);
      total += drain(g->srv, got + total, cap - total, from);
    }
  }
  pump(g->r, 5, 1);
  pump(g->r, 0.01, 0);
  total += drain(g->srv, got + total, cap - total, from);
  return total;
}

static const relay_impair clean = {0};

static void clean_relay_forwards_everything_in_order_both_ways(void) {
  rig g;
  CHECK_EQ(rig_open(&g, 1, clean, clean, 0), 0);
  static uint32_t got[2000];
  struct sockaddr_in from;
  CHECK_EQ(send_through(&g, 2000, got, 2000, &from), 2000);
  for (int i = 0; i < 2000; i++)
    CHECK_EQ(got[i], i);
  /* The server answers the address it saw: the answer reaches the client. */
  uint32_t v = 77;
  sendto(g.srv, &v, sizeof(v), 0, (struct sockaddr *)&from, sizeof(from));
  pump(g.r, 0.05, 0);
  uint32_t back[4];
  struct sockaddr_in rfrom;
  CHECK_EQ(drain(g.cli, back, 4, &rfrom), 1);
  CHECK_EQ(back[0], 77);
  CHECK_EQ(ntohs(rfrom.sin_port), relay_port(g.r)); /* from the relay, not the server */
  relay_stats st;
  relay_get_stats(g.r, &st);
  CHECK_EQ(st.to_server.received, 2000);
  CHECK_EQ(st.to_server.forwarded, 2000);
  CHECK_EQ(st.to_client.forwarded, 1);
  CHECK_EQ(st.flows, 1);
  rig_close(&g);
}

/* Loss near the configured rate, and the same drops for the same seed. */
static void loss_follows_the_rate_and_the_seed(void) {
  relay_impair lossy = {.loss = 0.3};
  static uint32_t a[3000], b[3000];
  int na = 0, nb = 0;
  struct sockaddr_in from;
  for (int run = 0; run < 2; run++) {
    rig g;
    CHECK_EQ(rig_open(&g, 42, lossy, clean, 0), 0);
    int n = send_through(&g, 3000, run ? b : a, 3000, &from);
    relay_stats st;
    relay_get_stats(g.r, &st);
    CHECK_EQ(st.to_server.dropped + (uint64_t)n, 3000);
    if (run)
      nb = n;
    else
      na = n;
    rig_close(&g);
  }
  printf("  loss 30%%: %d of 3000 forwarded\n", na);
  CHECK(na > 1950 && na < 2250); /* 2100 expected; 6 standard deviations is 150 */
  CHECK_EQ(na, nb);
  CHECK_MEM(a, b, (size_t)na * sizeof(uint32_t));
}

static void delay_holds_datagrams_at_least_that_long(void) {
  relay_impair slow = {.delay_ms = 50};
  rig g;
  CHECK_EQ(rig_open(&g, 3, slow, clean, 0), 0);
  double t0 = now_s();
  send_to_port(g.cli, relay_port(g.r), 1);
  pump(g.r, 0.01, 0);
  CHECK(relay_timeout_ms(g.r) > 0);
  uint32_t got[2];
  struct sockaddr_in from;
  int n = 0;
  while (n == 0 && now_s() - t0 < 5) {
    relay_process(g.r);
    n = drain(g.srv, got, 2, &from);
    usleep(500);
  }
  double dt = now_s() - t0;
  CHECK_EQ(n, 1);
  CHECK(dt >= 0.050);
  CHECK_EQ(relay_timeout_ms(g.r), -1);
  rig_close(&g);
}

/* With a delay, reordered datagrams overtake held ones; duplicates arrive
 * twice; nothing else is lost. */
static void reorder_and_duplicate(void) {
  relay_impair mix = {.delay_ms = 5, .reorder = 0.25, .duplicate = 0.1};
  rig g;
  CHECK_EQ(rig_open(&g, 9, mix, clean, 0), 0);
  static uint32_t got[5000];
  struct sockaddr_in from;
  int n = send_through(&g, 2000, got, 5000, &from);
  relay_stats st;
  relay_get_stats(g.r, &st);
  printf("  reorder 25%%, duplicate 10%%: %d arrived, %llu reordered, %llu duplicated\n", n,
         (unsigned long long)st.to_server.reordered, (unsigned long long)st.to_server.duplicated);
  CHECK_EQ((uint64_t)n, 2000 + st.to_server.duplicated);
  CHECK(st.to_server.duplicated > 100 && st.to_server.duplicated < 320);
  CHECK(st.to_server.reordered > 350 && st.to_server.reordered < 650);
  int inversions = 0;
  static uint8_t seen[2000];
  for (int i = 0; i < n; i++) {
    CHECK(got[i] < 2000);
    seen[got[i]] = 1;
    if (i && got[i] < got[i - 1]) inversions++;
  }
  for (int i = 0; i < 2000; i++)
    CHECK(seen[i]);
  CHECK(inversions > 0);
  rig_close(&g);
}

/* Each client address gets its own upstream socket; answers go back to the
 * client that owns the flow. */
static void each_client_address_is_its_own_flow(void) {
  rig g;
  CHECK_EQ(rig_open(&g, 5, clean, clean, 0), 0);
  int cl[2] = {g.cli, udp_socket(NULL)};
  send_to_port(cl[0], relay_port(g.r), 100);
  pump(g.r, 0.02, 0);
  send_to_port(cl[1], relay_port(g.r), 101);
  pump(g.r, 0.02, 0);
  struct sockaddr_in from[2];
  uint32_t v[2];
  for (int i = 0; i < 2; i++) {
    socklen_t len = sizeof(from[i]);
    CHECK_EQ(recvfrom(g.srv, &v[i], sizeof(v[i]), 0, (struct sockaddr *)&from[i], &len), sizeof(v[i]));
  }
  CHECK_EQ(v[0], 100);
  CHECK_EQ(v[1], 101);
  CHECK(from[0].sin_port != from[1].sin_port);
  for (int i = 0; i < 2; i++) { /* answer each flow with its own number + 100 */
    uint32_t a = v[i] + 100;
    sendto(g.srv, &a, sizeof(a), 0, (struct sockaddr *)&from[i], sizeof(from[i]));
  }
  pump(g.r, 0.05, 0);
  for (int i = 0; i < 2; i++) {
    uint32_t back[2];
    struct sockaddr_in rfrom;
    CHECK_EQ(drain(cl[i], back, 2, &rfrom), 1);
    CHECK_EQ(back[0], 200 + (uint32_t)i);
  }
  relay_stats st;
  relay_get_stats(g.r, &st);
  CHECK_EQ(st.flows, 2);
  close(cl[1]);
  rig_close(&g);
}

/* Beyond max_held, delayed datagrams are dropped and counted. */
static void held_datagrams_are_bounded(void) {
  relay_impair slow = {.delay_ms = 10000};
  rig g;
  CHECK_EQ(rig_open(&g, 7, slow, clean, 10), 0);
  for (int i = 0; i < 25; i++)
    send_to_port(g.cli, relay_port(g.r), (uint32_t)i);
  pump(g.r, 0.05, 0);
  relay_stats st;
  relay_get_stats(g.r, &st);
  CHECK_EQ(st.held, 10);
  CHECK_EQ(st.to_server.overflow, 15);
  CHECK_EQ(st.to_server.received, 25);
  rig_close(&g); /* frees what is still held */
}

int main(void) {
  RUN(clean_relay_forwards_everything_in_order_both_ways);
  RUN(loss_follows_the_rate_and_the_seed);
  RUN(delay_holds_datagrams_at_least_that_long);
  RUN(reorder_and_duplicate);
  RUN(each_client_address_is_its_own_flow);
  RUN(held_datagrams_are_bounded);
  return TEST_REPORT();
}
